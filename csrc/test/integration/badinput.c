/*
 * Bad input and exhaustion through the prefixed public API:
 *   - sizes no allocator can satisfy: NULL + errno ENOMEM, the original block intact, the heap
 *     usable afterwards;
 *   - invalid free/realloc/dallocx/sdallocx/sallocx/malloc_usable_size of pointers arenalloc never
 *     returned (stack, libc heap, the inside of a large block, a wild address) and double frees of
 *     small objects: the contract is one stderr line "<arenalloc>: <call>...<pointer in hex>"
 *     followed by abort(); double frees are detected in the debug build, which the tests use;
 *   - running out of address space for real (RLIMIT_AS in a forked child).
 */
#include "arenalloc.h"
#include "test.h"

#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define PREFIX "<arenalloc>: "

static const size_t huge_sizes[] = {
    SIZE_MAX,
    SIZE_MAX - 1,
    SIZE_MAX - 4096,
    SIZE_MAX / 2 + 1,
    (size_t)PTRDIFF_MAX,
    TEST_SZ_LARGE_MAXCLASS + 1,
    TEST_SZ_LARGE_MAXCLASS,
    (size_t)1 << 62,
    (size_t)1 << 50, /* a valid size class, but far beyond a 47/48-bit address space */
};
#define NHUGE (sizeof(huge_sizes) / sizeof(huge_sizes[0]))

static void heap_still_works(void) {
    void *ps[32];
    for (int i = 0; i < 32; i++) {
        size_t sz = (size_t)1 << (i % 21);
        ps[i] = arenalloc_malloc(sz);
        assert_ptr_not_null(ps[i], "malloc(%zu) after failed huge requests", sz);
        test_fill(ps[i], sz, (uint64_t)i);
    }
    for (int i = 0; i < 32; i++) {
        size_t sz = (size_t)1 << (i % 21);
        expect_zu_eq(test_check(ps[i], sz, (uint64_t)i), SIZE_MAX, "object %d", i);
        arenalloc_free(ps[i]);
    }
}

TEST_BEGIN(test_malloc_huge_enomem) {
    for (int round = 0; round < 3; round++) {
        for (size_t i = 0; i < NHUGE; i++) {
            errno = 0;
            void *p = arenalloc_malloc(huge_sizes[i]);
            expect_ptr_null(p, "malloc(%#zx)", huge_sizes[i]);
            expect_d_eq(errno, ENOMEM, "errno after malloc(%#zx)", huge_sizes[i]);
            if (p != NULL) {
                arenalloc_free(p);
            }
        }
    }
    heap_still_works();
}
TEST_END

TEST_BEGIN(test_calloc_overflow) {
    static const size_t pairs[][2] = {
        {SIZE_MAX, 2},
        {2, SIZE_MAX},
        {SIZE_MAX / 2 + 1, 2},
        {(size_t)1 << 32, (size_t)1 << 32},
        {(size_t)1 << 33, (size_t)1 << 31},
        {SIZE_MAX / 3 + 1, 3},
        {SIZE_MAX, SIZE_MAX},
        {SIZE_MAX, 1}, /* no overflow, just too big */
        {(size_t)1 << 25, (size_t)1 << 25}, /* 2^50: no overflow, too big for the address space */
    };
    for (size_t i = 0; i < sizeof(pairs) / sizeof(pairs[0]); i++) {
        errno = 0;
        void *p = arenalloc_calloc(pairs[i][0], pairs[i][1]);
        expect_ptr_null(p, "calloc(%#zx, %#zx)", pairs[i][0], pairs[i][1]);
        expect_d_eq(errno, ENOMEM, "errno after calloc(%#zx, %#zx)", pairs[i][0], pairs[i][1]);
        if (p != NULL) {
            arenalloc_free(p);
        }
    }
    heap_still_works();
}
TEST_END

TEST_BEGIN(test_realloc_huge_keeps_original) {
    static const size_t from[] = {10, 1000, 20000, 1 << 20};
    for (size_t f = 0; f < sizeof(from) / sizeof(from[0]); f++) {
        char *p = arenalloc_malloc(from[f]);
        assert_ptr_not_null(p, "malloc(%zu)", from[f]);
        test_fill(p, from[f], f);
        for (size_t i = 0; i < NHUGE; i++) {
            errno = 0;
            char *q = arenalloc_realloc(p, huge_sizes[i]);
            expect_ptr_null(q, "realloc(%zu -> %#zx)", from[f], huge_sizes[i]);
            expect_d_eq(errno, ENOMEM, "errno after realloc(%zu -> %#zx)", from[f], huge_sizes[i]);
            if (q != NULL) {
                p = q; /* keep going with whatever we got */
                continue;
            }
            expect_zu_eq(test_check(p, from[f], f), SIZE_MAX,
                         "original block damaged by failed realloc to %#zx", huge_sizes[i]);
            expect_zu_ge(arenalloc_malloc_usable_size(p), from[f], "original block still live");
        }
        /* rallocx: NULL, original intact (errno unspecified in 5.3.0). */
        for (size_t i = 0; i < NHUGE; i++) {
            char *q = rallocx(p, huge_sizes[i], 0);
            expect_ptr_null(q, "rallocx(%zu -> %#zx)", from[f], huge_sizes[i]);
            if (q != NULL) {
                p = q;
                continue;
            }
            expect_zu_eq(test_check(p, from[f], f), SIZE_MAX, "original damaged by rallocx");
        }
        arenalloc_free(p);
    }
    heap_still_works();
}
TEST_END

TEST_BEGIN(test_other_entry_points_huge) {
    for (size_t i = 0; i < NHUGE; i++) {
        size_t sz = huge_sizes[i];
        void *p = mallocx(sz, 0);
        expect_ptr_null(p, "mallocx(%#zx)", sz);
        if (p) {
            dallocx(p, 0);
        }
        p = mallocx(sz, MALLOCX_LG_ALIGN(12) | MALLOCX_ZERO);
        expect_ptr_null(p, "mallocx(%#zx, align 4096 | zero)", sz);
        if (p) {
            dallocx(p, 0);
        }
        errno = 0;
        p = arenalloc_aligned_alloc(64, sz);
        expect_ptr_null(p, "aligned_alloc(64, %#zx)", sz);
        expect_d_eq(errno, ENOMEM, "errno after aligned_alloc(64, %#zx)", sz);
        if (p) {
            arenalloc_free(p);
        }
        void *m = (void *)0x1;
        int err = arenalloc_posix_memalign(&m, 4096, sz);
        expect_d_eq(err, ENOMEM, "posix_memalign(4096, %#zx)", sz);
        expect_ptr_eq(m, (void *)0x1, "memptr untouched");
        errno = 0;
        p = arenalloc_valloc(sz);
        expect_ptr_null(p, "valloc(%#zx)", sz);
        expect_d_eq(errno, ENOMEM, "errno after valloc(%#zx)", sz);
        if (p) {
            arenalloc_free(p);
        }
    }
    heap_still_works();
}
TEST_END

TEST_BEGIN(test_posix_memalign_bad_alignment) {
    static const size_t bad[] = {0, 1, 2, 4, 3, 24, 1000, SIZE_MAX};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        void *m = (void *)0x2;
        expect_d_eq(arenalloc_posix_memalign(&m, bad[i], 16), EINVAL, "posix_memalign(%zu)",
                    bad[i]);
        expect_ptr_eq(m, (void *)0x2, "memptr untouched");
    }
}
TEST_END

/* ---- invalid pointers: each case runs in a forked child that must abort ---- */

struct bad_call {
    int which;
    void *ptr;
};

enum { CALL_FREE, CALL_REALLOC, CALL_DALLOCX, CALL_SDALLOCX, CALL_SALLOCX, CALL_USABLE };

static const char *const call_names[] = {"free()", "realloc()", "dallocx()",
                                         "sdallocx()", "sallocx()", "malloc_usable_size()"};

static void do_bad_call(void *arg) {
    struct bad_call *bc = arg;
    volatile size_t sink = 0;
    switch (bc->which) {
    case CALL_FREE:
        arenalloc_free(bc->ptr);
        break;
    case CALL_REALLOC:
        sink = (size_t)(uintptr_t)arenalloc_realloc(bc->ptr, 100);
        break;
    case CALL_DALLOCX:
        dallocx(bc->ptr, 0);
        break;
    case CALL_SDALLOCX:
        sdallocx(bc->ptr, 64, 0);
        break;
    case CALL_SALLOCX:
        sink = sallocx(bc->ptr, 0);
        break;
    case CALL_USABLE:
        sink = arenalloc_malloc_usable_size(bc->ptr);
        break;
    }
    (void)sink;
    /* Reaching here means the call returned: the child exits 0 and the check fails. */
}

static void expect_invalid(const char *what, void *ptr, int first_call, int last_call) {
    for (int c = first_call; c <= last_call; c++) {
        struct bad_call bc = {c, ptr};
        expect_abort_line(do_bad_call, &bc, PREFIX, call_names[c], ptr,
                          "%s of %s (%p) must print \"" PREFIX "%s ... %p\" and abort",
                          call_names[c], what, ptr, call_names[c], ptr);
    }
}

TEST_BEGIN(test_invalid_stack_pointer) {
    /* The parent's frame: the forked child has the same address space, so the pointer is a real
     * stack address there too. */
    char buf[256] __attribute__((aligned(64)));
    memset(buf, 0, sizeof(buf));
    expect_invalid("a stack pointer", buf + 64, CALL_FREE, CALL_USABLE);
}
TEST_END

TEST_BEGIN(test_invalid_libc_pointer) {
    char *q = malloc(100); /* libc's malloc: the tests link the prefixed core */
    assert_ptr_not_null(q, "libc malloc");
    expect_invalid("a libc malloc block", q, CALL_FREE, CALL_USABLE);
    expect_invalid("the inside of a libc malloc block", q + 32, CALL_FREE, CALL_DALLOCX);
    free(q);
    char *big = malloc(1 << 20); /* libc mmaps this one */
    assert_ptr_not_null(big, "libc malloc(1 MiB)");
    expect_invalid("a libc mmap'd block", big, CALL_FREE, CALL_DALLOCX);
    free(big);
}
TEST_END

TEST_BEGIN(test_invalid_interior_of_large) {
    size_t page = test_page_size();
    char *p = arenalloc_malloc(64 << 10);
    assert_ptr_not_null(p, "malloc(64 KiB)");
    expect_invalid("a pointer 2 pages into a large block", p + 2 * page, CALL_FREE, CALL_SDALLOCX);
    expect_invalid("a pointer 16 bytes into a large block", p + 16, CALL_FREE, CALL_DALLOCX);
    expect_invalid("a pointer 1 page into a large block", p + page, CALL_SALLOCX, CALL_USABLE);
    /* The block itself is still fine in the parent. */
    memset(p, 1, 64 << 10);
    arenalloc_free(p);
}
TEST_END

TEST_BEGIN(test_invalid_wild_pointers) {
    /* An address in a private anonymous mapping of our own, and one that is unmapped. */
    size_t page = test_page_size();
    char *m = mmap(NULL, 4 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    assert_ptr_ne(m, MAP_FAILED, "mmap");
    expect_invalid("a pointer into a foreign mmap", m + page, CALL_FREE, CALL_DALLOCX);
    munmap(m, 4 * page);
    expect_invalid("an unmapped address", m + page, CALL_FREE, CALL_FREE);
    expect_invalid("a low wild address", (void *)(uintptr_t)0x10000, CALL_FREE, CALL_FREE);
}
TEST_END

/* Diagnostics go through malloc_message when the program sets it (jemalloc semantics). */
static bool hook_line_start = true;

static void message_hook(void *cbopaque, const char *s) {
    (void)cbopaque;
    for (; *s != '\0'; s++) {
        if (hook_line_start) {
            ssize_t w = write(STDERR_FILENO, "HOOK:", 5);
            (void)w;
        }
        ssize_t w = write(STDERR_FILENO, s, 1);
        (void)w;
        hook_line_start = *s == '\n';
    }
}

static void invalid_free_through_hook(void *arg) {
    malloc_message = message_hook;
    arenalloc_free(arg);
}

TEST_BEGIN(test_invalid_free_reported_through_malloc_message) {
    char buf[64] __attribute__((aligned(16)));
    memset(buf, 0, sizeof(buf));
    expect_abort_line(invalid_free_through_hook, buf + 16, "HOOK:" PREFIX, "free()", buf + 16,
                      "with malloc_message set, the invalid-free report must go through it");
}
TEST_END

/* ---- double free of small objects ---- */

static void double_free_simple(void *arg) {
    void *p = *(void **)arg;
    arenalloc_free(p);
    arenalloc_free(p);
}

static void double_free_interleaved(void *arg) {
    void *p = *(void **)arg;
    void *other = arenalloc_malloc(48);
    arenalloc_free(p);
    arenalloc_free(other);
    arenalloc_free(p);
}

static void double_free_after_flush(void *arg) {
    void *p = *(void **)arg;
    arenalloc_free(p);
    /* Push many objects of the same class through the thread cache so p leaves it. */
    enum { N = 4096 };
    static void *ps[N];
    for (int i = 0; i < N; i++) {
        ps[i] = arenalloc_malloc(48);
    }
    for (int i = 0; i < N; i++) {
        arenalloc_free(ps[i]);
    }
    void *again = NULL;
    for (int i = 0; i < N && again != p; i++) {
        /* p may come back from the allocator; then it is live and must be freed once more. */
        again = arenalloc_malloc(48);
        ps[i] = again;
    }
    if (again == p) {
        arenalloc_free(p); /* legitimately frees the recycled p */
    }
    arenalloc_free(p); /* the double free */
}

static void double_sdallocx(void *arg) {
    void *p = *(void **)arg;
    sdallocx(p, 48, 0);
    sdallocx(p, 48, 0);
}

static void double_dallocx_tcache_none(void *arg) {
    void *p = *(void **)arg;
    dallocx(p, MALLOCX_TCACHE_NONE);
    dallocx(p, MALLOCX_TCACHE_NONE);
}

TEST_BEGIN(test_double_free_small) {
    /* Allocated in the parent, so the child knows the pointer in advance. */
    void *p = arenalloc_malloc(48);
    assert_ptr_not_null(p, "malloc(48)");
    expect_abort_line(double_free_simple, &p, PREFIX, "double free", p,
                      "free(p); free(p) must report a double free naming %p", p);
    expect_abort_line(double_free_simple, &p, PREFIX, "free()", p,
                      "the double-free line must name the call free()");
    expect_abort_line(double_free_interleaved, &p, PREFIX, "double free", p,
                      "free(p); free(q); free(p) must report a double free naming %p", p);
    expect_abort_line(double_free_after_flush, &p, PREFIX, "double free", p,
                      "a double free after p left the thread cache must be reported");
    expect_abort_line(double_sdallocx, &p, PREFIX, "double free", p,
                      "sdallocx twice must report a double free naming %p", p);
    expect_abort_line(double_dallocx_tcache_none, &p, PREFIX, "double free", p,
                      "dallocx(TCACHE_NONE) twice must report a double free naming %p", p);
    arenalloc_free(p);
}
TEST_END

/* ---- real exhaustion of the address space ---- */

struct oom_state {
    void **ptrs;
    size_t cap;
};

/* Allocate blocks of `size` until NULL; returns how many (all stored in st->ptrs from *n on). */
static size_t fill_until_null(struct oom_state *st, size_t *n, size_t size, uint64_t max) {
    size_t got = 0;
    for (;;) {
        if (*n >= st->cap || got >= max) {
            expect_not_reached("no NULL after %zu allocations of %zu bytes under RLIMIT_AS", got,
                               size);
            return got;
        }
        errno = 0;
        void *p = arenalloc_malloc(size);
        if (p == NULL) {
            expect_d_eq(errno, ENOMEM, "errno when malloc(%zu) runs out of address space", size);
            return got;
        }
        /* Touch the first and last byte and a stamp; check them before freeing. */
        ((volatile char *)p)[size - 1] = 1;
        memcpy(p, &p, sizeof(p) < size ? sizeof(p) : size);
        st->ptrs[(*n)++] = p;
        got++;
    }
}

static void oom_child(void *arg) {
    struct oom_state *st = arg;
    size_t slack = 64 << 20;
    struct rlimit rl;
    rl.rlim_cur = rl.rlim_max = test_vm_bytes() + slack;
    assert_d_eq(setrlimit(RLIMIT_AS, &rl), 0, "setrlimit(RLIMIT_AS)");

    size_t n = 0;
    size_t n_mib = fill_until_null(st, &n, 1 << 20, 1 << 20);
    expect_zu_gt(n_mib, 0, "not even one 1 MiB block fit in %zu MiB of slack", slack >> 20);
    size_t n_64k = fill_until_null(st, &n, 64 << 10, 1 << 24);
    size_t n_small = fill_until_null(st, &n, 100, st->cap);
    (void)n_64k;
    (void)n_small;
    /* Other entry points fail cleanly too while the address space is full. */
    void *m = (void *)0x3;
    int err = arenalloc_posix_memalign(&m, 1 << 20, 8 << 20);
    expect_d_eq(err, ENOMEM, "posix_memalign when out of address space");
    expect_ptr_eq(m, (void *)0x3, "memptr untouched");
    errno = 0;
    expect_ptr_null(arenalloc_calloc(1, 32 << 20), "calloc when out of address space");
    expect_d_eq(errno, ENOMEM, "errno after calloc");

    /* Everything we got is intact. */
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) {
        void *stamp;
        memcpy(&stamp, st->ptrs[i], sizeof(stamp));
        bad += stamp != st->ptrs[i];
    }
    expect_zu_eq(bad, 0, "blocks overwritten while the address space was exhausted");
    for (size_t i = 0; i < n; i++) {
        arenalloc_free(st->ptrs[i]);
    }

    /* The freed memory is usable again: at least half as many 1 MiB blocks as before. */
    size_t again = 0;
    for (size_t i = 0; i < (n_mib + 1) / 2; i++) {
        void *p = arenalloc_malloc(1 << 20);
        expect_ptr_not_null(p, "malloc(1 MiB) #%zu after freeing everything (had %zu before)", i,
                            n_mib);
        if (p == NULL) {
            break;
        }
        memset(p, 0x42, 4096);
        st->ptrs[again++] = p;
    }
    void *small = arenalloc_malloc(100);
    expect_ptr_not_null(small, "malloc(100) after freeing everything");
    arenalloc_free(small);
    for (size_t i = 0; i < again; i++) {
        arenalloc_free(st->ptrs[i]);
    }
    printf("    (oom child: %zu x 1 MiB, %zu x 64 KiB, %zu x 100 B before NULL; %zu x 1 MiB "
           "after)\n",
           n_mib, n_64k, n_small, again);
}

TEST_BEGIN(test_out_of_address_space) {
    if (test_under_tsan()) {
        test_skip("RLIMIT_AS and ThreadSanitizer's shadow memory do not mix");
    }
    struct oom_state st;
    st.cap = (size_t)4 << 20;
    /* The pointer array comes from libc and is touched now, before the limit is set. */
    st.ptrs = malloc(st.cap * sizeof(void *));
    assert_ptr_not_null(st.ptrs, "libc malloc of the pointer array");
    memset(st.ptrs, 0, st.cap * sizeof(void *));
    char why[128];
    int status = test_fork_run(oom_child, &st, NULL, 0, 120);
    expect_true(status != -1 && WIFEXITED(status) && WEXITSTATUS(status) == 0,
                "the RLIMIT_AS child must exit 0 (got %s)",
                test_status_str(status, why, sizeof(why)));
    free(st.ptrs);
    heap_still_works();
}
TEST_END

int main(void) {
    return run_tests(test_malloc_huge_enomem, test_calloc_overflow,
                     test_realloc_huge_keeps_original, test_other_entry_points_huge,
                     test_posix_memalign_bad_alignment, test_invalid_stack_pointer,
                     test_invalid_libc_pointer, test_invalid_interior_of_large,
                     test_invalid_wild_pointers,
                     test_invalid_free_reported_through_malloc_message, test_double_free_small,
                     test_out_of_address_space);
}
