/* upclient: a small HTTP/1.1 client for the gateway's upstreams, with a pool
 * of kept-alive connections per upstream. Prefix upc_.
 *
 * Why not libcurl: per proxied request an easy transfer (reset, options, URL
 * parse, header list, a shared connection cache taken under locks several
 * times) cost more CPU than the relay itself (README, "Benchmark against
 * nginx"). The upstreams are plain http:// services on the same network, so
 * this client does only that: one request, one answer, no TLS, no
 * redirects, no proxies, no cookies, no compression.
 *
 * A request goes out with one sendmsg (head and body together); the answer
 * is read with poll against one deadline for the whole exchange, and parsed
 * with bounds everywhere: a head of at most UPC_MAX_HEAD bytes, at most
 * UPC_MAX_HEADERS header lines kept, a body of at most UPC_MAX_BODY bytes
 * framed by Content-Length, chunked, or the end of the connection. Interim
 * 1xx answers are skipped; HEAD, 204 and 304 answers have no body.
 *
 * The pool: a stack (last in, first out, so the warmest connection is used
 * and the rest age out) of at most UPC_MAX_IDLE idle connections per target,
 * under a mutex held for a few instructions. A connection idle for
 * UPC_IDLE_MS or longer is closed rather than reused: the services close
 * keep-alive connections after 2 s, and sending on one they are closing
 * would fail. A connection goes back only after a complete answer that
 * allows keep-alive (HTTP/1.1 without "Connection: close").
 *
 * A pooled connection may still have been closed by the service just before
 * it was used (the keep-alive race). When one fails while sending (EPIPE,
 * ECONNRESET) or ends before the first byte of an answer, the request is
 * sent once more on a fresh connection: the service cannot have processed it
 * (curl does the same).
 *
 * Thread-safe: a target is shared by every thread; a response belongs to
 * the caller. */
#ifndef GATEWAY_UPCLIENT_H
#define GATEWAY_UPCLIENT_H

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define UPC_MAX_HEAD    (64 * 1024)         /* status line and headers of an answer */
#define UPC_MAX_HEADERS 64                  /* header lines kept; later ones are skipped */
#define UPC_MAX_BODY    (32u * 1024 * 1024) /* an answer's body */
#define UPC_MAX_IDLE    64                  /* idle connections kept per target */
#define UPC_IDLE_MS     1000                /* an idle connection older than this is closed */

/* Results: UPC_OK or a negative error. */
typedef enum {
    UPC_OK = 0,
    UPC_ERR_CONNECT = -1,   /* no connection (name, refused, connect timeout): nothing sent */
    UPC_ERR_TIMEOUT = -2,   /* the request went out, the answer was not complete in time */
    UPC_ERR_BROKEN = -3,    /* the connection failed or ended before the answer was complete */
    UPC_ERR_TOO_LARGE = -4, /* a head over UPC_MAX_HEAD or a body over UPC_MAX_BODY */
    UPC_ERR_INVALID = -5,   /* not a valid HTTP/1.x answer (or a 101 nobody asked for) */
    UPC_ERR_NOMEM = -6,     /* allocation failed */
    UPC_ERR_ARG = -7,       /* bad URL or request (https://, CR/LF, a head too large) */
} upc_status;

/* A short name of a result for log lines and messages ("cannot connect",
 * ...), never holding an address. */
const char *upc_strerror(int rc);

/* ---- targets ---- */

typedef struct upc_target upc_target;

/* A target for the base URL "http://host[:port][/prefix]" (https:// is
 * UPC_ERR_ARG), with an empty pool. UPC_OK with *out, to be freed with
 * upc_target_free; else UPC_ERR_ARG or UPC_ERR_NOMEM and *out NULL. The
 * name is resolved when a connection is opened, not here. */
int upc_target_new(const char *base_url, upc_target **out);
/* Close the idle connections and free. No request may be in flight on t.
 * Accepts NULL. */
void upc_target_free(upc_target *t);
/* Idle connections in t's pool now (tests, metrics). */
size_t upc_target_idle(upc_target *t);

/* ---- requests ---- */

/* Building a request's header lines into a buffer of the caller's (no
 * allocation): each upc_head_add appends "Name: value\r\n". */
typedef struct upc_head {
    char *buf;
    size_t len, cap;
    bool overflow; /* a line did not fit: the head is incomplete */
} upc_head;

void upc_head_init(upc_head *h, char *buf, size_t cap);
/* Append one header line. false, nothing appended, when name is not an HTTP
 * token or value holds CR, LF or NUL (never forwarded), or when it does not
 * fit (then h->overflow is set). nlen/vlen are the lengths of name and value
 * (upc_head_add: strlen of both). */
bool upc_head_addn(upc_head *h, const char *name, size_t nlen, const char *value, size_t vlen);
bool upc_head_add(upc_head *h, const char *name, const char *value);

typedef struct upc_request {
    const char *method;  /* an HTTP token: "GET", "POST", ... */
    const char *target;  /* path and query, percent-encoded; appended to the URL's prefix */
    const char *headers; /* header lines ("Name: value\r\n"...; upc_head), or NULL. Not
                          * Host, Content-Length, Transfer-Encoding or Connection:
                          * this client writes those */
    size_t headers_len;
    const char *body; /* sent with Content-Length; NULL when body_len is 0 */
    size_t body_len;
    long timeout_ms;         /* the whole exchange, from the call */
    long connect_timeout_ms; /* each TCP connect, within timeout_ms */
} upc_request;

/* Content-Length is sent when body_len > 0 and, as 0, for POST, PUT and
 * PATCH without a body. */

typedef struct upc_header {
    const char *line; /* "Name: value" as sent, NUL-terminated, no trailing blanks */
    size_t name_len;  /* line[0..name_len) is the name */
    const char *value;
} upc_header;

typedef struct upc_response {
    int status; /* 100 to 999, as sent */
    int minor;  /* HTTP/1.<minor> */
    upc_header headers[UPC_MAX_HEADERS];
    size_t nheaders;
    const char *body; /* body_len bytes (may hold NULs), NUL-terminated; "" without one */
    size_t body_len;
    char *mem; /* owns the head and the body */
} upc_response;

/* What happened, for the caller's log line. */
typedef struct upc_info {
    bool reused;      /* the answer came on a connection from the pool */
    bool stale_retry; /* a pooled connection failed first; the request was sent again */
    char detail[384]; /* why it failed, for the gateway's log only: may hold the address */
} upc_info;

/* Send rq to t and read the answer. UPC_OK with *out, which the caller frees
 * with upc_response_free; else an error and *out NULL. info (may be NULL)
 * is filled either way. UPC_ERR_CONNECT means nothing was sent. */
int upc_send(upc_target *t, const upc_request *rq, upc_response **out, upc_info *info);

/* ---- the same exchange for an event loop (upclient_async.c) ----
 *
 * Never blocks (but for resolving the host name of a new connection): the
 * caller waits for a->want on a->fd with its own epoll and calls
 * upc_async_step when it is ready, and upc_async_expire at the deadline.
 * The keep-alive race's one retry and the limits are upc_send's. rq's strings must stay valid until
 * the exchange ends. */

#define UPC_AGAIN      1 /* in progress: wait for a->want on a->fd */
#define UPC_WANT_READ  1u
#define UPC_WANT_WRITE 2u
#define UPC_ASYNC_IOV  8

/* An upstream's addresses (upclient_addrs.c): what its name resolved to. */
#define UPC_MAX_ADDRS 4
typedef union upc_sa {
    struct sockaddr sa;
    struct sockaddr_in in;
    struct sockaddr_in6 in6;
} upc_sa;
typedef struct upc_addrs {
    int n;
    upc_sa a[UPC_MAX_ADDRS];
} upc_addrs;

typedef struct upc_async {
    upc_target *t;
    upc_request rq;
    int fd;          /* the connection now, -1 when none (may change on a step) */
    unsigned fd_gen; /* counts the connections fd has been: a new one needs registering */
    int kept_fd;     /* after UPC_OK: the connection, when the answer allowed keep-alive */
    unsigned want;   /* UPC_WANT_READ or UPC_WANT_WRITE */
    int phase;
    int64_t deadline_ns;         /* of the whole exchange */
    int64_t connect_deadline_ns; /* of the connection being made */
    upc_addrs addrs;             /* n is 0 until the first connection is opened */
    int next_addr;               /* the next of addrs to try */
    struct iovec *iov;           /* into iovs: what is left to send */
    size_t iovcnt;
    struct iovec iovs[UPC_ASYNC_IOV];
    char line[40], tail[48];
    char *mem; /* the answer read so far */
    size_t len, cap;
    bool eof;
    upc_info info;
} upc_async;

/* Begin rq on t, on fd, a kept-alive connection of the caller's own pool
 * (taken as reused), or -1 to open a new one: UPC_AGAIN, or an error
 * (UPC_ERR_CONNECT: nothing was sent) after which a holds nothing. t's
 * pool is not used: after UPC_OK, kept_fd (when not -1) is the caller's
 * again, to keep or close. */
int upc_async_start_on(upc_target *t, const upc_request *rq, upc_async *a, int fd);
/* a->fd is ready (or may be): UPC_AGAIN, UPC_OK with *out (the caller frees
 * it with upc_response_free), or an error. After anything but UPC_AGAIN the
 * exchange is over and a holds nothing. */
int upc_async_step(upc_async *a, upc_response **out);
/* The deadline passed: ends the exchange, UPC_ERR_CONNECT when it was still
 * connecting within the connect timeout, else UPC_ERR_TIMEOUT. */
int upc_async_expire(upc_async *a);
/* When the next deadline of a is (the connect timeout, then the
 * exchange's). */
int64_t upc_async_deadline(const upc_async *a);
/* Drop an exchange in progress. */
void upc_async_abort(upc_async *a);
/* The value of the first header name (any case), or NULL. */
const char *upc_header_get(const upc_response *r, const char *name);

/* Accepts NULL. */
void upc_response_free(upc_response *r);

#endif
