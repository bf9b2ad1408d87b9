/*
 * test.c -- the runner behind test.h. It uses only libc (the tests link the *prefixed* core, so
 * malloc here is libc's) and never calls into arenalloc itself.
 */
#define _GNU_SOURCE
#include "test.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char *program_invocation_short_name;

/* ---- per-test state ---- */

enum test_status { TEST_PASS, TEST_FAIL, TEST_SKIP };

static const char *cur_name = "(none)";
static atomic_uint cur_failures;
static bool cur_skipped;
static char cur_skip_reason[256];
static pthread_t runner_thread;
static bool in_test;
static bool in_child; /* inside test_fork_run's child */
static sigjmp_buf test_jmp;
static pthread_mutex_t print_lock = PTHREAD_MUTEX_INITIALIZER;
/* Static so that siglongjmp back into test_run_all_ cannot clobber them. */
static unsigned npass, nfail, nskip;
static size_t test_index;

unsigned test_failures(void) { return atomic_load(&cur_failures); }

static bool cur_filtered;

void test_begin_(const char *name) {
    cur_name = name;
    const char *filter = getenv("TEST_FILTER");
    if (filter != NULL && *filter != '\0' && strstr(name, filter) == NULL && in_test &&
        pthread_equal(pthread_self(), runner_thread)) {
        cur_filtered = true;
        siglongjmp(test_jmp, 1);
    }
}

void test_end_(void) {}

/* Leave the current test: unwind to the runner if we are on its thread, else end the process. */
static void __attribute__((noreturn)) test_stop(void) {
    fflush(stdout);
    fflush(stderr);
    if (in_child) {
        _exit(1);
    }
    if (in_test && pthread_equal(pthread_self(), runner_thread)) {
        siglongjmp(test_jmp, 1);
    }
    /* A fatal failure on another thread: nothing sane to unwind; end the binary as failed. */
    printf("%s: FAIL (fatal check failed on a helper thread; stopping)\n", cur_name);
    printf("== %s: %u passed, %u failed, %u skipped\n", program_invocation_short_name, npass,
           nfail + 1, nskip);
    fflush(stdout);
    _exit(1);
}

void test_fail_(const char *file, int line, bool fatal, const char *cond, const char *fmt, ...) {
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *m = msg[0] == ' ' ? msg + 1 : msg;
    atomic_fetch_add(&cur_failures, 1);
    pthread_mutex_lock(&print_lock);
    printf("%s:%d: %s failed in %s%s: %s%s%s\n", file, line, fatal ? "assertion" : "expectation",
           cur_name, in_child ? " (forked child)" : "", cond, m[0] ? ": " : "", m);
    fflush(stdout);
    pthread_mutex_unlock(&print_lock);
    if (fatal) {
        test_stop();
    }
}

void test_skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cur_skip_reason, sizeof(cur_skip_reason), fmt, ap);
    va_end(ap);
    cur_skipped = true;
    if (in_child) {
        fflush(stdout);
        _exit(0);
    }
    test_stop();
}

/* ---- the per-test watchdog ---- */

static volatile sig_atomic_t watchdog_armed;

static void watchdog_handler(int sig) {
    (void)sig;
    if (!watchdog_armed) {
        return;
    }
    /* Async-signal-safe output only. */
    char buf[512];
    int n = snprintf(buf, sizeof(buf),
                     "%s: FAIL (timed out; TEST_TIMEOUT)\n== %s: %u passed, %u failed, %u skipped\n",
                     cur_name, program_invocation_short_name, npass, nfail + 1, nskip);
    if (n > 0) {
        ssize_t w = write(STDOUT_FILENO, buf, (size_t)n);
        (void)w;
    }
    _exit(1);
}

static unsigned test_timeout_seconds(void) {
    const char *s = getenv("TEST_TIMEOUT");
    if (s != NULL && *s != '\0') {
        return (unsigned)strtoul(s, NULL, 10);
    }
    double base = 60.0 + 4.0 * test_seconds();
    if (test_under_tsan()) {
        base *= 3;
    }
    return (unsigned)base;
}


int test_run_all_(test_fn_t *const *tests) {
    unsigned timeout = test_timeout_seconds();
    setvbuf(stdout, NULL, _IOLBF, 0);
    runner_thread = pthread_self();
    signal(SIGALRM, watchdog_handler);

    /* Each test learns its name from TEST_BEGIN (which also applies TEST_FILTER). */
    for (test_index = 0; tests[test_index] != NULL; test_index++) {
        atomic_store(&cur_failures, 0);
        cur_skipped = false;
        cur_skip_reason[0] = '\0';
        cur_name = "(unnamed)";
        cur_filtered = false;
        in_test = true;
        watchdog_armed = 1;
        alarm(timeout);
        double t0 = test_now();
        if (sigsetjmp(test_jmp, 1) == 0) {
            tests[test_index]();
        }
        double dt = test_now() - t0;
        alarm(0);
        watchdog_armed = 0;
        in_test = false;
        unsigned nf = atomic_load(&cur_failures);
        if (cur_filtered) {
            continue;
        }
        if (nf > 0) {
            nfail++;
            printf("%s: FAIL (%u failed check%s, %.2fs)\n", cur_name, nf, nf == 1 ? "" : "s", dt);
        } else if (cur_skipped) {
            nskip++;
            printf("%s: skip: %s\n", cur_name, cur_skip_reason);
        } else {
            npass++;
            printf("%s: pass (%.2fs)\n", cur_name, dt);
        }
    }
    printf("== %s: %u passed, %u failed, %u skipped\n", program_invocation_short_name, npass, nfail,
           nskip);
    fflush(stdout);
    return nfail == 0 ? 0 : 1;
}

/* ---- processes ---- */

static double deadline_left(double deadline) { return deadline - test_now(); }

int test_fork_run(void (*fn)(void *), void *arg, char *errbuf, size_t errcap, unsigned timeout_s) {
    int fds[2] = {-1, -1};
    if (errbuf != NULL) {
        if (errcap == 0 || pipe2(fds, O_CLOEXEC) != 0) {
            return -1;
        }
        errbuf[0] = '\0';
    }
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) {
        if (fds[0] >= 0) {
            close(fds[0]);
            close(fds[1]);
        }
        return -1;
    }
    if (pid == 0) {
        /* A top-level child leads a process group of its own, so that the parent can kill it
         * together with anything it forked (a hung grandchild must not outlive the test, nor
         * keep the stderr pipe open). Nested children stay in that group. */
        if (!in_child) {
            setpgid(0, 0);
        }
        in_child = true;
        watchdog_armed = 0;
        alarm(0);
        atomic_store(&cur_failures, 0);
        struct rlimit nocore = {0, 0};
        setrlimit(RLIMIT_CORE, &nocore);
        if (fds[1] >= 0) {
            dup2(fds[1], STDERR_FILENO);
            close(fds[0]);
            close(fds[1]);
            setvbuf(stderr, NULL, _IONBF, 0);
        }
        fn(arg);
        fflush(stdout);
        _exit(atomic_load(&cur_failures) == 0 ? 0 : 1);
    }

    bool group = !in_child;
    if (group) {
        setpgid(pid, pid); /* also here: whichever of parent and child runs first */
    }
    /* Kill the child, and with it its whole process group when it leads one. */
#define KILL_CHILD() (group ? kill(-pid, SIGKILL) : kill(pid, SIGKILL))
    double deadline = test_now() + (timeout_s ? timeout_s : 3600);
    size_t len = 0;
    bool killed = false;
    if (fds[0] >= 0) {
        close(fds[1]);
        for (;;) {
            double left = deadline_left(deadline);
            if (left <= 0) {
                KILL_CHILD();
                killed = true;
                break;
            }
            struct pollfd pfd = {.fd = fds[0], .events = POLLIN};
            int r = poll(&pfd, 1, (int)(left * 1000) + 1);
            if (r < 0 && errno == EINTR) {
                continue;
            }
            if (r <= 0) {
                continue; /* timeout: re-check the deadline */
            }
            char tmp[4096];
            ssize_t n = read(fds[0], tmp, sizeof(tmp));
            if (n < 0 && errno == EINTR) {
                continue;
            }
            if (n <= 0) {
                break; /* EOF: the child (and any child of it) closed stderr */
            }
            size_t room = errcap - 1 - len;
            size_t take = (size_t)n < room ? (size_t)n : room;
            memcpy(errbuf + len, tmp, take);
            len += take;
            errbuf[len] = '\0';
        }
        close(fds[0]);
    }
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, killed ? 0 : WNOHANG);
        if (w == pid) {
            break;
        }
        if (w < 0 && errno != EINTR) {
            return -1;
        }
        if (w == 0) {
            if (deadline_left(deadline) <= 0) {
                KILL_CHILD();
                killed = true;
                continue;
            }
            struct timespec ts = {0, 2 * 1000 * 1000};
            nanosleep(&ts, NULL);
        }
    }
    if (group) {
        kill(-pid, SIGKILL); /* stragglers the child left behind, if any */
    }
#undef KILL_CHILD
    return status;
}

const char *test_status_str(int status, char *buf, size_t cap) {
    if (status == -1) {
        snprintf(buf, cap, "could not fork/wait");
    } else if (WIFEXITED(status)) {
        snprintf(buf, cap, "exit %d", WEXITSTATUS(status));
    } else if (WIFSIGNALED(status)) {
        snprintf(buf, cap, "signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
    } else {
        snprintf(buf, cap, "wait status %#x", (unsigned)status);
    }
    return buf;
}

/* Does `line` (len bytes, no newline) name ptr as 0x<hex>? */
static bool line_names_ptr(const char *line, size_t len, const void *ptr) {
    uintptr_t want = (uintptr_t)ptr;
    for (size_t i = 0; i + 2 < len; i++) {
        if (line[i] == '0' && (line[i + 1] == 'x' || line[i + 1] == 'X')) {
            uintptr_t v = 0;
            size_t j = i + 2, digits = 0;
            for (; j < len; j++) {
                char c = line[j];
                unsigned d;
                if (c >= '0' && c <= '9') {
                    d = (unsigned)(c - '0');
                } else if (c >= 'a' && c <= 'f') {
                    d = (unsigned)(c - 'a' + 10);
                } else if (c >= 'A' && c <= 'F') {
                    d = (unsigned)(c - 'A' + 10);
                } else {
                    break;
                }
                v = (v << 4) | d;
                digits++;
            }
            if (digits > 0 && digits <= 2 * sizeof(uintptr_t) + 8 && v == want) {
                return true;
            }
        }
    }
    return false;
}

bool test_text_has_line(const char *text, const char *prefix, const char *substr,
                        const void *ptr) {
    size_t plen = prefix ? strlen(prefix) : 0;
    const char *line = text;
    while (line != NULL && *line != '\0') {
        const char *nl = strchr(line, '\n');
        size_t len = nl ? (size_t)(nl - line) : strlen(line);
        bool ok = len >= plen && memcmp(line, prefix ? prefix : "", plen) == 0;
        if (ok && substr != NULL) {
            /* strstr bounded to the line */
            size_t sl = strlen(substr);
            bool found = false;
            for (size_t i = 0; i + sl <= len && !found; i++) {
                found = memcmp(line + i, substr, sl) == 0;
            }
            ok = found;
        }
        if (ok && ptr != NULL) {
            ok = line_names_ptr(line, len, ptr);
        }
        if (ok) {
            return true;
        }
        line = nl ? nl + 1 : NULL;
    }
    return false;
}

bool test_expect_abort_(const char *file, int line, void (*fn)(void *), void *arg,
                        const char *prefix, const char *substr, const void *ptr, const char *fmt,
                        ...) {
    static char errbuf[16384];
    int status = test_fork_run(fn, arg, errbuf, sizeof(errbuf), 30);
    bool aborted = status != -1 && WIFSIGNALED(status) && WTERMSIG(status) == SIGABRT;
    bool msg_ok = test_text_has_line(errbuf, prefix, substr, ptr);
    if (aborted && msg_ok) {
        return true;
    }
    char msg[512], st[128], cond[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    char want_ptr[64] = "";
    if (ptr != NULL) {
        snprintf(want_ptr, sizeof(want_ptr), " naming %p", ptr);
    }
    snprintf(cond, sizeof(cond),
             "expected death by SIGABRT with a stderr line starting \"%s\" containing \"%s\"%s; "
             "got %s%s",
             prefix ? prefix : "", substr ? substr : "", want_ptr,
             test_status_str(status, st, sizeof(st)), aborted ? "" : " (not SIGABRT)");
    test_fail_(file, line, false, cond, "%s", msg[0] == ' ' ? msg + 1 : msg);
    pthread_mutex_lock(&print_lock);
    printf("    child's stderr:\n---\n%s%s---\n", errbuf,
           (errbuf[0] && errbuf[strlen(errbuf) - 1] != '\n') ? "\n" : "");
    pthread_mutex_unlock(&print_lock);
    return false;
}

/* ---- time and memory ---- */

double test_seconds(void) {
    const char *s = getenv("STRESS_SECONDS");
    if (s != NULL && *s != '\0') {
        double v = strtod(s, NULL);
        if (v > 0) {
            return v;
        }
    }
    return 3.0;
}

double test_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static bool statm_field(int idx, size_t *out) {
    int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        return false;
    }
    char buf[256];
    ssize_t n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return false;
    }
    buf[n] = '\0';
    char *p = buf;
    unsigned long v = 0;
    for (int i = 0; i <= idx; i++) {
        char *end;
        v = strtoul(p, &end, 10);
        if (end == p) {
            return false;
        }
        p = end;
    }
    *out = (size_t)v * test_page_size();
    return true;
}

size_t test_rss_bytes(void) {
    size_t v = 0;
    return statm_field(1, &v) ? v : 0;
}

size_t test_vm_bytes(void) {
    size_t v = 0;
    return statm_field(0, &v) ? v : 0;
}

size_t test_page_size(void) {
    static size_t page;
    if (page == 0) {
        long p = sysconf(_SC_PAGESIZE);
        page = p > 0 ? (size_t)p : 4096;
    }
    return page;
}

bool test_under_tsan(void) {
#if defined(__SANITIZE_THREAD__)
    return true;
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
    return true;
#else
    return false;
#endif
#else
    return false;
#endif
}

/* ---- PRNG ---- */

static uint64_t splitmix64(uint64_t *x) {
    uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

void test_prng_init(test_prng_t *prng, uint64_t seed) {
    uint64_t x = seed;
    prng->s = splitmix64(&x);
    if (prng->s == 0) {
        prng->s = 0x2545f4914f6cdd1dULL;
    }
}

uint64_t test_prng_next(test_prng_t *prng) {
    uint64_t x = prng->s;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    prng->s = x;
    return x * 0x2545f4914f6cdd1dULL;
}

uint64_t test_prng_range(test_prng_t *prng, uint64_t n) {
    /* Multiply-shift; the bias is irrelevant for tests. */
    return (uint64_t)(((unsigned __int128)test_prng_next(prng) * n) >> 64);
}

static uint64_t run_seed;

static void seed_init(void) {
    const char *s = getenv("TEST_SEED");
    if (s != NULL && *s != '\0') {
        run_seed = strtoull(s, NULL, 0);
    } else {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        run_seed = ((uint64_t)ts.tv_sec * 1000000007ULL) ^ (uint64_t)ts.tv_nsec ^
                   ((uint64_t)getpid() << 32);
    }
    printf("(seed: TEST_SEED=%#" PRIx64 ")\n", run_seed);
}

uint64_t test_seed(void) {
    static pthread_once_t once = PTHREAD_ONCE_INIT;
    pthread_once(&once, seed_init);
    return run_seed;
}

/* ---- patterns ---- */

/* Word k of the pattern for seed s: cheap, distinct per (s, k), never all-zero bytes in general. */
static inline uint64_t pattern_word(uint64_t seed, uint64_t k) {
    uint64_t z = seed + (k + 1) * 0x9e3779b97f4a7c15ULL;
    z ^= z >> 29;
    z *= 0xbf58476d1ce4e5b9ULL;
    z ^= z >> 32;
    return z;
}

uint8_t test_pattern_byte(uint64_t seed, size_t offset) {
    uint64_t w = pattern_word(seed, offset / 8);
    return (uint8_t)(w >> (8 * (offset % 8)));
}

void test_fill_at(void *p, size_t n, uint64_t seed, size_t offset) {
    uint8_t *b = p;
    size_t i = 0;
    /* Unaligned head (by offset, so words line up with test_fill's). */
    while (i < n && (offset + i) % 8 != 0) {
        b[i] = test_pattern_byte(seed, offset + i);
        i++;
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w = pattern_word(seed, (offset + i) / 8);
        memcpy(b + i, &w, 8);
    }
    for (; i < n; i++) {
        b[i] = test_pattern_byte(seed, offset + i);
    }
}

void test_fill(void *p, size_t n, uint64_t seed) { test_fill_at(p, n, seed, 0); }

size_t test_check_at(const void *p, size_t n, uint64_t seed, size_t offset) {
    const uint8_t *b = p;
    size_t i = 0;
    while (i < n && (offset + i) % 8 != 0) {
        if (b[i] != test_pattern_byte(seed, offset + i)) {
            return i;
        }
        i++;
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w = pattern_word(seed, (offset + i) / 8), got;
        memcpy(&got, b + i, 8);
        if (got != w) {
            for (size_t j = 0; j < 8; j++) {
                if (b[i + j] != test_pattern_byte(seed, offset + i + j)) {
                    return i + j;
                }
            }
        }
    }
    for (; i < n; i++) {
        if (b[i] != test_pattern_byte(seed, offset + i)) {
            return i;
        }
    }
    return SIZE_MAX;
}

size_t test_find_not(const void *p, size_t n, uint8_t c) {
    const uint8_t *b = p;
    size_t i = 0;
    uint64_t cw = 0x0101010101010101ULL * c;
    while (i < n && ((uintptr_t)(b + i) & 7) != 0) {
        if (b[i] != c) {
            return i;
        }
        i++;
    }
    for (; i + 8 <= n; i += 8) {
        uint64_t w;
        memcpy(&w, b + i, 8);
        if (w != cw) {
            break;
        }
    }
    for (; i < n; i++) {
        if (b[i] != c) {
            return i;
        }
    }
    return SIZE_MAX;
}

/* ---- reference size classes (jemalloc 5.3 sc.c / sz.h rule, written from the description) ---- */

size_t test_sz_large_minclass(void) { return 4 * test_page_size(); }

/* The class just below 4 pages (a power of two 2^k): 2^k - 2^(k-3), i.e. 14336 on 4 KiB pages. */
size_t test_sz_small_maxclass(void) {
    size_t lmin = test_sz_large_minclass();
    return lmin - lmin / 8;
}

size_t test_sz_s2u(size_t size) {
    if (size > TEST_SZ_LARGE_MAXCLASS) {
        return 0;
    }
    if (size <= 8) {
        return 8; /* the one tiny class (and size 0) */
    }
    /* x = ceil(log2(size)) */
    unsigned x = 64 - (unsigned)__builtin_clzll((unsigned long long)(size - 1));
    /* Below 2^(LG_QUANTUM + LG_NGROUP + 1) = 128 the spacing is the quantum (16); above it is
     * 2^(x - 1 - LG_NGROUP), four classes per doubling. */
    unsigned lg_delta = x < 7 ? 4 : x - 3;
    size_t delta = (size_t)1 << lg_delta;
    return (size + delta - 1) & ~(delta - 1);
}

size_t test_sz_sa2u(size_t size, size_t alignment) {
    size_t page = test_page_size();
    if (size <= test_sz_small_maxclass() && alignment <= page) {
        /* Small regions are aligned to the lowest set bit of their class size. */
        size_t ceil = (size + alignment - 1) & ~(alignment - 1);
        size_t usize = test_sz_s2u(ceil);
        if (usize < test_sz_large_minclass()) {
            return usize;
        }
    }
    if (alignment > TEST_SZ_LARGE_MAXCLASS) {
        return 0;
    }
    size_t usize;
    if (size <= test_sz_large_minclass()) {
        usize = test_sz_large_minclass();
    } else {
        usize = test_sz_s2u(size);
        if (usize == 0 || usize < size) {
            return 0;
        }
    }
    size_t align_ceil = (alignment + page - 1) & ~(page - 1);
    if (usize + page + align_ceil - page < usize) {
        return 0;
    }
    return usize;
}

/* ---- threads ---- */

void test_thread_create(pthread_t *thd, void *(*fn)(void *), void *arg) {
    int err = pthread_create(thd, NULL, fn, arg);
    assert_d_eq(err, 0, "pthread_create: %s", strerror(err));
}

void test_thread_join(pthread_t thd, void **ret) {
    int err = pthread_join(thd, ret);
    assert_d_eq(err, 0, "pthread_join: %s", strerror(err));
}

/*
 * Under ThreadSanitizer only (the symbol is ignored otherwise): the allocator's prefork handler
 * holds every arena and bin lock at once (as jemalloc's does), more than the 64 held locks
 * TSan's deadlock detector can track, which makes TSan itself CHECK-fail in any test that forks.
 * Data-race detection stays on.
 */
const char *__tsan_default_options(void);
__attribute__((visibility("default"))) const char *__tsan_default_options(void) {
    return "detect_deadlocks=0";
}
