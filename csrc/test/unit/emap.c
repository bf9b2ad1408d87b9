/*
 * Unit tests for emap (the page -> extent radix tree):
 *   - the entry layout (descriptor bits 0-47, slab bit 48, size class + 1 in bits 56-63);
 *   - emap_prepare creates leaves (also across a leaf boundary, also raced by several threads:
 *     exactly one leaf wins) and refuses ranges beyond 2^48;
 *   - register_active: a slab maps every page (any address inside a page resolves), a large
 *     extent only its first page;
 *   - register_free: the first and last page, size class none, no slab bit;
 *   - emap_clear / emap_clear_page; unknown addresses and addresses >= 2^48 read as 0;
 *   - lock-free readers racing a writer never see a torn entry.
 *
 * The extents here are fake descriptors over address ranges this test maps itself
 * (platform_map), so no allocator extent can share their pages; every test clears what it
 * registered before unmapping.
 */
#include "test.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "arenalloc.h"
#include "emap.h"
#include "platform.h"

#define LEAF_SPAN ((size_t)1 << (LG_PAGE + EMAP_LEAF_BITS)) /* address bytes one leaf covers */
#define LEAF_BYTES (sizeof(emap_entry_t) << EMAP_LEAF_BITS)

static void boot(void) {
    void *p = arenalloc_malloc(1);
    assert_ptr_not_null(p, "boot allocation");
    arenalloc_free(p);
}

/* The entry a registration must write, built from the documented layout. */
static emap_entry_t want_entry(const edata_t *e, unsigned szind1, bool slab) {
    return ((uint64_t)(uintptr_t)e & (((uint64_t)1 << 48) - 1)) | ((uint64_t)slab << 48) |
           ((uint64_t)szind1 << 56);
}

static void fake_extent(edata_t *e, void *addr, size_t size, bool slab) {
    memset(e, 0, sizeof(*e));
    e->addr = addr;
    e->size = size;
    e->slab = slab;
    e->szind = SC_NSIZES;
}

static char *map_region(size_t size, size_t alignment) {
    char *p = platform_map(NULL, size, alignment);
    assert_ptr_not_null(p, "platform_map(%zu, %zu)", size, alignment);
    assert_false(emap_prepare(p, size), "emap_prepare of a fresh mapping");
    return p;
}

/* Every page of [p, p + size) reads as 0. */
static void expect_range_unknown(const char *p, size_t size, const char *what) {
    for (size_t off = 0; off < size; off += PAGE) {
        emap_entry_t v = emap_lookup(p + off);
        if (v != 0) {
            expect_u64_eq(v, 0, "%s: page %zu of %p", what, off / PAGE, (const void *)p);
            return;
        }
    }
}

TEST_BEGIN(test_entry_layout) {
    edata_t e;
    emap_entry_t v = want_entry(&e, 7, true);
    expect_ptr_eq(emap_entry_edata(v), &e, "");
    expect_u_eq(emap_entry_szind1(v), 7, "");
    expect_true(emap_entry_slab(v), "");
    v = want_entry(&e, SC_NSIZES, false);
    expect_ptr_eq(emap_entry_edata(v), &e, "");
    expect_u_eq(emap_entry_szind1(v), SC_NSIZES, "the largest class + 1 fits the 8 bits");
    expect_false(emap_entry_slab(v), "");
    expect_ptr_null(emap_entry_edata(0), "");
    expect_u_eq(emap_entry_szind1(0), 0, "");
    expect_false(emap_entry_slab(0), "");
    expect_u_eq(LG_PAGE + EMAP_LEAF_BITS + EMAP_ROOT_BITS, 48, "the tree covers 48 bits");
}
TEST_END

TEST_BEGIN(test_unknown_addresses) {
    boot();
    int local;
    void *libc = malloc(64);
    char *fresh = platform_map(NULL, 4 * PAGE, PAGE);
    assert_ptr_not_null(fresh, "");
    const void *probes[] = {NULL, (void *)1, (void *)PAGE, (void *)0x10000, &local, libc, fresh,
                            fresh + 3 * PAGE + 17, (void *)&test_entry_layout};
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++) {
        expect_u64_eq(emap_lookup(probes[i]), 0, "lookup(%p)", probes[i]);
    }
    const uintptr_t high[] = {(uintptr_t)1 << 48, ((uintptr_t)1 << 48) + PAGE,
                              ((uintptr_t)1 << 48) + LEAF_SPAN, (uintptr_t)1 << 56,
                              (uintptr_t)1 << 63, 0xffff800000000000ULL, UINTPTR_MAX - PAGE,
                              UINTPTR_MAX};
    for (size_t i = 0; i < sizeof(high) / sizeof(high[0]); i++) {
        expect_u64_eq(emap_lookup((void *)high[i]), 0, "lookup(%#zx) beyond 2^48", (size_t)high[i]);
    }
    /* Ranges that reach 2^48 cannot be prepared. */
    expect_true(emap_prepare((void *)((uintptr_t)1 << 48), PAGE), "prepare at 2^48");
    expect_true(emap_prepare((void *)(((uintptr_t)1 << 48) - PAGE), 2 * PAGE), "prepare across 2^48");
    expect_true(emap_prepare((void *)((uintptr_t)1 << 60), PAGE), "prepare at 2^60");
    free(libc);
    platform_unmap(fresh, 4 * PAGE);
}
TEST_END

TEST_BEGIN(test_prepare_creates_leaves) {
    boot();
    /* A fresh, leaf-aligned region: nothing else of arenalloc lives in its leaf's range. */
    size_t size = LEAF_SPAN + 2 * PAGE;
    char *p = platform_map(NULL, size, LEAF_SPAN);
    assert_ptr_not_null(p, "platform_map of 1 GiB + 2 pages (virtual only)");
    uintptr_t ri = (uintptr_t)p >> (LG_PAGE + EMAP_LEAF_BITS);
    bool had0 = __atomic_load_n(&emap_root[ri], __ATOMIC_ACQUIRE) != NULL;
    bool had1 = __atomic_load_n(&emap_root[ri + 1], __ATOMIC_ACQUIRE) != NULL;
    size_t before = emap_mapped_bytes();
    /* Two pages straddling the leaf boundary. */
    char *straddle = p + LEAF_SPAN - PAGE;
    assert_false(emap_prepare(straddle, 2 * PAGE), "prepare across a leaf boundary");
    expect_ptr_not_null(emap_root[ri], "leaf of the first page");
    expect_ptr_not_null(emap_root[ri + 1], "leaf of the second page");
    expect_zu_eq(emap_mapped_bytes() - before, (size_t)(!had0 + !had1) * LEAF_BYTES,
                 "one leaf per new root slot");
    /* Preparing again is a no-op. */
    before = emap_mapped_bytes();
    assert_false(emap_prepare(straddle, 2 * PAGE), "");
    expect_zu_eq(emap_mapped_bytes(), before, "no leaf created twice");
    /* A 2-page slab across the boundary maps both pages. */
    edata_t e;
    fake_extent(&e, straddle, 2 * PAGE, true);
    emap_register_active(&e, 3, true);
    expect_u64_eq(emap_lookup(straddle), want_entry(&e, 4, true), "page before the boundary");
    expect_u64_eq(emap_lookup(straddle + PAGE), want_entry(&e, 4, true), "page after the boundary");
    expect_u64_eq(emap_lookup(straddle + 2 * PAGE - 1), want_entry(&e, 4, true), "last byte");
    emap_clear(&e);
    expect_range_unknown(straddle, 2 * PAGE, "cleared straddling slab");
    platform_unmap(p, size);
}
TEST_END

typedef struct {
    char *addr;
    atomic_int *go;
} prepare_arg_t;

static void *prepare_thread(void *arg) {
    prepare_arg_t *a = arg;
    while (atomic_load(a->go) == 0) CPU_SPINWAIT;
    if (emap_prepare(a->addr, 64 * PAGE)) return (void *)1;
    return NULL;
}

TEST_BEGIN(test_prepare_race_one_leaf) {
    boot();
    /* A leaf-aligned region whose leaf does not exist yet (an earlier test may have prepared
     * the range the kernel hands out again: keep those mapped while looking further). */
    char *tries[4] = {NULL};
    char *p = NULL;
    uintptr_t ri = 0;
    for (int i = 0; i < 4 && p == NULL; i++) {
        tries[i] = platform_map(NULL, LEAF_SPAN, LEAF_SPAN);
        assert_ptr_not_null(tries[i], "");
        ri = (uintptr_t)tries[i] >> (LG_PAGE + EMAP_LEAF_BITS);
        if (__atomic_load_n(&emap_root[ri], __ATOMIC_ACQUIRE) == NULL) p = tries[i];
    }
    for (int i = 0; i < 4; i++) {
        if (tries[i] != NULL && tries[i] != p) platform_unmap(tries[i], LEAF_SPAN);
    }
    if (p == NULL) test_skip("no fresh 1 GiB region without a leaf");
    size_t before = emap_mapped_bytes();
    enum { N = 6 };
    pthread_t t[N];
    atomic_int go = 0;
    prepare_arg_t args[N];
    for (int i = 0; i < N; i++) {
        args[i] = (prepare_arg_t){p + (size_t)i * 64 * PAGE, &go};
        test_thread_create(&t[i], prepare_thread, &args[i]);
    }
    atomic_store(&go, 1);
    for (int i = 0; i < N; i++) {
        void *ret;
        test_thread_join(t[i], &ret);
        expect_ptr_null(ret, "thread %d: emap_prepare failed", i);
    }
    expect_zu_eq(emap_mapped_bytes() - before, LEAF_BYTES, "exactly one leaf kept");
    emap_entry_t *leaf = emap_root[ri];
    assert_ptr_not_null(leaf, "");
    /* The winning leaf is usable by every thread's range. */
    edata_t e;
    fake_extent(&e, p + 5 * 64 * PAGE, PAGE, false);
    emap_register_active(&e, 40, false);
    expect_u64_eq(emap_lookup(e.addr), want_entry(&e, 41, false), "");
    emap_clear(&e);
    expect_u64_eq(emap_lookup(e.addr), 0, "");
    platform_unmap(p, LEAF_SPAN);
}
TEST_END

TEST_BEGIN(test_register_active_slab) {
    boot();
    size_t size = 16 * PAGE;
    char *p = map_region(size, PAGE);
    /* Slabs of 1, 3, 5 and 7 pages at page 2 (pages 0, 1 and those after stay unknown). */
    for (size_t npages = 1; npages <= 7; npages += 2) {
        edata_t e;
        fake_extent(&e, p + 2 * PAGE, npages * PAGE, true);
        for (szind_t ind = 0; ind < SC_NBINS; ind += 7) {
            emap_register_active(&e, ind, true);
            emap_entry_t want = want_entry(&e, (unsigned)ind + 1, true);
            for (size_t off = 0; off < npages * PAGE; off += PAGE / 4) {
                emap_entry_t v = emap_lookup(p + 2 * PAGE + off);
                expect_u64_eq(v, want, "%zu-page slab, class %zu, offset %zu", npages, ind, off);
                expect_ptr_eq(emap_entry_edata(v), &e, "");
                expect_u_eq(emap_entry_szind1(v), ind + 1, "");
                expect_true(emap_entry_slab(v), "");
            }
            expect_u64_eq(emap_lookup(p + 2 * PAGE - 1), 0, "byte before the slab");
            expect_u64_eq(emap_lookup(p + 2 * PAGE + npages * PAGE), 0, "byte after the slab");
        }
        emap_clear(&e);
        expect_range_unknown(p, size, "after emap_clear of the slab");
    }
    platform_unmap(p, size);
}
TEST_END

TEST_BEGIN(test_register_active_large) {
    boot();
    size_t size = 32 * PAGE;
    char *p = map_region(size, PAGE);
    edata_t e;
    fake_extent(&e, p + PAGE, 20 * PAGE, false);
    szind_t inds[] = {SC_NBINS, SC_NBINS + 1, 100, SC_NSIZES - 1};
    for (size_t k = 0; k < sizeof(inds) / sizeof(inds[0]); k++) {
        emap_register_active(&e, inds[k], false);
        emap_entry_t v = emap_lookup(p + PAGE);
        expect_u64_eq(v, want_entry(&e, (unsigned)inds[k] + 1, false), "first page, class %zu", inds[k]);
        expect_false(emap_entry_slab(v), "");
        expect_u64_eq(emap_lookup(p + PAGE + 100), v, "inside the first page");
        /* Only the first page: interior pointers stay unknown. */
        expect_range_unknown(p + 2 * PAGE, 19 * PAGE, "large interior pages");
        expect_u64_eq(emap_lookup(p), 0, "page before");
    }
    emap_clear(&e);
    expect_range_unknown(p, size, "after emap_clear of the large extent");
    platform_unmap(p, size);
}
TEST_END

TEST_BEGIN(test_register_free) {
    boot();
    size_t size = 24 * PAGE;
    char *p = map_region(size, PAGE);
    /* A multi-page free extent: first and last page, class none, no slab bit. */
    edata_t e;
    fake_extent(&e, p + PAGE, 10 * PAGE, false);
    emap_register_free(&e);
    emap_entry_t first = emap_lookup(p + PAGE), last = emap_lookup(p + 10 * PAGE);
    expect_u64_eq(first, want_entry(&e, 0, false), "first page of a free extent");
    expect_u64_eq(last, want_entry(&e, 0, false), "last page of a free extent");
    expect_ptr_eq(emap_entry_edata(last), &e, "");
    expect_u_eq(emap_entry_szind1(first), 0, "free extents carry no size class");
    expect_u_eq(emap_entry_szind1(last), 0, "");
    expect_false(emap_entry_slab(first), "");
    expect_range_unknown(p + 2 * PAGE, 8 * PAGE, "interior of a free extent");
    expect_u64_eq(emap_lookup(p), 0, "page before");
    expect_u64_eq(emap_lookup(p + 11 * PAGE), 0, "page after");
    /* Clearing a free extent's boundaries page by page (what a merge does). */
    emap_clear_page(p + PAGE);
    emap_clear_page(p + 10 * PAGE);
    expect_range_unknown(p, size, "after clearing both boundaries");

    /* A one-page free extent: first == last. */
    edata_t one;
    fake_extent(&one, p + 15 * PAGE, PAGE, false);
    emap_register_free(&one);
    expect_u64_eq(emap_lookup(p + 15 * PAGE), want_entry(&one, 0, false), "one-page free extent");
    expect_u64_eq(emap_lookup(p + 14 * PAGE), 0, "");
    expect_u64_eq(emap_lookup(p + 16 * PAGE), 0, "");
    emap_clear(&one);
    expect_u64_eq(emap_lookup(p + 15 * PAGE), 0, "emap_clear of a one-page extent");

    /* The life of a slab as bin/pac drive it: active (every page) -> cleared -> free
     * (boundaries only): no page keeps a size class. */
    edata_t s;
    fake_extent(&s, p + 17 * PAGE, 5 * PAGE, true);
    emap_register_active(&s, 5, true);
    emap_clear(&s);
    s.slab = false;
    emap_register_free(&s);
    for (size_t i = 0; i < 5; i++) {
        emap_entry_t v = emap_lookup(p + (17 + i) * PAGE);
        expect_u_eq(emap_entry_szind1(v), 0, "page %zu of a freed slab", i);
        expect_false(emap_entry_slab(v), "page %zu of a freed slab", i);
        if (i == 0 || i == 4) expect_u64_eq(v, want_entry(&s, 0, false), "boundary %zu", i);
        else expect_u64_eq(v, 0, "interior page %zu", i);
    }
    emap_clear_page(p + 17 * PAGE);
    emap_clear_page(p + 21 * PAGE);
    expect_range_unknown(p, size, "end of test");
    platform_unmap(p, size);
}
TEST_END

/* ---- readers racing a writer ---- */

#define RACE_PAGES 8

typedef struct {
    char *base;
    edata_t *slab, *large, *free_ext;
    atomic_bool stop;
    atomic_ulong torn, reads;
} race_t;

static void *race_reader(void *arg) {
    race_t *r = arg;
    const emap_entry_t valid[4] = {0, want_entry(r->slab, 10, true), want_entry(r->large, 60, false),
                                   want_entry(r->free_ext, 0, false)};
    unsigned long n = 0, torn = 0;
    while (!atomic_load_explicit(&r->stop, memory_order_relaxed)) {
        for (size_t i = 0; i < RACE_PAGES; i++) {
            emap_entry_t v = emap_lookup(r->base + i * PAGE + (i * 64) % PAGE);
            bool ok = false;
            for (int k = 0; k < 4; k++) ok |= v == valid[k];
            if (!ok) torn++;
            /* A non-zero entry must decode to one of the three descriptors. */
            edata_t *e = emap_entry_edata(v);
            if (v != 0 && e != r->slab && e != r->large && e != r->free_ext) torn++;
            n++;
        }
    }
    atomic_fetch_add(&r->torn, torn);
    atomic_fetch_add(&r->reads, n);
    return NULL;
}

TEST_BEGIN(test_concurrent_readers) {
    boot();
    size_t size = RACE_PAGES * PAGE;
    char *p = map_region(size, PAGE);
    /* Three descriptors: a torn entry would decode to none of them. */
    edata_t *ds = calloc(3, sizeof(edata_t));
    assert_ptr_not_null(ds, "");
    race_t r = {.base = p, .slab = &ds[0], .large = &ds[1], .free_ext = &ds[2]};
    fake_extent(r.slab, p, size, true);
    fake_extent(r.large, p, size, false);
    fake_extent(r.free_ext, p, size, false);
    atomic_init(&r.stop, false);
    atomic_init(&r.torn, 0);
    atomic_init(&r.reads, 0);
    enum { NREADERS = 3 };
    pthread_t t[NREADERS];
    for (int i = 0; i < NREADERS; i++) test_thread_create(&t[i], race_reader, &r);
    double deadline = test_now() + (test_under_tsan() ? 0.3 : 0.25);
    unsigned long rounds = 0;
    while (test_now() < deadline || rounds < 100) {
        emap_register_active(r.slab, 9, true);      /* every page -> (slab, class 9) */
        emap_clear(r.slab);
        emap_register_active(r.large, 59, false);   /* first page -> (large, class 59) */
        emap_clear(r.large);
        emap_register_free(r.free_ext);             /* first and last page -> free */
        emap_clear_page(p);
        emap_clear_page(p + size - PAGE);
        rounds++;
    }
    atomic_store(&r.stop, true);
    for (int i = 0; i < NREADERS; i++) test_thread_join(t[i], NULL);
    expect_lu_eq(atomic_load(&r.torn), 0, "torn entries seen in %lu reads over %lu writer rounds",
                 atomic_load(&r.reads), rounds);
    expect_lu_gt(atomic_load(&r.reads), 0, "the readers ran");
    expect_range_unknown(p, size, "end of test");
    free(ds);
    platform_unmap(p, size);
}
TEST_END

int main(void) {
    return run_tests(test_entry_layout, test_unknown_addresses, test_prepare_creates_leaves,
                     test_prepare_race_one_leaf, test_register_active_slab,
                     test_register_active_large, test_register_free, test_concurrent_readers);
}
