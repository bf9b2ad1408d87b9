/*
 * jemalloc_hooks.c -- custom extent hooks written purely against jemalloc's API
 * (<jemalloc/jemalloc.h>, jemalloc 5.3's extent_hooks_t and mallctl keys), the way a jemalloc
 * user writes them: hooks that count their calls and forward to the default hooks read from
 * arena.<i>.extent_hooks, installed with arenas.create, used with MALLOCX_ARENA, torn down with
 * arena.<i>.destroy. test/preload/run.sh builds it twice from the same source:
 *
 *   cc jemalloc_hooks.c -ljemalloc                          (Debian's libjemalloc-dev)
 *   cc -I<arenalloc>/csrc/include jemalloc_hooks.c libarenalloc.a -pthread
 *
 * (the second finds arenalloc's <jemalloc/jemalloc.h>, a shim over arenalloc.h) and runs both
 * with the allocator they should talk to as the argument ("jemalloc" or "arenalloc", told apart
 * by the `version` key). Every check holds for jemalloc 5.3, so passing against real jemalloc
 * shows they are its contract, and passing against arenalloc shows arenalloc keeps it.
 *
 * Prints "ok"/"FAIL" per check and "N passed, N failed, N skipped"; exit status 0 only if
 * nothing failed.
 */
#include <jemalloc/jemalloc.h>

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

/* ---- counting hooks that forward to the defaults ---- */

enum { ALLOC, DALLOC, DESTROY, COMMIT, DECOMMIT, PURGE_LAZY, PURGE_FORCED, SPLIT, MERGE, NHOOKS };

static extent_hooks_t *default_hooks; /* arena 0's, read before the arena is created */
static unsigned calls[NHOOKS];        /* atomically incremented: hooks may run on any thread */
static unsigned wrong_ind;            /* calls with an arena index other than ours */
static unsigned our_ind = ~0u;

static void count(int which, unsigned arena_ind) {
    __atomic_add_fetch(&calls[which], 1, __ATOMIC_RELAXED);
    unsigned want = __atomic_load_n(&our_ind, __ATOMIC_RELAXED);
    if (want != ~0u && arena_ind != want) __atomic_add_fetch(&wrong_ind, 1, __ATOMIC_RELAXED);
}

static unsigned ncalls(int which) { return __atomic_load_n(&calls[which], __ATOMIC_RELAXED); }

static void *c_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t alignment, bool *zero,
                     bool *commit, unsigned ind) {
    count(ALLOC, ind);
    return default_hooks->alloc(default_hooks, new_addr, size, alignment, zero, commit, ind);
}
static bool c_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind) {
    count(DALLOC, ind);
    return default_hooks->dalloc(default_hooks, addr, size, committed, ind);
}
static void c_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed, unsigned ind) {
    count(DESTROY, ind);
    default_hooks->destroy(default_hooks, addr, size, committed, ind);
}
static bool c_commit(extent_hooks_t *h, void *addr, size_t size, size_t offset, size_t length,
                     unsigned ind) {
    count(COMMIT, ind);
    return default_hooks->commit(default_hooks, addr, size, offset, length, ind);
}
static bool c_decommit(extent_hooks_t *h, void *addr, size_t size, size_t offset, size_t length,
                       unsigned ind) {
    count(DECOMMIT, ind);
    return default_hooks->decommit(default_hooks, addr, size, offset, length, ind);
}
static bool c_purge_lazy(extent_hooks_t *h, void *addr, size_t size, size_t offset, size_t length,
                         unsigned ind) {
    count(PURGE_LAZY, ind);
    return default_hooks->purge_lazy(default_hooks, addr, size, offset, length, ind);
}
static bool c_purge_forced(extent_hooks_t *h, void *addr, size_t size, size_t offset,
                           size_t length, unsigned ind) {
    count(PURGE_FORCED, ind);
    return default_hooks->purge_forced(default_hooks, addr, size, offset, length, ind);
}
static bool c_split(extent_hooks_t *h, void *addr, size_t size, size_t size_a, size_t size_b,
                    bool committed, unsigned ind) {
    count(SPLIT, ind);
    return default_hooks->split(default_hooks, addr, size, size_a, size_b, committed, ind);
}
static bool c_merge(extent_hooks_t *h, void *addr_a, size_t size_a, void *addr_b, size_t size_b,
                    bool committed, unsigned ind) {
    count(MERGE, ind);
    return default_hooks->merge(default_hooks, addr_a, size_a, addr_b, size_b, committed, ind);
}

static extent_hooks_t counting_hooks = {c_alloc,      c_dalloc,       c_destroy,
                                        c_commit,     c_decommit,     c_purge_lazy,
                                        c_purge_forced, c_split,      c_merge};

static int arena_cmd(unsigned ind, const char *what) {
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.%s", ind, what);
    return mallctl(name, NULL, NULL, NULL, 0);
}

int main(int argc, char **argv) {
    const char *expect = argc > 1 ? argv[1] : "";
    setvbuf(stdout, NULL, _IOLBF, 0);

    const char *version = NULL;
    size_t len = sizeof(version);
    int rc = mallctl("version", &version, &len, NULL, 0);
    bool is_je = rc == 0 && version != NULL && strncmp(version, "5.", 2) == 0;
    if (strcmp(expect, "jemalloc") == 0 || strcmp(expect, "arenalloc") == 0) {
        check(is_je == (strcmp(expect, "jemalloc") == 0), "allocator",
              "expected %s: version \"%s\"", expect, version ? version : "?");
    }

    len = sizeof(default_hooks);
    rc = mallctl("arena.0.extent_hooks", &default_hooks, &len, NULL, 0);
    check(rc == 0 && default_hooks != NULL && default_hooks->alloc != NULL, "default hooks",
          "arena.0.extent_hooks: %d, %p", rc, (void *)default_hooks);
    if (rc != 0 || default_hooks == NULL) goto done;

    unsigned narenas0 = 0;
    len = sizeof(narenas0);
    mallctl("arenas.narenas", &narenas0, &len, NULL, 0);
    unsigned ind = ~0u;
    len = sizeof(ind);
    extent_hooks_t *hooks = &counting_hooks;
    rc = mallctl("arenas.create", &ind, &len, &hooks, sizeof(hooks));
    unsigned narenas1 = 0;
    len = sizeof(narenas1);
    mallctl("arenas.narenas", &narenas1, &len, NULL, 0);
    check(rc == 0 && ind == narenas0 && narenas1 == narenas0 + 1, "arenas.create",
          "%d, index %u, arenas.narenas %u -> %u", rc, ind, narenas0, narenas1);
    if (rc != 0) goto done;
    __atomic_store_n(&our_ind, ind, __ATOMIC_RELAXED);

    char name[64];
    snprintf(name, sizeof(name), "arena.%u.extent_hooks", ind);
    extent_hooks_t *read_back = NULL;
    len = sizeof(read_back);
    rc = mallctl(name, &read_back, &len, NULL, 0);
    check(rc == 0 && read_back == &counting_hooks, "extent_hooks read", "%s: %d, %p", name, rc,
          (void *)read_back);
    /* Writing returns the previous hooks through the same call. */
    extent_hooks_t *old = NULL;
    len = sizeof(old);
    rc = mallctl(name, &old, &len, &hooks, sizeof(hooks));
    check(rc == 0 && old == &counting_hooks, "extent_hooks write", "%d, old %p", rc, (void *)old);

    /* Allocations from the arena: small and large, bypassing the thread cache. */
    int flags = MALLOCX_ARENA(ind) | MALLOCX_TCACHE_NONE;
    enum { N = 64 };
    void *ps[N];
    int nnull = 0, wrong_owner = 0;
    for (int k = 0; k < N; k++) {
        size_t size = k % 4 == 0 ? (size_t)(64 + k) << 10 : (size_t)(16 + 24 * k);
        ps[k] = mallocx(size, flags);
        if (ps[k] == NULL) {
            nnull++;
            continue;
        }
        memset(ps[k], k, size);
        unsigned owner = ~0u;
        len = sizeof(owner);
        if (mallctl("arenas.lookup", &owner, &len, &ps[k], sizeof(ps[k])) != 0 || owner != ind) {
            wrong_owner++;
        }
    }
    check(nnull == 0 && wrong_owner == 0, "mallocx(MALLOCX_ARENA)",
          "%d NULL, %d looked up elsewhere than arena %u", nnull, wrong_owner, ind);
    check(ncalls(ALLOC) >= 1, "alloc hook", "called %u times", ncalls(ALLOC));
    check(ncalls(SPLIT) >= 1, "split hook", "called %u times (carving the growth)", ncalls(SPLIT));

    /* Free half, purge: the pages leave through the hooks. */
    for (int k = 0; k < N; k += 2) dallocx(ps[k], MALLOCX_TCACHE_NONE);
    rc = arena_cmd(ind, "purge");
    unsigned purged = ncalls(DALLOC) + ncalls(DECOMMIT) + ncalls(PURGE_FORCED) + ncalls(PURGE_LAZY);
    check(rc == 0 && purged >= 1, "purge", "arena.%u.purge %d; dalloc %u decommit %u purge_forced "
          "%u purge_lazy %u", ind, rc, ncalls(DALLOC), ncalls(DECOMMIT), ncalls(PURGE_FORCED),
          ncalls(PURGE_LAZY));
    for (int k = 1; k < N; k += 2) dallocx(ps[k], MALLOCX_TCACHE_NONE);

    /* A few live allocations, then destroy: every extent goes back through the hooks. */
    void *live = mallocx(100000, flags), *live2 = mallocx(100, flags);
    check(live != NULL && live2 != NULL, "mallocx after purge", "%p %p", live, live2);
    unsigned gone0 = ncalls(DESTROY) + ncalls(DALLOC);
    rc = arena_cmd(ind, "destroy");
    unsigned gone = ncalls(DESTROY) + ncalls(DALLOC) - gone0;
    check(rc == 0 && ncalls(DESTROY) >= 1, "destroy", "arena.%u.destroy %d; destroy %u, dalloc "
          "%u (%u during the destroy)", ind, rc, ncalls(DESTROY), ncalls(DALLOC), gone);
    check(__atomic_load_n(&wrong_ind, __ATOMIC_RELAXED) == 0, "arena_ind",
          "%u hook calls with another index (merge called %u times)", wrong_ind, ncalls(MERGE));

    /* The index can be used again. */
    unsigned again = ~0u;
    len = sizeof(again);
    rc = mallctl("arenas.create", &again, &len, NULL, 0);
    void *p = rc == 0 ? mallocx(100, MALLOCX_ARENA(again) | MALLOCX_TCACHE_NONE) : NULL;
    check(rc == 0 && p != NULL, "arenas.create after destroy", "%d, index %u", rc, again);
    if (p != NULL) dallocx(p, MALLOCX_TCACHE_NONE);
    if (rc == 0) {
        check(arena_cmd(again, "destroy") == 0, "destroy (default hooks)", "arena %u", again);
    }
    check(arena_cmd(0, "destroy") != 0, "arena.0.destroy", "refused (automatic arena)");

done:
    printf("%d passed, %d failed, 0 skipped\n", npass, nfail);
    return nfail == 0 ? 0 : 1;
}
