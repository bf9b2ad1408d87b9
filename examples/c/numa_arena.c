/*
 * numa_arena.c -- an arena whose memory is bound to one NUMA node.
 *
 * The usual way to keep a data structure on one node: create an explicit arena with extent
 * hooks whose alloc hook gets memory from the default hooks and then binds it with mbind(2).
 * Every page the arena ever uses comes through that hook, so everything allocated with
 * MALLOCX_ARENA(arena) lives on the node. The other eight hooks just forward to the defaults.
 *
 * No libnuma: mbind and get_mempolicy are called through syscall(2). Where the kernel or the
 * sandbox does not allow them (ENOSYS, EPERM, EINVAL), the program says "skipped: ..." and
 * exits 0.
 *
 * Build (from the repository root, after `make -C csrc`):
 *     cc -O2 -Icsrc/include examples/c/numa_arena.c csrc/build/libarenalloc.a -pthread \
 *        -o numa_arena
 * (`make -C csrc examples` builds and runs it.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "arenalloc.h"

/* From <linux/mempolicy.h>, which not every system installs. */
#define MPOL_BIND 2
#define MPOL_F_NODE (1 << 0)
#define MPOL_F_ADDR (1 << 1)

#define NODE 0                       /* the node to bind to */
#define MAXNODE (8 * sizeof(unsigned long)) /* bits in our node mask */

static extent_hooks_t *defaults;     /* the default hooks, read from arena 0 */
static unsigned long bind_failures;  /* mbind errors inside the alloc hook */

static long sys_mbind(void *addr, size_t len, int mode, const unsigned long *mask) {
    return syscall(SYS_mbind, addr, len, mode, mask, MAXNODE, 0);
}

/*
 * The alloc hook: memory from the default hooks, then bound to NODE. mbind sets the policy of
 * the range; the pages are placed on the node when first touched (the default hook maps fresh
 * pages, so none is touched yet). If binding fails, the range goes back and the growth fails:
 * the arena then returns NULL rather than memory on the wrong node.
 */
static void *numa_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t alignment,
                        bool *zero, bool *commit, unsigned arena_ind) {
    void *p = defaults->alloc(defaults, new_addr, size, alignment, zero, commit, arena_ind);
    if (p == NULL) return NULL;
    unsigned long mask = 1UL << NODE;
    if (sys_mbind(p, size, MPOL_BIND, &mask) != 0) {
        __atomic_add_fetch(&bind_failures, 1, __ATOMIC_RELAXED);
        if (defaults->dalloc(defaults, p, size, *commit, arena_ind)) {
            defaults->destroy(defaults, p, size, *commit, arena_ind);
        }
        return NULL;
    }
    return p;
}

/* The rest forward to the default hooks. A hook is called with the hooks pointer the arena
 * holds (ours); the default functions get their own table's address. */
static bool numa_dalloc(extent_hooks_t *h, void *addr, size_t size, bool committed,
                        unsigned ind) {
    return defaults->dalloc(defaults, addr, size, committed, ind);
}
static void numa_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed,
                         unsigned ind) {
    defaults->destroy(defaults, addr, size, committed, ind);
}
static bool numa_commit(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
                        unsigned ind) {
    return defaults->commit(defaults, addr, size, off, len, ind);
}
static bool numa_decommit(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
                          unsigned ind) {
    return defaults->decommit(defaults, addr, size, off, len, ind);
}
static bool numa_purge_lazy(extent_hooks_t *h, void *addr, size_t size, size_t off, size_t len,
                            unsigned ind) {
    return defaults->purge_lazy(defaults, addr, size, off, len, ind);
}
static bool numa_purge_forced(extent_hooks_t *h, void *addr, size_t size, size_t off,
                              size_t len, unsigned ind) {
    return defaults->purge_forced(defaults, addr, size, off, len, ind);
}
static bool numa_split(extent_hooks_t *h, void *addr, size_t size, size_t a, size_t b,
                       bool committed, unsigned ind) {
    return defaults->split(defaults, addr, size, a, b, committed, ind);
}
static bool numa_merge(extent_hooks_t *h, void *a, size_t sa, void *b, size_t sb,
                       bool committed, unsigned ind) {
    return defaults->merge(defaults, a, sa, b, sb, committed, ind);
}

/* Must outlive the arena: a static table. */
static extent_hooks_t numa_hooks = {numa_alloc,      numa_dalloc,       numa_destroy,
                                    numa_commit,     numa_decommit,     numa_purge_lazy,
                                    numa_purge_forced, numa_split,      numa_merge};

/* Can this process bind memory to NODE at all? Tried on a scratch mapping before anything else,
 * so an unsupported system is reported once, clearly. Returns 0 or the errno. */
static int mbind_probe(void) {
    size_t len = (size_t)sysconf(_SC_PAGESIZE);
    void *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) return errno;
    unsigned long mask = 1UL << NODE;
    int err = sys_mbind(p, len, MPOL_BIND, &mask) == 0 ? 0 : errno;
    munmap(p, len);
    return err;
}

int main(void) {
    int err = mbind_probe();
    if (err == ENOSYS || err == EPERM || err == EINVAL) {
        printf("numa_arena: skipped: mbind to node %d is not available here (%s)\n", NODE,
               strerror(err));
        return 0;
    }
    if (err != 0) {
        fprintf(stderr, "numa_arena: mbind probe failed: %s\n", strerror(err));
        return 1;
    }

    /* 1. The default hooks: arena 0's. */
    size_t sz = sizeof(defaults);
    if (mallctl("arena.0.extent_hooks", &defaults, &sz, NULL, 0) != 0) {
        fprintf(stderr, "numa_arena: cannot read arena.0.extent_hooks\n");
        return 1;
    }

    /* 2. An explicit arena with our hooks. Read its index, write the hooks, in one call. */
    unsigned arena;
    sz = sizeof(arena);
    extent_hooks_t *hooks = &numa_hooks;
    if (mallctl("arenas.create", &arena, &sz, &hooks, sizeof(hooks)) != 0) {
        fprintf(stderr, "numa_arena: arenas.create failed\n");
        return 1;
    }

    /* 3. Allocate from it. MALLOCX_TCACHE_NONE keeps these objects out of the thread cache, so
     *    that destroying the arena later cannot leave cached pointers behind. */
    int flags = MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE;
    enum { N = 64 };
    char *blocks[N];
    for (int i = 0; i < N; i++) {
        size_t size = i % 4 == 0 ? 256 * 1024 : 1000; /* large and small */
        blocks[i] = mallocx(size, flags);
        if (blocks[i] == NULL) {
            fprintf(stderr, "numa_arena: allocation %d failed (%lu mbind failures)\n", i,
                    bind_failures);
            return 1;
        }
        memset(blocks[i], i, size); /* touch: the pages are placed now */
    }

    /* 4. Check: the range's policy is MPOL_BIND to our node, and the pages are on it. */
    int bad = 0;
    for (int i = 0; i < N; i++) {
        int mode = -1, node = -1;
        unsigned long mask = 0;
        if (syscall(SYS_get_mempolicy, &mode, &mask, MAXNODE, blocks[i], MPOL_F_ADDR) != 0 ||
            syscall(SYS_get_mempolicy, &node, NULL, 0, blocks[i], MPOL_F_NODE | MPOL_F_ADDR) !=
                0) {
            printf("numa_arena: get_mempolicy unavailable (%s): placement not verified\n",
                   strerror(errno));
            break;
        }
        if (mode != MPOL_BIND || mask != 1UL << NODE || node != NODE) {
            fprintf(stderr, "numa_arena: block %d: mode %d mask %#lx node %d\n", i, mode, mask,
                    node);
            bad++;
        }
    }

    /* 5. Done with the whole arena: destroy it. Every block still allocated is freed at once and
     *    every page goes back through the hooks (here: to the default hooks, which unmap it). */
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.destroy", arena);
    if (mallctl(name, NULL, NULL, NULL, 0) != 0) {
        fprintf(stderr, "numa_arena: %s failed\n", name);
        return 1;
    }
    if (bad != 0) return 1;
    printf("numa_arena: %d blocks from arena %u, all bound to node %d; arena destroyed\n", N,
           arena, NODE);
    return 0;
}
