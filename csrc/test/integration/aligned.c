/*
 * Aligned allocation through the prefixed public API: posix_memalign, aligned_alloc, memalign,
 * valloc, pvalloc. Semantics per jemalloc 5.3 (reference §1.2).
 */
#include "arenalloc.h"
#include "test.h"

#include <errno.h>
#include <string.h>

#define SENTINEL ((void *)(uintptr_t)0xdeadbeef0badf00dULL)

/* Touch an aligned block: all of it when small, the ends and a few pages when large. */
static void touch_block(void *p, size_t size, uint64_t seed) {
    if (size <= (256 << 10)) {
        test_fill(p, size, seed);
        expect_zu_eq(test_check(p, size, seed), SIZE_MAX, "pattern in %p (%zu bytes)", p, size);
    } else {
        size_t page = test_page_size();
        char *b = p;
        test_fill(b, page, seed);
        test_fill_at(b + size - page, page, seed, size - page);
        expect_zu_eq(test_check(b, page, seed), SIZE_MAX, "head of %p", p);
        expect_zu_eq(test_check_at(b + size - page, page, seed, size - page), SIZE_MAX,
                     "tail of %p (%zu bytes)", p, size);
    }
}

/*
 * Sizes to try with an alignment: around the alignment itself while that is cheap, otherwise only
 * small and medium sizes (what is tested is the alignment; the debug build junk-fills whole
 * blocks, and a 1 GiB fill per case would dominate the run, ~5 GB RSS under TSan's shadow).
 */
static void sizes_for(size_t align, size_t *out, size_t *n) {
    size_t k = 0;
    out[k++] = 0;
    out[k++] = 1;
    out[k++] = sizeof(void *);
    out[k++] = 100;
    out[k++] = 20000;
    if (align <= (1 << 20)) {
        out[k++] = align > 1 ? align - 1 : 1;
        out[k++] = align;
        out[k++] = align + 1;
        out[k++] = 3 * align + 5;
    } else {
        out[k++] = (1 << 20) + 1;
    }
    *n = k;
}

TEST_BEGIN(test_posix_memalign_alignments) {
    /* sizeof(void *) .. 1 GiB. Large alignments only reserve address space. */
    for (unsigned lg = 3; lg <= 30; lg++) {
        size_t align = (size_t)1 << lg;
        size_t sizes[16], n;
        sizes_for(align, sizes, &n);
        for (size_t i = 0; i < n; i++) {
            size_t sz = sizes[i];
            void *p = SENTINEL;
            int err = arenalloc_posix_memalign(&p, align, sz);
            assert_d_eq(err, 0, "posix_memalign(align=%zu, size=%zu)", align, sz);
            assert_ptr_ne(p, SENTINEL, "memptr not written");
            assert_ptr_not_null(p, "posix_memalign(align=%zu, size=%zu)", align, sz);
            expect_zu_eq((uintptr_t)p & (align - 1), 0, "posix_memalign(align=%zu, size=%zu) = %p",
                         align, sz, p);
            size_t usable = arenalloc_malloc_usable_size(p);
            expect_zu_ge(usable, sz, "usable size, align=%zu size=%zu", align, sz);
            if (sz > 0) {
                expect_zu_eq(usable, test_sz_sa2u(sz, align),
                             "usable size is jemalloc's sa2u class, align=%zu size=%zu", align, sz);
                touch_block(p, sz, lg * 1000 + i);
            }
            arenalloc_free(p);
        }
    }
}
TEST_END

TEST_BEGIN(test_posix_memalign_einval) {
    static const size_t bad[] = {0, 1, 2, 4, 3, 6, 12, 24, 48, 100, 4097, (1 << 20) + 8,
                                 ((size_t)1 << 40) + 8, SIZE_MAX, SIZE_MAX / 2 + 2};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (bad[i] >= sizeof(void *) && (bad[i] & (bad[i] - 1)) == 0) {
            continue; /* 4 is < sizeof(void *) on 64-bit only */
        }
        void *p = SENTINEL;
        int err = arenalloc_posix_memalign(&p, bad[i], 64);
        expect_d_eq(err, EINVAL, "posix_memalign(align=%zu) must be EINVAL", bad[i]);
        expect_ptr_eq(p, SENTINEL, "posix_memalign(align=%zu) must leave memptr untouched", bad[i]);
        if (err == 0 && p != SENTINEL) {
            arenalloc_free(p);
        }
    }
}
TEST_END

TEST_BEGIN(test_posix_memalign_enomem) {
    static const size_t huge[] = {SIZE_MAX, SIZE_MAX - 4096, TEST_SZ_LARGE_MAXCLASS + 1,
                                  (size_t)1 << 62};
    for (size_t i = 0; i < sizeof(huge) / sizeof(huge[0]); i++) {
        for (size_t align = 8; align <= (1 << 20); align <<= 4) {
            void *p = SENTINEL;
            int err = arenalloc_posix_memalign(&p, align, huge[i]);
            expect_d_eq(err, ENOMEM, "posix_memalign(align=%zu, size=%#zx)", align, huge[i]);
            expect_ptr_eq(p, SENTINEL, "memptr untouched on ENOMEM (size %#zx)", huge[i]);
        }
    }
    /* A huge alignment with a small size: 2^62 can't be satisfied by a 47-bit address space. */
    void *p = SENTINEL;
    int err = arenalloc_posix_memalign(&p, (size_t)1 << 62, 1);
    expect_d_eq(err, ENOMEM, "posix_memalign(align=2^62, 1)");
    expect_ptr_eq(p, SENTINEL, "memptr untouched");
    /* ...and the allocator still works. */
    err = arenalloc_posix_memalign(&p, 64, 64);
    assert_d_eq(err, 0, "posix_memalign after failures");
    arenalloc_free(p);
}
TEST_END

TEST_BEGIN(test_aligned_alloc) {
    for (unsigned lg = 0; lg <= 24; lg++) {
        size_t align = (size_t)1 << lg;
        static const size_t sizes[] = {1, 7, 64, 100, 4096, 5000, 70000};
        for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
            size_t sz = sizes[i];
            void *p = arenalloc_aligned_alloc(align, sz);
            assert_ptr_not_null(p, "aligned_alloc(%zu, %zu)", align, sz);
            expect_zu_eq((uintptr_t)p & (align - 1), 0, "aligned_alloc(%zu, %zu) = %p", align, sz,
                         p);
            expect_zu_ge(arenalloc_malloc_usable_size(p), sz, "usable size");
            touch_block(p, sz, lg + i);
            arenalloc_free(p);
        }
    }
    void *p = arenalloc_aligned_alloc(64, 0);
    expect_ptr_not_null(p, "aligned_alloc(64, 0) returns a minimal object");
    arenalloc_free(p);
}
TEST_END

TEST_BEGIN(test_aligned_alloc_einval) {
    static const size_t bad[] = {0, 3, 5, 24, 96, 4097, ((size_t)1 << 30) + 1, SIZE_MAX};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        errno = 0;
        void *p = arenalloc_aligned_alloc(bad[i], 64);
        expect_ptr_null(p, "aligned_alloc(%zu, 64) with a non-power-of-two alignment", bad[i]);
        expect_d_eq(errno, EINVAL, "errno after aligned_alloc(%zu, 64)", bad[i]);
        if (p != NULL) {
            arenalloc_free(p);
        }
    }
    errno = 0;
    void *p = arenalloc_aligned_alloc(4096, SIZE_MAX - 8192);
    expect_ptr_null(p, "aligned_alloc(4096, huge)");
    expect_d_eq(errno, ENOMEM, "errno after aligned_alloc(4096, huge)");
}
TEST_END

TEST_BEGIN(test_memalign) {
    for (unsigned lg = 0; lg <= 22; lg++) {
        size_t align = (size_t)1 << lg;
        void *p = arenalloc_memalign(align, 1000);
        assert_ptr_not_null(p, "memalign(%zu, 1000)", align);
        expect_zu_eq((uintptr_t)p & (align - 1), 0, "memalign(%zu) = %p", align, p);
        touch_block(p, 1000, lg);
        arenalloc_free(p);
    }
    /* jemalloc rejects it (glibc would round the alignment up); errno is not promised. */
    void *p = arenalloc_memalign(24, 100);
    expect_ptr_null(p, "memalign(24, 100): non-power-of-two alignment");
    if (p != NULL) {
        arenalloc_free(p);
    }
}
TEST_END

TEST_BEGIN(test_valloc) {
    size_t page = test_page_size();
    static const size_t sizes[] = {0, 1, 100, 4095, 4096, 4097, 20000, 1 << 20};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        void *p = arenalloc_valloc(sizes[i]);
        assert_ptr_not_null(p, "valloc(%zu)", sizes[i]);
        expect_zu_eq((uintptr_t)p & (page - 1), 0, "valloc(%zu) = %p not page aligned", sizes[i],
                     p);
        expect_zu_ge(arenalloc_malloc_usable_size(p), sizes[i], "usable size of valloc");
        if (sizes[i] > 0) {
            touch_block(p, sizes[i], i);
        }
        arenalloc_free(p);
    }
}
TEST_END

TEST_BEGIN(test_pvalloc) {
    size_t page = test_page_size();
    static const size_t sizes[] = {1, 100, 4095, 4096, 4097, 20000, (1 << 20) + 1};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        size_t sz = sizes[i];
        size_t rounded = (sz + page - 1) & ~(page - 1);
        void *p = arenalloc_pvalloc(sz);
        assert_ptr_not_null(p, "pvalloc(%zu)", sz);
        expect_zu_eq((uintptr_t)p & (page - 1), 0, "pvalloc(%zu) = %p not page aligned", sz, p);
        expect_zu_ge(arenalloc_malloc_usable_size(p), rounded,
                     "pvalloc(%zu) must give at least the size rounded up to a page", sz);
        /* The caller may use the whole rounded size. */
        touch_block(p, rounded, i);
        arenalloc_free(p);
    }
    void *p = arenalloc_pvalloc(0);
    expect_ptr_not_null(p, "pvalloc(0)");
    expect_zu_eq((uintptr_t)p & (page - 1), 0, "pvalloc(0) = %p not page aligned", p);
    arenalloc_free(p);
    errno = 0;
    p = arenalloc_pvalloc(SIZE_MAX - 10);
    expect_ptr_null(p, "pvalloc(SIZE_MAX - 10) overflows when rounded to a page");
    expect_d_eq(errno, ENOMEM, "errno after pvalloc overflow");
}
TEST_END

/* Many live aligned blocks with mixed alignments and sizes: none may overlap another. */
TEST_BEGIN(test_aligned_mix_disjoint) {
    enum { N = 1500 };
    static void *ps[N];
    static size_t szs[N];
    test_prng_t prng;
    test_prng_init(&prng, test_seed() ^ 0xa11);
    for (int i = 0; i < N; i++) {
        size_t align = (size_t)1 << test_prng_range(&prng, 16);
        size_t sz = 1 + test_prng_range(&prng, test_prng_range(&prng, 4) == 0 ? 70000 : 600);
        void *p = NULL;
        int err;
        switch (i % 3) {
        case 0:
            err = arenalloc_posix_memalign(&p, align < sizeof(void *) ? sizeof(void *) : align,
                                           sz);
            assert_d_eq(err, 0, "posix_memalign(%zu, %zu)", align, sz);
            break;
        case 1:
            p = arenalloc_aligned_alloc(align, sz);
            break;
        default:
            p = arenalloc_memalign(align, sz);
            break;
        }
        assert_ptr_not_null(p, "aligned allocation #%d (align %zu, size %zu)", i, align, sz);
        expect_zu_eq((uintptr_t)p & (align - 1), 0, "#%d misaligned", i);
        ps[i] = p;
        szs[i] = sz;
        test_fill(p, sz, (uint64_t)i + 17);
    }
    for (int i = 0; i < N; i++) {
        size_t bad = test_check(ps[i], szs[i], (uint64_t)i + 17);
        expect_zu_eq(bad, SIZE_MAX, "aligned block #%d %p (%zu bytes) overwritten at %zu", i, ps[i],
                     szs[i], bad);
        arenalloc_free(ps[i]);
    }
}
TEST_END

int main(void) {
    return run_tests(test_posix_memalign_alignments, test_posix_memalign_einval,
                     test_posix_memalign_enomem, test_aligned_alloc, test_aligned_alloc_einval,
                     test_memalign, test_valloc, test_pvalloc, test_aligned_mix_disjoint);
}
