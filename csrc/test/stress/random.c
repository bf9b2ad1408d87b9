/*
 * Random multi-threaded workload, bounded by STRESS_SECONDS: each thread keeps a table of live
 * blocks and picks at random among malloc, calloc, realloc, free, posix_memalign, aligned_alloc,
 * mallocx with alignment / zero, rallocx, xallocx, sdallocx and dallocx. Every block is filled
 * with a pattern derived from its address and the thread's id and is checked before it is freed
 * or resized, so a block handed out twice, an overlap, a lost realloc copy or a stray write by the
 * allocator shows up as a damaged pattern.
 */
#include "arenalloc.h"
#include "test.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { SLOTS = 2048, FULL_FILL_MAX = 64 << 10, EDGE = 4096 };

struct block {
    unsigned char *p;
    size_t size;  /* requested size (the bytes the pattern covers) */
    size_t align; /* 0: natural */
    int flags;    /* mallocx flags to give back to sdallocx/dallocx, or -1: use free */
};

struct worker {
    pthread_t thd;
    unsigned id;
    uint64_t seed;
    double deadline;
    unsigned long ops, bytes;
    struct block slots[SLOTS];
};

static uint64_t block_seed(const struct worker *w, const void *p) {
    return (uint64_t)(uintptr_t)p * 0x9e3779b97f4a7c15ULL ^ ((uint64_t)w->id << 56);
}

/* Fill (or check) the whole block when small, else its first and last EDGE bytes. */
static void fill(const struct worker *w, struct block *b) {
    uint64_t s = block_seed(w, b->p);
    if (b->size <= FULL_FILL_MAX) {
        test_fill(b->p, b->size, s);
    } else {
        test_fill(b->p, EDGE, s);
        test_fill_at(b->p + b->size - EDGE, EDGE, s, b->size - EDGE);
    }
}

/* Check the first `n` bytes of the pattern of a block (n <= b->size), as fill() wrote them. */
static bool check_prefix(const struct worker *w, const struct block *b, const void *at, size_t n,
                         const char *when) {
    uint64_t s = block_seed(w, b->p);
    size_t bad;
    if (b->size <= FULL_FILL_MAX) {
        bad = test_check(at, n, s);
    } else {
        bad = test_check(at, n < EDGE ? n : EDGE, s);
        if (bad == SIZE_MAX && n == b->size) {
            bad = test_check_at((const unsigned char *)at + b->size - EDGE, EDGE, s,
                                b->size - EDGE);
            if (bad != SIZE_MAX) {
                bad += b->size - EDGE;
            }
        }
    }
    if (bad != SIZE_MAX) {
        expect_zu_eq(bad, SIZE_MAX,
                     "thread %u: block %p (size %zu, align %zu) damaged at offset %zu %s", w->id,
                     (void *)b->p, b->size, b->align, bad, when);
        return false;
    }
    return true;
}

static size_t pick_size(test_prng_t *r) {
    uint64_t k = test_prng_range(r, 1000);
    if (k < 700) {
        return 1 + test_prng_range(r, 128);
    } else if (k < 900) {
        return 1 + test_prng_range(r, 4096);
    } else if (k < 985) {
        return 1 + test_prng_range(r, 65536);
    } else if (k < 998) {
        return 65536 + test_prng_range(r, 1 << 20);
    }
    return (1 << 20) + test_prng_range(r, 4 << 20);
}

static void check_zero(const struct worker *w, const struct block *b, const char *how) {
    size_t n = b->size < FULL_FILL_MAX ? b->size : FULL_FILL_MAX;
    size_t bad = test_find_not(b->p, n, 0);
    expect_zu_eq(bad, SIZE_MAX, "thread %u: %s(%zu) = %p not zeroed at %zu", w->id, how, b->size,
                 (void *)b->p, bad);
}

static void do_alloc(struct worker *w, test_prng_t *r, struct block *b) {
    size_t sz = pick_size(r);
    size_t align = (size_t)1 << (3 + test_prng_range(r, 10)); /* 8 .. 4096 */
    unsigned kind = (unsigned)test_prng_range(r, 10);
    void *p = NULL;
    b->align = 0;
    b->flags = -1;
    switch (kind) {
    case 0:
    case 1:
    case 2:
        p = arenalloc_malloc(sz);
        break;
    case 3:
        p = arenalloc_calloc(1, sz);
        break;
    case 4: {
        int err = arenalloc_posix_memalign(&p, align, sz);
        expect_d_eq(err, 0, "posix_memalign(%zu, %zu)", align, sz);
        b->align = align;
        break;
    }
    case 5:
        p = arenalloc_aligned_alloc(align, sz);
        b->align = align;
        break;
    case 6:
        b->flags = MALLOCX_LG_ALIGN(test_prng_range(r, 13));
        p = mallocx(sz, b->flags);
        b->align = (size_t)1 << (b->flags & 0x3f);
        break;
    case 7:
        b->flags = MALLOCX_ZERO;
        p = mallocx(sz, b->flags);
        break;
    case 8:
        b->flags = MALLOCX_TCACHE_NONE;
        p = mallocx(sz, b->flags);
        break;
    default:
        b->flags = 0;
        p = mallocx(sz, 0);
        break;
    }
    if (p == NULL) {
        expect_not_reached("thread %u: allocation kind %u of %zu bytes failed (errno %d)", w->id,
                           kind, sz, errno);
        b->p = NULL;
        return;
    }
    b->p = p;
    b->size = sz;
    if (b->align != 0) {
        expect_zu_eq((uintptr_t)p & (b->align - 1), 0, "thread %u: %p misaligned (align %zu)",
                     w->id, p, b->align);
    }
    if (kind == 3) {
        check_zero(w, b, "calloc");
    } else if (kind == 7) {
        check_zero(w, b, "mallocx(ZERO)");
    }
    fill(w, b);
    w->bytes += sz;
}

static void do_free(struct worker *w, test_prng_t *r, struct block *b) {
    check_prefix(w, b, b->p, b->size, "before free");
    if (b->flags >= 0) {
        if (test_prng_range(r, 2)) {
            sdallocx(b->p, b->size, b->flags);
        } else {
            dallocx(b->p, b->flags);
        }
    } else if (test_prng_range(r, 4) == 0) {
        sdallocx(b->p, b->size, b->align ? MALLOCX_ALIGN(b->align) : 0);
    } else {
        arenalloc_free(b->p);
    }
    b->p = NULL;
}

static void do_resize(struct worker *w, test_prng_t *r, struct block *b) {
    if (!check_prefix(w, b, b->p, b->size, "before resize")) {
        /* Already reported; drop it rather than cascade. */
        arenalloc_free(b->p);
        b->p = NULL;
        return;
    }
    size_t nsz = test_prng_range(r, 4) == 0 ? pick_size(r)
                                            : b->size / 2 + 1 + test_prng_range(r, b->size + 16);
    size_t keep = nsz < b->size ? nsz : b->size;
    struct block old = *b;
    unsigned kind = (unsigned)test_prng_range(r, 3);
    void *q;
    if (kind == 0 && b->align == 0) {
        q = arenalloc_realloc(b->p, nsz);
        b->flags = -1;
    } else if (kind == 1 || b->align != 0) {
        int flags = b->align ? MALLOCX_ALIGN(b->align) : 0;
        q = rallocx(b->p, nsz, flags);
        b->flags = flags;
    } else {
        /* In place only: the block keeps its address. */
        int aflags = b->align ? MALLOCX_ALIGN(b->align) : 0;
        size_t old_usable = sallocx(b->p, 0);
        size_t got = xallocx(b->p, nsz, 0, aflags);
        expect_zu_eq(got, sallocx(b->p, 0), "xallocx result vs sallocx");
        if (got == old_usable && nallocx(nsz, aflags) != got) {
            return; /* not resized: same block, same size, pattern intact */
        }
        expect_zu_ge(got, nsz, "xallocx changed the size (%zu -> %zu) but not to >= %zu",
                     old_usable, got, nsz);
        if (!check_prefix(w, &old, b->p, keep, "after xallocx")) {
            return;
        }
        /* The size sdallocx may be given from now on: nsz if that is the new class. */
        b->size = nallocx(nsz, aflags) == got ? nsz : got;
        fill(w, b); /* the seed depends only on the (unchanged) address */
        return;
    }
    if (q == NULL) {
        expect_not_reached("thread %u: resize of %p from %zu to %zu failed", w->id, (void *)b->p,
                           b->size, nsz);
        return;
    }
    /* The preserved prefix carries the old pattern (which depends on the old address). */
    struct block moved = old;
    if (old.size > FULL_FILL_MAX && keep < old.size) {
        keep = keep < EDGE ? keep : EDGE; /* only the head of a big block was filled */
    }
    check_prefix(w, &moved, q, keep, "after realloc (content not preserved)");
    b->p = q;
    b->size = nsz;
    if (b->align != 0) {
        expect_zu_eq((uintptr_t)q & (b->align - 1), 0, "rallocx lost alignment %zu", b->align);
    }
    fill(w, b);
}

static void *worker_main(void *arg) {
    struct worker *w = arg;
    test_prng_t r;
    test_prng_init(&r, w->seed);
    unsigned long n = 0;
    for (;;) {
        if ((n & 255) == 0 && test_now() >= w->deadline) {
            break;
        }
        n++;
        struct block *b = &w->slots[test_prng_range(&r, SLOTS)];
        if (b->p == NULL) {
            do_alloc(w, &r, b);
        } else if (test_prng_range(&r, 3) == 0) {
            do_resize(w, &r, b);
        } else {
            do_free(w, &r, b);
        }
    }
    for (unsigned i = 0; i < SLOTS; i++) {
        if (w->slots[i].p != NULL) {
            do_free(w, &r, &w->slots[i]);
        }
    }
    w->ops = n;
    return NULL;
}

static void run_workers(unsigned nthreads, double seconds) {
    struct worker *ws = calloc(nthreads, sizeof(*ws));
    assert_ptr_not_null(ws, "calloc workers");
    double deadline = test_now() + seconds;
    uint64_t seed = test_seed();
    for (unsigned i = 0; i < nthreads; i++) {
        ws[i].id = i;
        ws[i].seed = seed + i * 0x1000193ULL;
        ws[i].deadline = deadline;
        test_thread_create(&ws[i].thd, worker_main, &ws[i]);
    }
    unsigned long ops = 0, bytes = 0;
    for (unsigned i = 0; i < nthreads; i++) {
        test_thread_join(ws[i].thd, NULL);
        ops += ws[i].ops;
        bytes += ws[i].bytes;
    }
    printf("    %u threads, %.1f s: %lu operations, %lu MiB allocated\n", nthreads, seconds, ops,
           bytes >> 20);
    expect_lu_gt(ops, 0, "no operation ran");
    free(ws);
}

TEST_BEGIN(test_random_single_thread) { run_workers(1, test_seconds() * 0.25); }
TEST_END

TEST_BEGIN(test_random_many_threads) {
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    unsigned n = ncpu < 2 ? 4 : (unsigned)(ncpu * 2 > 16 ? 16 : ncpu * 2);
    run_workers(n, test_seconds() * 0.75);
}
TEST_END

int main(void) { return run_tests(test_random_single_thread, test_random_many_threads); }
