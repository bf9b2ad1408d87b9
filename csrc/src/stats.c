#include "stats.h"

#include "background.h"
#include "base.h"
#include "emap.h"
#include "platform.h"
#include "tcache.h"
#include "tsd.h"

stats_global_t stats_global;
stats_background_t stats_background;
size_t stats_zero_reallocs;

/* Snapshots of the arenas (allocated from base the first time an index is seen, never freed:
 * a destroyed arena's index is recycled with its snapshot), their merge, and the counters of
 * destroyed arenas. All guarded by the ctl lock. */
static stats_arena_t *snap[ARENAS_MAX];
static bool snap_valid[ARENAS_MAX];
static stats_arena_t merged;
static stats_arena_t destroyed;
static bool destroyed_valid;

stats_arena_t *stats_arena(size_t ind) {
    if (ind == MALLCTL_ARENAS_ALL) return &merged;
    if (ind == MALLCTL_ARENAS_DESTROYED) return destroyed_valid ? &destroyed : NULL;
    if (ind >= ARENAS_MAX || !snap_valid[ind]) return NULL;
    return snap[ind];
}

/* ---- reading one arena ---- */

typedef struct refresh_s {
    size_t cached_total; /* bytes in every live thread cache */
    size_t hooks_bytes;  /* sum over arenas of (pac mapped - retained) */
} refresh_t;

static void read_arena(arena_t *a, stats_arena_t *s, uint64_t now, refresh_t *r) {
    memset(s, 0, sizeof(*s));
    s->nthreads = __atomic_load_n(&a->nthreads, __ATOMIC_RELAXED);
    s->uptime = now - a->start_ns;

    pac_stats_t ps;
    pac_stats_read(&a->pac, &ps);
    s->pactive = ps.npages_active;
    s->pdirty = ps.npages_dirty;
    s->pmuzzy = ps.npages_muzzy;
    s->retained = ps.npages_retained << LG_PAGE;
    s->base = sizeof(arena_t) + ps.nedata * sizeof(edata_t);
    s->internal = 0;
    s->mapped = s->base + (ps.mapped - s->retained);
    s->resident = s->base + ((ps.npages_active + ps.npages_dirty) << LG_PAGE);
    r->hooks_bytes += ps.mapped - s->retained;
    s->dirty_decay_ms = ps.dirty_decay_ms;
    s->muzzy_decay_ms = ps.muzzy_decay_ms;
    s->dirty_npurge = ps.decay_dirty.npurge;
    s->dirty_nmadvise = ps.decay_dirty.nmadvise;
    s->dirty_purged = ps.decay_dirty.purged;
    s->muzzy_npurge = ps.decay_muzzy.npurge;
    s->muzzy_nmadvise = ps.decay_muzzy.nmadvise;
    s->muzzy_purged = ps.decay_muzzy.purged;

    for (szind_t j = 0; j < SC_NBINS; j++) {
        bin_stats_t bs;
        bin_stats_read(&a->bins[j], &bs);
        stats_bin_t *b = &s->bins[j];
#define STATS_BIN(name, ctype) b->name = bs.name;
#include "stats_fields.def"
        s->small.allocated += bs.curregs * bin_infos[j].reg_size;
        s->small.nmalloc += bs.nmalloc;
        s->small.ndalloc += bs.ndalloc;
        s->small.nrequests += bs.nrequests;
        s->small.nfills += bs.nfills;
        s->small.nflushes += bs.nflushes;
    }

    for (szind_t j = 0; j < SC_NLARGE; j++) {
        const arena_large_stats_t *ls = &a->lstats[j];
        stats_lextent_t *l = &s->lextents[j];
        /* ndalloc first: a free is counted after its allocation, so cur never goes below 0
         * for lack of an allocation that happened while we read. */
        l->ndalloc = __atomic_load_n(&ls->ndalloc, __ATOMIC_ACQUIRE);
        l->nmalloc = __atomic_load_n(&ls->nmalloc, __ATOMIC_ACQUIRE);
        l->nrequests = __atomic_load_n(&ls->nrequests, __ATOMIC_RELAXED);
        l->curlextents = l->nmalloc > l->ndalloc ? (size_t)(l->nmalloc - l->ndalloc) : 0;
        s->large.allocated += l->curlextents * sz_index2size(SC_NBINS + j);
        s->large.nmalloc += l->nmalloc;
        s->large.ndalloc += l->ndalloc;
        s->large.nrequests += l->nrequests;
    }
    s->large.nfills = 0; /* large classes are never prefilled into thread caches */
    s->large.nflushes = __atomic_load_n(&a->large_nflushes, __ATOMIC_RELAXED);
}

/* tsd_foreach callback: the bytes cached by one live thread, credited to its cache's arena. */
static void read_cache(tsd_t *tsd, void *arg) {
    refresh_t *r = arg;
    const tcache_t *t = &tsd->tcache;
    if (t->slots == NULL || t->arena == NULL) return; /* no cache */
    size_t bytes = tcache_cached_bytes_remote(t);
    r->cached_total += bytes;
    unsigned ind = t->arena->ind;
    if (snap_valid[ind]) snap[ind]->tcache_bytes += bytes;
}

/* The same for an explicit cache (tcache.h). */
static void read_explicit_cache(arena_t *arena, size_t bytes, void *arg) {
    refresh_t *r = arg;
    r->cached_total += bytes;
    if (snap_valid[arena->ind]) snap[arena->ind]->tcache_bytes += bytes;
}

/* ---- the merge ---- */

#define MERGE_SUM(dst, src) (dst) += (src)
#define MERGE_FIRST(dst, src) (void)0

static void merge_into(stats_arena_t *m, const stats_arena_t *s) {
#define STATS_ARENA(name, ctype, merge) MERGE_##merge(m->name, s->name);
#include "stats_fields.def"
#define STATS_TOTAL(name, ctype) m->small.name += s->small.name; m->large.name += s->large.name;
#include "stats_fields.def"
    for (szind_t j = 0; j < SC_NBINS; j++) {
#define STATS_BIN(name, ctype) m->bins[j].name += s->bins[j].name;
#include "stats_fields.def"
    }
    for (szind_t j = 0; j < SC_NLARGE; j++) {
#define STATS_LEXTENT(name, ctype) m->lextents[j].name += s->lextents[j].name;
#include "stats_fields.def"
    }
}

bool stats_refresh(void) {
    unsigned n = arena_narenas();
    /* Snapshots for arenas created since the last refresh, before anything changes. */
    for (unsigned i = 0; i < n; i++) {
        if (snap[i] == NULL && arena_get(i, false) != NULL) {
            snap[i] = base_alloc(sizeof(stats_arena_t), CACHELINE);
            if (snap[i] == NULL) return true;
        }
    }

    refresh_t r = {0, 0};
    uint64_t now = platform_now_ns();
    for (unsigned i = 0; i < n; i++) {
        arena_t *a = arena_get(i, false);
        snap_valid[i] = a != NULL && snap[i] != NULL;
        if (snap_valid[i]) read_arena(a, snap[i], now, &r);
    }
    tsd_foreach(read_cache, &r);
    tcache_explicit_foreach(read_explicit_cache, &r);

    memset(&merged, 0, sizeof(merged));
    for (unsigned i = 0; i < n; i++) {
        if (snap_valid[i]) merge_into(&merged, snap[i]);
    }
    if (snap_valid[0]) { /* FIRST fields: arena 0's */
#define COPY_SUM(name) (void)0;
#define COPY_FIRST(name) merged.name = snap[0]->name;
#define STATS_ARENA(name, ctype, merge) COPY_##merge(name)
#include "stats_fields.def"
#undef COPY_SUM
#undef COPY_FIRST
    }

    base_stats_t bs;
    base_stats_read(&bs);
    size_t leaves = emap_mapped_bytes();
    stats_global_t *g = &stats_global;
    g->active = merged.pactive << LG_PAGE;
    size_t gross = merged.small.allocated + merged.large.allocated;
    g->allocated = gross > r.cached_total ? gross - r.cached_total : 0;
    if (g->allocated > g->active) g->allocated = g->active;
    g->metadata = bs.allocated + leaves;
    g->metadata_thp = bs.thp;
    g->resident = g->metadata + ((merged.pactive + merged.pdirty) << LG_PAGE);
    g->mapped = bs.mapped + leaves + r.hooks_bytes;
    g->retained = merged.retained;
    g->zero_reallocs = __atomic_load_n(&stats_zero_reallocs, __ATOMIC_RELAXED);
    background_stats_t bg;
    background_stats_read(&bg);
    stats_background.num_threads = bg.num_threads;
    stats_background.num_runs = bg.num_runs;
    stats_background.run_interval = bg.run_interval;
    return false;
}

void stats_arena_destroyed(arena_t *arena) {
    static stats_arena_t last; /* the ctl lock */
    refresh_t r = {0, 0};
    read_arena(arena, &last, platform_now_ns(), &r);
    /* What stays is the arena's descriptor, recycled with its index: not the destroyed arena's. */
    last.base = last.mapped = last.resident = 0;
    merge_into(&destroyed, &last);
    destroyed_valid = true;
}
