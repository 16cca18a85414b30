/* Tests for what the gateway's event loop decides alone: where a request
 * head ends, which heads and paths it takes itself (edge_http.c; anything
 * else goes to civetweb), and when an upstream's answer is whole
 * (upc__answer_ready, which must agree with upclient's parser without
 * changing the bytes). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "edge_http.h"
#include "upclient.h"
#include "upclient_internal.h"

/* ---- heads ---- */

static void
test_head_end(void **state)
{
    (void)state;
    const char *h = "GET / HTTP/1.1\r\nHost: x\r\n\r\nNEXT";
    assert_int_equal(eh_head_end(h, strlen(h)), strlen(h) - 4);
    assert_int_equal(eh_head_end(h, strlen(h) - 5), 0); /* the empty line not complete */
    assert_int_equal(eh_head_end("GET / HTTP/1.1\r\n", 16), 0);
    assert_int_equal(eh_head_end("GET / HTTP/1.1\n\n", 16), 16);
    assert_int_equal(eh_head_end("", 0), 0);
}

/* Parse a copy of text (a whole head); returns the parser's verdict. */
static bool
parse(const char *text, struct mg_request_info *ri, char *buf, size_t cap)
{
    size_t n = strlen(text);
    assert_true(n < cap);
    memcpy(buf, text, n + 1);
    assert_int_equal(eh_head_end(buf, n), n);
    memset(ri, 0, sizeof(*ri));
    return eh_parse(buf, n, ri);
}

static void
test_parse_plain_request(void **state)
{
    (void)state;
    char buf[512];
    struct mg_request_info ri;
    assert_true(parse("POST /api/automation/jobs?x=1&y=%20 HTTP/1.1\r\n"
                      "Host: gw\r\nContent-Length: 12\r\nX-Empty:\r\nAuthorization:  Bearer t \r\n"
                      "\r\n",
                      &ri, buf, sizeof(buf)));
    assert_string_equal(ri.request_method, "POST");
    assert_string_equal(ri.local_uri, "/api/automation/jobs");
    assert_string_equal(ri.query_string, "x=1&y=%20");
    assert_string_equal(ri.http_version, "1.1");
    assert_int_equal(ri.content_length, 12);
    assert_int_equal(ri.num_headers, 4);
    assert_string_equal(ri.http_headers[2].name, "X-Empty");
    assert_string_equal(ri.http_headers[2].value, "");
    assert_string_equal(ri.http_headers[3].value, "Bearer t"); /* blanks trimmed */

    assert_true(parse("GET /x HTTP/1.0\r\n\r\n", &ri, buf, sizeof(buf)));
    assert_null(ri.query_string);
    assert_int_equal(ri.content_length, 0);
    assert_int_equal(ri.num_headers, 0);
    assert_string_equal(ri.http_version, "1.0");
}

/* Every one of these goes to civetweb (false), which answers it as before. */
static void
test_parse_refuses_the_unusual(void **state)
{
    (void)state;
    static const char *const heads[] = {
        "GET /x HTTP/1.1\n\n",                                    /* bare LF */
        "GET /x HTTP/2.0\r\n\r\n",                                /* version */
        "GET  /x HTTP/1.1\r\n\r\n",                               /* two spaces */
        "GET x HTTP/1.1\r\n\r\n",                                 /* not origin-form */
        "GET http://h/x HTTP/1.1\r\n\r\n",                        /* absolute form */
        "G(T /x HTTP/1.1\r\n\r\n",                                /* method not a token */
        "GET /a\x01 HTTP/1.1\r\n\r\n",                            /* control character */
        "GET /x HTTP/1.1\r\nBad Name: v\r\n\r\n",                 /* blank in a name */
        "GET /x HTTP/1.1\r\nName : v\r\n\r\n",                    /* blank before colon */
        "GET /x HTTP/1.1\r\nA: b\r\n folded\r\n\r\n",             /* obs-fold */
        "GET /x HTTP/1.1\r\nA: b\x7f\r\n\r\n",                    /* DEL in a value */
        "GET /x HTTP/1.1\r\nA: b\rc\r\n\r\n",                     /* CR in a value */
        "POST /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n", /* chunked */
        "GET /x HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",          /* upgrade */
        "POST /x HTTP/1.1\r\nExpect: 100-continue\r\n\r\n",       /* expect */
        "POST /x HTTP/1.1\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: 1 2\r\n\r\n",
        "POST /x HTTP/1.1\r\nContent-Length: 1234567890123456789\r\n\r\n",
        "GET /x HTTP/1.1\r\nNoColon\r\n\r\n",
    };
    char buf[512];
    struct mg_request_info ri;
    for (size_t i = 0; i < sizeof(heads) / sizeof(heads[0]); i++) {
        size_t n = strlen(heads[i]);
        memcpy(buf, heads[i], n + 1);
        size_t end = eh_head_end(buf, n);
        memset(&ri, 0, sizeof(ri));
        if (end != 0 && eh_parse(buf, end, &ri))
            fail_msg("head %zu was taken: %s", i, heads[i]);
    }
}

static void
test_parse_header_count_limit(void **state)
{
    (void)state;
    char buf[8192];
    struct mg_request_info ri;
    size_t n = (size_t)snprintf(buf, sizeof(buf), "GET /x HTTP/1.1\r\n");
    for (int i = 0; i < MG_MAX_HEADERS - 1; i++)
        n += (size_t)snprintf(buf + n, sizeof(buf) - n, "H%d: v\r\n", i);
    memcpy(buf + n, "\r\n", 3);
    char copy[8192];
    assert_true(parse(buf, &ri, copy, sizeof(copy)));
    assert_int_equal(ri.num_headers, MG_MAX_HEADERS - 1);
    /* one more reaches civetweb's limit, where it answers 431 */
    n += (size_t)snprintf(buf + n, sizeof(buf) - n, "Last: v\r\n\r\n");
    assert_false(parse(buf, &ri, copy, sizeof(copy)));
}

static void
test_plain_paths(void **state)
{
    (void)state;
    assert_true(eh_path_plain("/"));
    assert_true(eh_path_plain("/api/automation/jobs/3f8b1c9e-2d4a-4b6c-9e1f-0a2b3c4d5e6f"));
    assert_true(eh_path_plain("/api/toast/a.b/c~d/e:f@g/h'(i)*,;=+$!&"));
    assert_true(eh_path_plain("/api/x/.hidden"));
    assert_true(eh_path_plain("/api/x/..."));
    assert_false(eh_path_plain("/api/automation/../auth/users"));
    assert_false(eh_path_plain("/api/automation/./jobs"));
    assert_false(eh_path_plain("/api/automation/.."));
    assert_false(eh_path_plain("/api/automation/."));
    assert_false(eh_path_plain("/api//automation"));
    assert_true(eh_path_plain("/api/automation/"));  /* civetweb keeps it too */
    assert_false(eh_path_plain("/api/%2e%2e/auth")); /* any escape goes to civetweb */
    assert_false(eh_path_plain("/api/a\"b"));
    assert_false(eh_path_plain("api/x"));
}

/* ---- is an upstream's answer whole? ---- */

/* What upc__answer_ready says of text[0..n) (not NUL-terminated). */
static int
ready(const char *text, size_t n, const char *method, bool eof)
{
    char *copy = malloc(n + 1);
    assert_non_null(copy);
    memcpy(copy, text, n);
    copy[n] = '#'; /* past the end: must not be read */
    int rc = upc__answer_ready(copy, n, method, eof);
    assert_memory_equal(copy, text, n); /* nothing changed */
    free(copy);
    return rc;
}

/* Every strict prefix of a whole answer is "not yet" (or broken at EOF),
 * and the whole one is ready. */
static void
check_prefixes(const char *answer, const char *method)
{
    size_t n = strlen(answer);
    for (size_t i = 0; i < n; i++) {
        if (ready(answer, i, method, false) != 0)
            fail_msg("prefix of %zu bytes of %s taken as whole", i, answer);
        assert_int_equal(ready(answer, i, method, true), UPC_ERR_BROKEN);
    }
    assert_int_equal(ready(answer, n, method, false), 1);
}

static void
test_answer_ready_framings(void **state)
{
    (void)state;
    check_prefixes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello", "GET");
    check_prefixes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
                   "5;ext=1\r\nhello\r\n1\r\n!\r\n0\r\nTrailer: x\r\n\r\n",
                   "GET");
    check_prefixes("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n", "POST");
    check_prefixes("HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n", "HEAD");
    check_prefixes("HTTP/1.1 304 Not Modified\r\nContent-Length: 5\r\n\r\n", "GET");
    /* until the connection ends: whole only at EOF */
    const char *close = "HTTP/1.0 200 OK\r\n\r\nbody";
    assert_int_equal(ready(close, strlen(close), "GET", false), 0);
    assert_int_equal(ready(close, strlen(close), "GET", true), 1);
}

static void
test_answer_ready_refuses(void **state)
{
    (void)state;
    const char *two = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n";
    assert_int_equal(ready(two, strlen(two), "GET", false), UPC_ERR_INVALID);
    const char *twice = "HTTP/1.1 200 OK\r\nContent-Length: 1\r\ncontent-length: 2\r\n\r\nab";
    assert_int_equal(ready(twice, strlen(twice), "GET", false), UPC_ERR_INVALID);
    const char *junk = "HTTP/1.1 200 OK\r\nContent-Length: 1x\r\n\r\nab";
    assert_int_equal(ready(junk, strlen(junk), "GET", false), UPC_ERR_INVALID);
    const char *sw = "HTTP/1.1 101 Switching Protocols\r\n\r\n";
    assert_int_equal(ready(sw, strlen(sw), "GET", false), UPC_ERR_INVALID);
    const char *bad = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n";
    assert_int_equal(ready(bad, strlen(bad), "GET", false), UPC_ERR_INVALID);
    char big[128];
    snprintf(big, sizeof(big), "HTTP/1.1 200 OK\r\nContent-Length: %u\r\n\r\n", UPC_MAX_BODY + 1);
    assert_int_equal(ready(big, strlen(big), "GET", false), UPC_ERR_TOO_LARGE);
    /* a head that never ends within the limit */
    size_t n = UPC_MAX_HEAD + 2;
    char *head = malloc(n);
    assert_non_null(head);
    memcpy(head, "HTTP/1.1 200 OK\r\nX: ", 21);
    memset(head + 21, 'a', n - 21);
    assert_int_equal(ready(head, n, "GET", false), UPC_ERR_TOO_LARGE);
    free(head);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_head_end),
        cmocka_unit_test(test_parse_plain_request),
        cmocka_unit_test(test_parse_refuses_the_unusual),
        cmocka_unit_test(test_parse_header_count_limit),
        cmocka_unit_test(test_plain_paths),
        cmocka_unit_test(test_answer_ready_framings),
        cmocka_unit_test(test_answer_ready_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
