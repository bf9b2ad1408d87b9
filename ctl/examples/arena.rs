//! An arena of its own: collections allocated in it (`Vec::new_in(&arena)`), its statistics next
//! to arena 0's, a reset that frees everything at once, and the drop that gives the memory back.
//!
//! ```text
//! cargo run --release -p arenalloc-ctl --example arena
//! ```

use arenalloc_ctl::allocator_api2::{boxed::Box, vec::Vec};
use arenalloc_ctl::Arena;

#[global_allocator]
static GLOBAL: arenalloc::Arenalloc = arenalloc::Arenalloc;

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64)
}

fn report(what: &str, arena: &Arena) -> arenalloc_ctl::Result<()> {
    let s = arena.stats()?;
    let page = arenalloc_ctl::arenas::page::read()?;
    println!(
        "{what:<28} arena {}: allocated {:>9} (small {}, large {}), active {:>9}, dirty {:>9}, mapped {:>9}",
        arena.index(),
        mib(s.small_allocated + s.large_allocated),
        mib(s.small_allocated),
        mib(s.large_allocated),
        mib(s.pactive * page),
        mib(s.pdirty * page),
        mib(s.mapped),
    );
    Ok(())
}

fn main() -> arenalloc_ctl::Result<()> {
    let mut arena = Arena::new()?;
    report("new", &arena)?;
    {
        // A request's worth of data: everything lives in the arena, nothing in arena 0.
        let mut rows: Vec<Vec<u32, &Arena>, &Arena> = Vec::new_in(&arena);
        for i in 0..10_000u32 {
            let mut row = Vec::with_capacity_in(16, &arena);
            row.extend(i..i + 16);
            rows.push(row);
        }
        let blob = Box::new_in([7u8; 1 << 20], &arena);
        report("10k rows and a 1 MiB box", &arena)?;
        let arena0 = arenalloc_ctl::arena(0).stats()?;
        println!(
            "{:<28} arena 0: allocated {:>9}",
            "",
            mib(arena0.small_allocated + arena0.large_allocated)
        );
        assert_eq!(blob[12345], 7);
        // The collections borrow the arena: it cannot be reset or dropped here. `forget` them
        // instead of freeing one by one: the reset below frees everything.
        core::mem::forget(rows);
        core::mem::forget(blob);
    }
    arena.reset()?;
    report("reset", &arena)?;
    arena.purge()?;
    report("purged", &arena)?;
    // Dropping destroys the arena: its memory goes back through its hooks.
    drop(arena);
    Ok(())
}
