/* gate: what every request meets at the gateway before a handler, in order:
 *   1. the URI: control characters (CR, LF, NUL, raw or percent-encoded) give
 *      400 before routing (the common web layer also refuses them);
 *   2. CORS: a preflight (OPTIONS with Origin and
 *      Access-Control-Request-Method) is answered here; other responses get
 *      the CORS headers when the Origin is allowed (CORS_ORIGINS);
 *   3. the client's X-User-Id, X-User-Role, X-Internal-Token and
 *      X-Request-Id are never trusted (the proxy sets its own);
 *   4. who is calling (auth_identify) and whether the permission table lets
 *      that role through: 401 without or with a bad credential, 403 when the
 *      role lacks the permission or the /api route is not in the table;
 *   5. the rate limit: a token bucket per API key, per user, or per client IP
 *      for anonymous requests (RATE_LIMIT_RPS, RATE_LIMIT_BURST): 429 with
 *      Retry-After and X-RateLimit-Limit/Remaining/Reset.
 * Probes, /metrics, /openapi.json, /docs and /api/auth/login|refresh are
 * open. It runs through the web layer's before-routing hook (web.h). */
#ifndef GATEWAY_GATE_H
#define GATEWAY_GATE_H

#include <stddef.h>

#include "app.h"
#include "auth.h"
#include "web.h"

/* Once, in on_init: reads CORS_ORIGINS, RATE_LIMIT_RPS, RATE_LIMIT_BURST,
 * TRUSTED_PROXIES and registers the gate's metrics
 * (gateway_auth_failures_total{reason}, gateway_rate_limited_total).
 * Returns 0 or -1 (logged). */
int gate_init(app *a);
void gate_cleanup(void);

/* The web layer's before hook: 0 to go on to routing, 1 when it replied. */
int gate_before(web_req *r);

/* The identity the gate found for this request (kind AUTH_KIND_NONE for an
 * anonymous request on an open route). Valid until the request ends. */
const auth_identity *gate_identity(web_req *r);

/* The same for a proxied WebSocket: what the gate found on its upgrade
 * request. Valid until the connection is freed. */
const auth_identity *gate_ws_identity(const web_ws *ws);

/* The client's address into buf: the connection's, or, when that is one of
 * TRUSTED_PROXIES, the last address in X-Forwarded-For that is not. Returns
 * buf. */
const char *gate_client_ip(web_req *r, char *buf, size_t cap);

#endif
