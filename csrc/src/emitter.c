/*
 * emitter.c -- the text/JSON writer (contract in emitter.h).
 *
 * Layers, bottom up:
 *   put_char / put_str     append to the caller's buffer; a full buffer goes to write_cb
 *                          (flush_full keeps an unfinished UTF-8 sequence for the next chunk)
 *   put_json_string        `"..."` with escapes and UTF-8 validation
 *   format_value           a typed value as text (al_snprintf, no allocation)
 *   json_item              separator + newline + indentation + `"key": ` of the next JSON item
 *   the public calls       compose the above per form
 */
#include "emitter.h"

#include <stdarg.h>

#include "msg.h"

size_t emitter_type_size(emitter_type_t type) {
    switch (type) {
    case EMITTER_BOOL: return sizeof(bool);
    case EMITTER_UNSIGNED: return sizeof(unsigned);
    case EMITTER_U32: return sizeof(uint32_t);
    case EMITTER_U64: return sizeof(uint64_t);
    case EMITTER_I64: return sizeof(int64_t);
    case EMITTER_SIZE: return sizeof(size_t);
    case EMITTER_SSIZE: return sizeof(ssize_t);
    case EMITTER_STRING: return sizeof(const char *);
    }
    al_not_reached();
}

void emitter_init(emitter_t *em, emitter_output_t output, emitter_write_cb_t *write_cb,
                  void *cbopaque, char *buf, size_t bufsize) {
    al_assert(write_cb != NULL && buf != NULL && bufsize >= EMITTER_BUFSIZE_MIN);
    memset(em, 0, sizeof(*em));
    em->output = output;
    em->write_cb = write_cb;
    em->cbopaque = cbopaque;
    em->buf = buf;
    em->bufsize = bufsize;
}

/* ---- the buffer ---- */

/* Bytes of the UTF-8 sequence that lead byte c starts (1 for anything else). */
static unsigned utf8_seq_len(unsigned char c) {
    if (c >= 0xf0 && c <= 0xf7) return 4;
    if (c >= 0xe0) return c <= 0xef ? 3 : 1;
    if (c >= 0xc0) return 2;
    return 1;
}

void emitter_flush(emitter_t *em) {
    if (em->len == 0) return;
    em->buf[em->len] = '\0';
    em->len = 0;
    em->write_cb(em->cbopaque, em->buf);
}

/* The buffer is full: hand it over, except a trailing sequence that is not complete yet. */
static void flush_full(emitter_t *em) {
    size_t cut = em->len;
    for (size_t back = 1; back <= 3 && back <= em->len; back++) {
        unsigned char c = (unsigned char)em->buf[em->len - back];
        if ((c & 0xc0) != 0x80) { /* not a continuation byte: the start of the last character */
            if (utf8_seq_len(c) > back) cut = em->len - back;
            break;
        }
    }
    char held[4];
    size_t nheld = em->len - cut;
    memcpy(held, em->buf + cut, nheld);
    em->len = cut;
    emitter_flush(em);
    memcpy(em->buf, held, nheld);
    em->len = nheld;
}

static void put_char(emitter_t *em, char c) {
    if (em->len + 1 >= em->bufsize) flush_full(em);
    em->buf[em->len++] = c;
}

static void put_str(emitter_t *em, const char *s) {
    while (*s != '\0') put_char(em, *s++);
}

static void put_spaces(emitter_t *em, size_t n) {
    while (n-- > 0) put_char(em, ' ');
}

/* ---- values ---- */

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlong forms, no surrogates, nothing
 * above U+10FFFF), or 0 if the bytes there are not one. */
static size_t utf8_valid_len(const unsigned char *s) {
    unsigned char c = s[0];
    if (c < 0x80) return 1;
    unsigned char lo = 0x80, hi = 0xbf; /* range of the second byte */
    size_t n;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        if (c == 0xe0) lo = 0xa0;
        if (c == 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        if (c == 0xf0) lo = 0x90;
        if (c == 0xf4) hi = 0x8f;
    } else {
        return 0;
    }
    if (s[1] < lo || s[1] > hi) return 0; /* also stops at the NUL */
    for (size_t k = 2; k < n; k++) {
        if ((s[k] & 0xc0) != 0x80) return 0;
    }
    return n;
}

static void put_json_string(emitter_t *em, const char *str) {
    const unsigned char *s = (const unsigned char *)str;
    put_char(em, '"');
    while (*s != '\0') {
        unsigned char c = *s;
        switch (c) {
        case '"': put_str(em, "\\\""); break;
        case '\\': put_str(em, "\\\\"); break;
        case '\n': put_str(em, "\\n"); break;
        case '\r': put_str(em, "\\r"); break;
        case '\t': put_str(em, "\\t"); break;
        case '\b': put_str(em, "\\b"); break;
        case '\f': put_str(em, "\\f"); break;
        default:
            if (c < 0x20 || c == 0x7f) {
                char esc[8];
                al_snprintf(esc, sizeof(esc), "\\u%04x", (unsigned)c);
                put_str(em, esc);
            } else if (c >= 0x80) {
                size_t n = utf8_valid_len(s);
                if (n == 0) {
                    put_str(em, "\\ufffd");
                } else {
                    for (size_t k = 0; k < n; k++) put_char(em, (char)s[k]);
                    s += n - 1;
                }
            } else {
                put_char(em, (char)c);
            }
        }
        s++;
    }
    put_char(em, '"');
}

/* A scalar (any type but EMITTER_STRING) as decimal text into buf; returns buf. */
static const char *format_scalar(char *buf, size_t cap, emitter_type_t type, const void *value) {
    emitter_value_t v;
    memcpy(&v, value, emitter_type_size(type));
    switch (type) {
    case EMITTER_BOOL: al_snprintf(buf, cap, "%s", v.b ? "true" : "false"); break;
    case EMITTER_UNSIGNED: al_snprintf(buf, cap, "%u", v.u); break;
    case EMITTER_U32: al_snprintf(buf, cap, "%u", (unsigned)v.u32); break;
    case EMITTER_U64: al_snprintf(buf, cap, "%llu", (unsigned long long)v.u64); break;
    case EMITTER_I64: al_snprintf(buf, cap, "%lld", (long long)v.i64); break;
    case EMITTER_SIZE: al_snprintf(buf, cap, "%zu", v.size); break;
    case EMITTER_SSIZE: al_snprintf(buf, cap, "%zd", v.ssize); break;
    case EMITTER_STRING: al_not_reached();
    }
    return buf;
}

static const char *value_str(const void *value) {
    const char *s;
    memcpy(&s, value, sizeof(s));
    return s != NULL ? s : "";
}

/* The value in the current form: JSON (escaped string) or text (quoted raw string). */
static void put_value(emitter_t *em, emitter_type_t type, const void *value) {
    if (type == EMITTER_STRING) {
        if (emitter_json(em)) {
            put_json_string(em, value_str(value));
        } else {
            put_char(em, '"');
            put_str(em, value_str(value));
            put_char(em, '"');
        }
        return;
    }
    char buf[32];
    put_str(em, format_scalar(buf, sizeof(buf), type, value));
}

/* ---- JSON structure ---- */

static void json_indent(emitter_t *em) {
    put_char(em, '\n');
    for (unsigned d = 0; d < em->depth; d++) put_char(em, '\t');
}

/* Starts the next item of the innermost container: comma, newline, indentation, key. */
static void json_item(emitter_t *em, const char *key) {
    al_assert(em->depth > 0 && em->depth <= EMITTER_DEPTH_MAX);
    al_assert((key == NULL) == em->is_array[em->depth - 1]);
    if (em->need_comma) put_char(em, ',');
    json_indent(em);
    if (key != NULL) {
        put_json_string(em, key);
        put_str(em, ": ");
    }
    em->need_comma = true;
}

static void json_open(emitter_t *em, const char *key, bool array) {
    json_item(em, key);
    put_char(em, array ? '[' : '{');
    al_assert(em->depth < EMITTER_DEPTH_MAX);
    em->is_array[em->depth++] = array;
    em->need_comma = false;
}

static void json_close(emitter_t *em, bool array) {
    al_assert(em->depth > 0 && em->is_array[em->depth - 1] == array);
    em->depth--;
    if (em->need_comma) json_indent(em); /* a non-empty container closes on its own line */
    put_char(em, array ? ']' : '}');
    em->need_comma = true;
}

void emitter_begin(emitter_t *em) {
    if (!emitter_json(em)) return;
    al_assert(em->depth == 0);
    put_char(em, '{');
    em->is_array[em->depth++] = false;
    em->need_comma = false;
}

void emitter_end(emitter_t *em) {
    if (emitter_json(em)) {
        json_close(em, false);
        al_assert(em->depth == 0);
        put_char(em, '\n');
    }
    emitter_flush(em);
}

void emitter_json_object_begin(emitter_t *em, const char *key) {
    if (emitter_json(em)) json_open(em, key, false);
}

void emitter_json_object_end(emitter_t *em) {
    if (emitter_json(em)) json_close(em, false);
}

void emitter_json_array_begin(emitter_t *em, const char *key) {
    if (emitter_json(em)) json_open(em, key, true);
}

void emitter_json_array_end(emitter_t *em) {
    if (emitter_json(em)) json_close(em, true);
}

void emitter_json_kv(emitter_t *em, const char *key, emitter_type_t type, const void *value) {
    if (!emitter_json(em)) return;
    json_item(em, key);
    put_value(em, type, value);
}

/* ---- text ---- */

static void text_indent(emitter_t *em) { put_spaces(em, 2 * (size_t)em->depth); }

void emitter_text(emitter_t *em, const char *fmt, ...) {
    if (emitter_json(em)) return;
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    al_vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    put_str(em, buf);
}

void emitter_text_value(emitter_t *em, emitter_type_t type, const void *value) {
    if (!emitter_json(em)) put_value(em, type, value);
}

void emitter_text_kv(emitter_t *em, const char *label, emitter_type_t type, const void *value) {
    if (emitter_json(em)) return;
    text_indent(em);
    put_str(em, label);
    put_str(em, ": ");
    put_value(em, type, value);
    put_char(em, '\n');
}

void emitter_col(emitter_row_t *row, emitter_justify_t justify, unsigned width,
                 emitter_type_t type, const void *value) {
    al_assert(row->ncols < EMITTER_ROW_MAX);
    if (row->ncols >= EMITTER_ROW_MAX) return;
    emitter_col_t *col = &row->cols[row->ncols++];
    col->justify = justify;
    col->width = width;
    col->type = type;
    memcpy(&col->value, value, emitter_type_size(type));
}

void emitter_table_row(emitter_t *em, const emitter_row_t *row) {
    if (emitter_json(em)) return;
    text_indent(em);
    for (unsigned c = 0; c < row->ncols; c++) {
        const emitter_col_t *col = &row->cols[c];
        char buf[32];
        const char *s = col->type == EMITTER_STRING
                            ? value_str(&col->value)
                            : format_scalar(buf, sizeof(buf), col->type, &col->value);
        size_t len = strlen(s);
        size_t pad = col->width > len ? col->width - len : 0;
        bool last = c + 1 == row->ncols;
        if (c > 0) put_char(em, ' ');
        if (col->justify == EMITTER_RIGHT) put_spaces(em, pad);
        put_str(em, s);
        if (col->justify == EMITTER_LEFT && !last) put_spaces(em, pad);
    }
    put_char(em, '\n');
}

/* ---- both forms ---- */

void emitter_kv(emitter_t *em, const char *json_key, const char *text_label, emitter_type_t type,
                const void *value) {
    if (emitter_json(em)) {
        emitter_json_kv(em, json_key, type, value);
    } else {
        emitter_text_kv(em, text_label, type, value);
    }
}

void emitter_section_begin(emitter_t *em, const char *json_key, const char *text_title) {
    if (emitter_json(em)) {
        json_open(em, json_key, false);
        return;
    }
    if (text_title != NULL) {
        text_indent(em);
        put_str(em, text_title);
        put_char(em, '\n');
    }
    al_assert(em->depth < EMITTER_DEPTH_MAX);
    em->depth++;
}

void emitter_section_end(emitter_t *em) {
    if (emitter_json(em)) {
        json_close(em, false);
        return;
    }
    al_assert(em->depth > 0);
    em->depth--;
}

void emitter_table_begin(emitter_t *em, const char *json_key, const char *text_title) {
    if (emitter_json(em)) {
        json_open(em, json_key, true);
    } else {
        emitter_section_begin(em, NULL, text_title);
    }
}

void emitter_table_end(emitter_t *em) {
    if (emitter_json(em)) {
        json_close(em, true);
    } else {
        emitter_section_end(em);
    }
}
