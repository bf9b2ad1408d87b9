#ifdef __linux__
#define _GNU_SOURCE
#include "platform.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

static unsigned ncpus = 1;
static platform_thp_t thp_mode = PLATFORM_THP_NONE;

/* Reads up to cap - 1 bytes of a small file into buf, NUL-terminated, with open/read only (no
 * stdio, no allocation: this runs inside malloc initialization). Returns the length, or -1. */
static ssize_t read_small_file(const char *path, char *buf, size_t cap) {
    int saved = errno;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t len = -1;
    if (fd >= 0) {
        len = 0;
        while ((size_t)len + 1 < cap) {
            ssize_t r = read(fd, buf + len, cap - 1 - (size_t)len);
            if (r < 0 && errno == EINTR) continue;
            if (r <= 0) break;
            len += r;
        }
        close(fd);
        buf[len] = '\0';
    }
    errno = saved;
    return len;
}

static bool word_at(const char *s, const char *w) { return strncmp(s, w, strlen(w)) == 0; }

/* "always [madvise] never": the bracketed word is the mode in force. */
static platform_thp_t read_thp_mode(void) {
    char buf[128];
    if (read_small_file("/sys/kernel/mm/transparent_hugepage/enabled", buf, sizeof(buf)) <= 0) {
        return PLATFORM_THP_NONE;
    }
    const char *b = strchr(buf, '[');
    if (b == NULL) return PLATFORM_THP_NONE;
    b++;
    if (word_at(b, "always]")) return PLATFORM_THP_ALWAYS;
    if (word_at(b, "madvise]")) return PLATFORM_THP_MADVISE;
    if (word_at(b, "never]")) return PLATFORM_THP_NEVER;
    return PLATFORM_THP_NONE;
}

platform_thp_t platform_thp_mode(void) { return thp_mode; }

bool platform_boot(void) {
    long ps = sysconf(_SC_PAGESIZE);
    if (ps != (long)PAGE) return true;
    thp_mode = read_thp_mode();
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

void platform_thread_name(const char *name) { (void)pthread_setname_np(pthread_self(), name); }

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

unsigned platform_getcpu(void) {
    int c = sched_getcpu();
    return c >= 0 ? (unsigned)c : 0;
}

/* core_of[cpu] + 1: dense core index of a CPU the topology scan saw (0: not seen). */
static uint16_t core_of[PLATFORM_CPUS_MAX];

unsigned platform_topology_boot(void) {
    static uint16_t leader_core[PLATFORM_CPUS_MAX]; /* core index + 1 of a leader CPU */
    static unsigned ncores; /* the first call's answer; later calls return it (boot: no race) */
    if (ncores != 0) return ncores;
    unsigned misses = 0;
    for (unsigned n = 0; n < PLATFORM_CPUS_MAX && misses < 64; n++) {
        char path[96], buf[256];
        /* "/sys/devices/system/cpu/cpu<n>/topology/thread_siblings_list", without stdio. */
        char num[12];
        unsigned k = 0, v = n;
        do {
            num[k++] = (char)('0' + v % 10);
            v /= 10;
        } while (v != 0);
        size_t len = 0;
        const char *head = "/sys/devices/system/cpu/cpu", *tail = "/topology/thread_siblings_list";
        memcpy(path, head, strlen(head));
        len = strlen(head);
        while (k > 0) path[len++] = num[--k];
        memcpy(path + len, tail, strlen(tail) + 1);
        if (read_small_file(path, buf, sizeof(buf)) <= 0) {
            misses++;
            continue;
        }
        misses = 0;
        /* The list ("0,4", "0-1", "3") starts with the lowest sibling: the core's leader. */
        unsigned leader = 0;
        const char *s = buf;
        if (*s < '0' || *s > '9') leader = n;
        while (*s >= '0' && *s <= '9' && leader < PLATFORM_CPUS_MAX) {
            leader = leader * 10 + (unsigned)(*s++ - '0');
        }
        if (leader >= PLATFORM_CPUS_MAX) leader = n;
        if (leader_core[leader] == 0) leader_core[leader] = (uint16_t)++ncores;
        core_of[n] = leader_core[leader];
    }
    if (ncores == 0) ncores = 1;
    return ncores;
}

unsigned platform_cpu_core(unsigned cpu) {
    if (cpu < PLATFORM_CPUS_MAX && core_of[cpu] != 0) return core_of[cpu] - 1u;
    return cpu;
}

uint64_t platform_now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

#endif /* __linux__ */
