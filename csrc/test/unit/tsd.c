/*
 * Unit tests for tsd (per-thread state):
 *   - threads created before the allocator's first use race its initialization and all work
 *     (this test must run first in the process: it skips itself otherwise);
 *   - a new thread's tsd starts UNINIT (zeroed cache bins refuse) and is NOMINAL after its first
 *     malloc, bound to an arena with a thread cache on it, registered;
 *   - at thread exit the cache is flushed (the arenas' bin curregs return to where they were),
 *     the arena's nthreads drops, the thread leaves the registry; a thread whose first call is
 *     free() is set up and cleaned up the same way;
 *   - destructors that run after the cleanup (PURGATORY) can still malloc and free, without a
 *     cache and without bringing the thread back to NOMINAL;
 *   - the allocation byte counter triggers the periodic event (tcache GC) every 64 KiB.
 */
#include "test.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "arenalloc.h"
#include "tsd.h"

static const size_t sizes[] = {1, 16, 100, 512, 3000, 14000, 20000, 32768, 100000};
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

static void count_tsd(tsd_t *t, void *arg) {
    (void)t;
    (*(unsigned *)arg)++;
}

static unsigned registry_count(void) {
    unsigned n = 0;
    tsd_foreach(count_tsd, &n);
    return n;
}

/* Regions handed out by the small bins of every automatic arena, summed. */
static size_t total_curregs(void) {
    size_t n = 0;
    for (unsigned i = 0; i < narenas_auto; i++) {
        arena_t *a = arena_get(i, false);
        if (a == NULL) continue;
        for (szind_t b = 0; b < SC_NBINS; b++) {
            bin_stats_t s;
            bin_stats_read(&a->bins[b], &s);
            n += s.curregs;
        }
    }
    return n;
}

static unsigned total_nthreads(void) {
    unsigned n = 0;
    for (unsigned i = 0; i < narenas_auto; i++) {
        arena_t *a = arena_get(i, false);
        if (a != NULL) n += __atomic_load_n(&a->nthreads, __ATOMIC_RELAXED);
    }
    return n;
}

static bool cache_bins_refuse(tsd_t *tsd) {
    for (szind_t i = 0; i < TCACHE_NBINS_MAX; i++) {
        void *p = (void *)16;
        if (cache_bin_pop(&tsd->tcache.bins[i], &p) || cache_bin_push(&tsd->tcache.bins[i], p)) {
            return false;
        }
    }
    return true;
}

/* ---- threads before the first allocation ---- */

enum { NEARLY = 8 };

typedef struct {
    pthread_barrier_t *barrier;
    int id;
} early_arg_t;

static void *early_thread(void *arg) {
    early_arg_t *a = arg;
    tsd_t *tsd = tsd_get();
    expect_d_eq(tsd->state, TSD_UNINIT, "thread %d before its first call", a->id);
    pthread_barrier_wait(a->barrier);
    /* All threads at once: the first malloc of the process races the others' first malloc. */
    void *ps[64];
    for (int i = 0; i < 64; i++) {
        size_t size = sizes[(size_t)(i + a->id) % NSIZES];
        ps[i] = arenalloc_malloc(size);
        assert_ptr_not_null(ps[i], "thread %d malloc(%zu)", a->id, size);
        expect_zu_ge(arenalloc_malloc_usable_size(ps[i]), size, "");
        memset(ps[i], a->id, size);
    }
    expect_d_eq(tsd->state, TSD_NOMINAL, "thread %d after malloc", a->id);
    expect_ptr_not_null(tsd->arena, "");
    expect_ptr_not_null(tsd->tcache.slots, "");
    for (int i = 0; i < 64; i++) {
        size_t size = sizes[(size_t)(i + a->id) % NSIZES];
        expect_zu_eq(test_find_not(ps[i], size, (uint8_t)a->id), SIZE_MAX, "thread %d block %d", a->id, i);
        arenalloc_free(ps[i]);
    }
    return NULL;
}

TEST_BEGIN(test_threads_before_first_allocation) {
    if (arenas[0] != NULL) test_skip("the allocator is already booted: run this test first");
    pthread_barrier_t barrier;
    pthread_barrier_init(&barrier, NULL, NEARLY);
    pthread_t t[NEARLY];
    early_arg_t args[NEARLY];
    for (int i = 0; i < NEARLY; i++) {
        args[i] = (early_arg_t){&barrier, i + 1};
        test_thread_create(&t[i], early_thread, &args[i]);
    }
    for (int i = 0; i < NEARLY; i++) test_thread_join(t[i], NULL);
    pthread_barrier_destroy(&barrier);
    expect_ptr_not_null(arenas[0], "booted by the threads");
    expect_u_eq(total_nthreads(), 0, "every thread left its arena");
    expect_zu_eq(total_curregs(), 0, "every cached region went back (the main thread never allocated)");
    expect_u_eq(registry_count(), 0, "");
}
TEST_END

/* ---- the life of one thread ---- */

typedef struct {
    bool free_first;   /* first call is free() of a block from the main thread */
    void *foreign;     /* that block */
    arena_t *arena;    /* out: the thread's arena */
    unsigned nthreads; /* out: its nthreads while the thread ran */
    unsigned registered;
    size_t curregs_during;
    unsigned cached;
} life_t;

static void *life_thread(void *arg) {
    life_t *l = arg;
    tsd_t *tsd = tsd_get();
    expect_d_eq(tsd->state, TSD_UNINIT, "a new thread starts uninitialized");
    expect_ptr_null(tsd->arena, "");
    expect_ptr_null(tsd->tcache.slots, "");
    expect_true(cache_bins_refuse(tsd), "zeroed cache bins refuse push and pop");
    if (l->free_first) {
        arenalloc_free(l->foreign);
        expect_d_eq(tsd->state, TSD_NOMINAL, "free() set the thread up");
    }
    void *ps[200];
    for (int i = 0; i < 200; i++) {
        ps[i] = arenalloc_malloc(sizes[i % NSIZES]);
        assert_ptr_not_null(ps[i], "");
        if (i == 0) {
            expect_d_eq(tsd->state, TSD_NOMINAL, "NOMINAL after the first malloc");
            expect_ptr_not_null(tsd->arena, "");
            expect_ptr_eq(tsd->tcache.arena, tsd->arena, "the cache fills from the thread's arena");
            expect_ptr_not_null(tsd->tcache.slots, "");
            expect_true(tsd->tcache_enabled, "");
        }
    }
    for (int i = 0; i < 200; i++) arenalloc_free(ps[i]);
    l->arena = tsd->arena;
    l->nthreads = __atomic_load_n(&tsd->arena->nthreads, __ATOMIC_RELAXED);
    l->registered = registry_count();
    l->curregs_during = total_curregs();
    for (szind_t i = 0; i < tcache_nbins; i++) l->cached += cache_bin_ncached(&tsd->tcache.bins[i]);
    return NULL;
}

static void run_life(bool free_first) {
    void *p = arenalloc_malloc(1); /* the main thread is booted and registered */
    arenalloc_free(p);
    life_t l = {.free_first = free_first};
    if (free_first) l.foreign = arenalloc_malloc(48);
    unsigned reg0 = registry_count(), nthreads0 = total_nthreads();
    size_t curregs0 = total_curregs();
    if (free_first) curregs0 -= 1; /* the thread frees it */
    pthread_t t;
    test_thread_create(&t, life_thread, &l);
    test_thread_join(t, NULL);
    assert_ptr_not_null(l.arena, "");
    expect_u_eq(l.registered, reg0 + 1, "registered while alive");
    expect_u_gt(l.cached, 0, "the thread's cache held items at exit");
    expect_zu_gt(l.curregs_during, curregs0, "its cached regions counted as out of the bins");
    expect_zu_eq(total_curregs(), curregs0, "exit flushed the cache: bin curregs are back");
    expect_u_eq(__atomic_load_n(&l.arena->nthreads, __ATOMIC_RELAXED), l.nthreads - 1,
                "the thread left its arena");
    expect_u_eq(total_nthreads(), nthreads0, "");
    expect_u_eq(registry_count(), reg0, "left the registry");
}

TEST_BEGIN(test_thread_lifecycle) {
    run_life(false);
}
TEST_END

TEST_BEGIN(test_thread_whose_first_call_is_free) {
    run_life(true);
}
TEST_END

/* ---- after the cleanup ---- */

static pthread_key_t late_key;

typedef struct {
    int rounds;
    bool saw_purgatory;
    bool malloc_ok;
    bool stayed_purgatory;
    bool no_cache;
    size_t curregs_with_block, curregs_after_free;
} late_t;

static void late_destructor(void *arg) {
    late_t *l = arg;
    tsd_t *tsd = tsd_get();
    l->rounds++;
    if (tsd->state == TSD_NOMINAL && l->rounds < 3) {
        pthread_setspecific(late_key, l); /* ran before the allocator's cleanup: once more */
        return;
    }
    l->saw_purgatory = tsd->state == TSD_PURGATORY;
    void *p = arenalloc_malloc(64);
    void *q = arenalloc_malloc(40000);
    l->malloc_ok = p != NULL && q != NULL;
    if (p != NULL) memset(p, 1, 64);
    l->curregs_with_block = total_curregs();
    arenalloc_free(p);
    arenalloc_free(q);
    l->curregs_after_free = total_curregs();
    l->stayed_purgatory = tsd->state == TSD_PURGATORY;
    l->no_cache = tsd->tcache.slots == NULL && cache_bins_refuse(tsd);
}

static void *late_thread(void *arg) {
    void *p = arenalloc_malloc(64);
    arenalloc_free(p);
    pthread_setspecific(late_key, arg);
    return NULL;
}

TEST_BEGIN(test_destructor_after_cleanup) {
    void *p = arenalloc_malloc(1);
    arenalloc_free(p);
    /* Created after the allocator's key, so glibc runs it after the allocator's cleanup in each
     * round; if not, it re-arms itself for the next round. */
    assert_d_eq(pthread_key_create(&late_key, late_destructor), 0, "");
    late_t l = {0};
    size_t curregs0 = total_curregs();
    unsigned nthreads0 = total_nthreads();
    pthread_t t;
    test_thread_create(&t, late_thread, &l);
    test_thread_join(t, NULL);
    pthread_key_delete(late_key);
    expect_true(l.saw_purgatory, "the destructor ran after the cleanup (rounds %d)", l.rounds);
    expect_true(l.malloc_ok, "malloc in a late destructor");
    expect_true(l.stayed_purgatory, "no second initialization");
    expect_true(l.no_cache, "no cache re-created after the flush");
    expect_zu_eq(l.curregs_with_block, curregs0 + 1, "the late block came from a bin directly");
    expect_zu_eq(l.curregs_after_free, curregs0, "and went back directly");
    expect_zu_eq(total_curregs(), curregs0, "");
    expect_u_eq(total_nthreads(), nthreads0, "nthreads not decremented twice");
}
TEST_END

/* ---- many threads ---- */

static void *busy_thread(void *arg) {
    test_prng_t prng;
    test_prng_init(&prng, (uint64_t)(uintptr_t)arg);
    void *ps[128] = {NULL};
    int rounds = test_under_tsan() ? 2000 : 20000;
    for (int i = 0; i < rounds; i++) {
        unsigned k = (unsigned)test_prng_range(&prng, 128);
        if (ps[k] != NULL) {
            arenalloc_free(ps[k]);
            ps[k] = NULL;
        } else {
            ps[k] = arenalloc_malloc(1 + test_prng_range(&prng, 2048));
            assert_ptr_not_null(ps[k], "");
        }
    }
    for (int k = 0; k < 128; k++) arenalloc_free(ps[k]);
    return NULL;
}

TEST_BEGIN(test_many_threads_exit_clean) {
    void *p = arenalloc_malloc(1);
    arenalloc_free(p);
    size_t curregs0 = total_curregs();
    unsigned nthreads0 = total_nthreads(), reg0 = registry_count();
    enum { NT = 12 };
    pthread_t t[NT];
    for (int i = 0; i < NT; i++) test_thread_create(&t[i], busy_thread, (void *)(uintptr_t)(test_seed() + (uint64_t)i));
    for (int i = 0; i < NT; i++) test_thread_join(t[i], NULL);
    expect_zu_eq(total_curregs(), curregs0, "all caches flushed");
    expect_u_eq(total_nthreads(), nthreads0, "");
    expect_u_eq(registry_count(), reg0, "");
}
TEST_END

/* ---- the event counter ---- */

static void *event_thread(void *arg) {
    (void)arg;
    void *p = arenalloc_malloc(64);
    arenalloc_free(p);
    tsd_t *tsd = tsd_get();
    expect_d_eq(tsd->state, TSD_NOMINAL, "");
    expect_d64_eq(tsd->event_countdown, (int64_t)TCACHE_GC_INCR_BYTES - 64,
                  "the first event is due 64 KiB after setup");
    expect_u_eq(tsd->tcache.gc_next, 0, "");
    uint64_t start = tsd->thread_allocated;
    unsigned steps = 0, last = 0;
    /* 1 MiB of 64-byte allocations: 16 GC steps, one per 64 KiB. */
    for (int i = 0; i < (1 << 20) / 64; i++) {
        p = arenalloc_malloc(64);
        arenalloc_free(p);
        if (tsd->tcache.gc_next != last) {
            steps++;
            last = tsd->tcache.gc_next;
            expect_d64_gt(tsd->event_countdown, 0, "the countdown restarted");
            expect_d64_le(tsd->event_countdown, (int64_t)TCACHE_GC_INCR_BYTES, "");
        }
    }
    expect_u64_eq(tsd->thread_allocated - start, 1 << 20, "usable bytes counted");
    expect_u_ge(steps, 15, "a GC step every 64 KiB");
    expect_u_le(steps, 17, "");
    return NULL;
}

TEST_BEGIN(test_event_threshold) {
    pthread_t t;
    test_thread_create(&t, event_thread, NULL);
    test_thread_join(t, NULL);
}
TEST_END

int main(void) {
    return run_tests(test_threads_before_first_allocation, test_thread_lifecycle,
                     test_thread_whose_first_call_is_free, test_destructor_after_cleanup,
                     test_many_threads_exit_clean, test_event_threshold);
}
