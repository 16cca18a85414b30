/* web_info: what a handler (or the before hook) reads from and adds to a
 * request: method, path, parameters, headers, query, body, the headers added
 * to its reply and the caller's context pointer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <civetweb.h>

#include "log.h"
#include "util.h"
#include "web_internal.h"

const char *
web_method(const web_req *r)
{
    return r->method;
}

const char *
web_path(const web_req *r)
{
    return r->path;
}

const char *
web_query_string(const web_req *r)
{
    return r->ri->query_string != NULL ? r->ri->query_string : "";
}

const char *
web_route_pattern(const web_req *r)
{
    return r->route != NULL ? r->route->pattern : "unmatched";
}

const char *
web_request_id(const web_req *r)
{
    return r->request_id;
}

const char *
web_remote_addr(const web_req *r)
{
    return r->remote;
}

void *
web_app(const web_req *r)
{
    return r->srv->app;
}

void *
web_route_ud(const web_req *r)
{
    return r->route != NULL ? r->route->ud : NULL;
}

const char *
web_param(const web_req *r, const char *name)
{
    return route_param(&r->match, name);
}

const char *
web__header(const web_req *r, const char *name)
{
    for (int i = 0; i < r->ri->num_headers; i++)
        if (strcasecmp(r->ri->http_headers[i].name, name) == 0)
            return r->ri->http_headers[i].value;
    return NULL;
}

const char *
web_header(const web_req *r, const char *name)
{
    return web__header(r, name);
}

void
web_each_header(const web_req *r, void (*fn)(const char *name, const char *value, void *ud),
                void *ud)
{
    for (int i = 0; i < r->ri->num_headers; i++)
        fn(r->ri->http_headers[i].name, r->ri->http_headers[i].value, ud);
}

const char *
web_query(const web_req *r, const char *name, char *buf, size_t cap)
{
    const char *q = r->ri->query_string;

    /* mg_get_var: -1 absent, -2 does not fit; it decodes '+' as a space */
    if (q == NULL || cap == 0 || mg_get_var(q, strlen(q), name, buf, cap) < 0)
        return NULL;
    return buf;
}

json_object *
web_body_json(const web_req *r)
{
    return r->json;
}

const char *
web_body(const web_req *r, size_t *len)
{
    *len = r->body_len;
    return r->body_len > 0 ? r->body : NULL;
}

/* One pagination parameter into *out (its default when absent). Returns false
 * after answering 400. */
static bool
web_page_param(web_req *r, const char *name, long def, long min, long max, long *out)
{
    char buf[32], big[2048];

    *out = def;
    const char *v = web_query(r, name, buf, sizeof(buf));
    if (v == NULL && web_query(r, name, big, sizeof(big)) == NULL)
        return true; /* absent (a value too long for buf is present, and wrong) */
    if (v != NULL && util_parse_long(v, min, max, out) == 0)
        return true;
    js_err err;
    js_fail(&err, name, "query parameter '%s': must be an integer between %ld and %ld", name, min,
            max);
    web_reply_invalid(r, &err);
    return false;
}

bool
web_page(web_req *r, long *limit, long *offset)
{
    return web_page_param(r, "limit", WEB_PAGE_DEFAULT, 1, WEB_PAGE_MAX, limit)
           && web_page_param(r, "offset", 0, 0, 10000000, offset);
}

/* ---- for the before hook ---- */

/* RFC 9110 section 5.6.2: a header name is a token. */
static bool
web_is_token(const char *s)
{
    static const char extra[] = "!#$%&'*+-.^_`|~";

    if (*s == '\0')
        return false;
    for (; *s != '\0'; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')
              || strchr(extra, *s) != NULL))
            return false;
    return true;
}

static bool
web_is_field_value(const char *s)
{
    for (; *s != '\0'; s++)
        if (((unsigned char)*s < 0x20 && *s != '\t') || *s == 0x7f)
            return false;
    return true;
}

void
web_add_header(web_req *r, const char *name, const char *value)
{
    if (name == NULL || value == NULL || !web_is_token(name) || !web_is_field_value(value)) {
        log_error("invalid response header left out");
        return;
    }
    size_t room = sizeof(r->added) - r->added_len, nl = strlen(name), vl = strlen(value);
    if (nl + vl + 4 >= room) {
        r->added[r->added_len] = '\0';
        log_error("no room for response header %s: left out", name);
        return;
    }
    char *p = r->added + r->added_len;
    memcpy(p, name, nl);
    memcpy(p + nl, ": ", 2);
    memcpy(p + nl + 2, value, vl);
    memcpy(p + nl + 2 + vl, "\r\n", 3); /* with the NUL */
    r->added_len += nl + vl + 4;
}

void
web_set_ctx(web_req *r, void *ctx, void (*release)(void *ctx))
{
    if (r->ctx != NULL && r->ctx != ctx && r->ctx_release != NULL)
        r->ctx_release(r->ctx);
    r->ctx = ctx;
    r->ctx_release = release;
}

void *
web_ctx(const web_req *r)
{
    return r->ctx;
}

bool
web_is_upgrade(const web_req *r)
{
    return r->upgrade;
}

int
web_defer(web_req *r)
{
    r->deferred = true;
    return 1;
}
