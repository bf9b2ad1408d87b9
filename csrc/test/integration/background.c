/*
 * Background purge threads (background.conf: dirty_decay_ms:200; background_thread is on by
 * default):
 *   - an idle process gives a 64 MiB burst (4-64 KiB pieces) back: after the frees no allocator
 *     call is made, and RSS falls below 25 % of the peak within 5 s (the stats confirm it under
 *     TSan, whose shadow memory stays resident); with background_thread:false written at run
 *     time, the same burst stays (1 s);
 *   - background_thread / max_background_threads / opt.* / stats.background_thread.*: defaults,
 *     the on/off round trip, the thread count, bounds (EINVAL), a thread named arenalloc_bg;
 *   - stats.background_thread.num_runs grows when there is work, run_interval follows;
 *   - fork while purge threads run: the child allocates, frees and exits 0, and (outside TSan)
 *     its first dirtying starts a purge thread of its own.
 * The EAGAIN path (thread creation failing) is in test/unit/background.c.
 */
#include "arenalloc.h"
#include "test.h"
#include "ctl_read.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)


static int write_bool(const char *name, bool v) { return mallctl(name, NULL, NULL, &v, sizeof(v)); }
static int write_size(const char *name, size_t v) {
    return mallctl(name, NULL, NULL, &v, sizeof(v));
}

static size_t num_threads(void) {
    epoch_advance();
    return read_size("stats.background_thread.num_threads");
}

/* Dirty pages of every arena (a mallctl read: no decay tick). */
static size_t pdirty(void) {
    epoch_advance();
    return read_size("stats.arenas.4096.pdirty");
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the burst ---- */

#define NMAX 8192
static void *ptrs[NMAX];
static size_t nptrs;

/* total bytes in pieces of 4-64 KiB, past the thread cache, every page touched. */
static void burst_alloc(size_t total) {
    test_prng_t prng;
    test_prng_init(&prng, test_seed());
    size_t done = 0;
    nptrs = 0;
    while (done < total && nptrs < NMAX) {
        size_t sz = 4 * KiB + (size_t)test_prng_range(&prng, 60 * KiB + 1);
        void *p = mallocx(sz, MALLOCX_TCACHE_NONE);
        assert_ptr_not_null(p, "burst allocation of %zu", sz);
        memset(p, 0x5c, sz);
        ptrs[nptrs++] = p;
        done += sz;
    }
}

static void burst_free(void) {
    for (size_t i = 0; i < nptrs; i++) dallocx(ptrs[i], MALLOCX_TCACHE_NONE);
    nptrs = 0;
}

/* ---- tests ---- */

TEST_BEGIN(test_defaults) {
    expect_true(read_bool("opt.background_thread"), "on by default");
    expect_zu_eq(read_size("opt.max_background_threads"), 4, "jemalloc's default");
    expect_true(read_bool("background_thread"), "");
    expect_zu_eq(read_size("max_background_threads"), 4, "");
}
TEST_END

/* Off at run time: nothing purges an idle process. Runs before anything started a thread. */
TEST_BEGIN(test_off_idle_keeps) {
    expect_d_eq(write_bool("background_thread", false), 0, "");
    expect_zu_eq(num_threads(), 0, "");
    size_t rss0 = test_rss_bytes();
    burst_alloc(64 * MiB);
    size_t peak = test_rss_bytes();
    burst_free();
    size_t burst = pdirty();
    sleep_ms(1000);
    size_t left = pdirty();
    expect_zu_ge(left, burst / 2, "without background threads an idle process keeps its pages");
    if (!test_under_tsan()) {
        size_t rss = test_rss_bytes();
        printf("    off: rss %zu MiB before, %zu MiB peak, %zu MiB after 1 s idle\n", rss0 >> 20,
               peak >> 20, rss >> 20);
        expect_zu_ge(rss, peak / 2, "RSS stays");
    }
    expect_d_eq(mallctl("arena.4096.purge", NULL, NULL, NULL, 0), 0, "");
    expect_d_eq(write_bool("background_thread", true), 0, "");
}
TEST_END

TEST_BEGIN(test_idle_rss_falls) {
    expect_true(read_bool("background_thread"), "");
    burst_alloc(64 * MiB);
    size_t peak = test_rss_bytes();
    size_t burst_pages = (64 * MiB) >> 12;
    burst_free();
    /* From here on, no allocation and no free: only the purge threads can give memory back. */
    double t0 = test_now(), limit = test_under_tsan() ? 10 : 5;
    size_t rss = test_rss_bytes();
    bool tsan = test_under_tsan();
    while (test_now() - t0 < limit) {
        rss = test_rss_bytes();
        if (tsan ? pdirty() < burst_pages / 50 : rss < peak / 4) break;
        sleep_ms(50);
    }
    double elapsed = test_now() - t0;
    size_t left = pdirty();
    printf("    on: peak %zu MiB, %zu MiB after %.2f s idle (window 0.2 s), %zu dirty pages\n",
           peak >> 20, rss >> 20, elapsed, left);
    expect_zu_lt(left, burst_pages / 50, "the purge threads emptied the dirty sets");
    if (!tsan) expect_zu_lt(rss, peak / 4, "RSS below 25 %% of the peak within %.0f s", limit);
    expect_zu_ge(num_threads(), 1, "a purge thread was started lazily");
}
TEST_END

/* Whether a thread of this process is named arenalloc_bg. */
static bool bg_thread_named(void) {
    DIR *d = opendir("/proc/self/task");
    if (d == NULL) return false;
    bool found = false;
    struct dirent *de;
    while (!found && (de = readdir(d)) != NULL) {
        char path[300], comm[64] = "";
        snprintf(path, sizeof(path), "/proc/self/task/%s/comm", de->d_name);
        FILE *f = fopen(path, "r");
        if (f == NULL) continue;
        if (fgets(comm, sizeof(comm), f) != NULL) found = strncmp(comm, "arenalloc_bg", 12) == 0;
        fclose(f);
    }
    closedir(d);
    return found;
}

TEST_BEGIN(test_mallctl) {
    expect_d_eq(write_bool("background_thread", false), 0, "");
    expect_false(read_bool("background_thread"), "");
    expect_zu_eq(num_threads(), 0, "stopped and joined");
    expect_false(bg_thread_named(), "");
    expect_d_eq(write_bool("background_thread", true), 0, "");
    expect_true(read_bool("background_thread"), "");
    size_t n = num_threads();
    expect_zu_ge(n, 1, "writing true starts them");
    expect_zu_le(n, 4, "");
    double t0 = test_now(); /* the thread names itself when it starts */
    while (!bg_thread_named() && test_now() - t0 < 5) sleep_ms(10);
    expect_true(bg_thread_named(), "named arenalloc_bg");
    expect_true(read_bool("opt.background_thread"), "opt.* do not change");
    /* Old value, then the new one. */
    bool old = false, nv = true;
    size_t sz = sizeof(old);
    expect_d_eq(mallctl("background_thread", &old, &sz, &nv, sizeof(nv)), 0, "");
    expect_true(old, "");

    /* max_background_threads: 1 .. 64. */
    expect_d_eq(write_size("max_background_threads", 0), EINVAL, "");
    expect_d_eq(write_size("max_background_threads", 65), EINVAL, "");
    expect_zu_eq(read_size("max_background_threads"), 4, "unchanged");
    expect_d_eq(write_size("max_background_threads", 1), 0, "");
    expect_zu_eq(read_size("max_background_threads"), 1, "");
    expect_zu_eq(num_threads(), 1, "lowering stops the extra threads");
    expect_d_eq(write_size("max_background_threads", 64), 0, "");
    expect_zu_ge(num_threads(), 1, "");
    expect_d_eq(write_size("max_background_threads", 4), 0, "");
    expect_zu_eq(read_size("opt.max_background_threads"), 4, "");
    /* Wrong sizes. */
    uint32_t small = 1;
    expect_d_eq(mallctl("max_background_threads", NULL, NULL, &small, sizeof(small)), EINVAL, "");
    expect_d_eq(mallctl("opt.background_thread", NULL, NULL, &nv, sizeof(nv)), EPERM, "");
}
TEST_END

TEST_BEGIN(test_num_runs) {
    expect_d_eq(write_bool("background_thread", true), 0, "");
    epoch_advance();
    uint64_t runs0 = read_u64("stats.background_thread.num_runs");
    burst_alloc(8 * MiB);
    burst_free();
    double t0 = test_now();
    uint64_t runs = runs0;
    while (runs < runs0 + 2 && test_now() - t0 < 5) {
        sleep_ms(100);
        epoch_advance();
        runs = read_u64("stats.background_thread.num_runs");
    }
    expect_u64_ge(runs, runs0 + 2, "the freed pages woke a purge thread, which ran again");
    uint64_t interval = read_u64("stats.background_thread.run_interval");
    expect_u64_gt(interval, 0, "a mean interval once a thread ran twice");
}
TEST_END

static void child_allocates(void *arg) {
    (void)arg;
    for (int round = 0; round < 4; round++) {
        burst_alloc(4 * MiB);
        burst_free();
        void *p = arenalloc_malloc(100);
        assert_ptr_not_null(p, "child malloc");
        arenalloc_free(p);
    }
    if (!test_under_tsan()) {
        /* The parent's threads do not exist here; the frees above asked for one of our own. */
        assert_true(read_bool("background_thread"), "still on in the child");
        double t0 = test_now();
        while (num_threads() == 0 && test_now() - t0 < 5) {
            void *p = mallocx(64 * KiB, MALLOCX_TCACHE_NONE);
            dallocx(p, MALLOCX_TCACHE_NONE);
            sleep_ms(10);
        }
        assert_zu_ge(num_threads(), 1, "the child started its own purge thread");
    }
}

TEST_BEGIN(test_fork) {
    expect_d_eq(write_bool("background_thread", true), 0, "");
    expect_zu_ge(num_threads(), 1, "");
    for (int k = 0; k < 4; k++) {
        burst_alloc(4 * MiB); /* the purge threads have work while we fork */
        burst_free();
        char why[128];
        int status = test_fork_run(child_allocates, NULL, NULL, 0, 30);
        expect_true(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                    "fork #%d: the child must exit 0, got %s", k,
                    test_status_str(status, why, sizeof(why)));
    }
    void *p = arenalloc_malloc(1000);
    assert_ptr_not_null(p, "parent after fork");
    arenalloc_free(p);
    expect_zu_ge(num_threads(), 1, "the parent's threads go on");
}
TEST_END

int main(void) {
    return run_tests(test_defaults, test_off_idle_keeps, test_idle_rss_falls, test_mallctl,
                     test_num_runs, test_fork);
}
