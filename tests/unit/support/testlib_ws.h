/* testlib_ws: a raw WebSocket client for tests, over a plain socket to
 * 127.0.0.1. Its functions return -1 instead of asserting, so they also
 * serve in threads. Prefix tl_ws_. */
#ifndef BRAIN_TESTLIB_WS_H
#define BRAIN_TESTLIB_WS_H

#include <stddef.h>

/* Open path on port with the upgrade handshake (extra: more header lines,
 * each ending in CRLF, or NULL). Returns the socket (or -1); head gets the
 * response head, whatever its status. */
int tl_ws_connect(int port, const char *path, const char *extra, char *head, size_t cap);
/* Send one masked frame of opcode (1 text, 2 binary, ...), in one write. */
int tl_ws_send(int fd, int opcode, const char *data, size_t len);
/* The next text message into buf (NUL-terminated): 0, or -1 on anything else
 * (server pings, answered by nobody here, are skipped). */
int tl_ws_recv(int fd, char *buf, size_t cap);

#endif
