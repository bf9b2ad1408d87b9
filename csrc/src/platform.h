/*
 * platform.h -- the operating-system contract. Only platform_<os>.c includes OS headers for
 * memory, CPUs and clocks; arena memory reaches these primitives only through the default
 * extent hooks (ehooks.c); base (metadata) and emap (radix-tree leaves) call them directly.
 *
 * Memory primitives take page-aligned addresses and nonzero page-multiple sizes.
 */
#ifndef AL_PLATFORM_H
#define AL_PLATFORM_H

#include "internal.h"

/* Boots the module: checks the OS page size against PAGE, reads the CPU count.
 * Returns true on error (a page size arenalloc was not built for). */
bool platform_boot(void);
/* CPUs this process may run on (>= 1). */
unsigned platform_ncpus(void);

/*
 * Maps size bytes of fresh, zeroed, read-write memory aligned to alignment (a power of two
 * >= PAGE). With addr != NULL the result is exactly addr or NULL (existing mappings are never
 * replaced). Returns NULL when the OS refuses (ENOMEM, RLIMIT_AS): never aborts.
 */
void *platform_map(void *addr, size_t size, size_t alignment);
/* Unmaps [addr, addr+size). */
void platform_unmap(void *addr, size_t size);
/* MADV_FREE: contents may be dropped at the kernel's leisure. Returns true if unsupported. */
bool platform_purge_lazy(void *addr, size_t size);
/* MADV_DONTNEED: pages read back as zero afterwards. Returns true on failure. */
bool platform_purge_forced(void *addr, size_t size);
/* MADV_HUGEPAGE / MADV_NOHUGEPAGE advice. Returns true on failure. */
bool platform_hugepage(void *addr, size_t size, bool huge);

/* The transparent-huge-page size arenalloc aligns to (x86-64 and arm64 with 4 KiB pages). */
#define HUGEPAGE ((size_t)2 << 20)
#define HUGEPAGE_CEILING(s) ALIGNMENT_CEILING((size_t)(s), HUGEPAGE)

/* The system's THP mode, read at boot from /sys/kernel/mm/transparent_hugepage/enabled (the
 * bracketed word); NONE when the file is missing or unreadable (no THP in this kernel). */
typedef enum {
    PLATFORM_THP_NONE,
    PLATFORM_THP_ALWAYS,
    PLATFORM_THP_MADVISE,
    PLATFORM_THP_NEVER
} platform_thp_t;
platform_thp_t platform_thp_mode(void);

/* Names the calling thread (at most 15 characters; shown by ps, top, gdb). Failure is ignored. */
void platform_thread_name(const char *name);

/* The CPU the calling thread runs on now (sched_getcpu; 0 if unknown). Costs a vDSO call or a
 * system call: slow paths only. */
unsigned platform_getcpu(void);
/*
 * Reads the CPU topology (/sys/devices/system/cpu/cpu<n>/topology/thread_siblings_list for
 * n < PLATFORM_CPUS_MAX) so that platform_cpu_core can map hyperthread siblings to one number.
 * Called at boot only when needed (percpu_arena:phycpu); later calls return the first answer.
 * Returns the number of physical cores seen (>= 1).
 */
#define PLATFORM_CPUS_MAX 1024
unsigned platform_topology_boot(void);
/* Dense index of cpu's physical core (0 .. cores-1) after platform_topology_boot; CPUs it did
 * not see map to cpu itself. */
unsigned platform_cpu_core(unsigned cpu);

/* Monotonic clock in nanoseconds. */
uint64_t platform_now_ns(void);

#endif
