/*
 * prodcons -- cross-thread frees: PAIRS producer threads each malloc N objects (16..512 B) and
 * pass them through a single-producer single-consumer ring to their consumer thread, which
 * frees them. Every free is of memory another thread allocated.
 *
 *   prodcons PAIRS N
 */
#include "bench.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>

#define RING 4096 /* power of two */

struct ring {
    _Alignas(128) _Atomic size_t tail; /* next index the producer writes */
    _Alignas(128) _Atomic size_t head; /* next index the consumer reads */
    _Alignas(128) void *slot[RING];
    long n;
};

static void backoff(int *spins) {
    if (++*spins < 64)
        __builtin_ia32_pause();
    else
        sched_yield();
}

static void *producer(void *arg) {
    struct ring *r = arg;
    uint64_t s = rng_seed((uint64_t)(uintptr_t)r);
    size_t head = 0; /* cached copy of r->head */
    for (size_t i = 0; i < (size_t)r->n; i++) {
        char *p = malloc(rng_range(&s, 16, 512));
        p[0] = (char)i;
        int spins = 0;
        while (i - head >= RING) {
            head = atomic_load_explicit(&r->head, memory_order_acquire);
            if (i - head >= RING) backoff(&spins);
        }
        r->slot[i & (RING - 1)] = p;
        atomic_store_explicit(&r->tail, i + 1, memory_order_release);
    }
    return NULL;
}

static void *consumer(void *arg) {
    struct ring *r = arg;
    size_t i = 0;
    while (i < (size_t)r->n) {
        size_t tail;
        int spins = 0;
        while ((tail = atomic_load_explicit(&r->tail, memory_order_acquire)) == i) backoff(&spins);
        for (; i < tail; i++) free(r->slot[i & (RING - 1)]);
        atomic_store_explicit(&r->head, i, memory_order_release);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int pairs = (int)arg_long(argc, argv, 1, 1);
    long n = arg_long(argc, argv, 2, 2000000);

    struct ring *rings = aligned_alloc(128, sizeof(struct ring) * (size_t)pairs);
    pthread_t *th = xmalloc(sizeof(pthread_t) * 2 * (size_t)pairs);
    for (int k = 0; k < pairs; k++) {
        memset(&rings[k], 0, sizeof rings[k]);
        rings[k].n = n;
    }
    struct clocks t0 = clocks_now();
    for (int k = 0; k < pairs; k++) {
        pthread_create(&th[2 * k], NULL, consumer, &rings[k]);
        pthread_create(&th[2 * k + 1], NULL, producer, &rings[k]);
    }
    for (int k = 0; k < 2 * pairs; k++) pthread_join(th[k], NULL);
    struct clocks t1 = clocks_now();
    report(t0, t1);
    free(th);
    free(rings);
    return 0;
}
