#include "pac.h"

#include "base.h"
#include "emap.h"

/* ---- locking around hook calls ---- */

/* Default hooks are short and never allocate: call them under the lock. Custom hooks may do
 * anything, including malloc: drop the lock. */
static bool hook_unlock(pac_t *pac) {
    if (ehooks_are_default(pac->ehooks)) return false;
    mutex_unlock(&pac->lock);
    return true;
}

static void hook_relock(pac_t *pac, bool unlocked) {
    if (unlocked) mutex_lock(&pac->lock);
}

/* ---- descriptors ---- */

static edata_t *edata_get_locked(pac_t *pac) {
    edata_t *e = pac->edata_cache.head;
    if (e != NULL) {
        edata_list_remove(&pac->edata_cache, e);
    } else {
        e = base_alloc(sizeof(edata_t), CACHELINE);
        if (e == NULL) return NULL;
        pac->nedata++;
    }
    edata_reset(e);
    __atomic_store_n(&e->arena_ind, pac->ind, __ATOMIC_RELAXED);
    e->szind = SC_NSIZES;
    e->sn = pac->next_sn++;
    return e;
}

static void edata_put_locked(pac_t *pac, edata_t *e) { edata_list_append(&pac->edata_cache, e); }

edata_t *pac_edata_get(pac_t *pac) {
    mutex_lock(&pac->lock);
    edata_t *e = edata_get_locked(pac);
    mutex_unlock(&pac->lock);
    return e;
}

void pac_edata_put(pac_t *pac, edata_t *e) {
    mutex_lock(&pac->lock);
    edata_put_locked(pac, e);
    mutex_unlock(&pac->lock);
}

bool pac_init(pac_t *pac, ehooks_t *ehooks, unsigned ind) {
    memset(pac, 0, sizeof(*pac));
    if (mutex_init(&pac->lock)) return true;
    pac->ehooks = ehooks;
    pac->ind = ind;
    eset_init(&pac->dirty);
    eset_init(&pac->muzzy);
    eset_init(&pac->retained);
    pac->grow_next = PAC_GROW_MIN;
    pac->grow_limit = PAC_GROW_LIMIT_DEFAULT;
    return false;
}

static eset_t *set_of(pac_t *pac, extent_state_t state) {
    switch (state) {
    case EXTENT_DIRTY: return &pac->dirty;
    case EXTENT_MUZZY: return &pac->muzzy;
    case EXTENT_RETAINED: return &pac->retained;
    default: al_not_reached();
    }
}

/* ---- free sets: insertion with coalescing ---- */

/* The free extent of this arena in state `state` that ends at addr / starts at addr, if any. */
static edata_t *free_neighbour(pac_t *pac, void *probe, void *addr, bool before,
                               extent_state_t state) {
    emap_entry_t entry = emap_lookup(probe);
    edata_t *n = emap_entry_edata(entry);
    if (n == NULL || emap_entry_szind1(entry) != 0 || edata_arena_ind(n) != pac->ind ||
        edata_state(n) != state) {
        return NULL;
    }
    return (before ? edata_end(n) : n->addr) == addr ? n : NULL;
}

/* Merges b (the extent right after a) into a; both are busy or being inserted. */
static bool merge_into(pac_t *pac, edata_t *a, edata_t *b) {
    bool unlocked = hook_unlock(pac);
    bool err = ehooks_merge(pac->ehooks, a->addr, a->size, b->addr, b->size, a->committed);
    hook_relock(pac, unlocked);
    if (err) return true;
    /* The pages where a ended and b began are interior now. */
    emap_clear_page(edata_last_page(a));
    emap_clear_page(b->addr);
    a->size += b->size;
    a->zeroed = a->zeroed && b->zeroed;
    if (b->sn < a->sn) a->sn = b->sn;
    edata_put_locked(pac, b);
    return false;
}

/* Inserts free extent e (busy or just freed, no emap entries of its own) into the set of
 * `state`, coalescing with free neighbours in that state. */
static void insert_free_locked(pac_t *pac, edata_t *e, extent_state_t state) {
    eset_t *set = set_of(pac, state);
    edata_state_set(e, EXTENT_BUSY);
    for (bool merged = true; merged;) {
        merged = false;
        if ((uintptr_t)e->addr > PAGE) {
            edata_t *p = free_neighbour(pac, (char *)e->addr - PAGE, e->addr, true, state);
            if (p != NULL && p->committed == e->committed) {
                eset_remove(set, p);
                edata_state_set(p, EXTENT_BUSY);
                if (!merge_into(pac, p, e)) {
                    e = p;
                    merged = true;
                } else {
                    edata_state_set(p, state);
                    eset_insert(set, p);
                }
            }
        }
        edata_t *n = free_neighbour(pac, edata_end(e), edata_end(e), false, state);
        if (n != NULL && n->committed == e->committed) {
            eset_remove(set, n);
            edata_state_set(n, EXTENT_BUSY);
            if (!merge_into(pac, e, n)) {
                merged = true;
            } else {
                edata_state_set(n, state);
                eset_insert(set, n);
            }
        }
    }
    emap_register_free(e);
    edata_state_set(e, state);
    eset_insert(set, e);
}

/* ---- carving ---- */

/* Splits busy e at size_a; returns the tail (busy, same flags) or NULL if refused/OOM. */
static edata_t *split_locked(pac_t *pac, edata_t *e, size_t size_a) {
    edata_t *b = edata_get_locked(pac);
    if (b == NULL) return NULL;
    bool unlocked = hook_unlock(pac);
    bool err = ehooks_split(pac->ehooks, e->addr, e->size, size_a, e->size - size_a, e->committed);
    hook_relock(pac, unlocked);
    if (err) {
        edata_put_locked(pac, b);
        return NULL;
    }
    b->addr = (char *)e->addr + size_a;
    b->size = e->size - size_a;
    b->zeroed = e->zeroed;
    b->committed = e->committed;
    edata_state_set(b, EXTENT_BUSY);
    e->size = size_a;
    return b;
}

/* Carves [aligned start, +size) out of busy e taken from state `from`; the rest goes back. */
static edata_t *carve_locked(pac_t *pac, edata_t *e, size_t size, size_t alignment,
                             extent_state_t from) {
    size_t lead = ALIGNMENT_CEILING((uintptr_t)e->addr, alignment) - (uintptr_t)e->addr;
    if (lead != 0) {
        edata_t *rest = split_locked(pac, e, lead);
        if (rest == NULL) {
            insert_free_locked(pac, e, from);
            return NULL;
        }
        insert_free_locked(pac, e, from);
        e = rest;
    }
    if (e->size > size) {
        edata_t *trail = split_locked(pac, e, size);
        if (trail == NULL) {
            insert_free_locked(pac, e, from);
            return NULL;
        }
        insert_free_locked(pac, trail, from);
    }
    return e;
}

/* Maps new memory through the alloc hook; returns it busy, or NULL. Called locked. */
static edata_t *grow_locked(pac_t *pac, size_t size, size_t alignment) {
    size_t want = size > pac->grow_next ? size : pac->grow_next;
    want = ALIGNMENT_CEILING(want, PAGE);
    bool zero = false, commit = true;
    bool unlocked = hook_unlock(pac);
    void *addr = ehooks_alloc(pac->ehooks, NULL, want, alignment, &zero, &commit);
    if (addr == NULL && want > size) { /* the growth step may be what the OS refused */
        want = size;
        zero = false;
        commit = true;
        addr = ehooks_alloc(pac->ehooks, NULL, want, alignment, &zero, &commit);
    }
    hook_relock(pac, unlocked);
    if (addr == NULL) return NULL;
    edata_t *e = edata_get_locked(pac);
    if (e == NULL || emap_prepare(addr, want)) {
        if (e != NULL) edata_put_locked(pac, e);
        if (ehooks_dalloc(pac->ehooks, addr, want, commit)) {
            ehooks_destroy(pac->ehooks, addr, want, commit);
        }
        return NULL;
    }
    if (want > size && pac->grow_next < pac->grow_limit) pac->grow_next *= 2;
    pac->mapped += want;
    e->addr = addr;
    e->size = want;
    e->zeroed = zero;
    e->committed = commit;
    edata_state_set(e, EXTENT_BUSY);
    return e;
}

edata_t *pac_alloc(pac_t *pac, size_t size, size_t alignment, bool zero) {
    al_assert(size > 0 && (size & PAGE_MASK) == 0);
    if (alignment < PAGE) alignment = PAGE;
    static const extent_state_t order[] = {EXTENT_DIRTY, EXTENT_MUZZY, EXTENT_RETAINED};
    mutex_lock(&pac->lock);
    edata_t *e = NULL;
    extent_state_t from = EXTENT_RETAINED;
    for (unsigned i = 0; i < 3 && e == NULL; i++) {
        eset_t *set = set_of(pac, order[i]);
        e = eset_fit(set, size, alignment);
        if (e != NULL) {
            eset_remove(set, e);
            edata_state_set(e, EXTENT_BUSY);
            from = order[i];
        }
    }
    if (e == NULL) e = grow_locked(pac, size, alignment);
    if (e != NULL) e = carve_locked(pac, e, size, alignment, from);
    if (e != NULL && !e->committed) {
        bool unlocked = hook_unlock(pac);
        bool err = ehooks_commit(pac->ehooks, e->addr, e->size, 0, e->size);
        hook_relock(pac, unlocked);
        if (err) {
            insert_free_locked(pac, e, from);
            e = NULL;
        } else {
            e->committed = true;
        }
    }
    if (e != NULL) {
        edata_state_set(e, EXTENT_ACTIVE);
        e->sn = pac->next_sn++;
        pac->nactive += e->size >> LG_PAGE;
    }
    mutex_unlock(&pac->lock);
    if (e != NULL && zero && !e->zeroed) {
        memset(e->addr, 0, e->size);
        e->zeroed = true;
    }
    return e;
}

void pac_dalloc(pac_t *pac, edata_t *e) {
    e->slab = false;
    e->szind = SC_NSIZES;
    e->zeroed = false;
    mutex_lock(&pac->lock);
    pac->nactive -= e->size >> LG_PAGE;
    insert_free_locked(pac, e, EXTENT_DIRTY);
    mutex_unlock(&pac->lock);
}

bool pac_expand(pac_t *pac, edata_t *e, size_t new_size, bool zero) {
    al_assert(new_size > e->size);
    size_t need = new_size - e->size;
    static const extent_state_t order[] = {EXTENT_DIRTY, EXTENT_MUZZY, EXTENT_RETAINED};
    mutex_lock(&pac->lock);
    edata_t *n = NULL;
    extent_state_t from = EXTENT_DIRTY;
    for (unsigned i = 0; i < 3 && n == NULL; i++) {
        n = free_neighbour(pac, edata_end(e), edata_end(e), false, order[i]);
        from = order[i];
    }
    if (n == NULL || n->size < need || n->committed != e->committed) {
        mutex_unlock(&pac->lock);
        return true;
    }
    eset_remove(set_of(pac, from), n);
    edata_state_set(n, EXTENT_BUSY);
    emap_clear_page(n->addr);
    emap_clear_page(edata_last_page(n));
    if (n->size > need) {
        edata_t *trail = split_locked(pac, n, need);
        if (trail == NULL) {
            insert_free_locked(pac, n, from);
            mutex_unlock(&pac->lock);
            return true;
        }
        insert_free_locked(pac, trail, from);
    }
    bool unlocked = hook_unlock(pac);
    bool err = ehooks_merge(pac->ehooks, e->addr, e->size, n->addr, n->size, e->committed);
    hook_relock(pac, unlocked);
    if (err) {
        insert_free_locked(pac, n, from);
        mutex_unlock(&pac->lock);
        return true;
    }
    void *grown = n->addr;
    bool grown_zeroed = n->zeroed;
    e->size += n->size;
    pac->nactive += n->size >> LG_PAGE;
    edata_put_locked(pac, n);
    mutex_unlock(&pac->lock);
    if (zero && !grown_zeroed) memset(grown, 0, need);
    return false;
}

bool pac_shrink(pac_t *pac, edata_t *e, size_t new_size) {
    al_assert(new_size < e->size && (new_size & PAGE_MASK) == 0);
    mutex_lock(&pac->lock);
    edata_t *trail = split_locked(pac, e, new_size);
    if (trail != NULL) {
        trail->zeroed = false;
        pac->nactive -= trail->size >> LG_PAGE;
        insert_free_locked(pac, trail, EXTENT_DIRTY);
    }
    mutex_unlock(&pac->lock);
    return trail == NULL;
}

void pac_stats_read(pac_t *pac, pac_stats_t *out) {
    mutex_lock(&pac->lock);
    out->mapped = pac->mapped;
    out->npages_active = pac->nactive;
    out->nedata = pac->nedata;
    out->npages_dirty = pac->dirty.npages;
    out->npages_muzzy = pac->muzzy.npages;
    out->npages_retained = pac->retained.npages;
    mutex_unlock(&pac->lock);
}

void pac_prefork(pac_t *pac) { mutex_prefork(&pac->lock); }
void pac_postfork_parent(pac_t *pac) { mutex_postfork_parent(&pac->lock); }
void pac_postfork_child(pac_t *pac) { mutex_postfork_child(&pac->lock); }
