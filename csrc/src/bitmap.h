/*
 * bitmap.h -- a slab's occupancy bitmap: one bit per region, 1 = free. Header-only.
 * Bits at or beyond nregs are always 0 (never free), so scans need no bound checks.
 */
#ifndef AL_BITMAP_H
#define AL_BITMAP_H

#include "internal.h"
#include "sz.h"

#define BITMAP_NWORDS (SLAB_MAXREGS / 64)

typedef struct bitmap_s {
    uint64_t w[BITMAP_NWORDS];
} bitmap_t;

/* Marks regions [0, nregs) free and the rest never-free. */
static inline void bitmap_init_free(bitmap_t *b, unsigned nregs) {
    for (unsigned i = 0; i < BITMAP_NWORDS; i++) {
        unsigned lo = i * 64;
        b->w[i] = nregs >= lo + 64 ? ~(uint64_t)0 : nregs > lo ? (((uint64_t)1 << (nregs - lo)) - 1) : 0;
    }
}

static inline bool bitmap_is_free(const bitmap_t *b, unsigned bit) {
    return (b->w[bit >> 6] >> (bit & 63)) & 1;
}

static inline void bitmap_set_free(bitmap_t *b, unsigned bit) {
    b->w[bit >> 6] |= (uint64_t)1 << (bit & 63);
}

/* Takes the lowest free region; the caller knows one exists. */
static inline unsigned bitmap_take_first(bitmap_t *b) {
    for (unsigned i = 0;; i++) {
        if (b->w[i] != 0) {
            unsigned bit = (unsigned)__builtin_ctzll(b->w[i]);
            b->w[i] &= b->w[i] - 1;
            return i * 64 + bit;
        }
    }
}

/* Takes the n lowest free regions (the caller knows n are free) in one pass over the words,
 * writing the address of region k, base + k * reg_size, to dst[0..n). */
static inline void bitmap_take_n(bitmap_t *b, unsigned n, char *base, size_t reg_size,
                                 void **dst) {
    for (unsigned i = 0; n > 0; i++) {
        uint64_t w = b->w[i];
        char *word_base = base + (size_t)i * 64 * reg_size;
        for (; w != 0 && n > 0; n--) {
            *dst++ = word_base + (size_t)__builtin_ctzll(w) * reg_size;
            w &= w - 1;
        }
        b->w[i] = w;
    }
}

#endif
