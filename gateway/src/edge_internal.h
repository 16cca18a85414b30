/* edge internals shared by edge.c (the loops, accepting, serving),
 * edge_conn.c (client connections), edge_pool.c (each loop's upstream
 * connections) and edge_tunnel.c (the relay to civetweb). Not for other modules. */
#ifndef GATEWAY_EDGE_INTERNAL_H
#define GATEWAY_EDGE_INTERNAL_H

#include <netinet/in.h>
#include <sys/epoll.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <civetweb.h>

#include "metrics.h"
#include "proxy.h"
#include "upclient.h"
#include "web.h"

#define EDGE_READ_MIN     16384 /* room asked of each recv */
#define EDGE_TUNNEL_BUF   65536 /* bytes a tunnel holds each way */
#define EDGE_REQUEST_MS   10000 /* to send a whole request (civetweb's request_timeout_ms) */
#define EDGE_IDLE_MS      2000  /* between requests (civetweb's keep_alive_timeout_ms) */
#define EDGE_AUTH_WAIT_MS 2000  /* for a credential to be loaded, before civetweb takes over */
#define EDGE_WRITE_MS     10000 /* for an answer to go out */
#define EDGE_SWEEP_MS     20    /* how often deadlines are looked at */
#define EDGE_MAX_EVENTS   128
#define EDGE_MAX_THREADS  64

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
    CS_WAIT,   /* the request waits for its credential to be loaded (auth.h) */
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
    unsigned up_gen;       /* up.fd_gen registered in the epoll (as uc) */
    edge_upconn *uc;       /* up.fd's */
    bool up_active;        /* an exchange is under way */
    bool client_gone;      /* the client hung up while its answer was being made */
    bool waited;           /* the request at the head of in waits for its credential ... */
    int64_t wait_until_ns; /* ... until then at most */
    const char *out;       /* the answer, in req's buffer */
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
    bool dead;      /* closed: freed once the events of this round are handled */
    edge_conn *prev, *next;
    edge_conn *wprev, *wnext; /* the loop's waiting list */
};

struct edge_loop {
    pthread_t th;
    bool started;
    int ep, lfd, wake;
    edge_ev lev, wev;
    edge_conn *conns;
    edge_conn *waiting; /* in CS_WAIT (linked by wnext) */
    edge_conn *dead;    /* closed in this round (linked by next) */
    edge_upconn *dead_uc;
    edge_pool pools[EDGE_POOL_TARGETS];
    int npools;
    int64_t next_sweep_ns;
};

typedef struct edge_global {
    web_server *srv;
    struct sockaddr_in internal; /* civetweb's listener */
    int nloops;
    int nwake; /* atomic: loops whose wake eventfd auth's thread may write (all once started) */
    edge_loop loops[EDGE_MAX_THREADS];
    int max_conns;
    int nconns;              /* atomic: client connections open */
    bool stop;               /* atomic */
    metrics_family *relayed; /* gateway_edge_relayed_total{reason} */
} edge_global;

extern edge_global edge_g;

/* ---- edge.c ---- */
int edge__ctl(edge_loop *l, int op, int fd, uint32_t events, edge_ev *ev);
/* The client's fd registered for events (0: none; it stays in the epoll). */
void edge__want(edge_conn *c, uint32_t events);
int64_t edge__after_ms(int ms);
/* Close c's sockets; c itself is freed at the end of the loop's round. */
void edge__close(edge_conn *c);
/* Accept what the loop's listener has (edge_conn.c). */
void edge__accept(edge_loop *l);
/* A listener on bind_addr:*port (SO_REUSEPORT; *port set when 0), or -1
 * (logged). */
int edge__listen(const char *bind_addr, int *port);
/* Into CS_WAIT and the loop's waiting list, and out of them (to CS_READ). */
void edge__wait_add(edge_conn *c);
void edge__wait_del(edge_conn *c);
/* The 408 of a request not whole in time, before the close. */
void edge__timed_out(edge_conn *c);
/* Read what the client sent into c->in (at most cap bytes in all): 0 when
 * something or nothing came, 1 at its end, -1 on an error. */
int edge__read(edge_conn *c, size_t cap);

/* ---- edge_pool.c ---- */
edge_upconn *edge__uc_new(edge_loop *l, int fd, upc_target *t, edge_conn *owner, uint32_t events);
/* uc's fd is closed already: uc goes at the end of the round. */
void edge__uc_forget(edge_loop *l, edge_upconn *uc);
void edge__uc_close(edge_loop *l, edge_upconn *uc);
/* The most recently used idle connection to t, or NULL. */
edge_upconn *edge__pool_take(edge_loop *l, upc_target *t);
/* Back into the loop's pool (or closed when it is full). */
void edge__pool_put(edge_loop *l, edge_upconn *uc);
/* An idle connection had an event: the service closed it. */
void edge__on_idle(edge_loop *l, edge_upconn *uc);

/* ---- edge__tunnel.c ---- */
/* From the request at the start of c->in on, the connection is civetweb's. */
void edge__tunnel(edge_conn *c);
/* Move bytes both ways until neither side can take or give more now. */
void edge__tunnel_pump(edge_conn *c);

#endif
