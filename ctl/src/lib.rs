//! Control plane of [`arenalloc`]: typed handles over the allocator's `mallctl`
//! namespace, statistics snapshots, a text/JSON report and Prometheus metrics.
//!
//! Every key of the C table (`csrc/src/ctl_tree.def`) has a handle here, generated from the same
//! table by the build script: one module per path prefix, one zero-sized type per key with the
//! operations its access allows, and a `_mib` twin that skips the name lookup. Indexed path
//! components (`{i}` an arena, `{j}` a bin or large class) are arguments.
//!
//! ```
//! use arenalloc_ctl::{arenas, epoch, opt, stats, thread};
//!
//! #[global_allocator]
//! static GLOBAL: arenalloc::Arenalloc = arenalloc::Arenalloc;
//!
//! # #[cfg(feature = "stats")]
//! fn main() -> arenalloc_ctl::Result<()> {
//!     let v = vec![0u8; 1 << 20];
//!
//!     // Statistics are snapshots: advance the epoch, then read.
//!     epoch::advance()?;
//!     let allocated = stats::allocated::read()?;
//!     assert!(allocated >= v.len());
//!
//!     // A MIB skips the name lookup on every read.
//!     let active = stats::active::mib()?;
//!     assert!(active.read()? >= allocated);
//!
//!     // Indexed keys take the index: bin 0 of arena 0.
//!     let size = arenas::bin::size::read(0)?;
//!     let _mallocs = stats::arenas::bins::nmalloc::read(0, 0)?;
//!     assert!(size > 0);
//!
//!     // Per-thread counters without a call per read.
//!     let allocatedp = thread::allocatedp::read()?;
//!     assert!(allocatedp.get() > 0);
//!
//!     let _narenas = opt::narenas::read()?;
//!     Ok(())
//! }
//! # #[cfg(not(feature = "stats"))]
//! # fn main() {}
//! ```
//!
//! Giving memory back: [`purge()`] (every arena, now), [`arena(i)`](arena()) for one arena
//! (`arenalloc_ctl::arena(0).purge()`, `.decay()`, `.dirty_decay_ms()`,
//! `.set_dirty_decay_ms(ms)`, ...: an [`arena::Handle`]); background purge threads through
//! [`background_thread`] and [`max_background_threads`].
//!
//! Arenas of your own: [`Arena`] creates an explicit arena (`arenas.create`), optionally with
//! extent hooks written in Rust ([`ExtentHooks`]), and is an allocator for collections
//! (`allocator_api2`, on stable Rust); dropping it destroys the arena and gives all of its memory
//! back at once:
//!
//! ```
//! use arenalloc_ctl::allocator_api2::vec::Vec;
//! use arenalloc_ctl::Arena;
//!
//! # fn main() -> arenalloc_ctl::Result<()> {
//! let arena = Arena::new()?;
//! let mut v = Vec::new_in(&arena);
//! v.extend(0..100_000u64);
//! # #[cfg(feature = "stats")]
//! assert!(arena.stats()?.large_allocated >= 800_000);
//! # Ok(()) }
//! ```
//!
//! Explicit thread caches for `MALLOCX_TCACHE(i)`: [`tcache::create`], [`tcache::flush`],
//! [`tcache::destroy`].
//!
//! Anything else: [`raw`] (by name or MIB, the caller picks the type). A whole view at one epoch:
//! [`Snapshot::take`]. The human report: `stats::print`. Errors are the `errno` codes of
//! `mallctl` ([`Error`]).
//!
//! # Cargo features
//!
//! * `stats` (default): the statistics keys and [`Snapshot`] (also builds the core with stats).
//! * `background_threads` (default): background purge threads on by default in the core
//!   (forwarded to `arenalloc/background_threads`).
//! * `std`: `std::error::Error` for [`Error`] and [`Declined`]; a panic in a `stats::print_with` callback is caught
//!   at the C boundary and resumed after it (without `std` it aborts).
//! * `serde`: `Serialize` for [`Snapshot`] and its parts.
//! * `prometheus`: `metrics::render()`.
//!
//! The crate is `no_std` (it uses `alloc` for snapshots, reports and the hooks of an [`Arena`]).
#![no_std]
#![deny(missing_docs)]

extern crate alloc;
#[cfg(any(feature = "std", test))]
extern crate std;

// Links the C core (the `mallctl` entry points live there).
use arenalloc as _;

use core::marker::PhantomData;
use core::ops::{Index, IndexMut};

mod arena_alloc;
mod arena_handle;
mod error;
mod hooks;
mod keys;
#[cfg(any(feature = "prometheus", test))]
#[cfg(feature = "stats")]
pub mod metrics;
mod print;
pub mod raw;
#[cfg(feature = "stats")]
pub mod snapshot;

/// The `allocator-api2` crate [`Arena`] implements `Allocator` of (its `vec::Vec`, `boxed::Box`;
/// `hashbrown` uses the same crate).
pub use allocator_api2;
pub use arena_alloc::Arena;
pub use arena_handle::{arena, decay, purge};
pub use error::{Error, ErrorKind, Result};
pub use hooks::{Declined, DefaultHooks, ExtentHooks, HookResult};
#[cfg(feature = "stats")]
pub use snapshot::Snapshot;

/// The C `extent_hooks_t`, jemalloc's table of nine extent hooks (see `arenalloc::ffi`): what
/// `arena.<i>.extent_hooks` and `arenas.create` take. [`ExtentHooks`] is the Rust trait that
/// [`Arena::with_hooks`] puts behind such a table.
pub type RawExtentHooks = arenalloc::ffi::extent_hooks_t;

/// The arena index that stands for all arenas merged (`MALLCTL_ARENAS_ALL`).
pub const ARENAS_ALL: u32 = arenalloc::ffi::MALLCTL_ARENAS_ALL;

/// The arena index of the merged statistics of destroyed arenas (`MALLCTL_ARENAS_DESTROYED`).
pub const ARENAS_DESTROYED: u32 = arenalloc::ffi::MALLCTL_ARENAS_DESTROYED;

/// A Management Information Base: a key's name looked up once into `N` integers.
///
/// Index components keep their numeric value, so `mib[k] = i` selects another arena or class.
/// The typed `_mib` handles wrap one and patch the indices for you.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Mib<const N: usize>([usize; N]);

impl<const N: usize> Mib<N> {
    /// Looks `name` up; it must have exactly `N` components (`ENOENT` otherwise; `N` is at most
    /// 31).
    pub fn from_name(name: &(impl raw::AsName + ?Sized)) -> Result<Self> {
        // Room past N: a longer name must not pass for its N-component prefix.
        let mut buf = [0usize; 32];
        let found = raw::name_to_mib(name, &mut buf)?;
        if found.len() != N {
            return Err(Error::ENOENT);
        }
        let mut mib = [0usize; N];
        mib.copy_from_slice(found);
        Ok(Mib(mib))
    }

    /// The components.
    pub fn as_slice(&self) -> &[usize] {
        &self.0
    }
}

impl<const N: usize> Index<usize> for Mib<N> {
    type Output = usize;
    fn index(&self, k: usize) -> &usize {
        &self.0[k]
    }
}

impl<const N: usize> IndexMut<usize> for Mib<N> {
    fn index_mut(&mut self, k: usize) -> &mut usize {
        &mut self.0[k]
    }
}

/// A pointer into the calling thread's allocator state (`thread.allocatedp`,
/// `thread.deallocatedp`): [`get`](Self::get) reads the live counter without a `mallctl` call.
///
/// Neither `Send` nor `Sync`: the counter belongs to the thread that read the pointer.
pub struct ThreadLocal<T> {
    ptr: *mut T,
    _not_send: PhantomData<*mut ()>,
}

impl<T> ThreadLocal<T> {
    /// `None` for NULL.
    #[allow(dead_code)] // the U64_PTR keys need `stats`
    pub(crate) fn new(ptr: *mut T) -> Option<Self> {
        (!ptr.is_null()).then_some(ThreadLocal {
            ptr,
            _not_send: PhantomData,
        })
    }
}

impl<T: Copy> ThreadLocal<T> {
    /// The current value of the counter.
    pub fn get(self) -> T {
        // SAFETY: the C side handed out a pointer into this thread's state, which outlives every
        // value of this type (it cannot leave the thread).
        unsafe { core::ptr::read_volatile(self.ptr) }
    }
}

impl<T> Clone for ThreadLocal<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for ThreadLocal<T> {}

impl<T> core::fmt::Debug for ThreadLocal<T> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_tuple("ThreadLocal").field(&self.ptr).finish()
    }
}

include!(concat!(env!("OUT_DIR"), "/handles.rs"));

impl epoch {
    /// Advances the epoch (refreshes the statistics snapshot); returns the new epoch.
    ///
    /// Same as `update(1)`: any write refreshes, and the read in the same call sees the new
    /// epoch.
    pub fn advance() -> Result<u64> {
        epoch::update(1)
    }
}

impl epoch_mib {
    /// Advances the epoch through the MIB; returns the new epoch.
    pub fn advance(&self) -> Result<u64> {
        self.update(1)
    }
}

// The crate's own tests (generated per key and hand-written) run on arenalloc, so the statistics
// see their allocations.
#[cfg(test)]
#[global_allocator]
static GLOBAL: arenalloc::Arenalloc = arenalloc::Arenalloc;
