/* Tests for the gateway's upstream HTTP client (upclient.c) against a tiny
 * server in a thread of the test: each test gives it a function that
 * answers each request it reads, byte for byte, so framing (Content-Length,
 * chunked with extensions and trailers, until close), HEAD, 204/304, 1xx,
 * keep-alive reuse, the stale keep-alive retry, timeouts, size limits and
 * malformed answers are each checked on the wire. The server counts the
 * connections it accepted and the requests it read; the tests wait on those
 * counts with deadlines, never on sleeps. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include "testlib_srv.h"
#include "upclient.h"
#include "util.h"

/* ---- helpers ---- */

static upc_target *
target_for(const tl_srv *s, const char *prefix)
{
    char url[128];
    upc_target *t = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", s != NULL ? s->port : 1, prefix);
    assert_int_equal(upc_target_new(url, &t), UPC_OK);
    return t;
}

static int
send_req(upc_target *t, const char *method, const char *target, long timeout_ms, upc_response **out,
         upc_info *info)
{
    upc_request rq = {.method = method,
                      .target = target,
                      .timeout_ms = timeout_ms,
                      .connect_timeout_ms = timeout_ms};
    return upc_send(t, &rq, out, info);
}

/* GET / with a 5 s timeout; asserts rc. */
static upc_response *
get_ok(upc_target *t, upc_info *info)
{
    upc_response *r = NULL;
    assert_int_equal(send_req(t, "GET", "/", 5000, &r, info), UPC_OK);
    assert_non_null(r);
    return r;
}

/* ---- tests ---- */

static void
test_content_length(void **state)
{
    (void)state;
    tl_srv *s =
        tl_srv_start(tl_srv_answer_keep, "HTTP/1.1 201 Created\r\nContent-Length: 5\r\n"
                                         "X-A: b \r\nContent-Type: text/plain\r\n\r\nhello");
    upc_target *t = target_for(s, "");
    upc_info info;
    upc_response *r = get_ok(t, &info);

    assert_int_equal(r->status, 201);
    assert_int_equal(r->minor, 1);
    assert_int_equal(r->body_len, 5);
    assert_string_equal(r->body, "hello");
    assert_string_equal(upc_header_get(r, "x-a"), "b");
    assert_string_equal(upc_header_get(r, "Content-Type"), "text/plain");
    assert_null(upc_header_get(r, "X-Missing"));
    assert_int_equal(r->nheaders, 3);
    assert_string_equal(r->headers[1].line, "X-A: b");
    assert_int_equal(r->headers[1].name_len, 3);
    assert_false(info.reused);
    /* A complete HTTP/1.1 answer: the connection went back to the pool. */
    assert_int_equal(upc_target_idle(t), 1);
    upc_response_free(r);
    upc_target_free(t);
    tl_srv_stop(s);
}

static void
test_request_on_the_wire(void **state)
{
    (void)state;
    tl_srv *s = tl_srv_start(tl_srv_answer_keep, "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n");
    upc_target *t = target_for(s, "/pre/");
    char hbuf[256], want[512];
    upc_head h;
    upc_response *r = NULL;

    upc_head_init(&h, hbuf, sizeof(hbuf));
    assert_true(upc_head_add(&h, "X-A", "1"));
    assert_true(upc_head_addn(&h, "X-Empty", 7, "", 0));
    upc_request rq = {.method = "POST",
                      .target = "/p%20q?x=1&y",
                      .headers = hbuf,
                      .headers_len = h.len,
                      .body = "abc",
                      .body_len = 3,
                      .timeout_ms = 5000,
                      .connect_timeout_ms = 5000};
    assert_int_equal(upc_send(t, &rq, &r, NULL), UPC_OK);
    assert_true(tl_srv_wait(s, &s->requests, 1, TL_WAIT_MS));
    snprintf(want, sizeof(want),
             "POST /pre/p%%20q?x=1&y HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nX-A: 1\r\nX-Empty: \r\n"
             "Content-Length: 3\r\n\r\nabc",
             s->port);
    assert_string_equal(s->reqs[0], want);
    upc_response_free(r);
    /* POST without a body says so; GET and DELETE without one say nothing. */
    rq.body = NULL;
    rq.body_len = 0;
    rq.headers_len = 0;
    rq.target = "/";
    assert_int_equal(upc_send(t, &rq, &r, NULL), UPC_OK);
    upc_response_free(r);
    rq.method = "DELETE";
    assert_int_equal(upc_send(t, &rq, &r, NULL), UPC_OK);
    upc_response_free(r);
    assert_true(tl_srv_wait(s, &s->requests, 3, TL_WAIT_MS));
    assert_non_null(strstr(s->reqs[1], "\r\nContent-Length: 0\r\n\r\n"));
    assert_null(strstr(s->reqs[2], "Content-Length"));
    assert_memory_equal(s->reqs[2], "DELETE /pre/ HTTP/1.1\r\n", 23);
    /* Every request on the one connection. */
    assert_int_equal(tl_srv_get(s, &s->accepted), 1);
    upc_target_free(t);
    tl_srv_stop(s);
}

static void
test_chunked_with_extensions_and_trailers(void **state)
{
    (void)state;
    tl_srv *s = tl_srv_start(tl_srv_answer_bytewise,
                             "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-B: 1\r\n\r\n"
                             "5;ext=1\r\nhello\r\n"
                             "6 ; name=\"v\"\r\n world\r\n"
                             "A\r\n0123456789\r\n"
                             "0;last\r\nX-Trailer: t\r\nX-Other: u\r\n\r\n");
    upc_target *t = target_for(s, "");
    upc_response *r = get_ok(t, NULL);

    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, 21);
    assert_string_equal(r->body, "hello world0123456789");
    assert_string_equal(upc_header_get(r, "X-B"), "1");
    assert_null(upc_header_get(r, "X-Trailer")); /* trailers are not relayed */
    assert_int_equal(upc_target_idle(t), 1);
    upc_response_free(r);
    /* The connection is good for another chunked answer. */
    r = get_ok(t, NULL);
    assert_int_equal(r->body_len, 21);
    upc_response_free(r);
    assert_int_equal(tl_srv_get(s, &s->accepted), 1);
    upc_target_free(t);
    tl_srv_stop(s);
}

/* A body larger than the first buffer, in chunks larger than it. */
static tl_srv_next
answer_big_chunks(tl_srv *s, int fd, int conn, int nreq, const char *raw, size_t len)
{
    static char data[100000];
    char line[32];
    (void)s, (void)conn, (void)nreq, (void)raw, (void)len;
    for (size_t i = 0; i < sizeof(data); i++)
        data[i] = (char)('a' + i % 26);
    const char *head = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n";
    tl_srv_write(fd, head, strlen(head));
    for (size_t off = 0; off < sizeof(data); off += 40000) {
        size_t n = sizeof(data) - off < 40000 ? sizeof(data) - off : 40000;
        int m = snprintf(line, sizeof(line), "%zx\r\n", n);
        tl_srv_write(fd, line, (size_t)m);
        tl_srv_write(fd, data + off, n);
        tl_srv_write(fd, "\r\n", 2);
    }
    tl_srv_write(fd, "0\r\n\r\n", 5);
    return TL_SRV_KEEP;
}

static void
test_chunked_large(void **state)
{
    (void)state;
    tl_srv *s = tl_srv_start(answer_big_chunks, NULL);
    upc_target *t = target_for(s, "");
    upc_response *r = get_ok(t, NULL);

    assert_int_equal(r->body_len, 100000);
    for (size_t i = 0; i < r->body_len; i += 997)
        assert_int_equal(r->body[i], 'a' + i % 26);
    assert_int_equal(r->body[100000], '\0');
    assert_int_equal(upc_target_idle(t), 1);
    upc_response_free(r);
    upc_target_free(t);
    tl_srv_stop(s);
}

static void
test_until_close(void **state)
{
    (void)state;
    tl_srv *s = tl_srv_start(tl_srv_answer_close,
                             "HTTP/1.1 200 OK\r\nX-C: 1\r\n\r\nall of it, until the end");
    upc_target *t = target_for(s, "");
    upc_response *r = get_ok(t, NULL);

    assert_string_equal(r->body, "all of it, until the end");
    /* Framed by the end of the connection: nothing to keep. */
    assert_int_equal(upc_target_idle(t), 0);
    upc_response_free(r);
    upc_target_free(t);
    tl_srv_stop(s);
}

static void
test_head_has_no_body(void **state)
{
    (void)state;
    tl_srv *s = tl_srv_start(tl_srv_answer_keep, "HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\n");
    upc_target *t = target_for(s, "");
    upc_response *r = NULL;

    assert_int_equal(send_req(t, "HEAD", "/", 5000, &r, NULL), UPC_OK);
    assert_int_equal(r->status, 200);
    assert_int_equal(r->body_len, 0);
    assert_string_equal(r->body, "");
    assert_string_equal(upc_header_get(r, "Content-Length"), "100");
    assert_int_equal(upc_target_idle(t), 1);
    upc_response_free(r);
    /* Had it waited for 100 bytes, this would time out. */
    assert_int_equal(send_req(t, "HEAD", "/", 5000, &r, NULL), UPC_OK);
    upc_response_free(r);
    assert_int_equal(tl_srv_get(s, &s->accepted), 1);
    upc_target_free(t);
    tl_srv_stop(s);
}

static void
test_204_and_304_have_no_body(void **state)
{
    (void)state;
    static const char *const answers[] = {
        "HTTP/1.1 204 No Content\r\nX-D: 1\r\n\r\n",
        "HTTP/1.1 304 Not Modified\r\nContent-Length: 50\r\n\r\n",
    };
    for (size_t i = 0; i < 2; i++) {
        tl_srv *s = tl_srv_start(tl_srv_answer_keep, answers[i]);
        upc_target *t = target_for(s, "");
        upc_response *r = get_ok(t, NULL);
        assert_int_equal(r->status, i == 0 ? 204 : 304);
        assert_int_equal(r->body_len, 0);
        assert_int_equal(upc_target_idle(t), 1);
        upc_response_free(r);
        r = get_ok(t, NULL);
        upc_response_free(r);
        assert_int_equal(tl_srv_get(s, &s->accepted), 1);
        upc_target_free(t);
        tl_srv_stop(s);
    }
}

static void
test_interim_answers_are_skipped(void **state)
{
    (void)state;
    tl_srv *s = tl_srv_start(tl_srv_answer_keep, "HTTP/1.1 100 Continue\r\n\r\n"
                                                 "HTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
                                                 "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    upc_target *t = target_for(s, "");
    upc_response *r = get_ok(t, NULL);

    assert_int_equal(r->status, 200);
    assert_string_equal(r->body, "ok");
    assert_null(upc_header_get(r, "Link"));
    upc_response_free(r);
    upc_target_free(t);
    tl_srv_stop(s);
}

static void
test_keep_alive_reuse(void **state)
{
    (void)state;
    tl_srv *s = tl_srv_start(tl_srv_answer_keep, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    upc_target *t = target_for(s, "");
    upc_info info;

    for (int i = 0; i < 3; i++) {
        upc_response *r = get_ok(t, &info);
        assert_string_equal(r->body, "ok");
        assert_int_equal(info.reused, i > 0);
        assert_false(info.stale_retry);
        upc_response_free(r);
    }
    assert_true(tl_srv_wait(s, &s->requests, 3, TL_WAIT_MS));
    assert_int_equal(tl_srv_get(s, &s->accepted), 1);
    assert_int_equal(upc_target_idle(t), 1);
    upc_target_free(t);
    tl_srv_stop(s);
}

/* The first request of a connection is answered; a second one on it is
 * read, then the connection closed without an answer: the keep-alive race,
 * as when a service closes an idle connection just as a request arrives. */
static tl_srv_next
answer_then_drop(tl_srv *s, int fd, int conn, int nreq, const char *raw, size_t len)
{
    if (nreq > 1)
        return TL_SRV_CLOSE;
    return tl_srv_answer_keep(s, fd, conn, nreq, raw, len);
}

static void
test_stale_pooled_connection_is_retried_on_a_fresh_one(void **state)
{
    (void)state;
    tl_srv *s = tl_srv_start(answer_then_drop, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    upc_target *t = target_for(s, "");
    upc_info info;
    upc_response *r = get_ok(t, &info);
    upc_response_free(r);

    /* POST too: the service closed without reading it as a request. */
    upc_request rq = {.method = "POST",
                      .target = "/",
                      .body = "{}",
                      .body_len = 2,
                      .timeout_ms = 5000,
                      .connect_timeout_ms = 5000};
    assert_int_equal(upc_send(t, &rq, &r, &info), UPC_OK);
    assert_string_equal(r->body, "ok");
    assert_true(info.stale_retry);
    assert_false(info.reused); /* the answer came on the new connection */
    upc_response_free(r);
    assert_int_equal(tl_srv_get(s, &s->accepted), 2);
    assert_int_equal(tl_srv_get(s, &s->requests), 3);
    upc_target_free(t);
    tl_srv_stop(s);
}

/* A fresh connection that ends before answering is not retried: that is a
 * broken upstream, not a race. */
static tl_srv_next
drop(tl_srv *s, int fd, int conn, int nreq, const char *raw, size_t len)
{
    (void)s, (void)fd, (void)conn, (void)nreq, (void)raw, (void)len;
    return TL_SRV_CLOSE;
}

static void
test_fresh_connection_closed_without_answer_is_broken(void **state)
{
    (void)state;
    tl_srv *s = tl_srv_start(drop, NULL);
    upc_target *t = target_for(s, "");
    upc_info info;
    upc_response *r = NULL;

    assert_int_equal(send_req(t, "GET", "/", 5000, &r, &info), UPC_ERR_BROKEN);
    assert_null(r);
    assert_false(info.stale_retry);
    assert_int_equal(tl_srv_get(s, &s->accepted), 1);
    assert_non_null(strstr(info.detail, "127.0.0.1"));
    upc_target_free(t);
    tl_srv_stop(s);
}

static void
test_idle_connection_closed_by_the_server(void **state)
{
    (void)state;
    tl_srv *s = tl_srv_start(tl_srv_answer_close, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok");
    upc_target *t = target_for(s, "");
    upc_response *r = get_ok(t, NULL);
    upc_response_free(r);
    /* The answer allowed keep-alive, but the server closed after it. */
    assert_true(tl_srv_wait(s, &s->closed, 1, TL_WAIT_MS));
    upc_info info;
    r = get_ok(t, &info);
    assert_string_equal(r->body, "ok");
    assert_false(info.reused);
    upc_response_free(r);
    assert_int_equal(tl_srv_get(s, &s->accepted), 2);
    upc_target_free(t);
    tl_srv_stop(s);
}

static void
test_connection_close_is_not_pooled(void **state)
{
    (void)state;
    tl_srv *s = tl_srv_start(tl_srv_answer_keep, "HTTP/1.1 200 OK\r\nConnection: Close\r\n"
                                                 "Content-Length: 2\r\n\r\nok");
    upc_target *t = target_for(s, "");
    upc_response *r = get_ok(t, NULL);
    assert_string_equal(r->body, "ok");
    assert_int_equal(upc_target_idle(t), 0);
    upc_response_free(r);
    upc_info info;
    r = get_ok(t, &info);
    assert_false(info.reused);
    upc_response_free(r);
    assert_int_equal(tl_srv_get(s, &s->accepted), 2);
    upc_target_free(t);
    tl_srv_stop(s);

    /* An HTTP/1.0 answer is not kept either. */
    s = tl_srv_start(tl_srv_answer_keep, "HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok");
    t = target_for(s, "");
    r = get_ok(t, NULL);
    assert_int_equal(r->minor, 0);
    assert_int_equal(upc_target_idle(t), 0);
    upc_response_free(r);
    upc_target_free(t);
    tl_srv_stop(s);
}

static void
test_connect_refused(void **state)
{
    (void)state;
    /* A port that was just free: bound, then closed. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &alen), 0);
    close(fd);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", ntohs(a.sin_port));
    upc_target *t = NULL;
    assert_int_equal(upc_target_new(url, &t), UPC_OK);
    upc_info info;
    upc_response *r = NULL;
    int64_t t0 = util_mono_ns();

    assert_int_equal(send_req(t, "GET", "/", 5000, &r, &info), UPC_ERR_CONNECT);
    assert_null(r);
    assert_true(util_mono_ns() - t0 < 1000000000LL);
    /* The address is for the log only; the result's name has none. */
    assert_non_null(strstr(info.detail, "cannot connect to 127.0.0.1:"));
    assert_null(strstr(upc_strerror(UPC_ERR_CONNECT), "127.0.0.1"));
    upc_target_free(t);
}

/* Read requests, never answer; hold the connection until the client ends
 * it (or the test stops). */
static tl_srv_next
never_answer(tl_srv *s, int fd, int conn, int nreq, const char *raw, size_t len)
{
    char c;
    (void)conn, (void)nreq, (void)raw, (void)len;
    while (tl_srv_readable(s, fd) && recv(fd, &c, 1, 0) > 0)
        ;
    return TL_SRV_CLOSE;
}

static void
test_slow_server_times_out(void **state)
{
    (void)state;
    tl_srv *s = tl_srv_start(never_answer, NULL);
    upc_target *t = target_for(s, "");
    upc_info info;
    upc_response *r = NULL;
    int64_t t0 = util_mono_ns();

    assert_int_equal(send_req(t, "GET", "/", 300, &r, &info), UPC_ERR_TIMEOUT);
    int64_t ms = (util_mono_ns() - t0) / 1000000;
    assert_true(ms >= 290 && ms < 3000);
    assert_null(r);
    assert_int_equal(upc_target_idle(t), 0);
    /* The connection was closed, not pooled: the server sees its end. */
    assert_true(tl_srv_wait(s, &s->closed, 1, TL_WAIT_MS));
    upc_target_free(t);
    tl_srv_stop(s);
}

/* An answer whose head never ends: more than UPC_MAX_HEAD bytes of headers. */
static tl_srv_next
answer_huge_head(tl_srv *s, int fd, int conn, int nreq, const char *raw, size_t len)
{
    char line[1024];
    (void)s, (void)conn, (void)nreq, (void)raw, (void)len;
    tl_srv_write(fd, "HTTP/1.1 200 OK\r\n", 17);
    memset(line, 'h', sizeof(line));
    memcpy(line, "X-Big: ", 7);
    memcpy(line + sizeof(line) - 2, "\r\n", 2);
    for (int i = 0; i < UPC_MAX_HEAD / (int)sizeof(line) + 2; i++)
        tl_srv_write(fd, line, sizeof(line));
    return never_answer(s, fd, conn, nreq, raw, len);
}

static void
test_oversized_answers(void **state)
{
    (void)state;
    char answer[128];
    snprintf(answer, sizeof(answer), "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n",
             UPC_MAX_BODY + 1);
    static const char *const chunked = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                                       "2000001\r\n";
    const char *answers[] = {answer, chunked};
    for (size_t i = 0; i < 2; i++) {
        tl_srv *s = tl_srv_start(tl_srv_answer_keep, answers[i]);
        upc_target *t = target_for(s, "");
        upc_response *r = NULL;
        /* Known from the framing alone: no waiting for the bytes. */
        assert_int_equal(send_req(t, "GET", "/", 5000, &r, NULL), UPC_ERR_TOO_LARGE);
        assert_null(r);
        assert_int_equal(upc_target_idle(t), 0);
        upc_target_free(t);
        tl_srv_stop(s);
    }
    tl_srv *s = tl_srv_start(answer_huge_head, NULL);
    upc_target *t = target_for(s, "");
    upc_response *r = NULL;
    assert_int_equal(send_req(t, "GET", "/", 5000, &r, NULL), UPC_ERR_TOO_LARGE);
    upc_target_free(t);
    tl_srv_stop(s);
}

static void
test_body_cut_short_is_broken(void **state)
{
    (void)state;
    static const char *const answers[] = {
        "HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
        "HTTP/1.1 200 OK\r\nContent-Len",
    };
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        tl_srv *s = tl_srv_start(tl_srv_answer_close, answers[i]);
        upc_target *t = target_for(s, "");
        upc_response *r = NULL;
        assert_int_equal(send_req(t, "GET", "/", 5000, &r, NULL), UPC_ERR_BROKEN);
        assert_null(r);
        upc_target_free(t);
        tl_srv_stop(s);
    }
}

static void
test_malformed_answers(void **state)
{
    (void)state;
    static const char *const answers[] = {
        "HTTP/1.1 2OO OK\r\nContent-Length: 0\r\n\r\n",            /* status not digits */
        "HTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n",             /* not HTTP */
        "HTTP/2 200 OK\r\nContent-Length: 0\r\n\r\n",              /* not HTTP/1.x */
        "HTTP/1.1 200OK\r\nContent-Length: 0\r\n\r\n",             /* no space after status */
        "HTTP/1.1 099 Low\r\nContent-Length: 0\r\n\r\n",           /* below 100 */
        "HTTP/1.1 200 OK\r\nNo colon here\r\n\r\n",                /* header without a name */
        "HTTP/1.1 200 OK\r\nX-A : 1\r\nContent-Length: 0\r\n\r\n", /* blank before colon */
        "HTTP/1.1 200 OK\r\nX-A: 1\r\n folded\r\nContent-Length: 0\r\n\r\n",    /* obs-fold */
        "HTTP/1.1 200 OK\r\nX-A: a\rb\r\nContent-Length: 0\r\n\r\n",            /* bare CR */
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 3\r\n\r\nabc", /* two lengths */
        "HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
        "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n",
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",       /* chunk size */
        "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabX\r\n", /* no CRLF */
        "HTTP/1.1 101 Switching Protocols\r\nUpgrade: x\r\n\r\n",            /* not asked for */
    };
    for (size_t i = 0; i < sizeof(answers) / sizeof(answers[0]); i++) {
        tl_srv *s = tl_srv_start(tl_srv_answer_keep, answers[i]);
        upc_target *t = target_for(s, "");
        upc_response *r = NULL;
        upc_info info;
        int rc = send_req(t, "GET", "/", 5000, &r, &info);
        if (rc != UPC_ERR_INVALID)
            print_error("answer %zu: %d (%s)\n", i, rc, info.detail);
        assert_int_equal(rc, UPC_ERR_INVALID);
        assert_null(r);
        assert_int_equal(upc_target_idle(t), 0);
        upc_target_free(t);
        tl_srv_stop(s);
    }
}

static void
test_many_headers_kept_up_to_the_limit(void **state)
{
    (void)state;
    static char answer[8192];
    size_t n = (size_t)snprintf(answer, sizeof(answer), "HTTP/1.1 200 OK\r\n");
    for (int i = 0; i < UPC_MAX_HEADERS + 10; i++)
        n += (size_t)snprintf(answer + n, sizeof(answer) - n, "X-H%d: %d\r\n", i, i);
    snprintf(answer + n, sizeof(answer) - n, "Content-Length: 2\r\n\r\nok");
    tl_srv *s = tl_srv_start(tl_srv_answer_keep, answer);
    upc_target *t = target_for(s, "");
    upc_response *r = get_ok(t, NULL);

    assert_int_equal(r->nheaders, UPC_MAX_HEADERS);
    assert_string_equal(upc_header_get(r, "X-H0"), "0");
    assert_null(upc_header_get(r, "X-H70"));
    /* The framing header after the last one kept still frames the body. */
    assert_string_equal(r->body, "ok");
    upc_response_free(r);
    upc_target_free(t);
    tl_srv_stop(s);
}

static void
test_bad_arguments(void **state)
{
    (void)state;
    upc_target *t = NULL;
    char buf[32];
    upc_head h;
    upc_response *r = (upc_response *)1;

    assert_int_equal(upc_target_new("https://127.0.0.1:1", &t), UPC_ERR_ARG);
    assert_null(t);
    assert_int_equal(upc_target_new("ftp://x", &t), UPC_ERR_ARG);
    assert_int_equal(upc_target_new("http://", &t), UPC_ERR_ARG);
    assert_int_equal(upc_target_new("http://h:99999", &t), UPC_ERR_ARG);
    t = target_for(NULL, "");
    assert_int_equal(send_req(t, "GET", "/a b", 1000, &r, NULL), UPC_ERR_ARG);
    assert_null(r);
    assert_int_equal(send_req(t, "GET", "/a\r\nX: y", 1000, &r, NULL), UPC_ERR_ARG);
    assert_int_equal(send_req(t, "GET", "no-slash", 1000, &r, NULL), UPC_ERR_ARG);
    assert_int_equal(send_req(t, "G T", "/", 1000, &r, NULL), UPC_ERR_ARG);
    upc_target_free(t);
    upc_target_free(NULL);
    upc_response_free(NULL);

    /* Header lines: no CR, LF or NUL in values, names are tokens, bounded. */
    upc_head_init(&h, buf, sizeof(buf));
    assert_false(upc_head_add(&h, "X-A", "1\r\nX-Injected: 1"));
    assert_false(upc_head_add(&h, "X A", "1"));
    assert_false(upc_head_add(&h, "", "1"));
    assert_false(upc_head_addn(&h, "X-N", 3, "a\0b", 3));
    assert_int_equal(h.len, 0);
    assert_false(h.overflow);
    assert_true(upc_head_add(&h, "X-A", "1"));
    assert_int_equal(h.len, 8);
    assert_false(upc_head_add(&h, "X-Long", "0123456789012345678901234567890"));
    assert_true(h.overflow);
    assert_int_equal(h.len, 8);
    assert_memory_equal(buf, "X-A: 1\r\n", 8);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_content_length),
        cmocka_unit_test(test_request_on_the_wire),
        cmocka_unit_test(test_chunked_with_extensions_and_trailers),
        cmocka_unit_test(test_chunked_large),
        cmocka_unit_test(test_until_close),
        cmocka_unit_test(test_head_has_no_body),
        cmocka_unit_test(test_204_and_304_have_no_body),
        cmocka_unit_test(test_interim_answers_are_skipped),
        cmocka_unit_test(test_keep_alive_reuse),
        cmocka_unit_test(test_stale_pooled_connection_is_retried_on_a_fresh_one),
        cmocka_unit_test(test_fresh_connection_closed_without_answer_is_broken),
        cmocka_unit_test(test_idle_connection_closed_by_the_server),
        cmocka_unit_test(test_connection_close_is_not_pooled),
        cmocka_unit_test(test_connect_refused),
        cmocka_unit_test(test_slow_server_times_out),
        cmocka_unit_test(test_oversized_answers),
        cmocka_unit_test(test_body_cut_short_is_broken),
        cmocka_unit_test(test_malformed_answers),
        cmocka_unit_test(test_many_headers_kept_up_to_the_limit),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
