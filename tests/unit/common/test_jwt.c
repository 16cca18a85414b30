/* Unit tests for common/src/jwt.c: the RFC 7515 A.1 example, round trips and
 * every way a token is refused. Tokens the signer would never make are built
 * here by hand (header, payload, HMAC) so each check is reached on its own. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs stdarg.h, stddef.h, stdint.h and setjmp.h first. */
#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"
#include "jwt.h"

#define NOW 1800000000LL

static const unsigned char key[] = "0123456789abcdef0123456789abcdef-test-key";
#define KEYLEN (sizeof(key) - 1)

/* b64url(header) "." b64url(payload) "." b64url(HMAC-<md>(key, first two)),
 * or with sig as the third segment when sig is not NULL. */
static char *
forge(const char *header, const char *payload, const EVP_MD *md, const char *sig)
{
    static char tok[8192];
    unsigned char mac[64];
    unsigned int maclen = 0;
    size_t n =
        b64url_encode((const unsigned char *)header, strlen(header), false, tok, sizeof(tok));
    assert_true(n > 0);
    tok[n++] = '.';
    n += b64url_encode((const unsigned char *)payload, strlen(payload), false, tok + n,
                       sizeof(tok) - n);
    if (sig != NULL) {
        snprintf(tok + n, sizeof(tok) - n, ".%s", sig);
        return tok;
    }
    assert_non_null(HMAC(md, key, (int)KEYLEN, (unsigned char *)tok, n, mac, &maclen));
    tok[n++] = '.';
    assert_true(b64url_encode(mac, maclen, false, tok + n, sizeof(tok) - n) > 0);
    return tok;
}

static const char *const hs256 = "{\"alg\":\"HS256\",\"typ\":\"JWT\"}";

/* Claims valid at NOW, with fields left out or replaced by the caller. */
static char *
claims(const char *exp, const char *nbf, const char *iat)
{
    static char buf[512];
    size_t n = (size_t)snprintf(buf, sizeof(buf), "{\"sub\":\"u1\",\"role\":\"admin\"");
    if (exp)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",\"exp\":%s", exp);
    if (nbf)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",\"nbf\":%s", nbf);
    if (iat)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, ",\"iat\":%s", iat);
    snprintf(buf + n, sizeof(buf) - n, ",\"jti\":\"j1\"}");
    return buf;
}

static jwt_status
verify(const char *tok)
{
    json_object *c = (json_object *)1;
    jwt_status st = jwt_verify(key, KEYLEN, tok, NOW, 30, &c);
    if (st == JWT_OK) {
        assert_non_null(c);
        json_object_put(c);
    } else {
        assert_null(c);
    }
    return st;
}

static void
test_rfc7515_a1(void **state)
{
    (void)state;
    /* RFC 7515 appendix A.1: the JWK "k" below, the token of A.1.1. */
    const char *k64 = "AyM1SysPpbyDfgZld3umj1qzKObwVMkoqQ-EstJQLr_T-1qS0gZH75aKtMN3Yj0iPS4hcgUuTw"
                      "jAzZr1Z9CAow";
    const char *tok = "eyJ0eXAiOiJKV1QiLA0KICJhbGciOiJIUzI1NiJ9."
                      "eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNv"
                      "bS9pc19yb290Ijp0cnVlfQ."
                      "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk";
    unsigned char k[64];
    size_t klen = 0;
    json_object *c = NULL, *v = NULL;

    assert_int_equal(b64url_decode(k64, strlen(k64), B64_PAD_FORBIDDEN, k, sizeof(k), &klen), 0);
    assert_int_equal(klen, 64);
    assert_int_equal(jwt_decode(k, klen, tok, &c), JWT_OK);
    assert_true(json_object_object_get_ex(c, "iss", &v));
    assert_string_equal(json_object_get_string(v), "joe");
    assert_true(json_object_object_get_ex(c, "exp", &v));
    assert_int_equal(json_object_get_int64(v), 1300819380);
    json_object_put(c);
    /* Another key: the signature no longer holds. */
    assert_int_equal(jwt_decode(key, KEYLEN, tok, NULL), JWT_BAD_SIGNATURE);
    /* The example has no nbf nor iat, which jwt_verify requires. */
    assert_int_equal(jwt_verify(k, klen, tok, 1300819000, 30, NULL), JWT_MALFORMED);
}

static void
test_round_trip(void **state)
{
    (void)state;
    char tok[1024];
    json_object *in = json_object_new_object(), *out = NULL, *v = NULL;
    json_object_object_add(in, "sub", json_object_new_string("4f1c2a3b-0d9e-4f6a-8b7c-12345678"));
    json_object_object_add(in, "role", json_object_new_string("staff"));
    json_object_object_add(in, "iat", json_object_new_int64(NOW));
    json_object_object_add(in, "nbf", json_object_new_int64(NOW));
    json_object_object_add(in, "exp", json_object_new_int64(NOW + 900));
    json_object_object_add(in, "jti", json_object_new_string("abc"));

    size_t n = jwt_sign(key, KEYLEN, in, tok, sizeof(tok));
    assert_true(n > 0);
    assert_int_equal(strlen(tok), n);
    assert_null(strchr(tok, '='));
    assert_memory_equal(tok, "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.", 37);
    assert_int_equal(jwt_verify(key, KEYLEN, tok, NOW + 100, 30, &out), JWT_OK);
    assert_true(json_object_object_get_ex(out, "role", &v));
    assert_string_equal(json_object_get_string(v), "staff");
    assert_true(json_object_object_get_ex(out, "exp", &v));
    assert_int_equal(json_object_get_int64(v), NOW + 900);
    json_object_put(out);
    /* A token signed with a different key is refused. */
    assert_int_equal(jwt_verify((const unsigned char *)"another key of at least 32 bytes!!", 34,
                                tok, NOW, 30, NULL),
                     JWT_BAD_SIGNATURE);
    /* Our own signer, checked against a hand-made token of the same claims. */
    assert_string_equal(tok, forge(hs256,
                                   json_object_to_json_string_ext(
                                       in, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE),
                                   EVP_sha256(), NULL));
    /* Too small a buffer, or claims that are not an object. */
    assert_int_equal(jwt_sign(key, KEYLEN, in, tok, 40), 0);
    assert_string_equal(tok, "");
    json_object *arr = json_object_new_array();
    assert_int_equal(jwt_sign(key, KEYLEN, arr, tok, sizeof(tok)), 0);
    assert_int_equal(jwt_sign(key, 0, in, tok, sizeof(tok)), 0);
    json_object_put(arr);
    json_object_put(in);
}

static void
test_time_claims(void **state)
{
    (void)state;
    char exp[32], nbf[32], iat[32];
    snprintf(iat, sizeof(iat), "%lld", NOW - 100);

    snprintf(exp, sizeof(exp), "%lld", NOW - 31); /* beyond the 30 s leeway */
    assert_int_equal(verify(forge(hs256, claims(exp, iat, iat), EVP_sha256(), NULL)), JWT_EXPIRED);
    snprintf(exp, sizeof(exp), "%lld", NOW - 30); /* exactly at exp + leeway */
    assert_int_equal(verify(forge(hs256, claims(exp, iat, iat), EVP_sha256(), NULL)), JWT_EXPIRED);
    snprintf(exp, sizeof(exp), "%lld", NOW - 10); /* within the leeway */
    assert_int_equal(verify(forge(hs256, claims(exp, iat, iat), EVP_sha256(), NULL)), JWT_OK);
    /* Without leeway, a token is dead at exp. */
    snprintf(exp, sizeof(exp), "%lld", NOW);
    assert_int_equal(jwt_verify(key, KEYLEN,
                                forge(hs256, claims(exp, iat, iat), EVP_sha256(), NULL), NOW, 0,
                                NULL),
                     JWT_EXPIRED);

    snprintf(exp, sizeof(exp), "%lld", NOW + 900);
    snprintf(nbf, sizeof(nbf), "%lld", NOW + 60);
    assert_int_equal(verify(forge(hs256, claims(exp, nbf, iat), EVP_sha256(), NULL)),
                     JWT_NOT_YET_VALID);
    snprintf(nbf, sizeof(nbf), "%lld", NOW + 20);
    assert_int_equal(verify(forge(hs256, claims(exp, nbf, iat), EVP_sha256(), NULL)), JWT_OK);
    /* Fractional NumericDates are numbers too; huge ones do not overflow. */
    assert_int_equal(verify(forge(hs256, claims("1e300", "1.5", "1.5"), EVP_sha256(), NULL)),
                     JWT_OK);
    assert_int_equal(verify(forge(hs256, claims("-1e300", "1", "1"), EVP_sha256(), NULL)),
                     JWT_EXPIRED);
}

static void
test_required_claims(void **state)
{
    (void)state;
    const char *e = "1900000000", *t = "1700000000";

    assert_int_equal(verify(forge(hs256, claims(NULL, t, t), EVP_sha256(), NULL)), JWT_MALFORMED);
    assert_int_equal(verify(forge(hs256, claims(e, NULL, t), EVP_sha256(), NULL)), JWT_MALFORMED);
    assert_int_equal(verify(forge(hs256, claims(e, t, NULL), EVP_sha256(), NULL)), JWT_MALFORMED);
    assert_int_equal(verify(forge(hs256, claims("\"1900000000\"", t, t), EVP_sha256(), NULL)),
                     JWT_MALFORMED);
    assert_int_equal(verify(forge(hs256, claims(e, "null", t), EVP_sha256(), NULL)), JWT_MALFORMED);
    assert_int_equal(verify(forge(hs256, claims(e, t, "true"), EVP_sha256(), NULL)), JWT_MALFORMED);
    /* A payload that is not an object, or not JSON, signed correctly. */
    assert_int_equal(verify(forge(hs256, "[1,2]", EVP_sha256(), NULL)), JWT_MALFORMED);
    assert_int_equal(verify(forge(hs256, "{\"exp\":1", EVP_sha256(), NULL)), JWT_MALFORMED);
    assert_int_equal(verify(forge(hs256, "null", EVP_sha256(), NULL)), JWT_MALFORMED);
    json_object *c = NULL;
    assert_int_equal(jwt_decode(key, KEYLEN, forge(hs256, "[1,2]", EVP_sha256(), NULL), &c),
                     JWT_OK);
    assert_true(json_object_is_type(c, json_type_array));
    json_object_put(c);
}

static void
test_alg(void **state)
{
    (void)state;
    const char *p = claims("1900000000", "1700000000", "1700000000");

    /* Unsigned: "none" with an empty signature, and with one. */
    assert_int_equal(verify(forge("{\"alg\":\"none\",\"typ\":\"JWT\"}", p, NULL, "")), JWT_BAD_ALG);
    assert_int_equal(verify(forge("{\"alg\":\"none\"}", p, EVP_sha256(), NULL)), JWT_BAD_ALG);
    /* Other HMACs and public-key algorithms, even correctly signed. */
    assert_int_equal(verify(forge("{\"alg\":\"HS512\",\"typ\":\"JWT\"}", p, EVP_sha512(), NULL)),
                     JWT_BAD_ALG);
    assert_int_equal(verify(forge("{\"alg\":\"HS384\"}", p, EVP_sha384(), NULL)), JWT_BAD_ALG);
    assert_int_equal(verify(forge("{\"alg\":\"RS256\"}", p, EVP_sha256(), NULL)), JWT_BAD_ALG);
    assert_int_equal(verify(forge("{\"alg\":\"hs256\"}", p, EVP_sha256(), NULL)), JWT_BAD_ALG);
    assert_int_equal(verify(forge("{\"alg\":\"HS256 \"}", p, EVP_sha256(), NULL)), JWT_BAD_ALG);
    /* "HS256" followed by an escaped NUL is another string, not HS256. */
    assert_int_equal(verify(forge("{\"alg\":\"HS256\\u0000\"}", p, EVP_sha256(), NULL)),
                     JWT_BAD_ALG);
    assert_int_equal(verify(forge("{\"typ\":\"JWT\"}", p, EVP_sha256(), NULL)), JWT_BAD_ALG);
    assert_int_equal(verify(forge("{\"alg\":256}", p, EVP_sha256(), NULL)), JWT_BAD_ALG);
    assert_int_equal(verify(forge("{\"alg\":null}", p, EVP_sha256(), NULL)), JWT_BAD_ALG);
    /* alg is decided before the signature: a garbage signature is still bad_alg. */
    assert_int_equal(verify(forge("{\"alg\":\"none\"}", p, NULL, "AAAA")), JWT_BAD_ALG);
    /* HS256 without typ is fine; any other header member, a bad typ, or a
     * header that is not an object is not. */
    assert_int_equal(verify(forge("{\"alg\":\"HS256\"}", p, EVP_sha256(), NULL)), JWT_OK);
    assert_int_equal(verify(forge("{\"alg\":\"HS256\",\"kid\":\"1\"}", p, EVP_sha256(), NULL)),
                     JWT_MALFORMED);
    assert_int_equal(verify(forge("{\"alg\":\"HS256\",\"crit\":[\"x\"]}", p, EVP_sha256(), NULL)),
                     JWT_MALFORMED);
    assert_int_equal(verify(forge("{\"alg\":\"HS256\",\"typ\":\"JOSE\"}", p, EVP_sha256(), NULL)),
                     JWT_MALFORMED);
    assert_int_equal(verify(forge("[\"HS256\"]", p, EVP_sha256(), NULL)), JWT_MALFORMED);
    assert_int_equal(verify(forge("{\"alg\":\"HS256\"", p, EVP_sha256(), NULL)), JWT_MALFORMED);
}

static void
test_tampered(void **state)
{
    (void)state;
    char tok[2048], other[2048];
    const char *p = claims("1900000000", "1700000000", "1700000000");

    snprintf(tok, sizeof(tok), "%s", forge(hs256, p, EVP_sha256(), NULL));
    assert_int_equal(verify(tok), JWT_OK);
    /* Payload swapped for another (role admin -> viewer), signature kept. */
    snprintf(other, sizeof(other), "%s",
             forge(hs256, "{\"sub\":\"u1\",\"role\":\"viewer\",\"exp\":1900000000}", NULL, "x"));
    char *sig = strrchr(tok, '.');
    char *cut = strrchr(other, '.');
    snprintf(cut, sizeof(other) - (size_t)(cut - other), "%s", sig);
    assert_int_equal(verify(other), JWT_BAD_SIGNATURE);
    /* One character of the signature changed (a middle one: still canonical). */
    snprintf(other, sizeof(other), "%s", tok);
    char *s = strrchr(other, '.') + 10;
    *s = *s == 'A' ? 'B' : 'A';
    assert_int_equal(verify(other), JWT_BAD_SIGNATURE);
    /* The signature cut short (to 24 bytes: 32 characters, canonical), or
     * missing. */
    snprintf(other, sizeof(other), "%s", tok);
    other[strlen(other) - 11] = '\0';
    assert_int_equal(verify(other), JWT_BAD_SIGNATURE);
    snprintf(other, sizeof(other), "%s", tok);
    strrchr(other, '.')[1] = '\0';
    assert_int_equal(verify(other), JWT_BAD_SIGNATURE);
}

static void
test_shape(void **state)
{
    (void)state;
    char tok[2048], bad[8192];
    const char *p = claims("1900000000", "1700000000", "1700000000");
    snprintf(tok, sizeof(tok), "%s", forge(hs256, p, EVP_sha256(), NULL));
    size_t len = strlen(tok);

    assert_int_equal(verify(NULL), JWT_MALFORMED);
    assert_int_equal(verify(""), JWT_MALFORMED);
    assert_int_equal(verify("abc"), JWT_MALFORMED);
    /* Two segments, four segments, an empty header or payload. */
    snprintf(bad, sizeof(bad), "%.*s", (int)(strrchr(tok, '.') - tok), tok);
    assert_int_equal(verify(bad), JWT_MALFORMED);
    snprintf(bad, sizeof(bad), "%s.AAAA", tok);
    assert_int_equal(verify(bad), JWT_MALFORMED);
    snprintf(bad, sizeof(bad), "%s", strchr(tok, '.'));
    assert_int_equal(verify(bad), JWT_MALFORMED);
    snprintf(bad, sizeof(bad), "%.*s.%s", (int)(strchr(tok, '.') - tok), tok,
             strrchr(tok, '.') + 1);
    assert_int_equal(verify(bad), JWT_MALFORMED);
    /* Characters outside the URL-safe alphabet, padding, whitespace. */
    snprintf(bad, sizeof(bad), "%s", tok);
    bad[5] = '+';
    assert_int_equal(verify(bad), JWT_MALFORMED);
    snprintf(bad, sizeof(bad), "%s", tok);
    bad[strchr(tok, '.') - tok + 3] = '/';
    assert_int_equal(verify(bad), JWT_MALFORMED);
    snprintf(bad, sizeof(bad), "%s=", tok);
    assert_int_equal(verify(bad), JWT_MALFORMED);
    snprintf(bad, sizeof(bad), "%s ", tok);
    assert_int_equal(verify(bad), JWT_MALFORMED);
    /* The signature's 43rd character carries two unused bits: setting one
     * gives the same bytes from a non-canonical text, which is refused. */
    snprintf(bad, sizeof(bad), "%s", tok);
    char *last = bad + len - 1;
    const char *alpha = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    *last = alpha[(strchr(alpha, *last) - alpha) | 1];
    assert_int_equal(verify(bad), JWT_MALFORMED);
    /* Longer than JWT_MAX_LEN, also when otherwise well formed. */
    memset(bad, 'A', JWT_MAX_LEN + 1);
    bad[JWT_MAX_LEN + 1] = '\0';
    assert_int_equal(verify(bad), JWT_MALFORMED);
    static char big[JWT_MAX_LEN];
    size_t n = (size_t)snprintf(big, sizeof(big), "{\"pad\":\"");
    memset(big + n, 'x', 3200);
    snprintf(big + n + 3200, sizeof(big) - n - 3200, "\",\"exp\":1900000000,\"nbf\":1,\"iat\":1}");
    assert_int_equal(verify(forge(hs256, big, EVP_sha256(), NULL)), JWT_MALFORMED);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "pad", json_object_new_string_len(big + n, 3200));
    assert_int_equal(jwt_sign(key, KEYLEN, o, bad, sizeof(bad)), 0);
    json_object_put(o);
}

static jwt_key *shared_key;
static char shared_tok[1024];

static void *
verify_many(void *arg)
{
    (void)arg;
    for (int i = 0; i < 2000; i++)
        if (jwt_verify_with(shared_key, shared_tok, NOW, 30, NULL) != JWT_OK)
            return (void *)1;
    return NULL;
}

static void
test_prepared_key(void **state)
{
    (void)state;
    const char *p = claims("1900000000", "1700000000", "1700000000");
    json_object *c = json_tokener_parse(p), *out = NULL;
    pthread_t t[4];

    assert_null(jwt_key_new(key, 0));
    assert_null(jwt_key_new(NULL, 5));
    jwt_key_free(NULL);
    shared_key = jwt_key_new(key, KEYLEN);
    assert_non_null(shared_key);
    /* Signed with the prepared key, checked with the key's bytes, and back. */
    assert_true(jwt_sign_with(shared_key, c, shared_tok, sizeof(shared_tok)) > 0);
    assert_int_equal(jwt_verify(key, KEYLEN, shared_tok, NOW, 30, NULL), JWT_OK);
    assert_int_equal(
        jwt_verify_with(shared_key, forge(hs256, p, EVP_sha256(), NULL), NOW, 30, &out), JWT_OK);
    assert_non_null(out);
    json_object_put(out);
    /* Without a key nothing verifies, and nothing is signed. */
    assert_int_equal(jwt_verify_with(NULL, shared_tok, NOW, 30, NULL), JWT_BAD_SIGNATURE);
    char none[64];
    assert_int_equal(jwt_sign_with(NULL, c, none, sizeof(none)), 0);
    /* One key, many threads. */
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, verify_many, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *rc = (void *)1;
        pthread_join(t[i], &rc);
        assert_null(rc);
    }
    jwt_key_free(shared_key);
    json_object_put(c);
}

static void
test_status_names(void **state)
{
    (void)state;
    assert_string_equal(jwt_status_name(JWT_OK), "ok");
    assert_string_equal(jwt_status_name(JWT_MALFORMED), "malformed");
    assert_string_equal(jwt_status_name(JWT_BAD_ALG), "bad_alg");
    assert_string_equal(jwt_status_name(JWT_BAD_SIGNATURE), "bad_signature");
    assert_string_equal(jwt_status_name(JWT_EXPIRED), "expired");
    assert_string_equal(jwt_status_name(JWT_NOT_YET_VALID), "not_yet_valid");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc7515_a1),   cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_time_claims),  cmocka_unit_test(test_required_claims),
        cmocka_unit_test(test_alg),          cmocka_unit_test(test_tampered),
        cmocka_unit_test(test_shape),        cmocka_unit_test(test_prepared_key),
        cmocka_unit_test(test_status_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
