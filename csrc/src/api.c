/*
 * api.c -- the public entry points: fast paths composed inline from tsd, sz, emap and
 * cache_bin; one slow path each for allocation and deallocation; lazy initialization; fork
 * handlers; and the exported names.
 *
 * Call tree:
 *   malloc(size)
 *     size <= 4 KiB, cache bin not empty -> pop, count the bytes             (fast)
 *       countdown went negative -> alloc_events (GC step) and return the popped object
 *     else alloc_slow(size, 0)
 *       init if needed -> tsd_fetch -> class of (size, alignment)
 *       cacheable class and cache usable -> tcache_alloc_hard (fill from the arena on a miss)
 *       else arena_malloc (bin for small, large extent otherwise)
 *       count the bytes; run due events (tcache GC)
 *   free(ptr)
 *     emap entry -> class; cached class and cache bin not full -> push              (fast)
 *     else dalloc_slow(ptr, "free()")
 *       validate (unknown pointer -> fatal, naming the call) -> tcache_dalloc_hard (flush
 *       half on overflow) or arena_dalloc
 *   sdallocx(ptr, size, 0): as free, with the class taken from size: no emap lookup.
 *
 * Errors: allocation failure returns NULL with errno ENOMEM and changes nothing; a pointer the
 * extent map does not know aborts with "<arenalloc>: <call>: invalid pointer 0x...".
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "arena.h"
#include "base.h"
#include "cache_bin.h"
#include "emap.h"
#include "msg.h"
#include "platform.h"
#include "sz.h"
#include "tcache.h"
#include "tsd.h"

/* ---- flags ---- */

#define FLAGS_LG_ALIGN(f) ((unsigned)(f) & 0x3f)
#define FLAGS_TCACHE(f) (((unsigned)(f) >> 8) & 0xfff) /* 0 auto, 1 none, k+2 explicit k */
#define FLAGS_ARENA(f) (((unsigned)(f) >> 20) & 0xfff) /* 0 auto, k+1 arena k */

static inline size_t flags_alignment(int flags) {
    unsigned lg = FLAGS_LG_ALIGN(flags);
    return lg ? (size_t)1 << lg : 0;
}

/* Usable size for (size, alignment); 0 when too large. */
static inline size_t usize_of(size_t size, size_t alignment) {
    return alignment ? sz_sa2u(size, alignment) : sz_s2u(size);
}

/* ---- debug aids: compiled out unless config_debug ---- */

#define JUNK_ALLOC 0xa5
#define JUNK_FREE 0x5a

static inline void debug_junk(void *ptr, size_t usize, int byte) {
    if (config_debug) memset(ptr, byte, usize);
}

static inline void debug_check_not_cached(tsd_t *tsd, szind_t ind, void *ptr, const char *who) {
    if (config_debug && ind < tcache_nbins &&
        UNLIKELY(cache_bin_contains(&tsd->tcache.bins[ind], ptr))) {
        al_fatal("%s: double free of pointer %p\n", who, ptr);
    }
}

/* ---- initialization ---- */

static bool malloc_initialized; /* atomic */
static pthread_mutex_t init_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread bool initializing_here __attribute__((tls_model("initial-exec")));

static void prefork(void);
static void postfork_parent(void);
static void postfork_child(void);

static COLD bool malloc_init_hard(void) {
    if (initializing_here) return false; /* reentrant call from a libc function we called */
    pthread_mutex_lock(&init_lock);
    if (__atomic_load_n(&malloc_initialized, __ATOMIC_ACQUIRE)) {
        pthread_mutex_unlock(&init_lock);
        return false;
    }
    initializing_here = true;
    bool err = platform_boot();
    if (err) al_printf("unsupported page size (built for %zu bytes)\n", PAGE);
    if (!err) err = base_boot() || arena_boot() || tcache_boot() || tsd_boot();
    /* Last: pthread_atfork may allocate, which re-enters here and finds the rest booted. */
    if (!err) err = pthread_atfork(prefork, postfork_parent, postfork_child) != 0;
    if (!err) __atomic_store_n(&malloc_initialized, true, __ATOMIC_RELEASE);
    initializing_here = false;
    pthread_mutex_unlock(&init_lock);
    return err;
}

/* Returns true if the allocator cannot be used. */
static ALWAYS_INLINE bool malloc_init(void) {
    if (LIKELY(__atomic_load_n(&malloc_initialized, __ATOMIC_ACQUIRE))) return false;
    return malloc_init_hard();
}

/* ---- fork: every lock in order in the parent, re-created in the child ---- */

static void prefork(void) {
    if (!__atomic_load_n(&malloc_initialized, __ATOMIC_ACQUIRE)) return;
    pthread_mutex_lock(&init_lock);
    arena_prefork();
    tsd_prefork();
    tcache_prefork();
    base_prefork();
}

static void postfork_parent(void) {
    if (!__atomic_load_n(&malloc_initialized, __ATOMIC_ACQUIRE)) return;
    base_postfork_parent();
    tcache_postfork_parent();
    tsd_postfork_parent();
    arena_postfork_parent();
    pthread_mutex_unlock(&init_lock);
}

static void postfork_child(void) {
    if (!__atomic_load_n(&malloc_initialized, __ATOMIC_ACQUIRE)) return;
    base_postfork_child();
    tcache_postfork_child();
    arena_postfork_child();
    tsd_postfork_child();
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    init_lock = fresh;
}

/* ---- slow paths ---- */

static COLD void *oom(void) {
    errno = ENOMEM;
    return NULL;
}

static NOINLINE void *alloc_slow(size_t size, int flags) {
    if (UNLIKELY(malloc_init())) return oom();
    tsd_t *tsd = tsd_fetch();
    if (size == 0) size = 1;
    size_t alignment = flags_alignment(flags);
    size_t usize = usize_of(size, alignment);
    if (UNLIKELY(usize == 0)) return oom();
    szind_t ind = sz_size2index(usize);
    bool zero = (flags & MALLOCX_ZERO) != 0;

    arena_t *arena = tsd_arena(tsd);
    unsigned arena_bits = FLAGS_ARENA(flags);
    if (arena_bits != 0) {
        arena = arena_get(arena_bits - 1, true);
        if (UNLIKELY(arena == NULL)) return oom();
    }
    void *ret;
    if (tsd_tcache_usable(tsd) && FLAGS_TCACHE(flags) == 0 && arena_bits == 0 &&
        ind < tcache_nbins && alignment <= PAGE) {
        ret = tcache_alloc_hard(&tsd->tcache, ind, usize);
        if (ret != NULL && zero) memset(ret, 0, usize);
    } else {
        ret = arena_malloc(arena, ind, usize, alignment, zero);
    }
    if (UNLIKELY(ret == NULL)) return oom();
    if (!zero) debug_junk(ret, usize, JUNK_ALLOC);
    tsd->thread_allocated += usize;
    tsd->event_countdown -= (int64_t)usize;
    if (tsd->event_countdown < 0) tsd_events(tsd);
    return ret;
}

/* The extent-map entry of an allocation the caller passed in; aborts if unknown. */
static emap_entry_t lookup_owned(const void *ptr, const char *who) {
    emap_entry_t entry = emap_lookup(ptr);
    if (UNLIKELY(emap_entry_szind1(entry) == 0)) al_fatal("%s: invalid pointer %p\n", who, ptr);
    return entry;
}

static NOINLINE void dalloc_slow(void *ptr, int flags, const char *who) {
    if (ptr == NULL) return;
    emap_entry_t entry = lookup_owned(ptr, who);
    szind_t ind = emap_entry_szind1(entry) - 1;
    edata_t *e = emap_entry_edata(entry);
    tsd_t *tsd = tsd_fetch();
    size_t usize = sz_index2size(ind);
    debug_check_not_cached(tsd, ind, ptr, who);
    debug_junk(ptr, usize, JUNK_FREE);
    if (tsd_tcache_usable(tsd) && FLAGS_TCACHE(flags) == 0 && ind < tcache_nbins) {
        if (UNLIKELY(ind >= SC_NBINS && ptr != e->addr)) {
            al_fatal("%s: invalid pointer %p\n", who, ptr);
        }
        tcache_dalloc_hard(&tsd->tcache, ind, ptr, who);
    } else {
        arena_dalloc(e, ptr, ind, who);
        tsd->thread_deallocated_slow += usize;
    }
}

/* ---- fast paths ---- */

/* The countdown ran out on the fast path: run the events, then hand out ret. */
static NOINLINE void *alloc_events(tsd_t *tsd, void *ret) {
    tsd_events(tsd);
    return ret;
}

static ALWAYS_INLINE void *malloc_fast(size_t size) {
    if (UNLIKELY(size > SC_LOOKUP_MAXCLASS)) return alloc_slow(size, 0);
    tsd_t *tsd = tsd_get();
    cache_bin_t *bin = &tsd->tcache.bins[sz_size2index_lookup(size)];
    void *ret;
    if (UNLIKELY(!cache_bin_pop(bin, &ret))) return alloc_slow(size, 0);
    size_t usize = bin->usize;
    debug_junk(ret, usize, JUNK_ALLOC);
    tsd->thread_allocated += usize;
    if (UNLIKELY((tsd->event_countdown -= (int64_t)usize) < 0)) return alloc_events(tsd, ret);
    return ret;
}

/* Push ptr of small class ind into this thread's cache; false if the slow path must run
 * (cache full, or not set up: bins of an uninitialized thread refuse). */
static ALWAYS_INLINE bool dalloc_push(szind_t ind, void *ptr, const char *who) {
    tsd_t *tsd = tsd_get();
    cache_bin_t *bin = &tsd->tcache.bins[ind];
    debug_check_not_cached(tsd, ind, ptr, who);
    if (config_debug) {
        if (bin->head == NULL) return false; /* let the slow path validate and set up */
        debug_junk(ptr, sz_index2size(ind), JUNK_FREE);
    }
    return cache_bin_push(bin, ptr);
}

static ALWAYS_INLINE void free_fast(void *ptr, const char *who) {
    emap_entry_t entry = emap_lookup(ptr);
    szind_t ind = emap_entry_szind1(entry) - 1; /* wraps for unknown pointers and NULL */
    /* Large pointers take the slow path, which checks they are not interior pointers. */
    if (UNLIKELY(ind >= SC_NBINS) || UNLIKELY(!dalloc_push(ind, ptr, who))) {
        dalloc_slow(ptr, 0, who);
    }
}

static ALWAYS_INLINE void sdalloc_fast(void *ptr, size_t size, int flags, const char *who) {
    if (LIKELY(flags == 0 && size <= SC_LOOKUP_MAXCLASS)) {
        szind_t ind = sz_size2index_lookup(size);
        if (config_debug) {
            emap_entry_t entry = lookup_owned(ptr, who);
            if (emap_entry_szind1(entry) - 1 != ind) {
                al_fatal("%s: size %zu does not match the allocation at %p\n", who, size, ptr);
            }
        }
        if (LIKELY(dalloc_push(ind, ptr, who))) return;
    }
    dalloc_slow(ptr, flags, who);
}

/* ---- resizing ---- */

static void *ralloc_move(void *ptr, size_t old_usize, size_t size, int flags, const char *who) {
    void *ret = alloc_slow(size, flags);
    if (ret == NULL) return NULL;
    memcpy(ret, ptr, old_usize < size ? old_usize : size);
    dalloc_slow(ptr, flags & ~(MALLOCX_ZERO | 0x3f), who);
    return ret;
}

static void *ralloc_generic(void *ptr, size_t size, int flags, const char *who) {
    emap_entry_t entry = lookup_owned(ptr, who);
    szind_t old_ind = emap_entry_szind1(entry) - 1;
    size_t old_usize = sz_index2size(old_ind);
    edata_t *e = emap_entry_edata(entry);
    if (size == 0) size = 1;
    size_t alignment = flags_alignment(flags);
    size_t usize = usize_of(size, alignment);
    if (UNLIKELY(usize == 0)) return oom();
    bool aligned = alignment == 0 || ((uintptr_t)ptr & (alignment - 1)) == 0;
    if (usize == old_usize && aligned) return ptr;
    if (old_ind >= SC_NBINS && usize >= SC_LARGE_MINCLASS && aligned) {
        if (UNLIKELY(ptr != e->addr)) al_fatal("%s: invalid pointer %p\n", who, ptr);
        if (!arena_ralloc_large_in_place(e, sz_size2index(usize), usize,
                                         (flags & MALLOCX_ZERO) != 0)) {
            tsd_t *tsd = tsd_fetch();
            tsd->thread_allocated += usize;
            tsd->thread_deallocated_slow += old_usize;
            return ptr;
        }
    }
    return ralloc_move(ptr, old_usize, size, flags, who);
}

/* ---- the API ---- */

void *al_malloc(size_t size) { return malloc_fast(size); }

void al_free(void *ptr) { free_fast(ptr, "free()"); }

void *al_calloc(size_t num, size_t size) {
    size_t total;
    if (UNLIKELY(__builtin_mul_overflow(num, size, &total))) return oom();
    if (LIKELY(total <= SC_LOOKUP_MAXCLASS)) {
        void *ret = malloc_fast(total);
        if (ret != NULL) memset(ret, 0, total);
        return ret;
    }
    return alloc_slow(total, MALLOCX_ZERO);
}

void *al_realloc(void *ptr, size_t size) {
    if (ptr == NULL) return malloc_fast(size);
    if (size == 0) { /* opt.zero_realloc "free", jemalloc's default on Linux */
        free_fast(ptr, "realloc()");
        return NULL;
    }
    if (UNLIKELY(malloc_init())) return oom();
    return ralloc_generic(ptr, size, 0, "realloc()");
}

static int memalign_common(void **memptr, size_t alignment, size_t size) {
    void *ret = alloc_slow(size, MALLOCX_LG_ALIGN(lg_floor(alignment)));
    if (ret == NULL) return ENOMEM;
    *memptr = ret;
    return 0;
}

int al_posix_memalign(void **memptr, size_t alignment, size_t size) {
    if (UNLIKELY(!IS_POW2(alignment) || alignment < sizeof(void *))) return EINVAL;
    int saved = errno, err = memalign_common(memptr, alignment, size);
    errno = saved; /* posix_memalign reports through its return value only */
    return err;
}

void *al_aligned_alloc(size_t alignment, size_t size) {
    if (UNLIKELY(!IS_POW2(alignment))) {
        errno = EINVAL;
        return NULL;
    }
    void *ret;
    int err = memalign_common(&ret, alignment, size);
    if (err) {
        errno = err;
        return NULL;
    }
    return ret;
}

void *al_memalign(size_t alignment, size_t size) { return al_aligned_alloc(alignment, size); }

void *al_valloc(size_t size) { return al_aligned_alloc(PAGE, size); }

void *al_pvalloc(size_t size) {
    size_t rounded = PAGE_CEILING(size ? size : 1);
    if (rounded < size) return oom();
    return al_aligned_alloc(PAGE, rounded);
}

size_t al_malloc_usable_size(const void *ptr) {
    if (ptr == NULL) return 0;
    return sz_index2size(emap_entry_szind1(lookup_owned(ptr, "malloc_usable_size()")) - 1);
}

void *al_mallocx(size_t size, int flags) {
    if (LIKELY(flags == 0)) return malloc_fast(size);
    return alloc_slow(size, flags);
}

void *al_rallocx(void *ptr, size_t size, int flags) {
    if (UNLIKELY(malloc_init())) return oom();
    return ralloc_generic(ptr, size, flags, "rallocx()");
}

size_t al_xallocx(void *ptr, size_t size, size_t extra, int flags) {
    emap_entry_t entry = lookup_owned(ptr, "xallocx()");
    szind_t old_ind = emap_entry_szind1(entry) - 1;
    size_t old_usize = sz_index2size(old_ind);
    if (old_ind < SC_NBINS) return old_usize; /* small regions never change size in place */
    size_t alignment = flags_alignment(flags);
    if (alignment != 0 && ((uintptr_t)ptr & (alignment - 1)) != 0) return old_usize;
    size_t max = size + extra < size ? SC_LARGE_MAXCLASS : size + extra;
    size_t candidates[2] = {sz_s2u(max > SC_LARGE_MAXCLASS ? SC_LARGE_MAXCLASS : max),
                            sz_s2u(size)};
    edata_t *e = emap_entry_edata(entry);
    if (UNLIKELY(ptr != e->addr)) al_fatal("xallocx(): invalid pointer %p\n", ptr);
    tsd_t *tsd = tsd_fetch();
    for (unsigned i = 0; i < 2; i++) {
        size_t usize = candidates[i];
        if (usize == 0) continue;
        if (usize < SC_LARGE_MINCLASS) usize = SC_LARGE_MINCLASS;
        if (usize == old_usize) return old_usize;
        if (!arena_ralloc_large_in_place(e, sz_size2index(usize), usize,
                                         (flags & MALLOCX_ZERO) != 0)) {
            tsd->thread_allocated += usize;
            tsd->thread_deallocated_slow += old_usize;
            return usize;
        }
    }
    return old_usize;
}

size_t al_sallocx(const void *ptr, int flags) {
    return sz_index2size(emap_entry_szind1(lookup_owned(ptr, "sallocx()")) - 1);
}

void al_dallocx(void *ptr, int flags) {
    if (LIKELY(flags == 0)) free_fast(ptr, "dallocx()");
    else dalloc_slow(ptr, flags, "dallocx()");
}

void al_sdallocx(void *ptr, size_t size, int flags) { sdalloc_fast(ptr, size, flags, "sdallocx()"); }

size_t al_nallocx(size_t size, int flags) {
    if (UNLIKELY(malloc_init())) return 0;
    size_t alignment = flags_alignment(flags);
    return usize_of(size ? size : 1, alignment);
}

void al_free_sized(void *ptr, size_t size) {
    if (ptr != NULL) sdalloc_fast(ptr, size, 0, "free_sized()");
}

void al_free_aligned_sized(void *ptr, size_t alignment, size_t size) {
    if (ptr == NULL) return;
    int flags = alignment > 1 ? MALLOCX_LG_ALIGN(lg_floor(alignment)) : 0;
    sdalloc_fast(ptr, size, flags, "free_aligned_sized()");
}

/* ---- exported names ---- */

#define ALIAS(name, target) \
    extern __typeof(target) name __attribute__((alias(#target), visibility("default")));

#define EXPORT_ALL(X)                                                                         \
    X(malloc) X(calloc) X(realloc) X(free) X(posix_memalign) X(aligned_alloc) X(memalign)       \
    X(valloc) X(pvalloc) X(malloc_usable_size) X(mallocx) X(rallocx) X(xallocx) X(sallocx)      \
    X(dallocx) X(sdallocx) X(nallocx) X(free_sized) X(free_aligned_sized)

#define PREFIXED(n) ALIAS(arenalloc_##n, al_##n)
EXPORT_ALL(PREFIXED)

#if ARENALLOC_EXPORT_UNPREFIXED
#define UNPREFIXED(n) ALIAS(n, al_##n)
EXPORT_ALL(UNPREFIXED)
/* glibc's internal names, so that code calling them directly is served by arenalloc too. */
ALIAS(__libc_malloc, al_malloc)
ALIAS(__libc_calloc, al_calloc)
ALIAS(__libc_realloc, al_realloc)
ALIAS(__libc_free, al_free)
ALIAS(__libc_memalign, al_memalign)
ALIAS(__libc_valloc, al_valloc)
ALIAS(__libc_pvalloc, al_pvalloc)
ALIAS(__posix_memalign, al_posix_memalign)
#endif
