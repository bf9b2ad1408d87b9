//! A workload on arenalloc as the global allocator, and the memory it costs at three moments:
//! the stacked view `allocated <= active <= resident <= mapped`, the overhead `resident -
//! allocated`, and the size classes holding the most bytes.
//!
//! ```text
//! cargo run --release -p arenalloc-ctl --example stats
//! ```

use std::collections::HashMap;
use std::thread;

use arenalloc_ctl::Snapshot;

#[global_allocator]
static GLOBAL: arenalloc::Arenalloc = arenalloc::Arenalloc;

/// What one worker keeps alive: a map of short strings and vectors, and a few large buffers.
type Kept = (HashMap<String, Vec<u32>>, Vec<Vec<u8>>);

/// Mixed small and large classes, built on `threads` threads (so on several arenas).
fn workload(threads: usize) -> Vec<Kept> {
    (0..threads)
        .map(|t| {
            thread::spawn(move || {
                let map: HashMap<String, Vec<u32>> = (0..20_000u32)
                    .map(|i| (format!("key-{t}-{i}"), vec![i; (i % 37) as usize]))
                    .collect();
                let buffers = (0..16)
                    .map(|i| vec![t as u8; (32 << 10) << (i % 6)])
                    .collect();
                (map, buffers)
            })
        })
        .collect::<Vec<_>>()
        .into_iter()
        .map(|h| h.join().expect("worker"))
        .collect()
}

fn mib(bytes: usize) -> String {
    format!("{:9.2} MiB", bytes as f64 / (1 << 20) as f64)
}

fn report(title: &str) -> arenalloc_ctl::Result<()> {
    let s = Snapshot::take()?;
    let t = &s.totals;
    println!(
        "== {title} (epoch {}, {} arenas in use)",
        s.epoch,
        s.arenas.len()
    );
    let width = 40.0;
    for (name, bytes) in [
        ("allocated", t.allocated),
        ("active", t.active),
        ("resident", t.resident),
        ("mapped", t.mapped),
    ] {
        let bar = (bytes as f64 / t.mapped.max(1) as f64 * width).round() as usize;
        println!("  {name:<10}{}  {}", mib(bytes), "#".repeat(bar));
    }
    assert!(t.allocated <= t.active && t.active <= t.resident && t.resident <= t.mapped);
    let overhead = t.resident - t.allocated;
    let ratio = if t.allocated >= 1 << 20 {
        format!(
            "{:.1} % of allocated; ",
            100.0 * overhead as f64 / t.allocated as f64
        )
    } else {
        String::new()
    };
    println!(
        "  overhead  {}  resident - allocated ({ratio}metadata {}, retained {})",
        mib(overhead),
        mib(t.metadata).trim_start(),
        mib(t.retained).trim_start(),
    );

    // The small classes holding the most bytes, over all arenas.
    let mut bins: Vec<_> = s.merged.bins.iter().filter(|b| b.curregs > 0).collect();
    bins.sort_by_key(|b| std::cmp::Reverse(b.curregs * b.size));
    let top: Vec<String> = bins
        .iter()
        .take(5)
        .map(|b| format!("{} B x {}", b.size, b.curregs))
        .collect();
    if !top.is_empty() {
        println!("  top small classes: {}", top.join(", "));
    }
    let large: usize = s.merged.lextents.iter().map(|l| l.curlextents).sum();
    println!(
        "  large allocations live: {large} ({})",
        mib(s.merged.stats.large_allocated).trim_start()
    );
    println!();
    Ok(())
}

fn main() -> arenalloc_ctl::Result<()> {
    report("at start")?;
    let mut data = workload(4);
    report("workload live")?;
    // Free half: the pages stay resident (dirty) until purged.
    data.truncate(2);
    report("half freed")?;
    drop(data);
    report("all freed")?;
    Ok(())
}
