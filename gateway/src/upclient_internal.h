/* upclient internals shared by upclient.c (targets, pool, sending) and
 * upclient_read.c (reading and parsing answers). Not for other modules. */
#ifndef GATEWAY_UPCLIENT_INTERNAL_H
#define GATEWAY_UPCLIENT_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "upclient.h"

#define UPC_EOF        1 /* upc__read_answer's reads: the peer closed its side */
#define UPC_MAX_METHOD 32

struct addrinfo;
struct iovec;

/* The read side of one exchange: mem[0..len) read so far, one byte kept
 * free for a terminating NUL. */
typedef struct upc_reader {
    int fd;
    char *mem;
    size_t len, cap;
    int64_t deadline_ns;
    int err;     /* errno of a failed recv */
    bool nowait; /* never wait: the bytes are there (an event loop's exchange) */
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

/* What the blocking client and the event loop's share (upclient.c). */
int upc__pool_take(upc_target *t);
void upc__pool_put(upc_target *t, int fd);
bool upc__idle_usable(int fd);
void upc__detail(upc_info *info, const char *what, const upc_target *t, int err);
bool upc__target_ok(const char *s);
/* ---- addresses (upclient_addrs.c) ---- */

socklen_t upc__sa_len(const upc_sa *sa);

typedef struct upc_dns upc_dns;
/* For host and port (copied); NULL when out of memory. A numeric host is
 * parsed here, a name is looked up when first asked for. */
upc_dns *upc__dns_new(const char *host, const char *port);
void upc__dns_free(upc_dns *d); /* NULL ok; waits for a lookup under way */
/* What a blocking lookup (upc__resolve) found, remembered. */
void upc__dns_found(upc_dns *d, const struct addrinfo *res);
/* The addresses, for a caller that must not wait on DNS (an event loop):
 * the ones known, looked up again in the background when they are old.
 * Only when none was ever found does it wait for the lookup under way,
 * until until_ns at most. UPC_OK with *out, or UPC_ERR_CONNECT with a
 * detail. */
int upc__dns_addrs(upc_dns *d, upc_addrs *out, int64_t until_ns, upc_info *info);

/* The method, target and body of rq can be sent; else false with a detail. */
bool upc__request_ok(const upc_request *rq, upc_info *info);
/* The target's addresses (getaddrinfo, which may wait; remembered for
 * upc__target_addrs), or UPC_ERR_CONNECT with a detail. */
int upc__resolve(const upc_target *t, struct addrinfo **res, upc_info *info);
/* upc__dns_addrs for the target. */
int upc__target_addrs(const upc_target *t, upc_addrs *out, int64_t until_ns, upc_info *info);
/* The request as iovecs (at most 8); line and tail are the caller's
 * buffers (UPC_MAX_METHOD + 2 and 48 bytes). */
size_t upc__iov(const upc_target *t, const upc_request *rq, struct iovec *iov, char *line,
                char *tail, size_t tail_cap);

/* Whether mem[0..len) holds a whole answer to method: 1 yes, 0 not yet, or
 * an error (UPC_ERR_BROKEN when the peer closed (eof) before it was whole,
 * UPC_ERR_TOO_LARGE, UPC_ERR_INVALID). mem is not changed. */
int upc__answer_ready(const char *mem, size_t len, const char *method, bool eof);

#endif
