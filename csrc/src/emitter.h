/*
 * emitter.h -- one writer for two forms of the same document: human text and JSON. Shared by
 * malloc_stats_print (stats_print.c) and, later, by the profiler.
 *
 * Owns: the output buffer and the nesting state of one document. A caller describes the
 * document once, in the order it should appear, and each call does the right thing for the
 * form chosen at emitter_init:
 *
 *   call                           text                                JSON
 *   emitter_begin / emitter_end    nothing / flush                     `{` / `}` + newline, flush
 *   emitter_kv(key, label, v)      "<indent>label: v\n"                `"key": v`
 *   emitter_section_begin(k, t)    "<indent>t\n", indent one step      `"k": {`
 *   emitter_section_end            dedent                              `}`
 *   emitter_table_begin(k, t)      "<indent>t\n", indent one step      `"k": [`
 *   emitter_table_end              dedent                              `]`
 *   emitter_json_*                 nothing                             objects, arrays, values
 *   emitter_text*, table rows      the text                            nothing
 *
 * Values are typed (emitter_type_t) and passed by address, so a value read from mallctl into a
 * buffer of the right size can be emitted as is. In text, strings are quoted as they are; in
 * JSON they are escaped (`"`, `\`, control characters) and any byte that is not part of valid
 * UTF-8 becomes U+FFFD, so the output is always valid JSON (RFC 8259), pretty-printed with one
 * tab per level.
 *
 * Output. Everything goes through `write_cb(cbopaque, s)`, s NUL-terminated, in chunks of at
 * most bufsize - 1 bytes, from a buffer the caller provides (typically on its stack). The
 * emitter never allocates and never calls stdio: it may run at exit, in a fork child or from a
 * signal-free but otherwise constrained context. A chunk never ends inside a UTF-8 sequence
 * (a consumer that decodes each chunk on its own sees whole characters). The concatenation of
 * the chunks does not depend on bufsize.
 *
 * Tables (text only): a row is a list of columns, each with a width, a justification and a
 * typed value; rows built from the same widths line up. Header rows are rows of strings.
 *
 * Contract: calls nest properly (the debug build asserts it, up to EMITTER_DEPTH_MAX levels):
 * inside a JSON object every value has a key, inside an array none does (key NULL).
 * Concurrency: an emitter_t belongs to one thread. It calls write_cb with no lock held, so the
 * callback may call anything, malloc and mallctl included.
 */
#ifndef AL_EMITTER_H
#define AL_EMITTER_H

#include "internal.h"

#include <sys/types.h> /* ssize_t */

typedef enum { EMITTER_TEXT, EMITTER_JSON } emitter_output_t;

typedef enum {
    EMITTER_BOOL,     /* bool */
    EMITTER_UNSIGNED, /* unsigned */
    EMITTER_U32,      /* uint32_t */
    EMITTER_U64,      /* uint64_t */
    EMITTER_I64,      /* int64_t */
    EMITTER_SIZE,     /* size_t */
    EMITTER_SSIZE,    /* ssize_t */
    EMITTER_STRING    /* const char * (the value passed is a `const char **`) */
} emitter_type_t;

/* Bytes of a value of that type (what a mallctl read of it fills). */
size_t emitter_type_size(emitter_type_t type);

/* Storage for any value, e.g. the target of a mallctl read. */
typedef union {
    bool b;
    unsigned u;
    uint32_t u32;
    uint64_t u64;
    int64_t i64;
    size_t size;
    ssize_t ssize;
    const char *str;
} emitter_value_t;

typedef void emitter_write_cb_t(void *cbopaque, const char *s);

#define EMITTER_DEPTH_MAX 16

typedef struct emitter_s {
    emitter_output_t output;
    emitter_write_cb_t *write_cb;
    void *cbopaque;
    char *buf;      /* the caller's: buf[0, len) waits for write_cb; len < bufsize */
    size_t bufsize; /* >= EMITTER_BUFSIZE_MIN */
    size_t len;
    unsigned depth;     /* JSON: containers open; text: indentation steps */
    bool need_comma;    /* JSON: the innermost open container already has an item */
    bool is_array[EMITTER_DEPTH_MAX]; /* JSON: kind of each open container (debug checks) */
} emitter_t;

/* The smallest buffer: room for the longest UTF-8 sequence held back plus one byte. */
#define EMITTER_BUFSIZE_MIN 8

void emitter_init(emitter_t *em, emitter_output_t output, emitter_write_cb_t *write_cb,
                  void *cbopaque, char *buf, size_t bufsize);
static inline bool emitter_json(const emitter_t *em) { return em->output == EMITTER_JSON; }

/* The document: JSON opens and closes its outermost object; emitter_end flushes in both forms. */
void emitter_begin(emitter_t *em);
void emitter_end(emitter_t *em);
/* Hands what is buffered to write_cb (emitter_end does it; the buffer does it when full). */
void emitter_flush(emitter_t *em);

/* ---- both forms ---- */

/* A key-value pair: JSON `"json_key": value`; text "<indent>text_label: value". */
void emitter_kv(emitter_t *em, const char *json_key, const char *text_label, emitter_type_t type,
                const void *value);
/* JSON: an object under json_key; text: the title line (if not NULL), then one indent step. */
void emitter_section_begin(emitter_t *em, const char *json_key, const char *text_title);
void emitter_section_end(emitter_t *em);
/* A table: JSON an array under json_key (its rows are emitter_json_object_begin(em, NULL)
 * objects); text the title line, then one indent step (its rows are emitter_table_row). */
void emitter_table_begin(emitter_t *em, const char *json_key, const char *text_title);
void emitter_table_end(emitter_t *em);

/* ---- JSON only (nothing in text) ---- */

/* key: NULL inside an array, the member's name inside an object. */
void emitter_json_object_begin(emitter_t *em, const char *key);
void emitter_json_object_end(emitter_t *em);
void emitter_json_array_begin(emitter_t *em, const char *key);
void emitter_json_array_end(emitter_t *em);
void emitter_json_kv(emitter_t *em, const char *key, emitter_type_t type, const void *value);

/* ---- text only (nothing in JSON) ---- */

/* Free text (al_snprintf's formats), no indentation added; at most 511 bytes per call (the
 * rest is cut). Values of unbounded length go through emitter_text_value. */
void emitter_text(emitter_t *em, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The value as emitter_kv would print it, with no indentation and no newline. */
void emitter_text_value(emitter_t *em, emitter_type_t type, const void *value);
/* "<indent>label: value\n". */
void emitter_text_kv(emitter_t *em, const char *label, emitter_type_t type, const void *value);

typedef enum { EMITTER_LEFT, EMITTER_RIGHT } emitter_justify_t;

typedef struct emitter_col_s {
    emitter_justify_t justify;
    unsigned width; /* padded to this many bytes; a longer value is printed whole */
    emitter_type_t type;
    emitter_value_t value; /* a string is referenced, not copied: keep it alive until printed */
} emitter_col_t;

#define EMITTER_ROW_MAX 24

typedef struct emitter_row_s {
    unsigned ncols;
    emitter_col_t cols[EMITTER_ROW_MAX];
} emitter_row_t;

static inline void emitter_row_init(emitter_row_t *row) { row->ncols = 0; }
/* Appends a column holding a copy of *value (the debug build asserts the row has room). */
void emitter_col(emitter_row_t *row, emitter_justify_t justify, unsigned width,
                 emitter_type_t type, const void *value);
/* Text: "<indent>" + the columns separated by one space, trailing blanks dropped, "\n". */
void emitter_table_row(emitter_t *em, const emitter_row_t *row);

#endif
