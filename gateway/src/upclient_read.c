/* upclient_read: reading and parsing an upstream's answer (upclient.h):
 * the status line and headers, bounded, then the body framed by
 * Content-Length, chunked encoding (decoded in place) or the end of the
 * connection. */
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "upclient.h"
#include "upclient_internal.h"

#define UPC_INIT_BUF    8192 /* first read buffer: most answers fit */
#define UPC_MAX_LINE    4096 /* a chunk-size line, extensions included */
#define UPC_MAX_INTERIM 8    /* 1xx answers skipped before the final one */

/* Where a kept header line is in the answer's buffer (which may move while
 * the body is read): offsets, made pointers at the end. */
typedef struct upc_hdr_at {
    uint32_t line, name_len, value;
} upc_hdr_at;

/* What the head says. */
typedef struct upc_head_info {
    int status, minor;
    size_t head_len;
    long long content_length; /* -1: none */
    bool chunked, close;
    upc_hdr_at at[UPC_MAX_HEADERS];
    size_t nat;
} upc_head_info;

/* ---- small parsers ---- */

/* A tchar of RFC 9110 section 5.6.2. */
bool
upc__tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
           || (c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL);
}

bool
upc__token(const char *s, size_t n)
{
    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!upc__tchar((unsigned char)s[i]))
            return false;
    return true;
}

/* Field content: visible characters, spaces, tabs and obs-text; no CTL. */
static bool
upc_field_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f)
            return false;
    }
    return true;
}

static bool
upc_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Is tok one of the comma-separated tokens of v[0..n)? */
static bool
upc_has_token(const char *v, size_t n, const char *tok)
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

/* ---- reading ---- */

/* Read what comes next, keeping r->len at most limit. UPC_OK with at least
 * one more byte, UPC_EOF at the end of the stream, UPC_ERR_TOO_LARGE when
 * limit is reached, or an error. Waits first: it is called when the bytes
 * there are not enough. */
static int
upc_fill(upc_reader *r, size_t limit)
{
    if (r->len >= limit)
        return UPC_ERR_TOO_LARGE;
    if (r->len + 1 >= r->cap) {
        size_t want = r->cap > 0 ? r->cap * 2 : UPC_INIT_BUF;
        if (want > limit + 1)
            want = limit + 1;
        char *p = realloc(r->mem, want);
        if (p == NULL)
            return UPC_ERR_NOMEM;
        r->mem = p;
        r->cap = want;
    }
    size_t room = r->cap - 1 - r->len;
    if (room > limit - r->len)
        room = limit - r->len;
    for (;;) {
        struct pollfd pfd = {.fd = r->fd, .events = POLLIN};
        int64_t left = upc__left_ms(r->deadline_ns);
        int rc = r->nowait ? 1 : left > 0 ? poll(&pfd, 1, (int)left) : 0;
        if (rc < 0 && errno == EINTR)
            continue;
        if (rc == 0)
            return UPC_ERR_TIMEOUT;
        if (rc < 0) {
            r->err = errno;
            return UPC_ERR_BROKEN;
        }
        ssize_t n = recv(r->fd, r->mem + r->len, room, MSG_DONTWAIT);
        if (n > 0) {
            r->len += (size_t)n;
            return UPC_OK;
        }
        if (n == 0)
            return UPC_EOF;
        if (errno == EINTR || ((errno == EAGAIN || errno == EWOULDBLOCK) && !r->nowait))
            continue;
        r->err = errno;
        return UPC_ERR_BROKEN;
    }
}

/* Where the head ends (just past its empty line) in p[0..len), or 0 when
 * it has not ended yet; *scan is where to look from next time. A bare LF
 * ends a line too (RFC 9112 section 2.2). */
static size_t
upc_head_end(const char *p, size_t len, size_t *scan)
{
    for (size_t i = *scan; i < len; i++) {
        const char *nl = memchr(p + i, '\n', len - i);
        if (nl == NULL)
            break;
        i = (size_t)(nl - p);
        if (i + 1 >= len) {
            *scan = i;
            return 0;
        }
        if (p[i + 1] == '\n')
            return i + 2;
        if (p[i + 1] == '\r') {
            if (i + 2 >= len) {
                *scan = i;
                return 0;
            }
            if (p[i + 2] == '\n')
                return i + 3;
        }
    }
    *scan = len;
    return 0;
}

/* The end of the line starting at p[*at] (before its CR LF or LF), with *at
 * moved past it; NUL-terminates the line in place. */
static size_t
upc_line(char *p, size_t end, size_t *at)
{
    size_t s = *at;
    const char *nl = memchr(p + s, '\n', end - s);
    size_t e = nl != NULL ? (size_t)(nl - p) : end;
    *at = nl != NULL ? e + 1 : end;
    if (e > s && p[e - 1] == '\r')
        e--;
    p[e] = '\0';
    return e;
}

/* One header line p[s..e): kept, and read when it frames the body. */
static int
upc_header_line(char *p, size_t s, size_t e, upc_head_info *hi)
{
    size_t colon = s;
    while (colon < e && upc__tchar((unsigned char)p[colon]))
        colon++;
    /* No name, or blanks before the colon (RFC 9112 section 5.1), or a
     * folded line (obs-fold, section 5.2): not relayed, refused. */
    if (colon == s || colon >= e || p[colon] != ':' || !upc_field_text(p + colon, e - colon))
        return UPC_ERR_INVALID;
    size_t v = colon + 1, ve = e;
    while (v < ve && (p[v] == ' ' || p[v] == '\t'))
        v++;
    while (ve > v && (p[ve - 1] == ' ' || p[ve - 1] == '\t'))
        ve--;
    p[ve] = '\0';
    size_t nlen = colon - s, vlen = ve - v;
    const char *name = p + s, *value = p + v;
    if (nlen == 14 && strncasecmp(name, "Content-Length", 14) == 0) {
        long long cl = 0;
        if (vlen == 0 || vlen > 18)
            return UPC_ERR_INVALID;
        for (size_t i = 0; i < vlen; i++) {
            if (!upc_digit(value[i]))
                return UPC_ERR_INVALID;
            cl = cl * 10 + (value[i] - '0');
        }
        if (hi->content_length >= 0 && hi->content_length != cl)
            return UPC_ERR_INVALID;
        hi->content_length = cl;
    } else if (nlen == 17 && strncasecmp(name, "Transfer-Encoding", 17) == 0) {
        /* Only plain chunked: another coding would reach the client still
         * encoded, without its Transfer-Encoding. */
        if (hi->chunked || vlen != 7 || strncasecmp(value, "chunked", 7) != 0)
            return UPC_ERR_INVALID;
        hi->chunked = true;
    } else if (nlen == 10 && strncasecmp(name, "Connection", 10) == 0) {
        if (upc_has_token(value, vlen, "close"))
            hi->close = true;
    }
    if (hi->nat < UPC_MAX_HEADERS)
        hi->at[hi->nat++] =
            (upc_hdr_at){.line = (uint32_t)s, .name_len = (uint32_t)nlen, .value = (uint32_t)v};
    return UPC_OK;
}

/* Parse the head p[0..head_len): the status line, then the header lines.
 * The lines are NUL-terminated in place. */
static int
upc_parse_head(char *p, size_t head_len, upc_head_info *hi)
{
    size_t at = 0, e = upc_line(p, head_len, &at);

    hi->head_len = head_len;
    hi->content_length = -1;
    hi->chunked = hi->close = false;
    hi->nat = 0;
    /* HTTP/1.x SP 3DIGIT [SP reason] */
    if (e < 12 || memcmp(p, "HTTP/1.", 7) != 0 || !upc_digit(p[7]) || p[8] != ' '
        || !upc_digit(p[9]) || !upc_digit(p[10]) || !upc_digit(p[11]) || (e > 12 && p[12] != ' ')
        || !upc_field_text(p, e))
        return UPC_ERR_INVALID;
    hi->minor = p[7] - '0';
    hi->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (hi->status < 100)
        return UPC_ERR_INVALID;
    for (;;) {
        size_t s = at;
        e = upc_line(p, head_len, &at);
        if (e == s)
            return at == head_len ? UPC_OK : UPC_ERR_INVALID;
        int rc = upc_header_line(p, s, e, hi);
        if (rc != UPC_OK)
            return rc;
    }
}

/* Decoding a chunked body in place: the decoded body is mem[start..wr), the
 * raw bytes not decoded yet mem[rd..len). */
typedef enum {
    UPC_CH_SIZE,
    UPC_CH_DATA,
    UPC_CH_DATA_END,
    UPC_CH_TRAILER,
    UPC_CH_DONE
} upc_ch_state;

typedef struct upc_chunks {
    upc_ch_state state;
    size_t start, wr, rd;
    uint64_t left;  /* of the current chunk */
    size_t trailer; /* bytes of trailer lines so far */
} upc_chunks;

/* chunk-size [ BWS ";" chunk-ext ] in p[0..n). */
static int
upc_chunk_size(const char *p, size_t n, uint64_t *size)
{
    size_t i = 0;
    uint64_t v = 0;
    for (; i < n; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9'   ? c - '0'
                : c >= 'a' && c <= 'f' ? c - 'a' + 10
                : c >= 'A' && c <= 'F' ? c - 'A' + 10
                                       : -1;
        if (d < 0)
            break;
        if (v <= UPC_MAX_BODY)
            v = v * 16 + (uint64_t)d; /* beyond it, the value no longer matters */
    }
    if (i == 0)
        return UPC_ERR_INVALID;
    while (i < n && (p[i] == ' ' || p[i] == '\t'))
        i++;
    if ((i < n && p[i] != ';') || !upc_field_text(p + i, n - i))
        return UPC_ERR_INVALID;
    *size = v;
    return UPC_OK;
}

/* Decode what r holds. UPC_OK when the body (and its trailers) ended,
 * UPC_EOF when more bytes are needed, or an error. */
static int
upc_dechunk(upc_reader *r, upc_chunks *c)
{
    char *m = r->mem;
    for (;;) {
        switch (c->state) {
        case UPC_CH_SIZE:
        case UPC_CH_TRAILER: {
            const char *nl = memchr(m + c->rd, '\n', r->len - c->rd);
            if (nl == NULL) {
                size_t pending = r->len - c->rd;
                if (c->state == UPC_CH_SIZE && pending > UPC_MAX_LINE)
                    return UPC_ERR_INVALID;
                if (c->trailer + pending > UPC_MAX_HEAD)
                    return UPC_ERR_TOO_LARGE;
                return UPC_EOF;
            }
            size_t s = c->rd, e = (size_t)(nl - m);
            c->rd = e + 1;
            if (e > s && m[e - 1] == '\r')
                e--;
            if (c->state == UPC_CH_TRAILER) {
                if (e == s) {
                    c->state = UPC_CH_DONE;
                    break;
                }
                c->trailer += e - s + 2;
                if (c->trailer > UPC_MAX_HEAD)
                    return UPC_ERR_TOO_LARGE;
                break; /* trailers are not relayed */
            }
            uint64_t size = 0;
            int rc = upc_chunk_size(m + s, e - s, &size);
            if (rc != UPC_OK)
                return rc;
            if (size == 0) {
                c->state = UPC_CH_TRAILER;
            } else if ((uint64_t)(c->wr - c->start) + size > UPC_MAX_BODY) {
                return UPC_ERR_TOO_LARGE;
            } else {
                c->left = size;
                c->state = UPC_CH_DATA;
            }
            break;
        }
        case UPC_CH_DATA: {
            size_t n = r->len - c->rd;
            if (n > c->left)
                n = (size_t)c->left;
            if (c->wr != c->rd)
                memmove(m + c->wr, m + c->rd, n);
            c->wr += n;
            c->rd += n;
            c->left -= n;
            if (c->left > 0)
                return UPC_EOF;
            c->state = UPC_CH_DATA_END;
            break;
        }
        case UPC_CH_DATA_END:
            if (c->rd >= r->len)
                return UPC_EOF;
            if (m[c->rd] == '\n') {
                c->rd++;
            } else if (m[c->rd] == '\r') {
                if (c->rd + 1 >= r->len)
                    return UPC_EOF;
                if (m[c->rd + 1] != '\n')
                    return UPC_ERR_INVALID;
                c->rd += 2;
            } else {
                return UPC_ERR_INVALID;
            }
            c->state = UPC_CH_SIZE;
            break;
        case UPC_CH_DONE:
            return UPC_OK;
        }
    }
}

/* Read a chunked body after the head. *end is where the decoded body ends;
 * *extra whether bytes followed the body. */
static int
upc_read_chunked(upc_reader *r, size_t start, size_t *end, bool *extra)
{
    upc_chunks c = {.state = UPC_CH_SIZE, .start = start, .wr = start, .rd = start};
    /* Decoded body, plus a line or trailers not decoded yet. */
    size_t limit = start + UPC_MAX_BODY + UPC_MAX_HEAD;
    for (;;) {
        int rc = upc_dechunk(r, &c);
        if (rc == UPC_OK)
            break;
        if (rc != UPC_EOF)
            return rc;
        /* Keep the undecoded bytes right after the decoded ones. */
        if (c.rd > c.wr) {
            memmove(r->mem + c.wr, r->mem + c.rd, r->len - c.rd);
            r->len -= c.rd - c.wr;
            c.rd = c.wr;
        }
        rc = upc_fill(r, limit);
        if (rc == UPC_EOF)
            return UPC_ERR_BROKEN;
        if (rc != UPC_OK)
            return rc;
    }
    *end = c.wr;
    *extra = c.rd < r->len;
    return UPC_OK;
}

/* Does this answer have a body? (RFC 9112 section 6.3) */
static bool
upc_has_body(const char *method, int status)
{
    return !(strcmp(method, "HEAD") == 0 || status == 204 || status == 304);
}

/* See upclient_internal.h. */
int
upc__read_answer(upc_reader *r, const char *method, upc_response *resp, bool *keep, bool *stale)
{
    upc_head_info hi;
    size_t head_end = 0, scan = 0, body_end = 0;
    bool extra = false;
    int rc, interim = 0;

    *keep = *stale = false;
    for (;;) {
        while ((head_end = upc_head_end(r->mem, r->len, &scan)) == 0) {
            rc = upc_fill(r, UPC_MAX_HEAD);
            if (rc == UPC_OK)
                continue;
            if ((rc == UPC_EOF || rc == UPC_ERR_BROKEN) && r->len == 0 && interim == 0)
                *stale = true;
            return rc == UPC_EOF ? UPC_ERR_BROKEN : rc;
        }
        if ((rc = upc_parse_head(r->mem, head_end, &hi)) != UPC_OK)
            return rc;
        if (hi.status >= 200)
            break;
        /* 101 switches protocols, which this client never asks for. */
        if (hi.status == 101 || ++interim > UPC_MAX_INTERIM)
            return UPC_ERR_INVALID;
        memmove(r->mem, r->mem + head_end, r->len - head_end);
        r->len -= head_end;
        scan = 0;
    }
    if (hi.chunked && hi.content_length >= 0)
        return UPC_ERR_INVALID; /* two framings: a smuggling attempt, or a bug */
    bool until_close = false;
    if (!upc_has_body(method, hi.status)) {
        body_end = head_end;
        extra = r->len > head_end;
    } else if (hi.chunked) {
        if ((rc = upc_read_chunked(r, head_end, &body_end, &extra)) != UPC_OK)
            return rc;
    } else if (hi.content_length >= 0) {
        if ((unsigned long long)hi.content_length > UPC_MAX_BODY)
            return UPC_ERR_TOO_LARGE;
        body_end = head_end + (size_t)hi.content_length;
        while (r->len < body_end) {
            rc = upc_fill(r, body_end);
            if (rc != UPC_OK)
                return rc == UPC_EOF ? UPC_ERR_BROKEN : rc;
        }
        extra = r->len > body_end;
    } else {
        /* Until the connection ends; one byte over the cap tells. */
        until_close = true;
        while ((rc = upc_fill(r, head_end + UPC_MAX_BODY + 1)) == UPC_OK)
            ;
        if (rc != UPC_EOF)
            return rc;
        body_end = r->len;
    }
    *keep = hi.minor >= 1 && !hi.close && !until_close && !extra;
    resp->status = hi.status;
    resp->minor = hi.minor;
    resp->mem = r->mem;
    r->mem[body_end] = '\0';
    resp->body = r->mem + head_end;
    resp->body_len = body_end - head_end;
    resp->nheaders = hi.nat;
    for (size_t i = 0; i < hi.nat; i++)
        resp->headers[i] = (upc_header){.line = r->mem + hi.at[i].line,
                                        .name_len = hi.at[i].name_len,
                                        .value = r->mem + hi.at[i].value};
    return UPC_OK;
}

/* ---- is an answer whole? (an event loop's exchange) ---- */

/* More bytes are needed: 0, or UPC_ERR_BROKEN when none will come. */
static int
upc_wait_more(bool eof)
{
    return eof ? UPC_ERR_BROKEN : 0;
}

/* Past the CR LF (or LF) ending a chunk's data at p[*at], in p[0..n). */
static int
upc_chunk_data_end(const char *p, size_t n, size_t *at, bool eof)
{
    if (*at >= n)
        return upc_wait_more(eof);
    if (p[*at] == '\n') {
        (*at)++;
        return 1;
    }
    if (p[*at] != '\r')
        return UPC_ERR_INVALID;
    if (*at + 1 >= n)
        return upc_wait_more(eof);
    if (p[*at + 1] != '\n')
        return UPC_ERR_INVALID;
    *at += 2;
    return 1;
}

/* Whether p[0..n) holds a whole chunked body with its trailers, reading it
 * as upc_dechunk does but changing nothing. */
static int
upc_chunks_whole(const char *p, size_t n, bool eof)
{
    size_t at = 0, trailer = 0;
    uint64_t body = 0;
    bool trailers = false;
    for (;;) {
        const char *nl = memchr(p + at, '\n', n - at);
        if (nl == NULL) {
            if (!trailers && n - at > UPC_MAX_LINE)
                return UPC_ERR_INVALID;
            if (trailer + (n - at) > UPC_MAX_HEAD)
                return UPC_ERR_TOO_LARGE;
            return upc_wait_more(eof);
        }
        size_t e = (size_t)(nl - p), le = e;
        if (le > at && p[le - 1] == '\r')
            le--;
        if (trailers) {
            if (le == at)
                return 1;
            trailer += e + 1 - at;
            if (trailer > UPC_MAX_HEAD)
                return UPC_ERR_TOO_LARGE;
            at = e + 1;
            continue;
        }
        uint64_t size = 0;
        int rc = upc_chunk_size(p + at, le - at, &size);
        if (rc != UPC_OK)
            return rc;
        at = e + 1;
        if (size == 0) {
            trailers = true;
            continue;
        }
        if (body + size > UPC_MAX_BODY)
            return UPC_ERR_TOO_LARGE;
        body += size;
        if (n - at < size)
            return upc_wait_more(eof);
        at += (size_t)size;
        if ((rc = upc_chunk_data_end(p, n, &at, eof)) != 1)
            return rc;
    }
}

/* The framing of the head mem[0..head_len), parsed on a copy. */
static int
upc_peek_head(const char *mem, size_t head_len, upc_head_info *hi)
{
    char small[2048];
    char *copy = head_len <= sizeof(small) ? small : malloc(head_len);
    if (copy == NULL)
        return UPC_ERR_NOMEM;
    memcpy(copy, mem, head_len);
    int rc = upc_parse_head(copy, head_len, hi);
    if (copy != small)
        free(copy);
    return rc;
}

/* The usual answer, looked at without parsing its head: a final status
 * with a body, one Content-Length and no Transfer-Encoding. Its length, or
 * -1 when the head must be parsed (the parser validates it either way). */
static long long
upc_quick_length(const char *p, size_t head_end, const char *method)
{
    if (head_end < 16 || memcmp(p, "HTTP/1.", 7) != 0 || p[9] < '2' || p[9] > '9'
        || (p[9] == '2' && p[10] == '0' && p[11] == '4')
        || (p[9] == '3' && p[10] == '0' && p[11] == '4') || strcmp(method, "HEAD") == 0)
        return -1;
    long long cl = -1;
    const char *end = p + head_end;
    for (const char *l = memchr(p, '\n', head_end); l != NULL && l + 1 < end;
         l = memchr(l + 1, '\n', (size_t)(end - l - 1))) {
        const char *h = l + 1;
        size_t room = (size_t)(end - h);
        if ((*h | 0x20) == 't' && room > 18 && strncasecmp(h, "transfer-encoding:", 18) == 0)
            return -1;
        if ((*h | 0x20) != 'c' || room <= 15 || strncasecmp(h, "content-length:", 15) != 0)
            continue;
        if (cl >= 0)
            return -1; /* twice: the parser decides */
        const char *v = h + 15;
        while (v < end && (*v == ' ' || *v == '\t'))
            v++;
        cl = 0;
        int digits = 0;
        for (; v < end && upc_digit(*v) && digits < 18; v++, digits++)
            cl = cl * 10 + (*v - '0');
        if (digits == 0 || (v < end && *v != '\r' && *v != '\n' && *v != ' ' && *v != '\t'))
            return -1;
    }
    return cl;
}

int
upc__answer_ready(const char *mem, size_t len, const char *method, bool eof)
{
    upc_head_info hi;
    size_t at = 0;
    size_t scan0 = 0, first = upc_head_end(mem, len, &scan0);
    if (first != 0 && first <= UPC_MAX_HEAD) {
        long long cl = upc_quick_length(mem, first, method);
        if (cl > (long long)UPC_MAX_BODY)
            return UPC_ERR_TOO_LARGE;
        if (cl >= 0)
            return len - first >= (size_t)cl ? 1 : upc_wait_more(eof);
    }
    for (int interim = 0;; interim++) {
        size_t scan = 0, head_end = upc_head_end(mem + at, len - at, &scan);
        if (head_end == 0)
            return len - at > UPC_MAX_HEAD ? UPC_ERR_TOO_LARGE : upc_wait_more(eof);
        if (head_end > UPC_MAX_HEAD)
            return UPC_ERR_TOO_LARGE;
        int rc = upc_peek_head(mem + at, head_end, &hi);
        if (rc != UPC_OK)
            return rc;
        at += head_end;
        if (hi.status >= 200)
            break;
        if (hi.status == 101 || interim >= UPC_MAX_INTERIM)
            return UPC_ERR_INVALID;
    }
    if (hi.chunked && hi.content_length >= 0)
        return UPC_ERR_INVALID;
    if (!upc_has_body(method, hi.status))
        return 1;
    if (hi.chunked)
        return upc_chunks_whole(mem + at, len - at, eof);
    if (hi.content_length >= 0) {
        if ((unsigned long long)hi.content_length > UPC_MAX_BODY)
            return UPC_ERR_TOO_LARGE;
        return len - at >= (size_t)hi.content_length ? 1 : upc_wait_more(eof);
    }
    if (len - at > UPC_MAX_BODY)
        return UPC_ERR_TOO_LARGE;
    return eof ? 1 : 0; /* until the connection ends */
}

/* ---- answers ---- */

const char *
upc_header_get(const upc_response *r, const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; i < r->nheaders; i++)
        if (r->headers[i].name_len == n && strncasecmp(r->headers[i].line, name, n) == 0)
            return r->headers[i].value;
    return NULL;
}

void
upc_response_free(upc_response *r)
{
    if (r == NULL)
        return;
    free(r->mem);
    free(r);
}
