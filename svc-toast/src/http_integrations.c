/* http_integrations: the integration routes under /api/toast/integrations
 * (create, list, read, change, delete, rotate-keys). Parse, check, seal the
 * secrets, call the store, render; no answer ever holds a secret. */
#include <stdio.h>
#include <string.h>

#include "creds.h"
#include "http.h"
#include "log.h"
#include "toast_api.h"
#include "util.h"

const char *
http_integration_id(web_req *r)
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
http_store_error(web_req *r, store_status st, const char *what)
{
    switch (st) {
    case ST_NOT_FOUND:
        return web_reply_error(r, 404, "not_found", "%s not found", what);
    case ST_CONFLICT:
        return web_reply_error(r, 409, "conflict",
                               "an integration for this toast_guid already exists");
    case ST_UNAVAILABLE:
        return web_reply_error(r, 503, "unavailable", "the database is unavailable; try again");
    default:
        return web_reply_error(r, 500, "internal", "reading or writing %s failed", what);
    }
}

static int
body_missing(web_req *r)
{
    js_err je;
    js_fail(&je, "", "request body must be a JSON object");
    return web_reply_invalid(r, &je);
}

/* Seal the given secrets of in; the tokens go in buf. -1 after answering. */
static int
seal_all(web_req *r, const integ_input *in, char buf[3][CREDS_TOKEN_MAX], store_sealed *sealed)
{
    static const integ_field secret[3] = {INTEG_API_CLIENT_SECRET, INTEG_PASSWORD,
                                          INTEG_TOTP_SECRET};
    toast *t = toast_of(web_app(r));
    for (int k = 0; k < 3; k++) {
        sealed->tok[k] = NULL;
        const char *v = in->value[secret[k]];
        if (!v)
            continue;
        if (creds_seal(&t->keys, v, buf[k], CREDS_TOKEN_MAX) != 0) {
            web_reply_error(r, 500, "internal", "encrypting %s failed",
                            integ_field_name(secret[k]));
            return -1;
        }
        sealed->tok[k] = buf[k];
    }
    return 0;
}

int
http_integrations_create(web_req *r)
{
    json_object *body = web_body_json(r), *out = NULL;
    integ_input in;
    store_sealed sealed;
    char buf[3][CREDS_TOKEN_MAX];
    js_err je;
    if (!body)
        return body_missing(r);
    if (integ_parse(body, true, &in, &je) != JS_OK)
        return web_reply_invalid(r, &je);
    if (seal_all(r, &in, buf, &sealed) != 0)
        return 0;
    store_status st = store_integ_create(toast_store(toast_of(web_app(r))), &in, &sealed, &out);
    if (st != ST_OK)
        return http_store_error(r, st, "integration");
    json_object *id = NULL;
    json_object_object_get_ex(out, "id", &id);
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("integration_id", json_object_get_string(id))),
            "integration created");
    return web_reply_json(r, 201, out);
}

static bool
query_ok(web_req *r, const char *name, char *buf, size_t cap, const char **out,
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

int
http_integrations_list(web_req *r)
{
    long limit, offset;
    char cb[64], sb[32];
    const char *client = NULL, *status = NULL;
    json_object *page = NULL;
    if (!web_page(r, &limit, &offset)
        || !query_ok(r, "client_id", cb, sizeof(cb), &client, util_uuid_valid, "must be a UUID")
        || !query_ok(r, "status", sb, sizeof(sb), &status, integ_status_known,
                     "must be one of active, paused, error, disabled"))
        return 0;
    store_status st =
        store_integ_list(toast_store(toast_of(web_app(r))), client, status, limit, offset, &page);
    return st == ST_OK ? web_reply_json(r, 200, page) : http_store_error(r, st, "integrations");
}

int
http_integrations_get(web_req *r)
{
    const char *id = http_integration_id(r);
    json_object *out = NULL;
    char what[64];
    if (!id)
        return 0;
    store_status st = store_integ_get(toast_store(toast_of(web_app(r))), id, &out);
    snprintf(what, sizeof(what), "integration %s", id);
    return st == ST_OK ? web_reply_json(r, 200, out) : http_store_error(r, st, what);
}

int
http_integrations_patch(web_req *r)
{
    const char *id = http_integration_id(r);
    json_object *body = web_body_json(r), *out = NULL;
    toast *t = toast_of(web_app(r));
    integ_input in;
    store_sealed sealed;
    char buf[3][CREDS_TOKEN_MAX], what[64];
    js_err je;
    if (!id)
        return 0;
    if (!body)
        return body_missing(r);
    if (integ_parse(body, false, &in, &je) != JS_OK)
        return web_reply_invalid(r, &je);
    if (seal_all(r, &in, buf, &sealed) != 0)
        return 0;
    store_status st = store_integ_patch(toast_store(t), id, &in, &sealed, &out);
    snprintf(what, sizeof(what), "integration %s", id);
    if (st != ST_OK)
        return http_store_error(r, st, what);
    /* A cached login made with the old credentials is not used again. */
    if (in.has[INTEG_API_CLIENT_ID] || in.has[INTEG_API_CLIENT_SECRET])
        toast_api_forget(t->api, id);
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("integration_id", id)), "integration changed");
    return web_reply_json(r, 200, out);
}

int
http_integrations_delete(web_req *r)
{
    const char *id = http_integration_id(r);
    toast *t = toast_of(web_app(r));
    char what[64];
    if (!id)
        return 0;
    store_status st = store_integ_delete(toast_store(t), id);
    snprintf(what, sizeof(what), "integration %s", id);
    if (st != ST_OK)
        return http_store_error(r, st, what);
    toast_api_forget(t->api, id);
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("integration_id", id)), "integration deleted");
    return web_reply(r, 204, NULL, NULL, 0, NULL);
}

static int
reseal(const char *token, char *out, size_t cap, void *ud)
{
    return creds_reseal(ud, token, out, cap);
}

int
http_integrations_rotate(web_req *r)
{
    toast *t = toast_of(web_app(r));
    int n = 0;
    store_status st = store_integ_rotate(toast_store(t), reseal, &t->keys, &n);
    if (st == ST_ERROR)
        return web_reply_error(r, 500, "internal",
                               "a stored secret could not be decrypted with ENCRYPTION_KEYS; "
                               "nothing was changed");
    if (st != ST_OK)
        return http_store_error(r, st, "integrations");
    log_msg(LOGL_INFO, LOG_FIELDS(LF_INT("secrets", n)), "credentials re-encrypted");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "rotated", json_object_new_int(n));
    json_object_object_add(o, "keys", json_object_new_int((int)t->keys.n));
    return web_reply_json(r, 200, o);
}
