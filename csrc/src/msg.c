#include "msg.h"

#include <stdlib.h>
#include <sys/types.h>
#include <unistd.h>

void (*arenalloc_malloc_message)(void *cbopaque, const char *s) EXPORT = NULL;
#if ARENALLOC_EXPORT_UNPREFIXED
/* jemalloc's name for the same variable, for programs that set it under LD_PRELOAD. */
extern __typeof(arenalloc_malloc_message) malloc_message
    __attribute__((alias("arenalloc_malloc_message"), visibility("default")));
#endif

static void write_stderr(const char *s) {
    size_t len = strlen(s);
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, s, len);
        if (n <= 0) return;
        s += n;
        len -= (size_t)n;
    }
}

void al_write(const char *s) {
    if (arenalloc_malloc_message != NULL) {
        arenalloc_malloc_message(NULL, s);
    } else {
        write_stderr(s);
    }
}

typedef struct {
    char *buf;
    size_t size, len;
} out_t;

static void out_char(out_t *o, char c) {
    if (o->len + 1 < o->size) o->buf[o->len] = c;
    o->len++;
}

static void out_str(out_t *o, const char *s) {
    while (*s) out_char(o, *s++);
}

/* Digits of v in base (10 or 16) into tmp, most significant first; returns their count. */
static size_t fmt_uint(char tmp[24], unsigned long long v, unsigned base) {
    char rev[24];
    size_t n = 0;
    do {
        rev[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0);
    for (size_t k = 0; k < n; k++) tmp[k] = rev[n - 1 - k];
    return n;
}

/* Writes sign + digits (or a string: sign NULL) padded to width: spaces on the left, spaces on
 * the right ('-') or zeros between sign and digits ('0', numbers only). */
static void out_padded(out_t *o, const char *sign, const char *s, size_t len, size_t width,
                       bool left, bool zero) {
    size_t signlen = sign != NULL ? strlen(sign) : 0;
    size_t pad = width > signlen + len ? width - signlen - len : 0;
    if (!left && !zero) {
        for (; pad > 0; pad--) out_char(o, ' ');
    }
    if (sign != NULL) out_str(o, sign);
    if (!left && zero) {
        for (; pad > 0; pad--) out_char(o, '0');
    }
    for (size_t k = 0; k < len; k++) out_char(o, s[k]);
    for (; pad > 0; pad--) out_char(o, ' ');
}

/* Length modifiers: none, l, ll, z (size_t / ssize_t). */
enum { LEN_INT, LEN_LONG, LEN_LLONG, LEN_SIZE };

size_t al_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
    out_t o = {buf, size, 0};
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            out_char(&o, *f);
            continue;
        }
        f++;
        bool left = false, zero = false;
        for (;; f++) {
            if (*f == '-') left = true;
            else if (*f == '0') zero = true;
            else break;
        }
        size_t width = 0;
        if (*f == '*') {
            int w = va_arg(ap, int);
            if (w < 0) {
                left = true;
                w = -w;
            }
            width = (size_t)w;
            f++;
        } else {
            while (*f >= '0' && *f <= '9') width = width * 10 + (size_t)(*f++ - '0');
        }
        if (left) zero = false;
        int len = LEN_INT;
        if (*f == 'z') {
            len = LEN_SIZE;
            f++;
        } else if (*f == 'l') {
            len = LEN_LONG;
            f++;
            if (*f == 'l') {
                len = LEN_LLONG;
                f++;
            }
        }
        char tmp[24];
        switch (*f) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            if (s == NULL) s = "(null)";
            out_padded(&o, NULL, s, strlen(s), width, left, false);
            break;
        }
        case 'c': {
            char c = (char)va_arg(ap, int);
            out_padded(&o, NULL, &c, 1, width, left, false);
            break;
        }
        case 'd':
        case 'i': {
            long long v;
            switch (len) {
            case LEN_LONG: v = va_arg(ap, long); break;
            case LEN_LLONG: v = va_arg(ap, long long); break;
            case LEN_SIZE: v = va_arg(ap, ssize_t); break;
            default: v = va_arg(ap, int); break;
            }
            unsigned long long mag = v < 0 ? (unsigned long long)(-(v + 1)) + 1
                                           : (unsigned long long)v;
            size_t n = fmt_uint(tmp, mag, 10);
            out_padded(&o, v < 0 ? "-" : NULL, tmp, n, width, left, zero);
            break;
        }
        case 'u':
        case 'x': {
            unsigned long long v;
            switch (len) {
            case LEN_LONG: v = va_arg(ap, unsigned long); break;
            case LEN_LLONG: v = va_arg(ap, unsigned long long); break;
            case LEN_SIZE: v = va_arg(ap, size_t); break;
            default: v = va_arg(ap, unsigned); break;
            }
            size_t n = fmt_uint(tmp, v, *f == 'x' ? 16 : 10);
            out_padded(&o, NULL, tmp, n, width, left, zero);
            break;
        }
        case 'p': {
            size_t n = fmt_uint(tmp, (uintptr_t)va_arg(ap, void *), 16);
            out_padded(&o, "0x", tmp, n, width, left, zero);
            break;
        }
        case '%': out_char(&o, '%'); break;
        case '\0': f--; break;
        default: out_char(&o, '?'); break;
        }
    }
    if (size > 0) buf[o.len < size ? o.len : size - 1] = '\0';
    return o.len;
}

size_t al_snprintf(char *buf, size_t size, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    size_t n = al_vsnprintf(buf, size, fmt, ap);
    va_end(ap);
    return n;
}

static void vprint(const char *fmt, va_list ap) {
    char buf[512];
    size_t n = al_snprintf(buf, sizeof(buf), "<arenalloc>: ");
    al_vsnprintf(buf + n, sizeof(buf) - n, fmt, ap);
    al_write(buf);
}

void al_printf(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
}

void al_fatal(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprint(fmt, ap);
    va_end(ap);
    abort();
}

void al_assert_fail(const char *file, int line, const char *expr) {
    al_fatal("%s:%d: failed assertion: \"%s\"\n", file, line, expr);
}
