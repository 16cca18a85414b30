/* wsclient: the client side of RFC 6455 over plain TCP, for the gateway's
 * WebSocket proxy. Frames and the handshake first (pure code), then the
 * connection: connect with a deadline, handshake, framed reads and writes. */
#include "wsclient.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "util.h"

#define WSC_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static const char *const wsc_errors[] = {
    [-WSC_OK] = "ok",
    [-WSC_ERR_IO] = "socket error",
    [-WSC_ERR_CONNECT] = "cannot connect",
    [-WSC_ERR_TIMEOUT] = "handshake timed out",
    [-WSC_ERR_REFUSED] = "upgrade refused",
    [-WSC_ERR_HANDSHAKE] = "invalid handshake answer",
    [-WSC_ERR_PROTOCOL] = "protocol error",
    [-WSC_ERR_TOO_BIG] = "message too big",
    [-WSC_ERR_NOMEM] = "out of memory",
    [-WSC_ERR_CLOSED] = "connection closed",
    [-WSC_ERR_INVALID] = "invalid argument",
    [-WSC_ERR_UNSUPPORTED] = "https upstreams are not supported",
};

const char *
wsc_strerror(int rc)
{
    if (rc == WSC_AGAIN)
        return "incomplete";
    if (rc > 0 || (size_t)-rc >= sizeof(wsc_errors) / sizeof(wsc_errors[0]))
        return "unknown error";
    return wsc_errors[-rc];
}

/* ---- frames ---- */

void
wsc_mask(uint8_t *data, size_t len, const uint8_t key[4])
{
    for (size_t i = 0; i < len; i++)
        data[i] ^= key[i & 3];
}

size_t
wsc_frame_encode(uint8_t *out, size_t cap, int opcode, bool fin, const void *payload, size_t len,
                 const uint8_t *mask)
{
    size_t h = 2;
    uint8_t mbit = mask != NULL ? 0x80 : 0;

    if (cap < WSC_MAX_FRAME_HEADER || len > cap - WSC_MAX_FRAME_HEADER)
        return 0;
    out[0] = (uint8_t)((fin ? 0x80 : 0) | (opcode & 0x0f));
    if (len <= 125) {
        out[1] = (uint8_t)(mbit | len);
    } else if (len <= 0xffff) {
        out[1] = mbit | 126;
        out[2] = (uint8_t)(len >> 8);
        out[3] = (uint8_t)len;
        h = 4;
    } else {
        out[1] = mbit | 127;
        for (int i = 0; i < 8; i++)
            out[2 + i] = (uint8_t)((uint64_t)len >> (56 - 8 * i));
        h = 10;
    }
    if (mask != NULL) {
        memcpy(out + h, mask, 4);
        h += 4;
    }
    if (len > 0)
        memcpy(out + h, payload, len);
    if (mask != NULL)
        wsc_mask(out + h, len, mask);
    return h + len;
}

int
wsc_frame_parse(const uint8_t *buf, size_t len, size_t max_payload, wsc_frame *f)
{
    size_t h = 2;
    uint64_t plen;

    if (len < 2)
        return WSC_AGAIN;
    int op = buf[0] & 0x0f;
    bool fin = (buf[0] & 0x80) != 0;
    if ((buf[0] & 0x70) != 0) /* RSV1-3: no extension was negotiated */
        return WSC_ERR_PROTOCOL;
    if (op != WSC_OP_CONT && op != WSC_OP_TEXT && op != WSC_OP_BINARY && op != WSC_OP_CLOSE
        && op != WSC_OP_PING && op != WSC_OP_PONG)
        return WSC_ERR_PROTOCOL;
    plen = buf[1] & 0x7f;
    if (plen == 126) {
        if (len < 4)
            return WSC_AGAIN;
        plen = ((uint64_t)buf[2] << 8) | buf[3];
        h = 4;
    } else if (plen == 127) {
        if (len < 10)
            return WSC_AGAIN;
        plen = 0;
        for (int i = 0; i < 8; i++)
            plen = (plen << 8) | buf[2 + i];
        if (plen >> 63)
            return WSC_ERR_PROTOCOL;
        h = 10;
    }
    if (op >= WSC_OP_CLOSE && (!fin || plen > WSC_MAX_CONTROL))
        return WSC_ERR_PROTOCOL;
    f->masked = (buf[1] & 0x80) != 0;
    if (f->masked) {
        if (len < h + 4)
            return WSC_AGAIN;
        memcpy(f->mask, buf + h, 4);
        h += 4;
    }
    if (plen > max_payload)
        return WSC_ERR_TOO_BIG;
    f->opcode = op;
    f->fin = fin;
    f->header_len = h;
    f->payload_len = (size_t)plen;
    return len - h < plen ? WSC_AGAIN : WSC_OK;
}

void
wsc_assembler_init(wsc_assembler *a, size_t cap)
{
    memset(a, 0, sizeof(*a));
    a->cap = cap;
}

void
wsc_assembler_free(wsc_assembler *a)
{
    free(a->buf);
    a->buf = NULL;
    a->active = false;
}

int
wsc_assembler_add(wsc_assembler *a, int opcode, bool fin, const char *payload, size_t len,
                  const char **out, size_t *outlen, int *outop)
{
    if ((opcode == WSC_OP_CONT) != a->active)
        return WSC_ERR_PROTOCOL;
    if (len > a->cap - (a->active ? a->len : 0))
        return WSC_ERR_TOO_BIG;
    if (!a->active && fin) { /* the common case: a whole message, no copy */
        *out = payload;
        *outlen = len;
        *outop = opcode;
        return WSC_OK;
    }
    if (!a->active) {
        if (a->buf == NULL && (a->buf = malloc(a->cap > 0 ? a->cap : 1)) == NULL)
            return WSC_ERR_NOMEM;
        a->active = true;
        a->opcode = opcode;
        a->len = 0;
    }
    if (len > 0)
        memcpy(a->buf + a->len, payload, len);
    a->len += len;
    if (!fin)
        return WSC_AGAIN;
    a->active = false;
    *out = a->buf;
    *outlen = a->len;
    *outop = a->opcode;
    return WSC_OK;
}

/* ---- handshake ---- */

int
wsc_key_new(char key[WSC_KEY_LEN + 1])
{
    unsigned char raw[16];

    if (getrandom(raw, sizeof(raw), 0) != (ssize_t)sizeof(raw))
        return -1;
    return EVP_EncodeBlock((unsigned char *)key, raw, sizeof(raw)) == WSC_KEY_LEN ? 0 : -1;
}

int
wsc_accept_for(const char *key, char out[WSC_ACCEPT_LEN + 1])
{
    char in[128];
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int mdlen = 0;
    int n = snprintf(in, sizeof(in), "%s%s", key, WSC_GUID);

    if (n < 0 || (size_t)n >= sizeof(in)
        || EVP_Digest(in, (size_t)n, md, &mdlen, EVP_sha1(), NULL) != 1 || mdlen != 20)
        return -1;
    return EVP_EncodeBlock((unsigned char *)out, md, (int)mdlen) == WSC_ACCEPT_LEN ? 0 : -1;
}

int
wsc_url_parse(const char *url, wsc_url *u)
{
    const char *p, *auth_end, *host, *port = NULL;
    size_t hlen;

    memset(u, 0, sizeof(*u));
    if (strncmp(url, "https://", 8) == 0)
        return WSC_ERR_UNSUPPORTED;
    if (strncmp(url, "http://", 7) != 0)
        return WSC_ERR_INVALID;
    p = url + 7;
    auth_end = p + strcspn(p, "/?#");
    if (*auth_end == '?' || *auth_end == '#' || memchr(p, '@', (size_t)(auth_end - p)) != NULL)
        return WSC_ERR_INVALID;
    if (*p == '[') {
        const char *rb = memchr(p, ']', (size_t)(auth_end - p));
        if (rb == NULL)
            return WSC_ERR_INVALID;
        host = p + 1;
        hlen = (size_t)(rb - host);
        if (rb + 1 < auth_end) {
            if (rb[1] != ':')
                return WSC_ERR_INVALID;
            port = rb + 2;
        }
    } else {
        const char *colon = memchr(p, ':', (size_t)(auth_end - p));
        host = p;
        hlen = (size_t)((colon != NULL ? colon : auth_end) - p);
        if (colon != NULL)
            port = colon + 1;
    }
    if (hlen == 0 || hlen >= sizeof(u->host))
        return WSC_ERR_INVALID;
    memcpy(u->host, host, hlen);
    if (port != NULL) {
        char digits[8];
        long v;
        size_t plen = (size_t)(auth_end - port);
        if (plen == 0 || plen >= sizeof(digits))
            return WSC_ERR_INVALID;
        memcpy(digits, port, plen);
        digits[plen] = '\0';
        if (strspn(digits, "0123456789") != plen || util_parse_long(digits, 1, 65535, &v) != 0)
            return WSC_ERR_INVALID;
        snprintf(u->port, sizeof(u->port), "%ld", v);
    } else {
        snprintf(u->port, sizeof(u->port), "80");
    }
    if ((size_t)(auth_end - p) >= sizeof(u->hostport))
        return WSC_ERR_INVALID;
    memcpy(u->hostport, p, (size_t)(auth_end - p));
    size_t plen = util_strlcpy(u->prefix, auth_end, sizeof(u->prefix));
    if (plen >= sizeof(u->prefix))
        return WSC_ERR_INVALID;
    while (plen > 0 && u->prefix[plen - 1] == '/')
        u->prefix[--plen] = '\0';
    return WSC_OK;
}

int
wsc_request_build(char *out, size_t cap, const char *hostport, const char *path, const char *key,
                  const char *const *headers)
{
    size_t len;
    int n = snprintf(out, cap,
                     "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
                     "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
                     "Sec-WebSocket-Version: 13\r\n",
                     path, hostport, key);

    if (n < 0 || (size_t)n >= cap || strpbrk(path, "\r\n ") != NULL
        || strpbrk(hostport, "\r\n") != NULL)
        return WSC_ERR_INVALID;
    len = (size_t)n;
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        if (strpbrk(headers[i], "\r\n") != NULL) /* no header injection */
            return WSC_ERR_INVALID;
        n = snprintf(out + len, cap - len, "%s\r\n", headers[i]);
        if (n < 0 || (size_t)n >= cap - len)
            return WSC_ERR_INVALID;
        len += (size_t)n;
    }
    if (cap - len < 3)
        return WSC_ERR_INVALID;
    memcpy(out + len, "\r\n", 3);
    return (int)(len + 2);
}

/* Is tok one of the comma-separated tokens of v[0..n)? */
static bool
wsc_has_token(const char *v, size_t n, const char *tok)
{
    size_t tlen = strlen(tok);
    for (size_t i = 0; i < n;) {
        while (i < n && (v[i] == ' ' || v[i] == '\t' || v[i] == ','))
            i++;
        size_t j = i;
        while (j < n && v[j] != ',')
            j++;
        size_t e = j;
        while (e > i && (v[e - 1] == ' ' || v[e - 1] == '\t'))
            e--;
        if (e - i == tlen && strncasecmp(v + i, tok, tlen) == 0)
            return true;
        i = j;
    }
    return false;
}

static bool
wsc_digit(char c)
{
    return c >= '0' && c <= '9';
}

int
wsc_response_check(const char *head, size_t len, const char *key, int *status)
{
    char want[WSC_ACCEPT_LEN + 1];
    bool upgrade = false, connection = false, accept = false;
    const char *end = head + len, *p = head;
    const char *eol = memmem(p, len, "\r\n", 2);

    *status = 0;
    /* "HTTP/1.1 101 Switching Protocols" */
    if (eol == NULL || eol - p < 12 || strncmp(p, "HTTP/1.", 7) != 0 || p[8] != ' '
        || !wsc_digit(p[9]) || !wsc_digit(p[10]) || !wsc_digit(p[11])
        || (eol - p > 12 && p[12] != ' '))
        return WSC_ERR_HANDSHAKE;
    *status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (*status != 101)
        return WSC_ERR_REFUSED;
    if (wsc_accept_for(key, want) != 0)
        return WSC_ERR_HANDSHAKE;
    for (p = eol + 2; p < end && (eol = memmem(p, (size_t)(end - p), "\r\n", 2)) != NULL;
         p = eol + 2) {
        if (eol == p)
            break; /* the blank line */
        const char *colon = memchr(p, ':', (size_t)(eol - p));
        if (colon == NULL)
            return WSC_ERR_HANDSHAKE;
        size_t nlen = (size_t)(colon - p);
        const char *v = colon + 1;
        while (v < eol && (*v == ' ' || *v == '\t'))
            v++;
        size_t vlen = (size_t)(eol - v);
        while (vlen > 0 && (v[vlen - 1] == ' ' || v[vlen - 1] == '\t'))
            vlen--;
        if (nlen == 7 && strncasecmp(p, "Upgrade", 7) == 0)
            upgrade = vlen == 9 && strncasecmp(v, "websocket", 9) == 0;
        else if (nlen == 10 && strncasecmp(p, "Connection", 10) == 0)
            connection = wsc_has_token(v, vlen, "upgrade");
        else if (nlen == 20 && strncasecmp(p, "Sec-WebSocket-Accept", 20) == 0)
            accept = vlen == WSC_ACCEPT_LEN && memcmp(v, want, WSC_ACCEPT_LEN) == 0;
        else if ((nlen == 24 && strncasecmp(p, "Sec-WebSocket-Extensions", 24) == 0)
                 || (nlen == 22 && strncasecmp(p, "Sec-WebSocket-Protocol", 22) == 0))
            return WSC_ERR_HANDSHAKE; /* nothing was asked for: nothing may be chosen */
    }
    return upgrade && connection && accept ? WSC_OK : WSC_ERR_HANDSHAKE;
}

/* ---- connections ---- */

struct wsc_conn {
    int fd;
    size_t max_message;
    pthread_mutex_t wmu; /* whole frames, one at a time; guards wbuf and close_sent */
    bool close_sent;
    uint8_t *wbuf; /* WSC_MAX_FRAME_HEADER + max_message */
    /* read side, used by one thread: rbuf[rstart..rend) not yet parsed */
    uint8_t *rbuf; /* WSC_MAX_FRAME_HEADER + max_message, at least WSC_MAX_HEAD + 1 */
    size_t rcap, rstart, rend;
    wsc_assembler msg;
};

static int64_t
wsc_left_ms(int64_t deadline_ns)
{
    int64_t left = (deadline_ns - util_mono_ns()) / 1000000;
    return left > 0 ? left : 0;
}

static wsc_conn *
wsc_conn_new(int fd, size_t max_message, int write_timeout_ms)
{
    wsc_conn *c = calloc(1, sizeof(*c));
    size_t max = max_message > 0 ? max_message : WSC_MAX_MESSAGE;

    if (c == NULL)
        goto fail;
    c->fd = fd;
    c->max_message = max;
    c->rcap = WSC_MAX_FRAME_HEADER + max > WSC_MAX_HEAD + 1 ? WSC_MAX_FRAME_HEADER + max
                                                            : WSC_MAX_HEAD + 1;
    c->rbuf = malloc(c->rcap);
    c->wbuf = malloc(WSC_MAX_FRAME_HEADER + max);
    if (c->rbuf == NULL || c->wbuf == NULL) {
        free(c->rbuf);
        free(c->wbuf);
        free(c);
        goto fail;
    }
    pthread_mutex_init(&c->wmu, NULL);
    wsc_assembler_init(&c->msg, max);
    /* A peer that stops reading must not hold a writer forever. */
    struct timeval tv = {write_timeout_ms / 1000, (write_timeout_ms % 1000) * 1000};
    (void)setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    return c;
fail:
    close(fd);
    return NULL;
}

wsc_conn *
wsc_adopt(int fd, size_t max_message, int write_timeout_ms)
{
    return wsc_conn_new(fd, max_message, write_timeout_ms);
}

void
wsc_free(wsc_conn *c)
{
    if (c == NULL)
        return;
    close(c->fd);
    pthread_mutex_destroy(&c->wmu);
    wsc_assembler_free(&c->msg);
    free(c->rbuf);
    free(c->wbuf);
    free(c);
}

int
wsc_fd(const wsc_conn *c)
{
    return c->fd;
}

/* Open a TCP connection to one of the host's addresses before the deadline. */
static int
wsc_tcp_connect(const wsc_url *u, int timeout_ms, int *out)
{
    struct addrinfo hints = {
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    struct addrinfo *res = NULL;
    int64_t deadline = util_mono_ns() + (int64_t)timeout_ms * 1000000;
    int fd = -1;

    if (getaddrinfo(u->host, u->port, &hints, &res) != 0)
        return WSC_ERR_CONNECT;
    for (struct addrinfo *ai = res; ai != NULL && fd < 0; ai = ai->ai_next) {
        fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        if (fd < 0)
            continue;
        int rc = connect(fd, ai->ai_addr, ai->ai_addrlen), err = 0;
        if (rc != 0 && errno == EINPROGRESS) {
            struct pollfd pfd = {.fd = fd, .events = POLLOUT};
            socklen_t elen = sizeof(err);
            do
                rc = poll(&pfd, 1, (int)wsc_left_ms(deadline));
            while (rc < 0 && errno == EINTR);
            if (rc == 1 && getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0)
                rc = 0;
            else
                rc = -1;
        }
        if (rc != 0) {
            close(fd);
            fd = -1;
        }
    }
    freeaddrinfo(res);
    if (fd < 0)
        return WSC_ERR_CONNECT;
    int one = 1;
    (void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    (void)fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    *out = fd;
    return WSC_OK;
}

static int
wsc_send_all(int fd, const uint8_t *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return WSC_ERR_IO; /* includes EAGAIN: SO_SNDTIMEO ran out */
        p += w;
        n -= (size_t)w;
    }
    return WSC_OK;
}

/* Send the request, read the answer's head into c->rbuf; what follows the
 * head (the first frames, perhaps) stays there for wsc_next. */
static int
wsc_handshake(wsc_conn *c, const char *req, size_t reqlen, const char *key, int timeout_ms,
              int *status)
{
    int64_t deadline = util_mono_ns() + (int64_t)timeout_ms * 1000000;
    const char *end = NULL;

    if (wsc_send_all(c->fd, (const uint8_t *)req, reqlen) != WSC_OK)
        return WSC_ERR_HANDSHAKE;
    while (end == NULL) {
        if (c->rend >= WSC_MAX_HEAD)
            return WSC_ERR_HANDSHAKE;
        struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
        int rc = poll(&pfd, 1, (int)wsc_left_ms(deadline));
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0)
            return WSC_ERR_TIMEOUT;
        ssize_t n = recv(c->fd, c->rbuf + c->rend, WSC_MAX_HEAD - c->rend, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            return WSC_ERR_HANDSHAKE; /* closed or reset without an answer */
        c->rend += (size_t)n;
        end = memmem(c->rbuf, c->rend, "\r\n\r\n", 4);
    }
    c->rstart = (size_t)(end + 4 - (const char *)c->rbuf);
    return wsc_response_check((const char *)c->rbuf, c->rstart, key, status);
}

int
wsc_connect(const wsc_options *o, wsc_conn **out, int *status)
{
    wsc_url u;
    char key[WSC_KEY_LEN + 1], path[1024], *req = NULL;
    wsc_conn *c = NULL;
    int fd = -1, rc;

    *out = NULL;
    *status = 0;
    if ((rc = wsc_url_parse(o->url, &u)) != WSC_OK)
        return rc;
    int n = snprintf(path, sizeof(path), "%s%s", u.prefix, o->path);
    if (n < 0 || (size_t)n >= sizeof(path))
        return WSC_ERR_INVALID;
    if (wsc_key_new(key) != 0)
        return WSC_ERR_NOMEM;
    if ((req = malloc(WSC_MAX_HEAD)) == NULL)
        return WSC_ERR_NOMEM;
    if ((n = wsc_request_build(req, WSC_MAX_HEAD, u.hostport, path, key, o->headers)) < 0) {
        rc = n;
        goto out;
    }
    if ((rc = wsc_tcp_connect(&u, o->connect_timeout_ms, &fd)) != WSC_OK)
        goto out;
    if ((c = wsc_conn_new(fd, o->max_message, o->timeout_ms)) == NULL) {
        rc = WSC_ERR_NOMEM;
        goto out;
    }
    if ((rc = wsc_handshake(c, req, (size_t)n, key, o->timeout_ms, status)) != WSC_OK)
        goto out;
    *out = c;
    c = NULL;
out:
    wsc_free(c);
    explicit_bzero(req, WSC_MAX_HEAD); /* it held the internal token */
    free(req);
    return rc;
}

int
wsc_send(wsc_conn *c, int opcode, const void *data, size_t len)
{
    uint8_t mask[4];
    int rc;

    if (len > (opcode >= WSC_OP_CLOSE ? WSC_MAX_CONTROL : c->max_message))
        return WSC_ERR_INVALID;
    /* RFC 6455 section 5.3: a fresh, unpredictable key for every frame. */
    if (getrandom(mask, sizeof(mask), 0) != (ssize_t)sizeof(mask))
        return WSC_ERR_IO;
    pthread_mutex_lock(&c->wmu);
    if (c->close_sent) {
        rc = WSC_ERR_CLOSED;
        goto out;
    }
    if (opcode == WSC_OP_CLOSE)
        c->close_sent = true;
    size_t n = wsc_frame_encode(c->wbuf, WSC_MAX_FRAME_HEADER + c->max_message, opcode, true, data,
                                len, mask);
    rc = n > 0 ? wsc_send_all(c->fd, c->wbuf, n) : WSC_ERR_INVALID;
out:
    pthread_mutex_unlock(&c->wmu);
    return rc;
}

int
wsc_send_close(wsc_conn *c, unsigned code)
{
    uint8_t payload[2] = {(uint8_t)(code >> 8), (uint8_t)code};

    if (code == 0 || code == WSC_CLOSE_NO_STATUS)
        return wsc_send(c, WSC_OP_CLOSE, NULL, 0);
    return wsc_send(c, WSC_OP_CLOSE, payload, sizeof(payload));
}

bool
wsc_close_sent(const wsc_conn *c)
{
    wsc_conn *m = (wsc_conn *)c; /* the lock is not part of the value */
    pthread_mutex_lock(&m->wmu);
    bool sent = m->close_sent;
    pthread_mutex_unlock(&m->wmu);
    return sent;
}

int
wsc_fill(wsc_conn *c)
{
    if (c->rstart > 0) { /* keep the unparsed bytes at the front */
        memmove(c->rbuf, c->rbuf + c->rstart, c->rend - c->rstart);
        c->rend -= c->rstart;
        c->rstart = 0;
    }
    /* Never full here: every frame wsc_next accepts fits in rcap, so a full
     * buffer holds a whole frame and wsc_next would not have asked for more. */
    if (c->rend >= c->rcap)
        return WSC_ERR_PROTOCOL;
    ssize_t n = recv(c->fd, c->rbuf + c->rend, c->rcap - c->rend, MSG_DONTWAIT);
    if (n < 0)
        return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR ? WSC_AGAIN : WSC_ERR_IO;
    if (n == 0)
        return WSC_ERR_CLOSED;
    c->rend += (size_t)n;
    return WSC_OK;
}

int
wsc_next(wsc_conn *c, wsc_event *ev)
{
    for (;;) {
        wsc_frame f;
        int rc = wsc_frame_parse(c->rbuf + c->rstart, c->rend - c->rstart, c->max_message, &f);
        if (rc != WSC_OK)
            return rc;
        char *payload = (char *)c->rbuf + c->rstart + f.header_len;
        c->rstart += f.header_len + f.payload_len;
        if (f.masked) /* RFC 6455 section 5.1: a server never masks */
            return WSC_ERR_PROTOCOL;
        switch (f.opcode) {
        case WSC_OP_PING:
            rc = wsc_send(c, WSC_OP_PONG, payload, f.payload_len);
            if (rc != WSC_OK && rc != WSC_ERR_CLOSED) /* no pong once closing */
                return rc;
            continue;
        case WSC_OP_PONG:
            continue;
        case WSC_OP_CLOSE:
            if (f.payload_len == 1)
                return WSC_ERR_PROTOCOL;
            ev->opcode = WSC_OP_CLOSE;
            ev->close_code = WSC_CLOSE_NO_STATUS;
            ev->data = payload;
            ev->len = 0;
            if (f.payload_len >= 2) {
                ev->close_code = ((unsigned)(uint8_t)payload[0] << 8) | (uint8_t)payload[1];
                ev->data = payload + 2;
                ev->len = f.payload_len - 2;
            }
            return WSC_OK;
        default:
            rc = wsc_assembler_add(&c->msg, f.opcode, f.fin, payload, f.payload_len, &ev->data,
                                   &ev->len, &ev->opcode);
            if (rc == WSC_AGAIN)
                continue;
            ev->close_code = 0;
            return rc;
        }
    }
}
