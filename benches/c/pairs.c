/*
 * pairs -- tight malloc/free pairs of one size: the thread-cache fast path.
 *
 *   pairs SIZE N      N times: p = malloc(SIZE); write one byte; free(p)
 */
#include "bench.h"

int main(int argc, char **argv) {
    size_t size = (size_t)arg_long(argc, argv, 1, 64);
    long n = arg_long(argc, argv, 2, 10000000);

    for (long i = 0; i < 1000; i++) { /* warm-up: first use, cache fill */
        char *p = xmalloc(size);
        p[0] = (char)i;
        KEEP(p);
        free(p);
    }
    struct clocks t0 = clocks_now();
    for (long i = 0; i < n; i++) {
        char *p = malloc(size);
        p[0] = (char)i;
        KEEP(p);
        free(p);
    }
    struct clocks t1 = clocks_now();
    report(t0, t1);
    return 0;
}
