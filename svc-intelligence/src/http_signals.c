/* http_signals: POST and GET /clients/{id}/<kind> for the five kinds of
 * signal (activity, tickets, payments, projects, quotes); the route's ud is
 * the kind's sig_spec. */
#include <stdio.h>

#include "http.h"
#include "log.h"
#include "sig.h"

static const sig_spec *
spec_of(web_req *r)
{
    return web_route_ud(r);
}

int
http_signal_create(web_req *r)
{
    const sig_spec *k = spec_of(r);
    const char *id = http_client_id(r);
    json_object *body = web_body_json(r), *out = NULL;
    field_values v;
    char what[64], conflict[160];
    js_err je;
    if (!id)
        return 0;
    if (!body)
        return http_body_missing(r);
    if (sig_parse(k->kind, body, http_now_ms() / 1000, &v, &je) != JS_OK)
        return web_reply_invalid(r, &je);
    store_status st = store_signal_create(intel_of(web_app(r))->store, k->kind, id, &v, &out);
    if (st != ST_OK) {
        snprintf(what, sizeof(what), "client %s", id);
        snprintf(conflict, sizeof(conflict), "this client already has a %s with that %s", k->what,
                 k->kind == SIG_PAYMENTS ? "invoice" : "key");
        return http_store_error(r, st, what, conflict);
    }
    log_msg(LOGL_DEBUG, LOG_FIELDS(LF_STR("client_id", id), LF_STR("signal", k->path)),
            "signal recorded");
    return web_reply_json(r, 201, out);
}

int
http_signal_list(web_req *r)
{
    const sig_spec *k = spec_of(r);
    const char *id = http_client_id(r);
    long limit, offset;
    json_object *page = NULL;
    char what[64];
    if (!id || !web_page(r, &limit, &offset))
        return 0;
    store_status st =
        store_signal_list(intel_of(web_app(r))->store, k->kind, id, limit, offset, &page);
    snprintf(what, sizeof(what), "client %s", id);
    return st == ST_OK ? web_reply_json(r, 200, page) : http_store_error(r, st, what, NULL);
}
