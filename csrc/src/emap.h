/*
 * emap.h -- the extent map: a two-level radix tree from every page address arenalloc manages
 * to a packed entry naming its extent descriptor, the size class and the slab bit.
 *
 * Which pages are mapped: every page of an active slab (so any region pointer resolves); the
 * first page of an active large extent (so interior pointers are rejected); the first and last
 * page of a free extent (with size class "none", so frees of it are rejected, and so that
 * neighbours find it to coalesce: a neighbour must also check the descriptor's state and
 * bounds, because other pages may hold stale entries).
 * Other pages hold stale or zero entries and must not be trusted.
 *
 * Concurrency: reads are lock-free (two dependent loads); writes happen under the lock that owns
 * the extent, with release stores read by acquire loads (plain moves on x86), so a reader that
 * finds an entry -- e.g. a page allocator probing a neighbour of another arena -- also sees the
 * descriptor as it was when the entry was written. Leaves are created when the page allocator maps new memory (emap_prepare), never
 * on a read, and never freed, so a reader may follow any root pointer it sees.
 *
 * Entry layout: bits 0-47 descriptor address, bit 48 slab, bits 56-63 size class + 1
 * (0 = no active allocation here). An entry of 0 means "unknown to arenalloc".
 */
#ifndef AL_EMAP_H
#define AL_EMAP_H

#include "edata.h"
#include "internal.h"

#define EMAP_LEAF_BITS 18
#define EMAP_ROOT_BITS (LG_VADDR - LG_PAGE - EMAP_LEAF_BITS)
#define EMAP_LEAF_MASK (((uintptr_t)1 << EMAP_LEAF_BITS) - 1)
#define EMAP_PTR_MASK (((uint64_t)1 << 48) - 1)
#define EMAP_SLAB_BIT ((uint64_t)1 << 48)
#define EMAP_SZIND_SHIFT 56

typedef uint64_t emap_entry_t;

extern emap_entry_t *emap_root[(size_t)1 << EMAP_ROOT_BITS];

static ALWAYS_INLINE emap_entry_t emap_lookup(const void *ptr) {
    uintptr_t a = (uintptr_t)ptr;
    uintptr_t ri = a >> (LG_PAGE + EMAP_LEAF_BITS);
    if (UNLIKELY(ri >= ((uintptr_t)1 << EMAP_ROOT_BITS))) return 0;
    emap_entry_t *leaf = __atomic_load_n(&emap_root[ri], __ATOMIC_ACQUIRE);
    if (UNLIKELY(leaf == NULL)) return 0;
    return __atomic_load_n(&leaf[(a >> LG_PAGE) & EMAP_LEAF_MASK], __ATOMIC_ACQUIRE);
}

static ALWAYS_INLINE edata_t *emap_entry_edata(emap_entry_t e) {
    return (edata_t *)(uintptr_t)(e & EMAP_PTR_MASK);
}
/* Size class + 1 of the active allocation, 0 if none. */
static ALWAYS_INLINE unsigned emap_entry_szind1(emap_entry_t e) {
    return (unsigned)(e >> EMAP_SZIND_SHIFT);
}
static ALWAYS_INLINE bool emap_entry_slab(emap_entry_t e) { return (e & EMAP_SLAB_BIT) != 0; }

/* Makes sure leaves exist for [addr, addr+size). Returns true on OOM. */
bool emap_prepare(void *addr, size_t size);
/* Maps an active extent: all pages of a slab, the first page of a large extent. */
void emap_register_active(edata_t *e, szind_t szind, bool slab);
/* Maps the boundary pages of a free extent (size class none). The caller has cleared what an
 * active registration of the range wrote (emap_clear). */
void emap_register_free(edata_t *e);
/* Clears every page entry of e that any registration could have written. */
void emap_clear(edata_t *e);
/* Clears one page's entry (an interior boundary left behind by a merge). */
void emap_clear_page(void *addr);

/* Metadata bytes mapped for leaves. */
size_t emap_mapped_bytes(void);

#endif
