/*
 * dirty_decay_ms:0 (decay_zero.conf): pages are given back as they are freed, with no purge
 * call and no waiting:
 *   - opt.dirty_decay_ms and every arena read 0;
 *   - a 64 MiB burst in 4-64 KiB pieces, freed through the thread cache and flushed: pdirty is
 *     0 straight away, the purge counters moved, RSS is back near where it started (skipped
 *     under TSan, whose shadow memory stays resident);
 *   - large frees past the cache are purged one by one as they happen;
 *   - memory given back is reused, and reads as written (nothing live is purged).
 */
#include "arenalloc.h"
#include "test.h"
#include "ctl_read.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define KiB ((size_t)1 << 10)
#define MiB ((size_t)1 << 20)

static size_t pdirty(void) {
    epoch_advance();
    return read_size("stats.arenas.4096.pdirty");
}

TEST_BEGIN(test_settings) {
    expect_zd_eq(read_ssize("opt.dirty_decay_ms"), 0, "");
    expect_zd_eq(read_ssize("opt.muzzy_decay_ms"), 0, "");
    expect_zd_eq(read_ssize("arenas.dirty_decay_ms"), 0, "");
    unsigned me = 0;
    size_t sz = sizeof(me);
    expect_d_eq(mallctl("thread.arena", &me, &sz, NULL, 0), 0, "");
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", me);
    expect_zd_eq(read_ssize(name), 0, "");
}
TEST_END

#define NMAX 8192
static void *ptrs[NMAX];

TEST_BEGIN(test_burst_returns_at_once) {
    expect_d_eq(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0), 0, "");
    expect_zu_eq(pdirty(), 0, "nothing dirty to begin with");
    uint64_t purged0 = read_u64("stats.arenas.4096.dirty_purged");
    uint64_t npurge0 = read_u64("stats.arenas.4096.dirty_npurge");
    size_t base_rss = test_rss_bytes();
    test_prng_t prng;
    test_prng_init(&prng, test_seed());
    size_t n = 0, total = 0;
    while (total < 64 * MiB && n < NMAX) {
        size_t size = 4 * KiB + (size_t)test_prng_range(&prng, 60 * KiB + 1);
        ptrs[n] = mallocx(size, 0); /* through the thread cache */
        assert_ptr_not_null(ptrs[n], "");
        test_fill_at(ptrs[n], size, n, 0);
        total += size;
        n++;
    }
    size_t peak_rss = test_rss_bytes();
    for (size_t k = 0; k < n; k++) dallocx(ptrs[k], 0);
    expect_d_eq(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0), 0, "");
    size_t after_rss = test_rss_bytes();
    expect_zu_eq(pdirty(), 0, "given back as freed: no purge call");
    uint64_t purged = read_u64("stats.arenas.4096.dirty_purged") - purged0;
    uint64_t npurge = read_u64("stats.arenas.4096.dirty_npurge") - npurge0;
    expect_u64_ge(purged, 48 * MiB / 4096, "");
    expect_u64_ge(npurge, 100, "one sweep per free of pages, roughly");
    printf("    RSS: base %zu MiB, peak %zu MiB, after the frees %zu MiB (%" PRIu64
           " pages in %" PRIu64 " sweeps)\n",
           base_rss / MiB, peak_rss / MiB, after_rss / MiB, purged, npurge);
    if (!test_under_tsan()) {
        expect_zu_ge(peak_rss, base_rss + 56 * MiB, "");
        expect_zu_le(after_rss, base_rss + 8 * MiB, "back near the start");
    }
}
TEST_END

TEST_BEGIN(test_large_frees_one_by_one) {
    void *ps[16];
    for (int k = 0; k < 16; k++) {
        ps[k] = mallocx(256 * KiB, 0); /* above tcache_max: straight to the arena */
        assert_ptr_not_null(ps[k], "");
        memset(ps[k], 0x5c, 256 * KiB);
    }
    uint64_t purged0 = (epoch_advance(), read_u64("stats.arenas.4096.dirty_purged"));
    for (int k = 0; k < 16; k++) {
        dallocx(ps[k], 0);
        expect_zu_eq(pdirty(), 0, "free %d", k);
    }
    expect_u64_eq(read_u64("stats.arenas.4096.dirty_purged") - purged0, 16 * 64, "");
    /* Reused: zeroed pages come back, and what is written stays. */
    for (int k = 0; k < 16; k++) {
        ps[k] = mallocx(256 * KiB, MALLOCX_ZERO);
        assert_ptr_not_null(ps[k], "");
        expect_zu_eq(test_find_not(ps[k], 256 * KiB, 0), SIZE_MAX, "");
        test_fill_at(ps[k], 256 * KiB, (uint64_t)k, 0);
    }
    for (int k = 0; k < 16; k++) {
        expect_zu_eq(test_check_at(ps[k], 256 * KiB, (uint64_t)k, 0), SIZE_MAX, "");
        dallocx(ps[k], 0);
    }
}
TEST_END

int main(void) {
    return run_tests(test_settings, test_burst_returns_at_once, test_large_frees_one_by_one);
}
