/* edge: the gateway's event loops; see edge.h. Each loop owns its
 * listener (SO_REUSEPORT: the kernel spreads connections over the loops),
 * its epoll and its connections; nothing is shared between loops but the
 * gate's and the proxy's state. Accepting, reading and closing client
 * connections are in edge_conn.c, the upstream connections in edge_pool.c,
 * the relay to civetweb in edge_tunnel.c. */
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

#include "auth.h"
#include "config.h"
#include "edge_http.h"
#include "edge_internal.h"
#include "log.h"
#include "proxy.h"
#include "util.h"
#include "web_edge.h"

edge_global edge_g;

static const char *const relay_reasons[] = {"own_route", "unusual", "credential"};

/* The connection goes to civetweb from this request on (edge_tunnel.c),
 * counted by reason: the gateway's own route, a request the loop does not
 * take as it is, a credential not loaded within EDGE_AUTH_WAIT_MS. */
static void
edge_relay(edge_conn *c, const char *reason)
{
    const char *lv[] = {reason};
    metrics_inc(edge_g.relayed, lv, 1);
    edge__tunnel(c);
}

static void edge_serve(edge_conn *c);
static bool edge_serve_one(edge_conn *c);

/* Free what was closed in this round (its events are all handled). */
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
            edge__want(c, EPOLLOUT | EPOLLRDHUP);
            return;
        }
        edge__close(c);
        return;
    }
    /* All out: the request ends, the next one may already be there. */
    web_edge_req_end(c->req);
    c->req_open = false;
    if (c->close_after) {
        edge__close(c);
        return;
    }
    memmove(c->in, c->in + c->req_len, c->in_len - c->req_len);
    c->in_len -= c->req_len;
    c->req_len = 0;
    c->st = CS_READ;
    c->deadline_ns = edge__after_ms(c->in_len > 0 ? EDGE_REQUEST_MS : EDGE_IDLE_MS);
    /* A request already here (pipelined) is served by edge_serve's loop,
     * never from here: a client cannot make the stack grow. */
    edge__want(c, EPOLLIN | EPOLLRDHUP);
}

static void
edge_respond(edge_conn *c)
{
    bool keep = false;
    c->out = web_edge_req_output(c->req, &c->out_len, &keep);
    c->out_off = 0;
    c->close_after = !keep || c->out == NULL;
    c->st = CS_WRITE;
    c->deadline_ns = edge__after_ms(EDGE_WRITE_MS);
    if (c->client_gone || c->out == NULL) {
        edge__close(c);
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
            edge__pool_put(c->l, c->uc); /* kept alive */
        else
            edge__uc_forget(c->l, c->uc); /* upclient closed it */
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
                    edge__uc_forget(c->l, c->uc);
                c->uc = edge__uc_new(c->l, c->up.fd, c->call->t, c, want);
                if (c->uc == NULL) {
                    upc_async_abort(&c->up);
                    edge_exchange_done(c, UPC_ERR_NOMEM, NULL);
                    return;
                }
                c->up_gen = c->up.fd_gen;
            } else if (c->uc->events != want
                       && edge__ctl(c->l, EPOLL_CTL_MOD, c->up.fd, want, &c->uc->ev) == 0) {
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
/* One request: true when it was answered or is being answered (the loop
 * may go on to the next), false while more of it is awaited. */
static bool
edge_serve_one(edge_conn *c)
{
    size_t head = eh_head_end(c->in, c->in_len);
    if (head == 0) {
        if (c->in_len > EH_MAX_HEAD)
            edge_relay(c, "unusual"); /* civetweb answers a head too large */
        else
            edge__want(c, EPOLLIN | EPOLLRDHUP);
        return false;
    }
    /* Parsing writes NULs into the head: a copy of it stays for civetweb
     * in case the edge does not take it. */
    char saved[EH_MAX_HEAD + 4];
    if (head > sizeof(saved)) {
        edge_relay(c, "unusual");
        return false;
    }
    memcpy(saved, c->in, head);
    if (!eh_parse(c->in, head, &c->ri) || c->ri.content_length > EDGE_MAX_BODY
        || !eh_path_plain(c->ri.local_uri)) {
        memcpy(c->in, saved, head);
        edge_relay(c, "unusual");
        return false;
    }
    size_t total = head + (size_t)c->ri.content_length;
    if (c->in_len < total) {
        /* The rest of the body: parse again when it is here. */
        memcpy(c->in, saved, head);
        edge__want(c, EPOLLIN | EPOLLRDHUP);
        return false;
    }
    if (c->call == NULL && (c->call = malloc(sizeof(*c->call))) == NULL) {
        edge__close(c);
        return false;
    }
    web_edge_req_begin(c->req, edge_g.srv, &c->ri, c->in + head, (size_t)c->ri.content_length);
    const web_route *route = web_edge_req_route(c->req);
    if (route == NULL || route->handler != proxy_handle) {
        /* not a proxied route: civetweb's */
        web_edge_req_cancel(c->req);
        memcpy(c->in, saved, head);
        edge_relay(c, "own_route");
        return false;
    }
    c->req_len = total;
    c->req_open = true;
    c->client_gone = false;
    bool go = web_edge_req_prepare(c->req);
    if (!go && web_edge_req_deferred(c->req)) {
        /* Its credential is not in the cache. auth's thread is loading it:
         * the request waits, its bytes as they came, and is tried again
         * when that is done (edge_wake). Not there then (the database
         * failing, or slower than EDGE_AUTH_WAIT_MS): civetweb's threads
         * take the connection and ask the database themselves. */
        web_edge_req_cancel(c->req);
        c->req_open = false;
        c->req_len = 0;
        memcpy(c->in, saved, head);
        if (!c->waited) {
            c->waited = true;
            c->wait_until_ns = edge__after_ms(EDGE_AUTH_WAIT_MS);
        } else if (util_mono_ns() >= c->wait_until_ns) {
            edge_relay(c, "credential");
            return false;
        }
        edge__wait_add(c);
        c->deadline_ns = c->wait_until_ns;
        edge__want(c, 0);
        return false;
    }
    c->waited = false;
    if (!go || web_edge_req_handler(c->req) != proxy_handle || proxy_begin(c->req, c->call) != 0) {
        edge_respond(c);
        return true;
    }
    c->st = CS_PROXY;
    edge_upconn *uc = edge__pool_take(c->l, c->call->t);
    int rc = upc_async_start_on(c->call->t, &c->call->rq, &c->up, uc != NULL ? uc->fd : -1);
    c->uc = NULL;
    c->up_gen = 0;
    if (uc != NULL && rc == UPC_AGAIN) {
        uc->ev.c = c;
        c->uc = uc;
        c->up_gen = c->up.fd_gen;
    } else if (uc != NULL) {
        edge__uc_forget(c->l, uc); /* upclient closed it */
    }
    if (rc != UPC_AGAIN) {
        edge_exchange_done(c, rc, NULL);
        if (c->up_active)
            edge_exchange_step(c);
        return true;
    }
    c->up_active = true;
    edge_exchange_step(c);
    return true;
}

/* Serve the requests at the start of c->in, one after another, until one
 * waits for more bytes or for its upstream, or the connection is left to
 * civetweb or closed. */
static void
edge_serve(edge_conn *c)
{
    while (!c->dead && c->st == CS_READ && c->in_len > 0 && edge_serve_one(c))
        ;
    /* What a half-closed client sent is answered: nothing more can come. */
    if (!c->dead && c->st == CS_READ && c->c_eof)
        edge__close(c);
}

static void
edge_on_client(edge_conn *c, uint32_t events)
{
    switch (c->st) {
    case CS_READ: {
        size_t cap = EH_MAX_HEAD + EDGE_MAX_BODY + EDGE_READ_MIN;
        size_t before = c->in_len;
        int rc = edge__read(c, cap);
        if (rc < 0 || (events & EPOLLERR)) {
            edge__close(c);
            return;
        }
        /* The client sent all it will (a half-close): what it sent is
         * still answered, then the connection is closed (edge_serve). */
        c->c_eof = c->c_eof || rc == 1;
        if (before == 0 && c->in_len > 0) /* a request's clock runs from its first byte */
            c->deadline_ns = edge__after_ms(EDGE_REQUEST_MS);
        if (c->in_len > before || c->c_eof)
            edge_serve(c);
        else if (c->in_len >= cap || (events & EPOLLHUP))
            edge__close(c);
        return;
    }
    case CS_PROXY:
        /* The next request (pipelined) waits; a hang-up is remembered (a
         * half-close is not one: the client still reads its answers). */
        if (events & (EPOLLERR | EPOLLHUP))
            c->client_gone = true;
        edge__want(c, 0);
        return;
    case CS_WRITE:
        if (events & (EPOLLERR | EPOLLHUP)) {
            edge__close(c);
            return;
        }
        if (events & EPOLLOUT) {
            edge_flush(c);
            edge_serve(c); /* what was pipelined behind it */
        }
        return;
    case CS_WAIT:
        if (events & (EPOLLHUP | EPOLLERR))
            edge__close(c);
        return;
    case CS_TUNNEL:
        if (events & (EPOLLHUP | EPOLLERR)) {
            edge__close(c); /* gone both ways: nothing to relay to it */
            return;
        }
        edge__tunnel_pump(c);
        return;
    }
}

static void
edge_on_upstream(edge_loop *l, edge_upconn *uc)
{
    edge_conn *c = uc->ev.c;
    if (c == NULL)
        edge__on_idle(l, uc);
    else if (c->up_active && c->st == CS_PROXY && c->uc == uc) {
        edge_exchange_step(c);
        edge_serve(c); /* what was pipelined behind it */
    }
}

/* A request that waited for its credential is tried again. */
static void
edge_resume(edge_conn *c)
{
    edge__wait_del(c);
    c->deadline_ns = edge__after_ms(EDGE_REQUEST_MS);
    edge_serve(c);
}

/* auth's thread loaded a credential: each loop tries its waiting requests
 * again (edge_run, on its wake event). */
static void
edge_wake_all(void)
{
    uint64_t one = 1;
    int n = __atomic_load_n(&edge_g.nwake, __ATOMIC_ACQUIRE);
    for (int i = 0; i < n; i++)
        (void)!write(edge_g.loops[i].wake, &one, sizeof(one));
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
                edge_serve(c);
            }
        } else if (c->st == CS_WAIT) {
            if (now >= c->deadline_ns)
                edge_resume(c);
        } else if ((c->st != CS_TUNNEL || c->lingering) && now >= c->deadline_ns) {
            if (c->st == CS_READ && c->in_len > 0)
                edge__timed_out(c);
            edge__close(c);
        }
        edge_bury(l);
    }
}

static void *
edge_run(void *arg)
{
    edge_loop *l = arg;
    struct epoll_event evs[EDGE_MAX_EVENTS];
    log_hold(true); /* the round's access lines go out together */
    auth_nowait_thread();
    while (!__atomic_load_n(&edge_g.stop, __ATOMIC_ACQUIRE)) {
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
                edge__accept(l);
                break;
            case EV_WAKE: {
                uint64_t v;
                (void)!read(l->wake, &v, sizeof(v));
                /* those waiting now; one that waits again joins anew */
                edge_conn *w = l->waiting, *next;
                l->waiting = NULL;
                for (edge_conn *c = w; c != NULL; c = next) {
                    next = c->wnext;
                    c->wprev = c->wnext = NULL;
                    c->st = CS_READ;
                    if (next != NULL)
                        next->wprev = NULL;
                    edge_resume(c);
                }
                break;
            }
            case EV_CLIENT:
                edge_on_client(ev->c, evs[i].events);
                break;
            case EV_UPSTREAM:
                edge_on_upstream(l, ev->uc);
                break;
            case EV_TUNNEL:
                edge__tunnel_pump(ev->c);
                break;
            }
        }
        /* Only now: a connection closed by one event of this round may
         * have more below it in evs. */
        edge_bury(l);
        log_flush();
        int64_t now = util_mono_ns();
        if (now >= l->next_sweep_ns) {
            edge_sweep(l, now);
            l->next_sweep_ns = now + (int64_t)EDGE_SWEEP_MS * 1000000;
        }
    }
    while (l->conns != NULL)
        edge__close(l->conns);
    for (int i = 0; i < l->npools; i++)
        while (l->pools[i].n > 0)
            edge__uc_close(l, l->pools[i].idle[--l->pools[i].n]);
    edge_bury(l);
    log_hold(false);
    return NULL;
}

/* ---- start and stop ---- */

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
    edge_g.srv = app_web(a);
    edge_g.max_conns = (int)cfg_int(cf, "EDGE_MAX_CONNECTIONS");
    edge_g.stop = false;
    edge_g.internal = (struct sockaddr_in){
        .sin_family = AF_INET, .sin_port = htons((uint16_t)web_server_port(edge_g.srv))};
    inet_pton(AF_INET, "127.0.0.1", &edge_g.internal.sin_addr);
    const char *bind_addr = cfg_str(cf, "HTTP_BIND");
    int port = (int)cfg_int(cf, "PORT");
    if (edge_g.relayed == NULL) {
        const char *label[] = {"reason"};
        edge_g.relayed = metrics_counter(
            app_metrics(a), "gateway_edge_relayed_total",
            "Client connections the event loops handed to civetweb, by reason.", label, 1);
        for (size_t i = 0; i < sizeof(relay_reasons) / sizeof(relay_reasons[0]); i++) {
            const char *lv[] = {relay_reasons[i]};
            metrics_inc(edge_g.relayed, lv, 0);
        }
    }
    if (auth_nowait_start(edge_wake_all) != 0)
        return -1;
    for (edge_g.nloops = 0; edge_g.nloops < threads; edge_g.nloops++) {
        edge_loop *l = &edge_g.loops[edge_g.nloops];
        memset(l, 0, sizeof(*l));
        l->lev = (edge_ev){EV_LISTEN, NULL, NULL};
        l->wev = (edge_ev){EV_WAKE, NULL, NULL};
        l->ep = epoll_create1(EPOLL_CLOEXEC);
        l->wake = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
        l->lfd = l->ep >= 0 && l->wake >= 0 ? edge__listen(bind_addr, &port) : -1;
        if (l->lfd < 0 || edge__ctl(l, EPOLL_CTL_ADD, l->lfd, EPOLLIN, &l->lev) != 0
            || edge__ctl(l, EPOLL_CTL_ADD, l->wake, EPOLLIN, &l->wev) != 0
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
    __atomic_store_n(&edge_g.nwake, edge_g.nloops, __ATOMIC_RELEASE);
    log_info("HTTP server listening on %s:%d (%d event loops; civetweb behind on 127.0.0.1:%d)",
             bind_addr, port, edge_g.nloops, web_server_port(edge_g.srv));
    return 0;
}

void
edge_stop(void)
{
    __atomic_store_n(&edge_g.stop, true, __ATOMIC_RELEASE);
    /* auth's thread stops waking the loops before their eventfds go */
    __atomic_store_n(&edge_g.nwake, 0, __ATOMIC_RELEASE);
    auth_nowait_stop();
    for (int i = 0; i < edge_g.nloops; i++) {
        edge_loop *l = &edge_g.loops[i];
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
    edge_g.nloops = 0;
}
