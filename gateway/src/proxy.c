/* proxy: relay a request to an upstream service and its answer back, over
 * upclient's keep-alive pools (one per upstream base URL). */
#include "proxy.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "breaker.h"
#include "gate.h"
#include "log.h"
#include "upclient.h"
#include "util.h"

#define PROXY_MAX_RESPONSE UPC_MAX_BODY /* larger upstream answers give 502 */
#define PROXY_MAX_CTYPE    255
#define PROXY_MAX_HEADER   4096 /* a longer header line is not forwarded, either way */

/* A retry needs at least this much of UPSTREAM_TIMEOUT_MS left. */
#define PROXY_MIN_RETRY_MS 50L

static proxy_config proxy_cfg;
static char proxy_token[512];
/* The pool of each upstream; upstreams with the same base URL share one
 * (svc-embedding's two prefixes). owned: freed by proxy_cleanup. */
static upc_target *proxy_targets[UP_COUNT];
static bool proxy_owned[UP_COUNT];
static metrics_family *proxy_requests;
static metrics_family *proxy_duration;
static metrics_family *proxy_retries;

typedef struct proxy_name {
    const char *name;
    size_t len;
} proxy_name;

#define PROXY_NAME(s)    \
    {                    \
        s, sizeof(s) - 1 \
    }

/* Headers a proxy never forwards (hop-by-hop, or set by the gateway itself). */
static const proxy_name proxy_drop_request[] = {
    PROXY_NAME("host"),
    PROXY_NAME("proxy-authorization"),
    PROXY_NAME("connection"),
    PROXY_NAME("keep-alive"),
    PROXY_NAME("proxy-connection"),
    PROXY_NAME("transfer-encoding"),
    PROXY_NAME("te"),
    PROXY_NAME("trailer"),
    PROXY_NAME("upgrade"),
    PROXY_NAME("content-length"),
    PROXY_NAME("expect"),
    PROXY_NAME("x-internal-token"),
    PROXY_NAME("x-request-id"),
    PROXY_NAME("x-forwarded-for"),
    PROXY_NAME("x-forwarded-proto"),
    PROXY_NAME("x-forwarded-host"),
    /* Who the caller is, as the gate found it, replaces what it claims; its
     * credential stays at the gateway (services trust the identity headers). */
    PROXY_NAME("x-user-id"),
    PROXY_NAME("x-user-role"),
    PROXY_NAME("x-auth-kind"),
    PROXY_NAME("authorization"),
    PROXY_NAME("x-api-key"),
    {NULL, 0},
};
static const proxy_name proxy_drop_response[] = {
    PROXY_NAME("connection"),
    PROXY_NAME("keep-alive"),
    PROXY_NAME("proxy-connection"),
    PROXY_NAME("transfer-encoding"),
    PROXY_NAME("te"),
    PROXY_NAME("trailer"),
    PROXY_NAME("upgrade"),
    PROXY_NAME("content-length"),
    PROXY_NAME("content-type"),
    PROXY_NAME("x-request-id"),
    PROXY_NAME("date"),
    PROXY_NAME("server"),
    {NULL, 0},
};

static bool
proxy_in_list(const char *name, size_t len, const proxy_name *list)
{
    for (size_t i = 0; list[i].name != NULL; i++)
        if (list[i].len == len && strncasecmp(list[i].name, name, len) == 0)
            return true;
    return false;
}

/* Is name[0..nlen) one of the comma-separated tokens of list (a Connection
 * header, may be NULL)? */
static bool
proxy_listed(const char *list, const char *name, size_t nlen)
{
    for (const char *p = list; p != NULL && *p != '\0';) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, " \t,");
        if (n == nlen && n > 0 && strncasecmp(p, name, n) == 0)
            return true;
        p += n;
    }
    return false;
}

int
proxy_init(const proxy_config *pc, metrics_registry *reg)
{
    proxy_cfg = *pc;
    if (util_strlcpy(proxy_token, pc->internal_token ? pc->internal_token : "", sizeof(proxy_token))
        >= sizeof(proxy_token)) {
        /* Cut short, every service would refuse it: refuse to start instead. */
        log_error("INTERNAL_TOKEN is longer than %zu bytes", sizeof(proxy_token) - 1);
        return -1;
    }
    proxy_cfg.internal_token = proxy_token;
    for (size_t i = 0; i < UP_COUNT; i++) {
        for (size_t j = 0; j < i && proxy_targets[i] == NULL; j++)
            if (strcmp(upstreams[j].base, upstreams[i].base) == 0)
                proxy_targets[i] = proxy_targets[j];
        if (proxy_targets[i] != NULL)
            continue;
        int rc = upc_target_new(upstreams[i].base, &proxy_targets[i]);
        if (rc != UPC_OK) {
            log_error("%s: %s", upstreams[i].url_var,
                      rc == UPC_ERR_ARG ? "the gateway reaches its upstreams over plain HTTP: "
                                          "an http://host[:port][/prefix] URL is needed"
                                        : upc_strerror(rc));
            return -1;
        }
        proxy_owned[i] = true;
    }
    if (reg != NULL) {
        const char *labels[] = {"upstream", "code"};
        proxy_requests = metrics_counter(reg, "gateway_upstream_requests_total",
                                         "Requests proxied to each upstream, by status code "
                                         "(502/504 for transport failures).",
                                         labels, 2);
        proxy_duration =
            metrics_histogram(reg, "gateway_upstream_duration_seconds",
                              "Time each upstream took to answer.", labels, 1, NULL, 0);
        proxy_retries = metrics_counter(reg, "gateway_upstream_retries_total",
                                        "GET and HEAD requests sent a second time after the "
                                        "first attempt could not connect.",
                                        labels, 1);
    }
    return 0;
}

/* After the HTTP server stopped: no request is in flight any more. */
void
proxy_cleanup(void)
{
    for (size_t i = 0; i < UP_COUNT; i++) {
        if (proxy_owned[i])
            upc_target_free(proxy_targets[i]);
        proxy_targets[i] = NULL;
        proxy_owned[i] = false;
    }
}

static upc_target *
proxy_target_of(const upstream *u)
{
    if (u < upstreams || u >= upstreams + UP_COUNT)
        return NULL;
    return proxy_targets[u - upstreams];
}

/* ---- the request sent upstream ---- */

typedef struct proxy_hdr_ctx {
    upc_head *head;
    const char *connection; /* the client's Connection header, or NULL */
    const char *forwarded_for, *host;
} proxy_hdr_ctx;

static void
proxy_copy_header(const char *name, const char *value, void *ud)
{
    proxy_hdr_ctx *c = ud;
    size_t nlen = strlen(name);
    /* Headers the client named in Connection are for this hop only. */
    if (c->connection != NULL && proxy_listed(c->connection, name, nlen))
        return;
    if (proxy_in_list(name, nlen, proxy_drop_request)) {
        if (strcasecmp(name, "X-Forwarded-For") == 0)
            c->forwarded_for = value;
        else if (strcasecmp(name, "Host") == 0)
            c->host = value;
        return;
    }
    size_t vlen = strlen(value);
    if (nlen + vlen + 2 >= PROXY_MAX_HEADER)
        return; /* an oversized header is not forwarded */
    upc_head_addn(c->head, name, nlen, value, vlen);
}

/* X-Forwarded-For: the client's chain, then the address this hop saw. A
 * chain too long to carry is replaced by that address alone: a cut one
 * would name an address nobody has. */
static void
proxy_add_forwarded_for(upc_head *h, const char *chain, const char *peer)
{
    char v[PROXY_MAX_HEADER];
    size_t clen = chain != NULL ? strlen(chain) : 0, plen = strlen(peer);

    if (clen == 0 || clen + 2 + plen >= sizeof(v)) {
        upc_head_addn(h, "X-Forwarded-For", 15, peer, plen);
        return;
    }
    memcpy(v, chain, clen);
    memcpy(v + clen, ", ", 2);
    memcpy(v + clen + 2, peer, plen);
    upc_head_addn(h, "X-Forwarded-For", 15, v, clen + 2 + plen);
}

/* The headers sent upstream into h: the client's end-to-end headers plus the
 * request id, the forwarding chain, who is calling and the internal token. */
static void
proxy_request_head(web_req *r, upc_head *h)
{
    proxy_hdr_ctx c = {.head = h, .connection = web_header(r, "Connection")};
    web_each_header(r, proxy_copy_header, &c);
    proxy_add_forwarded_for(h, c.forwarded_for, web_remote_addr(r));
    upc_head_addn(h, "X-Forwarded-Proto", 17, "http", 4);
    if (c.host != NULL && c.host[0] != '\0')
        upc_head_add(h, "X-Forwarded-Host", c.host);
    upc_head_add(h, "X-Request-Id", web_request_id(r));
    const auth_identity *id = gate_identity(r);
    if (id->kind != AUTH_KIND_NONE) {
        upc_head_add(h, "X-User-Id", id->id);
        upc_head_add(h, "X-User-Role", auth_role_name(id->role));
        upc_head_add(h, "X-Auth-Kind", id->kind == AUTH_KIND_API_KEY ? "api_key" : "user");
    }
    if (proxy_token[0] != '\0')
        upc_head_add(h, "X-Internal-Token", proxy_token);
}

/* Append s to the URL, percent-encoding what may not appear raw. The path and
 * the query string arrive as the client sent them (civetweb runs with
 * decode_url=no), so existing escapes pass through untouched. */
static bool
proxy_url_append(char *url, size_t cap, size_t *len, const char *s, bool query)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        bool keep = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9')
                    || strchr("-._~/!$&'()*+,;=:@", *p) != NULL || *p == '%'
                    || (query && *p == '?');
        if (*len + 4 >= cap)
            return false;
        if (keep) {
            url[(*len)++] = (char)*p;
        } else {
            url[(*len)++] = '%';
            url[(*len)++] = hex[*p >> 4];
            url[(*len)++] = hex[*p & 15];
        }
    }
    url[*len] = '\0';
    return true;
}

/* ---- the exchange and the answer ---- */

static void
proxy_observe(const upstream *u, int status, double seconds)
{
    char code[24];
    util_utoa(status > 0 ? (unsigned)status : 0, code);
    const char *lv[] = {u->service, code};
    if (proxy_requests != NULL)
        metrics_inc(proxy_requests, lv, 1);
    if (proxy_duration != NULL)
        metrics_observe(proxy_duration, lv, seconds);
}

/* The circuit is open: 503 at once, in the error shape, with Retry-After. */
static int
proxy_reply_open(web_req *r, const upstream *u, long wait_ms)
{
    char retry[24];
    long secs = wait_ms > 0 ? (wait_ms + 999) / 1000 : 1;
    snprintf(retry, sizeof(retry), "%ld", secs);
    web_add_header(r, "Retry-After", retry);
    return web_reply_error(r, 503, "unavailable",
                           "%s is unavailable: it failed repeatedly, retry in %ld s", u->service,
                           secs);
}

/* After an attempt that failed with rc: whether to try once more. A GET or
 * HEAD that could not connect is tried again within what is left of the
 * timeout: it cannot have reached the upstream, and repeating it has no
 * effect anyway. A body-carrying method is never repeated (issue 4), even
 * if nothing was sent: one rule, no guessing. (A pooled connection the
 * upstream had closed is another matter: upclient sends again on a new one,
 * for any method, as nothing was processed.) */
bool
proxy_retry(proxy_call *c, int rc, const upc_info *info)
{
    long left_ms = proxy_cfg.timeout_ms - (long)((util_mono_ns() - c->t0) / 1000000);
    if (rc != UPC_ERR_CONNECT || !c->idempotent || c->retried || left_ms < PROXY_MIN_RETRY_MS)
        return false;
    c->retried = true;
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("upstream", c->u->service), LF_STR("error", info->detail)),
            "upstream connect failed, retrying once");
    const char *lv[] = {c->u->service};
    if (proxy_retries != NULL)
        metrics_inc(proxy_retries, lv, 1);
    c->rq.timeout_ms = left_ms;
    c->rq.connect_timeout_ms =
        left_ms < proxy_cfg.connect_timeout_ms ? left_ms : proxy_cfg.connect_timeout_ms;
    return true;
}

/* An exchange that ended without a usable answer: 502 or 504, naming the
 * upstream, never its address (that goes to the warn line only). */
static int
proxy_reply_failed(web_req *r, const upstream *u, int rc, const upc_info *info, double secs)
{
    int status = rc == UPC_ERR_TIMEOUT ? 504 : rc == UPC_ERR_NOMEM || rc == UPC_ERR_ARG ? 500 : 502;
    log_msg(LOGL_WARN,
            LOG_FIELDS(LF_STR("upstream", u->service), LF_STR("error", info->detail),
                       LF_DOUBLE("duration_ms", secs * 1e3)),
            "upstream request failed");
    proxy_observe(u, status, secs);
    switch (rc) {
    case UPC_ERR_TIMEOUT:
        return web_reply_error(r, 504, "gateway_timeout", "%s did not answer within %ld ms",
                               u->service, proxy_cfg.timeout_ms);
    case UPC_ERR_TOO_LARGE:
        return web_reply_error(r, 502, "bad_gateway", "%s sent an answer larger than %u bytes",
                               u->service, PROXY_MAX_RESPONSE);
    case UPC_ERR_CONNECT:
        return web_reply_error(r, 502, "bad_gateway", "%s is unreachable", u->service);
    case UPC_ERR_INVALID:
        return web_reply_error(r, 502, "bad_gateway", "%s sent an invalid answer", u->service);
    case UPC_ERR_NOMEM:
    case UPC_ERR_ARG:
        return web_reply_error(r, 500, "internal_error", "the request to %s could not be made",
                               u->service);
    default:
        return web_reply_error(r, 502, "bad_gateway", "%s did not send a complete answer",
                               u->service);
    }
}

/* Relay the upstream's answer: its status, Content-Type, end-to-end headers
 * and body. Returns -1 without replying when it cannot be relayed. */
static int
proxy_relay(web_req *r, const upc_response *resp)
{
    const char *lines[UPC_MAX_HEADERS + 1];
    size_t n = 0;
    const char *ctype = upc_header_get(resp, "Content-Type");
    const char *conn = upc_header_get(resp, "Connection");

    /* Only an answer the gateway can relay faithfully is relayed. */
    if (resp->status < 200 || resp->status > 599
        || (ctype != NULL && strlen(ctype) > PROXY_MAX_CTYPE))
        return -1;
    for (size_t i = 0; i < resp->nheaders; i++) {
        const upc_header *h = &resp->headers[i];
        if (proxy_in_list(h->line, h->name_len, proxy_drop_response)
            || (conn != NULL && proxy_listed(conn, h->line, h->name_len))
            || strlen(h->line) >= PROXY_MAX_HEADER)
            continue;
        lines[n++] = h->line;
    }
    lines[n] = NULL;
    return web_reply(r, resp->status, ctype ? ctype : "application/json", resp->body,
                     resp->body_len, lines);
}

int
proxy_begin(web_req *r, proxy_call *c)
{
    const upstream *u = web_route_ud(r);
    const char *tail = web_param(r, "*");
    if (u->tail_prefix != NULL
        && (tail == NULL || strncmp(tail, u->tail_prefix, strlen(u->tail_prefix)) != 0)) {
        web_reply_error(r, 404, "not_found", "no route for %s %s", web_method(r), web_path(r));
        return 1;
    }

    const char *method = web_method(r);
    size_t tlen = 0, blen = 0;
    const char *q = web_query_string(r);
    if (!proxy_url_append(c->target, sizeof(c->target), &tlen, web_path(r), false)
        || (q[0] != '\0'
            && (!proxy_url_append(c->target, sizeof(c->target), &tlen, "?", true)
                || !proxy_url_append(c->target, sizeof(c->target), &tlen, q, true)))) {
        web_reply_error(r, 414, "uri_too_long", "request URI is too long");
        return 1;
    }
    upc_head h;
    upc_head_init(&h, c->head, sizeof(c->head));
    proxy_request_head(r, &h);
    if (h.overflow) {
        web_reply_error(r, 431, "request_header_fields_too_large",
                        "the request headers are too large to forward");
        return 1;
    }
    c->u = u;
    c->t = proxy_target_of(u);
    if (c->t == NULL) {
        web_reply_error(r, 500, "internal_error", "no upstream for %s", u->service);
        return 1;
    }
    c->br = breaker_for(u->service);
    long wait_ms = 0;
    c->bv = breaker_acquire(c->br, &wait_ms);
    if (c->bv == BREAKER_REJECT) {
        proxy_reply_open(r, u, wait_ms);
        return 1;
    }
    bool is_head = strcmp(method, "HEAD") == 0;
    const char *body = web_body(r, &blen);
    c->rq = (upc_request){
        .method = method,
        .target = c->target,
        .headers = c->head,
        .headers_len = h.len,
        .body = is_head ? NULL : body,
        .body_len = is_head || body == NULL ? 0 : blen,
        .timeout_ms = proxy_cfg.timeout_ms,
        .connect_timeout_ms = proxy_cfg.connect_timeout_ms,
    };
    c->idempotent = is_head || strcmp(method, "GET") == 0;
    c->retried = false;
    c->t0 = util_mono_ns();
    return 0;
}

int
proxy_end(web_req *r, proxy_call *c, int rc, upc_response *resp, const upc_info *info)
{
    const upstream *u = c->u;
    double secs = (double)(util_mono_ns() - c->t0) / 1e9;
    int out;
    if (rc != UPC_OK) {
        /* An answer too large to relay still shows a working upstream, and
         * a request that could not be made says nothing about it. */
        breaker_report(c->br, c->bv,
                       rc == UPC_ERR_TOO_LARGE || rc == UPC_ERR_NOMEM || rc == UPC_ERR_ARG);
        out = proxy_reply_failed(r, u, rc, info, secs);
        goto done;
    }
    out = proxy_relay(r, resp);
    if (out == -1 && !web_replied(r)) {
        breaker_report(c->br, c->bv, false);
        log_msg(LOGL_WARN,
                LOG_FIELDS(LF_STR("upstream", u->service), LF_INT("upstream_status", resp->status)),
                "upstream sent an answer that cannot be relayed");
        proxy_observe(u, 502, secs);
        out = web_reply_error(r, 502, "bad_gateway", "%s sent an invalid answer", u->service);
        goto done;
    }
    /* Any answer shows a reachable upstream, whatever its status: a service
     * answers 502/503 itself about one of its own dependencies (GET
     * /api/automation/sessions while svc-toast is away), and that must not
     * cut off its other routes (README "Resilience"). */
    breaker_report(c->br, c->bv, true);
    proxy_observe(u, resp->status, secs);
done:
    upc_response_free(resp);
    return out;
}

int
proxy_handle(web_req *r)
{
    proxy_call *c = malloc(sizeof(*c));
    if (c == NULL)
        return web_reply_error(r, 500, "internal_error", "out of memory");
    if (proxy_begin(r, c) != 0) {
        free(c);
        return 0;
    }
    upc_response *resp = NULL;
    upc_info info;
    int rc;
    do
        rc = upc_send(c->t, &c->rq, &resp, &info);
    while (rc != UPC_OK && proxy_retry(c, rc, &info));
    int out = proxy_end(r, c, rc, resp, &info);
    free(c);
    return out;
}

int
proxy_get_json(const upstream *u, const char *path, long timeout_ms, int *status, json_object **out,
               char *err, size_t errlen)
{
    char head[256];
    upc_head h;
    upc_response *resp = NULL;
    upc_target *t = proxy_target_of(u);

    *out = NULL;
    if (t == NULL) {
        snprintf(err, errlen, "not configured");
        return -1;
    }
    upc_head_init(&h, head, sizeof(head));
    if (log_request_id()[0] != '\0')
        upc_head_add(&h, "X-Request-Id", log_request_id());
    upc_request rq = {.method = "GET",
                      .target = path,
                      .headers = head,
                      .headers_len = h.len,
                      .timeout_ms = timeout_ms,
                      .connect_timeout_ms = timeout_ms};
    int rc = upc_send(t, &rq, &resp, NULL);
    if (rc != UPC_OK) {
        snprintf(err, errlen, "%s", upc_strerror(rc));
        return -1;
    }
    *status = resp->status;
    if (resp->body_len > 0)
        *out = json_tokener_parse(resp->body);
    upc_response_free(resp);
    return 0;
}
