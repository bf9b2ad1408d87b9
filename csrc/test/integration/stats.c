/*
 * The statistics snapshot (`epoch`, `stats.*`, `stats.arenas.<i>.*`):
 *   - stats.allocated is exactly the sum of the usable sizes of the live allocations, whatever
 *     API made them and whether or not freed objects sit in a thread cache; after freeing them
 *     and advancing the epoch it is back where it was; threads that exit leave nothing behind;
 *   - allocated <= active <= resident <= mapped at every snapshot, and active is a page multiple;
 *   - the merged view (MALLCTL_ARENAS_ALL = 4096) is the sum of the arenas, field by field
 *     (every field of stats_fields.def; uptime is arena 0's);
 *   - the totals agree with the parts (small/large = sum of bins/lextents; allocated = merged
 *     small + large - tcache_bytes; active = merged pactive pages);
 *   - per-class counters move as allocations are made; stats.zero_reallocs counts realloc(p, 0);
 *   - a snapshot only changes when the epoch advances.
 */
#include "arenalloc.h"
#include "test.h"
#include "ctl_read.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

/* Reads a key of any of the scalar types as a uint64_t (by its size). */
static uint64_t read_any(const char *name, int *err) {
    unsigned char buf[8] = {0};
    size_t sz = sizeof(buf);
    int r = mallctl(name, buf, &sz, NULL, 0);
    if (r == EINVAL) r = mallctl(name, buf, &sz, NULL, 0); /* sz now the key's size */
    *err = r;
    if (sz == 8) {
        uint64_t v;
        memcpy(&v, buf, 8);
        return v;
    }
    if (sz == 4) {
        uint32_t v;
        memcpy(&v, buf, 4);
        return v;
    }
    return buf[0];
}

typedef struct {
    size_t allocated, active, metadata, resident, mapped, retained;
} totals_t;

static totals_t totals(void) {
    epoch_advance();
    totals_t t = {read_size("stats.allocated"), read_size("stats.active"),
                  read_size("stats.metadata"),  read_size("stats.resident"),
                  read_size("stats.mapped"),    read_size("stats.retained")};
    expect_zu_le(t.allocated, t.active, "allocated <= active");
    expect_zu_le(t.active, t.resident, "active <= resident");
    expect_zu_le(t.resident, t.mapped, "resident <= mapped");
    expect_zu_eq(t.active % 4096, 0, "active is whole pages");
    expect_zu_gt(t.metadata, 0, "");
    return t;
}

/* ---- exactness ---- */

typedef struct {
    void *p;
    int how; /* how to free: 0 free, 1 sdallocx, 2 dallocx TCACHE_NONE */
    size_t size;
} obj_t;

enum { NOBJ = 600 };
static obj_t objs[NOBJ];

static size_t allocate_known_set(test_prng_t *prng) {
    size_t sum = 0;
    for (unsigned k = 0; k < NOBJ; k++) {
        size_t size;
        switch (k % 6) {
        case 0: size = 1 + test_prng_range(prng, 128); break;
        case 1: size = 1 + test_prng_range(prng, 4096); break;
        case 2: size = 4097 + test_prng_range(prng, 14336 - 4096); break;
        case 3: size = 14337 + test_prng_range(prng, 32768 - 14336); break; /* cached large */
        case 4: size = 32769 + test_prng_range(prng, 300000); break;        /* uncached large */
        default: size = 1 + test_prng_range(prng, 70000); break;
        }
        void *p;
        int how = 0;
        switch (k % 5) {
        case 0: p = arenalloc_malloc(size); break;
        case 1: p = arenalloc_calloc(1, size); break;
        case 2:
            p = arenalloc_mallocx(size, MALLOCX_ALIGN(64));
            how = 1;
            break;
        case 3:
            p = arenalloc_mallocx(size, MALLOCX_TCACHE_NONE);
            how = 2;
            break;
        default: {
            /* Grown and shrunk by realloc: only the final size counts. */
            p = arenalloc_malloc(size / 2 + 1);
            if (p != NULL) p = arenalloc_realloc(p, size * 2);
            if (p != NULL) p = arenalloc_realloc(p, size);
            break;
        }
        }
        assert_ptr_not_null(p, "object %u of %zu bytes", k, size);
        objs[k] = (obj_t){p, how, size};
        sum += arenalloc_malloc_usable_size(p);
    }
    return sum;
}

static void free_known_set(void) {
    for (unsigned k = 0; k < NOBJ; k++) {
        switch (objs[k].how) {
        case 1: arenalloc_sdallocx(objs[k].p, objs[k].size, MALLOCX_ALIGN(64)); break;
        case 2: arenalloc_dallocx(objs[k].p, MALLOCX_TCACHE_NONE); break;
        default: arenalloc_free(objs[k].p); break;
        }
    }
}

TEST_BEGIN(test_allocated_exact) {
    test_prng_t prng;
    test_prng_init(&prng, test_seed());
    for (unsigned round = 0; round < 4; round++) {
        totals_t base = totals();
        size_t sum = allocate_known_set(&prng);
        totals_t mid = totals();
        expect_zu_eq(mid.allocated - base.allocated, sum,
                     "round %u: allocated grew by the usable sizes allocated", round);
        free_known_set();
        totals_t after = totals();
        expect_zu_eq(after.allocated, base.allocated, "round %u: back to the baseline", round);
        /* And once more with everything flushed out of the cache: still the same. */
        expect_d_eq(mallctl("thread.tcache.flush", NULL, NULL, NULL, 0), 0, "");
        expect_zu_eq(totals().allocated, base.allocated, "round %u: after a flush", round);
    }
}
TEST_END

TEST_BEGIN(test_allocated_without_cache) {
    bool off = false, on = true;
    totals_t base = totals();
    void *p = arenalloc_malloc(100), *q = arenalloc_malloc(50000);
    size_t sum = arenalloc_malloc_usable_size(p) + arenalloc_malloc_usable_size(q);
    expect_d_eq(mallctl("thread.tcache.enabled", NULL, NULL, &off, sizeof(off)), 0, "");
    expect_zu_eq(totals().allocated - base.allocated, sum, "disabling flushed the cache");
    void *r = arenalloc_malloc(3000);
    expect_zu_eq(totals().allocated - base.allocated, sum + arenalloc_malloc_usable_size(r), "");
    arenalloc_free(p);
    arenalloc_free(q);
    arenalloc_free(r);
    expect_zu_eq(totals().allocated, base.allocated, "");
    expect_d_eq(mallctl("thread.tcache.enabled", NULL, NULL, &on, sizeof(on)), 0, "");
    expect_zu_eq(totals().allocated, base.allocated, "");
}
TEST_END

typedef struct {
    unsigned id;
    void *keep[32]; /* left for the main thread to free */
    size_t kept;
} thr_arg_t;

static void *worker(void *varg) {
    thr_arg_t *arg = varg;
    test_prng_t prng;
    test_prng_init(&prng, test_seed() ^ (arg->id * 0x9e3779b97f4a7c15ull));
    void *tmp[256];
    for (unsigned it = 0; it < 20; it++) {
        for (unsigned k = 0; k < 256; k++) {
            tmp[k] = arenalloc_malloc(1 + test_prng_range(&prng, k % 16 == 0 ? 40000 : 1024));
            assert_ptr_not_null(tmp[k], "");
        }
        for (unsigned k = 0; k < 256; k++) arenalloc_free(tmp[k]);
    }
    arg->kept = 0;
    for (unsigned k = 0; k < 32; k++) {
        arg->keep[k] = arenalloc_malloc(16 + 700 * k);
        assert_ptr_not_null(arg->keep[k], "");
        arg->kept += arenalloc_malloc_usable_size(arg->keep[k]);
    }
    return NULL;
}

TEST_BEGIN(test_allocated_across_threads) {
    enum { NT = 4 };
    totals_t base = totals();
    pthread_t thds[NT];
    thr_arg_t args[NT];
    for (unsigned t = 0; t < NT; t++) {
        args[t].id = t;
        test_thread_create(&thds[t], worker, &args[t]);
    }
    size_t kept = 0;
    for (unsigned t = 0; t < NT; t++) {
        test_thread_join(thds[t], NULL);
        kept += args[t].kept;
    }
    expect_zu_eq(totals().allocated - base.allocated, kept,
                 "exited threads' caches were flushed; only the kept objects are live");
    /* Freed here, into this thread's cache (objects of other arenas): still exact. */
    for (unsigned t = 0; t < NT; t++) {
        for (unsigned k = 0; k < 32; k++) arenalloc_free(args[t].keep[k]);
    }
    expect_zu_eq(totals().allocated, base.allocated, "");
}
TEST_END

/* ---- the merged view and the parts ---- */

/* Every arena field, by name: stats.arenas.<i>.<suffix>, generated from stats_fields.def. */
typedef struct {
    const char *suffix;
    bool first; /* merged value is arena 0's */
    int indexed; /* 0 none, 1 bins, 2 lextents */
} field_t;

static const field_t fields[] = {
#define STATS_ARENA(name, ctype, merge) {#name, MERGE_IS_FIRST_##merge, 0},
#define MERGE_IS_FIRST_SUM false
#define MERGE_IS_FIRST_FIRST true
#define STATS_TOTAL(name, ctype) {"small." #name, false, 0}, {"large." #name, false, 0},
#define STATS_BIN(name, ctype) {"bins.%u." #name, false, 1},
#define STATS_LEXTENT(name, ctype) {"lextents.%u." #name, false, 2},
#include "stats_fields.def"
};
#define NFIELDS (sizeof(fields) / sizeof(fields[0]))

static uint64_t arena_field(size_t arena, const field_t *f, unsigned j, int *err) {
    char suffix[96], name[160];
    snprintf(suffix, sizeof(suffix), f->suffix, j);
    snprintf(name, sizeof(name), "stats.arenas.%zu.%s", arena, suffix);
    return read_any(name, err);
}

TEST_BEGIN(test_merged_is_the_sum) {
    /* Some traffic first, in several arenas. */
    unsigned narenas = read_unsigned("arenas.narenas"), me = read_unsigned("thread.arena");
    void *ps[16];
    for (unsigned k = 0; k < 16; k++) {
        unsigned a = k % narenas;
        expect_d_eq(mallctl("thread.arena", NULL, NULL, &a, sizeof(a)), 0, "");
        ps[k] = arenalloc_mallocx(100 * k + 1 + (k % 3 == 0 ? 20000 : 0), MALLOCX_TCACHE_NONE);
    }
    expect_d_eq(mallctl("thread.arena", NULL, NULL, &me, sizeof(me)), 0, "");
    epoch_advance();
    for (size_t f = 0; f < NFIELDS; f++) {
        unsigned nj = fields[f].indexed == 0 ? 1 : fields[f].indexed == 1 ? 36 : 196;
        for (unsigned j = 0; j < nj; j++) {
            int err;
            uint64_t merged = arena_field(MALLCTL_ARENAS_ALL, &fields[f], j, &err);
            assert_d_eq(err, 0, "merged %s (j %u)", fields[f].suffix, j);
            uint64_t sum = 0, first = 0;
            for (unsigned i = 0; i < narenas; i++) {
                uint64_t v = arena_field(i, &fields[f], j, &err);
                if (err == ENOENT) continue; /* arena not created */
                assert_d_eq(err, 0, "arena %u %s", i, fields[f].suffix);
                if (i == 0) first = v;
                sum += v;
            }
            expect_u64_eq(merged, fields[f].first ? first : sum, "stats.arenas.4096.%s (j %u)",
                          fields[f].suffix, j);
        }
    }
    for (unsigned k = 0; k < 16; k++) arenalloc_dallocx(ps[k], MALLOCX_TCACHE_NONE);
}
TEST_END

TEST_BEGIN(test_parts_agree) {
    void *keep = arenalloc_malloc(777), *big = arenalloc_malloc(123456);
    epoch_advance();
    size_t sa = read_size("stats.arenas.4096.small.allocated");
    size_t la = read_size("stats.arenas.4096.large.allocated");
    size_t tb = read_size("stats.arenas.4096.tcache_bytes");
    expect_zu_eq(read_size("stats.allocated"), sa + la - tb,
                 "allocated = small + large - bytes sitting in thread caches");
    expect_zu_eq(read_size("stats.active"), read_size("stats.arenas.4096.pactive") * 4096, "");
    expect_zu_eq(read_size("stats.retained"), read_size("stats.arenas.4096.retained"), "");
    char name[128];
    size_t small = 0, nm = 0;
    for (unsigned j = 0; j < 36; j++) {
        snprintf(name, sizeof(name), "arenas.bin.%u.size", j);
        size_t size = read_size(name);
        snprintf(name, sizeof(name), "stats.arenas.4096.bins.%u.curregs", j);
        small += read_size(name) * size;
        snprintf(name, sizeof(name), "stats.arenas.4096.bins.%u.nmalloc", j);
        nm += read_u64(name);
    }
    expect_zu_eq(small, sa, "small.allocated = sum of curregs * size");
    expect_u64_eq(nm, read_u64("stats.arenas.4096.small.nmalloc"), "");
    size_t large = 0;
    for (unsigned j = 0; j < 196; j++) {
        snprintf(name, sizeof(name), "arenas.lextent.%u.size", j);
        size_t size = read_size(name);
        snprintf(name, sizeof(name), "stats.arenas.4096.lextents.%u.curlextents", j);
        large += read_size(name) * size;
    }
    expect_zu_eq(large, la, "large.allocated = sum of curlextents * size");
    arenalloc_free(keep);
    arenalloc_free(big);
}
TEST_END

TEST_BEGIN(test_class_counters) {
    unsigned me = read_unsigned("thread.arena");
    char name[128];
    /* A large class beyond the thread cache: one allocation, one extent. */
    size_t size = 200 << 10;
    unsigned j = 0;
    for (; j < 196; j++) {
        snprintf(name, sizeof(name), "arenas.lextent.%u.size", j);
        if (read_size(name) >= size) break;
    }
    char cur[128], nmalloc[128], ndalloc[128];
    snprintf(cur, sizeof(cur), "stats.arenas.%u.lextents.%u.curlextents", me, j);
    snprintf(nmalloc, sizeof(nmalloc), "stats.arenas.%u.lextents.%u.nmalloc", me, j);
    snprintf(ndalloc, sizeof(ndalloc), "stats.arenas.%u.lextents.%u.ndalloc", me, j);
    epoch_advance();
    size_t c0 = read_size(cur);
    uint64_t m0 = read_u64(nmalloc), d0 = read_u64(ndalloc);
    void *p = arenalloc_malloc(size);
    epoch_advance();
    expect_zu_eq(read_size(cur), c0 + 1, "");
    expect_u64_eq(read_u64(nmalloc), m0 + 1, "");
    arenalloc_free(p);
    epoch_advance();
    expect_zu_eq(read_size(cur), c0, "");
    expect_u64_eq(read_u64(ndalloc), d0 + 1, "");
    /* A small class without the cache: curregs follows exactly. */
    snprintf(cur, sizeof(cur), "stats.arenas.%u.bins.5.curregs", me);
    snprintf(name, sizeof(name), "stats.arenas.%u.bins.5.nslabs", me);
    epoch_advance();
    size_t r0 = read_size(cur);
    void *q[10];
    for (unsigned k = 0; k < 10; k++) q[k] = arenalloc_mallocx(80, MALLOCX_TCACHE_NONE);
    epoch_advance();
    expect_zu_eq(read_size(cur), r0 + 10, "class 5 is 80 bytes");
    expect_u64_ge(read_u64(name), 1, "at least one slab was made");
    for (unsigned k = 0; k < 10; k++) arenalloc_dallocx(q[k], MALLOCX_TCACHE_NONE);
    epoch_advance();
    expect_zu_eq(read_size(cur), r0, "");
    /* Snapshots only change with the epoch. */
    size_t before = read_size("stats.allocated");
    void *big = arenalloc_malloc(1 << 20);
    expect_zu_eq(read_size("stats.allocated"), before, "same epoch, same numbers");
    epoch_advance();
    expect_zu_eq(read_size("stats.allocated"), before + (1 << 20), "");
    arenalloc_free(big);
    expect_u64_gt(read_u64("stats.arenas.0.uptime"), 0, "");
    expect_u_ge(read_unsigned("stats.arenas.4096.nthreads"), 1, "this thread at least");
}
TEST_END

TEST_BEGIN(test_zero_reallocs) {
    epoch_advance();
    size_t z0 = read_size("stats.zero_reallocs");
    for (unsigned k = 0; k < 3; k++) {
        void *p = arenalloc_malloc(10 + k);
        expect_ptr_null(arenalloc_realloc(p, 0), "zero_realloc:free (the default)");
    }
    void *z = arenalloc_realloc(NULL, 0);
    expect_ptr_not_null(z, "realloc(NULL, 0) is malloc(0)");
    arenalloc_free(z);
    epoch_advance();
    expect_zu_eq(read_size("stats.zero_reallocs"), z0 + 3, "realloc(NULL, 0) is not counted");
}
TEST_END

TEST_BEGIN(test_dirty_pages) {
    totals_t t0 = totals();
    void *p = arenalloc_malloc(8 << 20);
    assert_ptr_not_null(p, "");
    memset(p, 1, 8 << 20);
    totals_t t1 = totals();
    expect_zu_ge(t1.active - t0.active, (size_t)8 << 20, "");
    arenalloc_free(p);
    totals_t t2 = totals();
    expect_zu_ge(t1.active - t2.active, (size_t)8 << 20, "the pages are free again");
    expect_zu_eq(t2.allocated, t0.allocated, "");
}
TEST_END

int main(void) {
    return run_tests(test_allocated_exact, test_allocated_without_cache,
                     test_allocated_across_threads, test_merged_is_the_sum, test_parts_agree,
                     test_class_counters, test_zero_reallocs, test_dirty_pages);
}
