/* testlib_ws: a raw WebSocket client for tests; see testlib_ws.h. */
#include "testlib_ws.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "testlib.h"

static int
read_full(int fd, void *buf, size_t len)
{
    for (size_t got = 0; got < len;) {
        struct pollfd p = {fd, POLLIN, 0};
        if (poll(&p, 1, TL_WAIT_MS) != 1)
            return -1;
        ssize_t n = read(fd, (char *)buf + got, len - got);
        if (n <= 0)
            return -1;
        got += (size_t)n;
    }
    return 0;
}

int
tl_ws_send(int fd, int opcode, const char *data, size_t len)
{
    unsigned char mask[4] = {1, 2, 3, 4};
    size_t h = 2;
    /* one write per frame: header and payload apart would meet Nagle and
     * delayed acknowledgements (40 ms a message) */
    unsigned char *frame = malloc(len + 8);
    int rc = -1;

    if (frame == NULL)
        return -1;
    frame[0] = (unsigned char)(0x80 | opcode);
    if (len < 126) {
        frame[1] = (unsigned char)(0x80 | len);
    } else {
        frame[1] = 0x80 | 126; /* messages here stay under 64 KiB */
        frame[h++] = (unsigned char)(len >> 8);
        frame[h++] = (unsigned char)len;
    }
    memcpy(frame + h, mask, 4);
    h += 4;
    for (size_t i = 0; i < len; i++)
        frame[h + i] = (unsigned char)(data[i] ^ mask[i % 4]);
    if (write(fd, frame, h + len) == (ssize_t)(h + len))
        rc = 0;
    free(frame);
    return rc;
}

int
tl_ws_recv(int fd, char *buf, size_t cap)
{
    unsigned char h[2], ext[8];
    uint64_t n;

    for (;;) {
        if (read_full(fd, h, 2) != 0)
            return -1;
        n = h[1] & 0x7f;
        if (n == 126) {
            if (read_full(fd, ext, 2) != 0)
                return -1;
            n = ((uint64_t)ext[0] << 8) | ext[1];
        } else if (n == 127) {
            return -1;
        }
        if (n >= cap || read_full(fd, buf, (size_t)n) != 0)
            return -1;
        buf[n] = '\0';
        if ((h[0] & 0x0f) == 1)
            return 0;
        if ((h[0] & 0x0f) != 9)
            return -1;
    }
}

int
tl_ws_connect(int port, const char *path, const char *extra, char *head, size_t cap)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    char req[512];
    size_t n = 0;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
        goto fail;
    int len = snprintf(req, sizeof(req),
                       "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                       "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                       "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
                       "Sec-WebSocket-Version: 13\r\n%s\r\n",
                       path, extra ? extra : "");
    if (len < 0 || (size_t)len >= sizeof(req))
        goto fail;
    if (write(fd, req, (size_t)len) != len)
        goto fail;
    while (n + 1 < cap && (n < 4 || memcmp(head + n - 4, "\r\n\r\n", 4) != 0)) {
        if (read_full(fd, head + n, 1) != 0)
            break;
        n++;
    }
    head[n] = '\0';
    return fd;
fail:
    if (fd >= 0)
        close(fd);
    return -1;
}
