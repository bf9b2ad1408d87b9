#include "arena.h"

#include "background.h"
#include "base.h"
#include "emap.h"
#include "msg.h"
#include "platform.h"

arena_t *arenas[ARENAS_MAX];
unsigned narenas_auto;
unsigned arena_narenas_total;
unsigned opt_narenas; /* 0 until arena_boot: "default" */
ssize_t opt_dirty_decay_ms = 10000;
ssize_t opt_muzzy_decay_ms = 0;
size_t opt_oversize_threshold = (size_t)8 << 20;
size_t arena_oversize_limit = SIZE_MAX;
unsigned arena_huge_ind = ARENAS_MAX;
const char *opt_percpu_arena = "disabled";
percpu_arena_t opt_percpu_arena_mode = PERCPU_DISABLED;

/* arenas.{dirty,muzzy}_decay_ms (atomic): [0] dirty, [1] muzzy. */
static ssize_t decay_ms_default[2];

static mutex_t arenas_lock;
static unsigned next_auto; /* atomic round-robin cursor */
/* Every arena_t ever made, published or not (destroyed ones wait in `spare` to be recycled):
 * fork takes all of their locks. Both under arenas_lock. */
static arena_t *made[ARENAS_MAX];
static arena_t *spare;

/* (Re)starts the decay schedules from the current defaults. */
static void arena_start(arena_t *a) {
    a->start_ns = platform_now_ns();
    ssize_t dirty = arena_decay_ms_default(EXTENT_DIRTY);
    ssize_t muzzy = arena_decay_ms_default(EXTENT_MUZZY);
    if (a->ind == arena_huge_ind) { /* eager purging (arena.h), as jemalloc's huge arena */
        if (dirty > 0) dirty = 0;
        if (muzzy > 0) muzzy = 0;
    }
    pac_decay_ms_set(&a->pac, EXTENT_DIRTY, dirty, a->start_ns);
    pac_decay_ms_set(&a->pac, EXTENT_MUZZY, muzzy, a->start_ns);
}

/* A new arena at index ind; the table's lock is held. */
static arena_t *arena_new(unsigned ind, extent_hooks_t *hooks) {
    arena_t *a = base_alloc(sizeof(arena_t), CACHELINE);
    if (a == NULL) return NULL;
    a->ind = ind;
    ehooks_init(&a->ehooks, hooks, ind);
    if (pac_init(&a->pac, &a->ehooks, ind)) return NULL;
    a->pac.track_active = !arena_is_auto(a); /* explicit arenas can be reset */
    for (unsigned i = 0; i < SC_NBINS; i++) {
        if (bin_init(&a->bins[i])) return NULL;
    }
    arena_start(a);
    made[ind] = a;
    return a;
}

bool arena_boot(void) {
    if (mutex_init(&arenas_lock)) return true;
    decay_ms_default[0] = opt_dirty_decay_ms;
    decay_ms_default[1] = opt_muzzy_decay_ms;
    unsigned ncpus = platform_ncpus();
    if (opt_percpu_arena_mode != PERCPU_DISABLED) {
        /* One arena per CPU or per physical core at least (jemalloc raises narenas so). */
        unsigned limit = opt_percpu_arena_mode == PERCPU_PHYCPU ? platform_topology_boot() : ncpus;
        if (opt_narenas < limit) opt_narenas = limit;
    }
    if (opt_narenas == 0) opt_narenas = ncpus == 1 ? 1 : 4 * ncpus; /* jemalloc's default */
    narenas_auto = opt_narenas;
    if (narenas_auto > ARENAS_MAX) {
        narenas_auto = ARENAS_MAX;
        al_printf("Reducing narenas to limit (%u)\n", narenas_auto);
    }
    if (opt_oversize_threshold < SC_LARGE_MINCLASS || opt_oversize_threshold > SC_LARGE_MAXCLASS) {
        opt_oversize_threshold = 0; /* off, as jemalloc */
    } else if (narenas_auto < ARENAS_MAX) {
        arena_huge_ind = narenas_auto;
        arena_oversize_limit = opt_oversize_threshold;
    }
    arena_narenas_total = narenas_auto + (arena_huge_ind != ARENAS_MAX);
    return arena_get(0, true) == NULL;
}

arena_t *arena_get(unsigned ind, bool create) {
    if (ind >= ARENAS_MAX) return NULL;
    arena_t *a = __atomic_load_n(&arenas[ind], __ATOMIC_ACQUIRE);
    if (a != NULL || !create || (ind >= narenas_auto && ind != arena_huge_ind)) return a;
    mutex_lock(&arenas_lock);
    a = arenas[ind];
    if (a == NULL) {
        a = arena_new(ind, NULL);
        if (a != NULL) __atomic_store_n(&arenas[ind], a, __ATOMIC_RELEASE);
    }
    mutex_unlock(&arenas_lock);
    return a;
}

unsigned arena_percpu_ind(void) {
    unsigned cpu = platform_getcpu();
    if (opt_percpu_arena_mode == PERCPU_PHYCPU) cpu = platform_cpu_core(cpu);
    return cpu % narenas_auto;
}

arena_t *arena_choose(void) {
    unsigned ind = opt_percpu_arena_mode != PERCPU_DISABLED
                       ? arena_percpu_ind()
                       : __atomic_fetch_add(&next_auto, 1, __ATOMIC_RELAXED) % narenas_auto;
    arena_t *a = arena_get(ind, true);
    if (a == NULL) a = arena_get(0, false); /* out of memory for a new arena: share arena 0 */
    __atomic_fetch_add(&a->nthreads, 1, __ATOMIC_RELAXED);
    return a;
}

void arena_thread_leave(arena_t *arena) {
    __atomic_fetch_sub(&arena->nthreads, 1, __ATOMIC_RELAXED);
}

static inline arena_large_stats_t *lstats(arena_t *a, szind_t ind) {
    return &a->lstats[ind - SC_NBINS];
}

void *arena_malloc(arena_t *arena, szind_t ind, size_t usize, size_t alignment, bool zero) {
    if (ind < SC_NBINS && alignment <= PAGE) {
        void *ret = bin_malloc(&arena->bins[ind], &arena->pac, ind);
        if (ret == NULL) return NULL;
        if (zero) memset(ret, 0, usize);
        return ret;
    }
    edata_t *e = large_alloc(&arena->pac, ind, usize, alignment, zero);
    if (e == NULL) return NULL;
    if (config_stats) {
        __atomic_fetch_add(&lstats(arena, ind)->nmalloc, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&lstats(arena, ind)->nrequests, 1, __ATOMIC_RELAXED);
    }
    return e->addr;
}

unsigned arena_fill_small(arena_t *arena, szind_t ind, void **dst, unsigned n,
                          uint64_t nrequests) {
    return bin_fill(&arena->bins[ind], &arena->pac, ind, dst, n, nrequests);
}

/* Pages went into a's dirty set: with dirty_decay_ms 0 they go back at once. No lock held. */
static void dirtied(arena_t *a) {
    if (UNLIKELY(arena_decay_ms(a, EXTENT_DIRTY) == 0)) {
        pac_decay(&a->pac, PAC_DECAY_TICK, platform_now_ns());
    }
    background_dirtied(a->ind); /* wakes (or asks for) the arena's purge thread */
}

void arena_dalloc(edata_t *e, void *ptr, szind_t ind, const char *who) {
    arena_t *a = arena_of(e);
    if (ind < SC_NBINS) {
        bin_t *bin = &a->bins[ind];
        mutex_lock(&bin->lock);
        bool release = bin_dalloc_locked(bin, ind, e, ptr, who);
        mutex_unlock(&bin->lock);
        if (release) {
            bin_slab_release(&a->pac, e);
            dirtied(a);
        }
        return;
    }
    if (UNLIKELY(ptr != e->addr)) al_fatal("%s: invalid pointer %p\n", who, ptr);
    if (config_stats) __atomic_fetch_add(&lstats(a, ind)->ndalloc, 1, __ATOMIC_RELAXED);
    large_dalloc(&a->pac, e);
    dirtied(a);
}

/* Looks up the extent of a pointer taken from a thread cache of class ind. */
static edata_t *cached_edata(void *ptr, szind_t ind, const char *who) {
    emap_entry_t entry = emap_lookup(ptr);
    if (UNLIKELY(emap_entry_szind1(entry) == 0)) al_fatal("%s: invalid pointer %p\n", who, ptr);
    if (UNLIKELY(emap_entry_szind1(entry) - 1 != ind)) {
        al_fatal("%s: pointer %p freed with a size of another size class\n", who, ptr);
    }
    return emap_entry_edata(entry);
}

void arena_dalloc_batch(arena_t *stats_arena, szind_t ind, void **ptrs, unsigned n,
                        uint64_t nrequests, const char *who) {
    edata_t *edatas[n > 0 ? n : 1];
    for (unsigned i = 0; i < n; i++) edatas[i] = cached_edata(ptrs[i], ind, who);
    if (ind >= SC_NBINS) {
        for (unsigned i = 0; i < n; i++) arena_dalloc(edatas[i], ptrs[i], ind, who);
        if (config_stats) {
            __atomic_fetch_add(&lstats(stats_arena, ind)->nrequests, nrequests, __ATOMIC_RELAXED);
            __atomic_fetch_add(&stats_arena->large_nflushes, 1, __ATOMIC_RELAXED);
        }
        return;
    }
    bool credited = false;
    edata_t *empty[n > 0 ? n : 1];
    for (unsigned done = 0, start = 0; done < n;) {
        while (edatas[start] == NULL) start++;
        unsigned ai = edata_arena_ind(edatas[start]);
        arena_t *a = arena_of(edatas[start]);
        bin_t *bin = &a->bins[ind];
        unsigned nempty;
        mutex_lock(&bin->lock);
        done += bin_dalloc_batch_locked(bin, ind, ptrs, edatas, start, n, ai, empty, &nempty, who);
        if (config_stats && a == stats_arena) {
            bin->stats.nflushes++;
            bin->stats.nrequests += nrequests;
            credited = true;
        }
        mutex_unlock(&bin->lock);
        for (unsigned i = 0; i < nempty; i++) bin_slab_release(&a->pac, empty[i]);
        if (nempty > 0) dirtied(a);
    }
    if (config_stats && !credited) {
        bin_t *bin = &stats_arena->bins[ind];
        mutex_lock(&bin->lock);
        bin->stats.nflushes++;
        bin->stats.nrequests += nrequests;
        mutex_unlock(&bin->lock);
    }
}

bool arena_ralloc_large_in_place(edata_t *e, szind_t ind, size_t usize, bool zero) {
    arena_t *a = arena_of(e);
    szind_t old = e->szind;
    size_t old_size = e->size;
    if (large_resize(&a->pac, e, ind, usize, zero)) return true;
    if (e->size < old_size) dirtied(a); /* the tail was freed */
    if (config_stats && old != ind) {
        __atomic_fetch_add(&lstats(a, old)->ndalloc, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&lstats(a, ind)->nmalloc, 1, __ATOMIC_RELAXED);
        __atomic_fetch_add(&lstats(a, ind)->nrequests, 1, __ATOMIC_RELAXED);
    }
    return false;
}

/* ---- explicit arenas ---- */

arena_t *arena_create(extent_hooks_t *hooks) {
    mutex_lock(&arenas_lock);
    arena_t *a = spare;
    if (a != NULL) { /* a destroyed arena: empty, statistics zeroed (arena_destroy_end) */
        spare = a->spare_next;
        a->spare_next = NULL;
        ehooks_set(&a->ehooks, hooks != NULL ? hooks : &ehooks_default_extent_hooks);
        arena_start(a);
    } else {
        unsigned ind = arena_narenas();
        a = ind < ARENAS_MAX ? arena_new(ind, hooks) : NULL;
        if (a != NULL) __atomic_store_n(&arena_narenas_total, ind + 1, __ATOMIC_RELEASE);
    }
    if (a != NULL) __atomic_store_n(&arenas[a->ind], a, __ATOMIC_RELEASE);
    mutex_unlock(&arenas_lock);
    return a;
}

extent_hooks_t *arena_set_extent_hooks(arena_t *arena, extent_hooks_t *hooks) {
    /* Under the page allocator's lock: a locked section that decided to call the default hooks
     * with the lock held (pac.c, hook_unlock) finishes before custom ones take over. */
    mutex_lock(&arena->pac.lock);
    extent_hooks_t *old = ehooks_get(&arena->ehooks);
    ehooks_set(&arena->ehooks, hooks);
    mutex_unlock(&arena->pac.lock);
    return old;
}

static void reset_visit(edata_t *e, void *arg) {
    arena_t *a = arg;
    if (config_stats && !e->slab) { /* a large allocation (slabs: bin_reset counted them) */
        __atomic_fetch_add(&lstats(a, e->szind)->ndalloc, 1, __ATOMIC_RELAXED);
    }
}

/* Every allocation of explicit arena `arena` freed: its pages become dirty. */
static void free_all(arena_t *arena) {
    al_assert(!arena_is_auto(arena));
    for (unsigned i = 0; i < SC_NBINS; i++) bin_reset(&arena->bins[i]);
    pac_reset(&arena->pac, reset_visit, arena);
}

void arena_reset(arena_t *arena) {
    free_all(arena);
    dirtied(arena);
}

void arena_destroy_begin(arena_t *arena) {
    free_all(arena);
    pac_destroy(&arena->pac);
    __atomic_store_n(&arenas[arena->ind], NULL, __ATOMIC_RELEASE);
}

void arena_destroy_end(arena_t *arena) {
    pac_stats_clear(&arena->pac);
    for (unsigned i = 0; i < SC_NBINS; i++) bin_stats_clear(&arena->bins[i]);
    for (unsigned j = 0; j < SC_NLARGE; j++) {
        __atomic_store_n(&arena->lstats[j].nmalloc, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&arena->lstats[j].ndalloc, 0, __ATOMIC_RELAXED);
        __atomic_store_n(&arena->lstats[j].nrequests, 0, __ATOMIC_RELAXED);
    }
    __atomic_store_n(&arena->large_nflushes, 0, __ATOMIC_RELAXED);
    mutex_lock(&arenas_lock);
    arena->spare_next = spare;
    spare = arena;
    mutex_unlock(&arenas_lock);
}


/* ---- decay ---- */

ssize_t arena_decay_ms_default(extent_state_t which) {
    return __atomic_load_n(&decay_ms_default[which == EXTENT_MUZZY], __ATOMIC_RELAXED);
}

bool arena_decay_ms_default_set(extent_state_t which, ssize_t ms) {
    if (!decay_ms_valid(ms)) return true;
    __atomic_store_n(&decay_ms_default[which == EXTENT_MUZZY], ms, __ATOMIC_RELAXED);
    return false;
}

bool arena_set_decay_ms(arena_t *arena, extent_state_t which, ssize_t ms) {
    if (!decay_ms_valid(ms)) return true;
    pac_decay_ms_set(&arena->pac, which, ms, platform_now_ns());
    return false;
}

void arena_decay(arena_t *arena, bool all) {
    pac_decay(&arena->pac, all ? PAC_DECAY_ALL : PAC_DECAY_NOW, platform_now_ns());
}

void arena_decay_tick(arena_t *arena) {
    if (background_serves(arena->ind)) return; /* the arena's purge thread decides */
    pac_decay(&arena->pac, PAC_DECAY_TICK, platform_now_ns());
}

/* Fork, in the lock order, over every arena ever made (destroyed ones too: a purge thread may
 * hold a lock of one): every decay lock (a sweep with custom hooks may allocate from any arena
 * while holding it), then each arena's bins and page allocator. */
void arena_prefork(void) {
    mutex_prefork(&arenas_lock);
    for (unsigned i = 0; i < ARENAS_MAX; i++) {
        if (made[i] != NULL) pac_prefork0(&made[i]->pac);
    }
    for (unsigned i = 0; i < ARENAS_MAX; i++) {
        arena_t *a = made[i];
        if (a == NULL) continue;
        for (unsigned b = 0; b < SC_NBINS; b++) bin_prefork(&a->bins[b]);
        pac_prefork1(&a->pac);
    }
}

void arena_postfork_parent(void) {
    for (unsigned i = 0; i < ARENAS_MAX; i++) {
        arena_t *a = made[i];
        if (a == NULL) continue;
        pac_postfork_parent(&a->pac);
        for (unsigned b = 0; b < SC_NBINS; b++) bin_postfork_parent(&a->bins[b]);
    }
    mutex_postfork_parent(&arenas_lock);
}

void arena_postfork_child(void) {
    for (unsigned i = 0; i < ARENAS_MAX; i++) {
        arena_t *a = made[i];
        if (a == NULL) continue;
        pac_postfork_child(&a->pac);
        for (unsigned b = 0; b < SC_NBINS; b++) bin_postfork_child(&a->bins[b]);
        __atomic_store_n(&a->nthreads, 0, __ATOMIC_RELAXED);
    }
    mutex_postfork_child(&arenas_lock);
}
