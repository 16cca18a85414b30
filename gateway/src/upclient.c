/* upclient: HTTP/1.1 to the upstreams over a keep-alive pool; see
 * upclient.h. This file: targets, the pool, connecting and sending;
 * reading and parsing an answer is upclient_read.c. */
#include "upclient.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "upclient_internal.h"
#include "util.h"
#include "wsclient.h"

typedef struct upc_idle {
    int fd;
    int64_t since_ns; /* when it went back to the pool */
} upc_idle;

struct upc_target {
    wsc_url url; /* the same URL rules as the WebSocket proxy's */
    size_t prefix_len;
    char host_line[sizeof(((wsc_url *)0)->hostport) + 32]; /* " HTTP/1.1\r\nHost: h:p\r\n" */
    size_t host_line_len;
    pthread_mutex_t mu;          /* guards idle and nidle */
    upc_idle idle[UPC_MAX_IDLE]; /* a stack: oldest at 0, most recent on top */
    size_t nidle;
    upc_dns *dns; /* its addresses, for the event loops */
};

static const char *const upc_errors[] = {
    [-UPC_OK] = "ok",
    [-UPC_ERR_CONNECT] = "cannot connect",
    [-UPC_ERR_TIMEOUT] = "timed out",
    [-UPC_ERR_BROKEN] = "connection broken before a complete answer",
    [-UPC_ERR_TOO_LARGE] = "answer too large",
    [-UPC_ERR_INVALID] = "invalid answer",
    [-UPC_ERR_NOMEM] = "out of memory",
    [-UPC_ERR_ARG] = "invalid request",
};

const char *
upc_strerror(int rc)
{
    if (rc > 0 || -rc >= (int)(sizeof(upc_errors) / sizeof(upc_errors[0])))
        return "unknown error";
    return upc_errors[-rc];
}

int64_t
upc__left_ms(int64_t deadline_ns)
{
    int64_t left = deadline_ns - util_mono_ns();
    return left > 0 ? (left + 999999) / 1000000 : 0;
}

void
upc__detail(upc_info *info, const char *what, const upc_target *t, int err)
{
    char ebuf[96];
    if (err != 0)
        snprintf(info->detail, sizeof(info->detail), "%s %s: %s", what, t->url.hostport,
                 strerror_r(err, ebuf, sizeof(ebuf)));
    else
        snprintf(info->detail, sizeof(info->detail), "%s %s", what, t->url.hostport);
}

/* ---- targets and the pool ---- */

int
upc_target_new(const char *base_url, upc_target **out)
{
    upc_target *t = NULL;

    *out = NULL;
    if (base_url == NULL || (t = calloc(1, sizeof(*t))) == NULL)
        return base_url == NULL ? UPC_ERR_ARG : UPC_ERR_NOMEM;
    if (wsc_url_parse(base_url, &t->url) != WSC_OK || strpbrk(t->url.prefix, " \t\r\n?#") != NULL) {
        free(t);
        return UPC_ERR_ARG;
    }
    t->prefix_len = strlen(t->url.prefix);
    int n =
        snprintf(t->host_line, sizeof(t->host_line), " HTTP/1.1\r\nHost: %s\r\n", t->url.hostport);
    if (n < 0 || (size_t)n >= sizeof(t->host_line)) {
        free(t);
        return UPC_ERR_ARG;
    }
    t->host_line_len = (size_t)n;
    if ((t->dns = upc__dns_new(t->url.host, t->url.port)) == NULL) {
        free(t);
        return UPC_ERR_NOMEM;
    }
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    /* Held for a few instructions: spin a little before sleeping. */
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    pthread_mutex_init(&t->mu, &attr);
    pthread_mutexattr_destroy(&attr);
    *out = t;
    return UPC_OK;
}

void
upc_target_free(upc_target *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->nidle; i++)
        close(t->idle[i].fd);
    upc__dns_free(t->dns);
    pthread_mutex_destroy(&t->mu);
    free(t);
}

size_t
upc_target_idle(upc_target *t)
{
    pthread_mutex_lock(&t->mu);
    size_t n = t->nidle;
    pthread_mutex_unlock(&t->mu);
    return n;
}

/* The most recently pooled connection, or -1. When even that one has been
 * idle too long, so have all below it: the pool is emptied. */
int
upc__pool_take(upc_target *t)
{
    int old[UPC_MAX_IDLE], fd = -1;
    size_t nold = 0;
    int64_t now = util_mono_ns(), max_age = (int64_t)UPC_IDLE_MS * 1000000;

    pthread_mutex_lock(&t->mu);
    if (t->nidle > 0) {
        const upc_idle *top = &t->idle[t->nidle - 1];
        if (now - top->since_ns < max_age) {
            fd = top->fd;
            t->nidle--;
        } else {
            for (size_t i = 0; i < t->nidle; i++)
                old[nold++] = t->idle[i].fd;
            t->nidle = 0;
        }
    }
    pthread_mutex_unlock(&t->mu);
    for (size_t i = 0; i < nold; i++)
        close(old[i]);
    return fd;
}

/* Back on top of the stack; the connections idle too long, and the oldest
 * when the stack is full, are closed. */
void
upc__pool_put(upc_target *t, int fd)
{
    int old[UPC_MAX_IDLE];
    size_t nold = 0;
    int64_t now = util_mono_ns(), max_age = (int64_t)UPC_IDLE_MS * 1000000;

    pthread_mutex_lock(&t->mu);
    while (nold < t->nidle && now - t->idle[nold].since_ns >= max_age)
        nold++;
    if (t->nidle - nold == UPC_MAX_IDLE)
        nold++;
    for (size_t i = 0; i < nold; i++)
        old[i] = t->idle[i].fd;
    if (nold > 0)
        memmove(t->idle, t->idle + nold, (t->nidle - nold) * sizeof(t->idle[0]));
    t->nidle -= nold;
    t->idle[t->nidle++] = (upc_idle){.fd = fd, .since_ns = now};
    pthread_mutex_unlock(&t->mu);
    for (size_t i = 0; i < nold; i++)
        close(old[i]);
}

/* An idle connection is usable when it has nothing to read: not closed by
 * the peer, no stray bytes (which would be taken for the next answer). */
bool
upc__idle_usable(int fd)
{
    char c;
    ssize_t n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

int
upc__resolve(const upc_target *t, struct addrinfo **res, upc_info *info)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    int gai = getaddrinfo(t->url.host, t->url.port, &hints, res);
    if (gai != 0) {
        snprintf(info->detail, sizeof(info->detail), "cannot resolve %s: %s", t->url.host,
                 gai_strerror(gai));
        return UPC_ERR_CONNECT;
    }
    upc__dns_found(t->dns, *res);
    return UPC_OK;
}

int
upc__target_addrs(const upc_target *t, upc_addrs *out, int64_t until_ns, upc_info *info)
{
    return upc__dns_addrs(t->dns, out, until_ns, info);
}

/* A new connection to one of the host's addresses within the connect
 * timeout (and the deadline). */
static int
upc_connect(upc_target *t, int64_t deadline_ns, long connect_timeout_ms, int *out, upc_info *info)
{
    struct addrinfo *res = NULL;
    int64_t until = util_mono_ns() + (int64_t)connect_timeout_ms * 1000000;
    int fd = -1, err = 0, one = 1;
    bool timed_out = false;

    if (until > deadline_ns)
        until = deadline_ns;
    if (upc__resolve(t, &res, info) != UPC_OK)
        return UPC_ERR_CONNECT;
    for (const struct addrinfo *ai = res; ai != NULL && fd < 0 && !timed_out; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen);
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            socklen_t elen = sizeof(err);
            do
                rc = poll(&pfd, 1, (int)upc__left_ms(until));
            while (rc < 0 && errno == EINTR);
            if (rc == 0) {
                timed_out = true;
                rc = -1;
            } else if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0) {
                rc = err == 0 ? 0 : -1;
            } else {
                err = errno;
                rc = -1;
            }
        } else if (rc != 0) {
            err = errno;
        }
        if (rc != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0) {
        if (timed_out)
            upc__detail(info, "no connection within the connect timeout to", t, 0);
        else
            upc__detail(info, "cannot connect to", t, err);
        return UPC_ERR_CONNECT;
    }
    *out = fd;
    return UPC_OK;
}

/* ---- one exchange ---- */

/* Send every iovec before the deadline. */
static int
upc_write(int fd, struct iovec *iov, size_t iovcnt, int64_t deadline_ns, int *err)
{
    while (iovcnt > 0) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = iovcnt};
        ssize_t n = sendmsg(fd, &m, MSG_NOSIGNAL);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno != EAGAIN && errno != EWOULDBLOCK) {
                *err = errno;
                return UPC_ERR_BROKEN;
            }
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            int64_t left = upc__left_ms(deadline_ns);
            int rc = left > 0 ? poll(&pfd, 1, (int)left) : 0;
            if (rc == 0)
                return UPC_ERR_TIMEOUT;
            if (rc < 0 && errno != EINTR) {
                *err = errno;
                return UPC_ERR_BROKEN;
            }
            continue;
        }
        size_t done = (size_t)n;
        while (iovcnt > 0 && done >= iov->iov_len) {
            done -= iov->iov_len;
            iov++;
            iovcnt--;
        }
        if (iovcnt > 0) {
            iov->iov_base = (char *)iov->iov_base + done;
            iov->iov_len -= done;
        }
    }
    return UPC_OK;
}

/* ---- requests ---- */

void
upc_head_init(upc_head *h, char *buf, size_t cap)
{
    h->buf = buf;
    h->len = 0;
    h->cap = cap;
    h->overflow = false;
}

bool
upc_head_addn(upc_head *h, const char *name, size_t nlen, const char *value, size_t vlen)
{
    if (!upc__token(name, nlen))
        return false;
    for (size_t i = 0; i < vlen; i++)
        if (value[i] == '\r' || value[i] == '\n' || value[i] == '\0')
            return false;
    if (nlen + vlen + 4 > h->cap - h->len) {
        h->overflow = true;
        return false;
    }
    char *p = h->buf + h->len;
    memcpy(p, name, nlen);
    p += nlen;
    *p++ = ':';
    *p++ = ' ';
    memcpy(p, value, vlen);
    p += vlen;
    *p++ = '\r';
    *p++ = '\n';
    h->len = (size_t)(p - h->buf);
    return true;
}

bool
upc_head_add(upc_head *h, const char *name, const char *value)
{
    return upc_head_addn(h, name, strlen(name), value, strlen(value));
}

/* A request target: visible ASCII only, starting with '/'. */
bool
upc__target_ok(const char *s)
{
    if (s == NULL || s[0] != '/')
        return false;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p <= 0x20 || *p >= 0x7f)
            return false;
    return true;
}

bool
upc__request_ok(const upc_request *rq, upc_info *info)
{
    size_t mlen = rq->method != NULL ? strlen(rq->method) : 0;
    if (mlen > UPC_MAX_METHOD || !upc__token(rq->method, mlen) || !upc__target_ok(rq->target)
        || (rq->body_len > 0 && rq->body == NULL)) {
        snprintf(info->detail, sizeof(info->detail), "invalid method or request target");
        return false;
    }
    return true;
}

/* The request as iovecs: "METHOD <prefix><target> HTTP/1.1", Host, the
 * caller's headers, Content-Length, the blank line, the body. line and
 * tail are the caller's buffers for the parts written here. */
size_t
upc__iov(const upc_target *t, const upc_request *rq, struct iovec *iov, char *line, char *tail,
         size_t tail_cap)
{
    size_t n = 0, mlen = strlen(rq->method);
    memcpy(line, rq->method, mlen);
    line[mlen] = ' ';
    iov[n++] = (struct iovec){line, mlen + 1};
    if (t->prefix_len > 0)
        iov[n++] = (struct iovec){(void *)t->url.prefix, t->prefix_len};
    iov[n++] = (struct iovec){(void *)rq->target, strlen(rq->target)};
    iov[n++] = (struct iovec){(void *)t->host_line, t->host_line_len};
    if (rq->headers_len > 0)
        iov[n++] = (struct iovec){(void *)rq->headers, rq->headers_len};
    size_t tl = 0;
    bool wants_length = rq->body_len > 0 || strcmp(rq->method, "POST") == 0
                        || strcmp(rq->method, "PUT") == 0 || strcmp(rq->method, "PATCH") == 0;
    if (wants_length) {
        char digits[24];
        size_t nd = 0;
        size_t v = rq->body_len;
        do
            digits[nd++] = (char)('0' + v % 10);
        while ((v /= 10) > 0 && nd < sizeof(digits));
        memcpy(tail, "Content-Length: ", 16);
        tl = 16;
        while (nd > 0 && tl + 1 < tail_cap)
            tail[tl++] = digits[--nd];
        tail[tl++] = '\r';
        tail[tl++] = '\n';
    }
    tail[tl++] = '\r';
    tail[tl++] = '\n';
    iov[n++] = (struct iovec){tail, tl};
    if (rq->body_len > 0)
        iov[n++] = (struct iovec){(void *)rq->body, rq->body_len};
    return n;
}

/* One attempt on fd: send, then read the answer. */
static int
upc_exchange(upc_target *t, int fd, const upc_request *rq, int64_t deadline_ns, upc_reader *r,
             upc_response *resp, bool *keep, bool *stale, upc_info *info)
{
    struct iovec iov[8];
    char line[UPC_MAX_METHOD + 2], tail[48];
    size_t n = upc__iov(t, rq, iov, line, tail, sizeof(tail));
    int err = 0;

    *keep = *stale = false;
    int rc = upc_write(fd, iov, n, deadline_ns, &err);
    if (rc == UPC_ERR_BROKEN) {
        *stale = err == EPIPE || err == ECONNRESET;
        upc__detail(info, "sending to", t, err);
        return rc;
    }
    if (rc == UPC_ERR_TIMEOUT) {
        upc__detail(info, "the request could not be sent in time to", t, 0);
        return rc;
    }
    r->fd = fd;
    r->len = 0;
    r->err = 0;
    r->deadline_ns = deadline_ns;
    rc = upc__read_answer(r, rq->method, resp, keep, stale);
    switch (rc) {
    case UPC_OK:
        break;
    case UPC_ERR_TIMEOUT:
        upc__detail(info, "no complete answer in time from", t, 0);
        break;
    case UPC_ERR_BROKEN:
        upc__detail(info, "connection ended before a complete answer from", t, r->err);
        break;
    case UPC_ERR_TOO_LARGE:
        upc__detail(info, "answer too large from", t, 0);
        break;
    case UPC_ERR_INVALID:
        upc__detail(info, "invalid answer from", t, 0);
        break;
    default:
        upc__detail(info, upc_strerror(rc), t, 0);
        break;
    }
    return rc;
}

int
upc_send(upc_target *t, const upc_request *rq, upc_response **out, upc_info *info)
{
    upc_info scratch;
    upc_response *resp = NULL;
    upc_reader r = {.fd = -1};
    int64_t deadline_ns = util_mono_ns() + (int64_t)rq->timeout_ms * 1000000;
    int rc = UPC_ERR_ARG;

    *out = NULL;
    if (info == NULL)
        info = &scratch;
    info->reused = info->stale_retry = false;
    info->detail[0] = '\0';
    if (!upc__request_ok(rq, info))
        goto out;
    if ((resp = malloc(sizeof(*resp))) == NULL) {
        rc = UPC_ERR_NOMEM;
        goto out;
    }
    resp->mem = NULL;
    for (int attempt = 0; attempt < 2; attempt++) {
        int fd = -1;
        bool keep = false, stale = false;
        /* The pool first, then (and on the second attempt) a new one. */
        while (attempt == 0 && (fd = upc__pool_take(t)) >= 0 && !upc__idle_usable(fd)) {
            close(fd);
            fd = -1;
        }
        info->reused = fd >= 0;
        if (fd < 0
            && (rc = upc_connect(t, deadline_ns, rq->connect_timeout_ms, &fd, info)) != UPC_OK)
            break;
        rc = upc_exchange(t, fd, rq, deadline_ns, &r, resp, &keep, &stale, info);
        if (rc == UPC_OK && keep)
            upc__pool_put(t, fd);
        else
            close(fd);
        if (rc == UPC_OK || !stale || !info->reused)
            break;
        info->stale_retry = true; /* the keep-alive race: once more, afresh */
    }
out:
    if (rc == UPC_OK) {
        *out = resp;
        return UPC_OK;
    }
    free(r.mem);
    free(resp);
    return rc;
}
