/*
 * The configuration string a program defines (`const char *arenalloc_malloc_conf = "..."`, source
 * #3 of csrc/src/conf.h), and its place in the order: under MALLOC_CONF (this test's sidecar
 * conf_symbol.conf sets MALLOC_CONF=narenas:2 through test/run.sh), under ARENALLOC_MALLOC_CONF,
 * key by key. The prefixed build does not read jemalloc's plain `malloc_conf`, defined here too.
 * As in conf.c, the parent never calls into arenalloc; each case runs in a fresh forked child.
 */
#include "arenalloc.h"
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

const char *arenalloc_malloc_conf = "confirm_conf:true,abort_conf:false,narenas:1,"
                                    "zero_realloc:alloc,tcache:false";
const char *malloc_conf = "narenas:4,no_such_key:1"; /* not read by the prefixed build */

#define PREFIX "<arenalloc>: "

typedef struct {
    bool keep_env; /* inherit MALLOC_CONF from run.sh rather than set it */
    const char *env, *env2;
    unsigned narenas; /* expected */
} case_t;

static void body(void *arg) {
    const case_t *c = arg;
    if (!c->keep_env) {
        unsetenv("MALLOC_CONF");
        if (c->env != NULL) setenv("MALLOC_CONF", c->env, 1);
    }
    unsetenv("ARENALLOC_MALLOC_CONF");
    if (c->env2 != NULL) setenv("ARENALLOC_MALLOC_CONF", c->env2, 1);
    /* narenas:n -- MALLOCX_ARENA(n - 1) allocates, MALLOCX_ARENA(n + 1) does not (n: the huge
     * arena). */
    void *p = arenalloc_mallocx(64, MALLOCX_ARENA(c->narenas - 1));
    expect_ptr_not_null(p, "arena %u", c->narenas - 1);
    arenalloc_free(p);
    expect_ptr_null(arenalloc_mallocx(64, MALLOCX_ARENA(c->narenas + 1)), "arena %u",
                    c->narenas + 1);
    /* The program's other keys hold whatever the environment says about narenas. */
    void *q = arenalloc_malloc(100);
    void *r = arenalloc_realloc(q, 0);
    expect_ptr_not_null(r, "zero_realloc:alloc from the program's string");
    arenalloc_free(r);
    /* tcache:false from the program's string: a freed block is the next one handed out. */
    void *a = arenalloc_mallocx(48, MALLOCX_ARENA(0));
    arenalloc_free(a);
    void *b = arenalloc_mallocx(48, MALLOCX_ARENA(0));
    expect_ptr_eq(a, b, "");
    arenalloc_free(b);
}

static char errbuf[1 << 14];

static void run(const case_t *c, const char *what) {
    int st = test_fork_run(body, (void *)c, errbuf, sizeof(errbuf), 60);
    char s[128];
    expect_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0, "%s: %s; stderr:\n%s", what,
                test_status_str(st, s, sizeof(s)), errbuf);
    expect_true(test_text_has_line(errbuf, PREFIX,
                                   "malloc_conf #3 (string pointed to by the global variable "
                                   "arenalloc_malloc_conf): \"confirm_conf:true,abort_conf:false,"
                                   "narenas:1,zero_realloc:alloc,tcache:false\"",
                                   NULL),
                "%s: the program's string is echoed:\n%s", what, errbuf);
    expect_false(test_text_has_line(errbuf, PREFIX, "malloc_conf #2", NULL), "%s", what);
    expect_false(test_text_has_line(errbuf, PREFIX, "no_such_key", NULL), "%s", what);
    expect_false(test_text_has_line(errbuf, PREFIX, "Invalid", NULL), "%s:\n%s", what, errbuf);
}

TEST_BEGIN(test_symbol_alone) {
    case_t c = {false, NULL, NULL, 1};
    run(&c, "no environment");
}
TEST_END

TEST_BEGIN(test_env_over_symbol) {
    case_t c = {false, "narenas:2", NULL, 2};
    run(&c, "MALLOC_CONF=narenas:2");
    const char *echo3 = strstr(errbuf, "malloc_conf #3"), *echo4 = strstr(errbuf, "malloc_conf #4");
    expect_true(echo3 != NULL && echo4 != NULL && echo3 < echo4, "#3 is applied before #4");
}
TEST_END

TEST_BEGIN(test_arenalloc_env_over_all) {
    case_t c = {false, "narenas:2", "narenas:3", 3};
    run(&c, "ARENALLOC_MALLOC_CONF=narenas:3");
    case_t d = {false, NULL, "narenas:2", 2};
    run(&d, "ARENALLOC_MALLOC_CONF=narenas:2");
}
TEST_END

TEST_BEGIN(test_sidecar) {
    const char *env = getenv("MALLOC_CONF");
    if (env == NULL) test_skip("MALLOC_CONF unset: run this through test/run.sh (the sidecar)");
    expect_str_eq(env, "narenas:2", "test/run.sh passes the sidecar as MALLOC_CONF");
    case_t c = {true, NULL, NULL, 2};
    run(&c, "MALLOC_CONF from the sidecar");
}
TEST_END

int main(void) {
    return run_tests(test_symbol_alone, test_env_over_symbol, test_arenalloc_env_over_all,
                     test_sidecar);
}
