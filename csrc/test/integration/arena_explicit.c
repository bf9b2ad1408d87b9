/*
 * Explicit arenas and explicit thread caches with the default hooks (docs/mallctl.md; jemalloc
 * 5.3's arenas.create, arena.<i>.reset/destroy, tcache.*: reference notes §2.3, §2.4). Covered:
 *   - arenas.create: the next index, arenas.narenas grows, the default hooks, holes left by
 *     destroyed arenas are refilled; a write to an automatic index not created yet creates it;
 *   - MALLOCX_ARENA(i): small, large and huge (above oversize_threshold) allocations come from
 *     arena i (arenas.lookup), with or without the thread cache, also through rallocx; pointers
 *     of automatic arenas look up to their index; frees ignore MALLOCX_ARENA;
 *   - thread.arena binding to an explicit arena: malloc lands there (16 MiB too: no huge
 *     arena), stats.arenas.<i>.nthreads counts the thread until it exits or rebinds, destroy
 *     is refused (EFAULT) while it is bound;
 *   - arena.<i>.reset: every allocation freed (small/large allocated back to 0), the arena
 *     usable afterwards, also by a bound thread whose cache was flushed;
 *   - arena.<i>.destroy with live allocations: RSS, stats.mapped and stats.allocated come back
 *     (RSS skipped under TSan), stats.arenas.4097.* hold the destroyed counters with gauges at
 *     0, the arena's own stats disappear, the index is reused by the next arenas.create;
 *   - explicit tcaches: create / flush / destroy, MALLOCX_TCACHE(t) round trips, fills from
 *     MALLOCX_ARENA's arena (rebinding when it changes) or else the calling thread's arena,
 *     also after the arena it was last filled from is destroyed (in a child), index reuse;
 *   - bad input, every error code asserted: MALLOCX_ARENA of nonexistent and destroyed arenas
 *     (NULL + ENOMEM), reset/destroy of arena 0, ALL, DESTROYED, the huge arena and unused
 *     indices, a NULL extent_hooks write, arenas.create with a wrong size (nothing created),
 *     unknown tcaches, tcache.create without a read or with a wrong size (no cache used up);
 *     the keys of a destroyed arena (EFAULT), thread.arena to it (EAGAIN);
 *   - four threads, each creating its own arena and churning in it, destroyed by the main
 *     thread afterwards; four threads creating and destroying arenas (with live allocations)
 *     while the main thread takes statistics snapshots;
 *   - the limits: 4095 arena indices and 4093 explicit caches, then EAGAIN (last: the ~200 MiB
 *     of metadata they take stays with the process).
 * arena_explicit.conf: narenas:16, so that automatic arena 15 stays uncreated (no test starts
 * that many threads) and the huge arena is index 16. Background threads stay on (the default):
 * destroy must get along with them.
 */
#include "arenalloc.h"
#include "test.h"
#include "ctl_read.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define NONE MALLOCX_TCACHE_NONE

/* ---- helpers ---- */

static unsigned narenas(void) { return read_unsigned("arenas.narenas"); }

static unsigned arena_create(void) {
    unsigned ind = UINT_MAX;
    size_t sz = sizeof(ind);
    assert_d_eq(mallctl("arenas.create", &ind, &sz, NULL, 0), 0, "arenas.create");
    assert_u_lt(ind, MALLCTL_ARENAS_ALL, "");
    return ind;
}

static int read_hooks(unsigned ind, extent_hooks_t **h) {
    char name[64];
    size_t sz = sizeof(*h);
    snprintf(name, sizeof(name), "arena.%u.extent_hooks", ind);
    return mallctl(name, h, &sz, NULL, 0);
}

static int write_hooks(unsigned ind, extent_hooks_t *h) {
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.extent_hooks", ind);
    return mallctl(name, NULL, NULL, &h, sizeof(h));
}

static extent_hooks_t *default_hooks(void) {
    extent_hooks_t *h = NULL;
    expect_d_eq(read_hooks(0, &h), 0, "arena.0.extent_hooks");
    return h;
}

/* The arena that owns p (arenas.lookup). */
static unsigned lookup(void *p) {
    unsigned ind = UINT_MAX;
    size_t sz = sizeof(ind);
    expect_d_eq(mallctl("arenas.lookup", &ind, &sz, &p, sizeof(p)), 0, "arenas.lookup(%p)", p);
    return ind;
}

static unsigned thread_arena(void) { return read_unsigned("thread.arena"); }

static int bind(unsigned ind) { return mallctl("thread.arena", NULL, NULL, &ind, sizeof(ind)); }

/* A counter of stats.arenas.4097, 0 while no arena was ever destroyed (the key is ENOENT). */
static uint64_t destroyed_u64(const char *field) {
    char name[96];
    uint64_t v = 0;
    size_t sz = sizeof(v);
    epoch_advance();
    snprintf(name, sizeof(name), "stats.arenas.4097.%s", field);
    int err = mallctl(name, &v, &sz, NULL, 0);
    expect_true(err == 0 || err == ENOENT, "%s: %d", name, err);
    return err == 0 ? v : 0;
}

static bool arena_initialized(unsigned ind) {
    char name[64];
    epoch_advance();
    snprintf(name, sizeof(name), "arena.%u.initialized", ind);
    return read_bool(name);
}

/* mallocx that must fail: NULL and errno ENOMEM. */
static void expect_enomem(size_t size, int flags, const char *what) {
    errno = 0;
    void *p = mallocx(size, flags);
    expect_ptr_null(p, "%s (%zu bytes)", what, size);
    expect_d_eq(errno, ENOMEM, "errno: %s", what);
    if (p != NULL) dallocx(p, NONE);
}

/* ---- creation ---- */

TEST_BEGIN(test_create) {
    extent_hooks_t *def = default_hooks();
    expect_ptr_not_null(def, "arena 0 reads the default table");
    unsigned n0 = narenas(), mine = thread_arena();
    unsigned a = arena_create();
    expect_u_eq(a, n0, "the first explicit arena takes the next index");
    expect_u_eq(narenas(), n0 + 1, "arenas.narenas grows");
    unsigned b = arena_create();
    expect_u_eq(b, n0 + 1, "");
    expect_u_eq(narenas(), n0 + 2, "");
    extent_hooks_t *h = NULL;
    expect_d_eq(read_hooks(a, &h), 0, "");
    expect_ptr_eq(h, def, "created without hooks: the default ones");
    expect_true(arena_initialized(a), "");
    char name[64];
    snprintf(name, sizeof(name), "stats.arenas.%u.nthreads", a);
    expect_u_eq(read_unsigned(name), 0, "explicit arenas get no threads by themselves");
    expect_u_eq(thread_arena(), mine, "the creating thread stays where it was");

    /* Destroyed indices leave holes; arenas.create fills them before growing. */
    arena_destroy(a);
    arena_destroy(b);
    expect_u_eq(narenas(), n0 + 2, "holes do not shrink arenas.narenas");
    expect_false(arena_initialized(a), "");
    unsigned c = arena_create(), d = arena_create(), e = arena_create();
    expect_true((c == a && d == b) || (c == b && d == a), "holes %u, %u reused: got %u, %u", a,
                b, c, d);
    expect_u_eq(e, n0 + 2, "then the next index");
    expect_u_eq(narenas(), n0 + 3, "");
    arena_destroy(c);
    arena_destroy(d);
    arena_destroy(e);

    /* An automatic index not created yet (narenas:16, so 15): reading its hooks is EFAULT,
     * writing them creates it (jemalloc's rule). */
    unsigned last_auto = read_unsigned("opt.narenas") - 1;
    if (read_hooks(last_auto, &h) == EFAULT) {
        expect_d_eq(write_hooks(last_auto, def), 0, "creates automatic arena %u", last_auto);
        expect_d_eq(read_hooks(last_auto, &h), 0, "");
        expect_ptr_eq(h, def, "");
        expect_true(arena_initialized(last_auto), "");
    } else {
        printf("    automatic arena %u already exists: creation by write not checked\n",
               last_auto);
    }
}
TEST_END

/* ---- where allocations come from ---- */

TEST_BEGIN(test_mallocx_arena_and_lookup) {
    /* Automatic arenas: their own index. (Checked first: once objects of an explicit arena are
     * freed into this thread's cache -- rallocx below frees the old block that way -- malloc
     * may hand them out again, as in jemalloc.) */
    expect_d_eq(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0), 0, "");
    void *z = mallocx(100, MALLOCX_ARENA(0));
    void *m = arenalloc_malloc(100), *big = arenalloc_malloc(1 * MiB);
    assert_ptr_not_null(z, "");
    assert_ptr_not_null(m, "");
    assert_ptr_not_null(big, "");
    expect_u_eq(lookup(z), 0, "");
    expect_u_eq(lookup(m), thread_arena(), "malloc: the thread's arena");
    expect_u_eq(lookup(big), thread_arena(), "");

    unsigned a = arena_create();
    static const size_t sizes[] = {8, 100, 4096, 14336, 16 * KiB, 100 * KiB, 4 * MiB, 16 * MiB};
    enum { NS = sizeof(sizes) / sizeof(sizes[0]) };
    void *cached[NS], *uncached[NS];
    for (unsigned k = 0; k < NS; k++) {
        /* Explicit arenas never use the automatic thread cache, asked for or not. */
        cached[k] = mallocx(sizes[k], MALLOCX_ARENA(a));
        uncached[k] = mallocx(sizes[k], MALLOCX_ARENA(a) | NONE);
        assert_ptr_not_null(cached[k], "%zu", sizes[k]);
        assert_ptr_not_null(uncached[k], "%zu", sizes[k]);
        memset(cached[k], 1, sizes[k]);
        memset(uncached[k], 2, sizes[k]);
        expect_u_eq(lookup(cached[k]), a, "%zu bytes with MALLOCX_ARENA(%u)", sizes[k], a);
        expect_u_eq(lookup(uncached[k]), a, "%zu bytes, TCACHE_NONE", sizes[k]);
    }
    expect_zu_eq(nallocx(100, MALLOCX_ARENA(a)), 112, "");
    /* Reallocation with MALLOCX_ARENA stays in the arena across classes. */
    void *p = mallocx(100, MALLOCX_ARENA(a));
    assert_ptr_not_null(p, "");
    memset(p, 9, 100);
    p = rallocx(p, 64 * KiB, MALLOCX_ARENA(a));
    assert_ptr_not_null(p, "");
    expect_u_eq(lookup(p), a, "grown by rallocx");
    expect_zu_eq(test_find_not(p, 100, 9), SIZE_MAX, "contents kept");
    p = rallocx(p, 40, MALLOCX_ARENA(a));
    assert_ptr_not_null(p, "");
    expect_u_eq(lookup(p), a, "shrunk by rallocx");
    expect_zu_gt(arena_stat(a, "small.allocated"), 0, "");
    expect_zu_ge(arena_stat(a, "large.allocated"), 2 * (16 * MiB + 4 * MiB + 100 * KiB + 16 * KiB), "");

    /* Frees ignore MALLOCX_ARENA: the pointer knows its arena. */
    uint64_t nd = arena_stat_u64(a, "large.ndalloc");
    dallocx(uncached[NS - 1], MALLOCX_ARENA(0) | NONE);
    expect_u64_eq(arena_stat_u64(a, "large.ndalloc"), nd + 1, "freed to arena %u", a);
    sdallocx(uncached[0], sizes[0], MALLOCX_ARENA(0));
    for (unsigned k = 0; k < NS; k++) {
        arenalloc_free(cached[k]);
        if (k > 0 && k < NS - 1) dallocx(uncached[k], 0);
    }
    dallocx(p, 0);
    dallocx(z, 0);
    arenalloc_free(m);
    arenalloc_free(big);
    expect_d_eq(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0), 0, "");
    expect_zu_eq(arena_stat(a, "small.allocated"), 0, "everything went back to arena %u", a);
    expect_zu_eq(arena_stat(a, "large.allocated"), 0, "");
    arena_destroy(a);
}
TEST_END

/* ---- binding a thread ---- */

typedef struct {
    unsigned arena;
    pthread_barrier_t *barrier;
    unsigned small_owner, large_owner, huge_owner, bound;
    int bind_err;
} bound_job_t;

static void *bound_thread(void *arg) {
    bound_job_t *j = arg;
    j->bind_err = bind(j->arena);
    j->bound = thread_arena();
    /* 16 MiB is above oversize_threshold (8 MiB): threads on explicit arenas keep it too. */
    void *s = arenalloc_malloc(100), *l = arenalloc_malloc(1 * MiB);
    void *h = arenalloc_malloc(16 * MiB);
    if (s != NULL && l != NULL && h != NULL) {
        j->small_owner = lookup(s);
        j->large_owner = lookup(l);
        j->huge_owner = lookup(h);
    }
    arenalloc_free(h);
    pthread_barrier_wait(j->barrier); /* bound, with allocations live */
    pthread_barrier_wait(j->barrier); /* the main thread has looked */
    arenalloc_free(s);
    arenalloc_free(l);
    return NULL; /* leaving unbinds it and flushes its cache */
}

TEST_BEGIN(test_thread_binding) {
    unsigned a = arena_create();
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    bound_job_t job = {a, &barrier, UINT_MAX, UINT_MAX, UINT_MAX, UINT_MAX, -1};
    pthread_t t;
    test_thread_create(&t, bound_thread, &job);
    pthread_barrier_wait(&barrier);
    expect_d_eq(job.bind_err, 0, "thread.arena = %u", a);
    expect_u_eq(job.bound, a, "thread.arena reads it back");
    expect_u_eq(job.small_owner, a, "malloc of the bound thread comes from arena %u", a);
    expect_u_eq(job.large_owner, a, "");
    expect_u_eq(job.huge_owner, a, "not the huge arena");
    char name[64];
    snprintf(name, sizeof(name), "stats.arenas.%u.nthreads", a);
    epoch_advance();
    expect_u_eq(read_unsigned(name), 1, "one thread bound");
    expect_zu_gt(arena_stat(a, "small.allocated") + arena_stat(a, "large.allocated"), 1 * MiB, "");
    expect_d_eq(arena_cmd(a, "destroy"), EFAULT, "a thread is bound to it");
    expect_true(arena_initialized(a), "the refused destroy left it alone");
    pthread_barrier_wait(&barrier);
    test_thread_join(t, NULL);
    pthread_barrier_destroy(&barrier);
    epoch_advance();
    expect_u_eq(read_unsigned(name), 0, "the thread left");
    expect_zu_eq(arena_stat(a, "large.allocated"), 0, "");

    /* Rebinding counts too: this thread binds, allocates, goes back, and destroy is allowed. */
    unsigned mine = thread_arena();
    expect_d_eq(bind(a), 0, "");
    epoch_advance();
    expect_u_eq(read_unsigned(name), 1, "this thread now");
    expect_d_eq(arena_cmd(a, "destroy"), EFAULT, "bound");
    void *p = arenalloc_malloc(5000);
    assert_ptr_not_null(p, "");
    expect_u_eq(lookup(p), a, "");
    arenalloc_free(p);
    expect_d_eq(bind(mine), 0, "back to arena %u", mine);
    epoch_advance();
    expect_u_eq(read_unsigned(name), 0, "rebinding left it");
    arena_destroy(a); /* the object cached by this thread goes with the destroy's cache flush */
}
TEST_END

/* ---- creating and destroying from many threads ---- */

typedef struct {
    unsigned cycles, failures;
} cycle_job_t;

static void *create_destroy_thread(void *arg) {
    cycle_job_t *j = arg;
    for (unsigned c = 0; c < j->cycles; c++) {
        unsigned ind = UINT_MAX;
        size_t sz = sizeof(ind);
        if (mallctl("arenas.create", &ind, &sz, NULL, 0) != 0) {
            j->failures++;
            continue;
        }
        void *ps[16];
        for (int k = 0; k < 16; k++) {
            ps[k] = mallocx(k % 4 ? 200 : 100 * KiB, MALLOCX_ARENA(ind) | NONE);
            if (ps[k] == NULL) j->failures++;
            else memset(ps[k], k, 200);
        }
        for (int k = 0; k < 16; k += 2) {
            if (ps[k] != NULL) dallocx(ps[k], NONE);
        }
        if (arena_cmd(ind, "destroy") != 0) j->failures++; /* half still allocated */
    }
    return NULL;
}

TEST_BEGIN(test_create_destroy_concurrently) {
    enum { NT = 4 };
    cycle_job_t jobs[NT];
    pthread_t ts[NT];
    unsigned n0 = narenas();
    for (unsigned t = 0; t < NT; t++) {
        jobs[t] = (cycle_job_t){test_under_tsan() ? 30 : 100, 0};
        test_thread_create(&ts[t], create_destroy_thread, &jobs[t]);
    }
    /* Meanwhile: statistics snapshots walk the arena table and the destroyed arenas' merge. */
    for (int k = 0; k < 200; k++) {
        epoch_advance();
        (void)read_size("stats.mapped");
        size_t v;
        size_t sz = sizeof(v);
        int err = mallctl("stats.arenas.4097.pactive", &v, &sz, NULL, 0);
        expect_true(err == 0 || err == ENOENT, "%d", err);
        if (err == 0) expect_zu_eq(v, 0, "destroyed arenas have no active pages");
    }
    for (unsigned t = 0; t < NT; t++) {
        test_thread_join(ts[t], NULL);
        expect_u_eq(jobs[t].failures, 0, "thread %u", t);
    }
    expect_u_le(narenas(), n0 + NT, "indices were recycled (at most %u alive at once)", NT);
}
TEST_END

/* ---- reset ---- */

typedef struct {
    unsigned arena;
    pthread_barrier_t *barrier;
    unsigned failures;
} reset_job_t;

/* Bound to the arena, allocating through its thread cache; flushes before the reset (the
 * contract) and allocates again after it. */
static void *reset_thread(void *arg) {
    reset_job_t *j = arg;
    if (bind(j->arena) != 0) j->failures++;
    for (int k = 0; k < 200; k++) arenalloc_free(arenalloc_malloc(16 + (size_t)k));
    void *keep = arenalloc_malloc(48);
    if (mallctl("thread.tcache.flush", NULL, NULL, NULL, 0) != 0) j->failures++;
    pthread_barrier_wait(j->barrier); /* flushed: the main thread resets */
    pthread_barrier_wait(j->barrier);
    (void)keep; /* freed by the reset */
    for (int k = 0; k < 200; k++) {
        void *p = arenalloc_malloc(16 + (size_t)k);
        if (p == NULL) {
            j->failures++;
            continue;
        }
        if (lookup(p) != j->arena) j->failures++;
        memset(p, 3, 16 + (size_t)k);
        arenalloc_free(p);
    }
    return NULL;
}

TEST_BEGIN(test_reset) {
    unsigned a = arena_create();
    enum { NS = 300, NL = 20 };
    for (int k = 0; k < NS; k++) {
        void *p = mallocx(8 + (size_t)k * 40, MALLOCX_ARENA(a));
        assert_ptr_not_null(p, "");
        memset(p, 4, 8);
    }
    for (int k = 0; k < NL; k++) {
        void *p = mallocx(20 * KiB * (size_t)(k + 1), MALLOCX_ARENA(a));
        assert_ptr_not_null(p, "");
        memset(p, 4, 20 * KiB);
    }
    expect_zu_gt(arena_stat(a, "small.allocated"), 0, "");
    expect_zu_gt(arena_stat(a, "large.allocated"), 0, "");
    size_t pactive = arena_stat(a, "pactive");
    uint64_t nmalloc = arena_stat_u64(a, "small.nmalloc") + arena_stat_u64(a, "large.nmalloc");
    extent_hooks_t *h0 = NULL, *h1 = NULL;
    expect_d_eq(read_hooks(a, &h0), 0, "");

    expect_d_eq(arena_cmd(a, "reset"), 0, "arena.%u.reset", a);
    expect_zu_eq(arena_stat(a, "small.allocated"), 0, "every small allocation freed");
    expect_zu_eq(arena_stat(a, "large.allocated"), 0, "every large allocation freed");
    expect_zu_eq(arena_stat(a, "pactive"), 0, "no active page left");
    expect_zu_ge(arena_stat(a, "pdirty") + arena_stat(a, "pmuzzy"), pactive / 2,
                 "the freed pages are dirty (or already decaying)");
    expect_u64_ge(arena_stat_u64(a, "small.nmalloc") + arena_stat_u64(a, "large.nmalloc"), nmalloc,
                  "counters are kept");
    for (unsigned j = 0; j < 8; j++) {
        char field[64];
        snprintf(field, sizeof(field), "bins.%u.curregs", j);
        expect_zu_eq(arena_stat(a, field), 0, "%s", field);
    }
    expect_true(arena_initialized(a), "reset keeps the arena");
    expect_d_eq(read_hooks(a, &h1), 0, "");
    expect_ptr_eq(h1, h0, "and its hooks");

    /* Usable again. */
    void *s = mallocx(64, MALLOCX_ARENA(a)), *l = mallocx(3 * MiB, MALLOCX_ARENA(a));
    assert_ptr_not_null(s, "");
    assert_ptr_not_null(l, "");
    expect_u_eq(lookup(s), a, "");
    expect_u_eq(lookup(l), a, "");
    memset(l, 5, 3 * MiB);
    dallocx(s, 0);
    dallocx(l, 0);
    expect_d_eq(arena_cmd(a, "reset"), 0, "a second reset, nothing allocated");

    /* A bound thread that flushed its cache keeps working after a reset. */
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, 2);
    reset_job_t job = {a, &barrier, 0};
    pthread_t t;
    test_thread_create(&t, reset_thread, &job);
    pthread_barrier_wait(&barrier);
    expect_zu_gt(arena_stat(a, "small.allocated"), 0, "the thread's live block");
    expect_d_eq(arena_cmd(a, "reset"), 0, "with a bound thread (its cache flushed)");
    expect_zu_eq(arena_stat(a, "small.allocated"), 0, "");
    pthread_barrier_wait(&barrier);
    test_thread_join(t, NULL);
    pthread_barrier_destroy(&barrier);
    expect_u_eq(job.failures, 0, "the bound thread's allocations after the reset");
    arena_destroy(a);
}
TEST_END

/* ---- destroy ---- */

TEST_BEGIN(test_destroy_reclaims_memory) {
    expect_d_eq(arena_cmd(MALLCTL_ARENAS_ALL, "purge"), 0, "a quiet baseline");
    epoch_advance();
    size_t mapped0 = read_size("stats.mapped"), retained0 = read_size("stats.retained");
    size_t allocated0 = read_size("stats.allocated");
    size_t rss0 = test_rss_bytes();
    uint64_t dsmall0 = destroyed_u64("small.nmalloc"), dlarge0 = destroyed_u64("large.nmalloc");
    uint64_t dpurged0 = destroyed_u64("dirty_purged"), dfills0 = destroyed_u64("small.nfills");

    unsigned a = arena_create();
    enum { NMAX = 4096 };
    static void *ps[NMAX];
    unsigned n = 0, nsmall = 0, nlarge = 0, nlarge_freed = 0;
    size_t total = 0;
    test_prng_t prng;
    test_prng_init(&prng, test_seed());
    while (total < 64 * MiB && n < NMAX) {
        bool small = n % 3 == 0;
        size_t size = small ? 16 + (size_t)test_prng_range(&prng, 8000)
                            : 64 * KiB + (size_t)test_prng_range(&prng, 960 * KiB);
        ps[n] = mallocx(size, MALLOCX_ARENA(a) | NONE);
        assert_ptr_not_null(ps[n], "%zu bytes", size);
        memset(ps[n], 0x77, size);
        total += size;
        n++;
        if (small) nsmall++;
        else nlarge++;
    }
    for (unsigned k = 0; k < n; k += 4) { /* some dirty pages too */
        dallocx(ps[k], NONE);
        nlarge_freed += k % 3 != 0;
    }
    epoch_advance();
    size_t mapped1 = read_size("stats.mapped");
    size_t rss1 = test_rss_bytes();
    expect_zu_ge(mapped1, mapped0 + 48 * MiB, "stats.mapped counts the arena");

    arena_destroy(a); /* three quarters of it still allocated */
    epoch_advance();
    size_t mapped2 = read_size("stats.mapped"), retained2 = read_size("stats.retained");
    expect_zu_le(read_size("stats.allocated"), allocated0 + 64 * KiB,
                 "the live allocations went with the arena");
    size_t rss2 = test_rss_bytes();
    printf("    RSS %zu -> %zu -> %zu MiB; stats.mapped %zu -> %zu -> %zu MiB\n", rss0 / MiB,
           rss1 / MiB, rss2 / MiB, mapped0 / MiB, mapped1 / MiB, mapped2 / MiB);
    expect_zu_le(mapped2, mapped0 + 4 * MiB, "stats.mapped came back");
    expect_zu_le(retained2, retained0 + 4 * MiB, "nothing retained: destroy unmapped it all");
    if (!test_under_tsan()) {
        expect_zu_ge(rss1, rss0 + 40 * MiB, "the arena was resident");
        expect_zu_le(rss2, rss0 + 8 * MiB, "RSS came back");
    }

    /* Its counters live on in MALLCTL_ARENAS_DESTROYED; its gauges are 0 there. */
    expect_true(arena_initialized(MALLCTL_ARENAS_DESTROYED), "arena.4097.initialized");
    expect_u64_ge(destroyed_u64("small.nmalloc") - dsmall0, nsmall, "");
    expect_u64_ge(destroyed_u64("large.nmalloc") - dlarge0, nlarge, "");
    expect_u64_ge(destroyed_u64("large.ndalloc"), nlarge_freed, "");
    /* The destroy purged the freed (dirty) pages first: counted before the arena went. */
    expect_u64_gt(destroyed_u64("dirty_purged"), dpurged0, "the destroy's own purge is counted");
    expect_u64_eq(destroyed_u64("small.nfills"), dfills0, "no thread cache filled from it");
    static const char *const gauges[] = {"small.allocated", "large.allocated", "pactive",
                                         "pdirty", "pmuzzy", "retained"};
    for (size_t k = 0; k < sizeof(gauges) / sizeof(gauges[0]); k++) {
        expect_zu_eq(arena_stat(MALLCTL_ARENAS_DESTROYED, gauges[k]), 0, "stats.arenas.4097.%s",
                     gauges[k]);
    }
    /* The arena itself is gone. */
    expect_false(arena_initialized(a), "");
    char name[64];
    unsigned v;
    size_t sz = sizeof(v);
    snprintf(name, sizeof(name), "stats.arenas.%u.nthreads", a);
    expect_d_eq(mallctl(name, &v, &sz, NULL, 0), ENOENT, "no statistics for a destroyed arena");
    expect_u_eq(arena_create(), a, "the index is reused");
    arena_destroy(a);
}
TEST_END

/* ---- explicit thread caches ---- */

static unsigned tcache_create(void) {
    unsigned t = UINT_MAX;
    size_t sz = sizeof(t);
    assert_d_eq(mallctl("tcache.create", &t, &sz, NULL, 0), 0, "tcache.create");
    return t;
}

static int tcache_op(const char *what, unsigned t) {
    char name[32];
    snprintf(name, sizeof(name), "tcache.%s", what);
    return mallctl(name, NULL, NULL, &t, sizeof(t));
}

TEST_BEGIN(test_explicit_tcache) {
    unsigned t = tcache_create();
    int tf = MALLOCX_TCACHE(t);
    /* Round trips through the cache, small and large (within tcache_max). */
    size_t tmax = read_size("arenas.tcache_max");
    for (int k = 0; k < 2000; k++) {
        size_t size = k % 10 == 0 ? tmax : 8 + (size_t)(k % 50) * 16;
        void *p = mallocx(size, tf);
        assert_ptr_not_null(p, "");
        memset(p, k, size);
        if (k % 2) dallocx(p, tf);
        else sdallocx(p, size, tf);
    }
    void *p = mallocx(64, tf);
    assert_ptr_not_null(p, "");
    /* Without MALLOCX_ARENA a cache serves the calling thread's arena (tcache.h, as jemalloc). */
    expect_u_eq(lookup(p), thread_arena(), "no MALLOCX_ARENA: this thread's arena");
    dallocx(p, tf);
    expect_d_eq(tcache_op("flush", t), 0, "");

    /* With MALLOCX_ARENA: filled from that arena; another arena rebinds the cache. */
    unsigned a = arena_create(), b = arena_create();
    void *pa = mallocx(64, tf | MALLOCX_ARENA(a)), *la = mallocx(16 * KiB, tf | MALLOCX_ARENA(a));
    assert_ptr_not_null(pa, "");
    assert_ptr_not_null(la, "");
    expect_u_eq(lookup(pa), a, "");
    expect_u_eq(lookup(la), a, "");
    void *pb = mallocx(64, tf | MALLOCX_ARENA(b));
    assert_ptr_not_null(pb, "");
    expect_u_eq(lookup(pb), b, "the cache was rebound to arena %u", b);
    dallocx(pa, tf); /* arena a's objects into a cache now bound to b: the flush sorts it out */
    dallocx(la, tf);
    dallocx(pb, tf);
    expect_d_eq(tcache_op("flush", t), 0, "");
    expect_zu_eq(arena_stat(a, "small.allocated") + arena_stat(a, "large.allocated"), 0,
                 "the flush returned arena %u's objects to it", a);
    expect_zu_eq(arena_stat(b, "small.allocated"), 0, "");
    /* Without MALLOCX_ARENA again, an empty cache fills from this thread's arena. */
    p = mallocx(64, tf);
    assert_ptr_not_null(p, "");
    expect_u_eq(lookup(p), thread_arena(), "after the flush, no MALLOCX_ARENA: not arena %u", b);
    dallocx(p, tf);
    expect_d_eq(tcache_op("flush", t), 0, "");

    /* Destroy, reuse, errors. */
    expect_d_eq(tcache_op("destroy", t), 0, "");
    expect_d_eq(tcache_op("flush", t), EFAULT, "destroyed");
    expect_d_eq(tcache_op("destroy", t), EFAULT, "destroyed twice");
    unsigned t2 = tcache_create();
    expect_u_eq(t2, t, "the index is reused");
    enum { NT = 10 };
    unsigned ts[NT];
    for (int k = 0; k < NT; k++) {
        ts[k] = tcache_create();
        for (int j = 0; j < k; j++) expect_u_ne(ts[k], ts[j], "");
        expect_u_ne(ts[k], t2, "");
        void *q = mallocx(100, MALLOCX_TCACHE(ts[k]) | MALLOCX_ARENA(a));
        assert_ptr_not_null(q, "");
        dallocx(q, MALLOCX_TCACHE(ts[k]));
    }
    for (int k = 0; k < NT; k++) expect_d_eq(tcache_op("destroy", ts[k]), 0, "");
    expect_d_eq(tcache_op("destroy", t2), 0, "");
    expect_zu_eq(arena_stat(a, "small.allocated"), 0, "destroying the caches flushed them");

    arena_destroy(a);
    arena_destroy(b);
}
TEST_END

/*
 * A cache last filled from an explicit arena that is then destroyed (the cache flushed first,
 * as the contract asks) must not fill from it again, nor from an arena that reuses its index:
 * without MALLOCX_ARENA it fills from the calling thread's arena. In a child process, because
 * getting this wrong means flushing objects into a destroyed arena.
 */
static void tcache_outlives_arena(void *arg) {
    (void)arg;
    unsigned t = tcache_create(), a = arena_create();
    void *q = mallocx(64, MALLOCX_TCACHE(t) | MALLOCX_ARENA(a));
    assert_ptr_not_null(q, "");
    dallocx(q, MALLOCX_TCACHE(t));
    expect_d_eq(tcache_op("flush", t), 0, "");
    arena_destroy(a);
    for (int k = 0; k < 2; k++) {
        q = mallocx(64, MALLOCX_TCACHE(t));
        assert_ptr_not_null(q, "");
        expect_u_eq(lookup(q), thread_arena(), "%s", k == 0 ? "arena destroyed" : "index reused");
        dallocx(q, MALLOCX_TCACHE(t));
        expect_d_eq(tcache_op("flush", t), 0, "");
        if (k == 0) expect_u_eq(arena_create(), a, "index %u reused", a);
    }
    expect_d_eq(tcache_op("destroy", t), 0, "");
    arena_destroy(a);
}

TEST_BEGIN(test_tcache_outlives_arena) {
    char err[4096], st[64];
    int status = test_fork_run(tcache_outlives_arena, NULL, err, sizeof(err), 30);
    expect_true(status == 0, "child: %s; stderr:\n%s", test_status_str(status, st, sizeof(st)),
                err);
}
TEST_END

/* ---- bad input ---- */

TEST_BEGIN(test_bad_input) {
    unsigned n0 = narenas(), mine = thread_arena();
    /* arenas.create: the read is required, with exactly sizeof(unsigned). */
    unsigned ind = UINT_MAX;
    size_t sz = sizeof(ind) - 1;
    expect_d_eq(mallctl("arenas.create", &ind, &sz, NULL, 0), EINVAL, "short oldlen");
    uint64_t wide = 0;
    sz = sizeof(wide);
    expect_d_eq(mallctl("arenas.create", &wide, &sz, NULL, 0), EINVAL, "long oldlen");
    expect_d_eq(mallctl("arenas.create", NULL, NULL, NULL, 0), EINVAL, "no read");
    extent_hooks_t *def = default_hooks();
    expect_d_eq(mallctl("arenas.create", NULL, NULL, &def, sizeof(def)), EINVAL, "write only");
    sz = sizeof(ind);
    expect_d_eq(mallctl("arenas.create", &ind, &sz, &def, 3), EINVAL, "wrong newlen");
    expect_u_eq(narenas(), n0, "nothing was created");

    /* reset and destroy take explicit arenas only. */
    unsigned huge = read_unsigned("opt.narenas"); /* the huge arena's index (narenas:16) */
    static const char *const cmds[] = {"reset", "destroy"};
    for (int c = 0; c < 2; c++) {
        expect_d_eq(arena_cmd(0, cmds[c]), EFAULT, "arena.0.%s", cmds[c]);
        expect_d_eq(arena_cmd(1, cmds[c]), EFAULT, "arena.1.%s", cmds[c]);
        expect_d_eq(arena_cmd(MALLCTL_ARENAS_ALL, cmds[c]), EFAULT, "arena.4096.%s", cmds[c]);
        expect_d_eq(arena_cmd(MALLCTL_ARENAS_DESTROYED, cmds[c]), EFAULT, "arena.4097.%s",
                    cmds[c]);
        if (huge < n0) {
            expect_d_eq(arena_cmd(huge, cmds[c]), EFAULT, "the huge arena (%u)", huge);
        }
        expect_d_eq(arena_cmd(n0, cmds[c]), ENOENT, "index arenas.narenas");
    }
    unsigned a = arena_create();
    uint64_t u = 0;
    sz = sizeof(u);
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.destroy", a);
    expect_d_eq(mallctl(name, &u, &sz, NULL, 0), EPERM, "commands take no buffers");
    expect_d_eq(mallctl(name, NULL, NULL, &u, sizeof(u)), EPERM, "");

    /* A NULL hooks write; the hooks stay. */
    expect_d_eq(write_hooks(a, NULL), EINVAL, "NULL extent_hooks");
    extent_hooks_t *h = NULL;
    expect_d_eq(read_hooks(a, &h), 0, "");
    expect_ptr_eq(h, def, "unchanged");
    expect_d_eq(write_hooks(0, NULL), EINVAL, "");
    expect_d_eq(read_hooks(0, &h), 0, "");
    expect_ptr_eq(h, def, "");

    /* A destroyed arena: every key refuses, allocation fails cleanly. */
    arena_destroy(a);
    expect_d_eq(arena_cmd(a, "destroy"), EFAULT, "destroyed twice");
    expect_d_eq(arena_cmd(a, "reset"), EFAULT, "");
    expect_d_eq(read_hooks(a, &h), EFAULT, "extent_hooks of a destroyed arena");
    expect_d_eq(write_hooks(a, def), EFAULT, "");
    size_t limit = 1 * MiB;
    snprintf(name, sizeof(name), "arena.%u.retain_grow_limit", a);
    sz = sizeof(limit);
    expect_d_eq(mallctl(name, &limit, &sz, NULL, 0), EFAULT, "");
    expect_d_eq(mallctl(name, NULL, NULL, &limit, sizeof(limit)), EFAULT, "");
    expect_d_eq(bind(a), EAGAIN, "thread.arena to a destroyed index");
    expect_d_eq(bind(4000), EFAULT, "thread.arena beyond arenas.narenas");
    expect_u_eq(thread_arena(), mine, "the failed binds changed nothing");
    expect_enomem(64, MALLOCX_ARENA(a), "destroyed arena");
    expect_enomem(64, MALLOCX_ARENA(a) | NONE, "destroyed arena, no cache");
    expect_enomem(1 * MiB, MALLOCX_ARENA(a), "destroyed arena, large");
    expect_enomem(64, MALLOCX_ARENA(narenas()), "index arenas.narenas");
    expect_enomem(64, MALLOCX_ARENA(narenas() + 7), "beyond arenas.narenas");
    expect_enomem(1 * MiB, MALLOCX_ARENA(4000), "");
    expect_enomem(64, MALLOCX_ARENA(4094), "the largest index");
    unsigned tc = tcache_create();
    expect_enomem(64, MALLOCX_TCACHE(tc) | MALLOCX_ARENA(a), "explicit cache, destroyed arena");
    expect_d_eq(tcache_op("destroy", tc), 0, "");
    void *p = mallocx(100, 0);
    assert_ptr_not_null(p, "");
    memset(p, 6, 100);
    errno = 0;
    expect_ptr_null(rallocx(p, 5000, MALLOCX_ARENA(a)), "rallocx into a destroyed arena");
    expect_d_eq(errno, ENOMEM, "");
    expect_zu_eq(test_find_not(p, 100, 6), SIZE_MAX, "the original block is intact");
    dallocx(p, 0);
    expect_d_eq(read_hooks(n0 + 100, &h), ENOENT, "beyond arenas.narenas");

    /* Unknown explicit caches. */
    static const unsigned bad_tcaches[] = {0, 1, 4000, UINT_MAX};
    for (size_t k = 0; k < sizeof(bad_tcaches) / sizeof(bad_tcaches[0]); k++) {
        expect_d_eq(tcache_op("flush", bad_tcaches[k]), EFAULT, "tcache.flush %u",
                    bad_tcaches[k]);
        expect_d_eq(tcache_op("destroy", bad_tcaches[k]), EFAULT, "tcache.destroy %u",
                    bad_tcaches[k]);
    }
    /* A tcache.create that fails creates nothing: the index just freed is still the next one
     * (destroyed indices are reused last in, first out: test_explicit_tcache). */
    unsigned t = tcache_create();
    expect_d_eq(tcache_op("destroy", t), 0, "");
    unsigned t_bad = UINT_MAX;
    sz = sizeof(t_bad) + 1;
    expect_d_eq(mallctl("tcache.create", &t_bad, &sz, NULL, 0), EINVAL, "tcache.create oldlen");
    sz = sizeof(t_bad) - 2;
    expect_d_eq(mallctl("tcache.create", &t_bad, &sz, NULL, 0), EINVAL, "short oldlen");
    expect_d_eq(mallctl("tcache.create", NULL, NULL, NULL, 0), EINVAL, "no read");
    unsigned t_next = tcache_create();
    expect_u_eq(t_next, t, "the failed tcache.create calls used up no cache");
    expect_d_eq(tcache_op("destroy", t_next), 0, "");
    expect_d_eq(mallctl("tcache.flush", NULL, NULL, &t, 2), EINVAL, "tcache.flush newlen");
}
TEST_END

/* ---- threads, one arena each ---- */

typedef struct {
    unsigned arena;
    uint64_t seed;
    unsigned live, wrong_owner, corrupt;
} own_arena_t;

static void *own_arena_thread(void *arg) {
    own_arena_t *o = arg;
    o->arena = arena_create();
    int flags = MALLOCX_ARENA(o->arena) | NONE;
    test_prng_t prng;
    test_prng_init(&prng, o->seed);
    enum { NH = 64 };
    void *held[NH] = {NULL};
    size_t sizes[NH] = {0};
    unsigned steps = test_under_tsan() ? 4000 : 20000;
    for (unsigned s = 0; s < steps; s++) {
        unsigned k = (unsigned)test_prng_range(&prng, NH);
        if (held[k] != NULL) {
            if (test_check_at(held[k], sizes[k], k, 0) != SIZE_MAX) o->corrupt++;
            dallocx(held[k], flags);
            held[k] = NULL;
        } else {
            size_t size = test_prng_range(&prng, 16)
                              ? 1 + test_prng_range(&prng, 3000)
                              : 16 * KiB + test_prng_range(&prng, 200 * KiB);
            held[k] = mallocx(size, flags);
            assert_ptr_not_null(held[k], "");
            sizes[k] = size;
            test_fill_at(held[k], size, k, 0);
            if (s % 64 == 0 && lookup(held[k]) != o->arena) o->wrong_owner++;
        }
    }
    for (unsigned k = 0; k < NH; k++) o->live += held[k] != NULL; /* left for destroy */
    return NULL;
}

TEST_BEGIN(test_threads_own_arenas) {
    enum { NT = 4 };
    own_arena_t os[NT];
    pthread_t ts[NT];
    for (unsigned t = 0; t < NT; t++) {
        os[t] = (own_arena_t){UINT_MAX, test_seed() + t, 0, 0, 0};
        test_thread_create(&ts[t], own_arena_thread, &os[t]);
    }
    for (unsigned t = 0; t < NT; t++) test_thread_join(ts[t], NULL);
    for (unsigned t = 0; t < NT; t++) {
        expect_u_eq(os[t].wrong_owner, 0, "thread %u", t);
        expect_u_eq(os[t].corrupt, 0, "thread %u", t);
        for (unsigned u = 0; u < t; u++) expect_u_ne(os[t].arena, os[u].arena, "distinct");
        expect_zu_gt(arena_stat(os[t].arena, "small.allocated") + arena_stat(os[t].arena, "large.allocated"),
                     0, "thread %u left %u blocks", t, os[t].live);
    }
    epoch_advance();
    size_t mapped0 = read_size("stats.mapped");
    for (unsigned t = 0; t < NT; t++) arena_destroy(os[t].arena);
    epoch_advance();
    expect_zu_le(read_size("stats.mapped"), mapped0, "");
    for (unsigned t = 0; t < NT; t++) expect_false(arena_initialized(os[t].arena), "");
}
TEST_END

/* ---- limits (last: what they create stays as metadata) ---- */

TEST_BEGIN(test_limits) {
    /* Arenas: indices up to 4094, then EAGAIN with nothing half-created. */
    enum { MAXIDX = 4095 };
    static unsigned created[MAXIDX];
    unsigned n = 0;
    int err = 0;
    while (n < MAXIDX) {
        unsigned ind = UINT_MAX;
        size_t sz = sizeof(ind);
        err = mallctl("arenas.create", &ind, &sz, NULL, 0);
        if (err != 0) break;
        created[n++] = ind;
    }
    expect_d_eq(err, EAGAIN, "after %u arenas", n);
    expect_u_eq(narenas(), MAXIDX, "every index in use");
    void *p = mallocx(100, MALLOCX_ARENA(MAXIDX - 1) | NONE);
    expect_ptr_not_null(p, "the last index works");
    expect_u_eq(p != NULL ? lookup(p) : 0, MAXIDX - 1, "");
    if (p != NULL) dallocx(p, NONE);
    for (unsigned k = 0; k < n; k++) {
        if (arena_cmd(created[k], "destroy") != 0) {
            expect_not_reached("arena.%u.destroy", created[k]);
            break;
        }
    }
    unsigned again = arena_create();
    expect_u_lt(again, MAXIDX, "");
    arena_destroy(again);

    /* Explicit caches: 4093 of them (MALLOCX_TCACHE's range), then EAGAIN. */
    enum { MAXT = 4093 };
    static unsigned tcaches[MAXT + 1];
    unsigned nt = 0;
    while (nt <= MAXT) {
        unsigned t = UINT_MAX;
        size_t sz = sizeof(t);
        err = mallctl("tcache.create", &t, &sz, NULL, 0);
        if (err != 0) break;
        tcaches[nt++] = t;
    }
    expect_d_eq(err, EAGAIN, "");
    expect_u_eq(nt, MAXT, "explicit caches available");
    unsigned tmax = 0;
    for (unsigned k = 0; k < nt; k++) tmax = tcaches[k] > tmax ? tcaches[k] : tmax;
    expect_u_eq(tmax, MAXT - 1, "indices 0 .. 4092");
    p = mallocx(64, MALLOCX_TCACHE(tmax));
    expect_ptr_not_null(p, "the last cache works");
    if (p != NULL) dallocx(p, MALLOCX_TCACHE(tmax));
    for (unsigned k = 0; k < nt; k++) {
        if (tcache_op("destroy", tcaches[k]) != 0) {
            expect_not_reached("tcache.destroy %u", tcaches[k]);
            break;
        }
    }
    (void)tcache_create();
}
TEST_END

int main(void) {
    return run_tests(test_create, test_mallocx_arena_and_lookup, test_thread_binding, test_reset,
                     test_destroy_reclaims_memory, test_explicit_tcache,
                     test_tcache_outlives_arena, test_bad_input,
                     test_threads_own_arenas, test_create_destroy_concurrently, test_limits);
}
