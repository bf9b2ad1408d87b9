//! What the generated handles call: one marker type per C type of the table (TYPE column), and
//! the typed read/write/update/call/lookup over a [`Key`].
//!
//! The generator picks the marker from the table, so the C type and the Rust type cannot drift;
//! the functions are `unsafe` only because a wrong marker would be (the generator never passes
//! one).

use core::ffi::{c_char, c_void, CStr};
use core::mem::size_of;
use core::ptr;

pub(crate) use crate::raw::Key;
use crate::raw::{ctl, read_key, static_str, update_key, write_key};
use crate::{Error, Mib, RawExtentHooks, Result, ThreadLocal};

/// How a C type crosses the boundary: its C representation and the Rust value read out of it.
pub(crate) trait Value {
    /// The C representation (what `mallctl` copies).
    type Raw: Copy;
    /// What a read returns.
    type Out;
    /// Converts what the C side wrote.
    ///
    /// # Safety
    ///
    /// `raw` was written by the C side for a key of this type.
    unsafe fn out(raw: Self::Raw) -> Result<Self::Out>;
}

/// A C type that can be written.
pub(crate) trait Input: Value {
    /// What a write takes.
    type In<'a>;
    /// The C representation of `v`.
    fn input(v: Self::In<'_>) -> Self::Raw;
}

macro_rules! number {
    ($($(#[$doc:meta])* $name:ident = $t:ty;)*) => {$(
        $(#[$doc])*
        #[allow(dead_code)] // not every C type need appear in the table (or in this build)
        pub(crate) enum $name {}
        impl Value for $name {
            type Raw = $t;
            type Out = $t;
            unsafe fn out(raw: $t) -> Result<$t> {
                Ok(raw)
            }
        }
        impl Input for $name {
            type In<'a> = $t;
            fn input(v: $t) -> $t {
                v
            }
        }
    )*};
}

number! {
    /// `unsigned`.
    Unsigned = core::ffi::c_uint;
    /// `uint32_t`.
    U32 = u32;
    /// `uint64_t`.
    U64 = u64;
    /// `int64_t`.
    I64 = i64;
    /// `size_t`.
    Size = usize;
    /// `ssize_t`.
    SSize = isize;
    /// `extent_hooks_t *` (writing it is `unsafe` in the handles).
    Hooks = *mut RawExtentHooks;
}

/// `bool`: one byte, read as `u8` so that no byte the C side writes is an invalid `bool`.
#[allow(dead_code)] // not every C type need appear in the table (or in this build)
pub(crate) enum Bool {}

impl Value for Bool {
    type Raw = u8;
    type Out = bool;
    unsafe fn out(raw: u8) -> Result<bool> {
        Ok(raw != 0)
    }
}

impl Input for Bool {
    type In<'a> = bool;
    fn input(v: bool) -> u8 {
        u8::from(v)
    }
}

/// `const char *`: read as `&'static str` (the C side hands out strings it never frees), written
/// from a `&CStr` (the C side copies or compares it during the call).
#[allow(dead_code)] // not every C type need appear in the table (or in this build)
pub(crate) enum Str {}

impl Value for Str {
    type Raw = *const c_char;
    type Out = &'static str;
    unsafe fn out(raw: *const c_char) -> Result<&'static str> {
        static_str(raw)
    }
}

impl Input for Str {
    type In<'a> = &'a CStr;
    fn input(v: &CStr) -> *const c_char {
        v.as_ptr()
    }
}

/// `uint64_t *` into the calling thread's state.
#[allow(dead_code)] // not every C type need appear in the table (or in this build)
pub(crate) enum U64Ptr {}

impl Value for U64Ptr {
    type Raw = *mut u64;
    type Out = ThreadLocal<u64>;
    unsafe fn out(raw: *mut u64) -> Result<ThreadLocal<u64>> {
        ThreadLocal::new(raw).ok_or(Error::EFAULT)
    }
}

/// Reads a key of marker `V`.
///
/// # Safety
///
/// `V` is the key's C type.
#[inline]
pub(crate) unsafe fn get<V: Value>(key: Key<'_>) -> Result<V::Out> {
    V::out(read_key::<V::Raw>(key)?)
}

/// Writes a key of marker `V`.
///
/// # Safety
///
/// `V` is the key's C type.
#[inline]
pub(crate) unsafe fn set<V: Input>(key: Key<'_>, v: V::In<'_>) -> Result<()> {
    write_key::<V::Raw>(key, V::input(v))
}

/// Writes and reads a key of marker `V` in one call.
///
/// # Safety
///
/// `V` is the key's C type.
#[inline]
pub(crate) unsafe fn swap<V: Input>(key: Key<'_>, v: V::In<'_>) -> Result<V::Out> {
    V::out(update_key::<V::Raw>(key, V::input(v))?)
}

/// Runs a command key (VOID, NONE).
#[inline]
pub(crate) fn call(key: Key<'_>) -> Result<()> {
    // SAFETY: no value pointers.
    unsafe { ctl(key, ptr::null_mut(), ptr::null_mut(), ptr::null_mut(), 0) }
}

/// A LOOKUP key: writes the pointer, reads the `unsigned` index.
#[inline]
pub(crate) fn lookup(key: Key<'_>, p: *const c_void) -> Result<u32> {
    let mut out: core::ffi::c_uint = 0;
    let mut len = size_of::<core::ffi::c_uint>();
    // SAFETY: `out` and `p` are of the types LOOKUP names; the C side only compares the pointer
    // with its own address map.
    unsafe {
        ctl(
            key,
            ptr::addr_of_mut!(out).cast(),
            &mut len,
            ptr::addr_of!(p).cast_mut().cast(),
            size_of::<*const c_void>(),
        )?;
    }
    if len != size_of::<core::ffi::c_uint>() {
        return Err(Error::EINVAL);
    }
    Ok(out)
}

/// A CREATE key: writes `hooks` unless it is NULL, reads the new `unsigned` index.
///
/// # Safety
///
/// `hooks` is NULL or points to an `extent_hooks_t` that honours the extent-hook contract and
/// stays valid for as long as what is created may use it.
#[inline]
pub(crate) unsafe fn create(key: Key<'_>, hooks: *mut RawExtentHooks) -> Result<u32> {
    let mut out: core::ffi::c_uint = 0;
    let mut len = size_of::<core::ffi::c_uint>();
    let (newp, newlen) = if hooks.is_null() {
        (ptr::null_mut(), 0)
    } else {
        (
            ptr::addr_of!(hooks).cast_mut().cast(),
            size_of::<*mut RawExtentHooks>(),
        )
    };
    // SAFETY: `out` is the `unsigned` CREATE reads into; `hooks` is the caller's.
    ctl(key, ptr::addr_of_mut!(out).cast(), &mut len, newp, newlen)?;
    if len != size_of::<core::ffi::c_uint>() {
        return Err(Error::EINVAL);
    }
    Ok(out)
}

/// The MIB of `name`, which must have exactly `N` components.
#[inline]
pub(crate) fn mib<const N: usize>(name: &CStr) -> Result<Mib<N>> {
    Mib::from_name(name)
}

/// `bytes` (NUL-terminated, no NUL inside) as a `CStr`, at compile time.
pub(crate) const fn cstr(bytes: &'static [u8]) -> &'static CStr {
    match CStr::from_bytes_with_nul(bytes) {
        Ok(c) => c,
        Err(_) => panic!("generated names end in their only NUL"),
    }
}

/// A key name with decimal indices, built on the stack (capacity `N` includes the NUL).
pub(crate) struct NameBuf<const N: usize> {
    buf: [u8; N],
    len: usize,
}

impl<const N: usize> NameBuf<N> {
    #[inline]
    pub(crate) fn new() -> Self {
        NameBuf {
            buf: [0; N],
            len: 0,
        }
    }

    /// Appends literal bytes (the generator sized `N` for the longest name).
    #[inline]
    pub(crate) fn push(&mut self, bytes: &[u8]) {
        self.buf[self.len..self.len + bytes.len()].copy_from_slice(bytes);
        self.len += bytes.len();
    }

    /// Appends `v` in decimal.
    #[inline]
    pub(crate) fn push_u32(&mut self, mut v: u32) {
        let mut digits = [0u8; 10];
        let mut n = 0;
        loop {
            digits[n] = b'0' + (v % 10) as u8;
            n += 1;
            v /= 10;
            if v == 0 {
                break;
            }
        }
        digits[..n].reverse();
        self.push(&digits[..n]);
    }

    /// The name; the last push ended it with its NUL.
    #[inline]
    pub(crate) fn as_cstr(&self) -> &CStr {
        CStr::from_bytes_with_nul(&self.buf[..self.len]).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_buf_builds_indexed_names() {
        let mut n = NameBuf::<64>::new();
        n.push(b"stats.arenas.");
        n.push_u32(4096);
        n.push(b".bins.");
        n.push_u32(0);
        n.push(b".nmalloc\0");
        assert_eq!(n.as_cstr().to_bytes(), b"stats.arenas.4096.bins.0.nmalloc");
        let mut m = NameBuf::<16>::new();
        m.push_u32(u32::MAX);
        m.push(b"\0");
        assert_eq!(m.as_cstr().to_bytes(), b"4294967295");
    }
}
