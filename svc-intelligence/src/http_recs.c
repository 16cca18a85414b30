/* http_recs: GET /recommendations, GET /recommendations/{id}, POST
 * /recommendations/{id}/accept (creates the suggested job through
 * svc-automation first: when that fails the recommendation stays open) and
 * POST /recommendations/{id}/decline {reason}. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "http.h"
#include "log.h"
#include "recs_job.h"
#include "recs_rules.h"
#include "store_recs.h"
#include "util.h"

#define WHO_MAX 200 /* bytes of X-User-Id kept as decided_by */

static const char *const rec_statuses[] = {"open", "accepted", "declined", NULL};

static store *
store_of(web_req *r)
{
    return intel_of(web_app(r))->store;
}

static bool
status_known(const char *s)
{
    for (size_t i = 0; rec_statuses[i]; i++)
        if (strcmp(s, rec_statuses[i]) == 0)
            return true;
    return false;
}

static bool
type_known(const char *s)
{
    return recs_type_of(s) != RECS_NTYPES;
}

static const char *
field_str(json_object *o, const char *name)
{
    json_object *v = NULL;
    return json_object_object_get_ex(o, name, &v) && v ? json_object_get_string(v) : NULL;
}

int
http_recs_list(web_req *r)
{
    long limit, offset;
    char cb[64], sb[32], tb[40];
    const char *client = NULL, *status = NULL, *type = NULL;
    json_object *page = NULL;
    if (!web_page(r, &limit, &offset)
        || !http_query(r, "client_id", cb, sizeof(cb), &client, util_uuid_valid, "must be a UUID")
        || !http_query(r, "status", sb, sizeof(sb), &status, status_known,
                       "must be one of open, accepted, declined")
        || !http_query(r, "type", tb, sizeof(tb), &type, type_known,
                       "must be a recommendation type (check_integration, review_automation, "
                       "escalate_account, schedule_check_in, follow_up_invoices, "
                       "review_open_tickets, propose_menu_work)"))
        return 0;
    store_status st = store_rec_list(store_of(r), client, status, type, limit, offset, &page);
    return st == ST_OK ? web_reply_json(r, 200, page)
                       : http_store_error(r, st, "recommendations", NULL);
}

/* The recommendation of the path: 0 with *rec, or -1 after answering. */
static int
rec_of(web_req *r, const char **id, json_object **rec)
{
    char what[80];
    *id = http_client_id(r);
    if (!*id)
        return -1;
    store_status st = store_rec_get(store_of(r), *id, rec);
    if (st == ST_OK)
        return 0;
    snprintf(what, sizeof(what), "recommendation %s", *id);
    http_store_error(r, st, what, NULL);
    return -1;
}

int
http_recs_get(web_req *r)
{
    const char *id = NULL;
    json_object *rec = NULL;
    return rec_of(r, &id, &rec) == 0 ? web_reply_json(r, 200, rec) : 0;
}

static bool
is_open(json_object *rec)
{
    const char *status = field_str(rec, "status");
    return status && strcmp(status, "open") == 0;
}

/* 409: only an open recommendation can be decided. Puts rec. */
static int
not_open(web_req *r, const char *id, json_object *rec, const char *verb)
{
    const char *status = field_str(rec, "status"), *at = field_str(rec, "decided_at");
    int rc = web_reply_error(r, 409, "conflict",
                             "recommendation %s was %s already%s%s; only an open one can be %s", id,
                             status ? status : "decided", at ? " at " : "", at ? at : "", verb);
    json_object_put(rec);
    return rc;
}

/* The caller named by the gateway (X-User-Id), or NULL. */
static const char *
caller(web_req *r)
{
    const char *who = web_header(r, "X-User-Id");
    if (!who || !who[0] || strlen(who) > WHO_MAX || !util_utf8_valid(who, strlen(who), NULL))
        return NULL;
    return who;
}

static void
now_rfc3339(char at[UTIL_RFC3339_LEN + 1])
{
    long long ms = http_now_ms();
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    util_rfc3339(&ts, at);
}

/* Record the decision; a recommendation decided meanwhile is a 409. */
static int
decide(web_req *r, const char *id, store_decision *d, json_object *job, const char *verb)
{
    char at[UTIL_RFC3339_LEN + 1], what[80];
    json_object *rec = NULL;
    now_rfc3339(at);
    d->at = at;
    d->by = caller(r);
    store_status st = store_rec_decide(store_of(r), id, d, &rec);
    if (st == ST_CONFLICT) {
        if (job)
            log_msg(LOGL_WARN,
                    LOG_FIELDS(LF_STR("recommendation_id", id), LF_STR("job_id", d->job_id)),
                    "recommendation decided meanwhile; its job was created");
        json_object_put(job);
        return not_open(r, id, rec, verb);
    }
    if (st != ST_OK) {
        json_object_put(job);
        snprintf(what, sizeof(what), "recommendation %s", id);
        return http_store_error(r, st, what, NULL);
    }
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("recommendation_id", id), LF_STR("status", d->status),
                       LF_STR("job_id", d->job_id)),
            "recommendation decided");
    if (strcmp(d->status, "declined") == 0)
        return web_reply_json(r, 200, rec);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "recommendation", rec);
    json_object_object_add(o, "job", job);
    return web_reply_json(r, 200, o);
}

/* The body of jobs.create for the suggested action. The idempotency key
 * makes a retried accept (after a failure between creating the job and
 * recording it) find the same job instead of creating a second. */
static json_object *
job_request(json_object *rec, json_object *action, long long priority)
{
    char key[80];
    json_object *body = json_object_new_object(), *config = NULL;
    snprintf(key, sizeof(key), "recommendation-%s", field_str(rec, "id"));
    json_object_object_get_ex(action, "config", &config);
    json_object_object_add(body, "client_id", json_object_new_string(field_str(rec, "client_id")));
    json_object_object_add(body, "job_type", json_object_new_string(field_str(action, "job_type")));
    json_object_object_add(body, "config",
                           config ? json_object_get(config) : json_object_new_object());
    if (priority > 0)
        json_object_object_add(body, "priority", json_object_new_int((int)priority));
    json_object_object_add(body, "idempotency_key", json_object_new_string(key));
    return body;
}

int
http_recs_accept(web_req *r)
{
    static const char *const known[] = {"priority", NULL};
    json_object *body = web_body_json(r), *rec = NULL, *action = NULL, *job = NULL;
    const char *id = NULL;
    long long priority = 0;
    char err[400];
    js_err je;
    if (body
        && (js_require_object(body, &je) != JS_OK || js_reject_unknown(body, known, &je) != JS_OK
            || js_get_int(body, "priority", false, 1, 5, &priority, &je) == JS_INVALID))
        return web_reply_invalid(r, &je);
    if (rec_of(r, &id, &rec) != 0)
        return 0;
    if (!is_open(rec))
        return not_open(r, id, rec, "accepted");
    store_decision d = {.status = "accepted"};
    if (json_object_object_get_ex(rec, "suggested_action", &action) && action) {
        json_object *req = job_request(rec, action, priority);
        int rc = recs_job_create(app_bus(intel_of(web_app(r))->app), req, &job, err, sizeof(err));
        json_object_put(req);
        if (rc != 0) {
            json_object_put(rec);
            return web_reply_error(r, rc, web_status_code_name(rc), "%s", err);
        }
        d.job_id = field_str(job, "id");
    }
    json_object_put(rec);
    return decide(r, id, &d, job, "accepted");
}

int
http_recs_decline(web_req *r)
{
    static const char *const known[] = {"reason", NULL};
    json_object *body = web_body_json(r), *rec = NULL;
    const char *id = http_client_id(r), *reason = NULL;
    js_err je;
    if (!id)
        return 0;
    if (!body)
        return http_body_missing(r);
    if (js_require_object(body, &je) != JS_OK || js_reject_unknown(body, known, &je) != JS_OK
        || js_get_string(body, "reason", true, 1, 500, &reason, &je) != JS_OK)
        return web_reply_invalid(r, &je);
    if (rec_of(r, &id, &rec) != 0)
        return 0;
    if (!is_open(rec))
        return not_open(r, id, rec, "declined");
    json_object_put(rec);
    store_decision d = {.status = "declined", .reason = reason};
    return decide(r, id, &d, NULL, "declined");
}
