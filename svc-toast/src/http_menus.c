/* http_menus: the menu half's routes (menu_routes, toast.h): the menu
 * summary and the golden copies. Parse, call golden.c or the store, render. */
#include <stdio.h>
#include <string.h>

#include "golden.h"
#include "http.h"
#include "store_menus.h"

#define P "/api/toast"

static int
reply_golden(web_req *r, const golden_err *e)
{
    return web_reply_error(r, e->status, e->code, "%s", e->message);
}

/* The body (may be absent) as an object with only the known fields; NULL
 * after answering 400 (*ok false). */
static json_object *
body_of(web_req *r, const char *const *known, bool *ok)
{
    json_object *b = web_body_json(r);
    js_err je;
    *ok = true;
    if (!b)
        return NULL;
    if (js_require_object(b, &je) != JS_OK || js_reject_unknown(b, known, &je) != JS_OK) {
        web_reply_invalid(r, &je);
        *ok = false;
        return NULL;
    }
    return b;
}

static int
http_menus_summary(web_req *r)
{
    const char *id = http_integration_id(r);
    json_object *out = NULL;
    char what[64];
    if (!id)
        return 0;
    store_status st = store_menus_summary(app_db(toast_of(web_app(r))->app), id, &out);
    if (st != ST_OK) {
        snprintf(what, sizeof(what), "integration %s", id);
        return http_store_error(r, st, what);
    }
    return web_reply_json(r, 200, out);
}

static int
http_golden_capture(web_req *r)
{
    static const char *const known[] = {"note", NULL};
    const char *id = http_integration_id(r), *note = NULL;
    json_object *out = NULL;
    golden_err e;
    js_err je;
    bool ok;
    if (!id)
        return 0;
    json_object *b = body_of(r, known, &ok);
    if (!ok)
        return 0;
    if (b && js_get_string(b, "note", false, 0, 1000, &note, &je) == JS_INVALID)
        return web_reply_invalid(r, &je);
    if (golden_capture(toast_of(web_app(r)), id, note, &out, &e) != 0)
        return reply_golden(r, &e);
    return web_reply_json(r, 201, out);
}

static int
http_golden_compare(web_req *r)
{
    static const char *const known[] = {"baseline_id", NULL};
    const char *id = http_integration_id(r), *baseline = NULL;
    json_object *out = NULL;
    golden_err e;
    js_err je;
    bool ok;
    if (!id)
        return 0;
    json_object *b = body_of(r, known, &ok);
    if (!ok)
        return 0;
    if (b && js_get_uuid(b, "baseline_id", false, &baseline, &je) == JS_INVALID)
        return web_reply_invalid(r, &je);
    if (golden_compare(toast_of(web_app(r)), id, baseline, &out, &e) != 0)
        return reply_golden(r, &e);
    return web_reply_json(r, 200, out);
}

const web_route menu_routes[] = {
    {"GET", P "/integrations/{id}/menus", http_menus_summary, 0, NULL},
    {"POST", P "/integrations/{id}/golden-copy/capture", http_golden_capture, WEB_JSON_BODY, NULL},
    {"POST", P "/integrations/{id}/golden-copy/compare", http_golden_compare, WEB_JSON_BODY, NULL},
};
const size_t menu_nroutes = sizeof(menu_routes) / sizeof(menu_routes[0]);
