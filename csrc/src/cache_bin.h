/*
 * cache_bin.h -- a bounded stack of free pointers of one size class: the only currency between
 * a thread cache and the arenas. Header-only; push and pop are the allocator's fast paths.
 *
 * Layout: the stack occupies [full, empty) of an array of void *; items are [head, empty), the
 * newest at head. Positions other than head are stored as their low 16 bits (a stack spans
 * well under 64 KiB), so the hot fields fit in 16 bytes and comparisons stay single loads.
 *
 *   full <= head <= low_water <= empty          (as positions)
 *   ncached = (empty - head) / sizeof(void *)
 *   low_water: the highest head position (fewest items) since the last GC -- items below it
 *              in the stack were not needed during that interval.
 *
 * A zeroed bin (uninitialized thread, or a disabled cache) has head == low_water == empty ==
 * full == 0: pop and push both fail at once and take the slow path, so no state test is needed
 * on the fast paths.
 *
 * Concurrency: a bin belongs to its thread, except that the stats merge (ctl's epoch) reads
 * other threads' `head` to subtract the bytes sitting in caches from stats.allocated. So every
 * store to head goes through cache_bin_head_store (a relaxed atomic store: a plain mov, no
 * fence) and remote readers use cache_bin_ncached_remote; the owner reads head plainly. The
 * other fields change only while no remote reader can look (see tsd.h, "registry").
 */
#ifndef AL_CACHE_BIN_H
#define AL_CACHE_BIN_H

#include "internal.h"

typedef struct cache_bin_s {
    void **head;
    uint16_t low_water, full, empty, ncached_max;
    uint64_t npush; /* stats: pushes on any path (frees into the cache) */
    size_t usize;   /* the class's usable size, next to the stack the fast path touches */
} cache_bin_t;

static inline uint16_t cache_bin_lo(void **p) { return (uint16_t)(uintptr_t)p; }

/*
 * The only way head is written (see "Concurrency" above). A relaxed store is a plain mov, but
 * GCC will not fold an indexed address (tsd + 32 * ind) into an atomic store's operand and
 * recomputes it; push and pop therefore materialize the bin's address once (cache_bin_pin),
 * which makes them a little shorter than the plain-store version was.
 */
static ALWAYS_INLINE void cache_bin_head_store(cache_bin_t *bin, void **head) {
    __atomic_store_n(&bin->head, head, __ATOMIC_RELAXED);
}

/* Sets bin up over slots[0, capacity). */
static inline void cache_bin_init(cache_bin_t *bin, void **slots, unsigned capacity,
                                  size_t usize) {
    bin->usize = usize;
    cache_bin_head_store(bin, slots + capacity);
    bin->empty = bin->low_water = cache_bin_lo(slots + capacity);
    bin->full = cache_bin_lo(slots);
    bin->ncached_max = (uint16_t)capacity;
}

static inline unsigned cache_bin_ncached(const cache_bin_t *bin) {
    return (uint16_t)(bin->empty - cache_bin_lo(bin->head)) / sizeof(void *);
}

/*
 * Items cached, read from another thread than the owner: head is loaded atomically; `empty`
 * must be stable (the caller holds the lock that guards set-up and tear-down of the bin).
 */
static inline unsigned cache_bin_ncached_remote(const cache_bin_t *bin) {
    void **head = __atomic_load_n(&bin->head, __ATOMIC_RELAXED);
    return (uint16_t)(bin->empty - cache_bin_lo(head)) / sizeof(void *);
}

static inline unsigned cache_bin_low_water(const cache_bin_t *bin) {
    return (uint16_t)(bin->empty - bin->low_water) / sizeof(void *);
}

static inline void cache_bin_reset_low_water(cache_bin_t *bin) {
    bin->low_water = cache_bin_lo(bin->head);
}

/* The bottom of the stack (one past the oldest item). */
static inline void **cache_bin_bottom(const cache_bin_t *bin) {
    return bin->head + cache_bin_ncached(bin);
}

/* Keeps bin's address in one register for the accesses that follow (an empty asm: no code). */
#define cache_bin_pin(bin) __asm__("" : "+r"(bin))

/* Pops the newest item; false if the bin is empty. One compare on the common path. */
static ALWAYS_INLINE bool cache_bin_pop(cache_bin_t *bin, void **ret) {
    cache_bin_pin(bin);
    void **head = bin->head;
    if (UNLIKELY(cache_bin_lo(head) == bin->low_water)) {
        if (UNLIKELY(cache_bin_lo(head) == bin->empty)) return false;
        bin->low_water = cache_bin_lo(head + 1);
    }
    *ret = *head;
    cache_bin_head_store(bin, head + 1);
    return true;
}

/* Pushes ptr; false if the bin is full. */
static ALWAYS_INLINE bool cache_bin_push(cache_bin_t *bin, void *ptr) {
    cache_bin_pin(bin);
    void **head = bin->head;
    if (UNLIKELY(cache_bin_lo(head) == bin->full)) return false;
    head[-1] = ptr;
    cache_bin_head_store(bin, head - 1);
    if (config_stats) bin->npush++;
    return true;
}

/* Whether ptr is cached in bin (debug double-free checks). */
static inline bool cache_bin_contains(const cache_bin_t *bin, const void *ptr) {
    unsigned n = cache_bin_ncached(bin);
    for (unsigned i = 0; i < n; i++) {
        if (bin->head[i] == ptr) return true;
    }
    return false;
}

#endif
