/*
 * Unit tests for emitter.h, the text/JSON writer:
 *   - one document description gives the exact expected text and the exact expected JSON
 *     (every value type, sections, tables, nested and empty containers);
 *   - JSON strings: quotes, backslashes and control characters escaped, valid UTF-8 (2, 3 and
 *     4 byte sequences) kept, every invalid byte (stray continuation, overlong, surrogate,
 *     above U+10FFFF, truncated sequence) replaced by \ufffd;
 *   - chunking: for every buffer size from the minimum up, the concatenation of the chunks is
 *     the single-buffer output, no chunk exceeds bufsize - 1 bytes, and no chunk ends inside a
 *     UTF-8 sequence;
 *   - table rows: widths, justification, values wider than their column, no trailing blanks.
 */
#include "test.h"

#include <sys/types.h>

#include "emitter.h"

/* ---- capturing write_cb ---- */

typedef struct {
    char text[65536];
    size_t len;
    unsigned nchunks;
    size_t maxchunk;
    bool bad_boundary; /* a chunk started with a continuation byte or ended mid-sequence */
} capture_t;

static unsigned seq_len(unsigned char c) {
    return c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;
}

/* Does s end with a complete UTF-8 sequence (or plain ASCII)? Judged by lead bytes only. */
static bool ends_whole(const char *s, size_t n) {
    for (size_t back = 1; back <= 4 && back <= n; back++) {
        unsigned char c = (unsigned char)s[n - back];
        if ((c & 0xc0) != 0x80) return seq_len(c) <= back;
    }
    return true;
}

static void capture_cb(void *opaque, const char *s) {
    capture_t *c = opaque;
    size_t n = strlen(s);
    if (n == 0 || (((unsigned char)s[0] & 0xc0) == 0x80) || !ends_whole(s, n)) {
        c->bad_boundary = true;
    }
    if (c->len + n < sizeof(c->text)) {
        memcpy(c->text + c->len, s, n + 1);
        c->len += n;
    }
    c->nchunks++;
    if (n > c->maxchunk) c->maxchunk = n;
}

static capture_t cap_a, cap_b;

/* The captured text equals want (shows both otherwise). */
#define expect_captured(c, want)                                                                   \
    expect_d_eq(strcmp((c)->text, (want)), 0, "got:\n%s\nwant:\n%s", (c)->text, (want))

typedef void doc_fn_t(emitter_t *em);

/* Runs doc in the given form with a buffer of bufsize bytes into *c. */
static void run_doc(doc_fn_t *doc, emitter_output_t out, size_t bufsize, capture_t *c) {
    static char buf[65536];
    memset(c, 0, sizeof(*c));
    emitter_t em;
    emitter_init(&em, out, capture_cb, c, buf, bufsize);
    doc(&em);
}

/* ---- one document, two forms ---- */

static void doc_all(emitter_t *em) {
    bool b = true;
    unsigned u = 7;
    uint32_t u32 = 4000000000u;
    uint64_t u64 = UINT64_MAX;
    int64_t i64 = INT64_MIN;
    size_t z = 4096;
    ssize_t zd = -3;
    const char *s = "plain";
    emitter_begin(em);
    emitter_text(em, "== begin ==\n");
    emitter_json_object_begin(em, "doc");
    emitter_kv(em, "bool", "Bool", EMITTER_BOOL, &b);
    emitter_kv(em, "unsigned", "Unsigned", EMITTER_UNSIGNED, &u);
    emitter_kv(em, "u32", "U32", EMITTER_U32, &u32);
    emitter_kv(em, "u64", "U64", EMITTER_U64, &u64);
    emitter_kv(em, "i64", "I64", EMITTER_I64, &i64);
    emitter_kv(em, "size", "Size", EMITTER_SIZE, &z);
    emitter_kv(em, "ssize", "Ssize", EMITTER_SSIZE, &zd);
    emitter_kv(em, "string", "String", EMITTER_STRING, &s);
    emitter_section_begin(em, "sec", "Section:");
    emitter_json_kv(em, "json_only", EMITTER_UNSIGNED, &u);
    emitter_text_kv(em, "text only", EMITTER_SIZE, &z);
    emitter_text(em, "  inline:");
    emitter_text_value(em, EMITTER_STRING, &s);
    emitter_text(em, "\n");
    emitter_table_begin(em, "rows", "rows:");
    emitter_row_t row;
    emitter_row_init(&row);
    const char *h1 = "name", *h2 = "value";
    emitter_col(&row, EMITTER_LEFT, 6, EMITTER_STRING, &h1);
    emitter_col(&row, EMITTER_RIGHT, 8, EMITTER_STRING, &h2);
    emitter_table_row(em, &row);
    static const char *const names[2] = {"one", "two"};
    for (unsigned k = 0; k < 2; k++) {
        size_t v = 10 * (k + 1);
        emitter_json_object_begin(em, NULL);
        emitter_json_kv(em, "name", EMITTER_STRING, &names[k]);
        emitter_json_kv(em, "value", EMITTER_SIZE, &v);
        emitter_json_object_end(em);
        emitter_row_init(&row);
        emitter_col(&row, EMITTER_LEFT, 6, EMITTER_STRING, &names[k]);
        emitter_col(&row, EMITTER_RIGHT, 8, EMITTER_SIZE, &v);
        emitter_table_row(em, &row);
    }
    emitter_table_end(em);
    emitter_json_array_begin(em, "empty_array");
    emitter_json_array_end(em);
    emitter_json_object_begin(em, "empty_object");
    emitter_json_object_end(em);
    emitter_section_end(em);
    emitter_json_object_end(em);
    emitter_text(em, "== end ==\n");
    emitter_end(em);
}

static const char want_text[] = "== begin ==\n"
                                "Bool: true\n"
                                "Unsigned: 7\n"
                                "U32: 4000000000\n"
                                "U64: 18446744073709551615\n"
                                "I64: -9223372036854775808\n"
                                "Size: 4096\n"
                                "Ssize: -3\n"
                                "String: \"plain\"\n"
                                "Section:\n"
                                "  text only: 4096\n"
                                "  inline:\"plain\"\n"
                                "  rows:\n"
                                "    name      value\n"
                                "    one          10\n"
                                "    two          20\n"
                                "== end ==\n";

static const char want_json[] = "{\n"
                                "\t\"doc\": {\n"
                                "\t\t\"bool\": true,\n"
                                "\t\t\"unsigned\": 7,\n"
                                "\t\t\"u32\": 4000000000,\n"
                                "\t\t\"u64\": 18446744073709551615,\n"
                                "\t\t\"i64\": -9223372036854775808,\n"
                                "\t\t\"size\": 4096,\n"
                                "\t\t\"ssize\": -3,\n"
                                "\t\t\"string\": \"plain\",\n"
                                "\t\t\"sec\": {\n"
                                "\t\t\t\"json_only\": 7,\n"
                                "\t\t\t\"rows\": [\n"
                                "\t\t\t\t{\n"
                                "\t\t\t\t\t\"name\": \"one\",\n"
                                "\t\t\t\t\t\"value\": 10\n"
                                "\t\t\t\t},\n"
                                "\t\t\t\t{\n"
                                "\t\t\t\t\t\"name\": \"two\",\n"
                                "\t\t\t\t\t\"value\": 20\n"
                                "\t\t\t\t}\n"
                                "\t\t\t],\n"
                                "\t\t\t\"empty_array\": [],\n"
                                "\t\t\t\"empty_object\": {}\n"
                                "\t\t}\n"
                                "\t}\n"
                                "}\n";

TEST_BEGIN(test_text_form) {
    run_doc(doc_all, EMITTER_TEXT, 4096, &cap_a);
    expect_captured(&cap_a, want_text);
    expect_u_eq(cap_a.nchunks, 1, "one flush at the end");
}
TEST_END

TEST_BEGIN(test_json_form) {
    run_doc(doc_all, EMITTER_JSON, 4096, &cap_a);
    expect_captured(&cap_a, want_json);
}
TEST_END

TEST_BEGIN(test_type_sizes) {
    expect_zu_eq(emitter_type_size(EMITTER_BOOL), sizeof(bool), "");
    expect_zu_eq(emitter_type_size(EMITTER_UNSIGNED), sizeof(unsigned), "");
    expect_zu_eq(emitter_type_size(EMITTER_U32), 4, "");
    expect_zu_eq(emitter_type_size(EMITTER_U64), 8, "");
    expect_zu_eq(emitter_type_size(EMITTER_I64), 8, "");
    expect_zu_eq(emitter_type_size(EMITTER_SIZE), sizeof(size_t), "");
    expect_zu_eq(emitter_type_size(EMITTER_SSIZE), sizeof(ssize_t), "");
    expect_zu_eq(emitter_type_size(EMITTER_STRING), sizeof(char *), "");
}
TEST_END

/* ---- JSON strings ---- */

static const char *escape_in;

static void doc_one_string(emitter_t *em) {
    emitter_begin(em);
    emitter_json_kv(em, "s", EMITTER_STRING, &escape_in);
    emitter_end(em);
}

static const struct {
    const char *in, *out;
} escapes[] = {
    {"", ""},
    {"plain ascii ~", "plain ascii ~"},
    {"q\"b\\s/", "q\\\"b\\\\s/"},
    {"\n\r\t\b\f", "\\n\\r\\t\\b\\f"},
    {"\x01\x1f\x7f", "\\u0001\\u001f\\u007f"},
    {"\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80", "\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"},
    {"\xef\xbf\xbf\xf4\x8f\xbf\xbf", "\xef\xbf\xbf\xf4\x8f\xbf\xbf"}, /* U+FFFF, U+10FFFF */
    {"a\x80z", "a\\ufffdz"},                          /* stray continuation byte */
    {"\xc0\xaf", "\\ufffd\\ufffd"},                   /* overlong '/' */
    {"\xe0\x80\xaf", "\\ufffd\\ufffd\\ufffd"},        /* overlong, 3 bytes */
    {"\xed\xa0\x80", "\\ufffd\\ufffd\\ufffd"},        /* surrogate U+D800 */
    {"\xf4\x90\x80\x80", "\\ufffd\\ufffd\\ufffd\\ufffd"}, /* above U+10FFFF */
    {"\xf5\xff", "\\ufffd\\ufffd"},
    {"\xe2\x82", "\\ufffd\\ufffd"},                   /* truncated at the end */
    {"\xe2\x82x", "\\ufffd\\ufffdx"},                  /* cut short by ASCII */
};

TEST_BEGIN(test_json_escapes) {
    for (size_t k = 0; k < sizeof(escapes) / sizeof(escapes[0]); k++) {
        escape_in = escapes[k].in;
        run_doc(doc_one_string, EMITTER_JSON, 4096, &cap_a);
        char want[256];
        snprintf(want, sizeof(want), "{\n\t\"s\": \"%s\"\n}\n", escapes[k].out);
        expect_captured(&cap_a, want);
    }
    /* The same string in text is printed as is, between quotes. */
    escape_in = "a\"b";
    const char *raw = escape_in;
    static char buf[64];
    emitter_t em;
    memset(&cap_a, 0, sizeof(cap_a));
    emitter_init(&em, EMITTER_TEXT, capture_cb, &cap_a, buf, sizeof(buf));
    emitter_text_kv(&em, "k", EMITTER_STRING, &raw);
    emitter_end(&em);
    expect_captured(&cap_a, "k: \"a\"b\"\n");
}
TEST_END

/* ---- chunking ---- */

/* A long document with multi-byte characters at every offset modulo 4. */
static void doc_long(emitter_t *em) {
    static const char *const words[] = {"ascii", "\xc3\xa9t\xc3\xa9", "\xe2\x82\xac\xe2\x82\xac",
                                        "\xf0\x9f\x98\x80!", "x\xc3\xa9", "yy\xe2\x82\xac"};
    emitter_begin(em);
    emitter_text(em, "long document\n");
    emitter_table_begin(em, "items", "items:");
    for (unsigned k = 0; k < 300; k++) {
        const char *w = words[k % 6];
        size_t v = (size_t)k * 7919;
        emitter_json_object_begin(em, NULL);
        emitter_json_kv(em, "word", EMITTER_STRING, &w);
        emitter_json_kv(em, "value", EMITTER_SIZE, &v);
        emitter_json_object_end(em);
        emitter_row_t row;
        emitter_row_init(&row);
        emitter_col(&row, EMITTER_LEFT, (unsigned)(k % 11), EMITTER_STRING, &w);
        emitter_col(&row, EMITTER_RIGHT, (unsigned)(k % 13), EMITTER_SIZE, &v);
        emitter_table_row(em, &row);
    }
    emitter_table_end(em);
    emitter_end(em);
}

TEST_BEGIN(test_chunks_concatenate) {
    for (int f = 0; f < 2; f++) {
        emitter_output_t out = f ? EMITTER_JSON : EMITTER_TEXT;
        run_doc(doc_long, out, sizeof(cap_b.text), &cap_b); /* one buffer for everything */
        assert_u_eq(cap_b.nchunks, 1, "reference run in one chunk");
        assert_zu_gt(cap_b.len, 4000, "long enough to need many chunks below");
        for (size_t bufsize = EMITTER_BUFSIZE_MIN; bufsize <= 200; bufsize++) {
            run_doc(doc_long, out, bufsize, &cap_a);
            expect_zu_eq(cap_a.len, cap_b.len, "form %d, bufsize %zu", f, bufsize);
            expect_true(memcmp(cap_a.text, cap_b.text, cap_b.len) == 0, "form %d, bufsize %zu",
                        f, bufsize);
            expect_zu_le(cap_a.maxchunk, bufsize - 1, "bufsize %zu", bufsize);
            expect_u_gt(cap_a.nchunks, 1, "bufsize %zu", bufsize);
            expect_false(cap_a.bad_boundary, "form %d, bufsize %zu: a chunk split a character",
                         f, bufsize);
        }
        run_doc(doc_long, out, 4096, &cap_a);
        expect_true(cap_a.len == cap_b.len && memcmp(cap_a.text, cap_b.text, cap_b.len) == 0,
                    "bufsize 4096");
    }
}
TEST_END

TEST_BEGIN(test_flush_is_explicit) {
    static char buf[64];
    emitter_t em;
    memset(&cap_a, 0, sizeof(cap_a));
    emitter_init(&em, EMITTER_TEXT, capture_cb, &cap_a, buf, sizeof(buf));
    emitter_text(&em, "abc");
    expect_u_eq(cap_a.nchunks, 0, "buffered until full or flushed");
    emitter_flush(&em);
    expect_u_eq(cap_a.nchunks, 1, "");
    expect_captured(&cap_a, "abc");
    emitter_flush(&em);
    expect_u_eq(cap_a.nchunks, 1, "an empty buffer is not handed over");
}
TEST_END

/* ---- table rows ---- */

TEST_BEGIN(test_rows) {
    static char buf[256];
    emitter_t em;
    memset(&cap_a, 0, sizeof(cap_a));
    emitter_init(&em, EMITTER_TEXT, capture_cb, &cap_a, buf, sizeof(buf));
    emitter_row_t row;
    const char *wide = "wider-than-column", *left = "L";
    uint64_t n = 123456;
    emitter_row_init(&row);
    emitter_col(&row, EMITTER_RIGHT, 3, EMITTER_STRING, &wide);
    emitter_col(&row, EMITTER_RIGHT, 8, EMITTER_U64, &n);
    emitter_col(&row, EMITTER_LEFT, 5, EMITTER_STRING, &left);
    emitter_table_row(&em, &row);
    emitter_row_init(&row);
    emitter_col(&row, EMITTER_LEFT, 5, EMITTER_STRING, &left);
    emitter_col(&row, EMITTER_LEFT, 0, EMITTER_U64, &n);
    emitter_table_row(&em, &row);
    emitter_row_init(&row);
    emitter_table_row(&em, &row); /* no columns: an empty line */
    emitter_end(&em);
    expect_captured(&cap_a, "wider-than-column   123456 L\nL     123456\n\n");

    /* Rows print nothing in JSON. */
    memset(&cap_a, 0, sizeof(cap_a));
    emitter_init(&em, EMITTER_JSON, capture_cb, &cap_a, buf, sizeof(buf));
    emitter_begin(&em);
    emitter_row_init(&row);
    emitter_col(&row, EMITTER_LEFT, 5, EMITTER_STRING, &left);
    emitter_table_row(&em, &row);
    emitter_text(&em, "text only");
    emitter_end(&em);
    expect_captured(&cap_a, "{}\n");
}
TEST_END

int main(void) {
    return run_tests(test_text_form, test_json_form, test_type_sizes, test_json_escapes,
                     test_chunks_concatenate, test_flush_is_explicit, test_rows);
}
