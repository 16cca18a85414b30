/* http_system: GET /system/health (syshealth.c) and POST /scores/recompute
 * (recompute.c). */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "http.h"
#include "log.h"
#include "recompute.h"
#include "syshealth.h"
#include "util.h"

/* Read once, at the first report: the configuration does not change. */
static pthread_mutex_t cfg_mu = PTHREAD_MUTEX_INITIALIZER;
static syshealth_cfg sh_cfg;
static bool sh_loaded;

static const syshealth_cfg *
config_of(const intel *s)
{
    pthread_mutex_lock(&cfg_mu);
    if (!sh_loaded) {
        syshealth_cfg_load(app_cfg(s->app), &sh_cfg);
        sh_loaded = true;
    }
    pthread_mutex_unlock(&cfg_mu);
    return &sh_cfg;
}

int
http_system_health(web_req *r)
{
    intel *s = intel_of(web_app(r));
    syshealth_deps d = {app_db(s->app), app_bus(s->app), s->store, config_of(s)};
    json_object *o = syshealth_report(&d, http_now_ms());
    if (!o)
        return web_reply_error(r, 500, "internal", "the system health report failed");
    return web_reply_json(r, 200, o);
}

static int
by_text(const void *a, const void *b)
{
    return strcasecmp(json_object_get_string(*(json_object *const *)a),
                      json_object_get_string(*(json_object *const *)b));
}

/* client_ids: absent (*ids NULL), or 1..RECOMPUTE_MAX_IDS distinct UUIDs. */
static bool
parse_ids(json_object *body, json_object **ids, js_err *je)
{
    static const char *const known[] = {"client_ids", NULL};
    json_object *arr = NULL;
    *ids = NULL;
    if (!body)
        return true;
    if (js_require_object(body, je) != JS_OK || js_reject_unknown(body, known, je) != JS_OK)
        return false;
    js_status st = js_get_array(body, "client_ids", false, RECOMPUTE_MAX_IDS, &arr, je);
    if (st == JS_ABSENT)
        return true;
    if (st != JS_OK)
        return false;
    size_t n = json_object_array_length(arr);
    if (n == 0) {
        js_fail(je, "client_ids", "client_ids: must hold at least one id");
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(v, json_type_string)
            || !util_uuid_valid(json_object_get_string(v))) {
            js_fail(je, "client_ids", "client_ids[%zu]: must be a UUID", i);
            return false;
        }
    }
    /* Sorted, a repeated id sits next to itself (in either case: a UUID's
     * hex digits are case-insensitive). */
    json_object_array_sort(arr, by_text);
    for (size_t i = 1; i < n; i++)
        if (strcasecmp(json_object_get_string(json_object_array_get_idx(arr, i - 1)),
                       json_object_get_string(json_object_array_get_idx(arr, i)))
            == 0) {
            js_fail(je, "client_ids", "client_ids: an id is listed twice");
            return false;
        }
    *ids = arr;
    return true;
}

int
http_scores_recompute(web_req *r)
{
    intel *s = intel_of(web_app(r));
    json_object *ids = NULL;
    recompute_result res;
    js_err je;
    if (!parse_ids(web_body_json(r), &ids, &je))
        return web_reply_invalid(r, &je);
    store_status st = recompute_run(s, ids, recompute_workers(s), http_now_ms(), &res);
    if (st != ST_OK)
        return http_store_error(r, st, "clients", NULL);
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_INT("recomputed", res.recomputed), LF_INT("failed", res.failed),
                       LF_INT("duration_ms", res.duration_ms)),
            "health scores recomputed");
    json_object *o = json_object_new_object();
    json_object_object_add(o, "recomputed", json_object_new_int64(res.recomputed));
    json_object_object_add(o, "failed", json_object_new_int64(res.failed));
    json_object_object_add(o, "not_found", json_object_new_int64(res.not_found));
    json_object_object_add(o, "duration_ms", json_object_new_int64(res.duration_ms));
    return web_reply_json(r, 200, o);
}
