/*
 * arena.h -- the unit of isolation: bins for the small classes, a page allocator for extents,
 * the extent hooks all of its memory goes through, and its statistics. Threads are assigned to
 * the automatic arenas round robin. Also owns the arena table.
 *
 * The arena never calls the thread cache: caches hand it batches (fill, dalloc batch) as plain
 * pointer arrays. Locks: bins and page allocator have their own; the table has one for creation.
 */
#ifndef AL_ARENA_H
#define AL_ARENA_H

#include "bin.h"
#include "ehooks.h"
#include "large.h"
#include "pac.h"

/* Arena indices are < ARENAS_MAX (jemalloc's MALLOCX_ARENA_LIMIT). */
#define ARENAS_MAX 4095
#define SC_NLARGE (SC_NSIZES - SC_NBINS)

typedef struct arena_large_stats_s {
    uint64_t nmalloc, ndalloc, nrequests; /* atomic */
} arena_large_stats_t;

typedef struct arena_s {
    unsigned ind;
    unsigned nthreads; /* atomic: threads bound to this arena */
    uint64_t start_ns;
    ehooks_t ehooks;
    pac_t pac;
    bin_t bins[SC_NBINS];
    arena_large_stats_t lstats[SC_NLARGE];
    uint64_t large_nflushes; /* atomic: thread-cache flushes of large classes credited here */
} arena_t;

/* The arena table; entries are published with release stores and never removed. */
extern arena_t *arenas[ARENAS_MAX];
extern unsigned narenas_auto;
/* Option narenas: automatic arenas wanted (0 = default: 4 per CPU, 1 on one CPU); arena_boot
 * replaces 0 by the computed number. narenas_auto is it, capped at ARENAS_MAX. */
extern unsigned opt_narenas;

bool arena_boot(void);
/* Arena indices in use are < arena_narenas() (arenas.narenas: the automatic ones for now). */
static inline unsigned arena_narenas(void) { return narenas_auto; }
/* Arena ind, created on demand when create is true (automatic indices only). */
arena_t *arena_get(unsigned ind, bool create);
/* The next automatic arena, round robin; counts the thread as bound to it. */
arena_t *arena_choose(void);
void arena_thread_leave(arena_t *arena);

/* One allocation without a thread cache. NULL when out of memory. */
void *arena_malloc(arena_t *arena, szind_t ind, size_t usize, size_t alignment, bool zero);
/* Fills dst with up to n regions of small class ind; returns how many. */
unsigned arena_fill_small(arena_t *arena, szind_t ind, void **dst, unsigned n,
                          uint64_t nrequests);
/* Frees one allocation described by (e, ind) to its owning arena. */
void arena_dalloc(edata_t *e, void *ptr, szind_t ind, const char *who);
/*
 * Frees n pointers of class ind (a thread cache's flush), grouping them by owning arena so
 * each bin lock is taken once per group. nrequests is credited to stats_arena.
 */
void arena_dalloc_batch(arena_t *stats_arena, szind_t ind, void **ptrs, unsigned n,
                        uint64_t nrequests, const char *who);
/* In-place resize of a large allocation. True on failure. */
bool arena_ralloc_large_in_place(edata_t *e, szind_t ind, size_t usize, bool zero);

void arena_prefork(void);
void arena_postfork_parent(void);
void arena_postfork_child(void);

#endif
