/* Tests for web's WebSockets: a real server on a free port (tests/unit/support)
 * and a small raw-socket WebSocket client. The HTTP tests are in test_web.c. */
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
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "testlib.h"
#include "util.h"
#include "web.h"

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
    {"/quiet/{room}", NULL, NULL, NULL, ws_on_close}, /* keeps no reference */
};

static void
start_server(tl_server *f)
{
    tl_server_cfg cfg = {
        .ws = ws_routes, .nws = sizeof(ws_routes) / sizeof(ws_routes[0]), .ready = true};

    tl_server_start(f, &cfg);
}

static int
setup(void **state)
{
    static tl_server f;

    start_server(&f);
    *state = &f;
    return 0;
}

static int
teardown(void **state)
{
    tl_server_stop(*state);
    return 0;
}

/* ---- client ---- */

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

/* ---- tests ---- */

static void
test_websocket(void **state)
{
    tl_server *f = *state;
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
    /* the next message is measured on its own, not with the one before */
    ws_send_frame(fd, 1, true, big, 10000);
    expect_text(fd, "len 10000");

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
    tl_server *f = *state;
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
test_websocket_limit(void **state)
{
    tl_server f;
    char head[2048];
    tl_server_cfg cfg = {.ws = ws_routes,
                         .nws = sizeof(ws_routes) / sizeof(ws_routes[0]),
                         .ready = true,
                         .threads = 4};

    (void)state;
    reset_ws_state();
    tl_server_start(&f, &cfg);
    /* Half the threads may hold WebSockets; the next upgrade is refused. */
    int a = ws_connect_raw(f.port, "/quiet/one", NULL, head, sizeof(head));
    assert_non_null(strstr(head, "HTTP/1.1 101"));
    int b = ws_connect_raw(f.port, "/quiet/two", NULL, head, sizeof(head));
    assert_non_null(strstr(head, "HTTP/1.1 101"));
    int c = ws_connect_raw(f.port, "/quiet/three", NULL, head, sizeof(head));
    assert_non_null(strstr(head, "HTTP/1.1 503"));
    assert_non_null(strstr(head, "Retry-After: 1"));
    close(c);
    /* Plain requests are still served meanwhile. */
    tl_resp r;
    assert_int_equal(tl_http(f.port, "GET", "/quiet/one", NULL, NULL, &r), 404);
    /* When one closes, a new one gets in. */
    close(a);
    bool admitted = false;
    for (int i = 0; i < 300 && !admitted; i++) {
        c = ws_connect_raw(f.port, "/quiet/four", NULL, head, sizeof(head));
        admitted = strstr(head, "HTTP/1.1 101") != NULL;
        close(c);
        if (!admitted)
            tl_pause_ms(10);
    }
    assert_true(admitted);
    close(b);
    tl_server_stop(&f);
}

static void
test_websocket_server_stop(void **state)
{
    tl_server f;
    char head[2048];

    (void)state;
    reset_ws_state();
    start_server(&f);
    int fd = ws_connect_raw(f.port, "/ws/stop", NULL, head, sizeof(head));
    expect_text(fd, "hello stop");
    web_ws *ws = take_ws();
    web_server_stop(f.srv);
    assert_int_equal(wss.closes, 1); /* stop returned after on_close */
    expect_close(fd, 1001);
    assert_int_equal(web_ws_send_text(ws, "x", 1), -1);
    web_ws_unref(ws);
    close(fd);
    tl_server_stop(&f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_websocket),
        cmocka_unit_test(test_websocket_refused),
        cmocka_unit_test(test_websocket_limit),
        cmocka_unit_test(test_websocket_server_stop),
    };

    /* Debug lines too, so that their code runs; kept off stdout. */
    log_init("test-web-ws", LOGL_DEBUG);
    int log_fd = tl_log_capture();
    if (log_fd < 0)
        return 1;
    int rc = cmocka_run_group_tests(tests, setup, teardown);
    free(tl_log_end(log_fd, NULL));
    return rc;
}
