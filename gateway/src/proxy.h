/* proxy: forwarding a request to an upstream service and relaying its
 * answer, over upclient.h: one pool of kept-alive connections per upstream,
 * shared by every worker thread. */
#ifndef GATEWAY_PROXY_H
#define GATEWAY_PROXY_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "breaker.h"
#include "metrics.h"
#include "upclient.h"
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

/* The same in steps, for an event loop (edge.c) that makes the exchange
 * itself with upc_async_*. */
#define PROXY_MAX_TARGET (6 * 2048)
/* The request head sent upstream: the client's (at most 16 KiB) plus the
 * gateway's own headers. */
#define PROXY_MAX_HEAD (32 * 1024)

typedef struct proxy_call {
    const upstream *u;
    upc_target *t;
    breaker *br;
    breaker_verdict bv;
    upc_request rq; /* what to send to t: points into target, head, the body */
    bool idempotent, retried;
    int64_t t0;
    char target[PROXY_MAX_TARGET];
    char head[PROXY_MAX_HEAD];
} proxy_call;

/* For a request proxy_handle would take: 0 with c ready to go (send c->rq
 * to c->t), or 1 when it was answered (404 for a path outside the
 * upstream's tail, 414, 431, 503 with the circuit open). */
int proxy_begin(web_req *r, proxy_call *c);
/* An attempt failed with rc: true when it is to be made once more (a GET or
 * HEAD that could not connect, with time left; c->rq's timeouts are cut to
 * what is left). */
bool proxy_retry(proxy_call *c, int rc, const upc_info *info);
/* The exchange ended with rc and (UPC_OK) resp, which this frees: the
 * answer relayed, or 502/504 in the error shape; the breaker and metrics
 * told. Returns what a handler returns. */
int proxy_end(web_req *r, proxy_call *c, int rc, upc_response *resp, const upc_info *info);

/* GET <upstream base><path> within timeout_ms. On an HTTP answer returns 0
 * with *status and, when the body is JSON, *body (a new reference, else NULL).
 * On a transport failure returns -1 with the reason in err. */
int proxy_get_json(const upstream *u, const char *path, long timeout_ms, int *status,
                   json_object **body, char *err, size_t errlen);

#endif
