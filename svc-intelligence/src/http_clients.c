/* http_clients: GET and POST /clients, GET and PATCH /clients/{id}, and what
 * every handler shares. */
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "http.h"
#include "log.h"
#include "util.h"

const char *
http_client_id(web_req *r)
{
    const char *id = web_param(r, "id");
    if (!id || !util_uuid_valid(id)) {
        js_err je;
        js_fail(&je, "id", "id: must be a UUID");
        web_reply_invalid(r, &je);
        return NULL;
    }
    return id;
}

int
http_store_error(web_req *r, store_status st, const char *what, const char *conflict)
{
    switch (st) {
    case ST_NOT_FOUND:
        return web_reply_error(r, 404, "not_found", "%s not found", what);
    case ST_CONFLICT:
        return web_reply_error(r, 409, "conflict", "%s", conflict ? conflict : "conflict");
    case ST_UNAVAILABLE:
        return web_reply_error(r, 503, "unavailable", "the database is unavailable; try again");
    default:
        return web_reply_error(r, 500, "internal", "reading or writing %s failed", what);
    }
}

int
http_body_missing(web_req *r)
{
    js_err je;
    js_fail(&je, "", "request body must be a JSON object");
    return web_reply_invalid(r, &je);
}

bool
http_query(web_req *r, const char *name, char *buf, size_t cap, const char **out,
           bool (*check)(const char *), const char *why)
{
    char big[1024];
    *out = web_query(r, name, buf, cap);
    if ((*out && check(*out)) || (!*out && !web_query(r, name, big, sizeof(big))))
        return true;
    js_err je;
    js_fail(&je, name, "query parameter '%s': %s", name, why);
    web_reply_invalid(r, &je);
    return false;
}

long long
http_now_ms(void)
{
    return (long long)util_now_ms();
}

bool
http_sees_money(web_req *r)
{
    /* The gateway forwards the caller's role; a daemon calling with the
     * internal token has none and sees everything. view_financials belongs
     * to manager and admin (README "Who may do what"). */
    const char *role = web_header(r, "X-User-Role");
    return !role || strcmp(role, "admin") == 0 || strcmp(role, "manager") == 0;
}

/* Drop monthly_revenue from a client (or a page of them) for a caller
 * without view_financials. */
static json_object *
hide_money(web_req *r, json_object *o)
{
    json_object *items = NULL;
    if (http_sees_money(r) || !o)
        return o;
    if (json_object_object_get_ex(o, "items", &items)) {
        for (size_t i = 0; i < json_object_array_length(items); i++)
            json_object_object_del(json_object_array_get_idx(items, i), "monthly_revenue");
    } else {
        json_object_object_del(o, "monthly_revenue");
    }
    return o;
}

/* A body that sets monthly_revenue needs view_financials: false after
 * answering 403. */
static bool
money_allowed(web_req *r, json_object *body)
{
    if (http_sees_money(r) || !json_object_object_get_ex(body, "monthly_revenue", NULL))
        return true;
    web_reply_error(r, 403, "forbidden", "setting monthly_revenue needs view_financials");
    return false;
}

static store *
store_of(web_req *r)
{
    return intel_of(web_app(r))->store;
}

int
http_clients_create(web_req *r)
{
    json_object *body = web_body_json(r), *out = NULL;
    field_values v;
    js_err je;
    if (!body)
        return http_body_missing(r);
    if (!money_allowed(r, body))
        return 0;
    if (client_parse(body, true, http_now_ms() / 1000, &v, &je) != JS_OK)
        return web_reply_invalid(r, &je);
    store_status st = store_client_create(store_of(r), &v, &out);
    if (st != ST_OK)
        return http_store_error(r, st, "client", NULL);
    json_object *id = NULL;
    json_object_object_get_ex(out, "id", &id);
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("client_id", json_object_get_string(id))),
            "client created");
    return web_reply_json(r, 201, hide_money(r, out));
}

int
http_clients_list(web_req *r)
{
    long limit, offset;
    char sb[32], pb[40];
    const char *status = NULL, *plan = NULL;
    json_object *page = NULL;
    if (!web_page(r, &limit, &offset)
        || !http_query(r, "status", sb, sizeof(sb), &status, client_status_known,
                       "must be one of active, onboarding, paused, churned")
        || !http_query(r, "plan", pb, sizeof(pb), &plan, field_slug_valid,
                       "must be a plan name (1 to 32 of a-z, 0-9, '_' and '-')"))
        return 0;
    store_status st = store_client_list(store_of(r), status, plan, limit, offset, &page);
    return st == ST_OK ? web_reply_json(r, 200, hide_money(r, page))
                       : http_store_error(r, st, "clients", NULL);
}

int
http_clients_get(web_req *r)
{
    const char *id = http_client_id(r);
    json_object *out = NULL;
    char what[64];
    if (!id)
        return 0;
    store_status st = store_client_get(store_of(r), id, &out);
    snprintf(what, sizeof(what), "client %s", id);
    return st == ST_OK ? web_reply_json(r, 200, hide_money(r, out))
                       : http_store_error(r, st, what, NULL);
}

int
http_clients_patch(web_req *r)
{
    const char *id = http_client_id(r);
    json_object *body = web_body_json(r), *out = NULL;
    field_values v;
    char what[64];
    js_err je;
    if (!id)
        return 0;
    if (!body)
        return http_body_missing(r);
    if (!money_allowed(r, body))
        return 0;
    if (client_parse(body, false, http_now_ms() / 1000, &v, &je) != JS_OK)
        return web_reply_invalid(r, &je);
    store_status st = store_client_patch(store_of(r), id, &v, &out);
    snprintf(what, sizeof(what), "client %s", id);
    if (st != ST_OK)
        return http_store_error(r, st, what, NULL);
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("client_id", id)), "client changed");
    return web_reply_json(r, 200, hide_money(r, out));
}
