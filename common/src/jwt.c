/* jwt: HS256 JSON Web Tokens; see jwt.h. */
#include "jwt.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "b64.h"
#include "json.h"

#define JWT_SIG_LEN    32  /* HMAC-SHA256 */
#define JWT_BLOCK      64  /* SHA-256's block: HMAC's key length */
#define JWT_HEADER_MAX 256 /* decoded bytes; ours is 27 */
#define JWT_KEY_MAX    128 /* bytes of a claim name the flat parser takes */
/* Payload and signature decoded: at most 3/4 of the token's text. */
#define JWT_DECODED_MAX (JWT_MAX_LEN / 4 * 3 + 6)
/* {"alg":"HS256","typ":"JWT"}: what jwt_sign writes, recognised as it is. */
#define JWT_HEADER_B64 "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"

/* HMAC-SHA256 (RFC 2104) keyed once: SHA-256 states that have absorbed
 * the key XOR ipad and XOR opad. A token's MAC starts from copies of them,
 * so per call there is no algorithm look-up, no key set-up and no HMAC
 * context to duplicate (OpenSSL's EVP_MAC_CTX_dup copies three digests). */
struct jwt_key {
    EVP_MD_CTX *inner, *outer;
};

/* The segments of a token: where they are, and the payload and signature
 * decoded (into buf, on the caller's stack). */
typedef struct jwt_parts {
    const char *seg[3];
    size_t seg_len[3];
    unsigned char *payload, *sig;
    size_t payload_len, sig_len;
    unsigned char buf[JWT_DECODED_MAX];
} jwt_parts;

/* SHA-256, fetched once for the process (a fetch takes the provider store's
 * lock). */
static EVP_MD *jwt_sha256;
static pthread_once_t jwt_sha256_once = PTHREAD_ONCE_INIT;

static void
jwt_fetch_sha256(void)
{
    jwt_sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
}

const char *
jwt_status_name(jwt_status st)
{
    switch (st) {
    case JWT_OK:
        return "ok";
    case JWT_MALFORMED:
        return "malformed";
    case JWT_BAD_ALG:
        return "bad_alg";
    case JWT_BAD_SIGNATURE:
        return "bad_signature";
    case JWT_EXPIRED:
        return "expired";
    case JWT_NOT_YET_VALID:
        return "not_yet_valid";
    }
    return "malformed";
}

/* A SHA-256 state that has absorbed block XOR pad. */
static EVP_MD_CTX *
padded_state(const unsigned char block[JWT_BLOCK], unsigned char pad)
{
    unsigned char x[JWT_BLOCK];
    EVP_MD_CTX *c = EVP_MD_CTX_new();

    for (size_t i = 0; i < JWT_BLOCK; i++)
        x[i] = block[i] ^ pad;
    if (c != NULL
        && (EVP_DigestInit_ex(c, jwt_sha256, NULL) != 1
            || EVP_DigestUpdate(c, x, sizeof(x)) != 1)) {
        EVP_MD_CTX_free(c);
        c = NULL;
    }
    OPENSSL_cleanse(x, sizeof(x));
    return c;
}

jwt_key *
jwt_key_new(const unsigned char *key, size_t keylen)
{
    unsigned char block[JWT_BLOCK] = {0};
    unsigned int dlen = 0;
    jwt_key *k = NULL;

    if (key == NULL || keylen == 0 || pthread_once(&jwt_sha256_once, jwt_fetch_sha256) != 0
        || jwt_sha256 == NULL || (k = calloc(1, sizeof(*k))) == NULL)
        return NULL;
    /* A key longer than a block is replaced by its digest (RFC 2104). */
    if (keylen > JWT_BLOCK) {
        if (EVP_Digest(key, keylen, block, &dlen, jwt_sha256, NULL) != 1) {
            jwt_key_free(k);
            return NULL;
        }
    } else {
        memcpy(block, key, keylen);
    }
    k->inner = padded_state(block, 0x36);
    k->outer = padded_state(block, 0x5c);
    OPENSSL_cleanse(block, sizeof(block));
    if (k->inner == NULL || k->outer == NULL) {
        jwt_key_free(k);
        return NULL;
    }
    return k;
}

void
jwt_key_free(jwt_key *k)
{
    if (k == NULL)
        return;
    EVP_MD_CTX_free(k->inner);
    EVP_MD_CTX_free(k->outer);
    free(k);
}

/* HMAC-SHA256 of data: SHA-256(key^opad || SHA-256(key^ipad || data)),
 * from copies of the prepared states (copying reads them only, so one key
 * serves many threads). */
static int
hmac_sha256(const jwt_key *k, const void *data, size_t n, unsigned char md[JWT_SIG_LEN])
{
    unsigned char in[JWT_SIG_LEN];
    unsigned int ilen = 0, olen = 0;
    int rc = -1;
    EVP_MD_CTX *c = k != NULL ? EVP_MD_CTX_new() : NULL;

    if (c != NULL && EVP_MD_CTX_copy_ex(c, k->inner) == 1 && EVP_DigestUpdate(c, data, n) == 1
        && EVP_DigestFinal_ex(c, in, &ilen) == 1 && ilen == JWT_SIG_LEN
        && EVP_MD_CTX_copy_ex(c, k->outer) == 1 && EVP_DigestUpdate(c, in, sizeof(in)) == 1
        && EVP_DigestFinal_ex(c, md, &olen) == 1 && olen == JWT_SIG_LEN)
        rc = 0;
    EVP_MD_CTX_free(c);
    OPENSSL_cleanse(in, sizeof(in));
    return rc;
}

size_t
jwt_sign_with(const jwt_key *k, json_object *claims, char *out, size_t cap)
{
    unsigned char md[JWT_SIG_LEN];
    size_t plen = 0, hlen = strlen(JWT_HEADER_B64);

    if (cap == 0)
        return 0;
    out[0] = '\0';
    if (!json_object_is_type(claims, json_type_object))
        return 0;
    const char *payload = js_text(claims, &plen);
    size_t need =
        hlen + 1 + b64url_encoded_len(plen, false) + 1 + b64url_encoded_len(JWT_SIG_LEN, false);
    if (need > JWT_MAX_LEN || need + 1 > cap)
        return 0;
    memcpy(out, JWT_HEADER_B64 ".", hlen + 1);
    size_t n = hlen + 1;
    n += b64url_encode((const unsigned char *)payload, plen, false, out + n, cap - n);
    if (hmac_sha256(k, out, n, md) != 0) {
        out[0] = '\0';
        return 0;
    }
    out[n++] = '.';
    n += b64url_encode(md, sizeof(md), false, out + n, cap - n);
    OPENSSL_cleanse(md, sizeof(md));
    return n;
}

/* Step 1: three canonical base64url segments, header and payload non-empty.
 * An empty signature passes this step so that an unsigned "alg":"none"
 * token is reported as what it is (bad_alg), not as malformed. Payload and
 * signature are decoded into p->buf. */
static jwt_status
split(const char *token, jwt_parts *p)
{
    size_t len;

    if (token == NULL || (len = strnlen(token, JWT_MAX_LEN + 1)) == 0 || len > JWT_MAX_LEN)
        return JWT_MALFORMED;
    const char *d1 = memchr(token, '.', len);
    const char *d2 = d1 != NULL ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
    if (d2 == NULL || memchr(d2 + 1, '.', len - (size_t)(d2 + 1 - token)) != NULL)
        return JWT_MALFORMED;
    p->seg[0] = token;
    p->seg_len[0] = (size_t)(d1 - token);
    p->seg[1] = d1 + 1;
    p->seg_len[1] = (size_t)(d2 - d1 - 1);
    p->seg[2] = d2 + 1;
    p->seg_len[2] = len - (size_t)(d2 + 1 - token);
    if (p->seg_len[0] == 0 || p->seg_len[1] == 0)
        return JWT_MALFORMED; /* the header's text is checked with the header */
    /* Decoded, payload and signature take at most 3/4 of their text. */
    size_t pcap = p->seg_len[1] / 4 * 3 + 3, scap = p->seg_len[2] / 4 * 3 + 3;
    if (pcap + scap > sizeof(p->buf))
        return JWT_MALFORMED;
    p->payload = p->buf;
    p->sig = p->buf + pcap;
    if (b64url_decode(p->seg[1], p->seg_len[1], B64_PAD_FORBIDDEN, p->payload, pcap,
                      &p->payload_len)
            != 0
        || b64url_decode(p->seg[2], p->seg_len[2], B64_PAD_FORBIDDEN, p->sig, scap, &p->sig_len)
               != 0)
        return JWT_MALFORMED;
    return JWT_OK;
}

/* Step 2: alg exactly HS256 first, then nothing but an optional typ JWT.
 * Our own header, byte for byte, needs no parsing. */
static jwt_status
check_header(const jwt_parts *p)
{
    unsigned char text[JWT_HEADER_MAX];
    json_object *h = NULL, *alg = NULL, *typ = NULL;
    size_t n = 0;
    js_err err;
    jwt_status st = JWT_MALFORMED;

    if (p->seg_len[0] == strlen(JWT_HEADER_B64)
        && memcmp(p->seg[0], JWT_HEADER_B64, p->seg_len[0]) == 0)
        return JWT_OK;
    if (b64url_decode(p->seg[0], p->seg_len[0], B64_PAD_FORBIDDEN, text, sizeof(text), &n) != 0
        || js_parse((const char *)text, n, &h, &err) != JS_OK
        || !json_object_is_type(h, json_type_object))
        goto out;
    st = JWT_BAD_ALG;
    if (!json_object_object_get_ex(h, "alg", &alg) || !json_object_is_type(alg, json_type_string)
        || json_object_get_string_len(alg) != 5
        || memcmp(json_object_get_string(alg), "HS256", 5) != 0)
        goto out;
    st = JWT_MALFORMED;
    if (json_object_object_get_ex(h, "typ", &typ)
        && (!json_object_is_type(typ, json_type_string) || json_object_get_string_len(typ) != 3
            || memcmp(json_object_get_string(typ), "JWT", 3) != 0))
        goto out;
    if (json_object_object_length(h) != (typ != NULL ? 2 : 1))
        goto out;
    st = JWT_OK;
out:
    json_object_put(h);
    return st;
}

/* A string of the flat form at p[*i] (a '"'): printable ASCII, no escape.
 * Its text is p[*s..*e); *i moves past the closing quote. */
static bool
flat_string(const char *p, size_t n, size_t *i, size_t *s, size_t *e)
{
    size_t j = *i + 1;

    if (*i >= n || p[*i] != '"')
        return false;
    while (j < n && p[j] >= 0x20 && p[j] < 0x7f && p[j] != '"' && p[j] != '\\')
        j++;
    if (j >= n || p[j] != '"')
        return false;
    *s = *i + 1;
    *e = j;
    *i = j + 1;
    return true;
}

/* A non-negative integer of at most 18 digits, without leading zeros. */
static json_object *
flat_integer(const char *p, size_t n, size_t *i)
{
    size_t j = *i;
    int64_t v = 0;

    while (j < n && p[j] >= '0' && p[j] <= '9' && j - *i < 18)
        v = v * 10 + (p[j++] - '0');
    if (j == *i || (p[*i] == '0' && j - *i > 1) || j >= n || (p[j] != ',' && p[j] != '}'))
        return NULL;
    *i = j;
    return json_object_new_int64(v);
}

/* The claims as jwt_sign writes them, and as most issuers do: one object of
 * plain strings and integers, no whitespace. Built straight into json-c
 * objects, for a third of the general parser's cost; the result is the one
 * json-c's parser would give. NULL for anything else (escapes, non-ASCII,
 * other types, spaces), which js_parse then decides. */
static json_object *
parse_flat(const char *p, size_t n)
{
    char key[JWT_KEY_MAX];
    size_t i = 1;
    json_object *o = NULL;

    if (n < 2 || p[0] != '{' || (o = json_object_new_object()) == NULL)
        return NULL;
    if (p[1] == '}')
        return n == 2 ? o : (json_object_put(o), NULL);
    for (;;) {
        size_t ks, ke, vs, ve;
        json_object *v = NULL;
        if (!flat_string(p, n, &i, &ks, &ke) || ke - ks >= sizeof(key) || i >= n || p[i++] != ':'
            || i >= n)
            break;
        if (p[i] == '"')
            v = flat_string(p, n, &i, &vs, &ve) ? json_object_new_string_len(p + vs, (int)(ve - vs))
                                                : NULL;
        else
            v = flat_integer(p, n, &i);
        if (v == NULL)
            break;
        memcpy(key, p + ks, ke - ks);
        key[ke - ks] = '\0';
        if (json_object_object_add(o, key, v) != 0) {
            json_object_put(v);
            break;
        }
        if (i < n && p[i] == ',') {
            i++;
            continue;
        }
        if (i + 1 == n && p[i] == '}')
            return o;
        break;
    }
    json_object_put(o);
    return NULL;
}

jwt_status
jwt_decode_with(const jwt_key *k, const char *token, json_object **claims)
{
    unsigned char md[JWT_SIG_LEN];
    json_object *doc = NULL;
    js_err err;
    jwt_parts p;
    jwt_status st;

    if (claims != NULL)
        *claims = NULL;
    if ((st = split(token, &p)) != JWT_OK || (st = check_header(&p)) != JWT_OK)
        goto out;
    st = JWT_BAD_SIGNATURE;
    size_t signed_len = p.seg_len[0] + 1 + p.seg_len[1];
    if (p.sig_len != JWT_SIG_LEN || hmac_sha256(k, token, signed_len, md) != 0
        || CRYPTO_memcmp(md, p.sig, JWT_SIG_LEN) != 0)
        goto out;
    st = JWT_MALFORMED;
    doc = parse_flat((const char *)p.payload, p.payload_len);
    if (doc == NULL
        && (js_parse((const char *)p.payload, p.payload_len, &doc, &err) != JS_OK || doc == NULL))
        goto out;
    st = JWT_OK;
out:
    if (st == JWT_OK && claims != NULL)
        *claims = json_object_get(doc);
    json_object_put(doc);
    OPENSSL_cleanse(md, sizeof(md));
    return st;
}

/* A required numeric claim. */
static bool
number_claim(json_object *claims, const char *name, double *out)
{
    json_object *v = NULL;

    if (!json_object_object_get_ex(claims, name, &v)
        || !(json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double)))
        return false;
    *out = json_object_get_double(v);
    return true;
}

jwt_status
jwt_verify_with(const jwt_key *k, const char *token, int64_t now_s, int leeway_s,
                json_object **claims)
{
    json_object *doc = NULL;
    double exp = 0, nbf = 0, iat = 0;
    jwt_status st = jwt_decode_with(k, token, &doc);

    if (claims != NULL)
        *claims = NULL;
    if (st != JWT_OK)
        goto out;
    st = JWT_MALFORMED;
    if (!json_object_is_type(doc, json_type_object) || !number_claim(doc, "exp", &exp)
        || !number_claim(doc, "nbf", &nbf) || !number_claim(doc, "iat", &iat))
        goto out;
    /* Compared as doubles: a claim of 1e300 must not overflow an integer. */
    double now = (double)now_s, leeway = leeway_s > 0 ? (double)leeway_s : 0;
    st = JWT_EXPIRED;
    if (!(now < exp + leeway))
        goto out;
    st = JWT_NOT_YET_VALID;
    if (now + leeway < nbf)
        goto out;
    st = JWT_OK;
out:
    if (st == JWT_OK && claims != NULL)
        *claims = json_object_get(doc);
    json_object_put(doc);
    return st;
}

/* ---- the same with a key given as bytes (set up for the one call) ---- */

size_t
jwt_sign(const unsigned char *key, size_t keylen, json_object *claims, char *out, size_t cap)
{
    jwt_key *k = jwt_key_new(key, keylen);
    size_t n = 0;

    if (k == NULL && cap > 0)
        out[0] = '\0';
    if (k != NULL)
        n = jwt_sign_with(k, claims, out, cap);
    jwt_key_free(k);
    return n;
}

jwt_status
jwt_decode(const unsigned char *key, size_t keylen, const char *token, json_object **claims)
{
    jwt_key *k = jwt_key_new(key, keylen);
    jwt_status st = jwt_decode_with(k, token, claims);

    jwt_key_free(k);
    return st;
}

jwt_status
jwt_verify(const unsigned char *key, size_t keylen, const char *token, int64_t now_s, int leeway_s,
           json_object **claims)
{
    jwt_key *k = jwt_key_new(key, keylen);
    jwt_status st = jwt_verify_with(k, token, now_s, leeway_s, claims);

    jwt_key_free(k);
    return st;
}
