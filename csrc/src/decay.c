#include "decay.h"

/* ---- the curve, at compile time ---- */

/*
 * S(k / N) = k^3 (6k^2 - 15Nk + 10N^2) / N^5 with N = 200: the second factor is positive for
 * every k (its discriminant is negative), so it is computed in unsigned arithmetic as
 * 6k^2 + 10N^2 - 15Nk. Its largest product, N^5 << 24, is below 2^63.
 */
#define DECAY_S_NUM(k) ((uint64_t)(k) * (k) * (k) * (6u * (k) * (k) + 400000u - 3000u * (k)))
#define DECAY_S_DEN ((uint64_t)320000000000u) /* 200^5 */
#define DECAY_H(k) \
    ((uint32_t)((DECAY_S_NUM(k) * ((uint64_t)1 << DECAY_FP_BITS) + DECAY_S_DEN / 2) / DECAY_S_DEN))
#define DECAY_H10(b)                                                                            \
    DECAY_H(b + 1), DECAY_H(b + 2), DECAY_H(b + 3), DECAY_H(b + 4), DECAY_H(b + 5),             \
        DECAY_H(b + 6), DECAY_H(b + 7), DECAY_H(b + 8), DECAY_H(b + 9), DECAY_H(b + 10)

const uint32_t decay_h[DECAY_NSTEPS] = {
    DECAY_H10(0),   DECAY_H10(10),  DECAY_H10(20),  DECAY_H10(30),  DECAY_H10(40),
    DECAY_H10(50),  DECAY_H10(60),  DECAY_H10(70),  DECAY_H10(80),  DECAY_H10(90),
    DECAY_H10(100), DECAY_H10(110), DECAY_H10(120), DECAY_H10(130), DECAY_H10(140),
    DECAY_H10(150), DECAY_H10(160), DECAY_H10(170), DECAY_H10(180), DECAY_H10(190),
};

_Static_assert(DECAY_NSTEPS == 200, "the table above has 200 entries");
_Static_assert(DECAY_H(200) == (1u << DECAY_FP_BITS), "S(1) = 1");
_Static_assert(DECAY_MS_MAX <= (int64_t)(UINT64_MAX / 1000000), "the window fits in ns");

/* ---- epochs ---- */

/* splitmix64: the jitter source. */
static uint64_t prng_next(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static uint64_t add_sat(uint64_t a, uint64_t b) { return a + b < a ? UINT64_MAX : a + b; }

static void deadline_init(decay_t *d) {
    uint64_t jitter = d->interval_ns > 1 ? prng_next(&d->prng) % d->interval_ns : 0;
    d->deadline_ns = add_sat(add_sat(d->epoch_ns, d->interval_ns), jitter);
}

void decay_init(decay_t *d, ssize_t ms, uint64_t now_ns, uint64_t seed) {
    memset(d, 0, sizeof(*d));
    d->prng = seed;
    decay_reinit(d, ms, now_ns);
}

void decay_reinit(decay_t *d, ssize_t ms, uint64_t now_ns) {
    al_assert(decay_ms_valid(ms));
    d->time_ms = ms;
    d->interval_ns = ms > 0 ? (uint64_t)ms * (1000000u / DECAY_NSTEPS) : 0;
    d->epoch_ns = now_ns;
    if (ms > 0) deadline_init(d);
    d->nunpurged = 0;
    d->npages_limit = 0;
    memset(d->backlog, 0, sizeof(d->backlog));
}

/* The weighted backlog. Each term is at most pages << 24; the sum fits 64 bits below 2^32
 * pages freed per window (16 TiB of 4 KiB pages). */
static size_t backlog_limit(const decay_t *d) {
    uint64_t sum = 0;
    for (unsigned k = 0; k < DECAY_NSTEPS; k++) sum += (uint64_t)d->backlog[k] * decay_h[k];
    return (size_t)(sum >> DECAY_FP_BITS);
}

bool decay_advance(decay_t *d, uint64_t now_ns, size_t npages) {
    if (d->time_ms <= 0) return false;
    if (now_ns < d->epoch_ns) { /* time went backwards: restart the current epoch */
        d->epoch_ns = now_ns;
        deadline_init(d);
        return false;
    }
    if (now_ns < d->deadline_ns) return false;
    uint64_t n = (now_ns - d->epoch_ns) / d->interval_ns;
    if (n == 0) return false; /* only when the deadline saturated at the end of time */
    d->epoch_ns += n * d->interval_ns;
    deadline_init(d);
    if (n >= DECAY_NSTEPS) {
        memset(d->backlog, 0, sizeof(d->backlog));
    } else {
        size_t shift = (size_t)n;
        memmove(d->backlog, d->backlog + shift, (DECAY_NSTEPS - shift) * sizeof(size_t));
        memset(d->backlog + DECAY_NSTEPS - shift, 0, shift * sizeof(size_t));
    }
    d->backlog[DECAY_NSTEPS - 1] = npages > d->nunpurged ? npages - d->nunpurged : 0;
    d->npages_limit = backlog_limit(d);
    d->nunpurged = npages > d->npages_limit ? npages : d->npages_limit;
    return true;
}

size_t decay_npages_allowed(const decay_t *d, size_t npages) {
    if (d->time_ms < 0) return npages;
    if (d->time_ms == 0) return 0;
    size_t fresh = npages > d->nunpurged ? npages - d->nunpurged : 0;
    size_t allowed = d->npages_limit + fresh;
    return allowed < fresh ? SIZE_MAX : allowed;
}

void decay_purged(decay_t *d, size_t npurged) {
    d->nunpurged = npurged < d->nunpurged ? d->nunpurged - npurged : 0;
}

uint64_t decay_ns_until_purge(const decay_t *d, uint64_t now_ns, size_t npages) {
    if (npages == 0 || d->time_ms < 0) return DECAY_NS_FOREVER;
    if (npages > decay_npages_allowed(d, npages)) return 0; /* includes decay_ms 0 */
    return d->deadline_ns > now_ns ? d->deadline_ns - now_ns : 0;
}
