//! `Snapshot`: the invariants between the totals, the arenas and the merged view, and the exact
//! accounting of `stats.allocated`.
//!
//! One test function, so no other test thread allocates while the exact figures are compared.

use arenalloc_ctl::snapshot::{ArenaSnapshot, ArenaStats, BinStats, LextentStats, Type, Value};
use arenalloc_ctl::{epoch, stats, Snapshot, ARENAS_ALL};

#[global_allocator]
static GLOBAL: arenalloc::Arenalloc = arenalloc::Arenalloc;

/// Whether the merged view of this field is the sum over arenas: every count and amount, not
/// the arena's age.
fn additive(name: &str, ty: Type) -> bool {
    matches!(ty, Type::U64 | Type::Size | Type::Unsigned | Type::U32) && name != "uptime"
}

fn number(v: Value) -> u64 {
    match v {
        Value::U64(n) => n,
        other => panic!("not a count: {other:?}"),
    }
}

/// For each additive field of `fields`, the sum over `rows` equals `merged`.
fn check_sums(
    what: &str,
    fields: &[arenalloc_ctl::snapshot::Field],
    rows: &[Vec<Value>],
    merged: &[Value],
) {
    for (k, f) in fields.iter().enumerate() {
        if f.path.starts_with("arenas.") {
            // Class constants: the same in every arena.
            for r in rows {
                assert_eq!(r[k], merged[k], "{what}.{}", f.name);
            }
        } else if additive(f.name, f.ty) {
            let sum: u64 = rows.iter().map(|r| number(r[k])).sum();
            assert_eq!(
                sum,
                number(merged[k]),
                "{what}.{}: sum over arenas vs merged",
                f.name
            );
        }
    }
}

fn check(s: &Snapshot) {
    let t = &s.totals;
    // The stacked view.
    assert!(
        t.allocated <= t.active,
        "allocated {} > active {}",
        t.allocated,
        t.active
    );
    assert!(
        t.active <= t.resident,
        "active {} > resident {}",
        t.active,
        t.resident
    );
    assert!(
        t.resident <= t.mapped,
        "resident {} > mapped {}",
        t.resident,
        t.mapped
    );
    assert!(t.metadata > 0 && t.metadata <= t.resident);
    let page = arenalloc_ctl::arenas::page::read().unwrap();
    assert_eq!(t.active % page, 0);

    // Arenas: the initialized ones, in order, and the merged view.
    assert!(!s.arenas.is_empty());
    assert!(s.arenas.windows(2).all(|w| w[0].index < w[1].index));
    assert_eq!(s.merged.index, ARENAS_ALL);
    assert_eq!(s.arena(s.arenas[0].index), Some(&s.arenas[0]));
    let rows: Vec<Vec<Value>> = s.arenas.iter().map(|a| a.stats.values()).collect();
    check_sums("arena", ArenaStats::FIELDS, &rows, &s.merged.stats.values());

    // Active pages and live bytes agree with the totals.
    assert_eq!(s.merged.stats.pactive * page, t.active);
    let m = &s.merged.stats;
    assert!(m.small_allocated + m.large_allocated >= t.allocated);
    assert_eq!(
        (m.small_allocated + m.large_allocated) as u64,
        t.allocated as u64 + m.tcache_bytes as u64,
        "arena-allocated = live + thread-cached"
    );

    // Per class.
    let nbins = arenalloc_ctl::arenas::nbins::read().unwrap() as usize;
    let nlextents = arenalloc_ctl::arenas::nlextents::read().unwrap() as usize;
    for a in s.arenas.iter().chain([&s.merged]) {
        assert_eq!(a.bins.len(), nbins);
        assert_eq!(a.lextents.len(), nlextents);
        assert!(a
            .bins
            .iter()
            .enumerate()
            .all(|(j, b)| b.index as usize == j));
        for b in &a.bins {
            assert!(b.ndalloc <= b.nmalloc, "arena {} bin {}", a.index, b.index);
            assert_eq!(
                b.curregs as u64,
                b.nmalloc - b.ndalloc,
                "arena {} bin {}",
                a.index,
                b.index
            );
            assert!(b.nonfull_slabs <= b.curslabs);
            assert!(b.curregs <= b.curslabs * b.nregs as usize);
        }
        for l in &a.lextents {
            assert_eq!(l.curlextents as u64, l.nmalloc - l.ndalloc);
        }
        // The arena's small/large figures are the sums of its classes.
        let small: usize = a.bins.iter().map(|b| b.curregs * b.size).sum();
        assert_eq!(small, a.stats.small_allocated, "arena {}", a.index);
        let large: usize = a.lextents.iter().map(|l| l.curlextents * l.size).sum();
        assert_eq!(large, a.stats.large_allocated, "arena {}", a.index);
    }
    for j in 0..nbins {
        let rows: Vec<Vec<Value>> = s.arenas.iter().map(|a| a.bins[j].values()).collect();
        check_sums("bin", BinStats::FIELDS, &rows, &s.merged.bins[j].values());
    }
    for j in 0..nlextents {
        let rows: Vec<Vec<Value>> = s.arenas.iter().map(|a| a.lextents[j].values()).collect();
        check_sums(
            "lextent",
            LextentStats::FIELDS,
            &rows,
            &s.merged.lextents[j].values(),
        );
    }
}

/// `stats.allocated` after an epoch advance, without allocating.
fn allocated_now() -> usize {
    epoch::advance().unwrap();
    stats::allocated::read().unwrap()
}

#[test]
fn snapshots_are_consistent_and_exact() {
    let s0 = Snapshot::take().unwrap();
    check(&s0);

    // A workload on several threads (so several arenas), kept alive while measured.
    let handles: Vec<_> = (0..4)
        .map(|t| {
            std::thread::spawn(move || {
                let small: Vec<Vec<u8>> = (0..2000).map(|i| vec![t as u8; 1 + i % 700]).collect();
                let large: Vec<Vec<u8>> =
                    (0..20).map(|i| vec![1u8; (64 << 10) + i * 4096]).collect();
                (small, large)
            })
        })
        .collect();
    let kept: Vec<_> = handles.into_iter().map(|h| h.join().unwrap()).collect();
    let s1 = Snapshot::take().unwrap();
    check(&s1);
    assert!(s1.epoch > s0.epoch);
    assert!(s1.totals.allocated > s0.totals.allocated);
    let used_bins = s1.merged.bins.iter().filter(|b| b.curregs > 0).count();
    assert!(used_bins > 10, "{used_bins} bins in use");
    assert!(s1.merged.lextents.iter().any(|l| l.curlextents > 0));
    drop(kept);

    // Exact: stats.allocated moves by the usable size of what is allocated and freed.
    let before = allocated_now();
    let blocks: Vec<Box<[u8]>> = [1usize, 24, 100, 1000, 5000, 20_000, 300_000]
        .iter()
        .map(|&n| vec![7u8; n].into_boxed_slice())
        .collect();
    let list_bytes = unsafe { arenalloc::usable_size(blocks.as_ptr()) };
    let block_bytes: usize = blocks
        .iter()
        .map(|b| unsafe { arenalloc::usable_size(b.as_ptr()) })
        .sum();
    assert_eq!(allocated_now() - before, list_bytes + block_bytes);
    drop(blocks);
    assert_eq!(allocated_now(), before);

    // Merged-only reads agree with the snapshot's merged view at the same epoch.
    let s2 = Snapshot::take().unwrap();
    if epoch::read().unwrap() == s2.epoch {
        assert_eq!(
            stats::arenas::small::nmalloc::read(ARENAS_ALL).unwrap(),
            s2.merged.stats.small_nmalloc
        );
    }
    check(&s2);

    // The metadata lists line up with the values.
    assert_eq!(ArenaStats::FIELDS.len(), s2.merged.stats.values().len());
    assert!(ArenaStats::FIELDS
        .iter()
        .any(|f| f.name == "small_allocated"
            && f.path == "stats.arenas.{i}.small.allocated"
            && f.ty == Type::Size));
    let _: &ArenaSnapshot = &s2.merged;
}
