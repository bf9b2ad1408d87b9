#include "background.h"

#include <errno.h>
#include <signal.h>
#include <time.h>

#include "platform.h"

#if defined(__SANITIZE_THREAD__)
#define BACKGROUND_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define BACKGROUND_TSAN 1
#endif
#endif
#ifndef BACKGROUND_TSAN
#define BACKGROUND_TSAN 0
#endif

#ifndef ARENALLOC_BACKGROUND_THREAD_DEFAULT
#define ARENALLOC_BACKGROUND_THREAD_DEFAULT 1
#endif

bool opt_background_thread = ARENALLOC_BACKGROUND_THREAD_DEFAULT;
size_t opt_max_background_threads = 4;

background_create_fn *background_thread_create = pthread_create;

bool background_enabled_flag;
bool background_pending;
unsigned background_shards = 1;

typedef struct background_worker_s {
    mutex_t mtx;          /* a leaf: guards stop, wake and the condition variable */
    pthread_cond_t cond;  /* CLOCK_MONOTONIC */
    pthread_t thread;
    bool running;         /* atomic; changes under the background lock */
    bool want;            /* atomic: one of its arenas got dirty pages */
    bool sleeping;        /* atomic: in an indefinite sleep (set under mtx) */
    bool stop, wake;      /* under mtx */
    /* Written by the worker only (relaxed atomics): stats. */
    uint64_t nruns, interval_ns, nintervals;
} background_worker_t;

static background_worker_t workers[BACKGROUND_THREADS_LIMIT];
static mutex_t background_lock; /* starts, stops, the settings */
static size_t max_threads;      /* atomic: max_background_threads */
static background_pac_fn *pac_of;
static background_narenas_fn *narenas_of;

static bool worker_init(background_worker_t *w) {
    pthread_condattr_t attr;
    if (mutex_init(&w->mtx) || pthread_condattr_init(&attr) != 0) return true;
    bool err = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) != 0 ||
               pthread_cond_init(&w->cond, &attr) != 0;
    pthread_condattr_destroy(&attr);
    return err;
}

static unsigned nthreads_for(size_t max) {
    size_t n = (platform_ncpus() + 1) / 2; /* one per two CPUs */
    if (n > max) n = max;
    unsigned na = narenas_of();
    if (n > na) n = na;
    return n > 0 ? (unsigned)n : 1;
}

bool background_boot(background_pac_fn *pac_fn, background_narenas_fn *narenas_fn) {
    pac_of = pac_fn;
    narenas_of = narenas_fn;
    if (mutex_init(&background_lock)) return true;
    for (unsigned k = 0; k < BACKGROUND_THREADS_LIMIT; k++) {
        if (worker_init(&workers[k])) return true;
    }
    size_t max = opt_max_background_threads;
    if (max < 1) max = 1;
    if (max > BACKGROUND_THREADS_LIMIT) max = BACKGROUND_THREADS_LIMIT;
    __atomic_store_n(&max_threads, max, __ATOMIC_RELAXED);
    __atomic_store_n(&background_shards, nthreads_for(max), __ATOMIC_RELAXED);
    __atomic_store_n(&background_enabled_flag, opt_background_thread, __ATOMIC_RELEASE);
    return false;
}

/* ---- the worker ---- */

static unsigned worker_index(const background_worker_t *w) { return (unsigned)(w - workers); }

/* Sweeps (sweep) or only inspects the worker's arenas; the soonest purge, from now. */
static uint64_t worker_arenas(unsigned k, bool sweep) {
    unsigned n = __atomic_load_n(&background_shards, __ATOMIC_RELAXED);
    unsigned na = narenas_of();
    uint64_t soonest = DECAY_NS_FOREVER;
    for (unsigned ind = k; ind < na; ind += n) {
        pac_t *pac = pac_of(ind);
        if (pac == NULL) continue;
        if (sweep) pac_decay(pac, PAC_DECAY_NOW, platform_now_ns());
        uint64_t t = pac_decay_ns_until_purge(pac, platform_now_ns());
        if (t < soonest) soonest = t;
    }
    return soonest;
}

static void sleep_indefinitely(background_worker_t *w) {
    mutex_lock(&w->mtx);
    __atomic_store_n(&w->sleeping, true, __ATOMIC_SEQ_CST);
    mutex_unlock(&w->mtx);
    /* Pages dirtied before the flag was visible: their free saw it clear and did not signal
     * (background_dirtied_slow orders its load after the pages, this check after the store). */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (worker_arenas(worker_index(w), false) == DECAY_NS_FOREVER) {
        mutex_lock(&w->mtx);
        while (!w->stop && !w->wake) pthread_cond_wait(&w->cond, &w->mtx.lock);
        mutex_unlock(&w->mtx);
    }
    __atomic_store_n(&w->sleeping, false, __ATOMIC_RELAXED);
}

static void sleep_for(background_worker_t *w, uint64_t ns) {
    if (ns < BACKGROUND_MIN_INTERVAL_NS) ns = BACKGROUND_MIN_INTERVAL_NS;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    uint64_t sec = ns / 1000000000u, nsec = (uint64_t)ts.tv_nsec + ns % 1000000000u;
    if (sec > (uint64_t)INT32_MAX) sec = INT32_MAX; /* far enough: nothing sleeps that long */
    ts.tv_sec += (time_t)(sec + nsec / 1000000000u);
    ts.tv_nsec = (long)(nsec % 1000000000u);
    mutex_lock(&w->mtx);
    while (!w->stop && !w->wake) {
        if (pthread_cond_timedwait(&w->cond, &w->mtx.lock, &ts) != 0) break; /* timed out */
    }
    mutex_unlock(&w->mtx);
}

static void *worker_main(void *arg) {
    background_worker_t *w = arg;
    platform_thread_name("arenalloc_bg");
    uint64_t last = 0;
    for (;;) {
        mutex_lock(&w->mtx);
        bool stop = w->stop;
        w->wake = false;
        mutex_unlock(&w->mtx);
        if (stop) break;
        uint64_t now = platform_now_ns();
        __atomic_store_n(&w->nruns, w->nruns + 1, __ATOMIC_RELAXED);
        if (last != 0 && now > last) {
            __atomic_store_n(&w->interval_ns, w->interval_ns + (now - last), __ATOMIC_RELAXED);
            __atomic_store_n(&w->nintervals, w->nintervals + 1, __ATOMIC_RELAXED);
        }
        last = now;
        uint64_t ns = worker_arenas(worker_index(w), true);
        if (ns == DECAY_NS_FOREVER) {
            sleep_indefinitely(w);
        } else {
            sleep_for(w, ns);
        }
    }
    return NULL;
}

/* ---- starting and stopping (the background lock held) ---- */

static bool running(const background_worker_t *w) {
    return __atomic_load_n(&w->running, __ATOMIC_ACQUIRE);
}

/* True if the thread could not be created. */
static bool worker_start(background_worker_t *w) {
    mutex_lock(&w->mtx);
    w->stop = false;
    w->wake = false;
    mutex_unlock(&w->mtx);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread starts with every signal blocked */
    int err = background_thread_create(&w->thread, NULL, worker_main, w);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (err != 0) return true;
    __atomic_store_n(&w->running, true, __ATOMIC_RELEASE);
    return false;
}

static void worker_stop(background_worker_t *w) {
    __atomic_store_n(&w->want, false, __ATOMIC_RELAXED);
    if (!running(w)) return;
    mutex_lock(&w->mtx);
    w->stop = true;
    pthread_cond_signal(&w->cond);
    mutex_unlock(&w->mtx);
    pthread_join(w->thread, NULL);
    __atomic_store_n(&w->running, false, __ATOMIC_RELEASE);
}

static void stop_all_locked(void) {
    for (unsigned k = 0; k < BACKGROUND_THREADS_LIMIT; k++) worker_stop(&workers[k]);
}

/* Starts workers 0 .. n-1 (all: every one; else the wanted ones). On failure everything stops
 * and background_thread turns off. Returns 0 or EAGAIN. */
static int start_locked(bool all) {
    unsigned n = __atomic_load_n(&background_shards, __ATOMIC_RELAXED);
    for (unsigned k = 0; k < n; k++) {
        background_worker_t *w = &workers[k];
        if (running(w) || !(all || __atomic_load_n(&w->want, __ATOMIC_RELAXED))) continue;
        if (worker_start(w)) {
            __atomic_store_n(&background_enabled_flag, false, __ATOMIC_RELEASE);
            stop_all_locked();
            return EAGAIN;
        }
    }
    return 0;
}

void background_start_pending(void) {
    if (mutex_trylock(&background_lock)) return; /* busy (maybe this very thread): later */
    __atomic_store_n(&background_pending, false, __ATOMIC_RELAXED);
    if (background_enabled()) (void)start_locked(false);
    mutex_unlock(&background_lock);
}

/* ---- the slow-path hooks ---- */

bool background_serves(unsigned ind) {
    if (!background_enabled()) return false;
    unsigned n = __atomic_load_n(&background_shards, __ATOMIC_RELAXED);
    return running(&workers[ind % n]);
}

void background_dirtied_slow(unsigned ind) {
    unsigned n = __atomic_load_n(&background_shards, __ATOMIC_RELAXED);
    background_worker_t *w = &workers[ind % n];
    if (!running(w)) {
        if (!__atomic_load_n(&w->want, __ATOMIC_RELAXED)) {
            __atomic_store_n(&w->want, true, __ATOMIC_RELAXED);
        }
        if (!__atomic_load_n(&background_pending, __ATOMIC_RELAXED)) {
            __atomic_store_n(&background_pending, true, __ATOMIC_RELAXED);
        }
        return;
    }
    /* The pages are in the set (published by the page allocator's unlock); see
     * sleep_indefinitely for the other half. */
    __atomic_thread_fence(__ATOMIC_SEQ_CST);
    if (__atomic_load_n(&w->sleeping, __ATOMIC_RELAXED)) {
        mutex_lock(&w->mtx);
        w->wake = true;
        pthread_cond_signal(&w->cond);
        mutex_unlock(&w->mtx);
    }
}

/* ---- control ---- */

bool background_enabled(void) {
    return __atomic_load_n(&background_enabled_flag, __ATOMIC_ACQUIRE);
}

int background_set(bool enabled) {
    mutex_lock(&background_lock);
    int err = 0;
    if (enabled) {
        __atomic_store_n(&background_enabled_flag, true, __ATOMIC_RELEASE);
        err = start_locked(true);
    } else {
        __atomic_store_n(&background_enabled_flag, false, __ATOMIC_RELEASE);
        stop_all_locked();
        __atomic_store_n(&background_pending, false, __ATOMIC_RELAXED);
    }
    mutex_unlock(&background_lock);
    return err;
}

size_t background_max(void) { return __atomic_load_n(&max_threads, __ATOMIC_RELAXED); }

int background_max_set(size_t n) {
    if (n < 1 || n > BACKGROUND_THREADS_LIMIT) return EINVAL;
    mutex_lock(&background_lock);
    bool was_running = false;
    for (unsigned k = 0; k < BACKGROUND_THREADS_LIMIT; k++) was_running |= running(&workers[k]);
    stop_all_locked(); /* the split changes: every arena moves to its new worker */
    __atomic_store_n(&max_threads, n, __ATOMIC_RELAXED);
    __atomic_store_n(&background_shards, nthreads_for(n), __ATOMIC_RELAXED);
    int err = background_enabled() && was_running ? start_locked(true) : 0;
    mutex_unlock(&background_lock);
    return err;
}

unsigned background_nthreads(void) {
    return __atomic_load_n(&background_shards, __ATOMIC_RELAXED);
}

void background_stats_read(background_stats_t *out) {
    uint64_t runs = 0, interval = 0, nintervals = 0;
    size_t num = 0;
    for (unsigned k = 0; k < BACKGROUND_THREADS_LIMIT; k++) {
        background_worker_t *w = &workers[k];
        num += running(w);
        runs += __atomic_load_n(&w->nruns, __ATOMIC_RELAXED);
        interval += __atomic_load_n(&w->interval_ns, __ATOMIC_RELAXED);
        nintervals += __atomic_load_n(&w->nintervals, __ATOMIC_RELAXED);
    }
    out->num_threads = num;
    out->num_runs = runs;
    out->run_interval = nintervals > 0 ? interval / nintervals : 0;
}

/* ---- fork ---- */

/* The background lock only: no start or stop is half done at fork. The worker mutexes are not
 * taken (leaves whose state the child resets anyway; holding 64 more locks across fork would
 * gain nothing). */
void background_prefork(void) { mutex_prefork(&background_lock); }
void background_postfork_parent(void) { mutex_postfork_parent(&background_lock); }

void background_postfork_child(void) {
    /* No worker exists here: stopped, wanted again by the child's first dirtying. */
    for (unsigned k = 0; k < BACKGROUND_THREADS_LIMIT; k++) {
        background_worker_t *w = &workers[k];
        (void)worker_init(w);
        w->running = false;
        w->want = false;
        w->sleeping = false;
        w->stop = false;
        w->wake = false;
    }
    background_pending = false;
#if BACKGROUND_TSAN
    /* ThreadSanitizer kills a child of a multi-threaded process that starts a thread
     * (die_after_fork): there the child keeps jemalloc's behaviour, background threads off. */
    background_enabled_flag = false;
#endif
    mutex_postfork_child(&background_lock);
}
