/*
 * fastpath -- the warm fast path, for instruction counting under callgrind (benches/callgrind.sh).
 *
 *   fastpath API LIVE N
 *
 * API    malloc   N x { p = malloc(64); free(p); }
 *        mallocx  N x { p = mallocx(64, 0); sdallocx(p, 64, 0); } -- jemalloc's sized API, the
 *                 one Rust's GlobalAlloc uses; resolved with dlsym so one binary serves every
 *                 preloaded allocator (exits 3 printing "absent" where it is not exported)
 *        empty    N x two calls of do-nothing functions: the harness's own cost per pair
 * LIVE   64-byte blocks allocated before and kept live through the loop (0 = nothing else of
 *        that size is live, so an allocator that releases an empty page/slab pays for it)
 *
 * The loop runs once as warm-up (warm_*) and then once measured (bench_*); the script collects
 * only inside bench_* (--toggle-collect) and differences two values of N, so start-up, warm-up
 * and the call into bench_* cancel out.
 */
#include "bench.h"

typedef void *(*mallocx_fn)(size_t, int);
typedef void (*sdallocx_fn)(void *, size_t, int);
static mallocx_fn p_mallocx;
static sdallocx_fn p_sdallocx;

static char dummy_buf[64];
__attribute__((noinline, noclone)) void *dummy_alloc(size_t n) {
    KEEP(n);
    return dummy_buf;
}
__attribute__((noinline, noclone)) void dummy_free(void *p) { KEEP(p); }

#define PAIRS_MALLOC(n)                     \
    for (long i = 0; i < (n); i++) {        \
        void *p = malloc(64);               \
        KEEP(p);                            \
        free(p);                            \
    }
#define PAIRS_MALLOCX(n)                    \
    for (long i = 0; i < (n); i++) {        \
        void *p = p_mallocx(64, 0);         \
        KEEP(p);                            \
        p_sdallocx(p, 64, 0);               \
    }
#define PAIRS_EMPTY(n)                      \
    for (long i = 0; i < (n); i++) {        \
        void *p = dummy_alloc(64);          \
        KEEP(p);                            \
        dummy_free(p);                      \
    }

#define NOINL __attribute__((noinline, noclone))
NOINL void warm_malloc(long n) { PAIRS_MALLOC(n) }
NOINL void bench_malloc(long n) { PAIRS_MALLOC(n) }
NOINL void warm_mallocx(long n) { PAIRS_MALLOCX(n) }
NOINL void bench_mallocx(long n) { PAIRS_MALLOCX(n) }
NOINL void warm_empty(long n) { PAIRS_EMPTY(n) }
NOINL void bench_empty(long n) { PAIRS_EMPTY(n) }

int main(int argc, char **argv) {
    const char *api = argc > 1 ? argv[1] : "malloc";
    long live = arg_long(argc, argv, 2, 0);
    long n = arg_long(argc, argv, 3, 100000);
    void *keep[256];
    if (live > 256) live = 256;

    printf("allocator %s\n", allocator_name());
    if (strcmp(api, "mallocx") == 0) {
        p_mallocx = (mallocx_fn)dlsym(RTLD_DEFAULT, "mallocx");
        p_sdallocx = (sdallocx_fn)dlsym(RTLD_DEFAULT, "sdallocx");
        if (!p_mallocx || !p_sdallocx) {
            printf("absent\n");
            return 3;
        }
        for (long i = 0; i < live; i++) keep[i] = p_mallocx(64, 0);
        warm_mallocx(10000);
        bench_mallocx(n);
        for (long i = 0; i < live; i++) p_sdallocx(keep[i], 64, 0);
    } else if (strcmp(api, "malloc") == 0) {
        for (long i = 0; i < live; i++) keep[i] = malloc(64);
        warm_malloc(10000);
        bench_malloc(n);
        for (long i = 0; i < live; i++) free(keep[i]);
    } else {
        warm_empty(10000);
        bench_empty(n);
    }
    return 0;
}
