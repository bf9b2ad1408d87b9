/*
 * MALLOC_CONF through the public API (jemalloc's config string; csrc/src/conf.h):
 *   - the environment variables MALLOC_CONF and ARENALLOC_MALLOC_CONF are read, the latter
 *     overriding the former, and the program's arenalloc_malloc_conf below sits under both;
 *   - every problem prints one line "<arenalloc>: <what>: <key>:<value>" naming the key, through
 *     the message hook when one is set; a skipped pair does not stop the pairs after it, a
 *     malformed string stops only its own source;
 *   - abort_conf:true turns any problem seen so far into abort() after the source that sets it;
 *   - random and random-but-plausible strings never crash the process;
 *   - each option's effect, seen from outside: tcache:false and tcache_max (does another thread
 *     get the block just freed?), narenas (which arenas MALLOCX_ARENA reaches), zero_realloc,
 *     xmalloc, junk (0xa5 / 0x5a in this debug build), zero, stats_print.
 * The parent never calls into arenalloc: every case runs in a forked child that sets its own
 * environment and then initializes the allocator with its first call. (This debug build defaults
 * to abort_conf:true; the program's string turns it off so that problems are only reported.)
 */
#include "arenalloc.h"
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

const char *arenalloc_malloc_conf = "abort_conf:false";

#define PREFIX "<arenalloc>: "

/* ---- children ---- */

typedef struct {
    const char *env, *env2; /* MALLOC_CONF, ARENALLOC_MALLOC_CONF (NULL: unset) */
    void (*body)(void);
} child_t;

static void child_main(void *arg) {
    const child_t *c = arg;
    unsetenv("MALLOC_CONF");
    unsetenv("ARENALLOC_MALLOC_CONF");
    if (c->env != NULL) setenv("MALLOC_CONF", c->env, 1);
    if (c->env2 != NULL) setenv("ARENALLOC_MALLOC_CONF", c->env2, 1);
    c->body();
}

static char errbuf[1 << 16];

/* Runs body in a fresh child; returns its wait status, its stderr in errbuf. */
static int child(const char *env, const char *env2, void (*body)(void)) {
    child_t c = {env, env2, body};
    return test_fork_run(child_main, &c, errbuf, sizeof(errbuf), 60);
}

static bool exited_ok(int st) { return st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0; }
static bool aborted(int st) { return st != -1 && WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT; }

#define expect_child_ok(st, env)                                                                   \
    do {                                                                                           \
        char s_[128];                                                                              \
        expect_true(exited_ok(st), "MALLOC_CONF=%s: %s; stderr:\n%s", env,                        \
                    test_status_str(st, s_, sizeof(s_)), errbuf);                                  \
    } while (0)

static bool has_line(const char *substr) {
    return test_text_has_line(errbuf, PREFIX, substr, NULL);
}

/* Allocates and frees a little of everything. */
static void body_use(void) {
    void *ps[40];
    for (int i = 0; i < 40; i++) {
        ps[i] = arenalloc_malloc((size_t)1 << (i % 20));
        assert_ptr_not_null(ps[i], "malloc(%zu)", (size_t)1 << (i % 20));
        memset(ps[i], i, (size_t)1 << (i % 20));
    }
    for (int i = 0; i < 40; i++) arenalloc_free(ps[i]);
    void *q = arenalloc_calloc(10, 100);
    q = arenalloc_realloc(q, 5000);
    assert_ptr_not_null(q, "");
    arenalloc_free(q);
}

/* ---- sources ---- */

TEST_BEGIN(test_env_is_read) {
    int st = child("confirm_conf:true,narenas:2", NULL, body_use);
    expect_child_ok(st, "confirm_conf:true,narenas:2");
    expect_true(has_line("malloc_conf #3 (string pointed to by the global variable "
                         "arenalloc_malloc_conf): \"abort_conf:false\""),
                "%s", errbuf);
    expect_true(has_line("malloc_conf #4 (value of the environment variable MALLOC_CONF): "
                         "\"confirm_conf:true,narenas:2\""),
                "%s", errbuf);
    expect_true(has_line("-- Set conf value: narenas:2"), "%s", errbuf);
    expect_true(has_line("malloc_conf #5 (value of the environment variable "
                         "ARENALLOC_MALLOC_CONF): \"\""),
                "%s", errbuf);
    expect_false(has_line("malloc_conf #2"), "the prefixed build does not read malloc_conf");

    st = child(NULL, "confirm_conf:true,narenas:3", body_use);
    expect_child_ok(st, "(unset)");
    expect_true(has_line("malloc_conf #5 (value of the environment variable "
                         "ARENALLOC_MALLOC_CONF): \"confirm_conf:true,narenas:3\""),
                "%s", errbuf);
    expect_true(has_line("-- Set conf value: narenas:3"), "%s", errbuf);

    st = child(NULL, NULL, body_use);
    expect_child_ok(st, "(unset)");
    expect_true(errbuf[0] == '\0', "no configuration, not a word: %s", errbuf);
}
TEST_END

/* narenas:n shows as: MALLOCX_ARENA(n - 1) allocates, MALLOCX_ARENA(n + 1) does not (n is the
 * huge arena of oversize_threshold). */
static unsigned want_narenas;

static void body_narenas(void) {
    void *p = arenalloc_mallocx(64, MALLOCX_ARENA(want_narenas - 1));
    expect_ptr_not_null(p, "arena %u exists", want_narenas - 1);
    if (p != NULL) arenalloc_free(p);
    errno = 0;
    void *q = arenalloc_mallocx(64, MALLOCX_ARENA(want_narenas + 1));
    expect_ptr_null(q, "no arena %u", want_narenas + 1);
    expect_d_eq(errno, ENOMEM, "");
}

TEST_BEGIN(test_env_precedence) {
    static const struct {
        const char *env, *env2;
        unsigned narenas;
    } cases[] = {
        {"narenas:1", NULL, 1},
        {"narenas:2", NULL, 2},
        {"narenas:1", "narenas:3", 3},         /* ARENALLOC_MALLOC_CONF over MALLOC_CONF */
        {"narenas:3", "narenas:1", 1},
        {"narenas:4", "tcache:true", 4},       /* key by key: untouched keys stay */
        {"narenas:2,narenas:1", NULL, 1},      /* the last occurrence wins */
        {"narenas:1", "narenas:3,narenas:default,narenas:2", 2},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        want_narenas = cases[i].narenas;
        int st = child(cases[i].env, cases[i].env2, body_narenas);
        expect_child_ok(st, cases[i].env);
        expect_true(errbuf[0] == '\0', "case %zu: %s", i, errbuf);
    }
}
TEST_END

/* ---- problems are reported by name and skipped ---- */

TEST_BEGIN(test_messages_name_the_key) {
    static const struct {
        const char *conf, *line;
    } cases[] = {
        {"bogus_key:1", "Invalid conf pair: bogus_key:1"},
        {"dirty_decay_ms:-2", "Out-of-range conf value: dirty_decay_ms:-2"},
        {"muzzy_decay_ms:soon", "Invalid conf value: muzzy_decay_ms:soon"},
        {"background_thread:yes", "Invalid conf value: background_thread:yes"},
        {"max_background_threads:all", "Invalid conf value: max_background_threads:all"},
        {"thp:sometimes", "Invalid conf value: thp:sometimes"},
        {"metadata_thp:on", "Invalid conf value: metadata_thp:on"},
        {"percpu_arena:percore", "Invalid conf value: percpu_arena:percore"},
        {"oversize_threshold:huge", "Invalid conf value: oversize_threshold:huge"},
        {"prof:true", "Invalid conf pair: prof:true"},
        {"narenas:many", "Invalid conf value: narenas:many"},
        {"tcache:yes", "Invalid conf value: tcache:yes"},
        {"junk:sometimes", "Invalid conf value: junk:sometimes"},
        {"zero_realloc:never", "Invalid conf value: zero_realloc:never"},
        {"narenas:0", "Out-of-range conf value: narenas:0"},
        {"lg_tcache_nslots_mul:100", "Out-of-range conf value: lg_tcache_nslots_mul:100"},
        {"narenas", "Conf string ends with key: narenas"},
        {"tcache:false,narenas", "Conf string ends with key: narenas"},
        {"narenas=2", "Malformed conf string: narenas=2"},
        {"tcache:true, narenas:2", "Malformed conf string:  narenas:2"},
        {"tcache:false,", "Conf string ends with comma: tcache:false,"},
        {"x:\033[31m", "Invalid conf pair: x:\\x1b[31m"}, /* control bytes are escaped */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st = child(cases[i].conf, NULL, body_use);
        expect_child_ok(st, cases[i].conf);
        char want[256];
        snprintf(want, sizeof(want), PREFIX "%s\n", cases[i].line);
        expect_ptr_not_null(strstr(errbuf, want), "MALLOC_CONF=%s: want \"%s\", got:\n%s",
                            cases[i].conf, cases[i].line, errbuf);
        /* One line per problem, nothing else. */
        unsigned nl = 0;
        for (const char *c = errbuf; *c; c++) nl += *c == '\n';
        expect_u_eq(nl, 1, "MALLOC_CONF=%s:\n%s", cases[i].conf, errbuf);
    }
}
TEST_END

static void body_skip(void) {
    void *p = arenalloc_malloc(10);
    assert_ptr_not_null(p, "");
    void *r = arenalloc_realloc(p, 0);
    expect_ptr_not_null(r, "zero_realloc:alloc, applied after the bad pairs");
    arenalloc_free(r);
    void *q = arenalloc_mallocx(8, MALLOCX_ARENA(1));
    expect_ptr_not_null(q, "narenas:2 applied");
    arenalloc_free(q);
}

static void body_malformed_stops_source(void) {
    void *p = arenalloc_malloc(10);
    expect_ptr_null(arenalloc_realloc(p, 0), "zero_realloc:alloc, after the bad pair: unread");
    void *q = arenalloc_mallocx(8, MALLOCX_ARENA(1));
    expect_ptr_not_null(q, "narenas:2, before it: applied");
    arenalloc_free(q);
    q = arenalloc_mallocx(8, MALLOCX_ARENA(2));
    expect_ptr_not_null(q, "narenas:3 from the next source: applied");
    arenalloc_free(q);
}

TEST_BEGIN(test_bad_pairs_are_skipped) {
    const char *conf = "bogus:1,narenas:2,tcache:maybe,zero_realloc:alloc,narenas:0";
    int st = child(conf, NULL, body_skip);
    expect_child_ok(st, conf);
    expect_true(has_line("Invalid conf pair: bogus:1"), "%s", errbuf);
    expect_true(has_line("Invalid conf value: tcache:maybe"), "%s", errbuf);
    expect_true(has_line("Out-of-range conf value: narenas:0"), "%s", errbuf);

    conf = "narenas:2,bad-key:1,zero_realloc:alloc";
    st = child(conf, "narenas:3", body_malformed_stops_source);
    expect_child_ok(st, conf);
    expect_true(has_line("Malformed conf string: bad-key:1,zero_realloc:alloc"), "%s", errbuf);
}
TEST_END

/* The message hook gets the lines instead of stderr. */
static char hooked[4096];
static void capture(void *opaque, const char *s) {
    (void)opaque;
    strncat(hooked, s, sizeof(hooked) - strlen(hooked) - 1);
}

static void body_hook(void) {
    arenalloc_malloc_message = capture;
    body_use();
    expect_true(strcmp(hooked, PREFIX "Invalid conf pair: nope:1\n") == 0, "hook got: %s", hooked);
}

TEST_BEGIN(test_message_hook) {
    int st = child("nope:1", NULL, body_hook);
    expect_child_ok(st, "nope:1");
    expect_true(errbuf[0] == '\0', "nothing on stderr: %s", errbuf);
}
TEST_END

/* ---- abort_conf ---- */

TEST_BEGIN(test_abort_conf) {
    static const struct {
        const char *env, *env2;
        bool dies;
    } cases[] = {
        {"abort_conf:true,bogus:1", NULL, true},
        {"bogus:1,abort_conf:true", NULL, true},      /* anywhere in the same source */
        {"bogus:1", "abort_conf:true", true},          /* a later source: the error is remembered */
        {"abort_conf:true", "narenas:0", true},        /* an error in a later source */
        {"abort_conf:true,narenas", NULL, true},       /* a syntax error */
        {"abort_conf:true,narenas:2", NULL, false},    /* no error */
        {"abort_conf:true,experimental_x:1", NULL, false}, /* tolerated, as jemalloc */
        {"bogus:1,abort_conf:false", NULL, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st = child(cases[i].env, cases[i].env2, body_use);
        char s[128];
        if (cases[i].dies) {
            expect_true(aborted(st), "%s / %s: %s", cases[i].env,
                        cases[i].env2 ? cases[i].env2 : "-", test_status_str(st, s, sizeof(s)));
            expect_true(has_line("Abort (abort_conf:true) on invalid conf value (see above)."),
                        "%s", errbuf);
        } else {
            expect_child_ok(st, cases[i].env);
        }
    }
    int st = child("abort_conf:true,tcache_max:oops", NULL, body_use);
    expect_true(aborted(st), "");
    expect_true(has_line("Invalid conf value: tcache_max:oops"), "the problem is named first: %s",
                errbuf);
}
TEST_END

/* ---- garbage never crashes ---- */

static const char *const fuzz_keys[] = {
    "abort", "confirm_conf", "retain", "narenas", "tcache", "tcache_max", "lg_tcache_max",
    "lg_tcache_nslots_mul", "tcache_nslots_small_min", "tcache_nslots_small_max",
    "tcache_nslots_large", "tcache_gc_incr_bytes", "lg_tcache_flush_small_div",
    "lg_tcache_flush_large_div", "junk", "zero", "xmalloc", "zero_realloc", "stats_print",
    "stats_print_opts", "bogus", "", "narenas_", "dirty_decay_ms", "muzzy_decay_ms",
    "experimental_q"};
static const char *const fuzz_values[] = {
    "true", "false", "0", "1", "-1", "16", "-16", "17", "0x", "0x10", "010", "08", "4294967296",
    "18446744073709551615", "18446744073709551616", "default", "alloc", "free", "Jgx", "", ":",
    "1e3", " 7", "99999", "8388608", "2048", "9223372036854775808", "-9223372036854775809"};

#define NKEYS (sizeof(fuzz_keys) / sizeof(fuzz_keys[0]))
#define NVALUES (sizeof(fuzz_values) / sizeof(fuzz_values[0]))

static char fuzz_conf[512];

static void body_fuzz(void) {
    body_use();
    exit(0); /* through atexit handlers, as a real program */
}

TEST_BEGIN(test_garbage_never_crashes) {
    test_prng_t prng;
    test_prng_init(&prng, test_seed());
    unsigned rounds = test_under_tsan() ? 40 : 200;
    for (unsigned r = 0; r < rounds; r++) {
        size_t n = 0;
        if (r % 2 == 0) { /* raw bytes */
            size_t len = 1 + test_prng_range(&prng, 200);
            while (n < len) {
                char c = (char)(1 + test_prng_range(&prng, 255));
                if (test_prng_range(&prng, 4) == 0) c = ":,_a0"[test_prng_range(&prng, 5)];
                fuzz_conf[n++] = c;
            }
        } else { /* plausible pairs, some broken */
            unsigned pairs = 1 + (unsigned)test_prng_range(&prng, 8);
            for (unsigned i = 0; i < pairs && n < 400; i++) {
                const char *k = fuzz_keys[test_prng_range(&prng, NKEYS)];
                const char *v = fuzz_values[test_prng_range(&prng, NVALUES)];
                const char *sep = test_prng_range(&prng, 10) == 0 ? "" : ":";
                const char *end = i + 1 < pairs ? "," : test_prng_range(&prng, 5) == 0 ? "," : "";
                n += (size_t)snprintf(fuzz_conf + n, sizeof(fuzz_conf) - n, "%s%s%s%s", k, sep, v,
                                      end);
            }
        }
        fuzz_conf[n] = '\0';
        int st = child(fuzz_conf, r % 3 == 0 ? fuzz_conf : NULL, body_fuzz);
        char s[128];
        expect_true(exited_ok(st), "round %u, MALLOC_CONF \"%s\": %s; stderr:\n%s", r, fuzz_conf,
                    test_status_str(st, s, sizeof(s)), errbuf);
        if (!exited_ok(st)) break;
    }
}
TEST_END

/* ---- effects ---- */

/* Does another thread get the block this thread just freed? (With one arena, a block that goes
 * back to the arena is the first free region of its slab; a cached one stays here.) */
static size_t handoff_size;

static void *other_malloc(void *arg) {
    *(void **)arg = arenalloc_malloc(handoff_size);
    return NULL;
}

static bool handed_off(size_t size) {
    handoff_size = size;
    void *p = arenalloc_malloc(size);
    assert_ptr_not_null(p, "");
    arenalloc_free(p);
    void *q = NULL;
    pthread_t t;
    test_thread_create(&t, other_malloc, &q);
    test_thread_join(t, NULL);
    assert_ptr_not_null(q, "");
    arenalloc_free(q);
    return q == p;
}

static void body_cached(void) {
    expect_false(handed_off(48), "freed into this thread's cache");
    expect_false(handed_off(8192), "");
}

static void body_uncached(void) {
    expect_true(handed_off(48), "no cache: straight back to the arena");
    expect_true(handed_off(8192), "");
}

static void body_tcache_max_4096(void) {
    expect_false(handed_off(4096), "4096 is cached");
    expect_true(handed_off(8192), "8192 is above tcache_max");
}

TEST_BEGIN(test_tcache_options) {
    int st = child("narenas:1", NULL, body_cached);
    expect_child_ok(st, "narenas:1");
    st = child("narenas:1,tcache:false", NULL, body_uncached);
    expect_child_ok(st, "narenas:1,tcache:false");
    st = child("narenas:1,tcache_max:4096", NULL, body_tcache_max_4096);
    expect_child_ok(st, "narenas:1,tcache_max:4096");
    st = child("narenas:1,tcache_max:0", NULL, body_uncached);
    expect_child_ok(st, "narenas:1,tcache_max:0");
}
TEST_END

static void body_realloc_free(void) {
    void *p = arenalloc_malloc(100);
    assert_ptr_not_null(p, "");
    expect_ptr_null(arenalloc_realloc(p, 0), "zero_realloc:free");
}

static void body_realloc_alloc(void) {
    void *p = arenalloc_malloc(100);
    assert_ptr_not_null(p, "");
    memset(p, 0x77, 100);
    unsigned char *r = arenalloc_realloc(p, 0);
    assert_ptr_not_null(r, "zero_realloc:alloc returns a minimal object");
    expect_zu_ge(arenalloc_malloc_usable_size(r), 1, "");
    expect_zu_le(arenalloc_malloc_usable_size(r), 16, "");
    expect_d_eq(r[0], 0x77, "the first byte is kept (realloc to 1)");
    arenalloc_free(r);
    void *big = arenalloc_malloc(1 << 20);
    r = arenalloc_realloc(big, 0);
    expect_ptr_not_null(r, "");
    arenalloc_free(r);
    expect_ptr_not_null(r = arenalloc_realloc(NULL, 0), "realloc(NULL, 0) is malloc(0)");
    arenalloc_free(r);
}

static void body_realloc_abort(void) {
    void *p = arenalloc_malloc(100);
    arenalloc_realloc(p, 0);
}

TEST_BEGIN(test_zero_realloc) {
    int st = child(NULL, NULL, body_realloc_free);
    expect_child_ok(st, "(unset)");
    st = child("zero_realloc:free", NULL, body_realloc_free);
    expect_child_ok(st, "zero_realloc:free");
    st = child("zero_realloc:alloc", NULL, body_realloc_alloc);
    expect_child_ok(st, "zero_realloc:alloc");
    st = child("zero_realloc:abort", NULL, body_realloc_abort);
    expect_true(aborted(st), "");
    expect_true(has_line("realloc(): size 0 with zero_realloc:abort"), "%s", errbuf);
}
TEST_END

static void xm_malloc(void) { arenalloc_malloc(SIZE_MAX); }
static void xm_calloc(void) { arenalloc_calloc(SIZE_MAX / 2, 3); }
static void xm_realloc(void) { arenalloc_realloc(arenalloc_malloc(1), SIZE_MAX - 4096); }
static void xm_mallocx(void) { arenalloc_mallocx((size_t)1 << 62, MALLOCX_ALIGN(4096)); }
static void xm_rallocx(void) { arenalloc_rallocx(arenalloc_malloc(1), SIZE_MAX, 0); }
static void xm_aligned(void) { arenalloc_aligned_alloc(64, SIZE_MAX - 100); }
static void xm_posix_memalign(void) {
    void *p;
    arenalloc_posix_memalign(&p, 3, 8);
}
static void xm_arena(void) { arenalloc_mallocx(8, MALLOCX_ARENA(4000)); }

static void xm_off(void) {
    errno = 0;
    expect_ptr_null(arenalloc_malloc(SIZE_MAX), "");
    expect_d_eq(errno, ENOMEM, "");
    void *p;
    expect_d_eq(arenalloc_posix_memalign(&p, 3, 8), EINVAL, "");
}

TEST_BEGIN(test_xmalloc) {
    static const struct {
        void (*body)(void);
        const char *line;
    } cases[] = {
        {xm_malloc, "Error in malloc(): out of memory"},
        {xm_calloc, "Error in calloc(): out of memory"},
        {xm_realloc, "Error in realloc(): out of memory"},
        {xm_mallocx, "Error in mallocx(): out of memory"},
        {xm_rallocx, "Error in rallocx(): out of memory"},
        {xm_aligned, "Error in aligned_alloc(): out of memory"},
        {xm_posix_memalign, "Error in posix_memalign(): invalid alignment"},
        {xm_arena, "Error in mallocx(): out of memory"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int st = child("xmalloc:true", NULL, cases[i].body);
        char s[128];
        expect_true(aborted(st), "case %zu: %s", i, test_status_str(st, s, sizeof(s)));
        expect_true(has_line(cases[i].line), "case %zu: want \"%s\" in:\n%s", i, cases[i].line,
                    errbuf);
    }
    int st = child("xmalloc:false", NULL, xm_off);
    expect_child_ok(st, "xmalloc:false");
}
TEST_END

/* ---- junk and zero (this is the debug build: fast paths included) ---- */

static const size_t fill_sizes[] = {8, 48, 100, 1024, 4096, 8192, 20000, 100000, 1 << 20};
#define NFILL (sizeof(fill_sizes) / sizeof(fill_sizes[0]))

/* Every byte of p[0, n) is c. */
static bool all(const void *p, size_t n, unsigned char c) {
    return test_find_not(p, n, c) == SIZE_MAX;
}

/* What the first allocation of each size holds, what its block holds right after free (read
 * through the dangling pointer: cached blocks stay mapped and untouched), and what the next
 * allocation of the size in this thread holds (the same block, from the cache: sizes up to
 * tcache_max only -- larger blocks go back to the page allocator). */
static int want_alloc, want_free, want_reuse; /* -1: do not check */

static void body_fill(void) {
    for (size_t i = 0; i < NFILL; i++) {
        size_t n = fill_sizes[i];
        for (int round = 0; round < 3; round++) { /* first from the arena, then from the cache */
            unsigned char *p = arenalloc_malloc(n);
            assert_ptr_not_null(p, "");
            if (want_alloc >= 0 && round == 0) {
                expect_true(all(p, n, (unsigned char)want_alloc), "size %zu: new block", n);
            }
            if (want_reuse >= 0 && round > 0 && n <= 32768) {
                expect_true(all(p, n, (unsigned char)want_reuse), "size %zu: reused block", n);
            }
            memset(p, 0x11, n);
            arenalloc_free(p);
            if (want_free >= 0 && n <= 32768) {
                expect_true(all(p, n, (unsigned char)want_free), "size %zu: after free", n);
            }
        }
        /* The same block again through mallocx. */
        unsigned char *q = arenalloc_mallocx(n, 0);
        assert_ptr_not_null(q, "");
        if (want_reuse >= 0 && n <= 32768) {
            expect_true(all(q, n, (unsigned char)want_reuse), "mallocx(%zu)", n);
        }
        arenalloc_free(q);
    }
    /* Growth in place or by moving: the new bytes. */
    unsigned char *r = arenalloc_malloc(64 << 10);
    memset(r, 0x11, 64 << 10);
    r = arenalloc_realloc(r, 256 << 10);
    assert_ptr_not_null(r, "");
    expect_true(all(r, 64 << 10, 0x11), "old bytes kept");
    if (want_alloc >= 0) {
        expect_true(all(r + (64 << 10), 192 << 10, (unsigned char)want_alloc), "new bytes");
    }
    arenalloc_free(r);
}

TEST_BEGIN(test_junk_and_zero) {
    static const struct {
        const char *conf;
        int alloc, free, reuse;
    } cases[] = {
        {NULL, 0xa5, 0x5a, 0xa5},           /* the debug build's default: junk:true */
        {"junk:true", 0xa5, 0x5a, 0xa5},
        {"junk:alloc", 0xa5, 0x11, 0xa5},
        {"junk:free", -1, 0x5a, 0x5a},
        {"junk:false", -1, 0x11, 0x11},
        {"zero:true", 0, 0x5a, 0},          /* zeroed, freed blocks still junked */
        {"zero:true,junk:false", 0, 0x11, 0},
        {"zero:true,junk:alloc", 0, 0x11, 0}, /* zero wins over junk on allocation */
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        want_alloc = cases[i].alloc;
        want_free = cases[i].free;
        want_reuse = cases[i].reuse;
        int st = child(cases[i].conf, NULL, body_fill);
        expect_child_ok(st, cases[i].conf ? cases[i].conf : "(unset)");
    }
}
TEST_END

static void body_stats_print(void) {
    body_use();
    exit(0); /* the atexit report (a no-op until malloc_stats_print exists) must not crash */
}

TEST_BEGIN(test_stats_print) {
    int st = child("stats_print:true,stats_print_opts:Jgq", NULL, body_stats_print);
    expect_child_ok(st, "stats_print:true");
    expect_false(has_line("Invalid"), "%s", errbuf);
}
TEST_END

/* Every option, valid, in one string: no complaint, each echoed by confirm_conf. */
TEST_BEGIN(test_all_options_accepted) {
    static const char *const pairs[] = {
        "abort:false", "abort_conf:false", "retain:true", "narenas:3", "tcache:true",
        "tcache_max:16384", "lg_tcache_max:14", "lg_tcache_nslots_mul:2",
        "tcache_nslots_small_min:10", "tcache_nslots_small_max:100", "tcache_nslots_large:10",
        "tcache_gc_incr_bytes:32768", "lg_tcache_flush_small_div:2", "lg_tcache_flush_large_div:2",
        "junk:false", "zero:false", "xmalloc:false", "zero_realloc:free", "stats_print:false",
        "stats_print_opts:J", "confirm_conf:true"};
    char conf[1024] = "";
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        if (i > 0) strcat(conf, ",");
        strcat(conf, pairs[i]);
    }
    int st = child(conf, NULL, body_use);
    expect_child_ok(st, conf);
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        char want[128];
        snprintf(want, sizeof(want), "-- Set conf value: %s", pairs[i]);
        expect_true(has_line(want), "%s in:\n%s", want, errbuf);
    }
    expect_false(has_line("Invalid"), "%s", errbuf);
}
TEST_END

int main(void) {
    return run_tests(test_env_is_read, test_env_precedence, test_messages_name_the_key,
                     test_bad_pairs_are_skipped, test_message_hook, test_abort_conf,
                     test_garbage_never_crashes, test_tcache_options, test_zero_realloc,
                     test_xmalloc, test_junk_and_zero, test_stats_print, test_all_options_accepted);
}
