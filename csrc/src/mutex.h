/*
 * mutex.h -- the allocator's lock: a pthread mutex that spins briefly before blocking, with
 * fork support. Lock order (outer first): init < ctl < background < arenas < tsd list < decay <
 * bin < pac < tcache pool < base < background worker (each purge thread's own mutex: a leaf,
 * background.h).
 * A pthread mutex never allocates, so it is safe inside malloc.
 */
#ifndef AL_MUTEX_H
#define AL_MUTEX_H

#include <pthread.h>
#include "internal.h"

typedef struct mutex_s {
    pthread_mutex_t lock;
} mutex_t;

/* Returns true on error. */
bool mutex_init(mutex_t *m);

static inline void mutex_lock(mutex_t *m) {
    if (LIKELY(pthread_mutex_trylock(&m->lock) == 0)) return;
    for (int i = 0; i < 100; i++) {
        CPU_SPINWAIT;
        if (pthread_mutex_trylock(&m->lock) == 0) return;
    }
    pthread_mutex_lock(&m->lock);
}

static inline bool mutex_trylock(mutex_t *m) { return pthread_mutex_trylock(&m->lock) != 0; }
static inline void mutex_unlock(mutex_t *m) { pthread_mutex_unlock(&m->lock); }

/* Fork protocol: prefork locks, the parent unlocks, the child re-creates the lock. */
static inline void mutex_prefork(mutex_t *m) { mutex_lock(m); }
static inline void mutex_postfork_parent(mutex_t *m) { mutex_unlock(m); }
static inline void mutex_postfork_child(mutex_t *m) { mutex_init(m); }

#endif
