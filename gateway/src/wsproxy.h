/* wsproxy: WebSocket routes the gateway relays to an upstream service.
 *
 * A client's upgrade opens the upstream WebSocket first (wsclient.c), with the
 * gateway's headers and nothing of the client's but the path; the client is
 * refused with the upstream's 4xx, 502 (cannot connect, invalid handshake) or
 * 504 (no answer in time). Once both sides are open, one relay thread per
 * proxied connection carries upstream messages to the client while the
 * client's messages go upstream from the web layer's thread; either side
 * closing closes the other. At most as many proxied WebSockets as the web
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
} wsproxy_config;

/* The proxied WebSocket routes, for app_spec.ws_routes. */
extern const web_ws_route wsproxy_routes[];
extern const size_t wsproxy_nroutes;

/* Once, before serving. Registers ws_proxy_connections{upstream} and
 * ws_proxy_messages_total{upstream,direction} in reg (may be NULL).
 * Returns 0 or -1 (logged). */
int wsproxy_init(const wsproxy_config *pc, metrics_registry *reg);
/* After the HTTP server stopped (every proxied connection is closed and its
 * relay thread joined by then). */
void wsproxy_cleanup(void);

#endif
