//! Extent hooks written in Rust: the [`ExtentHooks`] trait, the C trampolines that call it, and
//! [`DefaultHooks`] (arenalloc's own hooks behind the same trait).
//!
//! An arena gets all of its pages from its hooks (jemalloc's `extent_hooks_t`,
//! `arena.<i>.extent_hooks`). [`Arena::with_hooks`](crate::Arena::with_hooks) boxes an
//! `H: ExtentHooks` behind a C table of `extern "C"` trampolines: the table is the first field of
//! a `#[repr(C)]` struct, so the `extent_hooks_t *` the allocator passes back to every hook is
//! also a pointer to the `H` beside it.

use core::ffi::{c_uint, c_void};
use core::ptr::{self, NonNull};
use core::sync::atomic::{AtomicPtr, Ordering};

use crate::RawExtentHooks;

/// A hook did not do what it was asked: jemalloc's `true` return of the `bool` hooks.
///
/// What follows depends on the hook (see [`ExtentHooks`]): for `dalloc` and `decommit` the
/// allocator keeps the memory as it is (retained for reuse), for `split` and `merge` it keeps the
/// extents as they are, for `commit` and the purges it takes the operation as failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Declined;

impl core::fmt::Display for Declined {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("the extent hook declined")
    }
}

#[cfg(feature = "std")]
impl std::error::Error for Declined {}

/// What the hooks other than `alloc` and `destroy` return: `Ok(())` if they did it (jemalloc's
/// `false`), `Err(Declined)` if they did not (jemalloc's `true`).
pub type HookResult = core::result::Result<(), Declined>;

/// Extent hooks: where an arena's memory comes from and where it goes.
///
/// The nine methods are jemalloc's nine hooks (`extent_hooks_t`, in the same order), with Rust
/// types: addresses are `NonNull<u8>`, `alloc` returns `Option<NonNull<u8>>` (None: failure), the
/// `bool` hooks return a [`HookResult`] (`Err(Declined)` is C's `true`: failure, or "opt out"),
/// and the arena index is the last argument. Every method has a default that forwards to
/// arenalloc's own hooks ([`DefaultHooks`]: `mmap`, `munmap`, `madvise`), so an implementation
/// overrides only what it needs; an override calls `DefaultHooks.method(...)` to delegate.
///
/// ```
/// use core::ptr::NonNull;
/// use core::sync::atomic::{AtomicUsize, Ordering};
/// use arenalloc_ctl::{Arena, DefaultHooks, ExtentHooks};
///
/// /// Counts the bytes the arena maps, and otherwise does what arenalloc does.
/// #[derive(Default)]
/// struct Counting(AtomicUsize);
///
/// // SAFETY: `alloc` hands out what the default hooks hand out, unchanged.
/// unsafe impl ExtentHooks for Counting {
///     fn alloc(&self, new_addr: Option<NonNull<u8>>, size: usize, align: usize,
///              zero: &mut bool, commit: &mut bool, arena: u32) -> Option<NonNull<u8>> {
///         let p = DefaultHooks.alloc(new_addr, size, align, zero, commit, arena)?;
///         self.0.fetch_add(size, Ordering::Relaxed);
///         Some(p)
///     }
/// }
///
/// # fn main() -> arenalloc_ctl::Result<()> {
/// let arena = Arena::with_hooks(Counting::default())?;
/// let mut v = allocator_api2::vec::Vec::new_in(&arena);
/// v.extend_from_slice(&[1u8; 100_000]);
/// # Ok(()) }
/// ```
///
/// # When the allocator calls them
///
/// * `alloc`: when the arena grows: `new_addr` None, `size` a multiple of the page size (in
///   steps, 2 MiB first, doubling up to `arena.<i>.retain_grow_limit`, or exactly what is needed
///   if a step fails), `align` a power of two of at least a page, `*commit` true on entry.
/// * `split` / `merge`: whenever the arena carves an extent or coalesces neighbours.
/// * purging (decay, [`Arena::purge`](crate::Arena::purge), `decay`): with `muzzy_decay_ms` 0
///   (the default), dirty pages go through `dalloc` (`Err`: keep them) → `decommit` →
///   `purge_forced` → `purge_lazy` until one succeeds; with `muzzy_decay_ms` non-zero first
///   `purge_lazy`.
/// * `destroy`: for every extent left when the arena is destroyed (dropping an
///   [`Arena`](crate::Arena)).
///
/// The hooks run without allocator locks held, on whatever thread needs them (a background purge
/// thread included): they may allocate, even from the same arena, but an `alloc` that allocates
/// from its own arena can recurse.
///
/// # Panics
///
/// A panic must not unwind into the allocator's C code: a hook that panics aborts the process
/// (the trampolines hold a guard that panics again while unwinding, which aborts; Rust 1.81 and
/// later also abort on their own at an `extern "C"` boundary, but this crate supports 1.75).
///
/// # Safety
///
/// The allocator trusts what the hooks report, and hands the memory out to safe code; so an
/// implementation promises, for the methods it overrides:
///
/// * `alloc` returns memory that nothing else uses, of `size` bytes aligned to `align`, valid for
///   reads and writes (if it reports `*commit` true) until the allocator gives it back through
///   `dalloc` (`Ok`) or `destroy`; exactly `new_addr` when that is `Some` (the trampoline takes any
///   other address, or a misaligned one, as a failure); zeroed if `*zero` is true on entry, and
///   it reports the memory's state through `*zero` and `*commit` truthfully. Memory of
///   arenalloc's own allocations (a `Vec` of the global allocator when that is arenalloc, or of an
///   other `Arena`) is never such memory: the allocator tracks every extent by address, so an
///   extent inside one of its allocations corrupts that allocation's record. Map the memory
///   (`mmap`), or take it from another allocator.
/// * `commit` returns `Ok` only if the pages are now readable and writable (and zeroed);
///   `purge_forced` returns `Ok` only if the pages now read as zero.
/// * No method touches memory outside the extent it is called for, or unmaps, decommits or changes
///   memory except as its method allows (`dalloc`, `destroy`, `decommit`, the purges).
///
/// Declining is always safe.
#[allow(unused_variables)] // the defaults forward only some arguments
pub unsafe trait ExtentHooks: Send + Sync + 'static {
    /// Maps `size` bytes aligned to `align` (at `new_addr`, if given); `None` on failure.
    ///
    /// `*zero` and `*commit` say on entry whether the memory must be zeroed and committed, and
    /// on success whether it is.
    fn alloc(
        &self,
        new_addr: Option<NonNull<u8>>,
        size: usize,
        align: usize,
        zero: &mut bool,
        commit: &mut bool,
        arena: u32,
    ) -> Option<NonNull<u8>> {
        let d = defaults()?;
        let f = d.alloc?;
        let addr = new_addr.map_or(ptr::null_mut(), |p| p.as_ptr().cast());
        // SAFETY: arenalloc's default hook, called as the allocator would call it.
        NonNull::new(unsafe { f(table(d), addr, size, align, zero, commit, arena) }.cast())
    }

    /// Gives an extent back for good (`Ok`: it is unmapped); `Err(Declined)` keeps it mapped, as
    /// it is (`committed` or not), and the arena retains it for reuse.
    fn dalloc(&self, addr: NonNull<u8>, size: usize, committed: bool, arena: u32) -> HookResult {
        forward(|d| {
            let f = d.dalloc?;
            // SAFETY: arenalloc's default hook, called as the allocator would call it.
            Some(unsafe { f(table(d), addr.as_ptr().cast(), size, committed, arena) })
        })
    }

    /// Destroys an extent unconditionally (when the arena is destroyed).
    fn destroy(&self, addr: NonNull<u8>, size: usize, committed: bool, arena: u32) {
        let Some(d) = defaults() else { return };
        let Some(f) = d.destroy else { return };
        // SAFETY: arenalloc's default hook, called as the allocator would call it.
        unsafe { f(table(d), addr.as_ptr().cast(), size, committed, arena) }
    }

    /// Commits `length` bytes at `offset` in the extent (they then read as zero);
    /// `Err(Declined)`: out of memory.
    fn commit(
        &self,
        addr: NonNull<u8>,
        size: usize,
        offset: usize,
        length: usize,
        arena: u32,
    ) -> HookResult {
        forward(|d| {
            let f = d.commit?;
            // SAFETY: arenalloc's default hook, called as the allocator would call it.
            Some(unsafe { f(table(d), addr.as_ptr().cast(), size, offset, length, arena) })
        })
    }

    /// Decommits `length` bytes at `offset` (recommitted through `commit` before reuse);
    /// `Err(Declined)`: they stay committed.
    fn decommit(
        &self,
        addr: NonNull<u8>,
        size: usize,
        offset: usize,
        length: usize,
        arena: u32,
    ) -> HookResult {
        forward(|d| {
            let f = d.decommit?;
            // SAFETY: arenalloc's default hook, called as the allocator would call it.
            Some(unsafe { f(table(d), addr.as_ptr().cast(), size, offset, length, arena) })
        })
    }

    /// Purges `length` bytes at `offset` lazily (`MADV_FREE`-like: the contents may linger);
    /// `Err(Declined)`: not purged.
    fn purge_lazy(
        &self,
        addr: NonNull<u8>,
        size: usize,
        offset: usize,
        length: usize,
        arena: u32,
    ) -> HookResult {
        forward(|d| {
            let f = d.purge_lazy?;
            // SAFETY: arenalloc's default hook, called as the allocator would call it.
            Some(unsafe { f(table(d), addr.as_ptr().cast(), size, offset, length, arena) })
        })
    }

    /// Purges `length` bytes at `offset` for good (`MADV_DONTNEED`-like: they read as zero
    /// afterwards); `Err(Declined)`: not purged.
    fn purge_forced(
        &self,
        addr: NonNull<u8>,
        size: usize,
        offset: usize,
        length: usize,
        arena: u32,
    ) -> HookResult {
        forward(|d| {
            let f = d.purge_forced?;
            // SAFETY: arenalloc's default hook, called as the allocator would call it.
            Some(unsafe { f(table(d), addr.as_ptr().cast(), size, offset, length, arena) })
        })
    }

    /// Splits the extent into its first `size_a` and last `size_b` bytes; `Err(Declined)`: it
    /// stays one (the arena then uses it whole).
    fn split(
        &self,
        addr: NonNull<u8>,
        size: usize,
        size_a: usize,
        size_b: usize,
        committed: bool,
        arena: u32,
    ) -> HookResult {
        forward(|d| {
            let f = d.split?;
            // SAFETY: arenalloc's default hook, called as the allocator would call it.
            Some(unsafe {
                f(
                    table(d),
                    addr.as_ptr().cast(),
                    size,
                    size_a,
                    size_b,
                    committed,
                    arena,
                )
            })
        })
    }

    /// Merges two adjacent extents (`addr_a` first) into one; `Err(Declined)`: they stay apart.
    fn merge(
        &self,
        addr_a: NonNull<u8>,
        size_a: usize,
        addr_b: NonNull<u8>,
        size_b: usize,
        committed: bool,
        arena: u32,
    ) -> HookResult {
        forward(|d| {
            let f = d.merge?;
            // SAFETY: arenalloc's default hook, called as the allocator would call it.
            Some(unsafe {
                f(
                    table(d),
                    addr_a.as_ptr().cast(),
                    size_a,
                    addr_b.as_ptr().cast(),
                    size_b,
                    committed,
                    arena,
                )
            })
        })
    }
}

/// arenalloc's own extent hooks (`mmap`, `munmap`, `madvise`) as an [`ExtentHooks`]: what every
/// method of the trait does by default, and what an override calls to delegate
/// (`DefaultHooks.alloc(...)`).
///
/// They are read once, the first time they are needed, from `arena.0.extent_hooks` (arena 0 must
/// still have arenalloc's hooks then; [`Arena::with_hooks`](crate::Arena::with_hooks) reads them
/// before it creates the arena). If they cannot be read, every method fails (`None`,
/// `Err(Declined)`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct DefaultHooks;

// SAFETY: every method is arenalloc's own hook.
unsafe impl ExtentHooks for DefaultHooks {}

impl DefaultHooks {
    /// The C table of arenalloc's own hooks (`arena.0.extent_hooks`, read once).
    pub fn raw() -> crate::Result<&'static RawExtentHooks> {
        let p = DEFAULTS.load(Ordering::Acquire);
        if let Some(p) = NonNull::new(p) {
            // SAFETY: a table of the core's, which it never frees.
            return Ok(unsafe { p.as_ref() });
        }
        let p = NonNull::new(crate::arena::extent_hooks::read(0)?).ok_or(crate::Error::EFAULT)?;
        DEFAULTS.store(p.as_ptr(), Ordering::Release);
        // SAFETY: as above.
        Ok(unsafe { p.as_ref() })
    }
}

/// The default table, once read (`arena.0.extent_hooks`).
static DEFAULTS: AtomicPtr<RawExtentHooks> = AtomicPtr::new(ptr::null_mut());

fn defaults() -> Option<&'static RawExtentHooks> {
    DefaultHooks::raw().ok()
}

/// The first argument of a default hook: its own table.
fn table(d: &'static RawExtentHooks) -> *mut RawExtentHooks {
    ptr::addr_of!(*d).cast_mut()
}

/// Calls a `bool` default hook; a missing one declines.
fn forward(call: impl FnOnce(&'static RawExtentHooks) -> Option<bool>) -> HookResult {
    match defaults().and_then(call) {
        Some(false) => Ok(()),
        _ => Err(Declined),
    }
}

fn to_c(r: HookResult) -> bool {
    r.is_err()
}

// ---------------------------------------------------------------------------------------------
// The C side: a table of trampolines in front of an `H`.

/// The C table of trampolines, then the hooks: the `extent_hooks_t *` the allocator passes to
/// every hook is a pointer to the whole struct.
#[repr(C)]
pub(crate) struct HookTable<H> {
    raw: RawExtentHooks,
    hooks: H,
}

impl<H: ExtentHooks> HookTable<H> {
    pub(crate) fn new(hooks: H) -> Self {
        HookTable {
            raw: RawExtentHooks {
                alloc: Some(alloc_tramp::<H>),
                dalloc: Some(dalloc_tramp::<H>),
                destroy: Some(destroy_tramp::<H>),
                commit: Some(commit_tramp::<H>),
                decommit: Some(decommit_tramp::<H>),
                purge_lazy: Some(purge_lazy_tramp::<H>),
                purge_forced: Some(purge_forced_tramp::<H>),
                split: Some(split_tramp::<H>),
                merge: Some(merge_tramp::<H>),
            },
            hooks,
        }
    }
}

/// Aborts the process if it is dropped while a panic unwinds: a panic must not unwind from a
/// hook into C. The trampolines `forget` it on the normal path; a panic while panicking aborts
/// (with `panic = "abort"` the guard is never needed).
struct AbortOnUnwind;

impl Drop for AbortOnUnwind {
    fn drop(&mut self) {
        panic!("arenalloc-ctl: an extent hook panicked; a panic cannot unwind into the allocator: aborting");
    }
}

/// Runs `f` with the `H` behind `this`, aborting if it panics.
///
/// # Safety
///
/// `this` is the table of a live `HookTable<H>` (the allocator passes back the pointer it was
/// given).
#[inline]
unsafe fn with<H: ExtentHooks, R>(this: *mut RawExtentHooks, f: impl FnOnce(&H) -> R) -> R {
    let guard = AbortOnUnwind;
    // SAFETY: `raw` is the first field of the `#[repr(C)]` `HookTable<H>`; nothing mutates it
    // while the arena lives.
    let h = unsafe { &(*this.cast::<HookTable<H>>()).hooks };
    let r = f(h);
    core::mem::forget(guard);
    r
}

unsafe extern "C" fn alloc_tramp<H: ExtentHooks>(
    this: *mut RawExtentHooks,
    new_addr: *mut c_void,
    size: usize,
    alignment: usize,
    zero: *mut bool,
    commit: *mut bool,
    arena_ind: c_uint,
) -> *mut c_void {
    let want = NonNull::new(new_addr.cast::<u8>());
    // SAFETY: the allocator passes its table and two valid `bool`s.
    let got = unsafe {
        with::<H, _>(this, |h| {
            h.alloc(want, size, alignment, &mut *zero, &mut *commit, arena_ind)
        })
    };
    match got {
        // Exactly `new_addr` if one was asked for, and aligned: anything else is a failure.
        Some(p)
            if want.map_or(true, |w| w == p)
                && (alignment == 0 || p.as_ptr() as usize % alignment == 0) =>
        {
            p.as_ptr().cast()
        }
        _ => ptr::null_mut(),
    }
}

unsafe extern "C" fn dalloc_tramp<H: ExtentHooks>(
    this: *mut RawExtentHooks,
    addr: *mut c_void,
    size: usize,
    committed: bool,
    arena_ind: c_uint,
) -> bool {
    let Some(addr) = NonNull::new(addr.cast()) else {
        return true;
    };
    // SAFETY: the allocator passes its table.
    to_c(unsafe { with::<H, _>(this, |h| h.dalloc(addr, size, committed, arena_ind)) })
}

unsafe extern "C" fn destroy_tramp<H: ExtentHooks>(
    this: *mut RawExtentHooks,
    addr: *mut c_void,
    size: usize,
    committed: bool,
    arena_ind: c_uint,
) {
    if let Some(addr) = NonNull::new(addr.cast()) {
        // SAFETY: the allocator passes its table.
        unsafe { with::<H, _>(this, |h| h.destroy(addr, size, committed, arena_ind)) }
    }
}

macro_rules! range_tramp {
    ($name:ident, $method:ident) => {
        unsafe extern "C" fn $name<H: ExtentHooks>(
            this: *mut RawExtentHooks,
            addr: *mut c_void,
            size: usize,
            offset: usize,
            length: usize,
            arena_ind: c_uint,
        ) -> bool {
            let Some(addr) = NonNull::new(addr.cast()) else {
                return true;
            };
            // SAFETY: the allocator passes its table.
            to_c(unsafe {
                with::<H, _>(this, |h| h.$method(addr, size, offset, length, arena_ind))
            })
        }
    };
}

range_tramp!(commit_tramp, commit);
range_tramp!(decommit_tramp, decommit);
range_tramp!(purge_lazy_tramp, purge_lazy);
range_tramp!(purge_forced_tramp, purge_forced);

unsafe extern "C" fn split_tramp<H: ExtentHooks>(
    this: *mut RawExtentHooks,
    addr: *mut c_void,
    size: usize,
    size_a: usize,
    size_b: usize,
    committed: bool,
    arena_ind: c_uint,
) -> bool {
    let Some(addr) = NonNull::new(addr.cast()) else {
        return true;
    };
    // SAFETY: the allocator passes its table.
    to_c(unsafe {
        with::<H, _>(this, |h| {
            h.split(addr, size, size_a, size_b, committed, arena_ind)
        })
    })
}

unsafe extern "C" fn merge_tramp<H: ExtentHooks>(
    this: *mut RawExtentHooks,
    addr_a: *mut c_void,
    size_a: usize,
    addr_b: *mut c_void,
    size_b: usize,
    committed: bool,
    arena_ind: c_uint,
) -> bool {
    let (Some(a), Some(b)) = (NonNull::new(addr_a.cast()), NonNull::new(addr_b.cast())) else {
        return true;
    };
    // SAFETY: the allocator passes its table.
    to_c(unsafe {
        with::<H, _>(this, |h| {
            h.merge(a, size_a, b, size_b, committed, arena_ind)
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::boxed::Box;
    use core::sync::atomic::AtomicUsize;

    /// Counts calls and forwards to the defaults.
    #[derive(Default)]
    struct Probe(AtomicUsize);

    // SAFETY: forwards to the defaults.
    unsafe impl ExtentHooks for Probe {
        fn alloc(
            &self,
            new_addr: Option<NonNull<u8>>,
            size: usize,
            align: usize,
            zero: &mut bool,
            commit: &mut bool,
            arena: u32,
        ) -> Option<NonNull<u8>> {
            self.0.fetch_add(1, Ordering::Relaxed);
            DefaultHooks.alloc(new_addr, size, align, zero, commit, arena)
        }
        fn split(
            &self,
            addr: NonNull<u8>,
            size: usize,
            size_a: usize,
            size_b: usize,
            committed: bool,
            arena: u32,
        ) -> HookResult {
            self.0.fetch_add(1, Ordering::Relaxed);
            DefaultHooks.split(addr, size, size_a, size_b, committed, arena)
        }
        fn destroy(&self, addr: NonNull<u8>, size: usize, committed: bool, arena: u32) {
            self.0.fetch_add(1, Ordering::Relaxed);
            DefaultHooks.destroy(addr, size, committed, arena)
        }
    }

    #[test]
    fn trampolines_reach_the_hooks_and_the_defaults() {
        let t = Box::new(HookTable::new(Probe::default()));
        let this = ptr::addr_of!(t.raw).cast_mut();
        let (mut zero, mut commit) = (false, true);
        let size = 2 << 20;
        // SAFETY: called as the allocator calls its hooks, on memory the hooks mapped.
        unsafe {
            let p = (t.raw.alloc.unwrap())(
                this,
                ptr::null_mut(),
                size,
                1 << 20,
                &mut zero,
                &mut commit,
                0,
            );
            assert!(!p.is_null());
            assert_eq!(p as usize % (1 << 20), 0);
            assert!(commit);
            p.cast::<u8>().write_bytes(1, size);
            let _split = (t.raw.split.unwrap())(this, p, size, size / 2, size / 2, true, 0);
            // Not overridden: straight to the defaults (purging makes the pages read as zero).
            let forced = (t.raw.purge_forced.unwrap())(this, p, size, 0, size, 0);
            if !forced {
                assert_eq!(*p.cast::<u8>(), 0);
            }
            (t.raw.destroy.unwrap())(this, p, size, true, 0);
        }
        assert_eq!(t.hooks.0.load(Ordering::Relaxed), 3);
    }

    /// Returns a pointer the allocator did not ask for.
    struct Liar;

    // SAFETY: what `alloc` returns is never used: the trampoline refuses it (tested here).
    unsafe impl ExtentHooks for Liar {
        fn alloc(
            &self,
            _: Option<NonNull<u8>>,
            _: usize,
            _: usize,
            _: &mut bool,
            _: &mut bool,
            _: u32,
        ) -> Option<NonNull<u8>> {
            NonNull::new(0x1000 as *mut u8)
        }
    }

    #[test]
    fn misaligned_or_misplaced_blocks_are_failures() {
        let t = HookTable::new(Liar);
        let this = ptr::addr_of!(t.raw).cast_mut();
        let (mut zero, mut commit) = (false, true);
        let alloc = t.raw.alloc.unwrap();
        // SAFETY: the trampoline only calls `Liar`.
        unsafe {
            // 0x1000 is aligned to a page: taken.
            let ok = alloc(this, ptr::null_mut(), 4096, 4096, &mut zero, &mut commit, 0);
            assert_eq!(ok as usize, 0x1000);
            // Not aligned to 2 MiB, not the address asked for: failures.
            let p = alloc(
                this,
                ptr::null_mut(),
                4096,
                2 << 20,
                &mut zero,
                &mut commit,
                0,
            );
            assert!(p.is_null());
            let want = 0x2000 as *mut c_void;
            let p = alloc(this, want, 4096, 4096, &mut zero, &mut commit, 0);
            assert!(p.is_null());
        }
    }

    #[test]
    fn the_table_comes_first() {
        let t = HookTable::new(DefaultHooks);
        assert_eq!(
            ptr::addr_of!(t).cast::<u8>(),
            ptr::addr_of!(t.raw).cast::<u8>()
        );
        assert!(!to_c(Ok(())));
        assert!(to_c(Err(Declined)));
    }
}
