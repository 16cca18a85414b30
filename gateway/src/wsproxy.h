/* wsproxy: WebSocket routes the gateway relays to an upstream service.
 *
 * The gate (gate.c) has let the upgrade through: the caller holds
 * view_operations, with its token in a header or in ?access_token= (never
 * sent upstream: only the route's path is). The upstream WebSocket is opened
 * first (wsclient.c), with the gateway's headers (the caller's X-User-Id and
 * X-User-Role among them) and nothing of the client's but the path. An
 * upstream that refuses with a 4xx refuses the client with it; one that
 * cannot be reached, does not answer in time, answers 5xx or does not speak
 * WebSocket gets the client accepted and closed at once with 1011 and a
 * reason (a browser sees close codes, not the status of a failed upgrade).
 * Once both sides are open, one relay thread per proxied connection carries
 * upstream messages to the client while the client's messages go upstream
 * from the web layer's thread; either side closing closes the other, with
 * its close code; a lost upstream closes the client with 1011. At most
 * WS_MAX_CONNECTIONS proxied WebSockets (503 beyond), never more than the web
 * layer admits (half its worker threads). */
#ifndef GATEWAY_WSPROXY_H
#define GATEWAY_WSPROXY_H

#include <stddef.h>

#include "metrics.h"
#include "web.h"

typedef struct wsproxy_config {
    long timeout_ms;            /* the upstream handshake (504 beyond), then each write */
    long connect_timeout_ms;    /* the TCP connection (502 beyond) */
    const char *internal_token; /* sent as X-Internal-Token when non-empty; copied */
    int max_connections;        /* WS_MAX_CONNECTIONS: 0 for half of http_threads */
    int http_threads;           /* the web layer's worker threads */
} wsproxy_config;

/* The proxied WebSocket routes, for app_spec.ws_routes. */
extern const web_ws_route wsproxy_routes[];
extern const size_t wsproxy_nroutes;

/* Once, before serving. Registers ws_proxy_connections{upstream},
 * gateway_ws_connections and ws_proxy_messages_total{upstream,direction} in
 * reg (may be NULL). Returns 0 or -1 (logged; WS_MAX_CONNECTIONS above half
 * of HTTP_THREADS). */
int wsproxy_init(const wsproxy_config *pc, metrics_registry *reg);
/* After the HTTP server stopped (every proxied connection is closed and its
 * relay thread joined by then). */
void wsproxy_cleanup(void);

#endif
