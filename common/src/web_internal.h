/* web internals shared by web.c (the server), web_req.c (one HTTP request)
 * and web_ws.c (WebSocket connections). Not part of the public API. */
#ifndef BRAIN_WEB_INTERNAL_H
#define BRAIN_WEB_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <civetweb.h>
#include <json-c/json.h>

#include "route.h"
#include "web.h"

#define WEB_REQUEST_ID_MAX 128         /* bytes of an accepted X-Request-Id */
#define WEB_WS_MAX_MESSAGE (64 * 1024) /* bytes of one WebSocket message */
#define WEB_ADDED_MAX      1024        /* bytes of a request's web_add_header lines */

struct web_server {
    char *service;
    char *bind;
    char *internal_token; /* NULL when not configured */
    int port;
    int threads;
    size_t max_body;
    void *app;
    metrics_family *m_requests; /* NULL without a registry */
    metrics_family *m_duration;
    route_table *routes;    /* data: const web_route * */
    route_table *ws_routes; /* data: const web_ws_route * */
    struct mg_context *ctx; /* NULL while stopped */
    int bound_port;
    bool ready;    /* atomic */
    bool draining; /* atomic: stopping, new requests get 503 */
    int inflight;  /* atomic: HTTP requests being handled */
    int drain_ms;
    pthread_mutex_t ws_mu; /* guards ws_open */
    web_ws *ws_open;       /* accepted WebSocket connections, doubly linked */
    int (*before)(web_req *r);
    /* web_server_set_peer: who is really on each connection an in-process
     * front relays from 127.0.0.1 (indexed by its local port); NULL until
     * the first one. Under peers_mu. */
    pthread_mutex_t peers_mu;
    struct web_peer *peers;
};

#define WEB_ADDR_MAX 48 /* a textual IPv4 or IPv6 address */

/* remote into out[WEB_ADDR_MAX]: the peer a front registered for
 * 127.0.0.1:remote_port, else remote itself. Returns out. */
const char *web__peer(web_server *s, const char *remote, int remote_port, char *out);

/* One HTTP request (web_req.c), or a WebSocket upgrade request while it is
 * decided (web_ws.c). Lives on the stack of the civetweb callback. */
struct web_req {
    struct mg_connection *conn;
    const struct mg_request_info *ri;
    web_server *srv;
    const web_route *route; /* NULL until matched */
    route_match match;
    const char *method;
    const char *path;
    char request_id[WEB_REQUEST_ID_MAX + 1];
    int64_t start_ns;
    char *body;
    size_t body_len;
    json_object *json;
    bool body_done;  /* the body was read, drained or given up on */
    bool must_close; /* the body is not (fully) read: no keep-alive */
    bool head;
    bool upgrade; /* a WebSocket upgrade request */
    bool replied;
    int status;
    size_t bytes_out;
    void *ctx; /* web_set_ctx */
    void (*ctx_release)(void *ctx);
    /* A request of an in-process event loop (web_edge.h): no civetweb
     * connection (conn is NULL), the reply goes into out, and the body is
     * the loop's (not freed here). */
    char *out;
    size_t out_len, out_cap;
    bool out_failed;           /* the reply did not fit in memory */
    bool body_borrowed;        /* body belongs to the loop */
    bool routed;               /* match holds the route already (web_edge_req_route) */
    bool deferred;             /* the before hook deferred it (web_defer) */
    char remote[WEB_ADDR_MAX]; /* the client's address (web__peer) */
    size_t added_len;
    char added[WEB_ADDED_MAX]; /* web_add_header's "Name: value\r\n" lines */
};

/* The value of a request header (any case), or NULL. */
const char *web__header(const web_req *r, const char *name);

/* Set up r for the request on conn (the request id is set on the thread's
 * log lines). web__req_end releases what the request holds. */
void web__req_init(web_req *r, struct mg_connection *conn, web_server *s, bool upgrade);
/* The same for a request of ri on conn, or, conn NULL, of an event loop
 * (web_edge.c): its output buffer is kept. */
void web__req_setup(web_req *r, struct mg_connection *conn, web_server *s,
                    const struct mg_request_info *ri, bool upgrade);
/* Everything before the handler: the front checks, route, guard, body.
 * true when the handler should run (false: a reply was sent). */
bool web__prepare(web_req *r);
/* Whether the connection carries another request after this answer. */
bool web__keep_alive(const web_req *r, int status);
void web__req_end(web_req *r);

/* What every request meets before route lookup: framing, the path's length,
 * control characters in the URI, then the before hook. Returns true to go
 * on, false when the request was answered. */
bool web__req_front(web_req *r);

/* Reply with the error shape; extra is NULL or NULL-terminated header lines. */
int web__req_error(web_req *r, int status, const char *code, const char *message,
                   const char *const *extra);

/* 0 when the URI of ri (path and query string) may be routed, else 400 with
 * *why set. */
int web__uri_check(const struct mg_request_info *ri, const char **why);

/* Copy a well-formed X-Request-Id (1..128 of [A-Za-z0-9._:-]) or generate a
 * UUID into out[WEB_REQUEST_ID_MAX + 1]. */
void web__request_id(const char *header, char out[WEB_REQUEST_ID_MAX + 1]);

/* Copy s into out for an error message: at most max bytes, anything outside
 * printable ASCII replaced by '?' (paths and methods come from the client). */
void web__sanitize(const char *s, size_t max, char *out, size_t cap);

/* The standard method name for a metrics label, or "OTHER". */
const char *web__method_label(const char *method);

/* The internal token and readiness checks of non-public routes: 0 when the
 * request may proceed, else the status (401 or 503) with code and message. */
int web__guard(web_server *s, const char *token_header, const char **code, const char **msg);

/* The head of a response. */
typedef struct web_head {
    int status;
    const char *ctype;
    const char *request_id;
    bool no_store;            /* Cache-Control: no-store (JSON) */
    bool keep_alive;          /* else Connection: close, and civetweb closes */
    bool head;                /* HEAD request: no body bytes */
    const char *const *extra; /* NULL or NULL-terminated "Name: value" lines */
    const char *added;        /* NULL or ready "Name: value\r\n" lines (web_add_header) */
    size_t added_len;
} web_head;

/* Write a complete error response by hand, for connections civetweb does not
 * let mg_response_header_* handle (WebSocket upgrades, civetweb's own errors).
 * Closes the connection afterwards. Returns the bytes of the body. */
size_t web__raw_error(struct mg_connection *conn, int status, const char *code, const char *message,
                      const char *request_id, const char *extra_header);

/* Access-log line and request metrics. route is the pattern or "unmatched". */
void web__account(web_server *s, bool quiet, const char *method, const char *route,
                  const char *path, int status, int64_t start_ns, size_t bytes_out,
                  const char *remote_addr);

/* The catch-all civetweb request handler (web_req.c); cbdata is the server. */
int web__handle_request(struct mg_connection *conn, void *cbdata);

/* WebSocket side (web_ws.c). */
int web__ws_connect(const struct mg_connection *conn, void *cbdata);
void web__ws_ready(struct mg_connection *conn, void *cbdata);
int web__ws_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata);
void web__ws_close(const struct mg_connection *conn, void *cbdata);
/* civetweb's connection_close callback: frees a WebSocket whose close handler
 * never ran (a failed handshake). */
void web__ws_conn_closed(const struct mg_connection *conn);
/* Send a close frame (1001, going away) on every open WebSocket. */
void web__ws_close_all(web_server *s);

#endif
