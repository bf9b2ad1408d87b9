/*
 * thp:never (thp_never.conf): opt.thp reads "never", opt.metadata_thp keeps its default, and
 * arena mappings carry MADV_NOHUGEPAGE ("nh" in VmFlags) where the system's THP mode would
 * otherwise allow huge pages; stats.metadata_thp is 0.
 */
#include "arenalloc.h"
#include "test.h"

#include <stdint.h>

#include "thp_common.h"

TEST_BEGIN(test_never) {
    const char *v = NULL;
    size_t sz = sizeof(v);
    expect_d_eq(mallctl("opt.thp", &v, &sz, NULL, 0), 0, "");
    expect_str_eq(v, "never", "");
    expect_d_eq(mallctl("opt.metadata_thp", &v, &sz, NULL, 0), 0, "");
    expect_str_eq(v, "disabled", "");
    uint64_t e = 1;
    expect_d_eq(mallctl("epoch", NULL, NULL, &e, sizeof(e)), 0, "");
    size_t m = 1;
    sz = sizeof(m);
    expect_d_eq(mallctl("stats.metadata_thp", &m, &sz, NULL, 0), 0, "");
    expect_zu_eq(m, 0, "");
    void *p = mallocx(24 * MiB, 0);
    assert_ptr_not_null(p, "");
    memset(p, 1, 24 * MiB);
    if (system_thp_usable()) {
        bool known;
        bool nh = vmflag(p, "nh", &known);
        if (known) expect_true(nh, "MADV_NOHUGEPAGE on the mapping of %p", p);
        char t[64];
        if (smaps_field(p, "THPeligible:", t, sizeof(t))) expect_str_eq(t, "0", "");
    }
    dallocx(p, 0);
    if (!system_thp_usable()) test_skip("system THP mode \"%s\"", system_thp());
}
TEST_END

int main(void) { return run_tests(test_never); }
