/* abus_in: the subjects svc-automation answers (the worker protocol,
 * jobs.create, automation.stats) and the events it follows (events.job.>);
 * payloads in DESIGN section 5.
 *
 * nats.c delivers the messages of one subscription one after the other on one
 * thread, and each request here waits on PostgreSQL; so requests are copied
 * and handed to a pool of threads (abus_pool.c), which answer them through
 * their reply subject. */
#include <stdio.h>
#include <string.h>

#include "abus_internal.h"
#include "abus_pool.h"
#include "log.h"
#include "service.h"
#include "util.h"

#define CLAIM_MAX   100
#define LEASE_MAX_S 3600
#define MAX_REQUEST (JOB_MAX_RESULT + 4096)

static void
respond(areq *m, json_object *o)
{
    size_t len = 0;
    const char *text = js_text(o, &len);
    if (!m->reply[0] || bus_publish(m->ab->b, m->reply, text, len) != BUS_OK)
        log_debug("reply not sent: no reply subject, or NATS is away");
    json_object_put(o);
}

static void
respond_error(areq *m, const char *code, const char *field, const char *message)
{
    json_object *o = json_object_new_object(), *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_string(code));
    json_object_object_add(e, "message", json_object_new_string(message));
    if (field && field[0])
        json_object_object_add(e, "field", json_object_new_string(field));
    json_object_object_add(o, "error", e);
    respond(m, o);
}

static void
respond_svc_error(areq *m, const svc_err *e)
{
    respond_error(m, e->code, e->field, e->message);
}

/* The request's JSON object, or NULL after answering an error. */
static json_object *
request_body(areq *m)
{
    size_t len = m->len;
    const char *data = m->data;
    json_object *body = NULL;
    js_err err;
    if (len > MAX_REQUEST) {
        respond_error(m, "invalid_request", "", "request too large");
        return NULL;
    }
    if (js_parse(data, len, &body, &err) != JS_OK || js_require_object(body, &err) != JS_OK) {
        json_object_put(body);
        respond_error(m, "invalid_request", err.field, err.message);
        return NULL;
    }
    return body;
}

static json_object *
ok_reply(bool ok)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "ok", json_object_new_boolean(ok));
    return o;
}

static void
conflict(areq *m, const char *id, int attempt)
{
    char msg[160];
    json_object *o = ok_reply(false), *e = json_object_new_object();
    snprintf(msg, sizeof(msg), "job %s is not running as attempt %d", id, attempt);
    json_object_object_add(o, "cancel_requested", json_object_new_boolean(0));
    json_object_object_add(e, "code", json_object_new_string("conflict"));
    json_object_object_add(e, "message", json_object_new_string(msg));
    json_object_object_add(o, "error", e);
    respond(m, o);
}

/* The answer to a worker's call on a job: reply (taken) when st is ST_OK. */
static void
answer(areq *m, store_status st, const char *id, int attempt, json_object *reply)
{
    if (st == ST_OK) {
        respond(m, reply);
        return;
    }
    json_object_put(reply);
    if (st == ST_CONFLICT) {
        conflict(m, id, attempt);
    } else {
        svc_err e;
        svc_fail(&e, st, "job", NULL);
        respond_svc_error(m, &e);
    }
}

static void
on_create(areq *m)
{
    svc *s = m->ab->s;
    json_object *body = request_body(m), *job = NULL;
    svc_err e;
    if (!body)
        return;
    int status = svc_create(s, body, &job, &e);
    json_object_put(body);
    if (status >= 300)
        respond_svc_error(m, &e);
    else
        respond(m, job);
}

/* The job types of a claim as a bit set, or -1 after answering an error. */
static long
claim_types(areq *m, json_object *body)
{
    json_object *arr = NULL;
    js_err err;
    unsigned mask = 0;
    if (js_get_array(body, "job_types", true, 16, &arr, &err) != JS_OK) {
        respond_error(m, "invalid_request", err.field, err.message);
        return -1;
    }
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        int t = json_object_is_type(v, json_type_string) ? job_type_index(json_object_get_string(v))
                                                         : -1;
        if (t < 0) {
            respond_error(m, "invalid_request", "job_types", "field 'job_types': unknown job type");
            return -1;
        }
        mask |= 1u << t;
    }
    if (!mask) {
        respond_error(m, "invalid_request", "job_types", "field 'job_types': empty");
        return -1;
    }
    return (long)mask;
}

/* The claim asked for in o (jobs.claim's body, or jobs.complete's "claim"),
 * or false after answering an error. */
static bool
claim_req_of(areq *m, json_object *o, store_claim_req *req)
{
    long long max = 0, lease = 0;
    js_err err;
    long types;
    if (js_get_string(o, "worker_id", true, 1, JOB_MAX_WORKER_ID, &req->worker_id, &err) != JS_OK
        || js_get_int(o, "max", true, 1, CLAIM_MAX, &max, &err) != JS_OK
        || js_get_int(o, "lease_seconds", true, 1, LEASE_MAX_S, &lease, &err) != JS_OK) {
        respond_error(m, "invalid_request", err.field, err.message);
        return false;
    }
    if ((types = claim_types(m, o)) < 0)
        return false;
    req->types = (unsigned)types;
    req->max = (int)max;
    req->lease_seconds = (int)lease;
    return true;
}

/* What a worker needs of its claimed jobs (jobs may be NULL: none). */
static json_object *
claimed_list(svc *s, json_object *jobs, const double *waits)
{
    static const char *const keep[] = {"id",      "job_type",         "client_id", "config",
                                       "attempt", "lease_expires_at", NULL};
    json_object *list = json_object_new_array();
    for (size_t i = 0; jobs && i < json_object_array_length(jobs); i++) {
        json_object *job = json_object_array_get_idx(jobs, i), *c = json_object_new_object();
        for (size_t k = 0; keep[k]; k++) {
            json_object *v = NULL;
            json_object_object_get_ex(job, keep[k], &v);
            json_object_object_add(c, keep[k], json_object_get(v));
        }
        json_object_array_add(list, c);
        metrics_observe(s->claim_latency, NULL, waits[i]);
    }
    return list;
}

static void
on_claim(areq *m)
{
    svc *s = m->ab->s;
    json_object *body = request_body(m), *jobs = NULL;
    double waits[CLAIM_MAX];
    store_claim_req req;
    store_changes ch;
    if (!body)
        return;
    if (!claim_req_of(m, body, &req))
        goto out;
    store_changes_init(&ch);
    store_status st = store_claim(s->store, &req, &jobs, waits, &ch);
    if (st != ST_OK) {
        svc_err e;
        store_changes_clear(&ch);
        svc_fail(&e, st, "job", NULL);
        respond_svc_error(m, &e);
        goto out;
    }
    json_object *reply = json_object_new_object();
    json_object_object_add(reply, "jobs", claimed_list(s, jobs, waits));
    respond(m, reply);
    svc_changed(s, &ch);
out:
    json_object_put(jobs);
    json_object_put(body);
}

/* job_id and attempt of a worker's request, or false after answering. */
static bool
job_ref(areq *m, json_object *body, const char **id, int *attempt)
{
    long long a = 0;
    js_err err;
    if (js_get_uuid(body, "job_id", true, id, &err) != JS_OK
        || js_get_int(body, "attempt", true, 1, 1000000, &a, &err) != JS_OK) {
        respond_error(m, "invalid_request", err.field, err.message);
        return false;
    }
    *attempt = (int)a;
    return true;
}

static void
on_progress(areq *m)
{
    svc *s = m->ab->s;
    json_object *body = request_body(m);
    const char *id = NULL, *message = NULL;
    long long progress = 0;
    int attempt = 0;
    bool cancelled = false;
    store_changes ch;
    js_err err;
    if (!body)
        return;
    if (!job_ref(m, body, &id, &attempt))
        goto out;
    js_status ps = js_get_int(body, "progress", false, 0, 100, &progress, &err);
    if (ps == JS_INVALID
        || js_get_string(body, "message", false, 0, JOB_MAX_MESSAGE, &message, &err)
               == JS_INVALID) {
        respond_error(m, "invalid_request", err.field, err.message);
        goto out;
    }
    store_changes_init(&ch);
    store_status st =
        store_progress(s->store, id, attempt, ps == JS_OK, (int)progress, message, &cancelled, &ch);
    json_object *o = ok_reply(true);
    json_object_object_add(o, "cancel_requested", json_object_new_boolean(cancelled));
    answer(m, st, id, attempt, o);
    svc_changed(s, &ch);
out:
    json_object_put(body);
}

static void
on_complete(areq *m)
{
    static const char *const outcomes[] = {"completed", "failed", NULL};
    svc *s = m->ab->s;
    json_object *body = request_body(m), *result = NULL, *error = NULL, *claim = NULL, *jobs = NULL;
    const char *id = NULL, *status = NULL, *message = "failed";
    bool retryable = true;
    int attempt = 0;
    double duration = -1, waits[CLAIM_MAX];
    store_claim_req req;
    store_changes ch;
    js_err err;
    if (!body)
        return;
    if (!job_ref(m, body, &id, &attempt))
        goto out;
    if (js_get_enum(body, "status", true, outcomes, &status, &err) != JS_OK
        || js_get_object(body, "error", false, &error, &err) == JS_INVALID
        || (error
            && (js_get_string(error, "message", true, 1, JOB_MAX_MESSAGE, &message, &err) != JS_OK
                || js_get_bool(error, "retryable", false, &retryable, &err) == JS_INVALID))) {
        respond_error(m, "invalid_request", err.field, err.message);
        goto out;
    }
    json_object_object_get_ex(body, "result", &result);
    size_t rlen = 0;
    if (result)
        js_text(result, &rlen);
    if (rlen > JOB_MAX_RESULT) {
        respond_error(m, "invalid_request", "result", "field 'result': too large");
        goto out;
    }
    if (result && js_has_nul(result)) {
        respond_error(m, "invalid_request", "result",
                      "field 'result': must not contain NUL characters");
        goto out;
    }
    if (js_get_object(body, "claim", false, &claim, &err) == JS_INVALID) {
        respond_error(m, "invalid_request", err.field, err.message);
        goto out;
    }
    if (claim && !claim_req_of(m, claim, &req))
        goto out;
    bool completed = strcmp(status, "completed") == 0;
    store_changes_init(&ch);
    store_status st = store_complete(s->store, id, attempt, completed, result, message, retryable,
                                     claim ? &req : NULL, &jobs, waits, &ch, &duration);
    json_object *reply = ok_reply(true);
    if (claim && st == ST_OK)
        json_object_object_add(reply, "jobs", claimed_list(s, jobs, waits));
    answer(m, st, id, attempt, reply);
    if (st == ST_OK && duration >= 0 && ch.events) {
        json_object *t = NULL;
        json_object_object_get_ex(json_object_array_get_idx(ch.events, 0), "job_type", &t);
        const char *labels[] = {json_object_get_string(t)};
        metrics_observe(s->duration, labels, duration);
    }
    svc_changed(s, &ch);
out:
    json_object_put(jobs);
    json_object_put(body);
}

static void
on_release(areq *m)
{
    svc *s = m->ab->s;
    json_object *body = request_body(m);
    const char *id = NULL, *reason = NULL;
    int attempt = 0;
    store_changes ch;
    js_err err;
    if (!body)
        return;
    if (!job_ref(m, body, &id, &attempt))
        goto out;
    if (js_get_string(body, "reason", false, 0, JOB_MAX_MESSAGE, &reason, &err) == JS_INVALID) {
        respond_error(m, "invalid_request", err.field, err.message);
        goto out;
    }
    store_changes_init(&ch);
    store_status st = store_release(s->store, id, attempt, reason, &ch);
    answer(m, st, id, attempt, ok_reply(true));
    svc_changed(s, &ch);
out:
    json_object_put(body);
}

static void
on_stats(areq *m)
{
    svc *s = m->ab->s;
    json_object *body = request_body(m), *stats = NULL;
    store_stats_query q = {0};
    long long hours = 168;
    js_err err;
    if (!body)
        return;
    if (js_get_uuid(body, "client_id", false, &q.client_id, &err) == JS_INVALID
        || js_get_time(body, "since", false, &q.since, &err) == JS_INVALID
        || js_get_time(body, "schedule_from", false, &q.schedule_from, &err) == JS_INVALID
        || js_get_int(body, "schedule_hours", false, 1, 336, &hours, &err) == JS_INVALID) {
        respond_error(m, "invalid_request", err.field, err.message);
        goto out;
    }
    q.schedule_hours = (int)hours;
    store_status st = store_client_stats(s->store, &q, &stats);
    if (st != ST_OK) {
        svc_err e;
        svc_fail(&e, st, "stats", NULL);
        respond_svc_error(m, &e);
    } else {
        respond(m, stats);
    }
out:
    json_object_put(body);
}

static void
on_event(bus_msg *m, void *ud)
{
    svc *s = ud;
    size_t len = 0;
    const char *data = bus_msg_data(m, &len);
    live_on_event(s->live, data, len);
}

const abus_route abus_routes[] = {
    {"jobs.create", on_create},     {"jobs.claim", on_claim},     {"jobs.progress", on_progress},
    {"jobs.complete", on_complete}, {"jobs.release", on_release}, {"automation.stats", on_stats},
};
const size_t abus_nroutes = sizeof(abus_routes) / sizeof(abus_routes[0]);

int
abus_subscribe(abus *ab)
{
    for (size_t i = 0; i < abus_nroutes && i < ABUS_MAX_ROUTES; i++) {
        ab->bind[i] = (abus_binding){ab, &abus_routes[i]};
        if (bus_subscribe(ab->b, abus_routes[i].subject, "automation", abus_pool_enqueue,
                          &ab->bind[i])
            != BUS_OK) {
            log_msg(LOGL_ERROR, LOG_FIELDS(LF_STR("subject", abus_routes[i].subject)),
                    "cannot subscribe");
            return -1;
        }
    }
    /* Every replica follows every job event, for its WebSocket clients. */
    if (bus_subscribe(ab->b, "events.job.>", NULL, on_event, ab->s) != BUS_OK) {
        log_error("cannot subscribe to events.job.>");
        return -1;
    }
    return 0;
}
