#include "sz.h"

/*
 * The tables are compile-time constants: the fast paths read them before the allocator is
 * booted (their answer is then thrown away, but a table being written meanwhile would be a
 * data race), and constants cost no boot work.
 */

/* Class i's size: the tiny class, the quantum-spaced group, then 4 classes per doubling. */
#define I2S(i)                                                                                 \
    ((i) == 0   ? (size_t)8                                                                    \
     : (i) <= 4 ? (size_t)(i) << LG_QUANTUM                                                    \
                : ((size_t)1 << (6 + ((i) - 5) / 4)) +                                         \
                      ((size_t)(((i) - 5) % 4 + 1) << (6 + ((i) - 5) / 4 - 2)))
#define R4(M, i) M(i) M((i) + 1) M((i) + 2) M((i) + 3)
#define R16(M, i) R4(M, i) R4(M, (i) + 4) R4(M, (i) + 8) R4(M, (i) + 12)
#define R64(M, i) R16(M, i) R16(M, (i) + 16) R16(M, (i) + 32) R16(M, (i) + 48)
#define R256(M, i) R64(M, i) R64(M, (i) + 64) R64(M, (i) + 128) R64(M, (i) + 192)
#define R1024(M, i) R256(M, i) R256(M, (i) + 256) R256(M, (i) + 512) R256(M, (i) + 768)

#define I2S_ENTRY(i) I2S(i),
const size_t sz_index2size_tab[SC_NSIZES] = {
    R64(I2S_ENTRY, 0) R64(I2S_ENTRY, 64) R64(I2S_ENTRY, 128) R16(I2S_ENTRY, 192)
    R16(I2S_ENTRY, 208) R4(I2S_ENTRY, 224) R4(I2S_ENTRY, 228)};

/* Class of a size <= SC_LOOKUP_MAXCLASS (s = 8k): the same rule as sz_size2index_compute, as a constant. */
#define LGC(s) (64 - __builtin_clzll((unsigned long long)(s) - 1)) /* ceil(log2 s), s > 1 */
#define S2I(s)                                                                                 \
    ((s) <= 8    ? 0                                                                           \
     : (s) <= 64 ? ((s) + QUANTUM - 1) >> LG_QUANTUM                                           \
                 : 5 + (LGC(s) - 7) * 4 +                                                      \
                       (((s) - ((size_t)1 << (LGC(s) - 1)) + ((size_t)1 << (LGC(s) - 3)) - 1) >> \
                        (LGC(s) - 3)) - 1)
#define S2I_ENTRY(k) (uint8_t)S2I((size_t)(k) * 8),
const uint8_t sz_size2index_tab[(SC_LOOKUP_MAXCLASS >> 3) + 1] = {
    R1024(S2I_ENTRY, 0) R1024(S2I_ENTRY, 1024) R1024(S2I_ENTRY, 2048) R1024(S2I_ENTRY, 3072)
    S2I_ENTRY(4096)};

/* A slab is the smallest page multiple that the region size divides: lcm(size, PAGE), where
 * gcd(size, PAGE) is the largest power of two dividing size, capped at PAGE. */
#define POW2_DIV(s) ((s) & (~(s) + 1))
#define SLAB_SIZE(s) ((s) / (POW2_DIV(s) < PAGE ? POW2_DIV(s) : PAGE) * PAGE)
#define BIN_INFO(i)                                                                            \
    {I2S(i), SLAB_SIZE(I2S(i)), (uint32_t)(SLAB_SIZE(I2S(i)) / I2S(i)),                        \
     (uint32_t)((((uint64_t)1 << 32) + I2S(i) - 1) / I2S(i))},
const bin_info_t bin_infos[SC_NBINS] = {R16(BIN_INFO, 0) R16(BIN_INFO, 16) R4(BIN_INFO, 32)};

size_t sz_index2size_compute(szind_t ind) {
    if (ind == 0) return 8;
    if (ind <= 4) return (size_t)ind << LG_QUANTUM;
    unsigned group = (ind - 5) / 4, mod = (ind - 5) % 4 + 1;
    unsigned lg_base = 6 + group;
    return ((size_t)1 << lg_base) + ((size_t)mod << (lg_base - 2));
}

szind_t sz_size2index_compute(size_t size) {
    if (size > SC_LARGE_MAXCLASS) return SC_NSIZES;
    if (size <= 8) return 0;
    if (size <= 64) return (szind_t)((size + QUANTUM - 1) >> LG_QUANTUM);
    unsigned lg = lg_ceil(size);          /* size in (2^(lg-1), 2^lg] */
    unsigned lg_base = lg - 1, lg_delta = lg_base - 2;
    size_t base = (size_t)1 << lg_base;
    size_t mod = (size - base + ((size_t)1 << lg_delta) - 1) >> lg_delta; /* 1..4 */
    return (szind_t)(5 + (lg_base - 6) * 4 + (mod - 1));
}
