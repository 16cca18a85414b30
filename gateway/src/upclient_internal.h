/* upclient internals shared by upclient.c (targets, pool, sending) and
 * upclient_read.c (reading and parsing answers). Not for other modules. */
#ifndef GATEWAY_UPCLIENT_INTERNAL_H
#define GATEWAY_UPCLIENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upclient.h"

#define UPC_EOF 1 /* upc__read_answer's reads: the peer closed its side */

/* The read side of one exchange: mem[0..len) read so far, one byte kept
 * free for a terminating NUL. */
typedef struct upc_reader {
    int fd;
    char *mem;
    size_t len, cap;
    int64_t deadline_ns;
    int err; /* errno of a failed recv */
} upc_reader;

/* Milliseconds left until deadline_ns (util_mono_ns), rounded up; 0 when
 * it has passed. */
int64_t upc__left_ms(int64_t deadline_ns);

/* A tchar of RFC 9110 section 5.6.2; a token is one or more of them. */
bool upc__tchar(unsigned char c);
bool upc__token(const char *s, size_t n);

/* Read the answer to a request of method on r->fd into resp (r->mem becomes
 * resp->mem on UPC_OK; otherwise it stays r's, for the caller to free).
 * *keep: the connection can be reused; *stale: it ended before the first
 * byte of an answer. UPC_OK or an error. */
int upc__read_answer(upc_reader *r, const char *method, upc_response *resp, bool *keep,
                     bool *stale);

#endif
