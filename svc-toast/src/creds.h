/* creds: the integration secrets at rest, as Fernet tokens under the
 * ENCRYPTION_KEYS ring (the first key encrypts, every key decrypts). Plain
 * text lives only in caller buffers, for one call, and is wiped by the
 * caller. Prefix creds_. */
#ifndef TOAST_CREDS_H
#define TOAST_CREDS_H

#include <stddef.h>

#include "fernet.h"

#define CREDS_TOKEN_MAX 1024 /* a token of an INTEG_SECRET_MAX plaintext fits */

/* Encrypt plain into out. 0, or -1 (too long, crypto failure; logged
 * without the text). */
int creds_seal(const fernet_keys *keys, const char *plain, char *out, size_t cap);
/* Decrypt token into out (NUL-terminated). 0, or -1 (no key opens it, or it
 * does not fit; logged without the text). */
int creds_open(const fernet_keys *keys, const char *token, char *out, size_t cap);
/* Re-encrypt token with the first key into out. 0, or -1. The plaintext
 * passes through a wiped stack buffer only. */
int creds_reseal(const fernet_keys *keys, const char *token, char *out, size_t cap);

/* Overwrite n bytes in a way the compiler keeps. */
void creds_wipe(void *p, size_t n);

#endif
