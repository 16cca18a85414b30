/* secret: random bytes, tokens, SHA-256 and PBKDF2 password hashes; see
 * secret.h. */
#include "secret.h"

#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>

#include "b64.h"
#include "util.h"

#define SCHEME       "pbkdf2-sha256$"
#define HASH_LEN     32 /* bytes of derived key: one SHA-256 block, no extra rounds */
#define SALT_MAX     64 /* a longer stored salt is garbled */
#define TOKEN_MAX_IN 64

int
secret_random(unsigned char *buf, size_t n)
{
    if (n > (size_t)0x7fffffff)
        return -1;
    return n == 0 || RAND_bytes(buf, (int)n) == 1 ? 0 : -1;
}

int
secret_token(const char *prefix, size_t nbytes, char *out, size_t cap)
{
    unsigned char raw[TOKEN_MAX_IN];
    size_t plen = prefix != NULL ? strlen(prefix) : 0;
    int rc = -1;

    if (cap == 0)
        return -1;
    out[0] = '\0';
    if (nbytes == 0 || nbytes > sizeof(raw) || plen >= cap || secret_random(raw, nbytes) != 0)
        goto out;
    if (plen > 0)
        memcpy(out, prefix, plen);
    if (b64url_encode(raw, nbytes, false, out + plen, cap - plen) == 0) {
        out[0] = '\0';
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(raw, sizeof(raw));
    return rc;
}

void
secret_sha256(const void *data, size_t n, unsigned char out[SECRET_SHA256_LEN])
{
    unsigned int len = 0;

    /* EVP_Digest cannot fail for SHA-256 short of memory exhaustion; a zeroed
     * digest then never matches a stored one, so it fails closed. */
    if (EVP_Digest(data, n, out, &len, EVP_sha256(), NULL) != 1)
        memset(out, 0, SECRET_SHA256_LEN);
}

void
secret_sha256_hex(const void *data, size_t n, char out[SECRET_SHA256_HEX + 1])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[SECRET_SHA256_LEN];

    secret_sha256(data, n, md);
    for (size_t i = 0; i < SECRET_SHA256_LEN; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 15];
    }
    out[SECRET_SHA256_HEX] = '\0';
}

bool
secret_equal(const void *a, size_t alen, const void *b, size_t blen)
{
    if (alen != blen)
        return false;
    return alen == 0 || CRYPTO_memcmp(a, b, alen) == 0;
}

int
secret_pbkdf2_sha256(const char *password, size_t pwlen, const unsigned char *salt, size_t saltlen,
                     unsigned iterations, unsigned char *out, size_t outlen)
{
    if (iterations == 0 || iterations > 0x7fffffffu || pwlen > 0x7fffffff || saltlen > 0x7fffffff
        || outlen == 0 || outlen > 0x7fffffff)
        return -1;
    return PKCS5_PBKDF2_HMAC(password, (int)pwlen, salt, (int)saltlen, (int)iterations,
                             EVP_sha256(), (int)outlen, out)
                   == 1
               ? 0
               : -1;
}

int
secret_password_hash(const char *password, unsigned iterations, char *out, size_t cap)
{
    unsigned char salt[SECRET_SALT_LEN], dk[HASH_LEN];
    char salt64[32], dk64[48];
    int rc = -1;

    if (cap == 0)
        return -1;
    out[0] = '\0';
    if (iterations == 0)
        iterations = SECRET_PBKDF2_ITERATIONS;
    if (secret_random(salt, sizeof(salt)) != 0
        || secret_pbkdf2_sha256(password, strlen(password), salt, sizeof(salt), iterations, dk,
                                sizeof(dk))
               != 0
        || b64url_encode(salt, sizeof(salt), false, salt64, sizeof(salt64)) == 0
        || b64url_encode(dk, sizeof(dk), false, dk64, sizeof(dk64)) == 0)
        goto out;
    int n = snprintf(out, cap, SCHEME "%u$%s$%s", iterations, salt64, dk64);
    if (n < 0 || (size_t)n >= cap) {
        out[0] = '\0';
        goto out;
    }
    rc = 0;
out:
    OPENSSL_cleanse(dk, sizeof(dk));
    return rc;
}

/* The parts of a stored hash. Returns 0, or -1 when it is not one of ours. */
static int
parse_stored(const char *stored, unsigned *iterations, unsigned char *salt, size_t *saltlen,
             unsigned char dk[HASH_LEN])
{
    char count[16];
    size_t dklen = 0;
    long iter = 0;

    if (stored == NULL || strncmp(stored, SCHEME, strlen(SCHEME)) != 0)
        return -1;
    const char *p = stored + strlen(SCHEME);
    const char *d1 = strchr(p, '$');
    const char *d2 = d1 != NULL ? strchr(d1 + 1, '$') : NULL;
    if (d2 == NULL || strchr(d2 + 1, '$') != NULL || (size_t)(d1 - p) >= sizeof(count))
        return -1;
    memcpy(count, p, (size_t)(d1 - p));
    count[d1 - p] = '\0';
    if (util_parse_long(count, SECRET_PBKDF2_MIN_ITER, SECRET_PBKDF2_MAX_ITER, &iter) != 0)
        return -1;
    if (b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), B64_PAD_FORBIDDEN, salt, SALT_MAX, saltlen)
            != 0
        || *saltlen < 8
        || b64url_decode(d2 + 1, strlen(d2 + 1), B64_PAD_FORBIDDEN, dk, HASH_LEN, &dklen) != 0
        || dklen != HASH_LEN)
        return -1;
    *iterations = (unsigned)iter;
    return 0;
}

bool
secret_password_verify(const char *password, const char *stored)
{
    unsigned char salt[SALT_MAX], want[HASH_LEN], got[HASH_LEN];
    size_t saltlen = 0;
    unsigned iterations = 0;
    bool ok = false;

    if (password == NULL || parse_stored(stored, &iterations, salt, &saltlen, want) != 0)
        return false;
    if (secret_pbkdf2_sha256(password, strlen(password), salt, saltlen, iterations, got,
                             sizeof(got))
        == 0)
        ok = CRYPTO_memcmp(got, want, HASH_LEN) == 0;
    OPENSSL_cleanse(got, sizeof(got));
    OPENSSL_cleanse(want, sizeof(want));
    return ok;
}

bool
secret_password_outdated(const char *stored)
{
    unsigned char salt[SALT_MAX], dk[HASH_LEN];
    size_t saltlen = 0;
    unsigned iterations = 0;

    if (parse_stored(stored, &iterations, salt, &saltlen, dk) != 0)
        return true;
    return iterations < SECRET_PBKDF2_ITERATIONS;
}
