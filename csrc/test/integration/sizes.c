/*
 * Size classes through the public API: for every size 1..70000 and for random large sizes, the
 * usable size is jemalloc 5.3's size class for the request (computed here independently:
 * test_sz_s2u in test.c, reference §6.1/§6.2), and writing over the whole usable size of a block
 * never corrupts any other live block.
 */
#include "arenalloc.h"
#include "test.h"

#include <string.h>

#define MAX_DENSE 70000

TEST_BEGIN(test_reference_classes_sanity) {
    /* The reference formula itself, against the table in the reference notes (§6.2). */
    static const size_t small[] = {8,    16,   32,   48,   64,   80,   96,    112,   128,
                                   160,  192,  224,  256,  320,  384,  448,   512,   640,
                                   768,  896,  1024, 1280, 1536, 1792, 2048,  2560,  3072,
                                   3584, 4096, 5120, 6144, 7168, 8192, 10240, 12288, 14336};
    size_t prev = 0, k = 0;
    for (size_t s = 1; s <= 14336; s++) {
        size_t c = test_sz_s2u(s);
        if (c != prev) {
            assert_zu_lt(k, sizeof(small) / sizeof(small[0]), "too many small classes");
            expect_zu_eq(c, small[k], "small class #%zu", k);
            prev = c;
            k++;
        }
    }
    expect_zu_eq(k, 36, "36 small classes (SC_NBINS)");
    expect_zu_eq(test_sz_s2u(14337), 16384, "large classes begin at 16 KiB");
    expect_zu_eq(test_sz_s2u(16385), 20480, "");
    expect_zu_eq(test_sz_s2u(0), 8, "size 0 maps to the smallest class");
    expect_zu_eq(test_sz_s2u(TEST_SZ_LARGE_MAXCLASS), TEST_SZ_LARGE_MAXCLASS, "");
    expect_zu_eq(test_sz_s2u(TEST_SZ_LARGE_MAXCLASS + 1), 0, "");
}
TEST_END

/*
 * Every size: usable == class, nallocx == class. A ring of live blocks, each filled over its whole
 * usable size with its own pattern, is checked when a block leaves the ring, so any overlap
 * between two live blocks (or a usable size larger than the real room) shows up as a damaged
 * pattern. Blocks are filled in full up to 4 KiB and at class boundaries; in between only their
 * first and last 64 bytes are written (the whole range would be ~5 GB of memset).
 */
enum { RING = 48 };

struct live {
    unsigned char *p;
    size_t usable;
    size_t req;
    bool full;
};

static void fill_block(struct live *b) {
    uint64_t seed = (uintptr_t)b->p ^ b->req;
    if (b->full || b->usable <= 128) {
        test_fill(b->p, b->usable, seed);
    } else {
        test_fill(b->p, 64, seed);
        test_fill_at(b->p + b->usable - 64, 64, seed, b->usable - 64);
    }
}

static void check_block(const struct live *b) {
    uint64_t seed = (uintptr_t)b->p ^ b->req;
    size_t bad;
    if (b->full || b->usable <= 128) {
        bad = test_check(b->p, b->usable, seed);
    } else {
        bad = test_check(b->p, 64, seed);
        if (bad == SIZE_MAX) {
            bad = test_check_at(b->p + b->usable - 64, 64, seed, b->usable - 64);
            if (bad != SIZE_MAX) {
                bad += b->usable - 64;
            }
        }
    }
    expect_zu_eq(bad, SIZE_MAX,
                 "block %p (request %zu, usable %zu) was overwritten at offset %zu: overlap "
                 "with another live block?",
                 (void *)b->p, b->req, b->usable, bad);
}

static bool at_boundary(size_t sz) {
    size_t c = test_sz_s2u(sz);
    return c == sz || test_sz_s2u(sz - 1) != c || sz % 997 == 0;
}

TEST_BEGIN(test_every_size_to_70000) {
    static struct live ring[RING];
    memset(ring, 0, sizeof(ring));
    size_t mismatches = 0;
    /* Under TSan (where every byte the debug build junk-fills is shadowed) sizes above 4 KiB are
     * sampled: every 13th plus all class boundaries. */
    bool thin = test_under_tsan();
    for (size_t sz = 1; sz <= MAX_DENSE; sz++) {
        if (thin && sz > 4096 && sz % 13 != 0 && !at_boundary(sz)) {
            continue;
        }
        struct live *slot = &ring[sz % RING];
        if (slot->p != NULL) {
            check_block(slot);
            arenalloc_free(slot->p);
        }
        unsigned char *p = arenalloc_malloc(sz);
        assert_ptr_not_null(p, "malloc(%zu)", sz);
        size_t want = test_sz_s2u(sz);
        size_t usable = arenalloc_malloc_usable_size(p);
        if (usable != want || nallocx(sz, 0) != want) {
            if (mismatches++ < 20) {
                expect_zu_eq(usable, want, "malloc_usable_size(malloc(%zu)) is the class", sz);
                expect_zu_eq(nallocx(sz, 0), want, "nallocx(%zu) is the class", sz);
            }
        }
        slot->p = p;
        slot->req = sz;
        slot->usable = usable;
        slot->full = sz <= 4096 || at_boundary(sz);
        fill_block(slot);
    }
    expect_zu_eq(mismatches, 0, "sizes whose usable size is not jemalloc's class (first 20 shown)");
    for (size_t i = 0; i < RING; i++) {
        if (ring[i].p != NULL) {
            check_block(&ring[i]);
            arenalloc_free(ring[i].p);
        }
    }
}
TEST_END

/* Same with sizes in random order (so neighbours in memory come from different requests). */
TEST_BEGIN(test_random_small_sizes_neighbours) {
    static struct live ring[RING * 4];
    memset(ring, 0, sizeof(ring));
    test_prng_t prng;
    test_prng_init(&prng, test_seed() ^ 0x51);
    for (int i = 0; i < 100000; i++) {
        struct live *slot = &ring[test_prng_range(&prng, RING * 4)];
        if (slot->p != NULL) {
            check_block(slot);
            arenalloc_free(slot->p);
        }
        size_t sz = 1 + test_prng_range(&prng, test_prng_range(&prng, 8) ? 512 : 16384);
        unsigned char *p = arenalloc_malloc(sz);
        assert_ptr_not_null(p, "malloc(%zu)", sz);
        slot->p = p;
        slot->req = sz;
        slot->usable = arenalloc_malloc_usable_size(p);
        expect_zu_eq(slot->usable, test_sz_s2u(sz), "usable size of malloc(%zu)", sz);
        slot->full = true;
        fill_block(slot);
    }
    for (size_t i = 0; i < RING * 4; i++) {
        if (ring[i].p != NULL) {
            check_block(&ring[i]);
            arenalloc_free(ring[i].p);
        }
    }
}
TEST_END

TEST_BEGIN(test_random_large_sizes) {
    static struct live ring[16];
    memset(ring, 0, sizeof(ring));
    test_prng_t prng;
    test_prng_init(&prng, test_seed() ^ 0x1a);
    int iters = test_under_tsan() ? 100 : 600;
    for (int i = 0; i < iters; i++) {
        struct live *slot = &ring[i % 16];
        if (slot->p != NULL) {
            check_block(slot);
            arenalloc_free(slot->p);
            slot->p = NULL;
        }
        /* Log-uniform in [70000, 32 MiB]. */
        unsigned lg = 16 + (unsigned)test_prng_range(&prng, 9);
        size_t sz = ((size_t)1 << lg) + test_prng_range(&prng, (size_t)1 << lg);
        if (sz < MAX_DENSE) {
            sz = MAX_DENSE + 1 + test_prng_range(&prng, 1000);
        }
        unsigned char *p = arenalloc_malloc(sz);
        assert_ptr_not_null(p, "malloc(%zu)", sz);
        size_t usable = arenalloc_malloc_usable_size(p);
        expect_zu_eq(usable, test_sz_s2u(sz), "malloc_usable_size(malloc(%zu))", sz);
        expect_zu_eq(nallocx(sz, 0), test_sz_s2u(sz), "nallocx(%zu)", sz);
        expect_zu_eq(sallocx(p, 0), usable, "sallocx == malloc_usable_size");
        slot->p = p;
        slot->req = sz;
        slot->usable = usable;
        slot->full = usable <= (1 << 20);
        fill_block(slot);
        if (!slot->full) {
            /* Write a byte every 64 KiB too: the whole usable size must be mapped and ours. */
            for (size_t off = 65536; off + 64 < usable; off += 65536) {
                p[off] = (unsigned char)off;
            }
        }
    }
    for (size_t i = 0; i < 16; i++) {
        if (ring[i].p != NULL) {
            check_block(&ring[i]);
            arenalloc_free(ring[i].p);
        }
    }
}
TEST_END

/* The same classes through the other entry points. */
TEST_BEGIN(test_classes_other_entry_points) {
    for (size_t sz = 1; sz <= 40000; sz += (sz < 2048 ? 1 : 61)) {
        size_t want = test_sz_s2u(sz);
        void *a = arenalloc_calloc(1, sz);
        void *b = mallocx(sz, 0);
        void *c = arenalloc_realloc(NULL, sz);
        assert_true(a != NULL && b != NULL && c != NULL, "allocation of %zu", sz);
        expect_zu_eq(arenalloc_malloc_usable_size(a), want, "calloc(1, %zu)", sz);
        expect_zu_eq(sallocx(b, 0), want, "mallocx(%zu)", sz);
        expect_zu_eq(arenalloc_malloc_usable_size(c), want, "realloc(NULL, %zu)", sz);
        arenalloc_free(a);
        sdallocx(b, sz, 0);
        arenalloc_free(c);
    }
}
TEST_END

int main(void) {
    return run_tests(test_reference_classes_sanity, test_every_size_to_70000,
                     test_random_small_sizes_neighbours, test_random_large_sizes,
                     test_classes_other_entry_points);
}
