/*
 * background.h -- background purge threads: memory goes back to the system on the decay
 * schedule even when the program stops calling the allocator (jemalloc 5.3's background
 * threads, reference notes §6.4, simplified).
 *
 * Model. Up to max_background_threads workers (opt default 4, jemalloc's); only
 * background_nthreads() = min(max_background_threads, ceil(ncpus / 2), arenas) are used, so a
 * 2-CPU machine gets one. Worker k serves arenas k, k + n, k + 2n, ... A worker loops: for each
 * of its page allocators, a sweep down to the decay curve (pac_decay, PAC_DECAY_NOW), then the
 * soonest moment a sweep could purge anything (pac_decay_ns_until_purge: the end of the current
 * epoch while pages are dirty or muzzy), and sleeps on a CLOCK_MONOTONIC condition variable for
 * max(that, BACKGROUND_MIN_INTERVAL_NS), or indefinitely when nothing is dirty.
 *
 * Lazy start. background_thread on (the default) only means workers may run: none exists until
 * pages of one of its arenas become dirty (background_dirtied, from the arena's dalloc slow path
 * -- never from the fast paths). That call may run under allocator locks, so it only marks the
 * worker wanted; the thread is created by background_poll, which the allocation and
 * deallocation slow paths call with no allocator lock held (one relaxed load when nothing is
 * pending). Creation may allocate (pthread_create): those allocations are ordinary ones -- the
 * start path only try-locks its lock, so it never recurses into itself -- and so are the new
 * thread's. Threads are created with every signal blocked and named "arenalloc_bg". If creation
 * fails, background_thread turns off (reads false) and the decay ticks purge as before.
 *
 * Wake-ups. A worker sleeping indefinitely is woken by the next background_dirtied on one of its
 * arenas: a relaxed load of its `sleeping` flag, then (only when set) its mutex and a signal.
 * That mutex is a leaf held for a few instructions (never across another lock), so the call
 * cannot block for longer; a try-lock alone could lose the wake-up in the window between the
 * worker's last check and its wait, leaving an idle process's pages dirty for good. A worker in
 * a timed sleep is not woken early (its sleep is at most one epoch or 100 ms).
 *
 * Who purges. While a worker runs for an arena (background_serves), the threads' decay ticks
 * leave that arena alone (jemalloc: PAC_PURGE_NEVER on application threads); decay_ms 0
 * (purge at once on free) and the arena.<i>.decay / purge commands are unchanged.
 *
 * Control (mallctl): background_set(true) starts every worker (EAGAIN if one cannot be
 * created: the others are stopped and it stays off), background_set(false) stops and joins
 * them; background_max_set(n) (1 .. BACKGROUND_THREADS_LIMIT) stops and restarts them with the
 * new split. Stopping joins the thread: a worker's exit runs its thread-specific data cleanup
 * (if it ever allocated), which takes registry, bin and page-allocator locks but never the
 * background lock, so the join cannot deadlock.
 *
 * Locks: the background lock (starts, stops, the settings) comes after ctl and before every
 * arena lock (ctl < background < arenas < ...); each worker's mutex is a leaf, after base.
 * Fork: prefork takes the background lock in that place (no start or stop is half done); the
 * worker mutexes are leaves guarding only state the child resets, so they are not taken. In the
 * child no worker exists: they are marked stopped and their locks and condition variables
 * re-created; background_thread stays as it was, so the child's first dirtying starts a worker
 * again (jemalloc instead turns background threads off in the child: a pre-forking server's
 * workers would then never purge while idle). Under ThreadSanitizer, which kills a forked child
 * of a multi-threaded process that starts a thread, the child turns them off as jemalloc does.
 */
#ifndef AL_BACKGROUND_H
#define AL_BACKGROUND_H

#include <pthread.h>

#include "pac.h"

/* The shortest sleep (jemalloc's BACKGROUND_THREAD_MIN_INTERVAL_NS). */
#define BACKGROUND_MIN_INTERVAL_NS ((uint64_t)100 * 1000 * 1000)
/* Largest max_background_threads. */
#define BACKGROUND_THREADS_LIMIT 64

/* Options background_thread (default: ARENALLOC_BACKGROUND_THREAD_DEFAULT, 1 unless the build
 * says otherwise) and max_background_threads (default 4, clipped to 1 .. LIMIT). */
extern bool opt_background_thread;
extern size_t opt_max_background_threads;

/* The page allocator of arena ind (NULL if not created) and the arena count: the arena module
 * passes them at boot, so this module needs nothing above its row. */
typedef pac_t *background_pac_fn(unsigned ind);
typedef unsigned background_narenas_fn(void);
/* Sets the module up from the options. True on error. */
bool background_boot(background_pac_fn *pac_of, background_narenas_fn *narenas);

/* Thread creation, replaceable by tests (a failing stub exercises EAGAIN). */
typedef int background_create_fn(pthread_t *, const pthread_attr_t *, void *(*)(void *), void *);
extern background_create_fn *background_thread_create;

/* ---- the slow-path hooks ---- */

extern bool background_enabled_flag; /* atomic: background_thread */
extern bool background_pending;      /* atomic: a wanted worker is not running yet */
extern unsigned background_shards;   /* atomic: background_nthreads() in force */

/* Whether arena ind's purging is a worker's now (the threads' ticks then skip it). */
bool background_serves(unsigned ind);
void background_dirtied_slow(unsigned ind);
/* Pages of arena ind became dirty (no lock of that arena held). */
static inline void background_dirtied(unsigned ind) {
    if (__atomic_load_n(&background_enabled_flag, __ATOMIC_RELAXED)) background_dirtied_slow(ind);
}
void background_start_pending(void);
/* Starts wanted workers; call with no allocator lock held. */
static inline void background_poll(void) {
    if (UNLIKELY(__atomic_load_n(&background_pending, __ATOMIC_RELAXED))) {
        background_start_pending();
    }
}

/* ---- control ---- */

bool background_enabled(void);
/* 0, or EAGAIN (a worker could not be created: everything stays stopped, and off). */
int background_set(bool enabled);
size_t background_max(void);
/* 0, EINVAL (n outside 1 .. LIMIT) or EAGAIN (as background_set). */
int background_max_set(size_t n);
/* Workers the split uses now (they may not all run). */
unsigned background_nthreads(void);

typedef struct background_stats_s {
    size_t num_threads;    /* workers running */
    uint64_t num_runs;     /* worker loop iterations (sweep rounds) */
    uint64_t run_interval; /* mean ns between two runs of a worker */
} background_stats_t;
void background_stats_read(background_stats_t *out);

void background_prefork(void);
void background_postfork_parent(void);
void background_postfork_child(void);

#endif
