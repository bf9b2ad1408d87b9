/*
 * Unit tests for pac (the page allocator) and eset (its free sets), on page allocators set up
 * with pac_init, each with its own index so their extents never coalesce with an arena's:
 *   - allocation of many sizes and alignments (up to 1 GiB, virtual only): aligned, exact size,
 *     non-overlapping, writable; zeroing on request; accounting (every mapped page is active or
 *     in a free set);
 *   - growth: the first step maps PAC_GROW_MIN and keeps the surplus retained;
 *   - coalescing of freed neighbours (emap boundary entries, dirty npages / extent count);
 *   - split on carve (the remainder stays free with the right bounds), aligned carves;
 *   - reuse instead of growth in alloc/free loops;
 *   - pac_expand / pac_shrink in place;
 *   - a counting extent_hooks_t (all nine hooks, mmap based): alloc / split / merge / commit
 *     called where expected and without the pac lock; a hook refusing split keeps the extent
 *     found whole and an exact mapping serves the request; a failing alloc hook makes pac_alloc return NULL;
 *     an alloc hook breaking the alignment contract is undone; refused merges keep extents apart;
 *   - purging (pac_decay): decay 0 purges every dirty page to retained (zeroed: garbage written
 *     before the free reads back as zero), oldest extents first, with the counters; a muzzy
 *     window sends dirty pages through purge_lazy to muzzy, and a full purge takes those on to
 *     retained; -1 never purges, but a full purge does; the decay curve on a fake clock; a
 *     periodic sweep is skipped while another holds the decay lock; the cascade with counting
 *     hooks (lazy, then dalloc -> decommit -> purge_forced -> purge_lazy, each refusal falling
 *     through, a dalloc that unmaps forgets the extent, a decommit that succeeds is undone by
 *     commit on reuse), always without the pac lock;
 *   - churn from several threads while another thread purges and changes decay times: no live
 *     extent is ever purged (their contents survive).
 */
#include "test.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <sys/mman.h>

#include "arenalloc.h"
#include "emap.h"
#include "pac.h"
#include "platform.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

#define MiB ((size_t)1 << 20)

static void boot(void) {
    void *p = arenalloc_malloc(1);
    assert_ptr_not_null(p, "boot allocation");
    arenalloc_free(p);
}

/* Page-allocator indices used here: beyond any arena index (< ARENAS_MAX), so their extents
 * never coalesce with an arena's. */
static unsigned next_ind = 1u << 20;

typedef struct {
    ehooks_t ehooks;
    pac_t pac;
} test_pac_t;

static test_pac_t *pac_new(extent_hooks_t *hooks) {
    test_pac_t *tp = calloc(1, sizeof(*tp));
    assert_ptr_not_null(tp, "");
    unsigned ind = next_ind++;
    ehooks_init(&tp->ehooks, hooks, ind);
    assert_false(pac_init(&tp->pac, &tp->ehooks, ind), "pac_init");
    return tp;
}

static pac_stats_t stats_of(pac_t *pac) {
    pac_stats_t s;
    pac_stats_read(pac, &s);
    return s;
}

/* The free extent whose boundary entry covers addr (first or last page), or NULL. */
static edata_t *free_extent_at(const void *addr) {
    emap_entry_t v = emap_lookup(addr);
    if (v == 0 || emap_entry_szind1(v) != 0) return NULL;
    return emap_entry_edata(v);
}

/* Checks that [addr, addr + size) is one free extent of pac in `state`, found from both ends. */
static void expect_free_extent_(int line, pac_t *pac, void *addr, size_t size, extent_state_t state) {
    edata_t *f = free_extent_at(addr);
    edata_t *l = free_extent_at((char *)addr + size - PAGE);
    if (f == NULL || l == NULL) {
        expect_not_reached("line %d: no free extent at %p (+%zu pages): first %p last %p", line, addr,
                           size / PAGE, (void *)f, (void *)l);
        return;
    }
    expect_ptr_eq(f, l, "line %d: both boundaries name one descriptor", line);
    expect_ptr_eq(f->addr, addr, "line %d: free extent start", line);
    expect_zu_eq(f->size, size, "line %d: free extent size", line);
    expect_d_eq((int)edata_state(f), (int)state, "line %d: free extent state", line);
    expect_u_eq(edata_arena_ind(f), pac->ind, "line %d: owner", line);
    expect_u_eq(emap_entry_slab(emap_lookup(addr)), 0, "line %d", line);
}
#define expect_free_extent(pac, addr, size, state) expect_free_extent_(__LINE__, pac, addr, size, state)

/* Every mapped page is active or free: the accounting identity after frees. */
static void expect_accounted_(int line, pac_t *pac, size_t active_bytes) {
    pac_stats_t s = stats_of(pac);
    expect_zu_eq((s.npages_dirty + s.npages_muzzy + s.npages_retained) * PAGE + active_bytes, s.mapped,
                 "line %d: dirty %zu + muzzy %zu + retained %zu pages + %zu active bytes vs mapped", line,
                 s.npages_dirty, s.npages_muzzy, s.npages_retained, active_bytes);
    expect_zu_eq(s.npages_active * PAGE, active_bytes, "line %d: npages_active", line);
}
#define expect_accounted(pac, active) expect_accounted_(__LINE__, pac, active)

/* ---- default hooks ---- */

TEST_BEGIN(test_first_growth) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    expect_true(ehooks_are_default(&tp->ehooks), "NULL hooks mean the default ones");
    pac_stats_t s = stats_of(pac);
    expect_zu_eq(s.mapped, 0, "a new page allocator maps nothing");
    edata_t *e = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "");
    expect_zu_eq(e->size, 4 * PAGE, "");
    expect_d_eq((int)edata_state(e), EXTENT_ACTIVE, "");
    expect_u_eq(edata_arena_ind(e), pac->ind, "");
    expect_true(e->committed, "");
    s = stats_of(pac);
    expect_zu_eq(s.mapped, PAC_GROW_MIN, "the first growth step");
    expect_zu_eq(s.npages_retained, (PAC_GROW_MIN - 4 * PAGE) / PAGE, "the surplus is retained");
    expect_zu_eq(s.npages_dirty, 0, "");
    expect_zu_eq(eset_nextents(&pac->retained), 1, "");
    /* The carve takes the start of the new mapping; the rest follows it. */
    expect_free_extent(pac, edata_end(e), PAC_GROW_MIN - 4 * PAGE, EXTENT_RETAINED);
    expect_zu_eq(pac->grow_next, 2 * PAC_GROW_MIN, "growth steps double");
    /* A request retained memory cannot serve grows by the next step (4 MiB): the surplus
     * (2 MiB) then serves a request the first surplus was too small for. */
    edata_t *big = pac_alloc(pac, PAC_GROW_MIN, PAGE, false);
    assert_ptr_not_null(big, "");
    expect_zu_eq(stats_of(pac).mapped, 3 * PAC_GROW_MIN, "2 MiB + 4 MiB");
    expect_zu_eq(pac->grow_next, 4 * PAC_GROW_MIN, "");
    expect_zu_eq(stats_of(pac).npages_retained, (2 * PAC_GROW_MIN - 4 * PAGE) / PAGE, "");
    edata_t *small = pac_alloc(pac, PAC_GROW_MIN - 4 * PAGE + PAGE, PAGE, false);
    assert_ptr_not_null(small, "");
    expect_ptr_eq(small->addr, edata_end(big), "carved from the second step's surplus");
    expect_zu_eq(stats_of(pac).mapped, 3 * PAC_GROW_MIN, "no third growth");
    /* A request of at least the step size maps just that and leaves the step alone. */
    edata_t *huge = pac_alloc(pac, 5 * PAC_GROW_MIN, PAGE, false);
    assert_ptr_not_null(huge, "");
    expect_zu_eq(stats_of(pac).mapped, 8 * PAC_GROW_MIN, "");
    expect_zu_eq(pac->grow_next, 4 * PAC_GROW_MIN, "");
    pac_dalloc(pac, huge);
    pac_dalloc(pac, e);
    pac_dalloc(pac, big);
    pac_dalloc(pac, small);
    expect_accounted(pac, 0);
}
TEST_END

typedef struct {
    uintptr_t a, b;
} range_t;

static int range_cmp(const void *x, const void *y) {
    const range_t *r = x, *s = y;
    return r->a < s->a ? -1 : r->a > s->a;
}

TEST_BEGIN(test_alloc_sizes_alignments) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    static const size_t npages[] = {1, 2, 3, 5, 8, 17, 64, 255, 512, 700};
    static const size_t aligns[] = {0, PAGE / 2, PAGE, 2 * PAGE, 8 * PAGE, 64 << 10, 2 * MiB};
    enum { NE = sizeof(npages) / sizeof(npages[0]) * sizeof(aligns) / sizeof(aligns[0]) };
    edata_t *es[NE];
    range_t rs[NE];
    size_t active = 0;
    unsigned n = 0;
    for (size_t i = 0; i < sizeof(npages) / sizeof(npages[0]); i++) {
        for (size_t j = 0; j < sizeof(aligns) / sizeof(aligns[0]); j++) {
            size_t size = npages[i] * PAGE, align = aligns[j];
            edata_t *e = pac_alloc(pac, size, align, false);
            assert_ptr_not_null(e, "pac_alloc(%zu pages, alignment %zu)", npages[i], align);
            expect_zu_eq(e->size, size, "exact size");
            size_t want_align = align < PAGE ? PAGE : align;
            expect_zu_eq((uintptr_t)e->addr & (want_align - 1), 0, "%p aligned to %zu", e->addr, want_align);
            expect_d_eq((int)edata_state(e), EXTENT_ACTIVE, "");
            /* Writable end to end. */
            memset(e->addr, 0x11, PAGE);
            memset((char *)edata_end(e) - PAGE, 0x22, PAGE);
            es[n] = e;
            rs[n] = (range_t){(uintptr_t)e->addr, (uintptr_t)edata_end(e)};
            active += size;
            n++;
        }
    }
    expect_accounted(pac, active);
    qsort(rs, n, sizeof(rs[0]), range_cmp);
    for (unsigned k = 1; k < n; k++) {
        expect_zu_le(rs[k - 1].b, rs[k].a, "extents %u and %u overlap", k - 1, k);
    }
    /* Free in an interleaved order; everything is accounted for afterwards. */
    for (unsigned k = 0; k < n; k += 2) pac_dalloc(pac, es[k]);
    for (unsigned k = 1; k < n; k += 2) pac_dalloc(pac, es[k]);
    expect_accounted(pac, 0);
    expect_zu_ge(stats_of(pac).npages_dirty, active / PAGE, "freed pages are dirty");
}
TEST_END

TEST_BEGIN(test_huge_alignment) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    size_t gib = (size_t)1 << 30;
    edata_t *a = pac_alloc(pac, PAGE, gib, false);
    assert_ptr_not_null(a, "one page aligned to 1 GiB");
    expect_zu_eq((uintptr_t)a->addr & (gib - 1), 0, "%p", a->addr);
    expect_zu_eq(a->size, PAGE, "");
    edata_t *b = pac_alloc(pac, 5 * PAGE, gib, true);
    assert_ptr_not_null(b, "five pages aligned to 1 GiB");
    expect_zu_eq((uintptr_t)b->addr & (gib - 1), 0, "%p", b->addr);
    expect_ptr_ne(a->addr, b->addr, "");
    expect_zu_eq(test_find_not(b->addr, b->size, 0), SIZE_MAX, "zeroed on request");
    pac_dalloc(pac, a);
    /* The freed aligned extent is reused for the next such request. */
    edata_t *c = pac_alloc(pac, PAGE, gib, false);
    assert_ptr_not_null(c, "");
    expect_zu_eq((uintptr_t)c->addr & (gib - 1), 0, "");
    pac_dalloc(pac, b);
    pac_dalloc(pac, c);
    expect_accounted(pac, 0);
}
TEST_END

TEST_BEGIN(test_zero) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    edata_t *e = pac_alloc(pac, 6 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "");
    void *addr = e->addr;
    memset(addr, 0xff, 6 * PAGE);
    pac_dalloc(pac, e);
    expect_false(e->zeroed, "a freed extent is not known to be zero");
    e = pac_alloc(pac, 6 * PAGE, PAGE, true);
    assert_ptr_not_null(e, "");
    expect_ptr_eq(e->addr, addr, "the dirty extent is reused");
    expect_zu_eq(test_find_not(e->addr, e->size, 0), SIZE_MAX, "zero requested: memory is zero");
    pac_dalloc(pac, e);
}
TEST_END

TEST_BEGIN(test_coalesce) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    edata_t *a = pac_alloc(pac, 4 * PAGE, PAGE, false);
    edata_t *b = pac_alloc(pac, 3 * PAGE, PAGE, false);
    edata_t *c = pac_alloc(pac, 5 * PAGE, PAGE, false);
    assert_true(a && b && c, "");
    char *base = a->addr;
    /* Carved one after another from the start of the retained remainder (lowest address). */
    assert_ptr_eq(b->addr, edata_end(a), "b follows a");
    assert_ptr_eq(c->addr, edata_end(b), "c follows b");
    size_t retained0 = stats_of(pac).npages_retained;

    pac_dalloc(pac, a);
    expect_zu_eq(pac->dirty.npages, 4, "");
    expect_zu_eq(eset_nextents(&pac->dirty), 1, "");
    expect_free_extent(pac, base, 4 * PAGE, EXTENT_DIRTY);

    pac_dalloc(pac, c);
    expect_zu_eq(pac->dirty.npages, 9, "");
    expect_zu_eq(eset_nextents(&pac->dirty), 2, "a and c are not adjacent");
    expect_free_extent(pac, base + 7 * PAGE, 5 * PAGE, EXTENT_DIRTY);
    expect_zu_eq(stats_of(pac).npages_retained, retained0, "dirty never merges with retained");

    pac_dalloc(pac, b);
    expect_zu_eq(pac->dirty.npages, 12, "");
    expect_zu_eq(eset_nextents(&pac->dirty), 1, "a, b and c coalesced");
    expect_free_extent(pac, base, 12 * PAGE, EXTENT_DIRTY);
    /* The boundaries that became interior are no longer mapped. */
    const size_t interior[] = {3, 4, 6, 7};
    for (size_t i = 0; i < sizeof(interior) / sizeof(interior[0]); i++) {
        expect_u64_eq(emap_lookup(base + interior[i] * PAGE), 0, "page %zu", interior[i]);
    }
    expect_accounted(pac, 0);
    edata_t *all = pac_alloc(pac, 12 * PAGE, PAGE, false);
    assert_ptr_not_null(all, "");
    expect_ptr_eq(all->addr, base, "the coalesced extent serves a request of its whole size");
    expect_zu_eq(pac->dirty.npages, 0, "");
    pac_dalloc(pac, all);
}
TEST_END

TEST_BEGIN(test_split_on_carve) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    edata_t *l = pac_alloc(pac, 64 * PAGE, PAGE, false);
    assert_ptr_not_null(l, "");
    char *base = l->addr;
    pac_dalloc(pac, l);
    expect_free_extent(pac, base, 64 * PAGE, EXTENT_DIRTY);
    size_t mapped = stats_of(pac).mapped;

    /* A small piece: the start of the free extent; the remainder stays dirty. */
    edata_t *e = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "");
    expect_ptr_eq(e->addr, base, "dirty memory is used first, from its lowest address");
    expect_zu_eq(pac->dirty.npages, 60, "");
    expect_zu_eq(eset_nextents(&pac->dirty), 1, "");
    expect_free_extent(pac, base + 4 * PAGE, 60 * PAGE, EXTENT_DIRTY);
    pac_dalloc(pac, e);
    expect_free_extent(pac, base, 64 * PAGE, EXTENT_DIRTY);

    /* An aligned piece: a lead and a trail go back. */
    size_t align = 16 * PAGE;
    char *aligned = (char *)ALIGNMENT_CEILING((uintptr_t)base + PAGE, align);
    assert_zu_le((size_t)(aligned - base) + 4 * PAGE, 64 * PAGE, "");
    e = pac_alloc(pac, 4 * PAGE, align, false);
    assert_ptr_not_null(e, "");
    if (((uintptr_t)base & (align - 1)) == 0) {
        expect_ptr_eq(e->addr, base, "");
    } else {
        expect_ptr_eq(e->addr, (char *)ALIGNMENT_CEILING((uintptr_t)base, align), "");
        char *start = e->addr;
        expect_free_extent(pac, base, (size_t)(start - base), EXTENT_DIRTY);
        expect_free_extent(pac, start + 4 * PAGE, (size_t)(base + 64 * PAGE - start) - 4 * PAGE,
                           EXTENT_DIRTY);
        expect_zu_eq(eset_nextents(&pac->dirty), 2, "lead and trail");
    }
    expect_zu_eq(pac->dirty.npages, 60, "");
    pac_dalloc(pac, e);
    expect_free_extent(pac, base, 64 * PAGE, EXTENT_DIRTY);

    /* Best fit: with a 64-page and a 3-page dirty extent, a 2-page request takes the small one. */
    edata_t *x = pac_alloc(pac, 64 * PAGE, PAGE, false);
    edata_t *sep = pac_alloc(pac, PAGE, PAGE, false);
    edata_t *y = pac_alloc(pac, 3 * PAGE, PAGE, false);
    edata_t *sep2 = pac_alloc(pac, PAGE, PAGE, false);
    assert_true(x && sep && y && sep2, "");
    pac_dalloc(pac, x);
    pac_dalloc(pac, y);
    edata_t *z = pac_alloc(pac, 2 * PAGE, PAGE, false);
    assert_ptr_not_null(z, "");
    expect_ptr_eq(z->addr, y->addr, "best fit");
    expect_free_extent(pac, (char *)z->addr + 2 * PAGE, PAGE, EXTENT_DIRTY);
    expect_zu_eq(stats_of(pac).mapped, mapped, "no growth while carving free memory");
    pac_dalloc(pac, z);
    pac_dalloc(pac, sep);
    pac_dalloc(pac, sep2);
    expect_accounted(pac, 0);
}
TEST_END

TEST_BEGIN(test_reuse_without_growth) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    test_prng_t prng;
    test_prng_init(&prng, test_seed());
    /* One at a time: the same address comes back, nothing grows (the first extent is as large
     * as any request below, so each is carved from the start of the same dirty extent). */
    edata_t *e = pac_alloc(pac, 128 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "");
    void *addr = e->addr;
    pac_dalloc(pac, e);
    size_t mapped = stats_of(pac).mapped;
    for (int i = 0; i < 500; i++) {
        size_t size = (1 + test_prng_range(&prng, 128)) * PAGE;
        e = pac_alloc(pac, size, PAGE, false);
        assert_ptr_not_null(e, "");
        expect_ptr_eq(e->addr, addr, "round %d: freed memory handed out again", i);
        pac_dalloc(pac, e);
        if (stats_of(pac).mapped != mapped) {
            expect_zu_eq(stats_of(pac).mapped, mapped, "round %d (size %zu): grew", i, size);
            break;
        }
    }
    /* A working set freed and allocated again in rounds: mapped stays at its first peak. */
    enum { NW = 16 }; /* at most 128 pages: always fits in what the first step retained */
    size_t sizes[NW];
    edata_t *w[NW];
    for (int k = 0; k < NW; k++) sizes[k] = (1 + test_prng_range(&prng, 8)) * PAGE;
    size_t peak = 0;
    for (int round = 0; round < 50; round++) {
        for (int k = 0; k < NW; k++) {
            w[k] = pac_alloc(pac, sizes[k], PAGE, false);
            assert_ptr_not_null(w[k], "");
        }
        for (int k = 0; k < NW; k++) { /* free in a random order */
            int j = k + (int)test_prng_range(&prng, NW - k);
            edata_t *t = w[j];
            w[j] = w[k];
            w[k] = t;
            pac_dalloc(pac, w[k]);
        }
        if (round == 0) peak = stats_of(pac).mapped;
        expect_zu_eq(stats_of(pac).mapped, peak, "round %d", round);
        expect_accounted(pac, 0);
    }
    expect_zu_eq(peak, mapped, "the working set fit in the first growth step");
}
TEST_END

TEST_BEGIN(test_expand_shrink) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    edata_t *a = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(a, "");
    char *base = a->addr;
    size_t mapped = stats_of(pac).mapped;
    size_t retained = stats_of(pac).npages_retained;

    /* Expand into the retained memory after it. */
    expect_false(pac_expand(pac, a, 8 * PAGE, false), "expand into retained");
    expect_zu_eq(a->size, 8 * PAGE, "");
    expect_ptr_eq(a->addr, base, "in place");
    expect_zu_eq(stats_of(pac).npages_retained, retained - 4, "");
    expect_free_extent(pac, base + 8 * PAGE, (retained - 4) * PAGE, EXTENT_RETAINED);

    /* Expand into a dirty neighbour with garbage, zero requested, taking part of it. */
    edata_t *b = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(b, "");
    assert_ptr_eq(b->addr, base + 8 * PAGE, "");
    memset(b->addr, 0xab, 4 * PAGE);
    pac_dalloc(pac, b);
    expect_free_extent(pac, base + 8 * PAGE, 4 * PAGE, EXTENT_DIRTY);
    expect_false(pac_expand(pac, a, 10 * PAGE, true), "expand into dirty");
    expect_zu_eq(a->size, 10 * PAGE, "");
    expect_zu_eq(test_find_not(base + 8 * PAGE, 2 * PAGE, 0), SIZE_MAX, "grown part zeroed");
    expect_free_extent(pac, base + 10 * PAGE, 2 * PAGE, EXTENT_DIRTY);
    expect_zu_eq(pac->dirty.npages, 2, "");

    /* Too little free space after it: refused, unchanged. */
    expect_true(pac_expand(pac, a, 13 * PAGE, false), "the dirty neighbour is only 2 pages");
    expect_zu_eq(a->size, 10 * PAGE, "");
    expect_free_extent(pac, base + 10 * PAGE, 2 * PAGE, EXTENT_DIRTY);

    /* Shrink: the tail is freed and coalesces with the dirty extent after it. */
    expect_false(pac_shrink(pac, a, 3 * PAGE), "shrink");
    expect_zu_eq(a->size, 3 * PAGE, "");
    expect_free_extent(pac, base + 3 * PAGE, 9 * PAGE, EXTENT_DIRTY);
    expect_zu_eq(pac->dirty.npages, 9, "");
    expect_zu_eq(eset_nextents(&pac->dirty), 1, "");

    /* An active neighbour blocks expansion. */
    edata_t *c = pac_alloc(pac, 9 * PAGE, PAGE, false);
    assert_ptr_not_null(c, "");
    expect_ptr_eq(c->addr, base + 3 * PAGE, "the freed tail is reused");
    expect_true(pac_expand(pac, a, 4 * PAGE, false), "active neighbour");
    expect_zu_eq(a->size, 3 * PAGE, "");
    expect_zu_eq(stats_of(pac).mapped, mapped, "no growth in any of this");
    pac_dalloc(pac, c);
    pac_dalloc(pac, a);
    expect_accounted(pac, 0);
    expect_free_extent(pac, base, 12 * PAGE, EXTENT_DIRTY);
}
TEST_END

/* ---- a counting extent_hooks_t ---- */

enum { H_ALLOC, H_DALLOC, H_DESTROY, H_COMMIT, H_DECOMMIT, H_PURGE_LAZY, H_PURGE_FORCED, H_SPLIT,
       H_MERGE, H_N };
static const char *const hook_names[H_N] = {"alloc", "dalloc", "destroy", "commit", "decommit",
                                            "purge_lazy", "purge_forced", "split", "merge"};

typedef struct {
    extent_hooks_t hooks; /* first: the hooks pointer is the counting_t pointer */
    pac_t *pac;           /* to check the pac lock is not held */
    unsigned ind;
    atomic_uint calls[H_N];
    atomic_uint locked_calls; /* hooks entered with the pac lock held */
    atomic_uint wrong_ind;
    pthread_mutex_t record; /* the last_* fields: hooks run unlocked, possibly concurrently */
    bool fail_alloc, refuse_split, refuse_merge, fail_commit, uncommitted, misalign;
    bool dalloc_unmaps, decommit_ok, fail_purge_lazy, fail_purge_forced;
    void *last_purge_addr;
    size_t last_purge_size, last_purge_offset, last_purge_length;
    size_t last_alloc_size, last_alloc_alignment;
    void *last_split_addr;
    size_t last_split_size, last_split_a, last_split_b;
    void *last_merge_a, *last_merge_b;
    size_t last_merge_size_a, last_merge_size_b;
    size_t last_commit_offset, last_commit_length;
} counting_t;

static counting_t *enter(extent_hooks_t *h, int which, unsigned ind) {
    counting_t *c = (counting_t *)h;
    atomic_fetch_add(&c->calls[which], 1);
    if (ind != c->ind) atomic_fetch_add(&c->wrong_ind, 1);
    if (c->pac != NULL) {
        if (mutex_trylock(&c->pac->lock)) {
            atomic_fetch_add(&c->locked_calls, 1); /* held (by us): custom hooks must run unlocked */
        } else {
            mutex_unlock(&c->pac->lock);
        }
    }
    return c;
}

static void *h_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t alignment, bool *zero,
                     bool *commit, unsigned ind) {
    counting_t *c = enter(h, H_ALLOC, ind);
    pthread_mutex_lock(&c->record);
    c->last_alloc_size = size;
    c->last_alloc_alignment = alignment;
    pthread_mutex_unlock(&c->record);
    if (c->fail_alloc) return NULL;
    if (new_addr != NULL) {
        void *p = mmap(new_addr, size, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
        if (p == MAP_FAILED) return NULL;
        if (p != new_addr) {
            munmap(p, size);
            return NULL;
        }
        *zero = true;
        *commit = !c->uncommitted;
        return p;
    }
    size_t over = size + alignment; /* room for alignment, plus a page to misalign on purpose */
    char *p = mmap(NULL, over, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return NULL;
    char *start = (char *)ALIGNMENT_CEILING((uintptr_t)p, alignment);
    if (c->misalign) start += PAGE; /* breaks the alignment contract (alignment > PAGE) */
    if (start > p) munmap(p, (size_t)(start - p));
    if (p + over > start + size) munmap(start + size, (size_t)(p + over - (start + size)));
    *zero = true;
    *commit = !c->uncommitted;
    return start;
}

static bool h_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind) {
    counting_t *c = enter(h, H_DALLOC, ind);
    if (c->dalloc_unmaps) {
        munmap(addr, size);
        return false;
    }
    return true; /* opt out: keep it mapped, like the default with retain */
}

static void h_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind) {
    enter(h, H_DESTROY, ind);
    munmap(addr, size);
}

static bool h_commit(extent_hooks_t *h, void *addr, size_t size, size_t offset, size_t length,
                     unsigned ind) {
    counting_t *c = enter(h, H_COMMIT, ind);
    pthread_mutex_lock(&c->record);
    c->last_commit_offset = offset;
    c->last_commit_length = length;
    pthread_mutex_unlock(&c->record);
    return c->fail_commit;
}

static void record_purge(counting_t *c, void *addr, size_t size, size_t offset, size_t length) {
    pthread_mutex_lock(&c->record);
    c->last_purge_addr = addr;
    c->last_purge_size = size;
    c->last_purge_offset = offset;
    c->last_purge_length = length;
    pthread_mutex_unlock(&c->record);
}

static bool h_decommit(extent_hooks_t *h, void *addr, size_t size, size_t offset, size_t length,
                       unsigned ind) {
    counting_t *c = enter(h, H_DECOMMIT, ind);
    record_purge(c, addr, size, offset, length);
    if (!c->decommit_ok) return true;
    /* "Decommitted": the contents go; commit brings zeroed pages back. */
    return madvise((char *)addr + offset, length, MADV_DONTNEED) != 0;
}

static bool h_purge_lazy(extent_hooks_t *h, void *addr, size_t size, size_t offset, size_t length,
                         unsigned ind) {
    counting_t *c = enter(h, H_PURGE_LAZY, ind);
    record_purge(c, addr, size, offset, length);
    if (c->fail_purge_lazy) return true;
    return madvise((char *)addr + offset, length, MADV_FREE) != 0;
}

static bool h_purge_forced(extent_hooks_t *h, void *addr, size_t size, size_t offset,
                           size_t length, unsigned ind) {
    counting_t *c = enter(h, H_PURGE_FORCED, ind);
    record_purge(c, addr, size, offset, length);
    if (c->fail_purge_forced) return true;
    return madvise((char *)addr + offset, length, MADV_DONTNEED) != 0;
}

static bool h_split(extent_hooks_t *h, void *addr, size_t size, size_t size_a, size_t size_b,
                    bool committed, unsigned ind) {
    counting_t *c = enter(h, H_SPLIT, ind);
    pthread_mutex_lock(&c->record);
    c->last_split_addr = addr;
    c->last_split_size = size;
    c->last_split_a = size_a;
    c->last_split_b = size_b;
    pthread_mutex_unlock(&c->record);
    return c->refuse_split;
}

static bool h_merge(extent_hooks_t *h, void *addr_a, size_t size_a, void *addr_b, size_t size_b,
                    bool committed, unsigned ind) {
    counting_t *c = enter(h, H_MERGE, ind);
    pthread_mutex_lock(&c->record);
    c->last_merge_a = addr_a;
    c->last_merge_size_a = size_a;
    c->last_merge_b = addr_b;
    c->last_merge_size_b = size_b;
    pthread_mutex_unlock(&c->record);
    return c->refuse_merge;
}

typedef struct {
    counting_t hooks;
    test_pac_t *tp;
} counted_pac_t;

static counted_pac_t *counted_pac_new(void) {
    counted_pac_t *cp = calloc(1, sizeof(*cp));
    assert_ptr_not_null(cp, "");
    cp->hooks.hooks = (extent_hooks_t){h_alloc,      h_dalloc,       h_destroy,
                                       h_commit,     h_decommit,     h_purge_lazy,
                                       h_purge_forced, h_split,      h_merge};
    for (int i = 0; i < H_N; i++) atomic_init(&cp->hooks.calls[i], 0);
    atomic_init(&cp->hooks.locked_calls, 0);
    atomic_init(&cp->hooks.wrong_ind, 0);
    pthread_mutex_init(&cp->hooks.record, NULL);
    /* Start on the defaults, then install the counting hooks (as arena.<i>.extent_hooks does). */
    cp->tp = pac_new(NULL);
    cp->hooks.pac = &cp->tp->pac;
    cp->hooks.ind = cp->tp->pac.ind;
    ehooks_set(&cp->tp->ehooks, &cp->hooks.hooks);
    assert_false(ehooks_are_default(&cp->tp->ehooks), "");
    assert_ptr_eq(ehooks_get(&cp->tp->ehooks), &cp->hooks.hooks, "");
    return cp;
}

static unsigned ncalls(counted_pac_t *cp, int which) { return atomic_load(&cp->hooks.calls[which]); }

/* Hook calls since `before`, checked against want[] (-1: don't care). */
static void expect_calls_(int line, counted_pac_t *cp, unsigned before[H_N], const int want[H_N]) {
    for (int i = 0; i < H_N; i++) {
        unsigned now = ncalls(cp, i);
        if (want[i] >= 0) {
            expect_u_eq(now - before[i], (unsigned)want[i], "line %d: %s hook calls", line, hook_names[i]);
        }
        before[i] = now;
    }
}
#define expect_calls(cp, before, ...) expect_calls_(__LINE__, cp, before, (const int[H_N]){__VA_ARGS__})

static void snapshot(counted_pac_t *cp, unsigned out[H_N]) {
    for (int i = 0; i < H_N; i++) out[i] = ncalls(cp, i);
}

TEST_BEGIN(test_hooks_called_where_expected) {
    boot();
    counted_pac_t *cp = counted_pac_new();
    pac_t *pac = &cp->tp->pac;
    unsigned n[H_N];
    snapshot(cp, n);
    /* expect_calls(): alloc, dalloc, destroy, commit, decommit, purge_lazy, purge_forced, split,
     * merge -- calls since the previous check. */

    /* First allocation: one alloc hook call for the growth step, one split to carve. */
    edata_t *a = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(a, "");
    expect_calls(cp, n, 1, 0, 0, 0, 0, 0, 0, 1, 0);
    expect_zu_eq(cp->hooks.last_alloc_size, PAC_GROW_MIN, "growth step size");
    expect_zu_eq(cp->hooks.last_alloc_alignment, PAGE, "");
    expect_ptr_eq(cp->hooks.last_split_addr, a->addr, "split of the new mapping");
    expect_zu_eq(cp->hooks.last_split_size, PAC_GROW_MIN, "");
    expect_zu_eq(cp->hooks.last_split_a, 4 * PAGE, "");
    expect_zu_eq(cp->hooks.last_split_b, PAC_GROW_MIN - 4 * PAGE, "");
    expect_zu_eq(stats_of(pac).mapped, PAC_GROW_MIN, "");

    /* Second: carved from retained memory; split only. */
    edata_t *b = pac_alloc(pac, 2 * PAGE, PAGE, false);
    assert_ptr_not_null(b, "");
    expect_ptr_eq(b->addr, edata_end(a), "");
    expect_calls(cp, n, 0, 0, 0, 0, 0, 0, 0, 1, 0);

    /* An exact fit needs no split. */
    edata_t *rest = pac_alloc(pac, PAC_GROW_MIN - 6 * PAGE, PAGE, false);
    assert_ptr_not_null(rest, "");
    expect_ptr_eq(rest->addr, edata_end(b), "");
    expect_calls(cp, n, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    expect_zu_eq(stats_of(pac).npages_retained, 0, "");

    /* Frees: a alone (its neighbour is active) no merge; b then merges with a; rest with both. */
    pac_dalloc(pac, a);
    expect_calls(cp, n, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    pac_dalloc(pac, b);
    expect_calls(cp, n, 0, 0, 0, 0, 0, 0, 0, 0, 1);
    expect_ptr_eq(cp->hooks.last_merge_a, a->addr, "merge(a, b)");
    expect_zu_eq(cp->hooks.last_merge_size_a, 4 * PAGE, "");
    expect_ptr_eq(cp->hooks.last_merge_b, (char *)a->addr + 4 * PAGE, "");
    expect_zu_eq(cp->hooks.last_merge_size_b, 2 * PAGE, "");
    void *base = a->addr; /* a's descriptor now spans a and b */
    pac_dalloc(pac, rest);
    expect_calls(cp, n, 0, 0, 0, 0, 0, 0, 0, 0, 1);
    expect_free_extent(pac, base, PAC_GROW_MIN, EXTENT_DIRTY);

    /* Reuse: carve from dirty, split only; shrink splits; expand merges. */
    edata_t *e = pac_alloc(pac, 8 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "");
    expect_ptr_eq(e->addr, base, "");
    expect_calls(cp, n, 0, 0, 0, 0, 0, 0, 0, 1, 0);
    expect_false(pac_shrink(pac, e, 5 * PAGE), "");
    /* Split of the tail, whose insertion merges it with the dirty remainder. */
    expect_calls(cp, n, 0, 0, 0, 0, 0, 0, 0, 1, 1);
    expect_false(pac_expand(pac, e, 6 * PAGE, false), "");
    /* Split of the neighbour (1 page needed), merge into e. */
    expect_calls(cp, n, 0, 0, 0, 0, 0, 0, 0, 1, 1);
    expect_ptr_eq(cp->hooks.last_merge_a, base, "");
    expect_zu_eq(cp->hooks.last_merge_size_a, 5 * PAGE, "");
    expect_zu_eq(cp->hooks.last_merge_size_b, PAGE, "");
    pac_dalloc(pac, e);
    expect_calls(cp, n, 0, 0, 0, 0, 0, 0, 0, 0, 1);
    expect_free_extent(pac, base, PAC_GROW_MIN, EXTENT_DIRTY);
    expect_u_eq(atomic_load(&cp->hooks.locked_calls), 0, "custom hooks called with the pac lock held");
    expect_u_eq(atomic_load(&cp->hooks.wrong_ind), 0, "hooks given another arena index");
    expect_accounted(pac, 0);
}
TEST_END

TEST_BEGIN(test_hook_refusing_split) {
    boot();
    counted_pac_t *cp = counted_pac_new();
    pac_t *pac = &cp->tp->pac;
    cp->hooks.refuse_split = true;
    cp->hooks.refuse_merge = true; /* keeps the extents apart: the accounting below is exact */
    unsigned n[H_N];
    snapshot(cp, n);

    /* Growth succeeds, the carve cannot: the step is kept, whole, retained, and exactly the
     * request is mapped instead (that needs no split). */
    edata_t *a = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(a, "served by an exact mapping");
    expect_calls(cp, n, 2, 0, 0, 0, 0, 0, 0, 1, -1);
    pac_stats_t s = stats_of(pac);
    expect_zu_eq(s.mapped, PAC_GROW_MIN + 4 * PAGE, "");
    expect_zu_eq(s.npages_retained, PAC_GROW_MIN / PAGE, "the step is not lost");
    expect_zu_eq(eset_nextents(&pac->retained), 1, "");

    /* Again: the retained step is tried (no new step), then an exact mapping. */
    edata_t *b = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(b, "");
    expect_calls(cp, n, 1, 0, 0, 0, 0, 0, 0, 1, -1);
    expect_zu_eq(stats_of(pac).mapped, PAC_GROW_MIN + 8 * PAGE, "");
    expect_zu_eq(stats_of(pac).npages_retained, PAC_GROW_MIN / PAGE, "");
    pac_dalloc(pac, a);
    pac_dalloc(pac, b);

    /* A request of exactly the step's size needs no split. */
    edata_t *e = pac_alloc(pac, PAC_GROW_MIN, PAGE, false);
    assert_ptr_not_null(e, "exact fit without split");
    expect_calls(cp, n, 0, 0, 0, 0, 0, 0, 0, 0, 0);
    expect_zu_eq(stats_of(pac).npages_retained, 0, "");
    void *base = e->addr;
    pac_dalloc(pac, e);
    expect_free_extent(pac, base, PAC_GROW_MIN, EXTENT_DIRTY);

    /* From dirty: the best fit cannot be cut either; the dirty extents stay whole. */
    edata_t *c = pac_alloc(pac, PAGE, PAGE, false);
    assert_ptr_not_null(c, "");
    expect_calls(cp, n, 1, 0, 0, 0, 0, 0, 0, 1, -1);
    expect_free_extent(pac, base, PAC_GROW_MIN, EXTENT_DIRTY);
    expect_zu_eq(pac->dirty.npages, PAC_GROW_MIN / PAGE + 8, "");
    pac_dalloc(pac, c);
    /* Shrinking needs a split too. */
    e = pac_alloc(pac, PAC_GROW_MIN, PAGE, false);
    assert_ptr_not_null(e, "");
    expect_true(pac_shrink(pac, e, PAGE), "shrink without split");
    expect_zu_eq(e->size, PAC_GROW_MIN, "unchanged");
    pac_dalloc(pac, e);
    expect_accounted(pac, 0);

    /* Allowed again: the kept memory serves requests, no growth. */
    cp->hooks.refuse_split = false;
    size_t mapped = stats_of(pac).mapped;
    e = pac_alloc(pac, 16 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "");
    expect_ptr_eq(e->addr, base, "the only extent large enough");
    expect_zu_eq(stats_of(pac).mapped, mapped, "");
    pac_dalloc(pac, e);
    expect_u_eq(atomic_load(&cp->hooks.locked_calls), 0, "");
}
TEST_END

TEST_BEGIN(test_hook_failing_alloc) {
    boot();
    counted_pac_t *cp = counted_pac_new();
    pac_t *pac = &cp->tp->pac;
    cp->hooks.fail_alloc = true;
    unsigned n[H_N];
    snapshot(cp, n);
    expect_ptr_null(pac_alloc(pac, 4 * PAGE, PAGE, false), "alloc hook fails");
    expect_u_ge(ncalls(cp, H_ALLOC) - n[H_ALLOC], 1, "the hook was asked");
    expect_zu_eq(cp->hooks.last_alloc_size, 4 * PAGE, "the last attempt asks for just the request");
    snapshot(cp, n);
    expect_ptr_null(pac_alloc(pac, PAC_GROW_MIN * 4, 64 << 10, true), "alloc hook fails");
    expect_calls(cp, n, -1, 0, 0, 0, 0, 0, 0, 0, 0);
    pac_stats_t s = stats_of(pac);
    expect_zu_eq(s.mapped, 0, "");
    expect_zu_eq(s.npages_dirty + s.npages_muzzy + s.npages_retained, 0, "");

    cp->hooks.fail_alloc = false;
    edata_t *e = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "works once the hook does");
    pac_dalloc(pac, e);
    expect_accounted(pac, 0);
}
TEST_END

TEST_BEGIN(test_hook_breaking_alignment) {
    boot();
    counted_pac_t *cp = counted_pac_new();
    pac_t *pac = &cp->tp->pac;
    cp->hooks.misalign = true;
    unsigned n[H_N];
    snapshot(cp, n);
    expect_ptr_null(pac_alloc(pac, 4 * PAGE, 16 * PAGE, false), "misaligned memory is not used");
    /* Each misaligned mapping is handed back (dalloc opts out, so destroy). */
    unsigned nalloc = ncalls(cp, H_ALLOC) - n[H_ALLOC];
    expect_u_ge(nalloc, 1, "");
    expect_u_eq(ncalls(cp, H_DALLOC) - n[H_DALLOC], nalloc, "");
    expect_u_eq(ncalls(cp, H_DESTROY) - n[H_DESTROY], nalloc, "");
    expect_zu_eq(stats_of(pac).mapped, 0, "");
    cp->hooks.misalign = false;
    edata_t *e = pac_alloc(pac, 4 * PAGE, 16 * PAGE, false);
    assert_ptr_not_null(e, "");
    expect_zu_eq((uintptr_t)e->addr & (16 * PAGE - 1), 0, "");
    pac_dalloc(pac, e);
}
TEST_END

TEST_BEGIN(test_hook_refusing_merge) {
    boot();
    counted_pac_t *cp = counted_pac_new();
    pac_t *pac = &cp->tp->pac;
    cp->hooks.refuse_merge = true;
    edata_t *a = pac_alloc(pac, 3 * PAGE, PAGE, false);
    edata_t *b = pac_alloc(pac, 2 * PAGE, PAGE, false);
    edata_t *c = pac_alloc(pac, 2 * PAGE, PAGE, false);
    assert_true(a && b && c, "");
    char *base = a->addr;
    assert_ptr_eq(b->addr, base + 3 * PAGE, "");
    pac_dalloc(pac, a);
    pac_dalloc(pac, b);
    expect_zu_eq(eset_nextents(&pac->dirty), 2, "merge refused: two extents");
    expect_zu_eq(pac->dirty.npages, 5, "");
    expect_free_extent(pac, base, 3 * PAGE, EXTENT_DIRTY);
    expect_free_extent(pac, base + 3 * PAGE, 2 * PAGE, EXTENT_DIRTY);
    /* Expansion of c needs a merge: refused, c unchanged, nothing lost. */
    size_t dirty = pac->dirty.npages;
    pac_dalloc(pac, c); /* c -> dirty; now take it back and try to expand a fresh extent */
    edata_t *d = pac_alloc(pac, 3 * PAGE, PAGE, false);
    assert_ptr_not_null(d, "");
    expect_ptr_eq(d->addr, base, "exact fit of the first free extent");
    expect_true(pac_expand(pac, d, 4 * PAGE, false), "expand needs a merge");
    expect_zu_eq(d->size, 3 * PAGE, "");
    expect_zu_eq(pac->dirty.npages, dirty + 2 - 3, "");
    pac_dalloc(pac, d);
    expect_accounted(pac, 0);
    expect_u_eq(atomic_load(&cp->hooks.locked_calls), 0, "");
}
TEST_END

TEST_BEGIN(test_hook_commit) {
    boot();
    counted_pac_t *cp = counted_pac_new();
    pac_t *pac = &cp->tp->pac;
    cp->hooks.uncommitted = true; /* the alloc hook reports uncommitted memory */
    unsigned n[H_N];
    snapshot(cp, n);
    edata_t *e = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "");
    expect_calls(cp, n, 1, 0, 0, 1, 0, 0, 0, 1, 0);
    expect_zu_eq(cp->hooks.last_commit_offset, 0, "");
    expect_zu_eq(cp->hooks.last_commit_length, 4 * PAGE, "exactly the handed-out range");
    expect_true(e->committed, "");
    void *base = e->addr;
    /* Committing fails: NULL, and the uncommitted memory stays retained, whole. */
    cp->hooks.fail_commit = true;
    edata_t *f = pac_alloc(pac, 8 * PAGE, PAGE, false);
    expect_ptr_null(f, "commit failed");
    expect_calls(cp, n, 0, 0, 0, 1, 0, 0, 0, 1, -1);
    expect_zu_eq(stats_of(pac).npages_retained, (PAC_GROW_MIN - 4 * PAGE) / PAGE, "nothing lost");
    expect_zu_eq(eset_nextents(&pac->retained), 1, "");
    expect_free_extent(pac, (char *)base + 4 * PAGE, PAC_GROW_MIN - 4 * PAGE, EXTENT_RETAINED);
    cp->hooks.fail_commit = false;
    pac_dalloc(pac, e);
    expect_accounted(pac, 0);
}
TEST_END


/* ---- purging ---- */

#define T0 ((uint64_t)1 << 40) /* a fake clock's start */
#define MS ((uint64_t)1000000)

static pac_decay_stats_t dstats_of(pac_t *pac, extent_state_t which) {
    pac_stats_t s = stats_of(pac);
    return which == EXTENT_MUZZY ? s.decay_muzzy : s.decay_dirty;
}

/* n extents of `pages` pages each, separated by one live page each so they never coalesce;
 * filled with 0xee. The separators are returned in sep[]. */
static void alloc_apart(pac_t *pac, edata_t **out, edata_t **sep, unsigned n, size_t pages) {
    for (unsigned k = 0; k < n; k++) {
        out[k] = pac_alloc(pac, pages * PAGE, PAGE, false);
        sep[k] = pac_alloc(pac, PAGE, PAGE, false);
        assert_true(out[k] != NULL && sep[k] != NULL, "");
        memset(out[k]->addr, 0xee, out[k]->size);
    }
}

TEST_BEGIN(test_decay_new_pac_never_purges) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    expect_zd_eq(pac_decay_ms(pac, EXTENT_DIRTY), -1, "a new page allocator never purges");
    expect_zd_eq(pac_decay_ms(pac, EXTENT_MUZZY), -1, "");
    edata_t *e = pac_alloc(pac, 16 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "");
    pac_dalloc(pac, e);
    for (uint64_t t = T0; t < T0 + 100000 * MS; t += 9999 * MS) pac_decay(pac, PAC_DECAY_TICK, t);
    pac_decay(pac, PAC_DECAY_NOW, T0 + 200000 * MS);
    expect_zu_eq(pac->dirty.npages, 16, "-1: kept whatever the time");
    expect_u64_eq(dstats_of(pac, EXTENT_DIRTY).npurge, 0, "");
    /* A full purge ignores -1. */
    pac_decay(pac, PAC_DECAY_ALL, T0);
    expect_zu_eq(pac->dirty.npages, 0, "");
    expect_u64_eq(dstats_of(pac, EXTENT_DIRTY).purged, 16, "");
    expect_accounted(pac, 0);
}
TEST_END

TEST_BEGIN(test_decay_zero_purges_to_retained) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    pac_decay_ms_set(pac, EXTENT_MUZZY, 0, T0);
    enum { N = 5 };
    edata_t *es[N], *sep[N];
    alloc_apart(pac, es, sep, N, 8);
    void *addrs[N];
    for (unsigned k = 0; k < N; k++) {
        addrs[k] = es[k]->addr;
        pac_dalloc(pac, es[k]);
    }
    expect_zu_eq(pac->dirty.npages, N * 8, "");
    size_t retained = pac->retained.npages;
    /* Setting 0 takes effect at once. */
    pac_decay_ms_set(pac, EXTENT_DIRTY, 0, T0);
    expect_zd_eq(pac_decay_ms(pac, EXTENT_DIRTY), 0, "");
    expect_zu_eq(pac->dirty.npages, 0, "decay 0: nothing stays dirty");
    expect_zu_eq(pac->muzzy.npages, 0, "muzzy 0: not lazily, for good");
    expect_zu_eq(pac->retained.npages, retained + N * 8, "");
    pac_decay_stats_t d = dstats_of(pac, EXTENT_DIRTY);
    expect_u64_eq(d.npurge, 1, "one sweep");
    expect_u64_eq(d.nmadvise, N, "one madvise per extent");
    expect_u64_eq(d.purged, N * 8, "");
    expect_u64_eq(dstats_of(pac, EXTENT_MUZZY).npurge, 0, "");
    expect_accounted(pac, N * PAGE);
    for (unsigned k = 0; k < N; k++) {
        edata_t *f = free_extent_at(addrs[k]);
        assert_ptr_not_null(f, "");
        expect_d_eq((int)edata_state(f), EXTENT_RETAINED, "");
        expect_true(f->zeroed, "purged with MADV_DONTNEED: known zero");
    }
    /* Reuse: the garbage is gone; zero requests need no memset (the extent knows). */
    for (unsigned k = 0; k < N; k++) {
        edata_t *e = pac_alloc(pac, 8 * PAGE, PAGE, false);
        assert_ptr_not_null(e, "");
        expect_zu_eq(test_find_not(e->addr, e->size, 0), SIZE_MAX, "purged pages read zero");
        pac_dalloc(pac, e);
    }
    /* Frees then decay ticks: each sweep takes all (decay 0 needs no epoch). */
    pac_decay(pac, PAC_DECAY_TICK, T0 + 1);
    expect_zu_eq(pac->dirty.npages, 0, "");
    for (unsigned k = 0; k < N; k++) pac_dalloc(pac, sep[k]);
    pac_decay(pac, PAC_DECAY_TICK, T0 + 2);
    expect_accounted(pac, 0);
    expect_zu_eq(pac->dirty.npages, 0, "");
}
TEST_END

/* Dirty pages of [addr, addr + pages) (a run of free extents: a purged head, a dirty tail). */
static size_t dirty_pages_in(void *addr, size_t pages) {
    size_t dirty = 0;
    for (size_t off = 0; off < pages * PAGE;) {
        edata_t *f = free_extent_at((char *)addr + off);
        if (f == NULL || f->addr != (char *)addr + off) {
            expect_not_reached("no free extent starts at %p", (void *)((char *)addr + off));
            return SIZE_MAX;
        }
        if (edata_state(f) == EXTENT_DIRTY) dirty += f->size / PAGE;
        off += f->size;
    }
    return dirty;
}

TEST_BEGIN(test_decay_oldest_first) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    pac_decay_ms_set(pac, EXTENT_MUZZY, 0, T0);
    pac_decay_ms_set(pac, EXTENT_DIRTY, 1000, T0); /* epochs of 5 ms */
    enum { N = 8 };
    edata_t *es[N], *sep[N];
    alloc_apart(pac, es, sep, N, 4);
    /* Freed one per epoch: the first freed is the oldest. */
    uint64_t t = T0;
    for (unsigned k = 0; k < N; k++) {
        pac_dalloc(pac, es[k]);
        t += 5 * MS;
        pac_decay(pac, PAC_DECAY_TICK, t);
    }
    /* All freed recently: only the rounding down of the limit may have taken a page or two. */
    expect_zu_ge(pac->dirty.npages, N * 4 - 2, "");
    /* Most of the window later: most are purged, oldest first. */
    t += 700 * MS;
    pac_decay(pac, PAC_DECAY_NOW, t);
    size_t left = pac->dirty.npages;
    expect_zu_lt(left, N * 4 / 2, "most of the window passed (%zu left)", left);
    expect_zu_gt(left, 0, "not all of it");
    size_t sum = 0, prev = 0;
    unsigned partial = 0;
    for (unsigned k = 0; k < N; k++) {
        size_t d = dirty_pages_in(es[k]->addr, 4);
        expect_zu_ge(d, prev, "extent %u keeps no fewer pages than the older %u", k, k - 1);
        partial += d > 0 && d < 4;
        sum += d;
        prev = d;
    }
    expect_zu_eq(sum, left, "");
    expect_u_le(partial, 1, "at most the boundary extent is split");
    for (unsigned k = 0; k < N; k++) pac_dalloc(pac, sep[k]);
    pac_decay(pac, PAC_DECAY_ALL, t);
    expect_accounted(pac, 0);
}
TEST_END

TEST_BEGIN(test_decay_one_big_extent) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    pac_decay_ms_set(pac, EXTENT_MUZZY, 0, T0);
    pac_decay_ms_set(pac, EXTENT_DIRTY, 1000, T0);
    edata_t *e = pac_alloc(pac, 1024 * PAGE, PAGE, false);
    edata_t *sep = pac_alloc(pac, PAGE, PAGE, false);
    assert_true(e != NULL && sep != NULL, "");
    void *addr = e->addr;
    pac_dalloc(pac, e);
    /* One coalesced extent still follows the curve: a piece at a time, the rest stays dirty and
     * oldest, the purged head coalesces into one retained extent. */
    size_t prev = 1024;
    unsigned steps = 0;
    for (uint64_t t = T0; t <= T0 + 1100 * MS; t += MS) {
        pac_decay(pac, PAC_DECAY_TICK, t);
        size_t now = pac->dirty.npages;
        steps += now < prev;
        prev = now;
        if (now > 0 && now < 1024) {
            /* [addr, cut) purged (retained, possibly coalesced with retained memory before
             * addr), [cut, addr + 4 MiB) dirty. */
            char *cut = (char *)addr + (1024 - now) * PAGE;
            expect_zu_eq(eset_nextents(&pac->dirty), 1, "");
            expect_free_extent(pac, cut, now * PAGE, EXTENT_DIRTY);
            edata_t *head = free_extent_at(cut - PAGE);
            assert_ptr_not_null(head, "");
            expect_d_eq((int)edata_state(head), EXTENT_RETAINED, "");
            expect_ptr_eq(edata_end(head), cut, "the purged part ends where the dirty part starts");
            expect_true((char *)head->addr <= (char *)addr, "and is one extent");
        }
    }
    expect_zu_eq(prev, 0, "");
    expect_u_gt(steps, 50, "gradually, not at once");
    pac_dalloc(pac, sep);
    pac_decay(pac, PAC_DECAY_ALL, T0);
    expect_accounted(pac, 0);
}
TEST_END

TEST_BEGIN(test_decay_curve_fake_clock) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    pac_decay_ms_set(pac, EXTENT_MUZZY, 0, T0);
    pac_decay_ms_set(pac, EXTENT_DIRTY, 2000, T0); /* epochs of 10 ms */
    enum { N = 64 };
    edata_t *es[N], *sep[N];
    alloc_apart(pac, es, sep, N, 16);
    for (unsigned k = 0; k < N; k++) pac_dalloc(pac, es[k]);
    const size_t total = N * 16;
    size_t prev = total, at_quarter = 0, at_three_quarters = 0;
    uint64_t emptied = 0, nsweeps_before = dstats_of(pac, EXTENT_DIRTY).npurge;
    for (uint64_t t = T0; t <= T0 + 2600 * MS; t += MS) {
        pac_decay(pac, PAC_DECAY_TICK, t);
        size_t now = pac->dirty.npages;
        expect_zu_le(now, prev, "never grows");
        prev = now;
        if (t == T0 + 500 * MS) at_quarter = now;
        if (t == T0 + 1500 * MS) at_three_quarters = now;
        if (now == 0 && emptied == 0) emptied = t;
    }
    /* S(3/4) = 0.896..., S(1/4) = 0.104...: a quarter into the window about 90% stays, three
     * quarters in about 10% (whole extents of 16 pages, an epoch or two of jitter). */
    expect_zu_ge(at_quarter, total * 80 / 100, "%zu of %zu", at_quarter, total);
    expect_zu_le(at_quarter, total * 97 / 100, "%zu of %zu", at_quarter, total);
    expect_zu_ge(at_three_quarters, total * 3 / 100, "%zu of %zu", at_three_quarters, total);
    expect_zu_le(at_three_quarters, total * 20 / 100, "%zu of %zu", at_three_quarters, total);
    expect_u64_ge(emptied, T0 + 1900 * MS, "not much before the window ends");
    expect_u64_le(emptied, T0 + 2050 * MS, "within the window and a few epochs");
    expect_u64_gt(dstats_of(pac, EXTENT_DIRTY).npurge - nsweeps_before, 20, "gradually");
    /* Time going backwards is harmless. */
    pac_dalloc(pac, sep[0]);
    pac_decay(pac, PAC_DECAY_TICK, T0);
    pac_decay(pac, PAC_DECAY_TICK, 0);
    expect_zu_eq(pac->dirty.npages, 1, "");
    for (unsigned k = 1; k < N; k++) pac_dalloc(pac, sep[k]);
    pac_decay(pac, PAC_DECAY_ALL, 0);
    expect_accounted(pac, 0);
}
TEST_END

TEST_BEGIN(test_decay_tick_skips_when_busy) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    pac_decay_ms_set(pac, EXTENT_DIRTY, 0, T0);
    edata_t *e = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "");
    mutex_lock(&pac->decay_lock); /* another sweep "in progress" */
    pac_dalloc(pac, e);
    pac_decay(pac, PAC_DECAY_TICK, T0);
    expect_zu_eq(pac->dirty.npages, 4, "skipped: the lock was busy");
    mutex_unlock(&pac->decay_lock);
    pac_decay(pac, PAC_DECAY_TICK, T0);
    expect_zu_eq(pac->dirty.npages, 0, "");
}
TEST_END

TEST_BEGIN(test_decay_muzzy) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    pac_t *pac = &tp->pac;
    pac_decay_ms_set(pac, EXTENT_MUZZY, 10000, T0);
    edata_t *es[4], *sep[4];
    alloc_apart(pac, es, sep, 4, 8);
    for (unsigned k = 0; k < 4; k++) pac_dalloc(pac, es[k]);
    pac_decay_ms_set(pac, EXTENT_DIRTY, 0, T0);
    expect_zu_eq(pac->dirty.npages, 0, "");
    expect_zu_eq(pac->muzzy.npages, 32, "lazily purged: muzzy");
    expect_u64_eq(dstats_of(pac, EXTENT_DIRTY).nmadvise, 4, "");
    expect_u64_eq(dstats_of(pac, EXTENT_DIRTY).purged, 32, "");
    expect_u64_eq(dstats_of(pac, EXTENT_MUZZY).npurge, 0, "");
    edata_t *f = free_extent_at(es[0]->addr);
    assert_ptr_not_null(f, "");
    expect_d_eq((int)edata_state(f), EXTENT_MUZZY, "");
    expect_false(f->zeroed, "MADV_FREE guarantees nothing");
    /* Muzzy pages are reused before retained ones. */
    edata_t *r = pac_alloc(pac, 8 * PAGE, PAGE, false);
    assert_ptr_not_null(r, "");
    expect_ptr_eq(r->addr, es[0]->addr, "");
    memset(r->addr, 0x11, r->size);
    pac_dalloc(pac, r);
    pac_decay(pac, PAC_DECAY_TICK, T0 + 1); /* the arena does this on every free with decay 0 */
    expect_zu_eq(pac->muzzy.npages, 32, "freed again, purged again (decay 0)");
    /* The muzzy machine decays on its own clock: half way, some; after it, none. */
    pac_decay(pac, PAC_DECAY_TICK, T0 + 100 * MS);
    pac_decay(pac, PAC_DECAY_TICK, T0 + 10200 * MS);
    pac_decay(pac, PAC_DECAY_TICK, T0 + 20500 * MS);
    expect_zu_eq(pac->muzzy.npages, 0, "the muzzy window passed");
    pac_decay_stats_t m = dstats_of(pac, EXTENT_MUZZY);
    expect_u64_ge(m.npurge, 1, "");
    expect_u64_eq(m.nmadvise, 4, "one MADV_DONTNEED per extent (no purge_lazy again)");
    expect_u64_eq(m.purged, 32, "");
    /* A full purge takes dirty pages straight to retained, even with a muzzy window. */
    pac_decay_ms_set(pac, EXTENT_DIRTY, -1, T0);
    r = pac_alloc(pac, 8 * PAGE, PAGE, false);
    assert_ptr_not_null(r, "");
    pac_dalloc(pac, r);
    expect_zu_eq(pac->dirty.npages, 8, "");
    pac_decay(pac, PAC_DECAY_ALL, T0 + 20600 * MS);
    expect_zu_eq(pac->dirty.npages + pac->muzzy.npages, 0, "");
    for (unsigned k = 0; k < 4; k++) pac_dalloc(pac, sep[k]);
    pac_decay(pac, PAC_DECAY_ALL, T0 + 20600 * MS);
    expect_accounted(pac, 0);
}
TEST_END

TEST_BEGIN(test_decay_hooks_cascade) {
    boot();
    counted_pac_t *cp = counted_pac_new();
    pac_t *pac = &cp->tp->pac;
    unsigned n[H_N];
    pac_decay_ms_set(pac, EXTENT_MUZZY, 10000, T0);
    edata_t *es[3], *sep[3];
    alloc_apart(pac, es, sep, 3, 4);
    for (unsigned k = 0; k < 3; k++) pac_dalloc(pac, es[k]);
    snapshot(cp, n);
    /* expect_calls(): alloc, dalloc, destroy, commit, decommit, purge_lazy, purge_forced, split,
     * merge. */

    /* Dirty with a muzzy window: purge_lazy per extent, nothing else. */
    pac_decay_ms_set(pac, EXTENT_DIRTY, 0, T0);
    expect_calls(cp, n, 0, 0, 0, 0, 0, 3, 0, 0, 0);
    expect_zu_eq(cp->hooks.last_purge_offset, 0, "");
    expect_zu_eq(cp->hooks.last_purge_length, 4 * PAGE, "the whole extent");
    expect_zu_eq(cp->hooks.last_purge_size, 4 * PAGE, "");
    expect_zu_eq(pac->muzzy.npages, 12, "");

    /* Muzzy to retained: dalloc (refused) -> decommit (refused) -> purge_forced; no purge_lazy
     * for pages already lazily purged. */
    pac_decay_ms_set(pac, EXTENT_MUZZY, 0, T0);
    expect_calls(cp, n, 0, 3, 0, 0, 3, 0, 3, 0, 0);
    expect_zu_eq(pac->retained.npages >= 12, true, "");
    expect_u64_eq(dstats_of(pac, EXTENT_MUZZY).nmadvise, 3, "the successful calls");
    expect_true(free_extent_at(es[1]->addr)->zeroed, "");

    /* purge_lazy refused: dirty falls through to the cascade. */
    cp->hooks.fail_purge_lazy = true;
    pac_decay_ms_set(pac, EXTENT_MUZZY, 10000, T0);
    edata_t *e = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "");
    snapshot(cp, n);
    pac_dalloc(pac, e);
    pac_decay(pac, PAC_DECAY_TICK, T0 + 1);
    expect_calls(cp, n, 0, 1, 0, 0, 1, 1, 1, -1, -1);
    expect_zu_eq(pac->muzzy.npages, 0, "");

    /* purge_forced refused too: purge_lazy is not tried twice; the extent is retained, not
     * known to be zero. */
    cp->hooks.fail_purge_forced = true;
    e = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "");
    void *addr = e->addr;
    snapshot(cp, n);
    pac_dalloc(pac, e);
    pac_decay(pac, PAC_DECAY_TICK, T0 + 2);
    expect_calls(cp, n, 0, 1, 0, 0, 1, 1, 1, -1, -1);
    edata_t *f = free_extent_at(addr);
    assert_ptr_not_null(f, "");
    expect_d_eq((int)edata_state(f), EXTENT_RETAINED, "");
    expect_false(f->zeroed, "nothing purged it");
    /* Without a muzzy window and purge_forced refused: purge_lazy is the last resort. */
    pac_decay_ms_set(pac, EXTENT_MUZZY, 0, T0);
    cp->hooks.fail_purge_lazy = false;
    e = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "");
    snapshot(cp, n);
    pac_dalloc(pac, e);
    pac_decay(pac, PAC_DECAY_TICK, T0 + 3);
    expect_calls(cp, n, 0, 1, 0, 0, 1, 1, 1, -1, -1);
    cp->hooks.fail_purge_forced = false;

    /* A decommit that succeeds: uncommitted and zeroed; reuse commits it again. */
    cp->hooks.decommit_ok = true;
    e = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "");
    addr = e->addr;
    memset(addr, 0x77, e->size);
    snapshot(cp, n);
    pac_dalloc(pac, e);
    pac_decay(pac, PAC_DECAY_TICK, T0 + 4);
    expect_calls(cp, n, 0, 1, 0, 0, 1, 0, 0, -1, -1);
    f = free_extent_at(addr);
    assert_ptr_not_null(f, "");
    expect_false(f->committed, "decommitted");
    expect_true(f->zeroed, "");
    e = pac_alloc(pac, f->size, PAGE, true);
    assert_ptr_not_null(e, "");
    expect_ptr_eq(e->addr, addr, "the retained extent is reused");
    expect_calls(cp, n, 0, 0, 0, 1, 0, 0, 0, -1, -1);
    expect_true(e->committed, "");
    expect_zu_eq(test_find_not(e->addr, e->size, 0), SIZE_MAX, "");
    pac_dalloc(pac, e);
    pac_decay(pac, PAC_DECAY_TICK, T0 + 5);
    cp->hooks.decommit_ok = false;

    /* A dalloc that unmaps: the extent is forgotten, mapped goes down. */
    cp->hooks.dalloc_unmaps = true;
    e = pac_alloc(pac, 4 * PAGE, PAGE, false);
    assert_ptr_not_null(e, "");
    addr = e->addr;
    size_t mapped = stats_of(pac).mapped;
    snapshot(cp, n);
    pac_dalloc(pac, e);
    pac_decay(pac, PAC_DECAY_TICK, T0 + 6);
    expect_calls(cp, n, 0, 1, 0, 0, 0, 0, 0, -1, -1);
    expect_zu_eq(stats_of(pac).mapped, mapped - 4 * PAGE, "unmapped");
    expect_ptr_null(free_extent_at(addr), "no entry left for the unmapped range");
    cp->hooks.dalloc_unmaps = false;

    for (unsigned k = 0; k < 3; k++) pac_dalloc(pac, sep[k]);
    pac_decay(pac, PAC_DECAY_ALL, T0 + 7);
    expect_accounted(pac, 0);
    expect_u_eq(atomic_load(&cp->hooks.locked_calls), 0, "hooks called with the pac lock held");
    expect_u_eq(atomic_load(&cp->hooks.wrong_ind), 0, "");
}
TEST_END

/* ---- concurrency: one page allocator, several threads (custom hooks run unlocked) ---- */

typedef struct {
    pac_t *pac;
    uint64_t seed;
    int rounds;
} churn_arg_t;

static void *churn(void *arg) {
    churn_arg_t *c = arg;
    test_prng_t prng;
    test_prng_init(&prng, c->seed);
    enum { NH = 16 };
    edata_t *held[NH] = {NULL};
    for (int r = 0; r < c->rounds; r++) {
        unsigned k = (unsigned)test_prng_range(&prng, NH);
        if (held[k] != NULL) {
            edata_t *e = held[k];
            uint8_t stamp = (uint8_t)(uintptr_t)e->addr >> 3;
            /* Nobody else wrote into it while we held it. */
            expect_zu_eq(test_find_not(e->addr, PAGE, stamp), SIZE_MAX, "first page of %p", e->addr);
            expect_zu_eq(test_find_not(edata_last_page(e), PAGE, stamp), SIZE_MAX, "last page");
            pac_dalloc(c->pac, e);
            held[k] = NULL;
        } else {
            size_t size = (1 + test_prng_range(&prng, 24)) * PAGE;
            size_t align = test_prng_range(&prng, 4) == 0 ? (size_t)PAGE << test_prng_range(&prng, 5) : PAGE;
            edata_t *e = pac_alloc(c->pac, size, align, false);
            assert_ptr_not_null(e, "");
            expect_zu_eq(e->size, size, "");
            expect_zu_eq((uintptr_t)e->addr & (align - 1), 0, "");
            uint8_t stamp = (uint8_t)(uintptr_t)e->addr >> 3;
            memset(e->addr, stamp, PAGE);
            memset(edata_last_page(e), stamp, PAGE);
            held[k] = e;
        }
    }
    for (int k = 0; k < NH; k++) {
        if (held[k] != NULL) pac_dalloc(c->pac, held[k]);
    }
    return NULL;
}

typedef struct {
    pac_t *pac;
    atomic_bool stop;
    unsigned nsweeps;
} purger_arg_t;

/* Sweeps in every mode and changes decay times while the others churn (real clock); every
 * step at least twice, even if the churners are done first. */
static void *purger(void *arg) {
    purger_arg_t *p = arg;
    static const ssize_t dirty_ms[] = {0, 1, 10, -1, 1000};
    static const ssize_t muzzy_ms[] = {0, 5, -1};
    for (unsigned k = 0; k < 12 || !atomic_load(&p->stop); k++) {
        uint64_t now = platform_now_ns();
        switch (k % 6) {
        case 0: pac_decay_ms_set(p->pac, EXTENT_DIRTY, dirty_ms[(k / 6) % 5], now); break;
        case 1: pac_decay_ms_set(p->pac, EXTENT_MUZZY, muzzy_ms[(k / 6) % 3], now); break;
        case 2: pac_decay(p->pac, PAC_DECAY_NOW, now); break;
        case 3: pac_decay(p->pac, PAC_DECAY_ALL, now); break;
        default: pac_decay(p->pac, PAC_DECAY_TICK, now); break;
        }
        p->nsweeps++;
    }
    return NULL;
}

static void run_churn(pac_t *pac, bool purge) {
    enum { NT = 4 };
    pthread_t t[NT], pt;
    churn_arg_t args[NT];
    purger_arg_t parg = {.pac = pac};
    atomic_init(&parg.stop, false);
    if (purge) test_thread_create(&pt, purger, &parg);
    for (int i = 0; i < NT; i++) {
        args[i] = (churn_arg_t){pac, test_seed() + (uint64_t)i, test_under_tsan() ? 1000 : 5000};
        test_thread_create(&t[i], churn, &args[i]);
    }
    for (int i = 0; i < NT; i++) test_thread_join(t[i], NULL);
    if (purge) {
        atomic_store(&parg.stop, true);
        test_thread_join(pt, NULL);
        expect_u_gt(parg.nsweeps, 0, "");
        /* Leave the sets as churn left them for the checks below: purge nothing more. */
        pac_decay_ms_set(pac, EXTENT_DIRTY, -1, platform_now_ns());
        pac_decay_ms_set(pac, EXTENT_MUZZY, -1, platform_now_ns());
    }
    expect_accounted(pac, 0);
    /* Everything freed: the free sets hold every mapped page, and the dirty extents are
     * maximal (no two adjacent dirty extents left uncoalesced). */
    for (edata_t *e = pac->dirty.lru.head; e != NULL; e = e->next) {
        expect_d_eq((int)edata_state(e), EXTENT_DIRTY, "");
        expect_free_extent(pac, e->addr, e->size, EXTENT_DIRTY);
        edata_t *after = free_extent_at(edata_end(e));
        if (after != NULL && after->addr == edata_end(e)) {
            expect_d_ne((int)edata_state(after), EXTENT_DIRTY, "adjacent dirty extents %p and %p", e->addr,
                        after->addr);
        }
    }
}

TEST_BEGIN(test_concurrent_default_hooks) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    run_churn(&tp->pac, false);
}
TEST_END

TEST_BEGIN(test_concurrent_custom_hooks) {
    boot();
    counted_pac_t *cp = counted_pac_new();
    cp->hooks.pac = NULL; /* the lock probe cannot tell who holds the lock with several threads */
    run_churn(&cp->tp->pac, false);
    expect_u_gt(ncalls(cp, H_SPLIT), 0, "");
    expect_u_gt(ncalls(cp, H_MERGE), 0, "");
}
TEST_END

TEST_BEGIN(test_concurrent_purging_default_hooks) {
    boot();
    test_pac_t *tp = pac_new(NULL);
    run_churn(&tp->pac, true);
}
TEST_END

TEST_BEGIN(test_concurrent_purging_custom_hooks) {
    boot();
    counted_pac_t *cp = counted_pac_new();
    cp->hooks.pac = NULL;
    run_churn(&cp->tp->pac, true);
    expect_u_eq(atomic_load(&cp->hooks.wrong_ind), 0, "");
}
TEST_END

int main(void) {
    return run_tests(test_first_growth, test_alloc_sizes_alignments, test_huge_alignment, test_zero,
                     test_coalesce, test_split_on_carve, test_reuse_without_growth,
                     test_expand_shrink, test_hooks_called_where_expected,
                     test_hook_refusing_split, test_hook_failing_alloc,
                     test_hook_breaking_alignment, test_hook_refusing_merge, test_hook_commit,
                     test_decay_new_pac_never_purges, test_decay_zero_purges_to_retained,
                     test_decay_oldest_first, test_decay_one_big_extent,
                     test_decay_curve_fake_clock,
                     test_decay_tick_skips_when_busy, test_decay_muzzy, test_decay_hooks_cascade,
                     test_concurrent_default_hooks, test_concurrent_custom_hooks,
                     test_concurrent_purging_default_hooks, test_concurrent_purging_custom_hooks);
}
