/*
 * arenalloc.h -- the public API of arenalloc.
 *
 * Every function is declared with the `arenalloc_` prefix; that is the name the static library
 * (the one the Rust crate links) exports. libarenalloc.so exports the same prefixed names and, in
 * addition, the unprefixed standard names (malloc, free, ...) and jemalloc's non-standard names
 * (mallocx, sdallocx, mallctl, ...), so it can replace glibc malloc or jemalloc in any binary.
 *
 * Unless ARENALLOC_NO_JEMALLOC_NAMES is defined, this header also maps jemalloc's non-standard
 * names onto the prefixed ones (mallocx -> arenalloc_mallocx, ...), so code written against
 * <jemalloc/jemalloc.h> compiles unchanged against this header and either library. The standard
 * names (malloc, free, ...) are never renamed: they come from <stdlib.h>.
 *
 * Semantics follow jemalloc 5.3 (see the project's reference notes): NULL + errno ENOMEM on
 * failure, EINVAL for bad alignments, MALLOCX_* flag layout bit for bit.
 */
#ifndef ARENALLOC_H
#define ARENALLOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ARENALLOC_VERSION "0.1.0"

/* ---- flags for the *allocx family (jemalloc's bit layout: aaaaaaaa aaaatttt tttttttt 0znnnnnn) ---- */

/* Align to 2^la bytes. */
#define MALLOCX_LG_ALIGN(la) ((int)(la))
/* Align to a (a power of two). */
#define MALLOCX_ALIGN(a) \
    ((int)(((size_t)(a) < (size_t)INT32_MAX) ? __builtin_ffs((int)(a)) - 1 \
                                              : __builtin_ffs((int)(((size_t)(a)) >> 32)) + 31))
/* Zero the memory (on growth by rallocx: the bytes past the old usable size). */
#define MALLOCX_ZERO ((int)0x40)
/* Use explicit thread cache tc (from "tcache.create"); bias of 2 so 0 means "automatic". */
#define MALLOCX_TCACHE(tc) ((int)(((tc) + 2) << 8))
/* Bypass the thread cache. */
#define MALLOCX_TCACHE_NONE MALLOCX_TCACHE(-1)
/* Allocate from arena a; bias of 1 so 0 means "automatic". */
#define MALLOCX_ARENA(a) ((int)(((unsigned)(a) + 1) << 20))

/* Pseudo arena indices for mallctl: all arenas merged, and the stats of destroyed arenas. */
#define MALLCTL_ARENAS_ALL 4096
#define MALLCTL_ARENAS_DESTROYED 4097

/*
 * ---- extent hooks: jemalloc's extent_hooks_t ABI, field for field ----
 *
 * An arena gets all of its pages through its hooks ("arenas.create" with a hooks pointer, or
 * "arena.<i>.extent_hooks"). jemalloc's conventions: alloc returns NULL on failure (with
 * new_addr NULL, any address aligned to `alignment`; *zero and *commit in: wanted, out: what the
 * memory is); every bool hook returns false on success and true on failure or to opt out; a NULL
 * member always opts out. The hooks are called without the allocator's locks (they may call
 * malloc and free), for any thread, and must stay valid while the arena uses them. arenalloc
 * grows an arena in steps (2 MiB first, doubling up to "arena.<i>.retain_grow_limit") and cuts
 * them with split; it coalesces free neighbours with merge; it purges with dalloc, decommit,
 * purge_forced, purge_lazy (in that order of preference, unless muzzy decay wants purge_lazy
 * first); "arena.<i>.destroy" ends with destroy for whatever is left. Reading
 * "arena.0.extent_hooks" gives the default (mmap-based) hooks, for hooks that delegate.
 * Metadata never comes from the hooks.
 */

typedef struct extent_hooks_s extent_hooks_t;

/* Returns the new mapping, or NULL on failure. */
typedef void *(extent_alloc_t)(extent_hooks_t *, void *new_addr, size_t size, size_t alignment,
                               bool *zero, bool *commit, unsigned arena_ind);
/* The bool hooks return true on failure / opt-out. */
typedef bool(extent_dalloc_t)(extent_hooks_t *, void *addr, size_t size, bool committed,
                              unsigned arena_ind);
typedef void(extent_destroy_t)(extent_hooks_t *, void *addr, size_t size, bool committed,
                               unsigned arena_ind);
typedef bool(extent_commit_t)(extent_hooks_t *, void *addr, size_t size, size_t offset,
                              size_t length, unsigned arena_ind);
typedef bool(extent_decommit_t)(extent_hooks_t *, void *addr, size_t size, size_t offset,
                                size_t length, unsigned arena_ind);
typedef bool(extent_purge_t)(extent_hooks_t *, void *addr, size_t size, size_t offset,
                             size_t length, unsigned arena_ind);
typedef bool(extent_split_t)(extent_hooks_t *, void *addr, size_t size, size_t size_a,
                             size_t size_b, bool committed, unsigned arena_ind);
typedef bool(extent_merge_t)(extent_hooks_t *, void *addr_a, size_t size_a, void *addr_b,
                             size_t size_b, bool committed, unsigned arena_ind);

struct extent_hooks_s {
    extent_alloc_t *alloc;
    extent_dalloc_t *dalloc;
    extent_destroy_t *destroy;
    extent_commit_t *commit;
    extent_decommit_t *decommit;
    extent_purge_t *purge_lazy;
    extent_purge_t *purge_forced;
    extent_split_t *split;
    extent_merge_t *merge;
};

/* ---- the standard API ---- */

void *arenalloc_malloc(size_t size);
void *arenalloc_calloc(size_t num, size_t size);
void *arenalloc_realloc(void *ptr, size_t size);
void arenalloc_free(void *ptr);
int arenalloc_posix_memalign(void **memptr, size_t alignment, size_t size);
void *arenalloc_aligned_alloc(size_t alignment, size_t size);
void *arenalloc_memalign(size_t alignment, size_t size);
void *arenalloc_valloc(size_t size);
void *arenalloc_pvalloc(size_t size);
size_t arenalloc_malloc_usable_size(const void *ptr);

/* ---- jemalloc's non-standard API ---- */

void *arenalloc_mallocx(size_t size, int flags);
void *arenalloc_rallocx(void *ptr, size_t size, int flags);
size_t arenalloc_xallocx(void *ptr, size_t size, size_t extra, int flags);
size_t arenalloc_sallocx(const void *ptr, int flags);
void arenalloc_dallocx(void *ptr, int flags);
void arenalloc_sdallocx(void *ptr, size_t size, int flags);
size_t arenalloc_nallocx(size_t size, int flags);

/*
 * The control and statistics namespace (jemalloc's mallctl): read a key's value through oldp /
 * *oldlenp, write one from newp / newlen (NULL / 0 to skip either). Returns 0 or an errno value:
 * ENOENT (no such key), EINVAL (size mismatch: a short read copies what fits and sets *oldlenp),
 * EPERM (wrong direction), EFAULT, EAGAIN. Every key is listed in docs/mallctl.md.
 */
int arenalloc_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen);
/* Translates name into a MIB; *miblenp: capacity of mibp in, components written out (a partial
 * MIB is legal; indexed components hold their number, so mibp[k] = i selects another index). */
int arenalloc_mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp);
int arenalloc_mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp,
                           void *newp, size_t newlen);

/*
 * jemalloc's malloc_stats_print: advances the epoch, then writes the statistics report through
 * write_cb(cbopaque, chunk) in NUL-terminated chunks of at most 4095 bytes (write_cb NULL:
 * arenalloc_malloc_message, or stderr). opts (NULL = ""), jemalloc's characters: J JSON instead
 * of text; g omit version, config.*, opt.*, arenas.*; m omit the merged arenas; a omit each
 * arena; b omit the per-bin tables; l omit the per-large-class tables; d omit the destroyed
 * arenas' statistics (shown once an arena was destroyed); x, e, h (mutex, extent and HPA
 * statistics) have nothing to omit yet; others are ignored. The JSON document is
 * {"arenalloc": {"version", "config", "opt", "arenas", "stats", "stats.arenas": {"merged",
 * "destroyed", "0", ...}}}, keyed by the mallctl names (docs/mallctl.md).
 * Never allocates; write_cb is called with no lock held and may call anything.
 */
void arenalloc_malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque,
                                  const char *opts);

/* Where diagnostics go (default: stderr). Must not allocate. */
extern void (*arenalloc_malloc_message)(void *cbopaque, const char *s);

#if !defined(ARENALLOC_NO_JEMALLOC_NAMES) && !defined(ARENALLOC_INTERNAL)
#define mallocx arenalloc_mallocx
#define rallocx arenalloc_rallocx
#define xallocx arenalloc_xallocx
#define sallocx arenalloc_sallocx
#define dallocx arenalloc_dallocx
#define sdallocx arenalloc_sdallocx
#define nallocx arenalloc_nallocx
#define mallctl arenalloc_mallctl
#define mallctlnametomib arenalloc_mallctlnametomib
#define mallctlbymib arenalloc_mallctlbymib
#define malloc_stats_print arenalloc_malloc_stats_print
#define malloc_message arenalloc_malloc_message
#endif

#ifdef __cplusplus
}
#endif

#endif /* ARENALLOC_H */
