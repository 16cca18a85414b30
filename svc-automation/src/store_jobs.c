/* store_jobs: the job API's writes and reads (create, get, list, change,
 * cancel, retry, statistics); see store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_internal.h"
#include "util.h"

#define UUID_ARRAY_CAP (JOB_MAX_DEPENDS * (UTIL_UUID_LEN + 1) + 3)

/* {a,b,c}: a uuid[] literal of ids already checked to be UUIDs. */
static void
uuid_array(const char *const *ids, size_t n, char *out, size_t cap)
{
    size_t len = (size_t)snprintf(out, cap, "{");
    for (size_t i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(out + len, cap - len, "%s%s", i ? "," : "", ids[i]);
    if (len < cap)
        snprintf(out + len, cap - len, "}");
}

/* The first job created with this key, checked to be the same request. */
static store_status
find_by_key(db_conn *c, const store *s, const job_new *req, json_object **job, char *msg,
            size_t msglen)
{
    const char *p[] = {req->idempotency_key};
    int n = 0;
    store_status st = store_exec_jobs(c, s, Q_BY_IDEM, 1, p, NULL, job, &n);
    if (st != ST_OK || n == 0)
        return st != ST_OK ? st : ST_NOT_FOUND;
    json_object *cid = NULL, *type = NULL, *id = NULL;
    json_object_object_get_ex(*job, "client_id", &cid);
    json_object_object_get_ex(*job, "job_type", &type);
    json_object_object_get_ex(*job, "id", &id);
    if (strcmp(json_object_get_string(cid), req->client_id) != 0
        || strcmp(json_object_get_string(type), req->job_type) != 0) {
        snprintf(msg, msglen,
                 "idempotency_key already used by job %s of another client or job type",
                 json_object_get_string(id));
        json_object_put(*job);
        *job = NULL;
        return ST_CONFLICT;
    }
    return ST_OK;
}

/* What the dependencies allow: "queued" (all completed), "pending", or
 * "failed" with *why naming the one that failed or was cancelled. */
static store_status
check_deps(db_conn *c, const store *s, const job_new *req, const char *arr, const char **status,
           char *why, size_t whylen, char *msg, size_t msglen)
{
    PGresult *res = NULL;
    const char *p[] = {arr};
    *status = "queued";
    if (req->ndepends == 0)
        return ST_OK;
    db_status dst = store_exec(c, s, Q_LOCK_DEPS, 1, p, &res);
    if (dst != DB_OK)
        return store_db(dst);
    for (size_t i = 0; i < req->ndepends; i++) {
        const char *found = NULL;
        for (int r = 0; r < PQntuples(res) && !found; r++)
            if (strcmp(PQgetvalue(res, r, 0), req->depends_on[i]) == 0)
                found = PQgetvalue(res, r, 1);
        if (!found) {
            snprintf(msg, msglen, "field 'depends_on': job %s does not exist", req->depends_on[i]);
            PQclear(res);
            return ST_INVALID;
        }
        if (strcmp(found, "failed") == 0 || strcmp(found, "cancelled") == 0) {
            if (strcmp(*status, "failed") != 0)
                snprintf(why, whylen, "dependency %s %s", req->depends_on[i], found);
            *status = "failed";
        } else if (strcmp(found, "completed") != 0 && strcmp(*status, "queued") == 0) {
            *status = "pending";
        }
    }
    PQclear(res);
    return ST_OK;
}

/* A new job's priority and attempt budget as parameter texts. */
static void
new_job_texts(const job_new *req, char prio[8], char attempts[8])
{
    snprintf(prio, 8, "%d", req->priority);
    snprintf(attempts, 8, "%d", req->max_attempts);
}

store_status
store_create_one(store *s, const job_new *req, const char *id, json_object **job, bool *created,
                 store_changes *ch, char *msg, size_t msglen)
{
    char prio[8], attempts[8];
    db_conn *c = NULL;
    PGresult *res = NULL;
    store_status st;

    new_job_texts(req, prio, attempts);
    const char *p[] = {id,
                       req->client_id,
                       req->job_type,
                       prio,
                       req->config ? js_text(req->config, NULL) : "{}",
                       attempts,
                       req->scheduled_at};
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    db_status dst = store_exec(c, s, Q_INSERT_ONE, 7, p, &res);
    if (dst != DB_OK) {
        if (dst == DB_ERR_INVALID)
            snprintf(msg, msglen, "field 'scheduled_at': out of range");
        return store_done(c, false, store_db(dst));
    }
    if (PQntuples(res) != 1) {
        PQclear(res);
        return store_done(c, false, ST_ERROR);
    }
    *job = store_render(res, 0, 0);
    PQclear(res);
    store_changed(ch, *job);
    *created = true;
    return store_done(c, false, ST_OK);
}

store_status
store_job_create(store *s, const job_new *req, json_object **job, bool *created, store_changes *ch,
                 char *msg, size_t msglen)
{
    db_conn *c = NULL;
    char id[UTIL_UUID_LEN + 1], prio[8], attempts[8], arr[UUID_ARRAY_CAP], why[200] = "";
    const char *status = "queued";
    json_object *error = NULL;
    bool tx = false;
    store_status st;

    *job = NULL;
    *created = false;
    msg[0] = '\0';
    if (!req->idempotency_key && req->ndepends == 0) {
        /* Nothing to check first: written with the new jobs arriving with it. */
        st = store_create_batched(s, req, job, ch, msg, msglen);
        *created = st == ST_OK;
        return st;
    }
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    if (req->idempotency_key) {
        st = find_by_key(c, s, req, job, msg, msglen);
        if (st != ST_NOT_FOUND)
            return store_done(c, false, st);
    }
    if ((st = store_db(db_begin(c))) != ST_OK)
        return store_done(c, false, st);
    tx = true;
    uuid_array(req->depends_on, req->ndepends, arr, sizeof(arr));
    st = check_deps(c, s, req, arr, &status, why, sizeof(why), msg, msglen);
    if (st != ST_OK)
        return store_done(c, tx, st);
    if (strcmp(status, "failed") == 0) {
        error = json_object_new_object();
        json_object_object_add(error, "message", json_object_new_string(why));
        json_object_object_add(error, "retryable", json_object_new_boolean(0));
    }
    util_uuid_v4(id);
    new_job_texts(req, prio, attempts);
    const char *p[] = {id,
                       req->client_id,
                       req->job_type,
                       status,
                       prio,
                       req->config ? js_text(req->config, NULL) : "{}",
                       attempts,
                       req->scheduled_at,
                       req->idempotency_key,
                       error ? js_text(error, NULL) : NULL,
                       arr};
    db_status dst = store_exec(c, s, Q_INSERT, 11, p, NULL);
    json_object_put(error);
    if (dst == DB_ERR_UNIQUE && req->idempotency_key) {
        /* Another request with the same key won the race: answer with its job. */
        db_rollback(c);
        st = find_by_key(c, s, req, job, msg, msglen);
        return store_done(c, false, st == ST_NOT_FOUND ? ST_ERROR : st);
    }
    if (dst != DB_OK) {
        if (dst == DB_ERR_INVALID)
            snprintf(msg, msglen, "field 'scheduled_at': out of range");
        return store_done(c, tx, store_db(dst));
    }
    const char *g[] = {id};
    st = store_exec_jobs(c, s, Q_GET, 1, g, NULL, job, NULL);
    if (st == ST_OK)
        st = store_db(db_commit(c));
    if (st != ST_OK) {
        json_object_put(*job);
        *job = NULL;
        return store_done(c, tx, st);
    }
    store_changed(ch, *job);
    *created = true;
    return store_done(c, false, ST_OK);
}

/* "attempts" and "dependencies" of job id, added to job. */
static store_status
add_details(db_conn *c, const store *s, const char *id, json_object *job)
{
    PGresult *res = NULL;
    const char *p[] = {id};
    db_status dst = store_exec(c, s, Q_ATTEMPTS, 1, p, &res);
    if (dst != DB_OK)
        return store_db(dst);
    json_object *arr = json_object_new_array();
    for (int r = 0; r < PQntuples(res); r++) {
        json_object *a = json_object_new_object();
        json_object_object_add(a, "attempt",
                               json_object_new_int((int)strtol(PQgetvalue(res, r, 0), NULL, 10)));
        json_object_object_add(a, "worker_id", json_object_new_string(PQgetvalue(res, r, 1)));
        json_object_object_add(a, "started_at", json_object_new_string(PQgetvalue(res, r, 2)));
        json_object_object_add(
            a, "finished_at",
            PQgetisnull(res, r, 3) ? NULL : json_object_new_string(PQgetvalue(res, r, 3)));
        json_object_object_add(a, "outcome", json_object_new_string(PQgetvalue(res, r, 4)));
        json_object_object_add(
            a, "error", PQgetisnull(res, r, 5) ? NULL : json_tokener_parse(PQgetvalue(res, r, 5)));
        json_object_array_add(arr, a);
    }
    PQclear(res);
    json_object_object_add(job, "attempts", arr);
    if ((dst = store_exec(c, s, Q_DEPS, 1, p, &res)) != DB_OK)
        return store_db(dst);
    arr = json_object_new_array();
    for (int r = 0; r < PQntuples(res); r++) {
        json_object *d = json_object_new_object();
        json_object_object_add(d, "job_id", json_object_new_string(PQgetvalue(res, r, 0)));
        json_object_object_add(d, "status", json_object_new_string(PQgetvalue(res, r, 1)));
        json_object_array_add(arr, d);
    }
    PQclear(res);
    json_object_object_add(job, "dependencies", arr);
    return ST_OK;
}

store_status
store_job_get(store *s, const char *id, json_object **job)
{
    db_conn *c = NULL;
    const char *p[] = {id};
    int n = 0;
    store_status st;

    *job = NULL;
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    st = store_exec_jobs(c, s, Q_GET, 1, p, NULL, job, &n);
    if (st == ST_OK && n == 0)
        st = ST_NOT_FOUND;
    if (st == ST_OK)
        st = add_details(c, s, id, *job);
    if (st != ST_OK) {
        json_object_put(*job);
        *job = NULL;
    }
    return store_done(c, false, st);
}

store_status
store_job_list(store *s, const store_filter *f, json_object **page)
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    char prio[8], limit[24], offset[24];
    store_status st;

    *page = NULL;
    snprintf(prio, sizeof(prio), "%d", f->priority);
    snprintf(limit, sizeof(limit), "%ld", f->limit);
    snprintf(offset, sizeof(offset), "%ld", f->offset);
    const char *p[] = {f->status,        f->job_type,       f->client_id, f->priority ? prio : NULL,
                       f->created_after, f->created_before, limit,        offset};
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    db_status dst = store_exec(c, s, Q_COUNT, 6, p, &res);
    if (dst != DB_OK)
        return store_done(c, false, store_db(dst));
    long long total = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    if ((dst = store_exec(c, s, Q_LIST, 8, p, &res)) != DB_OK)
        return store_done(c, false, store_db(dst));
    json_object *items = json_object_new_array_ext(PQntuples(res));
    for (int r = 0; r < PQntuples(res); r++)
        json_object_array_add(items, store_render(res, r, 0));
    PQclear(res);
    *page = json_object_new_object();
    json_object_object_add(*page, "items", items);
    json_object_object_add(*page, "total", json_object_new_int64(total));
    json_object_object_add(*page, "limit", json_object_new_int64(f->limit));
    json_object_object_add(*page, "offset", json_object_new_int64(f->offset));
    return store_done(c, false, ST_OK);
}

/* Lock job id for a change; *status and *cancel_requested describe it. */
static store_status
lock_job(db_conn *c, const store *s, const char *id, char *status, size_t cap,
         bool *cancel_requested)
{
    PGresult *res = NULL;
    const char *p[] = {id};
    db_status dst = store_exec(c, s, Q_LOCK, 1, p, &res);
    if (dst != DB_OK)
        return store_db(dst);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return ST_NOT_FOUND;
    }
    util_strlcpy(status, PQgetvalue(res, 0, 0), cap);
    if (cancel_requested)
        *cancel_requested = PQgetvalue(res, 0, 1)[0] == 't';
    PQclear(res);
    return ST_OK;
}

/* Begin, lock id, and check that its status is one of allowed (else
 * ST_CONFLICT with msg saying why, using verb). */
static store_status
begin_change(db_conn *c, const store *s, const char *id, const char *const *allowed,
             const char *verb, char *status, size_t cap, bool *cancel_requested, char *msg,
             size_t msglen)
{
    store_status st = store_db(db_begin(c));
    if (st == ST_OK)
        st = lock_job(c, s, id, status, cap, cancel_requested);
    if (st != ST_OK)
        return st;
    for (size_t i = 0; allowed[i]; i++)
        if (strcmp(status, allowed[i]) == 0)
            return ST_OK;
    snprintf(msg, msglen, "job %s is %s: %s", id, status, verb);
    return ST_CONFLICT;
}

/* Commit and hand back the changed job. */
static store_status
finish_change(db_conn *c, store_status st, json_object **job)
{
    if (st == ST_OK)
        st = store_db(db_commit(c));
    if (st != ST_OK) {
        json_object_put(*job);
        *job = NULL;
    }
    return store_done(c, true, st);
}

store_status
store_job_patch(store *s, const char *id, const job_patch *p, json_object **job, store_changes *ch,
                char *msg, size_t msglen)
{
    static const char *const waiting[] = {"pending", "queued", NULL};
    db_conn *c = NULL;
    char status[16], prio[8];
    store_status st;

    *job = NULL;
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    st = begin_change(c, s, id, waiting, "only a waiting (pending or queued) job can be changed",
                      status, sizeof(status), NULL, msg, msglen);
    if (st != ST_OK)
        return store_done(c, true, st);
    snprintf(prio, sizeof(prio), "%d", p->priority);
    const char *q[] = {id, p->has_priority ? prio : NULL,
                       p->has_config ? js_text(p->config, NULL) : NULL,
                       p->has_scheduled_at ? "true" : "false", p->scheduled_at};
    db_status dst = store_exec(c, s, Q_PATCH, 5, q, NULL);
    if (dst != DB_OK) {
        if (dst == DB_ERR_INVALID)
            snprintf(msg, msglen, "field 'scheduled_at': out of range");
        return store_done(c, true, store_db(dst));
    }
    const char *r[] = {id};
    st = store_exec_jobs(c, s, Q_REEVAL, 1, r, ch, job, NULL);
    return finish_change(c, st, job);
}

store_status
store_job_cancel(store *s, const char *id, json_object **job, store_changes *ch, char *msg,
                 size_t msglen)
{
    static const char *const open[] = {"pending", "queued", "running", NULL};
    db_conn *c = NULL;
    char status[16];
    bool requested = false;
    store_status st;
    const char *p[] = {id};

    *job = NULL;
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    st = begin_change(c, s, id, open, "only a pending, queued or running job can be cancelled",
                      status, sizeof(status), &requested, msg, msglen);
    if (st != ST_OK)
        return store_done(c, true, st);
    if (strcmp(status, "running") == 0 && requested) {
        st = store_exec_jobs(c, s, Q_GET, 1, p, NULL, job, NULL); /* asked already */
    } else if (strcmp(status, "running") == 0) {
        st = store_exec_jobs(c, s, Q_CANCEL_RUNNING, 1, p, ch, job, NULL);
    } else {
        st = store_exec_jobs(c, s, Q_CANCEL_WAITING, 1, p, ch, job, NULL);
        if (st == ST_OK)
            st = store_fail_dependents(c, s, id, "cancelled", ch);
    }
    return finish_change(c, st, job);
}

store_status
store_job_retry(store *s, const char *id, json_object **job, store_changes *ch, char *msg,
                size_t msglen)
{
    static const char *const ended[] = {"failed", "cancelled", NULL};
    db_conn *c = NULL;
    PGresult *res = NULL;
    char status[16];
    store_status st;
    const char *p[] = {id};

    *job = NULL;
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    st = begin_change(c, s, id, ended, "only a failed or cancelled job can be retried", status,
                      sizeof(status), NULL, msg, msglen);
    if (st != ST_OK)
        return store_done(c, true, st);
    db_status dst = store_exec(c, s, Q_DEPS, 1, p, &res);
    if (dst != DB_OK)
        return store_done(c, true, store_db(dst));
    for (int r = 0; r < PQntuples(res); r++) {
        const char *ds = PQgetvalue(res, r, 1);
        if (strcmp(ds, "failed") == 0 || strcmp(ds, "cancelled") == 0) {
            snprintf(msg, msglen, "job %s depends on job %s, which is %s: retry that one first", id,
                     PQgetvalue(res, r, 0), ds);
            PQclear(res);
            return store_done(c, true, ST_CONFLICT);
        }
    }
    PQclear(res);
    if ((dst = store_exec(c, s, Q_RETRY, 1, p, NULL)) != DB_OK)
        return store_done(c, true, store_db(dst));
    st = store_exec_jobs(c, s, Q_REEVAL, 1, p, ch, job, NULL);
    return finish_change(c, st, job);
}

store_status
store_job_event(store *s, const char *client_id, const char *job_id, json_object **event)
{
    db_conn *c = NULL;
    json_object *job = NULL;
    const char *p[] = {job_id, client_id};
    int n = 0;
    store_status st;

    *event = NULL;
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    st = store_exec_jobs(c, s, Q_EVENT, 2, p, NULL, &job, &n);
    if (st == ST_OK && n == 0)
        st = ST_NOT_FOUND;
    if (st == ST_OK)
        *event = store_event_of(job);
    json_object_put(job);
    return store_done(c, false, st);
}
