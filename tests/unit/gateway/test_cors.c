/* Tests for CORS at the gateway: a real web server whose before hook is
 * cors_apply, asked by curl (HTTP) and testlib_ws (WebSocket upgrades). */
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

#include "cors.h"
#include "log.h"
#include "testlib.h"
#include "testlib_ws.h"
#include "web.h"

#define ADMIN "https://admin.example.com"
#define OTHER "https://evil.example.net"

static int
h_ok(web_req *r)
{
    return web_reply_json(r, 200, json_object_new_object());
}

static void
ws_ready(web_ws *ws)
{
    (void)web_ws_send_text(ws, "hi", 2);
}

static const web_route routes[] = {{"GET", "/x", h_ok, 0, NULL}};
static const web_ws_route ws_routes[] = {{"/ws", NULL, ws_ready, NULL, NULL}};

static struct {
    web_server *srv;
    int port;
} fx;

static int
setup(void **state)
{
    char err[200];

    (void)state;
    web_config wc = {.service = "test", .threads = 4, .before = cors_apply};
    fx.srv = web_server_new(&wc);
    if (fx.srv == NULL || web_server_add_routes(fx.srv, routes, 1) != 0
        || web_server_add_ws(fx.srv, ws_routes, 1) != 0
        || web_server_start(fx.srv, err, sizeof(err)) != 0)
        return -1;
    web_server_set_ready(fx.srv, true);
    fx.port = web_server_port(fx.srv);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    web_server_free(fx.srv);
    cors_cleanup();
    return 0;
}

static long
preflight(const char *origin, tl_resp *r)
{
    char o[300];
    snprintf(o, sizeof(o), "Origin: %s", origin);
    const char *h[] = {o, "Access-Control-Request-Method: POST",
                       "Access-Control-Request-Headers: authorization, content-type", NULL};
    return tl_http(fx.port, "OPTIONS", "/x", h, NULL, r);
}

static long
get_from(const char *origin, tl_resp *r)
{
    char o[300];
    const char *h[] = {o, NULL};
    if (origin == NULL)
        return tl_http(fx.port, "GET", "/x", NULL, NULL, r);
    snprintf(o, sizeof(o), "Origin: %s", origin);
    return tl_http(fx.port, "GET", "/x", h, NULL, r);
}

static void
test_init_checks_the_list(void **state)
{
    (void)state;
    assert_int_equal(cors_init(NULL), 0);
    assert_int_equal(cors_init(""), 0);
    assert_int_equal(cors_init(" https://a.example.com , http://localhost:5173,*"), 0);
    assert_true(cors_allowed("https://a.example.com"));
    assert_true(cors_allowed("HTTPS://A.example.com"));
    assert_true(cors_allowed("https://anything.example")); /* "*" */
    const char *bad[] = {"https://a.example.com/", "ftp://a.example.com",
                         "a.example.com",          "https://",
                         "https://a b.com",        "https://a.com/path"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cors_init(bad[i]), -1);
    assert_false(cors_allowed("https://a.example.com")); /* a failed init leaves nothing */
}

static void
test_disabled_sends_nothing(void **state)
{
    tl_resp r;

    (void)state;
    assert_int_equal(cors_init(""), 0);
    assert_int_equal(get_from(ADMIN, &r), 200);
    tl_assert_header(&r, "Access-Control-Allow-Origin", NULL);
    tl_assert_header(&r, "Vary", NULL);
    assert_int_equal(preflight(ADMIN, &r), 403);
    tl_assert_header(&r, "Access-Control-Allow-Origin", NULL);
    json_object *o = tl_body_json(&r);
    assert_string_equal(tl_jstr(o, "error", "code"), "forbidden");
    json_object_put(o);
}

static void
test_listed_origin(void **state)
{
    tl_resp r;

    (void)state;
    assert_int_equal(cors_init(ADMIN ",http://localhost:5173"), 0);
    assert_int_equal(preflight(ADMIN, &r), 204);
    assert_int_equal(r.len, 0);
    tl_assert_header(&r, "Access-Control-Allow-Origin", ADMIN);
    tl_assert_header(&r, "Access-Control-Allow-Credentials", "true");
    tl_assert_header(&r, "Access-Control-Allow-Methods", "GET, HEAD, POST, PUT, PATCH, DELETE");
    tl_assert_header(&r, "Access-Control-Allow-Headers",
                     "Authorization, Content-Type, X-API-Key, X-Request-Id");
    tl_assert_header(&r, "Access-Control-Max-Age", "600");
    tl_assert_header(&r, "Vary",
                     "Origin, Access-Control-Request-Method, Access-Control-Request-Headers");
    assert_int_equal(get_from("http://localhost:5173", &r), 200);
    tl_assert_header(&r, "Access-Control-Allow-Origin", "http://localhost:5173");
    tl_assert_header(&r, "Access-Control-Allow-Credentials", "true");
    tl_assert_header(&r, "Vary", "Origin");
    char v[200];
    assert_non_null(tl_header(&r, "Access-Control-Expose-Headers", v, sizeof(v)));
    assert_non_null(strstr(v, "X-RateLimit-Remaining"));
    assert_non_null(strstr(v, "Retry-After"));
    /* another origin: refused preflight, no CORS headers on requests */
    assert_int_equal(preflight(OTHER, &r), 403);
    tl_assert_header(&r, "Access-Control-Allow-Origin", NULL);
    assert_int_equal(get_from(OTHER, &r), 200);
    tl_assert_header(&r, "Access-Control-Allow-Origin", NULL);
    tl_assert_header(&r, "Vary", "Origin");
    /* no Origin (not a browser): nothing but Vary */
    assert_int_equal(get_from(NULL, &r), 200);
    tl_assert_header(&r, "Access-Control-Allow-Origin", NULL);
    /* an OPTIONS that is not a preflight goes on to routing */
    const char *h[] = {"Origin: " ADMIN, NULL};
    assert_int_equal(tl_http(fx.port, "OPTIONS", "/x", h, NULL, &r), 405);
    tl_assert_header(&r, "Access-Control-Allow-Origin", ADMIN);
}

static void
test_wildcard(void **state)
{
    tl_resp r;

    (void)state;
    assert_int_equal(cors_init("*, " ADMIN), 0);
    assert_int_equal(preflight(OTHER, &r), 204);
    tl_assert_header(&r, "Access-Control-Allow-Origin", "*");
    tl_assert_header(&r, "Access-Control-Allow-Credentials", NULL);
    assert_int_equal(get_from(OTHER, &r), 200);
    tl_assert_header(&r, "Access-Control-Allow-Origin", "*");
    tl_assert_header(&r, "Access-Control-Allow-Credentials", NULL);
    /* a listed origin still gets itself and credentials */
    assert_int_equal(get_from(ADMIN, &r), 200);
    tl_assert_header(&r, "Access-Control-Allow-Origin", ADMIN);
    tl_assert_header(&r, "Access-Control-Allow-Credentials", "true");
    /* an Origin that cannot be one is not echoed */
    assert_int_equal(get_from("https://x.com/<script>", &r), 200);
    tl_assert_header(&r, "Access-Control-Allow-Origin", NULL);
}

static void
test_websocket_origins(void **state)
{
    char head[2048], buf[64];

    (void)state;
    assert_int_equal(cors_init(ADMIN), 0);
    int fd = tl_ws_connect(fx.port, "/ws", "Origin: " OTHER "\r\n", head, sizeof(head));
    assert_true(strncmp(head, "HTTP/1.1 403 ", 13) == 0);
    close(fd);
    fd = tl_ws_connect(fx.port, "/ws", "Origin: " ADMIN "\r\n", head, sizeof(head));
    assert_true(strncmp(head, "HTTP/1.1 101 ", 13) == 0);
    assert_int_equal(tl_ws_recv(fd, buf, sizeof(buf)), 0);
    close(fd);
    fd = tl_ws_connect(fx.port, "/ws", NULL, head, sizeof(head)); /* not a browser */
    assert_true(strncmp(head, "HTTP/1.1 101 ", 13) == 0);
    close(fd);
    /* without CORS_ORIGINS, origins are not checked */
    assert_int_equal(cors_init(""), 0);
    fd = tl_ws_connect(fx.port, "/ws", "Origin: " OTHER "\r\n", head, sizeof(head));
    assert_true(strncmp(head, "HTTP/1.1 101 ", 13) == 0);
    close(fd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_checks_the_list), cmocka_unit_test(test_disabled_sends_nothing),
        cmocka_unit_test(test_listed_origin),        cmocka_unit_test(test_wildcard),
        cmocka_unit_test(test_websocket_origins),
    };

    log_init("test-cors", LOGL_WARN);
    if (tl_log_capture() < 0)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
