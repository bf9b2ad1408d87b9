/*
 * stats.h -- the statistics snapshot behind `stats.*` (refreshed by writing `epoch`).
 *
 * Owns: the snapshot (process totals, one stats_arena_t per arena that existed at the last
 * refresh, and their merge for MALLCTL_ARENAS_ALL) and the counters that live nowhere below
 * (realloc(p, 0) calls). The fields are listed once in stats_fields.def.
 *
 * Where the numbers come from (stats_refresh, with the ctl lock held): every arena's bins (each
 * under its lock), large-class counters (atomics), page allocator (under its lock); the global
 * base and extent-map counters; and, through tsd_foreach and tcache_explicit_foreach, the bytes
 * sitting in the thread caches of live threads and in the explicit caches (their bin heads are read with relaxed atomic loads, see cache_bin.h).
 * Nothing is counted on the fast paths for this: the allocation fast path only pops from and
 * the free fast path only pushes to a cache bin, and a cache's content is recovered at refresh
 * time as (empty - head).
 *
 * Definitions (bytes unless the name says pages):
 *   arena.small.allocated = sum over bins of curregs * region size: regions the arena's bins
 *                           handed out, including those now sitting in thread caches (jemalloc's
 *                           definition);
 *   arena.large.allocated = sum over large classes of curlextents * size, cached ones included;
 *   arena.tcache_bytes    = bytes in the caches of the live threads bound to the arena (a cache
 *                           may hold objects of other arenas: only the sum over arenas is exact);
 *   stats.allocated       = sum over arenas of (small.allocated + large.allocated - tcache_bytes)
 *                         = the usable sizes of the live allocations, exactly, whenever no other
 *                           thread allocates or frees during the refresh. Under concurrent
 *                           traffic the parts are read at slightly different moments, so it is
 *                           clamped to [0, active];
 *   active                = pages of active extents (slabs, large allocations) * PAGE;
 *   metadata              = base bytes handed out + extent-map leaves;
 *   resident              = metadata + (active + dirty pages): an upper bound;
 *   mapped                = base mapped + extent-map leaves + every arena's hook-obtained bytes
 *                           minus its retained ones (active + dirty + muzzy pages);
 *   retained              = bytes of retained (clean, still mapped) extents;
 *   background_thread.*   = purge threads running, their sweep rounds, and the mean time
 *                           between two rounds of one thread (background.h).
 * Hence, at every snapshot:  allocated <= active <= resident <= mapped.
 * Per arena, `base` is the arena's own metadata (its arena_t and its extent descriptors),
 * `internal` is 0 (arenalloc never serves its own metadata from an arena), `resident` is
 * base + (pactive + pdirty) pages and `mapped` is base + (pactive + pdirty + pmuzzy) pages.
 * dirty_* / muzzy_* {npurge, nmadvise, purged} are the page allocator's purge
 * counters (pac.h) and {dirty,muzzy}_decay_ms its settings; the merged view sums the counters
 * and shows arena 0's settings.
 *
 * Locking: the snapshot belongs to the ctl lock (ctl.c): stats_refresh and every reader run
 * with it held. The refresh takes the registry, bin, page-allocator and base locks below it.
 */
#ifndef AL_STATS_H
#define AL_STATS_H

#include "arena.h"

typedef struct stats_global_s {
#define STATS_GLOBAL(name, ctype) ctype name;
#include "stats_fields.def"
} stats_global_t;

typedef struct stats_background_s {
#define STATS_BACKGROUND(name, ctype) ctype name;
#include "stats_fields.def"
} stats_background_t;

typedef struct stats_total_s {
#define STATS_TOTAL(name, ctype) ctype name;
#include "stats_fields.def"
} stats_total_t;

typedef struct stats_bin_s {
#define STATS_BIN(name, ctype) ctype name;
#include "stats_fields.def"
} stats_bin_t;

typedef struct stats_lextent_s {
#define STATS_LEXTENT(name, ctype) ctype name;
#include "stats_fields.def"
} stats_lextent_t;

typedef struct stats_arena_s {
#define STATS_ARENA(name, ctype, merge) ctype name;
#include "stats_fields.def"
    stats_total_t small, large;
    stats_bin_t bins[SC_NBINS];
    stats_lextent_t lextents[SC_NLARGE];
} stats_arena_t;

/* The process totals of the last refresh. */
extern stats_global_t stats_global;
/* The background purge threads at the last refresh (background.h). */
extern stats_background_t stats_background;

/*
 * Refreshes the snapshot. True when out of memory for the snapshot of a new arena (the previous
 * snapshot then stays as it was).
 */
bool stats_refresh(void);
/* The snapshot of arena ind (< ARENAS_MAX, or MALLCTL_ARENAS_ALL for the merge), or NULL if the
 * arena did not exist at the last refresh. */
stats_arena_t *stats_arena(size_t ind);

/*
 * arena.<i>.destroy, between arena_destroy_begin and arena_destroy_end (the ctl lock held):
 * adds the arena's counters to MALLCTL_ARENAS_DESTROYED (stats.arenas.4097.*), which exists from
 * then on. Its gauges (pages, bytes allocated, live regions) are 0 by then. The merged view
 * (MALLCTL_ARENAS_ALL) covers the arenas that exist.
 */
void stats_arena_destroyed(arena_t *arena);

/* realloc(ptr, 0) calls with ptr != NULL (stats.zero_reallocs). */
extern size_t stats_zero_reallocs;
static inline void stats_zero_realloc_count(void) {
    if (config_stats) __atomic_fetch_add(&stats_zero_reallocs, 1, __ATOMIC_RELAXED);
}

#endif
