/*
 * tcache.h -- thread caches: one cache bin per cached size class (the small classes and the
 * large ones up to tcache_maxclass), filled from the arena in batches on a miss, flushed in
 * batches (oldest items first) when full, and garbage-collected incrementally: each GC step
 * visits one bin and returns 3/4 of the items that sat unused since the previous visit, and
 * adapts how much the next fill brings. A thread cache is owned by one thread (or, for explicit
 * caches, by whoever holds its index); nothing here is locked.
 *
 * The cache bins come first in tcache_t, so a thread's bins sit at a fixed offset of its TLS.
 * Bins at index >= tcache_nbins have no capacity: push and pop fail and the slow path runs.
 *
 * Geometry comes from the options (conf.h) at boot: tcache_maxclass = the class of tcache_max
 * (no bins at all for tcache_max 0); a small bin holds nregs x 2^lg_tcache_nslots_mul items
 * clamped to [tcache_nslots_small_min, tcache_nslots_small_max], a large bin
 * tcache_nslots_large, every bin at most TCACHE_NSLOTS_LIMIT (what the 16-bit cache-bin
 * positions can address). A full bin keeps capacity >> lg_tcache_flush_{small,large}_div items
 * and flushes the rest.
 */
#ifndef AL_TCACHE_H
#define AL_TCACHE_H

#include <sys/types.h>

#include "arena.h"
#include "cache_bin.h"

/* Cache bins for classes up to 8 MiB (the largest tcache_max jemalloc accepts). */
#define TCACHE_NBINS_MAX 73
#define TCACHE_LG_MAXCLASS_LIMIT 23
#define TCACHE_MAXCLASS_LIMIT ((size_t)1 << TCACHE_LG_MAXCLASS_LIMIT)
#define TCACHE_MAXCLASS_DEFAULT ((size_t)32 << 10)
/* Default bytes of allocation between two incremental GC steps (opt_tcache_gc_incr_bytes). */
#define TCACHE_GC_INCR_BYTES ((uint64_t)64 << 10)
/* Most items one bin can hold: a stack spans less than 64 KiB (cache_bin.h). */
#define TCACHE_NSLOTS_LIMIT ((unsigned)((1u << 16) / sizeof(void *) - 1))

/* Options (conf.h has the table): read at boot and when a thread sets up its cache. */
extern bool opt_tcache;                    /* threads start with a cache */
extern size_t opt_tcache_max;              /* <= TCACHE_MAXCLASS_LIMIT */
extern unsigned opt_tcache_nslots_small_min, opt_tcache_nslots_small_max;
extern unsigned opt_tcache_nslots_large;
extern ssize_t opt_lg_tcache_nslots_mul;   /* -16..16 */
extern size_t opt_tcache_gc_incr_bytes;    /* >= 1024 */
extern unsigned opt_lg_tcache_flush_small_div, opt_lg_tcache_flush_large_div; /* 1..16 */

typedef struct tcache_s {
    cache_bin_t bins[TCACHE_NBINS_MAX];
    arena_t *arena;  /* where fills come from and whose stats get the requests */
    void **slots;    /* stack memory of all bins (recycled through a pool) */
    unsigned gc_next;
    uint8_t lg_fill_div[TCACHE_NBINS_MAX];
    uint64_t nflow[TCACHE_NBINS_MAX];
    uint64_t npush_folded[TCACHE_NBINS_MAX]; /* npush already counted in the deallocated bytes */ /* stats: items filled in minus items flushed (mod 2^64) */
    bool refilled[TCACHE_NBINS_MAX];
    uint64_t nrequests_reported[TCACHE_NBINS_MAX];
} tcache_t;

extern unsigned tcache_nbins;    /* bins in use: classes <= tcache_maxclass */
extern size_t tcache_maxclass;  /* 0 when nothing is cached */

/* Computes the geometry from the options. */
bool tcache_boot(void);
/* Capacity of bin ind (< tcache_nbins) as computed at boot. */
unsigned tcache_bin_capacity(szind_t ind);
/* Sets t up on arena; true on OOM (then t stays disabled: all bins zero). */
bool tcache_init(tcache_t *t, arena_t *arena);
/* Flushes everything and gives the stack memory back; t ends disabled. */
void tcache_destroy(tcache_t *t);

/* Pop from bin ind, filling it from the arena first if empty. NULL when out of memory. */
void *tcache_alloc_hard(tcache_t *t, szind_t ind, size_t usize);
/* Push to bin ind, flushing it first if full (down to capacity >> lg_tcache_flush_*_div).
 * Returns whether it flushed. */
bool tcache_dalloc_hard(tcache_t *t, szind_t ind, void *ptr, const char *who);
/* Flushes bin ind down to keep items. */
void tcache_bin_flush(tcache_t *t, szind_t ind, unsigned keep, const char *who);
void tcache_flush_all(tcache_t *t);
/* One incremental GC step. */
void tcache_gc_step(tcache_t *t);

/* Allocation requests served by bin ind so far (pops), for statistics. */
uint64_t tcache_bin_nrequests(const tcache_t *t, szind_t ind);
/* Bytes freed into bin ind (pushes times usable size) since it was last folded, marking them
 * folded; tcache_fold_all does every bin. Owner only. */
uint64_t tcache_fold_pushes(tcache_t *t, szind_t ind);
uint64_t tcache_fold_all(tcache_t *t);
/*
 * Bytes sitting in t's bins, read from any thread (see cache_bin.h "Concurrency"): the caller
 * holds the lock under which t is set up and torn down (the tsd registry lock).
 */
size_t tcache_cached_bytes_remote(const tcache_t *t);

/*
 * ---- explicit caches (tcache.create, MALLOCX_TCACHE(i)) ----
 * Up to TCACHES_MAX caches that belong to whoever holds their index (jemalloc's rule: one user
 * at a time; nothing locks their bins). A cache serves and fills from one arena at a time: the
 * MALLOCX_ARENA of the call, else the calling thread's arena (jemalloc's choice) -- when that is
 * not the cache's arena, the cache is flushed and rebound first, so an object always comes from
 * the arena asked for, and a cache last used with an arena since destroyed (flushed, as the
 * contract asks: arena.h) never touches it again unless asked to. Explicit caches are
 * never garbage-collected (only flushed or destroyed). Creation, destruction, rebinding and the
 * statistics walk take the explicit-cache lock; allocation and free through a cache do not.
 * Destruction flushes under that lock, so it comes before every arena lock (ctl < background <
 * explicit caches < arenas): extent hooks must not create or destroy explicit caches.
 */
#define TCACHES_MAX 4093 /* MALLOCX_TCACHE's 12 bits, less "automatic" and "none" */
/* A new cache (or a destroyed one's index) filling from arena; true if none is left or OOM. */
bool tcache_explicit_create(arena_t *arena, unsigned *ind);
/* The live cache of index ind, or NULL. */
tcache_t *tcache_explicit_get(unsigned ind);
/* tcache.flush and tcache.destroy; true if ind is not a live cache. */
bool tcache_explicit_flush(unsigned ind);
bool tcache_explicit_destroy(unsigned ind);
/* Flushes t and makes it fill from arena from now on. */
void tcache_explicit_rebind(tcache_t *t, arena_t *arena);
/* For the statistics: f(arena, bytes cached, arg) for every live cache (cache_bin.h's remote
 * reads, as for thread caches). */
void tcache_explicit_foreach(void (*f)(arena_t *arena, size_t bytes, void *arg), void *arg);

/* Fork: prefork0 takes the explicit-cache lock (before the arenas' locks), prefork1 the stack
 * pool's (after them); postfork releases both. */
void tcache_prefork0(void);
void tcache_prefork1(void);
void tcache_postfork_parent(void);
void tcache_postfork_child(void);

#endif
