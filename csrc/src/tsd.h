/*
 * tsd.h -- per-thread state, in one initial-exec TLS variable so the fast paths reach it with
 * a single segment-relative access: the thread's byte counter and event threshold, its thread
 * cache (cache bins at a fixed offset), its arena, and its lifecycle.
 *
 * Lifecycle: UNINIT (all zero: cache bins refuse, so the first malloc or free takes the slow
 * path, which calls tsd_fetch_slow) -> NOMINAL -> PURGATORY once the thread-exit destructor has
 * flushed the cache (later calls from other destructors go straight to the arena).
 *
 * Events: one test on the malloc fast path -- the byte countdown going negative -- covers every
 * periodic duty: the incremental tcache GC today, profiling samples and stats intervals later.
 * The countdown is the distance to the nearest due event, so one subtraction serves them all.
 */
#ifndef AL_TSD_H
#define AL_TSD_H

#include "arena.h"
#include "tcache.h"

typedef enum { TSD_UNINIT = 0, TSD_NOMINAL = 1, TSD_PURGATORY = 2 } tsd_state_t;

typedef struct tsd_s tsd_t;
struct tsd_s {
    uint64_t thread_allocated; /* bytes allocated by this thread (usable sizes) */
    int64_t event_countdown;   /* bytes until the next event; < 0: run events (tsd_events) */
    tcache_t tcache;           /* bins first: the fast path's data */
    uint64_t thread_deallocated_slow; /* bytes freed without a cache push */
    arena_t *arena;
    uint8_t state;             /* tsd_state_t */
    uint8_t reentrancy;        /* > 0 inside the allocator's own slow paths: no thread cache */
    bool tcache_enabled;
    tsd_t *prev, *next;        /* registry of live threads (stats merge) */
};

extern __thread tsd_t tsd_tls __attribute__((tls_model("initial-exec")));

static ALWAYS_INLINE tsd_t *tsd_get(void) {
    tsd_t *tsd = &tsd_tls;
    /* Materialize the address once: without this barrier GCC re-derives it from %fs:0 for
     * each field it touches, which costs the fast paths several instructions. */
    __asm__("" : "+r"(tsd));
    return tsd;
}

bool tsd_boot(void);
tsd_t *tsd_fetch_slow(tsd_t *tsd);
/* The calling thread's state, set up on first use. Requires the allocator to be booted. */
static inline tsd_t *tsd_fetch(void) {
    tsd_t *tsd = tsd_get();
    if (LIKELY(tsd->state == TSD_NOMINAL)) return tsd;
    return tsd_fetch_slow(tsd);
}

/* Whether allocations of this thread may go through its thread cache now. */
static inline bool tsd_tcache_usable(const tsd_t *tsd) {
    return tsd->state == TSD_NOMINAL && tsd->reentrancy == 0 && tsd->tcache.slots != NULL;
}

/* The arena for this thread's allocations (arena 0 while the thread is being set up). */
static inline arena_t *tsd_arena(const tsd_t *tsd) {
    return tsd->arena != NULL ? tsd->arena : arenas[0];
}

/* Runs the events that are due and restarts the countdown. */
void tsd_events(tsd_t *tsd);

/* Calls f(tsd, arg) for every live thread, under the registry lock. */
void tsd_foreach(void (*f)(tsd_t *, void *), void *arg);

void tsd_prefork(void);
void tsd_postfork_parent(void);
void tsd_postfork_child(void);

#endif
