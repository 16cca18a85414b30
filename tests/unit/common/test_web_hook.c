/* Tests for the web layer's before-routing hook, the headers it adds to any
 * reply, its per-request context (also carried to a WebSocket), the URI
 * check every request meets first, and close codes on WebSockets. A real
 * server on a free port; curl, raw sockets and testlib_ws as clients. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <poll.h>
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
#include "testlib.h"
#include "testlib_ws.h"
#include "util.h"
#include "web.h"

/* ---- what the hook and the handlers saw ---- */

static struct {
    pthread_mutex_t mu;
    int hooks, upgrades, released, connects, closes;
    char ws_ctx[64];
    unsigned peer_close;
} seen = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int
seen_get(const int *field)
{
    pthread_mutex_lock(&seen.mu);
    int v = *field;
    pthread_mutex_unlock(&seen.mu);
    return v;
}

/* Wait (up to TL_WAIT_MS) until *field reaches want; asserts it did. */
static void
seen_wait(const int *field, int want)
{
    for (int64_t end = tl_deadline(TL_WAIT_MS); seen_get(field) < want && util_mono_ns() < end;)
        tl_pause_ms(5);
    assert_int_equal(seen_get(field), want);
}

static void
release_ctx(void *p)
{
    pthread_mutex_lock(&seen.mu);
    seen.released++;
    pthread_mutex_unlock(&seen.mu);
    free(p);
}

/* The hook does what the request's X-Hook header asks. */
static int
hook(web_req *r)
{
    const char *what = web_header(r, "X-Hook");

    pthread_mutex_lock(&seen.mu);
    seen.hooks++;
    seen.upgrades += web_is_upgrade(r) ? 1 : 0;
    pthread_mutex_unlock(&seen.mu);
    web_add_header(r, "X-Hook-Seen", "1");
    if (what == NULL)
        return 0;
    if (strcmp(what, "deny") == 0) {
        web_add_header(r, "WWW-Authenticate", "Bearer");
        web_reply_error(r, 401, "unauthorized", "denied by the hook");
        return 1;
    }
    if (strcmp(what, "silent") == 0)
        return 1; /* stops without replying: the web layer answers 500 */
    if (strcmp(what, "bad") == 0) {
        web_add_header(r, "Bad Name", "x");
        web_add_header(r, "X-Split", "a\r\nX-Injected: 1");
        web_add_header(r, "", "x");
        web_add_header(r, "X-Nul-Free", "tab\tis fine");
        return 0;
    }
    if (strcmp(what, "fill") == 0) {
        char name[32], value[200];
        memset(value, 'v', sizeof(value) - 1);
        value[sizeof(value) - 1] = '\0';
        for (int i = 0; i < 10; i++) {
            snprintf(name, sizeof(name), "X-Fill-%d", i);
            web_add_header(r, name, value);
        }
        return 0;
    }
    if (strcmp(what, "ctx") == 0) {
        web_set_ctx(r, strdup("first"), release_ctx);
        web_set_ctx(r, strdup("caller-42"), release_ctx); /* releases "first" */
        return 0;
    }
    return 0;
}

static int
h_ok(web_req *r)
{
    const char *ctx = web_ctx(r);
    json_object *o = json_object_new_object();

    json_object_object_add(o, "ctx", ctx != NULL ? json_object_new_string(ctx) : NULL);
    return web_reply_json(r, 200, o);
}

static int
h_json(web_req *r)
{
    return web_reply_json(r, 201, json_object_new_object());
}

static const web_route routes[] = {
    {"GET", "/ok", h_ok, 0, NULL},
    {"POST", "/json", h_json, WEB_JSON_BODY, NULL},
};

static int
ws_connect(web_ws *ws)
{
    const char *ctx = web_ws_ctx(ws);

    pthread_mutex_lock(&seen.mu);
    seen.connects++;
    util_strlcpy(seen.ws_ctx, ctx != NULL ? ctx : "(none)", sizeof(seen.ws_ctx));
    pthread_mutex_unlock(&seen.mu);
    return 0;
}

static void
ws_ready(web_ws *ws)
{
    const char *room = web_ws_param(ws, "room");

    if (strcmp(room, "close-4001") == 0)
        web_ws_close_with(ws, 4001, "bye\x01now");
    else if (strcmp(room, "close-1006") == 0)
        web_ws_close_with(ws, 1006, NULL); /* may not be sent: 1000 goes out */
    else
        (void)web_ws_send_text(ws, "hi", 2);
}

static void
ws_close(web_ws *ws)
{
    pthread_mutex_lock(&seen.mu);
    seen.closes++;
    seen.peer_close = web_ws_peer_close_code(ws);
    pthread_mutex_unlock(&seen.mu);
}

static const web_ws_route ws_routes[] = {{"/ws/{room}", ws_connect, ws_ready, NULL, ws_close}};

static struct {
    web_server *srv;
    metrics_registry *reg;
    int port;
} fx;

static int
setup(void **state)
{
    char err[200] = "";

    (void)state;
    fx.reg = metrics_registry_new();
    web_config wc = {.service = "test", .threads = 8, .metrics = fx.reg, .before = hook};
    fx.srv = web_server_new(&wc);
    if (fx.srv == NULL || web_server_add_routes(fx.srv, routes, 2) != 0
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
    metrics_registry_free(fx.reg);
    return 0;
}

/* ---- raw client ---- */

/* Send bytes as they are; everything the server wrote until it closed (or
 * 5 s passed) into out. */
static void
raw_exchange(const char *req, size_t len, char *out, size_t cap)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)fx.port)};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    size_t n = 0;

    assert_true(fd >= 0);
    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(write(fd, req, len), (ssize_t)len);
    while (n + 1 < cap) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, 5000) != 1)
            break;
        ssize_t got = read(fd, out + n, cap - 1 - n);
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    out[n] = '\0';
    close(fd);
}

static void
raw_get(const char *target, char *out, size_t cap)
{
    char req[2048];
    int n = snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
                     target);
    assert_true(n > 0 && (size_t)n < sizeof(req));
    raw_exchange(req, (size_t)n, out, cap);
}

/* One server frame: its opcode, payload into buf (NUL-terminated). */
static int
read_frame(int fd, char *buf, size_t cap, size_t *len)
{
    unsigned char h[2];
    size_t got = 0;

    while (got < 2) {
        struct pollfd p = {fd, POLLIN, 0};
        assert_int_equal(poll(&p, 1, 5000), 1);
        ssize_t n = read(fd, h + got, 2 - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    size_t plen = h[1] & 0x7f;
    assert_true(plen < 126 && plen < cap);
    for (got = 0; got < plen;) {
        struct pollfd p = {fd, POLLIN, 0};
        assert_int_equal(poll(&p, 1, 5000), 1);
        ssize_t n = read(fd, buf + got, plen - got);
        assert_true(n > 0);
        got += (size_t)n;
    }
    buf[plen] = '\0';
    *len = plen;
    return h[0] & 0x0f;
}

/* ---- tests ---- */

static void
test_uri_safe(void **state)
{
    (void)state;
    assert_true(web_uri_safe("/a/b?c=%20d%2F%0g%0"));
    assert_true(web_uri_safe(""));
    assert_true(web_uri_safe(NULL));
    const char *bad[] = {"/a%0d",    "/a%0D", "/a%0a",  "/a%0A", "/a%00",
                         "x=%0d%0a", "/a\tb", "/a\x7f", "/a\x1b"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(web_uri_safe(bad[i]));
}

static void
test_encoded_controls_are_400_before_the_hook(void **state)
{
    const char *targets[] = {"/ok%0d%0aX-Injected:%201", "/ok%0A", "/ok%00", "/ok?x=%0D",
                             "/ok?x=a%00b"};
    char out[4096];

    (void)state;
    for (size_t i = 0; i < sizeof(targets) / sizeof(targets[0]); i++) {
        int hooks = seen_get(&seen.hooks);
        raw_get(targets[i], out, sizeof(out));
        assert_true(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
        assert_non_null(strstr(out, "\"code\":\"bad_request\""));
        assert_non_null(strstr(out, "Content-Type: application/json"));
        assert_null(strstr(out, "X-Injected"));
        assert_int_equal(seen_get(&seen.hooks), hooks); /* refused before the hook */
    }
    /* raw control characters: civetweb's parser refuses them, as JSON */
    const char raw[] = "GET /ok\x01 HTTP/1.1\r\nHost: x\r\n\r\n";
    raw_exchange(raw, sizeof(raw) - 1, out, sizeof(out));
    assert_true(strncmp(out, "HTTP/1.1 400 ", 13) == 0);
    assert_non_null(strstr(out, "\"error\""));
    /* a thousand slashes (civetweb's redirect overflow needs a document
     * root, which is never set): a clean answer */
    char many[1100] = "/";
    memset(many + 1, '/', 1000);
    many[1001] = '\0';
    raw_get(many, out, sizeof(out));
    assert_true(strncmp(out, "HTTP/1.1 404 ", 13) == 0);
    /* an ordinary escape passes */
    raw_get("/ok?x=%20", out, sizeof(out));
    assert_true(strncmp(out, "HTTP/1.1 200 ", 13) == 0);
}

static void
test_hook_answers_before_routing(void **state)
{
    const char *deny[] = {"X-Hook: deny", NULL};
    tl_resp r;

    (void)state;
    int hooks = seen_get(&seen.hooks);
    /* an unknown path gets the hook's answer, not 404 */
    assert_int_equal(tl_http(fx.port, "GET", "/nope", deny, NULL, &r), 401);
    json_object *o = tl_body_json(&r);
    assert_string_equal(tl_jstr(o, "error", "message"), "denied by the hook");
    json_object_put(o);
    tl_assert_header(&r, "WWW-Authenticate", "Bearer");
    tl_assert_header(&r, "X-Hook-Seen", "1");
    assert_int_equal(seen_get(&seen.hooks), hooks + 1);
    assert_true(tl_metrics_wait(fx.reg,
                                "http_requests_total{service=\"test\",route=\"unmatched\","
                                "method=\"GET\",code=\"401\"} 1",
                                TL_WAIT_MS));
    /* a hook that stops without replying: 500 */
    const char *silent[] = {"X-Hook: silent", NULL};
    assert_int_equal(tl_http(fx.port, "GET", "/ok", silent, NULL, &r), 500);
}

static void
test_added_headers_go_out_with_every_reply(void **state)
{
    const char *ct[] = {"Content-Type: application/json", NULL};
    tl_resp r;

    (void)state;
    assert_int_equal(tl_http(fx.port, "GET", "/ok", NULL, NULL, &r), 200);
    tl_assert_header(&r, "X-Hook-Seen", "1");
    assert_int_equal(tl_http(fx.port, "GET", "/nope", NULL, NULL, &r), 404);
    tl_assert_header(&r, "X-Hook-Seen", "1");
    assert_int_equal(tl_http(fx.port, "DELETE", "/ok", NULL, NULL, &r), 405);
    tl_assert_header(&r, "X-Hook-Seen", "1");
    tl_assert_header(&r, "Allow", "GET, HEAD");
    assert_int_equal(tl_http(fx.port, "POST", "/json", ct, "{bad", &r), 400);
    tl_assert_header(&r, "X-Hook-Seen", "1");
    assert_int_equal(tl_http(fx.port, "HEAD", "/ok", NULL, NULL, &r), 200);
    tl_assert_header(&r, "X-Hook-Seen", "1");
    /* 413, with the body over the limit */
    size_t big = WEB_MAX_BODY + 10;
    char *body = malloc(big);
    assert_non_null(body);
    memset(body, ' ', big);
    const char *noexpect[] = {"Content-Type: application/json", "Expect:", NULL};
    assert_int_equal(tl_http_on(NULL, fx.port, "POST", "/json", noexpect, body, big, 0, &r),
                     CURLE_OK);
    free(body);
    assert_int_equal(r.status, 413);
    tl_assert_header(&r, "X-Hook-Seen", "1");
}

static void
test_invalid_and_overflowing_headers_are_left_out(void **state)
{
    const char *bad[] = {"X-Hook: bad", NULL};
    const char *fill[] = {"X-Hook: fill", NULL};
    tl_resp r;
    char v[300];

    (void)state;
    assert_int_equal(tl_http(fx.port, "GET", "/ok", bad, NULL, &r), 200);
    tl_assert_header(&r, "X-Split", NULL);
    tl_assert_header(&r, "X-Injected", NULL);
    tl_assert_header(&r, "X-Nul-Free", "tab\tis fine");
    tl_assert_header(&r, "X-Hook-Seen", "1");
    /* ten 200-byte values do not fit in 1 KiB: the first ones go out whole,
     * the rest are left out, and the answer is intact */
    assert_int_equal(tl_http(fx.port, "GET", "/ok", fill, NULL, &r), 200);
    assert_non_null(tl_header(&r, "X-Fill-0", v, sizeof(v)));
    assert_int_equal(strlen(v), 199);
    assert_null(tl_header(&r, "X-Fill-9", v, sizeof(v)));
    json_object_put(tl_body_json(&r));
}

static void
test_ctx_is_kept_and_released(void **state)
{
    const char *ctx[] = {"X-Hook: ctx", NULL};
    tl_resp r;

    (void)state;
    int released = seen_get(&seen.released);
    assert_int_equal(tl_http(fx.port, "GET", "/ok", ctx, NULL, &r), 200);
    json_object *o = tl_body_json(&r);
    assert_string_equal(tl_jstr(o, "ctx", NULL), "caller-42");
    json_object_put(o);
    /* "first" when replaced, "caller-42" when the request ended (just after
     * the reply went out) */
    seen_wait(&seen.released, released + 2);
    assert_int_equal(tl_http(fx.port, "GET", "/ok", NULL, NULL, &r), 200);
    o = tl_body_json(&r);
    assert_null(json_object_object_get(o, "ctx"));
    json_object_put(o);
}

static void
test_websocket_upgrades_meet_the_hook(void **state)
{
    char head[2048], buf[200];

    (void)state;
    int upgrades = seen_get(&seen.upgrades), connects = seen_get(&seen.connects);
    /* refused by the hook: its status and headers, on_connect never runs */
    int fd = tl_ws_connect(fx.port, "/ws/room1", "X-Hook: deny\r\n", head, sizeof(head));
    assert_true(fd >= 0);
    assert_true(strncmp(head, "HTTP/1.1 401 ", 13) == 0);
    assert_non_null(strstr(head, "X-Hook-Seen: 1"));
    assert_non_null(strstr(head, "WWW-Authenticate: Bearer"));
    close(fd);
    assert_int_equal(seen_get(&seen.upgrades), upgrades + 1);
    assert_int_equal(seen_get(&seen.connects), connects);
    /* encoded CR/LF on an upgrade: 400 */
    fd = tl_ws_connect(fx.port, "/ws/a%0d%0a", NULL, head, sizeof(head));
    assert_true(strncmp(head, "HTTP/1.1 400 ", 13) == 0);
    close(fd);
    /* accepted: the hook's context reaches the connection */
    int released = seen_get(&seen.released);
    fd = tl_ws_connect(fx.port, "/ws/room1", "X-Hook: ctx\r\n", head, sizeof(head));
    assert_true(strncmp(head, "HTTP/1.1 101 ", 13) == 0);
    assert_int_equal(tl_ws_recv(fd, buf, sizeof(buf)), 0);
    assert_string_equal(buf, "hi");
    pthread_mutex_lock(&seen.mu);
    assert_string_equal(seen.ws_ctx, "caller-42");
    pthread_mutex_unlock(&seen.mu);
    /* "first" was released when replaced; "caller-42" lives with the socket */
    assert_int_equal(seen_get(&seen.released), released + 1);
    int closes = seen_get(&seen.closes);
    static const char close_4002[] = {0x0f, (char)0xa2, 'b', 'y', 'e'};
    assert_int_equal(tl_ws_send(fd, 8, close_4002, sizeof(close_4002)), 0);
    seen_wait(&seen.closes, closes + 1);
    pthread_mutex_lock(&seen.mu);
    assert_int_equal(seen.peer_close, 4002);
    pthread_mutex_unlock(&seen.mu);
    close(fd);
    seen_wait(&seen.released, released + 2);
}

static void
test_close_with_code_and_reason(void **state)
{
    char head[2048], buf[200];
    size_t len = 0;

    (void)state;
    int closes = seen_get(&seen.closes);
    int fd = tl_ws_connect(fx.port, "/ws/close-4001", NULL, head, sizeof(head));
    assert_true(strncmp(head, "HTTP/1.1 101 ", 13) == 0);
    assert_int_equal(read_frame(fd, buf, sizeof(buf), &len), 8);
    assert_int_equal(len, 2 + 7);
    assert_int_equal(((unsigned char)buf[0] << 8) | (unsigned char)buf[1], 4001);
    assert_memory_equal(buf + 2, "bye?now", 7); /* not printable: replaced */
    close(fd);

    fd = tl_ws_connect(fx.port, "/ws/close-1006", NULL, head, sizeof(head));
    assert_int_equal(read_frame(fd, buf, sizeof(buf), &len), 8);
    assert_int_equal(len, 2);
    assert_int_equal(((unsigned char)buf[0] << 8) | (unsigned char)buf[1], 1000);
    close(fd);

    /* the two closes above reach the application on their own threads: wait
     * for them, so the count below is the next connection's alone */
    seen_wait(&seen.closes, closes + 2);
    closes += 2;

    /* a close frame without a code: 1005 for the application */
    fd = tl_ws_connect(fx.port, "/ws/plain", NULL, head, sizeof(head));
    assert_int_equal(tl_ws_recv(fd, buf, sizeof(buf)), 0);
    assert_int_equal(tl_ws_send(fd, 8, NULL, 0), 0);
    seen_wait(&seen.closes, closes + 1);
    pthread_mutex_lock(&seen.mu);
    assert_int_equal(seen.peer_close, 1005);
    pthread_mutex_unlock(&seen.mu);
    close(fd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_safe),
        cmocka_unit_test(test_encoded_controls_are_400_before_the_hook),
        cmocka_unit_test(test_hook_answers_before_routing),
        cmocka_unit_test(test_added_headers_go_out_with_every_reply),
        cmocka_unit_test(test_invalid_and_overflowing_headers_are_left_out),
        cmocka_unit_test(test_ctx_is_kept_and_released),
        cmocka_unit_test(test_websocket_upgrades_meet_the_hook),
        cmocka_unit_test(test_close_with_code_and_reason),
    };

    log_init("test-web-hook", LOGL_WARN);
    /* the refused headers are logged as errors: keep them off the output */
    if (tl_log_capture() < 0)
        return 1;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    curl_global_cleanup();
    return rc;
}
