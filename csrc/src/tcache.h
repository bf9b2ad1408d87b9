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
 */
#ifndef AL_TCACHE_H
#define AL_TCACHE_H

#include "arena.h"
#include "cache_bin.h"

/* Cache bins for classes up to 8 MiB (the largest tcache_max jemalloc accepts). */
#define TCACHE_NBINS_MAX 73
#define TCACHE_MAXCLASS_DEFAULT ((size_t)32 << 10)
/* Bytes of allocation between two incremental GC steps. */
#define TCACHE_GC_INCR_BYTES ((uint64_t)64 << 10)

typedef struct tcache_s {
    cache_bin_t bins[TCACHE_NBINS_MAX];
    arena_t *arena;  /* where fills come from and whose stats get the requests */
    void **slots;    /* stack memory of all bins (recycled through a pool) */
    unsigned gc_next;
    uint8_t lg_fill_div[TCACHE_NBINS_MAX];
    uint64_t nflow[TCACHE_NBINS_MAX]; /* stats: items filled in minus items flushed (mod 2^64) */
    bool refilled[TCACHE_NBINS_MAX];
    uint64_t nrequests_reported[TCACHE_NBINS_MAX];
} tcache_t;

extern unsigned tcache_nbins;    /* bins in use: classes <= tcache_maxclass */
extern size_t tcache_maxclass;

bool tcache_boot(void);
/* Sets t up on arena; true on OOM (then t stays disabled: all bins zero). */
bool tcache_init(tcache_t *t, arena_t *arena);
/* Flushes everything and gives the stack memory back; t ends disabled. */
void tcache_destroy(tcache_t *t);

/* Pop from bin ind, filling it from the arena first if empty. NULL when out of memory. */
void *tcache_alloc_hard(tcache_t *t, szind_t ind, size_t usize);
/* Push to bin ind, flushing half of it first if full. */
void tcache_dalloc_hard(tcache_t *t, szind_t ind, void *ptr, const char *who);
/* Flushes bin ind down to keep items. */
void tcache_bin_flush(tcache_t *t, szind_t ind, unsigned keep, const char *who);
void tcache_flush_all(tcache_t *t);
/* One incremental GC step. */
void tcache_gc_step(tcache_t *t);

/* Allocation requests served by bin ind so far (pops), for statistics. */
uint64_t tcache_bin_nrequests(const tcache_t *t, szind_t ind);

void tcache_prefork(void);
void tcache_postfork_parent(void);
void tcache_postfork_child(void);

#endif
