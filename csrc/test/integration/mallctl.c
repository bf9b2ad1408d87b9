/*
 * mallctl, mallctlnametomib, mallctlbymib through jemalloc's names (macros for the prefixed
 * functions): every key of this issue readable / writable as declared, with jemalloc 5.3's types;
 * every bad input returns its errno (reference §1.4) and changes nothing: unknown and partial
 * names, short and long reads (the copy-what-fits EINVAL), wrong write sizes, writes to
 * read-only keys, buffers passed to commands, NULL pointers, out-of-range indices, MIBs of the
 * wrong depth or with components above UINT_MAX; partial MIBs from nametomib patched with
 * mib[k] = i; and many threads calling mallctl (epoch included) while others allocate.
 */
#include "arenalloc.h"
#include "test.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

/* ---- helpers ---- */

#define READ_FN(fname, T)                                                                          \
    static T fname(const char *name) {                                                            \
        T v;                                                                                       \
        memset(&v, 0, sizeof(v));                                                                  \
        size_t sz = sizeof(v);                                                                     \
        int r = mallctl(name, &v, &sz, NULL, 0);                                                   \
        expect_d_eq(r, 0, "mallctl(\"%s\") read", name);                                           \
        expect_zu_eq(sz, sizeof(v), "%s: *oldlenp", name);                                         \
        return v;                                                                                  \
    }
READ_FN(read_bool, bool)
READ_FN(read_unsigned, unsigned)
READ_FN(read_u32, uint32_t)
READ_FN(read_u64, uint64_t)
READ_FN(read_size, size_t)
READ_FN(read_str, const char *)

static const char *fmt_name(char *buf, size_t cap, const char *fmt, size_t a, size_t b) {
    snprintf(buf, cap, fmt, a, b);
    return buf;
}

static uint64_t epoch_advance(void) {
    uint64_t e = 1;
    size_t sz = sizeof(e);
    expect_d_eq(mallctl("epoch", &e, &sz, &e, sizeof(e)), 0, "epoch write");
    return e;
}

static uint64_t epoch_now(void) { return read_u64("epoch"); }

/* ---- keys ---- */

TEST_BEGIN(test_version_and_epoch) {
    expect_str_eq(read_str("version"), ARENALLOC_VERSION, "");
    uint64_t e0 = epoch_now();
    expect_u64_ge(e0, 1, "the first snapshot is epoch 1, as in jemalloc");
    expect_u64_eq(epoch_now(), e0, "reading does not advance");
    uint64_t e1 = epoch_advance();
    expect_u64_eq(e1, e0 + 1, "a write advances; the same call reads the new value");
    uint64_t any = 12345;
    expect_d_eq(mallctl("epoch", NULL, NULL, &any, sizeof(any)), 0, "any value refreshes");
    expect_u64_eq(epoch_now(), e1 + 1, "");
}
TEST_END

TEST_BEGIN(test_config) {
    static const char *const names[] = {
        "config.cache_oblivious", "config.debug", "config.fill", "config.lazy_lock",
        "config.opt_safety_checks", "config.prof", "config.prof_libgcc", "config.prof_libunwind",
        "config.stats", "config.utrace", "config.xmalloc"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) read_bool(names[k]);
    expect_true(read_bool("config.stats"), "built with statistics (the tests need them)");
    expect_true(read_bool("config.debug"), "the test suite builds the core with ARENALLOC_DEBUG");
    expect_true(read_bool("config.fill"), "");
    expect_true(read_bool("config.xmalloc"), "");
    expect_false(read_bool("config.prof"), "");
    expect_false(read_bool("config.cache_oblivious"), "");
    expect_ptr_not_null(read_str("config.malloc_conf"), "a string, empty if none was baked in");
}
TEST_END

TEST_BEGIN(test_opt) {
    static const char *const bools[] = {"opt.abort",   "opt.abort_conf",  "opt.confirm_conf",
                                        "opt.retain",  "opt.stats_print", "opt.tcache",
                                        "opt.xmalloc", "opt.zero"};
    static const char *const uns[] = {"opt.lg_tcache_flush_large_div",
                                      "opt.lg_tcache_flush_small_div", "opt.narenas",
                                      "opt.tcache_nslots_large", "opt.tcache_nslots_small_max",
                                      "opt.tcache_nslots_small_min"};
    static const char *const strs[] = {"opt.junk", "opt.stats_print_opts", "opt.zero_realloc"};
    for (size_t k = 0; k < sizeof(bools) / sizeof(bools[0]); k++) read_bool(bools[k]);
    for (size_t k = 0; k < sizeof(uns) / sizeof(uns[0]); k++) read_unsigned(uns[k]);
    for (size_t k = 0; k < sizeof(strs) / sizeof(strs[0]); k++) {
        expect_ptr_not_null(read_str(strs[k]), "%s", strs[k]);
    }
    ssize_t mul;
    size_t sz = sizeof(mul);
    expect_d_eq(mallctl("opt.lg_tcache_nslots_mul", &mul, &sz, NULL, 0), 0, "ssize_t");
    read_size("opt.tcache_gc_incr_bytes");
    expect_zu_eq(read_size("opt.tcache_max"), read_size("arenas.tcache_max"),
                 "the option in force is the class cached up to");
    /* Read-only after initialization. */
    bool t = true;
    expect_d_eq(mallctl("opt.tcache", NULL, NULL, &t, sizeof(t)), EPERM, "");
}
TEST_END

TEST_BEGIN(test_arenas_geometry) {
    expect_zu_eq(read_size("arenas.quantum"), 16, "");
    expect_zu_eq(read_size("arenas.page"), 4096, "");
    unsigned nbins = read_unsigned("arenas.nbins"), nlextents = read_unsigned("arenas.nlextents");
    expect_u_eq(nbins, 36, "4 KiB pages: 36 small classes (reference §6.2)");
    expect_u_eq(nlextents, 196, "and 196 large ones");
    expect_u_ge(read_unsigned("arenas.narenas"), 1, "");
    size_t tcache_max = read_size("arenas.tcache_max");
    unsigned nhbins = read_unsigned("arenas.nhbins");
    char name[128];
    size_t prev = 0;
    unsigned cached = 0;
    for (unsigned j = 0; j < nbins; j++) {
        size_t size = read_size(fmt_name(name, sizeof(name), "arenas.bin.%zu.size", j, 0));
        uint32_t nregs = read_u32(fmt_name(name, sizeof(name), "arenas.bin.%zu.nregs", j, 0));
        size_t slab = read_size(fmt_name(name, sizeof(name), "arenas.bin.%zu.slab_size", j, 0));
        expect_zu_eq(size, test_sz_s2u(prev + 1), "bin %u is the next jemalloc class", j);
        expect_zu_eq(nallocx(size, 0), size, "bin %u", j);
        expect_zu_eq((size_t)nregs * size, slab, "bin %u: nregs * size == slab_size", j);
        expect_zu_eq(slab % 4096, 0, "bin %u: whole pages", j);
        cached += size <= tcache_max;
        prev = size;
    }
    for (unsigned j = 0; j < nlextents; j++) {
        size_t size = read_size(fmt_name(name, sizeof(name), "arenas.lextent.%zu.size", j, 0));
        expect_zu_eq(size, test_sz_s2u(prev + 1), "large class %u is the next jemalloc class", j);
        cached += size <= tcache_max;
        prev = size;
    }
    expect_zu_eq(prev, TEST_SZ_LARGE_MAXCLASS, "the last class");
    expect_u_eq(nhbins, cached, "nhbins: the classes up to tcache_max");
}
TEST_END

TEST_BEGIN(test_thread_counters) {
    uint64_t *ap = NULL, *dp = NULL;
    size_t sz = sizeof(ap);
    assert_d_eq(mallctl("thread.allocatedp", &ap, &sz, NULL, 0), 0, "");
    sz = sizeof(dp);
    assert_d_eq(mallctl("thread.deallocatedp", &dp, &sz, NULL, 0), 0, "");
    assert_ptr_not_null(ap, "");
    assert_ptr_not_null(dp, "");
    static const size_t sizes[] = {1, 24, 100, 4096, 5000, 20000, 40000, 1 << 20};
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        uint64_t a0 = read_u64("thread.allocated"), d0 = read_u64("thread.deallocated");
        expect_u64_eq(*ap, a0, "allocatedp is the live counter");
        expect_u64_eq(*dp, d0, "deallocatedp was refreshed by the read");
        void *p = arenalloc_malloc(sizes[k]);
        assert_ptr_not_null(p, "");
        size_t usable = arenalloc_malloc_usable_size(p);
        expect_u64_eq(*ap - a0, usable, "malloc(%zu): allocatedp moves at once", sizes[k]);
        expect_u64_eq(read_u64("thread.allocated") - a0, usable, "malloc(%zu)", sizes[k]);
        arenalloc_free(p);
        expect_u64_eq(read_u64("thread.deallocated") - d0, usable, "free of %zu bytes", usable);
        expect_u64_eq(*dp - d0, usable, "deallocatedp after the read");
        void *q = arenalloc_mallocx(sizes[k], MALLOCX_TCACHE_NONE);
        assert_ptr_not_null(q, "");
        arenalloc_dallocx(q, MALLOCX_TCACHE_NONE);
        expect_u64_eq(read_u64("thread.deallocated") - d0, 2 * usable, "without the cache");
        expect_u64_eq(read_u64("thread.allocated") - a0, 2 * usable, "");
    }
}
TEST_END

TEST_BEGIN(test_thread_arena) {
    unsigned narenas = read_unsigned("arenas.narenas");
    unsigned old = read_unsigned("thread.arena");
    expect_u_lt(old, narenas, "");
    unsigned target = (old + 1) % narenas;
    unsigned got = UINT_MAX;
    size_t sz = sizeof(got);
    assert_d_eq(mallctl("thread.arena", &got, &sz, &target, sizeof(target)), 0, "");
    expect_u_eq(got, old, "a write returns the previous binding");
    expect_u_eq(read_unsigned("thread.arena"), target, "");
    /* Allocations past the cache now come from the new arena. */
    void *p = arenalloc_mallocx(100, MALLOCX_TCACHE_NONE);
    void *big = arenalloc_mallocx(1 << 20, 0);
    assert_ptr_not_null(p, "");
    assert_ptr_not_null(big, "");
    unsigned owner = UINT_MAX;
    sz = sizeof(owner);
    expect_d_eq(mallctl("arenas.lookup", &owner, &sz, &p, sizeof(p)), 0, "");
    expect_u_eq(owner, target, "small, no cache");
    expect_d_eq(mallctl("arenas.lookup", &owner, &sz, &big, sizeof(big)), 0, "");
    expect_u_eq(owner, target, "large");
    arenalloc_dallocx(p, MALLOCX_TCACHE_NONE);
    arenalloc_free(big);
    /* Out of range: EFAULT, binding unchanged. */
    unsigned bad[] = {narenas, 4095, MALLCTL_ARENAS_ALL, UINT_MAX};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        expect_d_eq(mallctl("thread.arena", NULL, NULL, &bad[k], sizeof(bad[k])), EFAULT,
                    "thread.arena = %u (narenas %u)", bad[k], narenas);
        expect_u_eq(read_unsigned("thread.arena"), target, "unchanged");
    }
    expect_d_eq(mallctl("thread.arena", NULL, NULL, &old, sizeof(old)), 0, "back");
    expect_u_eq(read_unsigned("thread.arena"), old, "");
}
TEST_END

TEST_BEGIN(test_thread_tcache) {
    expect_true(read_bool("thread.tcache.enabled"), "threads start with a cache");
    expect_d_eq(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0), 0, "");
    expect_d_eq(mallctl("thread.idle", NULL, NULL, NULL, 0), 0, "");
    bool off = false, on = true, was = false;
    size_t sz = sizeof(was);
    assert_d_eq(mallctl("thread.tcache.enabled", &was, &sz, &off, sizeof(off)), 0, "");
    expect_true(was, "the previous value");
    expect_false(read_bool("thread.tcache.enabled"), "");
    expect_d_eq(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0), EFAULT, "no cache to flush");
    expect_d_eq(mallctl("thread.idle", NULL, NULL, NULL, 0), 0, "idle needs no cache");
    /* Everything still works without a cache, and nothing is cached. */
    void *ps[64];
    for (unsigned k = 0; k < 64; k++) {
        ps[k] = arenalloc_malloc(8 + 100 * k);
        assert_ptr_not_null(ps[k], "");
    }
    for (unsigned k = 0; k < 64; k++) arenalloc_free(ps[k]);
    uint64_t d = read_u64("thread.deallocated");
    void *p = arenalloc_malloc(64);
    arenalloc_free(p);
    expect_u64_eq(read_u64("thread.deallocated") - d, 64, "counted without a cache too");
    expect_d_eq(mallctl("thread.tcache.enabled", NULL, NULL, &off, sizeof(off)), 0, "idempotent");
    assert_d_eq(mallctl("thread.tcache.enabled", &was, &sz, &on, sizeof(on)), 0, "");
    expect_false(was, "");
    expect_true(read_bool("thread.tcache.enabled"), "");
    p = arenalloc_malloc(64);
    arenalloc_free(p);
    expect_d_eq(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0), 0, "");
}
TEST_END

TEST_BEGIN(test_arenas_lookup) {
    static const size_t sizes[] = {8, 100, 4000, 14336, 16384, 32768, 100000, 1 << 22};
    unsigned narenas = read_unsigned("arenas.narenas");
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        void *p = arenalloc_malloc(sizes[k]);
        assert_ptr_not_null(p, "");
        unsigned ind = UINT_MAX;
        size_t sz = sizeof(ind);
        expect_d_eq(mallctl("arenas.lookup", &ind, &sz, &p, sizeof(p)), 0, "size %zu", sizes[k]);
        expect_u_lt(ind, narenas, "");
        arenalloc_free(p);
    }
    int local;
    void *foreign[] = {&local, NULL, (void *)16, (void *)&test_seconds};
    for (size_t k = 0; k < sizeof(foreign) / sizeof(foreign[0]); k++) {
        unsigned ind = 77;
        size_t sz = sizeof(ind);
        expect_d_eq(mallctl("arenas.lookup", &ind, &sz, &foreign[k], sizeof(void *)), EINVAL,
                    "not arenalloc's: %p", foreign[k]);
        expect_u_eq(ind, 77, "nothing written");
    }
    void *p = arenalloc_malloc(10);
    unsigned ind = 0;
    size_t sz = sizeof(ind);
    expect_d_eq(mallctl("arenas.lookup", &ind, &sz, NULL, 0), EINVAL, "no pointer given");
    expect_d_eq(mallctl("arenas.lookup", &ind, &sz, &p, 4), EINVAL, "wrong newlen");
    uint8_t one = 0xee;
    sz = 1;
    expect_d_eq(mallctl("arenas.lookup", &one, &sz, &p, sizeof(p)), EINVAL, "short read");
    expect_zu_eq(sz, 1, "copied what fits");
    arenalloc_free(p);
}
TEST_END

TEST_BEGIN(test_arena_initialized) {
    unsigned narenas = read_unsigned("arenas.narenas");
    epoch_advance();
    expect_true(read_bool("arena.0.initialized"), "arena 0 exists from the start");
    expect_true(read_bool("arena.4096.initialized"), "MALLCTL_ARENAS_ALL");
    expect_false(read_bool("arena.4097.initialized"), "nothing destroyed");
    char name[64];
    bool v;
    size_t sz = sizeof(v);
    expect_d_eq(mallctl(fmt_name(name, sizeof(name), "arena.%zu.initialized", narenas, 0), &v,
                        &sz, NULL, 0),
                ENOENT, "index narenas");
    /* Matches what stats.arenas.<i> serves. */
    for (unsigned i = 0; i < narenas; i++) {
        bool init = read_bool(fmt_name(name, sizeof(name), "arena.%zu.initialized", i, 0));
        unsigned n;
        sz = sizeof(n);
        int r = mallctl(fmt_name(name, sizeof(name), "stats.arenas.%zu.nthreads", i, 0), &n, &sz,
                        NULL, 0);
        expect_d_eq(r, init ? 0 : ENOENT, "arena %u", i);
    }
}
TEST_END

/* ---- bad input ---- */

TEST_BEGIN(test_unknown_and_partial_names) {
    static const char *const names[] = {
        "", ".", "no.such.key", "versionx", "version.", ".version", "version.x", "Version",
        "stats..allocated", "stats.allocated.", "stats.allocated.x", "arenas", "stats",
        "stats.arenas", "stats.arenas.0", "stats.arenas.0.bins", "stats.arenas.0.bins.0",
        "arenas.bin", "arenas.bin.0", "thread.tcache", "config", "opt", "arena.0",
        "opt.no_such_option", "opt.prof", "thread.prof.name", "arenas.bin.x.size",
        "arenas.bin.-1.size", "arenas.bin.+1.size", "arenas.bin. 1.size", "arenas.bin.1 .size",
        "arenas.bin.0x1.size", "arenas.bin.4294967296.size", "arenas.bin.99999999999999999999.size",
        "stats.arenas.0.bins.0.nmalloc.x"};
    for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
        uint64_t v = 0xabababababababab;
        size_t sz = sizeof(v);
        expect_d_eq(mallctl(names[k], &v, &sz, NULL, 0), ENOENT, "\"%s\"", names[k]);
        expect_u64_eq(v, 0xabababababababab, "\"%s\": nothing written", names[k]);
        expect_zu_eq(sz, sizeof(v), "");
        size_t mib[8] = {0}, miblen = 8;
        int r = mallctlnametomib(names[k], mib, &miblen);
        /* Interior nodes are legal for nametomib. */
        if (r == 0) {
            expect_true(strcmp(names[k], "arenas") == 0 || strncmp(names[k], "stats", 5) == 0 ||
                            strcmp(names[k], "arenas.bin") == 0 ||
                            strcmp(names[k], "arenas.bin.0") == 0 ||
                            strcmp(names[k], "thread.tcache") == 0 ||
                            strcmp(names[k], "config") == 0 || strcmp(names[k], "opt") == 0 ||
                            strcmp(names[k], "arena.0") == 0,
                        "nametomib(\"%s\") accepted", names[k]);
        } else {
            expect_d_eq(r, ENOENT, "nametomib(\"%s\")", names[k]);
            expect_zu_eq(miblen, 8, "unchanged");
        }
    }
}
TEST_END

TEST_BEGIN(test_short_and_long_reads) {
    /* jemalloc: *oldlenp != sizeof -> copy min(sizeof, *oldlenp), set *oldlenp, EINVAL. */
    size_t q = read_size("arenas.quantum");
    unsigned char buf[16];
    for (size_t len = 0; len <= sizeof(buf); len++) {
        if (len == sizeof(size_t)) continue;
        memset(buf, 0xcc, sizeof(buf));
        size_t sz = len;
        expect_d_eq(mallctl("arenas.quantum", buf, &sz, NULL, 0), EINVAL, "oldlen %zu", len);
        size_t want = len < sizeof(size_t) ? len : sizeof(size_t);
        expect_zu_eq(sz, want, "oldlen %zu rewritten to what was copied", len);
        expect_d_eq(memcmp(buf, &q, want), 0, "the first %zu bytes of the value", want);
        for (size_t k = want; k < sizeof(buf); k++) expect_x_eq(buf[k], 0xcc, "byte %zu", k);
    }
    /* A string key: the pointer's bytes. */
    const char *v = read_str("version");
    const char *got = NULL;
    size_t sz = sizeof(got) + 8;
    char big[sizeof(got) + 8];
    expect_d_eq(mallctl("version", big, &sz, NULL, 0), EINVAL, "");
    expect_zu_eq(sz, sizeof(got), "");
    memcpy(&got, big, sizeof(got));
    expect_ptr_eq(got, v, "");
    /* A bool key. */
    bool b2[2] = {false, false};
    sz = 2;
    expect_d_eq(mallctl("config.stats", b2, &sz, NULL, 0), EINVAL, "");
    expect_zu_eq(sz, 1, "");
    expect_true(b2[0], "");
}
TEST_END

TEST_BEGIN(test_wrong_write_sizes) {
    uint64_t e0 = epoch_now();
    uint64_t v = 1;
    expect_d_eq(mallctl("epoch", NULL, NULL, &v, 4), EINVAL, "newlen 4 for a uint64_t");
    expect_d_eq(mallctl("epoch", NULL, NULL, &v, 16), EINVAL, "newlen 16");
    expect_d_eq(mallctl("epoch", NULL, NULL, &v, 0), EINVAL, "newlen 0 with newp");
    expect_d_eq(mallctl("epoch", NULL, NULL, NULL, 8), EINVAL, "newlen without newp");
    expect_u64_eq(epoch_now(), e0, "no refresh happened");
    unsigned a = read_unsigned("thread.arena");
    uint64_t wide = 0;
    expect_d_eq(mallctl("thread.arena", NULL, NULL, &wide, sizeof(wide)), EINVAL, "");
    expect_u_eq(read_unsigned("thread.arena"), a, "");
    int on = 0;
    expect_d_eq(mallctl("thread.tcache.enabled", NULL, NULL, &on, sizeof(on)), EINVAL, "int for bool");
    expect_true(read_bool("thread.tcache.enabled"), "unchanged");
}
TEST_END

TEST_BEGIN(test_wrong_direction) {
    size_t v = 0;
    size_t sz = sizeof(v);
    /* Writes to read-only keys: EPERM, whatever the size. */
    static const char *const ro[] = {"arenas.quantum", "stats.allocated", "version",
                                     "opt.narenas", "config.stats", "thread.allocated",
                                     "thread.allocatedp", "arenas.bin.0.size",
                                     "stats.arenas.0.pactive", "arena.0.initialized"};
    for (size_t k = 0; k < sizeof(ro) / sizeof(ro[0]); k++) {
        expect_d_eq(mallctl(ro[k], NULL, NULL, &v, sizeof(v)), EPERM, "write %s", ro[k]);
        expect_d_eq(mallctl(ro[k], NULL, NULL, &v, 1), EPERM, "write %s, odd size", ro[k]);
        expect_d_eq(mallctl(ro[k], NULL, NULL, NULL, 8), EPERM, "newlen only, %s", ro[k]);
        expect_d_eq(mallctl(ro[k], &v, &sz, &v, sizeof(v)), EPERM, "read+write %s", ro[k]);
    }
    expect_zu_eq(read_size("arenas.quantum"), 16, "unchanged");
    /* Commands take no buffer at all. */
    static const char *const cmds[] = {"thread.tcache.flush", "thread.idle"};
    for (size_t k = 0; k < sizeof(cmds) / sizeof(cmds[0]); k++) {
        expect_d_eq(mallctl(cmds[k], &v, &sz, NULL, 0), EPERM, "read %s", cmds[k]);
        expect_d_eq(mallctl(cmds[k], NULL, &sz, NULL, 0), EPERM, "oldlenp %s", cmds[k]);
        expect_d_eq(mallctl(cmds[k], &v, NULL, NULL, 0), EPERM, "oldp %s", cmds[k]);
        expect_d_eq(mallctl(cmds[k], NULL, NULL, &v, sizeof(v)), EPERM, "write %s", cmds[k]);
        expect_d_eq(mallctl(cmds[k], NULL, NULL, NULL, 1), EPERM, "newlen %s", cmds[k]);
        expect_d_eq(mallctl(cmds[k], NULL, NULL, NULL, 0), 0, "%s", cmds[k]);
    }
}
TEST_END

TEST_BEGIN(test_null_pointers) {
    size_t v = 0;
    expect_d_eq(mallctl("arenas.quantum", &v, NULL, NULL, 0), EINVAL, "oldp without oldlenp");
    expect_zu_eq(v, 0, "nothing written");
    size_t sz = 3;
    expect_d_eq(mallctl("arenas.quantum", NULL, &sz, NULL, 0), 0, "no read: fine (jemalloc)");
    expect_zu_eq(sz, 3, "untouched");
    expect_d_eq(mallctl("arenas.quantum", NULL, NULL, NULL, 0), 0, "no-op");
    expect_d_eq(mallctl(NULL, &v, &sz, NULL, 0), EINVAL, "NULL name");
    size_t mib[4], miblen = 4;
    expect_d_eq(mallctlnametomib(NULL, mib, &miblen), EINVAL, "");
    expect_d_eq(mallctlnametomib("version", mib, NULL), EINVAL, "");
    expect_d_eq(mallctlnametomib("version", NULL, &miblen), EINVAL, "");
    expect_d_eq(mallctlbymib(NULL, 2, &v, &sz, NULL, 0), EINVAL, "");
    expect_d_eq(mallctlbymib(NULL, 0, NULL, NULL, NULL, 0), ENOENT, "the root is not a key");
}
TEST_END

TEST_BEGIN(test_index_out_of_range) {
    unsigned narenas = read_unsigned("arenas.narenas");
    char name[96];
    size_t v;
    size_t sz = sizeof(v);
    const struct {
        const char *fmt;
        size_t a, b;
    } bad[] = {
        {"arenas.bin.%zu.size", 36, 0},
        {"arenas.bin.%zu.size", 4096, 0},
        {"arenas.lextent.%zu.size", 196, 0},
        {"stats.arenas.%zu.pactive", narenas, 0},
        {"stats.arenas.%zu.pactive", 4095, 0},
        {"stats.arenas.%zu.pactive", 4097, 0},
        {"stats.arenas.%zu.bins.%zu.curregs", 0, 36},
        {"stats.arenas.%zu.lextents.%zu.curlextents", 0, 196},
        {"stats.arenas.%zu.bins.%zu.curregs", 4096, 36},
        {"arena.%zu.initialized", narenas, 0},
        {"arena.%zu.initialized", 4098, 0},
    };
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        fmt_name(name, sizeof(name), bad[k].fmt, bad[k].a, bad[k].b);
        expect_d_eq(mallctl(name, &v, &sz, NULL, 0), ENOENT, "%s", name);
    }
    /* The last valid ones. */
    expect_d_eq(mallctl("arenas.bin.35.size", &v, &sz, NULL, 0), 0, "");
    expect_d_eq(mallctl("arenas.lextent.195.size", &v, &sz, NULL, 0), 0, "");
    expect_d_eq(mallctl("stats.arenas.4096.bins.35.curregs", &v, &sz, NULL, 0), 0, "");
    expect_d_eq(mallctl("stats.arenas.0.lextents.195.curlextents", &v, &sz, NULL, 0), 0, "");
}
TEST_END

TEST_BEGIN(test_nametomib) {
    /* Partial MIB, then patch the index (jemalloc's documented idiom). */
    size_t mib[8], miblen = 3;
    assert_d_eq(mallctlnametomib("arenas.bin.0.size", mib, &miblen), 0, "");
    expect_zu_eq(miblen, 3, "capacity 3: a partial MIB");
    expect_zu_eq(mib[2], 0, "indexed components keep their number");
    mib[3] = 0; /* completed below */
    size_t full[8], fulllen = 8;
    assert_d_eq(mallctlnametomib("arenas.bin.0.size", full, &fulllen), 0, "");
    expect_zu_eq(fulllen, 4, "");
    expect_zu_eq(full[0], mib[0], "");
    expect_zu_eq(full[1], mib[1], "");
    mib[3] = full[3];
    char name[64];
    for (unsigned j = 0; j < 36; j++) {
        mib[2] = j;
        size_t v = 0, sz = sizeof(v);
        assert_d_eq(mallctlbymib(mib, 4, &v, &sz, NULL, 0), 0, "bin %u", j);
        expect_zu_eq(v, read_size(fmt_name(name, sizeof(name), "arenas.bin.%zu.size", j, 0)),
                     "bin %u by MIB and by name", j);
    }
    /* Interior nodes are fine here; a name through a leaf is not. */
    miblen = 8;
    expect_d_eq(mallctlnametomib("stats.arenas.4096", mib, &miblen), 0, "");
    expect_zu_eq(miblen, 3, "");
    expect_zu_eq(mib[2], 4096, "");
    miblen = 8;
    expect_d_eq(mallctlnametomib("version.x", mib, &miblen), ENOENT, "");
    /* Capacity 0: nothing translated, nothing written. */
    miblen = 0;
    expect_d_eq(mallctlnametomib("version", mib, &miblen), 0, "");
    expect_zu_eq(miblen, 0, "");
    /* Every stats.arenas.<i>.bins.<j> by patching two components. */
    miblen = 8;
    assert_d_eq(mallctlnametomib("stats.arenas.0.bins.0.nmalloc", mib, &miblen), 0, "");
    expect_zu_eq(miblen, 6, "");
    epoch_advance();
    for (unsigned j = 0; j < 36; j++) {
        mib[2] = MALLCTL_ARENAS_ALL;
        mib[4] = j;
        uint64_t by_mib = 0, by_name = 0;
        size_t sz = sizeof(by_mib);
        assert_d_eq(mallctlbymib(mib, miblen, &by_mib, &sz, NULL, 0), 0, "");
        by_name = read_u64(fmt_name(name, sizeof(name), "stats.arenas.4096.bins.%zu.nmalloc", j, 0));
        expect_u64_eq(by_mib, by_name, "bin %u", j);
    }
}
TEST_END

TEST_BEGIN(test_bymib_bad) {
    size_t mib[8], miblen = 8;
    assert_d_eq(mallctlnametomib("stats.arenas.0.bins.0.nmalloc", mib, &miblen), 0, "");
    uint64_t v = 7;
    size_t sz = sizeof(v);
    for (size_t len = 0; len < miblen; len++) {
        expect_d_eq(mallctlbymib(mib, len, &v, &sz, NULL, 0), ENOENT, "depth %zu of 6", len);
    }
    size_t longer[9];
    memcpy(longer, mib, sizeof(mib));
    longer[6] = 0;
    expect_d_eq(mallctlbymib(longer, 7, &v, &sz, NULL, 0), ENOENT, "one past the leaf");
    expect_u64_eq(v, 7, "nothing written");
    /* Indexed components above UINT_MAX: EFAULT (jemalloc's MIB_UNSIGNED); out of range below
     * it: ENOENT. */
    size_t m[8];
    memcpy(m, mib, sizeof(m));
    m[2] = (size_t)UINT_MAX + 1;
    expect_d_eq(mallctlbymib(m, miblen, &v, &sz, NULL, 0), EFAULT, "arena index 2^32");
    m[2] = SIZE_MAX;
    expect_d_eq(mallctlbymib(m, miblen, &v, &sz, NULL, 0), EFAULT, "arena index SIZE_MAX");
    m[2] = 0;
    m[4] = (size_t)UINT_MAX + 4096;
    expect_d_eq(mallctlbymib(m, miblen, &v, &sz, NULL, 0), EFAULT, "bin index above UINT_MAX");
    m[4] = 36;
    expect_d_eq(mallctlbymib(m, miblen, &v, &sz, NULL, 0), ENOENT, "bin index 36");
    /* Named components out of range: ENOENT. */
    memcpy(m, mib, sizeof(m));
    m[0] = 1000;
    expect_d_eq(mallctlbymib(m, miblen, &v, &sz, NULL, 0), ENOENT, "");
    m[0] = (size_t)UINT_MAX + 1;
    expect_d_eq(mallctlbymib(m, miblen, &v, &sz, NULL, 0), ENOENT, "named component 2^32");
    memcpy(m, mib, sizeof(m));
    m[5] = 1000;
    expect_d_eq(mallctlbymib(m, miblen, &v, &sz, NULL, 0), ENOENT, "");
    expect_u64_eq(v, 7, "nothing written");
}
TEST_END

TEST_BEGIN(test_bad_input_changes_nothing) {
    /* A short read of a read-write key never performs the write. */
    bool off = false, was = true;
    size_t sz = 0;
    expect_d_eq(mallctl("thread.tcache.enabled", &was, &sz, &off, sizeof(off)), EINVAL, "");
    expect_zu_eq(sz, 0, "nothing fits");
    expect_true(read_bool("thread.tcache.enabled"), "the cache was not turned off");
    unsigned a = read_unsigned("thread.arena"), narenas = read_unsigned("arenas.narenas");
    unsigned other = (a + 1) % narenas;
    uint8_t small = 0;
    sz = 1;
    expect_d_eq(mallctl("thread.arena", &small, &sz, &other, sizeof(other)), EINVAL, "");
    expect_zu_eq(sz, 1, "");
    expect_u_eq(small, (uint8_t)a, "the first byte of the old value (little endian)");
    expect_u_eq(read_unsigned("thread.arena"), a, "not rebound");
    uint64_t e0 = epoch_now(), e = 1;
    sz = 4;
    expect_d_eq(mallctl("epoch", &e, &sz, &e, sizeof(e)), EINVAL, "");
    expect_u64_eq(epoch_now(), e0, "no refresh");
}
TEST_END

/* ---- concurrency ---- */

typedef struct {
    unsigned id;
    double until;
    unsigned snapshots_checked;
} conc_arg_t;

static void *ctl_thread(void *varg) {
    conc_arg_t *arg = varg;
    size_t mib[8], miblen = 8;
    assert_d_eq(mallctlnametomib("stats.arenas.4096.pactive", mib, &miblen), 0, "");
    while (test_now() < arg->until) {
        uint64_t e0 = epoch_advance();
        size_t allocated = read_size("stats.allocated"), active = read_size("stats.active");
        size_t resident = read_size("stats.resident"), mapped = read_size("stats.mapped");
        size_t pactive = 0, sz = sizeof(pactive);
        expect_d_eq(mallctlbymib(mib, miblen, &pactive, &sz, NULL, 0), 0, "");
        if (epoch_now() == e0) { /* all from one snapshot */
            expect_zu_le(allocated, active, "");
            expect_zu_le(active, resident, "");
            expect_zu_le(resident, mapped, "");
            expect_zu_eq(pactive * 4096, active, "merged pactive");
            arg->snapshots_checked++;
        }
        read_unsigned("arenas.narenas");
        read_bool("thread.tcache.enabled");
        read_u64("thread.allocated");
    }
    return NULL;
}

static void *alloc_thread(void *varg) {
    conc_arg_t *arg = varg;
    test_prng_t prng;
    test_prng_init(&prng, test_seed() + arg->id);
    void *live[64] = {0};
    unsigned narenas = read_unsigned("arenas.narenas");
    for (unsigned it = 0; test_now() < arg->until; it++) {
        unsigned k = (unsigned)test_prng_range(&prng, 64);
        if (live[k] != NULL) {
            arenalloc_free(live[k]);
            live[k] = NULL;
        } else {
            size_t size = test_prng_range(&prng, 8) == 0 ? 1 + test_prng_range(&prng, 200000)
                                                         : 1 + test_prng_range(&prng, 2048);
            live[k] = arenalloc_malloc(size);
            assert_ptr_not_null(live[k], "");
        }
        if (it % 512 == 0) {
            unsigned target = (unsigned)test_prng_range(&prng, narenas);
            expect_d_eq(mallctl("thread.arena", NULL, NULL, &target, sizeof(target)), 0, "");
            bool on = it % 2048 != 0;
            expect_d_eq(mallctl("thread.tcache.enabled", NULL, NULL, &on, sizeof(on)), 0, "");
            if (on) expect_d_eq(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0), 0, "");
        }
    }
    for (unsigned k = 0; k < 64; k++) arenalloc_free(live[k]);
    return NULL;
}

TEST_BEGIN(test_concurrent_callers) {
    enum { NCTL = 3, NALLOC = 3 };
    double secs = test_under_tsan() ? 0.5 : 1.0;
    pthread_t thds[NCTL + NALLOC];
    conc_arg_t args[NCTL + NALLOC];
    double until = test_now() + secs;
    for (unsigned t = 0; t < NCTL + NALLOC; t++) {
        args[t] = (conc_arg_t){t, until, 0};
        test_thread_create(&thds[t], t < NCTL ? ctl_thread : alloc_thread, &args[t]);
    }
    unsigned checked = 0;
    for (unsigned t = 0; t < NCTL + NALLOC; t++) {
        test_thread_join(thds[t], NULL);
        checked += args[t].snapshots_checked;
    }
    expect_u_gt(checked, 0, "some snapshots were consistent enough to check");
    /* Quiescent again: the exact figures hold. */
    epoch_advance();
    size_t allocated = read_size("stats.allocated");
    expect_zu_le(allocated, read_size("stats.active"), "");
}
TEST_END

int main(void) {
    return run_tests(test_version_and_epoch, test_config, test_opt, test_arenas_geometry,
                     test_thread_counters, test_thread_arena, test_thread_tcache,
                     test_arenas_lookup, test_arena_initialized, test_unknown_and_partial_names,
                     test_short_and_long_reads, test_wrong_write_sizes, test_wrong_direction,
                     test_null_pointers, test_index_out_of_range, test_nametomib, test_bymib_bad,
                     test_bad_input_changes_nothing, test_concurrent_callers);
}
