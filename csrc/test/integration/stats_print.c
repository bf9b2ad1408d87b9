/*
 * malloc_stats_print through the public API (csrc/src/stats_print.h has the contract):
 *   - the text report has every section and key, and its numbers are the mallctl values of the
 *     snapshot it took: a known workload (N objects of one small class, one large object) shows
 *     in the bin and large-class rows (curregs, allocated), and the "Totals:" and "Stacked
 *     view:" lines equal stats.*;
 *   - each opts character removes exactly its part, in text and in JSON; x, e, d, h and unknown
 *     characters change nothing;
 *   - the JSON report is accepted by a real JSON parser (python3, test/stats_json.py, which
 *     also checks the document's shape and that merged = sum of the arenas), and values in it
 *     equal mallctl reads; skipped with a message if python3 is missing;
 *   - write_cb NULL goes to arenalloc_malloc_message with the caller's cbopaque, or to stderr;
 *   - the report allocates nothing: thread.allocated moves only by what the callback itself
 *     allocates (the callback may call malloc and mallctl: no lock is held);
 *   - the callback gets chunks of at most 4095 bytes, several for a full report (that their
 *     concatenation does not depend on the buffer size is test/unit/emitter.c's);
 *   - stats_print:true prints the report at exit (a re-executed copy of this program with
 *     MALLOC_CONF set, its stderr read through a pipe), in the format of stats_print_opts.
 */
#include "arenalloc.h"
#include "test.h"
#include "ctl_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef TEST_SRCDIR
#define TEST_SRCDIR "test"
#endif
#define STATS_JSON_PY TEST_SRCDIR "/stats_json.py"

static const char *self_path; /* argv[0], for the exit test */

/* ---- capturing the report ---- */

typedef struct {
    char *buf;
    size_t len, cap;
    unsigned nchunks;
    size_t maxchunk;
    bool overflow;
} report_t;

static char report_buf[8 << 20];
static report_t report = {report_buf, 0, sizeof(report_buf), 0, 0, false};

static void report_cb(void *opaque, const char *s) {
    report_t *r = opaque;
    size_t n = strlen(s);
    if (r->len + n + 1 > r->cap) {
        r->overflow = true;
        return;
    }
    memcpy(r->buf + r->len, s, n + 1);
    r->len += n;
    r->nchunks++;
    if (n > r->maxchunk) r->maxchunk = n;
}

/* The report for opts, in report.buf. */
static const char *print_report(const char *opts) {
    report.len = 0;
    report.nchunks = 0;
    report.maxchunk = 0;
    report.overflow = false;
    report.buf[0] = '\0';
    malloc_stats_print(report_cb, &report, opts);
    expect_false(report.overflow, "the report fits in %zu bytes", report.cap);
    return report.buf;
}

static unsigned my_arena(void) { return read_unsigned("thread.arena"); }

/* Index of the small class of that size (asserts there is one). */
static unsigned bin_of(size_t size) {
    unsigned nbins = read_unsigned("arenas.nbins");
    for (unsigned j = 0; j < nbins; j++) {
        char name[64];
        snprintf(name, sizeof(name), "arenas.bin.%u.size", j);
        if (read_size(name) == size) return j;
    }
    assert_not_reached("no small class of %zu bytes", size);
    return 0;
}

static unsigned lextent_of(size_t size) {
    unsigned n = read_unsigned("arenas.nlextents");
    for (unsigned j = 0; j < n; j++) {
        char name[64];
        snprintf(name, sizeof(name), "arenas.lextent.%u.size", j);
        if (read_size(name) == size) return j;
    }
    assert_not_reached("no large class of %zu bytes", size);
    return 0;
}

/* ---- reading the text report ---- */

/* The line of text that starts with prefix (after leading blanks, if skip_blanks), copied into
 * line; NULL if there is none. Searches from `from`. */
static const char *find_line(const char *from, const char *prefix, bool skip_blanks, char *line,
                             size_t cap) {
    for (const char *p = from; p != NULL && *p != '\0';) {
        const char *start = p;
        if (skip_blanks) {
            while (*start == ' ') start++;
        }
        const char *end = strchr(p, '\n');
        size_t len = end != NULL ? (size_t)(end - p) : strlen(p);
        if (strncmp(start, prefix, strlen(prefix)) == 0) {
            size_t n = len < cap - 1 ? len : cap - 1;
            memcpy(line, p, n);
            line[n] = '\0';
            return p;
        }
        p = end != NULL ? end + 1 : NULL;
    }
    return NULL;
}

/* Splits a line into blank-separated words (in place); returns their count. */
static unsigned split(char *line, char **words, unsigned max) {
    unsigned n = 0;
    for (char *tok = strtok(line, " "); tok != NULL && n < max; tok = strtok(NULL, " ")) {
        words[n++] = tok;
    }
    return n;
}

/*
 * In the table that follows `title` (a line such as "bins:") inside `section`, the value in
 * column `col` of the row whose first two words are `size` and `ind`. False if not found.
 */
static bool table_value(const char *section, const char *title, size_t size, unsigned ind,
                        const char *col, uint64_t *out) {
    char line[1024], *words[32];
    const char *t = find_line(section, title, true, line, sizeof(line));
    if (t == NULL) return false;
    const char *hdr = strchr(t, '\n') + 1;
    find_line(hdr, "", false, line, sizeof(line));
    unsigned nw = split(line, words, 32), c;
    for (c = 0; c < nw && strcmp(words[c], col) != 0; c++) {
    }
    if (c == nw) return false;
    /* Rows follow, indented deeper than the title, until a line that is not. */
    for (const char *p = strchr(hdr, '\n') + 1; *p == ' ';) {
        const char *end = strchr(p, '\n');
        size_t len = (size_t)(end - p) < sizeof(line) - 1 ? (size_t)(end - p) : sizeof(line) - 1;
        memcpy(line, p, len);
        line[len] = '\0';
        unsigned n = split(line, words, 32);
        if (n > c && strtoull(words[0], NULL, 10) == size && strtoul(words[1], NULL, 10) == ind) {
            *out = strtoull(words[c], NULL, 10);
            return true;
        }
        p = end + 1;
    }
    return false;
}

/* The start of the arena section with that title in the report. */
static const char *section_of(const char *text, const char *title) {
    char line[256];
    return find_line(text, title, false, line, sizeof(line));
}

/* ---- python ---- */

static bool have_python(void) {
    return system("command -v python3 >/dev/null 2>&1") == 0 && access(STATS_JSON_PY, R_OK) == 0;
}

/* Writes text to a temporary file; returns its path in path (caller unlinks). */
static void write_temp(const char *text, char *path, size_t cap) {
    const char *dir = getenv("TMPDIR");
    snprintf(path, cap, "%s/arenalloc-stats-XXXXXX.json", dir != NULL ? dir : "/tmp");
    int fd = mkstemps(path, 5);
    assert_d_ge(fd, 0, "mkstemps(%s)", path);
    size_t len = strlen(text);
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, text + off, len - off);
        assert_zd_gt(n, 0, "write");
        off += (size_t)n;
    }
    close(fd);
}

/* Runs stats_json.py on text with the checks; true if it accepted everything. Its complaints go
 * to stderr, unless quiet (for the checks that are meant to fail). */
static bool json_check_(const char *text, const char *const *checks, unsigned nchecks,
                        bool quiet) {
    char path[256];
    write_temp(text, path, sizeof(path));
    static char cmd[16384];
    size_t n = (size_t)snprintf(cmd, sizeof(cmd), "python3 '%s' '%s'", STATS_JSON_PY, path);
    for (unsigned k = 0; k < nchecks && n < sizeof(cmd); k++) {
        n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " '%s'", checks[k]);
    }
    if (quiet && n < sizeof(cmd)) n += (size_t)snprintf(cmd + n, sizeof(cmd) - n, " 2>/dev/null");
    assert_zu_lt(n, sizeof(cmd), "command too long");
    int st = system(cmd);
    unlink(path);
    return st == 0;
}
#define json_check(text, checks, n) json_check_(text, checks, n, false)

/* ---- tests ---- */

enum { NOBJ = 37 };
#define SMALL_SIZE ((size_t)3072) /* a small class no other test here uses */
#define LARGE_SIZE ((size_t)1 << 20)

TEST_BEGIN(test_text_sections) {
    void *p = mallocx(100, 0); /* the thread has an arena */
    unsigned ind = my_arena();
    const char *t = print_report("");
    char arena_title[64];
    snprintf(arena_title, sizeof(arena_title), "Arena %u stats:", ind);
    static const char *const lines[] = {
        "___ Begin arenalloc statistics ___\n", "Version: \"" ARENALLOC_VERSION "\"\n",
        "Build-time option settings\n", "  config.stats: true\n", "  config.debug: ",
        "Run-time option settings\n", "  opt.narenas: ", "  opt.stats_print: false\n",
        "  opt.zero_realloc: \"free\"\n", "Arena settings\n", "  arenas.nbins: 36\n",
        "  arenas.page: 4096\n", "\nTotals: allocated: ", ", zero_reallocs: ",
        "\nStacked view: allocated ", "\nMerged arenas stats:\n", "  nthreads: ",
        "  tcache_bytes: ", "  small: ", "  large: ", "  total: ", "  bins:\n", "nonfull_slabs",
        "  lextents:\n", "curlextents", "\n--- End arenalloc statistics ---\n"};
    for (size_t k = 0; k < sizeof(lines) / sizeof(lines[0]); k++) {
        expect_ptr_not_null(strstr(t, lines[k]), "\"%s\" missing from:\n%s", lines[k], t);
    }
    expect_ptr_not_null(strstr(t, arena_title), "%s", arena_title);
    expect_true(strncmp(t, "___ Begin", 9) == 0, "the report starts with the begin line");
    expect_zu_eq(strlen(t), report.len, "no NUL inside");
    dallocx(p, 0);
}
TEST_END

TEST_BEGIN(test_text_values) {
    unsigned j = bin_of(SMALL_SIZE), lj = lextent_of(LARGE_SIZE), ind = my_arena();
    unsigned nbins = read_unsigned("arenas.nbins");
    char name[128];
    uint64_t e = 1;
    expect_d_eq(mallctl("epoch", NULL, NULL, &e, sizeof(e)), 0, "");
    snprintf(name, sizeof(name), "stats.arenas.%u.bins.%u.curregs", ind, j);
    size_t before = read_size(name);

    /* The known workload: N objects of one class without the thread cache (so curregs moves
     * by exactly N) and one large object. */
    void *objs[NOBJ];
    for (unsigned k = 0; k < NOBJ; k++) {
        objs[k] = mallocx(SMALL_SIZE, MALLOCX_TCACHE_NONE);
        assert_ptr_not_null(objs[k], "");
    }
    void *big = mallocx(LARGE_SIZE, MALLOCX_TCACHE_NONE);
    assert_ptr_not_null(big, "");

    const char *t = print_report("");
    /* The report advanced the epoch: mallctl now reads the snapshot it printed. */
    size_t curregs = read_size(name);
    expect_zu_eq(curregs, before + NOBJ, "curregs moved by the workload");
    char title[64];
    snprintf(title, sizeof(title), "Arena %u stats:", ind);
    const char *sec = section_of(t, title);
    assert_ptr_not_null(sec, "%s", title);
    uint64_t v = 0;
    expect_true(table_value(sec, "bins:", SMALL_SIZE, j, "curregs", &v), "bin row of class %u", j);
    expect_u64_eq(v, curregs, "curregs column of %zu-byte class", SMALL_SIZE);
    expect_true(table_value(sec, "bins:", SMALL_SIZE, j, "allocated", &v), "");
    expect_u64_eq(v, curregs * SMALL_SIZE, "allocated = curregs x size");
    snprintf(name, sizeof(name), "stats.arenas.%u.bins.%u.nmalloc", ind, j);
    expect_true(table_value(sec, "bins:", SMALL_SIZE, j, "nmalloc", &v), "");
    expect_u64_eq(v, read_u64(name), "nmalloc column");

    snprintf(name, sizeof(name), "stats.arenas.%u.lextents.%u.curlextents", ind, lj);
    size_t curl = read_size(name);
    expect_zu_ge(curl, 1, "");
    expect_true(table_value(sec, "lextents:", LARGE_SIZE, nbins + lj, "curlextents", &v),
                "large row of class %u", lj);
    expect_u64_eq(v, curl, "curlextents column");
    /* The merged section shows the same class, at least as much. */
    const char *merged = section_of(t, "Merged arenas stats:");
    assert_ptr_not_null(merged, "");
    expect_true(table_value(merged, "bins:", SMALL_SIZE, j, "curregs", &v), "");
    expect_u64_ge(v, curregs, "merged curregs");

    /* The totals and the stacked view equal stats.* of the same snapshot. */
    char line[512], *words[32];
    assert_ptr_not_null(find_line(t, "Totals:", false, line, sizeof(line)), "");
    size_t allocated = read_size("stats.allocated"), active = read_size("stats.active");
    size_t resident = read_size("stats.resident"), mapped = read_size("stats.mapped");
    char want[512];
    snprintf(want, sizeof(want),
             "Totals: allocated: %zu, active: %zu, metadata: %zu, metadata_thp: %zu, "
             "resident: %zu, mapped: %zu, retained: %zu, zero_reallocs: %zu",
             allocated, active, read_size("stats.metadata"), read_size("stats.metadata_thp"),
             resident, mapped,
             read_size("stats.retained"), read_size("stats.zero_reallocs"));
    expect_d_eq(strcmp(line, want), 0, "\n got: %s\nwant: %s", line, want);
    expect_zu_ge(allocated, NOBJ * SMALL_SIZE + LARGE_SIZE, "the workload is live");
    assert_ptr_not_null(find_line(t, "Stacked view:", false, line, sizeof(line)), "");
    unsigned n = split(line, words, 32);
    assert_u_ge(n, 13, "%s", line);
    expect_zu_eq(strtoull(words[3], NULL, 10), allocated, "");
    expect_zu_eq(strtoull(words[6], NULL, 10), active, "");
    expect_zu_eq(strtoull(words[9], NULL, 10), resident, "");
    expect_zu_eq(strtoull(words[12], NULL, 10), mapped, "");

    for (unsigned k = 0; k < NOBJ; k++) dallocx(objs[k], MALLOCX_TCACHE_NONE);
    dallocx(big, MALLOCX_TCACHE_NONE);
    print_report("");
    snprintf(name, sizeof(name), "stats.arenas.%u.bins.%u.curregs", ind, j);
    expect_zu_eq(read_size(name), before, "back after the frees");
}
TEST_END

/* What each opts character removes. Markers are substrings of the text or the JSON report. */
typedef struct {
    const char *opts;
    bool general, merged, arena, bins, lextents;
} opts_case_t;

static const opts_case_t opts_cases[] = {
    {"", true, true, true, true, true},       {"g", false, true, true, true, true},
    {"m", true, false, true, true, true},     {"a", true, true, false, true, true},
    {"b", true, true, true, false, true},     {"l", true, true, true, true, false},
    {"d", true, true, true, true, true},      {"x", true, true, true, true, true},
    {"e", true, true, true, true, true},      {"h", true, true, true, true, true},
    {"Z?!q", true, true, true, true, true},   {"gmabl", false, false, false, false, false},
    {"ma", true, false, false, false, false}, {"bl", true, true, true, false, false},
};

static void check_markers(const char *t, const char *opts, bool json, bool want,
                          const char *const *markers) {
    for (; *markers != NULL; markers++) {
        bool has = strstr(t, *markers) != NULL;
        expect_true(has == want, "opts \"%s\"%s: \"%s\" should be %s", opts, json ? " (J)" : "",
                    *markers, want ? "present" : "absent");
    }
}

TEST_BEGIN(test_opts_chars) {
    void *p = mallocx(100, 0);
    unsigned ind = my_arena();
    char arena_text[64], arena_json[64];
    snprintf(arena_text, sizeof(arena_text), "Arena %u stats:", ind);
    snprintf(arena_json, sizeof(arena_json), "\"%u\": {", ind);
    const char *const text_general[] = {"Version:", "Build-time option settings",
                                        "Run-time option settings", "Arena settings",
                                        "config.", "opt.", "arenas.", NULL};
    const char *const text_merged[] = {"Merged arenas stats:", NULL};
    const char *const text_arena[] = {arena_text, NULL};
    const char *const text_always[] = {"___ Begin", "Totals: allocated:", "Stacked view:",
                                       "--- End", NULL};
    const char *const json_general[] = {"\"version\": ", "\"config\": {", "\"opt\": {",
                                        "\"arenas\": {", "\"bin\": [", "\"lextent\": [", NULL};
    const char *const json_merged[] = {"\"merged\": {", NULL};
    const char *const json_arena[] = {arena_json, NULL};
    const char *const json_always[] = {"\"arenalloc\": {", "\"stats\": {", NULL};
    for (size_t k = 0; k < sizeof(opts_cases) / sizeof(opts_cases[0]); k++) {
        const opts_case_t *c = &opts_cases[k];
        bool any_arena = c->merged || c->arena;
        const char *const text_bins[] = {"\n  bins:\n", "nonfull_slabs", NULL};
        const char *const text_lext[] = {"\n  lextents:\n", "curlextents", NULL};
        const char *const json_bins[] = {"\"bins\": [", "\"nonfull_slabs\": ", NULL};
        const char *const json_lext[] = {"\"lextents\": [", "\"curlextents\": ", NULL};
        const char *const json_sa[] = {"\"stats.arenas\": {", NULL};

        const char *t = print_report(c->opts);
        check_markers(t, c->opts, false, true, text_always);
        check_markers(t, c->opts, false, c->general, text_general);
        check_markers(t, c->opts, false, c->merged, text_merged);
        check_markers(t, c->opts, false, c->arena, text_arena);
        check_markers(t, c->opts, false, c->bins && any_arena, text_bins);
        check_markers(t, c->opts, false, c->lextents && any_arena, text_lext);
        expect_ptr_null(strchr(t, '{'), "opts \"%s\": text has no JSON", c->opts);

        char jopts[16];
        snprintf(jopts, sizeof(jopts), "J%s", c->opts);
        t = print_report(jopts);
        expect_c_eq(t[0], '{', "opts \"%s\": a JSON document", jopts);
        check_markers(t, c->opts, true, true, json_always);
        check_markers(t, c->opts, true, c->general, json_general);
        check_markers(t, c->opts, true, c->merged, json_merged);
        check_markers(t, c->opts, true, c->arena, json_arena);
        check_markers(t, c->opts, true, c->bins && any_arena, json_bins);
        check_markers(t, c->opts, true, c->lextents && any_arena, json_lext);
        check_markers(t, c->opts, true, any_arena, json_sa);
        expect_ptr_null(strstr(t, "___ Begin"), "opts \"%s\": JSON has no text", jopts);
    }
    /* NULL opts is "". */
    print_report(NULL);
    expect_ptr_not_null(strstr(report.buf, "Merged arenas stats:"), "");
    dallocx(p, 0);
}
TEST_END

TEST_BEGIN(test_json_parses) {
    if (!have_python()) test_skip("python3 (or %s) not found: JSON not validated", STATS_JSON_PY);
    unsigned j = bin_of(SMALL_SIZE), ind = my_arena();
    void *objs[NOBJ];
    for (unsigned k = 0; k < NOBJ; k++) objs[k] = mallocx(SMALL_SIZE, MALLOCX_TCACHE_NONE);

    static const char *const all_opts[] = {"J", "Jg", "Jm", "Ja", "Jb", "Jl", "Jgmabl", "Jdxeh",
                                           "Jbl", "Jma"};
    for (size_t k = 0; k < sizeof(all_opts) / sizeof(all_opts[0]); k++) {
        const char *t = print_report(all_opts[k]);
        expect_true(json_check(t, NULL, 0), "opts %s: rejected (see stderr above)", all_opts[k]);
    }

    /* Values in the full document equal mallctl reads of the snapshot it printed. */
    static char t[sizeof(report_buf)];
    strcpy(t, print_report("J"));
    char name[128];
    static char checks[16][192];
    unsigned n = 0;
#define CHECK(...) snprintf(checks[n++], sizeof(checks[0]), __VA_ARGS__)
    CHECK("arenalloc/version=\"%s\"", ARENALLOC_VERSION);
    CHECK("arenalloc/stats/allocated=%zu", read_size("stats.allocated"));
    CHECK("arenalloc/stats/mapped=%zu", read_size("stats.mapped"));
    CHECK("arenalloc/arenas/narenas=%u", read_unsigned("arenas.narenas"));
    CHECK("arenalloc/arenas/bin/%u/size=%zu", j, SMALL_SIZE);
    snprintf(name, sizeof(name), "stats.arenas.%u.bins.%u.curregs", ind, j);
    CHECK("arenalloc/stats.arenas/%u/bins/%u/curregs=%zu", ind, j, read_size(name));
    snprintf(name, sizeof(name), "stats.arenas.%u.small.nmalloc", ind);
    CHECK("arenalloc/stats.arenas/%u/small/nmalloc=%llu", ind,
          (unsigned long long)read_u64(name));
    snprintf(name, sizeof(name), "stats.arenas.%u.pactive", ind);
    CHECK("arenalloc/stats.arenas/%u/pactive=%zu", ind, read_size(name));
    CHECK("arenalloc/stats.arenas/merged/nthreads=%u",
          read_unsigned("stats.arenas.4096.nthreads"));
    CHECK("arenalloc/opt/stats_print=false");
    CHECK("arenalloc/opt/zero_realloc=\"free\"");
    CHECK("arenalloc/config/stats=true");
    CHECK("arenalloc/stats.arenas/destroyed!");
#undef CHECK
    const char *argv[16];
    for (unsigned k = 0; k < n; k++) argv[k] = checks[k];
    expect_true(json_check(t, argv, n), "values (see stderr above)");
    /* The checker itself catches a wrong value and a broken document. */
    const char *wrong[] = {"arenalloc/arenas/page=4095"};
    expect_false(json_check_(t, wrong, 1, true), "a wrong value is reported");
    size_t len = strlen(t);
    t[len / 2] = '\0';
    expect_false(json_check_(t, NULL, 0, true), "a truncated document is rejected");

    for (unsigned k = 0; k < NOBJ; k++) dallocx(objs[k], MALLOCX_TCACHE_NONE);
}
TEST_END

/* write_cb NULL: the message hook, with the caller's cbopaque. */
static void *hook_want;
static unsigned hook_calls, hook_bad_opaque;
static void message_hook(void *opaque, const char *s) {
    if (opaque != hook_want) hook_bad_opaque++;
    hook_calls++;
    report_cb(&report, s);
}

static void print_to_stderr(void *arg) { malloc_stats_print(NULL, NULL, "gmabl"); }

TEST_BEGIN(test_null_write_cb) {
    int marker;
    report.len = 0;
    report.buf[0] = '\0';
    hook_calls = hook_bad_opaque = 0;
    hook_want = &marker;
    malloc_message = message_hook;
    malloc_stats_print(NULL, &marker, "J"); /* JSON: long enough for several chunks */
    malloc_message = NULL;
    expect_u_gt(hook_calls, 1, "the report went through the message hook (%zu bytes)",
                report.len);
    expect_u_eq(hook_bad_opaque, 0, "every call with the caller's cbopaque");
    expect_ptr_not_null(strstr(report.buf, "\"stats.arenas\": {"), "");

    /* No hook: stderr (in a child, whose stderr is captured). */
    static char err[8192];
    int st = test_fork_run(print_to_stderr, NULL, err, sizeof(err), 60);
    expect_true(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
    expect_ptr_not_null(strstr(err, "___ Begin arenalloc statistics ___\nTotals: allocated: "),
                        "stderr:\n%s", err);
    expect_ptr_not_null(strstr(err, "--- End arenalloc statistics ---\n"), "stderr:\n%s", err);
}
TEST_END

/* ---- no allocation ---- */

static size_t cb_allocated; /* usable bytes the allocating callback allocated */

static void allocating_cb(void *opaque, const char *s) {
    report_cb(opaque, s);
    void *p = arenalloc_malloc(strlen(s) + 1);
    if (p != NULL) {
        cb_allocated += arenalloc_malloc_usable_size(p);
        arenalloc_free(p);
    }
    uint64_t epoch;
    size_t sz = sizeof(epoch);
    mallctl("epoch", &epoch, &sz, NULL, 0); /* no lock held: mallctl works from here */
}

TEST_BEGIN(test_no_allocation) {
    void *warm = arenalloc_malloc(64); /* the thread's counters and cache exist */
    arenalloc_free(warm);
    print_report("J"); /* first-call work (if any) out of the way */
    static const char *const opts[] = {"", "J", "gJ", "bl"};
    for (size_t k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
        uint64_t before = read_u64("thread.allocated");
        print_report(opts[k]);
        uint64_t after = read_u64("thread.allocated");
        expect_u64_eq(after, before, "opts \"%s\": the report allocated %llu bytes", opts[k],
                      (unsigned long long)(after - before));
    }
    /* A callback that allocates: the thread's counter moves by exactly its allocations. */
    report.len = 0;
    cb_allocated = 0;
    uint64_t before = read_u64("thread.allocated");
    malloc_stats_print(allocating_cb, &report, "");
    uint64_t after = read_u64("thread.allocated");
    expect_zu_gt(cb_allocated, 0, "");
    expect_u64_eq(after - before, cb_allocated, "only the callback's own allocations");
}
TEST_END

TEST_BEGIN(test_chunks) {
    /* One live object of every small class: every bin row is printed, twice (merged, arena). */
    unsigned nbins = read_unsigned("arenas.nbins");
    void *objs[64];
    assert_u_le(nbins, 64, "");
    for (unsigned j = 0; j < nbins; j++) {
        char name[64];
        snprintf(name, sizeof(name), "arenas.bin.%u.size", j);
        objs[j] = mallocx(read_size(name), 0);
        assert_ptr_not_null(objs[j], "");
    }
    for (int json = 0; json < 2; json++) {
        const char *t = print_report(json ? "J" : "");
        expect_u_gt(report.nchunks, 1, "a full report takes several chunks");
        expect_zu_le(report.maxchunk, 4095, "chunks of at most 4095 bytes");
        expect_zu_eq(strlen(t), report.len, "chunks are whole C strings, concatenated");
        expect_ptr_not_null(strstr(t, json ? "\"stats.arenas\": {" : "--- End arenalloc"), "");
    }
    for (unsigned j = 0; j < nbins; j++) dallocx(objs[j], 0);
}
TEST_END

/* ---- stats_print:true: the report at exit ---- */

/* Runs this program again with MALLOC_CONF=conf and "--exit-child"; its stderr into out. */
static int run_exit_child(const char *conf, char *out, size_t cap) {
    int fds[2];
    assert_d_eq(pipe(fds), 0, "pipe");
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_d_ge(pid, 0, "fork");
    if (pid == 0) {
        close(fds[0]);
        dup2(fds[1], STDERR_FILENO);
        close(fds[1]);
        unsetenv("ARENALLOC_MALLOC_CONF");
        setenv("MALLOC_CONF", conf, 1);
        execl("/proc/self/exe", self_path, "--exit-child", (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    size_t len = 0;
    for (;;) {
        ssize_t n = read(fds[0], out + len, cap - 1 - len);
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) break;
        len += (size_t)n;
        if (len == cap - 1) { /* keep draining so the child can finish */
            char sink[4096];
            while (read(fds[0], sink, sizeof(sink)) > 0) {
            }
            break;
        }
    }
    out[len] = '\0';
    close(fds[0]);
    int st;
    while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
    }
    return st;
}

/* The child: some allocations, then a normal exit (atexit handlers run). */
static int exit_child_main(void) {
    void *p = arenalloc_malloc(SMALL_SIZE);
    void *q = arenalloc_malloc(LARGE_SIZE);
    arenalloc_free(p);
    (void)q; /* live at exit: shows in the report */
    return 0;
}

TEST_BEGIN(test_stats_print_at_exit) {
    static char out[1 << 20];
    int st = run_exit_child("stats_print:true", out, sizeof(out));
    expect_true(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
    expect_true(strncmp(out, "___ Begin arenalloc statistics ___\n", 35) == 0,
                "the report, first thing on stderr:\n%.300s", out);
    expect_ptr_not_null(strstr(out, "  opt.stats_print: true\n"), "");
    expect_ptr_not_null(strstr(out, "--- End arenalloc statistics ---\n"), "");

    st = run_exit_child("stats_print:true,stats_print_opts:Jgx", out, sizeof(out));
    expect_true(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
    expect_c_eq(out[0], '{', "JSON, as stats_print_opts says:\n%.300s", out);
    expect_ptr_null(strstr(out, "\"opt\""), "g: no general part");
    expect_ptr_not_null(strstr(out, "\"merged\": {"), "");
    if (have_python()) {
        const char *checks[] = {"arenalloc/stats.arenas/merged/large/allocated=1048576",
                                "arenalloc/opt!"};
        expect_true(json_check(out, checks, 2), "the report at exit (see stderr above)");
    }

    st = run_exit_child("stats_print:false", out, sizeof(out));
    expect_true(WIFEXITED(st) && WEXITSTATUS(st) == 0, "child status %d", st);
    expect_ptr_null(strstr(out, "arenalloc statistics"), "no report without the option:\n%s",
                    out);
}
TEST_END

int main(int argc, char **argv) {
    if (argc == 2 && strcmp(argv[1], "--exit-child") == 0) return exit_child_main();
    self_path = argv[0];
    return run_tests(test_text_sections, test_text_values, test_opts_chars, test_json_parses,
                     test_null_write_cb, test_no_allocation, test_chunks,
                     test_stats_print_at_exit);
}
