/*
 * pac.h -- the page allocator of one arena: hands out page-aligned extents and takes them
 * back, reusing freed memory before asking the extent hooks for more, and gives freed memory
 * back to the system on the decay schedule.
 *
 * Free extents live in three sets by state: dirty (freed, resident), muzzy (lazily purged),
 * retained (clean: fresh growth or purged for good). Allocation takes the best fit from dirty,
 * then muzzy, then retained, then grows virtual memory through the alloc hook in exponentially
 * larger steps (the surplus becomes retained). A freed extent coalesces with free neighbours of
 * the same state before joining the dirty set. When the split hook refuses to cut the extent
 * found, it stays whole where it was and exactly the request is mapped instead.
 *
 * Purging (pac decides how, the arena decides when: arena.h). Each page allocator has two decay
 * machines (decay.h), one for the dirty set (dirty_decay_ms) and one for the muzzy set
 * (muzzy_decay_ms). A sweep takes extents oldest first (the set's LRU) until the set is down to
 * what its machine allows -- splitting the last one so that exactly the excess goes, its
 * remainder staying the oldest -- and purges each through the hooks:
 *   dirty, muzzy_decay_ms != 0, not a full purge:  purge_lazy (MADV_FREE) -> muzzy set;
 *   otherwise (and if purge_lazy fails), jemalloc's cascade -> retained set (or unmapped):
 *     dalloc (the default refuses with opt.retain) -> unmapped, forgotten;
 *     else decommit (the default refuses on Linux) -> uncommitted, zeroed;
 *     else purge_forced (MADV_DONTNEED) -> zeroed;
 *     else purge_lazy (dirty extents only) -> not zeroed;
 *     whichever succeeded, the extent becomes retained (clean).
 * Per set, sweeps that purged something (npurge), hook calls that succeeded (nmadvise: with
 * the default hooks, one madvise or munmap each) and pages purged (purged) are counted.
 *
 * Locking: one lock per page allocator. Hooks are called with the lock held only when they are
 * the default ones; custom hooks are called unlocked (they may call malloc), with the extents
 * they touch marked EXTENT_BUSY so no other thread uses them meanwhile (an extent being purged
 * is in no set). A second lock, the decay lock, serializes sweeps and owns the decay machines.
 * It is taken with no other allocator lock held, and held across a sweep -- so a custom hook
 * that allocates takes bin and page-allocator locks under it (order: decay < bin < pac).
 * Periodic sweeps only try it (another thread's sweep is as good), so a custom hook that
 * allocates or frees from inside a sweep never waits for it.
 *
 * pac does not touch active extents' emap entries: callers clear them before pac_dalloc and
 * register them after pac_alloc. Free extents' boundary entries are pac's.
 *
 * Explicit arenas (arena.h) can be reset and destroyed, so their page allocator also knows its
 * active extents (track_active: a list through the descriptors' treap links, which active
 * extents do not use; kept under the lock pac_alloc and pac_dalloc already hold, so it costs a
 * few stores; automatic arenas skip it). pac_reset frees them all at once; pac_destroy then
 * gives every extent back through the hooks: the purge cascade for dirty and muzzy ones (dalloc
 * first), then `destroy` for every retained one (jemalloc's arena destroy).
 */
#ifndef AL_PAC_H
#define AL_PAC_H

#include <sys/types.h>

#include "decay.h"
#include "edata.h"
#include "ehooks.h"
#include "eset.h"
#include "mutex.h"

/* First growth step; later steps double up to the growth limit. With the default hooks and
 * THP in use (ehooks_thp_in_use: thp:always, or the system's mode is "always"), every step is
 * also mapped 2 MiB-aligned and rounded up to a multiple of 2 MiB (HUGEPAGE), so the kernel can
 * back it with huge pages; only the out-of-memory fallback (exactly the request) may not be. */
#define PAC_GROW_MIN ((size_t)2 << 20)
#define PAC_GROW_LIMIT_DEFAULT ((size_t)1 << 30)

/*
 * Page accounting, consistent under the lock (with the default hooks; custom hooks run unlocked
 * and their extents are briefly in none of the sets):
 *   mapped = (npages_active + npages_dirty + npages_muzzy + npages_retained) * PAGE
 */
/* Purging of one set (dirty or muzzy), counted under the page allocator's lock. */
typedef struct pac_decay_stats_s {
    uint64_t npurge;   /* sweeps that purged at least one extent */
    uint64_t nmadvise; /* purging hook calls that succeeded */
    uint64_t purged;   /* pages purged */
} pac_decay_stats_t;

typedef struct pac_stats_s {
    size_t mapped; /* bytes obtained through the alloc hook and not given back */
    size_t npages_active; /* pages of active extents (slabs and large allocations) */
    size_t npages_dirty, npages_muzzy, npages_retained;
    size_t nedata; /* extent descriptors this arena took from base (metadata) */
    pac_decay_stats_t decay_dirty, decay_muzzy;
    ssize_t dirty_decay_ms, muzzy_decay_ms;
} pac_stats_t;

typedef struct pac_s {
    mutex_t lock;
    ehooks_t *ehooks;
    unsigned ind;
    eset_t dirty, muzzy, retained;
    edata_list_t edata_cache; /* spare descriptors of this arena */
    size_t grow_next;         /* size of the next growth step */
    size_t grow_limit;        /* largest growth step (arena.<i>.retain_grow_limit) */
    bool track_active;        /* explicit arenas: keep `active` (see above) */
    edata_t *active;          /* head of the active list (track_active) */
    uint64_t next_sn;
    size_t mapped;            /* stats: see pac_stats_t */
    size_t nactive;           /* stats: pages of active extents */
    size_t nedata;            /* stats: descriptors taken from base */
    pac_decay_stats_t decay_stats[2]; /* [0] dirty, [1] muzzy */

    mutex_t decay_lock;       /* serializes sweeps; owns the machines */
    decay_t decay[2];         /* [0] dirty, [1] muzzy */
    ssize_t decay_ms[2];      /* atomic: decay[k].time_ms, for readers without the decay lock */
} pac_t;

/* Sets up an empty page allocator; its decay times are -1 (never purge) until set. */
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

/* arena.<i>.retain_grow_limit: the largest growth step. Setting rounds down to pages; true if
 * below one page (nothing changes). */
size_t pac_grow_limit(pac_t *pac);
bool pac_grow_limit_set(pac_t *pac, size_t limit);

/*
 * Explicit arenas only (track_active), with no other thread using the page allocator:
 * pac_reset frees every active extent as pac_dalloc would (their pages become dirty), calling
 * visit(e, arg) first for each, with no lock held, while e still describes the allocation.
 * pac_destroy then returns every extent through the hooks (see above) and leaves the page
 * allocator empty, ready to serve again (a recycled arena) once pac_stats_clear has zeroed its
 * purge counters (after the caller has read them).
 */
void pac_reset(pac_t *pac, void (*visit)(edata_t *e, void *arg), void *arg);
void pac_destroy(pac_t *pac);
void pac_stats_clear(pac_t *pac);

/* ---- decay ---- */

/* which: EXTENT_DIRTY or EXTENT_MUZZY. */
static inline ssize_t pac_decay_ms(const pac_t *pac, extent_state_t which) {
    return __atomic_load_n(&pac->decay_ms[which == EXTENT_MUZZY], __ATOMIC_RELAXED);
}
/*
 * Sets the decay time of a set (ms valid: decay.h) and restarts its machine at now_ns: the pages
 * the set holds count as freed now. Takes effect at once: with 0 the set is purged before this
 * returns. Waits for a sweep in progress.
 */
void pac_decay_ms_set(pac_t *pac, extent_state_t which, ssize_t ms, uint64_t now_ns);

typedef enum {
    PAC_DECAY_TICK, /* periodic: skipped if a sweep is in progress; purges a set with a window
                     * only when one of its epochs ended, a set with decay 0 entirely */
    PAC_DECAY_NOW,  /* waits; ends the epochs that are over, purges down to the curve */
    PAC_DECAY_ALL,  /* waits; purges every dirty and muzzy page (straight to retained) */
} pac_decay_mode_t;
/* One sweep of the dirty set, then of the muzzy set, at time now_ns. */
void pac_decay(pac_t *pac, pac_decay_mode_t mode, uint64_t now_ns);

/* The soonest a sweep of either set may purge something, from now_ns (decay.h's
 * decay_ns_until_purge over both sets; DECAY_NS_FOREVER if neither will). Waits for a sweep in
 * progress. */
uint64_t pac_decay_ns_until_purge(pac_t *pac, uint64_t now_ns);

/* Fork: prefork0 takes the decay lock, prefork1 the page allocator's; the owner takes the bins'
 * locks in between (the lock order). Postfork releases (re-creates) both. */
void pac_prefork0(pac_t *pac);
void pac_prefork1(pac_t *pac);
void pac_postfork_parent(pac_t *pac);
void pac_postfork_child(pac_t *pac);

#endif
