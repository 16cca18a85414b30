/* b64: Base64 with the URL-safe alphabet (RFC 4648 section 5), as JWT
 * (unpadded) and Fernet (padded) use it; base32 (section 6) for TOTP secrets.
 * Prefix b64_. Strict decoders: any character outside the alphabet,
 * misplaced padding, or non-zero unused trailing bits is an error, so every
 * text has one decoding and one text per byte string is accepted. */
#ifndef BRAIN_B64_H
#define BRAIN_B64_H

#include <stdbool.h>
#include <stddef.h>

typedef enum {
    B64_PAD_FORBIDDEN = 0, /* JWT: "=" is an error */
    B64_PAD_REQUIRED,      /* Fernet: the length must be a multiple of 4 */
    B64_PAD_OPTIONAL,      /* keys given by people: either */
} b64_padding;

/* Encoded length of n bytes, without the terminating NUL. */
size_t b64url_encoded_len(size_t n, bool pad);

/* Encode n bytes into out (cap bytes, NUL-terminated). Returns the length
 * written, or 0 when cap is too small (out is then ""; n == 0 gives 0 too). */
size_t b64url_encode(const unsigned char *in, size_t n, bool pad, char *out, size_t cap);

/* Decode the len characters at in into out (cap bytes). Returns 0 with
 * *outlen set, or -1 (invalid text, or more than cap bytes). */
int b64url_decode(const char *in, size_t len, b64_padding pad, unsigned char *out, size_t cap,
                  size_t *outlen);

/* Decode RFC 4648 base32 (A-Z 2-7), case-insensitive, ignoring spaces and
 * "=" padding at the end, as authenticator apps show TOTP secrets. Returns 0
 * with *outlen set, or -1. */
int b64_base32_decode(const char *in, unsigned char *out, size_t cap, size_t *outlen);

#endif
