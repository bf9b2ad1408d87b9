//! Per-arena conveniences over the generated `arena.<i>.*` handles: `arenalloc_ctl::arena(i)`
//! gives an [`arena::Handle`](crate::arena::Handle) that reads naturally
//! (`arenalloc_ctl::arena(0).purge()`), and `arenalloc_ctl::purge()` / `decay()` act on every
//! arena at once (`MALLCTL_ARENAS_ALL`).
//!
//! ```
//! #[global_allocator]
//! static GLOBAL: arenalloc::Arenalloc = arenalloc::Arenalloc;
//!
//! fn main() -> arenalloc_ctl::Result<()> {
//!     let v = vec![0u8; 8 << 20];
//!     drop(v);
//!     // Everything freed goes back to the system now, whatever the decay times.
//!     arenalloc_ctl::purge()?;
//!
//!     let a = arenalloc_ctl::arena(0);
//!     let ms = a.dirty_decay_ms()?;
//!     a.set_dirty_decay_ms(ms)?;
//!     a.decay()?; // down to the decay curve
//!     a.purge()?; // everything
//!     Ok(())
//! }
//! ```

use crate::Result;

/// `MALLCTL_ARENAS_ALL`: the index that stands for every arena (`arenalloc_ctl::arena::ALL`).
pub const ALL: u32 = 4096;

/// One arena (or, with index [`ALL`], every arena) of the allocator. A plain index: creating a
/// handle checks nothing; each call reports `mallctl`'s error.
///
/// (Named `Handle` so as not to clash with an allocator type called `Arena`; reach it as
/// `arenalloc_ctl::arena::Handle`.)
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Handle {
    index: u32,
}

/// The arena with index `index` (`arenalloc_ctl::arena::ALL`: every arena).
pub fn arena(index: u32) -> Handle {
    Handle { index }
}

/// Purges every arena's dirty and muzzy pages now (`arena.4096.purge`).
pub fn purge() -> Result<()> {
    arena(ALL).purge()
}

/// Purges every arena down to what its decay curves allow now (`arena.4096.decay`).
pub fn decay() -> Result<()> {
    arena(ALL).decay()
}

impl Handle {
    /// The arena index.
    pub fn index(self) -> u32 {
        self.index
    }

    /// Gives all of the arena's dirty and muzzy pages back now (`arena.<i>.purge`).
    pub fn purge(self) -> Result<()> {
        crate::arena::purge::call(self.index)
    }

    /// Gives back what the decay curves do not allow to stay now (`arena.<i>.decay`).
    pub fn decay(self) -> Result<()> {
        crate::arena::decay::call(self.index)
    }

    /// `arena.<i>.dirty_decay_ms`: milliseconds over which freed pages go back (-1 never, 0 at
    /// once). For [`ALL`]: arena 0's.
    pub fn dirty_decay_ms(self) -> Result<isize> {
        crate::arena::dirty_decay_ms::read(self.index)
    }

    /// Sets `arena.<i>.dirty_decay_ms` with effect at once (for [`ALL`]: every arena).
    pub fn set_dirty_decay_ms(self, ms: isize) -> Result<()> {
        crate::arena::dirty_decay_ms::write(self.index, ms)
    }

    /// `arena.<i>.muzzy_decay_ms`: milliseconds over which lazily purged pages are purged for
    /// good (-1 never, 0 at once). For [`ALL`]: arena 0's.
    pub fn muzzy_decay_ms(self) -> Result<isize> {
        crate::arena::muzzy_decay_ms::read(self.index)
    }

    /// Sets `arena.<i>.muzzy_decay_ms` with effect at once (for [`ALL`]: every arena).
    pub fn set_muzzy_decay_ms(self, ms: isize) -> Result<()> {
        crate::arena::muzzy_decay_ms::write(self.index, ms)
    }

    /// Whether the arena existed at the last `epoch` refresh (`arena.<i>.initialized`).
    pub fn initialized(self) -> Result<bool> {
        crate::arena::initialized::read(self.index)
    }

    /// `arena.<i>.retain_grow_limit`: the largest step by which the arena grows its memory
    /// (1 GiB by default).
    pub fn retain_grow_limit(self) -> Result<usize> {
        crate::arena::retain_grow_limit::read(self.index)
    }

    /// Sets `arena.<i>.retain_grow_limit` (rounded down to pages; `EINVAL` below one page).
    pub fn set_retain_grow_limit(self, bytes: usize) -> Result<()> {
        crate::arena::retain_grow_limit::write(self.index, bytes)
    }

    /// The arena's extent hooks (`arena.<i>.extent_hooks`; arenalloc's own table for arenas
    /// created without hooks of their own).
    pub fn extent_hooks(self) -> Result<*mut crate::RawExtentHooks> {
        crate::arena::extent_hooks::read(self.index)
    }

    /// The arena's statistics (`stats.arenas.<i>.*`), after advancing the epoch (`ENOENT` if the
    /// arena does not exist).
    #[cfg(feature = "stats")]
    pub fn stats(self) -> Result<crate::snapshot::ArenaStats> {
        crate::epoch::advance()?;
        crate::snapshot::ArenaStatsMibs::new()?.read(self.index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;

    #[test]
    fn purge_and_decay_every_arena() {
        purge().expect("purge all");
        decay().expect("decay all");
        assert_eq!(arena(ALL).index(), 4096);
    }

    #[test]
    fn one_arena() {
        let a = arena(0);
        assert!(a.initialized().expect("initialized"));
        let ms = a.dirty_decay_ms().expect("read");
        a.set_dirty_decay_ms(ms).expect("write back");
        assert_eq!(a.dirty_decay_ms(), Ok(ms));
        let m = a.muzzy_decay_ms().expect("read");
        a.set_muzzy_decay_ms(m).expect("write back");
        assert_eq!(a.set_dirty_decay_ms(-2), Err(Error::EINVAL));
        a.decay().expect("decay");
        a.purge().expect("purge");
    }

    #[test]
    fn bad_index() {
        // No arena 4000: its decay time cannot be read.
        assert!(arena(4000).dirty_decay_ms().is_err());
    }
}
