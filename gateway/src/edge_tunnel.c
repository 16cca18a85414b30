/* edge_tunnel: connections the loops leave to civetweb, relayed byte for
 * byte to its listener on 127.0.0.1 (edge.h). */
#include <arpa/inet.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge_internal.h"
#include "log.h"

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
    edge__want(c, ce);
    (void)edge__ctl(c->l, EPOLL_CTL_MOD, c->tfd, te, &c->t_ev);
}

/* From this request on, the connection is civetweb's: connect to it and
 * relay everything the client sent (c->in from its start). */
void
edge__tunnel(edge_conn *c)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        edge__close(c);
        return;
    }
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    int rc = connect(fd, (const struct sockaddr *)&edge_g.internal, sizeof(edge_g.internal));
    struct sockaddr_in me;
    socklen_t ml = sizeof(me);
    if ((rc != 0 && errno != EINPROGRESS) || getsockname(fd, (struct sockaddr *)&me, &ml) != 0
        || (c->t2c = malloc(EDGE_TUNNEL_BUF)) == NULL) {
        log_error("edge: cannot reach the gateway's own HTTP server: %s", strerror(errno));
        close(fd);
        edge__close(c);
        return;
    }
    c->tfd = fd;
    c->tport = ntohs(me.sin_port);
    /* Before civetweb can read a byte: whose connection this is. */
    web_server_set_peer(edge_g.srv, c->tport, c->ri.remote_addr);
    c->st = CS_TUNNEL;
    c->t_connected = rc == 0;
    c->c2t_off = 0;
    if (edge__ctl(c->l, EPOLL_CTL_ADD, fd, EPOLLOUT, &c->t_ev) != 0) {
        edge__close(c);
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
        int rc = edge__read(c, EDGE_TUNNEL_BUF);
        if (rc != 0) {
            c->c_eof = true;
            return;
        }
        if (c->in_len == 0)
            return;
    }
}

/* Move bytes both ways until neither side can take or give more now. */
void
edge__tunnel_pump(edge_conn *c)
{
    if (!c->t_connected) {
        int err = 0;
        socklen_t el = sizeof(err);
        if (getsockopt(c->tfd, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
            edge__close(c);
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
            if (edge__read(c, EDGE_TUNNEL_BUF) != 0)
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
                edge__close(c);
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
            edge__close(c);
            return;
        }
        if (!c->lingering) {
            (void)shutdown(c->fd, SHUT_WR);
            c->lingering = true;
            c->c2t_dead = true;
            c->deadline_ns = edge__after_ms(EDGE_IDLE_MS);
            (void)epoll_ctl(c->l->ep, EPOLL_CTL_DEL, c->tfd, NULL);
            edge__want(c, EPOLLIN | EPOLLRDHUP);
        }
        edge_tunnel_discard(c);
        if (c->c_eof)
            edge__close(c);
        return;
    }
    edge_tunnel_want(c);
}
