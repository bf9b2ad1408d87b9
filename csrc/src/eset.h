/*
 * eset.h -- a set of free extents in one state (dirty, muzzy or retained) of one page
 * allocator: a treap ordered by (size, address) for best-fit search, plus an LRU list (oldest
 * first) for decay. Not thread-safe: the owning page allocator's lock protects it.
 *
 * Invariants: every member's state equals the set's state; npages is the sum of member sizes
 * in pages; the treap is a binary search tree by (size, addr) and a max-heap by prio.
 */
#ifndef AL_ESET_H
#define AL_ESET_H

#include "edata.h"

typedef struct eset_s {
    edata_t *root;
    edata_list_t lru;
    size_t npages;
} eset_t;

void eset_init(eset_t *set);
void eset_insert(eset_t *set, edata_t *e);
void eset_remove(eset_t *set, edata_t *e);
/*
 * Best fit: the smallest extent (lowest address among equals) from which size bytes aligned to
 * alignment can be carved, or NULL. The extent stays in the set.
 */
edata_t *eset_fit(eset_t *set, size_t size, size_t alignment);
/* Makes member e the oldest of the LRU list (a remainder that keeps its age). */
void eset_make_oldest(eset_t *set, edata_t *e);
static inline size_t eset_nextents(const eset_t *set) { return set->lru.n; }

#endif
