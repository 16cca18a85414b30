/* wsclient: a small RFC 6455 WebSocket client over plain TCP. Prefix wsc_.
 *
 * civetweb's own client cannot send the gateway's headers (internal token,
 * request id, forwarding chain), so the gateway speaks the protocol itself.
 * The pure parts (frame encoding and parsing, masking, message reassembly,
 * the handshake's request and accept key) are exported for the unit tests.
 *
 * A wsc_conn is read by one thread (wsc_fill / wsc_next) and written by any
 * thread (wsc_send, one whole frame at a time under the connection's lock).
 * Every buffer is bounded: a message (all its fragments) holds at most
 * max_message bytes, a handshake answer at most WSC_MAX_HEAD bytes. */
#ifndef GATEWAY_WSCLIENT_H
#define GATEWAY_WSCLIENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define WSC_MAX_MESSAGE      (64 * 1024) /* default cap of one message, bytes */
#define WSC_MAX_FRAME_HEADER 14          /* 2 + 8 (length) + 4 (mask) */
#define WSC_MAX_CONTROL      125         /* payload of a control frame */
#define WSC_MAX_HEAD         8192        /* the handshake's request and answer heads */
#define WSC_KEY_LEN          24          /* base64 of 16 random bytes */
#define WSC_ACCEPT_LEN       28          /* base64 of a SHA-1 */

enum {
    WSC_OP_CONT = 0x0,
    WSC_OP_TEXT = 0x1,
    WSC_OP_BINARY = 0x2,
    WSC_OP_CLOSE = 0x8,
    WSC_OP_PING = 0x9,
    WSC_OP_PONG = 0xA,
};

/* Close codes (RFC 6455 section 7.4.1) the gateway uses. */
enum {
    WSC_CLOSE_NORMAL = 1000,
    WSC_CLOSE_GOING_AWAY = 1001,
    WSC_CLOSE_PROTOCOL = 1002,
    WSC_CLOSE_UNSUPPORTED = 1003,
    WSC_CLOSE_NO_STATUS = 1005, /* received without a code; never sent */
    WSC_CLOSE_TOO_BIG = 1009,
};

/* Results: 0, WSC_AGAIN, or a negative error. */
enum {
    WSC_OK = 0,
    WSC_AGAIN = 1,             /* not enough bytes yet */
    WSC_ERR_IO = -1,           /* socket error, or a write that timed out */
    WSC_ERR_CONNECT = -2,      /* name not resolved, refused, unreachable, connect timeout */
    WSC_ERR_TIMEOUT = -3,      /* the handshake was not answered in time */
    WSC_ERR_REFUSED = -4,      /* answered the handshake with a status other than 101 */
    WSC_ERR_HANDSHAKE = -5,    /* an invalid handshake answer */
    WSC_ERR_PROTOCOL = -6,     /* a frame or fragment sequence that breaks RFC 6455 */
    WSC_ERR_TOO_BIG = -7,      /* a message over max_message */
    WSC_ERR_NOMEM = -8,        /* allocation failed */
    WSC_ERR_CLOSED = -9,       /* the peer closed TCP, or a close frame was already sent */
    WSC_ERR_INVALID = -10,     /* bad argument (URL, header with CR/LF, size) */
    WSC_ERR_UNSUPPORTED = -11, /* https:// upstream (no TLS here) */
};

/* Name of a result for log lines ("protocol error", ...). */
const char *wsc_strerror(int rc);

/* ---- frames ---- */

typedef struct wsc_frame {
    int opcode;
    bool fin;
    bool masked;
    uint8_t mask[4];
    size_t header_len;
    size_t payload_len;
} wsc_frame;

/* XOR data with the 4-byte key (masking and unmasking are the same). */
void wsc_mask(uint8_t *data, size_t len, const uint8_t key[4]);

/* Encode one frame into out (cap bytes): header, then payload masked with mask
 * (NULL: unmasked, as a server sends). Returns the frame's size, or 0 when it
 * does not fit. */
size_t wsc_frame_encode(uint8_t *out, size_t cap, int opcode, bool fin, const void *payload,
                        size_t len, const uint8_t *mask);

/* Parse the frame at buf[0..len). WSC_OK when the whole frame is there (f
 * filled; its payload starts at buf + f->header_len, still masked if
 * f->masked), WSC_AGAIN when more bytes are needed, WSC_ERR_PROTOCOL (RSV
 * bits, unknown opcode, fragmented or long control frame, length with its top
 * bit set) or WSC_ERR_TOO_BIG (payload over max_payload, known from the
 * header alone). */
int wsc_frame_parse(const uint8_t *buf, size_t len, size_t max_payload, wsc_frame *f);

/* Reassembly of fragmented messages (RFC 6455 section 5.4). */
typedef struct wsc_assembler {
    char *buf; /* allocated on the first fragmented message, cap bytes */
    size_t len, cap;
    int opcode; /* of the message being assembled */
    bool active;
} wsc_assembler;

void wsc_assembler_init(wsc_assembler *a, size_t cap);
void wsc_assembler_free(wsc_assembler *a);
/* Add a data frame (text, binary or continuation). WSC_OK with the whole
 * message in *out / *outlen / *outop (pointing at payload or into a; valid
 * until the next call), WSC_AGAIN when more fragments are needed,
 * WSC_ERR_PROTOCOL (continuation without a start, or a new message before the
 * last ended), WSC_ERR_TOO_BIG, WSC_ERR_NOMEM. */
int wsc_assembler_add(wsc_assembler *a, int opcode, bool fin, const char *payload, size_t len,
                      const char **out, size_t *outlen, int *outop);

/* ---- handshake ---- */

/* A fresh Sec-WebSocket-Key (16 random bytes, base64). Returns 0 or -1. */
int wsc_key_new(char key[WSC_KEY_LEN + 1]);
/* The Sec-WebSocket-Accept a server must answer to key. Returns 0 or -1. */
int wsc_accept_for(const char *key, char out[WSC_ACCEPT_LEN + 1]);

typedef struct wsc_url {
    char host[256];     /* without brackets for IPv6 */
    char port[8];       /* "80" when absent */
    char hostport[272]; /* for the Host header, as written in the URL */
    char prefix[256];   /* path of the base URL, without a trailing '/' ("" for none) */
} wsc_url;

/* Parse an upstream base URL "http://host[:port][/prefix]". WSC_OK,
 * WSC_ERR_UNSUPPORTED for https://, WSC_ERR_INVALID otherwise. */
int wsc_url_parse(const char *url, wsc_url *u);

/* The upgrade request for path (already percent-encoded) with Host, Upgrade,
 * Connection, Sec-WebSocket-Key, Sec-WebSocket-Version 13 and the extra
 * headers ("Name: value", NULL-terminated, may be NULL). Returns its length,
 * or WSC_ERR_INVALID (a header with CR or LF, or over cap). */
int wsc_request_build(char *out, size_t cap, const char *hostport, const char *path,
                      const char *key, const char *const *headers);

/* Check an answer's head (status line through the blank line). WSC_OK for a
 * valid 101 (Upgrade: websocket, Connection: upgrade, the right
 * Sec-WebSocket-Accept, no extension or subprotocol we did not ask for);
 * WSC_ERR_REFUSED with *status for any other status; WSC_ERR_HANDSHAKE for
 * anything malformed or a wrong accept key (*status is then 101 or 0). */
int wsc_response_check(const char *head, size_t len, const char *key, int *status);

/* ---- connections ---- */

typedef struct wsc_conn wsc_conn;

typedef struct wsc_options {
    const char *url;            /* upstream base, "http://host[:port][/prefix]" */
    const char *path;           /* appended to the prefix; percent-encoded */
    const char *const *headers; /* extra "Name: value", NULL-terminated; may be NULL */
    int connect_timeout_ms;     /* TCP connect */
    int timeout_ms;             /* the handshake, and each later write */
    size_t max_message;         /* 0: WSC_MAX_MESSAGE */
} wsc_options;

/* Connect and do the opening handshake. WSC_OK with *out (free with
 * wsc_free); else an error and *out NULL: WSC_ERR_REFUSED with *status the
 * upstream's answer, WSC_ERR_CONNECT, WSC_ERR_TIMEOUT, WSC_ERR_HANDSHAKE,
 * WSC_ERR_UNSUPPORTED, WSC_ERR_INVALID, WSC_ERR_NOMEM. */
int wsc_connect(const wsc_options *o, wsc_conn **out, int *status);

/* Wrap a socket whose handshake is done (takes ownership of fd; tests use a
 * socketpair). write_timeout_ms bounds each write. NULL on allocation failure
 * (fd is then closed). */
wsc_conn *wsc_adopt(int fd, size_t max_message, int write_timeout_ms);

/* Close the socket and free. Accepts NULL. */
void wsc_free(wsc_conn *c);

/* The socket, for poll(POLLIN). */
int wsc_fd(const wsc_conn *c);

/* Send one masked frame: a text or binary message (up to max_message bytes,
 * never fragmented) or a control frame (up to 125 bytes). Thread-safe.
 * WSC_OK, WSC_ERR_CLOSED once a close frame went out, WSC_ERR_INVALID,
 * WSC_ERR_IO. */
int wsc_send(wsc_conn *c, int opcode, const void *data, size_t len);
/* Send the close frame (once; code 0 or WSC_CLOSE_NO_STATUS sends none). */
int wsc_send_close(wsc_conn *c, unsigned code);
bool wsc_close_sent(const wsc_conn *c);

/* Read what the socket holds now without blocking (call when poll says it
 * is readable). WSC_OK, WSC_AGAIN (nothing there), WSC_ERR_CLOSED (the peer
 * closed TCP), WSC_ERR_IO. Invalidates the last event's data. */
int wsc_fill(wsc_conn *c);

typedef struct wsc_event {
    int opcode;       /* WSC_OP_TEXT, WSC_OP_BINARY or WSC_OP_CLOSE */
    const char *data; /* the message, or the close reason */
    size_t len;
    unsigned close_code; /* WSC_OP_CLOSE: the code, or WSC_CLOSE_NO_STATUS */
} wsc_event;

/* The next whole message or close frame from what was read. Pings are
 * answered (pong) and pongs skipped on the way. WSC_OK with *ev (its data
 * valid until the next wsc_next or wsc_fill), WSC_AGAIN (read more), or
 * WSC_ERR_PROTOCOL (including a masked frame from the server),
 * WSC_ERR_TOO_BIG, WSC_ERR_NOMEM, WSC_ERR_IO (a pong could not be sent). */
int wsc_next(wsc_conn *c, wsc_event *ev);

#endif
