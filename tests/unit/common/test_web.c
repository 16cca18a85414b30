/* Tests for web: a real server on a free port, libcurl as the HTTP client and a
 * small raw-socket WebSocket client. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/mman.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* cmocka.h needs setjmp.h, stdarg.h and stddef.h first */
#include <cmocka.h>
#include <curl/curl.h>

#include "log.h"
#include "metrics.h"
#include "util.h"
#include "web.h"

/* ---- server fixture ---- */

typedef struct fixture {
    web_server *srv;
    metrics_registry *reg;
    int port;
} fixture;

static int log_fd = -1; /* every log line of the binary, read back by the tests */

static int
h_item(web_req *r)
{
    char q[64];
    json_object *o = json_object_new_object();

    json_object_object_add(o, "id", json_object_new_string(web_param(r, "id")));
    json_object_object_add(o, "part", json_object_new_string(web_param(r, "part")));
    json_object_object_add(o, "route", json_object_new_string(web_route_pattern(r)));
    json_object_object_add(o, "method", json_object_new_string(web_method(r)));
    json_object_object_add(o, "path", json_object_new_string(web_path(r)));
    json_object_object_add(o, "qs", json_object_new_string(web_query_string(r)));
    const char *v = web_query(r, "v", q, sizeof(q));
    json_object_object_add(o, "v", v != NULL ? json_object_new_string(v) : NULL);
    const char *tp = web_header(r, "traceparent");
    json_object_object_add(o, "traceparent", tp != NULL ? json_object_new_string(tp) : NULL);
    return web_reply_json(r, 200, o);
}

static int
h_echo_json(web_req *r)
{
    json_object *b = web_body_json(r);
    json_object *o = json_object_new_object();

    json_object_object_add(o, "body", b != NULL ? json_object_get(b) : NULL);
    json_object_object_add(o, "empty", json_object_new_boolean(b == NULL));
    return web_reply_json(r, 201, o);
}

static int
h_raw(web_req *r)
{
    size_t len = 0;
    const char *b = web_body(r, &len);
    char n[32];

    snprintf(n, sizeof(n), "X-Body-Len: %zu", len);
    const char *extra[] = {n, NULL};
    return web_reply(r, 200, "application/octet-stream", b, len, extra);
}

static int
h_plain(web_req *r)
{
    static const char text[] = "hello, world\n";

    return web_reply(r, 200, "text/plain", text, sizeof(text) - 1, NULL);
}

static int
h_silent(web_req *r)
{
    (void)r;
    return 0;
}

static int twice_result; /* 1: the second reply was refused (set after the reply went out) */

static int
h_twice(web_req *r)
{
    bool replied_before = web_replied(r);

    web_reply(r, 202, "text/plain", "first", 5, NULL);
    int rc = web_reply(r, 200, "text/plain", "second", 6, NULL);
    __atomic_store_n(&twice_result, !replied_before && web_replied(r) && rc == -1 ? 1 : 2,
                     __ATOMIC_RELEASE);
    return 0;
}

static int
h_invalid(web_req *r)
{
    js_err e;

    js_fail(&e, "priority", "field 'priority': must be an integer between 1 and 5");
    return web_reply_invalid(r, &e);
}

static const web_route routes[] = {
    {"GET", "/items/{id}/parts/{part}", h_item, 0, NULL},
    {"POST", "/items/{id}/parts/{part}", h_item, 0, NULL},
    {"POST", "/json", h_echo_json, WEB_JSON_BODY, NULL},
    {"PUT", "/raw", h_raw, WEB_RAW_BODY, NULL},
    {"POST", "/plain", h_plain, 0, NULL},
    {"GET", "/plain", h_plain, 0, NULL},
    {"GET", "/live", h_plain, WEB_PUBLIC | WEB_QUIET, NULL},
    {"GET", "/silent", h_silent, 0, NULL},
    {"GET", "/twice", h_twice, 0, NULL},
    {"GET", "/invalid", h_invalid, 0, NULL},
};

/* ---- WebSocket routes ---- */

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    web_ws *ws; /* referenced while open */
    int connects, readies, closes, messages;
    char room[64], hdr[64], rid[129];
} wss = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static int
ws_on_connect(web_ws *ws)
{
    const char *h = web_ws_header(ws, "X-Test");

    pthread_mutex_lock(&wss.mu);
    wss.connects++;
    util_strlcpy(wss.room, web_ws_param(ws, "room"), sizeof(wss.room));
    util_strlcpy(wss.hdr, h != NULL ? h : "", sizeof(wss.hdr));
    util_strlcpy(wss.rid, web_ws_request_id(ws), sizeof(wss.rid));
    pthread_mutex_unlock(&wss.mu);
    return strcmp(web_ws_param(ws, "room"), "forbidden") == 0 ? 403 : 0;
}

static void
ws_on_ready(web_ws *ws)
{
    char hello[96];
    int n = snprintf(hello, sizeof(hello), "hello %s", web_ws_param(ws, "room"));

    web_ws_ref(ws);
    pthread_mutex_lock(&wss.mu);
    wss.ws = ws;
    wss.readies++;
    pthread_cond_broadcast(&wss.cv);
    pthread_mutex_unlock(&wss.mu);
    (void)web_ws_send_text(ws, hello, (size_t)n); /* the client checks it arrives */
}

static int
ws_on_message(web_ws *ws, const char *data, size_t len, bool binary)
{
    char out[128];

    pthread_mutex_lock(&wss.mu);
    wss.messages++;
    pthread_mutex_unlock(&wss.mu);
    if (len == 4 && memcmp(data, "quit", 4) == 0)
        return 1;
    if (len > 100) { /* report the size of big (reassembled) messages */
        int n = snprintf(out, sizeof(out), "len %zu", len);
        return web_ws_send_text(ws, out, (size_t)n) == 0 ? 0 : 1;
    }
    int n = snprintf(out, sizeof(out), "%s:%.*s", binary ? "bin" : "echo", (int)len, data);
    return web_ws_send_text(ws, out, (size_t)n) == 0 ? 0 : 1;
}

static void
ws_on_close(web_ws *ws)
{
    pthread_mutex_lock(&wss.mu);
    wss.closes++;
    pthread_cond_broadcast(&wss.cv);
    pthread_mutex_unlock(&wss.mu);
    (void)ws;
}

static const web_ws_route ws_routes[] = {
    {"/ws/{room}", ws_on_connect, ws_on_ready, ws_on_message, ws_on_close},
};

static void
start_server_with(fixture *f, const char *token, bool ready, int threads)
{
    char err[256] = "";

    memset(f, 0, sizeof(*f));
    f->reg = metrics_registry_new();
    assert_non_null(f->reg);
    web_config cfg = {
        .service = "test", .threads = threads, .internal_token = token, .metrics = f->reg};
    f->srv = web_server_new(&cfg);
    assert_non_null(f->srv);
    assert_int_equal(web_server_add_routes(f->srv, routes, sizeof(routes) / sizeof(routes[0])), 0);
    assert_int_equal(web_server_add_ws(f->srv, ws_routes, 1), 0);
    assert_int_equal(web_server_start(f->srv, err, sizeof(err)), 0);
    f->port = web_server_port(f->srv);
    assert_true(f->port > 0);
    web_server_set_ready(f->srv, ready);
}

static void
start_server(fixture *f, const char *token, bool ready)
{
    start_server_with(f, token, ready, 8);
}

static void
stop_server(fixture *f)
{
    web_server_free(f->srv);
    metrics_registry_free(f->reg);
}

static int
setup(void **state)
{
    static fixture f;

    start_server(&f, NULL, true);
    *state = &f;
    return 0;
}

static int
teardown(void **state)
{
    stop_server(*state);
    return 0;
}

/* ---- HTTP client ---- */

typedef struct resp {
    long status;
    char body[4096];
    size_t len;
    char headers[4096];
    size_t hlen;
    long connects;
    bool continued; /* an interim "100 Continue" came first */
} resp;

static size_t
on_body(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    size_t len = sz * n, room = sizeof(r->body) - 1 - r->len;

    memcpy(r->body + r->len, p, len < room ? len : room);
    r->len += len < room ? len : room;
    r->body[r->len] = '\0';
    return len;
}

static size_t
on_header(char *p, size_t sz, size_t n, void *ud)
{
    resp *r = ud;
    size_t len = sz * n, room = sizeof(r->headers) - 1 - r->hlen;

    if (len > 5 && strncmp(p, "HTTP/", 5) == 0) { /* a new response (after 100): start over */
        r->continued |= strncmp(p, "HTTP/1.1 100 ", 13) == 0;
        r->hlen = 0;
        room = sizeof(r->headers) - 1;
    }
    memcpy(r->headers + r->hlen, p, len < room ? len : room);
    r->hlen += len < room ? len : room;
    r->headers[r->hlen] = '\0';
    return len;
}

/* Body streamed with an unknown size, so curl sends it chunked. */
typedef struct upload {
    size_t left;
} upload;

static size_t
on_read(char *p, size_t sz, size_t n, void *ud)
{
    upload *u = ud;
    size_t len = sz * n < u->left ? sz * n : u->left;

    memset(p, 'x', len);
    u->left -= len;
    return len;
}

/* One request; h may be a reused handle (keep-alive) or NULL. chunked > 0
 * streams that many bytes chunked instead of body. */
static CURLcode
http_on(CURL *h, int port, const char *method, const char *path, const char *const *hdrs,
        const char *body, size_t blen, size_t chunked, resp *out)
{
    CURL *own = h == NULL ? curl_easy_init() : NULL;
    struct curl_slist *list = NULL;
    char url[512];
    upload up = {chunked};
    CURLcode rc;

    if (own != NULL)
        h = own;
    memset(out, 0, sizeof(*out));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", port, path);
    curl_easy_reset(h);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PATH_AS_IS, 1L);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, 20L);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, out);
    curl_easy_setopt(h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(h, CURLOPT_HEADERDATA, out);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
    else
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    if (chunked > 0) {
        list = curl_slist_append(list, "Transfer-Encoding: chunked");
        curl_easy_setopt(h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(h, CURLOPT_READDATA, &up);
        curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
    } else if (body != NULL) {
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)blen);
    }
    for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
        list = curl_slist_append(list, hdrs[i]);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, list);
    rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &out->status);
    curl_easy_getinfo(h, CURLINFO_NUM_CONNECTS, &out->connects);
    curl_slist_free_all(list);
    curl_easy_cleanup(own);
    return rc;
}

static long
http(int port, const char *method, const char *path, const char *const *hdrs, const char *body,
     resp *out)
{
    CURLcode rc =
        http_on(NULL, port, method, path, hdrs, body, body != NULL ? strlen(body) : 0, 0, out);

    assert_int_equal(rc, CURLE_OK);
    return out->status;
}

/* The value of a response header (case-insensitive name) into buf, or NULL. */
static const char *
header(const resp *r, const char *name, char *buf, size_t cap)
{
    size_t n = strlen(name);

    for (const char *l = r->headers; l != NULL && *l != '\0';
         l = strchr(l, '\n'), l = l ? l + 1 : l) {
        if (strncasecmp(l, name, n) == 0 && l[n] == ':') {
            const char *v = l + n + 1 + strspn(l + n + 1, " ");
            size_t len = strcspn(v, "\r\n");
            snprintf(buf, cap, "%.*s", (int)len, v);
            return buf;
        }
    }
    return NULL;
}

static void
assert_header(const resp *r, const char *name, const char *want)
{
    char buf[256];
    const char *got = header(r, name, buf, sizeof(buf));

    if (want == NULL) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
}

static json_object *
body_json(const resp *r)
{
    json_object *o = json_tokener_parse(r->body);

    assert_non_null(o);
    return o;
}

static const char *
jstr(json_object *o, const char *a, const char *b)
{
    json_object *v = NULL;

    assert_true(json_object_object_get_ex(o, a, &v));
    if (b != NULL)
        assert_true(json_object_object_get_ex(v, b, &v));
    return json_object_get_string(v);
}

static int64_t
deadline_ms(int ms)
{
    return util_mono_ns() + (int64_t)ms * 1000000;
}

static void
pause_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000};

    nanosleep(&ts, NULL);
}

/* ---- tests: routing and errors ---- */

static void
test_params_reach_handler(void **state)
{
    fixture *f = *state;
    resp r;
    const char *hdrs[] = {"traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                          NULL};

    assert_int_equal(http(f->port, "GET", "/items/a%20b/parts/7?v=x+y%21&w=1", hdrs, NULL, &r),
                     200);
    json_object *o = body_json(&r);
    assert_string_equal(jstr(o, "id", NULL), "a b");
    assert_string_equal(jstr(o, "part", NULL), "7");
    assert_string_equal(jstr(o, "route", NULL), "/items/{id}/parts/{part}");
    assert_string_equal(jstr(o, "method", NULL), "GET");
    assert_string_equal(jstr(o, "path", NULL), "/items/a%20b/parts/7");
    assert_string_equal(jstr(o, "qs", NULL), "v=x+y%21&w=1");
    assert_string_equal(jstr(o, "v", NULL), "x y!");
    assert_string_equal(jstr(o, "traceparent", NULL),
                        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    json_object_put(o);
    assert_header(&r, "Content-Type", "application/json");
    assert_header(&r, "Cache-Control", "no-store");
    char cl[16];
    snprintf(cl, sizeof(cl), "%zu", r.len);
    assert_header(&r, "Content-Length", cl);
    assert_header(&r, "Access-Control-Allow-Origin", NULL); /* civetweb adds no CORS of its own */
}

static void
test_not_found_and_method_not_allowed(void **state)
{
    fixture *f = *state;
    resp r;
    const char *hdrs[] = {"X-Request-Id: req-404", NULL};

    assert_int_equal(http(f->port, "GET", "/nope/x", hdrs, NULL, &r), 404);
    assert_string_equal(r.body, "{\"error\":{\"code\":\"not_found\",\"message\":\"no route for "
                                "GET /nope/x\",\"request_id\":\"req-404\"}}");
    assert_header(&r, "Content-Type", "application/json");

    hdrs[0] = "X-Request-Id: req-405";
    assert_int_equal(http(f->port, "DELETE", "/items/1/parts/2", hdrs, NULL, &r), 405);
    assert_string_equal(r.body, "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"method "
                                "DELETE not allowed on /items/1/parts/2\",\"request_id\":"
                                "\"req-405\"}}");
    assert_header(&r, "Allow", "GET, HEAD, POST");

    /* the path is quoted, escaped and truncated to 200 bytes */
    char path[400] = "/\"q";
    memset(path + 3, 'a', 300);
    path[303] = '\0';
    assert_int_equal(http(f->port, "GET", path, NULL, NULL, &r), 404);
    json_object *o = body_json(&r);
    const char *msg = jstr(o, "error", "message");
    assert_int_equal(strlen(msg), strlen("no route for GET ") + 200);
    assert_memory_equal(msg, "no route for GET /\"qaaa", 23);
    json_object_put(o);

    /* web_reply_invalid adds the field */
    assert_int_equal(http(f->port, "GET", "/invalid", NULL, NULL, &r), 400);
    o = body_json(&r);
    assert_string_equal(jstr(o, "error", "code"), "invalid_request");
    assert_string_equal(jstr(o, "error", "field"), "priority");
    assert_string_equal(jstr(o, "error", "message"),
                        "field 'priority': must be an integer between 1 and 5");
    json_object_put(o);
}

static void
test_body_too_large(void **state)
{
    fixture *f = *state;
    size_t big = 2u * 1024 * 1024;
    char *body = malloc(big);
    const char *ct[] = {"Content-Type: application/json", NULL};
    const char *noexpect[] = {"Content-Type: application/json", "Expect:", NULL};
    resp r;

    assert_non_null(body);
    memset(body, ' ', big);
    /* Content-Length over the limit: curl waits for 100-continue, gets 413 */
    assert_int_equal(http_on(NULL, f->port, "POST", "/json", ct, body, big, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 413);
    assert_false(r.continued); /* the body was not asked for */
    assert_header(&r, "Connection", "close");
    json_object *o = body_json(&r);
    assert_string_equal(jstr(o, "error", "code"), "payload_too_large");
    json_object_put(o);
    /* the same with the body sent at once, on a route that ignores bodies */
    assert_int_equal(http_on(NULL, f->port, "POST", "/plain", noexpect, body, big, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 413);
    /* chunked: read up to the limit */
    assert_int_equal(http_on(NULL, f->port, "PUT", "/raw", NULL, NULL, 0, big, &r), CURLE_OK);
    assert_int_equal(r.status, 413);
    assert_header(&r, "Connection", "close");
    /* exactly at the limit is fine, chunked and not */
    assert_int_equal(http_on(NULL, f->port, "PUT", "/raw", NULL, NULL, 0, WEB_MAX_BODY, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_header(&r, "X-Body-Len", "1048576");
    assert_int_equal(http_on(NULL, f->port, "PUT", "/raw", noexpect, body, WEB_MAX_BODY, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_header(&r, "X-Body-Len", "1048576");
    free(body);
}

static void
test_json_bodies(void **state)
{
    fixture *f = *state;
    resp r;
    const char *text[] = {"Content-Type: text/plain", NULL};
    const char *json[] = {"Content-Type: Application/JSON; charset=utf-8", NULL};

    assert_int_equal(http(f->port, "POST", "/json", text, "{\"a\":1}", &r), 415);
    json_object *o = body_json(&r);
    assert_string_equal(jstr(o, "error", "code"), "unsupported_media_type");
    json_object_put(o);

    assert_int_equal(http(f->port, "POST", "/json", json, "{\"a\": tru}", &r), 400);
    o = body_json(&r);
    assert_string_equal(jstr(o, "error", "code"), "invalid_json");
    assert_non_null(strstr(jstr(o, "error", "message"), "invalid JSON at byte "));
    json_object_put(o);

    assert_int_equal(http(f->port, "POST", "/json", json, "{\"a\": [1, \"x\"]}", &r), 201);
    o = body_json(&r);
    assert_string_equal(jstr(o, "body", NULL), "{ \"a\": [ 1, \"x\" ] }");
    json_object_put(o);

    /* a client that asks first is told to go on (civetweb would not) */
    const char *expect[] = {"Content-Type: application/json", "Expect: 100-continue", NULL};
    assert_int_equal(http(f->port, "POST", "/json", expect, "{\"b\":true}", &r), 201);
    assert_true(r.continued);
    o = body_json(&r);
    assert_string_equal(jstr(o, "body", NULL), "{ \"b\": true }");
    json_object_put(o);

    /* no body at all: NULL, whatever the type */
    assert_int_equal(http(f->port, "POST", "/json", text, "", &r), 201);
    o = body_json(&r);
    json_object *e = NULL;
    assert_true(json_object_object_get_ex(o, "empty", &e));
    assert_true(json_object_get_boolean(e));
    json_object_put(o);
}

static void
test_request_id(void **state)
{
    fixture *f = *state;
    resp r;
    char buf[256];
    const char *good[] = {"X-Request-Id: abc.DEF_1:2-3", NULL};
    const char *bad[] = {"X-Request-Id: has space", NULL};
    char longid[160] = "X-Request-Id: ";

    assert_int_equal(http(f->port, "GET", "/plain", good, NULL, &r), 200);
    assert_header(&r, "X-Request-Id", "abc.DEF_1:2-3");

    assert_int_equal(http(f->port, "GET", "/plain", NULL, NULL, &r), 200);
    assert_true(util_uuid_valid(header(&r, "X-Request-Id", buf, sizeof(buf))));
    assert_int_equal(strlen(buf), 36);

    assert_int_equal(http(f->port, "GET", "/plain", bad, NULL, &r), 200);
    assert_true(util_uuid_valid(header(&r, "X-Request-Id", buf, sizeof(buf))));

    memset(longid + 14, 'a', 129);
    const char *toolong[] = {longid, NULL};
    assert_int_equal(http(f->port, "GET", "/plain", toolong, NULL, &r), 200);
    assert_true(util_uuid_valid(header(&r, "X-Request-Id", buf, sizeof(buf))));
    longid[14 + 128] = '\0'; /* 128 is still fine */
    assert_int_equal(http(f->port, "GET", "/plain", toolong, NULL, &r), 200);
    assert_int_equal(strlen(header(&r, "X-Request-Id", buf, sizeof(buf))), 128);

    /* errors carry the same id in the body */
    assert_int_equal(http(f->port, "GET", "/nope", NULL, NULL, &r), 404);
    json_object *o = body_json(&r);
    assert_string_equal(jstr(o, "error", "request_id"),
                        header(&r, "X-Request-Id", buf, sizeof(buf)));
    json_object_put(o);
}

static void
test_no_reply_gives_500_and_second_reply_ignored(void **state)
{
    fixture *f = *state;
    resp r;

    assert_int_equal(http(f->port, "GET", "/silent", NULL, NULL, &r), 500);
    json_object *o = body_json(&r);
    assert_string_equal(jstr(o, "error", "code"), "internal_error");
    json_object_put(o);

    assert_int_equal(http(f->port, "GET", "/twice", NULL, NULL, &r), 202);
    assert_string_equal(r.body, "first");
    for (int64_t end = deadline_ms(5000);
         __atomic_load_n(&twice_result, __ATOMIC_ACQUIRE) == 0 && util_mono_ns() < end;)
        pause_ms(2);
    assert_int_equal(__atomic_load_n(&twice_result, __ATOMIC_ACQUIRE), 1);
}

static void
test_head(void **state)
{
    fixture *f = *state;
    resp r;

    assert_int_equal(http(f->port, "HEAD", "/plain", NULL, NULL, &r), 200);
    assert_int_equal(r.len, 0);
    assert_header(&r, "Content-Length", "13");
    assert_header(&r, "Content-Type", "text/plain");
    assert_int_equal(http(f->port, "HEAD", "/nope", NULL, NULL, &r), 404);
    assert_int_equal(r.len, 0);
}

static void
test_keep_alive(void **state)
{
    fixture *f = *state;
    CURL *h = curl_easy_init();
    resp r;

    assert_int_equal(http_on(h, f->port, "GET", "/plain", NULL, NULL, 0, 0, &r), CURLE_OK);
    assert_int_equal(r.connects, 1);
    assert_int_equal(http_on(h, f->port, "GET", "/items/1/parts/2", NULL, NULL, 0, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.connects, 0);
    /* an error reply before the body was read: the body is drained, the
     * connection stays usable */
    assert_int_equal(http_on(h, f->port, "POST", "/nope", NULL, "{\"x\":1}", 7, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.connects, 0);
    assert_int_equal(http_on(h, f->port, "POST", "/plain", NULL, "ignored", 7, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.connects, 0);
    assert_int_equal(http_on(h, f->port, "GET", "/plain", NULL, NULL, 0, 0, &r), CURLE_OK);
    assert_int_equal(r.connects, 0);
    assert_string_equal(r.body, "hello, world\n");
    curl_easy_cleanup(h);
}

/* ---- tests: guards ---- */

static void
test_internal_token(void **state)
{
    fixture f;
    resp r;
    const char *wrong[] = {"X-Internal-Token: nope", NULL};
    const char *right[] = {"X-Internal-Token: s3cret-token", NULL};

    (void)state;
    start_server(&f, "s3cret-token", true);
    assert_int_equal(http(f.port, "GET", "/plain", NULL, NULL, &r), 401);
    json_object *o = body_json(&r);
    assert_string_equal(jstr(o, "error", "code"), "unauthorized");
    json_object_put(o);
    assert_null(strstr(r.body, "nope"));
    assert_int_equal(http(f.port, "GET", "/plain", wrong, NULL, &r), 401);
    assert_null(strstr(r.body, "nope"));
    assert_int_equal(http(f.port, "GET", "/plain", right, NULL, &r), 200);
    assert_int_equal(http(f.port, "GET", "/live", NULL, NULL, &r), 200);
    /* Without the token, an unknown path or method says nothing more. */
    assert_int_equal(http(f.port, "GET", "/no/such/route", NULL, NULL, &r), 401);
    assert_int_equal(http(f.port, "DELETE", "/live", wrong, NULL, &r), 401);
    assert_int_equal(http(f.port, "GET", "/no/such/route", right, NULL, &r), 404);
    stop_server(&f);
}

static void
test_starting_then_ready(void **state)
{
    fixture f;
    resp r;

    (void)state;
    start_server(&f, NULL, false);
    assert_int_equal(http(f.port, "GET", "/plain", NULL, NULL, &r), 503);
    assert_header(&r, "Retry-After", "1");
    json_object *o = body_json(&r);
    assert_string_equal(jstr(o, "error", "code"), "starting");
    json_object_put(o);
    assert_int_equal(http(f.port, "GET", "/live", NULL, NULL, &r), 200);
    web_server_set_ready(f.srv, true);
    assert_int_equal(http(f.port, "GET", "/plain", NULL, NULL, &r), 200);
    stop_server(&f);
}

static void
test_port_busy(void **state)
{
    fixture *f = *state;
    char err[256] = "", want[96];
    web_config cfg = {.service = "busy", .port = f->port};
    web_server *s = web_server_new(&cfg);

    assert_non_null(s);
    assert_int_equal(web_server_start(s, err, sizeof(err)), -1);
    snprintf(want, sizeof(want), "port %d on 127.0.0.1 is already in use", f->port);
    assert_string_equal(err, want);
    web_server_free(s);

    cfg.bind = "not-an-address";
    s = web_server_new(&cfg);
    assert_int_equal(web_server_start(s, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "invalid HTTP listen address"));
    web_server_free(s);
}

/* ---- tests: metrics and access log ---- */

/* Wait (with a deadline) until the metrics text contains want: the server
 * accounts a request just after its reply went out. */
static bool
metrics_have(metrics_registry *reg, const char *want)
{
    for (int64_t end = deadline_ms(5000); util_mono_ns() < end; pause_ms(5)) {
        char *text = NULL;
        size_t len = 0;
        assert_int_equal(metrics_render(reg, &text, &len), 0);
        bool found = strstr(text, want) != NULL;
        if (!found && util_mono_ns() + 10000000 >= end)
            fprintf(stderr, "metrics:\n%s\n", text);
        free(text);
        if (found)
            return true;
    }
    return false;
}

static void
test_metrics(void **state)
{
    fixture f;
    resp r;

    (void)state;
    start_server(&f, NULL, true);
    assert_int_equal(http(f.port, "GET", "/items/1/parts/2", NULL, NULL, &r), 200);
    assert_int_equal(http(f.port, "GET", "/items/3/parts/4", NULL, NULL, &r), 200);
    assert_int_equal(http(f.port, "GET", "/nope/1", NULL, NULL, &r), 404);
    assert_int_equal(http(f.port, "PROPFIND", "/items/1/parts/2", NULL, NULL, &r), 405);
    assert_true(metrics_have(f.reg, "http_requests_total{service=\"test\",route=\"/items/{id}/"
                                    "parts/{part}\",method=\"GET\",code=\"200\"} 2\n"));
    assert_true(metrics_have(f.reg, "http_requests_total{service=\"test\",route=\"unmatched\","
                                    "method=\"GET\",code=\"404\"} 1\n"));
    assert_true(metrics_have(f.reg, "http_requests_total{service=\"test\",route=\"unmatched\","
                                    "method=\"OTHER\",code=\"405\"} 1\n"));
    assert_true(metrics_have(f.reg, "http_request_duration_seconds_count{service=\"test\",route="
                                    "\"/items/{id}/parts/{part}\",method=\"GET\"} 2\n"));
    stop_server(&f);
}

/* The log line with "msg":"request" and the given request id, parsed. */
static json_object *
find_access_line(const char *request_id)
{
    char needle[200];

    snprintf(needle, sizeof(needle), "\"request_id\":\"%s\"", request_id);
    for (int64_t end = deadline_ms(5000); util_mono_ns() < end; pause_ms(5)) {
        off_t size = lseek(log_fd, 0, SEEK_END);
        char *all = calloc(1, (size_t)size + 1);
        assert_non_null(all);
        assert_int_equal(pread(log_fd, all, (size_t)size, 0), size);
        for (char *line = strtok(all, "\n"); line != NULL; line = strtok(NULL, "\n")) {
            if (strstr(line, needle) != NULL && strstr(line, "\"msg\":\"request\"") != NULL) {
                json_object *o = json_tokener_parse(line);
                free(all);
                assert_non_null(o);
                return o;
            }
        }
        free(all);
    }
    fail_msg("no access log line for %s", request_id);
    return NULL;
}

static void
test_access_log(void **state)
{
    fixture *f = *state;
    resp r;
    const char *h1[] = {"X-Request-Id: access-1", NULL};
    const char *h2[] = {"X-Request-Id: access-2", NULL};
    json_object *v;

    assert_int_equal(http(f->port, "GET", "/items/9/parts/8?secret=x", h1, NULL, &r), 200);
    json_object *o = find_access_line("access-1");
    assert_string_equal(jstr(o, "level", NULL), "info");
    assert_string_equal(jstr(o, "method", NULL), "GET");
    assert_string_equal(jstr(o, "route", NULL), "/items/{id}/parts/{part}");
    assert_string_equal(jstr(o, "path", NULL), "/items/9/parts/8");
    assert_string_equal(jstr(o, "remote_addr", NULL), "127.0.0.1");
    assert_true(json_object_object_get_ex(o, "status", &v));
    assert_int_equal(json_object_get_int(v), 200);
    assert_true(json_object_object_get_ex(o, "bytes_out", &v));
    assert_int_equal(json_object_get_int(v), (int)r.len);
    assert_true(json_object_object_get_ex(o, "duration_ms", &v));
    assert_true(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int));
    assert_true(json_object_get_double(v) >= 0 && json_object_get_double(v) < 5000);
    json_object_put(o);

    /* quiet routes log at debug */
    assert_int_equal(http(f->port, "GET", "/live", h2, NULL, &r), 200);
    o = find_access_line("access-2");
    assert_string_equal(jstr(o, "level", NULL), "debug");
    assert_string_equal(jstr(o, "route", NULL), "/live");
    json_object_put(o);
}

/* ---- tests: WebSocket ---- */

static int
ws_connect_raw(int port, const char *path, const char *extra, char *head, size_t cap)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[1024];
    size_t n = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    assert_true(fd >= 0);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    int len = snprintf(req, sizeof(req),
                       "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
                       "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n%s\r\n",
                       path, extra != NULL ? extra : "");
    assert_int_equal(write(fd, req, (size_t)len), len);
    /* byte by byte up to the blank line: a frame may follow at once */
    while (n + 1 < cap && (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4) != 0)) {
        struct pollfd p = {fd, POLLIN, 0};
        assert_int_equal(poll(&p, 1, 5000), 1);
        if (read(fd, head + n, 1) != 1)
            break;
        n++;
    }
    head[n] = '\0';
    return fd;
}

static void
read_full(int fd, void *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        struct pollfd p = {fd, POLLIN, 0};
        assert_int_equal(poll(&p, 1, 5000), 1);
        ssize_t n = read(fd, (char *)buf + got, len - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
}

static void
ws_send_frame(int fd, int opcode, bool fin, const char *data, size_t len)
{
    unsigned char hdr[14], mask[4] = {0x12, 0x34, 0x56, 0x78};
    size_t h = 0;
    char *masked = malloc(len + 1);

    assert_non_null(masked);
    hdr[h++] = (unsigned char)((fin ? 0x80 : 0) | opcode);
    if (len < 126) {
        hdr[h++] = (unsigned char)(0x80 | len);
    } else if (len < 65536) {
        hdr[h++] = 0x80 | 126;
        hdr[h++] = (unsigned char)(len >> 8);
        hdr[h++] = (unsigned char)len;
    } else {
        hdr[h++] = 0x80 | 127;
        for (int i = 7; i >= 0; i--)
            hdr[h++] = (unsigned char)((uint64_t)len >> (8 * i));
    }
    memcpy(hdr + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        masked[i] = (char)(data[i] ^ mask[i % 4]);
    assert_int_equal(write(fd, hdr, h), (ssize_t)h);
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, masked + off, len - off);
        assert_true(n > 0);
        off += (size_t)n;
    }
    free(masked);
}

/* Read one server frame into buf (NUL-terminated); returns its opcode. */
static int
ws_read_frame(int fd, char *buf, size_t cap, size_t *len)
{
    unsigned char h[2], ext[8];
    uint64_t n;

    read_full(fd, h, 2);
    n = h[1] & 0x7f;
    if (n == 126) {
        read_full(fd, ext, 2);
        n = ((uint64_t)ext[0] << 8) | ext[1];
    } else if (n == 127) {
        read_full(fd, ext, 8);
        n = 0;
        for (int i = 0; i < 8; i++)
            n = (n << 8) | ext[i];
    }
    assert_true(n < cap);
    read_full(fd, buf, (size_t)n);
    buf[n] = '\0';
    *len = (size_t)n;
    return h[0] & 0x0f;
}

static void
expect_text(int fd, const char *want)
{
    char buf[256];
    size_t len;

    assert_int_equal(ws_read_frame(fd, buf, sizeof(buf), &len), 1);
    assert_string_equal(buf, want);
}

static void
expect_close(int fd, unsigned code)
{
    char buf[256];
    size_t len;

    assert_int_equal(ws_read_frame(fd, buf, sizeof(buf), &len), 8);
    assert_true(len >= 2);
    assert_int_equal(((unsigned)(unsigned char)buf[0] << 8) | (unsigned char)buf[1], code);
}

static bool
wait_closes(int n)
{
    struct timespec ts;
    bool ok = true;

    clock_gettime(CLOCK_REALTIME, &ts);
    ts.tv_sec += 5;
    pthread_mutex_lock(&wss.mu);
    while (wss.closes < n && ok)
        ok = pthread_cond_timedwait(&wss.cv, &wss.mu, &ts) == 0;
    ok = wss.closes >= n;
    pthread_mutex_unlock(&wss.mu);
    return ok;
}

static web_ws *
take_ws(void)
{
    pthread_mutex_lock(&wss.mu);
    web_ws *ws = wss.ws;
    wss.ws = NULL;
    pthread_mutex_unlock(&wss.mu);
    assert_non_null(ws);
    return ws;
}

static void
reset_ws_state(void)
{
    pthread_mutex_lock(&wss.mu);
    wss.connects = wss.readies = wss.closes = wss.messages = 0;
    wss.ws = NULL;
    pthread_mutex_unlock(&wss.mu);
}

static void
test_websocket(void **state)
{
    fixture *f = *state;
    char head[2048];

    reset_ws_state();
    int fd = ws_connect_raw(f->port, "/ws/lobby%201", "X-Test: yes\r\nX-Request-Id: ws-1\r\n", head,
                            sizeof(head));
    assert_non_null(strstr(head, "HTTP/1.1 101"));
    expect_text(fd, "hello lobby 1");
    assert_string_equal(wss.room, "lobby 1");
    assert_string_equal(wss.hdr, "yes");
    assert_string_equal(wss.rid, "ws-1");

    ws_send_frame(fd, 1, true, "ping?", 5);
    expect_text(fd, "echo:ping?");
    ws_send_frame(fd, 2, true, "\x01\x02", 2);
    expect_text(fd, "bin:\x01\x02");
    /* fragments are reassembled, with a ping in between */
    ws_send_frame(fd, 1, false, "frag1-", 6);
    ws_send_frame(fd, 9, true, "p", 1);
    ws_send_frame(fd, 0, false, "frag2-", 6);
    ws_send_frame(fd, 0, true, "end", 3);
    char buf[256];
    size_t len;
    assert_int_equal(ws_read_frame(fd, buf, sizeof(buf), &len), 0xa); /* pong */
    assert_string_equal(buf, "p");
    expect_text(fd, "echo:frag1-frag2-end");
    /* a 60 KiB message in three fragments is still fine */
    char *big = malloc(70000);
    assert_non_null(big);
    memset(big, 'b', 70000);
    ws_send_frame(fd, 1, false, big, 20000);
    ws_send_frame(fd, 0, false, big, 20000);
    ws_send_frame(fd, 0, true, big, 20000);
    expect_text(fd, "len 60000");

    /* a send from another thread (this one) while the connection lives */
    web_ws *ws = take_ws();
    assert_int_equal(web_ws_send_text(ws, "server says hi", 14), 0);
    expect_text(fd, "server says hi");

    /* the client closes: the close is answered, on_close runs, and sends on
     * the still-referenced ws fail without touching the connection */
    ws_send_frame(fd, 8, true, "\x03\xe8", 2);
    expect_close(fd, 1000);
    assert_true(wait_closes(1));
    assert_int_equal(web_ws_send_text(ws, "late", 4), -1);
    web_ws_close(ws);
    web_ws_unref(ws);
    close(fd);

    /* a message over 64 KiB closes with 1009 */
    fd = ws_connect_raw(f->port, "/ws/big", NULL, head, sizeof(head));
    expect_text(fd, "hello big");
    ws_send_frame(fd, 1, true, big, 70000);
    expect_close(fd, 1009);
    assert_true(wait_closes(2));
    web_ws_unref(take_ws());
    close(fd);
    free(big);

    /* a message handler asking to close: normal closure */
    fd = ws_connect_raw(f->port, "/ws/q", NULL, head, sizeof(head));
    expect_text(fd, "hello q");
    ws_send_frame(fd, 1, true, "quit", 4);
    expect_close(fd, 1000);
    assert_true(wait_closes(3));
    web_ws_unref(take_ws());
    close(fd);
}

static void
test_websocket_refused(void **state)
{
    fixture *f = *state;
    char head[2048];

    reset_ws_state();
    int fd =
        ws_connect_raw(f->port, "/ws/forbidden", "X-Request-Id: ws-403\r\n", head, sizeof(head));
    assert_non_null(strstr(head, "HTTP/1.1 403"));
    assert_non_null(strstr(head, "X-Request-Id: ws-403"));
    char body[512] = "";
    ssize_t n = read(fd, body, sizeof(body) - 1);
    assert_true(n > 0);
    body[n] = '\0';
    assert_non_null(strstr(body, "\"code\":\"forbidden\""));
    close(fd);

    fd = ws_connect_raw(f->port, "/nowhere", NULL, head, sizeof(head));
    assert_non_null(strstr(head, "HTTP/1.1 404"));
    assert_non_null(strstr(head, "Content-Type: application/json"));
    close(fd);
    /* refused connections never reach on_close */
    assert_int_equal(wss.closes, 0);
    assert_int_equal(wss.connects, 1);
}

static void
test_websocket_server_stop(void **state)
{
    fixture f;
    char head[2048];

    (void)state;
    reset_ws_state();
    start_server(&f, NULL, true);
    int fd = ws_connect_raw(f.port, "/ws/stop", NULL, head, sizeof(head));
    expect_text(fd, "hello stop");
    web_ws *ws = take_ws();
    web_server_stop(f.srv);
    assert_int_equal(wss.closes, 1); /* stop returned after on_close */
    expect_close(fd, 1001);
    assert_int_equal(web_ws_send_text(ws, "x", 1), -1);
    web_ws_unref(ws);
    close(fd);
    stop_server(&f);
}

/* ---- concurrency ---- */

typedef struct worker {
    int port;
    int ok;
} worker;

static void *
hammer(void *arg)
{
    worker *w = arg;
    CURL *h = curl_easy_init();
    resp r;

    for (int i = 0; i < 100; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/items/%d/parts/x", i);
        if (http_on(i % 10 == 0 ? NULL : h, w->port, i % 3 == 0 ? "POST" : "GET", path, NULL,
                    i % 3 == 0 ? "{}" : NULL, 2, 0, &r)
                == CURLE_OK
            && r.status == 200)
            w->ok++;
    }
    curl_easy_cleanup(h);
    return NULL;
}

static void
test_concurrency(void **state)
{
    fixture f;
    pthread_t t[8];
    worker w[8];

    (void)state;
    /* each client holds at most two connections, and each connection holds a
     * worker thread until keep-alive times out */
    start_server_with(&f, NULL, true, 16);
    for (int i = 0; i < 8; i++) {
        w[i] = (worker){f.port, 0};
        assert_int_equal(pthread_create(&t[i], NULL, hammer, &w[i]), 0);
    }
    for (int i = 0; i < 8; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(w[i].ok, 100);
    }
    assert_true(metrics_have(f.reg, "http_requests_total{service=\"test\",route=\"/items/{id}/"
                                    "parts/{part}\",method=\"GET\",code=\"200\"} 528\n"));
    assert_true(metrics_have(f.reg, "http_requests_total{service=\"test\",route=\"/items/{id}/"
                                    "parts/{part}\",method=\"POST\",code=\"200\"} 272\n"));
    stop_server(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_reach_handler),
        cmocka_unit_test(test_not_found_and_method_not_allowed),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_json_bodies),
        cmocka_unit_test(test_request_id),
        cmocka_unit_test(test_no_reply_gives_500_and_second_reply_ignored),
        cmocka_unit_test(test_head),
        cmocka_unit_test(test_keep_alive),
        cmocka_unit_test(test_internal_token),
        cmocka_unit_test(test_starting_then_ready),
        cmocka_unit_test(test_port_busy),
        cmocka_unit_test(test_metrics),
        cmocka_unit_test(test_access_log),
        cmocka_unit_test(test_websocket),
        cmocka_unit_test(test_websocket_refused),
        cmocka_unit_test(test_websocket_server_stop),
        cmocka_unit_test(test_concurrency),
    };

    log_init("test-web", LOGL_DEBUG);
    log_fd = memfd_create("test-web-log", MFD_CLOEXEC);
    if (log_fd < 0)
        return 1;
    log_set_fd(log_fd);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
