/* secret: random secrets, digests and password hashing over OpenSSL.
 * Prefix secret_. Thread-safe; nothing here logs what it is given.
 *
 * Passwords are hashed with PBKDF2-HMAC-SHA256, a 16-byte random salt and
 * SECRET_PBKDF2_ITERATIONS rounds, stored as one self-describing string
 *   pbkdf2-sha256$<iterations>$<salt>$<hash>
 * (salt and hash in URL-safe base64 without padding), so the count can be
 * raised later: old hashes keep verifying with their own count and
 * secret_password_outdated() tells when to hash again. */
#ifndef BRAIN_SECRET_H
#define BRAIN_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#define SECRET_SHA256_LEN        32
#define SECRET_SHA256_HEX        64 /* characters, without the NUL */
#define SECRET_PBKDF2_ITERATIONS 210000
#define SECRET_PBKDF2_MIN_ITER   1000     /* a stored count below this is garbled */
#define SECRET_PBKDF2_MAX_ITER   10000000 /* above this it would take minutes */
#define SECRET_SALT_LEN          16
#define SECRET_HASH_MAX          128 /* room for a stored password hash and its NUL */

/* Fill buf with n bytes from the OpenSSL CSPRNG. Returns 0 or -1. */
int secret_random(unsigned char *buf, size_t n);

/* A random token of nbytes random bytes (at most 64), URL-safe base64 without
 * padding, after prefix (may be NULL or ""): "brk_Qx3...". Returns 0, or -1
 * when cap is too small or the random source failed (out is then ""). */
int secret_token(const char *prefix, size_t nbytes, char *out, size_t cap);

/* SHA-256 of n bytes at data. */
void secret_sha256(const void *data, size_t n, unsigned char out[SECRET_SHA256_LEN]);
/* The same as lowercase hex into out[SECRET_SHA256_HEX + 1]. */
void secret_sha256_hex(const void *data, size_t n, char out[SECRET_SHA256_HEX + 1]);

/* Constant-time equality of two byte strings: the time taken does not depend
 * on their contents (only on alen). Different lengths are unequal. */
bool secret_equal(const void *a, size_t alen, const void *b, size_t blen);

/* Raw PBKDF2-HMAC-SHA256 (RFC 8018) into out[outlen]. Returns 0 or -1. */
int secret_pbkdf2_sha256(const char *password, size_t pwlen, const unsigned char *salt,
                         size_t saltlen, unsigned iterations, unsigned char *out, size_t outlen);

/* Hash password with a fresh salt and iterations rounds (0 means
 * SECRET_PBKDF2_ITERATIONS) into out (at least SECRET_HASH_MAX bytes).
 * Returns 0 or -1 (out is then ""). */
int secret_password_hash(const char *password, unsigned iterations, char *out, size_t cap);

/* Whether password matches stored (a secret_password_hash string), compared
 * in constant time. An unknown scheme, a garbled string or a count outside
 * [SECRET_PBKDF2_MIN_ITER, SECRET_PBKDF2_MAX_ITER] verifies false. */
bool secret_password_verify(const char *password, const char *stored);

/* True when stored uses fewer rounds than SECRET_PBKDF2_ITERATIONS (or is not
 * ours): hash the password again at the next successful login. */
bool secret_password_outdated(const char *stored);

#endif
