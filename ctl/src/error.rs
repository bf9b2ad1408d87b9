//! The error of every control-plane call: the `errno` value `mallctl` returned.

use core::ffi::c_int;
use core::fmt;
use core::num::NonZeroI32;

/// A `mallctl*` failure: the nonzero `errno` value the C call returned.
///
/// The niche of the nonzero code makes `Result<()>` as small as a `c_int`. Compare with the
/// constants (`err == Error::ENOENT`) or match on [`Error::kind`].
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
#[repr(transparent)]
pub struct Error(NonZeroI32);

/// The result of a control-plane call.
pub type Result<T> = core::result::Result<T, Error>;

/// What an [`Error`] means, in the terms of jemalloc's `mallctl` man page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// `EINVAL`: a value of the wrong size (or, for some keys, an invalid value).
    InvalidArgument,
    /// `ENOENT`: no such key (unknown name, index out of range, or compiled out).
    NotFound,
    /// `EPERM`: the key does not go that way (writing a read-only key, reading a write-only one,
    /// passing a value to a command).
    PermissionDenied,
    /// `EAGAIN`: a memory allocation failed.
    TryAgain,
    /// `EFAULT`: an action with side effects failed for a reason outside the read/write
    /// processing itself.
    Fault,
    /// `ENOMEM`: out of memory.
    OutOfMemory,
    /// Any other code.
    Other,
}

const fn nonzero(code: c_int) -> NonZeroI32 {
    match NonZeroI32::new(code) {
        Some(n) => n,
        None => panic!("errno values are nonzero"),
    }
}

impl Error {
    /// `EINVAL`.
    pub const EINVAL: Error = Error(nonzero(libc::EINVAL));
    /// `ENOENT`.
    pub const ENOENT: Error = Error(nonzero(libc::ENOENT));
    /// `EPERM`.
    pub const EPERM: Error = Error(nonzero(libc::EPERM));
    /// `EAGAIN`.
    pub const EAGAIN: Error = Error(nonzero(libc::EAGAIN));
    /// `EFAULT`.
    pub const EFAULT: Error = Error(nonzero(libc::EFAULT));
    /// `ENOMEM`.
    pub const ENOMEM: Error = Error(nonzero(libc::ENOMEM));

    /// The error for a C return code; `None` for 0 (success).
    pub const fn from_code(code: c_int) -> Option<Error> {
        match NonZeroI32::new(code) {
            Some(n) => Some(Error(n)),
            None => None,
        }
    }

    /// `Ok(())` for 0, the error otherwise.
    #[inline]
    pub(crate) fn check(code: c_int) -> Result<()> {
        match Error::from_code(code) {
            None => Ok(()),
            Some(e) => Err(e),
        }
    }

    /// The `errno` value.
    pub const fn code(self) -> c_int {
        self.0.get()
    }

    /// What the code means.
    pub fn kind(self) -> ErrorKind {
        match self.code() {
            libc::EINVAL => ErrorKind::InvalidArgument,
            libc::ENOENT => ErrorKind::NotFound,
            libc::EPERM => ErrorKind::PermissionDenied,
            libc::EAGAIN => ErrorKind::TryAgain,
            libc::EFAULT => ErrorKind::Fault,
            libc::ENOMEM => ErrorKind::OutOfMemory,
            _ => ErrorKind::Other,
        }
    }

    fn name(self) -> Option<&'static str> {
        Some(match self.kind() {
            ErrorKind::InvalidArgument => "EINVAL",
            ErrorKind::NotFound => "ENOENT",
            ErrorKind::PermissionDenied => "EPERM",
            ErrorKind::TryAgain => "EAGAIN",
            ErrorKind::Fault => "EFAULT",
            ErrorKind::OutOfMemory => "ENOMEM",
            ErrorKind::Other => return None,
        })
    }

    fn description(self) -> &'static str {
        match self.kind() {
            ErrorKind::InvalidArgument => {
                "the value has the wrong size for the key (or is not valid for it); \
                 a read copies what fits and reports the length copied"
            }
            ErrorKind::NotFound => {
                "no such key: unknown name, index out of range, \
                 or a key compiled out of this build"
            }
            ErrorKind::PermissionDenied => {
                "the key does not go that way: a write to a read-only key, a read of a \
                 write-only key, or a value passed to a command"
            }
            ErrorKind::TryAgain => "a memory allocation failed while serving the request",
            ErrorKind::Fault => {
                "an action with side effects failed for a reason outside the read/write \
                 processing"
            }
            ErrorKind::OutOfMemory => "out of memory",
            ErrorKind::Other => "unexpected error code",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "{name}: {}", self.description()),
            None => write!(f, "{} {}", self.description(), self.code()),
        }
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(name) => write!(f, "Error({name}: {})", self.description()),
            None => write!(f, "Error({})", self.code()),
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::format;

    #[test]
    fn result_unit_is_a_c_int() {
        assert_eq!(
            core::mem::size_of::<Result<()>>(),
            core::mem::size_of::<c_int>()
        );
        assert_eq!(
            core::mem::size_of::<Option<Error>>(),
            core::mem::size_of::<c_int>()
        );
    }

    #[test]
    fn codes_and_kinds() {
        assert_eq!(Error::check(0), Ok(()));
        assert_eq!(Error::check(libc::ENOENT), Err(Error::ENOENT));
        assert_eq!(Error::ENOENT.kind(), ErrorKind::NotFound);
        assert_eq!(Error::EINVAL.kind(), ErrorKind::InvalidArgument);
        assert_eq!(Error::EPERM.kind(), ErrorKind::PermissionDenied);
        assert_eq!(Error::EAGAIN.kind(), ErrorKind::TryAgain);
        assert_eq!(Error::EFAULT.kind(), ErrorKind::Fault);
        assert_eq!(Error::ENOMEM.kind(), ErrorKind::OutOfMemory);
        assert_eq!(
            Error::from_code(12345).map(Error::kind),
            Some(ErrorKind::Other)
        );
        assert_eq!(Error::from_code(0), None);
        assert_eq!(Error::EPERM.code(), libc::EPERM);
    }

    #[test]
    fn display() {
        assert!(format!("{}", Error::ENOENT).starts_with("ENOENT: no such key"));
        assert!(format!("{}", Error::EPERM).contains("read-only"));
        assert!(format!("{:?}", Error::EINVAL).starts_with("Error(EINVAL"));
        assert_eq!(
            format!("{:?}", Error::from_code(999).unwrap()),
            "Error(999)"
        );
        assert!(format!("{}", Error::from_code(999).unwrap()).ends_with(" 999"));
    }
}
