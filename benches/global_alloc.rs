//! Side-by-side benchmark of four `GlobalAlloc` implementations on the same workloads:
//! `arenalloc::Arenalloc`, `std::alloc::System` (glibc), `tikv_jemallocator::Jemalloc` and
//! `mimalloc::MiMalloc`.
//!
//! The machine this runs on is shared and noisy, so nothing here asserts on time. Every workload
//! runs once per allocator as warm-up, then `rounds` times per allocator, interleaved (A B C D,
//! B C D A, ...), so that a burst of noise hits all allocators alike; the table reports the
//! median per allocator and the ratio of each to arenalloc (`x/arenalloc` > 1 means arenalloc
//! is faster).
//!
//! ```text
//! cargo bench --bench global_alloc                       # full run, well under a minute
//! BENCH_QUICK=1 cargo bench --bench global_alloc         # a few seconds, fewer/shorter rounds
//! BENCH_FILTER=pairs cargo bench --bench global_alloc    # only workloads whose name contains it
//! BENCH_ALLOCATORS=system,jemalloc cargo bench ...       # a subset; the first is the baseline
//! BENCH_ROUNDS=15 cargo bench ...                        # override the number of rounds
//! BENCH_CLOCK=wall cargo bench ...                        # wall time for every workload
//! ```
//!
//! Single-threaded workloads are timed with the thread's CPU clock (see `Stopwatch`), so time
//! spent descheduled on a busy machine does not count; the multi-threaded ones by wall clock.
//!
//! The bench binary itself keeps the default global allocator (System): the allocators under
//! test are called only through their `GlobalAlloc` values, as `#[global_allocator]` would call
//! them (sized `dealloc`, `realloc` with the old layout).

use std::alloc::{handle_alloc_error, GlobalAlloc, Layout, System};
use std::hint::black_box;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Barrier, OnceLock};
use std::thread;
use std::time::{Duration, Instant};

static ARENALLOC: arenalloc::Arenalloc = arenalloc::Arenalloc;
static SYSTEM: System = System;
static JEMALLOC: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;
static MIMALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// An allocator under test: a `'static` instance and a short name for the table.
trait Contender: GlobalAlloc + Sync + 'static {
    const NAME: &'static str;
    fn get() -> &'static Self;
}

impl Contender for arenalloc::Arenalloc {
    const NAME: &'static str = "arenalloc";
    fn get() -> &'static Self {
        &ARENALLOC
    }
}

impl Contender for System {
    const NAME: &'static str = "system";
    fn get() -> &'static Self {
        &SYSTEM
    }
}

impl Contender for tikv_jemallocator::Jemalloc {
    const NAME: &'static str = "jemalloc";
    fn get() -> &'static Self {
        &JEMALLOC
    }
}

impl Contender for mimalloc::MiMalloc {
    const NAME: &'static str = "mimalloc";
    fn get() -> &'static Self {
        &MIMALLOC
    }
}

/// One allocator's entry point: runs a workload once and returns the time it took.
type Runner = fn(&Workload) -> Duration;

fn runner<A: Contender>() -> (&'static str, Runner) {
    (A::NAME, |w| w.run(A::get()))
}

/// The allocators, in table order; arenalloc first as the baseline of the ratios.
fn contenders() -> Vec<(&'static str, Runner)> {
    vec![
        runner::<arenalloc::Arenalloc>(),
        runner::<System>(),
        runner::<tikv_jemallocator::Jemalloc>(),
        runner::<mimalloc::MiMalloc>(),
    ]
}

#[derive(Clone, Copy)]
enum Kind {
    /// `ops` × (alloc `size`, write one byte, dealloc).
    Pairs { size: usize },
    /// Allocate `count` objects of `size`, then free them in allocation order; `ops` objects in
    /// all (`ops / count` batches).
    Batch { size: usize, count: usize },
    /// A Vec-like buffer from 16 B doubling by `realloc` up to `max`, every byte written;
    /// `ops` = number of `realloc` calls.
    GrowDouble { max: usize },
    /// `bufs` buffers grown in turn by `step` bytes each `realloc` up to `max` (string
    /// builders); `ops` = number of `realloc` calls.
    GrowStep {
        bufs: usize,
        step: usize,
        max: usize,
    },
    /// A producer thread allocates `ops` objects (sizes cycling through `XFER_SIZES`) and
    /// passes them through a lock-free ring to this thread, which frees them.
    CrossThread,
    /// `threads` threads, each replacing random slots of its own `slots`-entry table with
    /// objects of random sizes (mostly small, some up to 32 KiB); `ops` in total.
    Churn { threads: usize, slots: usize },
}

struct Workload {
    name: String,
    /// What one "op" is, for the table.
    unit: &'static str,
    kind: Kind,
    ops: u64,
}

/// Sizes the cross-thread producer cycles through; the consumer derives each object's size
/// from its sequence number, so the ring carries bare pointers.
const XFER_SIZES: [usize; 8] = [16, 32, 48, 64, 96, 128, 256, 512];

fn layout(size: usize) -> Layout {
    // Alignment 8, like most Rust types; never zero-sized.
    Layout::from_size_align(size.max(1), 8).expect("valid layout")
}

/// # Safety
/// `a` must be a working allocator; the caller owns and frees the result.
#[inline(always)]
unsafe fn alloc_or_die<A: GlobalAlloc>(a: &A, l: Layout) -> *mut u8 {
    let p = a.alloc(l);
    if p.is_null() {
        handle_alloc_error(l);
    }
    p
}

/// xorshift64*: a fixed-seed generator, so every allocator sees the same sequence.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Self {
        Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }
    #[inline]
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// 80 % 8..=128 B, 15 % 129..=2048 B, 5 % 2049..=32768 B.
    #[inline]
    fn size(&mut self) -> usize {
        let r = self.next();
        let pick = (r % 100) as usize;
        let v = (r >> 32) as usize;
        if pick < 80 {
            8 + v % 121
        } else if pick < 95 {
            129 + v % 1920
        } else {
            2049 + v % 30720
        }
    }
}

/// Times the calling thread. By default it reads the thread's CPU clock
/// (`CLOCK_THREAD_CPUTIME_ID`, user + system time, so page faults count), which does not advance
/// while the thread is descheduled: on a shared, overloaded machine that removes most of the
/// noise from single-threaded workloads. `BENCH_CLOCK=wall` (or a platform without that clock)
/// uses wall time. Multi-threaded workloads always use wall time.
struct Stopwatch {
    wall: Instant,
    cpu: Option<Duration>,
}

impl Stopwatch {
    fn start() -> Self {
        let cpu = if use_cpu_clock() {
            thread_cpu_time()
        } else {
            None
        };
        Stopwatch {
            wall: Instant::now(),
            cpu,
        }
    }
    fn elapsed(&self) -> Duration {
        match (self.cpu, thread_cpu_time()) {
            (Some(t0), Some(t1)) => t1.saturating_sub(t0),
            _ => self.wall.elapsed(),
        }
    }
}

fn use_cpu_clock() -> bool {
    static CPU: OnceLock<bool> = OnceLock::new();
    *CPU.get_or_init(|| {
        std::env::var("BENCH_CLOCK").map_or(true, |v| v != "wall") && thread_cpu_time().is_some()
    })
}

#[cfg(all(target_os = "linux", target_pointer_width = "64"))]
fn thread_cpu_time() -> Option<Duration> {
    // `struct timespec` on 64-bit Linux; libc is linked by std, so no crate is needed.
    #[repr(C)]
    struct Timespec {
        tv_sec: i64,
        tv_nsec: i64,
    }
    extern "C" {
        fn clock_gettime(clock: i32, ts: *mut Timespec) -> i32;
    }
    const CLOCK_THREAD_CPUTIME_ID: i32 = 3;
    let mut ts = Timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable `struct timespec`.
    let rc = unsafe { clock_gettime(CLOCK_THREAD_CPUTIME_ID, &mut ts) };
    (rc == 0).then(|| Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32))
}

#[cfg(not(all(target_os = "linux", target_pointer_width = "64")))]
fn thread_cpu_time() -> Option<Duration> {
    None
}

impl Workload {
    /// Multi-threaded workloads are timed by wall clock.
    fn threaded(&self) -> bool {
        matches!(self.kind, Kind::CrossThread | Kind::Churn { .. })
    }

    fn run<A: Contender>(&self, a: &'static A) -> Duration {
        // SAFETY: every pointer is obtained from `a` and returned to `a` with the layout it was
        // allocated with; the memory is written only within that layout.
        unsafe {
            match self.kind {
                Kind::Pairs { size } => pairs(a, size, self.ops),
                Kind::Batch { size, count } => batch(a, size, count, self.ops),
                Kind::GrowDouble { max } => grow_double(a, max, self.ops),
                Kind::GrowStep { bufs, step, max } => grow_step(a, bufs, step, max, self.ops),
                Kind::CrossThread => cross_thread(a, self.ops),
                Kind::Churn { threads, slots } => churn(a, threads, slots, self.ops),
            }
        }
    }
}

unsafe fn pairs<A: GlobalAlloc>(a: &A, size: usize, ops: u64) -> Duration {
    let l = layout(size);
    let t = Stopwatch::start();
    for i in 0..ops {
        let p = alloc_or_die(a, l);
        p.write(i as u8);
        a.dealloc(black_box(p), l);
    }
    t.elapsed()
}

unsafe fn batch<A: GlobalAlloc>(a: &A, size: usize, count: usize, ops: u64) -> Duration {
    let l = layout(size);
    let mut ptrs: Vec<*mut u8> = vec![std::ptr::null_mut(); count];
    let batches = (ops / count as u64).max(1);
    let t = Stopwatch::start();
    for _ in 0..batches {
        for (i, slot) in ptrs.iter_mut().enumerate() {
            let p = alloc_or_die(a, l);
            p.write(i as u8);
            *slot = p;
        }
        for &p in black_box(&ptrs).iter() {
            a.dealloc(p, l);
        }
    }
    t.elapsed()
}

unsafe fn grow_double<A: GlobalAlloc>(a: &A, max: usize, ops: u64) -> Duration {
    let per_seq = (max / 16).trailing_zeros() as u64; // reallocs from 16 B to max
    let seqs = (ops / per_seq.max(1)).max(1);
    let t = Stopwatch::start();
    for s in 0..seqs {
        let mut cap = 16;
        let mut p = alloc_or_die(a, layout(cap));
        p.write_bytes(s as u8, cap);
        while cap < max {
            let q = a.realloc(p, layout(cap), cap * 2);
            if q.is_null() {
                handle_alloc_error(layout(cap * 2));
            }
            // "push" the new half, as a Vec being filled would.
            q.add(cap).write_bytes(s as u8, cap);
            p = q;
            cap *= 2;
        }
        a.dealloc(black_box(p), layout(cap));
    }
    t.elapsed()
}

unsafe fn grow_step<A: GlobalAlloc>(
    a: &A,
    bufs: usize,
    step: usize,
    max: usize,
    ops: u64,
) -> Duration {
    let per_seq = (bufs * (max / step - 1)) as u64;
    let seqs = (ops / per_seq.max(1)).max(1);
    let mut ptrs: Vec<*mut u8> = vec![std::ptr::null_mut(); bufs];
    let t = Stopwatch::start();
    for _ in 0..seqs {
        for p in ptrs.iter_mut() {
            *p = alloc_or_die(a, layout(step));
            p.write_bytes(1, step);
        }
        let mut len = step;
        while len < max {
            for p in ptrs.iter_mut() {
                let q = a.realloc(*p, layout(len), len + step);
                if q.is_null() {
                    handle_alloc_error(layout(len + step));
                }
                q.add(len).write_bytes(2, step);
                *p = q;
            }
            len += step;
        }
        for &p in black_box(&ptrs).iter() {
            a.dealloc(p, layout(len));
        }
    }
    t.elapsed()
}

/// A single-producer single-consumer ring of pointers (as `usize`), with head and tail on
/// separate cache lines.
struct Ring {
    slots: Box<[AtomicUsize]>,
    tail: Padded, // next slot the producer writes
    head: Padded, // next slot the consumer reads
}

#[repr(align(128))]
struct Padded(AtomicUsize);

const RING: usize = 1024;

/// Spin briefly, then yield: with two cores and a busy machine the peer may be descheduled.
#[inline]
fn backoff(spins: &mut u32) {
    *spins += 1;
    if *spins < 64 {
        std::hint::spin_loop();
    } else {
        thread::yield_now();
    }
}

unsafe fn cross_thread<A: Contender>(a: &'static A, ops: u64) -> Duration {
    let ring = Arc::new(Ring {
        slots: (0..RING).map(|_| AtomicUsize::new(0)).collect(),
        tail: Padded(AtomicUsize::new(0)),
        head: Padded(AtomicUsize::new(0)),
    });
    let start = Arc::new(Barrier::new(2));
    let producer = {
        let ring = Arc::clone(&ring);
        let start = Arc::clone(&start);
        thread::spawn(move || {
            start.wait();
            let mut head = 0; // the producer's last look at `ring.head`
            for i in 0..ops as usize {
                let size = XFER_SIZES[i % XFER_SIZES.len()];
                // SAFETY: freed by the consumer with the same layout (derived from `i`).
                let p = unsafe { alloc_or_die(a, layout(size)) };
                unsafe { p.write(i as u8) };
                let mut spins = 0;
                while i - head >= RING {
                    head = ring.head.0.load(Ordering::Acquire);
                    if i - head >= RING {
                        backoff(&mut spins);
                    }
                }
                ring.slots[i % RING].store(p as usize, Ordering::Relaxed);
                ring.tail.0.store(i + 1, Ordering::Release);
            }
        })
    };
    start.wait();
    let t = Instant::now();
    let mut i = 0;
    while i < ops as usize {
        // Take everything published so far, free it, then release the slots in one store.
        let mut spins = 0;
        let mut tail = ring.tail.0.load(Ordering::Acquire);
        while tail == i {
            backoff(&mut spins);
            tail = ring.tail.0.load(Ordering::Acquire);
        }
        for j in i..tail {
            let p = ring.slots[j % RING].load(Ordering::Relaxed) as *mut u8;
            a.dealloc(black_box(p), layout(XFER_SIZES[j % XFER_SIZES.len()]));
        }
        i = tail;
        ring.head.0.store(i, Ordering::Release);
    }
    let d = t.elapsed();
    producer.join().expect("producer thread");
    d
}

unsafe fn churn<A: Contender>(a: &'static A, threads: usize, slots: usize, ops: u64) -> Duration {
    let per_thread = ops / threads as u64;
    let start = Arc::new(Barrier::new(threads + 1));
    let handles: Vec<_> = (0..threads)
        .map(|tid| {
            let start = Arc::clone(&start);
            thread::spawn(move || {
                let mut rng = Rng::new(tid as u64 + 1);
                let mut table: Vec<(*mut u8, usize)> = (0..slots)
                    .map(|_| {
                        let size = rng.size();
                        // SAFETY: freed below with the same layout.
                        (unsafe { alloc_or_die(a, layout(size)) }, size)
                    })
                    .collect();
                start.wait();
                for _ in 0..per_thread {
                    let r = rng.next();
                    let slot = &mut table[(r % slots as u64) as usize];
                    let size = rng.size();
                    // SAFETY: the slot holds a live object of the recorded size.
                    unsafe {
                        a.dealloc(slot.0, layout(slot.1));
                        let p = alloc_or_die(a, layout(size));
                        p.write(r as u8);
                        *slot = (p, size);
                    }
                }
                let end = Instant::now();
                for &(p, size) in black_box(&table).iter() {
                    // SAFETY: as above.
                    unsafe { a.dealloc(p, layout(size)) };
                }
                end
            })
        })
        .collect();
    start.wait();
    let t = Instant::now();
    let end = handles
        .into_iter()
        .map(|h| h.join().expect("churn thread"))
        .max()
        .expect("at least one thread");
    end.saturating_duration_since(t)
}

fn workloads(scale: u64) -> Vec<Workload> {
    let mut w = Vec::new();
    for (size, label) in [
        (16, "16 B"),
        (64, "64 B"),
        (256, "256 B"),
        (1024, "1 KiB"),
        (4096, "4 KiB"),
        (32768, "32 KiB"),
    ] {
        w.push(Workload {
            name: format!("alloc+free pair, {label}"),
            unit: "pair",
            kind: Kind::Pairs { size },
            ops: 2_000_000 / scale,
        });
    }
    for (size, label) in [(64, "64 B"), (1024, "1 KiB")] {
        w.push(Workload {
            name: format!("batch 10000 × {label}, alloc all then free all"),
            unit: "object",
            kind: Kind::Batch {
                size,
                count: 10_000,
            },
            ops: 1_000_000 / scale,
        });
    }
    w.push(Workload {
        name: "Vec-like growth ×2 by realloc, 16 B → 4 MiB".into(),
        unit: "realloc",
        kind: Kind::GrowDouble { max: 4 << 20 },
        ops: 18 * 40 / scale.min(10),
    });
    w.push(Workload {
        name: "4 buffers grown by realloc +64 B → 32 KiB".into(),
        unit: "realloc",
        kind: Kind::GrowStep {
            bufs: 4,
            step: 64,
            max: 32 << 10,
        },
        ops: 4 * 511 * 8 / scale.min(8),
    });
    w.push(Workload {
        name: "alloc in thread A, free in thread B (16–512 B)".into(),
        unit: "object",
        kind: Kind::CrossThread,
        ops: 500_000 / scale,
    });
    w.push(Workload {
        name: "4 threads churning random sizes (8 B–32 KiB)".into(),
        unit: "free+alloc",
        kind: Kind::Churn {
            threads: 4,
            slots: 1000,
        },
        ops: 1_000_000 / scale,
    });
    w
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|v| v.parse().ok())
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn geomean(v: &[f64]) -> f64 {
    (v.iter().map(|x| x.ln()).sum::<f64>() / v.len() as f64).exp()
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` passes no such flag and expects a
    // quick smoke run.
    let args: Vec<String> = std::env::args().collect();
    let smoke = !args.iter().any(|a| a == "--bench");
    let quick = smoke || std::env::var_os("BENCH_QUICK").is_some_and(|v| v != "0");
    let scale = if smoke {
        100
    } else if quick {
        10
    } else {
        1
    };
    let rounds = env_u64("BENCH_ROUNDS").unwrap_or(if quick { 3 } else { 11 }) as usize;
    let filter = std::env::var("BENCH_FILTER").unwrap_or_default();

    let mut allocs = contenders();
    if let Ok(only) = std::env::var("BENCH_ALLOCATORS") {
        let want: Vec<&str> = only.split(',').map(str::trim).collect();
        allocs.retain(|(n, _)| want.contains(n));
        allocs.sort_by_key(|(n, _)| want.iter().position(|w| w == n));
        assert!(!allocs.is_empty(), "BENCH_ALLOCATORS matched no allocator");
    }
    let base = allocs[0].0;

    let work: Vec<Workload> = workloads(scale)
        .into_iter()
        .filter(|w| w.name.contains(&filter))
        .collect();
    let started = Instant::now();
    eprintln!(
        "global_alloc: {} workloads × {} allocators × {} rounds (+1 warm-up){}",
        work.len(),
        allocs.len(),
        rounds,
        if quick { ", quick" } else { "" }
    );

    // results[w][a] = median ns/op; spread[w] = worst (max-min)/median over allocators.
    let mut results: Vec<Vec<f64>> = Vec::new();
    let mut spread: Vec<f64> = Vec::new();
    for w in &work {
        eprint!("  {} ...", w.name);
        for (_, run) in &allocs {
            black_box(run(w));
        }
        let mut samples = vec![Vec::with_capacity(rounds); allocs.len()];
        for r in 0..rounds {
            for k in 0..allocs.len() {
                let i = (r + k) % allocs.len();
                let d = (allocs[i].1)(w);
                samples[i].push(d.as_nanos() as f64 / w.ops as f64);
            }
        }
        let mut worst: f64 = 0.0;
        let row: Vec<f64> = samples
            .iter_mut()
            .map(|s| {
                let m = median(s);
                let (lo, hi) = (s[0], s[s.len() - 1]);
                worst = worst.max((hi - lo) / m);
                m
            })
            .collect();
        eprintln!(" done");
        results.push(row);
        spread.push(worst);
    }

    // The table.
    let mut head = String::from("| workload (ns per op) | op |");
    let mut rule = String::from("| --- | --- |");
    for (n, _) in &allocs {
        head += &format!(" {n} |");
        rule += " ---: |";
    }
    for (n, _) in &allocs[1..] {
        head += &format!(" {n}/{base} |");
        rule += " ---: |";
    }
    head += " spread |";
    rule += " ---: |";
    println!();
    println!("{head}");
    println!("{rule}");
    for ((w, row), s) in work.iter().zip(&results).zip(&spread) {
        let clock = if w.threaded() || !use_cpu_clock() {
            ", wall"
        } else {
            ", cpu"
        };
        let mut line = format!("| {} | {}{clock} |", w.name, w.unit);
        for v in row {
            line += &format!(" {v:.1} |");
        }
        for v in &row[1..] {
            line += &format!(" {:.2} |", v / row[0]);
        }
        line += &format!(" {:.0}% |", s * 100.0);
        println!("{line}");
    }
    if !results.is_empty() {
        let gm: Vec<f64> = (0..allocs.len())
            .map(|i| geomean(&results.iter().map(|r| r[i]).collect::<Vec<_>>()))
            .collect();
        let mut line = String::from("| **geometric mean** | |");
        for v in &gm {
            line += &format!(" {v:.1} |");
        }
        for v in &gm[1..] {
            line += &format!(" **{:.2}** |", v / gm[0]);
        }
        line += " |";
        println!("{line}");
    }
    println!();
    println!(
        "Median of {rounds} interleaved rounds; `x/{base}` > 1 means {base} is faster. \
         cpu = the thread's CPU time (time spent descheduled does not count), wall = wall time. \
         spread = worst (max − min) / median over the allocators of that row. \
         Total {:.1} s.",
        started.elapsed().as_secs_f64()
    );
}
