/* edge: the gateway's front door, an event loop per core (epoll) on
 * HTTP_BIND:PORT. civetweb gives every connection a thread, and a proxied
 * request then costs two sleeps and wake-ups of that thread (the client's
 * next request, the upstream's answer); the edge waits for both on epoll,
 * so a busy gateway hardly switches threads at all.
 *
 * What the edge serves itself: requests to the proxied routes (the
 * services' /api/... prefixes) with a plain path, an HTTP/1.x head it
 * parses without doubt (edge_http.h) and a body of at most EDGE_MAX_BODY
 * given by Content-Length. They go through the very pipeline civetweb's
 * requests go through (web_edge.h: the gate, routing, guards, error shape,
 * access log, metrics) and proxy.c's request and answer rules; only the
 * exchange with the upstream is made without blocking (upclient's
 * upc_async_*).
 *
 * Everything else (the gateway's own routes, WebSocket upgrades, chunked
 * or large bodies, anything the narrow parser refuses) is relayed byte for
 * byte, from that request on and for the rest of the connection, to
 * civetweb on 127.0.0.1 (web_server_set_peer tells it who the client is),
 * which answers as it always did.
 *
 * Limits: EDGE_MAX_CONNECTIONS client connections (more are closed at
 * accept); a request head of EH_MAX_HEAD bytes; 10 s to send a request, 2 s
 * idle between requests (civetweb's own figures); an answer that cannot be
 * written for 10 s closes the connection. */
#ifndef GATEWAY_EDGE_H
#define GATEWAY_EDGE_H

#include "app.h"

#define EDGE_MAX_BODY (64 * 1024) /* request bodies the edge buffers itself */

/* app_spec.on_serve: listen on HTTP_BIND:PORT with EDGE_THREADS loops.
 * Returns 0 or -1 (logged). */
int edge_start(app *a);
/* Stop the loops and close every connection (after the web server has
 * drained: no request is in flight any more). */
void edge_stop(void);

#endif
