/*
 * The standard malloc family through the prefixed public API: malloc, calloc, realloc, free,
 * malloc_usable_size. Semantics per jemalloc 5.3 on Linux (zero_realloc default "free").
 */
#include "arenalloc.h"
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Sizes that cross every kind of boundary: tiny, quantum-spaced, small groups, the small/large
 * edge (14336 | 16384), large, and beyond the default huge threshold (8 MiB). */
static const size_t cross_sizes[] = {
    1,     7,     8,     9,     15,    16,    17,    48,    64,    100,   128,   129,
    512,   1000,  2048,  4095,  4096,  4097,  8192,  14335, 14336, 14337, 16384, 16385,
    20000, 32768, 65536, 100000, 1 << 20, (1 << 20) + 1, 3 << 20, 9 << 20};
#define NCROSS (sizeof(cross_sizes) / sizeof(cross_sizes[0]))

/* The alignment the C standard requires of malloc(size) on x86-64/aarch64 (max_align_t = 16),
 * relaxed for objects too small to hold a 16-byte type. */
static size_t min_align(size_t size) { return size >= 16 ? 16 : 8; }

TEST_BEGIN(test_malloc_basic) {
    for (size_t i = 0; i < NCROSS; i++) {
        size_t sz = cross_sizes[i];
        void *p = arenalloc_malloc(sz);
        assert_ptr_not_null(p, "malloc(%zu)", sz);
        expect_zu_eq((uintptr_t)p % min_align(sz), 0, "malloc(%zu) = %p misaligned", sz, p);
        size_t usable = arenalloc_malloc_usable_size(p);
        expect_zu_ge(usable, sz, "malloc_usable_size(malloc(%zu))", sz);
        expect_zu_eq(usable, arenalloc_sallocx(p, 0), "malloc_usable_size vs sallocx for %zu", sz);
        /* The whole usable size is ours to write. */
        test_fill(p, usable, sz);
        expect_zu_eq(test_check(p, usable, sz), SIZE_MAX, "pattern of malloc(%zu)", sz);
        arenalloc_free(p);
    }
}
TEST_END

TEST_BEGIN(test_malloc_zero_unique) {
    enum { N = 64 };
    void *ps[N];
    for (int i = 0; i < N; i++) {
        ps[i] = arenalloc_malloc(0);
        assert_ptr_not_null(ps[i], "malloc(0) must return a unique minimal object (#%d)", i);
        expect_zu_ge(arenalloc_malloc_usable_size(ps[i]), 1, "usable size of malloc(0)");
        for (int j = 0; j < i; j++) {
            expect_ptr_ne(ps[i], ps[j], "malloc(0) returned the same pointer twice (%d, %d)", i, j);
        }
        /* It is a real object: we may write its usable bytes. */
        memset(ps[i], 0x5a, arenalloc_malloc_usable_size(ps[i]));
    }
    for (int i = 0; i < N; i++) {
        arenalloc_free(ps[i]);
    }
}
TEST_END

TEST_BEGIN(test_free_null) {
    arenalloc_free(NULL);
    arenalloc_free(NULL);
    expect_zu_eq(arenalloc_malloc_usable_size(NULL), 0, "malloc_usable_size(NULL) is 0");
}
TEST_END

TEST_BEGIN(test_many_live_objects_disjoint) {
    enum { N = 3000 };
    static void *ps[N];
    static size_t szs[N];
    test_prng_t prng;
    test_prng_init(&prng, test_seed());
    for (int i = 0; i < N; i++) {
        uint64_t r = test_prng_range(&prng, 100);
        size_t sz = r < 80   ? 1 + test_prng_range(&prng, 512)
                    : r < 97 ? 1 + test_prng_range(&prng, 32768)
                             : 1 + test_prng_range(&prng, 1 << 20);
        ps[i] = arenalloc_malloc(sz);
        assert_ptr_not_null(ps[i], "malloc(%zu)", sz);
        szs[i] = sz;
        test_fill(ps[i], sz, (uint64_t)i * 7919 + 1);
    }
    for (int i = 0; i < N; i++) {
        size_t bad = test_check(ps[i], szs[i], (uint64_t)i * 7919 + 1);
        expect_zu_eq(bad, SIZE_MAX, "object %d (%p, %zu bytes) overwritten at offset %zu", i, ps[i],
                     szs[i], bad);
    }
    /* Free every other one, reallocate, and check again. */
    for (int i = 0; i < N; i += 2) {
        arenalloc_free(ps[i]);
        ps[i] = arenalloc_malloc(szs[i]);
        assert_ptr_not_null(ps[i], "malloc(%zu)", szs[i]);
        test_fill(ps[i], szs[i], (uint64_t)i * 7919 + 1);
    }
    for (int i = 0; i < N; i++) {
        size_t bad = test_check(ps[i], szs[i], (uint64_t)i * 7919 + 1);
        expect_zu_eq(bad, SIZE_MAX, "object %d (%p) overwritten at offset %zu after churn", i,
                     ps[i], bad);
        arenalloc_free(ps[i]);
    }
}
TEST_END

static void check_zeroed(const void *p, size_t n, const char *what, size_t a, size_t b) {
    size_t bad = test_find_not(p, n, 0);
    expect_zu_eq(bad, SIZE_MAX, "%s(%zu, %zu) = %p: byte %zu of %zu is not zero", what, a, b, p,
                 bad, n);
}

TEST_BEGIN(test_calloc_zeroes) {
    for (size_t i = 0; i < NCROSS; i++) {
        size_t sz = cross_sizes[i];
        void *p = arenalloc_calloc(1, sz);
        assert_ptr_not_null(p, "calloc(1, %zu)", sz);
        check_zeroed(p, sz, "calloc", 1, sz);
        arenalloc_free(p);
        p = arenalloc_calloc(sz, 1);
        assert_ptr_not_null(p, "calloc(%zu, 1)", sz);
        check_zeroed(p, sz, "calloc", sz, 1);
        arenalloc_free(p);
    }
    void *p = arenalloc_calloc(0, 10);
    expect_ptr_not_null(p, "calloc(0, 10) returns a minimal object");
    arenalloc_free(p);
    p = arenalloc_calloc(10, 0);
    expect_ptr_not_null(p, "calloc(10, 0) returns a minimal object");
    arenalloc_free(p);
    p = arenalloc_calloc(1000, 1000);
    assert_ptr_not_null(p, "calloc(1000, 1000)");
    check_zeroed(p, 1000 * 1000, "calloc", 1000, 1000);
    arenalloc_free(p);
}
TEST_END

/* Dirty a block, free it, and calloc the same size: the (likely recycled) memory must be zero. */
TEST_BEGIN(test_calloc_zeroes_reused_memory) {
    for (size_t i = 0; i < NCROSS; i++) {
        size_t sz = cross_sizes[i];
        for (int round = 0; round < 4; round++) {
            /* Several dirty blocks, so the next calloc finds junk whatever order is reused. */
            void *dirty[4];
            for (int k = 0; k < 4; k++) {
                dirty[k] = arenalloc_malloc(sz);
                assert_ptr_not_null(dirty[k], "malloc(%zu)", sz);
                memset(dirty[k], 0xa5, arenalloc_malloc_usable_size(dirty[k]));
            }
            for (int k = 3; k >= 0; k--) {
                arenalloc_free(dirty[k]);
            }
            void *p = arenalloc_calloc(1, sz);
            assert_ptr_not_null(p, "calloc(1, %zu)", sz);
            check_zeroed(p, sz, "calloc (reused)", 1, sz);
            /* Dirty it too, so the next round's calloc may get it back. */
            memset(p, 0xa5, sz);
            arenalloc_free(p);
        }
    }
}
TEST_END

/* Grow through every size in `steps` (then shrink back down), checking the preserved prefix. */
static void realloc_walk(const size_t *steps, size_t nsteps, uint64_t seed) {
    size_t cur = steps[0];
    void *p = arenalloc_malloc(cur);
    assert_ptr_not_null(p, "malloc(%zu)", cur);
    test_fill(p, cur, seed);
    for (size_t k = 1; k < 2 * nsteps - 1; k++) {
        size_t next = k < nsteps ? steps[k] : steps[2 * nsteps - 2 - k];
        void *q = arenalloc_realloc(p, next);
        assert_ptr_not_null(q, "realloc(%p, %zu -> %zu)", p, cur, next);
        size_t keep = cur < next ? cur : next;
        size_t bad = test_check(q, keep, seed);
        expect_zu_eq(bad, SIZE_MAX, "realloc %zu -> %zu lost content at offset %zu", cur, next,
                     bad);
        expect_zu_ge(arenalloc_malloc_usable_size(q), next, "usable size after realloc to %zu",
                     next);
        expect_zu_eq((uintptr_t)q % min_align(next), 0, "realloc(%zu) = %p misaligned", next, q);
        /* Fill the new tail so the next step checks all of it. */
        if (next > keep) {
            test_fill_at((char *)q + keep, next - keep, seed, keep);
        }
        p = q;
        cur = next;
    }
    arenalloc_free(p);
}

TEST_BEGIN(test_realloc_preserves_content) {
    realloc_walk(cross_sizes, NCROSS, 0x1234);
    /* Small steps within and across neighbouring classes. */
    static const size_t fine[] = {1, 2, 3, 5, 8, 12, 16, 24, 33, 47, 64, 65, 80, 81, 100, 127,
                                  128, 129, 160, 200, 255, 257, 300, 400, 513, 700, 1025, 1500};
    realloc_walk(fine, sizeof(fine) / sizeof(fine[0]), 0x5678);
    /* Large to large, growing by a little and by a lot. */
    static const size_t large[] = {16384,     16385,     20480,     24577,    65536,
                                   65537,     262144,    1 << 20,   (1 << 20) + 4096,
                                   (2 << 20) + 1, 8 << 20, 16 << 20, (16 << 20) + 1};
    realloc_walk(large, sizeof(large) / sizeof(large[0]), 0x9abc);
}
TEST_END

TEST_BEGIN(test_realloc_random_walk) {
    test_prng_t prng;
    test_prng_init(&prng, test_seed() ^ 0x77);
    size_t cur = 1 + test_prng_range(&prng, 100);
    char *p = arenalloc_malloc(cur);
    assert_ptr_not_null(p, "malloc");
    test_fill(p, cur, 99);
    for (int i = 0; i < 2000; i++) {
        uint64_t r = test_prng_range(&prng, 100);
        size_t next = r < 60   ? 1 + test_prng_range(&prng, 1024)
                      : r < 95 ? 1 + test_prng_range(&prng, 65536)
                               : 1 + test_prng_range(&prng, 4 << 20);
        char *q = arenalloc_realloc(p, next);
        assert_ptr_not_null(q, "realloc(%zu -> %zu)", cur, next);
        size_t keep = cur < next ? cur : next;
        size_t bad = test_check(q, keep, 99);
        assert_zu_eq(bad, SIZE_MAX, "step %d: realloc %zu -> %zu lost content at %zu", i, cur, next,
                     bad);
        if (next > keep) {
            test_fill_at(q + keep, next - keep, 99, keep);
        }
        p = q;
        cur = next;
    }
    arenalloc_free(p);
}
TEST_END

TEST_BEGIN(test_realloc_same_size_and_within_class) {
    char *p = arenalloc_malloc(100);
    assert_ptr_not_null(p, "malloc(100)");
    test_fill(p, 100, 5);
    size_t usable = arenalloc_malloc_usable_size(p);
    char *q = arenalloc_realloc(p, 100);
    assert_ptr_not_null(q, "realloc to the same size");
    expect_zu_eq(test_check(q, 100, 5), SIZE_MAX, "content after same-size realloc");
    /* jemalloc resizes in place when the size class does not change. */
    char *r = arenalloc_realloc(q, usable);
    assert_ptr_not_null(r, "realloc to the usable size");
    expect_ptr_eq(r, q, "realloc within the same size class should not move");
    expect_zu_eq(test_check(r, 100, 5), SIZE_MAX, "content after in-class realloc");
    arenalloc_free(r);
}
TEST_END

TEST_BEGIN(test_realloc_null_is_malloc) {
    for (size_t i = 0; i < NCROSS; i++) {
        size_t sz = cross_sizes[i];
        void *p = arenalloc_realloc(NULL, sz);
        assert_ptr_not_null(p, "realloc(NULL, %zu)", sz);
        expect_zu_ge(arenalloc_malloc_usable_size(p), sz, "usable size of realloc(NULL, %zu)", sz);
        memset(p, 0x11, sz);
        arenalloc_free(p);
    }
    void *p = arenalloc_realloc(NULL, 0);
    expect_ptr_not_null(p, "realloc(NULL, 0) is malloc(0): a unique minimal object");
    arenalloc_free(p);
}
TEST_END

/*
 * realloc(p, 0) with jemalloc's Linux default opt.zero_realloc=free frees p and returns NULL. To
 * see that p really was freed, free it again in a child: the debug build (which the tests use)
 * must then report a double free and abort. If realloc(p, 0) had not freed p, the second free
 * would succeed and the child would exit normally.
 */
static void realloc_zero_then_free(void *arg) {
    size_t sz = (size_t)(uintptr_t)arg;
    void *p = arenalloc_malloc(sz);
    assert_ptr_not_null(p, "malloc(%zu)", sz);
    void *r = arenalloc_realloc(p, 0);
    assert_ptr_null(r, "realloc(p, 0) frees p and returns NULL (zero_realloc:free)");
    arenalloc_free(p); /* double free: must abort */
}

TEST_BEGIN(test_realloc_zero_frees) {
    static const size_t sizes[] = {1, 8, 100, 4096, 16384, 100000};
    for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
        void *p = arenalloc_malloc(sizes[i]);
        assert_ptr_not_null(p, "malloc(%zu)", sizes[i]);
        void *r = arenalloc_realloc(p, 0);
        expect_ptr_null(r, "realloc(%p [%zu bytes], 0) must free and return NULL", p, sizes[i]);
        if (r != NULL) {
            arenalloc_free(r);
        }
    }
    /* Small objects only: the contract promises double-free detection for small objects. */
    expect_abort_line(realloc_zero_then_free, (void *)(uintptr_t)64, "<arenalloc>: ",
                      "double free", NULL, "free() after realloc(p, 0) must be a double free");
}
TEST_END

int main(void) {
    return run_tests(test_malloc_basic, test_malloc_zero_unique, test_free_null,
                     test_many_live_objects_disjoint, test_calloc_zeroes,
                     test_calloc_zeroes_reused_memory, test_realloc_preserves_content,
                     test_realloc_random_walk, test_realloc_same_size_and_within_class,
                     test_realloc_null_is_malloc, test_realloc_zero_frees);
}
