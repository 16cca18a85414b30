/* route: the route table and its matcher (pure code, no I/O). */
#include "route.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MAX_METHOD 16 /* bytes with the NUL: longer methods are refused */

typedef enum { SEG_LITERAL, SEG_PARAM, SEG_TAIL } seg_kind;

typedef struct seg {
    seg_kind kind;
    size_t off, len; /* literal text or parameter name, inside the route's pattern */
} seg;

typedef struct route {
    char method[MAX_METHOD];
    char *pattern;
    void *data;
    size_t nsegs;
    seg *segs;
} route;

struct route_table {
    size_t n;
    route routes[ROUTE_MAX_ROUTES];
};

route_table *
route_table_new(void)
{
    return calloc(1, sizeof(route_table));
}

void
route_table_free(route_table *t)
{
    if (t == NULL)
        return;
    for (size_t i = 0; i < t->n; i++) {
        free(t->routes[i].pattern);
        free(t->routes[i].segs);
    }
    free(t);
}

static bool
valid_method(const char *m)
{
    size_t n = 0;

    if (m == NULL)
        return false;
    if (strcmp(m, "*") == 0)
        return true;
    for (; m[n]; n++) {
        if (m[n] < 'A' || m[n] > 'Z')
            return false;
    }
    return n > 0 && n < MAX_METHOD;
}

static bool
valid_param_name(const char *s, size_t n)
{
    if (n == 0 || n >= ROUTE_MAX_NAME || (s[0] >= '0' && s[0] <= '9'))
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')
              || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    }
    return true;
}

/* Literal segments are compared with the raw path, so characters that would
 * be escaped or mean something else in a path or a pattern are refused. */
static bool
valid_literal(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= ' ' || c == 0x7f || strchr("{}*%?#", c) != NULL)
            return false;
    }
    return true;
}

/* Split pattern into segments (*segs malloc'd). Returns 0 or -1 if invalid. */
static int
parse_pattern(const char *pattern, seg **segs, size_t *nsegs)
{
    size_t len, n = 0, nparams = 0;
    seg *out;

    *segs = NULL;
    *nsegs = 0;
    if (pattern == NULL || pattern[0] != '/')
        return -1;
    len = strnlen(pattern, ROUTE_MAX_PATH + 1);
    if (len > ROUTE_MAX_PATH)
        return -1;
    if (len == 1)
        return 0; /* the root "/" has no segments */
    for (size_t i = 0; i < len; i++)
        n += pattern[i] == '/';
    out = calloc(n, sizeof(*out));
    if (out == NULL)
        return -1;
    for (size_t i = 0, pos = 1; i < n; i++) {
        const char *s = pattern + pos;
        const char *slash = strchr(s, '/');
        size_t sl = slash ? (size_t)(slash - s) : strlen(s);
        seg *g = &out[i];

        if (sl == 0)
            goto invalid; /* "//" or a trailing '/' */
        if (sl == 1 && s[0] == '*') {
            if (i != n - 1)
                goto invalid;
            *g = (seg){SEG_TAIL, pos, 1};
            nparams++;
        } else if (s[0] == '{') {
            if (sl < 3 || s[sl - 1] != '}' || !valid_param_name(s + 1, sl - 2))
                goto invalid;
            *g = (seg){SEG_PARAM, pos + 1, sl - 2};
            for (size_t j = 0; j < i; j++) {
                if (out[j].kind == SEG_PARAM && out[j].len == g->len
                    && memcmp(pattern + out[j].off, pattern + g->off, g->len) == 0)
                    goto invalid;
            }
            nparams++;
        } else {
            if (!valid_literal(s, sl))
                goto invalid;
            *g = (seg){SEG_LITERAL, pos, sl};
        }
        pos += sl + 1;
    }
    if (nparams > ROUTE_MAX_PARAMS)
        goto invalid;
    *segs = out;
    *nsegs = n;
    return 0;
invalid:
    free(out);
    return -1;
}

/* Same segment kinds and same literals: the patterns match the same paths,
 * whatever their parameters are called. */
static bool
same_shape(const route *a, const char *b_pattern, const seg *b, size_t nb)
{
    if (a->nsegs != nb)
        return false;
    for (size_t i = 0; i < nb; i++) {
        if (a->segs[i].kind != b[i].kind)
            return false;
        if (b[i].kind == SEG_LITERAL
            && (a->segs[i].len != b[i].len
                || memcmp(a->pattern + a->segs[i].off, b_pattern + b[i].off, b[i].len) != 0))
            return false;
    }
    return true;
}

int
route_add(route_table *t, const char *method, const char *pattern, void *data)
{
    seg *segs;
    size_t nsegs;
    route *r;

    if (t == NULL || !valid_method(method) || parse_pattern(pattern, &segs, &nsegs) != 0)
        return -1;
    for (size_t i = 0; i < t->n; i++) {
        if (strcmp(t->routes[i].method, method) == 0
            && same_shape(&t->routes[i], pattern, segs, nsegs))
            goto fail;
    }
    if (t->n >= ROUTE_MAX_ROUTES)
        goto fail;
    r = &t->routes[t->n];
    r->pattern = strdup(pattern);
    if (r->pattern == NULL)
        goto fail;
    memcpy(r->method, method, strlen(method) + 1);
    r->data = data;
    r->segs = segs;
    r->nsegs = nsegs;
    t->n++;
    return 0;
fail:
    free(segs);
    return -1;
}

/* ---- matching --------------------------------------------------------------- */

typedef struct cursor {
    const char *p, *end;
    bool more; /* segments left */
} cursor;

static bool
next_segment(cursor *c, const char **s, size_t *n)
{
    const char *e;

    if (!c->more)
        return false;
    e = memchr(c->p, '/', (size_t)(c->end - c->p));
    if (e == NULL)
        e = c->end;
    *s = c->p;
    *n = (size_t)(e - c->p);
    if (e == c->end)
        c->more = false;
    else
        c->p = e + 1;
    return true;
}

static int
hex_digit(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Percent-decode src[0..n) into dst[cap]. Raw '/' (separators in a "*" tail)
 * are kept; an invalid escape, a decoded '/' or NUL, or a result that does not
 * fit give -1. '+' is not a space in a path. */
static int
decode(const char *src, size_t n, char *dst, size_t cap)
{
    size_t o = 0;

    for (size_t i = 0; i < n; i++) {
        char c = src[i];

        if (c == '%') {
            int hi = i + 2 < n ? hex_digit(src[i + 1]) : -1;
            int lo = hi >= 0 ? hex_digit(src[i + 2]) : -1;
            if (lo < 0)
                return -1;
            c = (char)(hi * 16 + lo);
            if (c == '/' || c == '\0')
                return -1;
            i += 2;
        }
        if (o + 1 >= cap)
            return -1;
        dst[o++] = c;
    }
    dst[o] = '\0';
    return 0;
}

/* Does r match path[0..len)? With m, also fill its parameters. */
static bool
match_route(const route *r, const char *path, size_t len, route_match *m)
{
    cursor c = {path + 1, path + len, len > 1};
    /* Decoded values nobody reads; not zeroed, which cost 256 bytes of
     * writes for every route tried. */
    char scratch[ROUTE_MAX_VALUE];
    size_t np = 0;

    for (size_t i = 0; i < r->nsegs; i++) {
        const seg *g = &r->segs[i];
        const char *s;
        size_t n;

        if (g->kind == SEG_TAIL) {
            s = c.more ? c.p : c.end;
            n = (size_t)(c.end - s);
            c.more = false;
        } else if (!next_segment(&c, &s, &n)) {
            return false;
        } else if (g->kind == SEG_LITERAL) {
            if (n != g->len || memcmp(s, r->pattern + g->off, n) != 0)
                return false;
            continue;
        }
        if (g->kind == SEG_TAIL) {
            /* The tail is handed on as sent, whole (m->tail) and, for
             * route_param, its first bytes: a proxy forwards it, so
             * neither its escapes nor its length are ours to judge. */
            if (m != NULL) {
                size_t k = n < ROUTE_MAX_VALUE - 1 ? n : ROUTE_MAX_VALUE - 1;
                memcpy(m->params[np].value, s, k);
                m->params[np].value[k] = '\0';
                m->tail = s;
                m->tail_len = n;
            }
        } else if (decode(s, n, m ? m->params[np].value : scratch, ROUTE_MAX_VALUE) != 0) {
            return false;
        }
        if (m != NULL) {
            memcpy(m->params[np].name, r->pattern + g->off, g->len);
            m->params[np].name[g->len] = '\0';
        }
        np++;
    }
    if (c.more)
        return false;
    if (m != NULL)
        m->nparams = np;
    return true;
}

/* > 0 when a is more specific than b: segment by segment from the left,
 * literal over parameter over "*"; a pattern that ends where the other has a
 * "*" (matching nothing) is the more specific. */
static int
compare_specificity(const route *a, const route *b)
{
    static const int rank[] = {[SEG_LITERAL] = 3, [SEG_PARAM] = 2, [SEG_TAIL] = 1};

    for (size_t i = 0;; i++) {
        int ra = i < a->nsegs ? rank[a->segs[i].kind] : 4;
        int rb = i < b->nsegs ? rank[b->segs[i].kind] : 4;
        if (ra != rb || (i >= a->nsegs && i >= b->nsegs))
            return ra - rb;
    }
}

/* How well route method rm serves request method m: 0 not at all. */
static int
method_rank(const char *rm, const char *m)
{
    if (strcmp(rm, m) == 0)
        return 3;
    if (strcmp(rm, "GET") == 0 && strcmp(m, "HEAD") == 0)
        return 2;
    return strcmp(rm, "*") == 0 ? 1 : 0;
}

/* "DELETE, GET, HEAD" from the methods of the routes matching the path; a
 * method that would not fit in allow is left out. */
static void
build_allow(const char **methods, size_t n, char *allow, size_t cap)
{
    size_t len = 0;
    bool get = false, head = false;

    for (size_t i = 0; i < n; i++) {
        get = get || strcmp(methods[i], "GET") == 0;
        head = head || strcmp(methods[i], "HEAD") == 0;
    }
    if (get && !head)
        methods[n++] = "HEAD";
    for (size_t i = 1; i < n; i++) { /* insertion sort: n is small */
        const char *x = methods[i];
        size_t j = i;
        for (; j > 0 && strcmp(methods[j - 1], x) > 0; j--)
            methods[j] = methods[j - 1];
        methods[j] = x;
    }
    allow[0] = '\0';
    for (size_t i = 0; i < n; i++) {
        size_t ml = strlen(methods[i]), sep = len > 0 ? 2 : 0;
        if ((i > 0 && strcmp(methods[i], methods[i - 1]) == 0) || len + sep + ml >= cap)
            continue;
        memcpy(allow + len, ", ", sep);
        memcpy(allow + len + sep, methods[i], ml + 1);
        len += sep + ml;
    }
}

route_result
route_find(const route_table *t, const char *method, const char *path, route_match *m)
{
    const char *others[ROUTE_MAX_ROUTES + 1]; /* methods of matching routes; +1 for HEAD */
    size_t nothers = 0, len;
    const route *best = NULL;
    int best_rank = 0;

    if (m == NULL)
        return ROUTE_NOT_FOUND;
    m->data = NULL;
    m->pattern = NULL;
    m->nparams = 0;
    m->allow[0] = '\0';
    m->tail = NULL;
    m->tail_len = 0;
    if (t == NULL || method == NULL || path == NULL || path[0] != '/')
        return ROUTE_NOT_FOUND;
    len = strnlen(path, ROUTE_MAX_PATH + 1);
    if (len > ROUTE_MAX_PATH || strstr(path, "//") != NULL)
        return ROUTE_NOT_FOUND;
    if (len > 1 && path[len - 1] == '/')
        len--;

    for (size_t i = 0; i < t->n; i++) {
        const route *r = &t->routes[i];
        int mr;
        int cmp;

        if (!match_route(r, path, len, NULL))
            continue;
        mr = method_rank(r->method, method);
        if (mr == 0) {
            others[nothers++] = r->method;
            continue;
        }
        cmp = best ? compare_specificity(r, best) : 1;
        if (cmp > 0 || (cmp == 0 && mr > best_rank)) {
            best = r;
            best_rank = mr;
        }
    }
    if (best == NULL) {
        if (nothers == 0)
            return ROUTE_NOT_FOUND;
        build_allow(others, nothers, m->allow, sizeof(m->allow));
        return ROUTE_METHOD_NOT_ALLOWED;
    }
    /* best matched above, so filling the parameters cannot fail. */
    (void)match_route(best, path, len, m);
    m->data = best->data;
    m->pattern = best->pattern;
    return ROUTE_FOUND;
}

const char *
route_param(const route_match *m, const char *name)
{
    if (m == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < m->nparams && i < ROUTE_MAX_PARAMS; i++) {
        if (strcmp(m->params[i].name, name) == 0)
            return m->params[i].value;
    }
    return NULL;
}
