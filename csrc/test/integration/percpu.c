/*
 * percpu_arena:percpu (percpu.conf): a thread's arena is the one of the CPU it runs on,
 * sched_getcpu() % narenas_auto (narenas_auto = arenas.narenas - 1: the huge arena is last):
 *   - opt.percpu_arena reads "percpu"; narenas_auto is at least the CPUs the process may use;
 *   - pinned to each CPU in turn, thread.arena and the arena of a new uncached allocation
 *     (arenas.lookup) follow the CPU;
 *   - thread.arena writes into the automatic range are EPERM (the CPU decides), beyond the
 *     arenas EFAULT.
 */
#define _GNU_SOURCE
#include "arenalloc.h"
#include "test.h"
#include "ctl_read.h"

#include <errno.h>
#include <sched.h>
#include <string.h>

TEST_BEGIN(test_settings) {
    const char *v = NULL;
    size_t sz = sizeof(v);
    expect_d_eq(mallctl("opt.percpu_arena", &v, &sz, NULL, 0), 0, "");
    expect_str_eq(v, "percpu", "");
    cpu_set_t set;
    CPU_ZERO(&set);
    assert_d_eq(sched_getaffinity(0, sizeof(set), &set), 0, "");
    unsigned n = read_unsigned("arenas.narenas") - 1;
    expect_u_ge(n, (unsigned)CPU_COUNT(&set), "one arena per CPU at least");
    expect_u_eq(read_unsigned("opt.narenas"), n, "");
}
TEST_END

TEST_BEGIN(test_follows_cpu) {
    cpu_set_t all;
    CPU_ZERO(&all);
    assert_d_eq(sched_getaffinity(0, sizeof(all), &all), 0, "");
    unsigned n = read_unsigned("arenas.narenas") - 1;
    unsigned tried = 0;
    for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
        if (!CPU_ISSET(cpu, &all)) continue;
        cpu_set_t one;
        CPU_ZERO(&one);
        CPU_SET(cpu, &one);
        if (sched_setaffinity(0, sizeof(one), &one) != 0) continue;
        tried++;
        expect_d_eq(sched_getcpu(), cpu, "pinned");
        unsigned want = (unsigned)cpu % n;
        expect_u_eq(read_unsigned("thread.arena"), want, "on CPU %d", cpu);
        void *p = mallocx(64 << 10, MALLOCX_TCACHE_NONE);
        assert_ptr_not_null(p, "");
        unsigned ind = 99999;
        size_t sz = sizeof(ind);
        expect_d_eq(mallctl("arenas.lookup", &ind, &sz, &p, sizeof(p)), 0, "");
        expect_u_eq(ind, want, "allocation on CPU %d", cpu);
        dallocx(p, MALLOCX_TCACHE_NONE);
    }
    sched_setaffinity(0, sizeof(all), &all);
    expect_u_ge(tried, 1, "");
}
TEST_END

TEST_BEGIN(test_thread_arena_write) {
    unsigned n = read_unsigned("arenas.narenas");
    for (unsigned ind = 0; ind + 1 < n; ind++) {
        expect_d_eq(mallctl("thread.arena", NULL, NULL, &ind, sizeof(ind)), EPERM, "arena %u",
                    ind);
    }
    expect_d_eq(mallctl("thread.arena", NULL, NULL, &n, sizeof(n)), EFAULT, "");
}
TEST_END

int main(void) { return run_tests(test_settings, test_follows_cpu, test_thread_arena_write); }
