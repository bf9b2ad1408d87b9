/*
 * frag -- fragmentation: how much memory stays resident when a sparse subset of objects
 * survives, and whether later allocations of other sizes reuse the holes.
 *
 *   frag N KEEP_ONE_IN
 *
 * 1. allocate N objects of mixed sizes (70 % 16..256 B, 27 % 257..2048 B, 3 % 2..16 KiB),
 *    each written in full;
 * 2. free all but a random 1 in KEEP_ONE_IN of them; report rss_sparse_kb;
 * 3. allocate N objects again from a shifted mix (50 % 16..256 B, 45 % 257..2048 B,
 *    5 % 2..16 KiB); report rss_end_kb (and maxrss_kb, the peak);
 * 4. free everything.
 * Also prints live_kb1 / live_kb3: the bytes the program holds after steps 1 and 3.
 */
#include "bench.h"

static size_t size_a(uint64_t *s) {
    unsigned pick = (unsigned)(rng_next(s) % 100);
    if (pick < 70) return rng_range(s, 16, 256);
    if (pick < 97) return rng_range(s, 257, 2048);
    return rng_range(s, 2049, 16384);
}

static size_t size_b(uint64_t *s) {
    unsigned pick = (unsigned)(rng_next(s) % 100);
    if (pick < 50) return rng_range(s, 16, 256);
    if (pick < 95) return rng_range(s, 257, 2048);
    return rng_range(s, 2049, 16384);
}

int main(int argc, char **argv) {
    long n = arg_long(argc, argv, 1, 200000);
    long keep = arg_long(argc, argv, 2, 16);

    char **a = xmalloc(sizeof *a * (size_t)n);
    size_t *asz = xmalloc(sizeof *asz * (size_t)n);
    char **b = xmalloc(sizeof *b * (size_t)n);
    uint64_t s = rng_seed(11);
    size_t live1 = 0, live3 = 0;

    struct clocks t0 = clocks_now();
    for (long i = 0; i < n; i++) {
        asz[i] = size_a(&s);
        a[i] = malloc(asz[i]);
        memset(a[i], 1, asz[i]);
        live1 += asz[i];
    }
    size_t kept = 0;
    for (long i = 0; i < n; i++) {
        if (rng_next(&s) % (uint64_t)keep == 0) {
            kept += asz[i];
            continue;
        }
        free(a[i]);
        a[i] = NULL;
    }
    long rss_sparse = rss_kb();
    live3 = kept;
    for (long i = 0; i < n; i++) {
        size_t z = size_b(&s);
        b[i] = malloc(z);
        memset(b[i], 2, z);
        live3 += z;
    }
    long rss_end = rss_kb();
    struct clocks t1 = clocks_now();

    report(t0, t1);
    printf("rss_sparse_kb %ld\n", rss_sparse);
    printf("rss_end_kb %ld\n", rss_end);
    printf("live_kb1 %zu\n", live1 / 1024);
    printf("live_sparse_kb %zu\n", kept / 1024);
    printf("live_kb3 %zu\n", live3 / 1024);
    for (long i = 0; i < n; i++) {
        free(a[i]);
        free(b[i]);
    }
    free(a);
    free(asz);
    free(b);
    return 0;
}
