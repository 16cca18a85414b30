/* proxy: forwarding a request to an upstream service and relaying its
 * answer, over upclient.h: one pool of kept-alive connections per upstream,
 * shared by every worker thread. */
#ifndef GATEWAY_PROXY_H
#define GATEWAY_PROXY_H

#include <json-c/json.h>

#include "metrics.h"
#include "upstream.h"
#include "web.h"

typedef struct proxy_config {
    long timeout_ms;            /* whole exchange: beyond it, 504 */
    long connect_timeout_ms;    /* connection: beyond it, 502 */
    const char *internal_token; /* sent as X-Internal-Token when non-empty; copied */
} proxy_config;

/* Once, before serving, after upstream_configure: a pool per upstream URL
 * (http:// only: -1, logged, for another) and the upstream metrics in reg
 * (may be NULL). Returns 0 or -1. */
int proxy_init(const proxy_config *pc, metrics_registry *reg);
void proxy_cleanup(void);

/* web_handler for the proxied routes; the route's ud is the upstream. */
int proxy_handle(web_req *r);

/* GET <upstream base><path> within timeout_ms. On an HTTP answer returns 0
 * with *status and, when the body is JSON, *body (a new reference, else NULL).
 * On a transport failure returns -1 with the reason in err. */
int proxy_get_json(const upstream *u, const char *path, long timeout_ms, int *status,
                   json_object **body, char *err, size_t errlen);

#endif
