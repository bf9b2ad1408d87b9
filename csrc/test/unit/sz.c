/*
 * Unit tests for sz (size classes): the tables sz_boot() builds, checked against
 *   - an independent re-derivation of jemalloc 5.3's rule (reference §6.1),
 *   - the measured small-class table (reference §6.2), hard-coded below,
 *   - the runner's own reference functions (test_sz_s2u / test_sz_sa2u),
 * and the sz invariants: index2size(size2index(s)) is the smallest class >= s, index -> size ->
 * index round trips, sz_sa2u alignment properties, and exact division by div_magic.
 */
#include "test.h"

#include "arenalloc.h"
#include "sz.h"
#include "tcache.h"

static void boot(void) {
    /* Boots every module (sz included) through the public API. */
    void *p = arenalloc_malloc(1);
    assert_ptr_not_null(p, "boot allocation");
    arenalloc_free(p);
}

/* ---- an independent class list (reference §6.1) ---- */

static size_t ref_classes[SC_NSIZES + 1];
static unsigned ref_nclasses;

static void ref_build(void) {
    unsigned n = 0;
    ref_classes[n++] = 8;                                        /* tiny */
    for (size_t s = 16; s <= 64; s += 16) ref_classes[n++] = s;  /* pseudo-group */
    for (unsigned lg_base = 6; lg_base <= 62; lg_base++) {       /* regular groups */
        size_t base = (size_t)1 << lg_base, delta = base >> 2;
        for (size_t k = 1; k <= 4; k++) {
            size_t c = base + k * delta;
            if (c > ((size_t)1 << 62) + ((size_t)3 << 60)) break; /* the last group stops at 3 */
            if (n <= SC_NSIZES) ref_classes[n] = c;
            n++;
        }
    }
    ref_nclasses = n;
}

TEST_BEGIN(test_constants) {
    boot();
    ref_build();
    expect_u_eq(SC_NBINS, 36, "small classes");
    expect_u_eq(SC_NSIZES, 232, "classes in all");
    expect_u_eq(SC_NSIZES - SC_NBINS, 196, "large classes");
    expect_u_eq(ref_nclasses, SC_NSIZES, "the reference rule yields SC_NSIZES classes");
    expect_zu_eq(SC_LARGE_MINCLASS, 16384, "first large class");
    expect_zu_eq(SC_SMALL_MAXCLASS, 14336, "last small class");
    expect_zx_eq(SC_LARGE_MAXCLASS, 0x7000000000000000ULL, "largest class 2^62 + 3*2^60");
    expect_zx_eq(SC_LARGE_MAXCLASS, ((size_t)1 << 62) + ((size_t)3 << 60), "");
    expect_zu_eq(SC_LARGE_MAXCLASS, TEST_SZ_LARGE_MAXCLASS, "runner's reference agrees");
    expect_zu_eq(sz_index2size(0), 8, "class 0");
    expect_zu_eq(sz_index2size(SC_NBINS - 1), SC_SMALL_MAXCLASS, "last small");
    expect_zu_eq(sz_index2size(SC_NBINS), SC_LARGE_MINCLASS, "first large");
    expect_zu_eq(sz_index2size(SC_NSIZES - 1), SC_LARGE_MAXCLASS, "last class");
    expect_zu_eq(SC_LOOKUP_MAXCLASS, TCACHE_MAXCLASS_DEFAULT, "the table covers every class cached by default");
    expect_zu_eq(test_sz_large_minclass(), SC_LARGE_MINCLASS, "");
    expect_zu_eq(test_sz_small_maxclass(), SC_SMALL_MAXCLASS, "");
    unsigned nsmall = 0;
    for (szind_t i = 0; i < SC_NSIZES; i++) nsmall += sz_index2size(i) < SC_LARGE_MINCLASS;
    expect_u_eq(nsmall, SC_NBINS, "classes below 4 pages are exactly the bins");
}
TEST_END

TEST_BEGIN(test_tables_match_formula) {
    boot();
    ref_build();
    for (szind_t i = 0; i < SC_NSIZES; i++) {
        expect_zu_eq(sz_index2size_tab[i], ref_classes[i], "table entry of class %zu", i);
        expect_zu_eq(sz_index2size_compute(i), ref_classes[i], "computed class %zu", i);
        expect_zu_eq(sz_index2size(i), ref_classes[i], "sz_index2size(%zu)", i);
        if (i > 0) {
            expect_zu_gt(ref_classes[i], ref_classes[i - 1], "strictly increasing at %zu", i);
        }
        /* Large classes are page multiples. */
        if (i >= SC_NBINS) expect_zu_eq(ref_classes[i] & PAGE_MASK, 0, "large class %zu", i);
        /* The runner's independent rounding maps a class to itself. */
        expect_zu_eq(test_sz_s2u(ref_classes[i]), ref_classes[i], "reference s2u of class %zu", i);
    }
    /* The lookup table: entry k is the class of size 8k. */
    for (size_t k = 0; k <= (SC_LOOKUP_MAXCLASS >> 3); k++) {
        expect_zu_eq(sz_size2index_tab[k], sz_size2index_compute(k << 3), "lookup entry %zu", k);
    }
}
TEST_END

/* Reference §6.2: j, size, slab pages, nregs (measured from jemalloc 5.3.1). */
static const struct {
    size_t size;
    unsigned pages, nregs;
} ref_bins[SC_NBINS] = {
    {8, 1, 512},     {16, 1, 256},   {32, 1, 128},   {48, 3, 256},   {64, 1, 64},
    {80, 5, 256},    {96, 3, 128},   {112, 7, 256},  {128, 1, 32},   {160, 5, 128},
    {192, 3, 64},    {224, 7, 128},  {256, 1, 16},   {320, 5, 64},   {384, 3, 32},
    {448, 7, 64},    {512, 1, 8},    {640, 5, 32},   {768, 3, 16},   {896, 7, 32},
    {1024, 1, 4},    {1280, 5, 16},  {1536, 3, 8},   {1792, 7, 16},  {2048, 1, 2},
    {2560, 5, 8},    {3072, 3, 4},   {3584, 7, 8},   {4096, 1, 1},   {5120, 5, 4},
    {6144, 3, 2},    {7168, 7, 4},   {8192, 2, 1},   {10240, 5, 2},  {12288, 3, 1},
    {14336, 7, 2},
};

TEST_BEGIN(test_bin_infos_match_reference) {
    boot();
    for (szind_t j = 0; j < SC_NBINS; j++) {
        const bin_info_t *b = &bin_infos[j];
        expect_zu_eq(b->reg_size, ref_bins[j].size, "bin %zu region size", j);
        expect_zu_eq(b->slab_size, (size_t)ref_bins[j].pages * PAGE, "bin %zu slab size", j);
        expect_u_eq(b->nregs, ref_bins[j].nregs, "bin %zu nregs", j);
        expect_zu_eq(b->reg_size, sz_index2size(j), "bin %zu vs class table", j);
        expect_zu_eq((size_t)b->nregs * b->reg_size, b->slab_size, "bin %zu: regions fill the slab", j);
        expect_u_le(b->nregs, SLAB_MAXREGS, "bin %zu", j);
        expect_zu_le(b->slab_size, (size_t)SLAB_MAXPAGES * PAGE, "bin %zu", j);
        uint64_t magic = ((uint64_t)1 << 32) / b->reg_size + (((uint64_t)1 << 32) % b->reg_size != 0);
        expect_u64_eq(b->div_magic, magic, "bin %zu div_magic = ceil(2^32 / size)", j);
    }
}
TEST_END

/* Checks the class of s: index2size(ind) >= s, minimal, consistent with s2u and the reference. */
static void check_size(size_t s) {
    szind_t ind = sz_size2index(s);
    assert_zu_lt(ind, SC_NSIZES, "class of size %zu", s);
    size_t c = sz_index2size(ind);
    size_t want = s == 0 ? 8 : s;
    expect_zu_ge(c, want, "class of %zu too small", s);
    if (ind > 0) expect_zu_lt(sz_index2size(ind - 1), want, "class of %zu not minimal", s);
    expect_zu_eq(sz_size2index_compute(s), ind, "compute vs lookup for %zu", s);
    expect_zu_eq(sz_s2u(s), c, "s2u(%zu)", s);
    expect_zu_eq(test_sz_s2u(s), c, "reference s2u(%zu)", s);
    if (s <= SC_LOOKUP_MAXCLASS) expect_zu_eq(sz_size2index_lookup(s), ind, "lookup(%zu)", s);
}

TEST_BEGIN(test_every_size_to_70000) {
    boot();
    for (size_t s = 0; s <= 70000; s++) {
        unsigned before = test_failures();
        check_size(s);
        if (test_failures() > before + 20) assert_not_reached("too many failures, stopping at %zu", s);
    }
}
TEST_END

TEST_BEGIN(test_round_trip_and_boundaries) {
    boot();
    for (szind_t i = 0; i < SC_NSIZES; i++) {
        size_t c = sz_index2size(i);
        expect_zu_eq(sz_size2index(c), i, "size2index(index2size(%zu))", i);
        expect_zu_eq(sz_size2index_compute(c), i, "compute(index2size(%zu))", i);
        expect_zu_eq(sz_s2u(c), c, "class %zu is its own usable size", i);
        if (i > 0) {
            size_t prev = sz_index2size(i - 1);
            expect_zu_eq(sz_size2index(prev + 1), i, "one past class %zu", i - 1);
            expect_zu_eq(sz_s2u(prev + 1), c, "");
        }
        /* Classes are at least 8 apart, so c - 1 is still above the previous class. */
        expect_zu_eq(sz_size2index(c - 1), i, "one below class %zu", i);
    }
    /* Beyond the largest class: no class. */
    size_t over[] = {SC_LARGE_MAXCLASS + 1, SC_LARGE_MAXCLASS + PAGE, (size_t)1 << 63, SIZE_MAX - PAGE,
                     SIZE_MAX};
    for (size_t k = 0; k < sizeof(over) / sizeof(over[0]); k++) {
        expect_zu_eq(sz_size2index(over[k]), SC_NSIZES, "size %#zx", over[k]);
        expect_zu_eq(sz_size2index_compute(over[k]), SC_NSIZES, "size %#zx", over[k]);
        expect_zu_eq(sz_s2u(over[k]), 0, "s2u(%#zx)", over[k]);
        expect_zu_eq(sz_sa2u(over[k], 8), 0, "sa2u(%#zx, 8)", over[k]);
        expect_zu_eq(sz_sa2u(over[k], PAGE * 4), 0, "sa2u(%#zx, 4 pages)", over[k]);
    }
    expect_zu_eq(sz_index2size_compute(SC_NSIZES - 1), SC_LARGE_MAXCLASS, "");
}
TEST_END

TEST_BEGIN(test_random_large_sizes) {
    boot();
    test_prng_t prng;
    test_prng_init(&prng, test_seed());
    for (int k = 0; k < 200000; k++) {
        unsigned bits = 14 + (unsigned)test_prng_range(&prng, 63 - 14 + 1); /* 14..63 */
        size_t s = (size_t)(test_prng_next(&prng) >> (64 - bits));
        if (s > SC_LARGE_MAXCLASS) {
            expect_zu_eq(sz_size2index(s), SC_NSIZES, "size %#zx", s);
            expect_zu_eq(sz_s2u(s), 0, "size %#zx", s);
            continue;
        }
        unsigned before = test_failures();
        check_size(s);
        szind_t ind = sz_size2index(s);
        expect_zu_eq(sz_size2index(sz_index2size(ind)), ind, "round trip via size %#zx", s);
        if (test_failures() > before) assert_not_reached("stopping at size %#zx", s);
    }
}
TEST_END

/* The smallest small class that is >= s and a multiple of a, or 0 if none. */
static size_t smallest_aligned_small(size_t s, size_t a) {
    for (szind_t i = 0; i < SC_NBINS; i++) {
        size_t c = sz_index2size(i);
        if (c >= s && c % a == 0) return c;
    }
    return 0;
}

/* Callers pass size >= 1 (the API maps 0 to 1 first, as jemalloc does). */
static void check_sa2u(size_t s, size_t a) {
    size_t u = sz_sa2u(s, a);
    expect_zu_eq(u, test_sz_sa2u(s, a), "sa2u(%zu, %zu) vs reference", s, a);
    if (u == 0) {
        expect_true(s > SC_LARGE_MAXCLASS || a > SC_LARGE_MAXCLASS, "sa2u(%zu, %zu) failed", s, a);
        return;
    }
    expect_zu_ge(u, s, "sa2u(%zu, %zu)", s, a);
    expect_zu_eq(sz_s2u(u), u, "sa2u(%zu, %zu) = %zu is a class", s, a, u);
    if (a <= PAGE) {
        size_t want = smallest_aligned_small(s, a);
        if (want != 0) {
            /* A small class: its size a multiple of the alignment, so slab regions are aligned. */
            expect_zu_eq(u, want, "sa2u(%zu, %zu): smallest aligned small class", s, a);
            expect_zu_eq(u % a, 0, "sa2u(%zu, %zu) = %zu", s, a, u);
        } else {
            expect_zu_ge(u, SC_LARGE_MINCLASS, "sa2u(%zu, %zu)", s, a);
            expect_zu_eq(u, sz_s2u(s > SC_LARGE_MINCLASS ? s : SC_LARGE_MINCLASS), "");
        }
    } else {
        /* Above a page only large extents can be aligned. */
        expect_zu_ge(u, SC_LARGE_MINCLASS, "sa2u(%zu, %zu) must be large", s, a);
        expect_zu_eq(u, sz_s2u(s > SC_LARGE_MINCLASS ? s : SC_LARGE_MINCLASS), "sa2u(%zu, %zu)", s, a);
    }
}

TEST_BEGIN(test_sa2u) {
    boot();
    for (size_t a = 1; a <= ((size_t)1 << 24); a <<= 1) {
        for (size_t s = 1; s <= 3 * SC_LARGE_MINCLASS; s += (s < 4200 ? 1 : 7)) {
            unsigned before = test_failures();
            check_sa2u(s, a);
            if (test_failures() > before + 10) assert_not_reached("stopping at (%zu, %zu)", s, a);
        }
    }
    test_prng_t prng;
    test_prng_init(&prng, test_seed() ^ 0x5a2u);
    for (int k = 0; k < 50000; k++) {
        size_t a = (size_t)1 << test_prng_range(&prng, 64);
        unsigned bits = 1 + (unsigned)test_prng_range(&prng, 63);
        size_t s = (size_t)(test_prng_next(&prng) >> (64 - bits));
        check_sa2u(s ? s : 1, a);
    }
    /* Alignment beyond the largest class cannot be met. */
    expect_zu_eq(sz_sa2u(1, (size_t)1 << 63), 0, "");
    expect_zu_eq(sz_sa2u(SC_LARGE_MAXCLASS, (size_t)1 << 62), SC_LARGE_MAXCLASS, "");
    expect_zu_eq(sz_sa2u(1, PAGE), PAGE, "one page-aligned byte is the 4096 class");
    expect_zu_eq(sz_sa2u(1, 2 * PAGE), SC_LARGE_MINCLASS, "");
    expect_zu_eq(sz_sa2u(4097, PAGE), 8192, "");
    expect_zu_eq(sz_sa2u(8193, PAGE), 12288, "12288: one region per 3-page slab, page aligned");
    expect_zu_eq(sz_sa2u(12289, PAGE), SC_LARGE_MINCLASS, "14336 is not page aligned");
    expect_zu_eq(sz_sa2u(12289, 2048), 14336, "14336 = 7 * 2048");
}
TEST_END

TEST_BEGIN(test_div_magic_exact) {
    boot();
    for (szind_t j = 0; j < SC_NBINS; j++) {
        const bin_info_t *b = &bin_infos[j];
        /* Every byte offset inside the slab, not only region starts. */
        for (size_t off = 0; off < b->slab_size; off++) {
            unsigned q = (unsigned)(((uint64_t)off * b->div_magic) >> 32);
            if (q != off / b->reg_size) {
                expect_u_eq(q, off / b->reg_size, "bin %zu: offset %zu / %zu", j, off, b->reg_size);
                break;
            }
        }
        for (uint32_t r = 0; r < b->nregs; r++) {
            size_t off = (size_t)r * b->reg_size;
            expect_u_eq((unsigned)(((uint64_t)off * b->div_magic) >> 32), r, "bin %zu region %u", j, r);
        }
    }
}
TEST_END

int main(void) {
    return run_tests(test_constants, test_tables_match_formula, test_bin_infos_match_reference,
                     test_every_size_to_70000, test_round_trip_and_boundaries,
                     test_random_large_sizes, test_sa2u, test_div_magic_exact);
}
