/* menu_scan: a cursor over JSON text for menu_snap_read.c, which builds the
 * model from a snapshot without json-c objects; see menu_internal.h. Strict
 * JSON (RFC 8259) but for UTF-8, which is taken as it comes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "menu_internal.h"

#define SKIP_DEPTH_MAX 32 /* nesting of a value skipped under an unknown key */
#define NUMBER_MAX     64 /* characters of a number */

int
ms_fail(mscan *r, const char *what)
{
    return mb_fail(r->b, "the snapshot is not valid JSON at byte %zu: %s",
                   (size_t)(r->p - r->start), what);
}

static void
ws(mscan *r)
{
    while (r->p < r->end && (*r->p == ' ' || *r->p == '\n' || *r->p == '\r' || *r->p == '\t'))
        r->p++;
}

char
ms_peek(mscan *r)
{
    ws(r);
    return r->p < r->end ? *r->p : '\0';
}

int
ms_expect(mscan *r, char c)
{
    if (ms_peek(r) != c) {
        char what[32];
        snprintf(what, sizeof(what), "'%c' expected", c);
        return ms_fail(r, what);
    }
    r->p++;
    return 0;
}

static int
literal(mscan *r, const char *word)
{
    size_t n = strlen(word);
    if ((size_t)(r->end - r->p) < n || memcmp(r->p, word, n) != 0)
        return ms_fail(r, "unexpected character");
    r->p += n;
    return 0;
}

int
ms_null(mscan *r)
{
    if (ms_peek(r) != 'n')
        return 0;
    return literal(r, "null") == 0 ? 1 : -1;
}

static int
tmp_put(mscan *r, const char *p, size_t n)
{
    if (r->tmplen + n >= r->tmpcap) {
        size_t nc = r->tmpcap ? r->tmpcap : 256;
        while (nc <= r->tmplen + n)
            nc *= 2;
        char *q = realloc(r->tmp, nc);
        if (!q)
            return mb_fail(r->b, "out of memory");
        r->tmp = q;
        r->tmpcap = nc;
    }
    memcpy(r->tmp + r->tmplen, p, n);
    r->tmplen += n;
    r->tmp[r->tmplen] = '\0';
    return 0;
}

static int
hex4(mscan *r, const char *p, unsigned *out)
{
    *out = 0;
    if (r->end - p < 4)
        return ms_fail(r, "short \\u escape");
    for (int i = 0; i < 4; i++) {
        char c = p[i];
        unsigned d = c >= '0' && c <= '9'   ? (unsigned)(c - '0')
                     : c >= 'a' && c <= 'f' ? (unsigned)(c - 'a' + 10)
                     : c >= 'A' && c <= 'F' ? (unsigned)(c - 'A' + 10)
                                            : 16;
        if (d > 15)
            return ms_fail(r, "bad \\u escape");
        *out = *out << 4 | d;
    }
    return 0;
}

/* \uXXXX (and its low surrogate) at r->p (after the backslash and 'u'). */
static int
unicode(mscan *r)
{
    unsigned cp, lo;
    char u[4];
    size_t n;
    if (hex4(r, r->p, &cp) != 0)
        return -1;
    r->p += 4;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (r->end - r->p < 6 || r->p[0] != '\\' || r->p[1] != 'u' || hex4(r, r->p + 2, &lo) != 0
            || lo < 0xdc00 || lo > 0xdfff)
            return ms_fail(r, "lone surrogate");
        r->p += 6;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    } else if (cp >= 0xdc00 && cp <= 0xdfff) {
        return ms_fail(r, "lone surrogate");
    }
    if (cp == 0)
        return ms_fail(r, "a ms_string holds NUL");
    if (cp < 0x80) {
        u[0] = (char)cp;
        n = 1;
    } else if (cp < 0x800) {
        u[0] = (char)(0xc0 | cp >> 6);
        u[1] = (char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        u[0] = (char)(0xe0 | cp >> 12);
        u[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[2] = (char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        u[0] = (char)(0xf0 | cp >> 18);
        u[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
        u[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
        u[3] = (char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    return tmp_put(r, u, n);
}

int
ms_string(mscan *r)
{
    if (ms_peek(r) != '"')
        return ms_fail(r, "a ms_string expected");
    r->p++;
    r->tmplen = 0;
    if (tmp_put(r, "", 0) != 0)
        return -1;
    for (;;) {
        const char *run = r->p;
        while (r->p < r->end && *r->p != '"' && *r->p != '\\' && (unsigned char)*r->p >= 0x20)
            r->p++;
        if (tmp_put(r, run, (size_t)(r->p - run)) != 0)
            return -1;
        if (r->p >= r->end)
            return ms_fail(r, "unterminated string");
        char c = *r->p++;
        if (c == '"')
            return 0;
        if (c != '\\' || r->p >= r->end)
            return ms_fail(r, "a control character in a string");
        c = *r->p++;
        const char *sub = c == '"'    ? "\""
                          : c == '\\' ? "\\"
                          : c == '/'  ? "/"
                          : c == 'b'  ? "\b"
                          : c == 'f'  ? "\f"
                          : c == 'n'  ? "\n"
                          : c == 'r'  ? "\r"
                          : c == 't'  ? "\t"
                                      : NULL;
        if (sub ? tmp_put(r, sub, 1) != 0 : c != 'u' ? ms_fail(r, "bad escape") : unicode(r) != 0)
            return -1;
    }
}

int
ms_number(mscan *r, bool *is_int, int64_t *i, double *d)
{
    const char *s = r->p;
    char buf[NUMBER_MAX + 1];
    if (r->p < r->end && *r->p == '-')
        r->p++;
    if (r->p >= r->end || *r->p < '0' || *r->p > '9')
        return ms_fail(r, "unexpected character");
    if (*r->p == '0')
        r->p++;
    else
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    *is_int = true;
    if (r->p < r->end && *r->p == '.') {
        *is_int = false;
        r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9')
            return ms_fail(r, "bad number");
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    if (r->p < r->end && (*r->p == 'e' || *r->p == 'E')) {
        *is_int = false;
        r->p++;
        if (r->p < r->end && (*r->p == '+' || *r->p == '-'))
            r->p++;
        if (r->p >= r->end || *r->p < '0' || *r->p > '9')
            return ms_fail(r, "bad number");
        while (r->p < r->end && *r->p >= '0' && *r->p <= '9')
            r->p++;
    }
    if (r->p - s > NUMBER_MAX)
        return ms_fail(r, "number too long");
    memcpy(buf, s, (size_t)(r->p - s));
    buf[r->p - s] = '\0';
    errno = 0;
    if (*is_int)
        *i = strtoll(buf, NULL, 10);
    else
        *d = strtod(buf, NULL);
    if (errno == ERANGE)
        return mb_fail(r->b, "%s: a ms_number is out of range", r->b->where);
    return 0;
}

int
ms_skip(mscan *r, int depth)
{
    bool is_int;
    int64_t i;
    double d;
    char c = ms_peek(r);
    if (depth > SKIP_DEPTH_MAX)
        return ms_fail(r, "nested too deep");
    switch (c) {
    case '"':
        return ms_string(r);
    case 'n':
        return literal(r, "null");
    case 't':
        return literal(r, "true");
    case 'f':
        return literal(r, "false");
    case '[':
    case '{':
        r->p++;
        if (ms_peek(r) == (c == '[' ? ']' : '}')) {
            r->p++;
            return 0;
        }
        for (;;) {
            if (c == '{' && (ms_string(r) != 0 || ms_expect(r, ':') != 0))
                return -1;
            if (ms_skip(r, depth + 1) != 0)
                return -1;
            if (ms_peek(r) == ',') {
                r->p++;
                continue;
            }
            return ms_expect(r, c == '[' ? ']' : '}');
        }
    default:
        return ms_number(r, &is_int, &i, &d);
    }
}

int
ms_member(mscan *r, bool *first, char key[MS_KEY_MAX])
{
    if (ms_peek(r) == '}') {
        r->p++;
        return 0;
    }
    if (!*first && ms_expect(r, ',') != 0)
        return -1;
    *first = false;
    if (ms_string(r) != 0 || ms_expect(r, ':') != 0)
        return -1;
    if (r->tmplen < MS_KEY_MAX)
        memcpy(key, r->tmp, r->tmplen + 1);
    else
        key[0] = '\0';
    return 1;
}

int
ms_element(mscan *r, bool *first)
{
    if (ms_peek(r) == ']') {
        r->p++;
        return 0;
    }
    if (!*first && ms_expect(r, ',') != 0)
        return -1;
    *first = false;
    return 1;
}
