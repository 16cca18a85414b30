/* web_req: one HTTP request, from civetweb's handler call to the access-log
 * line: the front checks (framing, URI, the before hook), routing, guards,
 * the body (size limit, 100 Continue, JSON), the handler, and the replies
 * (written by hand, always with Content-Length so keep-alive works). The
 * accessors handlers use are in web_info.c. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <civetweb.h>
#include <json-c/json.h>

#include "log.h"
#include "util.h"
#include "web_internal.h"

#define WEB_MSG_PATH_MAX 200         /* bytes of a path quoted in an error message */
#define WEB_INLINE_BODY  (64 * 1024) /* bodies up to this go out with the head */
/* compact, and "/" left alone (paths are easier to read that way) */
#define WEB_JSON_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

static json_object *
error_doc(const char *code, const char *message, const char *field, const char *request_id)
{
    json_object *doc = json_object_new_object();
    json_object *err = json_object_new_object();

    if (doc == NULL || err == NULL) {
        json_object_put(doc);
        json_object_put(err);
        return NULL;
    }
    json_object_object_add(err, "code", json_object_new_string(code));
    json_object_object_add(err, "message", json_object_new_string(message));
    if (field != NULL)
        json_object_object_add(err, "field", json_object_new_string(field));
    json_object_object_add(err, "request_id", json_object_new_string(request_id));
    json_object_object_add(doc, "error", err);
    return doc;
}

/* A header line a handler may add: "Name: value", no CR or LF. */
static bool
valid_header_line(const char *line)
{
    size_t n = strcspn(line, ":");

    return n > 0 && line[n] == ':' && strpbrk(line, "\r\n") == NULL;
}

/* The Date header's value for now, formatted once a second per thread. */
static const char *
http_date(void)
{
    static _Thread_local char date[40];
    static _Thread_local time_t at = -1;
    time_t now = time(NULL);
    if (now != at) {
        struct tm tm;
        gmtime_r(&now, &tm);
        strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
        at = now;
    }
    return date;
}

/* n more bytes at the end of an event loop request's answer, or NULL. */
static char *
sink_room(web_req *r, size_t n)
{
    if (r == NULL)
        return NULL;
    if (r->out_len + n > r->out_cap) {
        size_t cap = r->out_cap > 0 ? r->out_cap : 4096;
        while (cap < r->out_len + n)
            cap *= 2;
        char *p = realloc(r->out, cap);
        if (p == NULL) {
            r->out_failed = true;
            return NULL;
        }
        r->out = p;
        r->out_cap = cap;
    }
    return r->out + r->out_len;
}

/* Write the status line, the headers and the body. The head is written by
 * hand rather than with mg_response_header_*: civetweb refuses those once
 * anything went out, and "100 Continue" may have. keep_alive must match what
 * civetweb does after the handler (mg_disable_connection_keep_alive when not).
 * Small bodies go out in the same write as the head. Returns 0 or -1. */
static int
write_response(struct mg_connection *conn, web_req *sink, const web_head *h, const char *body,
               size_t len)
{
    char fixed[1024];
    size_t extra_len = 0, send_len = h->head ? 0 : len;
    const char *date = http_date();
    int rc = 0;

    for (size_t i = 0; h->extra != NULL && h->extra[i] != NULL; i++)
        if (valid_header_line(h->extra[i]))
            extra_len += strlen(h->extra[i]) + 2;
    extra_len += h->added != NULL ? h->added_len : 0;
    /* 1xx, 204 and 304 answers have no body and say nothing about one. */
    char framing[200] = "";
    bool bodyless = h->status < 200 || h->status == 204 || h->status == 304;
    if (bodyless)
        send_len = 0;
    if (!bodyless)
        snprintf(framing, sizeof(framing), "Content-Type: %.120s\r\nContent-Length: %zu\r\n",
                 h->ctype, len);
    int n = snprintf(fixed, sizeof(fixed),
                     "HTTP/1.1 %d %s\r\n%sX-Request-Id: %s\r\n%sDate: %s\r\nConnection: %s\r\n",
                     h->status, mg_get_response_code_text(NULL, h->status), framing, h->request_id,
                     h->no_store ? "Cache-Control: no-store\r\n" : "", date,
                     h->keep_alive ? "keep-alive" : "close");
    if (n < 0 || (size_t)n >= sizeof(fixed))
        return -1;
    /* An event loop's request gets the whole answer in its buffer. */
    size_t inline_len = send_len <= WEB_INLINE_BODY || conn == NULL ? send_len : 0;
    size_t total = (size_t)n + extra_len + 2 + inline_len, off = (size_t)n;
    char *buf = conn == NULL ? sink_room(sink, total) : malloc(total);
    if (buf == NULL)
        return -1;
    memcpy(buf, fixed, (size_t)n);
    for (size_t i = 0; h->extra != NULL && h->extra[i] != NULL; i++) {
        if (!valid_header_line(h->extra[i])) {
            log_error("invalid response header line left out");
            continue;
        }
        size_t l = strlen(h->extra[i]);
        memcpy(buf + off, h->extra[i], l);
        memcpy(buf + off + l, "\r\n", 2);
        off += l + 2;
    }
    if (h->added != NULL && h->added_len > 0) {
        memcpy(buf + off, h->added, h->added_len);
        off += h->added_len;
    }
    memcpy(buf + off, "\r\n", 2);
    off += 2;
    if (inline_len > 0)
        memcpy(buf + off, body, inline_len);
    if (conn == NULL) {
        sink->out_len += total;
        return 0;
    }
    if (!h->keep_alive)
        mg_disable_connection_keep_alive(conn);
    if (mg_write(conn, buf, total) != (int)total
        || (send_len > inline_len && mg_write(conn, body, send_len) != (int)send_len))
        rc = -1;
    free(buf);
    return rc;
}

size_t
web__raw_error(struct mg_connection *conn, int status, const char *code, const char *message,
               const char *request_id, const char *extra_header)
{
    json_object *doc = error_doc(code, message, NULL, request_id);
    const struct mg_request_info *ri = mg_get_request_info(conn);
    const char *extra[] = {extra_header, NULL};
    web_head h = {.status = status,
                  .ctype = "application/json",
                  .request_id = request_id,
                  .no_store = true,
                  .keep_alive = false,
                  .head = ri != NULL && ri->request_method != NULL
                          && strcmp(ri->request_method, "HEAD") == 0,
                  .extra = extra};
    const char *text = "{}";
    size_t len = 2;

    if (doc != NULL)
        text = json_object_to_json_string_length(doc, WEB_JSON_FLAGS, &len);
    int rc = write_response(conn, NULL, &h, text, len);
    json_object_put(doc);
    return rc == 0 && !h.head ? len : 0;
}

/* ---- replies ---- */

static bool
is_json_type(const char *ct)
{
    static const char want[] = "application/json";

    if (ct == NULL)
        return false;
    ct += strspn(ct, " \t");
    if (strncasecmp(ct, want, sizeof(want) - 1) != 0)
        return false;
    ct += sizeof(want) - 1;
    ct += strspn(ct, " \t");
    return *ct == '\0' || *ct == ';';
}

static bool
has_body(const web_req *r)
{
    const char *te = web__header(r, "Transfer-Encoding");

    return r->ri->content_length > 0 || (te != NULL && strcasestr(te, "chunked") != NULL);
}

static bool
expects_continue(const web_req *r)
{
    const char *e = web__header(r, "Expect");

    return e != NULL && strcasecmp(e, "100-continue") == 0;
}

/* Read and throw away what is left of a body too large to take, up to
 * WEB_DRAIN_FACTOR times the limit in all. civetweb closes a connection
 * without reading what the client still sends, and Linux answers unread
 * data on close with a reset, which can reach the client before it has read
 * the 413 and make it report a send error instead. nginx's lingering close
 * does the same for the same reason. A body larger still is not waited for. */
static void
drain_body(web_req *r, size_t already)
{
    size_t budget = r->srv->max_body * WEB_DRAIN_FACTOR;
    char scratch[4096];

    while (already < budget) {
        size_t room = budget - already < sizeof(scratch) ? budget - already : sizeof(scratch);
        int n = mg_read(r->conn, scratch, room);
        if (n <= 0)
            return;
        already += (size_t)n;
    }
}

/* Read the request body, keeping it in r->body when keep. Returns 0, 413 when
 * it is larger than max_body (drained when not much larger, see drain_body),
 * 500 when out of memory, or 400 when the connection failed. Anything but 0
 * may leave the body partly unread, so the connection is then closed after
 * the reply. */
static int
read_body(web_req *r, bool keep)
{
    size_t max = r->srv->max_body, total = 0, cap = 0;
    long long cl = r->ri->content_length;
    char scratch[4096];

    r->body_done = true;
    if (cl > (long long)max) {
        r->must_close = true;
        /* a client waiting for 100 Continue sends nothing more: no drain */
        if (!expects_continue(r) && cl <= (long long)(max * WEB_DRAIN_FACTOR))
            drain_body(r, 0);
        return 413;
    }
    if (!has_body(r))
        return 0;
    /* civetweb leaves the interim response to us: without it, clients that
     * ask for it (curl, for large bodies) wait a second before sending */
    if (expects_continue(r))
        mg_printf(r->conn, "HTTP/1.1 100 Continue\r\n\r\n");
    for (;;) {
        char *dst = scratch;
        size_t room = sizeof(scratch);
        if (keep) {
            if (r->body_len == cap) {
                /* cap never exceeds max + 1: one byte past the limit tells 413 */
                size_t ncap = cap == 0 ? (cl > 0 ? (size_t)cl + 1 : 16384) : cap * 2;
                ncap = ncap > max + 1 ? max + 1 : ncap;
                char *nb = realloc(r->body, ncap);
                if (nb == NULL) {
                    r->must_close = true;
                    return 500;
                }
                r->body = nb;
                cap = ncap;
            }
            dst = r->body + r->body_len;
            room = cap - r->body_len;
        }
        int n = mg_read(r->conn, dst, room);
        if (n < 0) {
            r->must_close = true;
            return 400;
        }
        if (n == 0)
            return 0;
        total += (size_t)n;
        if (keep)
            r->body_len += (size_t)n;
        if (total > max) {
            r->must_close = true;
            drain_body(r, total);
            return 413;
        }
    }
}

/* What civetweb will do with the connection after this request (its
 * should_keep_alive), so that the Connection header tells the truth. */
bool
web__keep_alive(const web_req *r, int status)
{
    const char *c = web__header(r, "Connection");

    if (r->must_close || status == 401) /* civetweb always closes after a 401 */
        return false;
    if (c != NULL)
        return strcasestr(c, "keep-alive") != NULL;
    return r->ri->http_version != NULL && strcmp(r->ri->http_version, "1.1") == 0;
}

static int
send_reply(web_req *r, int status, const char *ctype, const char *body, size_t len,
           const char *const *extra, bool no_store)
{
    if (r->replied) {
        log_error("second reply (status %d) to %s %s ignored", status, r->method,
                  r->route != NULL ? r->route->pattern : "unmatched");
        return -1;
    }
    r->replied = true;
    r->status = status;
    /* An unread body would be parsed as the next request: drain it now (within
     * the limit), or close the connection after this reply. A client waiting
     * for 100 Continue has not sent it: do not ask for it just to drop it;
     * after a 401 civetweb closes anyway. */
    if (!r->body_done && (expects_continue(r) || status == 401))
        r->body_done = r->must_close = true;
    else if (!r->body_done)
        (void)read_body(r, false);
    if (strpbrk(ctype, "\r\n") != NULL) {
        log_error("invalid content type replaced");
        ctype = "application/octet-stream";
    }
    web_head h = {.status = status,
                  .ctype = ctype,
                  .request_id = r->request_id,
                  .no_store = no_store,
                  .keep_alive = web__keep_alive(r, status),
                  .head = r->head,
                  .extra = extra,
                  .added = r->added,
                  .added_len = r->added_len};
    if (write_response(r->conn, r, &h, body, len) != 0) {
        /* The client went away, or the answer could not be framed: the
         * connection cannot carry another request. */
        if (r->conn != NULL)
            mg_disable_connection_keep_alive(r->conn);
        else
            r->out_failed = true;
        log_warn("the answer (status %d) could not be written", status);
        return -1;
    }
    r->bytes_out = r->head ? 0 : len;
    return 0;
}

static int
error_reply(web_req *r, int status, const char *code, const char *field, const char *message,
            const char *const *extra)
{
    json_object *doc = error_doc(code, message, field, r->request_id);
    size_t len = 0;
    const char *text;
    int rc;

    if (doc == NULL)
        return send_reply(r, 500, "application/json", "{}", 2, NULL, true);
    text = json_object_to_json_string_length(doc, WEB_JSON_FLAGS, &len);
    rc = send_reply(r, status, "application/json", text, len, extra, true);
    json_object_put(doc);
    return rc;
}

int
web__req_error(web_req *r, int status, const char *code, const char *message,
               const char *const *extra)
{
    return error_reply(r, status, code, NULL, message, extra);
}

int
web_reply(web_req *r, int status, const char *content_type, const char *body, size_t len,
          const char *const *extra_headers)
{
    bool no_store = is_json_type(content_type);

    for (size_t i = 0; no_store && extra_headers != NULL && extra_headers[i] != NULL; i++)
        no_store = strncasecmp(extra_headers[i], "Cache-Control:", 14) != 0;
    return send_reply(r, status, content_type != NULL ? content_type : "application/octet-stream",
                      body, body != NULL ? len : 0, extra_headers, no_store);
}

int
web_reply_json(web_req *r, int status, json_object *obj)
{
    size_t len = 0;
    const char *text;
    int rc;

    if (obj == NULL) {
        log_error("reply without a JSON body (out of memory?)");
        return error_reply(r, 500, "internal_error", NULL, "internal error", NULL);
    }
    text = json_object_to_json_string_length(obj, WEB_JSON_FLAGS, &len);
    rc = send_reply(r, status, "application/json", text, len, NULL, true);
    json_object_put(obj);
    return rc;
}

int
web_reply_error(web_req *r, int status, const char *code, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    return error_reply(r, status, code != NULL ? code : web_status_code_name(status), NULL, msg,
                       NULL);
}

int
web_reply_invalid(web_req *r, const js_err *err)
{
    return error_reply(r, 400, "invalid_request", err->field, err->message, NULL);
}

bool
web_replied(const web_req *r)
{
    return r->replied;
}

/* ---- the pipeline ---- */

/* Refuse requests whose framing two HTTP parsers could read differently
 * (RFC 9112 section 6.3): a front proxy and civetweb disagreeing on where a
 * body ends is how a second request gets smuggled in. Also refuse a request
 * with as many headers as civetweb keeps: later ones, a Content-Length among
 * them, would be dropped without a word. Returns 0, 400 or 431, and sets
 * *why. */
static int
framing_check(const web_req *r, const char **why)
{
    int cl = 0, te = 0;

    if (r->ri->num_headers >= MG_MAX_HEADERS) {
        *why = "too many request headers";
        return 431;
    }
    for (int i = 0; i < r->ri->num_headers; i++) {
        const char *name = r->ri->http_headers[i].name;
        const char *value = r->ri->http_headers[i].value;
        if (strcasecmp(name, "Content-Length") == 0) {
            cl++;
            size_t n = strspn(value, "0123456789");
            if (n == 0 || n > 18 || value[n] != '\0') {
                *why = "invalid Content-Length";
                return 400;
            }
        } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
            te++;
            if (strcasecmp(value, "chunked") != 0) {
                *why = "unsupported Transfer-Encoding";
                return 400;
            }
        }
    }
    if (cl > 1 || te > 1 || (cl > 0 && te > 0)) {
        *why = "ambiguous message framing (Content-Length and Transfer-Encoding)";
        return 400;
    }
    return 0;
}

bool
web__req_front(web_req *r)
{
    const char *why;
    int st;

    /* Before anything else, and the connection is closed after the answer:
     * the bytes that follow cannot be trusted to be a request. */
    if ((st = framing_check(r, &why)) != 0) {
        r->must_close = true;
        r->body_done = true;
        web_reply_error(r, st, st == 431 ? "request_header_fields_too_large" : "bad_request", "%s",
                        why);
        return false;
    }
    if (strlen(r->path) > ROUTE_MAX_PATH) {
        web_reply_error(r, 414, web_status_code_name(414), "request path longer than %d bytes",
                        ROUTE_MAX_PATH);
        return false;
    }
    /* civetweb refuses raw CR and LF itself; escaped ones would reach a
     * handler (and anything it forwards to) decoded. */
    if (web__uri_check(r->ri, &why) != 0) {
        web__req_error(r, 400, "bad_request", why, NULL);
        return false;
    }
    if (r->srv->before != NULL && r->srv->before(r) != 0) {
        if (r->deferred && r->conn == NULL && !r->replied)
            return false; /* the loop hands it to civetweb */
        if (!r->replied) {
            log_error("the before hook stopped %s without replying", r->method);
            web_reply_error(r, 500, "internal_error", "internal error");
        }
        return false;
    }
    return true;
}

/* Everything before the handler: the front checks, route, guard, body.
 * Returns true when the handler should run (false: a reply was sent). */
bool
web__prepare(web_req *r)
{
    web_server *s = r->srv;
    char m[40], p[WEB_MSG_PATH_MAX + 1];
    const char *code, *msg;
    int st;

    if (!web__req_front(r))
        return false;
    route_result rr =
        r->routed ? ROUTE_FOUND : route_find(s->routes, r->method, r->path, &r->match);
    /* A caller without the internal token learns nothing about the routes:
     * it gets 401 for an unknown path as for a known one. */
    if (rr != ROUTE_FOUND
        && web__guard(s, web__header(r, "X-Internal-Token"), &code, &msg) == 401) {
        web__req_error(r, 401, code, msg, NULL);
        return false;
    }
    if (rr != ROUTE_FOUND) { /* method and path as a message may quote them */
        web__sanitize(r->method, 32, m, sizeof(m));
        web__sanitize(r->path, WEB_MSG_PATH_MAX, p, sizeof(p));
    }
    if (rr == ROUTE_NOT_FOUND) {
        web_reply_error(r, 404, "not_found", "no route for %s %s", m, p);
        return false;
    }
    if (rr == ROUTE_METHOD_NOT_ALLOWED) {
        char allow[160];
        snprintf(allow, sizeof(allow), "Allow: %s", r->match.allow);
        const char *extra[] = {allow, NULL};
        char text[300];
        snprintf(text, sizeof(text), "method %s not allowed on %s", m, p);
        web__req_error(r, 405, "method_not_allowed", text, extra);
        return false;
    }
    r->route = r->match.data;
    if ((r->route->flags & WEB_PUBLIC) == 0
        && (st = web__guard(s, web__header(r, "X-Internal-Token"), &code, &msg)) != 0) {
        const char *extra[] = {"Retry-After: 1", NULL};
        web__req_error(r, st, code, msg, st == 503 ? extra : NULL);
        return false;
    }
    st = read_body(r, (r->route->flags & (WEB_JSON_BODY | WEB_RAW_BODY)) != 0);
    if (st == 413) {
        web_reply_error(r, 413, "payload_too_large", "request body larger than %zu bytes",
                        s->max_body);
        return false;
    }
    if (st != 0) {
        web_reply_error(r, st, web_status_code_name(st), "the request body could not be read");
        return false;
    }
    if ((r->route->flags & WEB_JSON_BODY) != 0 && r->body_len > 0) {
        js_err err;
        if (!is_json_type(web__header(r, "Content-Type"))) {
            web_reply_error(r, 415, "unsupported_media_type",
                            "request body must be application/json");
            return false;
        }
        if (js_parse(r->body, r->body_len, &r->json, &err) != JS_OK) {
            web__req_error(r, 400, "invalid_json", err.message, NULL);
            return false;
        }
    }
    return true;
}

void
web__req_setup(web_req *r, struct mg_connection *conn, web_server *s,
               const struct mg_request_info *ri, bool upgrade)
{
    /* Not the whole struct: the added-headers buffer is only read up to
     * added_len. An event loop's output buffer is kept for the next
     * request. */
    char *out = r->out;
    size_t out_cap = r->out_cap;
    memset(r, 0, offsetof(web_req, added));
    if (conn == NULL) {
        r->out = out;
        r->out_cap = out_cap;
    }
    r->conn = conn;
    r->srv = s;
    r->ri = ri;
    r->start_ns = util_mono_ns();
    r->method = r->ri->request_method != NULL ? r->ri->request_method : "";
    r->path = r->ri->local_uri != NULL ? r->ri->local_uri : "";
    r->head = strcmp(r->method, "HEAD") == 0;
    r->upgrade = upgrade;
    /* An upgrade request has no body to read, and its connection is not
     * reused for HTTP when it is refused. */
    r->body_done = upgrade;
    r->must_close = upgrade;
    web__request_id(web__header(r, "X-Request-Id"), r->request_id);
    /* Only civetweb's connections can be a front's relays; an event loop's
     * client from 127.0.0.1 may use the same port number towards another
     * address. */
    if (conn != NULL)
        web__peer(s, ri->remote_addr, ri->remote_port, r->remote);
    else
        util_strlcpy(r->remote, ri->remote_addr, sizeof(r->remote));
    log_set_request_id(r->request_id);
}

void
web__req_init(web_req *r, struct mg_connection *conn, web_server *s, bool upgrade)
{
    web__req_setup(r, conn, s, mg_get_request_info(conn), upgrade);
}

void
web__req_end(web_req *r)
{
    if (r->ctx_release != NULL && r->ctx != NULL)
        r->ctx_release(r->ctx);
    r->ctx = NULL;
    json_object_put(r->json);
    r->json = NULL;
    if (!r->body_borrowed)
        free(r->body);
    r->body = NULL;
    log_set_request_id(NULL);
}

int
web__handle_request(struct mg_connection *conn, void *cbdata)
{
    web_req r;
    web_server *s = cbdata;

    __atomic_add_fetch(&s->inflight, 1, __ATOMIC_ACQ_REL);
    web__req_init(&r, conn, s, false);
    if (web__prepare(&r)) {
        int rc = r.route->handler(&r);
        if (!r.replied) {
            log_error("handler for %s %s returned %d without replying", r.method, r.route->pattern,
                      rc);
            web_reply_error(&r, 500, "internal_error", "internal error");
        }
    }
    web__account(s, r.route != NULL && (r.route->flags & WEB_QUIET) != 0, r.method,
                 r.route != NULL ? r.route->pattern : "unmatched", r.path, r.status, r.start_ns,
                 r.bytes_out, r.remote);
    int status = r.status > 0 && r.status < 1000 ? r.status : 500;
    web__req_end(&r);
    __atomic_sub_fetch(&s->inflight, 1, __ATOMIC_ACQ_REL);
    return status;
}
