/* worker: one job's life on its own thread (handler, then jobs.complete or
 * jobs.release), progress and the lease renewer thread, and what a handler
 * may call.
 * Exactly once: whether a job is completed, released or dropped (cancelled,
 * lost) is decided under the worker's mu, by the job's thread when its handler
 * returns or by worker_stop when it does not return in time, whichever comes
 * first (worker_internal.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "log.h"
#include "util.h"
#include "worker.h"
#include "worker_internal.h"

#define SEND_TRIES    5 /* jobs.complete: the outcome must not be lost */
#define RELEASE_TRIES 2

bus_status
worker_i_request(worker *w, const char *subject, json_object *body, json_object **reply)
{
    char *text = NULL;
    size_t len = 0, blen = 0;
    const char *btext;
    json_object *doc = NULL;
    char full[WORKER_PREFIX_MAX + 32];
    js_err err;
    bus_status st;

    *reply = NULL;
    snprintf(full, sizeof(full), "%s%s", w->prefix, subject);
    btext = json_object_to_json_string_length(
        body, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &blen);
    st = bus_request(w->b, full, btext, blen, w->request_timeout_ms, &text, &len);
    json_object_put(body);
    if (st != BUS_OK)
        goto out;
    if (js_parse(text, len, &doc, &err) != JS_OK || !json_object_is_type(doc, json_type_object)) {
        log_warn("worker: %s answered with something else than a JSON object", subject);
        json_object_put(doc);
        st = BUS_ERR_OTHER;
        goto out;
    }
    *reply = doc;
out:
    free(text);
    return st;
}

static bool
get_bool(json_object *o, const char *key)
{
    json_object *v = NULL;

    return json_object_object_get_ex(o, key, &v) && json_object_is_type(v, json_type_boolean)
           && json_object_get_boolean(v);
}

/* The code of an error reply ("conflict"), or NULL. */
static const char *
error_code(json_object *o)
{
    json_object *e = NULL, *c = NULL;

    if (!json_object_object_get_ex(o, "error", &e) || !json_object_object_get_ex(e, "code", &c)
        || !json_object_is_type(c, json_type_string))
        return NULL;
    return json_object_get_string(c);
}

/* ---- claimed jobs ---- */

worker_job *
worker_i_job_new(worker *w, json_object *o, int64_t claimed_ns)
{
    const char *id = NULL, *type = NULL, *client = NULL;
    json_object *config = NULL;
    long long attempt = 0;
    worker_job *j;
    js_err err;

    if (js_get_string(o, "id", true, 1, WORKER_FIELD_MAX, &id, &err) != JS_OK
        || js_get_string(o, "job_type", true, 1, WORKER_FIELD_MAX, &type, &err) != JS_OK
        || js_get_string(o, "client_id", false, 0, WORKER_FIELD_MAX, &client, &err) == JS_INVALID
        || js_get_int(o, "attempt", true, 1, 1000000, &attempt, &err) != JS_OK
        || js_get_object(o, "config", false, &config, &err) == JS_INVALID) {
        /* Its lease expires and it is retried: nothing better can be done. */
        log_error("worker: unusable job in a jobs.claim answer: %s", err.message);
        return NULL;
    }
    j = calloc(1, sizeof(*j));
    if (j == NULL)
        return NULL;
    j->w = w;
    util_strlcpy(j->id, id, sizeof(j->id));
    util_strlcpy(j->job_type, type, sizeof(j->job_type));
    util_strlcpy(j->client_id, client != NULL ? client : "", sizeof(j->client_id));
    j->attempt = (int)attempt;
    /* A copy, not a reference: json-c's reference counts are not atomic, and
     * the claim answer is freed on the claimer's thread while the job runs. */
    if (config == NULL)
        j->config = json_object_new_object();
    else if (json_object_deep_copy(config, &j->config, NULL) != 0)
        j->config = NULL;
    if (j->config == NULL) {
        log_error("worker: out of memory for the config of job %s", id);
        free(j);
        return NULL;
    }
    j->started_ns = util_mono_ns();
    j->renewed_ns = claimed_ns;
    j->next_renew_ns = claimed_ns + (int64_t)w->lease_ms / 3 * 1000000;
    for (size_t i = 0; i < w->ntypes; i++) {
        if (strcmp(w->types[i].job_type, j->job_type) == 0)
            j->type = &w->types[i];
    }
    return j;
}

void
worker_i_job_free(worker_job *j)
{
    if (j == NULL)
        return;
    json_object_put(j->config);
    json_object_put(j->result);
    free(j);
}

int
worker_i_release(worker *w, const char *job_id, int attempt, const char *reason)
{
    int64_t wait_ms = 100;
    char rid[129];
    int rc = -1;

    /* Findable by the job id whichever thread hands it back. */
    util_strlcpy(rid, log_request_id(), sizeof(rid));
    log_set_request_id(job_id);

    for (int i = 0; i < RELEASE_TRIES; i++) {
        json_object *body = json_object_new_object(), *reply = NULL;
        bus_status st;

        json_object_object_add(body, "job_id", json_object_new_string(job_id));
        json_object_object_add(body, "attempt", json_object_new_int(attempt));
        json_object_object_add(body, "reason", json_object_new_string(reason));
        st = worker_i_request(w, "jobs.release", body, &reply);
        if (st == BUS_OK) {
            if (!get_bool(reply, "ok"))
                log_warn("worker: jobs.release of %s refused (%s)", job_id,
                         error_code(reply) != NULL ? error_code(reply) : "not ok");
            json_object_put(reply);
            rc = 0;
            goto out;
        }
        if (i + 1 < RELEASE_TRIES) {
            struct timespec ts = {0, (long)wait_ms * 1000000L};

            nanosleep(&ts, NULL);
            wait_ms *= 2;
        }
    }
    log_warn("worker: could not hand back job %s; its lease will expire", job_id);
out:
    log_set_request_id(rid);
    return rc;
}

/* ---- leases and progress ---- */

int
worker_i_renew(worker_job *j, int percent, const char *message)
{
    worker *w = j->w;
    json_object *body, *reply = NULL;
    int64_t sent_ns;
    bus_status st;
    bool was_released;
    int rc;

    pthread_mutex_lock(&w->mu);
    if (j->lost || j->released || w->closed) {
        pthread_mutex_unlock(&w->mu);
        return -1;
    }
    if (j->cancel_requested) {
        pthread_mutex_unlock(&w->mu);
        return 1;
    }
    w->inflight++;
    pthread_mutex_unlock(&w->mu);

    body = json_object_new_object();
    json_object_object_add(body, "job_id", json_object_new_string(j->id));
    json_object_object_add(body, "attempt", json_object_new_int(j->attempt));
    if (percent >= 0)
        json_object_object_add(body, "progress", json_object_new_int(percent));
    if (percent >= 0 && message != NULL)
        json_object_object_add(body, "message", json_object_new_string(message));
    sent_ns = util_mono_ns();
    st = worker_i_request(w, "jobs.progress", body, &reply);

    pthread_mutex_lock(&w->mu);
    w->inflight--;
    pthread_cond_broadcast(&w->cv);
    rc = 0;
    was_released = j->released;
    if (j->released || j->lost) {
        rc = -1;
    } else if (st == BUS_OK && get_bool(reply, "ok")) {
        j->renewed_ns = sent_ns;
        j->next_renew_ns = sent_ns + (int64_t)w->lease_ms / 3 * 1000000;
        if (get_bool(reply, "cancel_requested")) {
            j->cancel_requested = true;
            rc = 1;
        }
    } else if (st == BUS_OK
               && (error_code(reply) == NULL || strcmp(error_code(reply), "unavailable") != 0)) {
        /* ok:false, or the job is unknown: it is not ours any more. */
        j->lost = true;
        rc = -1;
    } else if (util_mono_ns() - j->renewed_ns > (int64_t)w->lease_ms * 1000000) {
        j->lost = true;
        rc = -1;
    } else {
        j->next_renew_ns = worker_i_retry_ns(w, util_mono_ns());
    }
    pthread_mutex_unlock(&w->mu);

    if (rc == 1)
        log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("job_id", j->id)), "job cancel requested");
    else if (rc == -1 && !was_released)
        log_msg(LOGL_WARN,
                LOG_FIELDS(LF_STR("job_id", j->id), LF_STR("reason", bus_status_name(st))),
                "job lease lost");
    json_object_put(reply);
    return rc;
}

/* ---- the lease renewer thread ---- */

int64_t
worker_i_retry_ns(const worker *w, int64_t now)
{
    int64_t ms = w->lease_ms / 6;

    if (ms > 1000)
        ms = 1000;
    if (ms < 100)
        ms = 100;
    return now + ms * 1000000;
}

static bool
renewable(const worker_job *j)
{
    return !j->released && !j->cancel_requested && !j->lost;
}

void *
worker_i_renewer_main(void *arg)
{
    worker *w = arg;

    pthread_mutex_lock(&w->mu);
    while (!w->closed) {
        int64_t now = util_mono_ns(), first = 0;
        worker_job *due = NULL;

        for (worker_job *j = w->jobs; j != NULL; j = j->next) {
            if (!renewable(j))
                continue;
            if (j->next_renew_ns <= now) {
                due = j;
                break;
            }
            if (first == 0 || j->next_renew_ns < first)
                first = j->next_renew_ns;
        }
        if (due == NULL) {
            worker_i_wait(w, first);
            continue;
        }
        /* Not picked again at once if this try fails; a success sets it. */
        due->next_renew_ns = worker_i_retry_ns(w, now);
        due->pins++;
        pthread_mutex_unlock(&w->mu);
        log_set_request_id(due->id);
        worker_i_renew(due, -1, NULL);
        log_set_request_id(NULL);
        pthread_mutex_lock(&w->mu);
        due->pins--;
        pthread_cond_broadcast(&w->cv);
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- the job's thread ---- */

/* The job a jobs.complete answer claimed for this thread (its "jobs", at most
 * one asked for), or NULL. Any more than asked for are handed back. */
static worker_job *
next_of_reply(worker *w, json_object *reply, int64_t sent_ns)
{
    json_object *arr = NULL;
    worker_job *next = NULL;

    if (!json_object_object_get_ex(reply, "jobs", &arr)
        || !json_object_is_type(arr, json_type_array))
        return NULL;
    for (size_t i = 0; i < json_object_array_length(arr); i++) {
        worker_job *k = worker_i_job_new(w, json_object_array_get_idx(arr, i), sent_ns);

        if (k == NULL)
            continue;
        if (next == NULL) {
            next = k;
            continue;
        }
        worker_i_release(w, k->id, k->attempt, "more jobs than asked for");
        worker_i_job_free(k);
    }
    return next;
}

/* jobs.complete with the handler's outcome, retried while svc-automation does
 * not answer. Returns the outcome to count. With next, the first try also
 * claims one job for the slot this one frees (in the same statement as the
 * completion), put in *next: a busy worker then needs one request per job,
 * not two. Only the first try asks: a try that timed out may have claimed a
 * job all the same, and that one comes back when its lease runs out. */
static const char *
send_outcome(worker_job *j, worker_job **next)
{
    worker *w = j->w;
    const char *status = j->outcome == WORKER_JOB_COMPLETED ? "completed" : "failed";
    int64_t wait_ms = 100;
    bus_status st = BUS_ERR_OTHER;

    for (int i = 0; i < SEND_TRIES; i++) {
        json_object *body = json_object_new_object(), *reply = NULL;
        int64_t sent_ns = util_mono_ns();
        bool lost, ask = false;

        json_object_object_add(body, "job_id", json_object_new_string(j->id));
        json_object_object_add(body, "attempt", json_object_new_int(j->attempt));
        json_object_object_add(body, "status", json_object_new_string(status));
        if (j->outcome == WORKER_JOB_COMPLETED) {
            json_object_object_add(body, "result",
                                   j->result != NULL ? json_object_get(j->result)
                                                     : json_object_new_object());
        } else {
            json_object *e = json_object_new_object();

            json_object_object_add(e, "message", json_object_new_string(j->error));
            json_object_object_add(e, "retryable", json_object_new_boolean(j->retryable));
            json_object_object_add(body, "error", e);
        }
        if (next != NULL && i == 0) {
            pthread_mutex_lock(&w->mu);
            ask = !w->stopping;
            pthread_mutex_unlock(&w->mu);
        }
        if (ask)
            json_object_object_add(body, "claim", worker_i_claim_body(w, 1));
        st = worker_i_request(w, "jobs.complete", body, &reply);
        if (st == BUS_OK) {
            bool ok = get_bool(reply, "ok");

            if (!ok)
                log_warn("worker: jobs.complete of %s refused (%s)", j->id,
                         error_code(reply) != NULL ? error_code(reply) : "not ok");
            else if (ask)
                *next = next_of_reply(w, reply, sent_ns);
            json_object_put(reply);
            return ok ? status : "lost";
        }
        if (st != BUS_ERR_TIMEOUT && st != BUS_ERR_UNAVAILABLE && st != BUS_ERR_NO_RESPONDERS)
            break;
        pthread_mutex_lock(&w->mu);
        lost = j->lost;
        if (!lost && i + 1 < SEND_TRIES) {
            int64_t until = util_mono_ns() + wait_ms * 1000000;

            while (util_mono_ns() < until)
                worker_i_wait(w, until);
        }
        pthread_mutex_unlock(&w->mu);
        if (lost)
            break;
        wait_ms *= 2;
    }
    log_msg(LOGL_ERROR, LOG_FIELDS(LF_STR("job_id", j->id), LF_STR("reason", bus_status_name(st))),
            "could not send the outcome of the job");
    return "lost";
}

/* Put next, claimed with j's completion, on the worker's list to run on j's
 * thread, unless the worker is stopping: then hand it back at once. j is still
 * on the list meanwhile, so worker_stop has not closed the bus. Returns next,
 * or NULL when it was handed back. */
static worker_job *
adopt_next(worker *w, worker_job *next)
{
    bool keep;

    pthread_mutex_lock(&w->mu);
    keep = !w->stopping;
    if (keep) {
        next->next = w->jobs;
        w->jobs = next;
        w->njobs++;
        w->refs++; /* the thread's reference for next; j's goes in job_finish */
        pthread_cond_broadcast(&w->cv); /* the renewer has a new lease to keep */
    }
    pthread_mutex_unlock(&w->mu);
    if (keep)
        return next;
    worker_i_release(w, next->id, next->attempt, "worker stopping");
    worker_i_job_free(next);
    return NULL;
}

/* The handler of j returned: complete, release or drop j. Returns the job
 * this thread runs next (claimed with the completion), or NULL. */
static worker_job *
job_finish(worker_job *j)
{
    enum { DROP, COMPLETE, RELEASE } action;
    worker *w = j->w;
    worker_job *next = NULL;
    const char *outcome = "released";

    pthread_mutex_lock(&w->mu);
    j->handler_done = true;
    pthread_cond_broadcast(&w->cv);
    if (j->released) {
        /* worker_stop handed it back and accounted for it already. */
        while (j->pins > 0)
            worker_i_wait(w, 0);
        log_debug("worker: the handler of released job %s returned", j->id);
        worker_i_unref_unlock(w);
        worker_i_job_free(j);
        return NULL;
    }
    if (j->cancel_requested) {
        action = DROP;
        outcome = "cancelled";
    } else if (j->lost) {
        action = DROP;
        outcome = "lost";
    } else if (!j->has_outcome && w->stopping) {
        /* A handler that gave up because the worker is stopping. */
        action = RELEASE;
    } else {
        action = COMPLETE;
    }
    pthread_mutex_unlock(&w->mu);

    if (action == COMPLETE) {
        if (!j->has_outcome)
            worker_job_fail(j, true, "handler returned no outcome");
        outcome = send_outcome(j, &next);
        if (next != NULL)
            next = adopt_next(w, next);
    } else if (action == RELEASE) {
        worker_i_release(w, j->id, j->attempt, "worker stopping");
    }

    pthread_mutex_lock(&w->mu);
    for (worker_job **pp = &w->jobs; *pp != NULL; pp = &(*pp)->next) {
        if (*pp == j) {
            *pp = j->next;
            break;
        }
    }
    w->njobs--;
    if (action == COMPLETE && j->cancel_requested)
        outcome = "cancelled"; /* cancelled while the outcome was on its way */
    worker_i_account(w, j, outcome);
    /* A slot freed after a full claim: more jobs may wait for the claimer
     * (not when this thread took one with the completion). */
    if (w->saturated && next == NULL)
        w->wake = true;
    while (j->pins > 0)
        worker_i_wait(w, 0);
    pthread_cond_broadcast(&w->cv);
    worker_i_unref_unlock(w);
    worker_i_job_free(j);
    return next;
}

/* Runs the job it was started with, then each job claimed with a completion,
 * until a completion brings none. */
static void *
job_main(void *arg)
{
    for (worker_job *j = arg; j != NULL;) {
        log_set_request_id(j->id);
        log_msg(LOGL_INFO,
                LOG_FIELDS(LF_STR("job_id", j->id), LF_STR("job_type", j->job_type),
                           LF_INT("attempt", j->attempt)),
                "job started");
        if (j->type != NULL)
            j->type->fn(j, j->type->ud);
        else
            worker_job_fail(j, false, "this worker has no handler for job type %s", j->job_type);
        j = job_finish(j);
    }
    log_set_request_id(NULL);
    return NULL;
}

int
worker_i_job_start(worker_job *j)
{
    pthread_attr_t attr;
    int rc;

    if (pthread_attr_init(&attr) != 0)
        return -1;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&j->thread, &attr, job_main, j);
    pthread_attr_destroy(&attr);
    return rc == 0 ? 0 : -1;
}

/* ---- for handlers ---- */

const char *
worker_job_id(const worker_job *j)
{
    return j->id;
}

const char *
worker_job_type(const worker_job *j)
{
    return j->job_type;
}

const char *
worker_job_client_id(const worker_job *j)
{
    return j->client_id;
}

int
worker_job_attempt(const worker_job *j)
{
    return j->attempt;
}

json_object *
worker_job_config(const worker_job *j)
{
    return j->config;
}

int
worker_progress(worker_job *j, int percent, const char *message)
{
    if (j == NULL || percent < 0 || percent > 100) {
        log_error("worker_progress: percent %d is outside 0..100", percent);
        return -1;
    }
    return worker_i_renew(j, percent, message);
}

bool
worker_job_cancelled(const worker_job *j)
{
    worker *w = j->w;
    bool c;

    pthread_mutex_lock(&w->mu);
    c = j->cancel_requested || j->lost || j->released || w->stopping;
    pthread_mutex_unlock(&w->mu);
    return c;
}

bool
worker_job_stopping(const worker_job *j)
{
    worker *w = j->w;
    bool s;

    pthread_mutex_lock(&w->mu);
    s = w->stopping;
    pthread_mutex_unlock(&w->mu);
    return s;
}

void
worker_job_succeed(worker_job *j, json_object *result)
{
    if (j->has_outcome) {
        log_warn("worker: job %s got a second outcome; keeping the first", j->id);
        json_object_put(result);
        return;
    }
    j->has_outcome = true;
    j->outcome = WORKER_JOB_COMPLETED;
    j->result = result;
}

void
worker_job_fail(worker_job *j, bool retryable, const char *fmt, ...)
{
    va_list ap;

    if (j->has_outcome) {
        log_warn("worker: job %s got a second outcome; keeping the first", j->id);
        return;
    }
    j->has_outcome = true;
    j->outcome = WORKER_JOB_FAILED;
    j->retryable = retryable;
    va_start(ap, fmt);
    vsnprintf(j->error, sizeof(j->error), fmt, ap);
    va_end(ap);
}
