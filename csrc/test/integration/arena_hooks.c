/*
 * Custom extent hooks on explicit arenas (arenas.create with an extent_hooks_t, jemalloc's ABI:
 * reference notes §4). The hooks under test serve every page from ONE region reserved up front
 * (an anonymous mapping, 64 MiB unless a test needs more), carved by a first-fit page map under
 * the region's own mutex; they count every call and check every argument (alloc: new_addr NULL,
 * alignment a power of two >= a page, page-multiple size, *commit true on entry; every range
 * inside the region and in use; the arena index). Covered:
 *   - growth calls alloc (first step 2 MiB, doubling), carving calls split, freeing neighbours
 *     calls merge; every pointer of MALLOCX_ARENA(i) | MALLOCX_TCACHE_NONE, small, large and
 *     aligned, lies inside the region;
 *   - purging: arena.<i>.purge runs the cascade dalloc -> decommit -> purge_forced; with
 *     dirty_decay_ms 0 a free does it at once; a dalloc that gives the range back ends the
 *     cascade; a decommit that succeeds means commit before reuse; muzzy_decay_ms > 0 goes
 *     through purge_lazy (free with dirty 0, and arena.<i>.decay over time);
 *   - arena.<i>.reset frees every allocation and keeps the pages; arena.<i>.destroy gives every
 *     page back (destroy and/or dalloc): the region's bookkeeping is back to 0 bytes in use
 *     after every test; xallocx in place merges (grow) and splits (shrink);
 *   - exhausting the region: NULL + ENOMEM, and freeing makes allocation work again;
 *   - stats.arenas.<i>.*: exact allocated bytes and counters, and the page accounting equals what
 *     the region handed out; arena.<i>.retain_grow_limit caps the growth steps alloc sees;
 *   - replacing the hooks of a live arena (arena.<i>.extent_hooks returns the old pointer; later
 *     growth uses the new hooks, old memory still frees through them);
 *   - hooks that allocate (malloc/free, mallocx on another arena and on the same one) must not
 *     deadlock, also with threads allocating and purging concurrently;
 *   - hooks that refuse split and merge, a failing alloc, and hooks with only alloc + destroy:
 *     allocation still works (or fails cleanly with ENOMEM) and destroy returns everything;
 *   - what alloc reports is honoured: pages not zeroed are cleared for MALLOCX_ZERO, pages not
 *     committed are committed before use (and a failing commit fails the allocation).
 * arena_hooks.conf turns background threads off, so that every hook call comes from the test's
 * own allocator calls and the counts are deterministic.
 */
#include "arenalloc.h"
#include "test.h"
#include "ctl_read.h"

#include <errno.h>
#include <limits.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define FLAGS(ind) (MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE)

/* ---- the region and its hooks ---- */

enum { H_ALLOC, H_DALLOC, H_DESTROY, H_COMMIT, H_DECOMMIT, H_PURGE_LAZY, H_PURGE_FORCED, H_SPLIT,
       H_MERGE, H_N };
static const char *const hook_names[H_N] = {"alloc",      "dalloc",       "destroy",
                                            "commit",     "decommit",     "purge_lazy",
                                            "purge_forced", "split",      "merge"};

#define NSIZES_RECORDED 256

typedef struct region_s {
    extent_hooks_t hooks; /* first member: a hook's first argument is the region */
    char *base;
    size_t size, npages, page;
    pthread_mutex_t lock;  /* guards used[], in_use, alloc_sizes */
    unsigned char *used;   /* one byte per page: 1 = handed to the arena */
    size_t in_use;         /* bytes handed out by alloc and not given back */
    size_t alloc_sizes[NSIZES_RECORDED]; /* the sizes of the successful alloc calls, in order */
    unsigned nalloc_sizes;
    size_t max_alloc_size;
    /* Behaviour, switched by the tests between phases (atomics: hooks may run on any thread). */
    atomic_bool fail_alloc;        /* alloc returns NULL */
    atomic_bool dalloc_gives_back; /* dalloc returns the range to the region (false) or keeps it */
    atomic_bool decommit_ok;       /* decommit succeeds (MADV_DONTNEED) or opts out */
    atomic_bool refuse_split, refuse_merge;
    atomic_bool dirty_pages;       /* alloc hands out pages full of junk and says *zero false */
    atomic_bool uncommitted;       /* alloc says *commit false: commit must come before use */
    atomic_bool fail_commit;       /* commit fails */
    atomic_bool allocate_inside;   /* hooks call the allocator (see allocate_inside) */
    atomic_bool same_arena_inside; /* ... including mallocx on the hooked arena itself */
    atomic_uint other_arena;       /* the arena allocate_inside uses besides the thread's own */
    extent_hooks_t *prev;          /* hooks replaced by these: ranges outside are theirs */
    atomic_uint ind;               /* the arena index the hooks expect (UINT_MAX until known) */
    /* What happened. */
    atomic_uint calls[H_N];
    atomic_uint alloc_failed;   /* alloc calls answered NULL (fail_alloc or region full) */
    atomic_uint forwarded;      /* calls passed on to prev */
    atomic_uint inside_allocs;  /* hook calls that allocated inside */
    atomic_uint bad_args;       /* a contract violation by the caller (see check_* below) */
    atomic_uint wrong_ind;
} region_t;

/* Hooks that allocate must not recurse into themselves (alloc -> mallocx -> alloc ...). */
static __thread int hook_depth;

static size_t page_size(void) {
    static size_t page;
    if (page == 0) page = read_size("arenas.page");
    return page;
}

static void enter(region_t *r, int which, unsigned ind) {
    atomic_fetch_add(&r->calls[which], 1);
    unsigned want = atomic_load(&r->ind);
    if (want != UINT_MAX && ind != want) atomic_fetch_add(&r->wrong_ind, 1);
}

static bool in_region(const region_t *r, const void *p, size_t n) {
    const char *c = p;
    return c >= r->base && n <= r->size && (size_t)(c - r->base) <= r->size - n;
}

/* Whether every page of [addr, addr + size) is handed out. Called locked. */
static bool range_in_use_locked(const region_t *r, const void *addr, size_t size) {
    size_t first = (size_t)((const char *)addr - r->base) / r->page;
    for (size_t k = 0; k < size / r->page; k++) {
        if (!r->used[first + k]) return false;
    }
    return true;
}

/* A range the arena hands back must be ours, page aligned, and wholly in use. */
static bool check_range(region_t *r, const void *addr, size_t size) {
    bool ok = in_region(r, addr, size) && size > 0 && size % r->page == 0 &&
              (size_t)((const char *)addr - r->base) % r->page == 0;
    if (ok) {
        pthread_mutex_lock(&r->lock);
        ok = range_in_use_locked(r, addr, size);
        pthread_mutex_unlock(&r->lock);
    }
    if (!ok) atomic_fetch_add(&r->bad_args, 1);
    return ok;
}

/* First fit: the lowest run of free pages starting at a multiple of alignment. NULL if none. */
static void *region_take(region_t *r, size_t size, size_t alignment) {
    size_t n = size / r->page, step = alignment / r->page;
    uintptr_t b = (uintptr_t)r->base;
    size_t s0 = (((b + alignment - 1) & ~(uintptr_t)(alignment - 1)) - b) / r->page;
    void *ret = NULL;
    pthread_mutex_lock(&r->lock);
    for (size_t s = s0; s + n <= r->npages;) {
        size_t k = 0;
        while (k < n && !r->used[s + k]) k++;
        if (k == n) {
            memset(r->used + s, 1, n);
            r->in_use += size;
            ret = r->base + s * r->page;
            if (r->nalloc_sizes < NSIZES_RECORDED) r->alloc_sizes[r->nalloc_sizes++] = size;
            if (size > r->max_alloc_size) r->max_alloc_size = size;
            break;
        }
        /* Page s + k is used: the next candidate is the first aligned start past it. */
        size_t past = s + k + 1 - s0;
        s = s0 + (past + step - 1) / step * step;
    }
    pthread_mutex_unlock(&r->lock);
    return ret;
}

/* Gives [addr, addr + size) back to the region (checked by check_range first). */
static void region_give_back(region_t *r, void *addr, size_t size) {
    size_t first = (size_t)((char *)addr - r->base) / r->page;
    /* Fresh zeroed pages for the next user, and no RSS while the region holds them. */
    madvise(addr, size, MADV_DONTNEED);
    pthread_mutex_lock(&r->lock);
    memset(r->used + first, 0, size / r->page);
    r->in_use -= size;
    pthread_mutex_unlock(&r->lock);
}

/*
 * Hooks may call the allocator (arenalloc.h: custom hooks run without allocator locks held):
 * malloc/free on the thread's arena, mallocx on another arena, and, where the test allows it,
 * small and large mallocx on the hooked arena itself. Not from a nested hook call (the
 * allocations below may grow or purge the hooked arena, which calls the hooks again).
 */
static void allocate_inside(region_t *r, bool may_use_same_arena) {
    if (!atomic_load(&r->allocate_inside) || hook_depth > 0) return;
    hook_depth++;
    void *p = arenalloc_malloc(64);
    if (p == NULL) atomic_fetch_add(&r->bad_args, 1);
    arenalloc_free(p);
    unsigned other = atomic_load(&r->other_arena);
    if (other != UINT_MAX) {
        void *q = mallocx(4 * KiB, FLAGS(other));
        if (q == NULL) atomic_fetch_add(&r->bad_args, 1);
        else dallocx(q, MALLOCX_TCACHE_NONE);
    }
    if (may_use_same_arena && atomic_load(&r->same_arena_inside)) {
        unsigned self = atomic_load(&r->ind);
        void *s = mallocx(48, FLAGS(self));
        void *l = mallocx(40 * KiB, FLAGS(self));
        if (s == NULL || l == NULL) atomic_fetch_add(&r->bad_args, 1);
        if (s != NULL) dallocx(s, MALLOCX_TCACHE_NONE);
        if (l != NULL) dallocx(l, MALLOCX_TCACHE_NONE);
    }
    atomic_fetch_add(&r->inside_allocs, 1);
    hook_depth--;
}

/* Ranges outside the region were obtained by the replaced hooks (the man page's rule for new
 * hooks on a live arena): pass them on. */
#define FORWARD(r, member, ...)                                                                  \
    do {                                                                                         \
        atomic_fetch_add(&(r)->forwarded, 1);                                                    \
        if ((r)->prev->member == NULL) return true;                                              \
        return (r)->prev->member((r)->prev, __VA_ARGS__);                                        \
    } while (0)

static void *r_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t alignment, bool *zero,
                     bool *commit, unsigned ind) {
    region_t *r = (region_t *)h;
    enter(r, H_ALLOC, ind);
    if (new_addr != NULL || size == 0 || size % r->page != 0 || alignment < r->page ||
        (alignment & (alignment - 1)) != 0 || !*commit) {
        atomic_fetch_add(&r->bad_args, 1);
    }
    allocate_inside(r, false);
    if (atomic_load(&r->fail_alloc) || new_addr != NULL) {
        atomic_fetch_add(&r->alloc_failed, 1);
        return NULL;
    }
    void *p = region_take(r, size, alignment < r->page ? r->page : alignment);
    if (p == NULL) {
        atomic_fetch_add(&r->alloc_failed, 1);
        return NULL;
    }
    if (atomic_load(&r->dirty_pages) && !*zero) {
        memset(p, 0xa5, size); /* what recycled memory may look like */
    } else {
        /* Pages given back were MADV_DONTNEED'd, fresh ones never touched: all zero. */
        *zero = true;
    }
    *commit = !atomic_load(&r->uncommitted);
    return p;
}

static bool r_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind) {
    region_t *r = (region_t *)h;
    if (r->prev != NULL && !in_region(r, addr, size)) {
        FORWARD(r, dalloc, addr, size, committed, ind);
    }
    enter(r, H_DALLOC, ind);
    allocate_inside(r, true);
    if (!check_range(r, addr, size)) return true;
    if (!atomic_load(&r->dalloc_gives_back)) return true; /* keep: the arena retains it */
    region_give_back(r, addr, size);
    return false;
}

static void r_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind) {
    region_t *r = (region_t *)h;
    if (r->prev != NULL && !in_region(r, addr, size)) {
        atomic_fetch_add(&r->forwarded, 1);
        if (r->prev->destroy != NULL) r->prev->destroy(r->prev, addr, size, committed, ind);
        return;
    }
    enter(r, H_DESTROY, ind);
    allocate_inside(r, false); /* the arena is going away: not on it */
    if (check_range(r, addr, size)) region_give_back(r, addr, size);
}

/* The purge-like hooks' common checks: offset/length within the extent. */
static bool check_part(region_t *r, void *addr, size_t size, size_t offset, size_t length) {
    if (!check_range(r, addr, size)) return false;
    if (length == 0 || offset > size || length > size - offset || offset % r->page != 0 ||
        length % r->page != 0) {
        atomic_fetch_add(&r->bad_args, 1);
        return false;
    }
    return true;
}

static bool r_commit(extent_hooks_t *h, void *addr, size_t size, size_t offset, size_t length,
                     unsigned ind) {
    region_t *r = (region_t *)h;
    if (r->prev != NULL && !in_region(r, addr, size)) {
        FORWARD(r, commit, addr, size, offset, length, ind);
    }
    enter(r, H_COMMIT, ind);
    allocate_inside(r, true);
    return !check_part(r, addr, size, offset, length) || atomic_load(&r->fail_commit);
}

static bool r_decommit(extent_hooks_t *h, void *addr, size_t size, size_t offset, size_t length,
                       unsigned ind) {
    region_t *r = (region_t *)h;
    if (r->prev != NULL && !in_region(r, addr, size)) {
        FORWARD(r, decommit, addr, size, offset, length, ind);
    }
    enter(r, H_DECOMMIT, ind);
    allocate_inside(r, true);
    if (!check_part(r, addr, size, offset, length) || !atomic_load(&r->decommit_ok)) return true;
    /* "Decommitted": the contents go; commit brings back zeroed pages. */
    return madvise((char *)addr + offset, length, MADV_DONTNEED) != 0;
}

static bool r_purge_lazy(extent_hooks_t *h, void *addr, size_t size, size_t offset,
                         size_t length, unsigned ind) {
    region_t *r = (region_t *)h;
    if (r->prev != NULL && !in_region(r, addr, size)) {
        FORWARD(r, purge_lazy, addr, size, offset, length, ind);
    }
    enter(r, H_PURGE_LAZY, ind);
    allocate_inside(r, true);
    if (!check_part(r, addr, size, offset, length)) return true;
    /* Where MADV_FREE is missing, DONTNEED is a valid (stronger) lazy purge. */
    char *p = (char *)addr + offset;
    return madvise(p, length, MADV_FREE) != 0 && madvise(p, length, MADV_DONTNEED) != 0;
}

static bool r_purge_forced(extent_hooks_t *h, void *addr, size_t size, size_t offset,
                           size_t length, unsigned ind) {
    region_t *r = (region_t *)h;
    if (r->prev != NULL && !in_region(r, addr, size)) {
        FORWARD(r, purge_forced, addr, size, offset, length, ind);
    }
    enter(r, H_PURGE_FORCED, ind);
    allocate_inside(r, true);
    if (!check_part(r, addr, size, offset, length)) return true;
    return madvise((char *)addr + offset, length, MADV_DONTNEED) != 0;
}

static bool r_split(extent_hooks_t *h, void *addr, size_t size, size_t size_a, size_t size_b,
                    bool committed, unsigned ind) {
    region_t *r = (region_t *)h;
    if (r->prev != NULL && !in_region(r, addr, size)) {
        FORWARD(r, split, addr, size, size_a, size_b, committed, ind);
    }
    enter(r, H_SPLIT, ind);
    allocate_inside(r, true);
    if (!check_range(r, addr, size)) return true;
    if (size_a == 0 || size_b == 0 || size_a + size_b != size || size_a % r->page != 0) {
        atomic_fetch_add(&r->bad_args, 1);
        return true;
    }
    return atomic_load(&r->refuse_split);
}

static bool r_merge(extent_hooks_t *h, void *addr_a, size_t size_a, void *addr_b, size_t size_b,
                    bool committed, unsigned ind) {
    region_t *r = (region_t *)h;
    bool a_in = in_region(r, addr_a, size_a), b_in = in_region(r, addr_b, size_b);
    if (r->prev != NULL && !a_in && !b_in) {
        FORWARD(r, merge, addr_a, size_a, addr_b, size_b, committed, ind);
    }
    if (a_in != b_in) return true; /* across two regions (they may happen to be adjacent) */
    enter(r, H_MERGE, ind);
    allocate_inside(r, true);
    if (!check_range(r, addr_a, size_a) || !check_range(r, addr_b, size_b)) return true;
    if ((char *)addr_a + size_a != (char *)addr_b) {
        atomic_fetch_add(&r->bad_args, 1);
        return true;
    }
    return atomic_load(&r->refuse_merge);
}

static const extent_hooks_t region_hooks = {r_alloc,      r_dalloc,       r_destroy,
                                            r_commit,     r_decommit,     r_purge_lazy,
                                            r_purge_forced, r_split,      r_merge};

/* A region of `size` bytes (reserved, not resident until the arena touches it). */
static region_t *region_new(size_t size) {
    region_t *r = calloc(1, sizeof(*r));
    assert_ptr_not_null(r, "");
    r->hooks = region_hooks;
    r->page = page_size();
    r->size = size;
    r->npages = size / r->page;
    void *m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);
    assert_true(m != MAP_FAILED, "reserving the %zu MiB region", size / MiB);
    r->base = m;
    r->used = calloc(r->npages, 1);
    assert_ptr_not_null(r->used, "");
    pthread_mutex_init(&r->lock, NULL);
    atomic_init(&r->ind, UINT_MAX);
    atomic_init(&r->other_arena, UINT_MAX);
    return r;
}

static unsigned ncalls(region_t *r, int which) { return atomic_load(&r->calls[which]); }

static size_t region_in_use(region_t *r) {
    pthread_mutex_lock(&r->lock);
    size_t n = r->in_use;
    pthread_mutex_unlock(&r->lock);
    return n;
}

static void print_calls(const char *when, region_t *r) {
    printf("    %s:", when);
    for (int k = 0; k < H_N; k++) printf(" %s %u", hook_names[k], ncalls(r, k));
    printf("; in use %zu KiB\n", region_in_use(r) / KiB);
}

/* After the arena is destroyed: everything came back and nobody broke the contract. */
static void region_done(region_t *r) {
    expect_zu_eq(region_in_use(r), 0, "the arena gave every page back");
    expect_u_eq(atomic_load(&r->bad_args), 0, "hook arguments broke the contract");
    expect_u_eq(atomic_load(&r->wrong_ind), 0, "hooks called with another arena's index");
    munmap(r->base, r->size);
    free(r->used);
    pthread_mutex_destroy(&r->lock);
    free(r);
}

/* ---- arenas ---- */

static unsigned arena_create(extent_hooks_t *hooks) {
    unsigned ind = UINT_MAX;
    size_t sz = sizeof(ind);
    int err = hooks != NULL ? mallctl("arenas.create", &ind, &sz, &hooks, sizeof(hooks))
                            : mallctl("arenas.create", &ind, &sz, NULL, 0);
    assert_d_eq(err, 0, "arenas.create");
    assert_u_lt(ind, MALLCTL_ARENAS_ALL, "");
    return ind;
}

static unsigned region_arena(region_t *r) {
    unsigned ind = arena_create(&r->hooks);
    atomic_store(&r->ind, ind);
    return ind;
}

static void arena_set_decay(unsigned ind, const char *which, ssize_t ms) {
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.%s_decay_ms", ind, which);
    expect_d_eq(mallctl(name, NULL, NULL, &ms, sizeof(ms)), 0, "%s = %zd", name, ms);
}

static int set_grow_limit(unsigned ind, size_t limit) {
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.retain_grow_limit", ind);
    return mallctl(name, NULL, NULL, &limit, sizeof(limit));
}

static size_t grow_limit(unsigned ind) {
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.retain_grow_limit", ind);
    return read_size(name);
}

static extent_hooks_t *hooks_of(unsigned ind) {
    char name[64];
    extent_hooks_t *h = NULL;
    size_t sz = sizeof(h);
    snprintf(name, sizeof(name), "arena.%u.extent_hooks", ind);
    expect_d_eq(mallctl(name, &h, &sz, NULL, 0), 0, "%s", name);
    return h;
}

/*
 * The arena's pages are exactly what the region handed out and still holds: active + dirty +
 * muzzy + retained (only meaningful while no hook gives ranges back behind the arena's back and
 * no other thread is allocating).
 */
static void expect_accounting(region_t *r, unsigned ind) {
    size_t page = page_size();
    size_t pages = arena_stat(ind, "pactive") + arena_stat(ind, "pdirty") + arena_stat(ind, "pmuzzy");
    expect_zu_eq(pages * page + arena_stat(ind, "retained"), region_in_use(r),
                 "arena %u: (pactive + pdirty + pmuzzy) pages + retained = the region's bytes",
                 ind);
}

static void *aalloc(unsigned ind, size_t size) { return mallocx(size, FLAGS(ind)); }
static void afree(void *p) { dallocx(p, MALLOCX_TCACHE_NONE); }

/* mallocx that must fail: NULL and errno ENOMEM. */
static void expect_enomem(unsigned ind, size_t size) {
    errno = 0;
    void *p = aalloc(ind, size);
    expect_ptr_null(p, "%zu bytes from arena %u", size, ind);
    expect_d_eq(errno, ENOMEM, "errno after the failed mallocx(%zu)", size);
    if (p != NULL) afree(p);
}

static void expect_inside(region_t *r, void *p, size_t size) {
    expect_true(p != NULL && in_region(r, p, sallocx(p, 0)), "%p (%zu bytes) in [%p, %p)", p, size,
                (void *)r->base, (void *)(r->base + r->size));
}

/* ---- growth, split, merge ---- */

TEST_BEGIN(test_growth_split_merge) {
    region_t *r = region_new(64 * MiB);
    unsigned ind = region_arena(r);
    expect_ptr_eq(hooks_of(ind), &r->hooks, "arena.%u.extent_hooks reads the hooks given", ind);
    expect_u_eq(ncalls(r, H_ALLOC), 0, "creating the arena maps nothing");

    /* The first allocation grows the arena by its first step; the slab is split off it. */
    void *small = aalloc(ind, 64);
    expect_inside(r, small, 64);
    expect_u_eq(ncalls(r, H_ALLOC), 1, "one growth step");
    expect_zu_eq(r->alloc_sizes[0], 2 * MiB, "the first step is 2 MiB");
    expect_u_ge(ncalls(r, H_SPLIT), 1, "the slab is carved out of the step");
    void *large = aalloc(ind, 256 * KiB);
    expect_inside(r, large, 256 * KiB);
    expect_u_eq(ncalls(r, H_ALLOC), 1, "served from the rest of the step");

    /* More than the step has left: the next step, twice as large. */
    void *big = aalloc(ind, 3 * MiB);
    expect_inside(r, big, 3 * MiB);
    expect_u_eq(ncalls(r, H_ALLOC), 2, "");
    expect_zu_eq(r->alloc_sizes[1], 4 * MiB, "the second step doubles");

    /* Neighbours freed together coalesce: the merge hook. */
    enum { N = 16 };
    void *ps[N];
    for (int k = 0; k < N; k++) {
        ps[k] = aalloc(ind, 64 * KiB);
        expect_inside(r, ps[k], 64 * KiB);
    }
    unsigned merges = ncalls(r, H_MERGE);
    for (int k = 0; k < N; k++) afree(ps[k]);
    expect_u_gt(ncalls(r, H_MERGE), merges, "freed neighbours were merged");
    expect_zu_gt(arena_stat(ind, "pdirty"), 0, "freed pages are dirty (decay 10 s)");
    expect_accounting(r, ind);

    /* Growing a large allocation in place takes the free pages after it (merge); shrinking
     * it gives its tail back (split). */
    void *x = aalloc(ind, 64 * KiB);
    expect_inside(r, x, 64 * KiB);
    void *after = aalloc(ind, 64 * KiB); /* the pages right after x, most likely */
    afree(after);
    merges = ncalls(r, H_MERGE);
    if (xallocx(x, 128 * KiB, 0, FLAGS(ind)) >= 128 * KiB) {
        expect_u_gt(ncalls(r, H_MERGE), merges, "grown in place: merged with its neighbour");
        expect_inside(r, x, 128 * KiB);
    } else {
        printf("    xallocx could not grow in place (no free neighbour)\n");
    }
    unsigned splits = ncalls(r, H_SPLIT);
    expect_zu_lt(xallocx(x, 20 * KiB, 0, FLAGS(ind)), 64 * KiB, "shrunk in place");
    expect_u_gt(ncalls(r, H_SPLIT), splits, "the tail was split off");
    afree(x);

    afree(small);
    afree(large);
    afree(big);
    expect_accounting(r, ind);
    print_calls("after growth", r);
    unsigned destroys = ncalls(r, H_DESTROY);
    arena_destroy(ind);
    expect_u_gt(ncalls(r, H_DESTROY), destroys, "destroy hands the retained pages back");
    region_done(r);
}
TEST_END

TEST_BEGIN(test_every_pointer_in_region) {
    region_t *r = region_new(64 * MiB);
    unsigned ind = region_arena(r);
    enum { NMAX = 512 };
    void *ps[NMAX];
    unsigned n = 0;
    /* Every small class, a few times, and large sizes from 16 KiB to 4 MiB. */
    unsigned nbins = read_unsigned("arenas.nbins");
    for (unsigned j = 0; j < nbins; j++) {
        char name[64];
        snprintf(name, sizeof(name), "arenas.bin.%u.size", j);
        size_t size = read_size(name);
        for (int k = 0; k < 3 && n < NMAX; k++) {
            ps[n] = aalloc(ind, size);
            expect_inside(r, ps[n], size);
            if (ps[n] != NULL) memset(ps[n], 0x5a, size);
            n++;
        }
    }
    for (size_t size = 16 * KiB; size <= 4 * MiB; size *= 2) {
        for (int k = 0; k < 2 && n < NMAX; k++) {
            ps[n] = aalloc(ind, size + (size_t)k * 1000);
            expect_inside(r, ps[n], size);
            if (ps[n] != NULL) memset(ps[n], 0x5a, size);
            n++;
        }
    }
    /* Aligned allocations and a reallocation that moves (MALLOCX_ARENA keeps it in the arena). */
    static const size_t aligns[] = {64 * KiB, 1 * MiB, 2 * MiB};
    for (size_t k = 0; k < sizeof(aligns) / sizeof(aligns[0]); k++) {
        void *p = mallocx(100 * KiB, FLAGS(ind) | MALLOCX_ALIGN(aligns[k]));
        expect_inside(r, p, 100 * KiB);
        expect_zx_eq((size_t)(uintptr_t)p & (aligns[k] - 1), 0, "aligned to %zu", aligns[k]);
        ps[n++] = p;
    }
    void *p = aalloc(ind, 100);
    assert_ptr_not_null(p, "");
    memset(p, 7, 100);
    p = rallocx(p, 300 * KiB, FLAGS(ind));
    expect_inside(r, p, 300 * KiB);
    if (p != NULL) {
        expect_zu_eq(test_find_not(p, 100, 7), SIZE_MAX, "rallocx kept the contents");
        ps[n++] = p;
    }
    expect_accounting(r, ind);
    expect_u_eq(atomic_load(&r->alloc_failed), 0, "64 MiB were enough");
    for (unsigned k = 0; k < n; k++) {
        if (ps[k] != NULL) afree(ps[k]);
    }
    print_calls("after every size", r);
    arena_destroy(ind);
    region_done(r);
}
TEST_END

/* ---- purging ---- */

/* Allocates and frees n large blocks of `size` bytes (touched), leaving them dirty. */
static void churn(region_t *r, unsigned ind, unsigned n, size_t size) {
    void *ps[64];
    assert_u_le(n, 64, "");
    for (unsigned k = 0; k < n; k++) {
        ps[k] = aalloc(ind, size);
        expect_inside(r, ps[k], size);
        if (ps[k] != NULL) memset(ps[k], 0xee, size);
    }
    for (unsigned k = 0; k < n; k++) {
        if (ps[k] != NULL) afree(ps[k]);
    }
}

TEST_BEGIN(test_purge_cascade) {
    region_t *r = region_new(64 * MiB);
    unsigned ind = region_arena(r);
    churn(r, ind, 8, 512 * KiB);
    size_t pdirty = arena_stat(ind, "pdirty");
    expect_zu_ge(pdirty, 8 * 512 * KiB / page_size(), "freed, still dirty (decay 10 s)");
    size_t retained0 = arena_stat(ind, "retained");
    unsigned dalloc0 = ncalls(r, H_DALLOC), decommit0 = ncalls(r, H_DECOMMIT);
    unsigned forced0 = ncalls(r, H_PURGE_FORCED), lazy0 = ncalls(r, H_PURGE_LAZY);

    /* dalloc keeps the range (true), decommit opts out, purge_forced does it. */
    expect_d_eq(arena_cmd(ind, "purge"), 0, "");
    expect_u_gt(ncalls(r, H_DALLOC), dalloc0, "the cascade starts with dalloc");
    expect_u_gt(ncalls(r, H_DECOMMIT), decommit0, "dalloc kept it: decommit next");
    expect_u_gt(ncalls(r, H_PURGE_FORCED), forced0, "decommit opted out: purge_forced");
    expect_u_eq(ncalls(r, H_PURGE_LAZY), lazy0, "purge_forced succeeded: no purge_lazy");
    expect_zu_eq(arena_stat(ind, "pdirty"), 0, "");
    expect_zu_ge(arena_stat(ind, "retained"), retained0 + pdirty * page_size(),
                 "purged pages are retained (dalloc kept them)");
    expect_u64_ge(arena_stat_u64(ind, "dirty_purged"), pdirty, "");
    expect_u64_ge(arena_stat_u64(ind, "dirty_nmadvise"), 1, "");
    expect_accounting(r, ind);

    /* The purged memory is reused (no new growth step for the same sizes). */
    unsigned alloc0 = ncalls(r, H_ALLOC);
    churn(r, ind, 8, 512 * KiB);
    expect_u_eq(ncalls(r, H_ALLOC), alloc0, "retained pages reused");

    /* arena.<i>.decay with dirty_decay_ms 0 purges everything dirty. */
    arena_set_decay(ind, "dirty", 0);
    expect_zu_eq(arena_stat(ind, "pdirty"), 0, "setting 0 purges at once");
    dalloc0 = ncalls(r, H_DALLOC);
    forced0 = ncalls(r, H_PURGE_FORCED);
    churn(r, ind, 4, 256 * KiB);
    expect_u_gt(ncalls(r, H_DALLOC), dalloc0, "dirty_decay_ms 0: each free purges at once");
    expect_u_gt(ncalls(r, H_PURGE_FORCED), forced0, "");
    expect_zu_eq(arena_stat(ind, "pdirty"), 0, "");
    expect_d_eq(arena_cmd(ind, "decay"), 0, "");
    expect_zu_eq(arena_stat(ind, "pdirty"), 0, "");
    expect_accounting(r, ind);
    print_calls("after purging", r);
    arena_destroy(ind);
    region_done(r);
}
TEST_END

TEST_BEGIN(test_dalloc_gives_back) {
    region_t *r = region_new(64 * MiB);
    atomic_store(&r->dalloc_gives_back, true);
    unsigned ind = region_arena(r);
    churn(r, ind, 8, 1 * MiB);
    size_t in_use = region_in_use(r);
    size_t pdirty = arena_stat(ind, "pdirty");
    unsigned decommit0 = ncalls(r, H_DECOMMIT), forced0 = ncalls(r, H_PURGE_FORCED);
    expect_d_eq(arena_cmd(ind, "purge"), 0, "");
    expect_u_ge(ncalls(r, H_DALLOC), 1, "");
    expect_u_eq(ncalls(r, H_DECOMMIT), decommit0, "dalloc succeeded: the cascade ends there");
    expect_u_eq(ncalls(r, H_PURGE_FORCED), forced0, "");
    expect_zu_eq(arena_stat(ind, "pdirty"), 0, "");
    expect_zu_le(region_in_use(r), in_use - pdirty * page_size(),
                 "the purged pages went back to the region");
    expect_accounting(r, ind);
    /* And the arena grows again from the region when it needs to. */
    unsigned alloc0 = ncalls(r, H_ALLOC);
    churn(r, ind, 8, 1 * MiB);
    expect_u_gt(ncalls(r, H_ALLOC), alloc0, "unmapped memory is gone: new growth");
    arena_destroy(ind);
    region_done(r);
}
TEST_END

TEST_BEGIN(test_decommit_then_commit) {
    region_t *r = region_new(64 * MiB);
    atomic_store(&r->decommit_ok, true);
    unsigned ind = region_arena(r);
    churn(r, ind, 8, 1 * MiB);
    unsigned forced0 = ncalls(r, H_PURGE_FORCED);
    expect_d_eq(arena_cmd(ind, "purge"), 0, "");
    expect_u_ge(ncalls(r, H_DECOMMIT), 1, "dalloc kept it: decommit, which succeeds");
    expect_u_eq(ncalls(r, H_PURGE_FORCED), forced0, "decommitted: no purge_forced");
    /* Reusing decommitted pages needs commit first; take 1 MiB blocks until the arena does. */
    enum { N = 40 };
    void *ps[N];
    unsigned n = 0;
    while (n < N && ncalls(r, H_COMMIT) == 0) {
        ps[n] = mallocx(1 * MiB, FLAGS(ind) | MALLOCX_ZERO);
        expect_inside(r, ps[n], 1 * MiB);
        if (ps[n] == NULL) break;
        expect_zu_eq(test_find_not(ps[n], 1 * MiB, 0), SIZE_MAX, "MALLOCX_ZERO");
        n++;
    }
    expect_u_ge(ncalls(r, H_COMMIT), 1, "decommitted pages are committed before reuse");
    for (unsigned k = 0; k < n; k++) afree(ps[k]);
    expect_accounting(r, ind);
    arena_destroy(ind);
    region_done(r);
}
TEST_END

TEST_BEGIN(test_muzzy_purge_lazy) {
    region_t *r = region_new(64 * MiB);
    unsigned ind = region_arena(r);
    /* dirty 0, muzzy 10 s: a free purges lazily at once, the pages become muzzy. */
    arena_set_decay(ind, "muzzy", 10000);
    arena_set_decay(ind, "dirty", 0);
    churn(r, ind, 4, 1 * MiB);
    expect_u_ge(ncalls(r, H_PURGE_LAZY), 1, "muzzy_decay_ms > 0: purge_lazy first");
    expect_zu_eq(arena_stat(ind, "pdirty"), 0, "");
    size_t pmuzzy = arena_stat(ind, "pmuzzy");
    expect_zu_ge(pmuzzy, 4 * MiB / page_size(), "lazily purged pages are muzzy");
    unsigned dalloc0 = ncalls(r, H_DALLOC);
    expect_d_eq(arena_cmd(ind, "decay"), 0, "");
    expect_zu_gt(arena_stat(ind, "pmuzzy"), 0, "10 s window: still muzzy");
    expect_d_eq(arena_cmd(ind, "purge"), 0, "");
    expect_zu_eq(arena_stat(ind, "pmuzzy"), 0, "");
    expect_u_gt(ncalls(r, H_DALLOC), dalloc0, "muzzy pages leave through the cascade");
    expect_u64_ge(arena_stat_u64(ind, "muzzy_purged"), pmuzzy, "");

    /* Over time: dirty 50 ms; arena.<i>.decay once the window has passed purges lazily. */
    arena_set_decay(ind, "dirty", 50);
    unsigned lazy0 = ncalls(r, H_PURGE_LAZY);
    churn(r, ind, 4, 1 * MiB);
    expect_zu_gt(arena_stat(ind, "pdirty"), 0, "not at once");
    double end = test_now() + (test_under_tsan() ? 10 : 5);
    while (ncalls(r, H_PURGE_LAZY) == lazy0 && test_now() < end) {
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
        expect_d_eq(arena_cmd(ind, "decay"), 0, "");
    }
    expect_u_gt(ncalls(r, H_PURGE_LAZY), lazy0, "decay took the dirty pages to muzzy");
    expect_zu_gt(arena_stat(ind, "pmuzzy"), 0, "");
    expect_accounting(r, ind);
    print_calls("after muzzy", r);
    arena_destroy(ind);
    region_done(r);
}
TEST_END

/* ---- destroy ---- */

TEST_BEGIN(test_destroy_returns_everything) {
    region_t *r = region_new(64 * MiB);
    unsigned ind = region_arena(r);
    arena_set_decay(ind, "muzzy", 10000);
    /* Pages in every state: live small and large, dirty, muzzy, retained. */
    enum { N = 200 };
    void *ps[N];
    for (int k = 0; k < N; k++) {
        size_t size = k % 5 == 0 ? 96 * KiB : (size_t)(16 + 40 * k);
        ps[k] = aalloc(ind, size);
        expect_inside(r, ps[k], size);
    }
    for (int k = 0; k < N; k += 3) afree(ps[k]);    /* some free */
    expect_d_eq(arena_cmd(ind, "purge"), 0, "");   /* -> retained */
    for (int k = 1; k < N; k += 3) afree(ps[k]);    /* dirty */
    arena_set_decay(ind, "dirty", 0);               /* -> muzzy */
    void *more = aalloc(ind, 1 * MiB);              /* dirty again */
    expect_inside(r, more, 1 * MiB);
    arena_set_decay(ind, "dirty", 10000);
    afree(more);
    expect_zu_gt(region_in_use(r), 0, "");
    expect_accounting(r, ind);
    /* reset frees the live allocations but keeps every page (and the hooks). */
    size_t in_use = region_in_use(r);
    expect_d_eq(arena_cmd(ind, "reset"), 0, "");
    expect_zu_eq(arena_stat(ind, "small.allocated") + arena_stat(ind, "large.allocated"), 0, "");
    expect_zu_eq(region_in_use(r), in_use, "reset gives nothing back to the hooks");
    expect_ptr_eq(hooks_of(ind), &r->hooks, "");
    expect_accounting(r, ind);
    for (int k = 0; k < N; k++) {
        size_t size = k % 5 == 0 ? 96 * KiB : (size_t)(16 + 40 * k);
        ps[k] = aalloc(ind, size);
        expect_inside(r, ps[k], size);
    }
    for (int k = 0; k < N; k += 2) afree(ps[k]);
    unsigned destroy0 = ncalls(r, H_DESTROY);
    arena_destroy(ind); /* with half of them still live */
    expect_u_gt(ncalls(r, H_DESTROY), destroy0, "");
    print_calls("after destroy", r);
    region_done(r);
}
TEST_END

/* ---- exhaustion ---- */

TEST_BEGIN(test_region_exhaustion) {
    region_t *r = region_new(64 * MiB);
    unsigned ind = region_arena(r);
    enum { N = 80 };
    void *ps[N];
    unsigned n = 0;
    errno = 0;
    while (n < N && (ps[n] = aalloc(ind, 1 * MiB)) != NULL) {
        expect_inside(r, ps[n], 1 * MiB);
        n++;
    }
    expect_u_lt(n, N, "64 MiB run out");
    expect_d_eq(errno, ENOMEM, "the failed mallocx sets ENOMEM");
    expect_zu_ge(n * MiB, 48 * MiB, "most of the region was usable (%u MiB blocks)", n);
    expect_u_ge(atomic_load(&r->alloc_failed), 1, "the alloc hook said no");
    expect_enomem(ind, 1 * MiB);
    expect_enomem(ind, 8 * MiB);
    /* The arena is still fine: freeing one block makes room for the next. */
    assert_u_gt(n, 0, "");
    afree(ps[--n]);
    ps[n] = aalloc(ind, 1 * MiB);
    expect_inside(r, ps[n], 1 * MiB);
    if (ps[n] != NULL) n++;
    void *s = aalloc(ind, 32);
    if (s != NULL) afree(s); /* may or may not fit: a new slab needs pages */
    for (unsigned k = 0; k < n; k++) afree(ps[k]);
    /* Everything free again: large and small allocations work. */
    void *a = aalloc(ind, 4 * MiB), *b = aalloc(ind, 32);
    expect_inside(r, a, 4 * MiB);
    expect_inside(r, b, 32);
    afree(a);
    afree(b);
    expect_accounting(r, ind);
    arena_destroy(ind);
    region_done(r);
}
TEST_END

/* ---- statistics ---- */

/* The small class (bin) index of size. */
static unsigned bin_of(size_t size) {
    unsigned nbins = read_unsigned("arenas.nbins");
    for (unsigned j = 0; j < nbins; j++) {
        char name[64];
        snprintf(name, sizeof(name), "arenas.bin.%u.size", j);
        if (read_size(name) >= size) return j;
    }
    return nbins;
}

TEST_BEGIN(test_arena_stats) {
    region_t *r = region_new(64 * MiB);
    unsigned ind = region_arena(r);
    enum { NS = 100, NL = 10 };
    void *s[NS], *l[NL];
    uint64_t snm = arena_stat_u64(ind, "small.nmalloc"), lnm = arena_stat_u64(ind, "large.nmalloc");
    uint64_t snd = arena_stat_u64(ind, "small.ndalloc"), lnd = arena_stat_u64(ind, "large.ndalloc");
    for (int k = 0; k < NS; k++) s[k] = aalloc(ind, 64);
    for (int k = 0; k < NL; k++) l[k] = aalloc(ind, 128 * KiB);
    expect_zu_eq(arena_stat(ind, "small.allocated"), NS * 64, "");
    expect_zu_eq(arena_stat(ind, "large.allocated"), NL * 128 * KiB, "");
    expect_u64_eq(arena_stat_u64(ind, "small.nmalloc") - snm, NS, "");
    expect_u64_eq(arena_stat_u64(ind, "large.nmalloc") - lnm, NL, "");
    expect_u64_ge(arena_stat_u64(ind, "small.nrequests"), NS, "");
    expect_u64_ge(arena_stat_u64(ind, "large.nrequests"), NL, "");
    char name[64];
    snprintf(name, sizeof(name), "bins.%u.curregs", bin_of(64));
    expect_zu_eq(arena_stat(ind, name), NS, "live regions of the 64-byte class");
    expect_zu_ge(arena_stat(ind, "pactive") * page_size(), NL * 128 * KiB + 64 * NS, "");
    expect_zu_ge(arena_stat(ind, "mapped"), arena_stat(ind, "pactive") * page_size(), "");
    expect_u_gt(read_unsigned("arenas.narenas"), ind, "");
    snprintf(name, sizeof(name), "stats.arenas.%u.nthreads", ind);
    expect_u_eq(read_unsigned(name), 0, "nobody is bound to this explicit arena");
    expect_accounting(r, ind);
    for (int k = 0; k < NS; k++) afree(s[k]);
    for (int k = 0; k < NL; k++) afree(l[k]);
    expect_zu_eq(arena_stat(ind, "small.allocated"), 0, "");
    expect_zu_eq(arena_stat(ind, "large.allocated"), 0, "");
    expect_u64_eq(arena_stat_u64(ind, "small.ndalloc") - snd, NS, "");
    expect_u64_eq(arena_stat_u64(ind, "large.ndalloc") - lnd, NL, "");
    /* The bin keeps its current slab, even empty (bin.c): at most that stays active. */
    snprintf(name, sizeof(name), "arenas.bin.%u.slab_size", bin_of(64));
    expect_zu_le(arena_stat(ind, "pactive") * page_size(), read_size(name), "");
    expect_accounting(r, ind);
    /* The merged view includes the explicit arena. */
    expect_zu_ge(arena_stat(MALLCTL_ARENAS_ALL, "retained"), arena_stat(ind, "retained"), "");
    arena_destroy(ind);
    region_done(r);
}
TEST_END

TEST_BEGIN(test_retain_grow_limit) {
    region_t *r = region_new(64 * MiB);
    unsigned ind = region_arena(r);
    expect_zu_eq(grow_limit(ind), 1u << 30, "default: 1 GiB");
    size_t page = page_size();
    expect_d_eq(set_grow_limit(ind, 4 * MiB + 123), 0, "");
    expect_zu_eq(grow_limit(ind), 4 * MiB, "rounded down to pages");
    expect_d_eq(set_grow_limit(ind, page - 1), EINVAL, "below one page");
    expect_d_eq(set_grow_limit(ind, 0), EINVAL, "");
    expect_zu_eq(grow_limit(ind), 4 * MiB, "unchanged by the bad writes");
    int small = 1;
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.retain_grow_limit", ind);
    expect_d_eq(mallctl(name, NULL, NULL, &small, sizeof(small)), EINVAL, "wrong size");

    /* 40 MiB in 1 MiB blocks: the steps grow 2, 4, 4, 4 ... MiB, never more. */
    enum { N = 40 };
    void *ps[N];
    for (int k = 0; k < N; k++) {
        ps[k] = aalloc(ind, 1 * MiB);
        expect_inside(r, ps[k], 1 * MiB);
    }
    pthread_mutex_lock(&r->lock);
    size_t max = r->max_alloc_size;
    unsigned nsteps = r->nalloc_sizes;
    pthread_mutex_unlock(&r->lock);
    expect_zu_eq(max, 4 * MiB, "growth capped at retain_grow_limit");
    expect_u_ge(nsteps, 10, "so it took many steps");
    /* A request above the limit still works: it grows by what it needs. */
    void *big = aalloc(ind, 6 * MiB);
    expect_inside(r, big, 6 * MiB);
    pthread_mutex_lock(&r->lock);
    size_t last = r->alloc_sizes[r->nalloc_sizes - 1];
    pthread_mutex_unlock(&r->lock);
    expect_zu_ge(last, 6 * MiB, "");
    expect_zu_lt(last, 7 * MiB, "exactly the request (with its page of padding)");
    afree(big);
    for (int k = 0; k < N; k++) afree(ps[k]);
    arena_destroy(ind);
    expect_d_eq(set_grow_limit(ind, 8 * MiB), EFAULT, "destroyed arena");
    region_done(r);
}
TEST_END

/* ---- replacing hooks ---- */

TEST_BEGIN(test_replace_hooks_live) {
    region_t *a = region_new(64 * MiB), *b = region_new(64 * MiB);
    b->prev = &a->hooks;
    unsigned ind = region_arena(a);
    atomic_store(&b->ind, ind);
    enum { NA = 24, NB = 40 };
    void *old[NA], *fresh[NB];
    for (int k = 0; k < NA; k++) {
        old[k] = aalloc(ind, k % 2 ? 64 * KiB : 200);
        expect_inside(a, old[k], 64);
    }
    unsigned a_allocs = ncalls(a, H_ALLOC);

    char name[64];
    snprintf(name, sizeof(name), "arena.%u.extent_hooks", ind);
    extent_hooks_t *prev = NULL, *nh = &b->hooks;
    size_t sz = sizeof(prev);
    expect_d_eq(mallctl(name, &prev, &sz, &nh, sizeof(nh)), 0, "");
    expect_ptr_eq(prev, &a->hooks, "the write returns the old hooks");
    expect_ptr_eq(hooks_of(ind), &b->hooks, "");

    /* Allocate until the arena grows: the growth comes from the new hooks. */
    unsigned n = 0;
    while (n < NB && ncalls(b, H_ALLOC) == 0) {
        fresh[n] = aalloc(ind, 1 * MiB);
        assert_ptr_not_null(fresh[n], "");
        n++;
    }
    expect_u_ge(ncalls(b, H_ALLOC), 1, "growth goes through the new hooks");
    expect_u_eq(ncalls(a, H_ALLOC), a_allocs, "and not through the old ones");
    expect_inside(b, fresh[n - 1], 1 * MiB);
    /* Frees of the old memory still work (merges and purges of a's ranges reach a). */
    for (int k = 0; k < NA; k++) afree(old[k]);
    for (unsigned k = 0; k < n; k++) afree(fresh[k]);
    expect_d_eq(arena_cmd(ind, "purge"), 0, "");
    expect_u_ge(atomic_load(&b->forwarded), 1, "old ranges were passed on to the old hooks");
    expect_u_ge(ncalls(a, H_DALLOC) + ncalls(a, H_PURGE_FORCED), 1, "");
    print_calls("old hooks", a);
    print_calls("new hooks", b);
    arena_destroy(ind);
    region_done(b);
    region_done(a);
}
TEST_END

/* ---- hooks that allocate ---- */

TEST_BEGIN(test_hooks_that_allocate) {
    unsigned other = arena_create(NULL);
    region_t *r = region_new(64 * MiB);
    atomic_store(&r->other_arena, other);
    atomic_store(&r->allocate_inside, true);
    unsigned ind = region_arena(r);
    atomic_store(&r->same_arena_inside, true);
    enum { N = 300 };
    void *ps[N];
    for (int k = 0; k < N; k++) {
        size_t size = k % 4 == 0 ? (size_t)(20 + k) * KiB : (size_t)(8 + 24 * k);
        ps[k] = aalloc(ind, size);
        expect_inside(r, ps[k], size);
    }
    for (int k = 0; k < N; k += 2) afree(ps[k]);
    expect_d_eq(arena_cmd(ind, "decay"), 0, "");
    expect_d_eq(arena_cmd(ind, "purge"), 0, "");
    arena_set_decay(ind, "muzzy", 10000);
    arena_set_decay(ind, "dirty", 0); /* every free purges (lazily) at once, from inside free */
    for (int k = 1; k < N; k += 2) afree(ps[k]);
    expect_d_eq(arena_cmd(ind, "purge"), 0, "");
    expect_u_ge(atomic_load(&r->inside_allocs), 5, "the hooks allocated");
    print_calls("allocating hooks", r);
    /* The arena is going away: its own hooks must not allocate from it any more. */
    atomic_store(&r->same_arena_inside, false);
    arena_destroy(ind);
    region_done(r);
    arena_destroy(other);
}
TEST_END

/* Threads allocating from one hooked arena while another purges, all hooks allocating too. */
typedef struct {
    unsigned ind;
    region_t *r;
    atomic_bool *stop;
    uint64_t seed;
    unsigned long checked;
} worker_t;

static void *worker(void *arg) {
    worker_t *w = arg;
    test_prng_t prng;
    test_prng_init(&prng, w->seed);
    enum { NH = 48 };
    void *held[NH] = {NULL};
    size_t sizes[NH] = {0};
    for (unsigned step = 0; step < 300 || !atomic_load(w->stop); step++) {
        unsigned k = (unsigned)test_prng_range(&prng, NH);
        if (held[k] != NULL) {
            size_t bad = test_check_at(held[k], sizes[k], k, 0);
            expect_zu_eq(bad, SIZE_MAX, "live %zu-byte block changed at %zu", sizes[k], bad);
            afree(held[k]);
            held[k] = NULL;
            w->checked++;
        } else {
            size_t size = test_prng_range(&prng, 4) ? 1 + test_prng_range(&prng, 2048)
                                                     : 16 * KiB + test_prng_range(&prng, 200 * KiB);
            held[k] = aalloc(w->ind, size);
            assert_ptr_not_null(held[k], "%zu bytes", size);
            expect_true(in_region(w->r, held[k], size), "");
            sizes[k] = size;
            test_fill_at(held[k], size, k, 0);
        }
    }
    for (unsigned k = 0; k < NH; k++) {
        if (held[k] != NULL) afree(held[k]);
    }
    return NULL;
}

TEST_BEGIN(test_concurrent_hooked_arena) {
    unsigned other = arena_create(NULL);
    region_t *r = region_new(256 * MiB);
    atomic_store(&r->other_arena, other);
    atomic_store(&r->allocate_inside, true);
    unsigned ind = region_arena(r);
    atomic_store(&r->same_arena_inside, true);
    enum { NT = 3 };
    atomic_bool stop;
    atomic_init(&stop, false);
    worker_t ws[NT];
    pthread_t ts[NT];
    for (unsigned t = 0; t < NT; t++) {
        ws[t] = (worker_t){ind, r, &stop, test_seed() + t, 0};
        test_thread_create(&ts[t], worker, &ws[t]);
    }
    static const ssize_t settings[] = {0, 10, 10000};
    double end = test_now() + (test_under_tsan() ? 1.0 : 0.5);
    unsigned k = 0;
    for (; test_now() < end; k++) {
        switch (k % 4) {
        case 0: arena_set_decay(ind, "dirty", settings[(k / 4) % 3]); break;
        case 1: arena_set_decay(ind, "muzzy", settings[(k / 8) % 3]); break;
        case 2: expect_d_eq(arena_cmd(ind, "decay"), 0, ""); break;
        default: expect_d_eq(arena_cmd(ind, "purge"), 0, ""); break;
        }
    }
    atomic_store(&stop, true);
    unsigned long checked = 0;
    for (unsigned t = 0; t < NT; t++) {
        test_thread_join(ts[t], NULL);
        checked += ws[t].checked;
    }
    expect_true(checked > 100, "%lu blocks checked", checked);
    expect_accounting(r, ind);
    print_calls("concurrent", r);
    atomic_store(&r->same_arena_inside, false);
    arena_destroy(ind);
    region_done(r);
    arena_destroy(other);
}
TEST_END

/* ---- hooks that refuse or fail ---- */

/*
 * Allocations of every small class and a range of large sizes, all freed, reused, purged: what
 * must keep working whatever the hooks refuse. Returns the number of allocations made.
 */
static unsigned exercise(region_t *r, unsigned ind) {
    enum { NMAX = 128 };
    void *ps[NMAX];
    size_t sizes[NMAX];
    unsigned n = 0;
    size_t small_bytes = 0, large_bytes = 0, slab_bytes = 0;
    unsigned nbins = read_unsigned("arenas.nbins");
    for (unsigned j = 0; j < nbins && n < NMAX; j += 3) {
        char name[64];
        snprintf(name, sizeof(name), "arenas.bin.%u.size", j);
        sizes[n] = read_size(name);
        small_bytes += sizes[n];
        snprintf(name, sizeof(name), "arenas.bin.%u.slab_size", j);
        slab_bytes += read_size(name);
        n++;
    }
    for (size_t size = 16 * KiB; size <= 2 * MiB && n < NMAX; size *= 2) {
        sizes[n] = size;
        large_bytes += size;
        n++;
    }
    for (int round = 0; round < 2; round++) {
        for (unsigned k = 0; k < n; k++) {
            ps[k] = aalloc(ind, sizes[k]);
            expect_inside(r, ps[k], sizes[k]);
            if (ps[k] != NULL) test_fill(ps[k], sizes[k], k);
        }
        expect_zu_eq(arena_stat(ind, "small.allocated"), small_bytes, "round %d", round);
        expect_zu_eq(arena_stat(ind, "large.allocated"), large_bytes, "round %d", round);
        for (unsigned k = 0; k < n; k++) {
            if (ps[k] == NULL) continue;
            expect_zu_eq(test_check(ps[k], sizes[k], k), SIZE_MAX, "");
            afree(ps[k]);
        }
        expect_zu_eq(arena_stat(ind, "small.allocated"), 0, "");
        expect_zu_eq(arena_stat(ind, "large.allocated"), 0, "");
        /* Each bin keeps its current slab, even empty (bin.c): at most that stays active. */
        expect_zu_le(arena_stat(ind, "pactive") * page_size(), slab_bytes, "");
        expect_d_eq(arena_cmd(ind, "purge"), 0, "");
        expect_zu_eq(arena_stat(ind, "pdirty"), 0, "");
    }
    return n;
}

TEST_BEGIN(test_refused_split_and_merge) {
    /* Every refused split may cost a whole growth step (the arena grows instead of carving):
     * a large reservation (untouched: not resident) and a modest step cap keep it bounded. */
    region_t *r = region_new(1024 * MiB);
    atomic_store(&r->refuse_split, true);
    atomic_store(&r->refuse_merge, true);
    unsigned ind = region_arena(r);
    expect_d_eq(set_grow_limit(ind, 4 * MiB), 0, "");
    exercise(r, ind);
    expect_u_ge(ncalls(r, H_SPLIT), 1, "splits were asked for (and refused)");
    expect_accounting(r, ind);
    print_calls("refusing split/merge", r);
    arena_destroy(ind);
    region_done(r);
}
TEST_END

TEST_BEGIN(test_failing_alloc) {
    region_t *r = region_new(64 * MiB);
    atomic_store(&r->fail_alloc, true);
    unsigned ind = region_arena(r);
    expect_enomem(ind, 64);
    expect_u_eq(ncalls(r, H_ALLOC), 2, "the growth step, then exactly the size once more");
    expect_enomem(ind, 1 * MiB);
    expect_enomem(ind, 100 * MiB);
    /* The hook recovers: so does the arena. */
    atomic_store(&r->fail_alloc, false);
    void *s = aalloc(ind, 64), *l = aalloc(ind, 1 * MiB);
    expect_inside(r, s, 64);
    expect_inside(r, l, 1 * MiB);
    /* Failing again: what the arena has keeps serving, new growth fails cleanly. */
    atomic_store(&r->fail_alloc, true);
    void *s2 = aalloc(ind, 64);
    expect_inside(r, s2, 64);
    expect_enomem(ind, 8 * MiB);
    atomic_store(&r->fail_alloc, false);
    void *l2 = aalloc(ind, 8 * MiB);
    expect_inside(r, l2, 8 * MiB);
    afree(s);
    afree(s2);
    afree(l);
    afree(l2);
    /* Other arenas never noticed. */
    void *p = mallocx(1 * MiB, MALLOCX_TCACHE_NONE);
    expect_ptr_not_null(p, "");
    dallocx(p, MALLOCX_TCACHE_NONE);
    expect_accounting(r, ind);
    arena_destroy(ind);
    region_done(r);
}
TEST_END

TEST_BEGIN(test_alloc_state_honoured) {
    /* Pages the hook says are not zeroed: MALLOCX_ZERO must clear them. */
    region_t *r = region_new(64 * MiB);
    atomic_store(&r->dirty_pages, true);
    unsigned ind = region_arena(r);
    static const size_t sizes[] = {8, 100, 3000, 14336, 16 * KiB, 100 * KiB, 1 * MiB, 3 * MiB};
    enum { NS = sizeof(sizes) / sizeof(sizes[0]) };
    void *ps[NS];
    for (unsigned k = 0; k < NS; k++) {
        ps[k] = mallocx(sizes[k], FLAGS(ind) | MALLOCX_ZERO);
        expect_inside(r, ps[k], sizes[k]);
        if (ps[k] != NULL) {
            expect_zu_eq(test_find_not(ps[k], sizes[k], 0), SIZE_MAX,
                         "MALLOCX_ZERO on pages the hook did not zero (%zu bytes)", sizes[k]);
        }
    }
    for (unsigned k = 0; k < NS; k++) afree(ps[k]);
    arena_destroy(ind);
    region_done(r);

    /* Pages the hook hands out uncommitted: commit comes before they are used; a commit that
     * fails makes the allocation fail cleanly. */
    r = region_new(64 * MiB);
    atomic_store(&r->uncommitted, true);
    atomic_store(&r->fail_commit, true);
    ind = region_arena(r);
    expect_enomem(ind, 64);
    expect_enomem(ind, 1 * MiB);
    expect_u_ge(ncalls(r, H_COMMIT), 1, "commit was asked for");
    atomic_store(&r->fail_commit, false);
    unsigned commits = ncalls(r, H_COMMIT);
    void *s = aalloc(ind, 64), *l = aalloc(ind, 1 * MiB);
    expect_inside(r, s, 64);
    expect_inside(r, l, 1 * MiB);
    expect_u_gt(ncalls(r, H_COMMIT), commits, "committed before use");
    afree(s);
    afree(l);
    expect_accounting(r, ind);
    arena_destroy(ind);
    region_done(r);
}
TEST_END

TEST_BEGIN(test_null_members) {
    /* Only alloc and destroy: dalloc keeps, nothing decommits or purges, split and merge are
     * refused (NULL means "always opt out"). */
    region_t *r = region_new(1024 * MiB);
    r->hooks = (extent_hooks_t){r_alloc, NULL, r_destroy, NULL, NULL, NULL, NULL, NULL, NULL};
    unsigned ind = region_arena(r);
    expect_d_eq(set_grow_limit(ind, 4 * MiB), 0, "");
    exercise(r, ind);
    expect_accounting(r, ind);
    expect_u_ge(ncalls(r, H_ALLOC), 1, "");
    unsigned destroy0 = ncalls(r, H_DESTROY);
    arena_destroy(ind);
    expect_u_gt(ncalls(r, H_DESTROY), destroy0, "");
    region_done(r);

    /* A NULL alloc: every growth fails; the arena is still there and can be destroyed. */
    static extent_hooks_t no_alloc = {NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL};
    unsigned ind2 = arena_create(&no_alloc);
    expect_enomem(ind2, 64);
    expect_enomem(ind2, 1 * MiB);
    arena_destroy(ind2);
}
TEST_END

int main(void) {
    return run_tests(test_growth_split_merge, test_every_pointer_in_region, test_purge_cascade,
                     test_dalloc_gives_back, test_decommit_then_commit, test_muzzy_purge_lazy,
                     test_destroy_returns_everything, test_region_exhaustion, test_arena_stats,
                     test_retain_grow_limit, test_replace_hooks_live, test_hooks_that_allocate,
                     test_concurrent_hooked_arena, test_refused_split_and_merge,
                     test_failing_alloc, test_alloc_state_honoured, test_null_members);
}
