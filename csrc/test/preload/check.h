/*
 * check.h -- the check counters of the preload programs (jemalloc_client.c, jemalloc_hooks.c).
 * They are built against jemalloc's header and library as well as arenalloc's, so they use
 * nothing of test.h: one "ok  "/"FAIL" line per check, and counts for the summary line.
 */
#ifndef ARENALLOC_PRELOAD_CHECK_H
#define ARENALLOC_PRELOAD_CHECK_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

static int npass, nfail;

static void check(bool ok, const char *what, const char *fmt, ...) {
    va_list ap;
    printf("%s %s: ", ok ? "ok  " : "FAIL", what);
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    if (ok) npass++;
    else nfail++;
}

#endif
