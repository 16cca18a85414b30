/* cors: Cross-Origin Resource Sharing at the gateway. Prefix cors_.
 *
 * CORS_ORIGINS is a comma-separated list of origins ("https://admin.example.com")
 * and/or "*". Empty (the default): no CORS header is ever sent and every
 * preflight is refused. A listed origin gets its own origin back with
 * Access-Control-Allow-Credentials; with "*", any other origin gets "*" and
 * no credentials. Preflights (OPTIONS with Origin and
 * Access-Control-Request-Method) are answered here: 204 for an allowed origin,
 * 403 otherwise; they never reach a service. */
#ifndef GATEWAY_CORS_H
#define GATEWAY_CORS_H

#include <stdbool.h>

#include "web.h"

#define CORS_MAX_ORIGINS 32
#define CORS_MAX_ORIGIN  255 /* bytes of one origin */
#define CORS_MAX_AGE_S   "600"

/* Parse the list (NULL or "" disables CORS). Returns 0, or -1 with the bad
 * entry logged (not scheme://host[:port], too long, too many). Not
 * thread-safe: once, before serving. */
int cors_init(const char *origins);
void cors_cleanup(void);

/* Whether an origin may call (exact match of a listed one, or "*" listed). */
bool cors_allowed(const char *origin);

/* For every request: answers a preflight (returns 1), else adds the CORS
 * headers its Origin calls for to the reply and returns 0. For a WebSocket
 * upgrade, whose Origin browsers always send: a listed origin or none goes
 * on, another is refused with 403 (returns 1), when CORS_ORIGINS is set. */
int cors_apply(web_req *r);

#endif
