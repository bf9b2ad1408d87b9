/*
 * burst -- giving memory back: allocate a burst, free all of it, then sit idle and watch RSS.
 *
 *   burst [TOTAL_BYTES [IDLE_S [MODE [INTERVAL_MS]]]]
 *
 *   TOTAL_BYTES  bytes to allocate (default 1 GiB = 1073741824)
 *   IDLE_S       length of the observation window in seconds, counted from the start of the
 *                free phase (default 11 = the default dirty_decay_ms of 10 s + 1 s)
 *   MODE         `idle` (default): after the free, do nothing;
 *                `purge`: after the free, call mallctl("arena.4096.purge", NULL, NULL, NULL, 0)
 *                (4096 = MALLCTL_ARENAS_ALL) once, then do nothing. mallctl is looked up with
 *                dlsym(RTLD_DEFAULT, ...) so the same binary runs under every allocator; where
 *                it is absent the call is skipped and reported as such;
 *                `twoarenas`: the burst is split between automatic arenas 1 and 2 (mallocx with
 *                MALLOCX_ARENA, no thread cache), with arena.1.dirty_decay_ms 1000 and
 *                arena.2.dirty_decay_ms -1 (needs mallctl and mallocx), then idle.
 *   INTERVAL_MS  sampling interval (default 250)
 *
 * 1. allocate pieces of uniformly random size 4 KiB..64 KiB until TOTAL_BYTES are held, writing
 *    one byte in every page each piece spans (so every page is resident);
 * 2. read RSS (sample t = 0), then free every piece in a random order;
 * 3. idle until IDLE_S seconds after the start of step 2.
 *
 * A sampler thread, created before step 1 so that its creation (glibc allocates the thread's
 * TLS vector with malloc) is not part of the measurement, reads RSS from /proc/self/statm
 * every INTERVAL_MS from the start of step 2, at absolute deadlines. It reads statm with
 * open/read/close, never stdio, and nothing in the process calls malloc or free during the idle
 * window: whatever memory comes back, comes back without the program's help (a timer, a
 * background thread, or the free path itself).
 *
 * Output (stdout), a TSV with `# key value` summary lines after it:
 *
 *   t_ms    rss_mib        one row per sample, t_ms measured from the start of the free phase
 *   # allocator            which malloc serves the process (see bench.h)
 *   # peak_rss_mib         the larger of getrusage ru_maxrss and every RSS reading
 *   # free_ms              how long step 2 took
 *   # rss_after_free_mib   RSS read right after the last free
 *   # purge                `ok` / `rc=N` / `absent` / `-` (mode idle)
 *   # purge_ms, purge_end_ms, rss_after_purge_mib   the call's duration, when it returned
 *                          (from the start of the free) and the RSS read right after it
 *   # rss_1s_mib, rss_5s_mib, rss_end_mib   the samples at 1 s, 5 s and the last one (`-` if
 *                                           the window is shorter)
 *   # t_below_10pct_ms     first time RSS < 10 % of peak (samples, plus the readings right after
 *                          the free and the purge, at the time they were taken), or `never`
 *   # opt.dirty_decay_ms, opt.muzzy_decay_ms, opt.background_thread
 *                          read back with mallctl where it exists (`absent` otherwise,
 *                          `err=N` if the key is unknown): shows whether MALLOC_CONF took
 */
#include "bench.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdbool.h>

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);

#define PAGE 4096
#define MAX_SAMPLES 100000

static double samples_mib[MAX_SAMPLES];
static double samples_ms[MAX_SAMPLES];
static long nsamples;
static long interval_ms = 250;
static long idle_s = 11;
static uint64_t t0_ns;
static sem_t start;

/* RSS in KiB from /proc/self/statm without stdio (no malloc). */
static long rss_kb_raw(void) {
    char buf[128];
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -1;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0) return -1;
    buf[n] = 0;
    char *p = buf;
    while (*p && *p != ' ') p++; /* skip size */
    long resident = strtol(p, NULL, 10);
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

static double kb_mib(long kb) { return kb / 1024.0; }

static double ms_since_t0(void) { return (clock_ns(CLOCK_MONOTONIC) - t0_ns) / 1e6; }

static void *sampler(void *arg) {
    (void)arg;
    while (sem_wait(&start) != 0 && errno == EINTR) {
    }
    long last = idle_s * 1000 / interval_ms;
    if (last >= MAX_SAMPLES) last = MAX_SAMPLES - 1;
    for (long k = 1; k <= last; k++) {
        uint64_t at = t0_ns + (uint64_t)k * (uint64_t)interval_ms * 1000000u;
        struct timespec ts = {(time_t)(at / 1000000000u), (long)(at % 1000000000u)};
        while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR) {
        }
        samples_ms[k] = ms_since_t0();
        samples_mib[k] = kb_mib(rss_kb_raw());
        nsamples = k + 1;
    }
    return NULL;
}

static void print_opt(mallctl_fn mallctl, const char *name, bool is_bool) {
    if (!mallctl) {
        printf("# %s absent\n", name);
        return;
    }
    if (is_bool) {
        bool v = false;
        size_t len = sizeof v;
        int rc = mallctl(name, &v, &len, NULL, 0);
        if (rc) printf("# %s err=%d\n", name, rc);
        else printf("# %s %s\n", name, v ? "true" : "false");
    } else {
        ssize_t v = 0;
        size_t len = sizeof v;
        int rc = mallctl(name, &v, &len, NULL, 0);
        if (rc) printf("# %s err=%d\n", name, rc);
        else printf("# %s %zd\n", name, v);
    }
}

/* The sample due nearest to t (ms), or "-" past the end of the window. */
static const char *sample_at(long t, char *buf, size_t n) {
    long k = (t + interval_ms / 2) / interval_ms;
    if (k >= nsamples) return "-";
    snprintf(buf, n, "%.1f", samples_mib[k]);
    return buf;
}

int main(int argc, char **argv) {
    long long total = argc > 1 ? strtoll(argv[1], NULL, 0) : (1ll << 30);
    idle_s = arg_long(argc, argv, 2, 11);
    const char *mode = argc > 3 ? argv[3] : "idle";
    interval_ms = arg_long(argc, argv, 4, 250);
    bool do_purge = strcmp(mode, "purge") == 0;
    bool two_arenas = strcmp(mode, "twoarenas") == 0;
    if (total <= 0 || idle_s < 0 || interval_ms <= 0 ||
        (!do_purge && !two_arenas && strcmp(mode, "idle") != 0)) {
        fprintf(stderr,
                "usage: burst [TOTAL_BYTES [IDLE_S [idle|purge|twoarenas [INTERVAL_MS]]]]\n");
        return 2;
    }
    mallctl_fn mallctl = (mallctl_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "mallctl");

    /*
     * twoarenas: the burst is split between automatic arenas 1 and 2 (MALLOCX_ARENA, no thread
     * cache), and the two arenas get different decay times: arena 1 dirty_decay_ms 1000, arena 2
     * -1 (never). Half of the memory should come back within about a second, half never.
     */
    typedef void *(*mallocx_fn)(size_t, int);
    mallocx_fn mallocx = (mallocx_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "mallocx");
    if (two_arenas) {
        if (mallctl == NULL || mallocx == NULL) {
            fprintf(stderr, "twoarenas needs mallctl and mallocx\n");
            return 2;
        }
        for (unsigned a = 1; a <= 2; a++) {
            free(mallocx(4096, (int)((a + 1) << 20) | (1 << 8))); /* creates the arena */
            char name[64];
            snprintf(name, sizeof name, "arena.%u.dirty_decay_ms", a);
            ssize_t ms = a == 1 ? 1000 : -1;
            int rc = mallctl(name, NULL, NULL, &ms, sizeof ms);
            if (rc != 0) {
                fprintf(stderr, "mallctl(%s) = %d\n", name, rc);
                return 1;
            }
        }
    }

    size_t maxn = (size_t)(total / PAGE) + 1;
    char **piece = xmalloc(maxn * sizeof *piece);
    size_t *order = xmalloc(maxn * sizeof *order);
    sem_init(&start, 0, 0);
    pthread_t th;
    if (pthread_create(&th, NULL, sampler, NULL) != 0) {
        fprintf(stderr, "pthread_create failed\n");
        return 1;
    }

    /* 1. the burst */
    uint64_t s = rng_seed(4);
    size_t n = 0;
    long long held = 0;
    while (held < total) {
        size_t z = rng_range(&s, 4 << 10, 64 << 10);
        char *p = two_arenas ? mallocx(z, (int)(((n % 2) + 2) << 20) | (1 << 8)) : xmalloc(z);
        if (p == NULL) {
            fprintf(stderr, "out of memory\n");
            return 1;
        }
        for (size_t i = 0; i < z; i += PAGE) p[i] = (char)i;
        p[z - 1] = 1;
        piece[n] = p;
        order[n] = n;
        n++;
        held += (long long)z;
    }
    for (size_t i = n - 1; i > 0; i--) { /* Fisher-Yates */
        size_t j = (size_t)(rng_next(&s) % (i + 1));
        size_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }

    /* 2. free everything, in random order; sample 0 is the RSS just before */
    long rss0 = rss_kb_raw();
    t0_ns = clock_ns(CLOCK_MONOTONIC);
    samples_ms[0] = 0;
    samples_mib[0] = kb_mib(rss0);
    nsamples = 1;
    sem_post(&start);
    for (size_t i = 0; i < n; i++) free(piece[order[i]]);
    double free_ms = ms_since_t0();
    double after_free = kb_mib(rss_kb_raw());

    /* optionally purge explicitly */
    const char *purge = "-";
    char purge_buf[32];
    double purge_ms = -1, purge_end_ms = -1, after_purge = -1;
    if (do_purge) {
        if (!mallctl) {
            purge = "absent";
        } else {
            double a = ms_since_t0();
            int rc = mallctl("arena.4096.purge", NULL, NULL, NULL, 0);
            purge_end_ms = ms_since_t0();
            after_purge = kb_mib(rss_kb_raw());
            purge_ms = purge_end_ms - a;
            if (rc) {
                snprintf(purge_buf, sizeof purge_buf, "rc=%d", rc);
                purge = purge_buf;
            } else {
                purge = "ok";
            }
        }
    }

    /* 3. idle: wait for the sampler to finish the window */
    pthread_join(th, NULL);

    /* report (the process may allocate again from here on) */
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    double peak = kb_mib(ru.ru_maxrss);
    for (long k = 0; k < nsamples; k++)
        if (samples_mib[k] > peak) peak = samples_mib[k];
    if (after_free > peak) peak = after_free;

    double below = -1;
    for (long k = 0; k < nsamples; k++) {
        if (samples_mib[k] < 0.1 * peak) {
            below = samples_ms[k];
            break;
        }
    }
    if (after_free < 0.1 * peak && (below < 0 || free_ms < below)) below = free_ms;
    if (after_purge >= 0 && after_purge < 0.1 * peak && (below < 0 || purge_end_ms < below))
        below = purge_end_ms;

    printf("t_ms\trss_mib\n");
    for (long k = 0; k < nsamples; k++) printf("%.0f\t%.1f\n", samples_ms[k], samples_mib[k]);
    printf("# allocator %s\n", allocator_name());
    printf("# total_bytes %lld\n", total);
    printf("# pieces %zu\n", n);
    printf("# idle_s %ld\n", idle_s);
    printf("# interval_ms %ld\n", interval_ms);
    printf("# mode %s\n", mode);
    printf("# peak_rss_mib %.1f\n", peak);
    printf("# free_ms %.1f\n", free_ms);
    printf("# rss_after_free_mib %.1f\n", after_free);
    printf("# purge %s\n", purge);
    if (purge_ms >= 0) {
        printf("# purge_ms %.1f\n", purge_ms);
        printf("# purge_end_ms %.1f\n", purge_end_ms);
        printf("# rss_after_purge_mib %.1f\n", after_purge);
    } else {
        printf("# purge_ms -\n# purge_end_ms -\n# rss_after_purge_mib -\n");
    }
    char b1[32], b5[32];
    printf("# rss_1s_mib %s\n", sample_at(1000, b1, sizeof b1));
    printf("# rss_5s_mib %s\n", sample_at(5000, b5, sizeof b5));
    printf("# rss_end_mib %.1f\n", samples_mib[nsamples - 1]);
    printf("# t_end_ms %.0f\n", samples_ms[nsamples - 1]);
    if (below >= 0) printf("# t_below_10pct_ms %.0f\n", below);
    else printf("# t_below_10pct_ms never\n");
    print_opt(mallctl, "opt.dirty_decay_ms", false);
    print_opt(mallctl, "opt.muzzy_decay_ms", false);
    print_opt(mallctl, "opt.background_thread", true);

    free(piece);
    free(order);
    return 0;
}
