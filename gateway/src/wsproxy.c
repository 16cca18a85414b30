/* wsproxy: relay WebSocket connections between clients and upstream services.
 *
 * Threads: the web layer calls on_connect, on_ready, on_message and on_close
 * on the client connection's thread; on_ready starts the relay thread, which
 * alone reads the upstream socket, and on_close joins it. The relay thread
 * therefore never outlives the client connection; it still holds a reference
 * (web.h's rule) while it may write to the client. Writes upstream come from
 * both threads and are whole frames under the wsclient's lock. */
#include "wsproxy.h"

#include <sys/eventfd.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gate.h"
#include "log.h"
#include "upstream.h"
#include "util.h"
#include "wsclient.h"

/* The proxied patterns: name, pattern (also the path sent upstream, with its
 * parameters filled in), upstream. One line per route. */
#define WSPROXY_TABLE(X) X(automation, "/api/automation/ws/{client_id}", UP_AUTOMATION)

#define WSP_MAX_MESSAGE   (64 * 1024) /* the web layer's cap, both ways */
#define WSP_CLOSE_WAIT_MS 1000        /* after our close frame, for the upstream's */
#define WSP_MAX_PATH      4096
#define WSP_CLOSE_ERROR   1011 /* RFC 6455: the server met an unexpected condition */
#define WSP_MAX_REASON    123  /* bytes of a close frame's reason */

typedef struct wsp_target {
    const char *pattern;
    upstream_id up;
} wsp_target;

#define WSP_ID(name, pattern, up) WSP_##name,
enum { WSPROXY_TABLE(WSP_ID) WSP_COUNT };
#undef WSP_ID

static const wsp_target wsp_targets[WSP_COUNT] = {
#define WSP_TARGET(name, pattern, up) [WSP_##name] = {pattern, up},
    WSPROXY_TABLE(WSP_TARGET)
#undef WSP_TARGET
};

typedef enum { WSP_OPEN = 0, WSP_BY_CLIENT, WSP_BY_UPSTREAM, WSP_BY_GATEWAY } wsp_closer;
static const char *const wsp_closer_names[] = {"", "client", "upstream", "gateway"};

typedef struct wsp_conn {
    const wsp_target *target;
    web_ws *ws;
    wsc_conn *up; /* NULL: the upstream could not be opened (failed says why) */
    char failed[WSP_MAX_REASON + 1];
    int wake; /* eventfd: on_close tells the relay thread the client is gone */
    pthread_t relay;
    bool relay_started;
    char request_id[160];
    char path[WSP_MAX_PATH];
    int64_t start_ns;
    unsigned long long msgs_up, msgs_down; /* atomics */
    pthread_mutex_t mu;                    /* guards the three below */
    wsp_closer closer;                     /* who closed first */
    const char *reason;
    unsigned code;
} wsp_conn;

static struct {
    long timeout_ms, connect_timeout_ms;
    char token[512];
    int max_open; /* proxied connections at most */
    int open;     /* atomic: proxied connections (and reservations) now */
    metrics_family *connections, *messages, *all_connections;
} wsp;

/* ---- bookkeeping ---- */

/* Record who closed first and why; later calls change nothing. */
static void
wsp_end(wsp_conn *c, wsp_closer who, unsigned code, const char *reason)
{
    pthread_mutex_lock(&c->mu);
    if (c->closer == WSP_OPEN) {
        c->closer = who;
        c->code = code;
        c->reason = reason;
    }
    pthread_mutex_unlock(&c->mu);
}

static void
wsp_count(wsp_conn *c, bool up)
{
    const char *lv[] = {upstreams[c->target->up].service, up ? "up" : "down"};
    __atomic_add_fetch(up ? &c->msgs_up : &c->msgs_down, 1, __ATOMIC_RELAXED);
    metrics_inc(wsp.messages, lv, 1);
}

static void
wsp_gauge(const wsp_target *t, double delta)
{
    const char *lv[] = {upstreams[t->up].service};
    metrics_add(wsp.connections, lv, delta);
    metrics_add(wsp.all_connections, NULL, delta);
}

/* ---- the upstream handshake ---- */

/* Append s percent-encoded (RFC 3986 unreserved characters and those of keep
 * stay as they are). Returns 0, or -1 when out is full. */
static int
wsp_encode(char *out, size_t cap, size_t *len, const char *s, const char *keep)
{
    static const char hex[] = "0123456789ABCDEF";
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        bool plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')
                     || (*p >= '0' && *p <= '9') || strchr("-._~", *p) != NULL
                     || strchr(keep, *p) != NULL;
        if (*len + 4 > cap)
            return -1;
        if (plain) {
            out[(*len)++] = (char)*p;
        } else {
            out[(*len)++] = '%';
            out[(*len)++] = hex[*p >> 4];
            out[(*len)++] = hex[*p & 15];
        }
    }
    out[*len] = '\0';
    return 0;
}

/* The path sent upstream: the route's pattern with the client's parameters
 * filled in ("*", a raw tail, keeps its slashes and escapes). */
static int
wsp_upstream_path(const web_ws *ws, const char *pattern, char *out, size_t cap)
{
    size_t len = 0;
    char name[64];

    for (const char *p = pattern; *p != '\0';) {
        const char *value = NULL, *keep = "";
        if (*p == '{') {
            size_t n = strcspn(p + 1, "}");
            if (n >= sizeof(name) || p[1 + n] != '}')
                return -1;
            memcpy(name, p + 1, n);
            name[n] = '\0';
            value = web_ws_param(ws, name);
            p += n + 2;
        } else if (*p == '*' && p[1] == '\0') {
            value = web_ws_param(ws, "*");
            keep = "/%!$&'()*+,;=:@";
            p++;
        } else {
            if (len + 2 > cap)
                return -1;
            out[len++] = *p++;
            out[len] = '\0';
            continue;
        }
        if (value == NULL || wsp_encode(out, cap, &len, value, keep) != 0)
            return -1;
    }
    return len > 0 ? 0 : -1;
}

/* The status refusing the client when the upstream handshake failed: the
 * upstream's own 4xx, 500 when out of memory; 0 for the failures that accept
 * the client and close it with 1011 (why, into reason). */
static int
wsp_refusal(int rc, int upstream_status, const char *service, char *reason, size_t cap)
{
    if (rc == WSC_ERR_REFUSED && upstream_status >= 400 && upstream_status <= 499)
        return upstream_status;
    if (rc == WSC_ERR_NOMEM)
        return 500;
    if (rc == WSC_ERR_TIMEOUT)
        snprintf(reason, cap, "%s did not answer in time", service);
    else if (rc == WSC_ERR_REFUSED)
        snprintf(reason, cap, "%s refused the WebSocket (%d)", service, upstream_status);
    else if (rc == WSC_ERR_CONNECT)
        snprintf(reason, cap, "%s is unreachable", service);
    else
        snprintf(reason, cap, "%s did not open a WebSocket", service);
    return 0;
}

/* The headers of the upstream handshake: only what the gateway vouches for,
 * nothing of the client's. */
typedef struct wsp_headers {
    char rid[200], token[600], fwd_host[300], fwd_for[700], user[80], role[40], kind[40];
    const char *list[10];
} wsp_headers;

static void
wsp_build_headers(web_ws *ws, const wsp_conn *c, wsp_headers *h)
{
    const char *host = web_ws_header(ws, "Host");
    const auth_identity *who = gate_ws_identity(ws);
    size_t n = 0;

    snprintf(h->rid, sizeof(h->rid), "X-Request-Id: %s", c->request_id);
    h->list[n++] = h->rid;
    h->list[n++] = "X-Forwarded-Proto: http";
    /* The forwarding chain, as the HTTP proxy builds it: the client's own
     * chain (when well formed) and then the address the gateway saw. */
    const char *chain = web_ws_header(ws, "X-Forwarded-For");
    if (chain != NULL && strlen(chain) < 512 && strpbrk(chain, "\r\n") == NULL)
        snprintf(h->fwd_for, sizeof(h->fwd_for), "X-Forwarded-For: %s, %s", chain,
                 web_ws_remote_addr(ws));
    else
        snprintf(h->fwd_for, sizeof(h->fwd_for), "X-Forwarded-For: %s", web_ws_remote_addr(ws));
    h->list[n++] = h->fwd_for;
    if (host != NULL && strlen(host) < 256 && strpbrk(host, "\r\n") == NULL) {
        snprintf(h->fwd_host, sizeof(h->fwd_host), "X-Forwarded-Host: %s", host);
        h->list[n++] = h->fwd_host;
    }
    /* Who is calling, as the gate found it on the upgrade request. */
    if (who->kind != AUTH_KIND_NONE) {
        snprintf(h->user, sizeof(h->user), "X-User-Id: %s", who->id);
        snprintf(h->role, sizeof(h->role), "X-User-Role: %s", auth_role_name(who->role));
        snprintf(h->kind, sizeof(h->kind), "X-Auth-Kind: %s",
                 who->kind == AUTH_KIND_API_KEY ? "api_key" : "user");
        h->list[n++] = h->user;
        h->list[n++] = h->role;
        h->list[n++] = h->kind;
    }
    if (wsp.token[0] != '\0') {
        snprintf(h->token, sizeof(h->token), "X-Internal-Token: %s", wsp.token);
        h->list[n++] = h->token;
    }
    h->list[n] = NULL;
}

static int
wsp_connect(web_ws *ws, const wsp_target *t)
{
    const upstream *u = &upstreams[t->up];
    wsp_headers h;
    wsc_conn *up = NULL;
    wsp_conn *c = NULL;
    int status = 0, rc, st = 503;

    /* A place first, so a client over the cap costs no upstream connection;
     * on_close gives it back (or the refusal below). */
    if (__atomic_add_fetch(&wsp.open, 1, __ATOMIC_ACQ_REL) > wsp.max_open) {
        log_warn("WS_MAX_CONNECTIONS (%d) proxied WebSockets open: refusing another", wsp.max_open);
        goto out;
    }
    st = 500;
    if ((c = calloc(1, sizeof(*c))) == NULL)
        goto out;
    pthread_mutex_init(&c->mu, NULL);
    c->target = t;
    c->wake = -1;
    c->start_ns = util_mono_ns();
    util_strlcpy(c->request_id, web_ws_request_id(ws), sizeof(c->request_id));
    if (wsp_upstream_path(ws, t->pattern, c->path, sizeof(c->path)) != 0) {
        log_warn("cannot build the upstream path of %s", t->pattern);
        goto out;
    }
    wsp_build_headers(ws, c, &h);
    wsc_options o = {
        .url = u->base,
        .path = c->path,
        .headers = h.list,
        .connect_timeout_ms = (int)wsp.connect_timeout_ms,
        .timeout_ms = (int)wsp.timeout_ms,
        .max_message = WSP_MAX_MESSAGE,
    };
    rc = wsc_connect(&o, &up, &status);
    explicit_bzero(h.token, sizeof(h.token));
    if (rc != WSC_OK) {
        st = wsp_refusal(rc, status, u->service, c->failed, sizeof(c->failed));
        log_msg(st != 0 && st < 500 ? LOGL_INFO : LOGL_WARN,
                LOG_FIELDS(LF_STR("route", t->pattern), LF_STR("upstream", u->service),
                           LF_STR("error", wsc_strerror(rc)), LF_INT("upstream_status", status),
                           LF_INT("status", st != 0 ? st : 101),
                           LF_INT("close_code", st != 0 ? 0 : WSP_CLOSE_ERROR),
                           LF_DOUBLE("duration_ms", (double)(util_mono_ns() - c->start_ns) / 1e6)),
                "upstream WebSocket not opened");
        if (st == 0) { /* accepted, to be closed with 1011 by wsp_ready */
            web_ws_set_data(ws, c);
            c = NULL;
        }
        goto out;
    }
    if ((c->wake = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) < 0) {
        log_error("eventfd: %s", strerror(errno));
        goto out;
    }
    c->up = up;
    up = NULL;
    web_ws_set_data(ws, c);
    wsp_gauge(t, 1);
    c = NULL;
    st = 0;
out:
    if (st != 0)
        __atomic_sub_fetch(&wsp.open, 1, __ATOMIC_ACQ_REL);
    wsc_free(up);
    if (c != NULL) {
        pthread_mutex_destroy(&c->mu);
        free(c);
    }
    return st;
}

#define WSP_CONNECT_FN(name, pattern, up)                 \
    static int wsp_connect_##name(web_ws *ws)             \
    {                                                     \
        return wsp_connect(ws, &wsp_targets[WSP_##name]); \
    }
WSPROXY_TABLE(WSP_CONNECT_FN)
#undef WSP_CONNECT_FN

/* ---- the relay thread: upstream to client ---- */

/* The gateway ends the exchange: the same close code both ways. */
static void
wsp_fail(wsp_conn *c, unsigned code, const char *reason)
{
    log_warn("closing proxied WebSocket: %s", reason);
    wsp_end(c, WSP_BY_GATEWAY, code, reason);
    (void)wsc_send_close(c->up, code);
    web_ws_close_with(c->ws, code, reason);
}

enum { WSP_RELAY_MORE, WSP_RELAY_DONE, WSP_RELAY_BROKEN };

/* Relay every whole message read so far. WSP_RELAY_MORE to keep reading,
 * WSP_RELAY_DONE when the upstream's close frame came, WSP_RELAY_BROKEN when
 * the stream cannot be parsed any further (a close frame went out). */
static int
wsp_relay_messages(wsp_conn *c, bool closing)
{
    for (;;) {
        wsc_event ev;
        int rc = wsc_next(c->up, &ev);
        if (rc == WSC_AGAIN)
            return WSP_RELAY_MORE;
        if (rc != WSC_OK) {
            if (rc == WSC_ERR_TOO_BIG)
                wsp_fail(c, WSC_CLOSE_TOO_BIG, "upstream message over 64 KiB");
            else
                wsp_fail(c, WSC_CLOSE_PROTOCOL, "upstream broke the WebSocket protocol");
            return WSP_RELAY_BROKEN;
        }
        if (ev.opcode == WSC_OP_CLOSE) {
            char reason[WSP_MAX_REASON + 1];
            size_t n = ev.len < WSP_MAX_REASON ? ev.len : WSP_MAX_REASON;
            memcpy(reason, ev.data != NULL ? ev.data : "", ev.data != NULL ? n : 0);
            reason[ev.data != NULL ? n : 0] = '\0';
            wsp_end(c, WSP_BY_UPSTREAM, ev.close_code, "upstream sent close");
            /* echo the code, as RFC 6455 section 5.5.1 asks, and pass it on */
            (void)wsc_send_close(c->up, ev.close_code);
            web_ws_close_with(c->ws, ev.close_code, reason);
            return WSP_RELAY_DONE;
        }
        if (closing)
            continue; /* a close frame went out: late messages have nowhere to go */
        if (ev.opcode == WSC_OP_BINARY) {
            /* web.h sends text frames only: say so rather than corrupt data */
            wsp_fail(c, WSC_CLOSE_UNSUPPORTED, "binary message from upstream");
            closing = true;
            continue;
        }
        if (web_ws_send_text(c->ws, ev.data, ev.len) == 0)
            wsp_count(c, false);
        /* else the client is going: on_close wakes this thread */
    }
}

static void *
wsp_relay(void *arg)
{
    wsp_conn *c = arg;
    struct pollfd pfd[2] = {{.fd = wsc_fd(c->up), .events = POLLIN},
                            {.fd = c->wake, .events = POLLIN}};
    int64_t deadline = 0; /* once closing: when to stop waiting for the upstream */
    int state = WSP_RELAY_MORE;

    log_set_request_id(c->request_id);
    /* The handshake's read may have taken the first frames with the head
     * (an upstream greets at once): relay them before waiting for more. */
    state = wsp_relay_messages(c, false);
    while (state != WSP_RELAY_DONE) {
        bool closing = wsc_close_sent(c->up);
        if (closing && deadline == 0)
            deadline = util_mono_ns() + (int64_t)WSP_CLOSE_WAIT_MS * 1000000;
        int timeout = -1;
        if (closing) {
            int64_t left = (deadline - util_mono_ns()) / 1000000;
            if (left <= 0)
                break;
            timeout = (int)left;
        }
        int rc = poll(pfd, 2, timeout);
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc <= 0)
            break; /* the upstream did not answer our close in time */
        if (pfd[1].revents != 0) {
            uint64_t n;
            (void)!read(c->wake, &n, sizeof(n));
            pfd[1].fd = -1; /* once is enough: the close frame is on its way */
        }
        if (pfd[0].revents == 0)
            continue;
        if (state == WSP_RELAY_BROKEN) {
            /* Read and drop until the upstream closes: closing a socket with
             * unread bytes resets it, and the reset could cost the upstream
             * our close frame. */
            char sink[4096];
            ssize_t n = recv(pfd[0].fd, sink, sizeof(sink), MSG_DONTWAIT);
            if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
                break;
            continue;
        }
        rc = wsc_fill(c->up);
        if (rc == WSC_AGAIN)
            continue;
        if (rc != WSC_OK) {
            char why[WSP_MAX_REASON + 1];
            snprintf(why, sizeof(why), "%s connection lost", upstreams[c->target->up].service);
            wsp_end(c, WSP_BY_UPSTREAM, WSP_CLOSE_ERROR,
                    rc == WSC_ERR_CLOSED ? "upstream connection lost" : "upstream read failed");
            web_ws_close_with(c->ws, WSP_CLOSE_ERROR, why);
            break;
        }
        state = wsp_relay_messages(c, closing);
    }
    log_set_request_id(NULL);
    web_ws_unref(c->ws);
    return NULL;
}

/* ---- web_ws_route callbacks ---- */

static void
wsp_ready(web_ws *ws)
{
    wsp_conn *c = web_ws_data(ws);

    if (c == NULL)
        return;
    c->ws = ws;
    if (c->up == NULL) {
        wsp_end(c, WSP_BY_GATEWAY, WSP_CLOSE_ERROR, c->failed);
        web_ws_close_with(ws, WSP_CLOSE_ERROR, c->failed);
        return;
    }
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("route", c->target->pattern),
                       LF_STR("upstream", upstreams[c->target->up].service),
                       LF_STR("path", c->path)),
            "proxied WebSocket open");
    web_ws_ref(ws); /* the relay thread's; it drops it on its way out */
    if (pthread_create(&c->relay, NULL, wsp_relay, c) != 0) {
        web_ws_unref(ws);
        wsp_end(c, WSP_BY_GATEWAY, WSC_CLOSE_GOING_AWAY, "cannot start a relay thread");
        web_ws_close(ws);
        return;
    }
    c->relay_started = true;
}

static int
wsp_message(web_ws *ws, const char *data, size_t len, bool binary)
{
    wsp_conn *c = web_ws_data(ws);

    if (c == NULL)
        return 1;
    if (c->up == NULL)
        return 0; /* closing with 1011 already */
    int rc = wsc_send(c->up, binary ? WSC_OP_BINARY : WSC_OP_TEXT, data, len);
    if (rc != WSC_OK) {
        /* WSC_ERR_CLOSED: the upstream closed first, and that is recorded */
        wsp_end(c, WSP_BY_GATEWAY, 0, "upstream write failed");
        return 1;
    }
    wsp_count(c, true);
    return 0;
}

static void
wsp_close(web_ws *ws)
{
    wsp_conn *c = web_ws_data(ws);
    uint64_t one = 1;

    if (c == NULL)
        return;
    /* The client's close code goes upstream (a normal closure when it sent
     * none, or one that may not be sent), if nothing else went out already. */
    unsigned code = web_ws_peer_close_code(ws);
    if (code == 0 || code == WSC_CLOSE_NO_STATUS || code < 1000 || code > 4999
        || (code >= 1004 && code <= 1006) || code == 1015)
        code = WSC_CLOSE_NORMAL;
    wsp_end(c, WSP_BY_CLIENT, code, "client closed");
    if (c->up != NULL) {
        (void)wsc_send_close(c->up, code);
        (void)!write(c->wake, &one, sizeof(one));
        if (c->relay_started)
            pthread_join(c->relay, NULL);
        wsp_gauge(c->target, -1);
    }
    __atomic_sub_fetch(&wsp.open, 1, __ATOMIC_ACQ_REL);
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("route", c->target->pattern),
                       LF_STR("upstream", upstreams[c->target->up].service),
                       LF_DOUBLE("duration_ms", (double)(util_mono_ns() - c->start_ns) / 1e6),
                       LF_INT("messages_up", c->msgs_up), LF_INT("messages_down", c->msgs_down),
                       LF_STR("closed_by", wsp_closer_names[c->closer]),
                       LF_STR("reason", c->reason), LF_INT("close_code", c->code)),
            "proxied WebSocket closed");
    web_ws_set_data(ws, NULL);
    wsc_free(c->up);
    if (c->wake >= 0)
        close(c->wake);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

const web_ws_route wsproxy_routes[] = {
#define WSP_ROUTE(name, pattern, up) \
    {pattern, wsp_connect_##name, wsp_ready, wsp_message, wsp_close},
    WSPROXY_TABLE(WSP_ROUTE)
#undef WSP_ROUTE
};
const size_t wsproxy_nroutes = sizeof(wsproxy_routes) / sizeof(wsproxy_routes[0]);

int
wsproxy_init(const wsproxy_config *pc, metrics_registry *reg)
{
    wsp.timeout_ms = pc->timeout_ms;
    wsp.connect_timeout_ms = pc->connect_timeout_ms;
    /* The web layer admits at most half its threads as WebSockets (web_ws.c). */
    int half = pc->http_threads / 2 > 0 ? pc->http_threads / 2 : 1;
    if (pc->max_connections > half) {
        log_error("WS_MAX_CONNECTIONS (%d) must be at most half of HTTP_THREADS (%d)",
                  pc->max_connections, pc->http_threads);
        return -1;
    }
    wsp.max_open = pc->max_connections > 0 ? pc->max_connections : half;
    if (util_strlcpy(wsp.token, pc->internal_token != NULL ? pc->internal_token : "",
                     sizeof(wsp.token))
        >= sizeof(wsp.token)) {
        log_error("INTERNAL_TOKEN is longer than %zu bytes", sizeof(wsp.token) - 1);
        return -1;
    }
    if (reg == NULL)
        return 0;
    const char *labels[] = {"upstream", "direction"};
    wsp.connections = metrics_gauge(reg, "ws_proxy_connections",
                                    "Proxied WebSocket connections open, by upstream.", labels, 1);
    wsp.messages = metrics_counter(reg, "ws_proxy_messages_total",
                                   "Messages relayed by the WebSocket proxy, by upstream and "
                                   "direction (up: client to upstream, down: back).",
                                   labels, 2);
    wsp.all_connections = metrics_gauge(reg, "gateway_ws_connections",
                                        "Proxied WebSocket connections open.", NULL, 0);
    if (wsp.connections == NULL || wsp.messages == NULL || wsp.all_connections == NULL)
        return -1;
    /* Every series from the start, so dashboards see 0 rather than nothing. */
    for (size_t i = 0; i < WSP_COUNT; i++) {
        const char *svc = upstreams[wsp_targets[i].up].service;
        const char *up[] = {svc, "up"}, *down[] = {svc, "down"};
        metrics_add(wsp.connections, up, 0);
        metrics_inc(wsp.messages, up, 0);
        metrics_inc(wsp.messages, down, 0);
    }
    return 0;
}

void
wsproxy_cleanup(void)
{
    explicit_bzero(wsp.token, sizeof(wsp.token));
}
