#include "sz.h"

size_t sz_index2size_tab[SC_NSIZES];
uint8_t sz_size2index_tab[(SC_LOOKUP_MAXCLASS >> 3) + 1];
bin_info_t bin_infos[SC_NBINS];

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

static size_t gcd(size_t a, size_t b) {
    while (b) {
        size_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

void sz_boot(void) {
    for (szind_t i = 0; i < SC_NSIZES; i++) sz_index2size_tab[i] = sz_index2size_compute(i);
    for (size_t k = 0; k <= (SC_LOOKUP_MAXCLASS >> 3); k++) {
        size_t size = k << 3;
        sz_size2index_tab[k] = (uint8_t)sz_size2index_compute(size);
    }
    for (szind_t i = 0; i < SC_NBINS; i++) {
        bin_info_t *b = &bin_infos[i];
        b->reg_size = sz_index2size_tab[i];
        b->slab_size = b->reg_size / gcd(b->reg_size, PAGE) * PAGE; /* lcm(size, page) */
        b->nregs = (uint32_t)(b->slab_size / b->reg_size);
        b->div_magic = (uint32_t)((((uint64_t)1 << 32) + b->reg_size - 1) / b->reg_size);
    }
}
