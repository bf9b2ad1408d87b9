//! `metrics::render()` (feature `prometheus`): valid exposition format, one series per
//! initialized arena, and counters that never go down.

mod support {
    pub mod prometheus;
}

use std::collections::BTreeMap;

use arenalloc_ctl::{metrics, Snapshot};
use support::prometheus::parse;

#[global_allocator]
static GLOBAL: arenalloc::Arenalloc = arenalloc::Arenalloc;

type Series = BTreeMap<(String, Vec<(String, String)>), f64>;

fn scrape() -> (Series, BTreeMap<String, String>) {
    let text = metrics::render().expect("render");
    let (samples, kinds) = parse(&text);
    let series = samples
        .into_iter()
        .map(|s| ((s.name, s.labels), s.value))
        .collect();
    (series, kinds)
}

#[test]
fn render_scrapes_cleanly_and_counters_only_grow() {
    let (first, kinds) = scrape();
    let work: Vec<Vec<u8>> = (0..5000).map(|i| vec![0u8; 1 + i % 3000]).collect();
    let big = vec![0u8; 4 << 20];
    let (second, _) = scrape();

    for name in [
        "arenalloc_allocated_bytes",
        "arenalloc_active_bytes",
        "arenalloc_resident_bytes",
        "arenalloc_mapped_bytes",
        "arenalloc_metadata_bytes",
        "arenalloc_retained_bytes",
    ] {
        assert_eq!(kinds.get(name).map(String::as_str), Some("gauge"), "{name}");
    }
    let allocated = second[&("arenalloc_allocated_bytes".to_string(), vec![])];
    assert!(allocated >= (big.len() + work.len()) as f64);

    // Every initialized arena has its series.
    let s = Snapshot::take().unwrap();
    for a in &s.arenas {
        let key = (
            "arenalloc_arena_pactive_pages".to_string(),
            vec![("arena".to_string(), a.index.to_string())],
        );
        assert!(second.contains_key(&key), "arena {}", a.index);
    }

    // Counters are monotonic from one scrape to the next.
    let mut compared = 0;
    for ((name, labels), v) in &first {
        if kinds[name] == "counter" {
            if let Some(w) = second.get(&(name.clone(), labels.clone())) {
                assert!(w >= v, "{name}{labels:?}: {v} -> {w}");
                compared += 1;
            }
        }
    }
    assert!(compared > 10, "{compared} counters compared");
    drop((work, big));
}
