/*
 * Unit tests for bitmap.h (slab occupancy, 1 = free): bitmap_init_free at every word boundary,
 * bitmap_take_first hands out the lowest free region first and never a bit at or beyond nregs,
 * set_free / is_free round trips, and the nregs of every real bin.
 */
#include "test.h"

#include "arenalloc.h"
#include "bitmap.h"
#include "sz.h"

static const unsigned boundary_nregs[] = {1, 2, 31, 63, 64, 65, 127, 128, 129, 191, 255,
                                          256, 257, 320, 447, 448, 449, 511, 512};
#define NBOUNDARY (sizeof(boundary_nregs) / sizeof(boundary_nregs[0]))

static unsigned popcount_all(const bitmap_t *b) {
    unsigned n = 0;
    for (unsigned i = 0; i < BITMAP_NWORDS; i++) n += (unsigned)__builtin_popcountll(b->w[i]);
    return n;
}

TEST_BEGIN(test_geometry) {
    expect_u_eq(BITMAP_NWORDS * 64, SLAB_MAXREGS, "the bitmap covers the largest slab");
    expect_u_eq(SLAB_MAXREGS, 512, "class 8 in one page");
}
TEST_END

TEST_BEGIN(test_init_free) {
    for (size_t k = 0; k < NBOUNDARY; k++) {
        unsigned nregs = boundary_nregs[k];
        bitmap_t b;
        memset(&b, 0xa5, sizeof(b)); /* garbage: init must overwrite every word */
        bitmap_init_free(&b, nregs);
        expect_u_eq(popcount_all(&b), nregs, "nregs %u: free bits", nregs);
        for (unsigned bit = 0; bit < SLAB_MAXREGS; bit++) {
            if (bitmap_is_free(&b, bit) != (bit < nregs)) {
                expect_true(bitmap_is_free(&b, bit) == (bit < nregs), "nregs %u bit %u", nregs, bit);
                break;
            }
        }
        /* Word-level: whole words free below nregs, the partial word exact, zeros above. */
        for (unsigned w = 0; w < BITMAP_NWORDS; w++) {
            unsigned lo = w * 64;
            uint64_t want = nregs >= lo + 64 ? ~(uint64_t)0
                            : nregs > lo     ? (((uint64_t)1 << (nregs - lo)) - 1)
                                             : 0;
            expect_u64_eq(b.w[w], want, "nregs %u word %u", nregs, w);
        }
    }
}
TEST_END

TEST_BEGIN(test_take_first_order_and_bounds) {
    for (size_t k = 0; k < NBOUNDARY; k++) {
        unsigned nregs = boundary_nregs[k];
        bitmap_t b;
        bitmap_init_free(&b, nregs);
        for (unsigned i = 0; i < nregs; i++) {
            unsigned got = bitmap_take_first(&b);
            if (got != i) {
                expect_u_eq(got, i, "nregs %u: take %u", nregs, i);
                break;
            }
            expect_false(bitmap_is_free(&b, got), "nregs %u: taken bit %u still free", nregs, got);
        }
        /* Everything taken: no bit is free, in particular none beyond nregs. */
        expect_u_eq(popcount_all(&b), 0, "nregs %u: all taken", nregs);
        for (unsigned w = 0; w < BITMAP_NWORDS; w++) expect_u64_eq(b.w[w], 0, "nregs %u word %u", nregs, w);
    }
}
TEST_END

TEST_BEGIN(test_set_free_round_trip) {
    test_prng_t prng;
    test_prng_init(&prng, test_seed());
    for (size_t k = 0; k < NBOUNDARY; k++) {
        unsigned nregs = boundary_nregs[k];
        bitmap_t b;
        bitmap_init_free(&b, nregs);
        bool taken[SLAB_MAXREGS] = {false};
        for (unsigned i = 0; i < nregs; i++) taken[bitmap_take_first(&b)] = true;
        /* Free a random subset, then take them back: lowest first, exactly that subset. */
        for (int round = 0; round < 20; round++) {
            unsigned freed = 0;
            for (unsigned bit = 0; bit < nregs; bit++) {
                if (taken[bit] && test_prng_range(&prng, 3) == 0) {
                    bitmap_set_free(&b, bit);
                    expect_true(bitmap_is_free(&b, bit), "nregs %u bit %u", nregs, bit);
                    taken[bit] = false;
                    freed++;
                }
            }
            expect_u_eq(popcount_all(&b), freed, "nregs %u round %d", nregs, round);
            unsigned prev = 0;
            for (unsigned i = 0; i < freed; i++) {
                unsigned got = bitmap_take_first(&b);
                expect_u_lt(got, nregs, "nregs %u: bit beyond nregs handed out", nregs);
                if (got >= nregs) break;
                expect_false(taken[got], "nregs %u: bit %u handed out twice", nregs, got);
                if (i > 0) expect_u_gt(got, prev, "nregs %u: ascending order", nregs);
                prev = got;
                taken[got] = true;
            }
            expect_u_eq(popcount_all(&b), 0, "nregs %u: all retaken", nregs);
        }
        /* Free one at a time at the boundaries; the same bit must come straight back. */
        unsigned probes[] = {0, nregs - 1, nregs / 2, 63 < nregs ? 63u : 0u, 64 < nregs ? 64u : 0u};
        for (size_t p = 0; p < sizeof(probes) / sizeof(probes[0]); p++) {
            bitmap_set_free(&b, probes[p]);
            expect_u_eq(bitmap_take_first(&b), probes[p], "nregs %u", nregs);
        }
    }
}
TEST_END

TEST_BEGIN(test_real_bins) {
    void *p = arenalloc_malloc(1); /* boots sz */
    arenalloc_free(p);
    for (szind_t j = 0; j < SC_NBINS; j++) {
        unsigned nregs = bin_infos[j].nregs;
        bitmap_t b;
        bitmap_init_free(&b, nregs);
        expect_u_eq(popcount_all(&b), nregs, "bin %zu", j);
        expect_true(bitmap_is_free(&b, nregs - 1), "bin %zu: last region free", j);
        if (nregs < SLAB_MAXREGS) expect_false(bitmap_is_free(&b, nregs), "bin %zu: one past", j);
        for (unsigned i = 0; i < nregs; i++) bitmap_take_first(&b);
        expect_u_eq(popcount_all(&b), 0, "bin %zu", j);
    }
}
TEST_END

int main(void) {
    return run_tests(test_geometry, test_init_free, test_take_first_order_and_bounds,
                     test_set_free_round_trip, test_real_bins);
}
