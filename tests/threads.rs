//! Many threads: concurrent allocation, frees on other threads than the allocating one, and
//! thread churn (each thread's cache is created, used and torn down).

use std::cell::RefCell;
use std::sync::mpsc;
use std::thread;

#[global_allocator]
static A: arenalloc::Arenalloc = arenalloc::Arenalloc;

/// A block of `len` bytes whose content is derived from `tag`, checked on drop of the test data.
struct Tagged {
    tag: u64,
    bytes: Vec<u8>,
}

impl Tagged {
    fn new(tag: u64, len: usize) -> Tagged {
        let bytes = (0..len).map(|i| byte(tag, i)).collect();
        Tagged { tag, bytes }
    }

    fn check(&self) {
        if let Some(i) = (0..self.bytes.len()).find(|&i| self.bytes[i] != byte(self.tag, i)) {
            panic!(
                "block {:#x} of {} bytes corrupted at offset {i}",
                self.tag,
                self.bytes.len()
            );
        }
    }
}

fn byte(tag: u64, i: usize) -> u8 {
    (tag as usize ^ i.wrapping_mul(0x9e37)) as u8
}

/// A cheap deterministic generator (xorshift), one per thread.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// Mostly small sizes, some pages, a few large blocks.
    fn size(&mut self) -> usize {
        let r = self.next();
        match r % 100 {
            0..=79 => (r >> 8) as usize % 512 + 1,
            80..=97 => (r >> 8) as usize % (32 << 10) + 1,
            _ => (r >> 8) as usize % (1 << 20) + 1,
        }
    }
}

#[test]
fn concurrent_alloc_and_free() {
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            thread::spawn(move || {
                let mut rng = Rng(0x1234_5678 + t * 0x1_0000_0001);
                let mut live: Vec<Option<Tagged>> = (0..256).map(|_| None).collect();
                for n in 0..6_000u64 {
                    let slot = rng.next() as usize % live.len();
                    if let Some(old) = live[slot].take() {
                        old.check();
                    }
                    let tag = (t << 48) | n;
                    live[slot] = Some(Tagged::new(tag, rng.size() % 4096 + 1));
                    if n % 1000 == 0 {
                        // Occasionally a large block, filled and checked at once.
                        Tagged::new(tag, rng.size() + (256 << 10)).check();
                    }
                }
                live.iter().flatten().for_each(Tagged::check);
            })
        })
        .collect();
    for t in threads {
        t.join().expect("worker panicked");
    }
}

#[test]
fn cross_thread_drops() {
    // Producers allocate, one consumer checks and frees: every free is a remote free.
    const PER_PRODUCER: u64 = 6_000;
    let (tx, rx) = mpsc::sync_channel::<Tagged>(1024);
    let producers: Vec<_> = (0..4u64)
        .map(|t| {
            let tx = tx.clone();
            thread::spawn(move || {
                let mut rng = Rng(0xdead_beef ^ ((t + 1) * 0x9e37_79b9));
                for n in 0..PER_PRODUCER {
                    tx.send(Tagged::new((t << 48) | n, rng.size() % 2048 + 1))
                        .unwrap();
                }
            })
        })
        .collect();
    drop(tx);
    let consumer = thread::spawn(move || {
        let mut received = 0;
        for block in rx {
            block.check();
            received += 1;
        }
        received
    });
    for p in producers {
        p.join().expect("producer panicked");
    }
    assert_eq!(
        consumer.join().expect("consumer panicked"),
        4 * PER_PRODUCER
    );

    // A ring: each thread frees what its neighbour allocated, and both sides keep allocating.
    const RING: usize = 4;
    let (txs, rxs): (Vec<_>, Vec<_>) = (0..RING).map(|_| mpsc::channel::<Vec<Tagged>>()).unzip();
    let workers: Vec<_> = rxs
        .into_iter()
        .enumerate()
        .map(|(i, rx)| {
            let tx = txs[(i + 1) % RING].clone();
            thread::spawn(move || {
                let mut rng = Rng(0xabcd + i as u64);
                for round in 0..150u64 {
                    let batch: Vec<Tagged> = (0..20u64)
                        .map(|k| {
                            let tag = ((i as u64) << 48) | (round << 16) | k;
                            Tagged::new(tag, rng.size().min(64 << 10))
                        })
                        .collect();
                    tx.send(batch).unwrap();
                    let got = rx.recv().unwrap();
                    got.iter().for_each(Tagged::check);
                }
            })
        })
        .collect();
    drop(txs);
    for w in workers {
        w.join().expect("ring worker panicked");
    }
}

thread_local! {
    // Freed by the thread-local destructor, at thread exit: possibly after the allocator's own
    // per-thread state was torn down.
    static KEEP: RefCell<Vec<Tagged>> = const { RefCell::new(Vec::new()) };
}

#[test]
fn thread_churn() {
    const THREADS: u64 = 2000;
    const BATCH: u64 = 50;
    let mut survivors = Vec::new();
    for batch in 0..THREADS / BATCH {
        let handles: Vec<_> = (0..BATCH)
            .map(|k| {
                let id = batch * BATCH + k;
                thread::spawn(move || {
                    let mut rng = Rng(0x5eed + id * 7919);
                    let blocks: Vec<Tagged> = (0..20)
                        .map(|n| Tagged::new((id << 32) | n, rng.size() % 8192 + 1))
                        .collect();
                    blocks.iter().for_each(Tagged::check);
                    KEEP.with(|keep| keep.borrow_mut().push(Tagged::new(id << 32 | 99, 100)));
                    // Outlives the thread: freed by the main thread later.
                    Tagged::new((id << 32) | 100, rng.size() % 4096 + 1)
                })
            })
            .collect();
        for h in handles {
            survivors.push(h.join().expect("short-lived thread panicked"));
        }
        // Free the previous batches' survivors while the next ones start.
        if survivors.len() > 4 * BATCH as usize {
            survivors
                .drain(..2 * BATCH as usize)
                .for_each(|s| s.check());
        }
    }
    survivors.iter().for_each(Tagged::check);
}
