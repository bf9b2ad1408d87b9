#include "ehooks.h"

#include "platform.h"

bool opt_retain = true;
const char *opt_thp = "default";
thp_mode_t opt_thp_mode = THP_DEFAULT;

bool ehooks_thp_in_use(void) {
    return opt_thp_mode == THP_ALWAYS ||
           (opt_thp_mode == THP_DEFAULT && platform_thp_mode() == PLATFORM_THP_ALWAYS);
}

/* opt.thp's advice for a new mapping (jemalloc's pages_set_thp_state). */
static void thp_advise(void *p, size_t size) {
    if (opt_thp_mode == THP_DEFAULT) return;
    platform_thp_t sys = platform_thp_mode();
    if (sys != PLATFORM_THP_ALWAYS && sys != PLATFORM_THP_MADVISE) return;
    platform_hugepage(p, size, opt_thp_mode == THP_ALWAYS);
}

/* ---- the default hooks: anonymous mappings ---- */

static void *default_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t alignment,
                           bool *zero, bool *commit, unsigned ind) {
    void *p = platform_map(new_addr, size, alignment < PAGE ? PAGE : alignment);
    if (p == NULL) return NULL;
    thp_advise(p, size);
    *zero = true;
    *commit = true;
    return p;
}

static bool default_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed,
                           unsigned ind) {
    if (opt_retain) return true; /* keep the range mapped for reuse */
    platform_unmap(addr, size);
    return false;
}

static void default_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed,
                            unsigned ind) {
    platform_unmap(addr, size);
}

/* Linux overcommits: memory is always committed, so commit succeeds and decommit opts out. */
static bool default_commit(extent_hooks_t *h, void *addr, size_t size, size_t offset,
                           size_t length, unsigned ind) {
    return false;
}

static bool default_decommit(extent_hooks_t *h, void *addr, size_t size, size_t offset,
                             size_t length, unsigned ind) {
    return true;
}

static bool default_purge_lazy(extent_hooks_t *h, void *addr, size_t size, size_t offset,
                               size_t length, unsigned ind) {
    return platform_purge_lazy((char *)addr + offset, length);
}

static bool default_purge_forced(extent_hooks_t *h, void *addr, size_t size, size_t offset,
                                 size_t length, unsigned ind) {
    return platform_purge_forced((char *)addr + offset, length);
}

/* Anonymous mappings split and coalesce freely on Linux. */
static bool default_split(extent_hooks_t *h, void *addr, size_t size, size_t size_a,
                          size_t size_b, bool committed, unsigned ind) {
    return false;
}

static bool default_merge(extent_hooks_t *h, void *addr_a, size_t size_a, void *addr_b,
                          size_t size_b, bool committed, unsigned ind) {
    return false;
}

extent_hooks_t ehooks_default_extent_hooks = {
    default_alloc,      default_dalloc,       default_destroy,
    default_commit,     default_decommit,     default_purge_lazy,
    default_purge_forced, default_split,      default_merge,
};

void ehooks_init(ehooks_t *eh, extent_hooks_t *hooks, unsigned ind) {
    eh->hooks = hooks != NULL ? hooks : &ehooks_default_extent_hooks;
    eh->ind = ind;
}

/* ---- wrappers: NULL members opt out ---- */

void *ehooks_alloc(ehooks_t *eh, void *new_addr, size_t size, size_t alignment, bool *zero,
                   bool *commit) {
    extent_hooks_t *h = ehooks_get(eh);
    if (h->alloc == NULL) return NULL;
    void *p = h->alloc(h, new_addr, size, alignment, zero, commit, eh->ind);
    if (p != NULL && (((uintptr_t)p & (alignment - 1)) != 0 || (new_addr && p != new_addr))) {
        /* A hook broke its contract; give the range back rather than corrupt the heap. */
        if (h->dalloc == NULL || h->dalloc(h, p, size, *commit, eh->ind)) {
            if (h->destroy) h->destroy(h, p, size, *commit, eh->ind);
        }
        return NULL;
    }
    return p;
}

bool ehooks_dalloc(ehooks_t *eh, void *addr, size_t size, bool committed) {
    extent_hooks_t *h = ehooks_get(eh);
    return h->dalloc == NULL || h->dalloc(h, addr, size, committed, eh->ind);
}

void ehooks_destroy(ehooks_t *eh, void *addr, size_t size, bool committed) {
    extent_hooks_t *h = ehooks_get(eh);
    if (h->destroy != NULL) h->destroy(h, addr, size, committed, eh->ind);
}

bool ehooks_commit(ehooks_t *eh, void *addr, size_t size, size_t offset, size_t length) {
    extent_hooks_t *h = ehooks_get(eh);
    return h->commit == NULL || h->commit(h, addr, size, offset, length, eh->ind);
}

bool ehooks_decommit(ehooks_t *eh, void *addr, size_t size, size_t offset, size_t length) {
    extent_hooks_t *h = ehooks_get(eh);
    return h->decommit == NULL || h->decommit(h, addr, size, offset, length, eh->ind);
}

bool ehooks_purge_lazy(ehooks_t *eh, void *addr, size_t size, size_t offset, size_t length) {
    extent_hooks_t *h = ehooks_get(eh);
    return h->purge_lazy == NULL || h->purge_lazy(h, addr, size, offset, length, eh->ind);
}

bool ehooks_purge_forced(ehooks_t *eh, void *addr, size_t size, size_t offset, size_t length) {
    extent_hooks_t *h = ehooks_get(eh);
    return h->purge_forced == NULL || h->purge_forced(h, addr, size, offset, length, eh->ind);
}

bool ehooks_split(ehooks_t *eh, void *addr, size_t size, size_t size_a, size_t size_b,
                  bool committed) {
    extent_hooks_t *h = ehooks_get(eh);
    return h->split == NULL || h->split(h, addr, size, size_a, size_b, committed, eh->ind);
}

bool ehooks_merge(ehooks_t *eh, void *addr_a, size_t size_a, void *addr_b, size_t size_b,
                  bool committed) {
    extent_hooks_t *h = ehooks_get(eh);
    return h->merge == NULL || h->merge(h, addr_a, size_a, addr_b, size_b, committed, eh->ind);
}
