//! `Arena`: collections in an explicit arena, extent hooks written in Rust, reset and destroy.
//!
//! The tests of this binary run concurrently (and so create and destroy arenas concurrently):
//! figures of the automatic arenas are only compared with margins far above what the other tests
//! allocate, and nothing is asserted about an arena index after its arena is gone.

use std::alloc::Layout;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU32, AtomicUsize, Ordering::Relaxed};
use std::sync::Arc;

use allocator_api2::alloc::Allocator;
use allocator_api2::boxed::Box as ABox;
use allocator_api2::vec::Vec as AVec;
use arenalloc_ctl::{arena, arenas, thread, Arena, Declined, DefaultHooks, ExtentHooks};
use arenalloc_ctl::{Error, HookResult};

#[global_allocator]
static GLOBAL: arenalloc::Arenalloc = arenalloc::Arenalloc;

const MIB: usize = 1 << 20;

fn lookup<T>(p: *const T) -> u32 {
    arenas::lookup::read(p.cast()).expect("arenas.lookup")
}

/// Bytes allocated in arena `i` (small + large), at a new epoch.
fn allocated(i: u32) -> usize {
    let s = arena(i).stats().expect("stats");
    s.small_allocated + s.large_allocated
}

#[test]
fn collections_live_in_the_arena() {
    let me = thread::arena::read().expect("thread.arena");
    let arena = Arena::new().expect("arenas.create");
    assert_ne!(arena.index(), me);
    assert_ne!(arena.index(), 0);
    assert!(arena.index() < arenas::narenas::read().unwrap());
    let mine_before = allocated(me);
    let zero_before = allocated(0);

    // Small objects: a few thousand pushes into a Vec of Boxes.
    let mut boxes = AVec::new_in(&arena);
    for i in 0..5000u64 {
        boxes.push(ABox::new_in([i; 4], &arena));
    }
    // Large ones: 64 MiB in 16 vectors.
    let big: Vec<AVec<u8, &Arena>> = (0..16)
        .map(|k| {
            let mut v = AVec::with_capacity_in(4 * MIB, &arena);
            v.resize(4 * MIB, k as u8);
            v
        })
        .collect();
    for (k, v) in big.iter().enumerate() {
        assert_eq!(lookup(v.as_ptr()), arena.index());
        assert!(v.iter().step_by(4096).all(|&b| b == k as u8));
    }
    for (i, b) in boxes.iter().enumerate().step_by(97) {
        assert_eq!(lookup(&**b), arena.index());
        assert_eq!(b[3], i as u64);
    }
    assert_eq!(lookup(boxes.as_ptr()), arena.index());

    let s = arena.stats().expect("stats");
    assert!(
        s.small_allocated >= 5000 * 32,
        "small {}",
        s.small_allocated
    );
    assert!(s.large_allocated >= 64 * MIB, "large {}", s.large_allocated);
    assert!(s.small_nmalloc >= 5000, "{s:?}");
    assert!(s.large_nmalloc >= 16, "{s:?}");
    let page = arenas::page::read().unwrap();
    assert!(s.pactive * page >= 64 * MIB, "{s:?}");
    assert!(s.mapped >= 64 * MIB && s.resident >= 64 * MIB, "{s:?}");
    // Not in the thread's automatic arena, nor in arena 0 (margins: what other tests allocate
    // there meanwhile is far below 32 MiB).
    let mine_after = allocated(me);
    let zero_after = allocated(0);
    assert!(
        mine_after < mine_before + 32 * MIB,
        "arena {me}: {mine_before} -> {mine_after}"
    );
    assert!(
        zero_after < zero_before + 32 * MIB,
        "arena 0: {zero_before} -> {zero_after}"
    );

    // Everything freed: the arena holds nothing (no thread cache keeps any of it).
    drop(big);
    drop(boxes);
    let s = arena.stats().expect("stats");
    assert_eq!((s.small_allocated, s.large_allocated), (0, 0), "{s:?}");
    assert!(s.small_ndalloc >= 5000 && s.large_ndalloc >= 16, "{s:?}");
}

#[test]
fn layouts_large_and_aligned() {
    let arena = Arena::new().expect("create");
    let a = &arena;
    for align in [1, 8, 16, 64, 4096, 64 << 10, MIB] {
        for size in [1, 24, 100, 5000, 40 << 10, 3 * MIB] {
            let l = Layout::from_size_align(size, align).unwrap();
            let p = a.allocate(l).expect("allocate");
            let base = p.cast::<u8>();
            assert_eq!(base.as_ptr() as usize % align, 0, "{l:?}");
            assert!(p.len() >= size);
            assert_eq!(lookup(base.as_ptr()), arena.index(), "{l:?}");
            // SAFETY: the block has `size` bytes.
            unsafe {
                base.as_ptr().write(0xa5);
                base.as_ptr().add(size - 1).write(0x5a);
            }
            // Grow to twice the size, zeroed, then shrink back below the original.
            let l2 = Layout::from_size_align(2 * size, align).unwrap();
            // SAFETY: a live block of `l`.
            let g = unsafe { a.grow_zeroed(base, l, l2) }.expect("grow");
            let gb = g.cast::<u8>().as_ptr();
            assert_eq!(gb as usize % align, 0, "{l2:?}");
            // SAFETY: 2 * size bytes.
            unsafe {
                assert_eq!(*gb, if size == 1 { 0x5a } else { 0xa5 });
                assert_eq!(*gb.add(size - 1), 0x5a);
                assert!(std::slice::from_raw_parts(gb.add(size), size)
                    .iter()
                    .all(|&b| b == 0));
            }
            let l3 = Layout::from_size_align(size.div_ceil(2), align).unwrap();
            // SAFETY: a live block of `l2`.
            let s = unsafe { a.shrink(NonNull::new(gb).unwrap(), l2, l3) }.expect("shrink");
            let sb = s.cast::<u8>();
            // SAFETY: a live block of `l3`.
            unsafe {
                assert_eq!(*sb.as_ptr(), if size == 1 { 0x5a } else { 0xa5 });
                a.deallocate(sb, l3);
            }
            // Zeroed allocations are zeroed.
            let z = a.allocate_zeroed(l).expect("allocate_zeroed");
            // SAFETY: `size` bytes.
            unsafe {
                let zb = z.cast::<u8>();
                assert!(std::slice::from_raw_parts(zb.as_ptr(), size)
                    .iter()
                    .all(|&b| b == 0));
                a.deallocate(zb, l);
            }
        }
        // Zero sizes never reach the core: dangling and aligned.
        let l = Layout::from_size_align(0, align).unwrap();
        let p = a.allocate(l).expect("zero size");
        assert_eq!(p.len(), 0);
        assert_eq!(p.cast::<u8>().as_ptr() as usize % align, 0);
        // SAFETY: the zero-size block just allocated.
        unsafe { a.deallocate(p.cast(), l) };
    }
    // A Vec of page-aligned elements.
    #[repr(align(4096))]
    struct Page([u8; 4096]);
    let mut pages = AVec::new_in(&arena);
    for i in 0..64u8 {
        pages.push(Page([i; 4096]));
    }
    assert_eq!(pages.as_ptr() as usize % 4096, 0);
    assert_eq!(pages[63].0[4095], 63);
    drop(pages);
    assert_eq!(allocated(arena.index()), 0);
}

#[test]
fn reset_frees_everything_and_the_arena_stays_usable() {
    let mut arena = Arena::new().expect("create");
    let index = arena.index();
    {
        let mut v = AVec::new_in(&arena);
        for i in 0..10_000u32 {
            v.push(ABox::new_in(i, &arena));
        }
        let big = ABox::new_in([1u8; 2 * MIB], &arena);
        assert!(allocated(index) >= 2 * MIB + 10_000 * 4);
        // Not freed one by one: the reset frees them (and ends their borrows of the arena).
        std::mem::forget(v);
        std::mem::forget(big);
    }
    arena.reset().expect("arena.<i>.reset");
    assert_eq!(arena.index(), index);
    let s = arena.stats().expect("stats");
    assert_eq!((s.small_allocated, s.large_allocated), (0, 0), "{s:?}");
    // Reused: the same arena serves new allocations.
    let mut v = AVec::new_in(&arena);
    v.extend(0..100_000u64);
    assert_eq!(lookup(v.as_ptr()), index);
    assert!(allocated(index) >= 800_000);
    drop(v);
    arena.reset().expect("reset an empty arena");
    arena.purge().expect("purge");
    arena.decay().expect("decay");
    let s = arena.stats().expect("stats");
    assert_eq!(s.pdirty, 0, "{s:?}");
}

#[test]
fn settings_of_the_arena() {
    let arena = Arena::new().expect("create");
    let page = arenas::page::read().unwrap();
    assert_eq!(arena.handle().index(), arena.index());
    assert!(arena.handle().initialized().is_ok());
    arena.set_dirty_decay_ms(0).expect("dirty_decay_ms");
    assert_eq!(arena.dirty_decay_ms(), Ok(0));
    arena.set_muzzy_decay_ms(-1).expect("muzzy_decay_ms");
    assert_eq!(arena.muzzy_decay_ms(), Ok(-1));
    let limit = arena.retain_grow_limit().expect("retain_grow_limit");
    assert!(limit >= page && limit % page == 0, "{limit}");
    arena.set_retain_grow_limit(4 * MIB + 1).expect("set");
    assert_eq!(arena.retain_grow_limit(), Ok(4 * MIB));
    assert_eq!(arena.set_retain_grow_limit(page - 1), Err(Error::EINVAL));
    assert_eq!(arena.retain_grow_limit(), Ok(4 * MIB));
    // The default hooks: arenalloc's table, the one of arena 0.
    let h = arena.handle().extent_hooks().expect("extent_hooks");
    assert_eq!(arena.handle().extent_hooks(), arena::extent_hooks::read(0));
    assert_eq!(h.cast_const(), DefaultHooks::raw().unwrap() as *const _);
    // With dirty_decay_ms 0, freed pages go back at once.
    let v = AVec::<u8, _>::with_capacity_in(8 * MIB, &arena);
    drop(v);
    arena.decay().expect("decay");
    assert_eq!(arena.stats().expect("stats").pdirty, 0);
    arena.destroy().expect("destroy");
}

#[test]
fn destroyed_arenas_give_their_index_back() {
    let before = arenas::narenas::read().unwrap();
    for _ in 0..200 {
        let a = Arena::new().expect("create");
        let mut v = AVec::new_in(&a);
        v.extend_from_slice(&[1u32; 1000]);
        drop(v);
    }
    // 200 arenas created one after the other: indices are reused (other tests of this binary
    // hold a few arenas at a time).
    let after = arenas::narenas::read().unwrap();
    assert!(after < before + 50, "narenas {before} -> {after}");
    // The counters of destroyed arenas are merged into MALLCTL_ARENAS_DESTROYED.
    assert_eq!(
        arena(arenalloc_ctl::ARENAS_DESTROYED).initialized(),
        Ok(true)
    );
    let d = arena(arenalloc_ctl::ARENAS_DESTROYED)
        .stats()
        .expect("stats.arenas.4097");
    assert!(d.small_nmalloc >= 200, "{d:?}");
    assert_eq!((d.small_allocated, d.large_allocated, d.pactive), (0, 0, 0));
}

#[test]
fn one_arena_per_thread_and_one_shared() {
    let indices: Vec<u32> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..4u64)
            .map(|t| {
                s.spawn(move || {
                    let arena = Arena::new().expect("create");
                    let mut m = AVec::new_in(&arena);
                    for i in 0..20_000 {
                        m.push(ABox::new_in(t * 1_000_000 + i, &arena));
                    }
                    assert!(m
                        .iter()
                        .enumerate()
                        .all(|(i, b)| **b == t * 1_000_000 + i as u64));
                    assert_eq!(lookup(&*m[7]), arena.index());
                    assert!(allocated(arena.index()) >= 20_000 * 8);
                    let i = arena.index();
                    drop(m);
                    // Destroyed at the end of the thread: keep it alive until all four exist.
                    (i, arena)
                })
            })
            .collect();
        let arenas: Vec<(u32, Arena)> = handles.into_iter().map(|h| h.join().unwrap()).collect();
        arenas.iter().map(|(i, _)| *i).collect()
    });
    let mut unique = indices.clone();
    unique.sort_unstable();
    unique.dedup();
    assert_eq!(unique.len(), 4, "{indices:?}");

    // One arena, four threads at once (`&Arena` is `Sync`).
    let shared = Arena::new().expect("create");
    std::thread::scope(|s| {
        for t in 0..4u32 {
            let a = &shared;
            s.spawn(move || {
                let mut v = AVec::new_in(a);
                for i in 0..50_000u32 {
                    v.push(i ^ t);
                }
                let boxes: Vec<_> = (0..2000).map(|i| ABox::new_in([i; 8], a)).collect();
                assert_eq!(lookup(v.as_ptr()), a.index());
                assert_eq!(lookup(&*boxes[1999]), a.index());
                assert_eq!(boxes[1234][7], 1234);
            });
        }
    });
    assert_eq!(allocated(shared.index()), 0);
}

// ---------------------------------------------------------------------------------------------
// Hooks written in Rust.

#[derive(Default)]
struct Counters {
    alloc: AtomicUsize,
    alloc_bytes: AtomicUsize,
    dalloc: AtomicUsize,
    destroy: AtomicUsize,
    commit: AtomicUsize,
    decommit: AtomicUsize,
    purge_lazy: AtomicUsize,
    purge_forced: AtomicUsize,
    split: AtomicUsize,
    merge: AtomicUsize,
    /// Calls whose arena index was not the arena's (`u32::MAX`: not known yet).
    wrong_arena: AtomicUsize,
    arena: AtomicU32,
    /// `destroy` calls seen when the hooks were dropped (`usize::MAX` until then).
    destroys_at_drop: AtomicUsize,
}

impl Counters {
    fn new() -> Arc<Counters> {
        let c = Counters::default();
        c.arena.store(u32::MAX, Relaxed);
        c.destroys_at_drop.store(usize::MAX, Relaxed);
        Arc::new(c)
    }

    fn get(&self, c: &AtomicUsize) -> usize {
        c.load(Relaxed)
    }

    fn purges(&self) -> usize {
        self.get(&self.dalloc)
            + self.get(&self.decommit)
            + self.get(&self.purge_lazy)
            + self.get(&self.purge_forced)
    }
}

/// Counts every call and forwards it to arenalloc's hooks.
struct Counting(Arc<Counters>);

impl Counting {
    fn hit(&self, c: &AtomicUsize, arena: u32) {
        c.fetch_add(1, Relaxed);
        let known = self.0.arena.load(Relaxed);
        if known != u32::MAX && known != arena {
            self.0.wrong_arena.fetch_add(1, Relaxed);
        }
    }
}

impl Drop for Counting {
    fn drop(&mut self) {
        let d = self.0.destroy.load(Relaxed);
        self.0.destroys_at_drop.store(d, Relaxed);
    }
}

// SAFETY: every method forwards to arenalloc's own hooks and reports what they report.
unsafe impl ExtentHooks for Counting {
    fn alloc(
        &self,
        new_addr: Option<NonNull<u8>>,
        size: usize,
        align: usize,
        zero: &mut bool,
        commit: &mut bool,
        arena: u32,
    ) -> Option<NonNull<u8>> {
        self.hit(&self.0.alloc, arena);
        let p = DefaultHooks.alloc(new_addr, size, align, zero, commit, arena)?;
        self.0.alloc_bytes.fetch_add(size, Relaxed);
        Some(p)
    }
    fn dalloc(&self, addr: NonNull<u8>, size: usize, committed: bool, arena: u32) -> HookResult {
        self.hit(&self.0.dalloc, arena);
        DefaultHooks.dalloc(addr, size, committed, arena)
    }
    fn destroy(&self, addr: NonNull<u8>, size: usize, committed: bool, arena: u32) {
        self.hit(&self.0.destroy, arena);
        DefaultHooks.destroy(addr, size, committed, arena)
    }
    fn commit(
        &self,
        addr: NonNull<u8>,
        size: usize,
        off: usize,
        len: usize,
        arena: u32,
    ) -> HookResult {
        self.hit(&self.0.commit, arena);
        DefaultHooks.commit(addr, size, off, len, arena)
    }
    fn decommit(
        &self,
        addr: NonNull<u8>,
        size: usize,
        off: usize,
        len: usize,
        arena: u32,
    ) -> HookResult {
        self.hit(&self.0.decommit, arena);
        DefaultHooks.decommit(addr, size, off, len, arena)
    }
    fn purge_lazy(
        &self,
        addr: NonNull<u8>,
        size: usize,
        off: usize,
        len: usize,
        arena: u32,
    ) -> HookResult {
        self.hit(&self.0.purge_lazy, arena);
        DefaultHooks.purge_lazy(addr, size, off, len, arena)
    }
    fn purge_forced(
        &self,
        addr: NonNull<u8>,
        size: usize,
        off: usize,
        len: usize,
        arena: u32,
    ) -> HookResult {
        self.hit(&self.0.purge_forced, arena);
        DefaultHooks.purge_forced(addr, size, off, len, arena)
    }
    fn split(
        &self,
        addr: NonNull<u8>,
        size: usize,
        a: usize,
        b: usize,
        committed: bool,
        arena: u32,
    ) -> HookResult {
        self.hit(&self.0.split, arena);
        DefaultHooks.split(addr, size, a, b, committed, arena)
    }
    fn merge(
        &self,
        a: NonNull<u8>,
        size_a: usize,
        b: NonNull<u8>,
        size_b: usize,
        committed: bool,
        arena: u32,
    ) -> HookResult {
        self.hit(&self.0.merge, arena);
        DefaultHooks.merge(a, size_a, b, size_b, committed, arena)
    }
}

#[test]
fn rust_hooks_see_growth_purge_and_destroy() {
    let c = Counters::new();
    let arena = Arena::with_hooks(Counting(c.clone())).expect("create with hooks");
    c.arena.store(arena.index(), Relaxed);
    // The arena's hooks are ours, not arenalloc's table.
    let h = arena.handle().extent_hooks().expect("extent_hooks");
    assert_ne!(h.cast_const(), DefaultHooks::raw().unwrap() as *const _);
    arena
        .set_muzzy_decay_ms(0)
        .expect("muzzy 0: the dalloc cascade");
    arena.set_dirty_decay_ms(-1).expect("no decay but ours");

    // Growth: the arena's pages come from `alloc`, carved with `split`.
    let small: AVec<ABox<u64, &Arena>, &Arena> = {
        let mut v = AVec::new_in(&arena);
        v.extend((0..20_000).map(|i| ABox::new_in(i, &arena)));
        v
    };
    let large: Vec<AVec<u8, &Arena>> = (0..8)
        .map(|_| AVec::with_capacity_in(MIB, &arena))
        .collect();
    assert!(c.get(&c.alloc) >= 1, "alloc never called");
    assert!(c.get(&c.alloc_bytes) >= 8 * MIB);
    assert!(c.get(&c.split) >= 1, "split never called");
    assert_eq!(c.get(&c.destroy), 0);
    let allocs = c.get(&c.alloc);
    // Freed neighbours coalesce (`merge`), purging gives the pages back through the cascade.
    drop(large);
    drop(small);
    arena.purge().expect("purge");
    assert!(c.purges() >= 1, "no purge hook called");
    assert!(c.get(&c.merge) >= 1, "merge never called");
    assert_eq!(arena.stats().expect("stats").pdirty, 0);
    // Reuse after the purge: what was retained serves first (no new mapping needed for 1 MiB).
    let again = AVec::<u8, _>::with_capacity_in(MIB, &arena);
    assert_eq!(lookup(again.as_ptr()), arena.index());
    assert!(c.get(&c.alloc) <= allocs + 1);
    drop(again);
    assert_eq!(c.get(&c.wrong_arena), 0);

    // Destroy: every extent left goes through `destroy`, and only then are the hooks dropped.
    assert_eq!(c.get(&c.destroys_at_drop), usize::MAX);
    drop(arena);
    let destroys = c.get(&c.destroy);
    assert!(destroys >= 1, "destroy never called");
    assert_eq!(c.get(&c.destroys_at_drop), destroys);
    assert_eq!(c.get(&c.wrong_arena), 0);
    assert_eq!(Arc::strong_count(&c), 1, "the hooks were dropped");
}

#[test]
fn default_hooks_as_a_hook_set() {
    let arena = Arena::with_hooks(DefaultHooks).expect("create");
    let mut v = AVec::new_in(&arena);
    v.extend(0..1_000_000u32);
    assert_eq!(lookup(v.as_ptr()), arena.index());
    drop(v);
    arena.purge().expect("purge");
}

/// Serves the arena from one region reserved up front, bump-allocating; gives nothing back (the
/// arena retains what it frees, and reuses it).
struct Region {
    base: usize,
    len: usize,
    next: AtomicUsize,
    allocs: Arc<AtomicUsize>,
}

impl Region {
    /// Maps `len` bytes. Not from the global allocator: that is arenalloc here, and memory of its
    /// own allocations cannot be handed to one of its arenas as extents.
    fn new(len: usize, allocs: Arc<AtomicUsize>) -> Region {
        // SAFETY: a fresh anonymous mapping (zeroed).
        let base = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ | libc::PROT_WRITE,
                libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                -1,
                0,
            )
        };
        assert_ne!(base, libc::MAP_FAILED);
        Region {
            base: base as usize,
            len,
            next: AtomicUsize::new(0),
            allocs,
        }
    }

    fn contains(&self, p: *const u8, size: usize) -> bool {
        let p = p as usize;
        p >= self.base && p + size <= self.base + self.len
    }
}

impl Drop for Region {
    fn drop(&mut self) {
        // SAFETY: mapped in `new`; the arena is destroyed (hooks are dropped only after that).
        let rc = unsafe { libc::munmap(self.base as *mut libc::c_void, self.len) };
        assert_eq!(rc, 0);
    }
}

// SAFETY: `alloc` hands out disjoint, aligned, zeroed (never used before) and always committed
// ranges of the region, which lives until the hooks are dropped (after the arena is destroyed);
// `commit` zeroes what it reports committed; nothing is ever unmapped, decommitted or purged.
unsafe impl ExtentHooks for Region {
    fn alloc(
        &self,
        new_addr: Option<NonNull<u8>>,
        size: usize,
        align: usize,
        zero: &mut bool,
        commit: &mut bool,
        _arena: u32,
    ) -> Option<NonNull<u8>> {
        if new_addr.is_some() || !align.is_power_of_two() {
            return None;
        }
        let mut next = self.next.load(Relaxed);
        loop {
            let start = (self.base + next + align - 1) & !(align - 1);
            let end = start.checked_add(size)?;
            if end > self.base + self.len {
                return None; // exhausted
            }
            match self
                .next
                .compare_exchange(next, end - self.base, Relaxed, Relaxed)
            {
                Ok(_) => {
                    *zero = true;
                    *commit = true;
                    self.allocs.fetch_add(1, Relaxed);
                    return NonNull::new(start as *mut u8);
                }
                Err(n) => next = n,
            }
        }
    }
    fn dalloc(&self, _: NonNull<u8>, _: usize, _: bool, _: u32) -> HookResult {
        Err(Declined)
    }
    fn destroy(&self, addr: NonNull<u8>, size: usize, _: bool, _: u32) {
        assert!(self.contains(addr.as_ptr(), size));
    }
    fn commit(&self, addr: NonNull<u8>, _: usize, off: usize, len: usize, _: u32) -> HookResult {
        // Always committed; the range must read as zero.
        // SAFETY: a range of an extent of the region.
        unsafe { addr.as_ptr().add(off).write_bytes(0, len) };
        Ok(())
    }
    fn decommit(&self, _: NonNull<u8>, _: usize, _: usize, _: usize, _: u32) -> HookResult {
        Err(Declined)
    }
    fn purge_lazy(&self, _: NonNull<u8>, _: usize, _: usize, _: usize, _: u32) -> HookResult {
        Err(Declined)
    }
    fn purge_forced(&self, _: NonNull<u8>, _: usize, _: usize, _: usize, _: u32) -> HookResult {
        Err(Declined)
    }
    fn split(&self, _: NonNull<u8>, _: usize, _: usize, _: usize, _: bool, _: u32) -> HookResult {
        Ok(())
    }
    fn merge(
        &self,
        _: NonNull<u8>,
        _: usize,
        _: NonNull<u8>,
        _: usize,
        _: bool,
        _: u32,
    ) -> HookResult {
        Ok(())
    }
}

#[test]
fn region_backed_arena() {
    const LEN: usize = 32 * MIB;
    let allocs = Arc::new(AtomicUsize::new(0));
    // A second view of the region's bounds, to check pointers against.
    let probe = Region::new(LEN, allocs.clone());
    let (base, len) = (probe.base, probe.len);
    let arena = Arena::with_hooks(probe).expect("create with a region");
    let inside = |p: *const u8, size: usize| {
        let p = p as usize;
        p >= base && p + size <= base + len
    };
    {
        let mut boxes = AVec::new_in(&arena);
        for i in 0..10_000u32 {
            boxes.push(ABox::new_in([i; 3], &arena));
        }
        assert!(boxes.iter().all(|b| inside(b.as_ptr().cast(), 12)));
        assert!(inside(boxes.as_ptr().cast(), boxes.len() * 8));
        let mut big = AVec::new_in(&arena);
        big.resize(4 * MIB, 7u8);
        assert!(inside(big.as_ptr(), big.len()));
        let l = Layout::from_size_align(100_000, 64 << 10).unwrap();
        let p = arena.allocate(l).expect("aligned");
        assert!(inside(p.cast::<u8>().as_ptr(), 100_000));
        assert_eq!(p.cast::<u8>().as_ptr() as usize % (64 << 10), 0);
        // SAFETY: just allocated with `l`.
        unsafe { arena.deallocate(p.cast(), l) };
        assert_eq!(lookup(big.as_ptr()), arena.index());
        assert!(allocs.load(Relaxed) >= 1);

        // Exhaustion is an allocation error, not a crash.
        let mut huge: AVec<u8, &Arena> = AVec::new_in(&arena);
        assert!(huge.try_reserve(2 * LEN).is_err());
        assert!(arena
            .allocate(Layout::from_size_align(LEN, 4096).unwrap())
            .is_err());
        // ... and the arena goes on serving what fits.
        huge.try_reserve(MIB).expect("a mebibyte still fits");
        assert!(inside(huge.as_ptr(), MIB));
        let more = ABox::new_in(5u64, &arena);
        assert!(inside(std::ptr::addr_of!(*more).cast(), 8));
    }
    // Everything freed is kept and reused: the region is not drained by churn.
    for _ in 0..50 {
        let mut v = AVec::new_in(&arena);
        v.resize(2 * MIB, 1u8);
        assert!(inside(v.as_ptr(), v.len()));
    }
    drop(arena);
}

/// A hook that panics aborts the process (run in a child process of this test binary).
#[cfg(unix)]
#[test]
fn a_panicking_hook_aborts() {
    if std::env::var_os("ARENALLOC_CTL_PANIC_CHILD").is_some() {
        struct Panics;
        // SAFETY: `alloc` never returns.
        unsafe impl ExtentHooks for Panics {
            fn alloc(
                &self,
                _: Option<NonNull<u8>>,
                _: usize,
                _: usize,
                _: &mut bool,
                _: &mut bool,
                _: u32,
            ) -> Option<NonNull<u8>> {
                panic!("a hook panics");
            }
        }
        let arena = Arena::with_hooks(Panics).expect("create");
        let b = ABox::new_in([0u8; 64], &arena);
        unreachable!("allocated {:p} without calling alloc", &*b);
    }
    let exe = std::env::current_exe().unwrap();
    let out = std::process::Command::new(exe)
        .args([
            "--exact",
            "a_panicking_hook_aborts",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("ARENALLOC_CTL_PANIC_CHILD", "1")
        .output()
        .expect("run the child");
    let stderr = String::from_utf8_lossy(&out.stderr);
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(out.status.signal(), Some(6), "{:?}\n{stderr}", out.status);
    assert!(stderr.contains("a hook panics"), "{stderr}");
}
