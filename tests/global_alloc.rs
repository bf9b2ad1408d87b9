//! The global-allocator contract: collections, zeroed memory, alignment, usable size.

use std::alloc::{alloc, alloc_zeroed, dealloc, Layout};
use std::collections::{BTreeMap, HashMap};
use std::rc::Rc;
use std::sync::Arc;

#[global_allocator]
static A: arenalloc::Arenalloc = arenalloc::Arenalloc;

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// Sizes around the boundaries of the size classes: tiny, small, the small/large limit (14 KiB
/// with 4 KiB pages), pages, and beyond a megabyte.
fn interesting_sizes() -> Vec<usize> {
    let mut sizes = vec![
        1, 2, 3, 7, 8, 9, 15, 16, 17, 24, 31, 32, 33, 48, 63, 64, 65, 100, 127,
    ];
    for base in [
        128,
        256,
        512,
        KIB,
        2 * KIB,
        4 * KIB,
        8 * KIB,
        14 * KIB,
        16 * KIB,
        32 * KIB,
    ] {
        sizes.extend([base - 1, base, base + 1, base + base / 4]);
    }
    for base in [64 * KIB, 256 * KIB, MIB, 2 * MIB, 4 * MIB] {
        sizes.extend([base - 1, base, base + 1, base + 4096 + 7]);
    }
    sizes
}

/// # Safety: `p` is valid for `len` bytes.
unsafe fn all_bytes_are(p: *const u8, len: usize, value: u8) -> bool {
    std::slice::from_raw_parts(p, len)
        .iter()
        .all(|&b| b == value)
}

#[test]
fn collections() {
    let v: Vec<u64> = (0..100_000).collect();
    assert_eq!(v.iter().sum::<u64>(), 99_999 * 100_000 / 2);

    let mut s = String::new();
    for i in 0..10_000 {
        s.push_str(&i.to_string());
        s.push(',');
    }
    assert_eq!(s.split(',').filter(|x| !x.is_empty()).count(), 10_000);
    assert!(s.starts_with("0,1,2,3,") && s.ends_with("9998,9999,"));

    let mut map: HashMap<String, Vec<u32>> = HashMap::new();
    for i in 0..10_000u32 {
        map.insert(format!("key-{i}"), (0..i % 50).collect());
    }
    for i in (0..10_000u32).step_by(7) {
        let value = &map[&format!("key-{i}")];
        assert_eq!(value.len() as u32, i % 50);
        assert!(value.iter().enumerate().all(|(j, &x)| x == j as u32));
    }
    map.retain(|k, _| k.len() % 2 == 0);
    assert!(map.keys().all(|k| k.len() % 2 == 0));

    let mut tree: BTreeMap<u64, Box<[u8]>> = BTreeMap::new();
    for i in 0..5_000u64 {
        tree.insert(
            i * 7919 % 5_000,
            vec![i as u8; (i % 300) as usize].into_boxed_slice(),
        );
    }
    assert_eq!(tree.len(), 5_000);
    for (k, v) in tree.range(100..200) {
        assert!(*k >= 100 && *k < 200);
        assert!(v.iter().all(|&b| b == v.first().copied().unwrap_or(0)));
    }

    let big = Box::new([0xa5u8; 64 * KIB]);
    assert!(big.iter().all(|&b| b == 0xa5));
    let boxed: Box<dyn Fn(u32) -> u32> = Box::new(move |x| x + big[7] as u32);
    assert_eq!(boxed(1), 0xa6);

    let rc = Rc::new(vec![1u8; 1000]);
    let weak = Rc::downgrade(&rc);
    let rc2 = Rc::clone(&rc);
    drop(rc);
    assert_eq!(weak.upgrade().map(|v| v.len()), Some(1000));
    drop(rc2);
    assert!(weak.upgrade().is_none());

    let arc = Arc::new(String::from("shared"));
    let arcs: Vec<Arc<String>> = (0..100).map(|_| Arc::clone(&arc)).collect();
    assert_eq!(Arc::strong_count(&arc), 101);
    drop(arcs);
    assert_eq!(Arc::try_unwrap(arc).unwrap(), "shared");

    // Zero-sized values never reach the allocator (GlobalAlloc forbids size 0).
    let units: Vec<()> = (0..1 << 20).map(|_| ()).collect();
    assert_eq!((units.len(), units.capacity()), (1 << 20, usize::MAX));
    let _unit = Box::new(());
}

#[test]
fn zeroed_allocation() {
    for size in interesting_sizes() {
        let layout = Layout::from_size_align(size, 8).unwrap();
        unsafe {
            let p = alloc_zeroed(layout);
            assert!(!p.is_null(), "alloc_zeroed({size}) failed");
            assert!(
                all_bytes_are(p, size, 0),
                "alloc_zeroed({size}) is not zeroed"
            );
            dealloc(p, layout);
        }
    }
}

#[test]
fn zeroed_allocation_reuses_dirty_memory() {
    // Dirty a block, free it, ask for a zeroed block of the same size: the allocator is likely
    // to hand the same memory back, and must zero it.
    for size in interesting_sizes() {
        for align in [8, 64, 4096] {
            let layout = Layout::from_size_align(size, align).unwrap();
            unsafe {
                let p = alloc(layout);
                assert!(!p.is_null());
                p.write_bytes(0xff, size);
                dealloc(p, layout);
                let q = alloc_zeroed(layout);
                assert!(!q.is_null());
                assert!(
                    all_bytes_are(q, size, 0),
                    "alloc_zeroed({size}, align {align}) after a dirty free is not zeroed \
                     (same block reused: {})",
                    p == q
                );
                dealloc(q, layout);
            }
        }
    }
    // The same in batches, so whole dirty slabs and extents are recycled.
    for size in [8, 48, 512, 3 * KIB, 20 * KIB, 300 * KIB] {
        let layout = Layout::from_size_align(size, 8).unwrap();
        let count = (4 * MIB / size).clamp(4, 256);
        unsafe {
            let dirty: Vec<*mut u8> = (0..count).map(|_| alloc(layout)).collect();
            for &p in &dirty {
                assert!(!p.is_null());
                p.write_bytes(0xff, size);
            }
            for &p in &dirty {
                dealloc(p, layout);
            }
            let zeroed: Vec<*mut u8> = (0..count).map(|_| alloc_zeroed(layout)).collect();
            for &q in &zeroed {
                assert!(!q.is_null());
                assert!(
                    all_bytes_are(q, size, 0),
                    "batch alloc_zeroed({size}) not zeroed"
                );
            }
            for &q in &zeroed {
                dealloc(q, layout);
            }
        }
    }
}

#[test]
fn alignments_up_to_4_mib() {
    let mut align = 1;
    while align <= 4 * MIB {
        let mut sizes = vec![1, 8, align / 2, align - 1, align, align + 1, 3 * align + 5];
        sizes.retain(|&s| s > 0);
        sizes.dedup();
        // All blocks of one alignment live at once, each filled with its own byte, so an overlap
        // between two of them shows as a corrupted fill.
        let blocks: Vec<(Layout, *mut u8)> = sizes
            .iter()
            .enumerate()
            .map(|(i, &size)| {
                let layout = Layout::from_size_align(size, align).unwrap();
                let p = unsafe { alloc(layout) };
                assert!(!p.is_null(), "alloc(size {size}, align {align}) failed");
                assert_eq!(
                    p as usize % align,
                    0,
                    "size {size}: {p:p} not aligned to {align}"
                );
                unsafe { p.write_bytes(i as u8 + 1, size) };
                (layout, p)
            })
            .collect();
        for (i, &(layout, p)) in blocks.iter().enumerate() {
            assert!(
                unsafe { all_bytes_are(p, layout.size(), i as u8 + 1) },
                "block of size {} align {align} was overwritten",
                layout.size()
            );
            assert!(unsafe { arenalloc::usable_size(p) } >= layout.size());
            unsafe { dealloc(p, layout) };
        }
        align *= 2;
    }
}

#[test]
fn aligned_types_in_collections() {
    #[repr(align(64))]
    #[derive(Clone, Copy)]
    struct Line([u8; 64]);
    #[repr(align(4096))]
    struct Page([u8; 4096]);

    let lines: Vec<Line> = (0..1000).map(|i| Line([i as u8; 64])).collect();
    assert_eq!(lines.as_ptr() as usize % 64, 0);
    assert!(lines
        .iter()
        .enumerate()
        .all(|(i, l)| l.0.iter().all(|&b| b == i as u8)));

    let pages: Vec<Box<Page>> = (0..16).map(|i| Box::new(Page([i as u8; 4096]))).collect();
    for (i, page) in pages.iter().enumerate() {
        assert_eq!(&**page as *const Page as usize % 4096, 0);
        assert!(page.0.iter().all(|&b| b == i as u8));
    }
}

#[test]
fn usable_size_covers_the_request() {
    for size in interesting_sizes() {
        for align in [1, 16, 256, 8192] {
            let layout = Layout::from_size_align(size, align).unwrap();
            unsafe {
                let p = alloc(layout);
                assert!(!p.is_null());
                let usable = arenalloc::usable_size(p);
                assert!(usable >= size, "usable_size {usable} < requested {size}");
                // The whole usable size belongs to the caller.
                p.write_bytes(0x5a, usable);
                dealloc(p, layout);
            }
        }
    }
}
