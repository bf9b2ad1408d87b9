/*
 * arenas -- programmable arenas: explicit arenas and explicit thread caches through jemalloc's
 * API (mallctl, mallocx, sdallocx), so that the same binary runs under LD_PRELOAD of
 * libarenalloc.so and of libjemalloc.so. Run by benches/arenas.sh.
 *
 *   arenas MODE [N [SEED [THREADS]]]
 *
 * The three functions are looked up with dlsym(RTLD_DEFAULT, ...) (dallocx stands in for
 * sdallocx where only that exists). If mallctl or mallocx is missing -- glibc, mimalloc,
 * tcmalloc -- the program prints `arenas mode=MODE allocator=NAME unsupported=SYMBOL` and exits 0.
 *
 * Modes (the pair modes run THREADS threads, default 2, each with its own window of 256 live
 * objects; every step frees the object in a random slot and allocates a new one of a random size
 * out of 16, 64, 256, 1024 and 4096 B, writing a tag into its first and last word, which is
 * checked before the free):
 *
 *   auto     N steps per thread, mallocx(size, 0) / sdallocx(p, size, 0): the automatic arenas
 *            and the thread's own cache (the reference);
 *   pairs    each thread creates an arena (arenas.create) and uses
 *            MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE on both calls: no cache, every operation
 *            goes to the arena's bin;
 *   tcache   each thread also creates an explicit cache (tcache.create) and uses
 *            MALLOCX_ARENA(a) | MALLOCX_TCACHE(t);
 *   cycle    the region / request pattern, N cycles on one thread: arenas.create, allocate
 *            4 MiB in pieces of random size 16..1024 B (MALLOCX_ARENA(a) | MALLOCX_TCACHE_NONE),
 *            writing a tag into each, then arena.<a>.destroy (no individual frees);
 *   reset    the same, but the arena is created once and arena.<a>.reset ends each cycle (its
 *            pages stay with the arena and are reused); destroyed after the timed part.
 *
 * Arena and cache creation, thread creation, and the final destroy of the pair modes are outside
 * the timed part; in cycle mode arenas.create and arena.<a>.destroy are the point and are timed.
 * The tags of every live object are checked at the end of every cycle (pairs: at every free), so
 * an overlap or a stale pointer is caught as `wrong result`, exit 1. Any mallctl error or NULL
 * from mallocx is reported on stderr, exit 1.
 *
 * Output: one line on stdout,
 *   arenas mode=M allocator=A threads=T ops=O time_ns=W cpu_ns=C ns_per_op=X
 *          peak_rss_kb=P final_rss_kb=F
 *          [cycles=N bytes_per_cycle=B ns_per_cycle=Y ctl_ns_per_cycle=Z]
 * ops = allocations (each with one free, or one destroy/reset per cycle); time_ns wall time of
 * the timed part (CLOCK_MONOTONIC; pair modes: from the first worker's start to the last one's
 * end, as the workers read it); cpu_ns its CPU time: pair modes, the sum of the worker
 * threads' own clocks (CLOCK_THREAD_CPUTIME_ID) over their loops -- CLOCK_PROCESS_CPUTIME_ID,
 * read while other threads are still running, misses their time since the scheduler's last
 * tick, up to a few ms per thread, which is most of a short run --, cycle modes the process's CPU
 * time (CLOCK_PROCESS_CPUTIME_ID; the loop runs on the main thread); ns_per_op = time_ns / ops;
 * peak_rss_kb getrusage ru_maxrss; final_rss_kb the RSS (/proc/self/statm) right after the timed
 * part: every object freed (pair modes) / after the last destroy or reset (cycle modes);
 * ctl_ns_per_cycle the wall time per cycle spent inside the arenas.create and
 * arena.<a>.destroy/reset calls.
 */
#include "bench.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>

typedef int (*mallctl_fn)(const char *, void *, size_t *, void *, size_t);
typedef void *(*mallocx_fn)(size_t, int);
typedef void (*sdallocx_fn)(void *, size_t, int);
typedef void (*dallocx_fn)(void *, int);

/* jemalloc's flag layout (also arenalloc's: csrc/include/arenalloc.h). */
#define X_TCACHE(tc) ((int)(((tc) + 2) << 8))
#define X_TCACHE_NONE X_TCACHE(-1)
#define X_ARENA(a) ((int)(((unsigned)(a) + 1) << 20))

#define MAX_THREADS 64
#define WINDOW 256
#define CYCLE_BYTES ((size_t)4 << 20)

static mallctl_fn x_mallctl;
static mallocx_fn x_mallocx;
static sdallocx_fn x_sdallocx;
static dallocx_fn x_dallocx;
static const char *mode;

static void x_free(void *p, size_t size, int flags) {
    if (x_sdallocx) x_sdallocx(p, size, flags);
    else x_dallocx(p, flags);
}

static void die(const char *what, int rc) {
    fprintf(stderr, "arenas %s: %s failed: %s (%d)\n", mode, what, rc ? strerror(rc) : "", rc);
    exit(1);
}

static unsigned ctl_create(const char *name) {
    unsigned v = 0;
    size_t len = sizeof v;
    int rc = x_mallctl(name, &v, &len, NULL, 0);
    if (rc) die(name, rc);
    return v;
}

static void ctl_arena_cmd(unsigned a, const char *cmd) {
    char name[64];
    snprintf(name, sizeof name, "arena.%u.%s", a, cmd);
    int rc = x_mallctl(name, NULL, NULL, NULL, 0);
    if (rc) die(name, rc);
}

static void ctl_write_unsigned(const char *name, unsigned v) {
    int rc = x_mallctl(name, NULL, NULL, &v, sizeof v);
    if (rc) die(name, rc);
}

static void *xalloc(size_t size, int flags) {
    void *p = x_mallocx(size, flags);
    if (!p) {
        fprintf(stderr, "arenas %s: mallocx(%zu, %#x) returned NULL (errno %d)\n", mode, size,
                (unsigned)flags, errno);
        exit(1);
    }
    return p;
}

/* Tag the first and last word of an object; check before it is freed. */
static void tag(void *p, size_t size, uint64_t t) {
    memcpy(p, &t, sizeof t);
    memcpy((char *)p + size - sizeof t, &t, sizeof t);
}

static void check(void *p, size_t size, uint64_t t, const char *where) {
    uint64_t a, b;
    memcpy(&a, p, sizeof a);
    memcpy(&b, (char *)p + size - sizeof b, sizeof b);
    if (a != t || b != t) {
        fprintf(stderr,
                "arenas %s: wrong result: object %p (%zu B) %s: tags %#llx / %#llx, expected "
                "%#llx (overlapping or reused while live)\n",
                mode, p, size, where, (unsigned long long)a, (unsigned long long)b,
                (unsigned long long)t);
        exit(1);
    }
}

/* ---- pair modes ---- */

static const size_t pair_sizes[] = {16, 64, 256, 1024, 4096};
enum pair_kind { AUTO, PAIRS, TCACHE };

struct worker {
    pthread_t th;
    int id;
    enum pair_kind kind;
    long n;
    uint64_t seed;
    unsigned arena, tcache;
    uint64_t cpu_ns;           /* the thread's CPU time over its timed part */
    uint64_t start_ns, end_ns; /* CLOCK_MONOTONIC at its start and end */
};

static pthread_barrier_t go, done;

static void *pair_thread(void *arg) {
    struct worker *w = arg;
    int flags = 0;
    if (w->kind != AUTO) {
        w->arena = ctl_create("arenas.create");
        flags = X_ARENA(w->arena) | X_TCACHE_NONE;
        if (w->kind == TCACHE) {
            w->tcache = ctl_create("tcache.create");
            flags = X_ARENA(w->arena) | X_TCACHE(w->tcache);
        }
    }
    void *obj[WINDOW] = {0};
    size_t sz[WINDOW] = {0};
    uint64_t tg[WINDOW] = {0};
    uint64_t s = w->seed;
    pthread_barrier_wait(&go);
    w->start_ns = clock_ns(CLOCK_MONOTONIC);
    uint64_t c0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
    for (long i = 0; i < w->n; i++) {
        uint64_t r = rng_next(&s);
        unsigned k = (unsigned)(r % WINDOW);
        size_t size = pair_sizes[(r >> 32) % (sizeof pair_sizes / sizeof pair_sizes[0])];
        if (obj[k]) {
            check(obj[k], sz[k], tg[k], "at free");
            x_free(obj[k], sz[k], flags);
        }
        obj[k] = xalloc(size, flags);
        sz[k] = size;
        tg[k] = r | 1;
        tag(obj[k], size, tg[k]);
    }
    for (unsigned k = 0; k < WINDOW; k++) {
        if (!obj[k]) continue;
        check(obj[k], sz[k], tg[k], "at the final free");
        x_free(obj[k], sz[k], flags);
    }
    w->cpu_ns = clock_ns(CLOCK_THREAD_CPUTIME_ID) - c0;
    w->end_ns = clock_ns(CLOCK_MONOTONIC);
    pthread_barrier_wait(&done);
    return NULL;
}

static void run_pairs(enum pair_kind kind, long n, uint64_t seed, int nthreads) {
    struct worker w[MAX_THREADS];
    pthread_barrier_init(&go, NULL, nthreads + 1);
    pthread_barrier_init(&done, NULL, nthreads + 1);
    for (int i = 0; i < nthreads; i++) {
        w[i] = (struct worker){.id = i, .kind = kind, .n = n, .seed = rng_seed(seed * 16 + i)};
        int rc = pthread_create(&w[i].th, NULL, pair_thread, &w[i]);
        if (rc) die("pthread_create", rc);
    }
    /* The workers time themselves: the main thread may get the CPU back late (2 cores, 2 busy
     * workers), so a clock read here after the `go` barrier could start after the work did. */
    pthread_barrier_wait(&go);
    pthread_barrier_wait(&done);
    long final_kb = rss_kb();
    uint64_t cpu = 0, t0 = UINT64_MAX, t1 = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(w[i].th, NULL);
        cpu += w[i].cpu_ns;
        if (w[i].start_ns < t0) t0 = w[i].start_ns;
        if (w[i].end_ns > t1) t1 = w[i].end_ns;
    }
    /* Not timed: give the caches and arenas back (and check that this works). */
    for (int i = 0; i < nthreads; i++) {
        if (kind == TCACHE) ctl_write_unsigned("tcache.destroy", w[i].tcache);
        if (kind != AUTO) ctl_arena_cmd(w[i].arena, "destroy");
    }
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    long ops = n * nthreads;
    printf("arenas mode=%s allocator=%s threads=%d ops=%ld time_ns=%llu cpu_ns=%llu "
           "ns_per_op=%.1f peak_rss_kb=%ld final_rss_kb=%ld\n",
           mode, allocator_name(), nthreads, ops, (unsigned long long)(t1 - t0),
           (unsigned long long)cpu, (double)(t1 - t0) / (double)ops,
           ru.ru_maxrss, final_kb);
}

/* ---- cycle modes ---- */

static void run_cycles(bool destroy, long cycles, uint64_t seed) {
    /* Room for the pointers of one cycle (4 MiB / 16 B at most), allocated before timing. */
    size_t cap = CYCLE_BYTES / 16;
    void **obj = xmalloc(cap * sizeof *obj);
    uint32_t *sz = xmalloc(cap * sizeof *sz);
    memset(obj, 0, cap * sizeof *obj); /* fault the arrays in now */
    memset(sz, 0, cap * sizeof *sz);
    uint64_t s = rng_seed(seed);
    unsigned a = 0;
    if (!destroy) a = ctl_create("arenas.create");
    long ops = 0;
    uint64_t ctl_ns = 0; /* wall time inside arenas.create and arena.<a>.destroy/reset */
    struct clocks t0 = clocks_now();
    for (long c = 0; c < cycles; c++) {
        if (destroy) {
            uint64_t c0 = clock_ns(CLOCK_MONOTONIC);
            a = ctl_create("arenas.create");
            ctl_ns += clock_ns(CLOCK_MONOTONIC) - c0;
        }
        int flags = X_ARENA(a) | X_TCACHE_NONE;
        size_t held = 0, n = 0;
        while (held < CYCLE_BYTES) {
            size_t size = rng_range(&s, 16, 1024);
            obj[n] = xalloc(size, flags);
            sz[n] = (uint32_t)size;
            tag(obj[n], size, ((uint64_t)c << 32) | n);
            held += size;
            n++;
        }
        for (size_t k = 0; k < n; k++)
            check(obj[k], sz[k], ((uint64_t)c << 32) | k, "before the destroy/reset");
        uint64_t c0 = clock_ns(CLOCK_MONOTONIC);
        ctl_arena_cmd(a, destroy ? "destroy" : "reset");
        ctl_ns += clock_ns(CLOCK_MONOTONIC) - c0;
        ops += (long)n;
    }
    struct clocks t1 = clocks_now();
    long final_kb = rss_kb();
    if (!destroy) ctl_arena_cmd(a, "destroy");
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("arenas mode=%s allocator=%s threads=1 ops=%ld time_ns=%llu cpu_ns=%llu "
           "ns_per_op=%.1f peak_rss_kb=%ld final_rss_kb=%ld cycles=%ld bytes_per_cycle=%zu "
           "ns_per_cycle=%.0f ctl_ns_per_cycle=%.0f\n",
           mode, allocator_name(), ops, (unsigned long long)(t1.wall - t0.wall),
           (unsigned long long)(t1.cpu - t0.cpu), (double)(t1.wall - t0.wall) / (double)ops,
           ru.ru_maxrss, final_kb, cycles, CYCLE_BYTES,
           (double)(t1.wall - t0.wall) / (double)cycles, (double)ctl_ns / (double)cycles);
    free(obj);
    free(sz);
}

int main(int argc, char **argv) {
    mode = argc > 1 ? argv[1] : "";
    bool cyc = !strcmp(mode, "cycle") || !strcmp(mode, "reset");
    long n = arg_long(argc, argv, 2, cyc ? 100 : 1000000);
    uint64_t seed = (uint64_t)arg_long(argc, argv, 3, 1);
    long threads = arg_long(argc, argv, 4, 2);
    enum pair_kind kind = AUTO;
    if (!strcmp(mode, "pairs")) kind = PAIRS;
    else if (!strcmp(mode, "tcache")) kind = TCACHE;
    else if (strcmp(mode, "auto") && !cyc) {
        fprintf(stderr, "usage: arenas auto|pairs|tcache|cycle|reset [N [SEED [THREADS]]]\n"
                        "  N: steps per thread (pair modes, default 1000000) or cycles (100)\n"
                        "  THREADS: threads of the pair modes (default 2, at most 64)\n");
        return 2;
    }
    if (n <= 0 || threads < 1 || threads > MAX_THREADS) {
        fprintf(stderr, "arenas: N must be positive, THREADS 1..%d\n", MAX_THREADS);
        return 2;
    }

    x_mallctl = (mallctl_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "mallctl");
    x_mallocx = (mallocx_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "mallocx");
    x_sdallocx = (sdallocx_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "sdallocx");
    x_dallocx = (dallocx_fn)(uintptr_t)dlsym(RTLD_DEFAULT, "dallocx");
    const char *missing = !x_mallctl ? "mallctl"
                          : !x_mallocx ? "mallocx"
                          : (!x_sdallocx && !x_dallocx) ? "sdallocx"
                                                        : NULL;
    if (missing) {
        printf("arenas mode=%s allocator=%s unsupported=%s\n", mode, allocator_name(), missing);
        return 0;
    }

    if (cyc) run_cycles(!strcmp(mode, "cycle"), n, seed);
    else run_pairs(kind, n, seed, (int)threads);
    return 0;
}
