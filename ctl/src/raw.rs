//! Untyped access to any key, by name or by MIB: the caller picks the Rust type.
//!
//! The typed handles ([`crate::stats`], [`crate::opt`], ...) are built on these and are what most
//! code should use; the raw layer is for keys added to the C table after this crate was built,
//! or for code that works over keys generically.
//!
//! Reads check that the C side filled exactly `size_of::<T>()` bytes (it reports `EINVAL`
//! otherwise, as jemalloc does). Names may be given with or without the trailing NUL, as `str`,
//! byte strings or `CStr`:
//!
//! ```
//! # fn main() -> arenalloc_ctl::Result<()> {
//! use arenalloc_ctl::raw;
//!
//! // SAFETY: `arenas.page` is a `size_t`.
//! let page: usize = unsafe { raw::read("arenas.page")? };
//! assert!(page.is_power_of_two());
//!
//! // The MIB of a per-bin key, looked up once; index components are patched in place.
//! let mut buf = [0usize; 4];
//! let mib = raw::name_to_mib("arenas.bin.0.size", &mut buf)?;
//! assert_eq!(mib.len(), 4);
//! let mut mib = [mib[0], mib[1], mib[2], mib[3]];
//! mib[2] = 1;
//! // SAFETY: `arenas.bin.<j>.size` is a `size_t`.
//! let size_of_bin_1: usize = unsafe { raw::read_mib(&mib)? };
//! assert!(size_of_bin_1 > 0);
//! # Ok(()) }
//! ```

use core::ffi::{c_char, c_int, c_void, CStr};
use core::mem::{size_of, MaybeUninit};
use core::ptr;

// The C entry points: jemalloc's signatures with the `arenalloc_` prefix.
use arenalloc::ffi as sys;

use crate::{Error, Result};

/// Longest name (with its NUL) that [`AsName`] copies to the stack to add the NUL.
const NAME_MAX: usize = 256;

/// Something that names a key: `str`, `[u8]`, `[u8; N]` (with or without a trailing NUL) or
/// `CStr`.
///
/// A name with a NUL before its end, or one longer than 255 bytes that lacks its NUL, names no
/// key (`ENOENT`).
pub trait AsName {
    /// Calls `f` with the name as a C string.
    fn with_name<R>(&self, f: impl FnOnce(&CStr) -> Result<R>) -> Result<R>;
}

impl AsName for CStr {
    fn with_name<R>(&self, f: impl FnOnce(&CStr) -> Result<R>) -> Result<R> {
        f(self)
    }
}

impl AsName for [u8] {
    fn with_name<R>(&self, f: impl FnOnce(&CStr) -> Result<R>) -> Result<R> {
        let body = self.strip_suffix(&[0]).unwrap_or(self);
        if body.contains(&0) {
            return Err(Error::ENOENT);
        }
        if body.len() < self.len() {
            // Already NUL-terminated.
            return f(CStr::from_bytes_with_nul(self).map_err(|_| Error::ENOENT)?);
        }
        if body.len() >= NAME_MAX {
            return Err(Error::ENOENT);
        }
        let mut buf = [0u8; NAME_MAX];
        buf[..body.len()].copy_from_slice(body);
        f(CStr::from_bytes_with_nul(&buf[..=body.len()]).map_err(|_| Error::ENOENT)?)
    }
}

impl<const N: usize> AsName for [u8; N] {
    fn with_name<R>(&self, f: impl FnOnce(&CStr) -> Result<R>) -> Result<R> {
        self[..].with_name(f)
    }
}

impl AsName for str {
    fn with_name<R>(&self, f: impl FnOnce(&CStr) -> Result<R>) -> Result<R> {
        self.as_bytes().with_name(f)
    }
}

/// Where a call goes: a name, or a MIB.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Key<'a> {
    Name(&'a CStr),
    Mib(&'a [usize]),
}

/// `mallctl` or `mallctlbymib` with the four value arguments.
///
/// # Safety
///
/// The pointers must be valid for the key's C type as the C side uses them.
#[inline]
pub(crate) unsafe fn ctl(
    key: Key<'_>,
    oldp: *mut c_void,
    oldlenp: *mut usize,
    newp: *mut c_void,
    newlen: usize,
) -> Result<()> {
    let rc: c_int = match key {
        Key::Name(name) => sys::arenalloc_mallctl(name.as_ptr(), oldp, oldlenp, newp, newlen),
        Key::Mib(mib) => {
            sys::arenalloc_mallctlbymib(mib.as_ptr(), mib.len(), oldp, oldlenp, newp, newlen)
        }
    };
    Error::check(rc)
}

/// Reads a `T`.
///
/// # Safety
///
/// `T` must be the key's C type (any bit pattern the C side writes must be a valid `T`).
pub(crate) unsafe fn read_key<T: Copy>(key: Key<'_>) -> Result<T> {
    let mut value = MaybeUninit::<T>::uninit();
    let mut len = size_of::<T>();
    ctl(key, value.as_mut_ptr().cast(), &mut len, ptr::null_mut(), 0)?;
    if len != size_of::<T>() {
        return Err(Error::EINVAL);
    }
    Ok(value.assume_init())
}

/// Writes a `T`.
///
/// # Safety
///
/// `T` must be the key's C type, and a valid value for it (e.g. a pointer the C side may follow).
pub(crate) unsafe fn write_key<T: Copy>(key: Key<'_>, value: T) -> Result<()> {
    ctl(
        key,
        ptr::null_mut(),
        ptr::null_mut(),
        ptr::addr_of!(value).cast_mut().cast(),
        size_of::<T>(),
    )
}

/// Writes a `T` and reads a `T` in one call.
///
/// # Safety
///
/// As [`read_key`] and [`write_key`].
pub(crate) unsafe fn update_key<T: Copy>(key: Key<'_>, value: T) -> Result<T> {
    let mut old = MaybeUninit::<T>::uninit();
    let mut len = size_of::<T>();
    ctl(
        key,
        old.as_mut_ptr().cast(),
        &mut len,
        ptr::addr_of!(value).cast_mut().cast(),
        size_of::<T>(),
    )?;
    if len != size_of::<T>() {
        return Err(Error::EINVAL);
    }
    Ok(old.assume_init())
}

/// Reads the key `name` as a `T`.
///
/// # Safety
///
/// `T` must be the key's C type: every value the C side may write must be a valid `T` (read a
/// `bool` key as `u8`, a string key as `*const c_char`).
pub unsafe fn read<T: Copy>(name: &(impl AsName + ?Sized)) -> Result<T> {
    name.with_name(|n| read_key(Key::Name(n)))
}

/// Writes `value` to the key `name`.
///
/// # Safety
///
/// `T` must be the key's C type and `value` valid for it: pointers (strings, hooks) are followed
/// by the C side.
pub unsafe fn write<T: Copy>(name: &(impl AsName + ?Sized), value: T) -> Result<()> {
    name.with_name(|n| write_key(Key::Name(n), value))
}

/// Writes `value` to the key `name` and returns what the same call read (for most keys the
/// previous value).
///
/// # Safety
///
/// As [`read()`] and [`write()`].
pub unsafe fn update<T: Copy>(name: &(impl AsName + ?Sized), value: T) -> Result<T> {
    name.with_name(|n| update_key(Key::Name(n), value))
}

/// Runs the command key `name` (a key of type `void`: neither read nor written).
///
/// # Safety
///
/// Some commands free memory: `arena.<i>.reset` and `arena.<i>.destroy` free every allocation of
/// arena i, which nothing may use afterwards (their typed handles say more; an
/// [`Arena`](crate::Arena) owns its index, and resets and destroys it safely).
pub unsafe fn call(name: &(impl AsName + ?Sized)) -> Result<()> {
    // SAFETY: no value pointers; what the command does is the caller's.
    name.with_name(|n| unsafe {
        ctl(
            Key::Name(n),
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            0,
        )
    })
}

/// Reads the key at `mib` as a `T`.
///
/// # Safety
///
/// As [`read`].
pub unsafe fn read_mib<T: Copy>(mib: &[usize]) -> Result<T> {
    read_key(Key::Mib(mib))
}

/// Writes `value` to the key at `mib`.
///
/// # Safety
///
/// As [`write()`].
pub unsafe fn write_mib<T: Copy>(mib: &[usize], value: T) -> Result<()> {
    write_key(Key::Mib(mib), value)
}

/// Writes `value` to the key at `mib` and returns what the same call read.
///
/// # Safety
///
/// As [`update`].
pub unsafe fn update_mib<T: Copy>(mib: &[usize], value: T) -> Result<T> {
    update_key(Key::Mib(mib), value)
}

/// Runs the command key at `mib`.
///
/// # Safety
///
/// As [`call()`].
pub unsafe fn call_mib(mib: &[usize]) -> Result<()> {
    // SAFETY: no value pointers; what the command does is the caller's.
    unsafe {
        ctl(
            Key::Mib(mib),
            ptr::null_mut(),
            ptr::null_mut(),
            ptr::null_mut(),
            0,
        )
    }
}

/// Looks `name` up into `mib` (at most `mib.len()` components) and returns the filled prefix.
///
/// Index components keep their numeric value, so the returned MIB can be reused for other
/// indices by patching them (`mib[2] = arena`).
pub fn name_to_mib<'m>(name: &(impl AsName + ?Sized), mib: &'m mut [usize]) -> Result<&'m [usize]> {
    let mut len = mib.len();
    // SAFETY: `mib` has room for `len` components.
    name.with_name(|n| {
        Error::check(unsafe {
            sys::arenalloc_mallctlnametomib(n.as_ptr(), mib.as_mut_ptr(), &mut len)
        })
    })?;
    Ok(&mib[..len.min(mib.len())])
}

/// The `const char *` a string key holds, as a `&'static str` (`""` for NULL).
///
/// # Safety
///
/// `ptr` is NULL or a NUL-terminated string that lives for the rest of the process.
pub(crate) unsafe fn static_str(ptr: *const c_char) -> Result<&'static str> {
    if ptr.is_null() {
        return Ok("");
    }
    CStr::from_ptr(ptr).to_str().map_err(|_| Error::EINVAL)
}
