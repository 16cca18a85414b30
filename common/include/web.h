/* web: the HTTP (and WebSocket) server of every daemon, over civetweb.
 * Prefix web_.
 *
 * One pipeline for every request (DESIGN section 3):
 *   request id taken from X-Request-Id (when well formed) or generated, set on
 *   the thread's log lines and returned in the response; a URI holding a
 *   control character, raw or as %00/%0a/%0d, gets 400; the before hook
 *   (web_config.before: the gateway's gate) may answer; route lookup (404 and
 *   405 as JSON errors, 405 with Allow); the internal token when configured;
 *   503 "starting" on non-public routes until web_server_set_ready(); for
 *   WEB_JSON_BODY routes the body is read with the size limit (413), its
 *   Content-Type checked (415) and parsed (400 naming the problem); the
 *   handler; then one access-log line and the request metrics
 *   http_requests_total{service,route,method,code} and
 *   http_request_duration_seconds{service,route,method}.
 * A handler that returns without replying gets a 500 JSON error. */
#ifndef BRAIN_WEB_H
#define BRAIN_WEB_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "json.h"
#include "metrics.h"

#define WEB_MAX_BODY     (1024 * 1024) /* bytes: larger request bodies get 413 */
#define WEB_DRAIN_FACTOR 4 /* a body up to this many times the limit is read before the 413 */

typedef struct web_server web_server;
typedef struct web_req web_req;
typedef struct web_ws web_ws;

/* Returns 0 once it has replied; anything else without a reply gives a 500. */
typedef int (*web_handler)(web_req *req);

enum {
    WEB_JSON_BODY = 1u << 0, /* parse the body as JSON before the handler (may be absent) */
    WEB_RAW_BODY = 1u << 1,  /* read the body, any type, up to the limit (proxying) */
    WEB_PUBLIC = 1u << 2,    /* no internal token, served while starting (probes) */
    WEB_QUIET = 1u << 3,     /* access log at debug, not info (probes, metrics) */
};

typedef struct web_route {
    const char *method; /* "GET", ..., or "*" */
    const char *pattern;
    web_handler handler;
    unsigned flags;
    void *ud; /* given back by web_route_ud() (a module's own state) */
} web_route;

/* A WebSocket route. Upgrade requests are guarded like non-public routes (the
 * internal token when configured, 503 "starting" until ready); an upgrade to
 * a path without a route gets a 404 JSON error. Callbacks run on the
 * connection's thread with its request id set for logging. */
typedef struct web_ws_route {
    const char *pattern; /* as route.h, e.g. "/ws/{client_id}" */
    /* Before the upgrade: return 0 to accept, or an HTTP status to refuse. The
     * request's headers and parameters are readable through ws. */
    int (*on_connect)(web_ws *ws);
    /* After the handshake: the connection may be written to from now on. */
    void (*on_ready)(web_ws *ws);
    /* A text or binary message (whole, at most 64 KiB). Return 0 to keep the
     * connection, non-zero to close it. */
    int (*on_message)(web_ws *ws, const char *data, size_t len, bool binary);
    /* The connection is gone; ws is freed after this returns. */
    void (*on_close)(web_ws *ws);
} web_ws_route;

typedef struct web_config {
    const char *service;        /* label and log name */
    const char *bind;           /* address, default "127.0.0.1" */
    int port;                   /* 0 picks a free port (web_server_port tells it) */
    int threads;                /* worker threads, default 16; each open connection
                                   (idle keep-alive or WebSocket) holds one */
    size_t max_body;            /* default WEB_MAX_BODY */
    const char *internal_token; /* when non-empty, non-public routes require it in
                                   X-Internal-Token (constant-time compare) */
    metrics_registry *metrics;  /* request metrics go here (may be NULL) */
    int drain_ms;               /* web_server_stop waits this long for requests in
                                   flight (default 10000) */
    void *app;                  /* given back by web_app() */
    /* Called for every HTTP request and every WebSocket upgrade request once
     * the request id is set and the URI passed the control-character check,
     * before route lookup. Returns 0 to go on, 1 when it replied (the request
     * then ends as usual: access-log line and metrics). May be NULL. */
    int (*before)(web_req *r);
} web_config;

/* New stopped server; config strings are copied. NULL on allocation failure. */
web_server *web_server_new(const web_config *cfg);
/* Stops (if running) and frees. Accepts NULL. */
void web_server_free(web_server *s);

/* Register routes (before web_server_start). The arrays must outlive s.
 * Returns 0 or -1 (invalid or duplicate pattern, logged). */
int web_server_add_routes(web_server *s, const web_route *routes, size_t n);
int web_server_add_ws(web_server *s, const web_ws_route *routes, size_t n);

/* Bind and start serving. Returns 0, or -1 with a clear message in err (for
 * example "port 8081 on 127.0.0.1 is already in use"). */
int web_server_start(web_server *s, char *err, size_t errlen);
/* The bound port (after start). */
int web_server_port(const web_server *s);
/* Non-public routes answer 503 until this is set to true. */
void web_server_set_ready(web_server *s, bool ready);
/* Drain and stop: requests in flight finish (for at most drain_ms) while new
 * ones get 503 "shutting_down", then WebSockets are closed (1001) and the
 * server stops. */
void web_server_stop(web_server *s);

/* For a front in the same process that relays whole connections to s over
 * loopback (the gateway's event loop, for what it does not serve itself): a
 * request on a connection from 127.0.0.1:local_port is taken as coming from
 * addr (web_remote_addr, the access log). NULL addr forgets the port; the
 * front forgets it before it closes that connection. Thread-safe. */
void web_server_set_peer(web_server *s, int local_port, const char *addr);

/* ---- inside a handler ---- */
const char *web_method(const web_req *r);
const char *web_path(const web_req *r);
const char *web_query_string(const web_req *r); /* raw, without '?', or "" */
const char *web_route_pattern(const web_req *r);
const char *web_request_id(const web_req *r);
const char *web_remote_addr(const web_req *r);
void *web_app(const web_req *r);
/* The ud of the matched web_route. */
void *web_route_ud(const web_req *r);
/* Path parameter, percent-decoded; NULL if absent. */
const char *web_param(const web_req *r, const char *name);
/* Request header (case-insensitive); NULL if absent. */
const char *web_header(const web_req *r, const char *name);
/* Call fn for every request header, in order. */
void web_each_header(const web_req *r, void (*fn)(const char *name, const char *value, void *ud),
                     void *ud);
/* Query parameter, percent-decoded into buf. Returns buf, or NULL when absent
 * or longer than cap - 1. */
const char *web_query(const web_req *r, const char *name, char *buf, size_t cap);
/* Pagination of a list (DESIGN section 3): ?limit= (default 50, 1..500) and
 * ?offset= (default 0, 0..10000000). Returns true with both set, or false
 * after answering 400 naming the parameter. */
#define WEB_PAGE_DEFAULT 50
#define WEB_PAGE_MAX     500
bool web_page(web_req *r, long *limit, long *offset);
/* Parsed body of a WEB_JSON_BODY route: NULL when the request had no body.
 * Owned by the request. */
json_object *web_body_json(const web_req *r);
/* Raw body of a WEB_RAW_BODY or WEB_JSON_BODY route (NULL, 0 when empty). */
const char *web_body(const web_req *r, size_t *len);

/* Reply with obj serialised; takes ownership of obj (puts it). */
int web_reply_json(web_req *r, int status, json_object *obj);
/* Reply with a body of any type. extra_headers is NULL or a NULL-terminated
 * array of "Name: value" strings (they must not contain CR or LF). */
int web_reply(web_req *r, int status, const char *content_type, const char *body, size_t len,
              const char *const *extra_headers);
/* The error shape of DESIGN section 3:
 * {"error":{"code":code,"message":...,"request_id":...}}. */
int web_reply_error(web_req *r, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
/* 400 "invalid_request" with the field and message of a validation error
 * (adds "field" to the error object). */
int web_reply_invalid(web_req *r, const js_err *err);
/* True once the handler has replied. */
bool web_replied(const web_req *r);

/* ---- inside WebSocket callbacks ---- */
const char *web_ws_param(const web_ws *ws, const char *name);
const char *web_ws_header(const web_ws *ws, const char *name); /* on_connect only */
/* The client's address ("" when unknown); on_connect only. */
const char *web_ws_remote_addr(const web_ws *ws);
const char *web_ws_request_id(const web_ws *ws);
void *web_ws_app(const web_ws *ws);
void web_ws_set_data(web_ws *ws, void *data);
void *web_ws_data(const web_ws *ws);
/* Send a text frame; safe from any thread while the connection lives.
 * Returns 0 or -1 (connection gone). */
int web_ws_send_text(web_ws *ws, const char *text, size_t len);
/* Ask the connection to close (normal closure); on_close follows. */
void web_ws_close(web_ws *ws);
/* The same with a close code and a reason (printable ASCII, cut to 123
 * bytes; NULL for none). A code that may not be sent (RFC 6455 section 7.4:
 * 1004-1006, 1015, below 1000, above 4999) becomes 1000. */
void web_ws_close_with(web_ws *ws, unsigned code, const char *reason);
/* The close code the client sent (1005 when its close frame had none), or 0
 * while it sent none. */
unsigned web_ws_peer_close_code(const web_ws *ws);
/* The before hook's web_set_ctx pointer of the upgrade request, or NULL. */
void *web_ws_ctx(const web_ws *ws);
/* Lifetime rule for other threads. ws stays valid until on_close returns;
 * after that it is freed unless references are held. A thread that may send
 * after on_close (e.g. it found ws in a registry, then released the registry
 * lock) takes a reference while ws is surely alive (under the lock that
 * on_close also takes to remove ws), and drops it when done. Once closed,
 * web_ws_send_text and web_ws_close on a referenced ws are harmless (-1 / no
 * effect): they never touch the finished connection. Drop all references
 * before web_server_free. web_ws_unref accepts NULL. */
void web_ws_ref(web_ws *ws);
void web_ws_unref(web_ws *ws);

/* ---- for the before hook (web_config.before) and handlers ---- */

/* Add a header to whatever reply the request gets, also the web layer's own
 * errors (404, 405, 413, ...), but not the 101 of an accepted WebSocket
 * (civetweb writes that one). name is a token, value has no control
 * character but tab; a header that breaks either rule or does not fit (about
 * 1 KiB for all of a request's added headers) is left out and logged. */
void web_add_header(web_req *r, const char *name, const char *value);
/* A pointer of the caller's kept with the request (the gate keeps the
 * caller's identity there). release (may be NULL) is called with it when the
 * request ends; on an accepted WebSocket upgrade the pointer moves to the
 * connection (web_ws_ctx) and is released when the connection is freed.
 * Setting it again releases the previous one. */
void web_set_ctx(web_req *r, void *ctx, void (*release)(void *ctx));
void *web_ctx(const web_req *r);
/* True for a WebSocket upgrade request (only the before hook sees those). */
bool web_is_upgrade(const web_req *r);
/* For the before hook: this request cannot be decided without waiting (the
 * gateway's credential lookups), so an event loop's request (web_edge.h)
 * goes, as it stands, to civetweb's threads, which may wait: no reply, no
 * access line. Returns 1, for the hook to return. On a civetweb request it
 * is a mistake, answered 500. */
int web_defer(web_req *r);
/* Whether s is free of raw control characters and of the escapes %00, %0a
 * and %0d (any case): what every request URI must be (web.c checks the path
 * and the query string before routing and answers 400 otherwise). */
bool web_uri_safe(const char *s);

/* The status code's default error code ("not_found" for 404, ...). */
const char *web_status_code_name(int status);

#endif
