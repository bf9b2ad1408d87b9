//! `Snapshot` serializes (feature `serde`): every struct and field appears, named as in Rust.

use arenalloc_ctl::Snapshot;

#[global_allocator]
static GLOBAL: arenalloc::Arenalloc = arenalloc::Arenalloc;

#[test]
fn snapshot_serializes_to_json() {
    let keep = vec![0u8; 100_000];
    let s = Snapshot::take().unwrap();
    let json = serde_json::to_string(&s).unwrap();
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["epoch"], s.epoch);
    assert_eq!(v["totals"]["allocated"], s.totals.allocated);
    assert!(v["totals"]["allocated"].as_u64().unwrap() >= keep.len() as u64);
    assert_eq!(v["merged"]["index"], arenalloc_ctl::ARENAS_ALL);
    assert_eq!(
        v["merged"]["stats"]["small_allocated"],
        s.merged.stats.small_allocated
    );
    let arenas = v["arenas"].as_array().unwrap();
    assert_eq!(arenas.len(), s.arenas.len());
    let bin0 = &arenas[0]["bins"][0];
    assert_eq!(bin0["index"], 0);
    assert_eq!(bin0["size"], s.arenas[0].bins[0].size);
    assert_eq!(bin0["nmalloc"], s.arenas[0].bins[0].nmalloc);
    assert_eq!(
        v["merged"]["lextents"].as_array().unwrap().len(),
        s.merged.lextents.len()
    );
}
