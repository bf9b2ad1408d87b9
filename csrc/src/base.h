/*
 * base.h -- the metadata allocator. Extent descriptors, radix-tree leaves, arenas and thread
 * cache stacks come from here, never from malloc, so nothing internal recurses into the
 * allocator. Memory is taken from the OS in chunks, carved by bump allocation and never freed
 * (callers recycle their objects through their own free lists). Thread-safe (one lock).
 */
#ifndef AL_BASE_H
#define AL_BASE_H

#include "internal.h"

bool base_boot(void);
/* Zeroed memory of size bytes aligned to alignment (<= PAGE), or NULL when the OS refuses. */
void *base_alloc(size_t size, size_t alignment);

typedef struct base_stats_s {
    size_t allocated; /* bytes handed out */
    size_t mapped;    /* bytes mapped from the OS */
} base_stats_t;
void base_stats_read(base_stats_t *out);

void base_prefork(void);
void base_postfork_parent(void);
void base_postfork_child(void);

#endif
