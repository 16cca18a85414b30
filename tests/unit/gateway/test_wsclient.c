/* Tests for the gateway's WebSocket client: frames, masking, reassembly, the
 * handshake's key and answer check, and a connection over a socketpair (no
 * server). Examples are RFC 6455's own (sections 1.3 and 5.7). */
#include <sys/socket.h>

#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "wsclient.h"

static const uint8_t rfc_mask[4] = {0x37, 0xfa, 0x21, 0x3d};

static void
test_accept_key_rfc_example(void **state)
{
    char out[WSC_ACCEPT_LEN + 1];

    (void)state;
    assert_int_equal(wsc_accept_for("dGhlIHNhbXBsZSBub25jZQ==", out), 0);
    assert_string_equal(out, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
}

static void
test_key_is_16_random_bytes(void **state)
{
    char a[WSC_KEY_LEN + 1], b[WSC_KEY_LEN + 1];
    unsigned char raw[32];

    (void)state;
    assert_int_equal(wsc_key_new(a), 0);
    assert_int_equal(wsc_key_new(b), 0);
    assert_int_equal(strlen(a), WSC_KEY_LEN);
    assert_string_not_equal(a, b);
    /* 24 base64 characters ending "==" decode to 16 bytes */
    assert_int_equal(EVP_DecodeBlock(raw, (const unsigned char *)a, WSC_KEY_LEN), 18);
    assert_memory_equal(a + 22, "==", 2);
}

static void
test_encode_rfc_examples(void **state)
{
    uint8_t out[64];
    static const uint8_t unmasked[] = {0x81, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};
    static const uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                     0x7f, 0x9f, 0x4d, 0x51, 0x58};
    static const uint8_t first[] = {0x01, 0x03, 0x48, 0x65, 0x6c};
    static const uint8_t last[] = {0x80, 0x02, 0x6c, 0x6f};
    static const uint8_t ping[] = {0x89, 0x05, 0x48, 0x65, 0x6c, 0x6c, 0x6f};

    (void)state;
    assert_int_equal(wsc_frame_encode(out, sizeof(out), WSC_OP_TEXT, true, "Hello", 5, NULL), 7);
    assert_memory_equal(out, unmasked, sizeof(unmasked));
    assert_int_equal(wsc_frame_encode(out, sizeof(out), WSC_OP_TEXT, true, "Hello", 5, rfc_mask),
                     11);
    assert_memory_equal(out, masked, sizeof(masked));
    assert_int_equal(wsc_frame_encode(out, sizeof(out), WSC_OP_TEXT, false, "Hel", 3, NULL), 5);
    assert_memory_equal(out, first, sizeof(first));
    assert_int_equal(wsc_frame_encode(out, sizeof(out), WSC_OP_CONT, true, "lo", 2, NULL), 4);
    assert_memory_equal(out, last, sizeof(last));
    assert_int_equal(wsc_frame_encode(out, sizeof(out), WSC_OP_PING, true, "Hello", 5, NULL), 7);
    assert_memory_equal(out, ping, sizeof(ping));
    /* too small a buffer: nothing */
    assert_int_equal(wsc_frame_encode(out, 10, WSC_OP_TEXT, true, "Hello", 5, NULL), 0);
}

static void
test_encode_length_forms(void **state)
{
    size_t cap = WSC_MAX_FRAME_HEADER + 70000;
    uint8_t *out = malloc(cap), *payload = calloc(1, 70000);
    wsc_frame f;

    (void)state;
    assert_non_null(out);
    assert_non_null(payload);
    /* 125: 7-bit length; 126 and 65535: 16-bit; 65536: 64-bit (RFC's 256 and 64 KiB) */
    assert_int_equal(wsc_frame_encode(out, cap, WSC_OP_BINARY, true, payload, 125, NULL), 127);
    assert_int_equal(out[1], 125);
    assert_int_equal(wsc_frame_encode(out, cap, WSC_OP_BINARY, true, payload, 256, NULL), 260);
    assert_memory_equal(out, ((uint8_t[]){0x82, 0x7e, 0x01, 0x00}), 4);
    assert_int_equal(wsc_frame_encode(out, cap, WSC_OP_BINARY, true, payload, 65535, rfc_mask),
                     65535 + 8);
    assert_memory_equal(out, ((uint8_t[]){0x82, 0xfe, 0xff, 0xff, 0x37, 0xfa, 0x21, 0x3d}), 8);
    assert_int_equal(wsc_frame_encode(out, cap, WSC_OP_BINARY, true, payload, 65536, NULL),
                     65536 + 10);
    assert_memory_equal(out, ((uint8_t[]){0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0}), 10);
    /* and each parses back to the same length */
    assert_int_equal(wsc_frame_parse(out, 65536 + 10, 65536, &f), WSC_OK);
    assert_int_equal(f.header_len, 10);
    assert_int_equal(f.payload_len, 65536);
    assert_int_equal(wsc_frame_parse(out, 65536 + 10, 65535, &f), WSC_ERR_TOO_BIG);
    free(out);
    free(payload);
}

static void
test_mask_round_trip(void **state)
{
    uint8_t data[] = "Hello";

    (void)state;
    wsc_mask(data, 5, rfc_mask);
    assert_memory_equal(data, ((uint8_t[]){0x7f, 0x9f, 0x4d, 0x51, 0x58}), 5);
    wsc_mask(data, 5, rfc_mask);
    assert_memory_equal(data, "Hello", 5);
}

static void
test_parse_masked_frame(void **state)
{
    static const uint8_t masked[] = {0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d,
                                     0x7f, 0x9f, 0x4d, 0x51, 0x58};
    uint8_t payload[5];
    wsc_frame f;

    (void)state;
    assert_int_equal(wsc_frame_parse(masked, sizeof(masked), 1024, &f), WSC_OK);
    assert_true(f.fin);
    assert_true(f.masked);
    assert_int_equal(f.opcode, WSC_OP_TEXT);
    assert_int_equal(f.header_len, 6);
    assert_int_equal(f.payload_len, 5);
    assert_memory_equal(f.mask, rfc_mask, 4);
    memcpy(payload, masked + f.header_len, 5);
    wsc_mask(payload, 5, f.mask);
    assert_memory_equal(payload, "Hello", 5);
    /* every shorter prefix is incomplete, never an error */
    for (size_t i = 0; i < sizeof(masked); i++)
        assert_int_equal(wsc_frame_parse(masked, i, 1024, &f), WSC_AGAIN);
}

static void
test_parse_rejects_protocol_errors(void **state)
{
    wsc_frame f;

    (void)state;
    /* RSV1 set without an extension */
    assert_int_equal(wsc_frame_parse((const uint8_t *)"\xc1\x00", 2, 1024, &f), WSC_ERR_PROTOCOL);
    /* reserved opcodes 3 and 0xB */
    assert_int_equal(wsc_frame_parse((const uint8_t *)"\x83\x00", 2, 1024, &f), WSC_ERR_PROTOCOL);
    assert_int_equal(wsc_frame_parse((const uint8_t *)"\x8b\x00", 2, 1024, &f), WSC_ERR_PROTOCOL);
    /* a fragmented ping, and a ping over 125 bytes */
    assert_int_equal(wsc_frame_parse((const uint8_t *)"\x09\x00", 2, 1024, &f), WSC_ERR_PROTOCOL);
    assert_int_equal(wsc_frame_parse((const uint8_t *)"\x89\x7e\x00\x7e", 4, 1024, &f),
                     WSC_ERR_PROTOCOL);
    /* a 64-bit length with its top bit set */
    assert_int_equal(
        wsc_frame_parse((const uint8_t *)"\x82\x7f\x80\x00\x00\x00\x00\x00\x00\x01", 10, 1024, &f),
        WSC_ERR_PROTOCOL);
    /* too big is known from the header alone */
    assert_int_equal(wsc_frame_parse((const uint8_t *)"\x81\x7e\x04\x01", 4, 1024, &f),
                     WSC_ERR_TOO_BIG);
}

static void
test_assembler(void **state)
{
    wsc_assembler a;
    const char *out;
    size_t len;
    int op;

    (void)state;
    wsc_assembler_init(&a, 8);
    /* unfragmented: the payload itself */
    assert_int_equal(wsc_assembler_add(&a, WSC_OP_TEXT, true, "hi", 2, &out, &len, &op), WSC_OK);
    assert_int_equal(len, 2);
    assert_memory_equal(out, "hi", 2);
    assert_int_equal(op, WSC_OP_TEXT);
    /* "Hel" + "lo" */
    assert_int_equal(wsc_assembler_add(&a, WSC_OP_BINARY, false, "Hel", 3, &out, &len, &op),
                     WSC_AGAIN);
    /* a new message before the last ended */
    assert_int_equal(wsc_assembler_add(&a, WSC_OP_TEXT, true, "x", 1, &out, &len, &op),
                     WSC_ERR_PROTOCOL);
    assert_int_equal(wsc_assembler_add(&a, WSC_OP_CONT, true, "lo", 2, &out, &len, &op), WSC_OK);
    assert_int_equal(len, 5);
    assert_memory_equal(out, "Hello", 5);
    assert_int_equal(op, WSC_OP_BINARY);
    /* continuation without a start */
    assert_int_equal(wsc_assembler_add(&a, WSC_OP_CONT, true, "x", 1, &out, &len, &op),
                     WSC_ERR_PROTOCOL);
    /* the cap counts every fragment: 5 + 4 > 8 */
    assert_int_equal(wsc_assembler_add(&a, WSC_OP_TEXT, false, "12345", 5, &out, &len, &op),
                     WSC_AGAIN);
    assert_int_equal(wsc_assembler_add(&a, WSC_OP_CONT, true, "6789", 4, &out, &len, &op),
                     WSC_ERR_TOO_BIG);
    wsc_assembler_free(&a);
    /* a finished message does not count against the next one */
    wsc_assembler_init(&a, 8);
    assert_int_equal(wsc_assembler_add(&a, WSC_OP_TEXT, false, "1234", 4, &out, &len, &op),
                     WSC_AGAIN);
    assert_int_equal(wsc_assembler_add(&a, WSC_OP_CONT, true, "5678", 4, &out, &len, &op), WSC_OK);
    assert_int_equal(wsc_assembler_add(&a, WSC_OP_TEXT, false, "abcd", 4, &out, &len, &op),
                     WSC_AGAIN);
    assert_int_equal(wsc_assembler_add(&a, WSC_OP_CONT, true, "efgh", 4, &out, &len, &op), WSC_OK);
    assert_memory_equal(out, "abcdefgh", 8);
    wsc_assembler_free(&a);
}

static void
test_url_parse(void **state)
{
    wsc_url u;

    (void)state;
    assert_int_equal(wsc_url_parse("http://127.0.0.1:8081", &u), WSC_OK);
    assert_string_equal(u.host, "127.0.0.1");
    assert_string_equal(u.port, "8081");
    assert_string_equal(u.hostport, "127.0.0.1:8081");
    assert_string_equal(u.prefix, "");
    assert_int_equal(wsc_url_parse("http://svc-automation/base/", &u), WSC_OK);
    assert_string_equal(u.host, "svc-automation");
    assert_string_equal(u.port, "80");
    assert_string_equal(u.prefix, "/base");
    assert_int_equal(wsc_url_parse("http://[::1]:9000", &u), WSC_OK);
    assert_string_equal(u.host, "::1");
    assert_string_equal(u.port, "9000");
    assert_string_equal(u.hostport, "[::1]:9000");
    assert_int_equal(wsc_url_parse("https://svc", &u), WSC_ERR_UNSUPPORTED);
    assert_int_equal(wsc_url_parse("ftp://svc", &u), WSC_ERR_INVALID);
    assert_int_equal(wsc_url_parse("http://user:pw@svc", &u), WSC_ERR_INVALID);
    assert_int_equal(wsc_url_parse("http://svc:99999", &u), WSC_ERR_INVALID);
    assert_int_equal(wsc_url_parse("http://svc:80x", &u), WSC_ERR_INVALID);
    assert_int_equal(wsc_url_parse("http://:80", &u), WSC_ERR_INVALID);
}

static void
test_request_build(void **state)
{
    char out[512];
    const char *hdrs[] = {"X-Request-Id: abc", NULL};
    const char *bad[] = {"X-Evil: a\r\nX-Internal-Token: forged", NULL};

    (void)state;
    int n =
        wsc_request_build(out, sizeof(out), "svc:8081", "/ws/1", "dGhlIHNhbXBsZSBub25jZQ==", hdrs);
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(out));
    assert_string_equal(out,
                        "GET /ws/1 HTTP/1.1\r\nHost: svc:8081\r\nUpgrade: websocket\r\n"
                        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                        "Sec-WebSocket-Version: 13\r\nX-Request-Id: abc\r\n\r\n");
    assert_int_equal(wsc_request_build(out, sizeof(out), "svc", "/ws", "k", bad), WSC_ERR_INVALID);
    assert_int_equal(wsc_request_build(out, sizeof(out), "svc", "/ws x", "k", NULL),
                     WSC_ERR_INVALID);
    assert_int_equal(wsc_request_build(out, 40, "svc", "/ws", "k", hdrs), WSC_ERR_INVALID);
}

#define RFC_KEY "dGhlIHNhbXBsZSBub25jZQ=="
#define HEAD_OK "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"

static int
check(const char *head, int *status)
{
    return wsc_response_check(head, strlen(head), RFC_KEY, status);
}

static void
test_response_check(void **state)
{
    int st;

    (void)state;
    assert_int_equal(
        check(HEAD_OK "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n", &st), WSC_OK);
    assert_int_equal(st, 101);
    /* case-insensitive names and values, Connection as a token list */
    assert_int_equal(check("HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, "
                           "upgrade\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                           &st),
                     WSC_OK);
    /* a wrong accept key */
    assert_int_equal(
        check(HEAD_OK "Sec-WebSocket-Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=\r\n\r\n", &st),
        WSC_ERR_HANDSHAKE);
    /* no accept, no upgrade, an extension not asked for */
    assert_int_equal(check(HEAD_OK "\r\n", &st), WSC_ERR_HANDSHAKE);
    assert_int_equal(check("HTTP/1.1 101 OK\r\nConnection: Upgrade\r\n"
                           "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n",
                           &st),
                     WSC_ERR_HANDSHAKE);
    assert_int_equal(check(HEAD_OK "Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"
                                   "Sec-WebSocket-Extensions: permessage-deflate\r\n\r\n",
                           &st),
                     WSC_ERR_HANDSHAKE);
    /* refusals carry the status */
    assert_int_equal(check("HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n", &st),
                     WSC_ERR_REFUSED);
    assert_int_equal(st, 404);
    assert_int_equal(check("HTTP/1.0 403\r\n\r\n", &st), WSC_ERR_REFUSED);
    assert_int_equal(st, 403);
    /* not HTTP */
    assert_int_equal(check("SSH-2.0-OpenSSH\r\n\r\n", &st), WSC_ERR_HANDSHAKE);
    assert_int_equal(check("HTTP/1.1 1x1 OK\r\n\r\n", &st), WSC_ERR_HANDSHAKE);
}

/* ---- a connection over a socketpair: sv[0] is the client, sv[1] the peer ---- */

typedef struct pair {
    wsc_conn *c;
    int peer;
    uint8_t buf[512]; /* what the peer read and has not parsed yet */
    size_t len;
} pair;

static pair
pair_new(size_t max_message)
{
    int sv[2];
    pair p = {.len = 0};

    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv), 0);
    p.c = wsc_adopt(sv[0], max_message, 2000);
    assert_non_null(p.c);
    p.peer = sv[1];
    return p;
}

static void
pair_free(pair *p)
{
    wsc_free(p->c);
    if (p->peer >= 0)
        close(p->peer);
}

/* The peer sends one unmasked frame (as a server does). */
static void
peer_send(const pair *p, int opcode, bool fin, const void *data, size_t len)
{
    uint8_t buf[256];
    size_t n = wsc_frame_encode(buf, sizeof(buf), opcode, fin, data, len, NULL);

    assert_true(n > 0);
    assert_int_equal(write(p->peer, buf, n), (ssize_t)n);
}

/* The peer reads one whole frame (2 s at most) and unmasks its payload. */
static wsc_frame
peer_recv(pair *p, uint8_t *payload, size_t cap)
{
    wsc_frame f;

    for (;;) {
        int rc = wsc_frame_parse(p->buf, p->len, sizeof(p->buf), &f);
        if (rc == WSC_OK)
            break;
        assert_int_equal(rc, WSC_AGAIN);
        struct pollfd pfd = {.fd = p->peer, .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 2000), 1);
        ssize_t n = read(p->peer, p->buf + p->len, sizeof(p->buf) - p->len);
        assert_true(n > 0);
        p->len += (size_t)n;
    }
    size_t total = f.header_len + f.payload_len;
    assert_true(f.payload_len <= cap);
    memcpy(payload, p->buf + f.header_len, f.payload_len);
    if (f.masked)
        wsc_mask(payload, f.payload_len, f.mask);
    memmove(p->buf, p->buf + total, p->len - total);
    p->len -= total;
    return f;
}

/* The client's next event, reading as needed (2 s at most). */
static int
client_next(const pair *p, wsc_event *ev)
{
    for (;;) {
        int rc = wsc_next(p->c, ev);
        if (rc != WSC_AGAIN)
            return rc;
        struct pollfd pfd = {.fd = wsc_fd(p->c), .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 2000), 1);
        rc = wsc_fill(p->c);
        if (rc != WSC_OK && rc != WSC_AGAIN)
            return rc;
    }
}

static void
test_conn_sends_masked_frames(void **state)
{
    pair p = pair_new(0);
    uint8_t payload[256];
    uint8_t first_mask[4];

    (void)state;
    assert_int_equal(wsc_send(p.c, WSC_OP_TEXT, "hello", 5), WSC_OK);
    assert_int_equal(wsc_send(p.c, WSC_OP_BINARY, "\x00\x01", 2), WSC_OK);
    wsc_frame f = peer_recv(&p, payload, sizeof(payload));
    assert_true(f.masked && f.fin);
    assert_int_equal(f.opcode, WSC_OP_TEXT);
    assert_int_equal(f.payload_len, 5);
    assert_memory_equal(payload, "hello", 5);
    memcpy(first_mask, f.mask, 4);
    f = peer_recv(&p, payload, sizeof(payload));
    assert_true(f.masked);
    assert_int_equal(f.opcode, WSC_OP_BINARY);
    assert_memory_equal(payload, "\x00\x01", 2);
    assert_memory_not_equal(first_mask, f.mask, 4); /* a fresh key per frame */
    /* control frames are capped at 125 bytes */
    assert_int_equal(wsc_send(p.c, WSC_OP_PING, payload, 126), WSC_ERR_INVALID);
    pair_free(&p);
}

static void
test_conn_answers_ping_inside_fragmented_message(void **state)
{
    pair p = pair_new(0);
    uint8_t payload[256];
    wsc_event ev;

    (void)state;
    peer_send(&p, WSC_OP_TEXT, false, "Hel", 3);
    peer_send(&p, WSC_OP_PING, true, "abc", 3);
    peer_send(&p, WSC_OP_PONG, true, "zz", 2);
    peer_send(&p, WSC_OP_CONT, true, "lo", 2);
    peer_send(&p, WSC_OP_TEXT, true, "next", 4);
    assert_int_equal(client_next(&p, &ev), WSC_OK);
    assert_int_equal(ev.opcode, WSC_OP_TEXT);
    assert_int_equal(ev.len, 5);
    assert_memory_equal(ev.data, "Hello", 5);
    assert_int_equal(client_next(&p, &ev), WSC_OK);
    assert_int_equal(ev.len, 4);
    assert_memory_equal(ev.data, "next", 4);
    wsc_frame f = peer_recv(&p, payload, sizeof(payload));
    assert_int_equal(f.opcode, WSC_OP_PONG);
    assert_true(f.masked);
    assert_int_equal(f.payload_len, 3);
    assert_memory_equal(payload, "abc", 3);
    pair_free(&p);
}

static void
test_conn_reads_frames_split_anywhere(void **state)
{
    pair p = pair_new(0);
    uint8_t frame[64];
    size_t n = wsc_frame_encode(frame, sizeof(frame), WSC_OP_TEXT, true, "split me", 8, NULL);
    wsc_event ev;

    (void)state;
    for (size_t i = 0; i + 1 < n; i++) {
        assert_int_equal(write(p.peer, frame + i, 1), 1);
        struct pollfd pfd = {.fd = wsc_fd(p.c), .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 2000), 1);
        assert_int_equal(wsc_fill(p.c), WSC_OK);
        assert_int_equal(wsc_next(p.c, &ev), WSC_AGAIN);
    }
    assert_int_equal(write(p.peer, frame + n - 1, 1), 1);
    assert_int_equal(client_next(&p, &ev), WSC_OK);
    assert_int_equal(ev.len, 8);
    assert_memory_equal(ev.data, "split me", 8);
    pair_free(&p);
}

static void
test_conn_close_handshake(void **state)
{
    pair p = pair_new(0);
    uint8_t payload[256];
    wsc_event ev;

    (void)state;
    peer_send(&p, WSC_OP_CLOSE, true,
              "\x03\xe9"
              "bye",
              5);
    assert_int_equal(client_next(&p, &ev), WSC_OK);
    assert_int_equal(ev.opcode, WSC_OP_CLOSE);
    assert_int_equal(ev.close_code, 1001);
    assert_int_equal(ev.len, 3);
    assert_memory_equal(ev.data, "bye", 3);
    assert_false(wsc_close_sent(p.c));
    assert_int_equal(wsc_send_close(p.c, ev.close_code), WSC_OK);
    assert_true(wsc_close_sent(p.c));
    wsc_frame f = peer_recv(&p, payload, sizeof(payload));
    assert_int_equal(f.opcode, WSC_OP_CLOSE);
    assert_int_equal(f.payload_len, 2);
    assert_memory_equal(payload, "\x03\xe9", 2);
    /* nothing after the close frame, not even a second one */
    assert_int_equal(wsc_send(p.c, WSC_OP_TEXT, "late", 4), WSC_ERR_CLOSED);
    assert_int_equal(wsc_send_close(p.c, 1000), WSC_ERR_CLOSED);
    /* a close without a code */
    peer_send(&p, WSC_OP_CLOSE, true, "", 0);
    assert_int_equal(client_next(&p, &ev), WSC_OK);
    assert_int_equal(ev.close_code, WSC_CLOSE_NO_STATUS);
    /* then the peer goes: end of stream */
    close(p.peer);
    p.peer = -1;
    struct pollfd pfd = {.fd = wsc_fd(p.c), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 2000), 1);
    assert_int_equal(wsc_fill(p.c), WSC_ERR_CLOSED);
    pair_free(&p);
}

static void
test_conn_rejects_masked_and_oversized_frames(void **state)
{
    pair p = pair_new(16);
    uint8_t frame[64];
    wsc_event ev;

    (void)state;
    size_t n = wsc_frame_encode(frame, sizeof(frame), WSC_OP_TEXT, true, "hi", 2, rfc_mask);
    assert_int_equal(write(p.peer, frame, n), (ssize_t)n);
    assert_int_equal(client_next(&p, &ev), WSC_ERR_PROTOCOL);
    pair_free(&p);

    p = pair_new(16);
    peer_send(&p, WSC_OP_TEXT, true, "12345678901234567", 17);
    assert_int_equal(client_next(&p, &ev), WSC_ERR_TOO_BIG);
    pair_free(&p);

    /* exactly the cap passes, over it across fragments does not */
    p = pair_new(16);
    peer_send(&p, WSC_OP_TEXT, true, "1234567890123456", 16);
    assert_int_equal(client_next(&p, &ev), WSC_OK);
    assert_int_equal(ev.len, 16);
    peer_send(&p, WSC_OP_TEXT, false, "1234567890", 10);
    peer_send(&p, WSC_OP_CONT, true, "1234567", 7);
    assert_int_equal(client_next(&p, &ev), WSC_ERR_TOO_BIG);
    assert_int_equal(wsc_send(p.c, WSC_OP_TEXT, "12345678901234567", 17), WSC_ERR_INVALID);
    pair_free(&p);
}

static void
test_connect_refused_port(void **state)
{
    wsc_conn *c = (wsc_conn *)1;
    int status = -1;
    wsc_options o = {
        .url = "http://127.0.0.1:1", .path = "/ws", .connect_timeout_ms = 500, .timeout_ms = 500};

    (void)state;
    assert_int_equal(wsc_connect(&o, &c, &status), WSC_ERR_CONNECT);
    assert_null(c);
    assert_int_equal(status, 0);
    o.url = "https://127.0.0.1:1";
    assert_int_equal(wsc_connect(&o, &c, &status), WSC_ERR_UNSUPPORTED);
    assert_string_equal(wsc_strerror(WSC_ERR_TOO_BIG), "message too big");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_accept_key_rfc_example),
        cmocka_unit_test(test_key_is_16_random_bytes),
        cmocka_unit_test(test_encode_rfc_examples),
        cmocka_unit_test(test_encode_length_forms),
        cmocka_unit_test(test_mask_round_trip),
        cmocka_unit_test(test_parse_masked_frame),
        cmocka_unit_test(test_parse_rejects_protocol_errors),
        cmocka_unit_test(test_assembler),
        cmocka_unit_test(test_url_parse),
        cmocka_unit_test(test_request_build),
        cmocka_unit_test(test_response_check),
        cmocka_unit_test(test_conn_sends_masked_frames),
        cmocka_unit_test(test_conn_answers_ping_inside_fragmented_message),
        cmocka_unit_test(test_conn_reads_frames_split_anywhere),
        cmocka_unit_test(test_conn_close_handshake),
        cmocka_unit_test(test_conn_rejects_masked_and_oversized_frames),
        cmocka_unit_test(test_connect_refused_port),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
