/*
 * conf.c -- reads the configuration sources once and applies them to the options (conf.h has the
 * contract: sources, grammar, messages, the option table). It runs inside malloc initialization,
 * before the allocator exists: nothing here allocates or uses stdio, messages go through msg.h.
 *
 * Call tree:
 *   conf_boot (once)
 *     gather the sources: the baked macro, the weak symbols, secure_getenv
 *     conf_init_sources
 *       pass 1, every source: confirm_conf only, silently (so that pass 2 can echo everything)
 *       pass 2, every source: echo it if confirm_conf; then per pair (conf_next):
 *         conf_apply: look the key up in conf_opts[], parse the value by the option's kind or
 *                     its own setter, then echo it or report why it was skipped
 *         after the source: abort if abort_conf and a problem was seen so far
 */
#define _GNU_SOURCE /* secure_getenv */
#include "internal.h"

#include <limits.h>
#include <stdlib.h>

#include "conf.h"
#include "msg.h"

/* ---- the baked-in string and the program's variables ---- */

#ifndef ARENALLOC_MALLOC_CONF
#define ARENALLOC_MALLOC_CONF ""
#endif
const char *const config_malloc_conf = ARENALLOC_MALLOC_CONF;

/* Weak references: NULL unless the program defines the variable (conf.h, sources #2 and #3). */
extern const char *arenalloc_malloc_conf __attribute__((weak, visibility("default")));
#if ARENALLOC_EXPORT_UNPREFIXED
extern const char *malloc_conf __attribute__((weak, visibility("default")));
#endif

/* ---- options owned by this layer (the others live with the module they configure) ---- */

bool opt_abort = ARENALLOC_DEBUG;
bool opt_abort_conf = ARENALLOC_DEBUG;
bool opt_confirm_conf = false;
const char *opt_junk = ARENALLOC_DEBUG ? "true" : "false";
bool opt_junk_alloc = ARENALLOC_DEBUG;
bool opt_junk_free = ARENALLOC_DEBUG;
bool opt_zero = false;
bool opt_xmalloc = false;
const char *opt_zero_realloc = "free";
zero_realloc_action_t opt_zero_realloc_action = ZERO_REALLOC_FREE;
bool opt_stats_print = false;
char opt_stats_print_opts[sizeof(CONF_STATS_PRINT_OPTS)] = "";

/* ---- values ---- */

typedef enum {
    CONF_OK,
    CONF_UNKNOWN, /* no such key: "Invalid conf pair" */
    CONF_INVALID, /* not a value of the key: "Invalid conf value" */
    CONF_RANGE    /* a number outside the key's range: "Out-of-range conf value" */
} conf_result_t;

static bool value_is(const char *v, size_t vlen, const char *s) {
    return strlen(s) == vlen && memcmp(v, s, vlen) == 0;
}

static bool is_blank(char c) { return c == ' ' || (c >= '\t' && c <= '\r'); }

/*
 * A base-0 integer filling [v, v + vlen): blanks, an optional sign, then 0x/0X and hex digits,
 * or 0 and octal digits, or decimal digits. Sets *neg and the magnitude *mag. Returns true on
 * error: no digits, any other character, or a magnitude above UINT64_MAX.
 */
static bool parse_int(const char *v, size_t vlen, bool *neg, uint64_t *mag) {
    const char *s = v, *end = v + vlen;
    while (s < end && is_blank(*s)) s++;
    *neg = false;
    if (s < end && (*s == '+' || *s == '-')) *neg = *s++ == '-';
    unsigned base = 10;
    if (s < end && *s == '0') {
        base = 8;
        if (end - s >= 2 && (s[1] == 'x' || s[1] == 'X')) {
            base = 16;
            s += 2;
        }
    }
    if (s == end) return true;
    uint64_t m = 0;
    for (; s < end; s++) {
        unsigned d;
        if (*s >= '0' && *s <= '9') d = (unsigned)(*s - '0');
        else if (*s >= 'a' && *s <= 'f') d = (unsigned)(*s - 'a') + 10;
        else if (*s >= 'A' && *s <= 'F') d = (unsigned)(*s - 'A') + 10;
        else return true;
        if (d >= base || m > (UINT64_MAX - d) / base) return true;
        m = m * base + d;
    }
    *mag = m;
    return false;
}

/* An unsigned value in [min, max], clamped into it when clip. */
static conf_result_t parse_unsigned(const char *v, size_t vlen, uint64_t min, uint64_t max,
                                    bool clip, uint64_t *out) {
    bool neg;
    uint64_t m;
    if (parse_int(v, vlen, &neg, &m) || (neg && m != 0)) return CONF_INVALID;
    if (m < min || m > max) {
        if (!clip) return CONF_RANGE;
        m = m < min ? min : max;
    }
    *out = m;
    return CONF_OK;
}

/* A signed value in [min, max] (no clipping: jemalloc clips no signed option). */
static conf_result_t parse_signed(const char *v, size_t vlen, int64_t min, int64_t max,
                                  int64_t *out) {
    bool neg;
    uint64_t m;
    if (parse_int(v, vlen, &neg, &m)) return CONF_INVALID;
    if (m > (uint64_t)INT64_MAX + neg) return CONF_RANGE;
    int64_t s = neg ? (int64_t)(0 - m) : (int64_t)m; /* 0 - 2^63 converts to INT64_MIN */
    if (s < min || s > max) return CONF_RANGE;
    *out = s;
    return CONF_OK;
}

/* ---- the option table ---- */

typedef enum { KIND_BOOL, KIND_UNSIGNED, KIND_SIZE, KIND_SSIZE, KIND_CUSTOM } conf_kind_t;

typedef struct conf_opt_s {
    const char *name;
    conf_kind_t kind;
    void *var;        /* bool *, unsigned *, size_t *, ssize_t * by kind; unused for CUSTOM */
    int64_t min;      /* the range of numeric kinds (UNSIGNED/SIZE: min >= 0) */
    uint64_t max;
    bool clip;        /* out-of-range numbers are clamped (jemalloc's clip), not rejected */
    conf_result_t (*set)(const char *v, size_t vlen); /* KIND_CUSTOM */
} conf_opt_t;

static conf_result_t set_narenas(const char *v, size_t vlen) {
    if (value_is(v, vlen, "default")) {
        opt_narenas = 0;
        return CONF_OK;
    }
    uint64_t n;
    conf_result_t r = parse_unsigned(v, vlen, 1, UINT_MAX, false, &n);
    if (r == CONF_OK) opt_narenas = (unsigned)n;
    return r;
}

/* lg_tcache_max:n is tcache_max:2^n, n clipped to the 8 MiB limit. */
static conf_result_t set_lg_tcache_max(const char *v, size_t vlen) {
    uint64_t lg;
    conf_result_t r = parse_unsigned(v, vlen, 0, TCACHE_LG_MAXCLASS_LIMIT, true, &lg);
    if (r == CONF_OK) opt_tcache_max = (size_t)1 << lg;
    return r;
}

static conf_result_t set_junk(const char *v, size_t vlen) {
    static const char *const names[] = {"true", "false", "alloc", "free"};
    for (unsigned i = 0; i < 4; i++) {
        if (value_is(v, vlen, names[i])) {
            opt_junk = names[i];
            opt_junk_alloc = i == 0 || i == 2;
            opt_junk_free = i == 0 || i == 3;
            return CONF_OK;
        }
    }
    return CONF_INVALID;
}

static conf_result_t set_zero_realloc(const char *v, size_t vlen) {
    static const struct {
        const char *name;
        zero_realloc_action_t action;
    } modes[] = {{"free", ZERO_REALLOC_FREE}, {"alloc", ZERO_REALLOC_ALLOC},
                 {"abort", ZERO_REALLOC_ABORT}};
    for (unsigned i = 0; i < 3; i++) {
        if (value_is(v, vlen, modes[i].name)) {
            opt_zero_realloc = modes[i].name;
            opt_zero_realloc_action = modes[i].action;
            return CONF_OK;
        }
    }
    return CONF_INVALID;
}

/* A value out of names[0..n): sets *str to the name and *mode to its index. */
static conf_result_t set_choice(const char *v, size_t vlen, const char *const *names, unsigned n,
                                const char **str, unsigned *mode) {
    for (unsigned i = 0; i < n; i++) {
        if (value_is(v, vlen, names[i])) {
            *str = names[i];
            *mode = i;
            return CONF_OK;
        }
    }
    return CONF_INVALID;
}

static conf_result_t set_thp(const char *v, size_t vlen) {
    static const char *const names[] = {[THP_DEFAULT] = "default", [THP_ALWAYS] = "always",
                                        [THP_NEVER] = "never"};
    unsigned m;
    conf_result_t r = set_choice(v, vlen, names, 3, &opt_thp, &m);
    if (r == CONF_OK) opt_thp_mode = (thp_mode_t)m;
    return r;
}

static conf_result_t set_metadata_thp(const char *v, size_t vlen) {
    static const char *const names[] = {[METADATA_THP_DISABLED] = "disabled",
                                        [METADATA_THP_AUTO] = "auto",
                                        [METADATA_THP_ALWAYS] = "always"};
    unsigned m;
    conf_result_t r = set_choice(v, vlen, names, 3, &opt_metadata_thp, &m);
    if (r == CONF_OK) opt_metadata_thp_mode = (metadata_thp_t)m;
    return r;
}

static conf_result_t set_percpu_arena(const char *v, size_t vlen) {
    static const char *const names[] = {[PERCPU_DISABLED] = "disabled",
                                        [PERCPU_PERCPU] = "percpu", [PERCPU_PHYCPU] = "phycpu"};
    unsigned m;
    conf_result_t r = set_choice(v, vlen, names, 3, &opt_percpu_arena, &m);
    if (r == CONF_OK) opt_percpu_arena_mode = (percpu_arena_t)m;
    return r;
}

/* Keeps the known option characters, each once, in order; never an error (as jemalloc). */
static conf_result_t set_stats_print_opts(const char *v, size_t vlen) {
    size_t n = 0;
    for (size_t i = 0; i < vlen; i++) {
        char c = v[i];
        if (memchr(CONF_STATS_PRINT_OPTS, c, sizeof(CONF_STATS_PRINT_OPTS) - 1) == NULL) continue;
        if (memchr(opt_stats_print_opts, c, n) != NULL) continue;
        opt_stats_print_opts[n++] = c;
    }
    opt_stats_print_opts[n] = '\0';
    return CONF_OK;
}

#define BOOL_OPT(n, var) {n, KIND_BOOL, var, 0, 0, false, NULL}
#define NUM_OPT(n, kind, var, min, max, clip) {n, kind, var, min, max, clip, NULL}
#define CUSTOM_OPT(n, fn) {n, KIND_CUSTOM, NULL, 0, 0, false, fn}

/* Ranges and clipping are jemalloc 5.3's (src/jemalloc.c, malloc_conf_init_helper). */
static const conf_opt_t conf_opts[] = {
    BOOL_OPT("abort", &opt_abort),
    BOOL_OPT("abort_conf", &opt_abort_conf),
    BOOL_OPT("confirm_conf", &opt_confirm_conf),
    BOOL_OPT("retain", &opt_retain),
    CUSTOM_OPT("thp", set_thp),
    CUSTOM_OPT("metadata_thp", set_metadata_thp),
    NUM_OPT("oversize_threshold", KIND_SIZE, &opt_oversize_threshold, 0, SC_LARGE_MAXCLASS,
            false),
    CUSTOM_OPT("percpu_arena", set_percpu_arena),
    CUSTOM_OPT("narenas", set_narenas),
    NUM_OPT("dirty_decay_ms", KIND_SSIZE, &opt_dirty_decay_ms, -1, DECAY_MS_MAX, false),
    NUM_OPT("muzzy_decay_ms", KIND_SSIZE, &opt_muzzy_decay_ms, -1, DECAY_MS_MAX, false),
    BOOL_OPT("background_thread", &opt_background_thread),
    NUM_OPT("max_background_threads", KIND_SIZE, &opt_max_background_threads, 1,
            BACKGROUND_THREADS_LIMIT, true),
    BOOL_OPT("tcache", &opt_tcache),
    NUM_OPT("tcache_max", KIND_SIZE, &opt_tcache_max, 0, TCACHE_MAXCLASS_LIMIT, true),
    CUSTOM_OPT("lg_tcache_max", set_lg_tcache_max),
    NUM_OPT("lg_tcache_nslots_mul", KIND_SSIZE, &opt_lg_tcache_nslots_mul, -16, 16, false),
    NUM_OPT("tcache_nslots_small_min", KIND_UNSIGNED, &opt_tcache_nslots_small_min, 1, 2048,
            true),
    NUM_OPT("tcache_nslots_small_max", KIND_UNSIGNED, &opt_tcache_nslots_small_max, 1, 2048,
            true),
    NUM_OPT("tcache_nslots_large", KIND_UNSIGNED, &opt_tcache_nslots_large, 1, 2048, true),
    NUM_OPT("tcache_gc_incr_bytes", KIND_SIZE, &opt_tcache_gc_incr_bytes, 1024, SIZE_MAX, true),
    NUM_OPT("lg_tcache_flush_small_div", KIND_UNSIGNED, &opt_lg_tcache_flush_small_div, 1, 16,
            true),
    NUM_OPT("lg_tcache_flush_large_div", KIND_UNSIGNED, &opt_lg_tcache_flush_large_div, 1, 16,
            true),
    CUSTOM_OPT("junk", set_junk),
    BOOL_OPT("zero", &opt_zero),
    BOOL_OPT("xmalloc", &opt_xmalloc),
    CUSTOM_OPT("zero_realloc", set_zero_realloc),
    BOOL_OPT("stats_print", &opt_stats_print),
    CUSTOM_OPT("stats_print_opts", set_stats_print_opts),
};
#define CONF_NOPTS (sizeof(conf_opts) / sizeof(conf_opts[0]))

static const conf_opt_t *conf_find(const char *k, size_t klen) {
    for (size_t i = 0; i < CONF_NOPTS; i++) {
        if (value_is(k, klen, conf_opts[i].name)) return &conf_opts[i];
    }
    return NULL;
}

static conf_result_t conf_set(const conf_opt_t *o, const char *v, size_t vlen) {
    uint64_t u;
    int64_t s;
    conf_result_t r;
    switch (o->kind) {
    case KIND_BOOL:
        if (value_is(v, vlen, "true")) *(bool *)o->var = true;
        else if (value_is(v, vlen, "false")) *(bool *)o->var = false;
        else return CONF_INVALID;
        return CONF_OK;
    case KIND_UNSIGNED:
        r = parse_unsigned(v, vlen, (uint64_t)o->min, o->max < UINT_MAX ? o->max : UINT_MAX,
                           o->clip, &u);
        if (r == CONF_OK) *(unsigned *)o->var = (unsigned)u;
        return r;
    case KIND_SIZE:
        r = parse_unsigned(v, vlen, (uint64_t)o->min, o->max < SIZE_MAX ? o->max : SIZE_MAX,
                           o->clip, &u);
        if (r == CONF_OK) *(size_t *)o->var = (size_t)u;
        return r;
    case KIND_SSIZE:
        r = parse_signed(v, vlen, o->min, (int64_t)o->max, &s);
        if (r == CONF_OK) *(ssize_t *)o->var = (ssize_t)s;
        return r;
    case KIND_CUSTOM: return o->set(v, vlen);
    }
    return CONF_INVALID;
}

/* ---- messages: one line each, bounded, without allocating ---- */

typedef struct {
    char buf[400];
    size_t len;
} line_t;

static void line_char(line_t *l, char c) {
    if (l->len + 1 < sizeof(l->buf)) l->buf[l->len++] = c;
    l->buf[l->len] = '\0';
}

static void line_str(line_t *l, const char *s) {
    while (*s) line_char(l, *s++);
}

/* Appends at most max bytes of s[0, n), bytes outside printable ASCII as \xNN, "..." if cut. */
static void line_text(line_t *l, const char *s, size_t n, size_t max) {
    for (size_t i = 0; i < n && i < max; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c >= ' ' && c <= '~' && c != '\\') {
            line_char(l, (char)c);
        } else {
            line_str(l, "\\x");
            line_char(l, "0123456789abcdef"[c >> 4]);
            line_char(l, "0123456789abcdef"[c & 15]);
        }
    }
    if (n > max) line_str(l, "...");
}

#define PART_MAX 160

static bool conf_had_error; /* a problem was reported (jemalloc's had_conf_error) */

/* Prints "<what>: <a><sep><b>"; a problem unless it is an echo. */
static void conf_say(const char *what, const char *a, size_t alen, const char *sep,
                     const char *b, size_t blen, bool problem) {
    line_t l = {.len = 0};
    line_str(&l, what);
    line_str(&l, ": ");
    line_text(&l, a, alen, PART_MAX);
    line_str(&l, sep);
    line_text(&l, b, blen, PART_MAX);
    al_printf("%s\n", l.buf);
    if (problem) conf_had_error = true;
}

/* ---- the grammar ---- */

typedef struct {
    const char *k, *v;
    size_t klen, vlen;
} conf_pair_t;

static bool is_key_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
}

/*
 * Reads the pair at *optsp (not at the end of the string) into p and moves past it and its
 * comma. Returns true when the rest of the string cannot be read: it ends inside a key, or a key
 * holds a character outside [A-Za-z0-9_]. Problems are printed when report is set.
 */
static bool conf_next(const char **optsp, conf_pair_t *p, bool report) {
    const char *start = *optsp, *s = start;
    while (is_key_char(*s)) s++;
    if (*s != ':') {
        if (report && *s == '\0') {
            conf_say("Conf string ends with key", start, (size_t)(s - start), "", "", 0, true);
        } else if (report) {
            conf_say("Malformed conf string", start, strlen(start), "", "", 0, true);
        }
        return true;
    }
    p->k = start;
    p->klen = (size_t)(s - start);
    p->v = ++s;
    while (*s != ',' && *s != '\0') s++;
    p->vlen = (size_t)(s - p->v);
    if (*s == ',' && *++s == '\0' && report) {
        conf_say("Conf string ends with comma", p->k, p->klen, ":", p->v, p->vlen + 1, true);
    }
    *optsp = s;
    return false;
}

static void conf_apply(const conf_pair_t *p) {
    static const char *const what[] = {
        [CONF_OK] = "-- Set conf value",
        [CONF_UNKNOWN] = "Invalid conf pair",
        [CONF_INVALID] = "Invalid conf value",
        [CONF_RANGE] = "Out-of-range conf value",
    };
    const conf_opt_t *o = conf_find(p->k, p->klen);
    conf_result_t r = o == NULL ? CONF_UNKNOWN : conf_set(o, p->v, p->vlen);
    if (r == CONF_OK && !opt_confirm_conf) return;
    /* A problem, except that jemalloc tolerates experimental keys under abort_conf. */
    bool problem = r != CONF_OK && !(p->klen >= 13 && memcmp(p->k, "experimental_", 13) == 0);
    conf_say(what[r], p->k, p->klen, ":", p->v, p->vlen, problem);
}

/* ---- the sources ---- */

static const char *const source_explain[CONF_NSOURCES] = {
    [CONF_SRC_BAKED] = "string baked in at build time, ARENALLOC_MALLOC_CONF",
    [CONF_SRC_SYMBOL_PLAIN] = "string pointed to by the global variable malloc_conf",
    [CONF_SRC_SYMBOL] = "string pointed to by the global variable arenalloc_malloc_conf",
    [CONF_SRC_ENV] = "value of the environment variable MALLOC_CONF",
    [CONF_SRC_ENV_ARENALLOC] = "value of the environment variable ARENALLOC_MALLOC_CONF",
};

static void echo_source(unsigned i, const char *opts) {
    line_t l = {.len = 0};
    if (opts != NULL) line_text(&l, opts, strlen(opts), 300);
    al_printf("malloc_conf #%u (%s): \"%s\"\n", i + 1, source_explain[i], l.buf);
}

void conf_init_sources(const char *const srcs[CONF_NSOURCES]) {
    conf_pair_t p;
    conf_had_error = false;
    /* Pass 1: confirm_conf alone, silently. */
    for (unsigned i = 0; i < CONF_NSOURCES; i++) {
        const char *opts = srcs[i];
        while (opts != NULL && *opts != '\0' && !conf_next(&opts, &p, false)) {
            const conf_opt_t *o = conf_find(p.k, p.klen);
            if (o != NULL && o->var == &opt_confirm_conf) conf_set(o, p.v, p.vlen);
        }
    }
    /* Pass 2: everything, in order. */
    for (unsigned i = 0; i < CONF_NSOURCES; i++) {
        const char *opts = srcs[i];
        bool read = i != CONF_SRC_SYMBOL_PLAIN || ARENALLOC_EXPORT_UNPREFIXED || opts != NULL;
        if (opt_confirm_conf && read) echo_source(i, opts);
        while (opts != NULL && *opts != '\0' && !conf_next(&opts, &p, true)) conf_apply(&p);
        if (opt_abort_conf && conf_had_error) {
            al_fatal("Abort (abort_conf:true) on invalid conf value (see above).\n");
        }
    }
}

static const char *conf_getenv(const char *name) {
#ifdef __GLIBC__
    return secure_getenv(name); /* NULL in set-user-ID / set-group-ID programs */
#else
    return getenv(name);
#endif
}

void conf_boot(void) {
    static bool done; /* under the init lock */
    if (done) return;
    done = true;
    const char *srcs[CONF_NSOURCES] = {
        [CONF_SRC_BAKED] = config_malloc_conf,
#if ARENALLOC_EXPORT_UNPREFIXED
        [CONF_SRC_SYMBOL_PLAIN] = &malloc_conf != NULL ? malloc_conf : NULL,
#endif
        [CONF_SRC_SYMBOL] = &arenalloc_malloc_conf != NULL ? arenalloc_malloc_conf : NULL,
        [CONF_SRC_ENV] = conf_getenv("MALLOC_CONF"),
        [CONF_SRC_ENV_ARENALLOC] = conf_getenv("ARENALLOC_MALLOC_CONF"),
    };
    conf_init_sources(srcs);
}
