/*
 * Unit tests for decay (pure: a fake clock, no allocator):
 *   - the curve: strictly increasing, S(1) = 1 exactly, every entry within one unit of the
 *     smootherstep polynomial computed in floating point, symmetric (S(x) + S(1 - x) = 1);
 *   - the limit after N epochs of one burst is burst * h[199 - N] >> 24, whatever the jitter;
 *     a simulated owner that purges to the allowance empties the set within the window plus
 *     two epochs, never purging faster than the curve;
 *   - pages freed since the last epoch end may stay; a reinit restarts the backlog;
 *   - decay_ms -1 keeps everything and has no epochs, 0 keeps nothing;
 *   - time going backwards restarts the epoch and changes nothing else; a jump of 200 epochs or
 *     more empties the backlog; times near UINT64_MAX do not overflow;
 *   - deadlines are jittered within [epoch + interval, epoch + 2 interval);
 *   - the valid range of decay_ms;
 *   - decay_ns_until_purge: never for an empty set or -1, now for 0 with pages or pages above
 *     the allowance, else the end of the current epoch; a sleeper that wakes when told and
 *     purges to the allowance empties a burst within the window plus two epochs.
 */
#include "test.h"

#include <math.h>

#include "decay.h"

#define ONE ((uint64_t)1 << DECAY_FP_BITS)
#define MS ((uint64_t)1000000)

static double smootherstep(double x) { return x * x * x * (x * (x * 6 - 15) + 10); }

TEST_BEGIN(test_curve) {
    expect_u_eq(decay_h[DECAY_NSTEPS - 1], ONE, "S(1) = 1");
    expect_u_lt(decay_h[0], 64, "S(1/200) is tiny (%u / 2^24)", decay_h[0]);
    expect_u_gt(decay_h[0], 0, "");
    for (unsigned k = 1; k < DECAY_NSTEPS; k++) {
        expect_u_gt(decay_h[k], decay_h[k - 1], "strictly increasing at %u", k);
    }
    for (unsigned k = 0; k < DECAY_NSTEPS; k++) {
        double want = smootherstep((double)(k + 1) / DECAY_NSTEPS) * (double)ONE;
        expect_true(fabs((double)decay_h[k] - want) <= 1.0, "h[%u] = %u, S = %.3f", k, decay_h[k],
                    want);
    }
    /* S(x) + S(1 - x) = 1: h[k] + h[198 - k] = 2^24, up to rounding. */
    for (unsigned k = 0; k + 1 < DECAY_NSTEPS; k++) {
        uint64_t sum = (uint64_t)decay_h[k] + decay_h[DECAY_NSTEPS - 2 - k];
        expect_true(sum >= ONE - 1 && sum <= ONE + 1, "h[%u] + h[%u] = %" PRIu64, k,
                    DECAY_NSTEPS - 2 - k, sum);
    }
    /* Half way: half. */
    expect_u_eq(decay_h[99], ONE / 2, "S(1/2)");
}
TEST_END

/* Epochs elapsed since t0 (the epoch start moves by whole intervals). */
static uint64_t epochs_since(const decay_t *d, uint64_t t0) {
    return (d->epoch_ns - t0) / d->interval_ns;
}

TEST_BEGIN(test_limit_after_epochs) {
    const size_t burst = 100000;
    const uint64_t t0 = 5 * MS;
    for (uint64_t seed = 1; seed <= 8; seed++) {
        decay_t d;
        decay_init(&d, 10000, t0, seed * 0x1234567);
        expect_u64_eq(d.interval_ns, 50 * MS, "10 s / 200");
        expect_zu_eq(decay_npages_allowed(&d, burst), burst, "freed this epoch: all stay");
        /* Before the deadline nothing ends. */
        expect_false(decay_advance(&d, t0 + d.interval_ns - 1, burst), "");
        uint64_t first = 0; /* epochs elapsed when the burst was recorded */
        size_t prev = burst;
        for (uint64_t t = t0 + d.interval_ns; t <= t0 + 205 * d.interval_ns; t += d.interval_ns) {
            if (!decay_advance(&d, t, burst)) continue;
            uint64_t e = epochs_since(&d, t0);
            expect_u64_eq(e, (t - t0) / d.interval_ns, "the epoch ends at a whole interval");
            if (first == 0) first = e;
            uint64_t age = e - first;
            size_t want = age >= DECAY_NSTEPS
                              ? 0
                              : (size_t)(((uint64_t)burst * decay_h[DECAY_NSTEPS - 1 - age]) >>
                                         DECAY_FP_BITS);
            expect_zu_eq(d.npages_limit, want, "seed %" PRIu64 ", %" PRIu64 " epochs after",
                         seed, age);
            expect_zu_le(d.npages_limit, prev, "the limit never grows without new pages");
            prev = d.npages_limit;
            /* The set still holds the burst (nothing purged here): the allowance is the limit. */
            expect_zu_eq(decay_npages_allowed(&d, burst), d.npages_limit, "");
        }
        expect_u64_ge(first, 1, "recorded at the first epoch end");
        expect_u64_le(first, 2, "the first deadline is within two intervals");
        expect_zu_eq(d.npages_limit, 0, "seed %" PRIu64 ": gone after the window", seed);
    }
}
TEST_END

/* An owner that purges down to the allowance at every epoch end, as pac does. */
TEST_BEGIN(test_simulated_owner) {
    const size_t burst = 50000;
    decay_t d;
    const uint64_t t0 = 0;
    decay_init(&d, 1000, t0, 42); /* 1 s: epochs of 5 ms */
    size_t npages = burst, purged_total = 0;
    size_t at_half = SIZE_MAX;
    uint64_t first = 0, emptied = 0;
    for (uint64_t t = t0; t <= t0 + 1300 * MS; t += MS) {
        if (decay_advance(&d, t, npages)) {
            uint64_t e = epochs_since(&d, t0);
            if (first == 0) first = e;
            size_t allowed = decay_npages_allowed(&d, npages);
            if (npages > allowed) {
                size_t n = npages - allowed;
                npages -= n;
                purged_total += n;
                decay_purged(&d, n);
            }
            /* Never below the curve. */
            uint64_t age = e - first;
            size_t curve = age >= DECAY_NSTEPS
                               ? 0
                               : (size_t)(((uint64_t)burst * decay_h[DECAY_NSTEPS - 1 - age]) >>
                                          DECAY_FP_BITS);
            expect_zu_eq(npages, curve, "%" PRIu64 " epochs after the burst", age);
            if (age >= 100 && at_half == SIZE_MAX) at_half = npages;
            if (npages == 0 && emptied == 0) emptied = t;
        }
    }
    expect_zu_eq(purged_total, burst, "everything purged in the end");
    expect_zu_le(at_half, burst / 2, "half way through the window, half is left (%zu)", at_half);
    expect_zu_ge(at_half, burst / 2 - burst / 50, "not much less either (%zu)", at_half);
    /* The burst is recorded at the first epoch end (1 or 2 intervals in) and the last purge
     * comes at most 2 intervals after its epoch starts. */
    expect_u64_le(emptied, t0 + 1000 * MS + 4 * d.interval_ns, "empty by the window + 4 epochs");
    expect_u64_ge(emptied, t0 + 1000 * MS, "not before the window ends");
}
TEST_END

TEST_BEGIN(test_fresh_pages_and_reinit) {
    decay_t d;
    decay_init(&d, 2000, 0, 7); /* epochs of 10 ms */
    uint64_t t = 0;
    while (!decay_advance(&d, t, 1000)) t += MS;
    expect_zu_eq(d.npages_limit, 1000, "");
    /* 500 more freed before the next epoch end: they may stay on top of the limit. */
    expect_zu_eq(decay_npages_allowed(&d, 1500), 1500, "");
    /* Pages taken back out (reused) reduce nothing below the limit. */
    expect_zu_eq(decay_npages_allowed(&d, 600), 1000, "the allowance is the limit");
    /* Next epoch end: the 500 enter the backlog as the newest entry. */
    t += MS;
    while (!decay_advance(&d, t, 1500)) t += MS;
    expect_zu_eq(d.backlog[DECAY_NSTEPS - 1], 500, "");
    expect_zu_gt(d.npages_limit, 1400, "");
    expect_zu_le(d.npages_limit, 1500, "");
    /* Purging records the pages gone: later frees count from there. */
    size_t limit = d.npages_limit;
    decay_purged(&d, 1500 - limit);
    expect_zu_eq(decay_npages_allowed(&d, limit + 10), limit + 10, "10 freed since");

    /* Reinit: the backlog restarts; what the set holds counts as freed now. */
    decay_reinit(&d, 4000, t);
    expect_d_eq((int)d.time_ms, 4000, "");
    expect_u64_eq(d.interval_ns, 20 * MS, "");
    for (unsigned k = 0; k < DECAY_NSTEPS; k++) expect_zu_eq(d.backlog[k], 0, "backlog[%u]", k);
    expect_zu_eq(decay_npages_allowed(&d, 1234), 1234, "everything may stay after a reinit");
    expect_false(decay_advance(&d, t + d.interval_ns - 1, 1234), "a new epoch starts now");
}
TEST_END

TEST_BEGIN(test_never_and_immediate) {
    decay_t d;
    decay_init(&d, -1, 0, 1);
    for (uint64_t t = 0; t < 100000 * MS; t += 997 * MS) {
        expect_false(decay_advance(&d, t, 1000), "-1 has no epochs");
        expect_zu_eq(decay_npages_allowed(&d, 1000), 1000, "-1 keeps everything");
    }
    expect_zu_eq(decay_npages_allowed(&d, SIZE_MAX), SIZE_MAX, "");
    decay_reinit(&d, 0, 5);
    for (uint64_t t = 0; t < 100000 * MS; t += 997 * MS) {
        expect_false(decay_advance(&d, t, 1000), "0 has no epochs");
        expect_zu_eq(decay_npages_allowed(&d, 1000), 0, "0 keeps nothing");
    }
    /* From -1 or 0 to a window and back. */
    decay_reinit(&d, 1, 0);
    expect_u64_eq(d.interval_ns, 5000, "1 ms / 200");
    expect_true(decay_advance(&d, 10000, 10), "");
    decay_reinit(&d, -1, 10000);
    expect_false(decay_advance(&d, UINT64_MAX, 10), "");
}
TEST_END

TEST_BEGIN(test_time_backwards) {
    decay_t d;
    const uint64_t t0 = 1000 * MS;
    decay_init(&d, 200, t0, 3); /* epochs of 1 ms */
    uint64_t t = t0;
    while (!decay_advance(&d, t, 100)) t += MS / 4;
    size_t limit = d.npages_limit;
    decay_t before = d;
    /* Back in time: no epoch ends, the backlog and the limit stay, the epoch restarts. */
    expect_false(decay_advance(&d, t0 - 500 * MS, 300), "backwards");
    expect_zu_eq(d.npages_limit, limit, "");
    expect_d_eq(memcmp(d.backlog, before.backlog, sizeof(d.backlog)), 0, "backlog untouched");
    expect_u64_eq(d.epoch_ns, t0 - 500 * MS, "the epoch restarts at the earlier time");
    expect_u64_ge(d.deadline_ns, d.epoch_ns + d.interval_ns, "");
    expect_zu_eq(decay_npages_allowed(&d, 300), limit + 200, "the 200 freed since still may stay");
    /* Going forward again works from there. */
    t = t0 - 500 * MS;
    while (!decay_advance(&d, t, 300)) t += MS / 4;
    expect_zu_eq(d.backlog[DECAY_NSTEPS - 1], 200, "the new pages are recorded once");
    /* The same time twice: nothing happens the second time. */
    expect_false(decay_advance(&d, t, 300), "");
}
TEST_END

TEST_BEGIN(test_big_jumps) {
    decay_t d;
    decay_init(&d, 1000, 0, 11); /* epochs of 5 ms */
    uint64_t t = 0;
    /* Pages freed over many epochs: a full backlog. */
    size_t npages = 0;
    for (unsigned k = 0; k < 800; k++) {
        t += d.interval_ns / 4;
        npages += 3;
        decay_advance(&d, t, npages);
    }
    while (!decay_advance(&d, t, npages)) t += d.interval_ns / 4; /* all of it recorded */
    size_t nonzero = 0;
    for (unsigned k = 0; k < DECAY_NSTEPS; k++) nonzero += d.backlog[k] != 0;
    expect_zu_gt(nonzero, 50, "a spread-out backlog (%zu entries)", nonzero);
    expect_zu_gt(d.npages_limit, 0, "");
    /* 200 epochs later in one step: everything before is out of the window. */
    t = d.epoch_ns + DECAY_NSTEPS * d.interval_ns;
    expect_true(decay_advance(&d, t, npages), "");
    expect_zu_eq(d.npages_limit, 0, "the backlog is empty");
    expect_zu_eq(decay_npages_allowed(&d, npages), 0, "all may be purged");
    /* Pages freed during the jump count as the newest. */
    t += 1000 * d.interval_ns;
    expect_true(decay_advance(&d, t, npages + 77), "");
    expect_zu_eq(d.npages_limit, 77, "");
    /* Near the end of time: deadlines saturate, nothing overflows or ends twice. */
    t = UINT64_MAX - 1;
    expect_true(decay_advance(&d, t, 10), "");
    expect_zu_eq(d.npages_limit, 0, "");
    expect_u64_eq(d.deadline_ns, UINT64_MAX, "saturated");
    uint64_t epoch = d.epoch_ns;
    decay_advance(&d, UINT64_MAX, 10); /* ends an epoch only if one fits: no wrap either way */
    expect_u64_ge(d.epoch_ns, epoch, "");
    expect_u64_ge(d.deadline_ns, d.epoch_ns, "");
    /* The largest window. */
    decay_reinit(&d, (ssize_t)DECAY_MS_MAX, 0);
    expect_u64_eq(d.interval_ns, (uint64_t)DECAY_MS_MAX * 5000, "");
    expect_false(decay_advance(&d, d.interval_ns - 1, 10), "");
    expect_true(decay_advance(&d, 2 * d.interval_ns, 10), "");
}
TEST_END

TEST_BEGIN(test_jitter) {
    uint64_t distinct = 0, last = 0;
    for (uint64_t seed = 0; seed < 64; seed++) {
        decay_t d;
        decay_init(&d, 10000, 1000, seed);
        expect_u64_ge(d.deadline_ns, d.epoch_ns + d.interval_ns, "");
        expect_u64_lt(d.deadline_ns, d.epoch_ns + 2 * d.interval_ns, "");
        distinct += d.deadline_ns != last;
        last = d.deadline_ns;
        /* Later deadlines too. */
        uint64_t t = 1000;
        for (int k = 0; k < 20; k++) {
            t = d.deadline_ns;
            expect_true(decay_advance(&d, t, 0), "");
            expect_u64_le(d.epoch_ns, t, "");
            expect_u64_gt(d.epoch_ns + d.interval_ns, t, "the epoch containing t");
            expect_u64_ge(d.deadline_ns, d.epoch_ns + d.interval_ns, "");
            expect_u64_lt(d.deadline_ns, d.epoch_ns + 2 * d.interval_ns, "");
        }
    }
    expect_u64_gt(distinct, 60, "seeds give different deadlines");
}
TEST_END

TEST_BEGIN(test_valid_range) {
    expect_true(decay_ms_valid(-1), "");
    expect_true(decay_ms_valid(0), "");
    expect_true(decay_ms_valid(10000), "");
    expect_true(decay_ms_valid(DECAY_MS_MAX), "");
    expect_false(decay_ms_valid(-2), "");
    expect_false(decay_ms_valid(INT64_MIN), "");
    expect_false(decay_ms_valid(DECAY_MS_MAX + 1), "");
    expect_false(decay_ms_valid(INT64_MAX), "");
}
TEST_END

TEST_BEGIN(test_ns_until_purge) {
    decay_t d;
    decay_init(&d, -1, 0, 7);
    expect_u64_eq(decay_ns_until_purge(&d, 0, 1000), DECAY_NS_FOREVER, "-1: never");
    decay_reinit(&d, 0, 0);
    expect_u64_eq(decay_ns_until_purge(&d, 0, 0), DECAY_NS_FOREVER, "0, empty: never");
    expect_u64_eq(decay_ns_until_purge(&d, 0, 1), 0, "0 with pages: now");
    decay_reinit(&d, 1000, 0); /* interval 5 ms */
    expect_u64_eq(decay_ns_until_purge(&d, 0, 0), DECAY_NS_FOREVER, "empty: never");
    uint64_t t = decay_ns_until_purge(&d, 0, 1000);
    expect_u64_eq(t, d.deadline_ns, "fresh pages: the end of the epoch");
    expect_u64_ge(t, 5 * MS, "");
    expect_u64_lt(t, 10 * MS, "jitter below one interval");
    expect_u64_eq(decay_ns_until_purge(&d, d.deadline_ns + 1, 1000), 0, "past the deadline");

    /* A sleeper: wakes when told (at least 1 ns later), advances, purges to the allowance. */
    size_t npages = 1000;
    uint64_t now = 0, wakes = 0;
    while (npages > 0 && now < 2000 * MS) {
        uint64_t ns = decay_ns_until_purge(&d, now, npages);
        expect_u64_ne(ns, DECAY_NS_FOREVER, "pages left: a deadline");
        if (ns == DECAY_NS_FOREVER) break;
        now += ns > 0 ? ns : 1;
        wakes++;
        decay_advance(&d, now, npages);
        size_t keep = decay_npages_allowed(&d, npages);
        if (npages > keep) {
            decay_purged(&d, npages - keep);
            npages = keep;
        }
    }
    expect_zu_eq(npages, 0, "the burst went");
    expect_u64_le(now, 1000 * MS + 2 * 10 * MS, "within the window plus two epochs");
    expect_u64_le(wakes, 2 * DECAY_NSTEPS + 4, "about one wake-up per epoch");
    expect_u64_eq(decay_ns_until_purge(&d, now, 0), DECAY_NS_FOREVER, "then never");
}
TEST_END

int main(void) {
    return run_tests(test_curve, test_limit_after_epochs, test_simulated_owner,
                     test_fresh_pages_and_reinit, test_never_and_immediate, test_time_backwards,
                     test_big_jumps, test_jitter, test_valid_range, test_ns_until_purge);
}
