/* upclient_async: upc_send's exchange for an event loop (upclient.h): the
 * same pool, request bytes, answer parser and keep-alive-race retry, but
 * every step returns instead of waiting. The answer is read as it comes;
 * once upc__answer_ready says it is whole, upc__read_answer parses it
 * without waiting for anything. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "upclient.h"
#include "upclient_internal.h"
#include "util.h"

enum { UPC_PH_IDLE, UPC_PH_CONNECT, UPC_PH_SEND, UPC_PH_READ };

#define UPC_ASYNC_FIRST_BUF 8192
/* The most an answer may take in memory: a head, a body and a chunked
 * body's framing. */
#define UPC_ASYNC_MAX_MEM ((size_t)UPC_MAX_BODY + 2 * (size_t)UPC_MAX_HEAD + 1)

/* The exchange is over: nothing is held any more. Returns rc. */
static int
upc_async_end(upc_async *a, int rc)
{
    if (a->fd >= 0)
        close(a->fd);
    a->fd = -1;
    free(a->mem);
    a->mem = NULL;
    a->len = a->cap = 0;
    a->addrs.n = a->next_addr = 0;
    a->phase = UPC_PH_IDLE;
    a->want = 0;
    return rc;
}

static void
upc_async_rewind(upc_async *a)
{
    a->iovcnt = upc__iov(a->t, &a->rq, a->iovs, a->line, a->tail, sizeof(a->tail));
    a->iov = a->iovs;
    a->len = 0;
    a->eof = false;
}

/* Open a connection to the next address: UPC_AGAIN, or UPC_ERR_CONNECT
 * when none is left. */
static int
upc_async_connect_next(upc_async *a)
{
    int one = 1, err = 0;
    while (a->next_addr < a->addrs.n) {
        const upc_sa *sa = &a->addrs.a[a->next_addr++];
        int fd = socket(sa->sa.sa_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0) {
            err = errno;
            continue;
        }
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        int rc = connect(fd, &sa->sa, upc__sa_len(sa));
        if (rc == 0 || errno == EINPROGRESS) {
            a->fd = fd;
            a->fd_gen++;
            a->phase = rc == 0 ? UPC_PH_SEND : UPC_PH_CONNECT;
            a->want = UPC_WANT_WRITE;
            return UPC_AGAIN;
        }
        err = errno;
        close(fd);
    }
    upc__detail(&a->info, "cannot connect to", a->t, err);
    return UPC_ERR_CONNECT;
}

/* A new connection (the first, or after a pooled one failed). */
static int
upc_async_connect(upc_async *a)
{
    int64_t until = util_mono_ns() + (int64_t)a->rq.connect_timeout_ms * 1000000;
    a->connect_deadline_ns = until < a->deadline_ns ? until : a->deadline_ns;
    /* No DNS lookup waited for here (upclient_addrs.c) */
    if (a->addrs.n == 0
        && upc__target_addrs(a->t, &a->addrs, a->connect_deadline_ns, &a->info) != UPC_OK)
        return UPC_ERR_CONNECT;
    a->next_addr = 0;
    a->info.reused = false;
    return upc_async_connect_next(a);
}

/* A pooled connection failed before any answer: the upstream closed it
 * while it was idle (upclient.h). Once more on a new one. */
static int
upc_async_retry_stale(upc_async *a)
{
    close(a->fd);
    a->fd = -1;
    a->info.stale_retry = true;
    upc_async_rewind(a);
    return upc_async_connect(a);
}

static bool
upc_async_may_retry(const upc_async *a, int err)
{
    return a->info.reused && !a->info.stale_retry && a->len == 0
           && (err == EPIPE || err == ECONNRESET || err == 0);
}

int
upc_async_start_on(upc_target *t, const upc_request *rq, upc_async *a, int fd)
{
    memset(a, 0, sizeof(*a));
    a->fd = a->kept_fd = -1;
    a->t = t;
    a->rq = *rq;
    a->deadline_ns = util_mono_ns() + (int64_t)rq->timeout_ms * 1000000;
    if (!upc__request_ok(rq, &a->info)) {
        if (fd >= 0)
            close(fd);
        return UPC_ERR_ARG;
    }
    upc_async_rewind(a);
    if (fd < 0) {
        int rc = upc_async_connect(a);
        return rc == UPC_AGAIN ? rc : upc_async_end(a, rc);
    }
    a->fd = fd;
    a->fd_gen++;
    a->info.reused = true;
    a->phase = UPC_PH_SEND;
    a->want = UPC_WANT_WRITE;
    return UPC_AGAIN;
}

/* UPC_OK when the connection is made, UPC_AGAIN while it is being made, or
 * an error. */
static int
upc_async_connected(upc_async *a)
{
    struct pollfd pfd = {.fd = a->fd, .events = POLLOUT};
    if (poll(&pfd, 1, 0) == 0)
        return UPC_AGAIN;
    int err = 0;
    socklen_t elen = sizeof(err);
    if (getsockopt(a->fd, SOL_SOCKET, SO_ERROR, &err, &elen) != 0)
        err = errno;
    if (err == 0) {
        a->phase = UPC_PH_SEND;
        return UPC_OK;
    }
    close(a->fd);
    a->fd = -1;
    int rc = upc_async_connect_next(a);
    if (rc == UPC_ERR_CONNECT)
        upc__detail(&a->info, "cannot connect to", a->t, err);
    return rc == UPC_AGAIN && a->phase == UPC_PH_SEND ? UPC_OK : rc;
}

/* Send what is left: UPC_OK when all went out, UPC_AGAIN, or an error. */
static int
upc_async_send(upc_async *a)
{
    while (a->iovcnt > 0) {
        struct msghdr m = {.msg_iov = a->iov, .msg_iovlen = a->iovcnt};
        ssize_t n = sendmsg(a->fd, &m, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            if (errno == EAGAIN || errno == EWOULDBLOCK) {
                a->want = UPC_WANT_WRITE;
                return UPC_AGAIN;
            }
            int err = errno;
            if (upc_async_may_retry(a, err) && a->iov == a->iovs)
                return upc_async_retry_stale(a);
            upc__detail(&a->info, "sending to", a->t, err);
            return UPC_ERR_BROKEN;
        }
        size_t done = (size_t)n;
        while (a->iovcnt > 0 && done >= a->iov->iov_len) {
            done -= a->iov->iov_len;
            a->iov++;
            a->iovcnt--;
        }
        if (a->iovcnt > 0) {
            a->iov->iov_base = (char *)a->iov->iov_base + done;
            a->iov->iov_len -= done;
        }
    }
    a->phase = UPC_PH_READ;
    a->want = UPC_WANT_READ;
    return UPC_OK;
}

/* Read what has come: 0, or an error (with its errno in *err). One byte
 * is always kept free for the parser's terminating NUL. */
static int
upc_async_recv(upc_async *a, int *err)
{
    for (;;) {
        if (a->len + 1 >= a->cap) {
            if (a->cap >= UPC_ASYNC_MAX_MEM)
                return UPC_ERR_TOO_LARGE;
            size_t want = a->cap > 0 ? a->cap * 2 : UPC_ASYNC_FIRST_BUF;
            want = want > UPC_ASYNC_MAX_MEM ? UPC_ASYNC_MAX_MEM : want;
            char *p = realloc(a->mem, want);
            if (p == NULL)
                return UPC_ERR_NOMEM;
            a->mem = p;
            a->cap = want;
        }
        size_t room = a->cap - 1 - a->len;
        ssize_t n = recv(a->fd, a->mem + a->len, room, MSG_DONTWAIT);
        if (n > 0) {
            a->len += (size_t)n;
            if ((size_t)n < room)
                return 0; /* most likely all there is: the next epoll tells */
            continue;
        }
        if (n == 0) {
            a->eof = true;
            return 0;
        }
        if (errno == EINTR)
            continue;
        if (errno == EAGAIN || errno == EWOULDBLOCK)
            return 0;
        *err = errno;
        return UPC_ERR_BROKEN;
    }
}

/* The whole answer is in a->mem: parse it and hand the connection back. */
static int
upc_async_answer(upc_async *a, upc_response **out)
{
    upc_response *resp = malloc(sizeof(*resp));
    if (resp == NULL)
        return UPC_ERR_NOMEM;
    upc_reader r = {.fd = a->fd, .mem = a->mem, .len = a->len, .cap = a->cap, .nowait = true};
    bool keep = false, stale = false;
    int rc = upc__read_answer(&r, a->rq.method, resp, &keep, &stale);
    a->mem = r.mem;
    a->cap = r.cap;
    if (rc != UPC_OK) {
        free(resp);
        upc__detail(&a->info, rc == UPC_ERR_INVALID ? "invalid answer from" : upc_strerror(rc),
                    a->t, 0);
        return rc;
    }
    a->mem = NULL; /* the response's now */
    if (keep && !a->eof) {
        a->kept_fd = a->fd;
        a->fd = -1;
    }
    *out = resp;
    return UPC_OK;
}

static int
upc_async_read(upc_async *a, upc_response **out)
{
    int err = 0;
    int rc = upc_async_recv(a, &err);
    if (rc == UPC_ERR_BROKEN && upc_async_may_retry(a, err))
        return upc_async_retry_stale(a);
    if (rc != 0) {
        upc__detail(&a->info,
                    rc == UPC_ERR_BROKEN ? "connection ended before a complete answer from"
                                         : upc_strerror(rc),
                    a->t, err);
        return rc;
    }
    int ready = upc__answer_ready(a->mem, a->len, a->rq.method, a->eof);
    if (ready == 0) {
        a->want = UPC_WANT_READ;
        return UPC_AGAIN;
    }
    if (ready == UPC_ERR_BROKEN && upc_async_may_retry(a, 0))
        return upc_async_retry_stale(a);
    if (ready < 0) {
        upc__detail(&a->info,
                    ready == UPC_ERR_BROKEN      ? "connection ended before a complete answer from"
                    : ready == UPC_ERR_TOO_LARGE ? "answer too large from"
                    : ready == UPC_ERR_INVALID   ? "invalid answer from"
                                                 : upc_strerror(ready),
                    a->t, 0);
        return ready;
    }
    return upc_async_answer(a, out);
}

int
upc_async_step(upc_async *a, upc_response **out)
{
    int rc = UPC_ERR_ARG;
    *out = NULL;
    for (;;) {
        switch (a->phase) {
        case UPC_PH_CONNECT:
            rc = upc_async_connected(a);
            break;
        case UPC_PH_SEND:
            rc = upc_async_send(a);
            if (rc == UPC_OK)
                return UPC_AGAIN; /* the answer cannot be there yet: wait for it */
            break;
        case UPC_PH_READ:
            rc = upc_async_read(a, out);
            if (rc == UPC_OK)
                return upc_async_end(a, UPC_OK);
            break;
        default:
            return UPC_ERR_ARG;
        }
        if (rc == UPC_AGAIN)
            return rc;
        if (rc != UPC_OK)
            return upc_async_end(a, rc);
    }
}

int64_t
upc_async_deadline(const upc_async *a)
{
    if (a->phase == UPC_PH_CONNECT && a->connect_deadline_ns < a->deadline_ns)
        return a->connect_deadline_ns;
    return a->deadline_ns;
}

int
upc_async_expire(upc_async *a)
{
    int rc = UPC_ERR_TIMEOUT;
    if (a->phase == UPC_PH_CONNECT) {
        rc = UPC_ERR_CONNECT;
        upc__detail(&a->info, "no connection within the connect timeout to", a->t, 0);
    } else if (a->phase == UPC_PH_SEND) {
        upc__detail(&a->info, "the request could not be sent in time to", a->t, 0);
    } else {
        upc__detail(&a->info, "no complete answer in time from", a->t, 0);
    }
    return upc_async_end(a, rc);
}

void
upc_async_abort(upc_async *a)
{
    (void)upc_async_end(a, UPC_OK);
}
