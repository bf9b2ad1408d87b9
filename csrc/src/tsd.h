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
 * The GC step comes every opt_tcache_gc_incr_bytes. When tsd_event_per_alloc is set (at boot,
 * by options that must see every allocation: zero, or junk outside the debug build -- conf.h),
 * the countdown restarts at 0, so every allocation is an event, and gc_countdown keeps the GC's
 * own distance.
 *
 * Byte counters (thread.allocated / thread.deallocated):
 *   thread_allocated   = usable bytes this thread allocated; exact and live (the malloc fast
 *                        path adds to it).
 *   deallocated (true) = thread_deallocated_slow + the bytes pushed into cache bins and not yet
 *                        folded (tcache_fold_pushes: the free fast path only counts a push in
 *                        its bin, npush), so it is exact whenever the bins are folded.
 *   thread_deallocated = thread_deallocated_slow as of the last fold: a flush folds its own
 *                        bin (O(1)), a read of thread.deallocated(p) folds them all.
 *                        thread.deallocatedp points here, so it lags the true value by the
 *                        bytes freed into bins since they were folded. (Counting it live on the
 *                        free fast path measured +4 instructions per malloc+free pair.)
 *   Every bin is folded before the cache's bins are cleared (cache disabled, thread exit).
 *
 * Decay ticks: decay_ticks counts down the thread's slow-path events (api.c: every allocation
 * or free that misses the fast path -- a cache fill or flush, a large class, no cache); at zero
 * the arena of that event gets a decay tick (arena.h) and the count restarts at
 * ARENA_DECAY_NTICKS. The fast paths never touch it.
 *
 * Registry: live (NOMINAL) threads are linked in a list that the stats merge walks
 * (tsd_foreach). Under the registry lock a thread's cache is set up and torn down and its arena
 * rebound, so a walker sees stable bins (only `head` moves: see cache_bin.h) and arenas.
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
    uint64_t thread_deallocated;      /* deallocated as of the last refresh (see above) */
    int64_t gc_countdown;      /* bytes until the next GC step, if tsd_event_per_alloc */
    int32_t decay_ticks;       /* slow-path events until the next decay tick */
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

void tsd_decay_tick_slow(tsd_t *tsd, arena_t *arena);
/* One slow-path event of the calling thread, on arena (see "Decay ticks" above). */
static inline void tsd_decay_tick(tsd_t *tsd, arena_t *arena) {
    if (UNLIKELY(--tsd->decay_ticks < 0)) tsd_decay_tick_slow(tsd, arena);
}

/* Every allocation is an event (set once at boot, before any thread is set up). */
extern bool tsd_event_per_alloc;

/* Runs the events that are due and restarts the countdown. */
void tsd_events(tsd_t *tsd);

/*
 * Calls f(tsd, arg) for every live thread, under the registry lock: f may read the thread's
 * arena, tcache.arena and cache bins (the bins' heads only through the *_remote readers).
 */
void tsd_foreach(void (*f)(tsd_t *, void *), void *arg);

/* Recomputes tsd->thread_deallocated (owner only) and returns it. */
uint64_t tsd_deallocated_refresh(tsd_t *tsd);
/* The same for one cache bin only, O(1): what a flush of that bin does. */
void tsd_deallocated_refresh_bin(tsd_t *tsd, szind_t ind);
/*
 * Turns the calling thread's cache off (flushing it; bins zeroed, so the fast paths fall
 * through to the arena) or on again. True if the cache could not be set up (out of memory, or
 * the thread is exiting); it then stays off.
 */
bool tsd_tcache_set_enabled(tsd_t *tsd, bool enabled);
/* Rebinds the calling thread (and its cache) to arena; leaving an explicit arena flushes the
 * cache first. */
void tsd_arena_set(tsd_t *tsd, arena_t *arena);
/* percpu_arena (arena.h): rebinds the calling thread to the arena of the CPU it runs on now, if
 * it is bound to an automatic arena. Slow paths only; call only with percpu_arena on. */
void tsd_percpu_update(tsd_t *tsd);

void tsd_prefork(void);
void tsd_postfork_parent(void);
void tsd_postfork_child(void);

#endif
