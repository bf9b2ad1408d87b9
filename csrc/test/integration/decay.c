/*
 * Giving memory back (decay.conf: narenas:4, so that arenas 1-3 exist to be bound to whatever
 * the CPU count; decay times are the defaults: dirty 10 s, muzzy 0):
 *   - opt.* / arenas.* / arena.<i>.* decay keys: defaults, arenas.*_decay_ms is what arenas
 *     created later start with, arena.<i>.* reads and writes, MALLCTL_ARENAS_ALL;
 *   - arena.<i>.purge gives a 64 MiB burst (4-64 KiB pieces) back: pdirty 0, RSS near where it
 *     started, the purge counters move (per arena and merged), retained grows;
 *   - -1 never purges (ticks and arena.<i>.decay leave everything), but purge does;
 *   - two arenas with different settings (threads bound with thread.arena) behave differently;
 *   - decay over time: with dirty_decay_ms 200 and continued slow-path activity the burst goes
 *     back gradually within a bounded wait; without any activity nothing happens (no background
 *     threads yet), and activity afterwards completes it;
 *   - muzzy_decay_ms: dirty pages lazily purged become muzzy, purge takes them to retained;
 *   - bad input: values below -1 or too large, wrong sizes, commands with buffers, the destroyed
 *     and out-of-range indices: errors and nothing changes;
 *   - threads churning while another purges, decays and flips decay times: no live byte lost.
 * RSS bounds are generous (a busy 2-core machine) and skipped under TSan (its shadow memory
 * stays resident).
 */
#include "arenalloc.h"
#include "test.h"
#include "ctl_read.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)
#define DECAY_MS_MAX ((ssize_t)18446744072 * 1000)

static int write_ssize(const char *name, ssize_t v) {
    return mallctl(name, NULL, NULL, &v, sizeof(v));
}

static int cmd(const char *fmt, unsigned i) {
    char name[64];
    snprintf(name, sizeof(name), fmt, i);
    return mallctl(name, NULL, NULL, NULL, 0);
}

static void set_decay(unsigned arena, const char *which, ssize_t ms) {
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.%s_decay_ms", arena, which);
    expect_d_eq(write_ssize(name, ms), 0, "%s = %zd", name, ms);
}

static ssize_t get_decay(unsigned arena, const char *which) {
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.%s_decay_ms", arena, which);
    return read_ssize(name);
}

static void bind(unsigned arena) {
    expect_d_eq(mallctl("thread.arena", NULL, NULL, &arena, sizeof(arena)), 0, "bind to %u", arena);
}

static void flush_cache(void) {
    expect_d_eq(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0), 0, "");
}

/* ---- bursts ---- */

#define NMAX 8192
static void *ptrs[NMAX];
static size_t nptrs;

/* Allocates about `bytes` in pieces of lo..hi bytes (flags for mallocx) and touches them. */
static void burst_alloc(size_t bytes, size_t lo, size_t hi, int flags) {
    test_prng_t prng;
    test_prng_init(&prng, test_seed());
    nptrs = 0;
    for (size_t total = 0; total < bytes && nptrs < NMAX;) {
        size_t size = lo + (size_t)test_prng_range(&prng, hi - lo + 1);
        void *p = mallocx(size, flags);
        assert_ptr_not_null(p, "mallocx(%zu)", size);
        memset(p, 0xab, size);
        ptrs[nptrs++] = p;
        total += size;
    }
}

static void burst_free(int flags) {
    for (size_t k = 0; k < nptrs; k++) dallocx(ptrs[k], flags);
    nptrs = 0;
}

/* ---- keys ---- */

TEST_BEGIN(test_keys_and_defaults) {
    expect_zd_eq(read_ssize("opt.dirty_decay_ms"), 10000, "");
    expect_zd_eq(read_ssize("opt.muzzy_decay_ms"), 0, "");
    expect_zd_eq(read_ssize("arenas.dirty_decay_ms"), 10000, "");
    expect_zd_eq(read_ssize("arenas.muzzy_decay_ms"), 0, "");
    expect_zd_eq(get_decay(0, "dirty"), 10000, "");
    expect_zd_eq(get_decay(0, "muzzy"), 0, "");
    /* Arena 3 does not exist yet: reading its settings is EFAULT. */
    ssize_t v;
    size_t sz = sizeof(v);
    expect_d_eq(mallctl("arena.3.dirty_decay_ms", &v, &sz, NULL, 0), EFAULT, "not created yet");
    expect_d_eq(cmd("arena.%u.purge", 3), 0, "purging an arena not created yet: nothing to do");
    /* arenas.*_decay_ms: what arenas created from now on start with. */
    expect_d_eq(write_ssize("arenas.dirty_decay_ms", 777), 0, "");
    expect_d_eq(write_ssize("arenas.muzzy_decay_ms", -1), 0, "");
    expect_zd_eq(get_decay(0, "dirty"), 10000, "existing arenas keep theirs");
    bind(3); /* creates it */
    expect_zd_eq(get_decay(3, "dirty"), 777, "");
    expect_zd_eq(get_decay(3, "muzzy"), -1, "");
    epoch_advance();
    expect_zd_eq(read_ssize("stats.arenas.3.dirty_decay_ms"), 777, "");
    expect_zd_eq(read_ssize("stats.arenas.3.muzzy_decay_ms"), -1, "");
    expect_zd_eq(read_ssize("stats.arenas.4096.dirty_decay_ms"), 10000, "merged: arena 0's");
    bind(0);
    /* Back to the defaults. */
    expect_d_eq(write_ssize("arenas.dirty_decay_ms", 10000), 0, "");
    expect_d_eq(write_ssize("arenas.muzzy_decay_ms", 0), 0, "");
    set_decay(3, "dirty", 10000);
    set_decay(3, "muzzy", 0);
    /* A write creates an automatic arena (as thread.arena does). */
    sz = sizeof(v);
    if (mallctl("arena.2.dirty_decay_ms", &v, &sz, NULL, 0) == EFAULT) {
        set_decay(2, "dirty", 10000);
        expect_zd_eq(get_decay(2, "dirty"), 10000, "created by the write");
    }
    /* Reading and writing by MIB. */
    size_t mib[3], miblen = 3;
    expect_d_eq(mallctlnametomib("arena.0.dirty_decay_ms", mib, &miblen), 0, "");
    mib[1] = 3;
    ssize_t ms = 4321;
    expect_d_eq(mallctlbymib(mib, miblen, NULL, NULL, &ms, sizeof(ms)), 0, "");
    expect_zd_eq(get_decay(3, "dirty"), 4321, "");
    set_decay(3, "dirty", 10000);
}
TEST_END

TEST_BEGIN(test_all_arenas) {
    unsigned narenas = 0;
    size_t sz = sizeof(narenas);
    expect_d_eq(mallctl("arenas.narenas", &narenas, &sz, NULL, 0), 0, "");
    set_decay(1, "dirty", 10000); /* make sure arena 1 exists */
    expect_d_eq(write_ssize("arena.4096.dirty_decay_ms", 5000), 0, "all arenas");
    for (unsigned i = 0; i < narenas; i++) {
        char name[64];
        ssize_t v;
        sz = sizeof(v);
        snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", i);
        int r = mallctl(name, &v, &sz, NULL, 0);
        if (r == EFAULT) continue; /* not created */
        expect_d_eq(r, 0, "%s", name);
        expect_zd_eq(v, 5000, "%s", name);
    }
    expect_zd_eq(read_ssize("arena.4096.dirty_decay_ms"), 5000, "reads give arena 0's");
    expect_zd_eq(read_ssize("arenas.dirty_decay_ms"), 10000, "the default is separate");
    expect_d_eq(write_ssize("arena.4096.dirty_decay_ms", 10000), 0, "");
    /* Commands on all arenas. */
    bind(1);
    burst_alloc(4 * MiB, 64 * KiB, 64 * KiB, MALLOCX_TCACHE_NONE);
    burst_free(MALLOCX_TCACHE_NONE);
    bind(0);
    expect_zu_ge(arena_stat(1, "pdirty"), 4 * MiB / 4096, "");
    expect_d_eq(cmd("arena.%u.decay", 4096), 0, "");
    expect_d_eq(cmd("arena.%u.purge", 4096), 0, "");
    expect_zu_eq(arena_stat(4096, "pdirty"), 0, "every arena purged");
    expect_zu_eq(arena_stat(4096, "pmuzzy"), 0, "");
}
TEST_END

/* ---- purge ---- */

TEST_BEGIN(test_purge_returns_memory) {
    bind(1);
    flush_cache();
    expect_d_eq(cmd("arena.%u.purge", 1), 0, "start clean");
    size_t base_rss = test_rss_bytes();
    uint64_t npurge0 = arena_stat_u64(1, "dirty_npurge");
    uint64_t nmadvise0 = arena_stat_u64(1, "dirty_nmadvise");
    uint64_t purged0 = arena_stat_u64(1, "dirty_purged");
    uint64_t merged0 = arena_stat_u64(4096, "dirty_purged");
    size_t retained0 = arena_stat(1, "retained");

    burst_alloc(64 * MiB, 4 * KiB, 64 * KiB, 0);
    size_t peak_rss = test_rss_bytes();
    burst_free(0);
    flush_cache();
    size_t pdirty = arena_stat(1, "pdirty");
    expect_zu_ge(pdirty, 48 * MiB / 4096, "freed pages are dirty (decay 10 s)");
    size_t freed_rss = test_rss_bytes();

    expect_d_eq(cmd("arena.%u.purge", 1), 0, "");
    size_t after_rss = test_rss_bytes();
    expect_zu_eq(arena_stat(1, "pdirty"), 0, "");
    expect_zu_eq(arena_stat(1, "pmuzzy"), 0, "");
    expect_zu_ge(arena_stat(1, "retained"), retained0 + pdirty * 4096, "purged pages are retained");
    uint64_t npurge = arena_stat_u64(1, "dirty_npurge") - npurge0;
    uint64_t nmadvise = arena_stat_u64(1, "dirty_nmadvise") - nmadvise0;
    uint64_t purged = arena_stat_u64(1, "dirty_purged") - purged0;
    expect_u64_ge(npurge, 1, "");
    expect_u64_ge(nmadvise, npurge, "");
    expect_u64_ge(purged, pdirty, "at least what was dirty at the purge");
    expect_u64_ge(arena_stat_u64(4096, "dirty_purged") - merged0, purged, "the merged view too");
    expect_u64_eq(arena_stat_u64(1, "muzzy_purged"), 0, "muzzy 0: nothing went through muzzy");
    printf("    RSS: base %zu MiB, peak %zu MiB, freed %zu MiB, purged %zu MiB (%" PRIu64
           " pages in %" PRIu64 " sweeps, %" PRIu64 " madvise)\n",
           base_rss / MiB, peak_rss / MiB, freed_rss / MiB, after_rss / MiB, purged, npurge,
           nmadvise);
    if (!test_under_tsan()) {
        expect_zu_ge(peak_rss, base_rss + 56 * MiB, "the burst was resident");
        expect_zu_ge(freed_rss, base_rss + 40 * MiB, "freeing alone does not return it");
        expect_zu_le(after_rss, base_rss + 8 * MiB, "purged: back near the start");
    }
    bind(0);
}
TEST_END

TEST_BEGIN(test_never_purges) {
    bind(2);
    set_decay(2, "dirty", -1);
    expect_d_eq(cmd("arena.%u.purge", 2), 0, "");
    burst_alloc(16 * MiB, 64 * KiB, 64 * KiB, MALLOCX_TCACHE_NONE);
    burst_free(MALLOCX_TCACHE_NONE);
    size_t pdirty = arena_stat(2, "pdirty");
    expect_zu_ge(pdirty, 16 * MiB / 4096, "");
    uint64_t npurge0 = arena_stat_u64(2, "dirty_npurge");
    /* Plenty of ticks (slow-path events on arena 2), and explicit decay. */
    for (int k = 0; k < 5000; k++) {
        void *p = mallocx(100 * KiB, MALLOCX_TCACHE_NONE);
        assert_ptr_not_null(p, "");
        dallocx(p, MALLOCX_TCACHE_NONE);
    }
    expect_d_eq(cmd("arena.%u.decay", 2), 0, "");
    expect_zu_ge(arena_stat(2, "pdirty"), pdirty, "-1: never purged");
    expect_u64_eq(arena_stat_u64(2, "dirty_npurge"), npurge0, "");
    /* purge ignores the setting. */
    expect_d_eq(cmd("arena.%u.purge", 2), 0, "");
    expect_zu_eq(arena_stat(2, "pdirty"), 0, "");
    set_decay(2, "dirty", 10000);
    bind(0);
}
TEST_END

/* ---- two arenas, two settings ---- */

typedef struct {
    unsigned arena;
    size_t bytes;
} arena_job_t;

static void *arena_job(void *arg) {
    arena_job_t *j = arg;
    bind(j->arena);
    void *ps[256];
    size_t n = 0;
    for (size_t total = 0; total < j->bytes && n < 256; total += 64 * KiB) {
        ps[n] = mallocx(64 * KiB, MALLOCX_TCACHE_NONE);
        assert_ptr_not_null(ps[n], "");
        memset(ps[n], 1, 64 * KiB);
        n++;
    }
    for (size_t k = 0; k < n; k++) dallocx(ps[k], MALLOCX_TCACHE_NONE);
    return NULL;
}

TEST_BEGIN(test_per_arena_settings) {
    set_decay(2, "dirty", 0);
    set_decay(3, "dirty", -1);
    expect_d_eq(cmd("arena.%u.purge", 3), 0, "");
    epoch_advance();
    expect_zd_eq(read_ssize("stats.arenas.2.dirty_decay_ms"), 0, "");
    expect_zd_eq(read_ssize("stats.arenas.3.dirty_decay_ms"), -1, "");
    uint64_t purged2 = arena_stat_u64(2, "dirty_purged");
    arena_job_t a = {2, 8 * MiB}, b = {3, 8 * MiB};
    pthread_t ta, tb;
    test_thread_create(&ta, arena_job, &a);
    test_thread_create(&tb, arena_job, &b);
    test_thread_join(ta, NULL);
    test_thread_join(tb, NULL);
    expect_zu_eq(arena_stat(2, "pdirty"), 0, "arena 2 (decay 0): given back at once");
    expect_u64_ge(arena_stat_u64(2, "dirty_purged") - purged2, 8 * MiB / 4096, "");
    expect_zu_ge(arena_stat(3, "pdirty"), 8 * MiB / 4096, "arena 3 (decay -1): all kept");
    expect_d_eq(cmd("arena.%u.purge", 3), 0, "");
    set_decay(2, "dirty", 10000);
    set_decay(3, "dirty", 10000);
}
TEST_END

/* ---- over time ---- */

/* Slow-path events on the calling thread's arena (large allocations past the cache). */
static void activity(int pairs) {
    for (int k = 0; k < pairs; k++) {
        void *p = mallocx(64 * KiB, MALLOCX_TCACHE_NONE);
        assert_ptr_not_null(p, "");
        *(volatile char *)p = 1;
        dallocx(p, MALLOCX_TCACHE_NONE);
    }
}

TEST_BEGIN(test_decay_over_time) {
    bind(1);
    expect_d_eq(cmd("arena.%u.purge", 1), 0, "");
    set_decay(1, "dirty", 200);
    uint64_t npurge0 = arena_stat_u64(1, "dirty_npurge");
    double t0 = test_now();
    burst_alloc(32 * MiB, 64 * KiB, 64 * KiB, MALLOCX_TCACHE_NONE);
    burst_free(MALLOCX_TCACHE_NONE);
    size_t burst = arena_stat(1, "pdirty");
    double freed_after = test_now() - t0;
    expect_zu_gt(burst, 0, "not purged at once");
    if (freed_after < 0.05) {
        expect_zu_ge(burst, 32 * MiB / 4096 / 2, "a quarter of the window in: most still there");
    }
    /* Keep the arena busy until the burst is gone (a 64 KiB extent comes and goes). */
    double limit = test_under_tsan() ? 20 : 10, elapsed = 0;
    size_t left = burst;
    while (left > 64 && (elapsed = test_now() - t0) < limit) {
        activity(200);
        left = arena_stat(1, "pdirty");
    }
    uint64_t npurge = arena_stat_u64(1, "dirty_npurge") - npurge0;
    printf("    %zu dirty pages gone in %.2f s (window 0.2 s) over %" PRIu64 " sweeps\n", burst,
           elapsed, npurge);
    expect_zu_le(left, 64, "gone within %.0f s", limit);
    expect_u64_ge(npurge, 2, "gradually");
    set_decay(1, "dirty", 10000);
    bind(0);
}
TEST_END

TEST_BEGIN(test_no_activity_no_purge) {
    bind(1);
    expect_d_eq(cmd("arena.%u.purge", 1), 0, "");
    set_decay(1, "dirty", 100);
    burst_alloc(4 * MiB, 64 * KiB, 64 * KiB, MALLOCX_TCACHE_NONE);
    burst_free(MALLOCX_TCACHE_NONE);
    size_t burst = arena_stat(1, "pdirty");
    /* Three windows without a single allocator call. */
    struct timespec ts = {0, 300 * 1000 * 1000};
    nanosleep(&ts, NULL);
    expect_zu_eq(arena_stat(1, "pdirty"), burst,
                 "without background threads only activity purges (jemalloc's rule)");
    /* Activity: the first tick counts what was freed since the last one as freed just now
     * (jemalloc's approximation), then the window runs its course. */
    double t0 = test_now(), limit = test_under_tsan() ? 20 : 10;
    size_t left = burst;
    while (left > 64 && test_now() - t0 < limit) {
        activity(200);
        left = arena_stat(1, "pdirty");
    }
    expect_zu_le(left, 64, "gone within %.0f s of activity", limit);
    set_decay(1, "dirty", 10000);
    bind(0);
}
TEST_END

/* ---- muzzy ---- */

TEST_BEGIN(test_muzzy) {
    bind(2);
    expect_d_eq(cmd("arena.%u.purge", 2), 0, "");
    set_decay(2, "muzzy", 10000);
    set_decay(2, "dirty", 0);
    uint64_t dirty_purged0 = arena_stat_u64(2, "dirty_purged");
    uint64_t muzzy_purged0 = arena_stat_u64(2, "muzzy_purged");
    burst_alloc(8 * MiB, 64 * KiB, 64 * KiB, MALLOCX_TCACHE_NONE);
    burst_free(MALLOCX_TCACHE_NONE);
    size_t pmuzzy = arena_stat(2, "pmuzzy");
    expect_zu_eq(arena_stat(2, "pdirty"), 0, "");
    expect_u64_ge(arena_stat_u64(2, "dirty_purged") - dirty_purged0, 8 * MiB / 4096, "");
    if (pmuzzy == 0) {
        /* purge_lazy failed (no MADV_FREE): the cascade took them straight to retained. */
        printf("    MADV_FREE unavailable: no muzzy pages\n");
    } else {
        expect_zu_ge(pmuzzy, 8 * MiB / 4096, "lazily purged: muzzy");
        expect_u64_eq(arena_stat_u64(2, "muzzy_purged"), muzzy_purged0, "");
        expect_d_eq(cmd("arena.%u.decay", 2), 0, "");
        expect_zu_gt(arena_stat(2, "pmuzzy"), 0, "10 s window: still muzzy");
        expect_d_eq(cmd("arena.%u.purge", 2), 0, "");
        expect_zu_eq(arena_stat(2, "pmuzzy"), 0, "");
        expect_u64_ge(arena_stat_u64(2, "muzzy_purged") - muzzy_purged0, pmuzzy, "");
        expect_u64_ge(arena_stat_u64(2, "muzzy_npurge"), 1, "");
        expect_u64_ge(arena_stat_u64(2, "muzzy_nmadvise"), 1, "");
    }
    /* Setting muzzy to 0 takes effect at once. */
    set_decay(2, "dirty", 10000);
    set_decay(2, "muzzy", 0);
    expect_zu_eq(arena_stat(2, "pmuzzy"), 0, "");
    bind(0);
}
TEST_END

/* ---- bad input ---- */

TEST_BEGIN(test_bad_input) {
    static const char *const keys[] = {"arena.0.dirty_decay_ms", "arena.0.muzzy_decay_ms",
                                       "arena.4096.dirty_decay_ms", "arenas.dirty_decay_ms",
                                       "arenas.muzzy_decay_ms"};
    static const ssize_t bad[] = {-2, -1000, (ssize_t)INT64_MIN, DECAY_MS_MAX + 1,
                                  (ssize_t)INT64_MAX};
    for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
        ssize_t before = read_ssize(keys[k]);
        for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
            expect_d_eq(write_ssize(keys[k], bad[b]), EINVAL, "%s = %zd", keys[k], bad[b]);
        }
        int small = 5;
        expect_d_eq(mallctl(keys[k], NULL, NULL, &small, sizeof(small)), EINVAL, "wrong size");
        expect_zd_eq(read_ssize(keys[k]), before, "%s unchanged", keys[k]);
        ssize_t old = 0;
        size_t sz = sizeof(old);
        expect_d_eq(mallctl(keys[k], &old, &sz, NULL, 0), 0, "");
        sz = 4;
        expect_d_eq(mallctl(keys[k], &old, &sz, NULL, 0), EINVAL, "short read");
    }
    expect_zd_eq(read_ssize("arena.1.dirty_decay_ms"), 10000, "ALL with a bad value changed none");
    /* The extremes are valid. */
    expect_d_eq(write_ssize("arena.0.dirty_decay_ms", DECAY_MS_MAX), 0, "");
    expect_zd_eq(read_ssize("arena.0.dirty_decay_ms"), DECAY_MS_MAX, "");
    expect_d_eq(write_ssize("arena.0.dirty_decay_ms", 10000), 0, "");
    /* Indices. */
    ssize_t v;
    size_t sz = sizeof(v);
    expect_d_eq(mallctl("arena.4097.dirty_decay_ms", &v, &sz, NULL, 0), EFAULT, "destroyed");
    expect_d_eq(cmd("arena.%u.purge", 4097), EFAULT, "");
    expect_d_eq(cmd("arena.%u.decay", 4097), EFAULT, "");
    expect_d_eq(cmd("arena.%u.purge", 5), ENOENT, "beyond arenas.narenas (4 is the huge arena)");
    expect_d_eq(cmd("arena.%u.decay", 4095), ENOENT, "");
    expect_d_eq(mallctl("arena.5.dirty_decay_ms", &v, &sz, NULL, 0), ENOENT, "");
    /* Access. */
    expect_d_eq(write_ssize("opt.dirty_decay_ms", 5), EPERM, "");
    expect_d_eq(write_ssize("stats.arenas.0.dirty_decay_ms", 5), EPERM, "");
    uint64_t u;
    sz = sizeof(u);
    expect_d_eq(mallctl("arena.0.purge", &u, &sz, NULL, 0), EPERM, "commands take no buffers");
    expect_d_eq(mallctl("arena.0.decay", NULL, NULL, &u, sizeof(u)), EPERM, "");
    expect_zd_eq(read_ssize("opt.dirty_decay_ms"), 10000, "");
}
TEST_END

/* ---- concurrency ---- */

typedef struct {
    atomic_bool *stop;
    uint64_t seed;
    unsigned arena;
    unsigned long checked;
} churn_t;

static void *churner(void *arg) {
    churn_t *c = arg;
    bind(c->arena);
    test_prng_t prng;
    test_prng_init(&prng, c->seed);
    enum { NH = 64 };
    void *held[NH] = {NULL};
    size_t sizes[NH] = {0};
    /* Until told to stop, and at least a few hundred steps even on a starved machine. */
    for (unsigned step = 0; step < 400 || !atomic_load(c->stop); step++) {
        unsigned k = (unsigned)test_prng_range(&prng, NH);
        if (held[k] != NULL) {
            /* Purging must never touch a live allocation. */
            size_t bad = test_check_at(held[k], sizes[k], (uint64_t)k, 0);
            expect_zu_eq(bad, SIZE_MAX, "live %zu-byte allocation changed at %zu", sizes[k], bad);
            dallocx(held[k], 0);
            held[k] = NULL;
            c->checked++;
        } else {
            size_t max = test_prng_range(&prng, 4) ? 4096 : 200000;
            size_t size = 1 + (size_t)test_prng_range(&prng, max);
            held[k] = mallocx(size, 0);
            assert_ptr_not_null(held[k], "");
            sizes[k] = size;
            test_fill_at(held[k], size, (uint64_t)k, 0);
        }
    }
    for (unsigned k = 0; k < NH; k++) {
        if (held[k] != NULL) dallocx(held[k], 0);
    }
    return NULL;
}

TEST_BEGIN(test_concurrent_purging) {
    enum { NT = 3 };
    atomic_bool stop;
    atomic_init(&stop, false);
    churn_t cs[NT];
    pthread_t ts[NT];
    for (unsigned t = 0; t < NT; t++) {
        cs[t] = (churn_t){&stop, test_seed() + t, 1 + t % 2, 0};
        test_thread_create(&ts[t], churner, &cs[t]);
    }
    static const ssize_t settings[] = {0, 1, 50, -1, 10000};
    double end = test_now() + (test_under_tsan() ? 1.0 : 0.5);
    unsigned k = 0;
    for (; test_now() < end; k++) {
        unsigned arena = 1 + k % 2;
        switch (k % 5) {
        case 0: set_decay(arena, "dirty", settings[(k / 5) % 5]); break;
        case 1: set_decay(arena, "muzzy", settings[(k / 7) % 5]); break;
        case 2: expect_d_eq(cmd("arena.%u.decay", arena), 0, ""); break;
        case 3: expect_d_eq(cmd("arena.%u.purge", arena), 0, ""); break;
        default: expect_d_eq(cmd("arena.%u.purge", 4096), 0, ""); break;
        }
    }
    atomic_store(&stop, true);
    unsigned long checked = 0;
    for (unsigned t = 0; t < NT; t++) {
        test_thread_join(ts[t], NULL);
        checked += cs[t].checked;
    }
    expect_u_gt(k, 10, "");
    expect_true(checked > 100, "%lu allocations checked", checked);
    for (unsigned a = 1; a <= 2; a++) {
        set_decay(a, "dirty", 10000);
        set_decay(a, "muzzy", 0);
    }
}
TEST_END

int main(void) {
    return run_tests(test_keys_and_defaults, test_all_arenas, test_purge_returns_memory,
                     test_never_purges, test_per_arena_settings, test_decay_over_time,
                     test_no_activity_no_purge, test_muzzy, test_bad_input,
                     test_concurrent_purging);
}
