//! [`Arena`]: an explicit arena of its own (`arenas.create`), as an allocator for collections
//! (`allocator_api2::alloc::Allocator`), destroyed when dropped.

use core::alloc::Layout;
use core::ffi::c_int;
use core::fmt;
use core::ptr::NonNull;

use alloc::boxed::Box;
use allocator_api2::alloc::{AllocError, Allocator};
use arenalloc::ffi;

use crate::hooks::{DefaultHooks, ExtentHooks, HookTable};
use crate::{arena, RawExtentHooks, Result};

/// An explicit arena: memory of its own, apart from the automatic arenas of the global allocator,
/// optionally from hooks of your own ([`ExtentHooks`]), given back all at once when it is
/// dropped.
///
/// `&Arena` is an allocator (`allocator_api2`, which works on stable Rust; the same trait as
/// `core::alloc::Allocator` on nightly): collections in it hold a borrow, so the arena cannot be
/// reset or dropped while one of them lives.
///
/// ```
/// use allocator_api2::{boxed::Box, vec::Vec};
/// use arenalloc_ctl::Arena;
///
/// # fn main() -> arenalloc_ctl::Result<()> {
/// let mut arena = Arena::new()?;
/// {
///     let mut v = Vec::new_in(&arena);
///     v.extend(0..10_000u32);
///     let b = Box::new_in([0u64; 512], &arena);
///     assert_eq!(arenalloc_ctl::arenas::lookup::read(v.as_ptr().cast())?, arena.index());
///     # #[cfg(feature = "stats")]
///     assert!(arena.stats()?.small_allocated + arena.stats()?.large_allocated >= 40_000 + 4096);
///     drop(b);
/// }
/// // Nothing borrows the arena any more: every allocation of it can go at once.
/// arena.reset()?;
/// arena.purge()?;
/// # Ok(()) }
/// // Dropping the arena destroys it (`arena.<i>.destroy`): its memory goes back to the system.
/// ```
///
/// Neither dropping nor resetting compiles while a collection borrows the arena:
///
/// ```compile_fail,E0505
/// use allocator_api2::vec::Vec;
/// let arena = arenalloc_ctl::Arena::new().unwrap();
/// let mut v = Vec::new_in(&arena);
/// v.push(1u32);
/// drop(arena); // error[E0505]: cannot move out of `arena` because it is borrowed
/// v.push(2);
/// ```
///
/// ```compile_fail,E0502
/// use allocator_api2::boxed::Box;
/// let mut arena = arenalloc_ctl::Arena::new().unwrap();
/// let b = Box::new_in(5u32, &arena);
/// arena.reset().unwrap(); // error[E0502]: cannot borrow `arena` as mutable
/// assert_eq!(*b, 5);
/// ```
///
/// # Allocations
///
/// Allocations bypass the thread caches (`MALLOCX_TCACHE_NONE`): each one takes the arena's
/// locks, so the arena is `Send + Sync` and can serve several threads, and a reset or destroy
/// never leaves objects of it in a cache. Small allocations are served from slabs of the arena,
/// large ones from its extents; all of its memory comes from its hooks.
///
/// Only [`Arena`] allocates from its index: do not bind a thread to it (`thread.arena`, an
/// `unsafe` write for that reason) or pass its index to `mallocx` yourself unless every such
/// allocation is freed before the arena is reset or dropped.
///
/// # Dropping
///
/// Dropping destroys the arena (`arena.<i>.destroy`): its extents go back through its hooks
/// (`dalloc`/purges, then `destroy`), its statistics are merged into `stats.arenas.4097.*`
/// ([`ARENAS_DESTROYED`](crate::ARENAS_DESTROYED)), and its index is reused by a later
/// `arenas.create`; only then are the hooks dropped. Should the destroy fail (`EFAULT` while a
/// thread is bound to it), the arena stays, and so do its hooks (leaked).
/// [`destroy`](Self::destroy) does the same and reports the error.
pub struct Arena {
    index: u32,
    /// The boxed `HookTable<H>` of `with_hooks`, and how to drop it.
    hooks: Option<OwnedHooks>,
}

struct OwnedHooks {
    table: NonNull<RawExtentHooks>,
    drop: unsafe fn(NonNull<RawExtentHooks>),
}

/// Drops the `Box<HookTable<H>>` behind `table`.
///
/// # Safety
///
/// `table` came from `Box::into_raw` of a `HookTable<H>`, and nothing calls the hooks any more.
unsafe fn drop_table<H: ExtentHooks>(table: NonNull<RawExtentHooks>) {
    // SAFETY: the caller's.
    drop(unsafe { Box::from_raw(table.as_ptr().cast::<HookTable<H>>()) });
}

// SAFETY: the arena is an index into the core, which serves it from any thread: allocations and
// frees with `MALLOCX_TCACHE_NONE` take the arena's own locks (no thread cache is involved), and
// the control commands take the locks they need. The hooks, the only data the value owns, are
// `Send + Sync` (`ExtentHooks` requires it) and are only used through `&`.
unsafe impl Send for Arena {}
// SAFETY: as for `Send`; `&Arena` allocates and frees concurrently through the core's locks.
unsafe impl Sync for Arena {}

impl Arena {
    /// Creates an arena with arenalloc's own extent hooks (`arenas.create`).
    ///
    /// `EAGAIN` if no arena index is left (4095 explicit arenas at once) or out of memory.
    pub fn new() -> Result<Arena> {
        Ok(Arena {
            index: crate::arenas::create::call()?,
            hooks: None,
        })
    }

    /// Creates an arena whose memory comes from `hooks` (`arenas.create` with a hook table).
    ///
    /// The hooks live in a box that the arena owns; it is dropped after the arena is destroyed.
    /// Keep whatever the hooks share with the rest of the program (counters, a memory region) in
    /// an `Arc` or a `'static`.
    pub fn with_hooks<H: ExtentHooks>(hooks: H) -> Result<Arena> {
        // The defaults the trait forwards to are read before any hook can run.
        DefaultHooks::raw()?;
        let table = NonNull::from(Box::leak(Box::new(HookTable::new(hooks)))).cast();
        // SAFETY: the table's trampolines call `H`, which honours the hook contract (an `unsafe`
        // trait); the box lives until the arena is destroyed (`Drop`), or leaks.
        match unsafe { crate::arenas::create::with_hooks(table.as_ptr()) } {
            Ok(index) => Ok(Arena {
                index,
                hooks: Some(OwnedHooks {
                    table,
                    drop: drop_table::<H>,
                }),
            }),
            Err(e) => {
                // SAFETY: no arena was created: nothing calls the hooks.
                unsafe { drop_table::<H>(table) };
                Err(e)
            }
        }
    }

    /// The arena index (for `MALLOCX_ARENA`, `stats.arenas.<i>.*`, `arena.<i>.*`).
    pub fn index(&self) -> u32 {
        self.index
    }

    /// The arena's [`arena::Handle`] (`arena.<i>.*`).
    pub fn handle(&self) -> arena::Handle {
        crate::arena(self.index)
    }

    /// The arena's statistics (`stats.arenas.<i>.*`), after advancing the epoch.
    #[cfg(feature = "stats")]
    pub fn stats(&self) -> Result<crate::snapshot::ArenaStats> {
        self.handle().stats()
    }

    /// Gives all of the arena's dirty and muzzy pages back now (`arena.<i>.purge`).
    pub fn purge(&self) -> Result<()> {
        self.handle().purge()
    }

    /// Gives back what the decay curves do not allow to stay now (`arena.<i>.decay`).
    pub fn decay(&self) -> Result<()> {
        self.handle().decay()
    }

    /// `arena.<i>.dirty_decay_ms`.
    pub fn dirty_decay_ms(&self) -> Result<isize> {
        self.handle().dirty_decay_ms()
    }

    /// Sets `arena.<i>.dirty_decay_ms` (-1 never, 0 at once) with effect at once.
    pub fn set_dirty_decay_ms(&self, ms: isize) -> Result<()> {
        self.handle().set_dirty_decay_ms(ms)
    }

    /// `arena.<i>.muzzy_decay_ms`.
    pub fn muzzy_decay_ms(&self) -> Result<isize> {
        self.handle().muzzy_decay_ms()
    }

    /// Sets `arena.<i>.muzzy_decay_ms` (-1 never, 0 at once) with effect at once.
    pub fn set_muzzy_decay_ms(&self, ms: isize) -> Result<()> {
        self.handle().set_muzzy_decay_ms(ms)
    }

    /// `arena.<i>.retain_grow_limit`: the largest step by which the arena grows its memory.
    pub fn retain_grow_limit(&self) -> Result<usize> {
        self.handle().retain_grow_limit()
    }

    /// Sets `arena.<i>.retain_grow_limit` (rounded down to pages; `EINVAL` below one page).
    pub fn set_retain_grow_limit(&self, bytes: usize) -> Result<()> {
        self.handle().set_retain_grow_limit(bytes)
    }

    /// Frees every allocation of the arena at once (`arena.<i>.reset`), keeping the arena and
    /// its hooks; the pages become dirty and decay as usual.
    ///
    /// `&mut self`: no collection may borrow the arena.
    pub fn reset(&mut self) -> Result<()> {
        // SAFETY: every allocation of the arena was made through a borrow of `self` (its index is
        // not shared: see the type's docs), and there is none left; no thread cache holds
        // objects of the arena (`MALLOCX_TCACHE_NONE`).
        unsafe { crate::arena::reset::call(self.index) }
    }

    /// Destroys the arena (what dropping does), reporting the error; on error the arena and its
    /// hooks are leaked (the core may still use them).
    pub fn destroy(mut self) -> Result<()> {
        let r = self.destroy_now();
        core::mem::forget(self);
        r
    }

    fn destroy_now(&mut self) -> Result<()> {
        // SAFETY: as for `reset`: nothing borrows the arena any more.
        let r = unsafe { crate::arena::destroy::call(self.index) };
        if let Some(h) = self.hooks.take() {
            if r.is_ok() {
                // SAFETY: the arena is gone: nothing calls its hooks any more.
                unsafe { (h.drop)(h.table) };
            }
            // Else the core keeps the arena and may call the hooks: they stay (leaked).
        }
        r
    }

    /// `mallocx` flags: this arena, no thread cache, `align`.
    fn flags(&self, align: usize) -> c_int {
        arenalloc::mallocx_arena(self.index) | free_flags(align)
    }
}

/// `dallocx` flags: no thread cache, `align` (a free finds the arena from the pointer).
fn free_flags(align: usize) -> c_int {
    arenalloc::MALLOCX_TCACHE_NONE | arenalloc::mallocx_lg_align(align.trailing_zeros() as usize)
}

impl Drop for Arena {
    fn drop(&mut self) {
        let _ = self.destroy_now();
    }
}

impl fmt::Debug for Arena {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Arena")
            .field("index", &self.index)
            .field("custom_hooks", &self.hooks.is_some())
            .finish()
    }
}

/// A dangling, aligned pointer: the block of a zero-size layout.
fn dangling(layout: Layout) -> NonNull<[u8]> {
    // SAFETY: an alignment is never 0. (`Layout::dangling` is unstable; the address is the
    // alignment, as `NonNull::dangling` does it.)
    let p = unsafe { NonNull::new_unchecked(layout.align() as *mut u8) };
    NonNull::slice_from_raw_parts(p, 0)
}

fn block(
    p: *mut core::ffi::c_void,
    size: usize,
) -> core::result::Result<NonNull<[u8]>, AllocError> {
    NonNull::new(p.cast::<u8>())
        .map(|p| NonNull::slice_from_raw_parts(p, size))
        .ok_or(AllocError)
}

// SAFETY: blocks come from `mallocx` of the core (aligned as asked, `MALLOCX_ZERO` zeroes), are
// distinct until freed, and stay valid until freed through this allocator (`sdallocx`) or moved
// by `rallocx`; the arena outlives them, since collections borrow it (`reset` and drop need it
// unborrowed). Zero-size layouts get a dangling pointer and never reach the core.
unsafe impl Allocator for Arena {
    fn allocate(&self, layout: Layout) -> core::result::Result<NonNull<[u8]>, AllocError> {
        self.mallocx(layout, 0)
    }

    fn allocate_zeroed(&self, layout: Layout) -> core::result::Result<NonNull<[u8]>, AllocError> {
        self.mallocx(layout, arenalloc::MALLOCX_ZERO)
    }

    unsafe fn deallocate(&self, ptr: NonNull<u8>, layout: Layout) {
        if layout.size() != 0 {
            // SAFETY: the caller's: `ptr` is a live block of this allocator, of `layout`.
            unsafe {
                ffi::arenalloc_sdallocx(
                    ptr.as_ptr().cast(),
                    layout.size(),
                    free_flags(layout.align()),
                )
            }
        }
    }

    unsafe fn grow(
        &self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> core::result::Result<NonNull<[u8]>, AllocError> {
        if old_layout.size() == 0 {
            return self.allocate(new_layout);
        }
        // SAFETY: the caller's: `ptr` is a live block of `old_layout`, and the new size is at
        // least the old one (non-zero).
        unsafe { self.resize(ptr, new_layout) }
    }

    unsafe fn grow_zeroed(
        &self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> core::result::Result<NonNull<[u8]>, AllocError> {
        if old_layout.size() == 0 {
            return self.allocate_zeroed(new_layout);
        }
        // `MALLOCX_ZERO` on `rallocx` zeroes only past the old *usable* size: zero the rest here.
        // SAFETY: as in `grow`.
        let new = unsafe { self.grow(ptr, old_layout, new_layout)? };
        let old = old_layout.size();
        // SAFETY: the new block has `new_layout.size() >= old` bytes.
        unsafe {
            new.cast::<u8>()
                .as_ptr()
                .add(old)
                .write_bytes(0, new_layout.size() - old)
        };
        Ok(new)
    }

    unsafe fn shrink(
        &self,
        ptr: NonNull<u8>,
        old_layout: Layout,
        new_layout: Layout,
    ) -> core::result::Result<NonNull<[u8]>, AllocError> {
        if new_layout.size() == 0 {
            // SAFETY: the caller's.
            unsafe { self.deallocate(ptr, old_layout) };
            return Ok(dangling(new_layout));
        }
        // SAFETY: the caller's: `ptr` is a live block of `old_layout` (non-zero, since the new
        // size is not larger and not zero).
        unsafe { self.resize(ptr, new_layout) }
    }
}

impl Arena {
    /// `mallocx` from the arena with `extra` flags (`MALLOCX_ZERO`); zero sizes never reach it.
    fn mallocx(
        &self,
        layout: Layout,
        extra: c_int,
    ) -> core::result::Result<NonNull<[u8]>, AllocError> {
        if layout.size() == 0 {
            return Ok(dangling(layout));
        }
        let flags = self.flags(layout.align()) | extra;
        // SAFETY: a non-zero size; the flags name this arena.
        block(
            unsafe { ffi::arenalloc_mallocx(layout.size(), flags) },
            layout.size(),
        )
    }

    /// `rallocx` into the arena: in place or moved; on failure the old block stays as it was.
    ///
    /// # Safety
    ///
    /// `ptr` is a live block of this arena, of non-zero size; `new_layout.size()` is not zero.
    unsafe fn resize(
        &self,
        ptr: NonNull<u8>,
        new_layout: Layout,
    ) -> core::result::Result<NonNull<[u8]>, AllocError> {
        let flags = self.flags(new_layout.align());
        // SAFETY: the caller's.
        let p = unsafe { ffi::arenalloc_rallocx(ptr.as_ptr().cast(), new_layout.size(), flags) };
        block(p, new_layout.size())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_have_the_c_layout() {
        // MALLOCX_TCACHE_NONE = (-1 + 2) << 8, MALLOCX_LG_ALIGN(la) = la, MALLOCX_ARENA(a) =
        // (a + 1) << 20.
        assert_eq!(free_flags(1), 1 << 8);
        assert_eq!(free_flags(4096), (1 << 8) | 12);
        assert_eq!(
            arenalloc::mallocx_arena(7) | free_flags(1 << 20),
            (8 << 20) | (1 << 8) | 20
        );
    }

    #[test]
    fn zero_sizes_are_dangling() {
        let l = Layout::from_size_align(0, 64).unwrap();
        let d = dangling(l);
        assert_eq!(d.cast::<u8>().as_ptr() as usize, 64);
        assert_eq!(d.len(), 0);
    }
}
