/*
 * fork() from a multi-threaded process while the other threads allocate and free: the child must
 * find every allocator lock usable (no deadlock, no corrupt state), allocate and free freely and
 * exit 0; the parent and its threads go on. (jemalloc: pthread_atfork prefork/postfork handlers;
 * users' complaints in jemalloc/jemalloc#2019, #2402, #1805.)
 */
#include "arenalloc.h"
#include "test.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>


enum { NTHREADS = 3, NFORKS = 16 };

static atomic_bool stop;
static atomic_ulong ops;

/* Allocate, touch, and free blocks of many sizes; the mix hits tcache, bins, large and huge. */
static void *churn(void *arg) {
    test_prng_t prng;
    test_prng_init(&prng, (uint64_t)(uintptr_t)arg);
    enum { SLOTS = 64 };
    void *slots[SLOTS] = {0};
    size_t sizes[SLOTS] = {0};
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        unsigned i = (unsigned)test_prng_range(&prng, SLOTS);
        if (slots[i] != NULL) {
            if (((unsigned char *)slots[i])[0] != (unsigned char)sizes[i]) {
                expect_not_reached("block %p lost its first byte", slots[i]);
            }
            arenalloc_free(slots[i]);
            slots[i] = NULL;
        } else {
            uint64_t r = test_prng_range(&prng, 1000);
            size_t sz = r < 900   ? 1 + test_prng_range(&prng, 1024)
                        : r < 995 ? 1 + test_prng_range(&prng, 100000)
                                  : 1 + test_prng_range(&prng, 10 << 20);
            void *p = r % 7 == 0 ? mallocx(sz, MALLOCX_LG_ALIGN(r % 13)) : arenalloc_malloc(sz);
            if (p == NULL) {
                expect_not_reached("allocation of %zu failed", sz);
                continue;
            }
            memset(p, (unsigned char)sz, sz < 256 ? sz : 256);
            slots[i] = p;
            sizes[i] = sz;
        }
        atomic_fetch_add_explicit(&ops, 1, memory_order_relaxed);
    }
    for (unsigned i = 0; i < SLOTS; i++) {
        arenalloc_free(slots[i]);
    }
    return NULL;
}

static void *child_thread(void *arg) {
    (void)arg;
    for (int i = 0; i < 2000; i++) {
        void *p = arenalloc_malloc((size_t)(i % 300) * 17 + 1);
        if (p == NULL) {
            return (void *)1;
        }
        arenalloc_free(p);
    }
    return NULL;
}

/* Runs in the forked child. A failed check exits it with status 1. */
static void child_work(void *arg) {
    (void)arg;
    test_prng_t prng;
    test_prng_init(&prng, (uint64_t)getpid());
    enum { N = 500 };
    static void *ps[N];
    static size_t szs[N];
    for (int round = 0; round < 3; round++) {
        for (int i = 0; i < N; i++) {
            size_t sz = i % 50 == 0 ? 1 + test_prng_range(&prng, 1 << 20)
                                    : 1 + test_prng_range(&prng, 4096);
            ps[i] = arenalloc_malloc(sz);
            assert_ptr_not_null(ps[i], "child: malloc(%zu)", sz);
            szs[i] = sz;
            test_fill(ps[i], sz < 8192 ? sz : 8192, (uint64_t)i);
        }
        for (int i = 0; i < N; i += 3) {
            void *q = arenalloc_realloc(ps[i], szs[i] * 2 + 1);
            assert_ptr_not_null(q, "child: realloc");
            ps[i] = q;
        }
        for (int i = 0; i < N; i++) {
            size_t n = szs[i] < 8192 ? szs[i] : 8192;
            assert_zu_eq(test_check(ps[i], n, (uint64_t)i), SIZE_MAX, "child: block %d damaged", i);
            arenalloc_free(ps[i]);
        }
    }
    /* The calling thread is the only one in the child; new threads must work too (not under
     * TSan, which forbids starting threads after a multi-threaded fork). */
    if (!test_under_tsan()) {
        pthread_t t[2];
        for (int i = 0; i < 2; i++) {
            assert_d_eq(pthread_create(&t[i], NULL, child_thread, NULL), 0, "child: thread");
        }
        for (int i = 0; i < 2; i++) {
            void *ret;
            pthread_join(t[i], &ret);
            assert_ptr_null(ret, "child thread's allocations failed");
        }
    }
}

/*
 * fork() while another thread is making the process's very first allocation (so is inside the
 * allocator's one-time initialization): the child must still be able to allocate. Each attempt
 * runs in a fresh child of this process, which has not touched the allocator yet (this test runs
 * first, and the runner itself uses libc's malloc); there a new thread allocates while the main
 * thread forks at once, and the grandchild allocates.
 */
static void *first_allocation(void *arg) {
    (void)arg;
    void *p = arenalloc_malloc(100);
    arenalloc_free(p);
    return NULL;
}

static void grandchild_allocates(void *arg) {
    (void)arg;
    void *p = arenalloc_malloc(1000);
    assert_ptr_not_null(p, "malloc in the grandchild");
    arenalloc_free(p);
}

static void fork_during_initialization(void *arg) {
    (void)arg;
    pthread_t t;
    assert_d_eq(pthread_create(&t, NULL, first_allocation, NULL), 0, "pthread_create");
    int status = test_fork_run(grandchild_allocates, NULL, NULL, 0, 5);
    pthread_join(t, NULL);
    char why[128];
    expect_true(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "child forked while another thread was initializing the allocator: %s (killed "
                "after 5 s = deadlocked on a lock held at fork time)",
                test_status_str(status, why, sizeof(why)));
}

TEST_BEGIN(test_fork_during_first_initialization) {
    if (test_under_tsan()) {
        /* The prefork handler has to wait for the initializing thread here, and TSan's state
         * copied into the child still shows that wait: it reports a double lock or a thread
         * leak in the child (a 10-line program with one mutex and pthread_atfork does the
         * same, no allocator involved). The plain and UBSan builds run this test. */
        test_skip("TSan misreports mutexes an atfork handler waited for, in the child");
    }
    for (int i = 0; i < 40; i++) {
        char why[128];
        int status = test_fork_run(fork_during_initialization, NULL, NULL, 0, 30);
        bool ok = status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0;
        expect_true(ok, "attempt %d: %s", i, test_status_str(status, why, sizeof(why)));
        if (!ok) {
            break;
        }
    }
}
TEST_END

TEST_BEGIN(test_fork_while_threads_allocate) {
    atomic_store(&stop, false);
    atomic_store(&ops, 0);
    pthread_t thds[NTHREADS];
    for (int i = 0; i < NTHREADS; i++) {
        test_thread_create(&thds[i], churn, (void *)(uintptr_t)(test_seed() + (uint64_t)i));
    }
    /* Let the threads get going so locks are actually contended at fork time. */
    while (atomic_load(&ops) < 10000) {
        usleep(1000);
    }
    int nforks = test_under_tsan() ? NFORKS / 2 : NFORKS;
    for (int k = 0; k < nforks; k++) {
        char why[128];
        int status = test_fork_run(child_work, NULL, NULL, 0, 30);
        expect_true(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                    "fork #%d: child must exit 0, got %s (a hang is killed after 30 s)", k,
                    test_status_str(status, why, sizeof(why)));
        /* The parent keeps allocating between forks. */
        void *p = arenalloc_malloc(1000 + (size_t)k);
        assert_ptr_not_null(p, "parent malloc after fork #%d", k);
        arenalloc_free(p);
        usleep(2000);
    }
    /* The parent's threads still make progress (no lock left held by the fork handlers). */
    unsigned long before = atomic_load(&ops);
    double give_up = test_now() + 10;
    while (atomic_load(&ops) == before && test_now() < give_up) {
        usleep(1000);
    }
    expect_lu_gt(atomic_load(&ops), before,
                 "the parent's threads made no progress for 10 s after the forks");
    atomic_store(&stop, true);
    for (int i = 0; i < NTHREADS; i++) {
        test_thread_join(thds[i], NULL);
    }
}
TEST_END

/* A child that forks again (grandchild) while its own fresh threads allocate. */
static void nested_child(void *arg) {
    (void)arg;
    child_work(NULL);
    char why[128];
    int status = test_fork_run(child_work, NULL, NULL, 0, 30);
    expect_true(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "grandchild must exit 0, got %s", test_status_str(status, why, sizeof(why)));
}

TEST_BEGIN(test_fork_nested) {
    char why[128];
    int status = test_fork_run(nested_child, NULL, NULL, 0, 60);
    expect_true(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "child that forks must exit 0, got %s", test_status_str(status, why, sizeof(why)));
}
TEST_END

/* Blocks allocated before fork are valid in the child: it may read, realloc and free them. */
static void free_parent_blocks(void *arg) {
    void **blocks = arg;
    for (int i = 0; i < 100; i++) {
        size_t sz = (size_t)i * 211 + 1;
        assert_zu_eq(test_check(blocks[i], sz, (uint64_t)i), SIZE_MAX, "inherited block %d", i);
        if (i % 2) {
            blocks[i] = arenalloc_realloc(blocks[i], sz + 5000);
            assert_ptr_not_null(blocks[i], "realloc of an inherited block");
        }
        arenalloc_free(blocks[i]);
    }
}

TEST_BEGIN(test_fork_inherited_blocks) {
    void *blocks[100];
    for (int i = 0; i < 100; i++) {
        size_t sz = (size_t)i * 211 + 1;
        blocks[i] = arenalloc_malloc(sz);
        assert_ptr_not_null(blocks[i], "malloc(%zu)", sz);
        test_fill(blocks[i], sz, (uint64_t)i);
    }
    char why[128];
    int status = test_fork_run(free_parent_blocks, blocks, NULL, 0, 30);
    expect_true(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "child freeing inherited blocks must exit 0, got %s",
                test_status_str(status, why, sizeof(why)));
    /* The parent's copies are untouched by what the child did. */
    for (int i = 0; i < 100; i++) {
        size_t sz = (size_t)i * 211 + 1;
        expect_zu_eq(test_check(blocks[i], sz, (uint64_t)i), SIZE_MAX, "parent block %d", i);
        arenalloc_free(blocks[i]);
    }
}
TEST_END

int main(void) {
    /* test_fork_during_first_initialization must run first: see there. */
    return run_tests(test_fork_during_first_initialization, test_fork_while_threads_allocate,
                     test_fork_nested,
                     test_fork_inherited_blocks);
}
