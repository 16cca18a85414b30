/* fernet: Fernet tokens over OpenSSL; see fernet.h. */
#include "fernet.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "b64.h"

#define F_VERSION  0x80
#define F_HEAD     (1 + 8 + 16) /* version, time, IV */
#define F_MAC      32
#define F_BLOCK    16
#define F_MAX_RAW  (F_HEAD + FERNET_MAX_PLAIN + F_BLOCK + F_MAC)
#define F_MAX_TEXT ((F_MAX_RAW + 2) / 3 * 4)

const char *
fernet_status_name(fernet_status st)
{
    switch (st) {
    case FERNET_OK:
        return "ok";
    case FERNET_INVALID:
        return "invalid token";
    case FERNET_EXPIRED:
        return "expired token";
    case FERNET_TOO_LARGE:
        return "too large";
    case FERNET_ERROR:
        return "crypto error";
    }
    return "unknown";
}

int
fernet_keys_parse(const char *list, fernet_keys *ring, char *err, size_t errlen)
{
    const char *p = list;

    memset(ring, 0, sizeof(*ring));
    if (list == NULL || *list == '\0') {
        snprintf(err, errlen, "no key given");
        return -1;
    }
    for (;;) {
        const char *end = strchr(p, ',');
        size_t len = end ? (size_t)(end - p) : strlen(p), got = 0;

        while (len > 0 && (*p == ' ' || *p == '\t')) {
            p++;
            len--;
        }
        while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t' || p[len - 1] == '\n'))
            len--;
        if (ring->n == FERNET_MAX_KEYS) {
            snprintf(err, errlen, "more than %d keys", FERNET_MAX_KEYS);
            goto fail;
        }
        if (b64url_decode(p, len, B64_PAD_OPTIONAL, ring->key[ring->n], FERNET_KEY_LEN, &got) != 0
            || got != FERNET_KEY_LEN) {
            snprintf(err, errlen, "key %zu is not 32 bytes of URL-safe base64", ring->n + 1);
            goto fail;
        }
        ring->n++;
        if (end == NULL)
            break;
        p = end + 1;
    }
    return 0;
fail:
    OPENSSL_cleanse(ring, sizeof(*ring));
    return -1;
}

size_t
fernet_token_len(size_t n)
{
    return b64url_encoded_len(F_HEAD + (n / F_BLOCK + 1) * F_BLOCK + F_MAC, true);
}

static bool
f_hmac(const unsigned char *key, const unsigned char *data, size_t n, unsigned char mac[F_MAC])
{
    unsigned int maclen = 0;

    return HMAC(EVP_sha256(), key, F_BLOCK, data, n, mac, &maclen) != NULL && maclen == F_MAC;
}

/* AES-128-CBC with PKCS#7 padding, one way or the other. Returns the output
 * length or -1. out must hold n + F_BLOCK bytes. */
static int
f_cipher(bool enc, const unsigned char *key, const unsigned char *iv, const unsigned char *in,
         size_t n, unsigned char *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int l1 = 0, l2 = 0, ret = -1;

    if (c == NULL || n > FERNET_MAX_PLAIN + F_BLOCK)
        goto out;
    if (EVP_CipherInit_ex(c, EVP_aes_128_cbc(), NULL, key, iv, enc ? 1 : 0) != 1
        || EVP_CipherUpdate(c, out, &l1, in, (int)n) != 1
        || EVP_CipherFinal_ex(c, out + l1, &l2) != 1)
        goto out;
    ret = l1 + l2;
out:
    EVP_CIPHER_CTX_free(c);
    return ret;
}

fernet_status
fernet_encrypt(const fernet_keys *ring, const void *plain, size_t n, int64_t now,
               const unsigned char *iv, char *out, size_t cap)
{
    unsigned char *buf = NULL;
    fernet_status st = FERNET_ERROR;
    size_t total;
    int clen;

    if (cap > 0)
        out[0] = '\0';
    if (ring == NULL || ring->n == 0)
        return FERNET_ERROR;
    if (n > FERNET_MAX_PLAIN)
        return FERNET_TOO_LARGE;
    if (fernet_token_len(n) + 1 > cap)
        return FERNET_TOO_LARGE;
    total = F_HEAD + (n / F_BLOCK + 1) * F_BLOCK + F_MAC;
    buf = OPENSSL_malloc(total);
    if (buf == NULL)
        return FERNET_ERROR;
    buf[0] = F_VERSION;
    for (int i = 0; i < 8; i++)
        buf[1 + i] = (unsigned char)((uint64_t)now >> (56 - 8 * i));
    if (iv != NULL)
        memcpy(buf + 9, iv, F_BLOCK);
    else if (RAND_bytes(buf + 9, F_BLOCK) != 1)
        goto out;
    clen = f_cipher(true, ring->key[0] + F_BLOCK, buf + 9, plain, n, buf + F_HEAD);
    if (clen < 0 || (size_t)clen + F_HEAD + F_MAC != total)
        goto out;
    if (!f_hmac(ring->key[0], buf, F_HEAD + (size_t)clen, buf + F_HEAD + clen))
        goto out;
    if (b64url_encode(buf, total, true, out, cap) == 0)
        goto out;
    st = FERNET_OK;
out:
    OPENSSL_clear_free(buf, total);
    return st;
}

fernet_status
fernet_decrypt(const fernet_keys *ring, const char *token, int64_t now, int64_t ttl,
               unsigned char *out, size_t cap, size_t *outlen, size_t *key_index)
{
    size_t tlen = token ? strnlen(token, F_MAX_TEXT + 1) : 0, rawlen = 0, clen, k;
    unsigned char *raw = NULL, *plain = NULL, mac[F_MAC];
    fernet_status st = FERNET_INVALID;
    int64_t ts = 0;
    int plen = -1;

    *outlen = 0;
    if (ring == NULL || ring->n == 0)
        return FERNET_ERROR;
    if (tlen == 0 || tlen > F_MAX_TEXT)
        return tlen == 0 ? FERNET_INVALID : FERNET_TOO_LARGE;
    raw = OPENSSL_malloc(tlen);
    if (raw == NULL)
        return FERNET_ERROR;
    if (b64url_decode(token, tlen, B64_PAD_REQUIRED, raw, tlen, &rawlen) != 0)
        goto out;
    if (rawlen < F_HEAD + F_BLOCK + F_MAC || raw[0] != F_VERSION)
        goto out;
    clen = rawlen - F_HEAD - F_MAC;
    if (clen % F_BLOCK != 0)
        goto out;
    for (int i = 0; i < 8; i++)
        ts = (int64_t)(((uint64_t)ts << 8) | raw[1 + i]);
    for (k = 0; k < ring->n; k++) {
        if (!f_hmac(ring->key[k], raw, rawlen - F_MAC, mac)) {
            st = FERNET_ERROR;
            goto out;
        }
        if (CRYPTO_memcmp(mac, raw + rawlen - F_MAC, F_MAC) == 0)
            break;
    }
    if (k == ring->n)
        goto out;
    /* Time is checked once the token is known to be ours: a forged one says
     * nothing about its age. */
    if (ts > now + FERNET_MAX_SKEW)
        goto out;
    if (ttl > 0 && ts + ttl < now) {
        st = FERNET_EXPIRED;
        goto out;
    }
    plain = OPENSSL_malloc(clen + F_BLOCK);
    if (plain == NULL) {
        st = FERNET_ERROR;
        goto out;
    }
    plen = f_cipher(false, ring->key[k] + F_BLOCK, raw + 9, raw + F_HEAD, clen, plain);
    if (plen < 0)
        goto out; /* bad padding */
    if ((size_t)plen + 1 > cap) {
        st = FERNET_TOO_LARGE;
        goto out;
    }
    memcpy(out, plain, (size_t)plen);
    out[plen] = '\0';
    *outlen = (size_t)plen;
    if (key_index != NULL)
        *key_index = k;
    st = FERNET_OK;
out:
    if (plain != NULL)
        OPENSSL_clear_free(plain, clen + F_BLOCK);
    OPENSSL_clear_free(raw, tlen);
    return st;
}
