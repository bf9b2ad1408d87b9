/*
 * Unit tests for ctl (white-box: the table is included here as well):
 *   - ctl_tree.def is sorted by path (byte order), every indexed prefix has a CTL_INDEX, and the
 *     tree builds (the first call does not fail with EAGAIN);
 *   - every leaf, with its indices at the ends of their ranges: the name translates to a MIB of
 *     the path's depth; a read by name and by MIB give the same bytes of the TYPE's size; a read
 *     one byte too long is EINVAL with *oldlenp set to the size; the directions the ACCESS
 *     column denies are EPERM; writable leaves take their own value back; commands run;
 *   - every field of stats_fields.def is a leaf of the table, with the field's size.
 */
#include "test.h"

#include <errno.h>
#include <string.h>
#include <sys/types.h>

#include "arenalloc.h"
#include "ctl.h"
#include "stats.h"

typedef struct {
    const char *path, *type, *access, *cond, *doc;
} row_t;

static const row_t rows[] = {
#define CTL(path, type, access, cond, impl, doc) {path, #type, #access, #cond, doc},
#include "ctl_tree.def"
};
#define NROWS (sizeof(rows) / sizeof(rows[0]))

static const char *const index_prefixes[] = {
#define CTL_INDEX(prefix, validator) prefix,
#include "ctl_tree.def"
};
#define NINDEX (sizeof(index_prefixes) / sizeof(index_prefixes[0]))

/* Bytes read (write for LOOKUP: a pointer) per TYPE. */
static size_t type_size(const char *t) {
    if (!strcmp(t, "BOOL")) return sizeof(bool);
    if (!strcmp(t, "UNSIGNED") || !strcmp(t, "LOOKUP") || !strcmp(t, "CREATE")) {
        return sizeof(unsigned);
    }
    if (!strcmp(t, "U32")) return sizeof(uint32_t);
    if (!strcmp(t, "U64") || !strcmp(t, "I64")) return 8;
    if (!strcmp(t, "SIZE") || !strcmp(t, "SSIZE")) return sizeof(size_t);
    if (!strcmp(t, "STR") || !strcmp(t, "U64_PTR") || !strcmp(t, "HOOKS")) return sizeof(void *);
    if (!strcmp(t, "VOID")) return 0;
    test_fail_(__FILE__, __LINE__, true, "unknown TYPE", " %s", t);
    return 0;
}

static unsigned depth_of(const char *path) {
    unsigned n = 1;
    for (const char *p = path; *p; p++) n += *p == '.';
    return n;
}

/* path with {i} -> i and {j} -> j. */
static void instantiate(char *out, size_t cap, const char *path, size_t i, size_t j) {
    size_t o = 0;
    for (const char *p = path; *p && o + 24 < cap;) {
        if (!strncmp(p, "{i}", 3) || !strncmp(p, "{j}", 3)) {
            o += (size_t)snprintf(out + o, cap - o, "%zu", p[1] == 'i' ? i : j);
            p += 3;
        } else {
            out[o++] = *p++;
        }
    }
    out[o] = '\0';
}

TEST_BEGIN(test_table_well_formed) {
    for (size_t k = 1; k < NROWS; k++) {
        expect_d_lt(strcmp(rows[k - 1].path, rows[k].path), 0, "line of %s: sorted, unique",
                    rows[k].path);
    }
    for (size_t k = 0; k < NROWS; k++) {
        /* Every indexed prefix of the path has its validator. */
        const char *p = rows[k].path;
        for (const char *c = strchr(p, '{'); c != NULL; c = strchr(c + 1, '{')) {
            size_t plen = (size_t)(c - p) + 3;
            bool found = false;
            for (size_t d = 0; d < NINDEX; d++) {
                found |= strlen(index_prefixes[d]) == plen && !strncmp(index_prefixes[d], p, plen);
            }
            expect_true(found, "CTL_INDEX for the prefix of %s ending at offset %zu", p, plen);
        }
        expect_true(rows[k].doc[0] != '\0', "%s has a doc line", p);
        type_size(rows[k].type);
    }
    uint64_t epoch;
    size_t sz = sizeof(epoch);
    expect_d_eq(arenalloc_mallctl("epoch", &epoch, &sz, NULL, 0), 0, "the tree builds");
}
TEST_END

static bool cond_holds(const char *cond) {
    if (!strcmp(cond, "STATS")) return config_stats;
    return true;
}

/*
 * Leaves whose values the generic rules below cannot exercise on arena 0 or MALLCTL_ARENAS_ALL
 * (they act on explicit arenas or caches only, or answer EFAULT for ALL): for them only the
 * MIB and the direction are checked here; test/integration/arena_*.c covers their semantics.
 */
static bool acts_on_explicit_only(const char *path) {
    static const char *const paths[] = {"arena.{i}.destroy", "arena.{i}.reset",
                                        "arena.{i}.extent_hooks", "arena.{i}.retain_grow_limit",
                                        "arenas.create", "tcache.create", "tcache.flush",
                                        "tcache.destroy"};
    for (size_t k = 0; k < sizeof(paths) / sizeof(paths[0]); k++) {
        if (!strcmp(path, paths[k])) return true;
    }
    return false;
}

/* One instantiated leaf, every generic rule. */
static void check_leaf(const row_t *r, const char *name) {
    size_t size = type_size(r->type);
    bool reads = !strcmp(r->access, "RO") || !strcmp(r->access, "RW");
    bool writes = !strcmp(r->access, "WO") || !strcmp(r->access, "RW");
    bool lookup = !strcmp(r->type, "LOOKUP");
    unsigned char a[16], b[16];
    size_t sz;

    size_t mib[8], miblen = 8;
    assert_d_eq(arenalloc_mallctlnametomib(name, mib, &miblen), 0, "%s", name);
    expect_zu_eq(miblen, depth_of(r->path), "%s: MIB depth", name);

    if (!cond_holds(r->cond)) {
        sz = size;
        expect_d_eq(arenalloc_mallctl(name, a, &sz, NULL, 0), ENOENT, "%s: not built", name);
        return;
    }
    if (acts_on_explicit_only(r->path)) {
        sz = sizeof(a);
        if (!reads) expect_d_eq(arenalloc_mallctl(name, a, &sz, NULL, 0), EPERM, "%s", name);
        if (!writes) {
            expect_d_eq(arenalloc_mallctl(name, NULL, NULL, a, size ? size : 1), EPERM, "%s",
                        name);
        }
        return;
    }
    void *lookup_in = &a; /* a pointer the allocator does not own: LOOKUP is EINVAL */
    void *newp = lookup ? (void *)&lookup_in : NULL;
    size_t newlen = lookup ? sizeof(void *) : 0;
    int want = lookup ? EINVAL : 0;
    if (reads) {
        memset(a, 0xa5, sizeof(a));
        memset(b, 0x5a, sizeof(b));
        sz = size;
        expect_d_eq(arenalloc_mallctl(name, a, &sz, newp, newlen), want, "%s: read", name);
        expect_zu_eq(sz, size, "%s", name);
        sz = size;
        expect_d_eq(arenalloc_mallctlbymib(mib, miblen, b, &sz, newp, newlen), want,
                    "%s: read by MIB", name);
        if (!lookup) expect_d_eq(memcmp(a, b, size), 0, "%s: same value by name and MIB", name);
        sz = size + 1;
        expect_d_eq(arenalloc_mallctl(name, a, &sz, NULL, 0), lookup ? EINVAL : EINVAL,
                    "%s: long read", name);
        if (!lookup) expect_zu_eq(sz, size, "%s: *oldlenp set to the size", name);
    } else {
        sz = sizeof(a);
        expect_d_eq(arenalloc_mallctl(name, a, &sz, NULL, 0), EPERM, "%s: read", name);
        expect_d_eq(arenalloc_mallctl(name, NULL, &sz, NULL, 0), EPERM, "%s: oldlenp", name);
    }
    if (!writes) {
        expect_d_eq(arenalloc_mallctl(name, NULL, NULL, a, size ? size : 1), EPERM, "%s: write",
                    name);
    } else if (!lookup) {
        /* Write back the current value (harmless for every RW leaf of the table). */
        sz = size;
        assert_d_eq(arenalloc_mallctl(name, a, &sz, NULL, 0), 0, "%s", name);
        expect_d_eq(arenalloc_mallctl(name, NULL, NULL, a, size), 0, "%s: write", name);
        expect_d_eq(arenalloc_mallctl(name, NULL, NULL, a, size + 1), EINVAL, "%s", name);
    }
    if (!reads && !writes) {
        expect_d_eq(arenalloc_mallctl(name, NULL, NULL, NULL, 0), 0, "%s: command", name);
        expect_d_eq(arenalloc_mallctlbymib(mib, miblen, NULL, NULL, NULL, 0), 0, "%s", name);
    }
}

TEST_BEGIN(test_every_leaf) {
    uint64_t e = 1;
    assert_d_eq(arenalloc_mallctl("epoch", NULL, NULL, &e, sizeof(e)), 0, "");
    for (size_t k = 0; k < NROWS; k++) {
        const row_t *r = &rows[k];
        bool has_j = strstr(r->path, "{j}") != NULL;
        size_t jmax = strstr(r->path, "bin") != NULL ? SC_NBINS - 1 : SC_NLARGE - 1;
        size_t is[] = {0, MALLCTL_ARENAS_ALL};
        size_t js[] = {0, jmax};
        for (size_t a = 0; a < (strstr(r->path, "{i}") ? 2u : 1u); a++) {
            for (size_t b = 0; b < (has_j ? 2u : 1u); b++) {
                char name[256];
                instantiate(name, sizeof(name), r->path, is[a], js[b]);
                check_leaf(r, name);
            }
        }
    }
}
TEST_END

TEST_BEGIN(test_stats_fields_are_leaves) {
    struct {
        const char *name;
        size_t size;
    } fields[] = {
#define STATS_GLOBAL(name, ctype) {"stats." #name, sizeof(ctype)},
#define STATS_BACKGROUND(name, ctype) {"stats.background_thread." #name, sizeof(ctype)},
#define STATS_ARENA(name, ctype, merge) {"stats.arenas.{i}." #name, sizeof(ctype)},
#define STATS_TOTAL(name, ctype)                                                                   \
    {"stats.arenas.{i}.small." #name, sizeof(ctype)}, {"stats.arenas.{i}.large." #name, sizeof(ctype)},
#define STATS_BIN(name, ctype) {"stats.arenas.{i}.bins.{j}." #name, sizeof(ctype)},
#define STATS_LEXTENT(name, ctype) {"stats.arenas.{i}.lextents.{j}." #name, sizeof(ctype)},
#include "stats_fields.def"
    };
    size_t nstats_rows = 0;
    for (size_t k = 0; k < NROWS; k++) nstats_rows += !strncmp(rows[k].path, "stats.", 6);
    expect_zu_eq(nstats_rows, sizeof(fields) / sizeof(fields[0]),
                 "the table's stats.* leaves are exactly the fields");
    for (size_t f = 0; f < sizeof(fields) / sizeof(fields[0]); f++) {
        const row_t *row = NULL;
        for (size_t k = 0; k < NROWS; k++) {
            if (!strcmp(rows[k].path, fields[f].name)) row = &rows[k];
        }
        expect_ptr_not_null(row, "%s is in ctl_tree.def", fields[f].name);
        if (row != NULL) {
            expect_zu_eq(type_size(row->type), fields[f].size, "%s: TYPE matches the field",
                         fields[f].name);
            expect_str_eq(row->access, "RO", "%s", fields[f].name);
        }
    }
}
TEST_END

int main(void) {
    return run_tests(test_table_well_formed, test_every_leaf, test_stats_fields_are_leaves);
}
