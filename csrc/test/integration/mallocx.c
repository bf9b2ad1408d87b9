/*
 * jemalloc's non-standard API through the prefixed names (the jemalloc names are macros for them):
 * mallocx, rallocx, xallocx, sallocx, dallocx, sdallocx, nallocx with MALLOCX_LG_ALIGN / ALIGN /
 * ZERO / TCACHE_NONE / ARENA(0). Semantics per jemalloc 5.3 (reference §1.3, §6).
 */
#include "arenalloc.h"
#include "test.h"

#include <string.h>

static const size_t sizes[] = {1,     8,     9,     16,    17,    100,    128,    1000,  1024,
                               3000,  4096,  4097,  8000,  14336,  14337,  16384, 16385,
                               20000, 65536, 100000, 1 << 20, (1 << 20) + 1, 9 << 20};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

TEST_BEGIN(test_flag_layout) {
    /* jemalloc's bit layout: aaaaaaaa aaaatttt tttttttt 0znnnnnn (reference §1.3). */
    expect_d_eq(MALLOCX_LG_ALIGN(12), 12, "");
    expect_d_eq(MALLOCX_ALIGN(4096), MALLOCX_LG_ALIGN(12), "");
    expect_d_eq(MALLOCX_ALIGN(1), MALLOCX_LG_ALIGN(0), "");
    expect_d_eq(MALLOCX_ALIGN((size_t)1 << 31), MALLOCX_LG_ALIGN(31), "");
    expect_d_eq(MALLOCX_ALIGN((size_t)1 << 40), MALLOCX_LG_ALIGN(40), "");
    expect_d_eq(MALLOCX_ZERO, 0x40, "");
    expect_d_eq(MALLOCX_TCACHE_NONE, 0x100, "");
    expect_d_eq(MALLOCX_TCACHE(0), 2 << 8, "");
    expect_d_eq(MALLOCX_ARENA(0), 1 << 20, "");
    expect_d_eq(MALLOCX_ARENA(5), 6 << 20, "");
    expect_d_eq(MALLCTL_ARENAS_ALL, 4096, "");
    expect_d_eq(MALLCTL_ARENAS_DESTROYED, 4097, "");
    /* The jemalloc names are the prefixed functions. */
    expect_ptr_eq((void *)&mallocx, (void *)&arenalloc_mallocx, "");
    expect_ptr_eq((void *)&sdallocx, (void *)&arenalloc_sdallocx, "");
    expect_ptr_eq((void *)&nallocx, (void *)&arenalloc_nallocx, "");
}
TEST_END

TEST_BEGIN(test_mallocx_basic) {
    for (size_t i = 0; i < NSIZES; i++) {
        size_t sz = sizes[i];
        void *p = mallocx(sz, 0);
        assert_ptr_not_null(p, "mallocx(%zu, 0)", sz);
        size_t usable = sallocx(p, 0);
        expect_zu_eq(usable, test_sz_s2u(sz), "sallocx(mallocx(%zu)) is the jemalloc class", sz);
        expect_zu_eq(nallocx(sz, 0), usable, "nallocx(%zu) == sallocx(mallocx(%zu))", sz, sz);
        expect_zu_eq(arenalloc_malloc_usable_size(p), usable, "malloc_usable_size == sallocx");
        test_fill(p, usable, sz);
        expect_zu_eq(test_check(p, usable, sz), SIZE_MAX, "pattern");
        dallocx(p, 0);
    }
}
TEST_END

TEST_BEGIN(test_mallocx_alignment) {
    for (unsigned lg = 0; lg <= 24; lg++) {
        size_t align = (size_t)1 << lg;
        for (size_t i = 0; i < NSIZES; i++) {
            size_t sz = sizes[i];
            int flags = (lg & 1) ? MALLOCX_ALIGN(align) : MALLOCX_LG_ALIGN(lg);
            void *p = mallocx(sz, flags);
            assert_ptr_not_null(p, "mallocx(%zu, align %zu)", sz, align);
            expect_zu_eq((uintptr_t)p & (align - 1), 0, "mallocx(%zu, align %zu) = %p", sz, align,
                         p);
            size_t usable = sallocx(p, 0);
            expect_zu_eq(usable, nallocx(sz, flags), "sallocx == nallocx (size %zu, align %zu)",
                         sz, align);
            expect_zu_eq(usable, test_sz_sa2u(sz, align),
                         "usable size is jemalloc's sa2u (size %zu, align %zu)", sz, align);
            size_t touch = sz < (256 << 10) ? sz : 4096;
            test_fill(p, touch, lg);
            expect_zu_eq(test_check(p, touch, lg), SIZE_MAX, "pattern");
            if (i % 2) {
                dallocx(p, flags);
            } else {
                sdallocx(p, sz, flags);
            }
        }
    }
}
TEST_END

TEST_BEGIN(test_mallocx_zero) {
    for (size_t i = 0; i < NSIZES; i++) {
        size_t sz = sizes[i];
        for (int round = 0; round < 3; round++) {
            /* Leave junk behind so that a recycled block is dirty. */
            void *dirty = mallocx(sz, 0);
            assert_ptr_not_null(dirty, "mallocx(%zu)", sz);
            memset(dirty, 0xc3, sallocx(dirty, 0));
            dallocx(dirty, 0);
            int flags = MALLOCX_ZERO | (round == 2 ? MALLOCX_LG_ALIGN(6) : 0);
            void *p = mallocx(sz, flags);
            assert_ptr_not_null(p, "mallocx(%zu, MALLOCX_ZERO)", sz);
            size_t bad = test_find_not(p, sz, 0);
            expect_zu_eq(bad, SIZE_MAX, "mallocx(%zu, ZERO) round %d: byte %zu not zero", sz, round,
                         bad);
            memset(p, 0xc3, sallocx(p, 0));
            dallocx(p, 0);
        }
    }
}
TEST_END

TEST_BEGIN(test_mallocx_tcache_none_and_arena0) {
    enum { N = 200 };
    void *ps[N];
    for (int round = 0; round < 4; round++) {
        for (int i = 0; i < N; i++) {
            size_t sz = sizes[i % NSIZES];
            int flags = round == 0   ? MALLOCX_TCACHE_NONE
                        : round == 1 ? MALLOCX_ARENA(0)
                        : round == 2 ? MALLOCX_ARENA(0) | MALLOCX_TCACHE_NONE
                                     : MALLOCX_ZERO | MALLOCX_TCACHE_NONE;
            ps[i] = mallocx(sz, flags);
            assert_ptr_not_null(ps[i], "mallocx(%zu, %#x)", sz, (unsigned)flags);
            test_fill(ps[i], sz < 65536 ? sz : 65536, (uint64_t)i * 3 + round);
        }
        for (int i = 0; i < N; i++) {
            size_t sz = sizes[i % NSIZES];
            size_t n = sz < 65536 ? sz : 65536;
            expect_zu_eq(test_check(ps[i], n, (uint64_t)i * 3 + round), SIZE_MAX,
                         "round %d object %d", round, i);
            /* Mix the ways back: cache bypassed, cached, sized. */
            switch (i % 3) {
            case 0:
                dallocx(ps[i], MALLOCX_TCACHE_NONE);
                break;
            case 1:
                dallocx(ps[i], 0);
                break;
            default:
                sdallocx(ps[i], sz, MALLOCX_TCACHE_NONE);
                break;
            }
        }
    }
}
TEST_END

TEST_BEGIN(test_nallocx_matches_sallocx) {
    static const int flag_set[] = {0, MALLOCX_ZERO, MALLOCX_TCACHE_NONE, MALLOCX_LG_ALIGN(4),
                                   MALLOCX_LG_ALIGN(7), MALLOCX_LG_ALIGN(12),
                                   MALLOCX_LG_ALIGN(13), MALLOCX_ALIGN(1 << 16)};
    for (size_t f = 0; f < sizeof(flag_set) / sizeof(flag_set[0]); f++) {
        int flags = flag_set[f];
        for (size_t sz = 1; sz <= 40000; sz += (sz < 600 ? 1 : 97)) {
            size_t n = nallocx(sz, flags);
            void *p = mallocx(sz, flags);
            assert_ptr_not_null(p, "mallocx(%zu, %#x)", sz, (unsigned)flags);
            expect_zu_eq(sallocx(p, flags), n, "nallocx(%zu, %#x) vs sallocx", sz,
                         (unsigned)flags);
            dallocx(p, flags);
        }
    }
    test_prng_t prng;
    test_prng_init(&prng, test_seed() ^ 0x4a);
    int iters = test_under_tsan() ? 30 : 200;
    for (int i = 0; i < iters; i++) {
        size_t sz = 40000 + test_prng_range(&prng, 32 << 20);
        size_t n = nallocx(sz, 0);
        void *p = mallocx(sz, 0);
        assert_ptr_not_null(p, "mallocx(%zu)", sz);
        expect_zu_eq(sallocx(p, 0), n, "nallocx(%zu) vs sallocx", sz);
        expect_zu_eq(n, test_sz_s2u(sz), "nallocx(%zu) is the jemalloc class", sz);
        dallocx(p, 0);
    }
}
TEST_END

TEST_BEGIN(test_nallocx_too_large) {
    expect_zu_eq(nallocx(SIZE_MAX, 0), 0, "nallocx(SIZE_MAX)");
    expect_zu_eq(nallocx(SIZE_MAX / 2 + 1, 0), 0, "nallocx(2^63)");
    expect_zu_eq(nallocx(TEST_SZ_LARGE_MAXCLASS + 1, 0), 0, "nallocx(largest class + 1)");
    expect_zu_eq(nallocx(TEST_SZ_LARGE_MAXCLASS, 0), TEST_SZ_LARGE_MAXCLASS,
                 "nallocx(largest class) is the largest class");
    expect_zu_eq(nallocx(1, MALLOCX_LG_ALIGN(63)), 0, "alignment 2^63 exceeds the largest class");
    expect_zu_eq(nallocx(TEST_SZ_LARGE_MAXCLASS + 1, MALLOCX_LG_ALIGN(12)), 0,
                 "too large with alignment");
    expect_zu_eq(nallocx(SIZE_MAX - 4096, MALLOCX_LG_ALIGN(12)), 0, "SIZE_MAX-ish with alignment");
}
TEST_END

/* Walk through `sizes` up then down with rallocx and `flags`, checking content and alignment. */
static void rallocx_walk(int flags, size_t align) {
    size_t cur = sizes[0];
    char *p = mallocx(cur, flags);
    assert_ptr_not_null(p, "mallocx");
    test_fill(p, cur, 42);
    for (size_t k = 1; k < 2 * NSIZES - 1; k++) {
        size_t next = k < NSIZES ? sizes[k] : sizes[2 * NSIZES - 2 - k];
        char *q = rallocx(p, next, flags);
        assert_ptr_not_null(q, "rallocx(%zu -> %zu, %#x)", cur, next, (unsigned)flags);
        expect_zu_eq((uintptr_t)q & (align - 1), 0, "rallocx(%zu, align %zu) = %p", next, align,
                     q);
        expect_zu_eq(sallocx(q, 0), nallocx(next, flags), "sallocx after rallocx to %zu", next);
        size_t keep = cur < next ? cur : next;
        size_t bad = test_check(q, keep, 42);
        expect_zu_eq(bad, SIZE_MAX, "rallocx %zu -> %zu (flags %#x) lost content at %zu", cur, next,
                     (unsigned)flags, bad);
        if (next > keep) {
            test_fill_at(q + keep, next - keep, 42, keep);
        }
        p = q;
        cur = next;
    }
    dallocx(p, flags);
}

TEST_BEGIN(test_rallocx_preserves_content) {
    rallocx_walk(0, 1);
    rallocx_walk(MALLOCX_TCACHE_NONE, 1);
    rallocx_walk(MALLOCX_LG_ALIGN(6), 64);
    rallocx_walk(MALLOCX_LG_ALIGN(12), 4096);
    rallocx_walk(MALLOCX_LG_ALIGN(16), 65536);
}
TEST_END

TEST_BEGIN(test_rallocx_zero) {
    for (size_t i = 0; i < NSIZES; i++) {
        for (size_t j = i + 1; j < NSIZES; j++) {
            size_t from = sizes[i], to = sizes[j];
            if (to > (2 << 20)) {
                continue;
            }
            char *p = mallocx(from, 0);
            assert_ptr_not_null(p, "mallocx(%zu)", from);
            size_t old_usable = sallocx(p, 0);
            test_fill(p, old_usable, from);
            char *q = rallocx(p, to, MALLOCX_ZERO);
            assert_ptr_not_null(q, "rallocx(%zu -> %zu, ZERO)", from, to);
            size_t new_usable = sallocx(q, 0);
            expect_zu_eq(test_check(q, from, from), SIZE_MAX, "content %zu -> %zu", from, to);
            size_t bad = test_find_not(q + old_usable, new_usable - old_usable, 0);
            expect_zu_eq(bad, SIZE_MAX,
                         "rallocx(%zu -> %zu, ZERO): byte %zu past the old usable size %zu not "
                         "zero (new usable %zu)",
                         from, to, bad == SIZE_MAX ? 0 : old_usable + bad, old_usable, new_usable);
            dallocx(q, 0);
        }
    }
    /* Shrink then grow again in place: the bytes given back and re-taken must be zero again. */
    for (size_t i = 0; i < NSIZES; i++) {
        size_t big = sizes[i];
        if (big > (2 << 20)) {
            continue;
        }
        char *p = mallocx(big, 0);
        assert_ptr_not_null(p, "mallocx(%zu)", big);
        size_t big_usable = sallocx(p, 0);
        memset(p, 0xee, big_usable);
        size_t small = big / 2 + 1;
        char *q = rallocx(p, small, MALLOCX_ZERO);
        assert_ptr_not_null(q, "rallocx shrink %zu -> %zu", big, small);
        size_t small_usable = sallocx(q, 0);
        expect_zu_eq(test_find_not(q, small, 0xee), SIZE_MAX, "content after shrink");
        char *r = rallocx(q, big, MALLOCX_ZERO);
        assert_ptr_not_null(r, "rallocx regrow %zu -> %zu", small, big);
        expect_zu_eq(test_find_not(r, small, 0xee), SIZE_MAX, "content after regrow");
        size_t bad = test_find_not(r + small_usable, sallocx(r, 0) - small_usable, 0);
        expect_zu_eq(bad, SIZE_MAX,
                     "%zu -> %zu -> %zu with ZERO: byte %zu past the shrunk usable size %zu is "
                     "stale",
                     big, small, big, bad == SIZE_MAX ? 0 : small_usable + bad, small_usable);
        dallocx(r, 0);
    }
}
TEST_END

TEST_BEGIN(test_xallocx_small) {
    char *p = mallocx(100, 0);
    assert_ptr_not_null(p, "mallocx(100)");
    size_t usable = sallocx(p, 0);
    expect_zu_eq(usable, 112, "100 is in the 112 class");
    test_fill(p, usable, 7);
    /* Within the class: succeeds, reports the class size. */
    expect_zu_eq(xallocx(p, 105, 0, 0), usable, "xallocx within the class");
    expect_zu_eq(xallocx(p, 112, 0, 0), usable, "xallocx to the class size");
    expect_zu_eq(xallocx(p, 100, 12, 0), usable, "xallocx with extra inside the class");
    /* Across classes a small object cannot move: the old (smaller than asked) size comes back. */
    expect_zu_eq(xallocx(p, 200, 0, 0), usable, "xallocx(200) of a 112 object cannot grow");
    expect_zu_eq(xallocx(p, 100000, 0, 0), usable, "xallocx small -> large cannot grow");
    expect_zu_eq(xallocx(p, 1, 0, 0), usable, "xallocx(1) keeps the small object as is");
    expect_zu_eq(sallocx(p, 0), usable, "size unchanged");
    expect_zu_eq(test_check(p, usable, 7), SIZE_MAX, "content unchanged by xallocx");
    dallocx(p, 0);
}
TEST_END

TEST_BEGIN(test_xallocx_large) {
    const size_t mib = 1 << 20;
    char *p = mallocx(mib, 0);
    assert_ptr_not_null(p, "mallocx(1 MiB)");
    test_fill(p, mib, 11);

    /* Shrink in place: jemalloc splits the tail off and reports the new class size. */
    size_t r = xallocx(p, mib / 2, 0, 0);
    expect_zu_eq(r, test_sz_s2u(mib / 2), "xallocx shrink 1 MiB -> 512 KiB");
    expect_zu_eq(sallocx(p, 0), r, "sallocx agrees with xallocx's result");
    expect_zu_eq(test_check(p, mib / 2, 11), SIZE_MAX, "content after in-place shrink");

    /* Grow back into the tail just released (nothing else allocates in between). */
    r = xallocx(p, mib, 0, 0);
    expect_zu_eq(r, mib, "xallocx regrow 512 KiB -> 1 MiB into the released tail");
    expect_zu_eq(sallocx(p, 0), r, "sallocx agrees with xallocx's result");
    expect_zu_eq(test_check(p, mib / 2, 11), SIZE_MAX, "content after in-place regrow");

    /* Asking for the impossible: the result is the current size, which is < size. */
    size_t before = sallocx(p, 0);
    r = xallocx(p, (size_t)1 << 46, 0, 0);
    expect_zu_eq(r, before, "xallocx to 64 TiB fails and reports the unchanged size");
    expect_zu_lt(r, (size_t)1 << 46, "result < size when it cannot grow");

    /* With extra: anything in [size, class(size + extra)] is fine, or the old size if it failed. */
    r = xallocx(p, before + 4096, 256 << 10, 0);
    expect_zu_eq(sallocx(p, 0), r, "sallocx agrees with xallocx's result");
    if (r >= before + 4096) {
        expect_zu_le(r, nallocx(before + 4096 + (256 << 10), 0), "grown at most to size + extra");
    } else {
        expect_zu_eq(r, before, "failed growth keeps the old size");
    }
    expect_zu_eq(test_check(p, mib / 2, 11), SIZE_MAX, "content after xallocx with extra");
    dallocx(p, 0);
}
TEST_END

TEST_BEGIN(test_xallocx_zero) {
    const size_t big = 256 << 10;
    char *p = mallocx(big, 0);
    assert_ptr_not_null(p, "mallocx(256 KiB)");
    memset(p, 0x77, big);
    size_t r = xallocx(p, big / 4, 0, 0);
    expect_zu_eq(r, big / 4, "shrink in place");
    r = xallocx(p, big, 0, MALLOCX_ZERO);
    if (r >= big) {
        size_t bad = test_find_not(p + big / 4, r - big / 4, 0);
        expect_zu_eq(bad, SIZE_MAX, "xallocx(ZERO) regrow: byte %zu past the old size is stale",
                     bad == SIZE_MAX ? 0 : big / 4 + bad);
    } else {
        expect_zu_eq(r, big / 4, "failed growth keeps the old size");
    }
    expect_zu_eq(test_find_not(p, big / 4, 0x77), SIZE_MAX, "prefix kept");
    dallocx(p, 0);
}
TEST_END

/* sdallocx accepts any size in [request, usable], with the allocation's alignment flags. */
TEST_BEGIN(test_sdallocx_any_size_in_range) {
    static const int flag_set[] = {0, MALLOCX_LG_ALIGN(6), MALLOCX_LG_ALIGN(12),
                                   MALLOCX_TCACHE_NONE};
    test_prng_t prng;
    test_prng_init(&prng, test_seed() ^ 0x5d);
    for (size_t f = 0; f < sizeof(flag_set) / sizeof(flag_set[0]); f++) {
        int flags = flag_set[f];
        for (size_t i = 0; i < NSIZES; i++) {
            size_t req = sizes[i];
            for (int which = 0; which < 3; which++) {
                void *p = mallocx(req, flags);
                assert_ptr_not_null(p, "mallocx(%zu, %#x)", req, (unsigned)flags);
                size_t usable = sallocx(p, 0);
                size_t sz = which == 0   ? req
                            : which == 1 ? usable
                                         : req + test_prng_range(&prng, usable - req + 1);
                sdallocx(p, sz, flags);
            }
        }
    }
    /* The heap is still consistent: allocate a batch of each size and check patterns. */
    enum { N = 64 };
    void *ps[N];
    for (int i = 0; i < N; i++) {
        size_t sz = sizes[i % NSIZES] < 65536 ? sizes[i % NSIZES] : 65536;
        ps[i] = mallocx(sz, 0);
        assert_ptr_not_null(ps[i], "mallocx");
        test_fill(ps[i], sz, (uint64_t)i);
    }
    for (int i = 0; i < N; i++) {
        size_t sz = sizes[i % NSIZES] < 65536 ? sizes[i % NSIZES] : 65536;
        expect_zu_eq(test_check(ps[i], sz, (uint64_t)i), SIZE_MAX, "object %d", i);
        sdallocx(ps[i], sz, 0);
    }
}
TEST_END

int main(void) {
    return run_tests(test_flag_layout, test_mallocx_basic, test_mallocx_alignment,
                     test_mallocx_zero, test_mallocx_tcache_none_and_arena0,
                     test_nallocx_matches_sallocx, test_nallocx_too_large,
                     test_rallocx_preserves_content, test_rallocx_zero, test_xallocx_small,
                     test_xallocx_large, test_xallocx_zero, test_sdallocx_any_size_in_range);
}
