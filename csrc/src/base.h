/*
 * base.h -- the metadata allocator. Extent descriptors, radix-tree leaves, arenas and thread
 * cache stacks come from here, never from malloc, so nothing internal recurses into the
 * allocator. Memory is taken from the OS in chunks, carved by bump allocation and never freed
 * (callers recycle their objects through their own free lists). Thread-safe (one lock).
 */
#ifndef AL_BASE_H
#define AL_BASE_H

#include "internal.h"

/*
 * Option metadata_thp (conf.h), jemalloc's: "disabled" (default), "auto" or "always". When on,
 * chunks are mapped 2 MiB-aligned in multiples of 2 MiB and advised MADV_HUGEPAGE: "always"
 * from the first chunk, "auto" once BASE_AUTO_THP_BYTES of metadata have been mapped in regular
 * chunks (small processes keep small metadata; large ones get it on huge pages). Off whatever the
 * option when the system's THP mode is "never" or THP is missing (platform_thp_mode).
 */
typedef enum { METADATA_THP_DISABLED, METADATA_THP_AUTO, METADATA_THP_ALWAYS } metadata_thp_t;
extern const char *opt_metadata_thp;
extern metadata_thp_t opt_metadata_thp_mode;
#define BASE_AUTO_THP_BYTES ((size_t)2 << 20)

bool base_boot(void);
/* Zeroed memory of size bytes aligned to alignment (<= PAGE), or NULL when the OS refuses. */
void *base_alloc(size_t size, size_t alignment);

typedef struct base_stats_s {
    size_t allocated; /* bytes handed out */
    size_t mapped;    /* bytes mapped from the OS */
    size_t thp;       /* bytes of those in chunks advised MADV_HUGEPAGE (advised, not granted) */
} base_stats_t;
void base_stats_read(base_stats_t *out);

void base_prefork(void);
void base_postfork_parent(void);
void base_postfork_child(void);

#endif
