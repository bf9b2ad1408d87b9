/*
 * api.c -- the public entry points: fast paths composed inline from tsd, sz, emap and
 * cache_bin; one slow path each for allocation and deallocation; lazy initialization; fork
 * handlers; and the exported names.
 *
 * Call tree:
 *   malloc(size)
 *     size <= 4 KiB, cache bin not empty -> pop, count the bytes             (fast)
 *       countdown went negative -> alloc_events (GC step) and return the popped object
 *     else alloc_slow(size, 0, "malloc()")
 *       init if needed -> tsd_fetch -> class of (size, alignment)
 *       percpu_arena: rebind to the CPU's arena (tsd_percpu_update)
 *       arena: MALLOCX_ARENA's (NULL/ENOMEM if it does not exist), else the huge arena above
 *       oversize_threshold for a thread on an automatic arena (arena.h), else the thread's
 *       cache: MALLOCX_TCACHE(k)'s explicit cache (rebound to that arena if it differs:
 *       tcache.h), else the thread's -- never with MALLOCX_ARENA, so an object always comes
 *       from the arena asked for, nor with MALLOCX_TCACHE_NONE
 *       cacheable class, a cache, not huge -> tcache_alloc_hard (fill on a miss)
 *       else arena_malloc (bin for small, large extent otherwise)
 *       decay tick (every ARENA_DECAY_NTICKS slow-path events: tsd.h); count the bytes; run
 *       due events (tcache GC)
 *   free(ptr)
 *     emap entry -> class; cached class and cache bin not full -> push              (fast)
 *     else dalloc_slow(ptr, "free()")
 *       validate (unknown pointer -> fatal, naming the call) -> tcache_dalloc_hard into the
 *       thread's or MALLOCX_TCACHE(k)'s cache (flush half on overflow), or arena_dalloc (which
 *       purges at once with dirty_decay_ms 0);
 *       decay tick
 *   sdallocx(ptr, size, 0): as free, with the class taken from size: no emap lookup.
 *
 * Errors: allocation failure returns NULL with errno ENOMEM and changes nothing (with
 * opt.xmalloc it aborts with "<arenalloc>: Error in <call>: out of memory"); a pointer the
 * extent map does not know aborts with "<arenalloc>: <call>: invalid pointer 0x...".
 *
 * Options (conf.h) are parsed first thing in malloc_init_hard. Where they act here: junk and
 * zero filling (fast paths only in the debug build; otherwise alloc_events, which every
 * allocation reaches when tsd_event_per_alloc is set), xmalloc (oom), zero_realloc (realloc),
 * abort (failed initialization), stats_print (atexit).
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>

#include "arena.h"
#include "background.h"
#include "base.h"
#include "cache_bin.h"
#include "conf.h"
#include "ctl.h"
#include "emap.h"
#include "msg.h"
#include "platform.h"
#include "stats.h"
#include "stats_print.h"
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

/* ---- junk and zero filling (opt.junk, opt.zero; conf.h says exactly where they apply) ---- */

#define JUNK_ALLOC 0xa5
#define JUNK_FREE 0x5a

/* On the fast paths: compiled out unless config_debug. */
static ALWAYS_INLINE void fast_junk(void *ptr, size_t usize, bool enabled, int byte) {
    if (config_debug && enabled) memset(ptr, byte, usize);
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

void al_malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque,
                           const char *opts);

/* stats_print:true -- the report at exit, with opt.stats_print_opts. */
static void stats_print_atexit(void) { al_malloc_stats_print(NULL, NULL, opt_stats_print_opts); }

/* What background.h needs of the arena table (it sits below the arena module). */
static pac_t *background_pac(unsigned ind) {
    arena_t *a = arena_get(ind, false);
    return a != NULL ? &a->pac : NULL;
}
static unsigned background_narenas(void) { return arena_narenas(); }

static COLD bool malloc_init_hard(void) {
    if (initializing_here) return false; /* reentrant call from a libc function we called */
    pthread_mutex_lock(&init_lock);
    if (__atomic_load_n(&malloc_initialized, __ATOMIC_ACQUIRE)) {
        pthread_mutex_unlock(&init_lock);
        return false;
    }
    initializing_here = true;
    conf_boot(); /* first: everything below may read an option */
    /* Fills the non-debug fast paths skip must see every allocation (conf.h, "junk and zero"). */
    tsd_event_per_alloc = opt_zero || (!config_debug && opt_junk_alloc);
    bool err = platform_boot();
    if (err) al_printf("unsupported page size (built for %zu bytes)\n", PAGE);
    if (!err) err = base_boot() || arena_boot() || tcache_boot() || tsd_boot();
    if (!err) err = background_boot(background_pac, background_narenas);
    /* Last: atexit may allocate, which re-enters here and finds the rest booted. */
    if (!err && opt_stats_print && atexit(stats_print_atexit) != 0) {
        al_printf("Error in atexit()\n"); /* no report at exit, but the allocator works */
        if (opt_abort) abort();
    }
    if (err && opt_abort) al_fatal("initialization failed (abort:true)\n");
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

/* Whether the last prefork took every allocator lock (the allocator was booted by then). */
static bool fork_locked_all;

static void prefork(void) {
    pthread_mutex_lock(&init_lock); /* waits out an initialization in progress */
    fork_locked_all = __atomic_load_n(&malloc_initialized, __ATOMIC_ACQUIRE);
    if (!fork_locked_all) return;
    ctl_prefork();
    background_prefork();
    tcache_prefork0();
    arena_prefork();
    tsd_prefork();
    tcache_prefork1();
    base_prefork();
}

static void postfork_parent(void) {
    if (fork_locked_all) {
        base_postfork_parent();
        tcache_postfork_parent();
        tsd_postfork_parent();
        arena_postfork_parent();
        background_postfork_parent();
        ctl_postfork_parent();
    }
    pthread_mutex_unlock(&init_lock);
}

static void postfork_child(void) {
    if (fork_locked_all) {
        base_postfork_child();
        tcache_postfork_child();
        arena_postfork_child();
        tsd_postfork_child();
        background_postfork_child();
        ctl_postfork_child();
    }
    pthread_mutex_init(&init_lock, NULL);
}

/*
 * The fork handlers are registered at load time, before main and before any thread exists, so
 * a fork can never catch the one-time initialization half done: prefork waits for it on
 * init_lock. (Initialization itself stays lazy, so MALLOC_CONF set before the first allocation
 * counts.)
 */
__attribute__((constructor)) static void arenalloc_constructor(void) {
    if (pthread_atfork(prefork, postfork_parent, postfork_child) != 0) {
        al_printf("Error in pthread_atfork()\n");
        if (opt_abort) abort();
    }
}

/* ---- slow paths ---- */

/* Starts a purge thread that a free asked for (background.h), unless called from inside the
 * allocator: one relaxed load when none is pending. */
static inline void background_poll_from(const tsd_t *tsd) {
    if (tsd->reentrancy == 0) background_poll();
}

/* Allocation failure in call `who`: NULL and ENOMEM, or the end with opt.xmalloc. (The init
 * makes sure the options are read when the process's first call fails before initializing.) */
static COLD void *oom(const char *who) {
    if (!malloc_init() && opt_xmalloc) al_fatal("Error in %s: out of memory\n", who);
    errno = ENOMEM;
    return NULL;
}

static NOINLINE void *alloc_slow(size_t size, int flags, const char *who) {
    if (UNLIKELY(malloc_init())) return oom(who);
    tsd_t *tsd = tsd_fetch();
    if (size == 0) size = 1;
    size_t alignment = flags_alignment(flags);
    size_t usize = usize_of(size, alignment);
    if (UNLIKELY(usize == 0)) return oom(who);
    szind_t ind = sz_size2index(usize);
    bool zero = (flags & MALLOCX_ZERO) != 0 || opt_zero;

    if (UNLIKELY(opt_percpu_arena_mode != PERCPU_DISABLED)) tsd_percpu_update(tsd);
    arena_t *arena = tsd_arena(tsd);
    unsigned arena_bits = FLAGS_ARENA(flags), tcache_bits = FLAGS_TCACHE(flags);
    if (arena_bits != 0) { /* MALLOCX_ARENA: that arena only, NULL if it does not exist */
        arena = arena_get(arena_bits - 1, true);
        if (UNLIKELY(arena == NULL)) return oom(who);
    }
    tcache_t *tcache = NULL;
    if (tcache_bits >= 2) { /* MALLOCX_TCACHE(k): explicit cache k (tcache.h) */
        tcache = tcache_explicit_get(tcache_bits - 2);
        if (UNLIKELY(tcache == NULL)) return oom(who); /* unknown or destroyed cache */
        if (tcache->arena != arena) tcache_explicit_rebind(tcache, arena);
    } else if (tcache_bits == 0 && arena_bits == 0 && tsd_tcache_usable(tsd)) {
        tcache = &tsd->tcache; /* explicit arenas never take the thread's cache (arena.h) */
    }
    if (arena_bits == 0 && UNLIKELY(usize > arena_oversize_limit) && arena->ind < narenas_auto) {
        /* oversize_threshold (arena.h); if the huge arena cannot be created, the thread's own */
        arena_t *h = arena_huge();
        if (LIKELY(h != NULL)) {
            arena = h;
            tcache = NULL;
        }
    }
    void *ret;
    if (tcache != NULL && tcache->slots != NULL && ind < tcache_nbins && alignment <= PAGE) {
        ret = tcache_alloc_hard(tcache, ind, usize);
        if (ret != NULL && zero) memset(ret, 0, usize);
    } else {
        ret = arena_malloc(arena, ind, usize, alignment, zero);
    }
    if (UNLIKELY(ret == NULL)) return oom(who);
    if (!zero && opt_junk_alloc) memset(ret, JUNK_ALLOC, usize);
    tsd_decay_tick(tsd, arena);
    background_poll_from(tsd);
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
    if (UNLIKELY(ind >= SC_NBINS && ptr != e->addr)) al_fatal("%s: invalid pointer %p\n", who, ptr);
    if (opt_junk_free) memset(ptr, JUNK_FREE, usize);
    if (UNLIKELY(opt_percpu_arena_mode != PERCPU_DISABLED)) tsd_percpu_update(tsd);
    unsigned tcache_bits = FLAGS_TCACHE(flags);
    /* MALLOCX_TCACHE(k): explicit cache k; an unknown one sends the object straight to its
     * arena (nothing is lost). */
    tcache_t *explicit = tcache_bits >= 2 ? tcache_explicit_get(tcache_bits - 2) : NULL;
    if (tcache_bits == 0 && tsd_tcache_usable(tsd) && ind < tcache_nbins) {
        bool flushed = tcache_dalloc_hard(&tsd->tcache, ind, ptr, who);
        if (config_stats && flushed) tsd_deallocated_refresh_bin(tsd, ind); /* see tsd.h */
    } else if (explicit != NULL && explicit->slots != NULL && ind < tcache_nbins) {
        tcache_dalloc_hard(explicit, ind, ptr, who);
        tsd->thread_deallocated_slow += usize;
    } else {
        arena_dalloc(e, ptr, ind, who);
        tsd->thread_deallocated_slow += usize;
    }
    tsd_decay_tick(tsd, arena_of(e));
    background_poll_from(tsd);
}

/* ---- fast paths ---- */

/*
 * The countdown ran out on the fast path: fill ret if an option wants every allocation filled
 * (the reason tsd_event_per_alloc is set: zero, or junk outside the debug build), run the
 * events, then hand out ret.
 */
static NOINLINE void *alloc_events(void *ret, size_t usize) {
    tsd_t *tsd = tsd_get(); /* fetched again: one argument register less on the fast path */
    if (tsd_event_per_alloc) {
        if (opt_zero) memset(ret, 0, usize);
        else if (!config_debug && opt_junk_alloc) memset(ret, JUNK_ALLOC, usize);
    }
    tsd_events(tsd);
    return ret;
}

/* The tail of an allocation popped from a cache bin: count it, run the events that are due. */
static ALWAYS_INLINE void *alloc_popped(tsd_t *tsd, void *ret, size_t usize) {
    fast_junk(ret, usize, opt_junk_alloc, JUNK_ALLOC);
    tsd->thread_allocated += usize;
    if (UNLIKELY((tsd->event_countdown -= (int64_t)usize) < 0)) {
        return alloc_events(ret, usize);
    }
    return ret;
}

static ALWAYS_INLINE void *malloc_fast(size_t size, const char *who) {
    if (UNLIKELY(size > SC_LOOKUP_MAXCLASS)) return alloc_slow(size, 0, who);
    tsd_t *tsd = tsd_get();
    cache_bin_t *bin = &tsd->tcache.bins[sz_size2index_lookup(size)];
    void *ret;
    if (UNLIKELY(!cache_bin_pop(bin, &ret))) return alloc_slow(size, 0, who);
    return alloc_popped(tsd, ret, bin->usize);
}

/* Push ptr of small class ind into this thread's cache; false if the slow path must run
 * (cache full, or not set up: bins of an uninitialized thread refuse). */
static ALWAYS_INLINE bool dalloc_push(szind_t ind, void *ptr, const char *who) {
    tsd_t *tsd = tsd_get();
    cache_bin_t *bin = &tsd->tcache.bins[ind];
    debug_check_not_cached(tsd, ind, ptr, who);
    if (config_debug) {
        if (bin->head == NULL) return false; /* let the slow path validate and set up */
        fast_junk(ptr, sz_index2size(ind), opt_junk_free, JUNK_FREE);
    }
    return cache_bin_push(bin, ptr);
}

static ALWAYS_INLINE void free_fast(void *ptr, const char *who) {
    emap_entry_t entry = emap_lookup(ptr);
    szind_t ind = emap_entry_szind1(entry) - 1; /* wraps for unknown pointers and NULL */
    if (LIKELY(ind < SC_NBINS)) {
        if (LIKELY(dalloc_push(ind, ptr, who))) return;
    } else if (ind < TCACHE_NBINS_MAX && ((uintptr_t)ptr & PAGE_MASK) == 0) {
        /* A cached large class: only an extent's first page maps to it, so a page-aligned
         * pointer is the extent's start (anything else is invalid: the slow path says so). */
        if (LIKELY(dalloc_push(ind, ptr, who))) return;
    }
    dalloc_slow(ptr, 0, who);
}

/*
 * Explicit caches (MALLOCX_TCACHE(k)) get fast paths of their own: the explicit cache the flags
 * name, if they ask for nothing its bins cannot give -- no alignment, no zeroing -- or NULL (the
 * slow path then serves the call: fills, rebinding, validation). Frees ignore MALLOCX_ARENA.
 */
#define FLAGS_ARENA_MASK ((int)(0xfffu << 20))
static ALWAYS_INLINE tcache_t *explicit_cache_of(int flags) {
    unsigned tc = FLAGS_TCACHE(flags);
    if (tc < 2 || (flags & (0x3f | MALLOCX_ZERO)) != 0) return NULL;
    return tcache_explicit_get(tc - 2);
}

/* Push ptr of class ind into explicit cache t; false if the slow path must run (bin full, the
 * thread not set up, or a debug build, which validates every free there). */
static ALWAYS_INLINE bool explicit_push(tcache_t *t, szind_t ind, void *ptr) {
    tsd_t *tsd = tsd_get();
    if (config_debug || tsd->state != TSD_NOMINAL) return false;
    cache_bin_t *bin = &t->bins[ind];
    if (!cache_bin_push(bin, ptr)) return false;
    tsd->thread_deallocated_slow += bin->usize; /* the thread's counter (tsd.h): not in its bins */
    return true;
}

/* sdallocx with flags: an explicit cache's push, else the slow path. Out of line, so that the
 * flag-less fast path stays as small as it was. */
static NOINLINE void sdalloc_flags(void *ptr, size_t size, int flags, const char *who) {
    if (size <= SC_LOOKUP_MAXCLASS) {
        tcache_t *t = explicit_cache_of(flags & ~FLAGS_ARENA_MASK); /* frees ignore the arena */
        if (t != NULL && explicit_push(t, sz_size2index_lookup(size), ptr)) return;
    }
    dalloc_slow(ptr, flags, who);
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
        dalloc_slow(ptr, flags, who);
        return;
    }
    sdalloc_flags(ptr, size, flags, who);
}

/* ---- resizing ---- */

static void *ralloc_move(void *ptr, size_t old_usize, size_t size, int flags, const char *who) {
    void *ret = alloc_slow(size, flags, who);
    if (ret == NULL) return NULL;
    memcpy(ret, ptr, old_usize < size ? old_usize : size);
    dalloc_slow(ptr, flags & ~(MALLOCX_ZERO | 0x3f), who);
    return ret;
}

/* Resizes the large allocation ptr (extent e) to usize in place; the bytes it gains are zeroed
 * or junk-filled as a new allocation's would be. True on failure (nothing changed). */
static bool ralloc_large_in_place(edata_t *e, void *ptr, size_t old_usize, size_t usize,
                                  int flags) {
    bool zero = (flags & MALLOCX_ZERO) != 0 || opt_zero;
    if (arena_ralloc_large_in_place(e, sz_size2index(usize), usize, zero)) return true;
    if (!zero && opt_junk_alloc && usize > old_usize) {
        memset((char *)ptr + old_usize, JUNK_ALLOC, usize - old_usize);
    }
    return false;
}

static void *ralloc_generic(void *ptr, size_t size, int flags, const char *who) {
    emap_entry_t entry = lookup_owned(ptr, who);
    szind_t old_ind = emap_entry_szind1(entry) - 1;
    size_t old_usize = sz_index2size(old_ind);
    edata_t *e = emap_entry_edata(entry);
    if (size == 0) size = 1;
    size_t alignment = flags_alignment(flags);
    size_t usize = usize_of(size, alignment);
    if (UNLIKELY(usize == 0)) return oom(who);
    bool aligned = alignment == 0 || ((uintptr_t)ptr & (alignment - 1)) == 0;
    if (usize == old_usize && aligned) return ptr;
    if (old_ind >= SC_NBINS && usize >= SC_LARGE_MINCLASS && aligned) {
        if (UNLIKELY(ptr != e->addr)) al_fatal("%s: invalid pointer %p\n", who, ptr);
        if (!ralloc_large_in_place(e, ptr, old_usize, usize, flags)) {
            tsd_t *tsd = tsd_fetch();
            tsd->thread_allocated += usize;
            tsd->thread_deallocated_slow += old_usize;
            return ptr;
        }
    }
    return ralloc_move(ptr, old_usize, size, flags, who);
}

/* ---- the API ---- */

void *al_malloc(size_t size) { return malloc_fast(size, "malloc()"); }

void al_free(void *ptr) { free_fast(ptr, "free()"); }

void *al_calloc(size_t num, size_t size) {
    size_t total;
    if (UNLIKELY(__builtin_mul_overflow(num, size, &total))) return oom("calloc()");
    if (LIKELY(total <= SC_LOOKUP_MAXCLASS)) {
        void *ret = malloc_fast(total, "calloc()");
        if (ret != NULL) memset(ret, 0, total);
        return ret;
    }
    return alloc_slow(total, MALLOCX_ZERO, "calloc()");
}

/* realloc(ptr, 0) with opt.zero_realloc alloc or abort. */
static COLD void *realloc_zero(void *ptr) {
    if (opt_zero_realloc_action == ZERO_REALLOC_ABORT) {
        al_fatal("realloc(): size 0 with zero_realloc:abort (pointer %p)\n", ptr);
    }
    /* alloc: realloc(ptr, 1), past the thread cache for a true first fit (as jemalloc). */
    return ralloc_generic(ptr, 1, MALLOCX_TCACHE_NONE, "realloc()");
}

void *al_realloc(void *ptr, size_t size) {
    if (ptr == NULL) return malloc_fast(size, "realloc()");
    if (size == 0) {
        stats_zero_realloc_count();
        if (UNLIKELY(opt_zero_realloc_action != ZERO_REALLOC_FREE)) return realloc_zero(ptr);
        free_fast(ptr, "realloc()"); /* zero_realloc:free, jemalloc's default on Linux */
        return NULL;
    }
    if (UNLIKELY(malloc_init())) return oom("realloc()");
    return ralloc_generic(ptr, size, 0, "realloc()");
}

/* An alignment the call rejects: EINVAL, or the end with opt.xmalloc. */
static COLD int bad_alignment(const char *who) {
    if (!malloc_init() && opt_xmalloc) al_fatal("Error in %s: invalid alignment\n", who);
    return EINVAL;
}

static int memalign_common(void **memptr, size_t alignment, size_t size, const char *who) {
    void *ret = alloc_slow(size, MALLOCX_LG_ALIGN(lg_floor(alignment)), who);
    if (ret == NULL) return ENOMEM;
    *memptr = ret;
    return 0;
}

int al_posix_memalign(void **memptr, size_t alignment, size_t size) {
    if (UNLIKELY(!IS_POW2(alignment) || alignment < sizeof(void *))) {
        return bad_alignment("posix_memalign()");
    }
    int saved = errno, err = memalign_common(memptr, alignment, size, "posix_memalign()");
    errno = saved; /* posix_memalign reports through its return value only */
    return err;
}

static void *aligned_alloc_common(size_t alignment, size_t size, const char *who) {
    if (UNLIKELY(!IS_POW2(alignment))) {
        errno = bad_alignment(who);
        return NULL;
    }
    void *ret;
    int err = memalign_common(&ret, alignment, size, who);
    if (err) {
        errno = err;
        return NULL;
    }
    return ret;
}

void *al_aligned_alloc(size_t alignment, size_t size) {
    return aligned_alloc_common(alignment, size, "aligned_alloc()");
}

void *al_memalign(size_t alignment, size_t size) {
    return aligned_alloc_common(alignment, size, "memalign()");
}

void *al_valloc(size_t size) { return aligned_alloc_common(PAGE, size, "valloc()"); }

void *al_pvalloc(size_t size) {
    size_t rounded = PAGE_CEILING(size ? size : 1);
    if (rounded < size) return oom("pvalloc()");
    return aligned_alloc_common(PAGE, rounded, "pvalloc()");
}

size_t al_malloc_usable_size(const void *ptr) {
    if (ptr == NULL) return 0;
    return sz_index2size(emap_entry_szind1(lookup_owned(ptr, "malloc_usable_size()")) - 1);
}

/* mallocx with flags: an explicit cache's pop, else the slow path (out of line: see
 * sdalloc_flags). */
static NOINLINE void *mallocx_flags(size_t size, int flags) {
    tcache_t *t;
    if (size <= SC_LOOKUP_MAXCLASS && (t = explicit_cache_of(flags)) != NULL) {
        tsd_t *tsd = tsd_get();
        /* The arena asked for (MALLOCX_ARENA's, else the thread's) must be the cache's. */
        unsigned arena_bits = FLAGS_ARENA(flags);
        unsigned want = arena_bits != 0 ? arena_bits - 1 : tsd_arena(tsd)->ind;
        cache_bin_t *bin = &t->bins[sz_size2index_lookup(size)];
        void *ret;
        if (tsd->state == TSD_NOMINAL && t->arena->ind == want && cache_bin_pop(bin, &ret)) {
            return alloc_popped(tsd, ret, bin->usize);
        }
    }
    return alloc_slow(size, flags, "mallocx()");
}

void *al_mallocx(size_t size, int flags) {
    if (LIKELY(flags == 0)) return malloc_fast(size, "mallocx()");
    return mallocx_flags(size, flags);
}

void *al_rallocx(void *ptr, size_t size, int flags) {
    if (UNLIKELY(malloc_init())) return oom("rallocx()");
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
        if (!ralloc_large_in_place(e, ptr, old_usize, usize, flags)) {
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
    if (LIKELY(flags == 0)) {
        free_fast(ptr, "dallocx()");
        return;
    }
    tcache_t *t = explicit_cache_of(flags & ~FLAGS_ARENA_MASK); /* frees ignore the arena */
    if (t != NULL) {
        szind_t ind = emap_entry_szind1(emap_lookup(ptr)) - 1; /* wraps for unknown pointers */
        if (ind < SC_NBINS && explicit_push(t, ind, ptr)) return;
    }
    dalloc_slow(ptr, flags, "dallocx()");
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

/* ---- mallctl (ctl.h): the allocator is initialized first, as jemalloc does ---- */

int al_mallctl(const char *name, void *oldp, size_t *oldlenp, void *newp, size_t newlen) {
    if (UNLIKELY(malloc_init())) return EAGAIN;
    return ctl_byname(name, oldp, oldlenp, newp, newlen);
}

int al_mallctlnametomib(const char *name, size_t *mibp, size_t *miblenp) {
    if (UNLIKELY(malloc_init())) return EAGAIN;
    return ctl_nametomib(name, mibp, miblenp);
}

int al_mallctlbymib(const size_t *mib, size_t miblen, void *oldp, size_t *oldlenp, void *newp,
                    size_t newlen) {
    if (UNLIKELY(malloc_init())) return EAGAIN;
    return ctl_bymib(mib, miblen, oldp, oldlenp, newp, newlen);
}

/* ---- malloc_stats_print (stats_print.h) ---- */

void al_malloc_stats_print(void (*write_cb)(void *, const char *), void *cbopaque,
                           const char *opts) {
    if (UNLIKELY(malloc_init())) return;
    stats_print(write_cb, cbopaque, opts);
}

/* ---- exported names ---- */

#define ALIAS(name, target) \
    extern __typeof(target) name __attribute__((alias(#target), visibility("default")));

#define EXPORT_ALL(X)                                                                         \
    X(malloc) X(calloc) X(realloc) X(free) X(posix_memalign) X(aligned_alloc) X(memalign)       \
    X(valloc) X(pvalloc) X(malloc_usable_size) X(mallocx) X(rallocx) X(xallocx) X(sallocx)      \
    X(dallocx) X(sdallocx) X(nallocx) X(free_sized) X(free_aligned_sized) X(mallctl)            \
    X(mallctlnametomib) X(mallctlbymib) X(malloc_stats_print)

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
