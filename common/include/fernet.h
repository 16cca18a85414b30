/* fernet: symmetric tokens exactly as the Fernet specification defines them
 * (https://github.com/fernet/spec): version 0x80, 64-bit big-endian seconds,
 * 16-byte IV, AES-128-CBC with PKCS#7 padding, HMAC-SHA256 over all of that,
 * the whole in URL-safe Base64 with padding. A key is 32 bytes (URL-safe
 * Base64 in text): the first half signs, the second encrypts. Prefix fernet_.
 *
 * Key rotation: a key ring holds one or more keys; the first encrypts, every
 * one is tried to decrypt, so a token written with an old key still opens and
 * can be re-encrypted with the new one. Tokens written here open in any other
 * Fernet implementation and the other way round (tests/vectors/fernet). */
#ifndef BRAIN_FERNET_H
#define BRAIN_FERNET_H

#include <stddef.h>
#include <stdint.h>

#define FERNET_KEY_LEN   32
#define FERNET_MAX_KEYS  8
#define FERNET_MAX_SKEW  60 /* seconds a token's time may be ahead of ours */
#define FERNET_MAX_PLAIN (64 * 1024)

typedef struct fernet_keys {
    unsigned char key[FERNET_MAX_KEYS][FERNET_KEY_LEN];
    size_t n;
} fernet_keys;

typedef enum {
    FERNET_OK = 0,
    FERNET_INVALID, /* malformed, wrong key, tampered: deliberately one answer */
    FERNET_EXPIRED, /* valid but older than the ttl asked for */
    FERNET_TOO_LARGE,
    FERNET_ERROR, /* the crypto library or the random source failed */
} fernet_status;

const char *fernet_status_name(fernet_status st);

/* Parse a comma-separated list of keys (spaces around commas allowed) into
 * ring. Returns 0, or -1 with the reason in err (which key, never its text). */
int fernet_keys_parse(const char *list, fernet_keys *ring, char *err, size_t errlen);

/* Length of the token for a plaintext of n bytes, without the NUL. */
size_t fernet_token_len(size_t n);

/* Encrypt n bytes with the ring's first key at time now (seconds since the
 * epoch) into out (cap bytes, NUL-terminated). iv is 16 bytes, or NULL for a
 * random one (always NULL outside tests). */
fernet_status fernet_encrypt(const fernet_keys *ring, const void *plain, size_t n, int64_t now,
                             const unsigned char *iv, char *out, size_t cap);

/* Verify and decrypt token at time now. ttl > 0 also refuses tokens older
 * than ttl seconds (FERNET_EXPIRED); ttl == 0 accepts any age. A token more
 * than FERNET_MAX_SKEW seconds in the future is FERNET_INVALID. On FERNET_OK
 * out holds *outlen bytes plus a NUL (cap must allow it) and *key_index (may
 * be NULL) says which key of the ring opened it. The plaintext is wiped from
 * every internal buffer. */
fernet_status fernet_decrypt(const fernet_keys *ring, const char *token, int64_t now, int64_t ttl,
                             unsigned char *out, size_t cap, size_t *outlen, size_t *key_index);

#endif
