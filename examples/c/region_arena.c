/*
 * region_arena.c -- an arena that lives inside one fixed region of memory.
 *
 * The embedded / DPDK-style use: the memory is set aside once (here a 32 MiB memfd mapping; it
 * could be hugepages, a device BAR, or shared memory another process maps too), and an arena
 * serves malloc-style allocations from it and from nothing else. When the region is full,
 * allocation fails with NULL / ENOMEM instead of taking more memory from the system; destroying
 * the arena hands the whole region back at once.
 *
 * The extent hooks below are the whole integration: alloc carves page runs out of the region
 * (first fit, honouring the alignment the arena asks for), destroy returns them; dalloc and
 * decommit refuse ("keep it"), so the arena holds on to what it got and reuses it. Purging
 * punches holes in the memfd, which frees the pages and reads back zero -- on a shared mapping,
 * MADV_DONTNEED would not (the file keeps the data), and MADV_FREE is not supported at all.
 *
 * Build (from the repository root, after `make -C csrc`):
 *     cc -O2 -Icsrc/include examples/c/region_arena.c csrc/build/libarenalloc.a -pthread \
 *        -o region_arena
 * (`make -C csrc examples` builds and runs it.)
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "arenalloc.h"

#define REGION_SIZE ((size_t)32 << 20)
#define PAGE ((size_t)4096) /* the arena asks in multiples of its page (arenas.page) */
#define NPAGES (REGION_SIZE / PAGE)

/* The region: its mapping, its memfd, and which pages the arena holds. */
static struct {
    extent_hooks_t hooks; /* first: the hooks pointer the arena passes back is the region */
    char *base;
    int fd;
    pthread_mutex_t lock;          /* hooks may run on any thread */
    unsigned char used[NPAGES];    /* 1 = handed to the arena */
    size_t in_use;                 /* bytes handed to the arena */
} region = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* alloc: the first run of free pages that starts on an `alignment` boundary. */
static void *region_alloc(extent_hooks_t *h, void *new_addr, size_t size, size_t alignment,
                          bool *zero, bool *commit, unsigned arena_ind) {
    if (new_addr != NULL) return NULL; /* the arena never asks for a fixed address here */
    if (alignment > ((size_t)2 << 20)) return NULL; /* beyond the base's alignment */
    size_t n = size / PAGE, step = alignment / PAGE;
    void *ret = NULL;
    pthread_mutex_lock(&region.lock);
    for (size_t s = 0; s + n <= NPAGES; s += step) { /* base is 2 MiB aligned (main) */
        size_t k = 0;
        while (k < n && !region.used[s + k]) k++;
        if (k == n) {
            memset(&region.used[s], 1, n);
            region.in_use += size;
            ret = region.base + s * PAGE;
            break;
        }
    }
    pthread_mutex_unlock(&region.lock);
    if (ret == NULL) return NULL; /* full: mallocx returns NULL with errno ENOMEM */
    *zero = true; /* fresh memfd pages and pages given back (hole punched) read as zero */
    *commit = true;
    return ret;
}

/* destroy: the pages go back to the region, and their memory back to the system. */
static void region_destroy(extent_hooks_t *h, void *addr, size_t size, bool committed,
                           unsigned arena_ind) {
    size_t first = (size_t)((char *)addr - region.base) / PAGE;
    fallocate(region.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
              (off_t)((char *)addr - region.base), (off_t)size);
    pthread_mutex_lock(&region.lock);
    memset(&region.used[first], 0, size / PAGE);
    region.in_use -= size;
    pthread_mutex_unlock(&region.lock);
}

/* purge_forced: free the pages, which then read back as zero (what purge_forced promises). */
static bool region_purge(extent_hooks_t *h, void *addr, size_t size, size_t offset,
                         size_t length, unsigned arena_ind) {
    off_t at = (off_t)((char *)addr - region.base + offset);
    return fallocate(region.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, at, (off_t)length) != 0;
}

/* split / merge: any page run of the region can be cut or joined. */
static bool region_split(extent_hooks_t *h, void *addr, size_t size, size_t a, size_t b,
                         bool committed, unsigned arena_ind) {
    return false;
}
static bool region_merge(extent_hooks_t *h, void *a, size_t sa, void *b, size_t sb,
                         bool committed, unsigned arena_ind) {
    return false;
}

/* NULL members opt out: dalloc (keep the pages), commit/decommit (always committed), purge_lazy. */
static void region_hooks_init(void) {
    region.hooks = (extent_hooks_t){
        .alloc = region_alloc,
        .destroy = region_destroy,
        .purge_forced = region_purge,
        .split = region_split,
        .merge = region_merge,
    };
}

static int destroy_arena(unsigned arena) {
    char name[64];
    snprintf(name, sizeof(name), "arena.%u.destroy", arena);
    return mallctl(name, NULL, NULL, NULL, 0);
}

int main(void) {
    /* 1. The region: a memfd of REGION_SIZE, mapped once, 2 MiB aligned (we over-map and trim,
     *    so that any alignment the arena asks for up to 2 MiB is a whole number of pages in). */
    region.fd = memfd_create("region_arena", MFD_CLOEXEC);
    if (region.fd < 0) {
        printf("region_arena: skipped: memfd_create: %s\n", strerror(errno));
        return 0;
    }
    if (ftruncate(region.fd, (off_t)REGION_SIZE) != 0) {
        perror("region_arena: ftruncate");
        return 1;
    }
    size_t align = (size_t)2 << 20;
    char *raw = mmap(NULL, REGION_SIZE + align, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (raw == MAP_FAILED) {
        perror("region_arena: mmap");
        return 1;
    }
    char *base = (char *)(((uintptr_t)raw + align - 1) & ~(uintptr_t)(align - 1));
    region.base = mmap(base, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_FIXED,
                       region.fd, 0);
    if (region.base == MAP_FAILED) {
        perror("region_arena: mmap memfd");
        return 1;
    }
    if (base > raw) munmap(raw, (size_t)(base - raw));
    munmap(base + REGION_SIZE, (size_t)(raw + REGION_SIZE + align - (base + REGION_SIZE)));
    region_hooks_init();

    /* 2. The arena. Growth steps start at 2 MiB and double; cap them so a nearly full region
     *    is still used to the last pages (a failed step is retried at exactly the size needed,
     *    but smaller steps waste less). */
    unsigned arena;
    size_t sz = sizeof(arena);
    extent_hooks_t *hooks = &region.hooks;
    if (mallctl("arenas.create", &arena, &sz, &hooks, sizeof(hooks)) != 0) {
        fprintf(stderr, "region_arena: arenas.create failed\n");
        return 1;
    }
    char name[64];
    size_t step = (size_t)4 << 20;
    snprintf(name, sizeof(name), "arena.%u.retain_grow_limit", arena);
    if (mallctl(name, NULL, NULL, &step, sizeof(step)) != 0) {
        fprintf(stderr, "region_arena: %s failed\n", name);
        return 1;
    }

    /* 3. Fill it: 64 KiB blocks until the region is exhausted. */
    int flags = MALLOCX_ARENA(arena) | MALLOCX_TCACHE_NONE;
    enum { MAXBLOCKS = 1024 };
    static void *blocks[MAXBLOCKS];
    int n = 0;
    errno = 0;
    while (n < MAXBLOCKS && (blocks[n] = mallocx(64 * 1024, flags)) != NULL) {
        char *b = blocks[n];
        if (b < region.base || b >= region.base + REGION_SIZE) {
            fprintf(stderr, "region_arena: block %p outside the region\n", (void *)b);
            return 1;
        }
        memset(b, 0xab, 64 * 1024);
        n++;
    }
    if (n == MAXBLOCKS || errno != ENOMEM) {
        fprintf(stderr, "region_arena: expected exhaustion with ENOMEM (n %d, errno %d)\n", n,
                errno);
        return 1;
    }
    printf("region_arena: %d blocks of 64 KiB (%zu KiB of %zu KiB used), then NULL/ENOMEM\n", n,
           (size_t)n * 64, REGION_SIZE >> 10);

    /* 4. Freeing makes room again: the arena reuses its own pages, no new memory is mapped. */
    dallocx(blocks[--n], MALLOCX_TCACHE_NONE);
    blocks[n] = mallocx(64 * 1024, flags);
    if (blocks[n] == NULL) {
        fprintf(stderr, "region_arena: no room after a free\n");
        return 1;
    }
    n++;

    /* 5. Destroy: all blocks at once, every page back to the region. */
    if (destroy_arena(arena) != 0) {
        fprintf(stderr, "region_arena: arena.%u.destroy failed\n", arena);
        return 1;
    }
    pthread_mutex_lock(&region.lock);
    size_t left = region.in_use;
    pthread_mutex_unlock(&region.lock);
    if (left != 0) {
        fprintf(stderr, "region_arena: %zu bytes not given back\n", left);
        return 1;
    }
    printf("region_arena: arena %u destroyed, the region is empty again\n", arena);
    munmap(region.base, REGION_SIZE);
    close(region.fd);
    return 0;
}
