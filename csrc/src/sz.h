/*
 * sz.h -- size classes (jemalloc's: 4 classes per doubling, LG_QUANTUM 4, 4 KiB pages).
 *
 * Class 0 is the tiny class 8; classes 1..4 are 16, 32, 48, 64; from 64 on, each doubling
 * [2^g, 2^(g+1)] holds 4 classes spaced by 2^(g-2). Classes below 16 KiB (indices < SC_NBINS)
 * are small (slab-allocated); the rest are large (page multiples, one extent each). The largest
 * class is 2^62 + 3*2^60.
 *
 * Invariants: sz_index2size(sz_size2index(s)) >= s, and it is the smallest class that is;
 * sz_size2index(sz_index2size(i)) == i. The tables are compile-time constants.
 */
#ifndef AL_SZ_H
#define AL_SZ_H

#include "internal.h"

/* A size-class index; word-sized so fast paths need no zero-extension. */
typedef size_t szind_t;

#define SC_NTINY 1
#define SC_NBINS 36
#define SC_NSIZES 232
/* Sizes up to here (every class a thread cache holds by default) map to their class by table. */
#define SC_LOOKUP_MAXCLASS ((size_t)32768)
#define SC_SMALL_MAXCLASS ((size_t)14336)
#define SC_LARGE_MINCLASS ((size_t)16384)
#define SC_LARGE_MAXCLASS (((size_t)1 << 62) + ((size_t)3 << 60))
/* Most regions per slab (class 8 in one page) and slab pages at most. */
#define SLAB_MAXREGS 512
#define SLAB_MAXPAGES 7

/* Geometry of one small class. */
typedef struct bin_info_s {
    size_t reg_size;      /* region size */
    size_t slab_size;     /* bytes per slab: the smallest page multiple that reg_size divides */
    uint32_t nregs;       /* regions per slab = slab_size / reg_size */
    uint32_t div_magic;   /* ceil(2^32 / reg_size): offset / reg_size == offset * magic >> 32 */
} bin_info_t;

extern const size_t sz_index2size_tab[SC_NSIZES];
extern const uint8_t sz_size2index_tab[(SC_LOOKUP_MAXCLASS >> 3) + 1];
extern const bin_info_t bin_infos[SC_NBINS];

/* Computes the class of size (no tables). size 0 maps to class 0; size > max: SC_NSIZES. */
szind_t sz_size2index_compute(size_t size);
size_t sz_index2size_compute(szind_t ind);

static ALWAYS_INLINE szind_t sz_size2index_lookup(size_t size) {
    al_assert(size <= SC_LOOKUP_MAXCLASS);
    return sz_size2index_tab[(size + 7) >> 3];
}

static ALWAYS_INLINE szind_t sz_size2index(size_t size) {
    if (LIKELY(size <= SC_LOOKUP_MAXCLASS)) return sz_size2index_lookup(size);
    return sz_size2index_compute(size);
}

static ALWAYS_INLINE size_t sz_index2size(szind_t ind) {
    al_assert(ind < SC_NSIZES);
    return sz_index2size_tab[ind];
}

/* Usable size for a request of size bytes; 0 if it exceeds the largest class. */
static ALWAYS_INLINE size_t sz_s2u(size_t size) {
    if (LIKELY(size <= SC_LOOKUP_MAXCLASS)) return sz_index2size(sz_size2index_lookup(size));
    if (size > SC_LARGE_MAXCLASS) return 0;
    return sz_index2size_compute(sz_size2index_compute(size));
}

/*
 * Usable size for size (>= 1) bytes aligned to alignment (a power of two), or 0 if too large.
 * Small regions sit at multiples of their size in page-aligned slabs, so a small class whose
 * size is a multiple of alignment is aligned; such a class exists for every alignment <= PAGE.
 */
static inline size_t sz_sa2u(size_t size, size_t alignment) {
    if (size <= SC_SMALL_MAXCLASS && alignment <= PAGE) {
        size_t usize = sz_s2u(ALIGNMENT_CEILING(size, alignment));
        if (usize < SC_LARGE_MINCLASS) return usize;
    }
    if (alignment > SC_LARGE_MAXCLASS) return 0;
    size_t usize = size <= SC_LARGE_MINCLASS ? SC_LARGE_MINCLASS : sz_s2u(size);
    if (usize == 0) return 0;
    /* The extent must also fit alignment slack; reject sizes where that overflows. */
    if (alignment > PAGE && usize + alignment - PAGE < usize) return 0;
    return usize;
}

#endif
