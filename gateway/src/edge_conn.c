/* edge_conn: the event loops' client connections (edge_internal.h):
 * listening, accepting, reading, closing, and the 408 for a request not
 * sent in time. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge_internal.h"
#include "log.h"
#include "util.h"
#include "web.h"
#include "web_edge.h"

/* ---- epoll ---- */

int
edge__ctl(edge_loop *l, int op, int fd, uint32_t events, edge_ev *ev)
{
    struct epoll_event e = {.events = events, .data.ptr = ev};
    return epoll_ctl(l->ep, op, fd, &e);
}

/* The client's fd registered for events (0: none, it stays in the epoll). */
void
edge__want(edge_conn *c, uint32_t events)
{
    if (c->registered && c->events == events)
        return;
    if (edge__ctl(c->l, c->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, events, &c->ev)
        == 0) {
        c->registered = true;
        c->events = events;
    }
}

int64_t
edge__after_ms(int ms)
{
    return util_mono_ns() + (int64_t)ms * 1000000;
}

/* ---- connections ---- */

void
edge__accept(edge_loop *l)
{
    for (;;) {
        struct sockaddr_storage ss;
        socklen_t sl = sizeof(ss);
        int fd = accept4(l->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno == EINTR || errno == ECONNABORTED)
                continue;
            if (errno == EMFILE || errno == ENFILE)
                log_warn("edge: cannot accept a connection: %s", strerror(errno));
            return;
        }
        if (__atomic_add_fetch(&edge_g.nconns, 1, __ATOMIC_ACQ_REL) > edge_g.max_conns) {
            __atomic_sub_fetch(&edge_g.nconns, 1, __ATOMIC_ACQ_REL);
            close(fd);
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        edge_conn *c = calloc(1, sizeof(*c));
        if (c == NULL || (c->req = web_edge_req_new()) == NULL) {
            free(c);
            close(fd);
            __atomic_sub_fetch(&edge_g.nconns, 1, __ATOMIC_ACQ_REL);
            continue;
        }
        c->l = l;
        c->fd = fd;
        c->tfd = -1;
        c->ev = (edge_ev){EV_CLIENT, c, NULL};
        c->t_ev = (edge_ev){EV_TUNNEL, c, NULL};
        c->up.fd = c->up.kept_fd = -1;
        c->ri.remote_port = 0;
        if (ss.ss_family == AF_INET) {
            const struct sockaddr_in *sin = (const struct sockaddr_in *)&ss;
            inet_ntop(AF_INET, &sin->sin_addr, c->ri.remote_addr, sizeof(c->ri.remote_addr));
            c->ri.remote_port = ntohs(sin->sin_port);
        } else if (ss.ss_family == AF_INET6) {
            const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&ss;
            inet_ntop(AF_INET6, &sin6->sin6_addr, c->ri.remote_addr, sizeof(c->ri.remote_addr));
            c->ri.remote_port = ntohs(sin6->sin6_port);
        }
        c->st = CS_READ;
        c->deadline_ns = edge__after_ms(EDGE_REQUEST_MS);
        c->next = l->conns;
        if (l->conns != NULL)
            l->conns->prev = c;
        l->conns = c;
        edge__want(c, EPOLLIN | EPOLLRDHUP);
        if (!c->registered)
            edge__close(c);
    }
}

void
edge__wait_add(edge_conn *c)
{
    edge_loop *l = c->l;
    c->st = CS_WAIT;
    c->wprev = NULL;
    c->wnext = l->waiting;
    if (l->waiting != NULL)
        l->waiting->wprev = c;
    l->waiting = c;
}

void
edge__wait_del(edge_conn *c)
{
    if (c->st != CS_WAIT)
        return;
    if (c->wprev != NULL)
        c->wprev->wnext = c->wnext;
    else
        c->l->waiting = c->wnext;
    if (c->wnext != NULL)
        c->wnext->wprev = c->wprev;
    c->wprev = c->wnext = NULL;
    c->st = CS_READ;
}

void
edge__close(edge_conn *c)
{
    edge_loop *l = c->l;
    if (c->dead)
        return;
    edge__wait_del(c);
    if (c->up_active) {
        upc_async_abort(&c->up); /* closes up.fd, uc's */
        c->up_active = false;
        if (c->uc != NULL)
            edge__uc_forget(l, c->uc);
        c->uc = NULL;
    }
    if (c->req_open) {
        /* Only after the exchange ended: proxy_end has replied. */
        web_edge_req_end(c->req);
        c->req_open = false;
    }
    if (c->tfd >= 0) {
        web_server_set_peer(edge_g.srv, c->tport, NULL);
        close(c->tfd);
    }
    close(c->fd);
    if (c->prev != NULL)
        c->prev->next = c->next;
    else
        l->conns = c->next;
    if (c->next != NULL)
        c->next->prev = c->prev;
    c->dead = true;
    c->next = l->dead;
    l->dead = c;
    __atomic_sub_fetch(&edge_g.nconns, 1, __ATOMIC_ACQ_REL);
}

/* Read what the client sent into c->in (at most cap bytes in all). 0 when
 * something or nothing came, 1 at its end, -1 on an error. */
int
edge__read(edge_conn *c, size_t cap)
{
    for (;;) {
        if (c->in_cap - c->in_len < EDGE_READ_MIN && c->in_cap < cap) {
            size_t want = c->in_cap > 0 ? c->in_cap * 2 : 2 * EDGE_READ_MIN;
            want = want > cap ? cap : want;
            char *p = realloc(c->in, want);
            if (p == NULL)
                return -1;
            c->in = p;
            c->in_cap = want;
        }
        size_t room = c->in_cap - c->in_len;
        if (room == 0)
            return 0;
        ssize_t n = recv(c->fd, c->in + c->in_len, room, 0);
        if (n > 0) {
            c->in_len += (size_t)n;
            if ((size_t)n < room)
                return 0;
            continue;
        }
        if (n == 0)
            return 1;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
    }
}

/* A request begun but not whole within EDGE_REQUEST_MS: 408 in the error
 * shape, sent as far as the socket takes it at once, before the close. */
void
edge__timed_out(edge_conn *c)
{
    char id[UTIL_UUID_LEN + 1], body[200], msg[400];
    if (util_uuid_v4(id) != 0)
        util_strlcpy(id, "unknown", sizeof(id));
    int blen = snprintf(body, sizeof(body),
                        "{\"error\":{\"code\":\"request_timeout\",\"message\":"
                        "\"the request was not received within %d s\",\"request_id\":\"%s\"}}",
                        EDGE_REQUEST_MS / 1000, id);
    int n = snprintf(msg, sizeof(msg),
                     "HTTP/1.1 408 Request Timeout\r\nContent-Type: application/json\r\n"
                     "Content-Length: %d\r\nX-Request-Id: %s\r\nConnection: close\r\n\r\n%s",
                     blen, id, body);
    if (n > 0 && (size_t)n < sizeof(msg))
        (void)!send(c->fd, msg, (size_t)n, MSG_NOSIGNAL | MSG_DONTWAIT);
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("request_id", id), LF_INT("status", 408),
                       LF_STR("remote_addr", c->ri.remote_addr), LF_INT("bytes_in", c->in_len)),
            "request not received in time");
}

int
edge__listen(const char *bind_addr, int *port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)*port)};
    if (inet_pton(AF_INET, bind_addr, &sa.sin_addr) != 1) {
        log_error("edge: invalid HTTP_BIND %s (want an IPv4 address)", bind_addr);
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0), one = 1;
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0
        || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) != 0
        || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(fd, 1024) != 0) {
        int err = errno;
        if (err == EADDRINUSE)
            log_error("cannot serve HTTP: port %d on %s is already in use", *port, bind_addr);
        else
            log_error("cannot serve HTTP on %s:%d: %s", bind_addr, *port, strerror(err));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    socklen_t sl = sizeof(sa);
    if (*port == 0 && getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
        *port = ntohs(sa.sin_port);
    return fd;
}
