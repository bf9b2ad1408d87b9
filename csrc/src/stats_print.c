/*
 * stats_print.c -- malloc_stats_print (contract and document shape in stats_print.h).
 *
 * Call tree:
 *   stats_print(write_cb, cbopaque, opts)
 *     parse_opts; epoch write (refresh the snapshot); emitter on a stack buffer
 *     print_general                 version; print_leaves("config."), ("opt."), ("arenas.");
 *                                   JSON: arenas.bin[j], arenas.lextent[j] (print_leaves again)
 *     print_totals                  stats_fields.def STATS_GLOBAL, then STATS_BACKGROUND (a
 *                                   "background_thread" object); the stacked-view line
 *     print_arenas                  merged (4096), destroyed (4097, if it ever exists), each
 *       print_arena                 initialized arena: STATS_ARENA fields, then
 *         print_small_large         STATS_TOTAL: two JSON objects / one text table
 *         print_bins                STATS_BIN: a JSON array / a text table
 *         print_lextents            STATS_LEXTENT: likewise
 * Every value is a mallctl read by name (ctl_byname); names are built in stack buffers.
 */
#include "stats_print.h"

#include <stdarg.h>

#include "arenalloc.h" /* MALLCTL_ARENAS_ALL, MALLCTL_ARENAS_DESTROYED */
#include "ctl.h"
#include "msg.h"

/* ---- the tables, expanded ---- */

/* ctl_tree.def TYPE -> emitter type; PRINT_SKIP for what is not a printable value. */
enum { PRINT_SKIP = -1 };
#define PRINT_T_BOOL EMITTER_BOOL
#define PRINT_T_UNSIGNED EMITTER_UNSIGNED
#define PRINT_T_U32 EMITTER_U32
#define PRINT_T_U64 EMITTER_U64
#define PRINT_T_I64 EMITTER_I64
#define PRINT_T_SIZE EMITTER_SIZE
#define PRINT_T_SSIZE EMITTER_SSIZE
#define PRINT_T_STR EMITTER_STRING
#define PRINT_T_VOID PRINT_SKIP
#define PRINT_T_U64_PTR PRINT_SKIP
#define PRINT_T_HOOKS PRINT_SKIP
#define PRINT_T_LOOKUP PRINT_SKIP
#define PRINT_T_CREATE PRINT_SKIP
/* ctl_tree.def ACCESS -> readable. */
#define PRINT_R_RO true
#define PRINT_R_RW true
#define PRINT_R_WO false
#define PRINT_R_NONE false

typedef struct print_leaf_s {
    const char *path;
    int type; /* emitter_type_t or PRINT_SKIP */
    bool readable;
} print_leaf_t;

#define CTL(path, type, access, cond, impl, doc) {path, PRINT_T_##type, PRINT_R_##access},
static const print_leaf_t leaves[] = {
#include "ctl_tree.def"
};
#define NLEAVES (sizeof(leaves) / sizeof(leaves[0]))

/* stats_fields.def C type -> emitter type. */
#define PRINT_CT_bool EMITTER_BOOL
#define PRINT_CT_unsigned EMITTER_UNSIGNED
#define PRINT_CT_uint32_t EMITTER_U32
#define PRINT_CT_uint64_t EMITTER_U64
#define PRINT_CT_int64_t EMITTER_I64
#define PRINT_CT_size_t EMITTER_SIZE
#define PRINT_CT_ssize_t EMITTER_SSIZE

typedef struct print_field_s {
    const char *name;
    emitter_type_t type;
} print_field_t;

#define STATS_GLOBAL(name, ctype) {#name, PRINT_CT_##ctype},
static const print_field_t global_fields[] = {
#include "stats_fields.def"
};
#define STATS_BACKGROUND(name, ctype) {#name, PRINT_CT_##ctype},
static const print_field_t background_fields[] = {
#include "stats_fields.def"
};
#define STATS_ARENA(name, ctype, merge) {#name, PRINT_CT_##ctype},
static const print_field_t arena_fields[] = {
#include "stats_fields.def"
};
#define STATS_TOTAL(name, ctype) {#name, PRINT_CT_##ctype},
static const print_field_t total_fields[] = {
#include "stats_fields.def"
};
#define STATS_BIN(name, ctype) {#name, PRINT_CT_##ctype},
static const print_field_t bin_fields[] = {
#include "stats_fields.def"
};
#define STATS_LEXTENT(name, ctype) {#name, PRINT_CT_##ctype},
static const print_field_t lextent_fields[] = {
#include "stats_fields.def"
};
#define NFIELDS(a) (sizeof(a) / sizeof(a[0]))
#define NTOTAL NFIELDS(total_fields)
#define NBIN NFIELDS(bin_fields)
#define NLEXTENT NFIELDS(lextent_fields)

/* ---- options ---- */

typedef struct print_opts_s {
    bool json, general, merged, destroyed, unmerged, bins, lextents;
} print_opts_t;

static print_opts_t parse_opts(const char *opts) {
    print_opts_t o = {false, true, true, true, true, true, true};
    for (const char *c = opts != NULL ? opts : ""; *c != '\0'; c++) {
        switch (*c) {
        case 'J': o.json = true; break;
        case 'g': o.general = false; break;
        case 'm': o.merged = false; break;
        case 'd': o.destroyed = false; break;
        case 'a': o.unmerged = false; break;
        case 'b': o.bins = false; break;
        case 'l': o.lextents = false; break;
        default: break; /* x, e, h: nothing of theirs exists yet; others: ignored */
        }
    }
    return o;
}

/* ---- reading ---- */

#define NAME_MAX_LEN 128

/* Reads the key `name` (of that type) into *v; false if it cannot be read. */
static bool read_name(const char *name, emitter_type_t type, emitter_value_t *v) {
    size_t size = emitter_type_size(type);
    memset(v, 0, sizeof(*v));
    return ctl_byname(name, v, &size, NULL, 0) == 0;
}

/* read_name of the name formatted from fmt. */
static bool read_fmt(emitter_value_t *v, emitter_type_t type, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static bool read_fmt(emitter_value_t *v, emitter_type_t type, const char *fmt, ...) {
    char name[NAME_MAX_LEN];
    va_list ap;
    va_start(ap, fmt);
    size_t n = al_vsnprintf(name, sizeof(name), fmt, ap);
    va_end(ap);
    if (n >= sizeof(name)) {
        memset(v, 0, sizeof(*v));
        return false;
    }
    return read_name(name, type, v);
}

static uint64_t value_u64(emitter_type_t type, const emitter_value_t *v) {
    switch (type) {
    case EMITTER_BOOL: return v->b;
    case EMITTER_UNSIGNED: return v->u;
    case EMITTER_U32: return v->u32;
    case EMITTER_U64: return v->u64;
    case EMITTER_I64: return (uint64_t)v->i64;
    case EMITTER_SIZE: return v->size;
    case EMITTER_SSIZE: return (uint64_t)v->ssize;
    case EMITTER_STRING: return 0;
    }
    return 0;
}

static unsigned read_unsigned(const char *name) {
    emitter_value_t v;
    return read_name(name, EMITTER_UNSIGNED, &v) ? v.u : 0;
}

static bool arena_initialized(unsigned i) {
    emitter_value_t v;
    return read_fmt(&v, EMITTER_BOOL, "arena.%u.initialized", i) && v.b;
}

/* The field called `name` of a row read from `fields`, as uint64_t (0 if there is none). */
static uint64_t field_get(const print_field_t *fields, size_t n, const emitter_value_t *vals,
                          const char *name) {
    for (size_t k = 0; k < n; k++) {
        if (strcmp(fields[k].name, name) == 0) return value_u64(fields[k].type, &vals[k]);
    }
    return 0;
}

/* path with its "{i}" / "{j}" components replaced by i / j; false if it does not fit. */
static bool path_fill(char *out, size_t cap, const char *path, size_t i, size_t j) {
    size_t len = 0;
    for (const char *p = path; *p != '\0';) {
        char num[24];
        const char *piece = NULL;
        if (p[0] == '{' && (p[1] == 'i' || p[1] == 'j') && p[2] == '}') {
            al_snprintf(num, sizeof(num), "%zu", p[1] == 'i' ? i : j);
            piece = num;
            p += 3;
        }
        size_t plen = piece != NULL ? strlen(piece) : 1;
        if (len + plen >= cap) return false;
        memcpy(out + len, piece != NULL ? piece : p, plen);
        len += plen;
        if (piece == NULL) p++;
    }
    out[len] = '\0';
    return true;
}

/*
 * Every readable leaf of ctl_tree.def directly under prefix (its rest has no '.'), with "{j}"
 * standing for j: JSON key = the rest of the path, text label = the whole name.
 */
static void print_leaves(emitter_t *em, const char *prefix, size_t j) {
    size_t plen = strlen(prefix);
    for (size_t k = 0; k < NLEAVES; k++) {
        const print_leaf_t *l = &leaves[k];
        if (!l->readable || l->type == PRINT_SKIP || strncmp(l->path, prefix, plen) != 0) continue;
        const char *key = l->path + plen;
        if (strchr(key, '.') != NULL) continue;
        char name[NAME_MAX_LEN];
        emitter_value_t v;
        if (!path_fill(name, sizeof(name), l->path, 0, j) ||
            !read_name(name, (emitter_type_t)l->type, &v)) {
            continue;
        }
        emitter_kv(em, key, name, (emitter_type_t)l->type, &v);
    }
}

/* ---- general information ---- */

static void print_general(emitter_t *em) {
    emitter_value_t v;
    if (read_name("version", EMITTER_STRING, &v)) {
        emitter_kv(em, "version", "Version", EMITTER_STRING, &v);
    }
    emitter_section_begin(em, "config", "Build-time option settings");
    print_leaves(em, "config.", 0);
    emitter_section_end(em);
    emitter_section_begin(em, "opt", "Run-time option settings");
    print_leaves(em, "opt.", 0);
    emitter_section_end(em);

    emitter_section_begin(em, "arenas", "Arena settings");
    print_leaves(em, "arenas.", 0);
    if (emitter_json(em)) { /* in text, the per-class tables show these */
        unsigned nbins = read_unsigned("arenas.nbins");
        emitter_json_array_begin(em, "bin");
        for (unsigned j = 0; j < nbins; j++) {
            emitter_json_object_begin(em, NULL);
            print_leaves(em, "arenas.bin.{j}.", j);
            emitter_json_object_end(em);
        }
        emitter_json_array_end(em);
        unsigned nlextents = read_unsigned("arenas.nlextents");
        emitter_json_array_begin(em, "lextent");
        for (unsigned j = 0; j < nlextents; j++) {
            emitter_json_object_begin(em, NULL);
            print_leaves(em, "arenas.lextent.{j}.", j);
            emitter_json_object_end(em);
        }
        emitter_json_array_end(em);
    }
    emitter_section_end(em);
}

/* ---- process totals ---- */

static void print_totals(emitter_t *em) {
    emitter_json_object_begin(em, "stats");
    emitter_text(em, "Totals:");
    bool first = true;
    for (size_t k = 0; k < NFIELDS(global_fields); k++) {
        const print_field_t *f = &global_fields[k];
        emitter_value_t v;
        if (!read_fmt(&v, f->type, "stats.%s", f->name)) continue;
        emitter_json_kv(em, f->name, f->type, &v);
        emitter_text(em, "%s %s: ", first ? "" : ",", f->name);
        emitter_text_value(em, f->type, &v);
        first = false;
    }
    emitter_text(em, "\n");
    /* stats.background_thread.*: jemalloc's "background_thread" object inside "stats". */
    emitter_json_object_begin(em, "background_thread");
    emitter_text(em, "Background threads:");
    first = true;
    for (size_t k = 0; k < NFIELDS(background_fields); k++) {
        const print_field_t *f = &background_fields[k];
        emitter_value_t v;
        if (!read_fmt(&v, f->type, "stats.background_thread.%s", f->name)) continue;
        emitter_json_kv(em, f->name, f->type, &v);
        emitter_text(em, "%s %s: ", first ? "" : ",", f->name);
        emitter_text_value(em, f->type, &v);
        first = false;
    }
    emitter_text(em, "\n");
    emitter_json_object_end(em);
    emitter_json_object_end(em);

    emitter_value_t al, ac, re, ma;
    if (!emitter_json(em) && read_name("stats.allocated", EMITTER_SIZE, &al) &&
        read_name("stats.active", EMITTER_SIZE, &ac) &&
        read_name("stats.resident", EMITTER_SIZE, &re) &&
        read_name("stats.mapped", EMITTER_SIZE, &ma)) {
        emitter_text(em,
                     "Stacked view: allocated %zu <= active %zu <= resident %zu <= mapped %zu; "
                     "overhead (resident - allocated): %zu\n",
                     al.size, ac.size, re.size, ma.size,
                     re.size > al.size ? re.size - al.size : 0);
    }
}

/* ---- one arena (or the merge) ---- */

#define COL_NUM 12 /* width of a numeric column, unless its name is longer */

static unsigned col_width(const char *name) {
    size_t n = strlen(name);
    return n > COL_NUM ? (unsigned)n : COL_NUM;
}

static void col_str(emitter_row_t *row, emitter_justify_t justify, unsigned width,
                    const char *s) {
    emitter_col(row, justify, width, EMITTER_STRING, &s);
}

static void col_u64(emitter_row_t *row, unsigned width, uint64_t v) {
    emitter_col(row, EMITTER_RIGHT, width, EMITTER_U64, &v);
}

static void print_small_large(emitter_t *em, unsigned i) {
    static const char *const kinds[2] = {"small", "large"};
    emitter_value_t vals[2][NTOTAL];
    bool ok[2][NTOTAL];
    for (unsigned c = 0; c < 2; c++) {
        emitter_json_object_begin(em, kinds[c]);
        for (size_t k = 0; k < NTOTAL; k++) {
            const print_field_t *f = &total_fields[k];
            ok[c][k] = read_fmt(&vals[c][k], f->type, "stats.arenas.%u.%s.%s", i, kinds[c],
                                f->name);
            if (ok[c][k]) emitter_json_kv(em, f->name, f->type, &vals[c][k]);
        }
        emitter_json_object_end(em);
    }
    if (emitter_json(em)) return;

    emitter_row_t row;
    emitter_row_init(&row);
    col_str(&row, EMITTER_LEFT, 6, "");
    for (size_t k = 0; k < NTOTAL; k++) {
        col_str(&row, EMITTER_RIGHT, col_width(total_fields[k].name), total_fields[k].name);
    }
    emitter_table_row(em, &row);
    static const char *const labels[3] = {"small:", "large:", "total:"};
    for (unsigned r = 0; r < 3; r++) {
        emitter_row_init(&row);
        col_str(&row, EMITTER_LEFT, 6, labels[r]);
        for (size_t k = 0; k < NTOTAL; k++) {
            const print_field_t *f = &total_fields[k];
            unsigned w = col_width(f->name);
            if (r < 2) {
                if (ok[r][k]) emitter_col(&row, EMITTER_RIGHT, w, f->type, &vals[r][k]);
                else col_str(&row, EMITTER_RIGHT, w, "-");
            } else {
                col_u64(&row, w, value_u64(f->type, &vals[0][k]) +
                                     value_u64(f->type, &vals[1][k]));
            }
        }
        emitter_table_row(em, &row);
    }
}

/* Text tables leave out rows with no activity; each run of them shows as one "---" line. */
static void gap_line(emitter_t *em, bool *in_gap) {
    if (*in_gap) {
        emitter_row_t row;
        emitter_row_init(&row);
        col_str(&row, EMITTER_LEFT, 0, "---");
        emitter_table_row(em, &row);
    }
    *in_gap = false;
}

static void print_bins(emitter_t *em, unsigned i) {
    unsigned nbins = read_unsigned("arenas.nbins");
    emitter_value_t page;
    if (!read_name("arenas.page", EMITTER_SIZE, &page) || page.size == 0) page.size = 4096;

    emitter_table_begin(em, "bins", "bins:");
    emitter_row_t row;
    if (!emitter_json(em)) {
        emitter_row_init(&row);
        col_str(&row, EMITTER_RIGHT, 7, "size");
        col_str(&row, EMITTER_RIGHT, 4, "ind");
        col_str(&row, EMITTER_RIGHT, COL_NUM, "allocated");
        for (size_t k = 0; k < NBIN; k++) {
            col_str(&row, EMITTER_RIGHT, col_width(bin_fields[k].name), bin_fields[k].name);
        }
        col_str(&row, EMITTER_RIGHT, 5, "regs");
        col_str(&row, EMITTER_RIGHT, 4, "pgs");
        col_str(&row, EMITTER_RIGHT, 5, "util");
        emitter_table_row(em, &row);
    }
    bool in_gap = false;
    for (unsigned j = 0; j < nbins; j++) {
        emitter_value_t vals[NBIN];
        bool ok[NBIN];
        emitter_json_object_begin(em, NULL);
        for (size_t k = 0; k < NBIN; k++) {
            const print_field_t *f = &bin_fields[k];
            ok[k] = read_fmt(&vals[k], f->type, "stats.arenas.%u.bins.%u.%s", i, j, f->name);
            if (ok[k]) emitter_json_kv(em, f->name, f->type, &vals[k]);
        }
        emitter_json_object_end(em);
        if (emitter_json(em)) continue;

        uint64_t nmalloc = field_get(bin_fields, NBIN, vals, "nmalloc");
        uint64_t nrequests = field_get(bin_fields, NBIN, vals, "nrequests");
        uint64_t curregs = field_get(bin_fields, NBIN, vals, "curregs");
        uint64_t curslabs = field_get(bin_fields, NBIN, vals, "curslabs");
        if (nmalloc == 0 && nrequests == 0 && curregs == 0) {
            in_gap = true;
            continue;
        }
        gap_line(em, &in_gap);
        emitter_value_t size, nregs, slab_size;
        read_fmt(&size, EMITTER_SIZE, "arenas.bin.%u.size", j);
        read_fmt(&nregs, EMITTER_U32, "arenas.bin.%u.nregs", j);
        read_fmt(&slab_size, EMITTER_SIZE, "arenas.bin.%u.slab_size", j);
        uint64_t capacity = curslabs * nregs.u32;
        unsigned milli = capacity != 0 ? (unsigned)(curregs * 1000 / capacity) : 0;
        char util[16];
        al_snprintf(util, sizeof(util), "%u.%03u", milli / 1000, milli % 1000);

        emitter_row_init(&row);
        emitter_col(&row, EMITTER_RIGHT, 7, EMITTER_SIZE, &size);
        emitter_col(&row, EMITTER_RIGHT, 4, EMITTER_UNSIGNED, &j);
        col_u64(&row, COL_NUM, curregs * size.size);
        for (size_t k = 0; k < NBIN; k++) {
            unsigned w = col_width(bin_fields[k].name);
            if (ok[k]) emitter_col(&row, EMITTER_RIGHT, w, bin_fields[k].type, &vals[k]);
            else col_str(&row, EMITTER_RIGHT, w, "-");
        }
        emitter_col(&row, EMITTER_RIGHT, 5, EMITTER_U32, &nregs);
        col_u64(&row, 4, slab_size.size / page.size);
        col_str(&row, EMITTER_RIGHT, 5, util);
        emitter_table_row(em, &row);
    }
    gap_line(em, &in_gap);
    emitter_table_end(em);
}

static void print_lextents(emitter_t *em, unsigned i) {
    unsigned nbins = read_unsigned("arenas.nbins");
    unsigned nlextents = read_unsigned("arenas.nlextents");

    emitter_table_begin(em, "lextents", "lextents:");
    emitter_row_t row;
    if (!emitter_json(em)) {
        emitter_row_init(&row);
        col_str(&row, EMITTER_RIGHT, 12, "size");
        col_str(&row, EMITTER_RIGHT, 4, "ind");
        col_str(&row, EMITTER_RIGHT, COL_NUM, "allocated");
        for (size_t k = 0; k < NLEXTENT; k++) {
            col_str(&row, EMITTER_RIGHT, col_width(lextent_fields[k].name),
                    lextent_fields[k].name);
        }
        emitter_table_row(em, &row);
    }
    bool in_gap = false;
    for (unsigned j = 0; j < nlextents; j++) {
        emitter_value_t vals[NLEXTENT];
        bool ok[NLEXTENT];
        emitter_json_object_begin(em, NULL);
        for (size_t k = 0; k < NLEXTENT; k++) {
            const print_field_t *f = &lextent_fields[k];
            ok[k] = read_fmt(&vals[k], f->type, "stats.arenas.%u.lextents.%u.%s", i, j, f->name);
            if (ok[k]) emitter_json_kv(em, f->name, f->type, &vals[k]);
        }
        emitter_json_object_end(em);
        if (emitter_json(em)) continue;

        uint64_t nmalloc = field_get(lextent_fields, NLEXTENT, vals, "nmalloc");
        uint64_t nrequests = field_get(lextent_fields, NLEXTENT, vals, "nrequests");
        uint64_t cur = field_get(lextent_fields, NLEXTENT, vals, "curlextents");
        if (nmalloc == 0 && nrequests == 0 && cur == 0) {
            in_gap = true;
            continue;
        }
        gap_line(em, &in_gap);
        emitter_value_t size;
        read_fmt(&size, EMITTER_SIZE, "arenas.lextent.%u.size", j);
        unsigned ind = nbins + j;

        emitter_row_init(&row);
        emitter_col(&row, EMITTER_RIGHT, 12, EMITTER_SIZE, &size);
        emitter_col(&row, EMITTER_RIGHT, 4, EMITTER_UNSIGNED, &ind);
        col_u64(&row, COL_NUM, cur * size.size);
        for (size_t k = 0; k < NLEXTENT; k++) {
            unsigned w = col_width(lextent_fields[k].name);
            if (ok[k]) emitter_col(&row, EMITTER_RIGHT, w, lextent_fields[k].type, &vals[k]);
            else col_str(&row, EMITTER_RIGHT, w, "-");
        }
        emitter_table_row(em, &row);
    }
    gap_line(em, &in_gap);
    emitter_table_end(em);
}

static void print_arena(emitter_t *em, const print_opts_t *o, unsigned i, const char *json_key,
                        const char *title) {
    emitter_section_begin(em, json_key, title);
    for (size_t k = 0; k < NFIELDS(arena_fields); k++) {
        const print_field_t *f = &arena_fields[k];
        emitter_value_t v;
        if (read_fmt(&v, f->type, "stats.arenas.%u.%s", i, f->name)) {
            emitter_kv(em, f->name, f->name, f->type, &v);
        }
    }
    print_small_large(em, i);
    if (o->bins) print_bins(em, i);
    if (o->lextents) print_lextents(em, i);
    emitter_section_end(em);
}

static void print_arenas(emitter_t *em, const print_opts_t *o) {
    bool destroyed = o->destroyed && arena_initialized(MALLCTL_ARENAS_DESTROYED);
    if (!o->merged && !o->unmerged && !destroyed) return;
    emitter_json_object_begin(em, "stats.arenas");
    if (o->merged) print_arena(em, o, MALLCTL_ARENAS_ALL, "merged", "Merged arenas stats:");
    if (destroyed) {
        print_arena(em, o, MALLCTL_ARENAS_DESTROYED, "destroyed", "Destroyed arenas stats:");
    }
    if (o->unmerged) {
        unsigned narenas = read_unsigned("arenas.narenas");
        for (unsigned i = 0; i < narenas; i++) {
            if (!arena_initialized(i)) continue;
            char key[16], title[32];
            al_snprintf(key, sizeof(key), "%u", i);
            al_snprintf(title, sizeof(title), "Arena %u stats:", i);
            print_arena(em, o, i, key, title);
        }
    }
    emitter_json_object_end(em);
}

/* ---- the report ---- */

static void write_stderr_cb(void *cbopaque, const char *s) { al_write(s); }

void stats_print(emitter_write_cb_t *write_cb, void *cbopaque, const char *opts) {
    if (write_cb == NULL) {
        write_cb = __atomic_load_n(&arenalloc_malloc_message, __ATOMIC_RELAXED);
        if (write_cb == NULL) write_cb = write_stderr_cb;
    }
    print_opts_t o = parse_opts(opts);
    /* A new snapshot. If it cannot be taken (out of memory for a new arena's), the previous
     * one is printed. */
    uint64_t epoch = 1;
    ctl_byname("epoch", NULL, NULL, &epoch, sizeof(epoch));
    emitter_value_t stats_on;
    bool with_stats = read_name("config.stats", EMITTER_BOOL, &stats_on) && stats_on.b;

    char buf[STATS_PRINT_BUFSIZE];
    emitter_t em;
    emitter_init(&em, o.json ? EMITTER_JSON : EMITTER_TEXT, write_cb, cbopaque, buf,
                 sizeof(buf));
    emitter_begin(&em);
    emitter_text(&em, "___ Begin arenalloc statistics ___\n");
    emitter_json_object_begin(&em, "arenalloc");
    if (o.general) print_general(&em);
    if (with_stats) {
        print_totals(&em);
        print_arenas(&em, &o);
    }
    emitter_json_object_end(&em);
    emitter_text(&em, "--- End arenalloc statistics ---\n");
    emitter_end(&em);
}
