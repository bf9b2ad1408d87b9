/*
 * decay.h -- the purge schedule of one set of free pages (the dirty or the muzzy pages of one
 * page allocator): how many of them may stay right now, so that pages freed in a burst are
 * given back gradually over decay_ms, along jemalloc 5.3's smootherstep curve (reference notes
 * §6.3).
 *
 * Pure: no locks, no clock, no allocation. Callers pass the time (nanoseconds from any monotonic
 * origin) and the set's current page count, so unit tests drive a fake clock. The owner
 * serializes all calls on one decay_t (pac.h: its decay lock).
 *
 * The model. Time is cut into epochs of interval = decay_ms / DECAY_NSTEPS (50 ms at the default
 * 10 s). backlog[k] holds the pages that became free (net) during the epoch that ended
 * DECAY_NSTEPS - 1 - k epochs ago: backlog[DECAY_NSTEPS - 1] is the newest. A page freed a
 * epochs ago may stay with weight decay_h[DECAY_NSTEPS - 1 - a], where
 *
 *     decay_h[k] = S((k + 1) / DECAY_NSTEPS) in DECAY_FP_BITS-bit fixed point,
 *     S(x) = 6x^5 - 15x^4 + 10x^3      (smootherstep: S(0) = 0, S(1) = 1, S' = 0 at both ends),
 *
 * so pages freed just now may all stay, pages freed decay_ms ago none, and the purge rate starts
 * and ends at zero. At each epoch end:
 *
 *     npages_limit = (sum over k of backlog[k] * decay_h[k]) >> DECAY_FP_BITS
 *
 * and the owner purges the oldest pages until the set holds no more than that. Pages freed
 * since the last epoch end (npages - nunpurged, when positive) are not in the backlog yet and
 * may all stay: decay_npages_allowed adds them to the limit.
 *
 * decay_ms -1 means never purge (everything may stay), 0 purge at once (nothing may stay);
 * neither has epochs. Epoch ends are jittered: the deadline is epoch + interval + a uniform
 * jitter in [0, interval) from a per-decay PRNG, so that arenas do not purge in lockstep.
 *
 * Approximations, both jemalloc's: pages are counted only at epoch ends, so everything freed
 * since the previous one -- however many epochs passed without a call -- enters the backlog as
 * the newest (after a quiet spell the first call treats it as just freed); and the limit is
 * rounded down, so a set may lose a page early.
 *
 * Time going backwards (a clock that is not monotonic, or a caller's fake clock) restarts the
 * current epoch at the new time and changes nothing else. A jump of DECAY_NSTEPS epochs or more
 * empties the backlog: everything freed before it may be purged.
 */
#ifndef AL_DECAY_H
#define AL_DECAY_H

#include <sys/types.h>

#include "internal.h"

#define DECAY_NSTEPS 200
#define DECAY_FP_BITS 24
/* Largest decay_ms (jemalloc's NSTIME_SEC_MAX * 1000): the window in ns fits in uint64_t. */
#define DECAY_MS_MAX ((int64_t)18446744072 * 1000)

/* The curve: decay_h[k] = S((k + 1) / DECAY_NSTEPS) << DECAY_FP_BITS, rounded; increasing,
 * decay_h[DECAY_NSTEPS - 1] = 1 << DECAY_FP_BITS. A compile-time constant. */
extern const uint32_t decay_h[DECAY_NSTEPS];

typedef struct decay_s {
    ssize_t time_ms;      /* -1: never purge; 0: purge at once; > 0: the window */
    uint64_t interval_ns; /* epoch length, time_ms * 1e6 / DECAY_NSTEPS (time_ms > 0 only) */
    uint64_t epoch_ns;    /* start of the current epoch; advances by whole intervals */
    uint64_t deadline_ns; /* end of the current epoch: epoch_ns + interval_ns + jitter */
    uint64_t prng;        /* jitter state */
    /* Pages the set held at the last epoch end, minus what was purged since:
     * max(npages_limit, npages at the epoch end) - purged. */
    size_t nunpurged;
    size_t npages_limit;            /* the weighted backlog at the last epoch end */
    size_t backlog[DECAY_NSTEPS];   /* pages freed per epoch, oldest first */
} decay_t;

/* Whether ms is a valid decay time: -1 .. DECAY_MS_MAX. */
static inline bool decay_ms_valid(int64_t ms) { return ms >= -1 && ms <= DECAY_MS_MAX; }

/* Sets d up with decay time ms (valid) at now_ns; seed starts the jitter sequence. */
void decay_init(decay_t *d, ssize_t ms, uint64_t now_ns, uint64_t seed);
/* Changes the decay time and restarts from scratch at now_ns: empty backlog, nothing
 * unpurged (so pages the set holds now count as freed in the current epoch). */
void decay_reinit(decay_t *d, ssize_t ms, uint64_t now_ns);

/*
 * Ends the epochs that are over at now_ns, the set holding npages: shifts the backlog by the
 * number of epochs that passed, records the pages freed meanwhile as the newest entry, and
 * recomputes the limit. Returns whether an epoch ended (never for decay_ms <= 0).
 */
bool decay_advance(decay_t *d, uint64_t now_ns, size_t npages);
/* Pages the set may keep now while holding npages: npages for -1, 0 for 0, else the limit of
 * the last epoch end plus the pages freed since. */
size_t decay_npages_allowed(const decay_t *d, size_t npages);
/* The owner purged npurged pages of the set. */
void decay_purged(decay_t *d, size_t npurged);

/* "Never": no purge is due until the set changes. */
#define DECAY_NS_FOREVER UINT64_MAX
/*
 * How long from now_ns until a sweep of the set (holding npages) may purge something, for a
 * thread that sleeps in between (background.h): 0 if pages may go now (more than allowed, or
 * decay_ms 0 with pages); the time to the end of the current epoch if the set holds pages
 * (they enter the backlog, or age along the curve, only at epoch ends); DECAY_NS_FOREVER if
 * the set is empty or decay_ms is -1. Deliberately simple: jemalloc searches the backlog for
 * the epoch at which enough pages would go; sleeping one epoch at a time (the caller enforces
 * a minimum) costs a wake-up per epoch while pages are dirty, and never sleeps past one.
 */
uint64_t decay_ns_until_purge(const decay_t *d, uint64_t now_ns, size_t npages);

#endif
