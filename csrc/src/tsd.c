#include "tsd.h"

#include <pthread.h>

#include "mutex.h"

__thread tsd_t tsd_tls __attribute__((tls_model("initial-exec"))) HIDDEN;

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

/* Thread exit: flush the cache back to the arenas, leave the arena, stay usable without a
 * cache for destructors that run after this one. */
static void tsd_cleanup(void *arg) {
    tsd_t *tsd = arg;
    if (tsd->state != TSD_NOMINAL) return;
    tsd->reentrancy++;
    tcache_destroy(&tsd->tcache);
    registry_remove(tsd);
    if (tsd->arena) arena_thread_leave(tsd->arena);
    tsd->state = TSD_PURGATORY;
    tsd->reentrancy--;
}

bool tsd_boot(void) {
    if (mutex_init(&registry_lock)) return true;
    return pthread_key_create(&exit_key, tsd_cleanup) != 0;
}

tsd_t *tsd_fetch_slow(tsd_t *tsd) {
    if (tsd->state != TSD_UNINIT || tsd->reentrancy > 0) return tsd;
    tsd->reentrancy++; /* anything below that allocates uses arena 0 without a cache */
    tsd->arena = arena_choose();
    tsd->tcache_enabled = true;
    tcache_init(&tsd->tcache, tsd->arena); /* on OOM the thread runs without a cache */
    pthread_setspecific(exit_key, tsd);
    registry_add(tsd);
    tsd->event_countdown = TCACHE_GC_INCR_BYTES;
    tsd->state = TSD_NOMINAL;
    tsd->reentrancy--;
    return tsd;
}

void tsd_events(tsd_t *tsd) {
    if (tsd->state != TSD_NOMINAL) return;
    if (tsd->event_countdown < 0) {
        tcache_gc_step(&tsd->tcache);
        tsd->event_countdown = TCACHE_GC_INCR_BYTES;
    }
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
