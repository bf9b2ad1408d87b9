#include "bin.h"

#include "emap.h"
#include "msg.h"

bool bin_init(bin_t *bin) {
    memset(bin, 0, sizeof(*bin));
    return mutex_init(&bin->lock);
}

static edata_t *slab_alloc(pac_t *pac, szind_t ind) {
    const bin_info_t *info = &bin_infos[ind];
    edata_t *slab = pac_alloc(pac, info->slab_size, PAGE, false);
    if (slab == NULL) return NULL;
    slab->slab = true;
    slab->szind = (uint8_t)ind;
    slab->nfree = info->nregs;
    bitmap_init_free(&slab->bitmap, info->nregs);
    emap_register_active(slab, ind, true);
    return slab;
}

void bin_slab_release(pac_t *pac, edata_t *slab) {
    emap_clear(slab);
    pac_dalloc(pac, slab);
}

/* Makes bin->slabcur a slab with free regions; the lock is held and may be dropped. */
static edata_t *refill_slabcur(bin_t *bin, pac_t *pac, szind_t ind) {
    edata_t *slab = bin->nonfull.head;
    if (slab != NULL) {
        edata_list_remove(&bin->nonfull, slab);
        bin->stats.nonfull_slabs--;
        bin->stats.nreslabs++;
        bin->slabcur = slab;
        return slab;
    }
    mutex_unlock(&bin->lock);
    slab = slab_alloc(pac, ind);
    mutex_lock(&bin->lock);
    if (slab == NULL) return NULL;
    bin->stats.nslabs++;
    bin->stats.curslabs++;
    edata_t *cur = bin->slabcur;
    if (cur != NULL && cur->nfree > 0) { /* another thread installed one meanwhile */
        edata_list_append(&bin->nonfull, slab);
        bin->stats.nonfull_slabs++;
        return cur;
    }
    bin->slabcur = slab;
    return slab;
}

/* Hands out up to n regions (a thread-cache fill when cache_fill, else one allocation). */
static unsigned take(bin_t *bin, pac_t *pac, szind_t ind, void **dst, unsigned n,
                     uint64_t nrequests, bool cache_fill) {
    const bin_info_t *info = &bin_infos[ind];
    unsigned filled = 0;
    mutex_lock(&bin->lock);
    while (filled < n) {
        edata_t *slab = bin->slabcur;
        if (slab == NULL || slab->nfree == 0) {
            slab = refill_slabcur(bin, pac, ind);
            if (slab == NULL) break;
        }
        unsigned take = slab->nfree < n - filled ? slab->nfree : n - filled;
        bitmap_take_n(&slab->bitmap, take, slab->addr, info->reg_size, dst + filled);
        filled += take;
        slab->nfree -= take;
    }
    if (config_stats) {
        bin->stats.nmalloc += filled;
        bin->stats.curregs += filled;
        bin->stats.nfills += cache_fill;
        bin->stats.nrequests += nrequests;
    }
    mutex_unlock(&bin->lock);
    return filled;
}

unsigned bin_fill(bin_t *bin, pac_t *pac, szind_t ind, void **dst, unsigned n,
                  uint64_t nrequests) {
    return take(bin, pac, ind, dst, n, nrequests, true);
}

void *bin_malloc(bin_t *bin, pac_t *pac, szind_t ind) {
    void *ret;
    return take(bin, pac, ind, &ret, 1, 1, false) == 1 ? ret : NULL;
}

/* Frees one region into its slab; the lock is held and stats are the caller's. Returns true
 * when the slab became unused and was detached (see bin_dalloc_locked). */
static ALWAYS_INLINE bool dalloc_region(bin_t *bin, const bin_info_t *info, edata_t *slab,
                                        void *ptr, const char *who) {
    size_t diff = (size_t)((char *)ptr - (char *)slab->addr);
    unsigned idx = (unsigned)(((uint64_t)diff * info->div_magic) >> 32);
    if (UNLIKELY(diff >= info->slab_size || (size_t)idx * info->reg_size != diff)) {
        al_fatal("%s: invalid pointer %p (not the start of an allocation)\n", who, ptr);
    }
    if (UNLIKELY(bitmap_is_free(&slab->bitmap, idx))) {
        al_fatal("%s: double free of pointer %p\n", who, ptr);
    }
    bitmap_set_free(&slab->bitmap, idx);
    uint32_t nfree = ++slab->nfree;
    if (LIKELY(nfree > 1 && nfree < info->nregs) || slab == bin->slabcur) return false;
    if (nfree == info->nregs) { /* unused: detach it (the current slab is kept) */
        if (info->nregs > 1) {
            edata_list_remove(&bin->nonfull, slab);
            bin->stats.nonfull_slabs--;
        }
        bin->stats.curslabs--;
        return true;
    }
    edata_list_append(&bin->nonfull, slab); /* was full: track it again */
    bin->stats.nonfull_slabs++;
    return false;
}

static inline void count_dallocs(bin_t *bin, unsigned n) {
    if (config_stats) {
        bin->stats.ndalloc += n;
        bin->stats.curregs -= n;
    }
}

bool bin_dalloc_locked(bin_t *bin, szind_t ind, edata_t *slab, void *ptr, const char *who) {
    count_dallocs(bin, 1);
    return dalloc_region(bin, &bin_infos[ind], slab, ptr, who);
}

unsigned bin_dalloc_batch_locked(bin_t *bin, szind_t ind, void **ptrs, edata_t **slabs,
                                 unsigned start, unsigned n, unsigned arena_ind,
                                 edata_t **empty, unsigned *nempty, const char *who) {
    const bin_info_t *info = &bin_infos[ind];
    unsigned freed = 0, ne = 0;
    for (unsigned i = start; i < n; i++) {
        edata_t *slab = slabs[i];
        if (slab == NULL || edata_arena_ind(slab) != arena_ind) continue;
        if (dalloc_region(bin, info, slab, ptrs[i], who)) empty[ne++] = slab;
        slabs[i] = NULL;
        freed++;
    }
    count_dallocs(bin, freed);
    *nempty = ne;
    return freed;
}

void bin_stats_read(bin_t *bin, bin_stats_t *out) {
    mutex_lock(&bin->lock);
    *out = bin->stats;
    mutex_unlock(&bin->lock);
}

void bin_reset(bin_t *bin) {
    mutex_lock(&bin->lock);
    bin->slabcur = NULL;
    bin->nonfull = (edata_list_t){NULL, NULL, 0};
    bin->stats.ndalloc += bin->stats.curregs;
    bin->stats.curregs = 0;
    bin->stats.curslabs = 0;
    bin->stats.nonfull_slabs = 0;
    mutex_unlock(&bin->lock);
}

void bin_stats_clear(bin_t *bin) {
    mutex_lock(&bin->lock);
    memset(&bin->stats, 0, sizeof(bin->stats));
    mutex_unlock(&bin->lock);
}

void bin_prefork(bin_t *bin) { mutex_prefork(&bin->lock); }
void bin_postfork_parent(bin_t *bin) { mutex_postfork_parent(&bin->lock); }
void bin_postfork_child(bin_t *bin) { mutex_postfork_child(&bin->lock); }
