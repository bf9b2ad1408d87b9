/*
 * bin.h -- per-arena, per-small-class bins. A bin owns its slabs: the current slab (regions are
 * taken from it first) and the non-full slabs; full slabs are not tracked until a region of
 * theirs is freed. A slab is one extent holding regions of one class, with an occupancy bitmap.
 *
 * Locking: one lock per bin; slab fields (nfree, bitmap, list links) belong to it. Slabs are
 * obtained from and returned to the page allocator without the bin lock held.
 *
 * Invariants: slabcur, if any, is not in `nonfull`; every slab in `nonfull` has
 * 0 < nfree < nregs... or nfree == nregs only transiently before release; stats.curregs is the
 * number of regions handed out (to thread caches or callers).
 */
#ifndef AL_BIN_H
#define AL_BIN_H

#include "edata.h"
#include "mutex.h"
#include "pac.h"
#include "sz.h"

typedef struct bin_stats_s {
    uint64_t nmalloc;   /* regions handed out */
    uint64_t ndalloc;   /* regions returned */
    uint64_t nrequests; /* allocation requests served, thread-cache hits included */
    uint64_t nfills;    /* thread-cache fills */
    uint64_t nflushes;  /* thread-cache flushes */
    uint64_t nslabs;    /* slabs created */
    uint64_t nreslabs;  /* times the current slab was replaced by a non-full one */
    size_t curregs;     /* regions live now */
    size_t curslabs;    /* slabs now */
    size_t nonfull_slabs;
} bin_stats_t;

typedef struct bin_s {
    mutex_t lock;
    edata_t *slabcur;
    edata_list_t nonfull;
    bin_stats_t stats;
} CACHE_ALIGNED bin_t;

bool bin_init(bin_t *bin);

/*
 * Hands out up to n regions of class ind into dst, creating slabs from pac as needed; returns
 * how many (fewer only when memory ran out). nrequests is added to the request count.
 */
unsigned bin_fill(bin_t *bin, pac_t *pac, szind_t ind, void **dst, unsigned n,
                  uint64_t nrequests);
/* One region for an allocation without a thread cache (a request, not a fill), or NULL. */
void *bin_malloc(bin_t *bin, pac_t *pac, szind_t ind);

/*
 * Returns ptr (a region of slab, class ind) to the bin; the lock is held. Returns true when the
 * slab became unused and was detached: the caller passes it to bin_slab_release after
 * unlocking. Aborts with a message naming `who` on a pointer that is not a region start or a
 * region that is already free.
 */
bool bin_dalloc_locked(bin_t *bin, szind_t ind, edata_t *slab, void *ptr, const char *who);
void bin_slab_release(pac_t *pac, edata_t *slab);
/*
 * A thread cache's flush, one owner at a time: frees every ptrs[k] (k in [start, n)) whose slab
 * slabs[k] belongs to arena arena_ind, setting slabs[k] to NULL; the lock is held. Slabs that
 * became unused are detached into empty[] (*nempty of them) for bin_slab_release after
 * unlocking. Returns how many regions were freed.
 */
unsigned bin_dalloc_batch_locked(bin_t *bin, szind_t ind, void **ptrs, edata_t **slabs,
                                 unsigned start, unsigned n, unsigned arena_ind,
                                 edata_t **empty, unsigned *nempty, const char *who);

void bin_stats_read(bin_t *bin, bin_stats_t *out);
/* Arena reset (explicit arenas): forgets every slab -- the page allocator frees them all at once
 * (pac_reset) -- counting their live regions as freed. */
void bin_reset(bin_t *bin);
/* Zeroes the statistics (an arena recycled after destroy). */
void bin_stats_clear(bin_t *bin);

void bin_prefork(bin_t *bin);
void bin_postfork_parent(bin_t *bin);
void bin_postfork_child(bin_t *bin);

#endif
