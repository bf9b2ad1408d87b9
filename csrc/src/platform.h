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

/* Monotonic clock in nanoseconds. */
uint64_t platform_now_ns(void);

#endif
