/*
 * pac.h -- the page allocator of one arena: hands out page-aligned extents and takes them
 * back, reusing freed memory before asking the extent hooks for more.
 *
 * Free extents live in three sets by state: dirty (freed, resident), muzzy (lazily purged),
 * retained (clean: fresh growth or purged for good). Allocation takes the best fit from dirty,
 * then muzzy, then retained, then grows virtual memory through the alloc hook in exponentially
 * larger steps (the surplus becomes retained). A freed extent coalesces with free neighbours of
 * the same state before joining the dirty set.
 *
 * Locking: one lock per page allocator. Hooks are called with the lock held only when they are
 * the default ones; custom hooks are called unlocked (they may call malloc), with the extents
 * they touch marked EXTENT_BUSY so no other thread uses them meanwhile.
 *
 * pac does not touch active extents' emap entries: callers clear them before pac_dalloc and
 * register them after pac_alloc. Free extents' boundary entries are pac's.
 */
#ifndef AL_PAC_H
#define AL_PAC_H

#include "edata.h"
#include "ehooks.h"
#include "eset.h"
#include "mutex.h"

/* First growth step; later steps double up to the growth limit. */
#define PAC_GROW_MIN ((size_t)2 << 20)
#define PAC_GROW_LIMIT_DEFAULT ((size_t)1 << 30)

/*
 * Page accounting, consistent under the lock (with the default hooks; custom hooks run unlocked
 * and their extents are briefly in none of the sets):
 *   mapped = (npages_active + npages_dirty + npages_muzzy + npages_retained) * PAGE
 */
typedef struct pac_stats_s {
    size_t mapped; /* bytes obtained through the alloc hook and not given back */
    size_t npages_active; /* pages of active extents (slabs and large allocations) */
    size_t npages_dirty, npages_muzzy, npages_retained;
    size_t nedata; /* extent descriptors this arena took from base (metadata) */
} pac_stats_t;

typedef struct pac_s {
    mutex_t lock;
    ehooks_t *ehooks;
    unsigned ind;
    eset_t dirty, muzzy, retained;
    edata_list_t edata_cache; /* spare descriptors of this arena */
    size_t grow_next;         /* size of the next growth step */
    size_t grow_limit;        /* largest growth step (arena.<i>.retain_grow_limit) */
    uint64_t next_sn;
    size_t mapped;            /* stats: see pac_stats_t */
    size_t nactive;           /* stats: pages of active extents */
    size_t nedata;            /* stats: descriptors taken from base */
} pac_t;

bool pac_init(pac_t *pac, ehooks_t *ehooks, unsigned ind);
/*
 * Returns an active extent of exactly size bytes (a page multiple) aligned to alignment, with
 * zeroed memory if zero, or NULL when the hooks cannot provide memory (nothing is lost).
 */
edata_t *pac_alloc(pac_t *pac, size_t size, size_t alignment, bool zero);
/* Takes back an active extent whose emap entries the caller has cleared. */
void pac_dalloc(pac_t *pac, edata_t *e);
/* Grows active e in place to new_size by taking the free extent after it. True on failure. */
bool pac_expand(pac_t *pac, edata_t *e, size_t new_size, bool zero);
/* Shrinks active e in place to new_size, freeing the tail. True on failure (hook refused). */
bool pac_shrink(pac_t *pac, edata_t *e, size_t new_size);
/* A spare descriptor (zeroed apart from arena_ind), or NULL on OOM. */
edata_t *pac_edata_get(pac_t *pac);
void pac_edata_put(pac_t *pac, edata_t *e);

void pac_stats_read(pac_t *pac, pac_stats_t *out);

void pac_prefork(pac_t *pac);
void pac_postfork_parent(pac_t *pac);
void pac_postfork_child(pac_t *pac);

#endif
