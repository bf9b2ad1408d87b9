#include "large.h"

#include "emap.h"

edata_t *large_alloc(pac_t *pac, szind_t ind, size_t usize, size_t alignment, bool zero) {
    edata_t *e = pac_alloc(pac, usize, alignment, zero);
    if (e == NULL) return NULL;
    e->szind = (uint8_t)ind;
    e->slab = false;
    emap_register_active(e, ind, false);
    return e;
}

void large_dalloc(pac_t *pac, edata_t *e) {
    emap_clear(e);
    pac_dalloc(pac, e);
}

bool large_resize(pac_t *pac, edata_t *e, szind_t ind, size_t usize, bool zero) {
    if (usize < e->size) {
        if (pac_shrink(pac, e, usize)) return true;
    } else if (usize > e->size) {
        if (pac_expand(pac, e, usize, zero)) return true;
    }
    e->szind = (uint8_t)ind;
    emap_register_active(e, ind, false);
    return false;
}
