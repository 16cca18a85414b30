/* Unit tests for common/src/fernet.c against the official Fernet vectors
 * (tests/vectors/fernet: generate, verify, invalid), plus key rings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
/* cmocka.h needs stdarg.h, stddef.h, stdint.h and setjmp.h first. */
#include <cmocka.h>
#include <json-c/json.h>

#include "fernet.h"
#include "util.h"

#define VECTORS "tests/vectors/fernet/"

static json_object *
load(const char *name)
{
    char path[256];
    json_object *doc;

    snprintf(path, sizeof(path), VECTORS "%s", name);
    doc = json_object_from_file(path);
    assert_non_null(doc);
    assert_true(json_object_is_type(doc, json_type_array));
    assert_true(json_object_array_length(doc) > 0);
    return doc;
}

static const char *
field(json_object *o, const char *name)
{
    json_object *v = NULL;

    assert_true(json_object_object_get_ex(o, name, &v));
    return json_object_get_string(v);
}

static int64_t
when(json_object *o)
{
    struct timespec ts;

    assert_int_equal(util_rfc3339_parse(field(o, "now"), &ts), 0);
    return ts.tv_sec;
}

static void
ring_of(json_object *o, fernet_keys *ring)
{
    char err[128];

    assert_int_equal(fernet_keys_parse(field(o, "secret"), ring, err, sizeof(err)), 0);
    assert_int_equal(ring->n, 1);
}

static void
test_generate(void **state)
{
    (void)state;
    json_object *doc = load("generate.json");

    for (size_t i = 0; i < json_object_array_length(doc); i++) {
        json_object *v = json_object_array_get_idx(doc, i), *ivs = NULL;
        unsigned char iv[16];
        char out[512];
        fernet_keys ring;
        const char *src = field(v, "src");

        ring_of(v, &ring);
        assert_true(json_object_object_get_ex(v, "iv", &ivs));
        assert_int_equal(json_object_array_length(ivs), 16);
        for (size_t k = 0; k < 16; k++)
            iv[k] = (unsigned char)json_object_get_int(json_object_array_get_idx(ivs, k));
        assert_int_equal(fernet_encrypt(&ring, src, strlen(src), when(v), iv, out, sizeof(out)),
                         FERNET_OK);
        assert_string_equal(out, field(v, "token"));
        assert_int_equal(strlen(out), fernet_token_len(strlen(src)));
    }
    json_object_put(doc);
}

static void
test_verify(void **state)
{
    (void)state;
    json_object *doc = load("verify.json");

    for (size_t i = 0; i < json_object_array_length(doc); i++) {
        json_object *v = json_object_array_get_idx(doc, i), *ttl = NULL;
        unsigned char out[256];
        size_t n = 0, k = 9;
        fernet_keys ring;

        ring_of(v, &ring);
        assert_true(json_object_object_get_ex(v, "ttl_sec", &ttl));
        assert_int_equal(fernet_decrypt(&ring, field(v, "token"), when(v),
                                        json_object_get_int64(ttl), out, sizeof(out), &n, &k),
                         FERNET_OK);
        assert_int_equal(n, strlen(field(v, "src")));
        assert_memory_equal(out, field(v, "src"), n);
        assert_int_equal(k, 0);
    }
    json_object_put(doc);
}

static void
test_invalid(void **state)
{
    (void)state;
    json_object *doc = load("invalid.json");

    for (size_t i = 0; i < json_object_array_length(doc); i++) {
        json_object *v = json_object_array_get_idx(doc, i), *ttl = NULL;
        unsigned char out[256];
        size_t n = 7;
        fernet_keys ring;
        fernet_status st;

        ring_of(v, &ring);
        assert_true(json_object_object_get_ex(v, "ttl_sec", &ttl));
        st = fernet_decrypt(&ring, field(v, "token"), when(v), json_object_get_int64(ttl), out,
                            sizeof(out), &n, NULL);
        if (st == FERNET_OK)
            fail_msg("vector \"%s\" was accepted", field(v, "desc"));
        assert_int_equal(n, 0);
    }
    json_object_put(doc);
}

static void
test_rotation(void **state)
{
    (void)state;
    /* Two keys: tokens of the old one (second) still open; new tokens use
     * the first. */
    const char *k1 = "cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=";
    const char *k2 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";
    char list[256], token[512], err[128];
    unsigned char out[64];
    fernet_keys old_ring, ring;
    size_t n, k;

    assert_int_equal(fernet_keys_parse(k2, &old_ring, err, sizeof(err)), 0);
    assert_int_equal(fernet_encrypt(&old_ring, "secret", 6, 1000, NULL, token, sizeof(token)),
                     FERNET_OK);
    snprintf(list, sizeof(list), "%s , %s", k1, k2);
    assert_int_equal(fernet_keys_parse(list, &ring, err, sizeof(err)), 0);
    assert_int_equal(ring.n, 2);
    assert_int_equal(fernet_decrypt(&ring, token, 1000, 0, out, sizeof(out), &n, &k), FERNET_OK);
    assert_int_equal(k, 1);
    assert_memory_equal(out, "secret", 6);
    assert_int_equal(fernet_encrypt(&ring, "secret", 6, 1000, NULL, token, sizeof(token)),
                     FERNET_OK);
    assert_int_equal(fernet_decrypt(&ring, token, 1000, 0, out, sizeof(out), &n, &k), FERNET_OK);
    assert_int_equal(k, 0);
    /* The old ring alone cannot open the new token. */
    assert_int_equal(fernet_decrypt(&old_ring, token, 1000, 0, out, sizeof(out), &n, NULL),
                     FERNET_INVALID);
    /* A random IV: the same text twice gives two tokens. */
    char again[512];
    assert_int_equal(fernet_encrypt(&ring, "secret", 6, 1000, NULL, again, sizeof(again)),
                     FERNET_OK);
    assert_string_not_equal(token, again);
}

static void
test_ttl_and_limits(void **state)
{
    (void)state;
    char token[512], err[128];
    unsigned char out[8];
    fernet_keys ring;
    size_t n;

    assert_int_equal(
        fernet_keys_parse("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4", &ring, err, sizeof(err)),
        0); /* padding optional in keys */
    assert_int_equal(fernet_encrypt(&ring, "abcdefghij", 10, 5000, NULL, token, sizeof(token)),
                     FERNET_OK);
    assert_int_equal(fernet_decrypt(&ring, token, 5100, 60, out, sizeof(out), &n, NULL),
                     FERNET_EXPIRED);
    assert_int_equal(fernet_decrypt(&ring, token, 5100, 0, out, sizeof(out), &n, NULL),
                     FERNET_TOO_LARGE); /* 10 bytes + NUL do not fit in 8 */
    assert_int_equal(
        fernet_decrypt(&ring, token, 5000 - FERNET_MAX_SKEW - 1, 0, out, sizeof(out), &n, NULL),
        FERNET_INVALID);
    assert_int_equal(fernet_decrypt(&ring, "", 5000, 0, out, sizeof(out), &n, NULL),
                     FERNET_INVALID);
    assert_int_equal(fernet_encrypt(&ring, "abc", 3, 1, NULL, token, 20), FERNET_TOO_LARGE);
    assert_int_equal(fernet_keys_parse("", &ring, err, sizeof(err)), -1);
    assert_int_equal(fernet_keys_parse("c2hvcnQ=", &ring, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "key 1"));
    assert_int_equal(fernet_keys_parse("cw_0x689RpI-jtRR7oE8h_eQsKImvJapLeSbXpwF4e4=,x", &ring, err,
                                       sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "key 2"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate),       cmocka_unit_test(test_verify),
        cmocka_unit_test(test_invalid),        cmocka_unit_test(test_rotation),
        cmocka_unit_test(test_ttl_and_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
