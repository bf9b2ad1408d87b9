/*
 * conf.h -- the configuration string (jemalloc's MALLOC_CONF): where it comes from, how it is
 * parsed, and every option it sets, with the variable that holds the value in force.
 *
 * Sources. Read once, at the start of malloc initialization, and applied in this order; when
 * several set the same key, the last one wins:
 *   #1  config_malloc_conf: baked in at build time -- the cargo environment variable
 *       ARENALLOC_MALLOC_CONF seen by build.rs becomes the C macro ARENALLOC_MALLOC_CONF
 *       (empty when unset); readable as the mallctl `config.malloc_conf`;
 *   #2  `const char *malloc_conf = "...";` defined by the program -- jemalloc's name, read only by
 *       the unprefixed build (libarenalloc.so, the Rust feature unprefixed_malloc);
 *   #3  `const char *arenalloc_malloc_conf = "...";` defined by the program, read by every build
 *       (a Rust program: `#[export_name = "arenalloc_malloc_conf"]`, see tests/baked_conf.rs);
 *   #4  the environment variable MALLOC_CONF, read by every build, prefixed or not: renamed
 *       variables (`_RJEM_MALLOC_CONF`) are what users of a prefixed jemalloc get wrong;
 *   #5  the environment variable ARENALLOC_MALLOC_CONF: an arenalloc-only override that beats a
 *       MALLOC_CONF shared with other programs or another allocator.
 * #2 and #3 are weak references: a program that defines the variable wins, one that does not
 * reads as NULL. From libarenalloc.so the program's definition is found by the dynamic linker
 * when the program links against the library (ld then exports the definition); a program that
 * only gets the library through LD_PRELOAD must export it itself (-rdynamic), as with jemalloc.
 * Environment variables are read with secure_getenv (ignored in set-user-ID programs).
 * jemalloc's /etc/malloc.conf symlink and malloc_conf_2_conf_harder are not read.
 *
 * Grammar (jemalloc's): `key:value[,key:value]*`; a key is [A-Za-z0-9_]+, a value runs to the
 * next ',' or the end. Booleans are exactly `true` / `false`. Integers are base 0 (0x hex,
 * leading 0 octal, else decimal) after optional blanks and a sign ('-' only for signed
 * options). Each problem prints one line through the message hook (msg.h, "<arenalloc>: "):
 *   Conf string ends with key: <key>             (the rest of that source is ignored)
 *   Malformed conf string: <text from the pair>  (a character outside the key alphabet; the rest
 *                                                 of that source is ignored)
 *   Conf string ends with comma: <key>:<value>,  (the pair itself is applied)
 *   Invalid conf pair: <key>:<value>             (unknown key -- the pair is skipped)
 *   Invalid conf value: <key>:<value>            (not a value of that key -- skipped)
 *   Out-of-range conf value: <key>:<value>       (outside the key's range -- skipped)
 * The first three messages start with jemalloc's exact text and add the offending text. Keys
 * jemalloc clips (max_background_threads, tcache_max, tcache_nslots_*, tcache_gc_incr_bytes,
 * lg_tcache_flush_*_div, lg_tcache_max) are clamped into range silently instead, as jemalloc
 * does. Pairs after a skipped one are still applied. After each source, if any problem was seen
 * so far (keys starting with "experimental_" excepted) and abort_conf is true, the process
 * aborts with
 * "Abort (abort_conf:true) on invalid conf value (see above)." -- so abort_conf:true must be set
 * in the same source as the error or an earlier one to catch it. A first pass over all sources
 * reads only confirm_conf; with it, the second pass echoes each source
 * ("malloc_conf #<n> (<where>): "<string>"") and each applied pair ("-- Set conf value: k:v").
 * Parsing never allocates and never uses stdio: it runs before the allocator exists.
 *
 * Options. Only those that take effect in arenalloc today are accepted; any other key
 * (prof*, dss, ...) is an "Invalid conf pair" until the feature lands. Defaults are jemalloc 5.3's. Each variable below holds the value in
 * force and is read-only once malloc is initialized (the mallctl `opt.<name>` keys read them).
 *
 * Each option's variable is opt_<key>, except that lg_tcache_max sets opt_tcache_max; junk also
 * sets opt_junk_alloc / opt_junk_free, zero_realloc also opt_zero_realloc_action, thp, metadata_thp
 * and percpu_arena also opt_<key>_mode.
 *
 *   key                        type          defined in  takes effect in
 *   abort                      bool          conf.c      api.c: a failed initialization aborts
 *   abort_conf                 bool          conf.c      conf.c: see above
 *   confirm_conf               bool          conf.c      conf.c: see above
 *   retain                     bool          ehooks.c    ehooks.c: default dalloc hook keeps maps
 *   thp                        const char *  ehooks.c    ehooks.c: default/always/never; advice on
 *                                                          new arena mappings; pac.c: 2 MiB growth
 *   metadata_thp               const char *  base.c      base.c: disabled/auto/always, metadata
 *                                                          chunks on huge pages (base.h)
 *   oversize_threshold         size_t        arena.c     api.c: above it, the huge arena (arena.h;
 *                                                          0..SC_LARGE_MAXCLASS, not clipped)
 *   percpu_arena               const char *  arena.c     arena.c, tsd.c: disabled/percpu/phycpu
 *   narenas                    unsigned      arena.c     arena.c: automatic arenas (0: 4 x CPUs)
 *   dirty_decay_ms             ssize_t       arena.c     arena.c: decay time of dirty pages of
 *   muzzy_decay_ms             ssize_t       arena.c       new arenas, and of muzzy pages
 *                                                          (-1 never, 0 at once; <= DECAY_MS_MAX)
 *   background_thread          bool          background.c  background.c: purge threads (default
 *                                                          on unless built with
 *                                                          ARENALLOC_BACKGROUND_THREAD_DEFAULT=0)
 *   max_background_threads     size_t        background.c  background.c: most purge threads
 *                                                          (clipped to 1 .. 64)
 *   tcache                     bool          tcache.c    tsd.c: threads start with a cache or not
 *   tcache_max, lg_tcache_max  size_t        tcache.c    tcache.c: largest cached class (<= 8 MiB)
 *   tcache_nslots_small_min    unsigned      tcache.c    tcache.c: small bin capacity =
 *   tcache_nslots_small_max    unsigned      tcache.c      nregs x 2^lg_tcache_nslots_mul,
 *   lg_tcache_nslots_mul       ssize_t       tcache.c      clamped to [min, max]
 *   tcache_nslots_large        unsigned      tcache.c    tcache.c: large bin capacity
 *   tcache_gc_incr_bytes       size_t        tcache.c    tsd.c: bytes between two GC steps
 *   lg_tcache_flush_small_div  unsigned      tcache.c    tcache.c: a full bin keeps capacity >>
 *   lg_tcache_flush_large_div  unsigned      tcache.c      div items, flushes the rest
 *   junk                       const char *  conf.c      api.c: fill 0xa5 / 0x5a (see below)
 *   zero                       bool          conf.c      api.c: every allocation zeroed
 *   xmalloc                    bool          conf.c      api.c: abort instead of failing
 *   zero_realloc               const char *  conf.c      api.c: realloc(p, 0) free/alloc/abort
 *   stats_print                bool          conf.c      api.c: print statistics at exit
 *   stats_print_opts           const char *  conf.c      the report's options (Jgmdablxeh)
 *
 * junk and zero, exactly: every allocation and deallocation slow path honours them in every
 * build. The fast paths (a cache-bin pop or push, api.c) test them only in the debug build.
 * In other builds an allocation that must be filled still is: opt_zero or opt_junk_alloc sets
 * tsd_event_per_alloc, which makes every fast-path allocation run the event hook, where it is
 * filled -- so zero:true and junk:alloc are exact in every build, at the cost of one call per
 * allocation, and cost nothing when off. A free that lands in the thread cache on the fast path
 * is junk-filled only in the debug build: junk:free (and the free half of junk:true) covers
 * only frees that take the slow path (full cache bin, large classes above tcache_max, no cache)
 * in non-debug builds.
 */
#ifndef AL_CONF_H
#define AL_CONF_H

#include "arena.h"
#include "background.h"
#include "base.h"
#include "ehooks.h"
#include "tcache.h"
#include "tsd.h"

/* ---- the sources ---- */

typedef enum {
    CONF_SRC_BAKED,         /* #1 config_malloc_conf */
    CONF_SRC_SYMBOL_PLAIN,  /* #2 malloc_conf (unprefixed build only) */
    CONF_SRC_SYMBOL,        /* #3 arenalloc_malloc_conf */
    CONF_SRC_ENV,           /* #4 MALLOC_CONF */
    CONF_SRC_ENV_ARENALLOC, /* #5 ARENALLOC_MALLOC_CONF */
    CONF_NSOURCES
} conf_source_t;

/* The string baked in at build time ("" if none): the mallctl `config.malloc_conf`. */
extern const char *const config_malloc_conf;

/* Reads every source and applies it. Idempotent: only the first call does anything. Called by
 * malloc initialization before anything that reads an option. May abort (abort_conf). */
void conf_boot(void);
/* The work of conf_boot on explicit source strings (NULL: source absent), in conf_source_t
 * order. For tests: options are applied on top of their current values. */
void conf_init_sources(const char *const srcs[CONF_NSOURCES]);

/* ---- options defined here (the others are declared by the headers above) ---- */

extern bool opt_abort;        /* default: true in the debug build, else false */
extern bool opt_abort_conf;   /* default: true in the debug build, else false */
extern bool opt_confirm_conf; /* default: false */

extern const char *opt_junk;  /* "true", "false", "alloc" or "free"; default "true" in debug */
extern bool opt_junk_alloc;   /* fill new allocations with 0xa5 (junk: true or alloc) */
extern bool opt_junk_free;    /* fill freed memory with 0x5a (junk: true or free) */
extern bool opt_zero;         /* default: false */
extern bool opt_xmalloc;      /* default: false; config.xmalloc is always true in arenalloc */

typedef enum {
    ZERO_REALLOC_FREE,  /* realloc(p, 0) frees p and returns NULL (jemalloc's default on Linux) */
    ZERO_REALLOC_ALLOC, /* realloc(p, 0) is realloc(p, 1), bypassing the thread cache */
    ZERO_REALLOC_ABORT  /* realloc(p, 0) aborts with a message */
} zero_realloc_action_t;
extern const char *opt_zero_realloc; /* "free", "alloc" or "abort" */
extern zero_realloc_action_t opt_zero_realloc_action;

extern bool opt_stats_print;
/* The stats_print_opts characters in force, a subset of "Jgmdablxeh" in the order given (unknown
 * and repeated characters dropped, as jemalloc does); each occurrence of the key replaces it. */
#define CONF_STATS_PRINT_OPTS "Jgmdablxeh"
extern char opt_stats_print_opts[sizeof(CONF_STATS_PRINT_OPTS)];

#endif
