/* jwt: JSON Web Tokens (RFC 7519) signed with HMAC-SHA256 (JWS HS256, RFC
 * 7515), and nothing else. Prefix jwt_. Thread-safe, no allocation beyond the
 * claims handed back.
 *
 * Verification is strict, in this order, so no signature work is done for a
 * token that cannot be ours and no claim is read before the signature holds:
 *   1. shape: at most JWT_MAX_LEN bytes, exactly three segments, each
 *      canonical unpadded URL-safe base64 (RFC 4648 section 5), header and
 *      payload non-empty (an empty signature fails at step 3);
 *   2. header: a JSON object whose "alg" is exactly "HS256" ("none", "HS512",
 *      RS*, a missing or non-string alg: JWT_BAD_ALG), "typ" absent or
 *      "JWT", no other member (crit, kid, jku, x5u...: JWT_MALFORMED); the
 *      header jwt_sign writes is recognised by its text, without parsing;
 *   3. signature: HMAC-SHA256 of "header.payload", compared with
 *      CRYPTO_memcmp;
 *   4. claims (jwt_verify only): a JSON object with numeric "exp", "nbf" and
 *      "iat", all required; expired when now >= exp + leeway, not yet valid
 *      when now + leeway < nbf. */
#ifndef BRAIN_JWT_H
#define BRAIN_JWT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define JWT_MAX_LEN 4096 /* bytes of a token; longer ones are malformed */

typedef enum {
    JWT_OK = 0,
    JWT_MALFORMED,
    JWT_BAD_ALG,
    JWT_BAD_SIGNATURE,
    JWT_EXPIRED,
    JWT_NOT_YET_VALID,
} jwt_status;

/* "ok", "malformed", "bad_alg", "bad_signature", "expired", "not_yet_valid". */
const char *jwt_status_name(jwt_status st);

/* A key set up once for HMAC-SHA256, for callers that check many tokens:
 * the _with functions below then skip OpenSSL's per-call set-up (about half
 * the cost of a verification). Usable from many threads at once. NULL when
 * keylen is 0 or on allocation failure; the bytes are copied into OpenSSL's
 * context. jwt_key_free accepts NULL. */
typedef struct jwt_key jwt_key;
jwt_key *jwt_key_new(const unsigned char *key, size_t keylen);
void jwt_key_free(jwt_key *k);

/* Sign claims (a JSON object; not changed) with key into out: header
 * {"alg":"HS256","typ":"JWT"}. Returns the token's length, or 0 when claims
 * is not an object, the token would not fit in cap (or exceed JWT_MAX_LEN),
 * or HMAC failed (out is then ""). */
size_t jwt_sign(const unsigned char *key, size_t keylen, json_object *claims, char *out,
                size_t cap);

/* Steps 1 to 3 above: shape, header and signature, no claim checked (the
 * RFC 7515 examples have no nbf). On JWT_OK *claims (may be NULL) is the
 * payload, parsed (any JSON value), a new reference the caller puts. */
jwt_status jwt_decode(const unsigned char *key, size_t keylen, const char *token,
                      json_object **claims);

/* All four steps at time now_s (seconds since the epoch) with leeway_s
 * seconds of clock skew allowed. On JWT_OK *claims (may be NULL) is the
 * claims object, a new reference the caller puts; otherwise *claims is
 * NULL. */
jwt_status jwt_verify(const unsigned char *key, size_t keylen, const char *token, int64_t now_s,
                      int leeway_s, json_object **claims);

/* The same three with a prepared key (a NULL key signs nothing and verifies
 * nothing: JWT_BAD_SIGNATURE). */
size_t jwt_sign_with(const jwt_key *k, json_object *claims, char *out, size_t cap);
jwt_status jwt_decode_with(const jwt_key *k, const char *token, json_object **claims);
jwt_status jwt_verify_with(const jwt_key *k, const char *token, int64_t now_s, int leeway_s,
                           json_object **claims);

#endif
