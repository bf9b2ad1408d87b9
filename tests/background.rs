//! Background purge threads from Rust: on by default with the `background_threads` feature (off
//! without it), and an idle program gives a burst back without calling the allocator again.

#[global_allocator]
static GLOBAL: arenalloc::Arenalloc = arenalloc::Arenalloc;

use std::time::{Duration, Instant};

fn pdirty() -> usize {
    arenalloc_ctl::epoch::advance().expect("epoch");
    arenalloc_ctl::stats::arenas::pdirty::read(arenalloc_ctl::arena::ALL).expect("pdirty")
}

#[test]
fn default_follows_the_feature_and_idle_memory_goes_back() {
    let on = cfg!(feature = "background_threads");
    assert_eq!(arenalloc_ctl::opt::background_thread::read(), Ok(on));
    assert_eq!(arenalloc_ctl::background_thread::read(), Ok(on));
    if !on {
        arenalloc_ctl::background_thread::write(true).expect("turn on");
    }
    // A short window for every arena, then a 32 MiB burst in 64 KiB pieces, freed.
    let all = arenalloc_ctl::arena(arenalloc_ctl::arena::ALL);
    all.set_dirty_decay_ms(100).expect("decay 100 ms");
    let burst: Vec<Vec<u8>> = (0..512).map(|i| vec![i as u8; 64 << 10]).collect();
    drop(burst);
    let t0 = Instant::now();
    while pdirty() > 256 && t0.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(50));
    }
    let left = pdirty();
    assert!(
        left <= 256,
        "{left} dirty pages left after {:?}",
        t0.elapsed()
    );
    assert!(arenalloc_ctl::stats::background_thread::num_threads::read().expect("num") >= 1);
    all.set_dirty_decay_ms(10_000).expect("back to the default");
}
