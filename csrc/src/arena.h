/*
 * arena.h -- the unit of isolation: bins for the small classes, a page allocator for extents,
 * the extent hooks all of its memory goes through, and its statistics. Threads are assigned to
 * the automatic arenas round robin (or by CPU: percpu_arena); allocations above
 * oversize_threshold go to the huge arena (both below). Also owns the arena table.
 *
 * The arena never calls the thread cache: caches hand it batches (fill, dalloc batch) as plain
 * pointer arrays. Locks: bins and page allocator have their own; the table has one for creation.
 *
 * Giving memory back: the page allocator knows how to purge (pac.h); the arena decides when:
 *   - while a background purge thread runs for the arena (background.h: on by default, started
 *     the first time the arena's pages become dirty -- every free into the dirty set tells it),
 *     that thread sweeps it on the decay schedule, even when the program is idle;
 *   - otherwise (jemalloc's rule without background threads) every ARENA_DECAY_NTICKS slow-path
 *     events of a thread (a thread-cache fill or flush, a large allocation or free, an
 *     allocation or free without the cache: tsd.h counts them; the fast paths never do) run
 *     arena_decay_tick on the arena involved: if no other thread is sweeping it and an epoch of
 *     its dirty or muzzy decay ended, it purges down to the curve;
 *   - with dirty_decay_ms 0, every free of pages into the dirty set purges them at once (and
 *     with muzzy_decay_ms 0, lazily purged pages go on to retained at once);
 *   - arena_decay (mallctl arena.<i>.decay / arena.<i>.purge) purges to the curve or entirely;
 *   - arena_set_decay_ms (arena.<i>.{dirty,muzzy}_decay_ms) restarts the set's schedule, with
 *     effect at once.
 * Consequence, with background_thread:false (as in jemalloc without background threads): a
 * process that stops calling the allocator's slow paths keeps its dirty pages until something
 * ticks or purges.
 *
 * Automatic and explicit arenas. Indices [0, narenas_auto) are the automatic arenas threads are
 * spread over, then the huge arena if there is one; both kinds are created on demand and live
 * for the whole process. Explicit arenas (arenas.create) come after them: no thread uses one
 * unless bound to it (thread.arena) or asking for it (MALLOCX_ARENA). They may have their own
 * extent hooks, and they can be reset (every allocation freed at once) and destroyed (every
 * extent given back through the hooks, the statistics folded into the destroyed total). A
 * destroyed arena's index and descriptor are recycled by the next arenas.create: the arena_t
 * and its locks are never freed, so a purge thread or statistics reader that picked the arena up
 * just before it was destroyed finds a valid, empty arena.
 * Contract (jemalloc's): nothing may use an explicit arena while it is being reset or destroyed,
 * and no thread cache may hold its objects then (the caller's own cache is flushed for it, and
 * a thread leaving an explicit arena through thread.arena flushes its cache; frees of other
 * threads should use MALLOCX_TCACHE_NONE, as the Rust Arena does).
 */
#ifndef AL_ARENA_H
#define AL_ARENA_H

#include "bin.h"
#include "ehooks.h"
#include "large.h"
#include "pac.h"

/* Slow-path events of a thread between two decay ticks (jemalloc's ARENA_DECAY_NTICKS_PER_UPDATE
 * is the mean of a random ticker; a fixed count is enough here). */
#define ARENA_DECAY_NTICKS 1000

/* Arena indices are < ARENAS_MAX (jemalloc's MALLOCX_ARENA_LIMIT). */
#define ARENAS_MAX 4095
#define SC_NLARGE (SC_NSIZES - SC_NBINS)

typedef struct arena_large_stats_s {
    uint64_t nmalloc, ndalloc, nrequests; /* atomic */
} arena_large_stats_t;

typedef struct arena_s arena_t;
struct arena_s {
    unsigned ind;
    unsigned nthreads; /* atomic: threads bound to this arena */
    uint64_t start_ns;
    ehooks_t ehooks;
    pac_t pac;
    bin_t bins[SC_NBINS];
    arena_large_stats_t lstats[SC_NLARGE];
    uint64_t large_nflushes; /* atomic: thread-cache flushes of large classes credited here */
    arena_t *spare_next;     /* destroyed arenas waiting to be recycled (the table's lock) */
};

/* The arena table; entries are published with release stores and never removed. */
extern arena_t *arenas[ARENAS_MAX];
extern unsigned narenas_auto;
/* Option narenas: automatic arenas wanted (0 = default: 4 per CPU, 1 on one CPU); arena_boot
 * replaces 0 by the computed number. narenas_auto is it, capped at ARENAS_MAX. */
extern unsigned opt_narenas;
/* Options dirty_decay_ms (default 10000) and muzzy_decay_ms (default 0): the decay times
 * arenas start with (-1 never purge, 0 at once; valid: decay.h). Read-only after boot: the
 * defaults that change at run time are arena_decay_ms_default's. */
extern ssize_t opt_dirty_decay_ms, opt_muzzy_decay_ms;

/*
 * Option oversize_threshold (jemalloc's, default 8 MiB, 0 .. SC_LARGE_MAXCLASS): allocations
 * whose usable size is strictly above it, made by a thread bound to an automatic arena without
 * MALLOCX_ARENA, go to the huge arena: one more automatic arena, index narenas_auto, created on
 * first use, whose dirty and muzzy decay times start at 0 (where the defaults are positive) so
 * that its memory goes back to the system as it is freed. A threshold below SC_LARGE_MINCLASS
 * turns this off (no huge arena; opt.oversize_threshold then reads 0), as in jemalloc.
 * Only alloc_slow's choice of arena looks at it (api.c): the fast paths never see such sizes.
 */
extern size_t opt_oversize_threshold;
/* Above this usable size the huge arena serves (SIZE_MAX when there is none). */
extern size_t arena_oversize_limit;
/* narenas_auto when there is a huge arena, else ARENAS_MAX (no index). */
extern unsigned arena_huge_ind;

/*
 * Option percpu_arena (jemalloc's): "disabled" (default), "percpu" or "phycpu". When on, a
 * thread's arena follows the CPU it runs on: arena_percpu_ind() is the CPU (percpu) or its
 * physical core, hyperthread siblings sharing one (phycpu: platform_cpu_core, from the sysfs
 * topology read at boot), modulo narenas_auto. narenas_auto is then at least the number of
 * CPUs the process may run on (percpu) or of physical cores (phycpu), as jemalloc raises
 * opt.narenas. Threads are placed by it when they start (arena_choose) and re-placed on their
 * slow paths -- cache fill and flush, large and uncached allocations (tsd_percpu_update) --
 * never on the fast paths. thread.arena cannot bind to an automatic arena meanwhile (EPERM).
 */
typedef enum { PERCPU_DISABLED, PERCPU_PERCPU, PERCPU_PHYCPU } percpu_arena_t;
extern const char *opt_percpu_arena;
extern percpu_arena_t opt_percpu_arena_mode;
/* The automatic arena index for the CPU the caller runs on now (percpu_arena on). */
unsigned arena_percpu_ind(void);

bool arena_boot(void);
/* Arena indices in use are < arena_narenas() (arenas.narenas: the automatic arenas, then the
 * huge arena if there is one -- counted, as in jemalloc, even before it is created -- then the
 * explicit arenas ever created, destroyed ones included until their index is reused). */
extern unsigned arena_narenas_total; /* atomic */
static inline unsigned arena_narenas(void) {
    return __atomic_load_n(&arena_narenas_total, __ATOMIC_ACQUIRE);
}
static inline bool arena_is_auto(const arena_t *a) {
    return a->ind < narenas_auto || a->ind == arena_huge_ind;
}
/* Arena ind, created on demand when create is true (automatic indices and the huge arena). */
arena_t *arena_get(unsigned ind, bool create);
/* The huge arena, created on first use; NULL if there is none or it cannot be created. */
static inline arena_t *arena_huge(void) { return arena_get(arena_huge_ind, true); }
/* The next automatic arena (round robin, or the CPU's with percpu_arena); counts the thread as
 * bound to it. */
arena_t *arena_choose(void);
void arena_thread_leave(arena_t *arena);

/* ---- explicit arenas (see the top of this file) ---- */

/* arenas.create: a new explicit arena with hooks (NULL: the default ones), or a recycled one.
 * NULL when every index is taken or out of memory. */
arena_t *arena_create(extent_hooks_t *hooks);
/* arena.<i>.extent_hooks write: installs hooks (not NULL), returns the old ones. */
extent_hooks_t *arena_set_extent_hooks(arena_t *arena, extent_hooks_t *hooks);
/* arena.<i>.reset: frees every allocation of explicit arena `arena` (see the contract). */
void arena_reset(arena_t *arena);
/*
 * arena.<i>.destroy, in two steps so the caller can fold the statistics in between:
 * arena_destroy_begin resets the arena, gives every extent back through its hooks and
 * unpublishes it (arena_get returns NULL); arena_destroy_end zeroes its statistics and files it
 * for recycling.
 */
void arena_destroy_begin(arena_t *arena);
void arena_destroy_end(arena_t *arena);

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

/* The arena that owns extent e. */
static inline arena_t *arena_of(const edata_t *e) {
    return __atomic_load_n(&arenas[edata_arena_ind(e)], __ATOMIC_ACQUIRE);
}

/* ---- decay (which: EXTENT_DIRTY or EXTENT_MUZZY) ---- */

/* arenas.{dirty,muzzy}_decay_ms: the decay time of arenas created from now on. */
ssize_t arena_decay_ms_default(extent_state_t which);
/* True if ms is not a valid decay time (nothing changes). */
bool arena_decay_ms_default_set(extent_state_t which, ssize_t ms);
static inline ssize_t arena_decay_ms(const arena_t *arena, extent_state_t which) {
    return pac_decay_ms(&arena->pac, which);
}
/* Sets the arena's decay time and restarts that schedule; 0 purges at once. True if ms is not
 * a valid decay time (nothing changes). */
bool arena_set_decay_ms(arena_t *arena, extent_state_t which, ssize_t ms);
/* Purges down to the decay curve now (all: every dirty and muzzy page), waiting for a sweep
 * in progress. */
void arena_decay(arena_t *arena, bool all);
/* The periodic step (tsd.h): skipped if another thread is sweeping the arena. */
void arena_decay_tick(arena_t *arena);

void arena_prefork(void);
void arena_postfork_parent(void);
void arena_postfork_child(void);

#endif
