/*
 * thp:always, metadata_thp:always (thp.conf):
 *   - the options read back through opt.thp / opt.metadata_thp;
 *   - arena growth is 2 MiB-aligned: a large allocation bigger than anything free (so it is
 *     carved from the start of a fresh growth step) sits on a 2 MiB boundary, in the thread's
 *     arena and in the huge arena alike;
 *   - the kernel sees the advice: the mapping's VmFlags has "hg" and THPeligible is 1 (skipped
 *     where the system's THP mode is "never" or THP is missing);
 *   - stats.metadata_thp counts the metadata chunks advised: a positive multiple of 2 MiB.
 */
#include "arenalloc.h"
#include "test.h"

#include <stdint.h>

#include "thp_common.h"

static const char *read_str(const char *name) {
    const char *v = NULL;
    size_t sz = sizeof(v);
    expect_d_eq(mallctl(name, &v, &sz, NULL, 0), 0, "%s", name);
    return v != NULL ? v : "";
}

TEST_BEGIN(test_options) {
    expect_str_eq(read_str("opt.thp"), "always", "");
    expect_str_eq(read_str("opt.metadata_thp"), "always", "");
}
TEST_END

static void check_aligned_and_advised(void *p, size_t size) {
    assert_ptr_not_null(p, "");
    expect_zu_eq((uintptr_t)p % (2 * MiB), 0, "%p is on a 2 MiB boundary", p);
    memset(p, 1, size);
    if (!system_thp_usable()) return;
    bool known;
    bool hg = vmflag(p, "hg", &known);
    if (known) expect_true(hg, "MADV_HUGEPAGE on the mapping of %p", p);
    char v[64];
    if (smaps_field(p, "THPeligible:", v, sizeof(v))) {
        expect_str_eq(v, "1", "THPeligible of the mapping of %p", p);
    }
}

TEST_BEGIN(test_growth_aligned) {
    /* Bigger than any free extent of the thread's arena: a fresh, aligned growth step. */
    unsigned me = 0;
    size_t sz = sizeof(me);
    expect_d_eq(mallctl("thread.arena", &me, &sz, NULL, 0), 0, "");
    void *p = mallocx(6 * MiB, MALLOCX_ARENA(me) | MALLOCX_TCACHE_NONE);
    check_aligned_and_advised(p, 6 * MiB);
    /* Above oversize_threshold: the huge arena's first growth. */
    void *q = mallocx(24 * MiB, 0);
    check_aligned_and_advised(q, 24 * MiB);
    dallocx(p, MALLOCX_TCACHE_NONE);
    dallocx(q, 0);
    if (!system_thp_usable()) test_skip("system THP mode \"%s\": advice not checked", system_thp());
}
TEST_END

TEST_BEGIN(test_metadata_thp) {
    uint64_t e = 1;
    expect_d_eq(mallctl("epoch", NULL, NULL, &e, sizeof(e)), 0, "");
    size_t v = 0, sz = sizeof(v);
    expect_d_eq(mallctl("stats.metadata_thp", &v, &sz, NULL, 0), 0, "");
    if (!system_thp_usable()) {
        expect_zu_eq(v, 0, "no advice where THP is off");
        test_skip("system THP mode \"%s\"", system_thp());
    }
    expect_zu_ge(v, 2 * MiB, "the metadata chunks are advised");
    expect_zu_eq(v % (2 * MiB), 0, "in whole huge pages");
}
TEST_END

int main(void) { return run_tests(test_options, test_growth_aligned, test_metadata_thp); }
