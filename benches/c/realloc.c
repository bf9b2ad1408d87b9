/*
 * realloc -- growth by realloc, writing every new byte as a program filling the buffer would.
 *
 *   realloc step   BUFS MAX ROUNDS   BUFS buffers grown in turn by random 1..256 B steps up to
 *                                    MAX (string builders; in-place growth only if neighbours
 *                                    allow it), then freed
 *   realloc double MAX ROUNDS        one buffer doubling from 16 B to MAX (a growing vector)
 */
#include "bench.h"

static char *grow(char *p, size_t old, size_t new) {
    char *q = realloc(p, new);
    if (!q) {
        fprintf(stderr, "realloc(%zu) failed\n", new);
        abort();
    }
    memset(q + old, (int)(new & 0x7f), new - old);
    return q;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "step";
    struct clocks t0, t1;
    if (strcmp(mode, "double") == 0) {
        size_t max = (size_t)arg_long(argc, argv, 2, 8 << 20);
        long rounds = arg_long(argc, argv, 3, 100);
        t0 = clocks_now();
        for (long r = 0; r < rounds; r++) {
            size_t cap = 16;
            char *p = grow(NULL, 0, cap);
            for (; cap < max; cap *= 2) p = grow(p, cap, cap * 2);
            KEEP(p);
            free(p);
        }
        t1 = clocks_now();
    } else {
        int bufs = (int)arg_long(argc, argv, 2, 8);
        size_t max = (size_t)arg_long(argc, argv, 3, 64 << 10);
        long rounds = arg_long(argc, argv, 4, 100);
        char *p[64];
        size_t len[64];
        if (bufs > 64) bufs = 64;
        uint64_t s = rng_seed(3);
        t0 = clocks_now();
        for (long r = 0; r < rounds; r++) {
            int done = 0;
            for (int b = 0; b < bufs; b++) p[b] = NULL, len[b] = 0;
            while (done < bufs) {
                done = 0;
                for (int b = 0; b < bufs; b++) {
                    if (len[b] >= max) {
                        done++;
                        continue;
                    }
                    size_t n = len[b] + rng_range(&s, 1, 256);
                    p[b] = grow(p[b], len[b], n);
                    len[b] = n;
                }
            }
            for (int b = 0; b < bufs; b++) {
                KEEP(p[b]);
                free(p[b]);
            }
        }
        t1 = clocks_now();
    }
    report(t0, t1);
    return 0;
}
