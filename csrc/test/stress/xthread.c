/*
 * Cross-thread frees, bounded by STRESS_SECONDS: producer threads allocate blocks, fill them with
 * a pattern derived from the address, and pass them through a queue to consumer threads, which
 * check the pattern and free them (free, sdallocx with the size, dallocx, or after a realloc in
 * the consumer). Some blocks go back through a second queue and are freed by a producer, so
 * blocks travel both ways between thread caches and arenas. This is the remote-free path:
 * objects freed into a cache that does not own them, flushed to another arena's bins.
 */
#include "arenalloc.h"
#include "test.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { QCAP = 1024, FULL_FILL_MAX = 16 << 10, EDGE = 2048 };

struct item {
    unsigned char *p;
    size_t size;
    int flags; /* -1: plain malloc */
};

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty, nonfull;
    struct item items[QCAP];
    size_t head, count;
    bool closed;
};

static void q_init(struct queue *q) {
    pthread_mutex_init(&q->lock, NULL);
    pthread_cond_init(&q->nonempty, NULL);
    pthread_cond_init(&q->nonfull, NULL);
    q->head = q->count = 0;
    q->closed = false;
}

/* Blocking push; returns false if the queue is closed (the item is not taken). */
static bool q_push(struct queue *q, struct item it) {
    pthread_mutex_lock(&q->lock);
    while (q->count == QCAP && !q->closed) {
        pthread_cond_wait(&q->nonfull, &q->lock);
    }
    if (q->closed) {
        pthread_mutex_unlock(&q->lock);
        return false;
    }
    q->items[(q->head + q->count) % QCAP] = it;
    q->count++;
    pthread_cond_signal(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
    return true;
}

/* Non-blocking push. */
static bool q_try_push(struct queue *q, struct item it) {
    pthread_mutex_lock(&q->lock);
    bool ok = q->count < QCAP && !q->closed;
    if (ok) {
        q->items[(q->head + q->count) % QCAP] = it;
        q->count++;
        pthread_cond_signal(&q->nonempty);
    }
    pthread_mutex_unlock(&q->lock);
    return ok;
}

/* Pop, blocking unless `wait` is false; false when empty and (closed or !wait). */
static bool q_pop(struct queue *q, struct item *out, bool wait) {
    pthread_mutex_lock(&q->lock);
    while (q->count == 0 && !q->closed && wait) {
        pthread_cond_wait(&q->nonempty, &q->lock);
    }
    if (q->count == 0) {
        pthread_mutex_unlock(&q->lock);
        return false;
    }
    *out = q->items[q->head];
    q->head = (q->head + 1) % QCAP;
    q->count--;
    pthread_cond_signal(&q->nonfull);
    pthread_mutex_unlock(&q->lock);
    return true;
}

static void q_close(struct queue *q) {
    pthread_mutex_lock(&q->lock);
    q->closed = true;
    pthread_cond_broadcast(&q->nonempty);
    pthread_cond_broadcast(&q->nonfull);
    pthread_mutex_unlock(&q->lock);
}

static struct queue to_consumers, back_to_producers;
static double deadline;
static atomic_ulong produced, consumed, returned;

static uint64_t seed_of(const void *p) { return (uint64_t)(uintptr_t)p * 0xff51afd7ed558ccdULL; }

static void fill_item(const struct item *it) {
    uint64_t s = seed_of(it->p);
    if (it->size <= FULL_FILL_MAX) {
        test_fill(it->p, it->size, s);
    } else {
        test_fill(it->p, EDGE, s);
        test_fill_at(it->p + it->size - EDGE, EDGE, s, it->size - EDGE);
    }
}

static bool check_item(const struct item *it, const char *who) {
    uint64_t s = seed_of(it->p);
    size_t bad;
    if (it->size <= FULL_FILL_MAX) {
        bad = test_check(it->p, it->size, s);
    } else {
        bad = test_check(it->p, EDGE, s);
        if (bad == SIZE_MAX) {
            bad = test_check_at(it->p + it->size - EDGE, EDGE, s, it->size - EDGE);
            bad = bad == SIZE_MAX ? bad : bad + it->size - EDGE;
        }
    }
    expect_zu_eq(bad, SIZE_MAX, "%s: block %p (%zu bytes) damaged at offset %zu", who,
                 (void *)it->p, it->size, bad);
    return bad == SIZE_MAX;
}

static void free_item(struct item *it, test_prng_t *r) {
    switch (test_prng_range(r, 4)) {
    case 0:
        arenalloc_free(it->p);
        break;
    case 1:
        sdallocx(it->p, it->size, it->flags < 0 ? 0 : it->flags);
        break;
    case 2:
        dallocx(it->p, it->flags < 0 ? 0 : it->flags);
        break;
    default:
        dallocx(it->p, MALLOCX_TCACHE_NONE);
        break;
    }
}

static void *producer(void *arg) {
    test_prng_t r;
    test_prng_init(&r, (uint64_t)(uintptr_t)arg);
    unsigned long n = 0;
    while (test_now() < deadline) {
        /* Free whatever came back first (frees of blocks this thread may not have made). */
        struct item back;
        for (int k = 0; k < 8 && q_pop(&back_to_producers, &back, false); k++) {
            check_item(&back, "producer (returned block)");
            free_item(&back, &r);
        }
        for (int k = 0; k < 64; k++) {
            uint64_t c = test_prng_range(&r, 100);
            size_t sz = c < 75 ? 1 + test_prng_range(&r, 256)
                        : c < 97 ? 1 + test_prng_range(&r, 16384)
                                 : 16384 + test_prng_range(&r, 512 << 10);
            struct item it;
            it.flags = c % 3 == 0 ? MALLOCX_LG_ALIGN(c % 8) : -1;
            it.p = it.flags < 0 ? arenalloc_malloc(sz) : mallocx(sz, it.flags);
            if (it.p == NULL) {
                expect_not_reached("producer: allocation of %zu failed", sz);
                continue;
            }
            it.size = sz;
            fill_item(&it);
            if (!q_push(&to_consumers, it)) {
                arenalloc_free(it.p);
                return NULL;
            }
            n++;
        }
    }
    atomic_fetch_add(&produced, n);
    return NULL;
}

static void *consumer(void *arg) {
    test_prng_t r;
    test_prng_init(&r, (uint64_t)(uintptr_t)arg);
    unsigned long n = 0, back = 0;
    struct item it;
    while (q_pop(&to_consumers, &it, true)) {
        n++;
        if (!check_item(&it, "consumer")) {
            continue; /* leak it rather than free a block someone else may own */
        }
        uint64_t c = test_prng_range(&r, 16);
        if (c == 0) {
            /* Resize a block that another thread allocated. */
            size_t nsz = 1 + test_prng_range(&r, it.size * 2 + 64);
            size_t keep = nsz < it.size ? nsz : it.size;
            if (it.size > FULL_FILL_MAX) {
                keep = keep < EDGE ? keep : EDGE;
            }
            uint64_t s = seed_of(it.p);
            unsigned char *q = arenalloc_realloc(it.p, nsz);
            if (q == NULL) {
                expect_not_reached("consumer: realloc(%zu -> %zu) failed", it.size, nsz);
                continue;
            }
            size_t bad = test_check(q, keep, s);
            expect_zu_eq(bad, SIZE_MAX, "consumer: realloc %zu -> %zu lost content at %zu",
                         it.size, nsz, bad);
            it.p = q;
            it.size = nsz;
            it.flags = -1;
            fill_item(&it);
        }
        if (c <= 2 && q_try_push(&back_to_producers, it)) {
            back++;
            continue;
        }
        free_item(&it, &r);
    }
    atomic_fetch_add(&consumed, n);
    atomic_fetch_add(&returned, back);
    return NULL;
}

TEST_BEGIN(test_producer_consumer) {
    enum { NPROD = 3, NCONS = 3 };
    q_init(&to_consumers);
    q_init(&back_to_producers);
    deadline = test_now() + test_seconds() * 2 / 3;
    pthread_t prod[NPROD], cons[NCONS];
    uint64_t seed = test_seed();
    for (int i = 0; i < NCONS; i++) {
        test_thread_create(&cons[i], consumer, (void *)(uintptr_t)(seed + 100 + (uint64_t)i));
    }
    for (int i = 0; i < NPROD; i++) {
        test_thread_create(&prod[i], producer, (void *)(uintptr_t)(seed + (uint64_t)i));
    }
    for (int i = 0; i < NPROD; i++) {
        test_thread_join(prod[i], NULL);
    }
    /* Producers are done: let consumers drain, then free what came back. */
    q_close(&to_consumers);
    for (int i = 0; i < NCONS; i++) {
        test_thread_join(cons[i], NULL);
    }
    q_close(&back_to_producers);
    test_prng_t r;
    test_prng_init(&r, seed);
    struct item it;
    while (q_pop(&back_to_producers, &it, false)) {
        check_item(&it, "main (returned block)");
        free_item(&it, &r);
    }
    printf("    produced %lu, consumed %lu, returned %lu\n", atomic_load(&produced),
           atomic_load(&consumed), atomic_load(&returned));
    expect_lu_eq(atomic_load(&produced), atomic_load(&consumed), "every block was consumed");
    expect_lu_gt(atomic_load(&consumed), 0, "nothing was consumed");
}
TEST_END

/* All-to-all: every thread frees blocks allocated by every other thread, through shared slots. */
enum { SHARED = 4096 };
static _Atomic(void *) shared_slots[SHARED];

static void *swapper(void *arg) {
    test_prng_t r;
    test_prng_init(&r, (uint64_t)(uintptr_t)arg);
    double end = deadline;
    unsigned long n = 0;
    while ((n & 1023) != 0 || test_now() < end) {
        n++;
        size_t sz = 8 + test_prng_range(&r, test_prng_range(&r, 16) ? 200 : 20000);
        unsigned char *p = arenalloc_malloc(sz);
        if (p == NULL) {
            expect_not_reached("malloc(%zu) failed", sz);
            continue;
        }
        /* Stamp the block with its size so the thread that frees it can check it. */
        memcpy(p, &sz, sizeof(sz));
        if (sz > sizeof(sz)) {
            memset(p + sizeof(sz), (int)(sz & 0xff), sz - sizeof(sz));
        }
        void *old = atomic_exchange(&shared_slots[test_prng_range(&r, SHARED)], p);
        if (old != NULL) {
            unsigned char *o = old;
            size_t osz = 0;
            memcpy(&osz, o, sizeof(osz));
            if (osz > sizeof(osz) && osz < 20008) {
                size_t bad = test_find_not(o + sizeof(osz), osz - sizeof(osz),
                                           (unsigned char)(osz & 0xff));
                expect_zu_eq(bad, SIZE_MAX, "shared block %p (%zu) damaged", old, osz);
            }
            arenalloc_free(old);
        }
    }
    return NULL;
}

TEST_BEGIN(test_all_to_all_frees) {
    enum { N = 6 };
    deadline = test_now() + test_seconds() / 3;
    pthread_t t[N];
    for (int i = 0; i < N; i++) {
        test_thread_create(&t[i], swapper, (void *)(uintptr_t)(test_seed() + 7 * (uint64_t)i));
    }
    for (int i = 0; i < N; i++) {
        test_thread_join(t[i], NULL);
    }
    for (int i = 0; i < SHARED; i++) {
        arenalloc_free(atomic_exchange(&shared_slots[i], NULL));
    }
}
TEST_END

int main(void) { return run_tests(test_producer_consumer, test_all_to_all_frees); }
