/*
 * edata.h -- the extent descriptor: one contiguous, page-aligned range of an arena's memory,
 * either active (a slab of small regions, or one large allocation) or free in one of the page
 * allocator's sets (dirty, muzzy, retained).
 *
 * Ownership: a descriptor belongs to one arena's page allocator for life (arena_ind never
 * changes after the descriptor is first handed out), and its fields change only under that
 * page allocator's lock -- except the slab fields (nfree, bitmap, list links while in a bin),
 * which belong to the bin lock while the extent is an active slab. `state` is read without the
 * lock by neighbours looking for coalescing candidates, hence the atomic accessors.
 */
#ifndef AL_EDATA_H
#define AL_EDATA_H

#include "bitmap.h"
#include "internal.h"
#include "sz.h"

typedef enum {
    EXTENT_ACTIVE = 0, /* handed out: a slab or a large allocation */
    EXTENT_DIRTY = 1,  /* free, pages touched and resident */
    EXTENT_MUZZY = 2,  /* free, purged lazily (MADV_FREE): may or may not be resident */
    EXTENT_RETAINED = 3, /* free, clean: never touched or purged for good */
    EXTENT_BUSY = 4,   /* taken out of a set by a thread that is working on it */
} extent_state_t;

typedef struct edata_s edata_t;
struct edata_s {
    /* Read without the owner's lock by neighbours probing for coalescing: atomic accessors,
     * and never cleared in bulk (edata_reset keeps them). */
    unsigned arena_ind; /* owning arena (immutable once owned) */
    uint8_t state;      /* extent_state_t */
    /* The rest belongs to the owner's lock. */
    void *addr;
    size_t size;        /* bytes, a page multiple */
    uint8_t szind;      /* size class while active; SC_NSIZES otherwise */
    bool slab;          /* active and holding small regions */
    bool zeroed;        /* every byte is known to be zero */
    bool committed;     /* pages are committed (backed or backable) */
    uint32_t nfree;     /* slab: free regions; nfree == nregs <=> slab unused */
    uint32_t prio;      /* treap priority inside a free set */
    uint64_t sn;        /* serial number: lower = older; orders slabs and ties */
    edata_t *prev, *next;    /* list links: bin's non-full slabs, free set's LRU, free list */
    edata_t *left, *right;   /* treap links inside a free set; while active in an explicit
                              * arena, links of the page allocator's active list (pac.h) */
    bitmap_t bitmap;    /* slab: region occupancy, 1 = free */
};

static inline extent_state_t edata_state(const edata_t *e) {
    return (extent_state_t)__atomic_load_n(&e->state, __ATOMIC_RELAXED);
}
static inline void edata_state_set(edata_t *e, extent_state_t s) {
    __atomic_store_n(&e->state, (uint8_t)s, __ATOMIC_RELAXED);
}
static inline unsigned edata_arena_ind(const edata_t *e) {
    return __atomic_load_n(&e->arena_ind, __ATOMIC_RELAXED);
}
/* Clears every field but the owner and the state. */
static inline void edata_reset(edata_t *e) {
    memset(&e->addr, 0, sizeof(*e) - offsetof(edata_t, addr));
}
static inline void *edata_end(const edata_t *e) { return (char *)e->addr + e->size; }
static inline void *edata_last_page(const edata_t *e) { return (char *)e->addr + e->size - PAGE; }

/* An intrusive doubly-linked list with a sentinel-free head. */
typedef struct edata_list_s {
    edata_t *head, *tail;
    size_t n;
} edata_list_t;

static inline void edata_list_append(edata_list_t *l, edata_t *e) {
    e->next = NULL;
    e->prev = l->tail;
    if (l->tail) l->tail->next = e;
    else l->head = e;
    l->tail = e;
    l->n++;
}

static inline void edata_list_prepend(edata_list_t *l, edata_t *e) {
    e->prev = NULL;
    e->next = l->head;
    if (l->head) l->head->prev = e;
    else l->tail = e;
    l->head = e;
    l->n++;
}

static inline void edata_list_remove(edata_list_t *l, edata_t *e) {
    if (e->prev) e->prev->next = e->next;
    else l->head = e->next;
    if (e->next) e->next->prev = e->prev;
    else l->tail = e->prev;
    e->prev = e->next = NULL;
    l->n--;
}

#endif
