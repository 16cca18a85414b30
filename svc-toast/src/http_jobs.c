/* http_jobs: Toast jobs created through svc-automation (jobs.create): POST
 * /jobs (any Toast job type, for an integration) and POST
 * /integrations/{id}/sync-menus (a menu_sync job). 202 with the job. */
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "util.h"

/* The Toast job types (DESIGN section 5). */
static const char *const toast_job_types[] = {
    "menu_build",    "menu_sync",    "item_create", "item_update",
    "modifier_sync", "health_check", "golden_copy", NULL};

/* The client of integration id into client (0), or an answer sent (-1). */
static int
client_of(web_req *r, const char *id, char *client, size_t cap)
{
    json_object *integ = NULL, *c = NULL;
    char what[64];
    store_status st = store_integ_get(toast_store(toast_of(web_app(r))), id, &integ);
    snprintf(what, sizeof(what), "integration %s", id);
    if (st != ST_OK) {
        http_store_error(r, st, what);
        return -1;
    }
    json_object_object_get_ex(integ, "client_id", &c);
    snprintf(client, cap, "%s", json_object_get_string(c));
    json_object_put(integ);
    return 0;
}

/* Send body (taken) to jobs.create and answer 202 with the job. */
static int
create(web_req *r, json_object *body)
{
    json_object *job = NULL;
    char err[400];
    int rc = toast_create_job(toast_of(web_app(r)), body, &job, err, sizeof(err));
    if (rc == 400) {
        js_err je = {.field = ""};
        util_strlcpy(je.message, err, sizeof(je.message));
        return web_reply_invalid(r, &je);
    }
    if (rc != 0)
        return web_reply_error(r, rc, web_status_code_name(rc), "%s", err);
    json_object *id = NULL, *type = NULL;
    json_object_object_get_ex(job, "id", &id);
    json_object_object_get_ex(job, "job_type", &type);
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("job_id", json_object_get_string(id)),
                       LF_STR("job_type", json_object_get_string(type))),
            "Toast job created");
    return web_reply_json(r, 202, job);
}

int
http_sync_menus(web_req *r)
{
    const char *id = http_integration_id(r);
    json_object *body = web_body_json(r);
    char client[64];
    bool force = false;
    js_err je;
    static const char *const known[] = {"force", NULL};
    if (!id)
        return 0;
    if (body
        && (js_require_object(body, &je) != JS_OK || js_reject_unknown(body, known, &je) != JS_OK
            || js_get_bool(body, "force", false, &force, &je) == JS_INVALID))
        return web_reply_invalid(r, &je);
    if (client_of(r, id, client, sizeof(client)) != 0)
        return 0;
    json_object *req = json_object_new_object(), *conf = json_object_new_object();
    json_object_object_add(conf, "integration_id", json_object_new_string(id));
    json_object_object_add(conf, "force", json_object_new_boolean(force));
    json_object_object_add(req, "client_id", json_object_new_string(client));
    json_object_object_add(req, "job_type", json_object_new_string("menu_sync"));
    json_object_object_add(req, "config", conf);
    return create(r, req);
}

int
http_jobs_create(web_req *r)
{
    json_object *body = web_body_json(r), *config = NULL, *req = NULL;
    const char *id = NULL, *type = NULL;
    char client[64];
    js_err je;
    if (!body) {
        js_fail(&je, "", "request body must be a JSON object");
        return web_reply_invalid(r, &je);
    }
    if (js_require_object(body, &je) != JS_OK
        || js_get_uuid(body, "integration_id", true, &id, &je) != JS_OK
        || js_get_enum(body, "job_type", true, toast_job_types, &type, &je) != JS_OK
        || js_get_object(body, "config", false, &config, &je) == JS_INVALID)
        return web_reply_invalid(r, &je);
    if (json_object_object_get_ex(body, "client_id", NULL)) {
        js_fail(&je, "client_id", "field 'client_id': taken from the integration; leave it out");
        return web_reply_invalid(r, &je);
    }
    if (client_of(r, id, client, sizeof(client)) != 0)
        return 0;
    /* The rest (priority, scheduled_at, max_attempts, depends_on,
     * idempotency_key) is svc-automation's to check. */
    if (json_object_deep_copy(body, &req, NULL) != 0)
        return web_reply_error(r, 500, "internal", "out of memory");
    json_object_object_del(req, "integration_id");
    json_object_object_add(req, "client_id", json_object_new_string(client));
    json_object *conf = NULL;
    json_object_object_get_ex(req, "config", &conf);
    if (!conf || !json_object_is_type(conf, json_type_object)) {
        conf = json_object_new_object();
        json_object_object_add(req, "config", conf);
    }
    json_object_object_add(conf, "integration_id", json_object_new_string(id));
    return create(r, req);
}
