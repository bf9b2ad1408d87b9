/*
 * batch -- allocate COUNT objects, then free them all (in allocation order); ROUNDS times.
 * Exercises cache-bin fill and flush, slab turnover and (for big batches) page reuse.
 *
 *   batch SIZE COUNT ROUNDS     SIZE 0 = random sizes 16..4096 (same sequence every round)
 */
#include "bench.h"

int main(int argc, char **argv) {
    size_t size = (size_t)arg_long(argc, argv, 1, 64);
    long count = arg_long(argc, argv, 2, 10000);
    long rounds = arg_long(argc, argv, 3, 200);

    char **ptrs = xmalloc((size_t)count * sizeof *ptrs);
    size_t *sizes = xmalloc((size_t)count * sizeof *sizes);
    uint64_t s = rng_seed(42);
    for (long i = 0; i < count; i++) sizes[i] = size ? size : rng_range(&s, 16, 4096);

    struct clocks t0 = clocks_now();
    for (long r = 0; r < rounds; r++) {
        for (long i = 0; i < count; i++) {
            char *p = malloc(sizes[i]);
            p[0] = (char)i;
            ptrs[i] = p;
        }
        KEEP(ptrs);
        for (long i = 0; i < count; i++) free(ptrs[i]);
    }
    struct clocks t1 = clocks_now();
    report(t0, t1);
    free(sizes);
    free(ptrs);
    return 0;
}
