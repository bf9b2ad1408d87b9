//! `malloc_stats_print`: the allocator's own report (text, or JSON with `J`), re-exported as
//! `stats::print` and `stats::print_with`.

use alloc::string::String;
use alloc::vec::Vec;
use core::ffi::{c_char, c_void, CStr};

/// The report of `malloc_stats_print(opts)` as one string.
///
/// `opts` are jemalloc's option characters: `J` JSON instead of text; `g` omit the general
/// information, `m` the merged arena, `a` the per-arena statistics, `b` the per-bin tables, `l`
/// the per-large-class tables, `x` the mutex statistics, `e` the extent statistics. Unknown
/// characters are ignored, as is anything from a NUL on.
///
/// ```
/// let report = arenalloc_ctl::stats::print("");
/// assert!(!report.is_empty());
/// let json = arenalloc_ctl::stats::print("J");
/// assert!(json.trim_start().starts_with('{'));
/// ```
pub fn print(opts: &str) -> String {
    let mut out = String::new();
    print_with(opts, |chunk| out.push_str(chunk));
    out
}

/// Runs `malloc_stats_print(opts)` with `write` called on each piece of the report (see
/// [`print`] for `opts`). Bytes that are not UTF-8 are replaced by U+FFFD.
///
/// With the `std` feature a panic in `write` is caught at the C boundary, the rest of the report
/// is dropped, and the panic resumes when the C function has returned; without `std` it aborts
/// the process (unwinding through C is not allowed).
pub fn print_with<F: FnMut(&str)>(opts: &str, write: F) {
    let mut copts: Vec<u8> = opts.bytes().take_while(|&b| b != 0).collect();
    copts.push(0);
    let mut state = State {
        write,
        #[cfg(feature = "std")]
        panic: None,
    };
    // SAFETY: `copts` is NUL-terminated; `state` outlives the call and is only used by
    // `write_cb::<F>` during it.
    unsafe {
        arenalloc::ffi::arenalloc_malloc_stats_print(
            Some(write_cb::<F>),
            core::ptr::addr_of_mut!(state).cast(),
            copts.as_ptr().cast(),
        );
    }
    #[cfg(feature = "std")]
    if let Some(payload) = state.panic {
        std::panic::resume_unwind(payload);
    }
}

struct State<F> {
    write: F,
    #[cfg(feature = "std")]
    panic: Option<alloc::boxed::Box<dyn core::any::Any + Send + 'static>>,
}

/// Aborts the process if dropped while unwinding (a panic during a panic aborts).
#[cfg(not(feature = "std"))]
struct AbortOnUnwind;

#[cfg(not(feature = "std"))]
impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        panic!("panic in a stats::print_with callback: aborting at the C boundary");
    }
}

unsafe extern "C" fn write_cb<F: FnMut(&str)>(opaque: *mut c_void, s: *const c_char) {
    if opaque.is_null() || s.is_null() {
        return;
    }
    // SAFETY: `opaque` is the `State<F>` of `print_with`, alive for the whole C call.
    let state = &mut *opaque.cast::<State<F>>();
    let text = String::from_utf8_lossy(CStr::from_ptr(s).to_bytes());
    #[cfg(feature = "std")]
    {
        if state.panic.is_some() {
            return;
        }
        let write = &mut state.write;
        if let Err(payload) =
            std::panic::catch_unwind(core::panic::AssertUnwindSafe(|| write(&text)))
        {
            state.panic = Some(payload);
        }
    }
    #[cfg(not(feature = "std"))]
    {
        let bomb = AbortOnUnwind;
        (state.write)(&text);
        core::mem::forget(bomb);
    }
}
