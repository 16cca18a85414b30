/* store_queue: the worker protocol's SQL (claim, progress, complete,
 * release) and the periodic sweep; see store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_internal.h"
#include "util.h"

store_status
store_claim(store *s, const char *worker_id, unsigned types, int max, int lease_seconds,
            json_object **jobs, double *waits, store_changes *ch)
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    char arr[256], maxs[12], lease[12];
    size_t len = (size_t)snprintf(arr, sizeof(arr), "{");
    store_status st;

    *jobs = NULL;
    for (int i = 0; job_types[i]; i++)
        if (types & (1u << i))
            len += (size_t)snprintf(arr + len, sizeof(arr) - len, "%s%s", len > 1 ? "," : "",
                                    job_types[i]);
    snprintf(arr + len, sizeof(arr) - len, "}");
    snprintf(maxs, sizeof(maxs), "%d", max);
    snprintf(lease, sizeof(lease), "%d", lease_seconds);
    const char *p[] = {arr, maxs, worker_id, lease};
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    db_status dst = store_exec(c, s, Q_CLAIM, 4, p, &res);
    if (dst != DB_OK) {
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("error", db_last_error(c))), "claim failed");
        return store_done(c, false, store_db(dst));
    }
    int rows = PQntuples(res), wcol = PQnfields(res) - 1;
    *jobs = json_object_new_array_ext(rows);
    for (int r = 0; r < rows; r++) {
        json_object *job = store_render(res, r, 0);
        if (waits)
            waits[r] = PQgetisnull(res, r, wcol) ? 0 : strtod(PQgetvalue(res, r, wcol), NULL);
        store_changed(ch, job);
        json_object_array_add(*jobs, job);
    }
    PQclear(res);
    return store_done(c, false, ST_OK);
}

/* The job was cancelled while running and its worker just heard of it. */
static store_status
cancel_at_progress(store *s, const char *id, const char *attempt, store_changes *ch)
{
    db_conn *c = NULL;
    json_object *job = NULL;
    int n = 0;
    const char *p[] = {id, attempt};
    store_status st = store_acquire(s, &c);
    if (st != ST_OK)
        return st;
    if ((st = store_db(db_begin(c))) != ST_OK)
        return store_done(c, false, st);
    st = store_exec_jobs(c, s, Q_CANCEL_AT_PROGRESS, 2, p, ch, &job, &n);
    if (st == ST_OK && n > 0)
        st = store_fail_dependents(c, s, id, "cancelled", ch);
    json_object_put(job);
    if (st == ST_OK)
        st = store_db(db_commit(c));
    return store_done(c, true, st);
}

store_status
store_progress(store *s, const char *id, int attempt, bool has_progress, int progress,
               const char *message, bool *cancelled, store_changes *ch)
{
    db_conn *c = NULL;
    json_object *job = NULL, *v = NULL;
    char att[12], prog[8];
    int n = 0;
    store_status st;

    *cancelled = false;
    snprintf(att, sizeof(att), "%d", attempt);
    snprintf(prog, sizeof(prog), "%d", progress);
    const char *p[] = {id, att, has_progress ? prog : NULL, has_progress ? message : NULL};
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    /* A renewal alone changes nothing anyone watches: no event. */
    st = store_exec_jobs(c, s, Q_PROGRESS, 4, p, has_progress ? ch : NULL, &job, &n);
    store_done(c, false, st);
    if (st != ST_OK)
        return st;
    if (n == 0)
        return ST_CONFLICT;
    bool requested =
        json_object_object_get_ex(job, "cancel_requested", &v) && json_object_get_boolean(v);
    json_object_put(job);
    if (!requested)
        return ST_OK;
    st = cancel_at_progress(s, id, att, ch);
    *cancelled = st == ST_OK;
    return st;
}

/* A failed attempt: retried after a back-off (or at once when lost), or the
 * job fails for good and so do the jobs waiting for it. In c's transaction. */
static store_status
attempt_failed(db_conn *c, store *s, const char *id, const char *att, const char *outcome,
               const char *message, bool retryable, store_changes *ch, double *duration_s)
{
    PGresult *res = NULL;
    json_object *job = NULL, *err = json_object_new_object();
    const char *p[] = {id, att};
    char backoff[24];
    store_status st;

    db_status dst = store_exec(c, s, Q_LOCK_RUNNING, 2, p, &res);
    if (dst != DB_OK) {
        json_object_put(err);
        return store_db(dst);
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        json_object_put(err);
        return ST_CONFLICT;
    }
    int counted = (int)strtol(PQgetvalue(res, 0, 0), NULL, 10);
    int max = (int)strtol(PQgetvalue(res, 0, 1), NULL, 10);
    PQclear(res);
    json_object_object_add(err, "message", json_object_new_string(message));
    json_object_object_add(err, "retryable", json_object_new_boolean(retryable));
    const char *errtext = js_text(err, NULL);
    if (job_after_failure(retryable, counted, max) == JOB_AFTER_RETRY) {
        /* A lost lease is retried at once: the work did not fail, the worker did. */
        int64_t ms = strcmp(outcome, "lost") == 0
                         ? 0
                         : job_backoff_ms(&s->retry, counted, (double)(random() % 1000000) / 1e6);
        snprintf(backoff, sizeof(backoff), "%lld", (long long)ms);
        const char *q[] = {id, att, backoff, errtext};
        st = store_exec_jobs(c, s, Q_RETRY_LATER, 4, q, ch, &job, NULL);
    } else {
        const char *q[] = {id, att, errtext};
        st = store_exec_jobs(c, s, Q_FAIL, 3, q, ch, &job, NULL);
        if (st == ST_OK)
            st = store_fail_dependents(c, s, id, "failed", ch);
    }
    if (st == ST_OK && duration_s) {
        json_object *d = NULL;
        *duration_s = json_object_object_get_ex(job, "duration_seconds", &d) && d
                          ? json_object_get_double(d)
                          : -1;
    }
    json_object_put(job);
    if (st == ST_OK) {
        const char *q[] = {id, att, outcome, errtext};
        st = store_db(store_exec(c, s, Q_ATTEMPT_END, 4, q, NULL));
    }
    json_object_put(err);
    return st;
}

store_status
store_complete(store *s, const char *id, int attempt, bool completed, json_object *result,
               const char *error, bool retryable, store_changes *ch, double *duration_s)
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    char att[12];
    store_status st;

    *duration_s = -1;
    snprintf(att, sizeof(att), "%d", attempt);
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    if (!completed) {
        if ((st = store_db(db_begin(c))) != ST_OK)
            return store_done(c, false, st);
        st = attempt_failed(c, s, id, att, "failed", error, retryable, ch, duration_s);
        if (st == ST_OK)
            st = store_db(db_commit(c));
        return store_done(c, true, st);
    }
    const char *p[] = {id, att, result ? js_text(result, NULL) : NULL};
    db_status dst = store_exec(c, s, Q_COMPLETE, 3, p, &res);
    if (dst != DB_OK)
        return store_done(c, false, store_db(dst));
    if (PQntuples(res) == 0) {
        PQclear(res);
        return store_done(c, false, ST_CONFLICT);
    }
    json_object *job = store_render(res, 0, 0), *d = NULL;
    bool dependents = PQgetvalue(res, 0, PQnfields(res) - 1)[0] == 't';
    PQclear(res);
    store_changed(ch, job);
    if (json_object_object_get_ex(job, "duration_seconds", &d) && d)
        *duration_s = json_object_get_double(d);
    json_object_put(job);
    /* After the commit above, so that the last of several dependencies to
     * complete sees all of them completed. */
    if (dependents)
        st = store_promote_dependents(c, s, id, ch);
    return store_done(c, false, st);
}

store_status
store_release(store *s, const char *id, int attempt, const char *reason, store_changes *ch)
{
    db_conn *c = NULL;
    json_object *job = NULL, *v = NULL;
    char att[12];
    int n = 0;
    store_status st;

    snprintf(att, sizeof(att), "%d", attempt);
    const char *p[] = {id, att, reason ? reason : "released by its worker"};
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    if ((st = store_db(db_begin(c))) != ST_OK)
        return store_done(c, false, st);
    st = store_exec_jobs(c, s, Q_RELEASE, 3, p, ch, &job, &n);
    if (st == ST_OK && n == 0)
        st = ST_CONFLICT;
    if (st == ST_OK && json_object_object_get_ex(job, "status", &v)
        && strcmp(json_object_get_string(v), "cancelled") == 0)
        st = store_fail_dependents(c, s, id, "cancelled", ch);
    json_object_put(job);
    if (st == ST_OK)
        st = store_db(db_commit(c));
    return store_done(c, true, st);
}

/* Requeue (or fail) the jobs whose lease expired. */
static store_status
sweep_leases(db_conn *c, store *s, store_changes *ch, int *n)
{
    PGresult *res = NULL;
    db_status dst = store_exec(c, s, Q_EXPIRED, 0, NULL, &res);
    if (dst != DB_OK)
        return store_db(dst);
    store_status st = ST_OK;
    for (int r = 0; r < PQntuples(res) && st == ST_OK; r++) {
        const char *id = PQgetvalue(res, r, 0);
        st = attempt_failed(c, s, id, PQgetvalue(res, r, 1), "lost",
                            "lease expired: the worker stopped reporting", true, ch, NULL);
        if (st == ST_OK) {
            log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("job_id", id)), "job lease expired");
            (*n)++;
        }
    }
    PQclear(res);
    return st;
}

store_status
store_sweep(store *s, store_changes *ch, int *n)
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    int k = 0;
    store_status st;

    *n = 0;
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    if ((st = store_db(db_begin(c))) != ST_OK)
        return store_done(c, false, st);
    st = sweep_leases(c, s, ch, n);
    if (st == ST_OK)
        st = store_exec_jobs(c, s, Q_FAIL_ORPHANS, 0, NULL, ch, NULL, &k);
    *n += k;
    if (st == ST_OK)
        st = store_exec_jobs(c, s, Q_PROMOTE_DUE, 0, NULL, ch, NULL, &k);
    *n += k;
    if (st == ST_OK) {
        const char *p[] = {s->last_sweep};
        db_status dst = store_exec(c, s, Q_BACKOFF_ENDED, 1, p, &res);
        st = store_db(dst);
        for (int r = 0; st == ST_OK && r < PQntuples(res); r++) {
            int i = job_type_index(PQgetvalue(res, r, 0));
            if (i >= 0)
                ch->wake |= 1u << i;
        }
        PQclear(res);
        res = NULL;
    }
    if (st == ST_OK && store_exec(c, s, Q_NOW, 0, NULL, &res) == DB_OK) {
        /* Only this thread sweeps, so last_sweep needs no lock. */
        util_strlcpy(s->last_sweep, PQgetvalue(res, 0, 0), sizeof(s->last_sweep));
        PQclear(res);
    }
    if (st == ST_OK)
        st = store_db(db_commit(c));
    return store_done(c, true, st);
}

store_status
store_queue_depth(store *s, long counts[6])
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    store_status st;

    for (int i = 0; i < 6; i++)
        counts[i] = 0;
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    db_status dst = store_exec(c, s, Q_DEPTH, 0, NULL, &res);
    if (dst != DB_OK)
        return store_done(c, false, store_db(dst));
    for (int r = 0; r < PQntuples(res); r++)
        for (int i = 0; job_statuses[i]; i++)
            if (strcmp(PQgetvalue(res, r, 0), job_statuses[i]) == 0)
                counts[i] = strtol(PQgetvalue(res, r, 1), NULL, 10);
    PQclear(res);
    return store_done(c, false, ST_OK);
}
