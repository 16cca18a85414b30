/* Unit tests for common/src/util.c. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* cmocka.h needs stdarg.h, stddef.h, stdint.h and setjmp.h first. */
#include <cmocka.h>

#include "util.h"

static int
cmp_uuid(const void *a, const void *b)
{
    return strcmp((const char *)a, (const char *)b);
}

static void
test_uuid_v4_shape(void **state)
{
    (void)state;
    char u[UTIL_UUID_LEN + 1];

    for (int i = 0; i < 200; i++) {
        memset(u, 'x', sizeof(u));
        assert_int_equal(util_uuid_v4(u), 0);
        assert_int_equal(strlen(u), UTIL_UUID_LEN);
        assert_true(util_uuid_valid(u));
        assert_int_equal(u[14], '4'); /* version */
        assert_non_null(strchr("89ab", u[19]));
        for (int j = 0; j < UTIL_UUID_LEN; j++)
            assert_true((u[j] >= '0' && u[j] <= '9') || (u[j] >= 'a' && u[j] <= 'f')
                        || u[j] == '-');
    }
}

static void
test_uuid_v4_unique(void **state)
{
    (void)state;
    enum { N = 512 };
    static char ids[N][UTIL_UUID_LEN + 1];

    for (int i = 0; i < N; i++)
        assert_int_equal(util_uuid_v4(ids[i]), 0);
    qsort(ids, N, sizeof(ids[0]), cmp_uuid);
    for (int i = 1; i < N; i++)
        assert_int_not_equal(strcmp(ids[i - 1], ids[i]), 0);
}

static void
test_uuid_valid(void **state)
{
    (void)state;
    assert_true(util_uuid_valid("4f1c2a3b-0d9e-4f6a-8b7c-1234567890ab"));
    assert_true(util_uuid_valid("4F1C2A3B-0D9E-4F6A-8B7C-1234567890AB"));
    assert_true(util_uuid_valid("00000000-0000-0000-0000-000000000000"));
    assert_true(util_uuid_valid("4f1C2a3B-0d9e-4f6a-8b7c-1234567890aB"));

    assert_false(util_uuid_valid(NULL));
    assert_false(util_uuid_valid(""));
    assert_false(util_uuid_valid("4f1c2a3b-0d9e-4f6a-8b7c-1234567890a"));   /* short */
    assert_false(util_uuid_valid("4f1c2a3b-0d9e-4f6a-8b7c-1234567890abc")); /* long */
    assert_false(util_uuid_valid("4f1c2a3b0d9e-4f6a-8b7c-1234567890ab-"));  /* hyphens */
    assert_false(util_uuid_valid("4f1c2a3b-0d9e-4f6a-8b7c_1234567890ab"));
    assert_false(util_uuid_valid("4f1c2a3g-0d9e-4f6a-8b7c-1234567890ab")); /* g */
    assert_false(util_uuid_valid("{4f1c2a3b-0d9e-4f6a-8b7c-1234567890ab}"));
    assert_false(util_uuid_valid(" 4f1c2a3b-0d9e-4f6a-8b7c-1234567890a"));
    assert_false(util_uuid_valid("4f1c2a3b-0d9e-4f6a-8b7c-1234567890ab\n"));
}

static void
check_format(time_t sec, long nsec, const char *want)
{
    char out[UTIL_RFC3339_LEN + 1];
    struct timespec ts = {.tv_sec = sec, .tv_nsec = nsec};

    memset(out, 'x', sizeof(out));
    util_rfc3339(&ts, out);
    assert_string_equal(out, want);
}

static void
test_rfc3339_format(void **state)
{
    (void)state;
    check_format(0, 0, "1970-01-01T00:00:00.000Z");
    check_format(1700000000, 123456789, "2023-11-14T22:13:20.123Z");
    check_format(1700000000, 999999999, "2023-11-14T22:13:20.999Z");
    check_format(1700000000, 999999, "2023-11-14T22:13:20.000Z");
    check_format(1795255200, 7000000, "2026-11-21T10:00:00.007Z");
    check_format(1709251199, 0, "2024-02-29T23:59:59.000Z");
    check_format(-1, 0, "1969-12-31T23:59:59.000Z");
    check_format(253402300799, 0, "9999-12-31T23:59:59.000Z");
    /* Beyond four-digit years the output is clamped, never malformed. */
    check_format(253402300800, 0, "9999-12-31T23:59:59.999Z");
    /* Out-of-range nanoseconds are clamped too. */
    check_format(0, -5, "1970-01-01T00:00:00.000Z");
    check_format(0, 1000000000, "1970-01-01T00:00:00.999Z");
}

static void
check_parse(const char *s, time_t sec, long nsec)
{
    struct timespec ts = {.tv_sec = 42, .tv_nsec = 42};

    assert_int_equal(util_rfc3339_parse(s, &ts), 0);
    assert_int_equal(ts.tv_sec, sec);
    assert_int_equal(ts.tv_nsec, nsec);
}

static void
test_rfc3339_parse_valid(void **state)
{
    (void)state;
    check_parse("2026-11-21T10:00:00Z", 1795255200, 0);
    check_parse("2026-11-21t10:00:00z", 1795255200, 0);
    check_parse("1970-01-01T00:00:00Z", 0, 0);
    check_parse("1970-01-01T00:00:00.5Z", 0, 500000000);
    check_parse("1970-01-01T00:00:00.123Z", 0, 123000000);
    check_parse("1970-01-01T00:00:00.123456789Z", 0, 123456789);
    check_parse("1970-01-01T00:00:00.1234567891234Z", 0, 123456789);
    check_parse("1970-01-01T00:00:00.000000001Z", 0, 1);
    check_parse("2026-11-21T12:00:00+02:00", 1795255200, 0);
    check_parse("2026-11-21T04:30:00-05:30", 1795255200, 0);
    check_parse("2026-11-21T10:00:00+00:00", 1795255200, 0);
    check_parse("2026-11-21T10:00:00-00:00", 1795255200, 0);
    check_parse("2026-11-22T09:59:00+23:59", 1795255200, 0);
    check_parse("2024-02-29T23:59:59Z", 1709251199, 0);
    check_parse("2000-02-29T12:00:00Z", 951825600, 0);
    check_parse("1969-12-31T23:59:59Z", -1, 0);
    check_parse("0001-01-01T00:00:00Z", -62135596800LL, 0);
    check_parse("9999-12-31T23:59:59Z", 253402300799LL, 0);
    check_parse("2024-12-31T23:59:59.999Z", 1735689599, 999000000);
}

static void
test_rfc3339_parse_invalid(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "2026",
        "2026-11-21",
        "2026-11-21T10:00:00",        /* no zone */
        "2026-11-21T10:00Z",          /* no seconds */
        "2026-11-21 10:00:00Z",       /* space */
        "2026-11-21T10:00:00ZZ",      /* trailing */
        "2026-11-21T10:00:00Z ",      /* trailing space */
        " 2026-11-21T10:00:00Z",      /* leading space */
        "2026-13-01T00:00:00Z",       /* month 13 */
        "2026-00-01T00:00:00Z",       /* month 0 */
        "2026-01-00T00:00:00Z",       /* day 0 */
        "2026-01-32T00:00:00Z",       /* day 32 */
        "2026-02-30T00:00:00Z",       /* Feb 30 */
        "2023-02-29T00:00:00Z",       /* not a leap year */
        "1900-02-29T00:00:00Z",       /* century, not a leap year */
        "2026-04-31T00:00:00Z",       /* April has 30 */
        "2026-11-21T24:00:00Z",       /* hour 24 */
        "2026-11-21T10:60:00Z",       /* minute 60 */
        "2026-11-21T10:00:60Z",       /* second 60 */
        "2026-11-21T10:00:00.Z",      /* empty fraction */
        "2026-11-21T10:00:00,5Z",     /* comma fraction */
        "2026-11-21T10:00:00+24:00",  /* offset hour */
        "2026-11-21T10:00:00+02:60",  /* offset minute */
        "2026-11-21T10:00:00+0200",   /* no colon */
        "2026-11-21T10:00:00+02",     /* short offset */
        "2026-11-21T10:00:00+02:00Z", /* trailing after offset */
        "26-11-21T10:00:00Z",         /* two-digit year */
        "2026-1-21T10:00:00Z",        /* one-digit month */
        "2026/11/21T10:00:00Z",
        "2026-11-21T1a:00:00Z",
        "+2026-11-21T10:00:00Z",
        NULL,
    };
    struct timespec ts = {.tv_sec = 7, .tv_nsec = 7};

    for (size_t i = 0; bad[i] != NULL; i++) {
        if (util_rfc3339_parse(bad[i], &ts) != -1)
            fail_msg("accepted '%s'", bad[i]);
    }
    assert_int_equal(util_rfc3339_parse(NULL, &ts), -1);
    assert_int_equal(util_rfc3339_parse("2026-11-21T10:00:00Z", NULL), -1);
    /* A failed parse leaves the output alone. */
    assert_int_equal(ts.tv_sec, 7);
    assert_int_equal(ts.tv_nsec, 7);
}

static void
test_rfc3339_round_trip(void **state)
{
    (void)state;
    char s[UTIL_RFC3339_LEN + 1];
    struct timespec in, out;

    for (int64_t t = -86400LL * 365 * 300; t < 86400LL * 365 * 300; t += 86400LL * 17 + 3607) {
        in.tv_sec = (time_t)t;
        in.tv_nsec = (long)((t & 0x3ff) % 1000) * 1000000;
        util_rfc3339(&in, s);
        assert_int_equal(util_rfc3339_parse(s, &out), 0);
        assert_int_equal(out.tv_sec, in.tv_sec);
        assert_int_equal(out.tv_nsec, in.tv_nsec);
    }
}

static void
test_now(void **state)
{
    (void)state;
    char s[UTIL_RFC3339_LEN + 1];
    struct timespec ts;
    int64_t before = util_now_ms();

    util_now_rfc3339(s);
    int64_t after = util_now_ms();
    assert_int_equal(strlen(s), UTIL_RFC3339_LEN);
    assert_int_equal(s[UTIL_RFC3339_LEN - 1], 'Z');
    assert_int_equal(util_rfc3339_parse(s, &ts), 0);
    int64_t ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
    assert_true(ms >= before && ms <= after);
    /* Sanity: the wall clock is after 2020 and agrees with time(). */
    assert_true(before > 1577836800000LL);
    assert_true(llabs(before / 1000 - (int64_t)time(NULL)) <= 2);

    int64_t m1 = util_mono_ns();
    int64_t m2 = util_mono_ns();
    assert_true(m1 > 0);
    assert_true(m2 >= m1);
}

static void
check_long_ok(const char *s, long min, long max, long want)
{
    long v = 12345;

    assert_int_equal(util_parse_long(s, min, max, &v), 0);
    assert_int_equal(v, want);
}

static void
check_long_bad(const char *s, long min, long max)
{
    long v = 12345;

    if (util_parse_long(s, min, max, &v) != -1)
        fail_msg("accepted '%s'", s != NULL ? s : "(null)");
    assert_int_equal(v, 12345);
}

static void
test_parse_long(void **state)
{
    (void)state;
    char buf[64];

    check_long_ok("0", 0, 10, 0);
    check_long_ok("42", 0, 100, 42);
    check_long_ok("-7", -10, 10, -7);
    check_long_ok("-0", 0, 0, 0);
    check_long_ok("007", 0, 10, 7);
    check_long_ok("1", 1, 65535, 1);
    check_long_ok("65535", 1, 65535, 65535);
    snprintf(buf, sizeof(buf), "%ld", LONG_MAX);
    check_long_ok(buf, LONG_MIN, LONG_MAX, LONG_MAX);
    snprintf(buf, sizeof(buf), "%ld", LONG_MIN);
    check_long_ok(buf, LONG_MIN, LONG_MAX, LONG_MIN);

    check_long_bad("0", 1, 65535);
    check_long_bad("65536", 1, 65535);
    check_long_bad("-1", 0, 10);
    check_long_bad("", 0, 10);
    check_long_bad(NULL, 0, 10);
    check_long_bad(" 1", 0, 10);
    check_long_bad("1 ", 0, 10);
    check_long_bad("\t1", 0, 10);
    check_long_bad("+1", 0, 10);
    check_long_bad("1a", 0, 10);
    check_long_bad("abc", 0, 10);
    check_long_bad("0x10", 0, 100);
    check_long_bad("1.0", 0, 10);
    check_long_bad("1e2", 0, 1000);
    check_long_bad("-", 0, 10);
    check_long_bad("--1", -10, 10);
    check_long_bad("- 1", -10, 10);
    check_long_bad("9223372036854775808", LONG_MIN, LONG_MAX);
    check_long_bad("-9223372036854775809", LONG_MIN, LONG_MAX);
    check_long_bad("99999999999999999999999", LONG_MIN, LONG_MAX);
    check_long_bad("5", 10, 1); /* min > max */
    assert_int_equal(util_parse_long("5", 0, 10, NULL), -1);
}

static void
test_secret_equal(void **state)
{
    (void)state;
    assert_true(util_secret_equal("s3cret-token", "s3cret-token"));
    assert_true(util_secret_equal("", ""));
    assert_false(util_secret_equal("s3cret-token", "s3cret-tokeN"));
    assert_false(util_secret_equal("X3cret-token", "s3cret-token"));
    assert_false(util_secret_equal("s3cret", "s3cret-token"));
    assert_false(util_secret_equal("s3cret-token", "s3cret"));
    assert_false(util_secret_equal("", "a"));
    assert_false(util_secret_equal("a", ""));
    assert_false(util_secret_equal(NULL, "a"));
    assert_false(util_secret_equal("a", NULL));
    assert_false(util_secret_equal(NULL, NULL));
    /* a longer than b where b is a prefix, and the reverse with a byte that
     * equals ~b: the length check alone must reject it. */
    assert_false(util_secret_equal("abc\xff", "abc"));
    assert_false(util_secret_equal("abc", "abc\x9e"));
}

static void
test_strlcpy(void **state)
{
    (void)state;
    char buf[8];

    memset(buf, 'x', sizeof(buf));
    assert_int_equal(util_strlcpy(buf, "abc", sizeof(buf)), 3);
    assert_string_equal(buf, "abc");
    assert_int_equal(util_strlcpy(buf, "abcdefgh", sizeof(buf)), 8);
    assert_string_equal(buf, "abcdefg");
    assert_int_equal(util_strlcpy(buf, "abcdefg", sizeof(buf)), 7);
    assert_string_equal(buf, "abcdefg");
    assert_int_equal(util_strlcpy(buf, "", sizeof(buf)), 0);
    assert_string_equal(buf, "");
    assert_int_equal(util_strlcpy(buf, "zz", 1), 2);
    assert_string_equal(buf, "");
    buf[0] = 'q';
    assert_int_equal(util_strlcpy(buf, "zz", 0), 2);
    assert_int_equal(buf[0], 'q');
}

static void
test_utf8_seq_len(void **state)
{
    (void)state;
    assert_int_equal(util_utf8_seq_len("a", 1), 1);
    assert_int_equal(util_utf8_seq_len("", 1), 1); /* NUL is a character */
    assert_int_equal(util_utf8_seq_len("a", 0), 0);
    assert_int_equal(util_utf8_seq_len("\xc3\xa9", 2), 2);         /* é */
    assert_int_equal(util_utf8_seq_len("\xc2\x80", 2), 2);         /* U+0080 */
    assert_int_equal(util_utf8_seq_len("\xe2\x82\xac", 3), 3);     /* € */
    assert_int_equal(util_utf8_seq_len("\xe0\xa0\x80", 3), 3);     /* U+0800 */
    assert_int_equal(util_utf8_seq_len("\xed\x9f\xbf", 3), 3);     /* U+D7FF */
    assert_int_equal(util_utf8_seq_len("\xee\x80\x80", 3), 3);     /* U+E000 */
    assert_int_equal(util_utf8_seq_len("\xef\xbf\xbf", 3), 3);     /* U+FFFF */
    assert_int_equal(util_utf8_seq_len("\xf0\x9f\x98\x80", 4), 4); /* emoji */
    assert_int_equal(util_utf8_seq_len("\xf0\x90\x80\x80", 4), 4); /* U+10000 */
    assert_int_equal(util_utf8_seq_len("\xf4\x8f\xbf\xbf", 4), 4); /* U+10FFFF */

    assert_int_equal(util_utf8_seq_len("\x80", 1), 0); /* stray continuation */
    assert_int_equal(util_utf8_seq_len("\xbf", 1), 0);
    assert_int_equal(util_utf8_seq_len("\xc0\x80", 2), 0);         /* overlong NUL */
    assert_int_equal(util_utf8_seq_len("\xc1\xbf", 2), 0);         /* overlong */
    assert_int_equal(util_utf8_seq_len("\xe0\x80\x80", 3), 0);     /* overlong */
    assert_int_equal(util_utf8_seq_len("\xe0\x9f\xbf", 3), 0);     /* overlong */
    assert_int_equal(util_utf8_seq_len("\xf0\x80\x80\x80", 4), 0); /* overlong */
    assert_int_equal(util_utf8_seq_len("\xf0\x8f\xbf\xbf", 4), 0); /* overlong */
    assert_int_equal(util_utf8_seq_len("\xed\xa0\x80", 3), 0);     /* U+D800 */
    assert_int_equal(util_utf8_seq_len("\xed\xbf\xbf", 3), 0);     /* U+DFFF */
    assert_int_equal(util_utf8_seq_len("\xf4\x90\x80\x80", 4), 0); /* U+110000 */
    assert_int_equal(util_utf8_seq_len("\xf5\x80\x80\x80", 4), 0);
    assert_int_equal(util_utf8_seq_len("\xff", 1), 0);
    assert_int_equal(util_utf8_seq_len("\xe2\x82\xac", 2), 0); /* cut short by n */
    assert_int_equal(util_utf8_seq_len("\xe2\x82", 3), 0);     /* cut short by NUL */
    assert_int_equal(util_utf8_seq_len("\xc3"
                                       "a",
                                       2),
                     0); /* bad continuation */
    assert_int_equal(util_utf8_seq_len("\xe2\x82"
                                       "a",
                                       3),
                     0);
    assert_int_equal(util_utf8_seq_len("\xf0\x9f\x98"
                                       "a",
                                       4),
                     0);
}

static void
test_utf8_valid(void **state)
{
    (void)state;
    size_t bad = 999;
    const char ok[] = "plain \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";

    assert_true(util_utf8_valid(ok, sizeof(ok) - 1, &bad));
    assert_int_equal(bad, 999);
    assert_true(util_utf8_valid("", 0, NULL));
    assert_true(util_utf8_valid("a\0b", 3, NULL));

    assert_false(util_utf8_valid("abc\xff", 4, &bad));
    assert_int_equal(bad, 3);
    assert_false(util_utf8_valid("\xc3\xa9\xed\xa0\x80", 5, &bad));
    assert_int_equal(bad, 2);
    /* A sequence cut by len is invalid even if more bytes follow in memory. */
    assert_false(util_utf8_valid("ab\xe2\x82\xac", 4, &bad));
    assert_int_equal(bad, 2);
    assert_true(util_utf8_valid("ab\xe2\x82\xac", 5, NULL));
    assert_false(util_utf8_valid("\x80", 1, NULL));
}

static void
test_utoa(void **state)
{
    (void)state;
    static const unsigned long long vs[] = {0, 7, 10, 404, 1234567890ULL, 18446744073709551615ULL};
    for (size_t i = 0; i < sizeof(vs) / sizeof(vs[0]); i++) {
        char got[21], want[32];
        int n = snprintf(want, sizeof(want), "%llu", vs[i]);
        assert_int_equal(util_utoa(vs[i], got), (size_t)n);
        assert_string_equal(got, want);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_utoa),
        cmocka_unit_test(test_uuid_v4_shape),
        cmocka_unit_test(test_uuid_v4_unique),
        cmocka_unit_test(test_uuid_valid),
        cmocka_unit_test(test_rfc3339_format),
        cmocka_unit_test(test_rfc3339_parse_valid),
        cmocka_unit_test(test_rfc3339_parse_invalid),
        cmocka_unit_test(test_rfc3339_round_trip),
        cmocka_unit_test(test_now),
        cmocka_unit_test(test_parse_long),
        cmocka_unit_test(test_secret_equal),
        cmocka_unit_test(test_strlcpy),
        cmocka_unit_test(test_utf8_seq_len),
        cmocka_unit_test(test_utf8_valid),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
