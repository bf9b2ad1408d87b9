/*
 * jemalloc_client.c -- a C program written against jemalloc's own API (<jemalloc/jemalloc.h>)
 * the way a jemalloc user writes one, built with `cc ... -ljemalloc` (Debian's libjemalloc).
 *
 *   jemalloc_client arenalloc   run under LD_PRELOAD=libarenalloc.so: arenalloc must serve
 *                               every jemalloc symbol the program uses
 *   jemalloc_client jemalloc    run as built, against real jemalloc: proves that the checks
 *                               below are jemalloc's contract, not arenalloc's
 *
 * Prints one line per check ("ok   <check>: <detail>", "FAIL <check>: <detail>" or
 * "skip <check>: <why>") and ends with "N passed, N failed, N skipped"; exit status 0 only if
 * nothing failed. Run by test/preload/run.sh. Every check below holds for jemalloc 5.3 as
 * documented in its manual; the few that are arenalloc's stronger guarantees say so and run only
 * under arenalloc.
 *
 * Nothing here is timing-dependent. The program is single-threaded, and between the two epoch
 * refreshes around a measured allocation it calls nothing that allocates (no stdio).
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <jemalloc/jemalloc.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"

static int nskip;
static bool under_arenalloc;

static void skip(const char *what, const char *why) {
    printf("skip %s: %s\n", what, why);
    nskip++;
}

/* ---- mallctl helpers, as a client writes them ---- */

static int read_size(const char *name, size_t *v) {
    size_t len = sizeof(*v);
    return mallctl(name, v, &len, NULL, 0);
}

static int read_unsigned(const char *name, unsigned *v) {
    size_t len = sizeof(*v);
    return mallctl(name, v, &len, NULL, 0);
}

static int read_u64(const char *name, uint64_t *v) {
    size_t len = sizeof(*v);
    return mallctl(name, v, &len, NULL, 0);
}

static int advance_epoch(void) {
    uint64_t e = 1;
    return mallctl("epoch", NULL, NULL, &e, sizeof(e));
}

/* ---- which allocator answers ---- */

/* The object that defines symbol `name` in the global scope (NULL: none). */
static const char *object_of(const char *name) {
    void *p = dlsym(RTLD_DEFAULT, name);
    Dl_info info;
    if (p == NULL || dladdr(p, &info) == 0) return NULL;
    return info.dli_fname;
}

/* Every jemalloc-API symbol this program calls must come from the object that serves malloc:
 * a mix (malloc from one allocator, mallocx or mallctl from the other) would be a broken
 * preload. Returns false if not (the program then stops: calls would cross allocators). */
static bool check_symbols(const char *expect) {
    static const char *const names[] = {
        "free",     "calloc",   "realloc",  "posix_memalign",     "aligned_alloc",
        "mallocx",  "rallocx",  "xallocx",  "sallocx",            "dallocx",
        "sdallocx", "nallocx",  "mallctl",  "mallctlnametomib",   "mallctlbymib",
        "malloc_usable_size",
    };
    const char *home = object_of("malloc");
    bool all = home != NULL;
    for (size_t k = 0; all && k < sizeof(names) / sizeof(names[0]); k++) {
        const char *o = object_of(names[k]);
        if (o == NULL || strcmp(o, home) != 0) {
            check(false, "symbols", "%s comes from %s, malloc from %s", names[k],
                  o ? o : "nowhere", home);
            all = false;
        }
    }
    if (all) check(true, "symbols", "malloc and the 16 other jemalloc-API symbols all from %s", home);

    const char *version = NULL;
    size_t len = sizeof(version);
    int rc = mallctl("version", &version, &len, NULL, 0);
    bool is_je = rc == 0 && version != NULL && strncmp(version, "5.", 2) == 0;
    bool has_marker = dlsym(RTLD_DEFAULT, "arenalloc_malloc") != NULL;
    under_arenalloc = has_marker;
    if (strcmp(expect, "arenalloc") == 0) {
        check(has_marker && !is_je, "allocator",
              "expected arenalloc: version \"%s\", arenalloc_malloc %s", version ? version : "?",
              has_marker ? "present" : "absent");
        return all && has_marker && !is_je;
    }
    check(is_je && !has_marker, "allocator", "expected jemalloc: version \"%s\", arenalloc_malloc %s",
          version ? version : "?", has_marker ? "present" : "absent");
    return all && is_je && !has_marker;
}

/* ---- the checks ---- */

static void basics(void) {
    const char *version = NULL;
    size_t len = sizeof(version);
    int rc = mallctl("version", &version, &len, NULL, 0);
    check(rc == 0 && version != NULL && *version != 0, "version", "\"%s\"", version ? version : "");

    /* epoch: write advances, read returns the current value. */
    uint64_t e0 = 0, e1 = 0, one = 1;
    size_t elen = sizeof(e0);
    int rc0 = mallctl("epoch", &e0, &elen, NULL, 0);
    elen = sizeof(e1);
    int rc1 = mallctl("epoch", &e1, &elen, &one, sizeof(one));
    check(rc0 == 0 && rc1 == 0 && e1 > e0, "epoch", "read %llu, then read-and-write returned %llu",
          (unsigned long long)e0, (unsigned long long)e1);

    size_t page = 0;
    rc = read_size("arenas.page", &page);
    check(rc == 0 && page >= 4096 && (page & (page - 1)) == 0, "arenas.page", "%zu", page);

    unsigned narenas = 0, opt_narenas = 0, nbins = 0;
    int rc_n = read_unsigned("arenas.narenas", &narenas);
    int rc_o = read_unsigned("opt.narenas", &opt_narenas);
    check(rc_n == 0 && rc_o == 0 && opt_narenas >= 1 && narenas >= opt_narenas,
          "arenas.narenas, opt.narenas", "%u arenas, opt.narenas %u", narenas, opt_narenas);
    rc = read_unsigned("arenas.nbins", &nbins);
    check(rc == 0 && nbins > 0, "arenas.nbins", "%u", nbins);

    size_t quantum = 0;
    rc = read_size("arenas.quantum", &quantum);
    check(rc == 0 && quantum >= 8 && (quantum & (quantum - 1)) == 0, "arenas.quantum", "%zu", quantum);
}

static void errors(void) {
    size_t v = 0, len = sizeof(v);
    int rc = mallctl("no.such.key", &v, &len, NULL, 0);
    check(rc == ENOENT, "ENOENT", "mallctl(\"no.such.key\") = %d", rc);

    size_t mib[8], miblen = 8;
    rc = mallctlnametomib("stats.no_such_leaf", mib, &miblen);
    check(rc == ENOENT, "ENOENT by MIB", "mallctlnametomib(\"stats.no_such_leaf\") = %d", rc);

    len = sizeof(v);
    rc = mallctl("stats", &v, &len, NULL, 0);
    check(rc == ENOENT, "ENOENT interior node", "mallctl(\"stats\") = %d", rc);

    size_t page = 0, newpage = 8192;
    len = sizeof(page);
    rc = mallctl("arenas.page", &page, &len, &newpage, sizeof(newpage));
    size_t after = 0;
    read_size("arenas.page", &after);
    check(rc == EPERM && after != newpage, "EPERM", "writing arenas.page = %d, still %zu", rc, after);

    /* A short buffer: EINVAL, and jemalloc copies what fits and reports that length. */
    uint32_t small = 0;
    len = sizeof(small);
    rc = mallctl("stats.allocated", &small, &len, NULL, 0);
    check(rc == EINVAL && len == sizeof(small), "EINVAL",
          "reading size_t stats.allocated into 4 bytes = %d, *oldlenp now %zu", rc, len);

    /* A MIB that stops at an interior node. */
    miblen = 8;
    rc = mallctlnametomib("stats.arenas.0.bins.0.nmalloc", mib, &miblen);
    if (rc == 0) {
        uint64_t n = 0;
        len = sizeof(n);
        rc = mallctlbymib(mib, 3, &n, &len, NULL, 0);
        check(rc == ENOENT, "ENOENT short MIB", "mallctlbymib(stats.arenas.0) = %d", rc);
    }
}

struct totals {
    size_t allocated, active, resident, mapped, metadata, retained;
};

static int read_totals(struct totals *t) {
    int rc = 0;
    rc |= read_size("stats.allocated", &t->allocated);
    rc |= read_size("stats.active", &t->active);
    rc |= read_size("stats.resident", &t->resident);
    rc |= read_size("stats.mapped", &t->mapped);
    rc |= read_size("stats.metadata", &t->metadata);
    rc |= read_size("stats.retained", &t->retained);
    return rc;
}

static void stats_totals(void) {
    struct totals t = {0};
    int rc = advance_epoch();
    rc |= read_totals(&t);
    printf("     stats.allocated %zu, active %zu, resident %zu, mapped %zu, metadata %zu, retained %zu\n",
           t.allocated, t.active, t.resident, t.mapped, t.metadata, t.retained);
    /* jemalloc's manual: allocated <= active; resident and mapped are both larger than active. */
    check(rc == 0 && t.allocated > 0 && t.allocated <= t.active && t.active <= t.resident &&
              t.active <= t.mapped,
          "stats totals", "allocated <= active <= resident, active <= mapped");
    if (under_arenalloc) {
        check(t.resident <= t.mapped, "stats totals (arenalloc)",
              "resident <= mapped (arenalloc's stacked view; jemalloc does not promise it)");
    }

    /* A block that neither allocator keeps in a thread cache (above tcache_max): allocated
     * moves by exactly its usable size, and comes back when it is freed. No stdio in between. */
    struct totals a = {0}, b = {0}, c = {0};
    size_t big = ((size_t)3 << 20) + 1;
    /* arenalloc starts a background purge thread lazily, at the first free of pages (and the
     * thread's creation allocates, in glibc): start it now so that the free below measures only
     * itself. (jemalloc without background-thread support refuses: nothing to start.) */
    bool bg = true;
    (void)mallctl("background_thread", NULL, NULL, &bg, sizeof(bg));
    int r1 = advance_epoch() | read_totals(&a);
    char *p = malloc(big);
    size_t usable = p ? malloc_usable_size(p) : 0;
    if (p) memset(p, 1, big);
    int r2 = advance_epoch() | read_totals(&b);
    free(p);
    int r3 = advance_epoch() | read_totals(&c);
    check(p != NULL && r1 == 0 && r2 == 0 && r3 == 0 && b.allocated - a.allocated == usable &&
              b.active - a.active >= usable,
          "stats.allocated delta", "malloc(%zu): usable %zu, allocated +%zd, active +%zd", big,
          usable, (ssize_t)(b.allocated - a.allocated), (ssize_t)(b.active - a.active));
    check(c.allocated == a.allocated, "stats.allocated after free", "%zu, was %zu", c.allocated,
          a.allocated);
}

static void thread_counters(void) {
    uint64_t a0 = 0, a1 = 0, d0 = 0, d1 = 0;
    int rc = read_u64("thread.allocated", &a0);
    char *p = malloc(1000);
    size_t usable = malloc_usable_size(p);
    rc |= read_u64("thread.allocated", &a1);
    check(rc == 0 && a1 - a0 == usable, "thread.allocated", "+%llu for malloc(1000), usable %zu",
          (unsigned long long)(a1 - a0), usable);

    rc = read_u64("thread.deallocated", &d0);
    free(p);
    rc |= read_u64("thread.deallocated", &d1);
    check(rc == 0 && d1 - d0 == usable, "thread.deallocated", "+%llu for free, usable %zu",
          (unsigned long long)(d1 - d0), usable);

    uint64_t *ap = NULL;
    size_t len = sizeof(ap);
    rc = mallctl("thread.allocatedp", &ap, &len, NULL, 0);
    if (rc != 0 || ap == NULL) {
        check(false, "thread.allocatedp", "mallctl = %d, pointer %p", rc, (void *)ap);
        return;
    }
    uint64_t v0 = *(volatile uint64_t *)ap;
    void *q = malloc(3000);
    size_t uq = malloc_usable_size(q);
    uint64_t v1 = *(volatile uint64_t *)ap;
    free(q);
    uint64_t now = 0;
    read_u64("thread.allocated", &now);
    check(v1 - v0 == uq && *ap == now, "thread.allocatedp",
          "read through the pointer: +%llu for malloc(3000), usable %zu; equals thread.allocated",
          (unsigned long long)(v1 - v0), uq);
}

static void by_mib(void) {
    unsigned narenas = 0, nbins = 0;
    read_unsigned("arenas.narenas", &narenas);
    read_unsigned("arenas.nbins", &nbins);

    /* Region sizes of every bin through one MIB: strictly increasing. */
    size_t smib[4], smiblen = 4, prev = 0, size0 = 0;
    int rc = mallctlnametomib("arenas.bin.0.size", smib, &smiblen);
    bool ok = rc == 0 && smiblen == 4;
    for (unsigned j = 0; ok && j < nbins; j++) {
        size_t sz = 0, len = sizeof(sz);
        smib[2] = j;
        ok = mallctlbymib(smib, smiblen, &sz, &len, NULL, 0) == 0 && sz > prev;
        if (j == 0) size0 = sz;
        prev = sz;
    }
    check(ok, "arenas.bin.<j>.size by MIB", "%u bins, %zu to %zu bytes", nbins, size0, prev);

    /* Make sure bin 0 has served something, then sum its nmalloc over the arenas. */
    void *blocks[1000];
    for (int k = 0; k < 1000; k++) blocks[k] = malloc(size0);
    for (int k = 0; k < 1000; k++) free(blocks[k]);
    advance_epoch();

    size_t mib[6], miblen = 6;
    rc = mallctlnametomib("stats.arenas.0.bins.0.nmalloc", mib, &miblen);
    if (rc != 0 || miblen != 6) {
        check(false, "stats.arenas.<i>.bins.<j>.nmalloc by MIB", "mallctlnametomib = %d, miblen %zu",
              rc, miblen);
        return;
    }
    uint64_t bin0 = 0, all = 0;
    unsigned seen = 0, bad = 0;
    for (unsigned i = 0; i < narenas; i++) {
        mib[2] = i;
        bool any = false;
        for (unsigned j = 0; j < nbins; j++) {
            uint64_t n = 0;
            size_t len = sizeof(n);
            mib[4] = j;
            rc = mallctlbymib(mib, miblen, &n, &len, NULL, 0);
            if (rc == ENOENT && j == 0) break; /* an arena not initialized yet */
            if (rc != 0) {
                bad++;
                break;
            }
            any = true;
            all += n;
            if (j == 0) bin0 += n;
        }
        seen += any;
    }
    uint64_t merged0 = 0;
    size_t len = sizeof(merged0);
    mib[2] = MALLCTL_ARENAS_ALL;
    mib[4] = 0;
    int rcm = mallctlbymib(mib, miblen, &merged0, &len, NULL, 0);
    check(bad == 0 && seen >= 1 && bin0 >= 1000 && all >= bin0,
          "stats.arenas.<i>.bins.<j>.nmalloc by MIB",
          "patching mib[2] and mib[4]: %u arenas with stats, bin 0 nmalloc %llu, all bins %llu",
          seen, (unsigned long long)bin0, (unsigned long long)all);
    check(rcm == 0 && merged0 == bin0, "MALLCTL_ARENAS_ALL",
          "stats.arenas.%d.bins.0.nmalloc = %llu, the sum over arenas %llu", MALLCTL_ARENAS_ALL,
          (unsigned long long)merged0, (unsigned long long)bin0);
}

static void sized_api(void) {
    /* mallocx / sallocx / nallocx / xallocx / rallocx / sdallocx / dallocx. */
    size_t n100 = nallocx(100, 0);
    char *p = mallocx(100, 0);
    bool ok = p != NULL && n100 >= 100 && sallocx(p, 0) == n100 && malloc_usable_size(p) == n100;
    check(ok, "mallocx/sallocx/nallocx", "mallocx(100): usable %zu, nallocx %zu",
          p ? sallocx(p, 0) : 0, n100);
    if (!p) return;
    size_t x = xallocx(p, 100, 0, 0);
    check(x == n100, "xallocx (same size)", "%zu", x);
    for (int k = 0; k < 100; k++) p[k] = (char)k;
    p = rallocx(p, 5000, 0);
    ok = p != NULL && sallocx(p, 0) == nallocx(5000, 0);
    for (int k = 0; ok && k < 100; k++) ok = p[k] == (char)k;
    check(ok, "rallocx", "100 -> 5000 bytes, contents kept, usable %zu", p ? sallocx(p, 0) : 0);
    if (p) sdallocx(p, 5000, 0);

    int flags = MALLOCX_ALIGN(4096) | MALLOCX_ZERO;
    char *q = mallocx(3 * 4096 + 5, flags);
    ok = q != NULL && ((uintptr_t)q & 4095) == 0 && sallocx(q, 0) == nallocx(3 * 4096 + 5, flags);
    for (size_t k = 0; ok && k < 3 * 4096 + 5; k++) ok = q[k] == 0;
    check(ok, "mallocx(MALLOCX_ALIGN(4096) | MALLOCX_ZERO)", "%p, usable %zu", (void *)q,
          q ? sallocx(q, 0) : 0);
    if (q) dallocx(q, 0);

    /* A large block: xallocx grows or shrinks it in place, or reports its unchanged size. */
    size_t mb = (size_t)1 << 20;
    char *r = mallocx(mb, 0);
    if (!r) {
        check(false, "xallocx (large)", "mallocx(1 MiB) failed");
        return;
    }
    size_t s0 = sallocx(r, 0);
    size_t g = xallocx(r, mb, mb, 0);
    bool gok = g == sallocx(r, 0) && (g == s0 || (g >= mb && g <= 2 * mb + 4096 * 4));
    size_t want = 64 * 4096;
    size_t h = xallocx(r, want, 0, 0);
    bool hok = h == sallocx(r, 0) && (h == g || h == nallocx(want, 0));
    check(gok && hok, "xallocx (large)", "1 MiB (usable %zu) grown with extra 1 MiB -> %zu, "
          "shrunk to 256 KiB -> %zu", s0, g, h);
    sdallocx(r, h, 0);

    volatile size_t huge = (size_t)PTRDIFF_MAX + 1; /* volatile: no compile-time size warning */
    check(nallocx(huge, 0) == 0 && mallocx(huge, 0) == NULL, "size limits",
          "nallocx and mallocx of PTRDIFF_MAX + 1 give 0 / NULL");
}

/* ---- malloc_stats_print, if the allocator in use has it ---- */

static char report[1 << 20];
static size_t report_len;
static bool report_truncated;

static void collect(void *opaque, const char *s) {
    (void)opaque;
    size_t n = strlen(s);
    if (report_len + n >= sizeof(report)) {
        report_truncated = true;
        n = sizeof(report) - 1 - report_len;
    }
    memcpy(report + report_len, s, n);
    report_len += n;
    report[report_len] = 0;
}

/* Braces and brackets balance outside strings, the text is one object, and it names
 * "allocated": a cheap stand-in for a JSON parser (the python check uses a real one). */
static bool json_shaped(const char *s) {
    int depth = 0;
    bool in_str = false, esc = false, closed = false;
    while (*s == ' ' || *s == '\n' || *s == '\t') s++;
    if (*s != '{') return false;
    for (; *s; s++) {
        char c = *s;
        if (closed && c != ' ' && c != '\n' && c != '\t') return false;
        if (in_str) {
            if (esc) esc = false;
            else if (c == '\\') esc = true;
            else if (c == '"') in_str = false;
        } else if (c == '"') {
            in_str = true;
        } else if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (--depth < 0) return false;
            if (depth == 0) closed = true;
        }
    }
    return closed && !in_str && strstr(report, "\"allocated\"") != NULL;
}

static void stats_print(void) {
    typedef void (*print_fn)(void (*)(void *, const char *), void *, const char *);
    print_fn fn = (print_fn)dlsym(RTLD_DEFAULT, "malloc_stats_print");
    const char *home = object_of("malloc"), *where = object_of("malloc_stats_print");
    if (fn == NULL || where == NULL || home == NULL || strcmp(where, home) != 0) {
        /* Not exported by the allocator that serves malloc (the symbol found, if any, is the
         * linked jemalloc's, which must not be called on another allocator's heap). */
        skip("malloc_stats_print", "not exported by the allocator in use");
        return;
    }
    int marker = 0;
    report_len = 0;
    report_truncated = false;
    fn(collect, &marker, NULL);
    size_t text_len = report_len;
    bool text_ok = text_len > 0 && !report_truncated && strstr(report, "allocated") != NULL;
    check(text_ok, "malloc_stats_print (text)", "%zu bytes to the callback", text_len);

    report_len = 0;
    report_truncated = false;
    fn(collect, &marker, "J");
    check(!report_truncated && json_shaped(report), "malloc_stats_print (\"J\")",
          "%zu bytes of JSON to the callback", report_len);
}

int main(int argc, char **argv) {
    const char *expect = argc > 1 ? argv[1] : "";
    if (strcmp(expect, "arenalloc") != 0 && strcmp(expect, "jemalloc") != 0) {
        fprintf(stderr, "usage: %s arenalloc|jemalloc\n", argv[0]);
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (!check_symbols(expect)) {
        printf("%d passed, %d failed, %d skipped\n", npass, nfail, nskip);
        return 1; /* calls would cross allocators: stop here */
    }
    basics();
    errors();
    stats_totals();
    thread_counters();
    by_mib();
    sized_api();
    stats_print();
    printf("%d passed, %d failed, %d skipped\n", npass, nfail, nskip);
    return nfail == 0 ? 0 : 1;
}
