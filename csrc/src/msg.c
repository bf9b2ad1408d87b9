#include "msg.h"

#include <stdlib.h>
#include <unistd.h>

void (*arenalloc_malloc_message)(void *cbopaque, const char *s) EXPORT = NULL;

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

static void out_uint(out_t *o, unsigned long long v, unsigned base) {
    char tmp[24];
    int n = 0;
    do {
        tmp[n++] = "0123456789abcdef"[v % base];
        v /= base;
    } while (v != 0);
    while (n > 0) out_char(o, tmp[--n]);
}

size_t al_vsnprintf(char *buf, size_t size, const char *fmt, va_list ap) {
    out_t o = {buf, size, 0};
    for (const char *f = fmt; *f; f++) {
        if (*f != '%') {
            out_char(&o, *f);
            continue;
        }
        f++;
        int lng = 0; /* 0: int, 1: long / size_t */
        while (*f == 'l' || *f == 'z') {
            lng = 1;
            f++;
        }
        switch (*f) {
        case 's': {
            const char *s = va_arg(ap, const char *);
            out_str(&o, s ? s : "(null)");
            break;
        }
        case 'c': out_char(&o, (char)va_arg(ap, int)); break;
        case 'd': {
            long long v = lng ? va_arg(ap, long) : va_arg(ap, int);
            if (v < 0) {
                out_char(&o, '-');
                out_uint(&o, (unsigned long long)(-(v + 1)) + 1, 10);
            } else {
                out_uint(&o, (unsigned long long)v, 10);
            }
            break;
        }
        case 'u': out_uint(&o, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 10); break;
        case 'x': out_uint(&o, lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned), 16); break;
        case 'p':
            out_str(&o, "0x");
            out_uint(&o, (uintptr_t)va_arg(ap, void *), 16);
            break;
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
