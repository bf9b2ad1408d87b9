/*
 * internal.h -- the preamble every core .c file includes first.
 *
 * Owns: build-time configuration as typed constants (config_debug, config_stats), the page and
 * quantum geometry, branch hints and inlining markers, and the assertion levels. Build options
 * are constants rather than #ifdef blocks so that disabled code is still type-checked.
 */
#ifndef AL_INTERNAL_H
#define AL_INTERNAL_H

#define ARENALLOC_INTERNAL 1
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifndef ARENALLOC_DEBUG
#define ARENALLOC_DEBUG 0
#endif
#ifndef ARENALLOC_STATS
#define ARENALLOC_STATS 1
#endif
#ifndef ARENALLOC_EXPORT_UNPREFIXED
#define ARENALLOC_EXPORT_UNPREFIXED 0
#endif

static const bool config_debug = ARENALLOC_DEBUG;
static const bool config_stats = ARENALLOC_STATS;

#define LIKELY(x) __builtin_expect(!!(x), 1)
#define UNLIKELY(x) __builtin_expect(!!(x), 0)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#define NOINLINE __attribute__((noinline))
#define COLD __attribute__((cold, noinline))
#define HIDDEN __attribute__((visibility("hidden")))
#define EXPORT __attribute__((visibility("default")))
#define CACHE_ALIGNED __attribute__((aligned(CACHELINE)))

/* Geometry. The page size is a build-time constant (checked against the OS at boot). */
#define LG_PAGE 12
#define PAGE ((size_t)1 << LG_PAGE)
#define PAGE_MASK (PAGE - 1)
#define LG_QUANTUM 4
#define QUANTUM ((size_t)1 << LG_QUANTUM)
#define CACHELINE 64
/* Virtual address bits the radix tree covers (x86-64 / aarch64 user space with 4-level tables). */
#define LG_VADDR 48

#define PAGE_CEILING(s) (((s) + PAGE_MASK) & ~PAGE_MASK)
#define ALIGNMENT_CEILING(s, a) (((s) + ((a) - 1)) & ~((a) - 1))
#define IS_POW2(x) ((x) != 0 && ((x) & ((x) - 1)) == 0)

/* Assertion levels: al_assert is for cheap invariants checked in debug builds; the condition
 * is compiled (type-checked) in every build. al_not_reached marks impossible states. */
void al_assert_fail(const char *file, int line, const char *expr) COLD __attribute__((noreturn));
#define al_assert(e)                                                                            \
    do {                                                                                        \
        if (config_debug && UNLIKELY(!(e))) al_assert_fail(__FILE__, __LINE__, #e);             \
    } while (0)
#define al_not_reached() al_assert_fail(__FILE__, __LINE__, "unreachable")

/* Spin-wait hint for busy loops. */
#if defined(__x86_64__) || defined(__i386__)
#define CPU_SPINWAIT __builtin_ia32_pause()
#elif defined(__aarch64__)
#define CPU_SPINWAIT __asm__ volatile("yield")
#else
#define CPU_SPINWAIT ((void)0)
#endif

static inline unsigned lg_floor(size_t x) { return 63 - (unsigned)__builtin_clzll(x); }
static inline unsigned lg_ceil(size_t x) { return x <= 1 ? 0 : lg_floor(x - 1) + 1; }

#endif
