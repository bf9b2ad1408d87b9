/*
 * oversize_threshold (default 8 MiB): allocations above it by a thread on an automatic arena
 * go to the huge arena, index narenas_auto, counted in arenas.narenas:
 *   - opt.oversize_threshold reads 8 MiB; arenas.narenas = opt.narenas + 1;
 *   - 16 MiB lands in the huge arena (arenas.lookup), not the thread's; exactly 8 MiB does not
 *     (strictly above); MALLOCX_ARENA overrides it;
 *   - the huge arena purges eagerly (decay 0 both): RSS falls at free, with no purge call
 *     (skipped under TSan, whose shadow memory stays resident);
 *   - realloc growing past the threshold moves into the huge arena.
 */
#include "arenalloc.h"
#include "test.h"
#include "ctl_read.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#define MiB ((size_t)1 << 20)

static unsigned lookup(void *p) {
    unsigned ind = 0;
    size_t sz = sizeof(ind);
    expect_d_eq(mallctl("arenas.lookup", &ind, &sz, &p, sizeof(p)), 0, "");
    return ind;
}

static unsigned huge_ind(void) { return read_unsigned("arenas.narenas") - 1; }

TEST_BEGIN(test_settings) {
    size_t t = 0, sz = sizeof(t);
    expect_d_eq(mallctl("opt.oversize_threshold", &t, &sz, NULL, 0), 0, "");
    expect_zu_eq(t, 8 * MiB, "jemalloc's default");
    expect_u_eq(read_unsigned("arenas.narenas"), read_unsigned("opt.narenas") + 1,
                "the huge arena is counted");
}
TEST_END

TEST_BEGIN(test_placement) {
    unsigned me = read_unsigned("thread.arena");
    unsigned h = huge_ind();
    expect_u_ne(me, h, "");
    void *big = arenalloc_malloc(16 * MiB);
    assert_ptr_not_null(big, "");
    expect_u_eq(lookup(big), h, "above the threshold: the huge arena");
    void *edge = arenalloc_malloc(8 * MiB);
    assert_ptr_not_null(edge, "");
    expect_u_eq(lookup(edge), me, "exactly the threshold: the thread's arena");
    void *own = mallocx(16 * MiB, MALLOCX_ARENA(me));
    assert_ptr_not_null(own, "");
    expect_u_eq(lookup(own), me, "MALLOCX_ARENA decides");
    expect_u_eq(read_unsigned("thread.arena"), me, "the thread stays where it was");
    /* Growing past the threshold moves to the huge arena. */
    void *r = arenalloc_realloc(edge, 12 * MiB);
    assert_ptr_not_null(r, "");
    expect_u_eq(lookup(r), h, "");
    /* Its decay times: 0, eager purging. */
    char name[64];
    ssize_t ms = -2;
    size_t sz = sizeof(ms);
    snprintf(name, sizeof(name), "arena.%u.dirty_decay_ms", h);
    expect_d_eq(mallctl(name, &ms, &sz, NULL, 0), 0, "");
    expect_zd_eq(ms, 0, "");
    snprintf(name, sizeof(name), "arena.%u.muzzy_decay_ms", h);
    expect_d_eq(mallctl(name, &ms, &sz, NULL, 0), 0, "");
    expect_zd_eq(ms, 0, "");
    arenalloc_free(big);
    arenalloc_free(r);
    dallocx(own, MALLOCX_ARENA(me));
}
TEST_END

TEST_BEGIN(test_memory_returns_at_free) {
    if (test_under_tsan()) test_skip("RSS is not meaningful under TSan");
    size_t base = test_rss_bytes();
    if (base == 0) test_skip("no /proc/self/statm");
    void *p = arenalloc_malloc(64 * MiB);
    assert_ptr_not_null(p, "");
    memset(p, 0x5a, 64 * MiB);
    size_t peak = test_rss_bytes();
    expect_zu_ge(peak, base + 56 * MiB, "touched");
    arenalloc_free(p);
    size_t after = test_rss_bytes();
    printf("    RSS: base %zu MiB, peak %zu MiB, after free %zu MiB\n", base / MiB, peak / MiB,
           after / MiB);
    expect_zu_le(after, base + 8 * MiB, "given back at free, no purge call");
}
TEST_END

int main(void) { return run_tests(test_settings, test_placement, test_memory_returns_at_free); }
