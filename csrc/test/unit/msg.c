/*
 * Unit tests for msg.h's formatter: al_snprintf agrees with the C library's snprintf on every
 * conversion, length modifier, flag and width it supports (including extreme values and
 * truncation), returns the untruncated length and always NUL-terminates.
 */
#include "test.h"

#include <limits.h>
#include <stdio.h>
#include <sys/types.h>

#include "msg.h"

/* Each case formats with both and compares text and return value. */
#define SAME(fmt, ...)                                                                             \
    do {                                                                                           \
        char want_[100], got_[100];                                                                \
        int wn_ = snprintf(want_, sizeof(want_), fmt, __VA_ARGS__);                                \
        size_t gn_ = al_snprintf(got_, sizeof(got_), fmt, __VA_ARGS__);                            \
        expect_str_eq(got_, want_, "format \"%s\"", fmt);                                          \
        expect_zu_eq(gn_, (size_t)wn_, "length of \"%s\"", fmt);                                   \
    } while (0)

TEST_BEGIN(test_conversions) {
    SAME("%s|%c|%%", "text", 'x');
    SAME("%d %d %d %i", 0, -1, INT_MIN, INT_MAX);
    SAME("%u %u %x %x", 0u, UINT_MAX, 0xdeadbeefu, 0u);
    SAME("%ld %ld %lu %lx", LONG_MIN, LONG_MAX, ULONG_MAX, ULONG_MAX);
    SAME("%lld %lld %llu %llx", LLONG_MIN, LLONG_MAX, ULLONG_MAX, 0x123456789abcdefULL);
    SAME("%zu %zd %zd %zx", SIZE_MAX, (ssize_t)-5, (ssize_t)SSIZE_MAX, (size_t)4096);
    SAME("%p", (void *)(uintptr_t)0x7f0012345678);
    SAME("empty:%s.", "");
}
TEST_END

TEST_BEGIN(test_widths_and_flags) {
    SAME("[%5d][%-5d][%05d][%5d][%05d]", 42, 42, 42, -42, -42);
    SAME("[%1d][%0d][%2d]", 12345, 7, 123);
    SAME("[%12zu][%-12zu][%012zu]", (size_t)0, (size_t)987654321, SIZE_MAX);
    SAME("[%8s][%-8s][%2s][%-2s]", "ab", "ab", "abcd", "abcd");
    SAME("[%*s][%*s][%-*s]", 6, "x", -6, "y", 3, "z");
    SAME("[%*d][%*zu]", 7, -3, 4, (size_t)99);
    SAME("[%3c][%-3c]", 'a', 'b');
    SAME("[%04x][%8llx][%-8lu]", 0x1fu, 0xabcULL, 17UL);
}
TEST_END

TEST_BEGIN(test_truncation) {
    char buf[8];
    memset(buf, 'Z', sizeof(buf));
    size_t n = al_snprintf(buf, sizeof(buf), "%10s|%d", "abc", 12345);
    expect_zu_eq(n, 16, "the length the whole output would have");
    expect_str_eq(buf, "       ", "cut to size - 1 bytes and terminated");
    n = al_snprintf(buf, 1, "%s", "anything");
    expect_zu_eq(n, 8, "");
    expect_c_eq(buf[0], '\0', "size 1: just the terminator");
    buf[0] = 'Q';
    n = al_snprintf(buf, 0, "%d", 123);
    expect_zu_eq(n, 3, "");
    expect_c_eq(buf[0], 'Q', "size 0 writes nothing");
}
TEST_END

int main(void) {
    return run_tests(test_conversions, test_widths_and_flags, test_truncation);
}
