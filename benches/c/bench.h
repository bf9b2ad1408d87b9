/*
 * bench.h -- helpers shared by the C workloads in benches/c/ (header-only).
 *
 * Each workload is a small program linked against the C library's malloc and run by
 * benches/compare.sh under LD_PRELOAD of each allocator. It prints `key value` lines on stdout:
 *
 *   allocator   which malloc actually serves the process (checked by the script)
 *   time_ns     wall time of the measured part only (not start-up or exit)
 *   cpu_ns      CPU time of the process (all threads, user + system) over the same part
 *   maxrss_kb   peak resident set size of the process (getrusage ru_maxrss)
 *   ...         workload-specific extras (e.g. current RSS at a given phase)
 *
 * Nothing here allocates except through malloc/free/realloc, which is the point.
 */
#ifndef BENCH_H
#define BENCH_H

#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

/* Keep the compiler from eliding a malloc/free pair or a store through p. */
#define KEEP(p) __asm__ volatile("" : : "r"(p) : "memory")

/* Both clocks at one point: wall (monotonic) and the process's CPU time. */
struct clocks {
    uint64_t wall, cpu;
};

static inline uint64_t clock_ns(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static inline struct clocks clocks_now(void) {
    struct clocks c = {clock_ns(CLOCK_MONOTONIC), clock_ns(CLOCK_PROCESS_CPUTIME_ID)};
    return c;
}

/* xorshift64*: deterministic, so every allocator sees the same sequence. */
static inline uint64_t rng_next(uint64_t *s) {
    uint64_t x = *s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    *s = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static inline uint64_t rng_seed(uint64_t n) { return (n + 1) * 0x9E3779B97F4A7C15ull | 1; }

/* Uniform in [lo, hi]. */
static inline size_t rng_range(uint64_t *s, size_t lo, size_t hi) {
    return lo + (size_t)(rng_next(s) >> 11) % (hi - lo + 1);
}

static inline long arg_long(int argc, char **argv, int i, long dflt) {
    return i < argc ? strtol(argv[i], NULL, 0) : dflt;
}

/* Current resident set size in KiB, from /proc/self/statm. */
static inline long rss_kb(void) {
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
        fclose(f);
    }
    return resident * (sysconf(_SC_PAGESIZE) / 1024);
}

/* Which allocator serves malloc: probe for a symbol only that allocator exports. */
static inline const char *allocator_name(void) {
    if (dlsym(RTLD_DEFAULT, "arenalloc_malloc")) return "arenalloc";
    if (dlsym(RTLD_DEFAULT, "mi_malloc")) return "mimalloc";
    if (dlsym(RTLD_DEFAULT, "tc_malloc")) return "tcmalloc";
    if (dlsym(RTLD_DEFAULT, "mallocx")) return "jemalloc";
    return "glibc";
}

static inline void report(struct clocks t0, struct clocks t1) {
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("allocator %s\n", allocator_name());
    printf("time_ns %llu\n", (unsigned long long)(t1.wall - t0.wall));
    printf("cpu_ns %llu\n", (unsigned long long)(t1.cpu - t0.cpu));
    printf("maxrss_kb %ld\n", ru.ru_maxrss);
}

static inline void *xmalloc(size_t n) {
    void *p = malloc(n);
    if (!p) {
        fprintf(stderr, "malloc(%zu) failed\n", n);
        abort();
    }
    return p;
}

#endif /* BENCH_H */
