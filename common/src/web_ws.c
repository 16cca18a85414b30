/* web_ws: WebSocket connections over civetweb's websocket handlers.
 *
 * One civetweb handler ("**") receives every upgrade request; route.h picks
 * the web_ws_route. A web_ws lives from the upgrade request until the last
 * reference is dropped: the connection holds one (dropped after on_close) and
 * web_ws_ref() adds more. Writes from any thread go through ws_write(), which
 * counts itself in "sending" under ws->mu; the close path sets "closed" and
 * waits for sending to drop to 0 before civetweb may reuse the connection, so
 * no thread ever writes to a connection that is gone. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <civetweb.h>

#include "log.h"
#include "util.h"
#include "web_internal.h"

struct web_ws {
    pthread_mutex_t mu;
    pthread_cond_t idle; /* signalled when sending drops to 0 */
    unsigned refs;       /* the connection's, plus one per web_ws_ref */
    unsigned sending;    /* threads inside mg_websocket_write */
    bool closed;         /* the connection is gone or going: no more writes */
    bool close_sent;
    struct mg_connection *conn;        /* set once the handshake is done */
    const struct mg_connection *hconn; /* the upgrade request, during on_connect */
    web_server *srv;
    const web_ws_route *route;
    route_match match;
    char request_id[WEB_REQUEST_ID_MAX + 1];
    char remote[WEB_ADDR_MAX]; /* the client's address (web__peer) */
    void *data;
    void *ctx; /* the before hook's web_set_ctx, moved from the upgrade request */
    void (*ctx_release)(void *ctx);
    unsigned peer_close; /* the client's close code (1005: none given), 0 before */
    int64_t start_ns;
    /* message reassembly, used by the connection's thread only */
    char *msg;
    size_t msg_len;
    bool msg_binary;
    bool in_msg;
    web_ws *prev, *next; /* srv->ws_open, under srv->ws_mu */
};

enum {
    WS_NORMAL = 1000,
    WS_GOING_AWAY = 1001,
    WS_PROTOCOL = 1002,
    WS_NO_STATUS = 1005,
    WS_TOO_BIG = 1009
};

#define WS_MAX_CONTROL 125 /* payload bytes of a control frame */

static void
ws_free(web_ws *ws)
{
    if (ws->ctx != NULL && ws->ctx_release != NULL)
        ws->ctx_release(ws->ctx);
    pthread_mutex_destroy(&ws->mu);
    pthread_cond_destroy(&ws->idle);
    free(ws->msg);
    free(ws);
}

void
web_ws_ref(web_ws *ws)
{
    pthread_mutex_lock(&ws->mu);
    ws->refs++;
    pthread_mutex_unlock(&ws->mu);
}

void
web_ws_unref(web_ws *ws)
{
    bool last;

    if (ws == NULL)
        return;
    pthread_mutex_lock(&ws->mu);
    last = --ws->refs == 0;
    pthread_mutex_unlock(&ws->mu);
    if (last)
        ws_free(ws);
}

/* Write one frame. Returns 0, or -1 when the connection is closed (or a close
 * frame already went out) or the write failed. */
static int
ws_write(web_ws *ws, int opcode, const char *data, size_t len)
{
    struct mg_connection *conn;
    int rc;

    pthread_mutex_lock(&ws->mu);
    if (ws->closed || ws->conn == NULL || ws->close_sent) {
        pthread_mutex_unlock(&ws->mu);
        return -1;
    }
    if (opcode == MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE)
        ws->close_sent = true;
    conn = ws->conn; /* valid while sending > 0: ws_finish waits for it */
    ws->sending++;
    pthread_mutex_unlock(&ws->mu);

    /* mg_websocket_write holds the connection's own lock (mg_lock_connection)
     * for the whole frame, so frames from several threads never interleave. */
    rc = mg_websocket_write(conn, opcode, data, len) > 0 ? 0 : -1;

    pthread_mutex_lock(&ws->mu);
    if (--ws->sending == 0)
        pthread_cond_broadcast(&ws->idle);
    pthread_mutex_unlock(&ws->mu);
    return rc;
}

static int
ws_send_close(web_ws *ws, unsigned code)
{
    char payload[2] = {(char)(code >> 8), (char)(code & 0xff)};

    return ws_write(ws, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, payload, sizeof(payload));
}

int
web_ws_send_text(web_ws *ws, const char *text, size_t len)
{
    return ws_write(ws, MG_WEBSOCKET_OPCODE_TEXT, text, len);
}

void
web_ws_close(web_ws *ws)
{
    (void)ws_send_close(ws, WS_NORMAL);
}

/* RFC 6455 section 7.4: the codes an endpoint may put in a close frame. */
static bool
ws_code_sendable(unsigned code)
{
    return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014)
           || (code >= 3000 && code <= 4999);
}

void
web_ws_close_with(web_ws *ws, unsigned code, const char *reason)
{
    char payload[WS_MAX_CONTROL];
    size_t n = 2;

    if (!ws_code_sendable(code))
        code = WS_NORMAL;
    payload[0] = (char)(code >> 8);
    payload[1] = (char)(code & 0xff);
    for (; reason != NULL && *reason != '\0' && n < sizeof(payload); reason++)
        payload[n++] = (*reason >= 0x20 && *reason < 0x7f) ? *reason : '?';
    (void)ws_write(ws, MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE, payload, n);
}

void
web__ws_close_all(web_server *s)
{
    pthread_mutex_lock(&s->ws_mu);
    for (web_ws *ws = s->ws_open; ws != NULL; ws = ws->next)
        (void)ws_send_close(ws, WS_GOING_AWAY);
    pthread_mutex_unlock(&s->ws_mu);
}

/* ---- civetweb callbacks ---- */

static int
ws_max_open(const web_server *s)
{
    return s->threads / 2 > 0 ? s->threads / 2 : 1;
}

static int
ws_open_count(web_server *s)
{
    int n = 0;
    pthread_mutex_lock(&s->ws_mu);
    for (const web_ws *w = s->ws_open; w != NULL; w = w->next)
        n++;
    pthread_mutex_unlock(&s->ws_mu);
    return n;
}

/* Decide on an upgrade request that passed the front checks (web_req.c).
 * Returns 0 to accept, or the refusal status with code and message set;
 * ws->match and ws->route are filled, and the hook's context moves to ws. */
static int
ws_admit(web_ws *ws, web_req *r, const char **code, const char **msg)
{
    int st;
    bool found = route_find(ws->srv->ws_routes, "GET", r->path, &ws->match) == ROUTE_FOUND;

    ws->ctx = r->ctx;
    ws->ctx_release = r->ctx_release;
    r->ctx = NULL;
    r->ctx_release = NULL;
    /* As for HTTP: without the token, nothing is learnt about the routes. */
    st = web__guard(ws->srv, mg_get_header(r->conn, "X-Internal-Token"), code, msg);
    if (st == 401 || (found && st != 0))
        return st;
    if (!found) {
        *code = "not_found";
        *msg = "no WebSocket route for this path";
        return 404;
    }
    ws->route = ws->match.data;
    /* Every WebSocket holds a worker thread for its whole life: keep half of
     * them for plain requests, so open sockets cannot starve the API. */
    if (ws_open_count(ws->srv) >= ws_max_open(ws->srv)) {
        *code = "unavailable";
        *msg = "too many WebSocket connections; try again later";
        return 503;
    }
    if (ws->route->on_connect == NULL)
        return 0;
    ws->hconn = r->conn;
    st = ws->route->on_connect(ws);
    ws->hconn = NULL;
    if (st == 0)
        return 0;
    st = st >= 400 && st <= 599 ? st : 403;
    *code = web_status_code_name(st);
    *msg = "WebSocket connection refused";
    return st;
}

int
web__ws_connect(const struct mg_connection *conn, void *cbdata)
{
    web_server *s = cbdata;
    const char *code = "internal_error", *msg = "internal error";
    web_ws *ws = calloc(1, sizeof(*ws));
    web_req r;
    int st = 500;

    /* civetweb hands the connection over as const, but refusing with a
     * status means writing the HTTP response on it before returning 1. */
    web__req_init(&r, (struct mg_connection *)conn, s, true);
    if (!web__req_front(&r))
        goto refused;
    if (ws != NULL) {
        pthread_mutex_init(&ws->mu, NULL);
        pthread_cond_init(&ws->idle, NULL);
        ws->refs = 1;
        ws->srv = s;
        ws->start_ns = r.start_ns;
        memcpy(ws->request_id, r.request_id, sizeof(ws->request_id));
        memcpy(ws->remote, r.remote, sizeof(ws->remote));
        st = ws_admit(ws, &r, &code, &msg);
    }
    if (st != 0) {
        const char *extra[] = {"Retry-After: 1", NULL};
        web__req_error(&r, st, code, msg, st == 503 ? extra : NULL);
        goto refused;
    }
    mg_set_user_connection_data(conn, ws);
    pthread_mutex_lock(&s->ws_mu);
    ws->next = s->ws_open;
    if (s->ws_open != NULL)
        s->ws_open->prev = ws;
    s->ws_open = ws;
    pthread_mutex_unlock(&s->ws_mu);
    web__account(s, false, r.method, ws->route->pattern, r.path, 101, r.start_ns, 0, r.remote);
    web__req_end(&r);
    return 0;
refused:
    web__account(s, false, r.method,
                 ws != NULL && ws->route != NULL ? ws->route->pattern : "unmatched", r.path,
                 r.status, r.start_ns, r.bytes_out, r.remote);
    if (ws != NULL && ws->srv != NULL)
        ws_free(ws);
    else
        free(ws);
    web__req_end(&r);
    return 1;
}

void
web__ws_ready(struct mg_connection *conn, void *cbdata)
{
    web_ws *ws = mg_get_user_connection_data(conn);

    (void)cbdata;
    if (ws == NULL)
        return;
    pthread_mutex_lock(&ws->mu);
    ws->conn = conn;
    pthread_mutex_unlock(&ws->mu);
    log_set_request_id(ws->request_id);
    if (ws->route->on_ready != NULL)
        ws->route->on_ready(ws);
    log_set_request_id(NULL);
}

/* A whole message: 1 keeps the connection, 0 closes it. */
static int
ws_deliver(web_ws *ws, const char *data, size_t len, bool binary)
{
    if (ws->route->on_message == NULL || ws->route->on_message(ws, data, len, binary) == 0)
        return 1;
    (void)ws_send_close(ws, WS_NORMAL);
    return 0;
}

/* civetweb hands over frames, not messages: reassemble fragments (RFC 6455
 * section 5.4) up to WEB_WS_MAX_MESSAGE. */
static int
ws_frame(web_ws *ws, int op, bool fin, const char *data, size_t len)
{
    if ((op == MG_WEBSOCKET_OPCODE_CONTINUATION) != ws->in_msg) {
        log_warn("WebSocket protocol error: unexpected %s frame",
                 ws->in_msg ? "data" : "continuation");
        (void)ws_send_close(ws, WS_PROTOCOL);
        return 0;
    }
    /* msg_len belongs to the message being assembled, if any: a finished
     * fragmented message must not count against the next one. */
    if (len > WEB_WS_MAX_MESSAGE - (ws->in_msg ? ws->msg_len : 0)) {
        log_warn("WebSocket message over %d bytes: closing", WEB_WS_MAX_MESSAGE);
        (void)ws_send_close(ws, WS_TOO_BIG);
        return 0;
    }
    if (!ws->in_msg && fin)
        return ws_deliver(ws, data, len, op == MG_WEBSOCKET_OPCODE_BINARY);
    if (!ws->in_msg) {
        if (ws->msg == NULL && (ws->msg = malloc(WEB_WS_MAX_MESSAGE)) == NULL) {
            log_error("out of memory for a WebSocket message");
            return 0;
        }
        ws->in_msg = true;
        ws->msg_binary = op == MG_WEBSOCKET_OPCODE_BINARY;
        ws->msg_len = 0;
    }
    memcpy(ws->msg + ws->msg_len, data, len);
    ws->msg_len += len;
    if (!fin)
        return 1;
    ws->in_msg = false;
    return ws_deliver(ws, ws->msg, ws->msg_len, ws->msg_binary);
}

int
web__ws_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata)
{
    web_ws *ws = mg_get_user_connection_data(conn);
    int op = bits & 0x0f, keep = 1;

    (void)cbdata;
    if (ws == NULL)
        return 0;
    log_set_request_id(ws->request_id);
    switch (op) {
    case MG_WEBSOCKET_OPCODE_TEXT:
    case MG_WEBSOCKET_OPCODE_BINARY:
    case MG_WEBSOCKET_OPCODE_CONTINUATION:
        keep = ws_frame(ws, op, (bits & 0x80) != 0, data, len);
        break;
    case MG_WEBSOCKET_OPCODE_CONNECTION_CLOSE:
        ws->peer_close = len >= 2 ? ((unsigned)(unsigned char)data[0] << 8) | (unsigned char)data[1]
                                  : WS_NO_STATUS;
        /* answer the client's close (echoing its code) unless we sent one */
        if (len >= 2)
            (void)ws_send_close(ws,
                                ((unsigned)(unsigned char)data[0] << 8) | (unsigned char)data[1]);
        else
            (void)ws_send_close(ws, WS_NORMAL);
        keep = 0;
        break;
    case MG_WEBSOCKET_OPCODE_PING: /* civetweb answers pings itself */
    case MG_WEBSOCKET_OPCODE_PONG:
        break;
    default:
        (void)ws_send_close(ws, WS_PROTOCOL);
        keep = 0;
        break;
    }
    log_set_request_id(NULL);
    return keep;
}

/* The connection is gone: stop writers, tell the application, drop the
 * connection's reference. */
static void
ws_finish(web_ws *ws)
{
    web_server *s = ws->srv;

    pthread_mutex_lock(&ws->mu);
    ws->closed = true;
    while (ws->sending > 0)
        pthread_cond_wait(&ws->idle, &ws->mu);
    ws->conn = NULL;
    pthread_mutex_unlock(&ws->mu);

    pthread_mutex_lock(&s->ws_mu);
    if (ws->prev != NULL)
        ws->prev->next = ws->next;
    else
        s->ws_open = ws->next;
    if (ws->next != NULL)
        ws->next->prev = ws->prev;
    pthread_mutex_unlock(&s->ws_mu);

    log_set_request_id(ws->request_id);
    if (ws->route->on_close != NULL)
        ws->route->on_close(ws);
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("route", ws->route->pattern),
                       LF_DOUBLE("duration_ms",
                                 (double)((util_mono_ns() - ws->start_ns) / 1000) / 1000.0)),
            "websocket closed");
    log_set_request_id(NULL);
    web_ws_unref(ws);
}

void
web__ws_close(const struct mg_connection *conn, void *cbdata)
{
    web_ws *ws = mg_get_user_connection_data(conn);

    (void)cbdata;
    if (ws == NULL)
        return;
    mg_set_user_connection_data(conn, NULL);
    ws_finish(ws);
}

void
web__ws_conn_closed(const struct mg_connection *conn)
{
    /* Only set when civetweb skipped the close handler (a handshake that
     * failed after on_connect accepted). */
    web__ws_close(conn, NULL);
}

/* ---- accessors ---- */

const char *
web_ws_param(const web_ws *ws, const char *name)
{
    return route_param(&ws->match, name);
}

const char *
web_ws_header(const web_ws *ws, const char *name)
{
    return ws->hconn != NULL ? mg_get_header(ws->hconn, name) : NULL;
}

const char *
web_ws_remote_addr(const web_ws *ws)
{
    return ws->remote;
}

const char *
web_ws_request_id(const web_ws *ws)
{
    return ws->request_id;
}

void *
web_ws_app(const web_ws *ws)
{
    return ws->srv->app;
}

void
web_ws_set_data(web_ws *ws, void *data)
{
    ws->data = data;
}

void *
web_ws_data(const web_ws *ws)
{
    return ws->data;
}

unsigned
web_ws_peer_close_code(const web_ws *ws)
{
    return ws->peer_close;
}

void *
web_ws_ctx(const web_ws *ws)
{
    return ws->ctx;
}
