#include "pac.h"

#include "base.h"
#include "emap.h"
#include "platform.h"

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
    if (mutex_init(&pac->lock) || mutex_init(&pac->decay_lock)) return true;
    for (unsigned k = 0; k < 2; k++) {
        /* A seed per machine, so that arenas' epochs drift apart. */
        uint64_t seed = (uint64_t)(uintptr_t)&pac->decay[k] ^ ((uint64_t)ind << 32);
        decay_init(&pac->decay[k], -1, 0, seed);
        pac->decay_ms[k] = -1;
    }
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

/* ---- the active list of explicit arenas (pac.h), linked through left (prev) / right (next) ---- */

static void active_insert_locked(pac_t *pac, edata_t *e) {
    if (!pac->track_active) return;
    e->left = NULL;
    e->right = pac->active;
    if (pac->active != NULL) pac->active->left = e;
    pac->active = e;
}

static void active_remove_locked(pac_t *pac, edata_t *e) {
    if (!pac->track_active) return;
    if (e->left != NULL) e->left->right = e->right;
    else pac->active = e->right;
    if (e->right != NULL) e->right->left = e->left;
    e->left = e->right = NULL;
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
 * `state`, coalescing with free neighbours in that state. Returns the extent that holds it now
 * (e, or the neighbour before it that absorbed it). */
static edata_t *insert_free_locked(pac_t *pac, edata_t *e, extent_state_t state) {
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
    return e;
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

/* Maps new memory through the alloc hook -- a growth step, or exactly size bytes -- and returns
 * it busy, or NULL. Called locked. */
static edata_t *grow_locked(pac_t *pac, size_t size, size_t alignment, bool exact) {
    size_t want = size > pac->grow_next || exact ? size : pac->grow_next;
    want = ALIGNMENT_CEILING(want, PAGE);
    if (!exact && ehooks_are_default(pac->ehooks) && ehooks_thp_in_use()) {
        /* Whole, aligned huge pages, so the kernel can back the step with them (pac.h). */
        want = HUGEPAGE_CEILING(want);
        if (alignment < HUGEPAGE) alignment = HUGEPAGE;
    }
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
    if (want > size && pac->grow_next < pac->grow_limit) {
        pac->grow_next = pac->grow_next * 2 < pac->grow_limit ? pac->grow_next * 2 : pac->grow_limit;
    }
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
    if (e == NULL) e = grow_locked(pac, size, alignment, false);
    if (e != NULL) {
        e = carve_locked(pac, e, size, alignment, from);
        if (e == NULL) {
            /* The split hook refused to cut what was found: map exactly what is needed, which
             * needs no split, so the allocation still succeeds while the hook allows. */
            from = EXTENT_RETAINED;
            e = grow_locked(pac, size, alignment, true);
        }
    }
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
        active_insert_locked(pac, e);
    }
    mutex_unlock(&pac->lock);
    if (e != NULL && zero && !e->zeroed) {
        memset(e->addr, 0, e->size);
        e->zeroed = true;
    }
    return e;
}

/* An active extent (already off the active list) becomes dirty. */
static void dalloc_locked(pac_t *pac, edata_t *e) {
    e->slab = false;
    e->szind = SC_NSIZES;
    e->zeroed = false;
    pac->nactive -= e->size >> LG_PAGE;
    insert_free_locked(pac, e, EXTENT_DIRTY);
}

void pac_dalloc(pac_t *pac, edata_t *e) {
    mutex_lock(&pac->lock);
    active_remove_locked(pac, e);
    dalloc_locked(pac, e);
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
    out->decay_dirty = pac->decay_stats[0];
    out->decay_muzzy = pac->decay_stats[1];
    mutex_unlock(&pac->lock);
    out->dirty_decay_ms = pac_decay_ms(pac, EXTENT_DIRTY);
    out->muzzy_decay_ms = pac_decay_ms(pac, EXTENT_MUZZY);
}

size_t pac_grow_limit(pac_t *pac) {
    mutex_lock(&pac->lock);
    size_t limit = pac->grow_limit;
    mutex_unlock(&pac->lock);
    return limit;
}

bool pac_grow_limit_set(pac_t *pac, size_t limit) {
    limit &= ~PAGE_MASK;
    if (limit < PAGE) return true;
    mutex_lock(&pac->lock);
    pac->grow_limit = limit;
    if (pac->grow_next > limit) pac->grow_next = limit;
    mutex_unlock(&pac->lock);
    return false;
}

/* ---- purging ---- */

/*
 * Purges busy extent e, just taken out of set `from` (dirty or muzzy), through the hooks (the
 * cascade in pac.h) and files it as muzzy or retained, or forgets it if the dalloc hook unmapped
 * it. Called and returns locked; custom hooks run unlocked. Returns the hook calls that
 * succeeded.
 */
static unsigned purge_extent_locked(pac_t *pac, edata_t *e, extent_state_t from, bool lazy) {
    ehooks_t *eh = pac->ehooks;
    void *addr = e->addr;
    size_t size = e->size;
    bool committed = e->committed;
    bool unlocked = hook_unlock(pac);
    if (lazy && !ehooks_purge_lazy(eh, addr, size, 0, size)) {
        hook_relock(pac, unlocked);
        insert_free_locked(pac, e, EXTENT_MUZZY);
        return 1;
    }
    if (!ehooks_dalloc(eh, addr, size, committed)) {
        hook_relock(pac, unlocked);
        /* Unmapped: its boundary entries go, the descriptor is recycled. */
        emap_clear_page(addr);
        emap_clear_page(edata_last_page(e));
        pac->mapped -= size;
        edata_put_locked(pac, e);
        return 1;
    }
    unsigned ncalls = 1;
    bool zeroed = true;
    if (!committed) {
        ncalls = 0; /* nothing resident to give back */
    } else if (!ehooks_decommit(eh, addr, size, 0, size)) {
        committed = false;
    } else if (!ehooks_purge_forced(eh, addr, size, 0, size)) {
        /* zeroed */
    } else if (from == EXTENT_DIRTY && !lazy && !ehooks_purge_lazy(eh, addr, size, 0, size)) {
        zeroed = false;
    } else {
        ncalls = 0; /* every hook refused: the pages stay as they are, filed as retained */
        zeroed = false;
    }
    hook_relock(pac, unlocked);
    e->committed = committed;
    e->zeroed = zeroed;
    insert_free_locked(pac, e, EXTENT_RETAINED);
    return ncalls;
}

/*
 * Purges npages pages of set `from`, oldest extents first. The last extent is split so that
 * exactly npages go (its remainder stays the oldest): a burst freed into one coalesced extent
 * still follows the curve. (jemalloc purges whole extents, overshooting by up to an extent.)
 * If the split hook refuses, the whole extent goes. Returns the pages purged. Called and
 * returns locked.
 */
static size_t purge_locked(pac_t *pac, extent_state_t from, size_t npages, bool all) {
    eset_t *set = set_of(pac, from);
    bool lazy = from == EXTENT_DIRTY && !all && pac_decay_ms(pac, EXTENT_MUZZY) != 0;
    size_t purged = 0;
    uint64_t nmadvise = 0;
    while (purged < npages) {
        /* With custom hooks the lock drops per hook call: others may have emptied the set. */
        edata_t *e = set->lru.head;
        if (e == NULL) break;
        eset_remove(set, e);
        edata_state_set(e, EXTENT_BUSY);
        size_t want = (npages - purged) << LG_PAGE;
        if (e->size > want) {
            edata_t *rest = split_locked(pac, e, want);
            if (rest != NULL) eset_make_oldest(set, insert_free_locked(pac, rest, from));
        }
        purged += e->size >> LG_PAGE;
        nmadvise += purge_extent_locked(pac, e, from, lazy);
    }
    if (config_stats && purged > 0) {
        pac_decay_stats_t *st = &pac->decay_stats[from == EXTENT_MUZZY];
        st->npurge++;
        st->nmadvise += nmadvise;
        st->purged += purged;
    }
    return purged;
}

/* One sweep of set `which` (dirty or muzzy). The decay lock is held. */
static void decay_set(pac_t *pac, extent_state_t which, pac_decay_mode_t mode, uint64_t now_ns) {
    decay_t *d = &pac->decay[which == EXTENT_MUZZY];
    eset_t *set = set_of(pac, which);
    mutex_lock(&pac->lock);
    size_t npages = set->npages, keep = 0;
    if (mode != PAC_DECAY_ALL) {
        bool ended = decay_advance(d, now_ns, npages);
        if (mode == PAC_DECAY_TICK && !ended && d->time_ms > 0) {
            mutex_unlock(&pac->lock);
            return;
        }
        keep = decay_npages_allowed(d, npages);
    }
    if (npages > keep) {
        decay_purged(d, purge_locked(pac, which, npages - keep, mode == PAC_DECAY_ALL));
    }
    mutex_unlock(&pac->lock);
}

/* Whether a set with decay time 0 holds pages (freed while another thread's sweep held the
 * decay lock: that thread sweeps again). */
static bool immediate_pending(pac_t *pac) {
    bool dirty0 = pac_decay_ms(pac, EXTENT_DIRTY) == 0;
    bool muzzy0 = pac_decay_ms(pac, EXTENT_MUZZY) == 0;
    if (!dirty0 && !muzzy0) return false;
    mutex_lock(&pac->lock);
    bool pending = (dirty0 && pac->dirty.npages > 0) || (muzzy0 && pac->muzzy.npages > 0);
    mutex_unlock(&pac->lock);
    return pending;
}

void pac_decay(pac_t *pac, pac_decay_mode_t mode, uint64_t now_ns) {
    /* A few rounds at most: each one purges what others freed meanwhile. */
    for (unsigned round = 0; round < 4; round++) {
        if (mode == PAC_DECAY_TICK) {
            if (mutex_trylock(&pac->decay_lock)) return; /* another sweep is in progress */
        } else {
            mutex_lock(&pac->decay_lock);
        }
        decay_set(pac, EXTENT_DIRTY, mode, now_ns);
        decay_set(pac, EXTENT_MUZZY, mode, now_ns);
        mutex_unlock(&pac->decay_lock);
        if (mode != PAC_DECAY_TICK || !immediate_pending(pac)) return;
    }
}

void pac_decay_ms_set(pac_t *pac, extent_state_t which, ssize_t ms, uint64_t now_ns) {
    al_assert(decay_ms_valid(ms));
    mutex_lock(&pac->decay_lock);
    decay_reinit(&pac->decay[which == EXTENT_MUZZY], ms, now_ns);
    __atomic_store_n(&pac->decay_ms[which == EXTENT_MUZZY], ms, __ATOMIC_RELAXED);
    /* Takes effect at once: decay 0 purges now (a new window only starts its first epoch). */
    decay_set(pac, which, PAC_DECAY_TICK, now_ns);
    mutex_unlock(&pac->decay_lock);
}

uint64_t pac_decay_ns_until_purge(pac_t *pac, uint64_t now_ns) {
    mutex_lock(&pac->decay_lock);
    mutex_lock(&pac->lock);
    uint64_t dirty = decay_ns_until_purge(&pac->decay[0], now_ns, pac->dirty.npages);
    uint64_t muzzy = decay_ns_until_purge(&pac->decay[1], now_ns, pac->muzzy.npages);
    mutex_unlock(&pac->lock);
    mutex_unlock(&pac->decay_lock);
    return dirty < muzzy ? dirty : muzzy;
}

/* ---- reset and destroy (explicit arenas) ---- */

void pac_reset(pac_t *pac, void (*visit)(edata_t *e, void *arg), void *arg) {
    al_assert(pac->track_active);
    mutex_lock(&pac->lock);
    edata_t *e = pac->active;
    pac->active = NULL;
    mutex_unlock(&pac->lock);
    while (e != NULL) {
        edata_t *next = e->right;
        e->left = e->right = NULL;
        visit(e, arg);
        emap_clear(e);
        mutex_lock(&pac->lock);
        dalloc_locked(pac, e);
        mutex_unlock(&pac->lock);
        e = next;
    }
}

void pac_destroy(pac_t *pac) {
    al_assert(pac->active == NULL);
    /* Dirty and muzzy extents first go through the purge cascade: dalloc may take them. */
    pac_decay(pac, PAC_DECAY_ALL, platform_now_ns());
    mutex_lock(&pac->decay_lock);
    mutex_lock(&pac->lock);
    static const extent_state_t sets[] = {EXTENT_DIRTY, EXTENT_MUZZY, EXTENT_RETAINED};
    for (unsigned k = 0; k < 3; k++) {
        eset_t *set = set_of(pac, sets[k]);
        edata_t *e;
        while ((e = set->lru.head) != NULL) {
            eset_remove(set, e);
            edata_state_set(e, EXTENT_BUSY);
            emap_clear_page(e->addr);
            emap_clear_page(edata_last_page(e));
            bool unlocked = hook_unlock(pac);
            ehooks_destroy(pac->ehooks, e->addr, e->size, e->committed);
            hook_relock(pac, unlocked);
            pac->mapped -= e->size;
            edata_put_locked(pac, e);
        }
    }
    pac->grow_next = PAC_GROW_MIN; /* a recycled arena starts afresh */
    pac->grow_limit = PAC_GROW_LIMIT_DEFAULT;
    mutex_unlock(&pac->lock);
    mutex_unlock(&pac->decay_lock);
}

void pac_stats_clear(pac_t *pac) {
    mutex_lock(&pac->lock);
    memset(pac->decay_stats, 0, sizeof(pac->decay_stats));
    mutex_unlock(&pac->lock);
}

/* Fork: the decay lock, then (after the bins: pac.h) the page allocator's. */
void pac_prefork0(pac_t *pac) { mutex_prefork(&pac->decay_lock); }
void pac_prefork1(pac_t *pac) { mutex_prefork(&pac->lock); }
void pac_postfork_parent(pac_t *pac) {
    mutex_postfork_parent(&pac->lock);
    mutex_postfork_parent(&pac->decay_lock);
}
void pac_postfork_child(pac_t *pac) {
    mutex_postfork_child(&pac->lock);
    mutex_postfork_child(&pac->decay_lock);
}
