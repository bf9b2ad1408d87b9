/*
 * ehooks.h -- an arena's extent hooks (jemalloc's extent_hooks_t ABI): the only way arena
 * memory is obtained from and returned to the system. The default hooks sit on platform_*.
 *
 * Conventions (jemalloc's): alloc returns NULL on failure; every bool hook returns true on
 * failure or opt-out; a NULL member means "always opt out". Wrappers below apply those rules,
 * so callers never test members for NULL.
 */
#ifndef AL_EHOOKS_H
#define AL_EHOOKS_H

#include "arenalloc.h"
#include "internal.h"

typedef struct ehooks_s {
    extent_hooks_t *hooks; /* atomic: replaced at run time through arena.<i>.extent_hooks */
    unsigned ind;          /* the arena index passed to every hook */
} ehooks_t;

extern extent_hooks_t ehooks_default_extent_hooks;
/* Option retain (conf.h): whether the default dalloc hook unmaps (false) or keeps mappings for
 * reuse (true, jemalloc's default on 64-bit Linux). */
extern bool opt_retain;

/*
 * Option thp (conf.h): "default" (leave the system's mode alone), "always" (MADV_HUGEPAGE on
 * every mapping of the default alloc hook) or "never" (MADV_NOHUGEPAGE), as jemalloc's opt.thp.
 * The advice is given only where the system's mode lets it matter (platform_thp_mode: always
 * or madvise). Custom hooks get no advice and no special alignment.
 */
typedef enum { THP_DEFAULT, THP_ALWAYS, THP_NEVER } thp_mode_t;
extern const char *opt_thp;
extern thp_mode_t opt_thp_mode;
/* Whether arena memory is meant to be backed by huge pages: thp:always, or thp:default on a
 * system whose mode is "always". Then the page allocator grows the default hooks' memory in
 * 2 MiB-aligned, 2 MiB-multiple steps (pac.h). */
bool ehooks_thp_in_use(void);

void ehooks_init(ehooks_t *eh, extent_hooks_t *hooks, unsigned ind);

static inline extent_hooks_t *ehooks_get(const ehooks_t *eh) {
    return __atomic_load_n(&eh->hooks, __ATOMIC_ACQUIRE);
}
static inline void ehooks_set(ehooks_t *eh, extent_hooks_t *hooks) {
    __atomic_store_n(&eh->hooks, hooks, __ATOMIC_RELEASE);
}
static inline bool ehooks_are_default(const ehooks_t *eh) {
    return ehooks_get(eh) == &ehooks_default_extent_hooks;
}

void *ehooks_alloc(ehooks_t *eh, void *new_addr, size_t size, size_t alignment, bool *zero,
                   bool *commit);
bool ehooks_dalloc(ehooks_t *eh, void *addr, size_t size, bool committed);
void ehooks_destroy(ehooks_t *eh, void *addr, size_t size, bool committed);
bool ehooks_commit(ehooks_t *eh, void *addr, size_t size, size_t offset, size_t length);
bool ehooks_decommit(ehooks_t *eh, void *addr, size_t size, size_t offset, size_t length);
bool ehooks_purge_lazy(ehooks_t *eh, void *addr, size_t size, size_t offset, size_t length);
bool ehooks_purge_forced(ehooks_t *eh, void *addr, size_t size, size_t offset, size_t length);
bool ehooks_split(ehooks_t *eh, void *addr, size_t size, size_t size_a, size_t size_b,
                  bool committed);
bool ehooks_merge(ehooks_t *eh, void *addr_a, size_t size_a, void *addr_b, size_t size_b,
                  bool committed);

#endif
