/*
 * Unit tests for background (white-box):
 *   - thread creation failing (background_thread_create swapped for a stub that returns EAGAIN):
 *     writing background_thread true answers EAGAIN, it then reads false, no thread runs, and
 *     allocation and purging by the decay ticks go on; the lazy start after a free fails the
 *     same way, quietly; with creation restored, writing true works again;
 *   - background_serves follows the running threads; the split: nthreads <= max and <= the CPUs
 *     halved (rounded up).
 */
#include "test.h"

#include <errno.h>

#include "arenalloc.h"
#include "arena.h"
#include "background.h"
#include "platform.h"

static int ncreate_calls;

static int failing_create(pthread_t *t, const pthread_attr_t *a, void *(*fn)(void *), void *arg) {
    (void)t, (void)a, (void)fn, (void)arg;
    ncreate_calls++;
    return EAGAIN;
}

static int write_bool(const char *name, bool v) { return mallctl(name, NULL, NULL, &v, sizeof(v)); }

static size_t running_threads(void) {
    background_stats_t st;
    background_stats_read(&st);
    return st.num_threads;
}

TEST_BEGIN(test_eagain) {
    void *p = arenalloc_malloc(1); /* boots */
    arenalloc_free(p);
    expect_d_eq(write_bool("background_thread", false), 0, "");
    background_thread_create = failing_create;
    expect_d_eq(write_bool("background_thread", true), EAGAIN, "creation fails");
    expect_true(ncreate_calls >= 1, "the stub was called");
    expect_false(background_enabled(), "stays off");
    expect_zu_eq(running_threads(), 0, "");
    expect_false(background_serves(0), "the ticks purge");
    /* The allocator keeps working, and frees never try to start a thread while off. */
    int calls = ncreate_calls;
    for (int i = 0; i < 200; i++) {
        void *q = mallocx(64 << 10, MALLOCX_TCACHE_NONE);
        assert_ptr_not_null(q, "");
        dallocx(q, MALLOCX_TCACHE_NONE);
    }
    expect_d_eq(ncreate_calls, calls, "");

    /* On without threads (as at start-up), then a lazy start that fails: quietly off. */
    __atomic_store_n(&background_enabled_flag, true, __ATOMIC_RELEASE);
    void *q = mallocx(1 << 20, MALLOCX_TCACHE_NONE);
    dallocx(q, MALLOCX_TCACHE_NONE); /* dirties, then polls: the start fails */
    expect_d_gt(ncreate_calls, calls, "a lazy start was tried");
    expect_false(background_enabled(), "turned off after the failed start");
    expect_zu_eq(running_threads(), 0, "");
    q = arenalloc_malloc(100);
    assert_ptr_not_null(q, "");
    arenalloc_free(q);

    background_thread_create = pthread_create;
    expect_d_eq(write_bool("background_thread", true), 0, "creation works again");
    expect_true(background_enabled(), "");
    expect_zu_ge(running_threads(), 1, "");
    expect_true(background_serves(0), "arena 0's thread runs: the ticks leave it alone");
    expect_d_eq(write_bool("background_thread", false), 0, "");
    expect_zu_eq(running_threads(), 0, "");
    expect_false(background_serves(0), "");
}
TEST_END

TEST_BEGIN(test_split) {
    void *p = arenalloc_malloc(1);
    arenalloc_free(p);
    unsigned half = (platform_ncpus() + 1) / 2;
    for (size_t max = 1; max <= 8; max++) {
        expect_d_eq(background_max_set(max), 0, "");
        unsigned n = background_nthreads();
        expect_u_ge(n, 1, "");
        expect_u_le(n, (unsigned)max, "");
        expect_u_le(n, half, "one per two CPUs");
        expect_u_le(n, arena_narenas(), "");
    }
    expect_d_eq(background_max_set(0), EINVAL, "");
    expect_d_eq(background_max_set(BACKGROUND_THREADS_LIMIT + 1), EINVAL, "");
    expect_d_eq(background_max_set(4), 0, "");
}
TEST_END

int main(void) { return run_tests(test_eagain, test_split); }
