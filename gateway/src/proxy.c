/* proxy: relay a request to an upstream service and its answer back. */
#include "proxy.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "breaker.h"
#include "gate.h"
#include "log.h"
#include "util.h"

#define PROXY_MAX_RESPONSE     (32u * 1024 * 1024) /* larger upstream answers give 502 */
#define PROXY_MAX_CTYPE        255
#define PROXY_MAX_HEADER       4096
#define PROXY_MAX_RESP_HEADERS 64
#define PROXY_MAX_URL          (UPSTREAM_MAX_URL + 6 * 2048)

/* Upstream connections idle longer than this are not reused: less than the
 * services' keep-alive (2 s), so the gateway does not send on a connection the
 * service is closing. */
#define PROXY_MAX_IDLE_S     1L
#define PROXY_MAX_IDLE_CONNS 64L

/* A retry needs at least this much of UPSTREAM_TIMEOUT_MS left. */
#define PROXY_MIN_RETRY_MS 50L

static proxy_config proxy_cfg;
static char proxy_token[512];
static pthread_key_t proxy_curl_key;
/* A few connection caches shared by the worker threads (each thread keeps to
 * one): the number of open upstream connections follows the number of
 * requests in flight, not the number of gateway threads that ever talked to
 * an upstream, while the threads wait PROXY_NSHARES times less on a cache's
 * lock (curl takes it several times per transfer). */
#define PROXY_NSHARES 4
typedef struct proxy_share {
    CURLSH *sh;
    pthread_mutex_t locks[CURL_LOCK_DATA_LAST];
} proxy_share;
static proxy_share proxy_shares[PROXY_NSHARES];
static unsigned proxy_next_share;
static metrics_family *proxy_requests;
static metrics_family *proxy_duration;
static metrics_family *proxy_retries;

/* Headers a proxy never forwards (hop-by-hop, or set by the gateway itself). */
static const char *const proxy_drop_request[] = {
    "host",
    "proxy-authorization",
    "connection",
    "keep-alive",
    "proxy-connection",
    "transfer-encoding",
    "te",
    "trailer",
    "upgrade",
    "content-length",
    "expect",
    "x-internal-token",
    "x-request-id",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
    /* Who the caller is, as the gate found it, replaces what it claims; its
     * credential stays at the gateway (services trust the identity headers). */
    "x-user-id",
    "x-user-role",
    "x-auth-kind",
    "authorization",
    "x-api-key",
    NULL,
};
static const char *const proxy_drop_response[] = {
    "connection", "keep-alive",     "proxy-connection", "transfer-encoding", "te",   "trailer",
    "upgrade",    "content-length", "content-type",     "x-request-id",      "date", "server",
    NULL,
};

static bool
proxy_in_list(const char *name, size_t len, const char *const *list)
{
    for (size_t i = 0; list[i] != NULL; i++)
        if (strlen(list[i]) == len && strncasecmp(list[i], name, len) == 0)
            return true;
    return false;
}

static void
proxy_curl_free(void *h)
{
    curl_easy_cleanup(h);
}

static void
proxy_share_lock(CURL *h, curl_lock_data data, curl_lock_access access, void *ud)
{
    proxy_share *sh = ud;
    (void)h;
    (void)access;
    pthread_mutex_lock(&sh->locks[data]);
}

static void
proxy_share_unlock(CURL *h, curl_lock_data data, void *ud)
{
    proxy_share *sh = ud;
    (void)h;
    pthread_mutex_unlock(&sh->locks[data]);
}

static int
proxy_share_init(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    /* Held for a few instructions: spin a little before sleeping. */
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_ADAPTIVE_NP);
    for (size_t n = 0; n < PROXY_NSHARES; n++) {
        proxy_share *sh = &proxy_shares[n];
        for (size_t i = 0; i < CURL_LOCK_DATA_LAST; i++)
            pthread_mutex_init(&sh->locks[i], &attr);
        sh->sh = curl_share_init();
        if (sh->sh == NULL
            || curl_share_setopt(sh->sh, CURLSHOPT_LOCKFUNC, proxy_share_lock) != CURLSHE_OK
            || curl_share_setopt(sh->sh, CURLSHOPT_UNLOCKFUNC, proxy_share_unlock) != CURLSHE_OK
            || curl_share_setopt(sh->sh, CURLSHOPT_USERDATA, sh) != CURLSHE_OK
            || curl_share_setopt(sh->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_CONNECT) != CURLSHE_OK
            || curl_share_setopt(sh->sh, CURLSHOPT_SHARE, CURL_LOCK_DATA_DNS) != CURLSHE_OK) {
            pthread_mutexattr_destroy(&attr);
            return -1;
        }
    }
    pthread_mutexattr_destroy(&attr);
    return 0;
}

int
proxy_init(const proxy_config *pc, metrics_registry *reg)
{
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    if (pthread_key_create(&proxy_curl_key, proxy_curl_free) != 0 || proxy_share_init() != 0)
        return -1;
    proxy_cfg = *pc;
    if (util_strlcpy(proxy_token, pc->internal_token ? pc->internal_token : "", sizeof(proxy_token))
        >= sizeof(proxy_token)) {
        /* Cut short, every service would refuse it: refuse to start instead. */
        log_error("INTERNAL_TOKEN is longer than %zu bytes", sizeof(proxy_token) - 1);
        return -1;
    }
    proxy_cfg.internal_token = proxy_token;
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

/* After the HTTP server stopped: its worker threads, and with them their
 * handles, are gone, so the shared cache is no longer in use. */
void
proxy_cleanup(void)
{
    for (size_t n = 0; n < PROXY_NSHARES; n++) {
        curl_share_cleanup(proxy_shares[n].sh);
        proxy_shares[n].sh = NULL;
    }
    curl_global_cleanup();
}

/* The calling thread's curl handle, reset for a new transfer. Its shared
 * connection cache survives curl_easy_reset, which is what keeps upstreams
 * warm; it is attached once (attaching takes the cache's lock twice). */
static CURL *
proxy_handle_for_thread(void)
{
    CURL *h = pthread_getspecific(proxy_curl_key);
    if (h == NULL) {
        h = curl_easy_init();
        if (h == NULL || pthread_setspecific(proxy_curl_key, h) != 0) {
            curl_easy_cleanup(h);
            return NULL;
        }
        unsigned n = __atomic_fetch_add(&proxy_next_share, 1, __ATOMIC_RELAXED) % PROXY_NSHARES;
        curl_easy_setopt(h, CURLOPT_SHARE, proxy_shares[n].sh);
    } else {
        curl_easy_reset(h);
    }
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_MAXAGE_CONN, PROXY_MAX_IDLE_S);
    /* The size of the shared cache: idle connections beyond it are closed. */
    curl_easy_setopt(h, CURLOPT_MAXCONNECTS, PROXY_MAX_IDLE_CONNS);
    curl_easy_setopt(h, CURLOPT_TCP_KEEPALIVE, 1L);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    return h;
}

typedef struct proxy_buf {
    char *data;
    size_t len, cap;
    bool overflow;
} proxy_buf;

static size_t
proxy_on_body(char *ptr, size_t size, size_t nmemb, void *ud)
{
    proxy_buf *b = ud;
    size_t n = size * nmemb;
    if (b->len + n > PROXY_MAX_RESPONSE) {
        b->overflow = true;
        return 0;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        char *p = realloc(b->data, cap);
        if (p == NULL)
            return 0;
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, ptr, n);
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

typedef struct proxy_headers {
    char *lines[PROXY_MAX_RESP_HEADERS + 1]; /* "Name: value", NULL-terminated */
    size_t n;
} proxy_headers;

static void
proxy_headers_clear(proxy_headers *h)
{
    for (size_t i = 0; i < h->n; i++)
        free(h->lines[i]);
    h->n = 0;
    h->lines[0] = NULL;
}

/* Keep the upstream's end-to-end headers; a new status line (after a 100
 * Continue, say) starts the list again. */
static size_t
proxy_on_header(char *ptr, size_t size, size_t nmemb, void *ud)
{
    proxy_headers *h = ud;
    size_t n = size * nmemb, len = n;
    while (len > 0 && (ptr[len - 1] == '\n' || ptr[len - 1] == '\r'))
        len--;
    if (len >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
        proxy_headers_clear(h);
        return n;
    }
    const char *colon = memchr(ptr, ':', len);
    if (colon == NULL || len >= PROXY_MAX_HEADER || h->n >= PROXY_MAX_RESP_HEADERS)
        return n;
    if (proxy_in_list(ptr, (size_t)(colon - ptr), proxy_drop_response))
        return n;
    char *line = malloc(len + 1);
    if (line == NULL)
        return 0;
    memcpy(line, ptr, len);
    line[len] = '\0';
    h->lines[h->n++] = line;
    h->lines[h->n] = NULL;
    return n;
}

typedef struct proxy_hdr_ctx {
    struct curl_slist *list;
    const char *connection; /* the client's Connection header, or NULL */
    char forwarded_for[512];
    char host[256];
    bool failed;
} proxy_hdr_ctx;

static void
proxy_append(proxy_hdr_ctx *c, const char *name, const char *value)
{
    char line[PROXY_MAX_HEADER];
    int n = snprintf(line, sizeof(line), "%s: %s", name, value);
    if (n < 0 || (size_t)n >= sizeof(line))
        return; /* an oversized header is not forwarded */
    struct curl_slist *l = curl_slist_append(c->list, line);
    if (l == NULL)
        c->failed = true;
    else
        c->list = l;
}

/* Is name one of the comma-separated tokens of list (a Connection header)? */
static bool
proxy_listed(const char *list, const char *name)
{
    size_t nlen = strlen(name);
    for (const char *p = list; p != NULL && *p != '\0';) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, " \t,");
        if (n == nlen && n > 0 && strncasecmp(p, name, n) == 0)
            return true;
        p += n;
    }
    return false;
}

static void
proxy_copy_header(const char *name, const char *value, void *ud)
{
    proxy_hdr_ctx *c = ud;
    /* Headers the client named in Connection are for this hop only. */
    if (proxy_listed(c->connection, name))
        return;
    if (strcasecmp(name, "X-Forwarded-For") == 0)
        util_strlcpy(c->forwarded_for, value, sizeof(c->forwarded_for));
    if (strcasecmp(name, "Host") == 0)
        util_strlcpy(c->host, value, sizeof(c->host));
    if (proxy_in_list(name, strlen(name), proxy_drop_request))
        return;
    proxy_append(c, name, value);
}

/* The headers sent upstream: the client's end-to-end headers plus the
 * request id, the forwarding chain and the internal token. */
static struct curl_slist *
proxy_request_headers(web_req *r)
{
    proxy_hdr_ctx c = {.connection = web_header(r, "Connection")};
    web_each_header(r, proxy_copy_header, &c);
    char chain[600];
    if (c.forwarded_for[0] != '\0')
        snprintf(chain, sizeof(chain), "%s, %s", c.forwarded_for, web_remote_addr(r));
    else
        snprintf(chain, sizeof(chain), "%s", web_remote_addr(r));
    proxy_append(&c, "X-Forwarded-For", chain);
    proxy_append(&c, "X-Forwarded-Proto", "http");
    if (c.host[0] != '\0')
        proxy_append(&c, "X-Forwarded-Host", c.host);
    proxy_append(&c, "X-Request-Id", web_request_id(r));
    const auth_identity *id = gate_identity(r);
    if (id->kind != AUTH_KIND_NONE) {
        proxy_append(&c, "X-User-Id", id->id);
        proxy_append(&c, "X-User-Role", auth_role_name(id->role));
        proxy_append(&c, "X-Auth-Kind", id->kind == AUTH_KIND_API_KEY ? "api_key" : "user");
    }
    if (proxy_token[0] != '\0')
        proxy_append(&c, "X-Internal-Token", proxy_token);
    /* No "Expect: 100-continue" round trip: the body is already here. */
    struct curl_slist *l = curl_slist_append(c.list, "Expect:");
    if (l == NULL || c.failed) {
        curl_slist_free_all(l ? l : c.list);
        return NULL;
    }
    return l;
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

static void
proxy_observe(const upstream *u, int status, double seconds)
{
    char code[8];
    snprintf(code, sizeof(code), "%d", status);
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

/* Did the exchange fail before anything was sent (no connection)? */
static bool
proxy_connect_failed(CURL *h, CURLcode cc)
{
    if (cc == CURLE_COULDNT_CONNECT || cc == CURLE_COULDNT_RESOLVE_HOST)
        return true;
    curl_off_t sent_at = 0;
    curl_easy_getinfo(h, CURLINFO_PRETRANSFER_TIME_T, &sent_at);
    return cc == CURLE_OPERATION_TIMEDOUT && sent_at == 0;
}

typedef struct proxy_exchange {
    proxy_buf body;
    proxy_headers hdrs;
    CURLcode cc;
    bool connect_failed; /* cc is a failure to connect: nothing was sent */
    double secs;
} proxy_exchange;

/* Run the prepared transfer. A GET or HEAD that could not connect is tried
 * once more within what is left of the timeout: it cannot have reached the
 * upstream, and repeating it has no effect anyway. A body-carrying method is
 * never repeated (issue 4), even if nothing was sent: one rule, no guessing. */
static void
proxy_perform(CURL *h, const upstream *u, bool idempotent, proxy_exchange *x)
{
    int64_t t0 = util_mono_ns();
    x->cc = curl_easy_perform(h);
    x->connect_failed = x->cc != CURLE_OK && proxy_connect_failed(h, x->cc);
    long left_ms = proxy_cfg.timeout_ms - (long)((util_mono_ns() - t0) / 1000000);
    if (x->connect_failed && idempotent && left_ms >= PROXY_MIN_RETRY_MS) {
        log_msg(LOGL_INFO,
                LOG_FIELDS(LF_STR("upstream", u->service),
                           LF_STR("curl_error", curl_easy_strerror(x->cc))),
                "upstream connect failed, retrying once");
        const char *lv[] = {u->service};
        metrics_inc(proxy_retries, lv, 1);
        x->body.len = 0;
        x->body.overflow = false;
        proxy_headers_clear(&x->hdrs);
        curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, left_ms);
        curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS,
                         left_ms < proxy_cfg.connect_timeout_ms ? left_ms
                                                                : proxy_cfg.connect_timeout_ms);
        x->cc = curl_easy_perform(h);
        x->connect_failed = x->cc != CURLE_OK && proxy_connect_failed(h, x->cc);
    }
    x->secs = (double)(util_mono_ns() - t0) / 1e9;
}

/* A transfer that ended without a complete answer: 502 or 504, naming the
 * upstream, never its address. */
static int
proxy_reply_failed(web_req *r, const upstream *u, const proxy_exchange *x)
{
    /* A timeout before the request went out is an unreachable upstream
     * (502), not a slow one (504). */
    bool timeout = x->cc == CURLE_OPERATION_TIMEDOUT && !x->connect_failed;
    int status = timeout ? 504 : 502;
    log_msg(LOGL_WARN,
            LOG_FIELDS(LF_STR("upstream", u->service),
                       LF_STR("curl_error", curl_easy_strerror(x->cc)),
                       LF_DOUBLE("duration_ms", x->secs * 1e3)),
            "upstream request failed");
    proxy_observe(u, status, x->secs);
    if (timeout)
        return web_reply_error(r, 504, "gateway_timeout", "%s did not answer within %ld ms",
                               u->service, proxy_cfg.timeout_ms);
    if (x->body.overflow)
        return web_reply_error(r, 502, "bad_gateway", "%s sent an answer larger than %u bytes",
                               u->service, PROXY_MAX_RESPONSE);
    if (x->connect_failed)
        return web_reply_error(r, 502, "bad_gateway", "%s is unreachable", u->service);
    return web_reply_error(r, 502, "bad_gateway", "%s did not send a complete answer", u->service);
}

/* Prepare h for the client's request on url with headers. */
static void
proxy_setup(CURL *h, web_req *r, const char *url, struct curl_slist *headers, proxy_exchange *x)
{
    const char *method = web_method(r);
    size_t blen = 0;
    const char *b = web_body(r, &blen);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, proxy_cfg.timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, proxy_cfg.connect_timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, proxy_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &x->body);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, proxy_on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, &x->hdrs);
    if (strcmp(method, "HEAD") == 0) {
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    } else if (strcmp(method, "GET") == 0 && blen == 0) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        if (blen > 0 || strcmp(method, "POST") == 0 || strcmp(method, "PUT") == 0
            || strcmp(method, "PATCH") == 0) {
            curl_easy_setopt(h, CURLOPT_POSTFIELDS, b ? b : "");
            curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
        }
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    }
}

int
proxy_handle(web_req *r)
{
    const upstream *u = web_route_ud(r);
    const char *tail = web_param(r, "*");
    if (u->tail_prefix != NULL
        && (tail == NULL || strncmp(tail, u->tail_prefix, strlen(u->tail_prefix)) != 0))
        return web_reply_error(r, 404, "not_found", "no route for %s %s", web_method(r),
                               web_path(r));

    int rc = -1;
    proxy_exchange x = {.hdrs = {.n = 0}};
    struct curl_slist *req_headers = NULL;
    char url[PROXY_MAX_URL];
    size_t ulen = util_strlcpy(url, u->base, sizeof(url));
    const char *q = web_query_string(r);
    if (!proxy_url_append(url, sizeof(url), &ulen, web_path(r), false)
        || (q[0] != '\0'
            && (!proxy_url_append(url, sizeof(url), &ulen, "?", true)
                || !proxy_url_append(url, sizeof(url), &ulen, q, true)))) {
        rc = web_reply_error(r, 414, "uri_too_long", "request URI is too long");
        goto out;
    }
    CURL *h = proxy_handle_for_thread();
    req_headers = h ? proxy_request_headers(r) : NULL;
    if (req_headers == NULL) {
        rc = web_reply_error(r, 500, "internal_error", "out of memory");
        goto out;
    }
    breaker *br = breaker_for(u->service);
    long wait_ms = 0;
    breaker_verdict bv = breaker_acquire(br, &wait_ms);
    if (bv == BREAKER_REJECT) {
        rc = proxy_reply_open(r, u, wait_ms);
        goto out;
    }
    proxy_setup(h, r, url, req_headers, &x);
    const char *method = web_method(r);
    proxy_perform(h, u, strcmp(method, "GET") == 0 || strcmp(method, "HEAD") == 0, &x);
    if (x.cc != CURLE_OK) {
        /* An answer too large to relay still shows a working upstream. */
        breaker_report(br, bv, x.body.overflow);
        rc = proxy_reply_failed(r, u, &x);
        goto out;
    }
    long code = 0;
    char *ctype = NULL;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    curl_easy_getinfo(h, CURLINFO_CONTENT_TYPE, &ctype);
    int status = (int)code;
    /* Only an answer the gateway can relay faithfully is relayed. */
    if (status < 200 || status > 599 || (ctype != NULL && strlen(ctype) > PROXY_MAX_CTYPE)) {
        breaker_report(br, bv, false);
        log_msg(LOGL_WARN,
                LOG_FIELDS(LF_STR("upstream", u->service), LF_INT("upstream_status", status)),
                "upstream sent an answer that cannot be relayed");
        proxy_observe(u, 502, x.secs);
        rc = web_reply_error(r, 502, "bad_gateway", "%s sent an invalid answer", u->service);
        goto out;
    }
    /* Any answer shows a reachable upstream, whatever its status: a service
     * answers 502/503 itself about one of its own dependencies (GET
     * /api/automation/sessions while svc-toast is away), and that must not
     * cut off its other routes (README "Resilience"). */
    breaker_report(br, bv, true);
    proxy_observe(u, status, x.secs);
    rc = web_reply(r, status, ctype ? ctype : "application/json", x.body.data ? x.body.data : "",
                   x.body.len, (const char *const *)x.hdrs.lines);
out:
    curl_slist_free_all(req_headers);
    proxy_headers_clear(&x.hdrs);
    free(x.body.data);
    return rc;
}

int
proxy_get_json(const upstream *u, const char *path, long timeout_ms, int *status, json_object **out,
               char *err, size_t errlen)
{
    *out = NULL;
    char url[UPSTREAM_MAX_URL + 128];
    snprintf(url, sizeof(url), "%s%s", u->base, path);
    CURL *h = proxy_handle_for_thread();
    if (h == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    proxy_buf body = {0};
    struct curl_slist *hdrs = NULL;
    char rid[160];
    snprintf(rid, sizeof(rid), "X-Request-Id: %s", log_request_id());
    if (log_request_id()[0] != '\0')
        hdrs = curl_slist_append(hdrs, rid);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(h, CURLOPT_TIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT_MS, timeout_ms);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, proxy_on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &body);
    CURLcode cc = curl_easy_perform(h);
    curl_slist_free_all(hdrs);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s", curl_easy_strerror(cc));
        free(body.data);
        return -1;
    }
    long code = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &code);
    *status = (int)code;
    if (body.len > 0)
        *out = json_tokener_parse(body.data);
    free(body.data);
    return 0;
}
