/*
 * Thread churn, bounded by STRESS_SECONDS: waves of short-lived threads, thousands in all. Each
 * thread allocates a few hundred blocks, frees most of them itself (so its thread cache holds
 * objects when it exits), and hands the rest to the next wave, which frees them (frees of blocks
 * whose owner thread is gone). A thread's cache and state must be returned at exit, so the
 * process's resident memory after the last wave must stay close to what it was after the first:
 * RSS(last) < 2 x RSS(first) + 16 MiB. A per-thread leak of even a few KiB shows up over thousands
 * of threads.
 */
#include "arenalloc.h"
#include "test.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

enum { WAVE = 32, PER_THREAD = 300, HANDOFF_PER_THREAD = 24, MIN_WAVES = 8 };

struct handoff {
    void *p[WAVE * HANDOFF_PER_THREAD];
    size_t size[WAVE * HANDOFF_PER_THREAD];
};

struct thread_arg {
    uint64_t seed;
    unsigned index;
    struct handoff *in;  /* blocks from the previous wave to free (this thread's share) */
    struct handoff *out; /* blocks for the next wave */
};

static atomic_ulong damaged;

static void *short_lived(void *arg) {
    struct thread_arg *a = arg;
    test_prng_t r;
    test_prng_init(&r, a->seed);
    /* Free this thread's share of the previous wave's leftovers. */
    for (unsigned k = 0; k < HANDOFF_PER_THREAD; k++) {
        unsigned i = a->index * HANDOFF_PER_THREAD + k;
        void *p = a->in->p[i];
        if (p != NULL) {
            size_t sz = a->in->size[i];
            if (test_find_not(p, sz, (unsigned char)(sz * 31)) != SIZE_MAX) {
                atomic_fetch_add(&damaged, 1);
            }
            if (k % 2) {
                sdallocx(p, sz, 0);
            } else {
                arenalloc_free(p);
            }
            a->in->p[i] = NULL;
        }
    }
    void *mine[PER_THREAD];
    size_t sizes[PER_THREAD];
    for (unsigned i = 0; i < PER_THREAD; i++) {
        uint64_t c = test_prng_range(&r, 100);
        size_t sz = c < 85 ? 1 + test_prng_range(&r, 512)
                    : c < 98 ? 1 + test_prng_range(&r, 8192)
                             : 16384 + test_prng_range(&r, 100000);
        mine[i] = arenalloc_malloc(sz);
        sizes[i] = sz;
        if (mine[i] != NULL) {
            memset(mine[i], (unsigned char)(sz * 31), sz);
        }
    }
    /* Hand some to the next wave; free the rest here, in random order. */
    for (unsigned k = 0; k < HANDOFF_PER_THREAD; k++) {
        unsigned i = a->index * HANDOFF_PER_THREAD + k;
        a->out->p[i] = mine[k];
        a->out->size[i] = sizes[k];
        mine[k] = NULL;
    }
    for (unsigned i = PER_THREAD - 1; i > 0; i--) {
        unsigned j = (unsigned)test_prng_range(&r, i + 1);
        void *t = mine[i];
        size_t ts = sizes[i];
        mine[i] = mine[j];
        sizes[i] = sizes[j];
        mine[j] = t;
        sizes[j] = ts;
    }
    for (unsigned i = 0; i < PER_THREAD; i++) {
        if (mine[i] != NULL) {
            if (test_find_not(mine[i], sizes[i], (unsigned char)(sizes[i] * 31)) != SIZE_MAX) {
                atomic_fetch_add(&damaged, 1);
            }
            arenalloc_free(mine[i]);
        }
    }
    return NULL;
}

static void run_wave(struct handoff *in, struct handoff *out, uint64_t seed) {
    pthread_t t[WAVE];
    struct thread_arg args[WAVE];
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    /* Small stacks: the stacks themselves are libc's memory and would dominate RSS otherwise. */
    pthread_attr_setstacksize(&attr, test_under_tsan() ? (1 << 20) : (256 << 10));
    for (unsigned i = 0; i < WAVE; i++) {
        args[i] = (struct thread_arg){seed + i, i, in, out};
        int err = pthread_create(&t[i], &attr, short_lived, &args[i]);
        assert_d_eq(err, 0, "pthread_create #%u of a wave", i);
    }
    for (unsigned i = 0; i < WAVE; i++) {
        test_thread_join(t[i], NULL);
    }
    pthread_attr_destroy(&attr);
}

TEST_BEGIN(test_thread_churn_rss) {
    static struct handoff h[2];
    memset(h, 0, sizeof(h));
    double deadline = test_now() + test_seconds();
    uint64_t seed = test_seed();
    size_t rss_first = 0, rss_last = 0, rss_max = 0;
    unsigned waves = 0;
    while (waves < MIN_WAVES || test_now() < deadline) {
        run_wave(&h[waves % 2], &h[(waves + 1) % 2], seed + waves * 1000003ULL);
        waves++;
        size_t rss = test_rss_bytes();
        if (waves == 1) {
            rss_first = rss;
        }
        rss_last = rss;
        rss_max = rss > rss_max ? rss : rss_max;
        if (waves >= 100000) {
            break;
        }
    }
    /* Free the last wave's handoff from the main thread. */
    struct handoff *left = &h[waves % 2];
    for (unsigned i = 0; i < WAVE * HANDOFF_PER_THREAD; i++) {
        arenalloc_free(left->p[i]);
        left->p[i] = NULL;
    }
    printf("    %u waves, %u threads; RSS after first wave %zu KiB, after last %zu KiB, max %zu "
           "KiB\n",
           waves, waves * WAVE, rss_first >> 10, rss_last >> 10, rss_max >> 10);
    expect_lu_eq(atomic_load(&damaged), 0, "blocks whose fill pattern was damaged");
    if (test_under_tsan()) {
        printf("    (RSS bound not checked under ThreadSanitizer: its own per-thread state grows)\n");
    } else if (rss_first == 0) {
        printf("    (RSS bound not checked: /proc/self/statm unreadable)\n");
    } else {
        expect_zu_lt(rss_last, 2 * rss_first + (16 << 20),
                     "RSS grew from %zu KiB after wave 1 to %zu KiB after wave %u: per-thread "
                     "memory (thread caches, thread state) not reclaimed at thread exit?",
                     rss_first >> 10, rss_last >> 10, waves);
    }
}
TEST_END

int main(void) { return run_tests(test_thread_churn_rss); }
