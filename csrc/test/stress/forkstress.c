/*
 * fork() over and over, bounded by STRESS_SECONDS, while other threads allocate and free: from the
 * main thread and from one of the allocating threads, with several children alive at once. Each
 * child allocates and frees (small, large, realloc, cross-size) and _exits; a child that deadlocks
 * in the allocator is killed by its own alarm (SIGALRM) and counted as a failure.
 */
#include "arenalloc.h"
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>


enum { NTHREADS = 3, MAX_INFLIGHT = 4, CHILD_ALARM = 20 };

static atomic_bool stop;
static atomic_ulong ops, forks, child_failures;
static double deadline;

/* Child: allocate and free for a little while; exit status 0 if all went well. */
static void __attribute__((noreturn)) child_body(uint64_t seed) {
    signal(SIGALRM, SIG_DFL);
    alarm(CHILD_ALARM);
    test_prng_t r;
    test_prng_init(&r, seed);
    enum { N = 200 };
    void *ps[N];
    size_t szs[N];
    for (int i = 0; i < N; i++) {
        size_t sz = i % 40 == 0 ? 16384 + test_prng_range(&r, 1 << 20) : 1 + test_prng_range(&r, 2048);
        ps[i] = arenalloc_malloc(sz);
        if (ps[i] == NULL) {
            _exit(2);
        }
        szs[i] = sz;
        memset(ps[i], 0x3c, sz < 4096 ? sz : 4096);
    }
    for (int i = 0; i < N; i += 4) {
        void *q = arenalloc_realloc(ps[i], szs[i] + 3000);
        if (q == NULL) {
            _exit(3);
        }
        ps[i] = q;
    }
    for (int i = 0; i < N; i++) {
        size_t n = szs[i] < 4096 ? szs[i] : 4096;
        if (test_find_not(ps[i], n, 0x3c) != SIZE_MAX) {
            _exit(4);
        }
        arenalloc_free(ps[i]);
    }
    _exit(0);
}

struct inflight {
    pid_t pid[MAX_INFLIGHT];
    double started[MAX_INFLIGHT];
    unsigned n;
};

static void report_child(pid_t pid, int status) {
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        return;
    }
    atomic_fetch_add(&child_failures, 1);
    char why[128];
    expect_not_reached("child %d: %s%s", (int)pid, test_status_str(status, why, sizeof(why)),
                       WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM
                           ? " (still running after the alarm: deadlocked after fork?)"
                           : "");
}

/* Reap finished children; with `all`, wait for every one. */
static void reap(struct inflight *f, bool all) {
    for (unsigned i = 0; i < f->n;) {
        int status;
        pid_t w = waitpid(f->pid[i], &status, all ? 0 : WNOHANG);
        if (w == f->pid[i]) {
            report_child(w, status);
            f->pid[i] = f->pid[--f->n];
            f->started[i] = f->started[f->n];
        } else if (w < 0 && errno != EINTR) {
            expect_not_reached("waitpid: %s", strerror(errno));
            f->pid[i] = f->pid[--f->n];
        } else {
            i++;
        }
    }
}

static void fork_some(struct inflight *f, uint64_t seed) {
    while (f->n >= MAX_INFLIGHT) {
        reap(f, false);
        if (f->n >= MAX_INFLIGHT) {
            usleep(500);
        }
    }
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0) {
        child_body(seed);
    }
    if (pid < 0) {
        expect_not_reached("fork: %s", strerror(errno));
        return;
    }
    atomic_fetch_add(&forks, 1);
    f->pid[f->n] = pid;
    f->started[f->n] = test_now();
    f->n++;
}

static void *allocator_thread(void *arg) {
    unsigned id = (unsigned)(uintptr_t)arg;
    test_prng_t r;
    test_prng_init(&r, test_seed() + id);
    enum { SLOTS = 256 };
    void *slots[SLOTS] = {0};
    struct inflight f = {.n = 0};
    unsigned long n = 0;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        unsigned i = (unsigned)test_prng_range(&r, SLOTS);
        if (slots[i] != NULL) {
            arenalloc_free(slots[i]);
            slots[i] = NULL;
        } else {
            uint64_t c = test_prng_range(&r, 100);
            size_t sz = c < 90 ? 1 + test_prng_range(&r, 2048) : 1 + test_prng_range(&r, 200000);
            slots[i] = c % 5 == 0 ? mallocx(sz, MALLOCX_LG_ALIGN(c % 12)) : arenalloc_malloc(sz);
            if (slots[i] != NULL) {
                memset(slots[i], 1, sz < 64 ? sz : 64);
            }
        }
        n++;
        /* Thread 0 forks too: fork from a thread that is not main, while main forks as well. */
        if (id == 0 && (n & 4095) == 0 && test_now() < deadline) {
            fork_some(&f, test_seed() ^ n);
            reap(&f, false);
        }
    }
    reap(&f, true);
    for (unsigned i = 0; i < SLOTS; i++) {
        arenalloc_free(slots[i]);
    }
    atomic_fetch_add(&ops, n);
    return NULL;
}

TEST_BEGIN(test_fork_storm) {
    atomic_store(&stop, false);
    deadline = test_now() + test_seconds();
    pthread_t t[NTHREADS];
    for (unsigned i = 0; i < NTHREADS; i++) {
        test_thread_create(&t[i], allocator_thread, (void *)(uintptr_t)i);
    }
    struct inflight f = {.n = 0};
    uint64_t k = 0;
    while (test_now() < deadline) {
        fork_some(&f, test_seed() + ++k);
        reap(&f, false);
        /* The main thread allocates between forks as well. */
        void *p = arenalloc_malloc((size_t)(k % 5000) + 1);
        assert_ptr_not_null(p, "parent malloc");
        arenalloc_free(p);
        usleep(1000);
    }
    reap(&f, true);
    atomic_store(&stop, true);
    for (unsigned i = 0; i < NTHREADS; i++) {
        test_thread_join(t[i], NULL);
    }
    printf("    %lu forks, %lu allocator operations in the parent's threads, %lu failed children\n",
           atomic_load(&forks), atomic_load(&ops), atomic_load(&child_failures));
    expect_lu_gt(atomic_load(&forks), 0, "no fork happened");
    expect_lu_eq(atomic_load(&child_failures), 0, "children that failed or hung");
}
TEST_END

int main(void) { return run_tests(test_fork_storm); }
