/*
 * large.h -- allocations above the small classes: one page-aligned extent each, of exactly the
 * usable size, registered in the extent map by its first page only (so interior pointers are
 * rejected on free). Resizing in place splits off the tail or absorbs the free extent after it.
 * The caller owns the allocation; large does no locking beyond the page allocator's.
 */
#ifndef AL_LARGE_H
#define AL_LARGE_H

#include "edata.h"
#include "pac.h"
#include "sz.h"

/* Returns the extent of a new large allocation, or NULL when out of memory. */
edata_t *large_alloc(pac_t *pac, szind_t ind, size_t usize, size_t alignment, bool zero);
void large_dalloc(pac_t *pac, edata_t *e);
/* Resizes e in place to class ind (usize bytes). True on failure (e unchanged). */
bool large_resize(pac_t *pac, edata_t *e, szind_t ind, size_t usize, bool zero);

#endif
