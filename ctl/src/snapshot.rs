//! Every statistic at one epoch, as typed structs.
//!
//! The structs are generated from the table like the handles: [`Totals`] has a field per
//! `stats.*` key, [`ArenaStats`] per `stats.arenas.<i>.*` key, and each indexed family of an arena
//! (`stats.arenas.<i>.bins.<j>.*`, `stats.arenas.<i>.lextents.<j>.*`) a struct per class that
//! also carries the class's constants (`arenas.bin.<j>.*`, `arenas.lextent.<j>.*`). Each struct
//! lists its fields in `FIELDS` (name, key, type, doc) and their values in `values()`, for
//! generic consumers such as the Prometheus renderer.
//!
//! ```
//! #[global_allocator]
//! static GLOBAL: arenalloc::Arenalloc = arenalloc::Arenalloc;
//!
//! fn main() -> arenalloc_ctl::Result<()> {
//!     let v = vec![1u64; 4096];
//!     let s = arenalloc_ctl::Snapshot::take()?;
//!     let t = &s.totals;
//!     assert!(t.allocated >= 8 * v.len());
//!     assert!(t.allocated <= t.active && t.active <= t.resident && t.resident <= t.mapped);
//!     println!("{} arenas in use, {} bytes in small classes", s.arenas.len(),
//!              s.merged.stats.small_allocated);
//!     Ok(())
//! }
//! ```

use alloc::vec::Vec;

use crate::{Error, Result};

include!(concat!(env!("OUT_DIR"), "/snapshot.rs"));

/// The C type of a snapshot field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Type {
    /// `bool`.
    Bool,
    /// `unsigned`.
    Unsigned,
    /// `uint32_t`.
    U32,
    /// `uint64_t` (cumulative counters, by jemalloc's convention).
    U64,
    /// `int64_t`.
    I64,
    /// `size_t` (current levels: bytes, pages, counts).
    Size,
    /// `ssize_t`.
    SSize,
    /// `const char *`.
    Str,
}

/// The metadata of one snapshot field.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Field {
    /// The field's name in its struct (the key's path below the struct's prefix, `_`-joined).
    pub name: &'static str,
    /// The key, `{i}`/`{j}` standing for the indices.
    pub path: &'static str,
    /// The C type.
    pub ty: Type,
    /// The key's one-line doc.
    pub doc: &'static str,
}

/// One snapshot value, widened.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Value {
    /// A `bool`.
    Bool(bool),
    /// An unsigned number.
    U64(u64),
    /// A signed number.
    I64(i64),
    /// A string.
    Str(&'static str),
}

impl From<bool> for Value {
    fn from(v: bool) -> Value {
        Value::Bool(v)
    }
}

impl From<u32> for Value {
    fn from(v: u32) -> Value {
        Value::U64(v.into())
    }
}

impl From<u64> for Value {
    fn from(v: u64) -> Value {
        Value::U64(v)
    }
}

impl From<usize> for Value {
    fn from(v: usize) -> Value {
        Value::U64(v as u64)
    }
}

impl From<i64> for Value {
    fn from(v: i64) -> Value {
        Value::I64(v)
    }
}

impl From<isize> for Value {
    fn from(v: isize) -> Value {
        Value::I64(v as i64)
    }
}

impl From<&'static str> for Value {
    fn from(v: &'static str) -> Value {
        Value::Str(v)
    }
}

/// All statistics at one epoch.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Snapshot {
    /// The epoch the values belong to.
    pub epoch: u64,
    /// Process-wide figures (`stats.*`).
    pub totals: Totals,
    /// The initialized arenas (`arena.<i>.initialized`), by increasing index.
    pub arenas: Vec<ArenaSnapshot>,
    /// All arenas merged (`stats.arenas.4096.*`).
    pub merged: ArenaSnapshot,
}

/// How many times [`Snapshot::take`] retries when another thread advances the epoch while it
/// reads.
const ATTEMPTS: usize = 8;

impl Snapshot {
    /// Advances the epoch once, then reads every statistic of that epoch: the totals, each
    /// initialized arena, and the merged view.
    ///
    /// The values all come from one refresh: if another thread advances the epoch meanwhile, the
    /// reading starts over (`EAGAIN` after a few attempts).
    pub fn take() -> Result<Snapshot> {
        let totals_mibs = TotalsMibs::new()?;
        let arena_mibs = ArenaSnapshotMibs::new()?;
        let epoch_mib = crate::epoch::mib()?;
        let initialized = crate::arena::initialized::mib()?;
        let narenas = crate::arenas::narenas::mib()?;
        for _ in 0..ATTEMPTS {
            let epoch = epoch_mib.advance()?;
            let totals = totals_mibs.read()?;
            let mut arenas = Vec::new();
            for i in 0..narenas.read()? {
                if initialized.read(i)? {
                    arenas.push(arena_mibs.read(i)?);
                }
            }
            let merged = arena_mibs.read(crate::ARENAS_ALL)?;
            if epoch_mib.read()? == epoch {
                return Ok(Snapshot {
                    epoch,
                    totals,
                    arenas,
                    merged,
                });
            }
        }
        Err(Error::EAGAIN)
    }

    /// The arena with index `i`, if it was initialized.
    pub fn arena(&self, i: u32) -> Option<&ArenaSnapshot> {
        self.arenas.iter().find(|a| a.index == i)
    }
}
