#include "tsd.h"

#include <pthread.h>

#include "mutex.h"

__thread tsd_t tsd_tls __attribute__((tls_model("initial-exec"))) HIDDEN;

bool tsd_event_per_alloc;

static pthread_key_t exit_key;
static mutex_t registry_lock;
static tsd_t *registry;

static void registry_add(tsd_t *tsd) {
    mutex_lock(&registry_lock);
    tsd->prev = NULL;
    tsd->next = registry;
    if (registry) registry->prev = tsd;
    registry = tsd;
    mutex_unlock(&registry_lock);
}

static void registry_remove(tsd_t *tsd) {
    mutex_lock(&registry_lock);
    if (tsd->prev) tsd->prev->next = tsd->next;
    else registry = tsd->next;
    if (tsd->next) tsd->next->prev = tsd->prev;
    mutex_unlock(&registry_lock);
}

/* Thread exit: flush the cache back to the arenas, leave the registry, give the cache's memory
 * back (no walker can see its bins cleared any more), leave the arena, stay usable without a
 * cache for destructors that run after this one. */
static void tsd_cleanup(void *arg) {
    tsd_t *tsd = arg;
    if (tsd->state != TSD_NOMINAL) return;
    tsd->reentrancy++;
    tcache_flush_all(&tsd->tcache);
    registry_remove(tsd);
    tsd_deallocated_refresh(tsd); /* folds the cache's pushes before its bins are cleared */
    tcache_destroy(&tsd->tcache);
    if (tsd->arena) arena_thread_leave(tsd->arena);
    tsd->state = TSD_PURGATORY;
    tsd->reentrancy--;
}

bool tsd_boot(void) {
    if (mutex_init(&registry_lock)) return true;
    return pthread_key_create(&exit_key, tsd_cleanup) != 0;
}

/* Bytes of allocation between two tcache GC steps (opt_tcache_gc_incr_bytes, as a countdown). */
static int64_t gc_interval(void) {
    return opt_tcache_gc_incr_bytes > (size_t)INT64_MAX ? INT64_MAX
                                                         : (int64_t)opt_tcache_gc_incr_bytes;
}

tsd_t *tsd_fetch_slow(tsd_t *tsd) {
    if (tsd->state != TSD_UNINIT || tsd->reentrancy > 0) return tsd;
    tsd->reentrancy++; /* anything below that allocates uses arena 0 without a cache */
    tsd->arena = arena_choose();
    /* Without a cache if the tcache option is off, or on OOM. */
    tsd->tcache_enabled = opt_tcache && !tcache_init(&tsd->tcache, tsd->arena);
    pthread_setspecific(exit_key, tsd);
    registry_add(tsd);
    tsd->gc_countdown = gc_interval();
    tsd->decay_ticks = ARENA_DECAY_NTICKS;
    tsd->event_countdown = tsd_event_per_alloc ? 0 : tsd->gc_countdown;
    tsd->state = TSD_NOMINAL;
    tsd->reentrancy--;
    return tsd;
}

static void gc_step(tsd_t *tsd) { tcache_gc_step(&tsd->tcache); }

void tsd_events(tsd_t *tsd) {
    if (tsd->state != TSD_NOMINAL || tsd->event_countdown >= 0) return;
    if (LIKELY(!tsd_event_per_alloc)) { /* the GC step is the only event */
        gc_step(tsd);
        tsd->event_countdown = gc_interval();
        return;
    }
    /* Every allocation is an event: the GC step keeps its own distance. */
    tsd->gc_countdown += tsd->event_countdown;
    tsd->event_countdown = 0;
    if (tsd->gc_countdown < 0) {
        gc_step(tsd);
        tsd->gc_countdown = gc_interval();
    }
}

void tsd_decay_tick_slow(tsd_t *tsd, arena_t *arena) {
    tsd->decay_ticks = ARENA_DECAY_NTICKS;
    /* Not from inside the allocator (a custom hook's malloc) nor before or after the thread's
     * life: the tick runs hooks and takes locks. */
    if (tsd->state != TSD_NOMINAL || tsd->reentrancy > 0 || arena == NULL) return;
    arena_decay_tick(arena);
}

uint64_t tsd_deallocated_refresh(tsd_t *tsd) {
    tsd->thread_deallocated_slow += tcache_fold_all(&tsd->tcache);
    tsd->thread_deallocated = tsd->thread_deallocated_slow;
    return tsd->thread_deallocated;
}

void tsd_deallocated_refresh_bin(tsd_t *tsd, szind_t ind) {
    tsd->thread_deallocated_slow += tcache_fold_pushes(&tsd->tcache, ind);
    tsd->thread_deallocated = tsd->thread_deallocated_slow;
}

bool tsd_tcache_set_enabled(tsd_t *tsd, bool enabled) {
    if (tsd->state != TSD_NOMINAL) return enabled;
    if (enabled == tsd->tcache_enabled) return false;
    tsd->reentrancy++;
    bool err = false;
    if (!enabled) {
        tcache_flush_all(&tsd->tcache);
        mutex_lock(&registry_lock);
        tsd_deallocated_refresh(tsd); /* folds the cache's pushes before its bins are cleared */
        tcache_destroy(&tsd->tcache);
        mutex_unlock(&registry_lock);
        tsd->tcache_enabled = false;
    } else {
        mutex_lock(&registry_lock);
        err = tcache_init(&tsd->tcache, tsd_arena(tsd));
        mutex_unlock(&registry_lock);
        tsd->tcache_enabled = !err;
    }
    tsd_deallocated_refresh(tsd);
    tsd->reentrancy--;
    return err;
}

void tsd_arena_set(tsd_t *tsd, arena_t *arena) {
    arena_t *old = tsd->arena;
    if (old == arena) return;
    if (old != NULL && !arena_is_auto(old) && tsd->tcache.slots != NULL) {
        /* Leaving an explicit arena: its cached objects go back now, so that once no thread is
         * bound to it the arena can be destroyed (arena.h, the contract). */
        tcache_flush_all(&tsd->tcache);
        tsd_deallocated_refresh(tsd);
    }
    __atomic_fetch_add(&arena->nthreads, 1, __ATOMIC_RELAXED);
    mutex_lock(&registry_lock);
    tsd->arena = arena;
    tsd->tcache.arena = arena;
    mutex_unlock(&registry_lock);
    if (old != NULL) arena_thread_leave(old);
}

void tsd_percpu_update(tsd_t *tsd) {
    arena_t *cur = tsd->arena;
    if (tsd->state != TSD_NOMINAL || tsd->reentrancy > 0 || cur == NULL) return;
    if (cur->ind >= narenas_auto) return; /* the huge arena, bound explicitly */
    unsigned ind = arena_percpu_ind();
    if (ind == cur->ind) return;
    arena_t *a = arena_get(ind, true);
    if (a != NULL) tsd_arena_set(tsd, a); /* out of memory: stay where it is */
}

void tsd_foreach(void (*f)(tsd_t *, void *), void *arg) {
    mutex_lock(&registry_lock);
    for (tsd_t *t = registry; t != NULL; t = t->next) f(t, arg);
    mutex_unlock(&registry_lock);
}

void tsd_prefork(void) { mutex_prefork(&registry_lock); }
void tsd_postfork_parent(void) { mutex_postfork_parent(&registry_lock); }

/* Only the forking thread exists in the child: it alone stays registered and bound. */
void tsd_postfork_child(void) {
    mutex_postfork_child(&registry_lock);
    tsd_t *self = tsd_get();
    registry = NULL;
    if (self->state == TSD_NOMINAL) {
        self->prev = self->next = NULL;
        registry = self;
        if (self->arena) __atomic_store_n(&self->arena->nthreads, 1, __ATOMIC_RELAXED);
    }
}
