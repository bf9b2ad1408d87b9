/*
 * ctl_read.h -- typed mallctl reads for the integration tests: each records a failed call as a
 * test failure (naming the key) and returns the value, 0 / false on failure (-42 for ssize_t, so
 * a failed read of a decay time never looks like a valid setting). Include after test.h.
 */
#ifndef ARENALLOC_TEST_CTL_READ_H
#define ARENALLOC_TEST_CTL_READ_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "arenalloc.h"
#include "test.h"

#define CTL_READ_FN(name, type, init)                                                          \
    static inline type name(const char *key) {                                                 \
        type v = init;                                                                         \
        size_t sz = sizeof(v);                                                                 \
        expect_d_eq(mallctl(key, &v, &sz, NULL, 0), 0, "%s", key);                             \
        return v;                                                                              \
    }

CTL_READ_FN(read_size, size_t, 0)
CTL_READ_FN(read_u64, uint64_t, 0)
CTL_READ_FN(read_unsigned, unsigned, 0)
CTL_READ_FN(read_ssize, ssize_t, -42)
CTL_READ_FN(read_bool, bool, false)

/* Refreshes the statistics snapshot. */
static inline void epoch_advance(void) {
    uint64_t e = 1;
    expect_d_eq(mallctl("epoch", NULL, NULL, &e, sizeof(e)), 0, "");
}

#endif
