/* web_edge: requests of an in-process event loop (web_edge.h): the same
 * pipeline as web_req.c's for civetweb's requests, with the request head
 * parsed by the loop, the body in its buffer and the answer collected in the
 * request's output buffer. */
#include "web_edge.h"

#include <stdlib.h>

#include "log.h"
#include "route.h"
#include "web_internal.h"

web_req *
web_edge_req_new(void)
{
    return calloc(1, sizeof(web_req));
}

void
web_edge_req_free(web_req *r)
{
    if (r == NULL)
        return;
    free(r->out);
    free(r);
}

const web_route *
web_edge_req_route(web_req *r)
{
    r->routed = route_find(r->srv->routes, r->method, r->path, &r->match) == ROUTE_FOUND;
    return r->routed ? r->match.data : NULL;
}

void
web_edge_req_cancel(web_req *r)
{
    web__req_end(r);
    __atomic_sub_fetch(&r->srv->inflight, 1, __ATOMIC_ACQ_REL);
}

void
web_edge_req_begin(web_req *r, web_server *s, const struct mg_request_info *ri, char *body,
                   size_t body_len)
{
    __atomic_add_fetch(&s->inflight, 1, __ATOMIC_ACQ_REL);
    web__req_setup(r, NULL, s, ri, false);
    r->body = body_len > 0 ? body : NULL;
    r->body_len = body_len;
    r->body_borrowed = true;
    /* The loop read the whole body before it began the request. */
    r->body_done = true;
}

bool
web_edge_req_prepare(web_req *r)
{
    return web__prepare(r);
}

bool
web_edge_req_deferred(const web_req *r)
{
    return r->deferred && !r->replied;
}

web_handler
web_edge_req_handler(const web_req *r)
{
    return r->route != NULL ? r->route->handler : NULL;
}

const char *
web_edge_req_output(const web_req *r, size_t *len, bool *keep)
{
    *len = r->out_len;
    *keep = !r->out_failed && web__keep_alive(r, r->status);
    return r->out_failed ? NULL : r->out;
}

void
web_edge_req_end(web_req *r)
{
    web_server *s = r->srv;
    if (!r->replied) {
        log_error("%s %s ended without a reply", r->method,
                  r->route != NULL ? r->route->pattern : "unmatched");
        web_reply_error(r, 500, "internal_error", "internal error");
    }
    web__account(s, r->route != NULL && (r->route->flags & WEB_QUIET) != 0, r->method,
                 r->route != NULL ? r->route->pattern : "unmatched", r->path, r->status,
                 r->start_ns, r->bytes_out, r->remote);
    web__req_end(r);
    r->out_len = 0;
    r->out_failed = false;
    __atomic_sub_fetch(&s->inflight, 1, __ATOMIC_ACQ_REL);
}
