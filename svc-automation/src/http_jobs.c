/* http_jobs: the job routes under /api/automation/jobs. Each handler parses
 * and checks its input, calls the service, and renders the answer. */
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "service.h"
#include "util.h"

static int
reply_err(web_req *r, const svc_err *e)
{
    if (e->status == 400 || (e->status == 409 && e->field[0])) {
        js_err je;
        util_strlcpy(je.field, e->field, sizeof(je.field));
        util_strlcpy(je.message, e->message, sizeof(je.message));
        if (e->status == 400)
            return web_reply_invalid(r, &je);
    }
    return web_reply_error(r, e->status, e->code, "%s", e->message);
}

/* The {job_id} of the path, or NULL after answering 400. */
static const char *
job_id(web_req *r)
{
    const char *id = web_param(r, "job_id");
    if (!id || !util_uuid_valid(id)) {
        js_err je;
        js_fail(&je, "job_id", "job_id: must be a UUID");
        web_reply_invalid(r, &je);
        return NULL;
    }
    return id;
}

int
http_jobs_create(web_req *r)
{
    json_object *job = NULL;
    svc_err e;
    json_object *body = web_body_json(r);
    if (!body) {
        js_err je;
        js_fail(&je, "", "request body must be a JSON object");
        return web_reply_invalid(r, &je);
    }
    int status = svc_create(svc_of(web_app(r)), body, &job, &e);
    return status >= 300 ? reply_err(r, &e) : web_reply_json(r, status, job);
}

int
http_jobs_get(web_req *r)
{
    const char *id = job_id(r);
    json_object *job = NULL;
    svc_err e;
    char what[64];
    if (!id)
        return 0;
    store_status st = store_job_get(svc_of(web_app(r))->store, id, &job);
    if (st != ST_OK) {
        snprintf(what, sizeof(what), "job %s", id);
        svc_fail(&e, st, what, NULL);
        return reply_err(r, &e);
    }
    return web_reply_json(r, 200, job);
}

/* One query parameter into out (NULL when absent); false after answering
 * 400 when it is too long or fails check. */
static bool
query(web_req *r, const char *name, char *buf, size_t cap, const char **out,
      bool (*check)(const char *), const char *why)
{
    *out = web_query(r, name, buf, cap);
    if (!*out) {
        char big[2048];
        if (web_query(r, name, big, sizeof(big)) == NULL)
            return true; /* absent */
        why = "too long";
    } else if (!check || check(*out)) {
        return true;
    }
    js_err je;
    js_fail(&je, name, "query parameter '%s': %s", name, why);
    web_reply_invalid(r, &je);
    return false;
}

static bool
is_status(const char *s)
{
    for (size_t i = 0; job_statuses[i]; i++)
        if (strcmp(s, job_statuses[i]) == 0)
            return true;
    return false;
}

static bool
is_time(const char *s)
{
    struct timespec ts;
    return util_rfc3339_parse(s, &ts) == 0;
}

static bool
is_priority(const char *s)
{
    long v;
    return util_parse_long(s, 1, 5, &v) == 0;
}

int
http_jobs_list(web_req *r)
{
    char b[6][64];
    const char *prio = NULL;
    store_filter f = {0};
    json_object *page = NULL;
    svc_err e;

    if (!web_page(r, &f.limit, &f.offset)
        || !query(r, "status", b[0], sizeof(b[0]), &f.status, is_status,
                  "must be one of pending, queued, running, completed, failed, cancelled")
        || !query(r, "job_type", b[1], sizeof(b[1]), &f.job_type, job_type_known,
                  "unknown job type")
        || !query(r, "client_id", b[2], sizeof(b[2]), &f.client_id, util_uuid_valid,
                  "must be a UUID")
        || !query(r, "priority", b[3], sizeof(b[3]), &prio, is_priority,
                  "must be an integer between 1 and 5")
        || !query(r, "created_after", b[4], sizeof(b[4]), &f.created_after, is_time,
                  "must be an RFC 3339 time")
        || !query(r, "created_before", b[5], sizeof(b[5]), &f.created_before, is_time,
                  "must be an RFC 3339 time"))
        return 0;
    if (prio)
        f.priority = prio[0] - '0';
    store_status st = store_job_list(svc_of(web_app(r))->store, &f, &page);
    if (st != ST_OK) {
        svc_fail(&e, st, "jobs", NULL);
        return reply_err(r, &e);
    }
    return web_reply_json(r, 200, page);
}

int
http_jobs_patch(web_req *r)
{
    const char *id = job_id(r);
    json_object *job = NULL, *body = web_body_json(r);
    svc_err e;
    if (!id)
        return 0;
    if (!body) {
        js_err je;
        js_fail(&je, "", "request body must be a JSON object");
        return web_reply_invalid(r, &je);
    }
    int status = svc_patch(svc_of(web_app(r)), id, body, &job, &e);
    return status >= 300 ? reply_err(r, &e) : web_reply_json(r, status, job);
}

int
http_jobs_cancel(web_req *r)
{
    const char *id = job_id(r);
    json_object *job = NULL;
    svc_err e;
    if (!id)
        return 0;
    int status = svc_cancel(svc_of(web_app(r)), id, &job, &e);
    return status >= 300 ? reply_err(r, &e) : web_reply_json(r, status, job);
}

int
http_jobs_retry(web_req *r)
{
    const char *id = job_id(r);
    json_object *job = NULL;
    svc_err e;
    if (!id)
        return 0;
    int status = svc_retry(svc_of(web_app(r)), id, &job, &e);
    return status >= 300 ? reply_err(r, &e) : web_reply_json(r, status, job);
}

int
http_jobs_stats(web_req *r)
{
    json_object *stats = NULL;
    svc_err e;
    store_status st = store_job_stats(svc_of(web_app(r))->store, &stats);
    if (st != ST_OK) {
        svc_fail(&e, st, "stats", NULL);
        return reply_err(r, &e);
    }
    return web_reply_json(r, 200, stats);
}
