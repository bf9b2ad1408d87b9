//! arenalloc as the global allocator of a short mixed workload (about one second), with its
//! figures: allocations per second for each part, then the process's peak and current RSS.
//!
//! ```text
//! cargo run --release --example demo
//! ```

use std::collections::HashMap;
use std::thread;
use std::time::{Duration, Instant};

#[global_allocator]
static GLOBAL: arenalloc::Arenalloc = arenalloc::Arenalloc;

/// Runs `work` repeatedly for about `budget`; returns the allocations counted by `work` (each one
/// is also freed) and the time taken.
fn timed(budget: Duration, mut work: impl FnMut() -> u64) -> (u64, Duration) {
    let start = Instant::now();
    let mut allocs = 0;
    while start.elapsed() < budget {
        allocs += work();
    }
    (allocs, start.elapsed())
}

/// A map of short strings: many small allocations of mixed sizes.
fn strings_map() -> u64 {
    let mut map = HashMap::new();
    for i in 0..20_000u64 {
        map.insert(
            format!("user:{i}"),
            format!("{}", i * 2_654_435_761 % 1_000_003),
        );
    }
    let total: usize = map.values().map(String::len).sum();
    assert!(total > 0);
    2 * map.len() as u64
}

/// Vectors built, sorted and dropped: large blocks, and a burst of small strings.
fn sorted_vectors() -> u64 {
    let mut allocs = 0;
    for round in 0..20u64 {
        let mut v: Vec<u64> = (0..50_000u64)
            .map(|i| i.wrapping_mul(6_364_136_223_846_793_005) ^ round)
            .collect();
        v.sort_unstable();
        let words: Vec<String> = v.iter().take(2_000).map(|x| x.to_string()).collect();
        allocs += 2 + words.len() as u64; // v, words, and each word
    }
    allocs
}

/// Short-lived blocks on several threads; the survivors are freed by the main thread.
fn threaded_churn(threads: usize, budget: Duration) -> (u64, Duration) {
    let start = Instant::now();
    let workers: Vec<_> = (0..threads)
        .map(|t| {
            thread::spawn(move || {
                let mut allocs = 0u64;
                let mut x = 0x9e37_79b9_7f4a_7c15u64 ^ t as u64;
                let mut keep: Vec<Vec<u8>> = Vec::with_capacity(1024);
                while start.elapsed() < budget {
                    for _ in 0..1_000 {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        // Mostly small blocks, one in 64 up to 64 KiB.
                        let limit = if x % 64 == 0 { 65_536 } else { 256 };
                        let block = vec![x as u8; (x >> 20) as usize % limit + 1];
                        if keep.len() < keep.capacity() {
                            keep.push(block);
                        } else {
                            keep[(x >> 40) as usize % 1024] = block;
                        }
                        allocs += 1;
                    }
                }
                (allocs, keep)
            })
        })
        .collect();
    let mut allocs = 0;
    for w in workers {
        let (n, keep) = w.join().expect("churn thread panicked");
        allocs += n;
        drop(keep);
    }
    (allocs, start.elapsed())
}

/// A field of /proc/self/status in KiB (Linux), e.g. "VmHWM" (peak RSS) or "VmRSS".
fn status_kib(field: &str) -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let value = status
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))?;
    value.trim().trim_end_matches("kB").trim().parse().ok()
}

fn report(name: &str, (allocs, elapsed): (u64, Duration)) {
    let secs = elapsed.as_secs_f64();
    let rate = allocs as f64 / secs / 1e6;
    println!("{name:<20} {allocs:>12} {secs:>8.3} {rate:>12.2}");
}

fn main() {
    let threads = thread::available_parallelism()
        .map_or(2, |n| n.get())
        .max(2);
    println!(
        "arenalloc {} demo, {threads} threads for the churn",
        env!("CARGO_PKG_VERSION")
    );
    println!(
        "{:<20} {:>12} {:>8} {:>12}",
        "workload", "allocations", "seconds", "M allocs/s"
    );
    report(
        "hashmap of strings",
        timed(Duration::from_millis(300), strings_map),
    );
    report(
        "sort vectors",
        timed(Duration::from_millis(300), sorted_vectors),
    );
    report(
        "threaded churn",
        threaded_churn(threads, Duration::from_millis(400)),
    );

    let mib = |field| match status_kib(field) {
        Some(kib) => format!("{:.1} MiB", kib as f64 / 1024.0),
        None => "n/a".to_owned(),
    };
    println!("{:<20} {:>12}", "peak RSS (VmHWM)", mib("VmHWM"));
    println!("{:<20} {:>12}", "current RSS (VmRSS)", mib("VmRSS"));

    // The allocator's own view (an epoch snapshot through mallctl): what the program holds,
    // what the allocator holds for it, and what it has mapped.
    let snap = arenalloc_ctl::Snapshot::take().expect("mallctl snapshot");
    let t = &snap.totals;
    let m = |bytes: usize| format!("{:.1} MiB", bytes as f64 / (1 << 20) as f64);
    println!("{:<20} {:>12}", "stats.allocated", m(t.allocated));
    println!("{:<20} {:>12}", "stats.active", m(t.active));
    println!("{:<20} {:>12}", "stats.resident", m(t.resident));
    println!("{:<20} {:>12}", "stats.mapped", m(t.mapped));
    println!("{:<20} {:>12}", "stats.metadata", m(t.metadata));
}
