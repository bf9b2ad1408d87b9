/*
 * ctl_read.h -- typed mallctl reads for the integration tests: each records a failed call as a
 * test failure (naming the key) and returns the value, 0 / false on failure (-42 for ssize_t, so
 * a failed read of a decay time never looks like a valid setting); per-arena statistics and
 * commands on top of them. Include after test.h.
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

/* stats.arenas.<ind>.<field> after an epoch advance (size_t and uint64_t fields). */
static inline size_t arena_stat(unsigned ind, const char *field) {
    char name[96];
    epoch_advance();
    snprintf(name, sizeof(name), "stats.arenas.%u.%s", ind, field);
    return read_size(name);
}

static inline uint64_t arena_stat_u64(unsigned ind, const char *field) {
    char name[96];
    epoch_advance();
    snprintf(name, sizeof(name), "stats.arenas.%u.%s", ind, field);
    return read_u64(name);
}

/* The command arena.<ind>.<what> (decay, purge, reset, destroy): its return value. */
static inline int arena_cmd(unsigned ind, const char *what) {
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.%s", ind, what);
    return mallctl(name, NULL, NULL, NULL, 0);
}

/* arena.<ind>.destroy, which must succeed. */
static inline void arena_destroy(unsigned ind) {
    assert_d_eq(arena_cmd(ind, "destroy"), 0, "arena.%u.destroy", ind);
}

#endif
