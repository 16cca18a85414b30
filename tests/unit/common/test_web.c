/* Tests for web's HTTP pipeline: a real server on a free port and libcurl as
 * the client (both in tests/unit/support). The WebSocket tests are in
 * test_web_ws.c. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "log.h"
#include "metrics.h"
#include "testlib.h"
#include "util.h"
#include "web.h"

/* ---- routes and server ---- */

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

static void
start_server_with(tl_server *f, const char *token, bool ready, int threads)
{
    tl_server_cfg cfg = {.routes = routes,
                         .nroutes = sizeof(routes) / sizeof(routes[0]),
                         .token = token,
                         .ready = ready,
                         .threads = threads};

    tl_server_start(f, &cfg);
}

static void
start_server(tl_server *f, const char *token, bool ready)
{
    start_server_with(f, token, ready, 8);
}

static int
setup(void **state)
{
    static tl_server f;

    start_server(&f, NULL, true);
    *state = &f;
    return 0;
}

static int
teardown(void **state)
{
    tl_server_stop(*state);
    return 0;
}

/* ---- tests: routing and errors ---- */

static void
test_params_reach_handler(void **state)
{
    tl_server *f = *state;
    tl_resp r;
    const char *hdrs[] = {"traceparent: 00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                          NULL};

    assert_int_equal(tl_http(f->port, "GET", "/items/a%20b/parts/7?v=x+y%21&w=1", hdrs, NULL, &r),
                     200);
    json_object *o = tl_body_json(&r);
    assert_string_equal(tl_jstr(o, "id", NULL), "a b");
    assert_string_equal(tl_jstr(o, "part", NULL), "7");
    assert_string_equal(tl_jstr(o, "route", NULL), "/items/{id}/parts/{part}");
    assert_string_equal(tl_jstr(o, "method", NULL), "GET");
    assert_string_equal(tl_jstr(o, "path", NULL), "/items/a%20b/parts/7");
    assert_string_equal(tl_jstr(o, "qs", NULL), "v=x+y%21&w=1");
    assert_string_equal(tl_jstr(o, "v", NULL), "x y!");
    assert_string_equal(tl_jstr(o, "traceparent", NULL),
                        "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
    json_object_put(o);
    tl_assert_header(&r, "Content-Type", "application/json");
    tl_assert_header(&r, "Cache-Control", "no-store");
    char cl[16];
    snprintf(cl, sizeof(cl), "%zu", r.len);
    tl_assert_header(&r, "Content-Length", cl);
    tl_assert_header(&r, "Access-Control-Allow-Origin",
                     NULL); /* civetweb adds no CORS of its own */
}

static void
test_not_found_and_method_not_allowed(void **state)
{
    tl_server *f = *state;
    tl_resp r;
    const char *hdrs[] = {"X-Request-Id: req-404", NULL};

    assert_int_equal(tl_http(f->port, "GET", "/nope/x", hdrs, NULL, &r), 404);
    assert_string_equal(r.body, "{\"error\":{\"code\":\"not_found\",\"message\":\"no route for "
                                "GET /nope/x\",\"request_id\":\"req-404\"}}");
    tl_assert_header(&r, "Content-Type", "application/json");

    hdrs[0] = "X-Request-Id: req-405";
    assert_int_equal(tl_http(f->port, "DELETE", "/items/1/parts/2", hdrs, NULL, &r), 405);
    assert_string_equal(r.body, "{\"error\":{\"code\":\"method_not_allowed\",\"message\":\"method "
                                "DELETE not allowed on /items/1/parts/2\",\"request_id\":"
                                "\"req-405\"}}");
    tl_assert_header(&r, "Allow", "GET, HEAD, POST");

    /* the path is quoted, escaped and truncated to 200 bytes */
    char path[400] = "/\"q";
    memset(path + 3, 'a', 300);
    path[303] = '\0';
    assert_int_equal(tl_http(f->port, "GET", path, NULL, NULL, &r), 404);
    json_object *o = tl_body_json(&r);
    const char *msg = tl_jstr(o, "error", "message");
    assert_int_equal(strlen(msg), strlen("no route for GET ") + 200);
    assert_memory_equal(msg, "no route for GET /\"qaaa", 23);
    json_object_put(o);

    /* web_reply_invalid adds the field */
    assert_int_equal(tl_http(f->port, "GET", "/invalid", NULL, NULL, &r), 400);
    o = tl_body_json(&r);
    assert_string_equal(tl_jstr(o, "error", "code"), "invalid_request");
    assert_string_equal(tl_jstr(o, "error", "field"), "priority");
    assert_string_equal(tl_jstr(o, "error", "message"),
                        "field 'priority': must be an integer between 1 and 5");
    json_object_put(o);
}

static void
test_body_too_large(void **state)
{
    tl_server *f = *state;
    size_t big = 2u * 1024 * 1024;
    char *body = malloc(big);
    const char *ct[] = {"Content-Type: application/json", NULL};
    const char *noexpect[] = {"Content-Type: application/json", "Expect:", NULL};
    tl_resp r;

    assert_non_null(body);
    memset(body, ' ', big);
    /* Content-Length over the limit: curl waits for 100-continue, gets 413 */
    assert_int_equal(tl_http_on(NULL, f->port, "POST", "/json", ct, body, big, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 413);
    assert_false(r.continued); /* the body was not asked for */
    tl_assert_header(&r, "Connection", "close");
    json_object *o = tl_body_json(&r);
    assert_string_equal(tl_jstr(o, "error", "code"), "payload_too_large");
    json_object_put(o);
    /* the same with the body sent at once, on a route that ignores bodies */
    assert_int_equal(tl_http_on(NULL, f->port, "POST", "/plain", noexpect, body, big, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 413);
    /* chunked: read up to the limit */
    assert_int_equal(tl_http_on(NULL, f->port, "PUT", "/raw", NULL, NULL, 0, big, &r), CURLE_OK);
    assert_int_equal(r.status, 413);
    tl_assert_header(&r, "Connection", "close");
    /* exactly at the limit is fine, chunked and not */
    assert_int_equal(tl_http_on(NULL, f->port, "PUT", "/raw", NULL, NULL, 0, WEB_MAX_BODY, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 200);
    tl_assert_header(&r, "X-Body-Len", "1048576");
    assert_int_equal(tl_http_on(NULL, f->port, "PUT", "/raw", noexpect, body, WEB_MAX_BODY, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 200);
    tl_assert_header(&r, "X-Body-Len", "1048576");
    free(body);
}

/* A client that sends a too-large body without waiting (no Expect) still
 * reads the 413: the server takes in up to WEB_DRAIN_FACTOR times the limit
 * before it answers and closes, so no reset overtakes the answer. */
static void
test_body_too_large_drained(void **state)
{
    tl_server *f = *state;
    size_t len = 3u * WEB_MAX_BODY;
    char head[256], out[4096];
    long n;

    snprintf(head, sizeof(head), "POST /plain HTTP/1.1\r\nHost: t\r\nContent-Length: %zu\r\n\r\n",
             len);
    n = tl_raw_exchange(f->port, head, len, NULL, out, sizeof(out));
    assert_true(n > 0);
    assert_non_null(strstr(out, "HTTP/1.1 413 "));
    assert_non_null(strstr(out, "payload_too_large"));
    /* chunked: one chunk of the same size, then the last chunk */
    snprintf(head, sizeof(head),
             "PUT /raw HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n%zx\r\n", len);
    n = tl_raw_exchange(f->port, head, len, "\r\n0\r\n\r\n", out, sizeof(out));
    assert_true(n > 0);
    assert_non_null(strstr(out, "HTTP/1.1 413 "));
}

static void
test_json_bodies(void **state)
{
    tl_server *f = *state;
    tl_resp r;
    const char *text[] = {"Content-Type: text/plain", NULL};
    const char *json[] = {"Content-Type: Application/JSON; charset=utf-8", NULL};

    assert_int_equal(tl_http(f->port, "POST", "/json", text, "{\"a\":1}", &r), 415);
    json_object *o = tl_body_json(&r);
    assert_string_equal(tl_jstr(o, "error", "code"), "unsupported_media_type");
    json_object_put(o);

    assert_int_equal(tl_http(f->port, "POST", "/json", json, "{\"a\": tru}", &r), 400);
    o = tl_body_json(&r);
    assert_string_equal(tl_jstr(o, "error", "code"), "invalid_json");
    assert_non_null(strstr(tl_jstr(o, "error", "message"), "invalid JSON at byte "));
    json_object_put(o);

    assert_int_equal(tl_http(f->port, "POST", "/json", json, "{\"a\": [1, \"x\"]}", &r), 201);
    o = tl_body_json(&r);
    assert_string_equal(tl_jstr(o, "body", NULL), "{ \"a\": [ 1, \"x\" ] }");
    json_object_put(o);

    /* a client that asks first is told to go on (civetweb would not) */
    const char *expect[] = {"Content-Type: application/json", "Expect: 100-continue", NULL};
    assert_int_equal(tl_http(f->port, "POST", "/json", expect, "{\"b\":true}", &r), 201);
    assert_true(r.continued);
    o = tl_body_json(&r);
    assert_string_equal(tl_jstr(o, "body", NULL), "{ \"b\": true }");
    json_object_put(o);

    /* no body at all: NULL, whatever the type */
    assert_int_equal(tl_http(f->port, "POST", "/json", text, "", &r), 201);
    o = tl_body_json(&r);
    json_object *e = NULL;
    assert_true(json_object_object_get_ex(o, "empty", &e));
    assert_true(json_object_get_boolean(e));
    json_object_put(o);
}

static void
test_request_id(void **state)
{
    tl_server *f = *state;
    tl_resp r;
    char buf[256];
    const char *good[] = {"X-Request-Id: abc.DEF_1:2-3", NULL};
    const char *bad[] = {"X-Request-Id: has space", NULL};
    char longid[160] = "X-Request-Id: ";

    assert_int_equal(tl_http(f->port, "GET", "/plain", good, NULL, &r), 200);
    tl_assert_header(&r, "X-Request-Id", "abc.DEF_1:2-3");

    assert_int_equal(tl_http(f->port, "GET", "/plain", NULL, NULL, &r), 200);
    assert_true(util_uuid_valid(tl_header(&r, "X-Request-Id", buf, sizeof(buf))));
    assert_int_equal(strlen(buf), 36);

    assert_int_equal(tl_http(f->port, "GET", "/plain", bad, NULL, &r), 200);
    assert_true(util_uuid_valid(tl_header(&r, "X-Request-Id", buf, sizeof(buf))));

    memset(longid + 14, 'a', 129);
    const char *toolong[] = {longid, NULL};
    assert_int_equal(tl_http(f->port, "GET", "/plain", toolong, NULL, &r), 200);
    assert_true(util_uuid_valid(tl_header(&r, "X-Request-Id", buf, sizeof(buf))));
    longid[14 + 128] = '\0'; /* 128 is still fine */
    assert_int_equal(tl_http(f->port, "GET", "/plain", toolong, NULL, &r), 200);
    assert_int_equal(strlen(tl_header(&r, "X-Request-Id", buf, sizeof(buf))), 128);

    /* errors carry the same id in the body */
    assert_int_equal(tl_http(f->port, "GET", "/nope", NULL, NULL, &r), 404);
    json_object *o = tl_body_json(&r);
    assert_string_equal(tl_jstr(o, "error", "request_id"),
                        tl_header(&r, "X-Request-Id", buf, sizeof(buf)));
    json_object_put(o);
}

static void
test_no_reply_gives_500_and_second_reply_ignored(void **state)
{
    tl_server *f = *state;
    tl_resp r;

    assert_int_equal(tl_http(f->port, "GET", "/silent", NULL, NULL, &r), 500);
    json_object *o = tl_body_json(&r);
    assert_string_equal(tl_jstr(o, "error", "code"), "internal_error");
    json_object_put(o);

    assert_int_equal(tl_http(f->port, "GET", "/twice", NULL, NULL, &r), 202);
    assert_string_equal(r.body, "first");
    for (int64_t end = tl_deadline(5000);
         __atomic_load_n(&twice_result, __ATOMIC_ACQUIRE) == 0 && util_mono_ns() < end;)
        tl_pause_ms(2);
    assert_int_equal(__atomic_load_n(&twice_result, __ATOMIC_ACQUIRE), 1);
}

static void
test_head(void **state)
{
    tl_server *f = *state;
    tl_resp r;

    assert_int_equal(tl_http(f->port, "HEAD", "/plain", NULL, NULL, &r), 200);
    assert_int_equal(r.len, 0);
    tl_assert_header(&r, "Content-Length", "13");
    tl_assert_header(&r, "Content-Type", "text/plain");
    assert_int_equal(tl_http(f->port, "HEAD", "/nope", NULL, NULL, &r), 404);
    assert_int_equal(r.len, 0);
}

static void
test_keep_alive(void **state)
{
    tl_server *f = *state;
    CURL *h = curl_easy_init();
    tl_resp r;

    assert_int_equal(tl_http_on(h, f->port, "GET", "/plain", NULL, NULL, 0, 0, &r), CURLE_OK);
    assert_int_equal(r.connects, 1);
    assert_int_equal(tl_http_on(h, f->port, "GET", "/items/1/parts/2", NULL, NULL, 0, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.connects, 0);
    /* an error reply before the body was read: the body is drained, the
     * connection stays usable */
    assert_int_equal(tl_http_on(h, f->port, "POST", "/nope", NULL, "{\"x\":1}", 7, 0, &r),
                     CURLE_OK);
    assert_int_equal(r.status, 404);
    assert_int_equal(r.connects, 0);
    assert_int_equal(tl_http_on(h, f->port, "POST", "/plain", NULL, "ignored", 7, 0, &r), CURLE_OK);
    assert_int_equal(r.status, 200);
    assert_int_equal(r.connects, 0);
    assert_int_equal(tl_http_on(h, f->port, "GET", "/plain", NULL, NULL, 0, 0, &r), CURLE_OK);
    assert_int_equal(r.connects, 0);
    assert_string_equal(r.body, "hello, world\n");
    curl_easy_cleanup(h);
}

/* ---- tests: guards ---- */

static void
test_internal_token(void **state)
{
    tl_server f;
    tl_resp r;
    const char *wrong[] = {"X-Internal-Token: nope", NULL};
    const char *right[] = {"X-Internal-Token: s3cret-token", NULL};

    (void)state;
    start_server(&f, "s3cret-token", true);
    assert_int_equal(tl_http(f.port, "GET", "/plain", NULL, NULL, &r), 401);
    json_object *o = tl_body_json(&r);
    assert_string_equal(tl_jstr(o, "error", "code"), "unauthorized");
    json_object_put(o);
    assert_null(strstr(r.body, "nope"));
    assert_int_equal(tl_http(f.port, "GET", "/plain", wrong, NULL, &r), 401);
    assert_null(strstr(r.body, "nope"));
    assert_int_equal(tl_http(f.port, "GET", "/plain", right, NULL, &r), 200);
    assert_int_equal(tl_http(f.port, "GET", "/live", NULL, NULL, &r), 200);
    /* Without the token, an unknown path or method says nothing more. */
    assert_int_equal(tl_http(f.port, "GET", "/no/such/route", NULL, NULL, &r), 401);
    assert_int_equal(tl_http(f.port, "DELETE", "/live", wrong, NULL, &r), 401);
    assert_int_equal(tl_http(f.port, "GET", "/no/such/route", right, NULL, &r), 404);
    tl_server_stop(&f);
}

static void
test_starting_then_ready(void **state)
{
    tl_server f;
    tl_resp r;

    (void)state;
    start_server(&f, NULL, false);
    assert_int_equal(tl_http(f.port, "GET", "/plain", NULL, NULL, &r), 503);
    tl_assert_header(&r, "Retry-After", "1");
    json_object *o = tl_body_json(&r);
    assert_string_equal(tl_jstr(o, "error", "code"), "starting");
    json_object_put(o);
    assert_int_equal(tl_http(f.port, "GET", "/live", NULL, NULL, &r), 200);
    web_server_set_ready(f.srv, true);
    assert_int_equal(tl_http(f.port, "GET", "/plain", NULL, NULL, &r), 200);
    tl_server_stop(&f);
}

static void
test_port_busy(void **state)
{
    tl_server *f = *state;
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

/* Requests are counted just after their reply went out: wait for them. */
static bool
metrics_have(metrics_registry *reg, const char *want)
{
    return tl_metrics_wait(reg, want, 5000);
}

static void
test_metrics(void **state)
{
    tl_server f;
    tl_resp r;

    (void)state;
    start_server(&f, NULL, true);
    assert_int_equal(tl_http(f.port, "GET", "/items/1/parts/2", NULL, NULL, &r), 200);
    assert_int_equal(tl_http(f.port, "GET", "/items/3/parts/4", NULL, NULL, &r), 200);
    assert_int_equal(tl_http(f.port, "GET", "/nope/1", NULL, NULL, &r), 404);
    assert_int_equal(tl_http(f.port, "PROPFIND", "/items/1/parts/2", NULL, NULL, &r), 405);
    assert_true(metrics_have(f.reg, "http_requests_total{service=\"test\",route=\"/items/{id}/"
                                    "parts/{part}\",method=\"GET\",code=\"200\"} 2\n"));
    assert_true(metrics_have(f.reg, "http_requests_total{service=\"test\",route=\"unmatched\","
                                    "method=\"GET\",code=\"404\"} 1\n"));
    assert_true(metrics_have(f.reg, "http_requests_total{service=\"test\",route=\"unmatched\","
                                    "method=\"OTHER\",code=\"405\"} 1\n"));
    assert_true(metrics_have(f.reg, "http_request_duration_seconds_count{service=\"test\",route="
                                    "\"/items/{id}/parts/{part}\",method=\"GET\"} 2\n"));
    tl_server_stop(&f);
}

/* The access log line of the request with this id, parsed. */
static json_object *
find_access_line(const char *request_id)
{
    char needle[200];

    snprintf(needle, sizeof(needle), "\"request_id\":\"%s\"", request_id);
    return tl_log_find(log_fd, needle, "\"msg\":\"request\"", 5000);
}

static void
test_access_log(void **state)
{
    tl_server *f = *state;
    tl_resp r;
    const char *h1[] = {"X-Request-Id: access-1", NULL};
    const char *h2[] = {"X-Request-Id: access-2", NULL};
    json_object *v;

    assert_int_equal(tl_http(f->port, "GET", "/items/9/parts/8?secret=x", h1, NULL, &r), 200);
    json_object *o = find_access_line("access-1");
    assert_string_equal(tl_jstr(o, "level", NULL), "info");
    assert_string_equal(tl_jstr(o, "method", NULL), "GET");
    assert_string_equal(tl_jstr(o, "route", NULL), "/items/{id}/parts/{part}");
    assert_string_equal(tl_jstr(o, "path", NULL), "/items/9/parts/8");
    assert_string_equal(tl_jstr(o, "remote_addr", NULL), "127.0.0.1");
    assert_true(json_object_object_get_ex(o, "status", &v));
    assert_int_equal(json_object_get_int(v), 200);
    assert_true(json_object_object_get_ex(o, "bytes_out", &v));
    assert_int_equal(json_object_get_int(v), (int)r.len);
    assert_true(json_object_object_get_ex(o, "duration_ms", &v));
    assert_true(json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int));
    assert_true(json_object_get_double(v) >= 0 && json_object_get_double(v) < 5000);
    json_object_put(o);

    /* quiet routes log at debug */
    assert_int_equal(tl_http(f->port, "GET", "/live", h2, NULL, &r), 200);
    o = find_access_line("access-2");
    assert_string_equal(tl_jstr(o, "level", NULL), "debug");
    assert_string_equal(tl_jstr(o, "route", NULL), "/live");
    json_object_put(o);
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
    tl_resp r;

    for (int i = 0; i < 100; i++) {
        char path[64];
        snprintf(path, sizeof(path), "/items/%d/parts/x", i);
        if (tl_http_on(i % 10 == 0 ? NULL : h, w->port, i % 3 == 0 ? "POST" : "GET", path, NULL,
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
    tl_server f;
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
    tl_server_stop(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_params_reach_handler),
        cmocka_unit_test(test_not_found_and_method_not_allowed),
        cmocka_unit_test(test_body_too_large),
        cmocka_unit_test(test_body_too_large_drained),
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
        cmocka_unit_test(test_concurrency),
    };

    log_init("test-web", LOGL_DEBUG);
    log_fd = tl_log_capture();
    if (log_fd < 0)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
