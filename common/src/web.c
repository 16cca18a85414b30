/* web: the HTTP server over civetweb: options, start and stop, the civetweb
 * callbacks, and the helpers shared by the request pipeline (web_req.c) and
 * WebSocket connections (web_ws.c). One catch-all civetweb request handler
 * runs the whole pipeline of web.h with route.h. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <civetweb.h>

#include "log.h"
#include "util.h"
#include "web_internal.h"

#define WEB_DEFAULT_THREADS 16
#define WEB_LOG_PATH_MAX    1024
/* civetweb serves each connection on one worker thread, also while it sits
 * idle between keep-alive requests (measured: with every thread holding an
 * idle connection, the next client waits the whole timeout). Keep it short:
 * long enough to reuse a connection under steady load (the gateway's pooled
 * upstream connections, a browser's burst), short enough that connections
 * left idle by one gateway replica do not starve another for long. */
#define WEB_KEEP_ALIVE_MS "2000"
/* The longest a client may take to send a request or read its answer (not
 * the time a handler takes): a slow sender holds a thread for no longer. */
#define WEB_REQUEST_TIMEOUT "10000"
#define WEB_WS_PING_MS      "30000"
#define WEB_MAX_HEAD        "16384" /* bytes of a request line and its headers */

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void
lib_init(void)
{
    mg_init_library(0);
}

/* ---- small helpers ---- */

void
web__request_id(const char *h, char out[WEB_REQUEST_ID_MAX + 1])
{
    static const char ok[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._:-";
    size_t n = h != NULL ? strspn(h, ok) : 0;

    if (n > 0 && n <= WEB_REQUEST_ID_MAX && h[n] == '\0') {
        memcpy(out, h, n);
        out[n] = '\0';
    } else if (util_uuid_v4(out) != 0) {
        snprintf(out, WEB_REQUEST_ID_MAX + 1, "req-%llx", (unsigned long long)util_mono_ns());
    }
}

void
web__sanitize(const char *s, size_t max, char *out, size_t cap)
{
    size_t i = 0;

    for (; s != NULL && s[i] != '\0' && i < max && i + 1 < cap; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    if (cap > 0)
        out[i] = '\0';
}

const char *
web__method_label(const char *method)
{
    static const char *const std[] = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"};

    for (size_t i = 0; method != NULL && i < sizeof(std) / sizeof(std[0]); i++)
        if (strcmp(method, std[i]) == 0)
            return std[i];
    return "OTHER";
}

const char *
web_status_code_name(int status)
{
    static const struct {
        int status;
        const char *name;
    } names[] = {
        {400, "invalid_request"},
        {401, "unauthorized"},
        {403, "forbidden"},
        {404, "not_found"},
        {405, "method_not_allowed"},
        {408, "request_timeout"},
        {409, "conflict"},
        {410, "gone"},
        {411, "length_required"},
        {412, "precondition_failed"},
        {413, "payload_too_large"},
        {414, "uri_too_long"},
        {415, "unsupported_media_type"},
        {422, "unprocessable_entity"},
        {426, "upgrade_required"},
        {429, "rate_limited"},
        {431, "headers_too_large"},
        {500, "internal_error"},
        {501, "not_implemented"},
        {502, "bad_gateway"},
        {503, "unavailable"},
        {504, "gateway_timeout"},
        {505, "http_version_not_supported"},
    };

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (names[i].status == status)
            return names[i].name;
    return status >= 500 ? "internal_error" : "error";
}

bool
web_uri_safe(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; p != NULL && *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return false;
        /* %00, %0a, %0d in any case: decoded later, they would split a header
         * or a log line, or cut a string short */
        if (*p == '%' && p[1] == '0'
            && (p[2] == '0' || p[2] == 'a' || p[2] == 'A' || p[2] == 'd' || p[2] == 'D'))
            return false;
    }
    return true;
}

int
web__uri_check(const struct mg_request_info *ri, const char **why)
{
    /* request_uri is the target as sent (decode_url=no), local_uri_raw the
     * path without the host of an absolute form; the query is apart. */
    if (!web_uri_safe(ri->request_uri) || !web_uri_safe(ri->local_uri_raw)
        || !web_uri_safe(ri->query_string)) {
        *why = "control character (raw or as %00, %0a, %0d) in the request URI";
        return 400;
    }
    return 0;
}

int
web__guard(web_server *s, const char *token, const char **code, const char **msg)
{
    /* The configured secret is the first argument: the compare's time depends
     * only on the length of what the client sent. */
    if (s->internal_token != NULL
        && (token == NULL || !util_secret_equal(s->internal_token, token))) {
        *code = "unauthorized";
        *msg = "missing or invalid X-Internal-Token";
        return 401;
    }
    if (__atomic_load_n(&s->draining, __ATOMIC_ACQUIRE)) {
        *code = "shutting_down";
        *msg = "the service is shutting down";
        return 503;
    }
    if (!__atomic_load_n(&s->ready, __ATOMIC_ACQUIRE)) {
        *code = "starting";
        *msg = "the service is starting";
        return 503;
    }
    return 0;
}

void
web__account(web_server *s, bool quiet, const char *method, const char *route, const char *path,
             int status, int64_t start_ns, size_t bytes_out, const char *remote_addr)
{
    int64_t ns = util_mono_ns() - start_ns;
    double ms = (double)((ns + 500) / 1000) / 1000.0; /* milliseconds, microsecond resolution */
    char p[WEB_LOG_PATH_MAX + 1];

    web__sanitize(path, WEB_LOG_PATH_MAX, p, sizeof(p));
    log_msg(quiet ? LOGL_DEBUG : LOGL_INFO,
            LOG_FIELDS(LF_STR("method", method != NULL ? method : ""), LF_STR("route", route),
                       LF_STR("path", p), LF_INT("status", status), LF_DOUBLE("duration_ms", ms),
                       LF_INT("bytes_out", bytes_out),
                       LF_STR("remote_addr", remote_addr != NULL ? remote_addr : "")),
            "request");
    if (s->m_requests != NULL) {
        char code[24];
        util_utoa(status > 0 ? (unsigned)status : 0, code);
        const char *labels[] = {s->service, route, web__method_label(method), code};
        metrics_inc(s->m_requests, labels, 1);
        metrics_observe(s->m_duration, labels, (double)ns / 1e9);
    }
}

/* ---- connections relayed by an in-process front ---- */

/* One per local port of the front's connections to 127.0.0.1; the table is
 * allocated at the first one (1.1 MiB of address space, touched only where
 * ports are used). */
struct web_peer {
    uint8_t family; /* 0: none */
    uint8_t addr[16];
};

#define WEB_PEER_PORTS 65536

void
web_server_set_peer(web_server *s, int local_port, const char *addr)
{
    struct web_peer p = {0};

    if (local_port <= 0 || local_port >= WEB_PEER_PORTS)
        return;
    if (addr != NULL) {
        if (inet_pton(AF_INET, addr, p.addr) == 1)
            p.family = AF_INET;
        else if (inet_pton(AF_INET6, addr, p.addr) == 1)
            p.family = AF_INET6;
    }
    pthread_mutex_lock(&s->peers_mu);
    if (s->peers == NULL && p.family != 0)
        s->peers = calloc(WEB_PEER_PORTS, sizeof(*s->peers));
    if (s->peers != NULL)
        s->peers[local_port] = p;
    pthread_mutex_unlock(&s->peers_mu);
}

const char *
web__peer(web_server *s, const char *remote, int remote_port, char *out)
{
    struct web_peer p = {0};

    util_strlcpy(out, remote != NULL ? remote : "", WEB_ADDR_MAX);
    if (remote_port <= 0 || remote_port >= WEB_PEER_PORTS || strcmp(out, "127.0.0.1") != 0)
        return out;
    pthread_mutex_lock(&s->peers_mu);
    if (s->peers != NULL)
        p = s->peers[remote_port];
    pthread_mutex_unlock(&s->peers_mu);
    if (p.family != 0)
        inet_ntop(p.family, p.addr, out, WEB_ADDR_MAX);
    return out;
}

/* ---- civetweb callbacks ---- */

static int
on_log_message(const struct mg_connection *conn, const char *message)
{
    (void)conn;
    log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("component", "civetweb")), "%s", message);
    return 1; /* never civetweb's own stderr */
}

/* Errors civetweb answers itself (malformed requests, oversized headers):
 * the same JSON shape as ours, without the civetweb text (it may quote the
 * request). */
static int
on_http_error(struct mg_connection *conn, int status, const char *errmsg)
{
    web_server *s = mg_get_user_data(mg_get_context(conn));
    const struct mg_request_info *ri = mg_get_request_info(conn);
    char rid[WEB_REQUEST_ID_MAX + 1];
    int64_t start = util_mono_ns();

    (void)errmsg;
    web__request_id(mg_get_header(conn, "X-Request-Id"), rid);
    log_set_request_id(rid);
    size_t n = web__raw_error(conn, status, web_status_code_name(status),
                              mg_get_response_code_text(conn, status), rid, NULL);
    if (s != NULL && ri != NULL)
        web__account(s, false, ri->request_method, "unmatched", ri->local_uri, status, start, n,
                     ri->remote_addr);
    log_set_request_id(NULL);
    return 0;
}

static void
on_connection_close(const struct mg_connection *conn)
{
    web__ws_conn_closed(conn);
}

/* ---- the server ---- */

web_server *
web_server_new(const web_config *cfg)
{
    static const char *const req_labels[] = {"service", "route", "method", "code"};
    web_server *s;

    if (cfg == NULL || (s = calloc(1, sizeof(*s))) == NULL)
        return NULL;
    s->service = strdup(cfg->service != NULL ? cfg->service : "brain");
    s->bind = strdup(cfg->bind != NULL && cfg->bind[0] != '\0' ? cfg->bind : "127.0.0.1");
    if (cfg->internal_token != NULL && cfg->internal_token[0] != '\0')
        s->internal_token = strdup(cfg->internal_token);
    s->port = cfg->port;
    s->threads = cfg->threads > 0 ? cfg->threads : WEB_DEFAULT_THREADS;
    s->max_body = cfg->max_body > 0 ? cfg->max_body : WEB_MAX_BODY;
    s->drain_ms = cfg->drain_ms > 0 ? cfg->drain_ms : 10000;
    s->app = cfg->app;
    s->before = cfg->before;
    s->routes = route_table_new();
    s->ws_routes = route_table_new();
    pthread_mutex_init(&s->ws_mu, NULL);
    pthread_mutex_init(&s->peers_mu, NULL);
    if (s->service == NULL || s->bind == NULL || s->routes == NULL || s->ws_routes == NULL
        || (cfg->internal_token != NULL && cfg->internal_token[0] != '\0'
            && s->internal_token == NULL))
        goto fail;
    if (cfg->metrics != NULL) {
        s->m_requests = metrics_counter(cfg->metrics, "http_requests_total",
                                        "HTTP requests served.", req_labels, 4);
        s->m_duration =
            metrics_histogram(cfg->metrics, "http_request_duration_seconds",
                              "HTTP request duration in seconds.", req_labels, 3, NULL, 0);
        if (s->m_requests == NULL || s->m_duration == NULL) {
            log_error("cannot register the HTTP metrics (registered twice?)");
            goto fail;
        }
    }
    return s;
fail:
    web_server_free(s);
    return NULL;
}

void
web_server_free(web_server *s)
{
    if (s == NULL)
        return;
    web_server_stop(s);
    route_table_free(s->routes);
    route_table_free(s->ws_routes);
    pthread_mutex_destroy(&s->ws_mu);
    pthread_mutex_destroy(&s->peers_mu);
    free(s->peers);
    if (s->internal_token != NULL) {
        explicit_bzero(s->internal_token, strlen(s->internal_token));
        free(s->internal_token);
    }
    free(s->service);
    free(s->bind);
    free(s);
}

int
web_server_add_routes(web_server *s, const web_route *routes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const web_route *rt = &routes[i];
        if (s->ctx != NULL || rt->handler == NULL
            || route_add(s->routes, rt->method, rt->pattern, (void *)rt) != 0) {
            log_error("cannot add route %s %s (invalid, duplicate, or server started)",
                      rt->method != NULL ? rt->method : "(null)",
                      rt->pattern != NULL ? rt->pattern : "(null)");
            return -1;
        }
    }
    return 0;
}

int
web_server_add_ws(web_server *s, const web_ws_route *routes, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const web_ws_route *rt = &routes[i];
        if (s->ctx != NULL || route_add(s->ws_routes, "GET", rt->pattern, (void *)rt) != 0) {
            log_error("cannot add WebSocket route %s (invalid, duplicate, or server started)",
                      rt->pattern != NULL ? rt->pattern : "(null)");
            return -1;
        }
    }
    return 0;
}

/* After civetweb failed to start: is another socket listening there? */
static bool
port_in_use(const char *addr, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1, fd;
    bool busy;

    if (port == 0 || inet_pton(AF_INET, addr, &sa.sin_addr) != 1)
        return false;
    if ((fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
        return false;
    /* civetweb binds with SO_REUSEADDR too: only a listener makes this fail */
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    busy = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0 && errno == EADDRINUSE;
    close(fd);
    return busy;
}

int
web_server_start(web_server *s, char *err, size_t errlen)
{
    struct in_addr probe;
    char ports[80], threads[16], cwerr[256] = "";
    unsigned cwcode = 0;
    struct mg_callbacks cbs;
    struct mg_server_port sp[2];

    if (s->ctx != NULL) {
        snprintf(err, errlen, "the HTTP server is already running");
        return -1;
    }
    /* civetweb (as packaged) is built without IPv6: listen on IPv4 addresses */
    if (inet_pton(AF_INET, s->bind, &probe) != 1 || s->port < 0 || s->port > 65535) {
        snprintf(err, errlen, "invalid HTTP listen address %s port %d (want an IPv4 address)",
                 s->bind, s->port);
        return -1;
    }
    pthread_once(&lib_once, lib_init);
    /* civetweb 1.15 accepts port 0 and reports the kernel's choice through
     * mg_get_server_ports, so there is no probe-and-reuse race here. */
    snprintf(ports, sizeof(ports), "%s:%d", s->bind, s->port);
    snprintf(threads, sizeof(threads), "%d", s->threads);
    const char *options[] = {
        "listening_ports", ports, "num_threads", threads, "request_timeout_ms", WEB_REQUEST_TIMEOUT,
        "enable_keep_alive", "yes", "keep_alive_timeout_ms", WEB_KEEP_ALIVE_MS,
        /* idle WebSockets get a ping instead of being closed at the timeout */
        "websocket_timeout_ms", WEB_WS_PING_MS, "enable_websocket_ping_pong", "yes",
        /* headers and body are two writes: without this, Nagle and delayed
         * ACKs add 40 ms to every keep-alive request */
        "tcp_nodelay", "1",
        /* The request line and headers together: civetweb answers a larger
         * head with 400 (through on_http_error, as JSON); it gives no way
         * to tell that case from a malformed head, so no 431 here. */
        "max_request_size", WEB_MAX_HEAD,
        /* route.h decodes parameters itself and compares literals raw */
        "decode_url", "no",
        /* CORS preflights reach the routes (the gateway answers them) */
        "access_control_allow_methods", "", "access_control_allow_origin", "", NULL};
    memset(&cbs, 0, sizeof(cbs));
    cbs.log_message = on_log_message;
    cbs.http_error = on_http_error;
    cbs.connection_close = on_connection_close;
    struct mg_init_data init = {
        .callbacks = &cbs, .user_data = s, .configuration_options = options};
    struct mg_error_data ed = {.code = &cwcode, .text = cwerr, .text_buffer_size = sizeof(cwerr)};

    s->ctx = mg_start2(&init, &ed);
    if (s->ctx == NULL) {
        if (port_in_use(s->bind, s->port))
            snprintf(err, errlen, "port %d on %s is already in use", s->port, s->bind);
        else
            snprintf(err, errlen, "cannot start the HTTP server on %s:%d: %s", s->bind, s->port,
                     cwerr[0] != '\0' ? cwerr : "unknown civetweb error");
        return -1;
    }
    if (mg_get_server_ports(s->ctx, 2, sp) < 1) {
        snprintf(err, errlen, "the HTTP server started without a listening port");
        mg_stop(s->ctx);
        s->ctx = NULL;
        return -1;
    }
    s->bound_port = sp[0].port;
    /* Upgrade requests only ever reach WebSocket handlers: "**" sends them all
     * to web_ws.c, which routes them with route.h (and answers 404 itself). */
    mg_set_request_handler(s->ctx, "/", web__handle_request, s);
    mg_set_websocket_handler(s->ctx, "**", web__ws_connect, web__ws_ready, web__ws_data,
                             web__ws_close, s);
    log_info("HTTP server listening on %s:%d", s->bind, s->bound_port);
    return 0;
}

int
web_server_port(const web_server *s)
{
    return s->bound_port;
}

void
web_server_set_ready(web_server *s, bool ready)
{
    __atomic_store_n(&s->ready, ready, __ATOMIC_RELEASE);
}

void
web_server_stop(web_server *s)
{
    if (s == NULL || s->ctx == NULL)
        return;
    /* Drain first: civetweb refuses writes once mg_stop has begun, so a
     * request still in a handler would lose its answer. New requests get 503
     * meanwhile, and the wait is bounded. */
    __atomic_store_n(&s->draining, true, __ATOMIC_RELEASE);
    int64_t deadline = util_mono_ns() + (int64_t)s->drain_ms * 1000000;
    while (__atomic_load_n(&s->inflight, __ATOMIC_ACQUIRE) > 0 && util_mono_ns() < deadline) {
        struct timespec tick = {0, 5 * 1000000L};
        nanosleep(&tick, NULL);
    }
    int left = __atomic_load_n(&s->inflight, __ATOMIC_ACQUIRE);
    if (left > 0)
        log_warn("%d request(s) still running after %d ms; stopping anyway", left, s->drain_ms);
    web__ws_close_all(s);
    /* mg_stop stops accepting and joins the worker threads; WebSocket close
     * handlers run on the way out. */
    mg_stop(s->ctx);
    s->ctx = NULL;
    log_info("HTTP server on %s:%d stopped", s->bind, s->bound_port);
}
