/*
 * test.h -- the tiny typed test runner shared by every C test (unit, integration, stress).
 *
 * A test file is a set of TEST_BEGIN/TEST_END functions and a main() that calls run_tests():
 *
 *     TEST_BEGIN(test_malloc_zero) {
 *         void *p = arenalloc_malloc(0);
 *         assert_ptr_not_null(p, "malloc(0) must return a unique object");
 *         expect_zu_ge(arenalloc_malloc_usable_size(p), 1, "usable size of %p", p);
 *         arenalloc_free(p);
 *     }
 *     TEST_END
 *
 *     int main(void) { return run_tests(test_malloc_zero, test_other); }
 *
 * Checks come in two strengths with the same spelling:
 *   expect_<type>_<op>(a, b, fmt, ...)  records a failure (file:line, both values, the message) and
 *                                        the test goes on;
 *   assert_<type>_<op>(a, b, fmt, ...)  records it and stops the test at once.
 * <type> fixes how the operands are converted and printed: ptr, c, d, u, ld, lu, zd, zu, d64, u64
 * with <op> eq ne lt le gt ge (ptr and c: eq ne), and x (unsigned, hex), zx (size_t, hex) with
 * eq ne. Also: expect_true/false,
 * expect_ptr_null/not_null, expect_str_eq/ne, expect_not_reached, each with an assert_ twin.
 * The message is mandatory and must be a string literal (pass "" when the expression says it
 * all); the macros paste a space in front of it, which the runner strips.
 *
 * Checks are thread-safe. An assert_* that fails outside the thread that runs the test cannot
 * unwind that thread, so it prints the failure and ends the process with status 1 (run.sh then
 * counts the binary as failed). Inside a child made by test_fork_run() a failed assert_* ends the
 * child with status 1, and the parent sees it in the wait status.
 *
 * test_skip(fmt, ...) marks the current test skipped and stops it (failures recorded before it
 * still make the test fail).
 *
 * run_tests() prints one line per test ("pass", "FAIL (n)", "skip: why") and the summary line
 *     == <program>: N passed, N failed, N skipped
 * which test/run.sh adds up. It returns the exit status: 0 only if no test failed.
 * Environment: TEST_FILTER=substr runs only the tests whose name contains substr;
 * TEST_TIMEOUT=seconds bounds each test (default 60 + 4 x STRESS_SECONDS, x3 under TSan; 0 = no
 * bound); TEST_SEED fixes the seed behind test_seed() (printed once per binary, so a failing
 * random run can be replayed); STRESS_SECONDS (default 3) is what test_seconds() returns.
 *
 * Files beside the tests: the Makefile defines TEST_SRCDIR, the absolute path of csrc/test, so a
 * test finds its helpers (e.g. test/stats_json.py) from any working directory.
 *
 * Helpers below: forked children (test_fork_run) and death tests that check abort() plus the
 * stderr line (expect_abort_line); time, RSS and page size; a seedable PRNG; pattern fill/check
 * that needs no copy of the data; and jemalloc's size classes computed from the reference rule
 * (test_sz_s2u / test_sz_sa2u), independent of the allocator's own tables.
 */
#ifndef ARENALLOC_TEST_H
#define ARENALLOC_TEST_H

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h> /* snprintf, used by the check macros */
#include <string.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- defining and running tests ---- */

typedef void test_fn_t(void);

#define TEST_BEGIN(name)                                                                           \
    static void name(void) {                                                                       \
        test_begin_(#name);
#define TEST_END                                                                                   \
        test_end_();                                                                               \
    }

#define run_tests(...) test_run_all_((test_fn_t *[]){__VA_ARGS__, NULL})

int test_run_all_(test_fn_t *const *tests);
void test_begin_(const char *name);
void test_end_(void);

/* Mark the current test skipped and stop it. */
void test_skip(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

/* ---- recording failures ---- */

/*
 * Report a failed check. `cond` is the already formatted description of what was compared, fmt/...
 * the caller's message (a leading space, which the macros add, is dropped). Returns normally for
 * expect_*, never for assert_* (fatal).
 */
void test_fail_(const char *file, int line, bool fatal, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));
/* Failures recorded so far in the current test (all threads). */
unsigned test_failures(void);

#define TEST_CMP_(t, pri, a, op, b, fatal, ...)                                                    \
    do {                                                                                           \
        t a_ = (t)(a); t b_ = (t)(b);                                                               \
        if (!(a_ op b_)) {                                                                         \
            char cond_[512];                                                                       \
            snprintf(cond_, sizeof(cond_), "(%s) " #op " (%s) --> " pri " " #op " " pri, #a, #b,  \
                     a_, b_);                                                                      \
            test_fail_(__FILE__, __LINE__, fatal, cond_, " " __VA_ARGS__);                           \
        }                                                                                          \
    } while (0)

#define expect_ptr_eq(a, b, ...) TEST_CMP_(const void *, "%p", a, ==, b, false, __VA_ARGS__)
#define expect_ptr_ne(a, b, ...) TEST_CMP_(const void *, "%p", a, !=, b, false, __VA_ARGS__)
#define assert_ptr_eq(a, b, ...) TEST_CMP_(const void *, "%p", a, ==, b, true, __VA_ARGS__)
#define assert_ptr_ne(a, b, ...) TEST_CMP_(const void *, "%p", a, !=, b, true, __VA_ARGS__)
#define expect_ptr_null(a, ...) TEST_CMP_(const void *, "%p", a, ==, NULL, false, __VA_ARGS__)
#define expect_ptr_not_null(a, ...) TEST_CMP_(const void *, "%p", a, !=, NULL, false, __VA_ARGS__)
#define assert_ptr_null(a, ...) TEST_CMP_(const void *, "%p", a, ==, NULL, true, __VA_ARGS__)
#define assert_ptr_not_null(a, ...) TEST_CMP_(const void *, "%p", a, !=, NULL, true, __VA_ARGS__)

#define TEST_CMP_FAMILY_EXPECT_(t, pri, a, op, b, ...) TEST_CMP_(t, pri, a, op, b, false, __VA_ARGS__)
#define TEST_CMP_FAMILY_ASSERT_(t, pri, a, op, b, ...) TEST_CMP_(t, pri, a, op, b, true, __VA_ARGS__)

/* char */
#define expect_c_eq(a, b, ...) TEST_CMP_FAMILY_EXPECT_(char, "%c", a, ==, b, __VA_ARGS__)
#define expect_c_ne(a, b, ...) TEST_CMP_FAMILY_EXPECT_(char, "%c", a, !=, b, __VA_ARGS__)
#define assert_c_eq(a, b, ...) TEST_CMP_FAMILY_ASSERT_(char, "%c", a, ==, b, __VA_ARGS__)
#define assert_c_ne(a, b, ...) TEST_CMP_FAMILY_ASSERT_(char, "%c", a, !=, b, __VA_ARGS__)

/* int */
#define expect_d_eq(a, b, ...) TEST_CMP_FAMILY_EXPECT_(int, "%d", a, ==, b, __VA_ARGS__)
#define expect_d_ne(a, b, ...) TEST_CMP_FAMILY_EXPECT_(int, "%d", a, !=, b, __VA_ARGS__)
#define expect_d_lt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(int, "%d", a, <, b, __VA_ARGS__)
#define expect_d_le(a, b, ...) TEST_CMP_FAMILY_EXPECT_(int, "%d", a, <=, b, __VA_ARGS__)
#define expect_d_gt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(int, "%d", a, >, b, __VA_ARGS__)
#define expect_d_ge(a, b, ...) TEST_CMP_FAMILY_EXPECT_(int, "%d", a, >=, b, __VA_ARGS__)
#define assert_d_eq(a, b, ...) TEST_CMP_FAMILY_ASSERT_(int, "%d", a, ==, b, __VA_ARGS__)
#define assert_d_ne(a, b, ...) TEST_CMP_FAMILY_ASSERT_(int, "%d", a, !=, b, __VA_ARGS__)
#define assert_d_lt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(int, "%d", a, <, b, __VA_ARGS__)
#define assert_d_le(a, b, ...) TEST_CMP_FAMILY_ASSERT_(int, "%d", a, <=, b, __VA_ARGS__)
#define assert_d_gt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(int, "%d", a, >, b, __VA_ARGS__)
#define assert_d_ge(a, b, ...) TEST_CMP_FAMILY_ASSERT_(int, "%d", a, >=, b, __VA_ARGS__)

/* unsigned */
#define expect_u_eq(a, b, ...) TEST_CMP_FAMILY_EXPECT_(unsigned, "%u", a, ==, b, __VA_ARGS__)
#define expect_u_ne(a, b, ...) TEST_CMP_FAMILY_EXPECT_(unsigned, "%u", a, !=, b, __VA_ARGS__)
#define expect_u_lt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(unsigned, "%u", a, <, b, __VA_ARGS__)
#define expect_u_le(a, b, ...) TEST_CMP_FAMILY_EXPECT_(unsigned, "%u", a, <=, b, __VA_ARGS__)
#define expect_u_gt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(unsigned, "%u", a, >, b, __VA_ARGS__)
#define expect_u_ge(a, b, ...) TEST_CMP_FAMILY_EXPECT_(unsigned, "%u", a, >=, b, __VA_ARGS__)
#define assert_u_eq(a, b, ...) TEST_CMP_FAMILY_ASSERT_(unsigned, "%u", a, ==, b, __VA_ARGS__)
#define assert_u_ne(a, b, ...) TEST_CMP_FAMILY_ASSERT_(unsigned, "%u", a, !=, b, __VA_ARGS__)
#define assert_u_lt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(unsigned, "%u", a, <, b, __VA_ARGS__)
#define assert_u_le(a, b, ...) TEST_CMP_FAMILY_ASSERT_(unsigned, "%u", a, <=, b, __VA_ARGS__)
#define assert_u_gt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(unsigned, "%u", a, >, b, __VA_ARGS__)
#define assert_u_ge(a, b, ...) TEST_CMP_FAMILY_ASSERT_(unsigned, "%u", a, >=, b, __VA_ARGS__)

/* unsigned, printed in hex */
#define expect_x_eq(a, b, ...) TEST_CMP_FAMILY_EXPECT_(unsigned, "%#x", a, ==, b, __VA_ARGS__)
#define expect_x_ne(a, b, ...) TEST_CMP_FAMILY_EXPECT_(unsigned, "%#x", a, !=, b, __VA_ARGS__)
#define assert_x_eq(a, b, ...) TEST_CMP_FAMILY_ASSERT_(unsigned, "%#x", a, ==, b, __VA_ARGS__)
#define assert_x_ne(a, b, ...) TEST_CMP_FAMILY_ASSERT_(unsigned, "%#x", a, !=, b, __VA_ARGS__)

/* long */
#define expect_ld_eq(a, b, ...) TEST_CMP_FAMILY_EXPECT_(long, "%ld", a, ==, b, __VA_ARGS__)
#define expect_ld_ne(a, b, ...) TEST_CMP_FAMILY_EXPECT_(long, "%ld", a, !=, b, __VA_ARGS__)
#define expect_ld_lt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(long, "%ld", a, <, b, __VA_ARGS__)
#define expect_ld_le(a, b, ...) TEST_CMP_FAMILY_EXPECT_(long, "%ld", a, <=, b, __VA_ARGS__)
#define expect_ld_gt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(long, "%ld", a, >, b, __VA_ARGS__)
#define expect_ld_ge(a, b, ...) TEST_CMP_FAMILY_EXPECT_(long, "%ld", a, >=, b, __VA_ARGS__)
#define assert_ld_eq(a, b, ...) TEST_CMP_FAMILY_ASSERT_(long, "%ld", a, ==, b, __VA_ARGS__)
#define assert_ld_ne(a, b, ...) TEST_CMP_FAMILY_ASSERT_(long, "%ld", a, !=, b, __VA_ARGS__)
#define assert_ld_lt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(long, "%ld", a, <, b, __VA_ARGS__)
#define assert_ld_le(a, b, ...) TEST_CMP_FAMILY_ASSERT_(long, "%ld", a, <=, b, __VA_ARGS__)
#define assert_ld_gt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(long, "%ld", a, >, b, __VA_ARGS__)
#define assert_ld_ge(a, b, ...) TEST_CMP_FAMILY_ASSERT_(long, "%ld", a, >=, b, __VA_ARGS__)

/* unsigned long */
#define expect_lu_eq(a, b, ...) TEST_CMP_FAMILY_EXPECT_(unsigned long, "%lu", a, ==, b, __VA_ARGS__)
#define expect_lu_ne(a, b, ...) TEST_CMP_FAMILY_EXPECT_(unsigned long, "%lu", a, !=, b, __VA_ARGS__)
#define expect_lu_lt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(unsigned long, "%lu", a, <, b, __VA_ARGS__)
#define expect_lu_le(a, b, ...) TEST_CMP_FAMILY_EXPECT_(unsigned long, "%lu", a, <=, b, __VA_ARGS__)
#define expect_lu_gt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(unsigned long, "%lu", a, >, b, __VA_ARGS__)
#define expect_lu_ge(a, b, ...) TEST_CMP_FAMILY_EXPECT_(unsigned long, "%lu", a, >=, b, __VA_ARGS__)
#define assert_lu_eq(a, b, ...) TEST_CMP_FAMILY_ASSERT_(unsigned long, "%lu", a, ==, b, __VA_ARGS__)
#define assert_lu_ne(a, b, ...) TEST_CMP_FAMILY_ASSERT_(unsigned long, "%lu", a, !=, b, __VA_ARGS__)
#define assert_lu_lt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(unsigned long, "%lu", a, <, b, __VA_ARGS__)
#define assert_lu_le(a, b, ...) TEST_CMP_FAMILY_ASSERT_(unsigned long, "%lu", a, <=, b, __VA_ARGS__)
#define assert_lu_gt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(unsigned long, "%lu", a, >, b, __VA_ARGS__)
#define assert_lu_ge(a, b, ...) TEST_CMP_FAMILY_ASSERT_(unsigned long, "%lu", a, >=, b, __VA_ARGS__)

/* ssize_t */
#define expect_zd_eq(a, b, ...) TEST_CMP_FAMILY_EXPECT_(ssize_t, "%zd", a, ==, b, __VA_ARGS__)
#define expect_zd_ne(a, b, ...) TEST_CMP_FAMILY_EXPECT_(ssize_t, "%zd", a, !=, b, __VA_ARGS__)
#define expect_zd_lt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(ssize_t, "%zd", a, <, b, __VA_ARGS__)
#define expect_zd_le(a, b, ...) TEST_CMP_FAMILY_EXPECT_(ssize_t, "%zd", a, <=, b, __VA_ARGS__)
#define expect_zd_gt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(ssize_t, "%zd", a, >, b, __VA_ARGS__)
#define expect_zd_ge(a, b, ...) TEST_CMP_FAMILY_EXPECT_(ssize_t, "%zd", a, >=, b, __VA_ARGS__)
#define assert_zd_eq(a, b, ...) TEST_CMP_FAMILY_ASSERT_(ssize_t, "%zd", a, ==, b, __VA_ARGS__)
#define assert_zd_ne(a, b, ...) TEST_CMP_FAMILY_ASSERT_(ssize_t, "%zd", a, !=, b, __VA_ARGS__)
#define assert_zd_lt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(ssize_t, "%zd", a, <, b, __VA_ARGS__)
#define assert_zd_le(a, b, ...) TEST_CMP_FAMILY_ASSERT_(ssize_t, "%zd", a, <=, b, __VA_ARGS__)
#define assert_zd_gt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(ssize_t, "%zd", a, >, b, __VA_ARGS__)
#define assert_zd_ge(a, b, ...) TEST_CMP_FAMILY_ASSERT_(ssize_t, "%zd", a, >=, b, __VA_ARGS__)

/* size_t */
#define expect_zu_eq(a, b, ...) TEST_CMP_FAMILY_EXPECT_(size_t, "%zu", a, ==, b, __VA_ARGS__)
#define expect_zu_ne(a, b, ...) TEST_CMP_FAMILY_EXPECT_(size_t, "%zu", a, !=, b, __VA_ARGS__)
#define expect_zu_lt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(size_t, "%zu", a, <, b, __VA_ARGS__)
#define expect_zu_le(a, b, ...) TEST_CMP_FAMILY_EXPECT_(size_t, "%zu", a, <=, b, __VA_ARGS__)
#define expect_zu_gt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(size_t, "%zu", a, >, b, __VA_ARGS__)
#define expect_zu_ge(a, b, ...) TEST_CMP_FAMILY_EXPECT_(size_t, "%zu", a, >=, b, __VA_ARGS__)
#define assert_zu_eq(a, b, ...) TEST_CMP_FAMILY_ASSERT_(size_t, "%zu", a, ==, b, __VA_ARGS__)
#define assert_zu_ne(a, b, ...) TEST_CMP_FAMILY_ASSERT_(size_t, "%zu", a, !=, b, __VA_ARGS__)
#define assert_zu_lt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(size_t, "%zu", a, <, b, __VA_ARGS__)
#define assert_zu_le(a, b, ...) TEST_CMP_FAMILY_ASSERT_(size_t, "%zu", a, <=, b, __VA_ARGS__)
#define assert_zu_gt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(size_t, "%zu", a, >, b, __VA_ARGS__)
#define assert_zu_ge(a, b, ...) TEST_CMP_FAMILY_ASSERT_(size_t, "%zu", a, >=, b, __VA_ARGS__)

/* size_t, printed in hex (addresses, masks, size-class boundaries) */
#define expect_zx_eq(a, b, ...) TEST_CMP_FAMILY_EXPECT_(size_t, "%#zx", a, ==, b, __VA_ARGS__)
#define expect_zx_ne(a, b, ...) TEST_CMP_FAMILY_EXPECT_(size_t, "%#zx", a, !=, b, __VA_ARGS__)
#define assert_zx_eq(a, b, ...) TEST_CMP_FAMILY_ASSERT_(size_t, "%#zx", a, ==, b, __VA_ARGS__)
#define assert_zx_ne(a, b, ...) TEST_CMP_FAMILY_ASSERT_(size_t, "%#zx", a, !=, b, __VA_ARGS__)

/* int64_t */
#define expect_d64_eq(a, b, ...) TEST_CMP_FAMILY_EXPECT_(int64_t, "%" PRId64, a, ==, b, __VA_ARGS__)
#define expect_d64_ne(a, b, ...) TEST_CMP_FAMILY_EXPECT_(int64_t, "%" PRId64, a, !=, b, __VA_ARGS__)
#define expect_d64_lt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(int64_t, "%" PRId64, a, <, b, __VA_ARGS__)
#define expect_d64_le(a, b, ...) TEST_CMP_FAMILY_EXPECT_(int64_t, "%" PRId64, a, <=, b, __VA_ARGS__)
#define expect_d64_gt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(int64_t, "%" PRId64, a, >, b, __VA_ARGS__)
#define expect_d64_ge(a, b, ...) TEST_CMP_FAMILY_EXPECT_(int64_t, "%" PRId64, a, >=, b, __VA_ARGS__)
#define assert_d64_eq(a, b, ...) TEST_CMP_FAMILY_ASSERT_(int64_t, "%" PRId64, a, ==, b, __VA_ARGS__)
#define assert_d64_ne(a, b, ...) TEST_CMP_FAMILY_ASSERT_(int64_t, "%" PRId64, a, !=, b, __VA_ARGS__)
#define assert_d64_lt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(int64_t, "%" PRId64, a, <, b, __VA_ARGS__)
#define assert_d64_le(a, b, ...) TEST_CMP_FAMILY_ASSERT_(int64_t, "%" PRId64, a, <=, b, __VA_ARGS__)
#define assert_d64_gt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(int64_t, "%" PRId64, a, >, b, __VA_ARGS__)
#define assert_d64_ge(a, b, ...) TEST_CMP_FAMILY_ASSERT_(int64_t, "%" PRId64, a, >=, b, __VA_ARGS__)

/* uint64_t */
#define expect_u64_eq(a, b, ...) TEST_CMP_FAMILY_EXPECT_(uint64_t, "%" PRIu64, a, ==, b, __VA_ARGS__)
#define expect_u64_ne(a, b, ...) TEST_CMP_FAMILY_EXPECT_(uint64_t, "%" PRIu64, a, !=, b, __VA_ARGS__)
#define expect_u64_lt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(uint64_t, "%" PRIu64, a, <, b, __VA_ARGS__)
#define expect_u64_le(a, b, ...) TEST_CMP_FAMILY_EXPECT_(uint64_t, "%" PRIu64, a, <=, b, __VA_ARGS__)
#define expect_u64_gt(a, b, ...) TEST_CMP_FAMILY_EXPECT_(uint64_t, "%" PRIu64, a, >, b, __VA_ARGS__)
#define expect_u64_ge(a, b, ...) TEST_CMP_FAMILY_EXPECT_(uint64_t, "%" PRIu64, a, >=, b, __VA_ARGS__)
#define assert_u64_eq(a, b, ...) TEST_CMP_FAMILY_ASSERT_(uint64_t, "%" PRIu64, a, ==, b, __VA_ARGS__)
#define assert_u64_ne(a, b, ...) TEST_CMP_FAMILY_ASSERT_(uint64_t, "%" PRIu64, a, !=, b, __VA_ARGS__)
#define assert_u64_lt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(uint64_t, "%" PRIu64, a, <, b, __VA_ARGS__)
#define assert_u64_le(a, b, ...) TEST_CMP_FAMILY_ASSERT_(uint64_t, "%" PRIu64, a, <=, b, __VA_ARGS__)
#define assert_u64_gt(a, b, ...) TEST_CMP_FAMILY_ASSERT_(uint64_t, "%" PRIu64, a, >, b, __VA_ARGS__)
#define assert_u64_ge(a, b, ...) TEST_CMP_FAMILY_ASSERT_(uint64_t, "%" PRIu64, a, >=, b, __VA_ARGS__)

/* booleans */
#define TEST_BOOL_(a, want, fatal, ...)                                                            \
    do {                                                                                           \
        bool a_ = (a);                                                                             \
        if (a_ != (want)) {                                                                        \
            test_fail_(__FILE__, __LINE__, fatal, "(" #a ") == " #want " --> " #want " expected",  \
                       " " __VA_ARGS__);                                                              \
        }                                                                                          \
    } while (0)
#define expect_true(a, ...) TEST_BOOL_(a, true, false, __VA_ARGS__)
#define expect_false(a, ...) TEST_BOOL_(a, false, false, __VA_ARGS__)
#define assert_true(a, ...) TEST_BOOL_(a, true, true, __VA_ARGS__)
#define assert_false(a, ...) TEST_BOOL_(a, false, true, __VA_ARGS__)

/* strings (NULL compares unequal to everything but NULL) */
#define TEST_STR_(a, b, want_eq, fatal, ...)                                                       \
    do {                                                                                           \
        const char *a_ = (a), *b_ = (b);                                                           \
        bool eq_ = (a_ == NULL || b_ == NULL) ? a_ == b_ : strcmp(a_, b_) == 0;                    \
        if (eq_ != (want_eq)) {                                                                    \
            char cond_[512];                                                                       \
            snprintf(cond_, sizeof(cond_), "(%s) %s (%s) --> \"%s\" %s \"%s\"", #a,                \
                     (want_eq) ? "==" : "!=", #b, a_ ? a_ : "(null)", (want_eq) ? "==" : "!=",     \
                     b_ ? b_ : "(null)");                                                          \
            test_fail_(__FILE__, __LINE__, fatal, cond_, " " __VA_ARGS__);                           \
        }                                                                                          \
    } while (0)
#define expect_str_eq(a, b, ...) TEST_STR_(a, b, true, false, __VA_ARGS__)
#define expect_str_ne(a, b, ...) TEST_STR_(a, b, false, false, __VA_ARGS__)
#define assert_str_eq(a, b, ...) TEST_STR_(a, b, true, true, __VA_ARGS__)
#define assert_str_ne(a, b, ...) TEST_STR_(a, b, false, true, __VA_ARGS__)

#define expect_not_reached(...) test_fail_(__FILE__, __LINE__, false, "unreachable code reached", " " __VA_ARGS__)
#define assert_not_reached(...) test_fail_(__FILE__, __LINE__, true, "unreachable code reached", " " __VA_ARGS__)

/* ---- processes ---- */

/*
 * Run fn(arg) in a forked child and return its wait status (as from waitpid), or -1 if the child
 * could not be started. In the child the failure count starts at zero; the child exits with
 * status 0 if fn returns without a failed check, 1 otherwise; a failed assert_* exits it with 1.
 * If errbuf is not NULL the child's stderr is captured there (NUL-terminated, truncated to
 * errcap - 1 bytes); otherwise it goes to the parent's stderr. A child still alive after
 * timeout_s seconds is killed with SIGKILL (status then shows SIGKILL). stdout is flushed first.
 */
int test_fork_run(void (*fn)(void *), void *arg, char *errbuf, size_t errcap, unsigned timeout_s);

/* Human-readable description of a wait status ("exit 0", "signal 6 (Aborted)", ...). */
const char *test_status_str(int status, char *buf, size_t cap);

/*
 * expect_abort_line(fn, arg, prefix, substr, ptr, fmt, ...): run fn(arg) in a forked child (core
 * dumps off, stderr captured) and check that the child dies from SIGABRT and that its stderr has a
 * line that starts with `prefix` ("" for any), contains `substr`, and, if ptr is not NULL, names ptr
 * as a hexadecimal number ("0x..." with any number of leading zeros, either case). Otherwise it
 * records an expect_* failure at the caller's file:line that shows the status and the captured
 * stderr. Evaluates to true if the check passed.
 */
#define expect_abort_line(fn, arg, prefix, substr, ptr, ...)                                       \
    test_expect_abort_(__FILE__, __LINE__, fn, arg, prefix, substr, (const void *)(ptr),           \
                       " " __VA_ARGS__)
bool test_expect_abort_(const char *file, int line, void (*fn)(void *), void *arg,
                        const char *prefix, const char *substr, const void *ptr, const char *fmt,
                        ...) __attribute__((format(printf, 8, 9)));

/*
 * Does `text` have a line that starts with `prefix`, contains `substr` and, if ptr is not NULL, a
 * "0x<hex>" number equal to ptr? (The matcher behind expect_abort_line.)
 */
bool test_text_has_line(const char *text, const char *prefix, const char *substr,
                        const void *ptr);

/* ---- time, randomness, patterns, memory ---- */

/* STRESS_SECONDS from the environment (a positive number, fractions allowed), default 3. */
double test_seconds(void);
/* Monotonic clock in seconds. */
double test_now(void);
/* Process resident set size in bytes, from /proc/self/statm (0 if unreadable). */
size_t test_rss_bytes(void);
/* Virtual size of the process in bytes, from /proc/self/statm (0 if unreadable). */
size_t test_vm_bytes(void);
/* The OS page size. */
size_t test_page_size(void);

/* True when built with ThreadSanitizer / AddressSanitizer (some tests scale down or skip). */
bool test_under_tsan(void);

/* A cheap, seedable PRNG (splitmix64 seeding an xorshift64*); one state per thread. */
typedef struct {
    uint64_t s;
} test_prng_t;
void test_prng_init(test_prng_t *prng, uint64_t seed);
uint64_t test_prng_next(test_prng_t *prng);
/* Uniform in [0, n); n > 0. */
uint64_t test_prng_range(test_prng_t *prng, uint64_t n);
/* A seed for this run: TEST_SEED from the environment if set, else time-based; printed once. */
uint64_t test_seed(void);

/*
 * Pattern fill/check: byte i of a block filled with seed s is a function of (s, i) only, so a
 * block can be checked without keeping a copy. test_check returns the offset of the first byte
 * that differs, or SIZE_MAX if the whole range matches. `offset` lets one check a sub-range:
 * test_check(p + k, n, s, k) checks bytes [k, k + n) of a block filled from offset 0.
 */
void test_fill(void *p, size_t n, uint64_t seed);
size_t test_check_at(const void *p, size_t n, uint64_t seed, size_t offset);
#define test_check(p, n, seed) test_check_at((p), (n), (seed), 0)
void test_fill_at(void *p, size_t n, uint64_t seed, size_t offset);
/* The byte test_fill would write at `offset`. */
uint8_t test_pattern_byte(uint64_t seed, size_t offset);
/* Offset of the first byte of [p, p + n) that is not `c`, or SIZE_MAX. */
size_t test_find_not(const void *p, size_t n, uint8_t c);

/*
 * Reference size classes, computed independently of the allocator from jemalloc 5.3's rule
 * (reference notes §6.1/§6.2; LG_QUANTUM 4, 4 classes per doubling, small classes below 4 pages,
 * cache-oblivious large pad of one page):
 *   test_sz_s2u(size)         the usable size malloc(size) gives (size 0 -> 8); 0 if size exceeds
 *                             the largest class (0x7000000000000000);
 *   test_sz_sa2u(size, align) the usable size of an allocation with that alignment (jemalloc's
 *                             sz_sa2u: small only if alignment <= page), 0 on overflow.
 *   TEST_SZ_LARGE_MAXCLASS, test_sz_large_minclass() (4 pages), test_sz_small_maxclass().
 */
#define TEST_SZ_LARGE_MAXCLASS ((size_t)0x7000000000000000ULL)
size_t test_sz_s2u(size_t size);
size_t test_sz_sa2u(size_t size, size_t alignment);
size_t test_sz_large_minclass(void);
size_t test_sz_small_maxclass(void);

/* pthread_create/join that fail the test (assert) on error. */
void test_thread_create(pthread_t *thd, void *(*fn)(void *), void *arg);
void test_thread_join(pthread_t thd, void **ret);

#ifdef __cplusplus
}
#endif

#endif /* ARENALLOC_TEST_H */
