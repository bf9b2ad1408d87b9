/*
 * Unit tests for conf (the configuration string), white-box:
 *   - the defaults of every option (jemalloc 5.3's; abort, abort_conf and junk on in this debug
 *     build);
 *   - conf_init_sources on explicit sources: the baked-in string (#1) is applied first and every
 *     later source overrides it, in the order #1 < #2 < #3 < #4 < #5;
 *   - every key lands in its variable with its type; numbers in base 0; what is invalid and
 *     what is out of range per key; the keys jemalloc clips are clamped silently;
 *   - confirm_conf is read before anything is echoed; the echo names every source;
 *   - each option's effect on the allocator's internals after a real boot from MALLOC_CONF:
 *     narenas -> narenas_auto, tcache_max / lg_tcache_max -> tcache_maxclass and tcache_nbins,
 *     tcache_nslots_* and lg_tcache_nslots_mul -> bin capacities, lg_tcache_flush_*_div -> what a
 *     full bin keeps, tcache_gc_incr_bytes -> the event countdown, tcache:false -> threads
 *     without a cache, zero -> every allocation an event, retain -> the default dalloc hook,
 *     dirty_decay_ms / muzzy_decay_ms -> arena 0's decay machines and the default of new arenas,
 *     oversize_threshold -> the huge arena (or none), percpu_arena -> narenas and placement.
 * The parent process never calls into arenalloc: each case runs in a forked child that starts
 * from the options' static defaults and boots the allocator (if at all) from its own environment.
 */
#define _GNU_SOURCE /* sched_getcpu, sched_setaffinity */
#include "test.h"

#include <limits.h>
#include <sched.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

#include "arenalloc.h"
#include "conf.h"
#include "platform.h"

#define PREFIX "<arenalloc>: "

/* ---- children ---- */

typedef struct {
    const char *env;  /* MALLOC_CONF, or NULL for unset */
    const char *env2; /* ARENALLOC_MALLOC_CONF, or NULL for unset */
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

/* Runs body in a fresh child with that environment; true if it exited 0 (else a failure is
 * recorded, showing the child's stderr). The child's stderr is left in errbuf. */
#define run_child(env, env2, body) run_child_(__FILE__, __LINE__, env, env2, body)
static bool run_child_(const char *file, int line, const char *env, const char *env2,
                       void (*body)(void)) {
    child_t c = {env, env2, body};
    int st = test_fork_run(child_main, &c, errbuf, sizeof(errbuf), 60);
    if (st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0) return true;
    char s[128];
    test_fail_(file, line, false, "child failed", " MALLOC_CONF=%s: %s; its stderr:\n%s",
               env ? env : "(unset)", test_status_str(st, s, sizeof(s)), errbuf);
    return false;
}

static bool has_line(const char *substr) {
    return test_text_has_line(errbuf, PREFIX, substr, NULL);
}

/* Applies s as the only source (#4, MALLOC_CONF's slot) without booting anything. */
static void apply(const char *s) {
    const char *srcs[CONF_NSOURCES] = {NULL, NULL, NULL, s, NULL};
    conf_init_sources(srcs);
}

/* ---- defaults ---- */

static void body_defaults(void) {
    expect_str_eq(config_malloc_conf, "", "nothing baked into the test build");
    expect_true(opt_abort == config_debug, "abort: true in the debug build only");
    expect_true(opt_abort_conf == config_debug, "abort_conf: true in the debug build only");
    expect_false(opt_confirm_conf, "");
    expect_true(opt_retain, "retain: true on 64-bit Linux");
    expect_u_eq(opt_narenas, 0, "narenas: computed at boot");
    expect_zd_eq(opt_dirty_decay_ms, 10000, "");
    expect_zd_eq(opt_muzzy_decay_ms, 0, "jemalloc 5.3's code (its man page says 10 s)");
    expect_true(opt_background_thread, "on by default (arenalloc; jemalloc: off)");
    expect_zu_eq(opt_max_background_threads, 4, "jemalloc's");
    expect_true(opt_tcache, "");
    expect_zu_eq(opt_tcache_max, 32768, "");
    expect_u_eq(opt_tcache_nslots_small_min, 20, "");
    expect_u_eq(opt_tcache_nslots_small_max, 200, "");
    expect_u_eq(opt_tcache_nslots_large, 20, "");
    expect_zd_eq(opt_lg_tcache_nslots_mul, 1, "");
    expect_zu_eq(opt_tcache_gc_incr_bytes, 65536, "");
    expect_u_eq(opt_lg_tcache_flush_small_div, 1, "");
    expect_u_eq(opt_lg_tcache_flush_large_div, 1, "");
    expect_str_eq(opt_junk, config_debug ? "true" : "false", "");
    expect_true(opt_junk_alloc == config_debug && opt_junk_free == config_debug, "");
    expect_false(opt_zero, "");
    expect_false(opt_xmalloc, "");
    expect_str_eq(opt_zero_realloc, "free", "");
    expect_d_eq(opt_zero_realloc_action, ZERO_REALLOC_FREE, "");
    expect_false(opt_stats_print, "");
    expect_str_eq(opt_stats_print_opts, "", "");
    expect_str_eq(opt_thp, "default", "");
    expect_d_eq(opt_thp_mode, THP_DEFAULT, "");
    expect_str_eq(opt_metadata_thp, "disabled", "");
    expect_d_eq(opt_metadata_thp_mode, METADATA_THP_DISABLED, "");
    expect_zu_eq(opt_oversize_threshold, (size_t)8 << 20, "");
    expect_str_eq(opt_percpu_arena, "disabled", "");
    expect_d_eq(opt_percpu_arena_mode, PERCPU_DISABLED, "");
    /* A boot with no configuration changes none of them, and computes narenas. */
    void *p = arenalloc_malloc(1);
    assert_ptr_not_null(p, "");
    arenalloc_free(p);
    expect_u_eq(opt_narenas, narenas_auto, "opt.narenas reads the computed value");
    expect_u_ge(narenas_auto, 1, "");
    expect_zu_eq(opt_tcache_max, 32768, "");
    expect_false(tsd_event_per_alloc, "");
}

TEST_BEGIN(test_defaults) {
    run_child(NULL, NULL, body_defaults);
    expect_true(errbuf[0] == '\0', "no configuration, no message: %s", errbuf);
}
TEST_END

/* ---- sources and precedence ---- */

static void body_precedence(void) {
    /* The baked-in string alone. */
    const char *a[CONF_NSOURCES] = {"narenas:5,tcache:false,zero_realloc:alloc", NULL, NULL, NULL,
                                    NULL};
    conf_init_sources(a);
    expect_u_eq(opt_narenas, 5, "");
    expect_false(opt_tcache, "");
    expect_str_eq(opt_zero_realloc, "alloc", "");
    /* Every later source overrides an earlier one, key by key. */
    const char *b[CONF_NSOURCES] = {"narenas:1,xmalloc:true,tcache_max:100", "narenas:2,zero:true",
                                    "narenas:3,junk:free", "narenas:4,tcache_max:200",
                                    "narenas:6"};
    conf_init_sources(b);
    expect_u_eq(opt_narenas, 6, "#5 (ARENALLOC_MALLOC_CONF) wins");
    expect_true(opt_xmalloc, "set only by #1");
    expect_true(opt_zero, "set only by #2");
    expect_str_eq(opt_junk, "free", "set only by #3");
    expect_zu_eq(opt_tcache_max, 200, "#4 over #1");
    const char *c[CONF_NSOURCES] = {"narenas:1", NULL, "narenas:3", "narenas:4", NULL};
    conf_init_sources(c);
    expect_u_eq(opt_narenas, 4, "MALLOC_CONF over the program's variable");
    const char *d[CONF_NSOURCES] = {"narenas:1", "narenas:2", "narenas:3", NULL, NULL};
    conf_init_sources(d);
    expect_u_eq(opt_narenas, 3, "arenalloc_malloc_conf over malloc_conf");
    const char *e[CONF_NSOURCES] = {"narenas:7", NULL, NULL, NULL, NULL};
    conf_init_sources(e);
    expect_u_eq(opt_narenas, 7, "");
    /* Within one source, the last occurrence wins. */
    apply("narenas:2,narenas:9,narenas:default");
    expect_u_eq(opt_narenas, 0, "narenas:default");
}

TEST_BEGIN(test_precedence) {
    run_child(NULL, NULL, body_precedence);
    expect_true(errbuf[0] == '\0', "%s", errbuf);
}
TEST_END

static void body_confirm(void) {
    const char *s[CONF_NSOURCES] = {"tcache:true", "narenas:2", "narenas:3",
                                    "narenas:4,confirm_conf:true", ""};
    conf_init_sources(s);
}

TEST_BEGIN(test_confirm_conf) {
    run_child(NULL, NULL, body_confirm);
    /* confirm_conf in #4 is read before #1 is echoed. */
    expect_true(has_line("malloc_conf #1 (string baked in at build time, ARENALLOC_MALLOC_CONF): "
                         "\"tcache:true\""),
                "%s", errbuf);
    expect_true(has_line("malloc_conf #2 (string pointed to by the global variable malloc_conf): "
                         "\"narenas:2\""),
                "a source given explicitly is echoed even in the prefixed build: %s", errbuf);
    expect_true(has_line("malloc_conf #3 (string pointed to by the global variable "
                         "arenalloc_malloc_conf): \"narenas:3\""),
                "%s", errbuf);
    expect_true(has_line("malloc_conf #4 (value of the environment variable MALLOC_CONF): "
                         "\"narenas:4,confirm_conf:true\""),
                "%s", errbuf);
    expect_true(has_line("malloc_conf #5 (value of the environment variable "
                         "ARENALLOC_MALLOC_CONF): \"\""),
                "%s", errbuf);
    expect_true(has_line("-- Set conf value: tcache:true"), "%s", errbuf);
    expect_true(has_line("-- Set conf value: narenas:4"), "%s", errbuf);
    expect_true(has_line("-- Set conf value: confirm_conf:true"), "%s", errbuf);
    /* In order: #1's pair before #2's echo. */
    const char *x = strstr(errbuf, "tcache:true\n"), *y = strstr(errbuf, "malloc_conf #2");
    expect_true(x != NULL && y != NULL && x < y, "%s", errbuf);
}
TEST_END

/* ---- every key, its type and its range ---- */

static void body_keys(void) {
    apply("abort:false,abort_conf:false,confirm_conf:false,retain:false,narenas:17,tcache:false,"
          "tcache_max:4096,lg_tcache_nslots_mul:-3,tcache_nslots_small_min:7,"
          "tcache_nslots_small_max:99,tcache_nslots_large:5,tcache_gc_incr_bytes:0x10000,"
          "lg_tcache_flush_small_div:3,lg_tcache_flush_large_div:4,junk:alloc,zero:true,"
          "xmalloc:true,zero_realloc:abort,stats_print:true,stats_print_opts:Jgx,"
          "dirty_decay_ms:-1,muzzy_decay_ms:18446744072000");
    expect_false(opt_abort, "");
    expect_zd_eq(opt_dirty_decay_ms, -1, "");
    expect_zd_eq(opt_muzzy_decay_ms, 18446744072000, "the largest");
    expect_false(opt_abort_conf, "");
    expect_false(opt_retain, "");
    expect_u_eq(opt_narenas, 17, "");
    expect_false(opt_tcache, "");
    expect_zu_eq(opt_tcache_max, 4096, "");
    expect_zd_eq(opt_lg_tcache_nslots_mul, -3, "");
    expect_u_eq(opt_tcache_nslots_small_min, 7, "");
    expect_u_eq(opt_tcache_nslots_small_max, 99, "");
    expect_u_eq(opt_tcache_nslots_large, 5, "");
    expect_zu_eq(opt_tcache_gc_incr_bytes, 65536, "hex");
    expect_u_eq(opt_lg_tcache_flush_small_div, 3, "");
    expect_u_eq(opt_lg_tcache_flush_large_div, 4, "");
    expect_str_eq(opt_junk, "alloc", "");
    expect_true(opt_junk_alloc && !opt_junk_free, "");
    expect_true(opt_zero, "");
    expect_true(opt_xmalloc, "");
    expect_str_eq(opt_zero_realloc, "abort", "");
    expect_d_eq(opt_zero_realloc_action, ZERO_REALLOC_ABORT, "");
    expect_true(opt_stats_print, "");
    expect_str_eq(opt_stats_print_opts, "Jgx", "");

    apply("junk:true");
    expect_true(opt_junk_alloc && opt_junk_free, "");
    apply("junk:free");
    expect_true(!opt_junk_alloc && opt_junk_free, "");
    apply("junk:false");
    expect_true(!opt_junk_alloc && !opt_junk_free, "");
    apply("zero_realloc:alloc");
    expect_d_eq(opt_zero_realloc_action, ZERO_REALLOC_ALLOC, "");
    apply("zero_realloc:free");
    expect_d_eq(opt_zero_realloc_action, ZERO_REALLOC_FREE, "");
    apply("lg_tcache_max:12");
    expect_zu_eq(opt_tcache_max, 4096, "lg_tcache_max sets tcache_max");
    apply("stats_print_opts:JJqx!m,stats_print_opts:bal");
    expect_str_eq(opt_stats_print_opts, "bal", "unknown and repeated characters dropped; replaced");
    apply("stats_print_opts:");
    expect_str_eq(opt_stats_print_opts, "", "");
    apply("dirty_decay_ms:0,muzzy_decay_ms:0x10");
    expect_zd_eq(opt_dirty_decay_ms, 0, "");
    expect_zd_eq(opt_muzzy_decay_ms, 16, "");
}

TEST_BEGIN(test_keys) {
    run_child(NULL, NULL, body_keys);
    expect_true(errbuf[0] == '\0', "every pair valid: %s", errbuf);
}
TEST_END

/* Base-0 numbers: what is accepted and how it reads. */
static void body_numbers(void) {
    static const struct {
        const char *s;
        unsigned want;
    } ok[] = {{"narenas:10", 10},   {"narenas:0x1f", 31}, {"narenas:0X1F", 31},
              {"narenas:017", 15},  {"narenas:+5", 5},    {"narenas: 6", 6},
              {"narenas:\t7", 7},   {"narenas:4294967295", UINT_MAX}};
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        apply("narenas:1");
        apply(ok[i].s);
        expect_u_eq(opt_narenas, ok[i].want, "%s", ok[i].s);
    }
    apply("lg_tcache_nslots_mul:-16");
    expect_zd_eq(opt_lg_tcache_nslots_mul, -16, "");
    apply("lg_tcache_nslots_mul:-0x10");
    expect_zd_eq(opt_lg_tcache_nslots_mul, -16, "");
    apply("lg_tcache_nslots_mul:+16");
    expect_zd_eq(opt_lg_tcache_nslots_mul, 16, "");
}

TEST_BEGIN(test_numbers) {
    run_child(NULL, NULL, body_numbers);
    expect_true(errbuf[0] == '\0', "%s", errbuf);
}
TEST_END

/* Each entry: the pair, and the message it must produce (the variable stays as it was). */
static const struct {
    const char *pair, *msg;
} bad[] = {
    {"narenas:", "Invalid conf value: narenas:"},
    {"narenas:x", "Invalid conf value: narenas:x"},
    {"narenas:0x", "Invalid conf value: narenas:0x"},
    {"narenas:08", "Invalid conf value: narenas:08"},
    {"narenas:5 ", "Invalid conf value: narenas:5 "},
    {"narenas:-1", "Invalid conf value: narenas:-1"},
    {"narenas:1e3", "Invalid conf value: narenas:1e3"},
    {"narenas:99999999999999999999", "Invalid conf value: narenas:99999999999999999999"},
    {"narenas:0", "Out-of-range conf value: narenas:0"},
    {"narenas:4294967296", "Out-of-range conf value: narenas:4294967296"},
    {"narenas:Default", "Invalid conf value: narenas:Default"},
    {"tcache:TRUE", "Invalid conf value: tcache:TRUE"},
    {"tcache:1", "Invalid conf value: tcache:1"},
    {"tcache:", "Invalid conf value: tcache:"},
    {"zero:yes", "Invalid conf value: zero:yes"},
    {"junk:maybe", "Invalid conf value: junk:maybe"},
    {"zero_realloc:never", "Invalid conf value: zero_realloc:never"},
    {"lg_tcache_nslots_mul:17", "Out-of-range conf value: lg_tcache_nslots_mul:17"},
    {"lg_tcache_nslots_mul:-17", "Out-of-range conf value: lg_tcache_nslots_mul:-17"},
    {"lg_tcache_nslots_mul:9223372036854775808",
     "Out-of-range conf value: lg_tcache_nslots_mul:9223372036854775808"},
    {"tcache_max:-1", "Invalid conf value: tcache_max:-1"},
    {"lg_tcache_max:x", "Invalid conf value: lg_tcache_max:x"},
    {"tcache_gc_incr_bytes:lots", "Invalid conf value: tcache_gc_incr_bytes:lots"},
    {"Narenas:1", "Invalid conf pair: Narenas:1"},
    {"narenas_ratio:2", "Invalid conf pair: narenas_ratio:2"},
    {"dirty_decay_ms:-2", "Out-of-range conf value: dirty_decay_ms:-2"},
    {"dirty_decay_ms:18446744072001", "Out-of-range conf value: dirty_decay_ms:18446744072001"},
    {"dirty_decay_ms:9223372036854775808",
     "Out-of-range conf value: dirty_decay_ms:9223372036854775808"},
    {"dirty_decay_ms:never", "Invalid conf value: dirty_decay_ms:never"},
    {"dirty_decay_ms:1.5", "Invalid conf value: dirty_decay_ms:1.5"},
    {"muzzy_decay_ms:-100", "Out-of-range conf value: muzzy_decay_ms:-100"},
    {"muzzy_decay_ms:", "Invalid conf value: muzzy_decay_ms:"},
    {"background_thread:1", "Invalid conf value: background_thread:1"},
    {"max_background_threads:-1", "Invalid conf value: max_background_threads:-1"},
    {"max_background_threads:four", "Invalid conf value: max_background_threads:four"},
    {"thp:Always", "Invalid conf value: thp:Always"},
    {"thp:", "Invalid conf value: thp:"},
    {"metadata_thp:true", "Invalid conf value: metadata_thp:true"},
    {"percpu_arena:percore", "Invalid conf value: percpu_arena:percore"},
    {"oversize_threshold:big", "Invalid conf value: oversize_threshold:big"},
    {"oversize_threshold:-1", "Invalid conf value: oversize_threshold:-1"},
    {"oversize_threshold:0x7000000000000001",
     "Out-of-range conf value: oversize_threshold:0x7000000000000001"},
    {"prof:true", "Invalid conf pair: prof:true"},
    {"prof_prefix:jeprof", "Invalid conf pair: prof_prefix:jeprof"},
    {"dss:primary", "Invalid conf pair: dss:primary"},
    {":1", "Invalid conf pair: :1"},
};
#define NBAD (sizeof(bad) / sizeof(bad[0]))

static void body_bad(void) {
    apply("abort_conf:false,narenas:3,tcache:false,zero:false,junk:false,zero_realloc:alloc,"
          "lg_tcache_nslots_mul:2,tcache_max:1000,tcache_gc_incr_bytes:5000,dirty_decay_ms:777,"
          "muzzy_decay_ms:-1");
    apply("thp:never,metadata_thp:auto,percpu_arena:phycpu,oversize_threshold:1048576");
    for (size_t i = 0; i < NBAD; i++) apply(bad[i].pair);
    expect_str_eq(opt_thp, "never", "");
    expect_str_eq(opt_metadata_thp, "auto", "");
    expect_str_eq(opt_percpu_arena, "phycpu", "");
    expect_zu_eq(opt_oversize_threshold, 1048576, "");
    expect_zd_eq(opt_dirty_decay_ms, 777, "");
    expect_zd_eq(opt_muzzy_decay_ms, -1, "");
    expect_u_eq(opt_narenas, 3, "bad values leave the option as it was");
    expect_false(opt_tcache, "");
    expect_false(opt_zero, "");
    expect_str_eq(opt_junk, "false", "");
    expect_str_eq(opt_zero_realloc, "alloc", "");
    expect_zd_eq(opt_lg_tcache_nslots_mul, 2, "");
    expect_zu_eq(opt_tcache_max, 1000, "");
    expect_zu_eq(opt_tcache_gc_incr_bytes, 5000, "");
}

TEST_BEGIN(test_bad_values) {
    run_child(NULL, NULL, body_bad);
    for (size_t i = 0; i < NBAD; i++) {
        char want[256];
        snprintf(want, sizeof(want), PREFIX "%s\n", bad[i].msg);
        expect_ptr_not_null(strstr(errbuf, want), "want a line \"%s\" in:\n%s", bad[i].msg, errbuf);
    }
}
TEST_END

/* The keys jemalloc clips: clamped into range, silently. */
static void body_clip(void) {
    apply("tcache_max:99999999999");
    expect_zu_eq(opt_tcache_max, TCACHE_MAXCLASS_LIMIT, "");
    apply("tcache_max:0");
    expect_zu_eq(opt_tcache_max, 0, "");
    apply("lg_tcache_max:40");
    expect_zu_eq(opt_tcache_max, (size_t)8 << 20, "");
    apply("lg_tcache_max:0");
    expect_zu_eq(opt_tcache_max, 1, "");
    apply("tcache_nslots_small_min:0,tcache_nslots_small_max:5000,tcache_nslots_large:0x100000");
    expect_u_eq(opt_tcache_nslots_small_min, 1, "");
    expect_u_eq(opt_tcache_nslots_small_max, 2048, "");
    expect_u_eq(opt_tcache_nslots_large, 2048, "");
    apply("tcache_gc_incr_bytes:1");
    expect_zu_eq(opt_tcache_gc_incr_bytes, 1024, "");
    apply("tcache_gc_incr_bytes:0xffffffffffffffff");
    expect_zu_eq(opt_tcache_gc_incr_bytes, SIZE_MAX, "");
    apply("lg_tcache_flush_small_div:0,lg_tcache_flush_large_div:99");
    expect_u_eq(opt_lg_tcache_flush_small_div, 1, "");
    expect_u_eq(opt_lg_tcache_flush_large_div, 16, "");
    apply("max_background_threads:0");
    expect_zu_eq(opt_max_background_threads, 1, "");
    apply("max_background_threads:1000");
    expect_zu_eq(opt_max_background_threads, BACKGROUND_THREADS_LIMIT, "");
    apply("max_background_threads:4,background_thread:false");
    expect_zu_eq(opt_max_background_threads, 4, "");
    expect_false(opt_background_thread, "");
    apply("background_thread:true");
    expect_true(opt_background_thread, "");
}

TEST_BEGIN(test_clip) {
    run_child(NULL, NULL, body_clip);
    expect_true(errbuf[0] == '\0', "clipping is silent: %s", errbuf);
}
TEST_END

/* ---- effects, after a boot from MALLOC_CONF ---- */

static void boot(void) {
    void *p = arenalloc_malloc(1);
    assert_ptr_not_null(p, "boot allocation");
    arenalloc_free(p);
}

static void body_narenas3(void) {
    boot();
    expect_u_eq(opt_narenas, 3, "");
    expect_u_eq(narenas_auto, 3, "");
    expect_ptr_not_null(arena_get(2, true), "");
    expect_u_eq(arena_huge_ind, 3, "the huge arena comes after the automatic ones");
    expect_u_eq(arena_narenas(), 4, "");
    expect_ptr_null(arena_get(4, true), "no arena 4");
}

static void body_narenas_huge(void) {
    boot();
    expect_u_eq(opt_narenas, 100000, "the option reads as given");
    expect_u_eq(narenas_auto, ARENAS_MAX, "capped");
}

TEST_BEGIN(test_narenas) {
    run_child("narenas:3", NULL, body_narenas3);
    run_child("narenas:100000", NULL, body_narenas_huge);
    expect_true(has_line("Reducing narenas to limit (4095)"), "%s", errbuf);
}
TEST_END

static size_t want_maxclass;

static void body_tcache_max(void) {
    boot();
    expect_zu_eq(tcache_maxclass, want_maxclass, "");
    unsigned nbins = want_maxclass == 0 ? 0 : (unsigned)sz_size2index(want_maxclass) + 1;
    expect_u_eq(tcache_nbins, nbins, "");
    tsd_t *tsd = tsd_get();
    for (szind_t i = 0; i < TCACHE_NBINS_MAX; i++) {
        unsigned cap = tsd->tcache.bins[i].ncached_max;
        if (i < nbins) expect_u_eq(cap, tcache_bin_capacity(i), "bin %zu", i);
        else expect_u_eq(cap, 0, "bin %zu beyond tcache_max", i);
    }
    if (nbins == 0) {
        expect_ptr_null(tsd->tcache.slots, "nothing to cache: no stack memory");
        expect_false(tsd_tcache_usable(tsd), "");
    }
    /* The allocator works whatever the geometry. */
    void *ps[64];
    for (int i = 0; i < 64; i++) {
        ps[i] = arenalloc_malloc((size_t)1 << (i % 18));
        assert_ptr_not_null(ps[i], "");
    }
    for (int i = 0; i < 64; i++) arenalloc_free(ps[i]);
}

TEST_BEGIN(test_tcache_max) {
    static const struct {
        const char *conf;
        size_t maxclass;
    } cases[] = {{"tcache_max:4096", 4096},       {"tcache_max:5000", 5120},
                 {"tcache_max:1", 8},             {"tcache_max:0", 0},
                 {"lg_tcache_max:16", 65536},     {"tcache_max:8388608", (size_t)8 << 20},
                 {"lg_tcache_max:99", (size_t)8 << 20}, {"tcache_max:14336", 14336}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        want_maxclass = cases[i].maxclass;
        run_child(cases[i].conf, NULL, body_tcache_max);
    }
}
TEST_END

static void body_nslots(void) {
    boot();
    for (szind_t i = 0; i < tcache_nbins; i++) {
        unsigned want;
        if (i < SC_NBINS) {
            unsigned c = bin_infos[i].nregs >> 3; /* lg_tcache_nslots_mul:-3 */
            want = c < 6 ? 6 : c > 30 ? 30 : c;
        } else {
            want = 3;
        }
        expect_u_eq(tcache_bin_capacity(i), want, "bin %zu", i);
        expect_u_eq(tsd_get()->tcache.bins[i].ncached_max, want, "bin %zu", i);
    }
}

static void body_nslots_big(void) {
    boot();
    /* nregs x 2^16, clamped to 2048; min above max is lowered to max. */
    for (szind_t i = 0; i < SC_NBINS; i++) expect_u_eq(tcache_bin_capacity(i), 2048, "bin %zu", i);
}

static void body_nslots_min_over_max(void) {
    boot();
    for (szind_t i = 0; i < SC_NBINS; i++) expect_u_eq(tcache_bin_capacity(i), 10, "bin %zu", i);
}

TEST_BEGIN(test_nslots) {
    run_child("tcache_nslots_small_min:6,tcache_nslots_small_max:30,lg_tcache_nslots_mul:-3,"
              "tcache_nslots_large:3",
              NULL, body_nslots);
    run_child("lg_tcache_nslots_mul:16,tcache_nslots_small_max:2048,tcache_nslots_small_min:2048",
              NULL, body_nslots_big);
    run_child("tcache_nslots_small_min:500,tcache_nslots_small_max:10", NULL,
              body_nslots_min_over_max);
}
TEST_END

/* Fills bin ind of a private cache to capacity, pushes one more, and checks what stayed. */
static void overflow_bin(szind_t ind, unsigned div) {
    arena_t *a = arena_get(0, false);
    tcache_t *t = malloc(sizeof(tcache_t));
    assert_ptr_not_null(t, "");
    assert_false(tcache_init(t, a), "");
    unsigned cap = t->bins[ind].ncached_max;
    assert_u_gt(cap, 0, "");
    size_t usize = sz_index2size(ind);
    for (unsigned i = 0; i <= cap; i++) {
        void *p = arena_malloc(a, ind, usize, 0, false);
        assert_ptr_not_null(p, "");
        bool flushed = tcache_dalloc_hard(t, ind, p, "conf test");
        expect_true(flushed == (i == cap), "item %u of %u", i, cap);
    }
    expect_u_eq(cache_bin_ncached(&t->bins[ind]), (cap >> div) + 1, "class %zu, div %u", ind, div);
    tcache_destroy(t);
    free(t);
}

static void body_flush_div(void) {
    boot();
    overflow_bin(3, 3);             /* small */
    overflow_bin(SC_NBINS + 1, 2);  /* large */
}

static void body_flush_div_all(void) {
    boot();
    overflow_bin(5, 16); /* keeps nothing */
}

TEST_BEGIN(test_flush_div) {
    run_child("lg_tcache_flush_small_div:3,lg_tcache_flush_large_div:2", NULL, body_flush_div);
    run_child("lg_tcache_flush_small_div:16", NULL, body_flush_div_all);
}
TEST_END

static void body_gc_incr(void) {
    void *p = arenalloc_malloc(64);
    arenalloc_free(p);
    tsd_t *tsd = tsd_get();
    expect_d64_eq(tsd->event_countdown, 4096 - 64, "");
    unsigned steps = 0, last = tsd->tcache.gc_next;
    for (int i = 0; i < (1 << 16) / 64; i++) { /* 64 KiB: 16 steps */
        p = arenalloc_malloc(64);
        arenalloc_free(p);
        if (tsd->tcache.gc_next != last) {
            steps++;
            last = tsd->tcache.gc_next;
        }
    }
    expect_u_ge(steps, 15, "a GC step every 4 KiB");
    expect_u_le(steps, 17, "");
}

TEST_BEGIN(test_gc_incr_bytes) {
    run_child("tcache_gc_incr_bytes:4096", NULL, body_gc_incr);
}
TEST_END

/* zero:true: every allocation is an event, the GC keeps its cadence. */
static void body_zero_events(void) {
    void *p = arenalloc_malloc(64);
    arenalloc_free(p);
    expect_true(tsd_event_per_alloc, "");
    tsd_t *tsd = tsd_get();
    expect_d64_le(tsd->event_countdown, 0, "");
    unsigned steps = 0, last = tsd->tcache.gc_next;
    for (int i = 0; i < (1 << 16) / 64; i++) {
        p = arenalloc_malloc(64);
        expect_d64_le(tsd->event_countdown, 0, "the next allocation is an event too");
        arenalloc_free(p);
        if (tsd->tcache.gc_next != last) {
            steps++;
            last = tsd->tcache.gc_next;
        }
    }
    expect_u_ge(steps, 15, "GC every 4 KiB still");
    expect_u_le(steps, 17, "");
}

TEST_BEGIN(test_zero_every_alloc_an_event) {
    run_child("zero:true,tcache_gc_incr_bytes:4096", NULL, body_zero_events);
}
TEST_END

static void *thread_state(void *arg) {
    void *p = arenalloc_malloc(32);
    arenalloc_free(p);
    tsd_t *tsd = tsd_get();
    *(bool *)arg = tsd->state == TSD_NOMINAL && !tsd->tcache_enabled && tsd->tcache.slots == NULL &&
                   !tsd_tcache_usable(tsd);
    return NULL;
}

static void body_no_tcache(void) {
    bool main_ok = false, other_ok = false;
    thread_state(&main_ok);
    expect_true(main_ok, "the main thread has no cache");
    pthread_t t;
    test_thread_create(&t, thread_state, &other_ok);
    test_thread_join(t, NULL);
    expect_true(other_ok, "nor does a new thread");
}

TEST_BEGIN(test_tcache_false) {
    run_child("tcache:false", NULL, body_no_tcache);
}
TEST_END

static bool want_retain;

static void body_retain(void) {
    boot();
    expect_true(opt_retain == want_retain, "");
    extent_hooks_t *h = &ehooks_default_extent_hooks;
    bool zero = false, commit = false;
    void *p = h->alloc(h, NULL, 4 * PAGE, PAGE, &zero, &commit, 0);
    assert_ptr_not_null(p, "");
    bool kept = h->dalloc(h, p, 4 * PAGE, true, 0);
    expect_true(kept == want_retain, "dalloc opts out (keeps the mapping) iff retain");
    if (kept) h->destroy(h, p, 4 * PAGE, true, 0);
}

TEST_BEGIN(test_retain) {
    want_retain = false;
    run_child("retain:false", NULL, body_retain);
    want_retain = true;
    run_child("retain:true", NULL, body_retain);
}
TEST_END

static void body_decay_ms(void) {
    boot();
    arena_t *a = arena_get(0, false);
    assert_ptr_not_null(a, "");
    expect_zd_eq(arena_decay_ms(a, EXTENT_DIRTY), 1234, "arena 0 starts with the option");
    expect_zd_eq(arena_decay_ms(a, EXTENT_MUZZY), -1, "");
    expect_zd_eq(arena_decay_ms_default(EXTENT_DIRTY), 1234, "so do arenas created later");
    expect_zd_eq(arena_decay_ms_default(EXTENT_MUZZY), -1, "");
    expect_zd_eq(a->pac.decay[0].time_ms, 1234, "the machine itself");
    expect_u64_eq(a->pac.decay[0].interval_ns, 1234 * 5000, "epochs of 1234 ms / 200");
}

TEST_BEGIN(test_decay_ms) {
    run_child("dirty_decay_ms:1234,muzzy_decay_ms:-1", NULL, body_decay_ms);
    expect_true(errbuf[0] == '\0', "%s", errbuf);
}
TEST_END

/* oversize_threshold below the smallest large class: no huge arena, the option reads 0. */
static void body_oversize_off(void) {
    boot();
    expect_zu_eq(opt_oversize_threshold, 0, "");
    expect_u_eq(arena_huge_ind, ARENAS_MAX, "no huge arena");
    expect_zu_eq(arena_oversize_limit, SIZE_MAX, "");
    expect_u_eq(arena_narenas(), narenas_auto, "");
}

static void body_oversize_1m(void) {
    boot();
    expect_zu_eq(opt_oversize_threshold, (size_t)1 << 20, "");
    expect_zu_eq(arena_oversize_limit, (size_t)1 << 20, "");
    expect_u_eq(arena_huge_ind, narenas_auto, "");
    arena_t *h = arena_huge();
    assert_ptr_not_null(h, "");
    expect_zd_eq(arena_decay_ms(h, EXTENT_DIRTY), 0, "eager purging");
    expect_zd_eq(arena_decay_ms(h, EXTENT_MUZZY), 0, "");
    expect_zd_eq(arena_decay_ms(arena_get(0, false), EXTENT_DIRTY), 10000, "others keep theirs");
}

TEST_BEGIN(test_oversize_threshold) {
    run_child("oversize_threshold:0", NULL, body_oversize_off);
    run_child("oversize_threshold:4096", NULL, body_oversize_off);
    run_child("oversize_threshold:1048576", NULL, body_oversize_1m);
}
TEST_END

/* percpu_arena: narenas is at least the CPUs (percpu) or the cores (phycpu); threads start on
 * their CPU's arena. */
static void body_percpu(void) {
    boot();
    expect_u_ge(narenas_auto, platform_ncpus(), "");
    cpu_set_t one; /* pinned, so that the CPU cannot change between the two reads */
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    expect_d_eq(sched_setaffinity(0, sizeof(one), &one), 0, "");
    tsd_percpu_update(tsd_get()); /* what the slow paths do */
    expect_u_eq(tsd_get()->arena->ind, arena_percpu_ind(), "");
    expect_u_eq(arena_percpu_ind(), (unsigned)sched_getcpu() % narenas_auto, "");
}

static void body_phycpu(void) {
    boot();
    unsigned cores = platform_topology_boot();
    expect_u_ge(cores, 1, "");
    expect_u_ge(narenas_auto, cores, "");
    unsigned cpu = platform_getcpu();
    expect_u_eq(arena_percpu_ind(), platform_cpu_core(cpu) % narenas_auto, "");
    expect_u_le(platform_cpu_core(cpu), cpu, "a core is numbered no higher than its CPUs");
}

TEST_BEGIN(test_percpu_arena) {
    run_child("percpu_arena:percpu", NULL, body_percpu);
    run_child("percpu_arena:phycpu", NULL, body_phycpu);
}
TEST_END

int main(void) {
    return run_tests(test_oversize_threshold, test_percpu_arena, test_defaults, test_precedence, test_confirm_conf, test_keys, test_numbers,
                     test_bad_values, test_clip, test_narenas, test_tcache_max, test_nslots,
                     test_flush_div, test_gc_incr_bytes, test_zero_every_alloc_an_event,
                     test_tcache_false, test_retain, test_decay_ms);
}
