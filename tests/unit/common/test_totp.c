/* Unit tests for common/src/totp.c (RFC 6238 appendix B) and the codecs of
 * common/src/b64.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
/* cmocka.h needs stdarg.h, stddef.h, stdint.h and setjmp.h first. */
#include <cmocka.h>

#include "b64.h"
#include "totp.h"

static const char seed1[] = "12345678901234567890";
static const char seed256[] = "12345678901234567890123456789012";
static const char seed512[] = "1234567890123456789012345678901234567890"
                              "123456789012345678901234";

static const struct {
    int64_t t;
    const char *sha1, *sha256, *sha512;
} rfc6238[] = {
    {59, "94287082", "46119246", "90693936"},
    {1111111109, "07081804", "68084774", "25091201"},
    {1111111111, "14050471", "67062674", "99943326"},
    {1234567890, "89005924", "91819424", "93441116"},
    {2000000000, "69279037", "90698825", "38618901"},
    {20000000000LL, "65353130", "77737706", "47863826"},
};

static void
test_rfc6238_appendix_b(void **state)
{
    (void)state;
    char out[16];

    for (size_t i = 0; i < sizeof(rfc6238) / sizeof(rfc6238[0]); i++) {
        assert_int_equal(totp_code((const unsigned char *)seed1, 20, TOTP_SHA1, rfc6238[i].t, 30, 8,
                                   out, sizeof(out)),
                         0);
        assert_string_equal(out, rfc6238[i].sha1);
        assert_int_equal(totp_code((const unsigned char *)seed256, 32, TOTP_SHA256, rfc6238[i].t,
                                   30, 8, out, sizeof(out)),
                         0);
        assert_string_equal(out, rfc6238[i].sha256);
        assert_int_equal(totp_code((const unsigned char *)seed512, 64, TOTP_SHA512, rfc6238[i].t,
                                   30, 8, out, sizeof(out)),
                         0);
        assert_string_equal(out, rfc6238[i].sha512);
        /* Six digits are the last six of eight (the modulus is 10^6). */
        assert_int_equal(totp_code((const unsigned char *)seed1, 20, TOTP_SHA1, rfc6238[i].t, 30, 6,
                                   out, sizeof(out)),
                         0);
        assert_string_equal(out, rfc6238[i].sha1 + 2);
    }
}

static void
test_base32_secret(void **state)
{
    (void)state;
    char out[7];

    /* The appendix B SHA-1 seed as an app shows it, with spaces, lowercase,
     * and padding variants. */
    assert_int_equal(totp_now_code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ", 59, out), 0);
    assert_string_equal(out, "287082");
    assert_int_equal(totp_now_code("gezd gnbv gy3t qojq gezd gnbv gy3t qojq", 1111111109, out), 0);
    assert_string_equal(out, "081804");
    assert_int_equal(totp_now_code("GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ====", 59, out), 0);
    assert_string_equal(out, "287082");
    assert_int_equal(totp_now_code("GEZDGNBV1Y3TQOJQ", 59, out), -1); /* 1 is not base32 */
    assert_string_equal(out, "");
    assert_int_equal(totp_now_code("", 59, out), -1);
    assert_int_equal(totp_now_code(NULL, 59, out), -1);
    assert_int_equal(totp_now_code("GE==ZD", 59, out), -1);
}

static void
test_bad_arguments(void **state)
{
    (void)state;
    char out[16];
    const unsigned char *k = (const unsigned char *)seed1;

    assert_int_equal(totp_code(k, 20, TOTP_SHA1, 59, 0, 6, out, sizeof(out)), -1);
    assert_int_equal(totp_code(k, 20, TOTP_SHA1, 59, 30, 5, out, sizeof(out)), -1);
    assert_int_equal(totp_code(k, 20, TOTP_SHA1, 59, 30, 11, out, sizeof(out)), -1);
    assert_int_equal(totp_code(k, 20, TOTP_SHA1, 59, 30, 8, out, 8), -1);
    assert_int_equal(totp_code(k, 0, TOTP_SHA1, 59, 30, 6, out, sizeof(out)), -1);
    assert_int_equal(totp_code(k, 20, TOTP_SHA1, -1, 30, 6, out, sizeof(out)), -1);
}

static void
test_b64url(void **state)
{
    (void)state;
    const unsigned char bytes[] = {0xfb, 0xff, 0xbf, 0x00, 0x10};
    unsigned char back[16];
    char text[32];
    size_t n;

    assert_int_equal(b64url_encode(bytes, 5, false, text, sizeof(text)), 7);
    assert_string_equal(text, "-_-_ABA");
    assert_int_equal(b64url_encode(bytes, 5, true, text, sizeof(text)), 8);
    assert_string_equal(text, "-_-_ABA=");
    assert_int_equal(b64url_encode(bytes, 5, true, text, 8), 0); /* no room for the NUL */
    assert_int_equal(b64url_decode("-_-_ABA=", 8, B64_PAD_REQUIRED, back, sizeof(back), &n), 0);
    assert_int_equal(n, 5);
    assert_memory_equal(back, bytes, 5);
    assert_int_equal(b64url_decode("-_-_ABA", 7, B64_PAD_FORBIDDEN, back, sizeof(back), &n), 0);
    assert_int_equal(b64url_decode("-_-_ABA", 7, B64_PAD_OPTIONAL, back, sizeof(back), &n), 0);
    assert_int_equal(b64url_decode("-_-_ABA=", 8, B64_PAD_FORBIDDEN, back, sizeof(back), &n), -1);
    assert_int_equal(b64url_decode("-_-_ABA", 7, B64_PAD_REQUIRED, back, sizeof(back), &n), -1);
    /* Non-canonical: the unused bits of the last character are not zero. */
    assert_int_equal(b64url_decode("-_-_ABB", 7, B64_PAD_FORBIDDEN, back, sizeof(back), &n), -1);
    /* The standard alphabet's + and / are not URL-safe Base64. */
    assert_int_equal(b64url_decode("+/+/ABA", 7, B64_PAD_FORBIDDEN, back, sizeof(back), &n), -1);
    assert_int_equal(b64url_decode("A", 1, B64_PAD_OPTIONAL, back, sizeof(back), &n), -1);
    assert_int_equal(b64url_decode("-_-_ABA", 7, B64_PAD_FORBIDDEN, back, 4, &n), -1);
    assert_int_equal(b64url_decode("", 0, B64_PAD_FORBIDDEN, back, sizeof(back), &n), 0);
    assert_int_equal(n, 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238_appendix_b),
        cmocka_unit_test(test_base32_secret),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_b64url),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
