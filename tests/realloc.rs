//! realloc across size classes (small, large, huge and back), with content and alignment checks.

use std::alloc::{alloc, dealloc, realloc, Layout};

#[global_allocator]
static A: arenalloc::Arenalloc = arenalloc::Arenalloc;

const KIB: usize = 1 << 10;
const MIB: usize = 1 << 20;

/// The byte expected at offset `i` of a block tagged `seed`.
fn pattern(seed: usize, i: usize) -> u8 {
    (i.wrapping_mul(31) ^ (i >> 8) ^ seed) as u8
}

/// # Safety: `p` is valid for writes of `end` bytes.
unsafe fn fill(p: *mut u8, seed: usize, start: usize, end: usize) {
    for i in start..end {
        *p.add(i) = pattern(seed, i);
    }
}

/// The first offset below `len` whose byte is not the pattern.
///
/// # Safety: `p` is valid for reads of `len` bytes.
unsafe fn first_mismatch(p: *const u8, seed: usize, len: usize) -> Option<usize> {
    (0..len).find(|&i| *p.add(i) != pattern(seed, i))
}

/// Reallocates one block along `sizes`, checking after each step that the common prefix kept its
/// content and the block has its alignment, then fills the new tail.
fn walk(sizes: &[usize], align: usize, seed: usize) {
    let mut layout = Layout::from_size_align(sizes[0], align).unwrap();
    unsafe {
        let mut p = alloc(layout);
        assert!(!p.is_null());
        fill(p, seed, 0, layout.size());
        for &new_size in &sizes[1..] {
            let old_size = layout.size();
            let q = realloc(p, layout, new_size);
            assert!(
                !q.is_null(),
                "realloc {old_size} -> {new_size} (align {align}) failed"
            );
            assert_eq!(
                q as usize % align,
                0,
                "realloc {old_size} -> {new_size}: {q:p} not aligned to {align}"
            );
            let kept = old_size.min(new_size);
            if let Some(i) = first_mismatch(q, seed, kept) {
                panic!("realloc {old_size} -> {new_size} (align {align}) lost byte {i} of {kept}");
            }
            assert!(arenalloc::usable_size(q) >= new_size);
            fill(q, seed, kept, new_size);
            p = q;
            layout = Layout::from_size_align(new_size, align).unwrap();
        }
        dealloc(p, layout);
    }
}

/// Small -> large -> huge, then back down, through the class boundaries.
fn up_and_down() -> Vec<usize> {
    let up = [
        1,
        7,
        8,
        16,
        17,
        100,
        1000,
        4 * KIB,
        14 * KIB,
        14 * KIB + 1,
        20 * KIB,
        100 * KIB,
        MIB,
        3 * MIB + 17,
        9 * MIB,
    ];
    let mut sizes: Vec<usize> = up.to_vec();
    sizes.extend(up.iter().rev().skip(1));
    // Shrink and regrow in place-able steps within one large extent, too.
    sizes.extend([2 * MIB, 2 * MIB - 4096, 2 * MIB + 4096, 64 * KIB, 1]);
    sizes
}

#[test]
fn across_size_classes() {
    walk(&up_and_down(), 1, 1);
    walk(&up_and_down(), 8, 2);
}

#[test]
fn aligned_beyond_16() {
    for (k, align) in [32, 64, 256, 4096, 64 * KIB, 2 * MIB]
        .into_iter()
        .enumerate()
    {
        walk(
            &[align, align + 1, 3 * align, align / 2, 5, 20 * KIB, align],
            align,
            10 + k,
        );
    }
    walk(&up_and_down(), 64, 20);
    walk(&up_and_down(), 2 * MIB, 21);
}

#[test]
fn vec_grows_byte_by_byte() {
    let n = 4 * MIB;
    let mut v: Vec<u8> = Vec::new();
    for i in 0..n {
        v.push(pattern(3, i));
    }
    assert!(v.iter().enumerate().all(|(i, &b)| b == pattern(3, i)));

    // Shrink it back through the classes, keeping the prefix.
    let mut len = n;
    while len > 1 {
        len = len / 3 + 1;
        v.truncate(len);
        v.shrink_to_fit();
        assert!(v.capacity() >= len);
        assert!(
            v.iter().enumerate().all(|(i, &b)| b == pattern(3, i)),
            "shrunk to {len}"
        );
    }

    // A String the same way, and a Vec of a 64-aligned type.
    let mut s = String::new();
    for i in 0..MIB {
        s.push((b'a' + (i % 26) as u8) as char);
    }
    assert!(s
        .bytes()
        .enumerate()
        .all(|(i, b)| b == b'a' + (i % 26) as u8));

    #[repr(align(64))]
    #[derive(Clone, Copy, PartialEq, Debug)]
    struct Line(u64);
    let mut lines = Vec::new();
    for i in 0..50_000u64 {
        lines.push(Line(i));
        assert_eq!(lines.as_ptr() as usize % 64, 0);
    }
    assert!(lines.iter().enumerate().all(|(i, l)| l.0 == i as u64));
}
