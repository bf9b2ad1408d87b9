/*
 * Unit tests for tcache (thread caches), on tcache_t values initialised on real arenas:
 *   - geometry: tcache_nbins (36 small + 5 large up to 32 KiB), capacities, disabled bins;
 *   - tcache_alloc_hard fills a batch (capacity >> 1, one popped at once) from the arena's bin,
 *     and serves large classes straight from the arena;
 *   - tcache_dalloc_hard flushes the oldest half when full; tcache_bin_flush down to a keep
 *     count (which items go, which stay, low water); frees of another arena's regions go back
 *     to that arena;
 *   - tcache_gc_step flushes 3/4 of what sat unused since the previous step and adapts the fill
 *     amount both ways;
 *   - tcache_bin_nrequests counts pops, and the arena's bin stats are credited with them;
 *   - tcache_destroy returns everything (arena bin curregs back to where they started);
 *   - a fill that cannot get memory returns NULL and leaves the cache usable.
 */
#include "test.h"

#include <stdlib.h>

#include "arenalloc.h"
#include "emap.h"
#include "tcache.h"

static arena_t *arena0;

static void boot(void) {
    void *p = arenalloc_malloc(1);
    assert_ptr_not_null(p, "boot allocation");
    arenalloc_free(p);
    arena0 = arena_get(0, false);
    assert_ptr_not_null(arena0, "arena 0");
}

static unsigned want_capacity(szind_t ind) {
    unsigned c = ind < SC_NBINS ? bin_infos[ind].nregs * 2 : 20;
    return c < 20 ? 20 : c > 200 ? 200 : c;
}

static tcache_t *tcache_new(arena_t *arena) {
    tcache_t *t = malloc(sizeof(tcache_t));
    assert_ptr_not_null(t, "");
    assert_false(tcache_init(t, arena), "tcache_init");
    return t;
}

static void tcache_free(tcache_t *t) {
    tcache_destroy(t);
    free(t);
}

static bin_stats_t bstats(arena_t *a, szind_t ind) {
    assert_zu_lt(ind, SC_NBINS, "bin stats exist for small classes only");
    bin_stats_t s;
    bin_stats_read(&a->bins[ind], &s);
    return s;
}

static unsigned ncached(tcache_t *t, szind_t ind) { return cache_bin_ncached(&t->bins[ind]); }

/* The live class of ptr per the extent map (class + 1; 0 if not an allocation). */
static unsigned class1_of(const void *p) { return emap_entry_szind1(emap_lookup(p)); }

/* Whether region p is back in the arena: free in its slab's bitmap, or its slab was emptied and
 * returned to the page allocator (then the extent map no longer knows it as a region). */
static bool region_free_in_slab(void *p, szind_t ind) {
    emap_entry_t v = emap_lookup(p);
    if (emap_entry_szind1(v) == 0) return true;
    assert_u_eq(emap_entry_szind1(v), ind + 1, "%p changed class", p);
    edata_t *slab = emap_entry_edata(v);
    size_t idx = (size_t)((char *)p - (char *)slab->addr) / bin_infos[ind].reg_size;
    return bitmap_is_free(&slab->bitmap, (unsigned)idx);
}

TEST_BEGIN(test_geometry) {
    boot();
    expect_u_eq(tcache_nbins, 41, "36 small + 5 large classes up to 32 KiB");
    expect_zu_eq(tcache_maxclass, 32 << 10, "");
    expect_zu_eq(sz_index2size(tcache_nbins - 1), tcache_maxclass, "");
    tcache_t *t = tcache_new(arena0);
    expect_ptr_eq(t->arena, arena0, "");
    expect_ptr_not_null(t->slots, "");
    size_t total = 0;
    for (szind_t i = 0; i < TCACHE_NBINS_MAX; i++) {
        cache_bin_t *b = &t->bins[i];
        if (i < tcache_nbins) {
            expect_u_eq(b->ncached_max, want_capacity(i), "bin %zu capacity", i);
            expect_u_eq(cache_bin_ncached(b), 0, "bin %zu starts empty", i);
            expect_u_eq(t->lg_fill_div[i], 1, "");
            /* Bins are laid out one after another in the slot array. */
            expect_ptr_eq(cache_bin_bottom(b), t->slots + total + b->ncached_max, "bin %zu stack", i);
            total += b->ncached_max;
        } else {
            expect_u_eq(b->ncached_max, 0, "bin %zu is beyond tcache_nbins", i);
            void *p = (void *)8;
            expect_false(cache_bin_pop(b, &p), "bin %zu refuses pop", i);
            expect_false(cache_bin_push(b, p), "bin %zu refuses push", i);
        }
    }
    tcache_free(t);
}
TEST_END

TEST_BEGIN(test_alloc_hard_fills_batch) {
    boot();
    tcache_t *t = tcache_new(arena0);
    const szind_t classes[] = {0, 1, 3, 8, 12, 20, 28, 32, 35};
    for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
        szind_t ind = classes[c];
        unsigned cap = t->bins[ind].ncached_max;
        bin_stats_t before = bstats(arena0, ind);
        void *p = tcache_alloc_hard(t, ind, sz_index2size(ind));
        assert_ptr_not_null(p, "class %zu", ind);
        expect_u_eq(class1_of(p), ind + 1, "class %zu: an allocation of that class", ind);
        expect_u_eq(ncached(t, ind), (cap >> 1) - 1, "class %zu: batch of capacity >> 1, one popped", ind);
        bin_stats_t after = bstats(arena0, ind);
        expect_zu_eq(after.curregs - before.curregs, cap >> 1, "class %zu: regions out of the bin", ind);
        expect_u64_eq(after.nfills - before.nfills, 1, "");
        expect_true(t->refilled[ind], "");
        /* The cached items are distinct, taken regions of the class. */
        void *all[200];
        unsigned n = 0;
        all[n++] = p;
        void *q;
        while (cache_bin_pop(&t->bins[ind], &q)) all[n++] = q;
        expect_u_eq(n, cap >> 1, "");
        for (unsigned i = 0; i < n; i++) {
            expect_u_eq(class1_of(all[i]), ind + 1, "class %zu item %u", ind, i);
            expect_false(region_free_in_slab(all[i], ind), "class %zu item %u is taken", ind, i);
            for (unsigned j = 0; j < i; j++) expect_ptr_ne(all[i], all[j], "class %zu: duplicate", ind);
        }
        /* Empty again: the next miss fills again. */
        void *r = tcache_alloc_hard(t, ind, sz_index2size(ind));
        assert_ptr_not_null(r, "");
        expect_u_eq(ncached(t, ind), (cap >> 1) - 1, "");
        for (unsigned i = 0; i < n; i++) tcache_dalloc_hard(t, ind, all[i], "tcache test");
        tcache_dalloc_hard(t, ind, r, "tcache test");
    }
    /* Large classes are not prefilled: straight from the arena. */
    for (szind_t ind = SC_NBINS; ind < tcache_nbins; ind++) {
        void *p = tcache_alloc_hard(t, ind, sz_index2size(ind));
        assert_ptr_not_null(p, "large class %zu", ind);
        expect_u_eq(class1_of(p), ind + 1, "");
        expect_false(emap_entry_slab(emap_lookup(p)), "");
        expect_u_eq(ncached(t, ind), 0, "large class %zu: no batch", ind);
        /* Cached on free, and handed out again from the cache. */
        tcache_dalloc_hard(t, ind, p, "tcache test");
        expect_u_eq(ncached(t, ind), 1, "");
        expect_ptr_eq(tcache_alloc_hard(t, ind, sz_index2size(ind)), p, "large class %zu reused", ind);
        tcache_dalloc_hard(t, ind, p, "tcache test");
    }
    tcache_free(t);
}
TEST_END

/* Takes n regions of class ind out of t and empties the bin (n <= 256). */
static void take(tcache_t *t, szind_t ind, void **out, unsigned n) {
    for (unsigned i = 0; i < n; i++) {
        out[i] = tcache_alloc_hard(t, ind, sz_index2size(ind));
        assert_ptr_not_null(out[i], "");
    }
    tcache_bin_flush(t, ind, 0, "tcache test");
    assert_u_eq(ncached(t, ind), 0, "");
}

TEST_BEGIN(test_dalloc_hard_flushes_half) {
    boot();
    tcache_t *t = tcache_new(arena0);
    const szind_t classes[] = {2, 16, 30, SC_NBINS + 2};
    for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
        szind_t ind = classes[c];
        unsigned cap = t->bins[ind].ncached_max;
        void *items[201];
        take(t, ind, items, cap + 1);
        bin_stats_t before = {0};
        if (ind < SC_NBINS) before = bstats(arena0, ind);
        for (unsigned i = 0; i < cap; i++) {
            tcache_dalloc_hard(t, ind, items[i], "tcache test");
            expect_u_eq(ncached(t, ind), i + 1, "class %zu: push %u", ind, i);
        }
        if (ind < SC_NBINS) {
            expect_zu_eq(bstats(arena0, ind).curregs, before.curregs, "no flush until full");
        }
        tcache_dalloc_hard(t, ind, items[cap], "tcache test");
        expect_u_eq(ncached(t, ind), cap / 2 + 1, "class %zu: half flushed, then pushed", ind);
        unsigned nflushed = cap - cap / 2;
        if (ind < SC_NBINS) {
            bin_stats_t after = bstats(arena0, ind);
            expect_zu_eq(before.curregs - after.curregs, nflushed, "class %zu", ind);
            expect_u64_eq(after.nflushes - before.nflushes, 1, "");
            /* The oldest went back to their slabs; the newest stayed cached. */
            for (unsigned i = 0; i < nflushed; i++) {
                expect_true(region_free_in_slab(items[i], ind), "class %zu item %u flushed", ind, i);
                expect_false(cache_bin_contains(&t->bins[ind], items[i]), "");
            }
        } else {
            for (unsigned i = 0; i < nflushed; i++) {
                expect_u_eq(class1_of(items[i]), 0, "large item %u flushed back to the arena", i);
            }
        }
        for (unsigned i = nflushed; i <= cap; i++) {
            expect_true(cache_bin_contains(&t->bins[ind], items[i]), "class %zu item %u cached", ind, i);
            if (ind < SC_NBINS) expect_false(region_free_in_slab(items[i], ind), "");
        }
        /* LIFO over what stayed: newest first. */
        for (unsigned i = cap + 1; i-- > nflushed;) {
            void *p = NULL;
            expect_true(cache_bin_pop(&t->bins[ind], &p), "");
            expect_ptr_eq(p, items[i], "class %zu: pop order", ind);
        }
        expect_u_eq(ncached(t, ind), 0, "");
        for (unsigned i = nflushed; i <= cap; i++) tcache_dalloc_hard(t, ind, items[i], "tcache test");
        tcache_bin_flush(t, ind, 0, "tcache test");
    }
    tcache_free(t);
}
TEST_END

TEST_BEGIN(test_bin_flush_keep) {
    boot();
    tcache_t *t = tcache_new(arena0);
    szind_t ind = 6; /* 96 bytes: capacity 200 */
    void *items[40];
    take(t, ind, items, 40);
    for (unsigned i = 0; i < 40; i++) tcache_dalloc_hard(t, ind, items[i], "tcache test");
    cache_bin_reset_low_water(&t->bins[ind]);
    void *p = NULL, *popped[5];
    for (int i = 0; i < 5; i++) expect_true(cache_bin_pop(&t->bins[ind], &popped[i]), "");
    for (int i = 5; i-- > 0;) expect_true(cache_bin_push(&t->bins[ind], popped[i]), "");
    expect_u_eq(ncached(t, ind), 40, "");
    expect_u_eq(cache_bin_low_water(&t->bins[ind]), 35, "five popped, pushed back");
    bin_stats_t before = bstats(arena0, ind);
    tcache_bin_flush(t, ind, 12, "tcache test");
    expect_u_eq(ncached(t, ind), 12, "");
    expect_zu_eq(before.curregs - bstats(arena0, ind).curregs, 28, "");
    expect_u_eq(cache_bin_low_water(&t->bins[ind]), 12, "low water clamped to what is kept");
    for (unsigned i = 0; i < 28; i++) expect_true(region_free_in_slab(items[i], ind), "item %u", i);
    for (unsigned i = 40; i-- > 28;) {
        expect_true(cache_bin_pop(&t->bins[ind], &p), "");
        expect_ptr_eq(p, items[i], "kept items keep their order");
    }
    /* Flushing to a keep count >= ncached does nothing. */
    tcache_dalloc_hard(t, ind, items[28], "tcache test");
    before = bstats(arena0, ind);
    tcache_bin_flush(t, ind, 1, "tcache test");
    tcache_bin_flush(t, ind, 5, "tcache test");
    expect_u_eq(ncached(t, ind), 1, "");
    expect_u64_eq(bstats(arena0, ind).nflushes, before.nflushes, "");
    for (unsigned i = 29; i < 40; i++) tcache_dalloc_hard(t, ind, items[i], "tcache test");
    tcache_free(t);
}
TEST_END

TEST_BEGIN(test_flush_to_other_arena) {
    boot();
    arena_t *arena1 = arena_get(1, true);
    if (arena1 == NULL) test_skip("one automatic arena only");
    tcache_t *t0 = tcache_new(arena0), *t1 = tcache_new(arena1);
    szind_t ind = 10;
    void *items[30];
    take(t1, ind, items, 30); /* regions of arena 1 */
    for (int i = 0; i < 30; i++) {
        expect_u_eq(edata_arena_ind(emap_entry_edata(emap_lookup(items[i]))), 1, "");
    }
    bin_stats_t a0 = bstats(arena0, ind), a1 = bstats(arena1, ind);
    for (int i = 0; i < 30; i++) tcache_dalloc_hard(t0, ind, items[i], "tcache test"); /* freed elsewhere */
    tcache_bin_flush(t0, ind, 0, "tcache test");
    bin_stats_t b0 = bstats(arena0, ind), b1 = bstats(arena1, ind);
    expect_zu_eq(a1.curregs - b1.curregs, 30, "the regions went back to their own arena");
    expect_zu_eq(b0.curregs, a0.curregs, "arena 0 untouched");
    expect_u64_eq(b0.nflushes - a0.nflushes, 1, "the flushing cache's arena gets the flush stats");
    for (int i = 0; i < 30; i++) expect_true(region_free_in_slab(items[i], ind), "");
    tcache_free(t0);
    tcache_free(t1);
}
TEST_END

TEST_BEGIN(test_gc_step) {
    boot();
    tcache_t *t = tcache_new(arena0);
    szind_t ind = 4; /* 64 bytes: capacity 128 */
    cache_bin_t *b = &t->bins[ind];
    unsigned cap = b->ncached_max;
    assert_u_eq(cap, 128, "");
    void *p = tcache_alloc_hard(t, ind, 64);
    assert_ptr_not_null(p, "");
    expect_u_eq(ncached(t, ind), 63, "");

    /* Step 1 on this bin: nothing sat unused yet (the bin was empty at the last reset). */
    t->gc_next = ind;
    bin_stats_t s0 = bstats(arena0, ind);
    tcache_gc_step(t);
    expect_u_eq(t->gc_next, ind + 1, "round robin");
    expect_u_eq(ncached(t, ind), 63, "nothing flushed");
    expect_u_eq(t->lg_fill_div[ind], 1, "fill stays at capacity >> 1");
    expect_false(t->refilled[ind], "");
    expect_u_eq(cache_bin_low_water(b), 63, "low water reset to ncached");

    /* Use a few, then step 2: 3/4 of the low water (unused since step 1) is flushed. */
    void *u[3];
    for (int i = 0; i < 3; i++) u[i] = tcache_alloc_hard(t, ind, 64);
    expect_u_eq(cache_bin_low_water(b), 60, "");
    t->gc_next = ind;
    tcache_gc_step(t);
    unsigned nflush = 60 - 60 / 4;
    expect_u_eq(ncached(t, ind), 60 - nflush, "3/4 of the low water flushed");
    expect_zu_eq(s0.curregs - bstats(arena0, ind).curregs, nflush, "back in the arena");
    expect_u_eq(t->lg_fill_div[ind], 2, "filled more than was used: fill less");
    expect_u_eq(cache_bin_low_water(b), 15, "");

    /* Drain the cache; the next fill brings capacity >> 2. */
    void *d[64];
    unsigned nd = 0;
    while (cache_bin_pop(b, &d[nd])) nd++;
    expect_u_eq(nd, 15, "");
    void *q = tcache_alloc_hard(t, ind, 64);
    assert_ptr_not_null(q, "");
    expect_u_eq(ncached(t, ind), (cap >> 2) - 1, "the adapted fill amount");

    /* Step 3: ran dry since step 2 (low water 0) and refilled: fill more again. */
    t->gc_next = ind;
    s0 = bstats(arena0, ind);
    tcache_gc_step(t);
    expect_u_eq(t->lg_fill_div[ind], 1, "");
    expect_zu_eq(bstats(arena0, ind).curregs, s0.curregs, "nothing flushed");
    while (cache_bin_pop(b, &d[nd])) nd++;
    void *r = tcache_alloc_hard(t, ind, 64);
    assert_ptr_not_null(r, "");
    expect_u_eq(ncached(t, ind), (cap >> 1) - 1, "back to capacity >> 1");

    /* Repeated idle steps keep shrinking the fill, down to one item, never to zero. */
    for (int i = 0; i < 12; i++) {
        if (ncached(t, ind) == 0) tcache_dalloc_hard(t, ind, d[--nd], "tcache test");
        t->gc_next = ind;
        cache_bin_reset_low_water(b);
        tcache_gc_step(t);
    }
    expect_u_ge(cap >> t->lg_fill_div[ind], 1, "the fill never reaches zero");
    expect_u_eq(cap >> (t->lg_fill_div[ind] + 1), 0, "but gets down to one");

    for (unsigned i = 0; i < nd; i++) tcache_dalloc_hard(t, ind, d[i], "tcache test");
    for (int i = 0; i < 3; i++) tcache_dalloc_hard(t, ind, u[i], "tcache test");
    tcache_dalloc_hard(t, ind, p, "tcache test");
    tcache_dalloc_hard(t, ind, q, "tcache test");
    tcache_dalloc_hard(t, ind, r, "tcache test");
    tcache_free(t);

    /* A GC step over every bin of a cache whose bins are all idle flushes 3/4 of each. */
    t = tcache_new(arena0);
    for (szind_t i = 0; i < SC_NBINS; i++) {
        void *x = tcache_alloc_hard(t, i, sz_index2size(i));
        tcache_dalloc_hard(t, i, x, "tcache test");
        cache_bin_reset_low_water(&t->bins[i]);
    }
    t->gc_next = 0;
    for (szind_t i = 0; i < tcache_nbins; i++) {
        unsigned lw = cache_bin_low_water(&t->bins[i]), n = ncached(t, i);
        tcache_gc_step(t);
        expect_u_eq(ncached(t, i), n - (lw - lw / 4), "bin %zu", i);
    }
    expect_u_eq(t->gc_next, 0, "wrapped around");
    tcache_free(t);
}
TEST_END

TEST_BEGIN(test_nrequests) {
    boot();
    tcache_t *t = tcache_new(arena0);
    szind_t ind = 9;
    expect_u64_eq(tcache_bin_nrequests(t, ind), 0, "");
    void *p[6];
    p[0] = tcache_alloc_hard(t, ind, 160);
    expect_u64_eq(tcache_bin_nrequests(t, ind), 1, "the pop after a fill counts");
    for (int i = 1; i < 4; i++) p[i] = tcache_alloc_hard(t, ind, 160);
    expect_u64_eq(tcache_bin_nrequests(t, ind), 4, "pops count");
    tcache_dalloc_hard(t, ind, p[3], "tcache test");
    tcache_dalloc_hard(t, ind, p[2], "tcache test");
    expect_u64_eq(tcache_bin_nrequests(t, ind), 4, "pushes do not count");
    p[2] = tcache_alloc_hard(t, ind, 160);
    expect_u64_eq(tcache_bin_nrequests(t, ind), 5, "");
    bin_stats_t s0 = bstats(arena0, ind);
    tcache_bin_flush(t, ind, 0, "tcache test");
    expect_u64_eq(tcache_bin_nrequests(t, ind), 5, "flushes do not count");
    /* The arena's bin is credited with the requests served so far (5: 4 + 1). */
    bin_stats_t s1 = bstats(arena0, ind);
    expect_u64_eq(s1.nrequests - s0.nrequests, 5, "requests credited on flush");
    /* Next fill credits nothing new; the one after the fill's pop credits it. */
    p[3] = tcache_alloc_hard(t, ind, 160);
    expect_u64_eq(bstats(arena0, ind).nrequests - s1.nrequests, 0, "");
    expect_u64_eq(tcache_bin_nrequests(t, ind), 6, "");
    tcache_dalloc_hard(t, ind, p[0], "tcache test");
    tcache_dalloc_hard(t, ind, p[1], "tcache test");
    tcache_dalloc_hard(t, ind, p[2], "tcache test");
    tcache_dalloc_hard(t, ind, p[3], "tcache test");
    s1 = bstats(arena0, ind);
    tcache_destroy(t);
    expect_u64_eq(bstats(arena0, ind).nrequests - s1.nrequests, 1, "destroy credits the rest");
    free(t);
}
TEST_END

TEST_BEGIN(test_destroy_returns_everything) {
    boot();
    size_t base_curregs[SC_NBINS];
    for (szind_t i = 0; i < SC_NBINS; i++) base_curregs[i] = bstats(arena0, i).curregs;
    uint64_t large_nmalloc[8], large_ndalloc[8];
    for (szind_t i = SC_NBINS; i < tcache_nbins; i++) {
        large_nmalloc[i - SC_NBINS] = __atomic_load_n(&arena0->lstats[i - SC_NBINS].nmalloc, __ATOMIC_RELAXED);
        large_ndalloc[i - SC_NBINS] = __atomic_load_n(&arena0->lstats[i - SC_NBINS].ndalloc, __ATOMIC_RELAXED);
    }
    tcache_t *t = tcache_new(arena0);
    void **slots = t->slots;
    test_prng_t prng;
    test_prng_init(&prng, test_seed());
    /* Allocate and free a mix; everything freed goes through the cache. */
    enum { N = 3000 };
    void **held = calloc(N, sizeof(void *));
    szind_t *inds = calloc(N, sizeof(szind_t));
    for (int i = 0; i < N; i++) {
        inds[i] = (szind_t)test_prng_range(&prng, tcache_nbins);
        held[i] = tcache_alloc_hard(t, inds[i], sz_index2size(inds[i]));
        assert_ptr_not_null(held[i], "");
        if (test_prng_range(&prng, 3) == 0) {
            tcache_dalloc_hard(t, inds[i], held[i], "tcache test");
            held[i] = NULL;
        }
    }
    for (int i = 0; i < N; i++) {
        if (held[i] != NULL) tcache_dalloc_hard(t, inds[i], held[i], "tcache test");
    }
    unsigned cached = 0;
    for (szind_t i = 0; i < tcache_nbins; i++) cached += ncached(t, i);
    expect_u_gt(cached, 0, "the cache holds items before destroy");
    tcache_destroy(t);
    for (szind_t i = 0; i < SC_NBINS; i++) {
        expect_zu_eq(bstats(arena0, i).curregs, base_curregs[i], "bin %zu curregs back", i);
    }
    unsigned nlarge_allocs = 0;
    for (int i = 0; i < N; i++) nlarge_allocs += inds[i] >= SC_NBINS;
    uint64_t nlarge = 0;
    for (szind_t i = SC_NBINS; i < tcache_nbins; i++) {
        uint64_t nm = __atomic_load_n(&arena0->lstats[i - SC_NBINS].nmalloc, __ATOMIC_RELAXED) -
                      large_nmalloc[i - SC_NBINS];
        uint64_t nd = __atomic_load_n(&arena0->lstats[i - SC_NBINS].ndalloc, __ATOMIC_RELAXED) -
                      large_ndalloc[i - SC_NBINS];
        expect_u64_eq(nm, nd, "large class %zu: every allocation from the arena went back", i);
        nlarge += nm;
    }
    expect_u64_gt(nlarge, 0, "");
    expect_u64_le(nlarge, nlarge_allocs, "cache hits do not reach the arena");
    expect_ptr_null(t->slots, "destroyed");
    for (szind_t i = 0; i < TCACHE_NBINS_MAX; i++) {
        void *p = (void *)16;
        expect_false(cache_bin_push(&t->bins[i], p), "bin %zu of a destroyed cache", i);
        expect_false(cache_bin_pop(&t->bins[i], &p), "");
    }
    tcache_destroy(t); /* twice is harmless */
    /* The stack memory is recycled by the next cache. */
    assert_false(tcache_init(t, arena0), "");
    expect_ptr_eq(t->slots, slots, "slots reused from the pool");
    tcache_free(t);
    free(held);
    free(inds);
}
TEST_END

/* ---- out of memory ---- */

static void *refuse_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t alignment,
                          bool *zero, bool *commit, unsigned ind) {
    return NULL;
}
static extent_hooks_t refusing_hooks = {refuse_alloc, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};

TEST_BEGIN(test_fill_out_of_memory) {
    boot();
    if (narenas_auto < 3) test_skip("needs an automatic arena no thread uses");
    arena_t *a = arena_get(narenas_auto - 1, true);
    assert_ptr_not_null(a, "");
    extent_hooks_t *old = ehooks_get(&a->ehooks);
    ehooks_set(&a->ehooks, &refusing_hooks);
    tcache_t *t = tcache_new(a);
    /* A class with no slab in this arena yet needs new memory. */
    szind_t ind = 0;
    while (ind < SC_NBINS && bstats(a, ind).curslabs != 0) ind++;
    assert_u_lt(ind, SC_NBINS, "");
    void *p = tcache_alloc_hard(t, ind, sz_index2size(ind));
    expect_ptr_null(p, "no memory: NULL");
    expect_u_eq(ncached(t, ind), 0, "");
    ehooks_set(&a->ehooks, old);
    p = tcache_alloc_hard(t, ind, sz_index2size(ind));
    expect_ptr_not_null(p, "the cache is usable afterwards");
    expect_u_eq(ncached(t, ind), (t->bins[ind].ncached_max >> 1) - 1, "");
    tcache_dalloc_hard(t, ind, p, "tcache test");
    tcache_free(t);
}
TEST_END

int main(void) {
    return run_tests(test_geometry, test_alloc_hard_fills_batch, test_dalloc_hard_flushes_half,
                     test_bin_flush_keep, test_flush_to_other_arena, test_gc_step, test_nrequests,
                     test_destroy_returns_everything, test_fill_out_of_memory);
}
