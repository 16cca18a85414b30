/* totp: time-based one-time passwords (RFC 6238 over RFC 4226's HOTP), as
 * the Toast web login asks for them. Prefix totp_. */
#ifndef BRAIN_TOTP_H
#define BRAIN_TOTP_H

#include <stddef.h>
#include <stdint.h>

typedef enum { TOTP_SHA1 = 0, TOTP_SHA256, TOTP_SHA512 } totp_alg;

#define TOTP_MAX_DIGITS 10

/* The code for key (raw bytes) at Unix time t: step seconds per code (30),
 * digits 6..10 (6 for authenticator apps), written with leading zeros into
 * out (at least digits + 1 bytes). Returns 0 or -1 (bad arguments, crypto
 * failure). */
int totp_code(const unsigned char *key, size_t keylen, totp_alg alg, int64_t t, int step,
              int digits, char *out, size_t cap);

/* The usual case: a base32 secret as apps show it, SHA-1, 30 s, 6 digits.
 * Returns 0 or -1 (the secret is not base32). The decoded key is wiped. */
int totp_now_code(const char *base32_secret, int64_t t, char out[7]);

#endif
