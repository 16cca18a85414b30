/* totp: RFC 6238 codes; see totp.h. */
#include "totp.h"

#include <stdio.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "b64.h"

#define TOTP_MAX_KEY 128

int
totp_code(const unsigned char *key, size_t keylen, totp_alg alg, int64_t t, int step, int digits,
          char *out, size_t cap)
{
    static const uint64_t pow10[] = {
        1, 10, 100, 1000, 10000, 100000, 1000000, 10000000, 100000000, 1000000000, 10000000000ULL};
    const EVP_MD *md = alg == TOTP_SHA256   ? EVP_sha256()
                       : alg == TOTP_SHA512 ? EVP_sha512()
                                            : EVP_sha1();
    unsigned char msg[8], mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    uint64_t counter, bin;
    unsigned off;

    if (cap > 0)
        out[0] = '\0';
    if (key == NULL || keylen == 0 || step <= 0 || t < 0 || digits < 6 || digits > TOTP_MAX_DIGITS
        || cap < (size_t)digits + 1)
        return -1;
    counter = (uint64_t)t / (uint64_t)step;
    for (int i = 0; i < 8; i++)
        msg[i] = (unsigned char)(counter >> (56 - 8 * i));
    if (HMAC(md, key, (int)keylen, msg, sizeof(msg), mac, &maclen) == NULL || maclen < 20)
        return -1;
    /* RFC 4226 section 5.3: dynamic truncation. */
    off = mac[maclen - 1] & 0x0f;
    bin = ((uint64_t)(mac[off] & 0x7f) << 24) | ((uint64_t)mac[off + 1] << 16)
          | ((uint64_t)mac[off + 2] << 8) | mac[off + 3];
    snprintf(out, cap, "%0*llu", digits, (unsigned long long)(bin % pow10[digits]));
    OPENSSL_cleanse(mac, sizeof(mac));
    return 0;
}

int
totp_now_code(const char *base32_secret, int64_t t, char out[7])
{
    unsigned char key[TOTP_MAX_KEY];
    size_t keylen = 0;
    int rc = -1;

    out[0] = '\0';
    if (base32_secret != NULL && b64_base32_decode(base32_secret, key, sizeof(key), &keylen) == 0)
        rc = totp_code(key, keylen, TOTP_SHA1, t, 30, 6, out, 7);
    OPENSSL_cleanse(key, sizeof(key));
    return rc;
}
