/* Unit tests for common/src/secret.c: random tokens, SHA-256, constant-time
 * equality, PBKDF2-HMAC-SHA256 against RFC 7914's vectors and the stored
 * password hash format. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs stdarg.h, stddef.h, stdint.h and setjmp.h first. */
#include <cmocka.h>

#include "secret.h"

static void
hex_of(const unsigned char *b, size_t n, char *out)
{
    for (size_t i = 0; i < n; i++)
        snprintf(out + 2 * i, 3, "%02x", b[i]);
}

static void
test_random(void **state)
{
    (void)state;
    unsigned char a[32] = {0}, b[32] = {0}, zero[32] = {0};

    assert_int_equal(secret_random(a, sizeof(a)), 0);
    assert_int_equal(secret_random(b, sizeof(b)), 0);
    assert_memory_not_equal(a, b, sizeof(a));
    assert_memory_not_equal(a, zero, sizeof(a));
    assert_int_equal(secret_random(a, 0), 0);
}

static void
test_token(void **state)
{
    (void)state;
    char t1[80], t2[80];

    assert_int_equal(secret_token("brk_", 32, t1, sizeof(t1)), 0);
    assert_int_equal(strlen(t1), 4 + 43);
    assert_memory_equal(t1, "brk_", 4);
    assert_int_equal(
        strspn(t1 + 4, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"), 43);
    assert_int_equal(secret_token(NULL, 32, t2, sizeof(t2)), 0);
    assert_int_equal(strlen(t2), 43);
    assert_string_not_equal(t1 + 4, t2);
    /* Too small a buffer, too many or no bytes: "" and -1. */
    assert_int_equal(secret_token("brk_", 32, t1, 47), -1);
    assert_string_equal(t1, "");
    assert_int_equal(secret_token("", 65, t1, sizeof(t1)), -1);
    assert_int_equal(secret_token("", 0, t1, sizeof(t1)), -1);
    assert_int_equal(secret_token("brk_", 32, t1, 48), 0);
}

static void
test_sha256(void **state)
{
    (void)state;
    char hex[SECRET_SHA256_HEX + 1];

    secret_sha256_hex("abc", 3, hex);
    assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    secret_sha256_hex("", 0, hex);
    assert_string_equal(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_equal(void **state)
{
    (void)state;
    assert_true(secret_equal("abcd", 4, "abcd", 4));
    assert_false(secret_equal("abcd", 4, "abce", 4));
    assert_false(secret_equal("abcd", 4, "abc", 3));
    assert_false(secret_equal("abc", 3, "abcd", 4));
    assert_true(secret_equal("", 0, "", 0));
    assert_false(secret_equal("\0a", 2, "\0b", 2));
}

static void
test_pbkdf2_rfc7914(void **state)
{
    (void)state;
    unsigned char dk[64];
    char hex[129];

    /* RFC 7914 section 11, PBKDF2-HMAC-SHA256 test vectors. */
    assert_int_equal(secret_pbkdf2_sha256("passwd", 6, (const unsigned char *)"salt", 4, 1, dk, 64),
                     0);
    hex_of(dk, 64, hex);
    assert_string_equal(hex, "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc"
                             "49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783");
    assert_int_equal(
        secret_pbkdf2_sha256("Password", 8, (const unsigned char *)"NaCl", 4, 80000, dk, 64), 0);
    hex_of(dk, 64, hex);
    assert_string_equal(hex, "4ddcd8f60b98be21830cee5ef22701f9641a4418d04c0414aeff08876b34ab56"
                             "a1d425a1225833549adb841b51c9b3176a272bdebba1d078478f62b397f33c8d");
    assert_int_equal(secret_pbkdf2_sha256("p", 1, (const unsigned char *)"s", 1, 0, dk, 32), -1);
}

static void
test_password_hash(void **state)
{
    (void)state;
    char h1[SECRET_HASH_MAX], h2[SECRET_HASH_MAX], prefix[64];

    assert_int_equal(secret_password_hash("correct horse", 0, h1, sizeof(h1)), 0);
    snprintf(prefix, sizeof(prefix), "pbkdf2-sha256$%d$", SECRET_PBKDF2_ITERATIONS);
    assert_memory_equal(h1, prefix, strlen(prefix));
    assert_true(SECRET_PBKDF2_ITERATIONS >= 210000);
    /* 22 characters of salt, 43 of hash, no padding. */
    assert_int_equal(strlen(h1), strlen(prefix) + 22 + 1 + 43);
    assert_null(strchr(h1, '='));
    assert_true(secret_password_verify("correct horse", h1));
    assert_false(secret_password_verify("correct horsE", h1));
    assert_false(secret_password_verify("", h1));
    assert_false(secret_password_verify(NULL, h1));
    assert_false(secret_password_outdated(h1));
    /* A fresh salt every time. */
    assert_int_equal(secret_password_hash("correct horse", 0, h2, sizeof(h2)), 0);
    assert_string_not_equal(h1, h2);
    assert_true(secret_password_verify("correct horse", h2));
    /* Fewer rounds verify with their own count and are outdated. */
    assert_int_equal(secret_password_hash("short", 1000, h2, sizeof(h2)), 0);
    assert_memory_equal(h2, "pbkdf2-sha256$1000$", 19);
    assert_true(secret_password_verify("short", h2));
    assert_true(secret_password_outdated(h2));
    /* No room: "" and -1. */
    assert_int_equal(secret_password_hash("x", 1000, h2, 40), -1);
    assert_string_equal(h2, "");
}

static void
test_password_known(void **state)
{
    (void)state;
    /* Made by Python's hashlib.pbkdf2_hmac('sha256', pw, bytes(range(16)), 1000, 32). */
    const char *stored = "pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw$"
                         "ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4";
    assert_true(secret_password_verify("correct horse battery staple", stored));
    assert_false(secret_password_verify("correct horse battery stapl", stored));
}

static void
test_password_garbled(void **state)
{
    (void)state;
    const char *pw = "correct horse battery staple";
    const char *salt = "AAECAwQFBgcICQoLDA0ODw",
               *hash = "ppsXnjrdPB4KryJ6DrOqKqhkWrhv7PbKAMF1Eml8cZ4";
    char s[256];
    const char *bad[] = {
        NULL,
        "",
        "pbkdf2-sha256$",
        "pbkdf2-sha256$1000$",
        "pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw",
        "pbkdf2-sha256$1000$AAECAwQFBgcICQoLDA0ODw$",
        "$2b$12$abcdefghijklmnopqrstuuMq3L2Eb0eNqoGqN5YJ3xTt7rj8yGpzO",
        "plain text password",
    };

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        assert_false(secret_password_verify(pw, bad[i]));
        assert_true(secret_password_outdated(bad[i]));
    }
    /* The good text, then one part spoiled at a time. */
    snprintf(s, sizeof(s), "pbkdf2-sha256$1000$%s$%s", salt, hash);
    assert_true(secret_password_verify(pw, s));
    const char *counts[] = {"0", "999", "10000001", "abc", "+1000", " 1000", "1000 ", "", "01e3"};
    for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++) {
        snprintf(s, sizeof(s), "pbkdf2-sha256$%s$%s$%s", counts[i], salt, hash);
        assert_false(secret_password_verify(pw, s));
    }
    snprintf(s, sizeof(s), "PBKDF2-SHA256$1000$%s$%s", salt, hash);
    assert_false(secret_password_verify(pw, s));
    snprintf(s, sizeof(s), "pbkdf2-sha512$1000$%s$%s", salt, hash);
    assert_false(secret_password_verify(pw, s));
    snprintf(s, sizeof(s), "pbkdf2-sha256$1000$%s==$%s", salt, hash); /* padding */
    assert_false(secret_password_verify(pw, s));
    snprintf(s, sizeof(s), "pbkdf2-sha256$1000$%s$%s=", salt, hash);
    assert_false(secret_password_verify(pw, s));
    snprintf(s, sizeof(s), "pbkdf2-sha256$1000$%s$%.40s", salt, hash); /* short hash */
    assert_false(secret_password_verify(pw, s));
    snprintf(s, sizeof(s), "pbkdf2-sha256$1000$%s$%sAAAA", salt, hash); /* long hash */
    assert_false(secret_password_verify(pw, s));
    snprintf(s, sizeof(s), "pbkdf2-sha256$1000$AAEC$%s", hash); /* 3-byte salt */
    assert_false(secret_password_verify(pw, s));
    snprintf(s, sizeof(s), "pbkdf2-sha256$1000$%s$%s$", salt, hash);
    assert_false(secret_password_verify(pw, s));
    snprintf(s, sizeof(s), "pbkdf2-sha256$1000$%s+$%s", salt, hash); /* bad character */
    assert_false(secret_password_verify(pw, s));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random),         cmocka_unit_test(test_token),
        cmocka_unit_test(test_sha256),         cmocka_unit_test(test_equal),
        cmocka_unit_test(test_pbkdf2_rfc7914), cmocka_unit_test(test_password_hash),
        cmocka_unit_test(test_password_known), cmocka_unit_test(test_password_garbled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
