/*
 * larson -- larson-style server churn: THREADS threads repeatedly pick a random slot of one
 * shared table, put a fresh object of random size there (atomic exchange) and free the object
 * that was in it -- most often one another thread allocated. Live memory stays about
 * SLOTS x the mean size while the allocator sees a steady stream of remote frees.
 *
 *   larson THREADS SLOTS OPS_PER_THREAD MIN MAX
 */
#include "bench.h"

#include <pthread.h>
#include <stdatomic.h>

static _Atomic(char *) *table;
static long slots, ops;
static size_t min_size, max_size;
static pthread_barrier_t start;

static void *worker(void *arg) {
    uint64_t s = rng_seed((uint64_t)(uintptr_t)arg);
    pthread_barrier_wait(&start);
    for (long i = 0; i < ops; i++) {
        size_t k = (size_t)(rng_next(&s) % (uint64_t)slots);
        char *p = malloc(rng_range(&s, min_size, max_size));
        p[0] = (char)i;
        char *old = atomic_exchange_explicit(&table[k], p, memory_order_acq_rel);
        free(old);
    }
    return NULL;
}

int main(int argc, char **argv) {
    int threads = (int)arg_long(argc, argv, 1, 4);
    slots = arg_long(argc, argv, 2, 20000);
    ops = arg_long(argc, argv, 3, 500000);
    min_size = (size_t)arg_long(argc, argv, 4, 16);
    max_size = (size_t)arg_long(argc, argv, 5, 1024);

    table = xmalloc(sizeof *table * (size_t)slots);
    uint64_t s = rng_seed(7);
    for (long k = 0; k < slots; k++) atomic_init(&table[k], xmalloc(rng_range(&s, min_size, max_size)));

    pthread_t *th = xmalloc(sizeof *th * (size_t)threads);
    pthread_barrier_init(&start, NULL, (unsigned)threads + 1);
    for (int t = 0; t < threads; t++) pthread_create(&th[t], NULL, worker, (void *)(uintptr_t)(t + 1));
    pthread_barrier_wait(&start);
    struct clocks t0 = clocks_now();
    for (int t = 0; t < threads; t++) pthread_join(th[t], NULL);
    struct clocks t1 = clocks_now();
    report(t0, t1);
    for (long k = 0; k < slots; k++) free(atomic_load(&table[k]));
    free(table);
    free(th);
    return 0;
}
