/* edge: the gateway's event loops; see edge.h. Each loop owns its
 * listener (SO_REUSEPORT: the kernel spreads connections over the loops),
 * its epoll and its connections; nothing is shared between loops but the
 * upstream pools (upclient's, under their mutex) and what the gate and the
 * proxy share anyway. */
#include "edge.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "edge_http.h"
#include "log.h"
#include "proxy.h"
#include "util.h"
#include "web_edge.h"

#define EDGE_READ_MIN    16384 /* room asked of each recv */
#define EDGE_TUNNEL_BUF  65536 /* bytes a tunnel holds each way */
#define EDGE_REQUEST_MS  10000 /* to send a whole request (civetweb's request_timeout_ms) */
#define EDGE_IDLE_MS     2000  /* between requests (civetweb's keep_alive_timeout_ms) */
#define EDGE_WRITE_MS    10000 /* for an answer to go out */
#define EDGE_SWEEP_MS    20    /* how often deadlines are looked at */
#define EDGE_MAX_EVENTS  128
#define EDGE_MAX_THREADS 64

typedef enum { EV_LISTEN, EV_WAKE, EV_CLIENT, EV_UPSTREAM, EV_TUNNEL } edge_kind;

typedef struct edge_conn edge_conn;
typedef struct edge_loop edge_loop;
typedef struct edge_upconn edge_upconn;

typedef struct edge_ev {
    edge_kind kind;
    edge_conn *c;    /* the client connection (of an upstream one: its user, or NULL) */
    edge_upconn *uc; /* EV_UPSTREAM: the upstream connection */
} edge_ev;

/* A connection to an upstream, owned by one loop: registered in its epoll
 * for as long as it is open (in use, or idle in the loop's pool, where an
 * event means the service closed it), so taking it costs no system call. */
struct edge_upconn {
    edge_ev ev;
    int fd;
    uint32_t events;
    int64_t since_ns; /* idle since */
    upc_target *t;
    bool dead;
    edge_upconn *next_dead;
};

#define EDGE_POOL_MAX     64 /* idle connections per upstream per loop */
#define EDGE_POOL_TARGETS 8
#define EDGE_UP_IDLE      (EPOLLIN | EPOLLRDHUP)

typedef struct edge_pool {
    upc_target *t;
    edge_upconn *idle[EDGE_POOL_MAX]; /* a stack: the most recent on top */
    int n;
} edge_pool;

typedef enum {
    CS_READ,   /* waiting for (the rest of) a request */
    CS_PROXY,  /* the upstream exchange is under way */
    CS_WRITE,  /* the answer is going out */
    CS_TUNNEL, /* relayed to civetweb for good */
} conn_state;

struct edge_conn {
    edge_loop *l;
    edge_ev ev, t_ev;
    int fd;
    conn_state st;
    uint32_t events; /* what fd is registered for */
    bool registered; /* fd is in the epoll */
    char *in;        /* bytes from the client not yet served */
    size_t in_len, in_cap;
    size_t req_len; /* bytes of in the current request takes */
    struct mg_request_info ri;
    web_req *req;
    bool req_open;
    proxy_call *call;
    upc_async up;
    unsigned up_gen; /* up.fd_gen registered in the epoll (as uc) */
    edge_upconn *uc; /* up.fd's */
    bool up_active;    /* an exchange is under way */
    bool client_gone;  /* the client hung up while its answer was being made */
    const char *out;   /* the answer, in req's buffer */
    size_t out_len, out_off;
    bool close_after;
    int64_t deadline_ns;
    /* a tunnel to civetweb */
    int tfd, tport;
    bool t_connected;
    char *t2c; /* civetweb's bytes not yet written to the client */
    size_t t2c_len, t2c_off;
    size_t c2t_off; /* in[c2t_off..in_len) not yet written to civetweb */
    bool c_eof, t_eof;
    bool c2t_dead;  /* civetweb takes no more of the client's bytes */
    bool t_half;    /* civetweb was told the client has sent all */
    bool lingering; /* civetweb is done: the client's last bytes are dropped */
    bool dead; /* closed: freed once the events of this round are handled */
    edge_conn *prev, *next;
};

struct edge_loop {
    pthread_t th;
    bool started;
    int ep, lfd, wake;
    edge_ev lev, wev;
    edge_conn *conns;
    edge_conn *dead; /* closed in this round (linked by next) */
    edge_upconn *dead_uc;
    edge_pool pools[EDGE_POOL_TARGETS];
    int npools;
    int64_t next_sweep_ns;
};

static struct {
    web_server *srv;
    struct sockaddr_in internal; /* civetweb's listener */
    int nloops;
    edge_loop loops[EDGE_MAX_THREADS];
    int max_conns;
    int nconns; /* atomic: client connections open */
    bool stop;  /* atomic */
} E;

static void edge_close(edge_conn *c);
static void edge_serve(edge_conn *c);

/* ---- epoll ---- */

static int
edge_ctl(edge_loop *l, int op, int fd, uint32_t events, edge_ev *ev)
{
    struct epoll_event e = {.events = events, .data.ptr = ev};
    return epoll_ctl(l->ep, op, fd, &e);
}

/* The client's fd registered for events (0: none, it stays in the epoll). */
static void
edge_want(edge_conn *c, uint32_t events)
{
    if (c->registered && c->events == events)
        return;
    if (edge_ctl(c->l, c->registered ? EPOLL_CTL_MOD : EPOLL_CTL_ADD, c->fd, events, &c->ev) == 0) {
        c->registered = true;
        c->events = events;
    }
}

static int64_t
edge_after_ms(int ms)
{
    return util_mono_ns() + (int64_t)ms * 1000000;
}

/* ---- upstream connections ---- */

static edge_upconn *
edge_uc_new(edge_loop *l, int fd, upc_target *t, edge_conn *owner, uint32_t events)
{
    edge_upconn *uc = calloc(1, sizeof(*uc));
    if (uc == NULL)
        return NULL;
    uc->ev = (edge_ev){EV_UPSTREAM, owner, uc};
    uc->fd = fd;
    uc->t = t;
    uc->events = events;
    if (edge_ctl(l, EPOLL_CTL_ADD, fd, events, &uc->ev) != 0) {
        free(uc);
        return NULL;
    }
    return uc;
}

/* uc's fd is closed already (by upclient, or just now): uc goes at the end
 * of the round. */
static void
edge_uc_forget(edge_loop *l, edge_upconn *uc)
{
    uc->dead = true;
    uc->next_dead = l->dead_uc;
    l->dead_uc = uc;
}

static void
edge_uc_close(edge_loop *l, edge_upconn *uc)
{
    close(uc->fd);
    edge_uc_forget(l, uc);
}

static edge_pool *
edge_pool_of(edge_loop *l, upc_target *t, bool add)
{
    for (int i = 0; i < l->npools; i++)
        if (l->pools[i].t == t)
            return &l->pools[i];
    if (!add || l->npools == EDGE_POOL_TARGETS)
        return NULL;
    l->pools[l->npools].t = t;
    l->pools[l->npools].n = 0;
    return &l->pools[l->npools++];
}

/* The most recently used idle connection to t, or NULL. One idle too long
 * (UPC_IDLE_MS: the services close theirs after 2 s) means all below it
 * are too: they are closed. */
static edge_upconn *
edge_pool_take(edge_loop *l, upc_target *t)
{
    edge_pool *p = edge_pool_of(l, t, false);
    if (p == NULL || p->n == 0)
        return NULL;
    edge_upconn *uc = p->idle[--p->n];
    if (util_mono_ns() - uc->since_ns < (int64_t)UPC_IDLE_MS * 1000000)
        return uc;
    edge_uc_close(l, uc);
    while (p->n > 0)
        edge_uc_close(l, p->idle[--p->n]);
    return NULL;
}

static void
edge_pool_put(edge_loop *l, edge_upconn *uc)
{
    edge_pool *p = edge_pool_of(l, uc->t, true);
    if (p == NULL || p->n == EDGE_POOL_MAX
        || (uc->events != EDGE_UP_IDLE
            && edge_ctl(l, EPOLL_CTL_MOD, uc->fd, EDGE_UP_IDLE, &uc->ev) != 0)) {
        edge_uc_close(l, uc);
        return;
    }
    uc->events = EDGE_UP_IDLE;
    uc->ev.c = NULL;
    uc->since_ns = util_mono_ns();
    p->idle[p->n++] = uc;
}

/* An idle connection became readable: the service closed it (or sent
 * something nobody asked for). */
static void
edge_on_idle(edge_loop *l, edge_upconn *uc)
{
    edge_pool *p = edge_pool_of(l, uc->t, false);
    for (int i = 0; p != NULL && i < p->n; i++) {
        if (p->idle[i] == uc) {
            memmove(&p->idle[i], &p->idle[i + 1], (size_t)(p->n - i - 1) * sizeof(p->idle[0]));
            p->n--;
            break;
        }
    }
    edge_uc_close(l, uc);
}

/* ---- connections ---- */

static void
edge_accept(edge_loop *l)
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
        if (__atomic_add_fetch(&E.nconns, 1, __ATOMIC_ACQ_REL) > E.max_conns) {
            __atomic_sub_fetch(&E.nconns, 1, __ATOMIC_ACQ_REL);
            close(fd);
            continue;
        }
        int one = 1;
        (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        edge_conn *c = calloc(1, sizeof(*c));
        if (c == NULL || (c->req = web_edge_req_new()) == NULL) {
            free(c);
            close(fd);
            __atomic_sub_fetch(&E.nconns, 1, __ATOMIC_ACQ_REL);
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
        c->deadline_ns = edge_after_ms(EDGE_REQUEST_MS);
        c->next = l->conns;
        if (l->conns != NULL)
            l->conns->prev = c;
        l->conns = c;
        edge_want(c, EPOLLIN | EPOLLRDHUP);
        if (!c->registered)
            edge_close(c);
    }
}

static void
edge_close(edge_conn *c)
{
    edge_loop *l = c->l;
    if (c->dead)
        return;
    if (c->up_active) {
        upc_async_abort(&c->up); /* closes up.fd, uc's */
        c->up_active = false;
        if (c->uc != NULL)
            edge_uc_forget(l, c->uc);
        c->uc = NULL;
    }
    if (c->req_open) {
        /* Only after the exchange ended: proxy_end has replied. */
        web_edge_req_end(c->req);
        c->req_open = false;
    }
    if (c->tfd >= 0) {
        web_server_set_peer(E.srv, c->tport, NULL);
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
    __atomic_sub_fetch(&E.nconns, 1, __ATOMIC_ACQ_REL);
}

static void
edge_bury(edge_loop *l)
{
    while (l->dead_uc != NULL) {
        edge_upconn *uc = l->dead_uc;
        l->dead_uc = uc->next_dead;
        free(uc);
    }
    while (l->dead != NULL) {
        edge_conn *c = l->dead;
        l->dead = c->next;
        web_edge_req_free(c->req);
        free(c->call);
        free(c->in);
        free(c->t2c);
        free(c);
    }
}

/* Read what the client sent into c->in (at most cap bytes in all). 0 when
 * something or nothing came, 1 at its end, -1 on an error. */
static int
edge_read(edge_conn *c, size_t cap)
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

/* ---- the tunnel to civetweb ---- */

static void
edge_tunnel_want(edge_conn *c)
{
    /* The client: readable while civetweb has taken all it sent, writable
     * while civetweb's bytes wait. civetweb: the other way round. */
    uint32_t ce = ((c->c2t_off >= c->in_len || c->c2t_dead) && !c->c_eof ? EPOLLIN : 0)
                  | (c->t2c_off < c->t2c_len ? EPOLLOUT : 0);
    uint32_t te = (c->t2c_off >= c->t2c_len && !c->t_eof ? EPOLLIN : 0)
                  | ((c->c2t_off < c->in_len && !c->c2t_dead) || !c->t_connected ? EPOLLOUT : 0);
    edge_want(c, ce);
    (void)edge_ctl(c->l, EPOLL_CTL_MOD, c->tfd, te, &c->t_ev);
}

/* From this request on, the connection is civetweb's: connect to it and
 * relay everything the client sent (c->in from its start). */
static void
edge_tunnel(edge_conn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        edge_close(c);
        return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = connect(fd, (const struct sockaddr *)&E.internal, sizeof(E.internal));
    struct sockaddr_in me;
    socklen_t ml = sizeof(me);
    if ((rc != 0 && errno != EINPROGRESS) || getsockname(fd, (struct sockaddr *)&me, &ml) != 0
        || (c->t2c = malloc(EDGE_TUNNEL_BUF)) == NULL) {
        log_error("edge: cannot reach the gateway's own HTTP server: %s", strerror(errno));
        close(fd);
        edge_close(c);
        return;
    }
    c->tfd = fd;
    c->tport = ntohs(me.sin_port);
    /* Before civetweb can read a byte: whose connection this is. */
    web_server_set_peer(E.srv, c->tport, c->ri.remote_addr);
    c->st = CS_TUNNEL;
    c->t_connected = rc == 0;
    c->c2t_off = 0;
    if (edge_ctl(c->l, EPOLL_CTL_ADD, fd, EPOLLOUT, &c->t_ev) != 0) {
        edge_close(c);
        return;
    }
    edge_tunnel_want(c);
}

/* Client bytes civetweb will not take any more (it closed, or answered and
 * stopped reading) are read and dropped. */
static void
edge_tunnel_discard(edge_conn *c)
{
    for (;;) {
        c->in_len = c->c2t_off = 0;
        int rc = edge_read(c, EDGE_TUNNEL_BUF);
        if (rc != 0) {
            c->c_eof = true;
            return;
        }
        if (c->in_len == 0)
            return;
    }
}

/* Move bytes both ways until neither side can take or give more now. */
static void
edge_tunnel_pump(edge_conn *c)
{
    if (!c->t_connected) {
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(c->tfd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
            edge_close(c);
            return;
        }
        c->t_connected = true;
    }
    for (bool moved = true; moved;) {
        moved = false;
        if (c->c2t_dead && !c->c_eof) {
            edge_tunnel_discard(c);
        } else if (c->c2t_off >= c->in_len && !c->c_eof) {
            c->in_len = c->c2t_off = 0;
            if (edge_read(c, EDGE_TUNNEL_BUF) != 0)
                c->c_eof = true;
            moved = c->in_len > 0;
        }
        if (c->c2t_off < c->in_len && !c->c2t_dead) {
            ssize_t n = send(c->tfd, c->in + c->c2t_off, c->in_len - c->c2t_off, MSG_NOSIGNAL);
            if (n > 0) {
                c->c2t_off += (size_t)n;
                moved = true;
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                c->c2t_dead = true; /* civetweb's answer may still be coming */
                c->c2t_off = c->in_len;
            }
        }
        if (c->c_eof && c->c2t_off >= c->in_len && !c->t_half) {
            /* The client said all it will: civetweb is told, and answers. */
            (void)shutdown(c->tfd, SHUT_WR);
            c->t_half = true;
        }
        if (c->t2c_off >= c->t2c_len && !c->t_eof) {
            c->t2c_len = c->t2c_off = 0;
            ssize_t n = recv(c->tfd, c->t2c, EDGE_TUNNEL_BUF, 0);
            if (n > 0) {
                c->t2c_len = (size_t)n;
                moved = true;
            } else if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
                c->t_eof = true;
            }
        }
        if (c->t2c_off < c->t2c_len) {
            ssize_t n = send(c->fd, c->t2c + c->t2c_off, c->t2c_len - c->t2c_off, MSG_NOSIGNAL);
            if (n > 0) {
                c->t2c_off += (size_t)n;
                moved = true;
            } else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
                edge_close(c);
                return;
            }
        }
    }
    if (c->t_eof && c->t2c_off >= c->t2c_len) {
        /* civetweb is done and all it said went out. A client still
         * sending gets a moment to read the answer before the close, as
         * civetweb itself would give it (a close with its bytes unread
         * would reset the connection, answer and all). */
        if (c->c_eof) {
            edge_close(c);
            return;
        }
        if (!c->lingering) {
            (void)shutdown(c->fd, SHUT_WR);
            c->lingering = true;
            c->c2t_dead = true;
            c->deadline_ns = edge_after_ms(EDGE_IDLE_MS);
            (void)epoll_ctl(c->l->ep, EPOLL_CTL_DEL, c->tfd, NULL);
            edge_want(c, EPOLLIN | EPOLLRDHUP);
        }
        edge_tunnel_discard(c);
        if (c->c_eof)
            edge_close(c);
        return;
    }
    edge_tunnel_want(c);
}

/* ---- requests the edge serves ---- */

/* The answer is in req's buffer: send it (what the socket takes now; the
 * rest when it is writable). */
static void
edge_flush(edge_conn *c)
{
    while (c->out_off < c->out_len) {
        ssize_t n = send(c->fd, c->out + c->out_off, c->out_len - c->out_off, MSG_NOSIGNAL);
        if (n > 0) {
            c->out_off += (size_t)n;
            continue;
        }
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            edge_want(c, EPOLLOUT | EPOLLRDHUP);
            return;
        }
        edge_close(c);
        return;
    }
    /* All out: the request ends, the next one may already be there. */
    web_edge_req_end(c->req);
    c->req_open = false;
    if (c->close_after) {
        edge_close(c);
        return;
    }
    memmove(c->in, c->in + c->req_len, c->in_len - c->req_len);
    c->in_len -= c->req_len;
    c->req_len = 0;
    c->st = CS_READ;
    c->deadline_ns = edge_after_ms(c->in_len > 0 ? EDGE_REQUEST_MS : EDGE_IDLE_MS);
    if (c->in_len > 0) {
        edge_serve(c);
        return;
    }
    edge_want(c, EPOLLIN | EPOLLRDHUP);
}

static void
edge_respond(edge_conn *c)
{
    bool keep = false;
    c->out = web_edge_req_output(c->req, &c->out_len, &keep);
    c->out_off = 0;
    c->close_after = !keep || c->out == NULL;
    c->st = CS_WRITE;
    c->deadline_ns = edge_after_ms(EDGE_WRITE_MS);
    if (c->client_gone || c->out == NULL) {
        edge_close(c);
        return;
    }
    edge_flush(c);
}

/* The exchange ended (rc, resp): the answer is made and sent. */
static void
edge_exchange_done(edge_conn *c, int rc, upc_response *resp)
{
    if (c->uc != NULL) {
        if (rc == UPC_OK && c->up.kept_fd == c->uc->fd)
            edge_pool_put(c->l, c->uc); /* kept alive */
        else
            edge_uc_forget(c->l, c->uc); /* upclient closed it */
        c->up.kept_fd = -1;
        c->uc = NULL;
    }
    c->up_active = false;
    if (rc != UPC_OK && proxy_retry(c->call, rc, &c->up.info)) {
        rc = upc_async_start_on(c->call->t, &c->call->rq, &c->up, -1);
        if (rc == UPC_AGAIN) {
            c->up_active = true;
            c->up_gen = 0;
            return; /* the caller steps it */
        }
    }
    proxy_end(c->req, c->call, rc, resp, &c->up.info);
    edge_respond(c);
}

/* Step the exchange and keep its fd registered for what it waits for. */
static void
edge_exchange_step(edge_conn *c)
{
    for (;;) {
        upc_response *resp = NULL;
        int rc = upc_async_step(&c->up, &resp);
        if (rc == UPC_AGAIN) {
            uint32_t want = (c->up.want == UPC_WANT_WRITE ? EPOLLOUT : EPOLLIN) | EPOLLRDHUP;
            if (c->up_gen != c->up.fd_gen) {
                /* A new connection; the one before (if any) was closed by
                 * upclient and left the epoll by itself. */
                if (c->uc != NULL)
                    edge_uc_forget(c->l, c->uc);
                c->uc = edge_uc_new(c->l, c->up.fd, c->call->t, c, want);
                if (c->uc == NULL) {
                    upc_async_abort(&c->up);
                    edge_exchange_done(c, UPC_ERR_NOMEM, NULL);
                    return;
                }
                c->up_gen = c->up.fd_gen;
            } else if (c->uc->events != want
                       && edge_ctl(c->l, EPOLL_CTL_MOD, c->up.fd, want, &c->uc->ev) == 0) {
                c->uc->events = want;
            }
            return;
        }
        edge_exchange_done(c, rc, resp);
        if (!c->up_active || c->st != CS_PROXY)
            return;
        /* retried: step the new attempt */
    }
}

/* Serve the request at the start of c->in, or wait for more of it, or
 * hand the connection to civetweb. */
static void
edge_serve(edge_conn *c)
{
    size_t head = eh_head_end(c->in, c->in_len);
    if (head == 0) {
        if (c->in_len > EH_MAX_HEAD)
            edge_tunnel(c); /* civetweb answers a head too large */
        else
            edge_want(c, EPOLLIN | EPOLLRDHUP);
        return;
    }
    /* Parsing writes NULs into the head: a copy of it stays for civetweb
     * in case the edge does not take it. */
    char saved[EH_MAX_HEAD + 4];
    if (head > sizeof(saved)) {
        edge_tunnel(c);
        return;
    }
    memcpy(saved, c->in, head);
    const web_route *route = NULL;
    bool mine = eh_parse(c->in, head, &c->ri) && c->ri.content_length <= EDGE_MAX_BODY
                && eh_path_plain(c->ri.local_uri)
                && (route = web_edge_route(E.srv, c->ri.request_method, c->ri.local_uri)) != NULL
                && route->handler == proxy_handle;
    if (!mine) {
        memcpy(c->in, saved, head);
        edge_tunnel(c);
        return;
    }
    size_t total = head + (size_t)c->ri.content_length;
    if (c->in_len < total) {
        /* The rest of the body: parse again when it is here. */
        memcpy(c->in, saved, head);
        edge_want(c, EPOLLIN | EPOLLRDHUP);
        return;
    }
    c->req_len = total;
    if (c->call == NULL && (c->call = malloc(sizeof(*c->call))) == NULL) {
        edge_close(c);
        return;
    }
    web_edge_req_begin(c->req, E.srv, &c->ri, c->in + head, (size_t)c->ri.content_length);
    c->req_open = true;
    c->client_gone = false;
    if (!web_edge_req_prepare(c->req) || web_edge_req_handler(c->req) != proxy_handle
        || proxy_begin(c->req, c->call) != 0) {
        edge_respond(c);
        return;
    }
    c->st = CS_PROXY;
    edge_upconn *uc = edge_pool_take(c->l, c->call->t);
    int rc = upc_async_start_on(c->call->t, &c->call->rq, &c->up, uc != NULL ? uc->fd : -1);
    c->uc = NULL;
    c->up_gen = 0;
    if (uc != NULL && rc == UPC_AGAIN) {
        uc->ev.c = c;
        c->uc = uc;
        c->up_gen = c->up.fd_gen;
    } else if (uc != NULL) {
        edge_uc_forget(c->l, uc); /* upclient closed it */
    }
    if (rc != UPC_AGAIN) {
        edge_exchange_done(c, rc, NULL);
        if (c->up_active)
            edge_exchange_step(c);
        return;
    }
    c->up_active = true;
    edge_exchange_step(c);
}

static void
edge_on_client(edge_conn *c, uint32_t events)
{
    switch (c->st) {
    case CS_READ: {
        size_t cap = EH_MAX_HEAD + EDGE_MAX_BODY + EDGE_READ_MIN;
        size_t before = c->in_len;
        int rc = edge_read(c, cap);
        if (rc != 0 || (events & EPOLLERR)) {
            edge_close(c);
            return;
        }
        if (before == 0 && c->in_len > 0) /* a request's clock runs from its first byte */
            c->deadline_ns = edge_after_ms(EDGE_REQUEST_MS);
        if (c->in_len > before)
            edge_serve(c);
        else if (c->in_len >= cap || (events & EPOLLHUP))
            edge_close(c);
        return;
    }
    case CS_PROXY:
        /* The next request (pipelined) waits; a hang-up is remembered. */
        if (events & (EPOLLERR | EPOLLHUP | EPOLLRDHUP))
            c->client_gone = true;
        edge_want(c, 0);
        return;
    case CS_WRITE:
        if (events & (EPOLLERR | EPOLLHUP)) {
            edge_close(c);
            return;
        }
        if (events & EPOLLOUT)
            edge_flush(c);
        return;
    case CS_TUNNEL:
        if (events & (EPOLLHUP | EPOLLERR)) {
            edge_close(c); /* gone both ways: nothing to relay to it */
            return;
        }
        edge_tunnel_pump(c);
        return;
    }
}

static void
edge_on_upstream(edge_loop *l, edge_upconn *uc)
{
    edge_conn *c = uc->ev.c;
    if (c == NULL)
        edge_on_idle(l, uc);
    else if (c->up_active && c->st == CS_PROXY && c->uc == uc)
        edge_exchange_step(c);
}

/* Connections past their deadline: a request not sent in time, an idle
 * keep-alive, an answer not taken, an upstream exchange past its timeout. */
static void
edge_sweep(edge_loop *l, int64_t now)
{
    edge_conn *next;
    for (edge_conn *c = l->conns; c != NULL; c = next) {
        next = c->next;
        if (c->st == CS_PROXY) {
            if (c->up_active && now >= upc_async_deadline(&c->up)) {
                int rc = upc_async_expire(&c->up);
                edge_exchange_done(c, rc, NULL);
                if (c->up_active)
                    edge_exchange_step(c);
            }
        } else if ((c->st != CS_TUNNEL || c->lingering) && now >= c->deadline_ns) {
            edge_close(c);
        }
        edge_bury(l);
    }
}

static void *
edge_run(void *arg)
{
    edge_loop *l = arg;
    struct epoll_event evs[EDGE_MAX_EVENTS];
    while (!__atomic_load_n(&E.stop, __ATOMIC_ACQUIRE)) {
        int n = epoll_wait(l->ep, evs, EDGE_MAX_EVENTS, EDGE_SWEEP_MS);
        if (n < 0 && errno != EINTR) {
            log_error("edge: epoll_wait: %s", strerror(errno));
            break;
        }
        for (int i = 0; i < n; i++) {
            edge_ev *ev = evs[i].data.ptr;
            if ((ev->c != NULL && ev->c->dead) || (ev->uc != NULL && ev->uc->dead))
                continue;
            switch (ev->kind) {
            case EV_LISTEN:
                edge_accept(l);
                break;
            case EV_WAKE:
                break;
            case EV_CLIENT:
                edge_on_client(ev->c, evs[i].events);
                break;
            case EV_UPSTREAM:
                edge_on_upstream(l, ev->uc);
                break;
            case EV_TUNNEL:
                edge_tunnel_pump(ev->c);
                break;
            }
        }
        /* Only now: a connection closed by one event of this round may
         * have more below it in evs. */
        edge_bury(l);
        int64_t now = util_mono_ns();
        if (now >= l->next_sweep_ns) {
            edge_sweep(l, now);
            l->next_sweep_ns = now + (int64_t)EDGE_SWEEP_MS * 1000000;
        }
    }
    while (l->conns != NULL)
        edge_close(l->conns);
    for (int i = 0; i < l->npools; i++)
        while (l->pools[i].n > 0)
            edge_uc_close(l, l->pools[i].idle[--l->pools[i].n]);
    edge_bury(l);
    return NULL;
}

/* ---- start and stop ---- */

static int
edge_listen(const char *bind_addr, int *port)
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

int
edge_start(app *a)
{
    const cfg *cf = app_cfg(a);
    long threads = cfg_int(cf, "EDGE_THREADS");
    if (threads == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        threads = n > 0 ? n : 1;
    }
    if (threads > EDGE_MAX_THREADS)
        threads = EDGE_MAX_THREADS;
    E.srv = app_web(a);
    E.max_conns = (int)cfg_int(cf, "EDGE_MAX_CONNECTIONS");
    E.stop = false;
    E.internal = (struct sockaddr_in){.sin_family = AF_INET,
                                      .sin_port = htons((uint16_t)web_server_port(E.srv))};
    inet_pton(AF_INET, "127.0.0.1", &E.internal.sin_addr);
    const char *bind_addr = cfg_str(cf, "HTTP_BIND");
    int port = (int)cfg_int(cf, "PORT");
    for (E.nloops = 0; E.nloops < threads; E.nloops++) {
        edge_loop *l = &E.loops[E.nloops];
        memset(l, 0, sizeof(*l));
        l->lev = (edge_ev){EV_LISTEN, NULL, NULL};
        l->wev = (edge_ev){EV_WAKE, NULL, NULL};
        l->ep = epoll_create1(EPOLL_CLOEXEC);
        l->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        l->lfd = l->ep >= 0 && l->wake >= 0 ? edge_listen(bind_addr, &port) : -1;
        if (l->lfd < 0 || edge_ctl(l, EPOLL_CTL_ADD, l->lfd, EPOLLIN, &l->lev) != 0
            || edge_ctl(l, EPOLL_CTL_ADD, l->wake, EPOLLIN, &l->wev) != 0
            || pthread_create(&l->th, NULL, edge_run, l) != 0) {
            if (l->lfd >= 0)
                close(l->lfd);
            if (l->wake >= 0)
                close(l->wake);
            if (l->ep >= 0)
                close(l->ep);
            edge_stop();
            return -1;
        }
        l->started = true;
    }
    log_info("HTTP server listening on %s:%d (%d event loops; civetweb behind on 127.0.0.1:%d)",
             bind_addr, port, E.nloops, web_server_port(E.srv));
    return 0;
}

void
edge_stop(void)
{
    __atomic_store_n(&E.stop, true, __ATOMIC_RELEASE);
    for (int i = 0; i < E.nloops; i++) {
        edge_loop *l = &E.loops[i];
        if (!l->started)
            continue;
        uint64_t one = 1;
        (void)!write(l->wake, &one, sizeof(one));
        pthread_join(l->th, NULL);
        close(l->lfd);
        close(l->wake);
        close(l->ep);
        l->started = false;
    }
    E.nloops = 0;
}
