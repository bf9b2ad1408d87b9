#include "tcache.h"

#include "base.h"
#include "mutex.h"

unsigned tcache_nbins;
size_t tcache_maxclass = TCACHE_MAXCLASS_DEFAULT;

/* Options (jemalloc 5.3's defaults); conf.c sets them before tcache_boot. */
bool opt_tcache = true;
size_t opt_tcache_max = TCACHE_MAXCLASS_DEFAULT;
unsigned opt_tcache_nslots_small_min = 20;
unsigned opt_tcache_nslots_small_max = 200;
unsigned opt_tcache_nslots_large = 20;
ssize_t opt_lg_tcache_nslots_mul = 1;
size_t opt_tcache_gc_incr_bytes = TCACHE_GC_INCR_BYTES;
unsigned opt_lg_tcache_flush_small_div = 1;
unsigned opt_lg_tcache_flush_large_div = 1;

static unsigned capacity[TCACHE_NBINS_MAX];
static size_t nslots_total;

/* Stack memory of exited threads, reused by new ones (all blocks have nslots_total slots). */
static mutex_t pool_lock;
static void **pool;

/* Items bin ind holds: small, nregs x 2^lg_tcache_nslots_mul clamped to [small_min, small_max]
 * (min lowered to max if above it); large, tcache_nslots_large; never more than a bin can
 * address, never 0. With the defaults: twice the regions of a slab in [20, 200]; 20 for large. */
static unsigned capacity_of(szind_t ind) {
    unsigned c;
    if (ind < SC_NBINS) {
        unsigned hi = opt_tcache_nslots_small_max;
        unsigned lo = opt_tcache_nslots_small_min < hi ? opt_tcache_nslots_small_min : hi;
        ssize_t mul = opt_lg_tcache_nslots_mul; /* -16..16, nregs <= 512: no overflow */
        unsigned nregs = bin_infos[ind].nregs;
        c = mul >= 0 ? nregs << mul : nregs >> -mul;
        c = c < lo ? lo : c > hi ? hi : c;
    } else {
        c = opt_tcache_nslots_large;
    }
    if (c > TCACHE_NSLOTS_LIMIT) c = TCACHE_NSLOTS_LIMIT;
    return c == 0 ? 1 : c;
}

/* Explicit caches: made[k] once created (never freed: recycled with the index), live[k] while
 * in use (atomic: read without the lock by tcache_explicit_get). */
static mutex_t explicit_lock;
static tcache_t *explicit_made[TCACHES_MAX];
static bool explicit_live[TCACHES_MAX];

bool tcache_boot(void) {
    if (mutex_init(&pool_lock) || mutex_init(&explicit_lock)) return true;
    size_t max = opt_tcache_max < TCACHE_MAXCLASS_LIMIT ? opt_tcache_max : TCACHE_MAXCLASS_LIMIT;
    tcache_maxclass = max == 0 ? 0 : sz_s2u(max);
    if (tcache_maxclass == 0) {
        tcache_nbins = 0;
    } else {
        szind_t max_ind = sz_size2index(tcache_maxclass);
        tcache_nbins = max_ind + 1 < TCACHE_NBINS_MAX ? max_ind + 1 : TCACHE_NBINS_MAX;
    }
    nslots_total = 0;
    for (szind_t i = 0; i < tcache_nbins; i++) {
        capacity[i] = capacity_of(i);
        nslots_total += capacity[i];
    }
    return false;
}

unsigned tcache_bin_capacity(szind_t ind) {
    al_assert(ind < tcache_nbins);
    return capacity[ind];
}

bool tcache_init(tcache_t *t, arena_t *arena) {
    memset(t, 0, sizeof(*t));
    t->arena = arena;
    if (nslots_total == 0) return false; /* tcache_max:0 -- nothing to cache, all bins refuse */
    mutex_lock(&pool_lock);
    void **slots = pool;
    if (slots != NULL) pool = (void **)slots[0];
    mutex_unlock(&pool_lock);
    if (slots == NULL) slots = base_alloc(nslots_total * sizeof(void *), CACHELINE);
    if (slots == NULL) return true;
    t->slots = slots;
    for (szind_t i = 0; i < tcache_nbins; i++) {
        cache_bin_init(&t->bins[i], slots, capacity[i], sz_index2size(i));
        slots += capacity[i];
        t->lg_fill_div[i] = 1;
    }
    return false;
}

void tcache_destroy(tcache_t *t) {
    if (t->slots == NULL) return;
    tcache_flush_all(t);
    mutex_lock(&pool_lock);
    t->slots[0] = (void *)pool;
    pool = t->slots;
    mutex_unlock(&pool_lock);
    memset(t->bins, 0, sizeof(t->bins));
    t->slots = NULL;
}

uint64_t tcache_bin_nrequests(const tcache_t *t, szind_t ind) {
    const cache_bin_t *bin = &t->bins[ind];
    return t->nflow[ind] + bin->npush - cache_bin_ncached(bin);
}

uint64_t tcache_fold_pushes(tcache_t *t, szind_t ind) {
    const cache_bin_t *bin = &t->bins[ind];
    uint64_t bytes = (bin->npush - t->npush_folded[ind]) * bin->usize;
    t->npush_folded[ind] = bin->npush;
    return bytes;
}

uint64_t tcache_fold_all(tcache_t *t) {
    uint64_t bytes = 0;
    for (szind_t i = 0; i < tcache_nbins; i++) bytes += tcache_fold_pushes(t, i);
    return bytes;
}

size_t tcache_cached_bytes_remote(const tcache_t *t) {
    size_t bytes = 0;
    for (szind_t i = 0; i < tcache_nbins; i++) {
        bytes += (size_t)cache_bin_ncached_remote(&t->bins[i]) * t->bins[i].usize;
    }
    return bytes;
}

/* Requests served since the last report, to be credited to the arena's stats. */
static uint64_t take_nrequests(tcache_t *t, szind_t ind) {
    uint64_t now = tcache_bin_nrequests(t, ind);
    uint64_t delta = now - t->nrequests_reported[ind];
    t->nrequests_reported[ind] = now;
    return delta;
}

void *tcache_alloc_hard(tcache_t *t, szind_t ind, size_t usize) {
    cache_bin_t *bin = &t->bins[ind];
    void *ret = NULL;
    if (cache_bin_pop(bin, &ret)) return ret;
    if (ind >= SC_NBINS) { /* large classes are not prefilled */
        return arena_malloc(t->arena, ind, usize, PAGE, false);
    }
    unsigned n = bin->ncached_max >> t->lg_fill_div[ind];
    if (n == 0) n = 1;
    /* Fill into the bottom of the (empty) stack, then pop as usual. */
    void **bottom = cache_bin_bottom(bin);
    unsigned got = arena_fill_small(t->arena, ind, bottom - n, n, take_nrequests(t, ind));
    if (got == 0) return NULL;
    if (got < n) memmove(bottom - got, bottom - n, got * sizeof(void *));
    cache_bin_head_store(bin, bottom - got);
    t->nflow[ind] += got;
    t->refilled[ind] = true;
    cache_bin_pop(bin, &ret);
    return ret;
}

void tcache_bin_flush(tcache_t *t, szind_t ind, unsigned keep, const char *who) {
    cache_bin_t *bin = &t->bins[ind];
    unsigned ncached = cache_bin_ncached(bin);
    if (ncached <= keep) return;
    unsigned nflush = ncached - keep;
    void **bottom = cache_bin_bottom(bin);
    unsigned low_water = cache_bin_low_water(bin);
    /* The oldest items sit at the bottom: flush them, slide the newest down. */
    arena_dalloc_batch(t->arena, ind, bottom - nflush, nflush, take_nrequests(t, ind), who);
    memmove(bin->head + nflush, bin->head, keep * sizeof(void *));
    cache_bin_head_store(bin, bin->head + nflush);
    t->nflow[ind] -= nflush;
    if (low_water > keep) low_water = keep;
    bin->low_water = cache_bin_lo(bottom - low_water);
}

bool tcache_dalloc_hard(tcache_t *t, szind_t ind, void *ptr, const char *who) {
    cache_bin_t *bin = &t->bins[ind];
    if (cache_bin_push(bin, ptr)) return false;
    /* Keep capacity >> div (div >= 1, so less than the capacity: the push below succeeds). */
    unsigned div = ind < SC_NBINS ? opt_lg_tcache_flush_small_div : opt_lg_tcache_flush_large_div;
    tcache_bin_flush(t, ind, div >= 16 ? 0 : bin->ncached_max >> div, who);
    bool pushed = cache_bin_push(bin, ptr);
    al_assert(pushed);
    (void)pushed;
    return true;
}

void tcache_flush_all(tcache_t *t) {
    for (szind_t i = 0; i < tcache_nbins; i++) {
        tcache_bin_flush(t, i, 0, "free() (thread cache flush)");
    }
}

void tcache_gc_step(tcache_t *t) {
    if (t->slots == NULL || tcache_nbins == 0) return;
    szind_t ind = t->gc_next;
    t->gc_next = (ind + 1) % tcache_nbins;
    cache_bin_t *bin = &t->bins[ind];
    unsigned low_water = cache_bin_low_water(bin);
    if (low_water > 0) {
        unsigned nflush = low_water - low_water / 4;
        tcache_bin_flush(t, ind, cache_bin_ncached(bin) - nflush, "free() (thread cache GC)");
        /* Filled more than was used: bring less next time. */
        if (ind < SC_NBINS && (bin->ncached_max >> (t->lg_fill_div[ind] + 1)) >= 1) {
            t->lg_fill_div[ind]++;
        }
    } else if (t->refilled[ind] && t->lg_fill_div[ind] > 1) {
        t->lg_fill_div[ind]--; /* ran dry: bring more next time */
    }
    t->refilled[ind] = false;
    cache_bin_reset_low_water(bin);
}

/* ---- explicit caches ---- */

bool tcache_explicit_create(arena_t *arena, unsigned *ind) {
    mutex_lock(&explicit_lock);
    unsigned k = 0;
    while (k < TCACHES_MAX && explicit_live[k]) k++;
    bool err = k == TCACHES_MAX;
    if (!err && explicit_made[k] == NULL) {
        explicit_made[k] = base_alloc(sizeof(tcache_t), CACHELINE);
        err = explicit_made[k] == NULL;
    }
    if (!err) err = tcache_init(explicit_made[k], arena);
    if (!err) {
        __atomic_store_n(&explicit_live[k], true, __ATOMIC_RELEASE);
        *ind = k;
    }
    mutex_unlock(&explicit_lock);
    return err;
}

tcache_t *tcache_explicit_get(unsigned ind) {
    if (ind >= TCACHES_MAX || !__atomic_load_n(&explicit_live[ind], __ATOMIC_ACQUIRE)) return NULL;
    return explicit_made[ind];
}

bool tcache_explicit_flush(unsigned ind) {
    tcache_t *t = tcache_explicit_get(ind);
    if (t == NULL) return true;
    tcache_flush_all(t);
    return false;
}

bool tcache_explicit_destroy(unsigned ind) {
    mutex_lock(&explicit_lock);
    tcache_t *t = tcache_explicit_get(ind);
    if (t != NULL) {
        __atomic_store_n(&explicit_live[ind], false, __ATOMIC_RELEASE);
        tcache_destroy(t);
    }
    mutex_unlock(&explicit_lock);
    return t == NULL;
}

void tcache_explicit_rebind(tcache_t *t, arena_t *arena) {
    tcache_flush_all(t);
    mutex_lock(&explicit_lock);
    t->arena = arena;
    mutex_unlock(&explicit_lock);
}

void tcache_explicit_foreach(void (*f)(arena_t *arena, size_t bytes, void *arg), void *arg) {
    mutex_lock(&explicit_lock);
    for (unsigned k = 0; k < TCACHES_MAX; k++) {
        tcache_t *t = explicit_made[k];
        if (t == NULL) break; /* made in index order */
        if (explicit_live[k] && t->slots != NULL) f(t->arena, tcache_cached_bytes_remote(t), arg);
    }
    mutex_unlock(&explicit_lock);
}

void tcache_prefork0(void) { mutex_prefork(&explicit_lock); }
void tcache_prefork1(void) { mutex_prefork(&pool_lock); }
void tcache_postfork_parent(void) {
    mutex_postfork_parent(&pool_lock);
    mutex_postfork_parent(&explicit_lock);
}
void tcache_postfork_child(void) {
    mutex_postfork_child(&pool_lock);
    mutex_postfork_child(&explicit_lock);
}
