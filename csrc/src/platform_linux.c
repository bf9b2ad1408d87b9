#ifdef __linux__
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <sched.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static unsigned ncpus = 1;

bool platform_boot(void) {
    long ps = sysconf(_SC_PAGESIZE);
    if (ps != (long)PAGE) return true;
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof(set), &set) == 0) {
        int n = CPU_COUNT(&set);
        ncpus = n > 0 ? (unsigned)n : 1;
    } else {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        ncpus = n > 0 ? (unsigned)n : 1;
    }
    return false;
}

unsigned platform_ncpus(void) { return ncpus; }

static void *map_raw(void *addr, size_t size) {
    int flags = MAP_PRIVATE | MAP_ANONYMOUS | (addr != NULL ? MAP_FIXED_NOREPLACE : 0);
    int saved = errno; /* failed mappings must not leave a stray errno behind */
    void *p = mmap(addr, size, PROT_READ | PROT_WRITE, flags, -1, 0);
    errno = saved;
    if (p == MAP_FAILED) return NULL;
    if (addr != NULL && p != addr) { /* old kernels treat the flag as a hint */
        munmap(p, size);
        return NULL;
    }
    return p;
}

void *platform_map(void *addr, size_t size, size_t alignment) {
    void *p = map_raw(addr, size);
    if (p == NULL || ((uintptr_t)p & (alignment - 1)) == 0) return p;
    /* Misaligned: over-map and trim both ends. */
    munmap(p, size);
    size_t over = size + alignment - PAGE;
    if (over < size) return NULL;
    p = map_raw(NULL, over);
    if (p == NULL) return NULL;
    uintptr_t start = ALIGNMENT_CEILING((uintptr_t)p, alignment);
    size_t lead = start - (uintptr_t)p, trail = over - lead - size;
    if (lead) munmap(p, lead);
    if (trail) munmap((void *)(start + size), trail);
    return (void *)start;
}

void platform_unmap(void *addr, size_t size) {
    int saved = errno;
    munmap(addr, size);
    errno = saved;
}

static bool advise(void *addr, size_t size, int advice) {
    int saved = errno;
    bool err = madvise(addr, size, advice) != 0;
    errno = saved;
    return err;
}

bool platform_purge_lazy(void *addr, size_t size) {
#ifdef MADV_FREE
    return advise(addr, size, MADV_FREE);
#else
    return true;
#endif
}

bool platform_purge_forced(void *addr, size_t size) { return advise(addr, size, MADV_DONTNEED); }

bool platform_hugepage(void *addr, size_t size, bool huge) {
    return advise(addr, size, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE);
}

uint64_t platform_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif /* __linux__ */
