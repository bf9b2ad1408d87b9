/*
 * Unit tests for bin (slabs of small regions), on bins set up with bin_init over a page
 * allocator of their own (pac_init, default hooks):
 *   - bin_fill hands out distinct region starts inside slabs of the right class (emap: every
 *     slab page maps to the slab, class + 1, slab bit), lowest free region first;
 *   - per-slab nfree / bitmap bookkeeping; stats curregs, curslabs, nslabs, nonfull_slabs,
 *     nmalloc/ndalloc, nfills, nrequests, nreslabs consistent with what happened;
 *   - bin_dalloc_locked re-tracks a full slab, detaches an unused one (returned to the page
 *     allocator by bin_slab_release: dirty pages, emap cleared), keeps the current slab;
 *   - double frees and pointers that are not region starts abort with "<arenalloc>: ..."
 *     (forked children);
 *   - threads filling and freeing one bin concurrently keep it consistent.
 */
#include "test.h"

#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arenalloc.h"
#include "bin.h"
#include "emap.h"

static void boot(void) {
    void *p = arenalloc_malloc(1);
    assert_ptr_not_null(p, "boot allocation");
    arenalloc_free(p);
}

typedef struct {
    ehooks_t ehooks;
    pac_t pac;
    bin_t bin;
} fixture_t;

/* Page-allocator indices of their own, beyond any arena index (and pac.c's). */
static unsigned next_ind = (1u << 20) + (1u << 16);

static fixture_t *fixture_new(void) {
    fixture_t *f = aligned_alloc(CACHELINE, sizeof(fixture_t));
    assert_ptr_not_null(f, "");
    memset(f, 0, sizeof(*f));
    unsigned ind = next_ind++;
    ehooks_init(&f->ehooks, NULL, ind);
    assert_false(pac_init(&f->pac, &f->ehooks, ind), "");
    assert_false(bin_init(&f->bin), "");
    return f;
}

static bin_stats_t stats(bin_t *bin) {
    bin_stats_t s;
    bin_stats_read(bin, &s);
    return s;
}

static unsigned free_bits(const edata_t *slab) {
    unsigned n = 0;
    for (unsigned i = 0; i < BITMAP_NWORDS; i++) n += (unsigned)__builtin_popcountll(slab->bitmap.w[i]);
    return n;
}

static edata_t *slab_of(void *p) {
    emap_entry_t v = emap_lookup(p);
    return emap_entry_szind1(v) != 0 && emap_entry_slab(v) ? emap_entry_edata(v) : NULL;
}

static int ptr_cmp(const void *a, const void *b) {
    uintptr_t x = *(const uintptr_t *)a, y = *(const uintptr_t *)b;
    return x < y ? -1 : x > y;
}

/* Frees p back to the bin (as arena_dalloc does); returns whether its slab was released. */
static bool dalloc(fixture_t *f, szind_t ind, void *p) {
    edata_t *slab = slab_of(p);
    assert_ptr_not_null(slab, "freeing %p: not in a slab", p);
    mutex_lock(&f->bin.lock);
    bool release = bin_dalloc_locked(&f->bin, ind, slab, p, "bin test");
    mutex_unlock(&f->bin.lock);
    if (release) {
        expect_u_eq(slab->nfree, bin_infos[ind].nregs, "released slab is unused");
        bin_slab_release(&f->pac, slab);
    }
    return release;
}

TEST_BEGIN(test_fill_every_class) {
    boot();
    for (szind_t ind = 0; ind < SC_NBINS; ind++) {
        fixture_t *f = fixture_new();
        const bin_info_t *info = &bin_infos[ind];
        unsigned n = 2 * info->nregs + 3;
        void **dst = calloc(n, sizeof(void *));
        assert_ptr_not_null(dst, "");
        unsigned got = bin_fill(&f->bin, &f->pac, ind, dst, n, 7);
        assert_u_eq(got, n, "class %zu: bin_fill", ind);

        unsigned nslabs = (n + info->nregs - 1) / info->nregs;
        edata_t *prev_slab = NULL;
        for (unsigned k = 0; k < n; k++) {
            char *p = dst[k];
            edata_t *slab = slab_of(p);
            assert_ptr_not_null(slab, "class %zu region %u at %p: not a slab page", ind, k, (void *)p);
            emap_entry_t v = emap_lookup(p);
            expect_u_eq(emap_entry_szind1(v), ind + 1, "class %zu region %u", ind, k);
            expect_true(slab->slab, "");
            expect_u_eq(slab->szind, ind, "");
            expect_zu_eq(slab->size, info->slab_size, "class %zu slab size", ind);
            expect_zu_eq((uintptr_t)slab->addr & PAGE_MASK, 0, "slabs are page aligned");
            expect_u_eq(edata_arena_ind(slab), f->pac.ind, "");
            size_t off = (size_t)(p - (char *)slab->addr);
            expect_zu_lt(off, info->slab_size, "class %zu region %u inside its slab", ind, k);
            expect_zu_eq(off % info->reg_size, 0, "class %zu region %u is a region start", ind, k);
            /* Lowest free region first: within one slab the regions come in address order. */
            if (slab == prev_slab) {
                expect_ptr_eq(p, (char *)dst[k - 1] + info->reg_size, "class %zu region %u", ind, k);
            } else {
                expect_zu_eq(off, 0, "class %zu: a new slab starts at its first region", ind);
            }
            prev_slab = slab;
            /* Every page of the slab maps to it. */
            for (size_t pg = 0; pg < info->slab_size; pg += PAGE) {
                expect_ptr_eq(slab_of((char *)slab->addr + pg), slab, "class %zu page %zu", ind, pg / PAGE);
            }
            /* Writable over the whole region. */
            memset(p, (int)k, info->reg_size);
        }
        uintptr_t *sorted = malloc(n * sizeof(uintptr_t));
        memcpy(sorted, dst, n * sizeof(uintptr_t));
        qsort(sorted, n, sizeof(uintptr_t), ptr_cmp);
        for (unsigned k = 1; k < n; k++) {
            expect_zu_ge(sorted[k] - sorted[k - 1], info->reg_size, "class %zu: regions overlap", ind);
        }
        free(sorted);

        bin_stats_t s = stats(&f->bin);
        expect_u64_eq(s.nmalloc, n, "class %zu", ind);
        expect_zu_eq(s.curregs, n, "class %zu", ind);
        expect_u64_eq(s.nslabs, nslabs, "class %zu", ind);
        expect_zu_eq(s.curslabs, nslabs, "class %zu", ind);
        expect_zu_eq(s.nonfull_slabs, 0, "class %zu: full slabs are not tracked", ind);
        expect_u64_eq(s.nfills, 1, "");
        expect_u64_eq(s.nrequests, 7, "the caller's request count");
        expect_zu_eq(f->bin.nonfull.n, 0, "");
        edata_t *cur = f->bin.slabcur;
        assert_ptr_not_null(cur, "");
        unsigned in_cur = n - (nslabs - 1) * info->nregs;
        expect_u_eq(cur->nfree, info->nregs - in_cur, "class %zu: current slab nfree", ind);
        expect_u_eq(free_bits(cur), cur->nfree, "class %zu: bitmap agrees with nfree", ind);
        expect_ptr_eq(slab_of(dst[n - 1]), cur, "the last region is in the current slab");

        /* Free everything; only the current slab stays. */
        size_t dirty0 = f->pac.dirty.npages;
        unsigned released = 0;
        for (unsigned k = 0; k < n; k++) released += dalloc(f, ind, dst[k]);
        expect_u_eq(released, nslabs - 1, "class %zu: unused non-current slabs released", ind);
        s = stats(&f->bin);
        expect_zu_eq(s.curregs, 0, "class %zu", ind);
        expect_u64_eq(s.ndalloc, n, "");
        expect_zu_eq(s.curslabs, 1, "class %zu: the current slab is kept", ind);
        expect_zu_eq(s.nonfull_slabs, 0, "class %zu", ind);
        expect_zu_eq(f->bin.nonfull.n, 0, "");
        expect_u_eq(cur->nfree, info->nregs, "");
        expect_u_eq(free_bits(cur), info->nregs, "");
        expect_zu_eq(f->pac.dirty.npages - dirty0, (size_t)released * info->slab_size / PAGE,
                     "class %zu: released slabs are dirty pages", ind);
        /* Released slabs' regions are unknown to the extent map now. */
        for (unsigned k = 0; k < (nslabs - 1) * info->nregs; k++) {
            expect_u_eq(emap_entry_szind1(emap_lookup(dst[k])), 0, "class %zu region %u", ind, k);
        }
        free(dst);
    }
}
TEST_END

TEST_BEGIN(test_nonfull_tracking) {
    boot();
    fixture_t *f = fixture_new();
    szind_t ind = 8; /* 128 bytes, 32 per one-page slab */
    unsigned nregs = bin_infos[ind].nregs;
    assert_u_eq(nregs, 32, "");
    void *r[96];
    assert_u_eq(bin_fill(&f->bin, &f->pac, ind, r, 96, 96), 96, "three full slabs");
    edata_t *s0 = slab_of(r[0]), *s1 = slab_of(r[32]), *s2 = slab_of(r[64]);
    expect_ptr_eq(f->bin.slabcur, s2, "");
    expect_u_eq(s2->nfree, 0, "");

    /* A full, non-current slab with a freed region is tracked again. */
    expect_false(dalloc(f, ind, r[5]), "");
    expect_zu_eq(stats(&f->bin).nonfull_slabs, 1, "");
    expect_ptr_eq(f->bin.nonfull.head, s0, "");
    expect_true(bitmap_is_free(&s0->bitmap, 5), "");
    expect_u_eq(s0->nfree, 1, "");
    expect_false(dalloc(f, ind, r[40]), "");
    expect_false(dalloc(f, ind, r[41]), "");
    expect_zu_eq(stats(&f->bin).nonfull_slabs, 2, "");
    expect_zu_eq(f->bin.nonfull.n, 2, "");
    /* The current (full) slab is never put on the list. */
    expect_false(dalloc(f, ind, r[70]), "");
    expect_zu_eq(stats(&f->bin).nonfull_slabs, 2, "");
    expect_u_eq(s2->nfree, 1, "");

    /* Filling uses the current slab first, then the oldest non-full slab. */
    void *g[4];
    assert_u_eq(bin_fill(&f->bin, &f->pac, ind, g, 4, 4), 4, "");
    expect_ptr_eq(g[0], r[70], "the current slab's free region");
    expect_ptr_eq(g[1], r[5], "then the first non-full slab, lowest region");
    expect_ptr_eq(g[2], r[40], "then the next non-full slab");
    expect_ptr_eq(g[3], r[41], "");
    bin_stats_t st = stats(&f->bin);
    expect_u64_eq(st.nreslabs, 2, "two non-full slabs became current");
    expect_zu_eq(st.nonfull_slabs, 0, "");
    expect_zu_eq(st.curslabs, 3, "");
    expect_u64_eq(st.nslabs, 3, "no new slab");
    expect_ptr_eq(f->bin.slabcur, s1, "");
    r[70] = g[0], r[5] = g[1], r[40] = g[2], r[41] = g[3];

    /* Emptying a non-current slab detaches it. */
    unsigned released = 0;
    for (int k = 64; k < 96; k++) released += dalloc(f, ind, r[k]);
    expect_u_eq(released, 1, "s2 released when its last region came back");
    st = stats(&f->bin);
    expect_zu_eq(st.curslabs, 2, "");
    expect_zu_eq(st.nonfull_slabs, 0, "");
    expect_zu_eq(st.curregs, 64, "");
    for (int k = 0; k < 64; k++) released += dalloc(f, ind, r[k]);
    expect_u_eq(released, 2, "s0 released, s1 kept as current");
    st = stats(&f->bin);
    expect_zu_eq(st.curregs, 0, "");
    expect_zu_eq(st.curslabs, 1, "");
    expect_u64_eq(st.nmalloc, st.ndalloc, "");
    expect_ptr_eq(f->bin.slabcur, s1, "");
}
TEST_END

TEST_BEGIN(test_one_region_slabs) {
    boot();
    /* Classes with one region per slab: never on the non-full list, released at once. */
    szind_t classes[] = {28, 32, 34};
    for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
        szind_t ind = classes[c];
        assert_u_eq(bin_infos[ind].nregs, 1, "class %zu", ind);
        fixture_t *f = fixture_new();
        void *r[5];
        assert_u_eq(bin_fill(&f->bin, &f->pac, ind, r, 5, 5), 5, "");
        expect_zu_eq(stats(&f->bin).curslabs, 5, "");
        for (int k = 0; k < 4; k++) {
            expect_true(dalloc(f, ind, r[k]), "class %zu region %d: slab released", ind, k);
            expect_zu_eq(stats(&f->bin).nonfull_slabs, 0, "");
        }
        expect_false(dalloc(f, ind, r[4]), "the current slab is kept");
        bin_stats_t st = stats(&f->bin);
        expect_zu_eq(st.curslabs, 1, "");
        expect_zu_eq(st.curregs, 0, "");
        /* The released slabs' memory is reused for the next slabs. */
        size_t mapped = f->pac.mapped;
        assert_u_eq(bin_fill(&f->bin, &f->pac, ind, r, 5, 5), 5, "");
        expect_zu_eq(f->pac.mapped, mapped, "class %zu: slabs reused, no growth", ind);
        for (int k = 0; k < 5; k++) dalloc(f, ind, r[k]);
    }
}
TEST_END

/* ---- invalid frees abort ---- */

typedef struct {
    szind_t ind;
    size_t offset;  /* from the region start */
    bool twice;     /* free the region start twice */
    size_t beyond;  /* offset from the slab end instead (0: unused) */
} bad_free_t;

static void bad_free_child(void *arg) {
    const bad_free_t *b = arg;
    fixture_t *f = fixture_new();
    void *r[2];
    if (bin_fill(&f->bin, &f->pac, b->ind, r, 2, 2) != 2) _exit(3);
    edata_t *slab = slab_of(r[1]);
    char *p = (char *)r[1] + b->offset;
    if (b->beyond) p = (char *)slab->addr + slab->size + b->beyond - 1;
    mutex_lock(&f->bin.lock);
    if (b->twice) bin_dalloc_locked(&f->bin, b->ind, slab, r[1], "bin test");
    bin_dalloc_locked(&f->bin, b->ind, slab, p, "bin test");
    mutex_unlock(&f->bin.lock);
    _exit(0); /* not detected */
}

TEST_BEGIN(test_double_free_detected) {
    boot();
    szind_t classes[] = {0, 1, 3, 8, 19, 28, 35};
    for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
        bad_free_t b = {.ind = classes[c], .twice = true};
        expect_abort_line(bad_free_child, &b, "<arenalloc>: ", "bin test: double free of pointer",
                          NULL, "class %zu", classes[c]);
    }
}
TEST_END

TEST_BEGIN(test_interior_pointer_detected) {
    boot();
    const struct {
        szind_t ind;
        size_t off;
    } cases[] = {{0, 1}, {0, 7}, {1, 8}, {3, 16}, {3, 47}, {5, 64}, {8, 1}, {19, 448},
                 {28, 4095}, {33, 10239}, {35, 2048}, {35, 8}};
    for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
        bad_free_t b = {.ind = cases[c].ind, .offset = cases[c].off};
        expect_abort_line(bad_free_child, &b, "<arenalloc>: ", "bin test: invalid pointer",
                          NULL, "class %zu offset %zu", cases[c].ind, cases[c].off);
    }
    /* Past the end of the slab (within the same extent-map page run). */
    bad_free_t b = {.ind = 3, .beyond = 1};
    expect_abort_line(bad_free_child, &b, "<arenalloc>: ", "bin test: invalid pointer", NULL,
                      "just past the slab");
}
TEST_END

/* The abort message names the pointer: regions filled in the parent, freed wrongly in a child. */
typedef struct {
    fixture_t *f;
    szind_t ind;
    void *p;
    edata_t *slab;
} named_t;

static void named_child(void *arg) {
    named_t *n = arg;
    mutex_lock(&n->f->bin.lock);
    bin_dalloc_locked(&n->f->bin, n->ind, n->slab, n->p, "bin test");
    mutex_unlock(&n->f->bin.lock);
    _exit(0);
}

TEST_BEGIN(test_abort_names_pointer) {
    boot();
    fixture_t *f = fixture_new();
    void *r[3];
    assert_u_eq(bin_fill(&f->bin, &f->pac, 4, r, 3, 3), 3, "");
    named_t n = {f, 4, (char *)r[1] + 24, slab_of(r[1])};
    expect_abort_line(named_child, &n, "<arenalloc>: ", "invalid pointer", n.p, "interior pointer");
    dalloc(f, 4, r[2]);
    n.p = r[2];
    expect_abort_line(named_child, &n, "<arenalloc>: ", "double free", n.p, "double free");
    /* In the parent the bin is intact. */
    dalloc(f, 4, r[0]);
    dalloc(f, 4, r[1]);
    expect_zu_eq(stats(&f->bin).curregs, 0, "");
}
TEST_END

/* ---- concurrency ---- */

typedef struct {
    fixture_t *f;
    szind_t ind;
    uint64_t seed;
    unsigned rounds;
} worker_arg_t;

static void *worker(void *arg) {
    worker_arg_t *w = arg;
    test_prng_t prng;
    test_prng_init(&prng, w->seed);
    enum { CAP = 64 };
    void *held[CAP];
    unsigned nheld = 0;
    size_t reg = bin_infos[w->ind].reg_size;
    for (unsigned r = 0; r < w->rounds; r++) {
        if (nheld < CAP) {
            unsigned want = 1 + (unsigned)test_prng_range(&prng, CAP - nheld > 16 ? 16 : CAP - nheld);
            unsigned got = bin_fill(&w->f->bin, &w->f->pac, w->ind, held + nheld, want, want);
            for (unsigned k = 0; k < got; k++) {
                /* Owned exclusively: stamp it, check later. */
                memset(held[nheld + k], (int)(uintptr_t)held[nheld + k] & 0xff, reg);
            }
            nheld += got;
        }
        unsigned nfree = (unsigned)test_prng_range(&prng, nheld + 1);
        for (unsigned k = 0; k < nfree; k++) {
            unsigned i = (unsigned)test_prng_range(&prng, nheld);
            void *p = held[i];
            held[i] = held[--nheld];
            expect_zu_eq(test_find_not(p, reg, (uint8_t)((uintptr_t)p & 0xff)), SIZE_MAX,
                         "region %p overwritten while held", p);
            dalloc(w->f, w->ind, p);
        }
    }
    while (nheld > 0) dalloc(w->f, w->ind, held[--nheld]);
    return NULL;
}

TEST_BEGIN(test_concurrent_fill_dalloc) {
    boot();
    szind_t classes[] = {2, 11, 24};
    for (size_t c = 0; c < sizeof(classes) / sizeof(classes[0]); c++) {
        fixture_t *f = fixture_new();
        enum { NT = 4 };
        pthread_t t[NT];
        worker_arg_t args[NT];
        for (int i = 0; i < NT; i++) {
            args[i] = (worker_arg_t){f, classes[c], test_seed() + (uint64_t)i * 7919 + c,
                                     test_under_tsan() ? 300 : 2000};
            test_thread_create(&t[i], worker, &args[i]);
        }
        for (int i = 0; i < NT; i++) test_thread_join(t[i], NULL);
        bin_stats_t st = stats(&f->bin);
        expect_zu_eq(st.curregs, 0, "class %zu", classes[c]);
        expect_u64_eq(st.nmalloc, st.ndalloc, "class %zu", classes[c]);
        expect_zu_eq(st.nonfull_slabs, f->bin.nonfull.n, "class %zu", classes[c]);
        /* Every remaining slab is unused: the current one, and possibly spares that another
         * thread installed while one was being made. */
        size_t counted = 0;
        for (edata_t *s = f->bin.nonfull.head; s != NULL; s = s->next) {
            expect_u_eq(s->nfree, bin_infos[classes[c]].nregs, "");
            counted++;
        }
        if (f->bin.slabcur != NULL) {
            expect_u_eq(f->bin.slabcur->nfree, bin_infos[classes[c]].nregs, "");
            counted++;
        }
        expect_zu_eq(st.curslabs, counted, "class %zu: curslabs vs slabs the bin holds", classes[c]);
    }
}
TEST_END

int main(void) {
    return run_tests(test_fill_every_class, test_nonfull_tracking, test_one_region_slabs,
                     test_double_free_detected, test_interior_pointer_detected,
                     test_abort_names_pointer, test_concurrent_fill_dalloc);
}
