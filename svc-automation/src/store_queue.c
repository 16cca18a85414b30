/* store_queue: the worker protocol's SQL (claim, progress, complete,
 * release) and the periodic sweep; see store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_internal.h"
#include "util.h"

/* The text parameters of a claim: the job types as an array literal, max,
 * and the lease. */
typedef struct claim_params {
    char types[256], max[12], lease[12];
} claim_params;

void
store_claim_types(unsigned types, char *out, size_t cap)
{
    size_t len = (size_t)snprintf(out, cap, "{");
    for (int i = 0; job_types[i]; i++)
        if (types & (1u << i))
            len += (size_t)snprintf(out + len, cap - len, "%s%s", len > 1 ? "," : "", job_types[i]);
    snprintf(out + len, cap - len, "}");
}

static void
claim_params_of(const store_claim_req *req, claim_params *cp)
{
    store_claim_types(req->types, cp->types, sizeof(cp->types));
    snprintf(cp->max, sizeof(cp->max), "%d", req->max);
    snprintf(cp->lease, sizeof(cp->lease), "%d", req->lease_seconds);
}

void
store_take_claimed(const PGresult *res, int r, int wcol, json_object **jobs, double *waits,
                   store_changes *ch)
{
    json_object *job = store_render(res, r, 0);
    if (!*jobs)
        *jobs = json_object_new_array();
    if (waits)
        waits[json_object_array_length(*jobs)] =
            PQgetisnull(res, r, wcol) ? 0 : strtod(PQgetvalue(res, r, wcol), NULL);
    store_changed(ch, job);
    json_object_array_add(*jobs, job);
}

/* Q_CLAIM on c (in its transaction, if any). */
static store_status
claim_on(db_conn *c, store *s, const store_claim_req *req, json_object **jobs, double *waits,
         store_changes *ch)
{
    PGresult *res = NULL;
    claim_params cp = {0};
    claim_params_of(req, &cp);
    const char *p[] = {cp.types, cp.max, req->worker_id, cp.lease};
    db_status dst = store_exec(c, s, Q_CLAIM, 4, p, &res);
    if (dst != DB_OK) {
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("error", db_last_error(c))), "claim failed");
        return store_db(dst);
    }
    *jobs = json_object_new_array_ext(PQntuples(res));
    for (int r = 0; r < PQntuples(res); r++)
        store_take_claimed(res, r, PQnfields(res) - 1, jobs, waits, ch);
    PQclear(res);
    return ST_OK;
}

store_status
store_claim_one(store *s, const store_claim_req *req, json_object **jobs, double *waits,
                store_changes *ch)
{
    db_conn *c = NULL;
    store_status st;

    *jobs = NULL;
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    return store_done(c, false, claim_on(c, s, req, jobs, waits, ch));
}

store_status
store_claim(store *s, const store_claim_req *req, json_object **jobs, double *waits,
            store_changes *ch)
{
    *jobs = NULL;
    return store_complete_batched(s, NULL, NULL, NULL, req, jobs, waits, ch, NULL);
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

/* Q_COMPLETE, or Q_COMPLETE_CLAIM with claim, as one statement on c. */
static store_status
complete_on(db_conn *c, store *s, const char *const *p, const store_claim_req *claim,
            json_object **claimed, double *waits, store_changes *ch, double *duration_s,
            bool *dependents)
{
    PGresult *res = NULL;
    claim_params cp = {0};
    const char *q[7] = {p[0], p[1], p[2]};
    db_status dst;
    int done = -1;

    if (claim) {
        claim_params_of(claim, &cp);
        q[3] = cp.types;
        q[4] = cp.max;
        q[5] = claim->worker_id;
        q[6] = cp.lease;
        dst =
            store_exec(c, s, claim->max == 1 ? Q_COMPLETE_CLAIM_ONE : Q_COMPLETE_CLAIM, 7, q, &res);
    } else {
        dst = store_exec(c, s, Q_COMPLETE, 3, q, &res);
    }
    if (dst != DB_OK) {
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("error", db_last_error(c))), "completion failed");
        return store_db(dst);
    }
    /* Q_COMPLETE_CLAIM: job columns, dependents, wait, claimed. */
    int nf = PQnfields(res), dcol = claim ? nf - 3 : nf - 1;
    for (int r = 0; r < PQntuples(res) && done < 0; r++)
        if (!claim || PQgetvalue(res, r, nf - 1)[0] != 't')
            done = r;
    if (done < 0) {
        PQclear(res);
        return ST_CONFLICT;
    }
    json_object *job = store_render(res, done, 0), *d = NULL;
    *dependents = PQgetvalue(res, done, dcol)[0] == 't';
    /* The completion's event first, then those of the jobs claimed after it. */
    store_changed(ch, job);
    for (int r = 0; claim && r < PQntuples(res); r++)
        if (r != done)
            store_take_claimed(res, r, nf - 2, claimed, waits, ch);
    PQclear(res);
    if (json_object_object_get_ex(job, "duration_seconds", &d) && d)
        *duration_s = json_object_get_double(d);
    json_object_put(job);
    return ST_OK;
}

store_status
store_complete_one(store *s, const char *id, const char *attempt, json_object *result,
                   const store_claim_req *claim, json_object **claimed, double *waits,
                   store_changes *ch, double *duration_s)
{
    db_conn *c = NULL;
    bool dependents = false;
    store_status st;

    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    const char *p[] = {id, attempt, result ? js_text(result, NULL) : NULL};
    st = complete_on(c, s, p, claim, claimed, waits, ch, duration_s, &dependents);
    /* After the commit above, so that the last of several dependencies to
     * complete sees all of them completed. The completion (and any claim)
     * stands if this fails: the sweep queues those dependents then. */
    if (st == ST_OK && dependents && store_promote_dependents(c, s, id, ch) != ST_OK)
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("job_id", id)),
                "dependents not queued at once; the sweep will");
    return store_done(c, false, st);
}

store_status
store_complete(store *s, const char *id, int attempt, bool completed, json_object *result,
               const char *error, bool retryable, const store_claim_req *claim,
               json_object **claimed, double *waits, store_changes *ch, double *duration_s)
{
    db_conn *c = NULL;
    char att[12];
    store_status st;

    *duration_s = -1;
    if (claimed)
        *claimed = NULL;
    else
        claim = NULL;
    snprintf(att, sizeof(att), "%d", attempt);
    if (completed)
        return store_complete_batched(s, id, att, result, claim, claimed, waits, ch, duration_s);
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    if ((st = store_db(db_begin(c))) != ST_OK)
        return store_done(c, false, st);
    st = attempt_failed(c, s, id, att, "failed", error, retryable, ch, duration_s);
    if (st == ST_OK && claim)
        st = claim_on(c, s, claim, claimed, waits, ch);
    if (st == ST_OK)
        st = store_db(db_commit(c));
    if (st != ST_OK && claimed) {
        json_object_put(*claimed);
        *claimed = NULL;
    }
    return store_done(c, true, st);
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
