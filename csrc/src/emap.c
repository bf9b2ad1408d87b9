#include "emap.h"

#include "mutex.h"
#include "platform.h"

/* 2^18 pointers = 2 MiB of BSS; untouched entries cost no physical memory. */
emap_entry_t *emap_root[(size_t)1 << EMAP_ROOT_BITS];

static size_t leaf_bytes;

static emap_entry_t *leaf_for(uintptr_t a) {
    return __atomic_load_n(&emap_root[a >> (LG_PAGE + EMAP_LEAF_BITS)], __ATOMIC_ACQUIRE);
}

bool emap_prepare(void *addr, size_t size) {
    uintptr_t first = (uintptr_t)addr >> (LG_PAGE + EMAP_LEAF_BITS);
    uintptr_t last = ((uintptr_t)addr + size - 1) >> (LG_PAGE + EMAP_LEAF_BITS);
    if (last >= ((uintptr_t)1 << EMAP_ROOT_BITS)) return true;
    for (uintptr_t ri = first; ri <= last; ri++) {
        if (__atomic_load_n(&emap_root[ri], __ATOMIC_ACQUIRE) != NULL) continue;
        size_t bytes = sizeof(emap_entry_t) << EMAP_LEAF_BITS;
        emap_entry_t *leaf = platform_map(NULL, bytes, PAGE);
        if (leaf == NULL) return true;
        emap_entry_t *expected = NULL;
        if (__atomic_compare_exchange_n(&emap_root[ri], &expected, leaf, false, __ATOMIC_RELEASE,
                                        __ATOMIC_ACQUIRE)) {
            __atomic_fetch_add(&leaf_bytes, bytes, __ATOMIC_RELAXED);
        } else {
            platform_unmap(leaf, bytes); /* another thread won the race */
        }
    }
    return false;
}

static void set(void *addr, emap_entry_t v) {
    uintptr_t a = (uintptr_t)addr;
    emap_entry_t *leaf = leaf_for(a);
    al_assert(leaf != NULL);
    __atomic_store_n(&leaf[(a >> LG_PAGE) & EMAP_LEAF_MASK], v, __ATOMIC_RELEASE);
}

static emap_entry_t pack(edata_t *e, unsigned szind1, bool slab) {
    return ((uint64_t)(uintptr_t)e & EMAP_PTR_MASK) | (slab ? EMAP_SLAB_BIT : 0) |
           ((uint64_t)szind1 << EMAP_SZIND_SHIFT);
}

void emap_register_active(edata_t *e, szind_t szind, bool slab) {
    emap_entry_t v = pack(e, szind + 1, slab);
    if (slab) {
        for (size_t off = 0; off < e->size; off += PAGE) set((char *)e->addr + off, v);
    } else {
        set(e->addr, v); /* large: pointers are only ever the first page */
    }
}

void emap_register_free(edata_t *e) {
    emap_entry_t v = pack(e, 0, false);
    set(e->addr, v);
    set(edata_last_page(e), v);
}

void emap_clear(edata_t *e) {
    if (e->slab) {
        for (size_t off = 0; off < e->size; off += PAGE) set((char *)e->addr + off, 0);
    } else {
        set(e->addr, 0);
    }
}

void emap_clear_page(void *addr) { set(addr, 0); }

size_t emap_mapped_bytes(void) { return __atomic_load_n(&leaf_bytes, __ATOMIC_RELAXED); }
