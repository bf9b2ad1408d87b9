/*
 * Unit tests for cache_bin.h (the bounded pointer stack between thread caches and arenas):
 *   - init, push until full, pop until empty, LIFO order, ncached, bottom, contains;
 *   - low-water tracking across pops, pushes and resets;
 *   - a zeroed bin refuses both push and pop;
 *   - stacks whose slots straddle a 64 KiB address boundary (positions are stored as their low
 *     16 bits, so they wrap there), at every offset around the boundary;
 *   - random push/pop/reset sequences checked against a plain model.
 */
#include "test.h"

#include <sys/mman.h>

#include "cache_bin.h"

#define SPAN ((size_t)0x10000)

/* A 192 KiB read-write region aligned to 64 KiB: slots can be placed around base + 64 KiB. */
static char *region(void) {
    static char *r;
    if (r == NULL) {
        char *p = mmap(NULL, 4 * SPAN, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        assert_ptr_ne(p, MAP_FAILED, "mmap");
        r = (char *)ALIGNMENT_CEILING((uintptr_t)p, SPAN);
    }
    return r;
}

/* Slots for `cap` items such that `before` of them lie below the 64 KiB boundary. */
static void **slots_around_boundary(unsigned before) {
    char *boundary = region() + SPAN;
    assert_zu_eq(((uintptr_t)boundary) & (SPAN - 1), 0, "");
    return (void **)(boundary - (size_t)before * sizeof(void *));
}

static void *item(unsigned k) { return (void *)(uintptr_t)(0x1000 + 16 * (uintptr_t)k); }

/* init / fill / drain, with every check; the stack at `slots`. */
static void exercise(void **slots, unsigned cap) {
    cache_bin_t bin;
    memset(&bin, 0xee, sizeof(bin));
    bin.npush = 0;
    cache_bin_init(&bin, slots, cap, 64);
    expect_ptr_eq(bin.head, slots + cap, "cap %u: empty head", cap);
    expect_u_eq(bin.ncached_max, cap, "");
    expect_u_eq(cache_bin_ncached(&bin), 0, "cap %u", cap);
    expect_u_eq(cache_bin_low_water(&bin), 0, "cap %u", cap);
    expect_ptr_eq(cache_bin_bottom(&bin), slots + cap, "");
    void *out = (void *)1;
    expect_false(cache_bin_pop(&bin, &out), "cap %u: pop from empty", cap);
    expect_ptr_eq(out, (void *)1, "a failed pop leaves *ret alone");

    for (unsigned k = 0; k < cap; k++) {
        expect_true(cache_bin_push(&bin, item(k)), "cap %u: push %u", cap, k);
        expect_u_eq(cache_bin_ncached(&bin), k + 1, "cap %u", cap);
        expect_ptr_eq(cache_bin_bottom(&bin), slots + cap, "the bottom does not move");
    }
    expect_false(cache_bin_push(&bin, item(cap)), "cap %u: push to a full bin", cap);
    expect_u_eq(cache_bin_ncached(&bin), cap, "");
    expect_ptr_eq(bin.head, slots, "full: head at the first slot");
    if (config_stats) expect_u64_eq(bin.npush, cap, "pushes counted, the refused one not");
    expect_u_eq(cache_bin_low_water(&bin), 0, "pushes do not raise the low water");
    for (unsigned k = 0; k < cap; k++) {
        expect_true(cache_bin_contains(&bin, item(k)), "cap %u: contains %u", cap, k);
        /* Oldest at the bottom. */
        expect_ptr_eq(slots[cap - 1 - k], item(k), "cap %u: slot of item %u", cap, k);
    }
    expect_false(cache_bin_contains(&bin, item(cap)), "");

    cache_bin_reset_low_water(&bin);
    expect_u_eq(cache_bin_low_water(&bin), cap, "reset: low water = ncached");
    for (unsigned k = cap; k-- > 0;) {
        void *p = NULL;
        expect_true(cache_bin_pop(&bin, &p), "cap %u: pop", cap);
        expect_ptr_eq(p, item(k), "cap %u: LIFO", cap);
        expect_u_eq(cache_bin_ncached(&bin), k, "");
        expect_u_eq(cache_bin_low_water(&bin), k, "low water follows pops");
    }
    expect_false(cache_bin_pop(&bin, &out), "cap %u: drained", cap);
    expect_u_eq(cache_bin_ncached(&bin), 0, "");
    expect_u_eq(cache_bin_low_water(&bin), 0, "");
    expect_ptr_eq(bin.head, slots + cap, "");
}

TEST_BEGIN(test_basic) {
    void *slots[200];
    const unsigned caps[] = {1, 2, 3, 20, 64, 200};
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) exercise(slots, caps[i]);
}
TEST_END

TEST_BEGIN(test_low_water) {
    void *slots[8];
    cache_bin_t bin;
    cache_bin_init(&bin, slots, 8, 64);
    for (unsigned k = 0; k < 5; k++) cache_bin_push(&bin, item(k));
    expect_u_eq(cache_bin_ncached(&bin), 5, "");
    expect_u_eq(cache_bin_low_water(&bin), 0, "low water since init: the bin started empty");
    cache_bin_reset_low_water(&bin);
    expect_u_eq(cache_bin_low_water(&bin), 5, "");
    void *p;
    cache_bin_pop(&bin, &p);
    cache_bin_pop(&bin, &p);
    expect_u_eq(cache_bin_low_water(&bin), 3, "after two pops");
    for (unsigned k = 0; k < 4; k++) cache_bin_push(&bin, item(10 + k));
    expect_u_eq(cache_bin_ncached(&bin), 7, "");
    expect_u_eq(cache_bin_low_water(&bin), 3, "pushes leave the low water");
    cache_bin_pop(&bin, &p);
    cache_bin_pop(&bin, &p);
    cache_bin_pop(&bin, &p);
    expect_u_eq(cache_bin_ncached(&bin), 4, "");
    expect_u_eq(cache_bin_low_water(&bin), 3, "pops above the low water leave it");
    cache_bin_pop(&bin, &p);
    cache_bin_pop(&bin, &p);
    expect_u_eq(cache_bin_low_water(&bin), 2, "");
    cache_bin_reset_low_water(&bin);
    expect_u_eq(cache_bin_low_water(&bin), 2, "");
    cache_bin_push(&bin, item(20));
    cache_bin_reset_low_water(&bin);
    expect_u_eq(cache_bin_low_water(&bin), 3, "");
    while (cache_bin_pop(&bin, &p)) {}
    expect_u_eq(cache_bin_low_water(&bin), 0, "");
    expect_false(cache_bin_pop(&bin, &p), "");
    expect_u_eq(cache_bin_low_water(&bin), 0, "a failed pop keeps it");
    cache_bin_push(&bin, item(30));
    expect_u_eq(cache_bin_low_water(&bin), 0, "");
}
TEST_END

TEST_BEGIN(test_zeroed_bin_refuses) {
    cache_bin_t bin;
    memset(&bin, 0, sizeof(bin));
    void *p = (void *)7;
    expect_false(cache_bin_pop(&bin, &p), "pop from a zeroed bin");
    expect_ptr_eq(p, (void *)7, "");
    expect_false(cache_bin_push(&bin, item(1)), "push to a zeroed bin");
    expect_ptr_null(bin.head, "nothing written");
    expect_u_eq(cache_bin_ncached(&bin), 0, "");
    expect_u_eq(cache_bin_low_water(&bin), 0, "");
    expect_false(cache_bin_contains(&bin, item(1)), "");
    if (config_stats) expect_u64_eq(bin.npush, 0, "");
    /* Still refusing after a low-water reset (what a GC step on a disabled cache does). */
    cache_bin_reset_low_water(&bin);
    expect_false(cache_bin_pop(&bin, &p), "");
    expect_false(cache_bin_push(&bin, item(1)), "");
}
TEST_END

TEST_BEGIN(test_across_64k_boundary) {
    const unsigned caps[] = {1, 2, 5, 20, 200};
    for (size_t i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
        unsigned cap = caps[i];
        /* Every split of the stack around the boundary, both ends on it included. */
        for (unsigned before = 0; before <= cap; before++) {
            void **slots = slots_around_boundary(before);
            unsigned fails = test_failures();
            exercise(slots, cap);
            if (test_failures() != fails) {
                assert_not_reached("cap %u with %u slots below the boundary (slots %p)", cap, before,
                                   (void *)slots);
            }
        }
    }
}
TEST_END

/* Random operations against a model, at a given placement. */
static void model_run(void **slots, unsigned cap, test_prng_t *prng, unsigned steps) {
    cache_bin_t bin;
    cache_bin_init(&bin, slots, cap, 64);
    void *model[256];
    unsigned n = 0, lw = 0, next = 0;
    for (unsigned s = 0; s < steps; s++) {
        unsigned op = (unsigned)test_prng_range(prng, 10);
        if (op < 5) {
            bool ok = cache_bin_push(&bin, item(next));
            expect_true(ok == (n < cap), "step %u: push with %u of %u", s, n, cap);
            if (n < cap) model[n++] = item(next);
            next++;
        } else if (op < 9) {
            void *p = NULL;
            bool ok = cache_bin_pop(&bin, &p);
            expect_true(ok == (n > 0), "step %u: pop with %u", s, n);
            if (n > 0) {
                expect_ptr_eq(p, model[n - 1], "step %u: LIFO", s);
                n--;
                if (n < lw) lw = n;
            }
        } else {
            cache_bin_reset_low_water(&bin);
            lw = n;
        }
        expect_u_eq(cache_bin_ncached(&bin), n, "step %u", s);
        expect_u_eq(cache_bin_low_water(&bin), lw, "step %u", s);
        if (test_failures() > 0) assert_not_reached("cap %u, slots %p, step %u", cap, (void *)slots, s);
    }
}

TEST_BEGIN(test_random_against_model) {
    test_prng_t prng;
    test_prng_init(&prng, test_seed());
    void *plain[200];
    for (int round = 0; round < 200; round++) {
        unsigned cap = 1 + (unsigned)test_prng_range(&prng, 200);
        void **slots = round % 2 ? plain
                                 : slots_around_boundary((unsigned)test_prng_range(&prng, cap + 1));
        model_run(slots, cap, &prng, 2000);
    }
}
TEST_END

int main(void) {
    return run_tests(test_basic, test_low_water, test_zeroed_bin_refuses, test_across_64k_boundary,
                     test_random_against_model);
}
