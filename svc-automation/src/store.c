/* store: the job API's SQL (create, read, list, change, cancel, retry,
 * statistics) and what the queue's statements share; see store.h. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_internal.h"
#include "util.h"

#define TS(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

typedef enum { C_STR, C_INT, C_BOOL, C_DOUBLE, C_JSON } col_kind;

/* One table gives the SELECT list and how each column is rendered. */
static const struct {
    const char *name;
    col_kind kind;
    const char *sql;
} job_cols[] = {
    {"id", C_STR, "j.id"},
    {"client_id", C_STR, "j.client_id"},
    {"job_type", C_STR, "j.job_type"},
    {"status", C_STR, "j.status"},
    {"priority", C_INT, "j.priority"},
    {"config", C_JSON, "j.config"},
    {"result", C_JSON, "j.result"},
    {"error", C_JSON, "j.error"},
    {"progress", C_INT, "j.progress"},
    {"progress_message", C_STR, "j.progress_message"},
    {"attempt", C_INT, "j.attempt"},
    {"max_attempts", C_INT, "j.max_attempts"},
    {"depends_on", C_JSON,
     "(SELECT coalesce(json_agg(d.depends_on ORDER BY d.depends_on), '[]') "
     "FROM automation.job_dependencies d WHERE d.job_id = j.id)"},
    {"scheduled_at", C_STR, TS("j.scheduled_at")},
    {"run_after", C_STR, TS("j.run_after")},
    {"worker_id", C_STR, "j.worker_id"},
    {"lease_expires_at", C_STR, TS("j.lease_expires_at")},
    {"cancel_requested", C_BOOL, "j.cancel_requested"},
    {"idempotency_key", C_STR, "j.idempotency_key"},
    {"created_at", C_STR, TS("j.created_at")},
    {"updated_at", C_STR, TS("j.updated_at")},
    {"started_at", C_STR, TS("j.started_at")},
    {"completed_at", C_STR, TS("j.completed_at")},
    {"duration_seconds", C_DOUBLE, "j.duration_seconds"},
    {"seq", C_INT, "j.seq"},
};
#define NCOLS (sizeof(job_cols) / sizeof(job_cols[0]))

store *
store_new(db_pool *pool, const job_retry_policy *retry)
{
    store *s = calloc(1, sizeof(*s));
    size_t cap = 64;
    if (!s)
        return NULL;
    store_batch_init(s);
    for (size_t i = 0; i < NCOLS; i++)
        cap += strlen(job_cols[i].sql) + 2;
    s->cols = malloc(cap);
    if (!s->cols) {
        store_free(s);
        return NULL;
    }
    size_t len = 0;
    for (size_t i = 0; i < NCOLS; i++)
        len += (size_t)snprintf(s->cols + len, cap - len, "%s%s", i ? ", " : "", job_cols[i].sql);
    for (int q = 0; q < Q_COUNT_STMTS; q++) {
        size_t n = strlen(store_sql_text[q]) + 2 * len + 1;
        s->sql[q] = malloc(n);
        if (!s->sql[q]) {
            store_free(s);
            return NULL;
        }
        /* The format is one of ours, from store_sql.c, never input. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
        snprintf(s->sql[q], n, store_sql_text[q], s->cols, s->cols);
#pragma GCC diagnostic pop
    }
    s->pool = pool;
    s->retry = *retry;
    util_now_rfc3339(s->last_sweep);
    return s;
}

void
store_free(store *s)
{
    if (!s)
        return;
    for (int q = 0; q < Q_COUNT_STMTS; q++)
        free(s->sql[q]);
    free(s->cols);
    store_batch_destroy(s);
    free(s);
}

const char *
store_cols(const store *s)
{
    return s->cols;
}

const char *
store_status_name(store_status st)
{
    switch (st) {
    case ST_OK:
        return "ok";
    case ST_NOT_FOUND:
        return "not_found";
    case ST_CONFLICT:
        return "conflict";
    case ST_INVALID:
        return "invalid";
    case ST_UNAVAILABLE:
        return "unavailable";
    default:
        return "error";
    }
}

store_status
store_db(db_status st)
{
    switch (st) {
    case DB_OK:
        return ST_OK;
    case DB_ERR_UNAVAILABLE:
    case DB_ERR_TIMEOUT:
    case DB_ERR_SERIALIZATION:
        return ST_UNAVAILABLE;
    case DB_ERR_INVALID:
        return ST_INVALID;
    default:
        return ST_ERROR;
    }
}

void
store_changes_init(store_changes *c)
{
    c->events = NULL;
    c->wake = 0;
}

void
store_changes_clear(store_changes *c)
{
    json_object_put(c->events);
    store_changes_init(c);
}

json_object *
store_render(const PGresult *res, int row, int off)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; o && i < NCOLS; i++) {
        int col = off + (int)i;
        json_object *v = NULL;
        if (!PQgetisnull(res, row, col)) {
            const char *t = PQgetvalue(res, row, col);
            switch (job_cols[i].kind) {
            case C_STR:
                v = json_object_new_string(t);
                break;
            case C_INT:
                v = json_object_new_int64(strtoll(t, NULL, 10));
                break;
            case C_BOOL:
                v = json_object_new_boolean(t[0] == 't');
                break;
            case C_DOUBLE:
                v = json_object_new_double(strtod(t, NULL));
                break;
            case C_JSON:
                v = json_tokener_parse(t);
                break;
            }
        }
        json_object_object_add(o, job_cols[i].name, v);
    }
    return o;
}

json_object *
store_event_of(json_object *job)
{
    static const char *const keep[] = {"job_id",  "client_id", "job_type",   "status", "progress",
                                       "attempt", "error",     "updated_at", "seq",    NULL};
    json_object *e = json_object_new_object();
    json_object_object_add(e, "type", json_object_new_string("job_update"));
    for (size_t i = 0; keep[i]; i++) {
        json_object *v = NULL;
        json_object_object_get_ex(job, i == 0 ? "id" : keep[i], &v);
        json_object_object_add(e, keep[i], json_object_get(v));
    }
    return e;
}

void
store_changed(store_changes *ch, json_object *job)
{
    json_object *v = NULL;
    if (!ch->events)
        ch->events = json_object_new_array();
    json_object_array_add(ch->events, store_event_of(job));
    if (json_object_object_get_ex(job, "status", &v)
        && strcmp(json_object_get_string(v), "queued") == 0) {
        json_object *ra = NULL, *ty = NULL;
        json_object_object_get_ex(job, "job_type", &ty);
        /* A retry waiting out its back-off is woken for by the sweep. */
        if (!json_object_object_get_ex(job, "run_after", &ra) || !ra) {
            int i = job_type_index(json_object_get_string(ty));
            if (i >= 0)
                ch->wake |= 1u << i;
        }
    }
}

db_status
store_exec(db_conn *c, const store *s, store_q q, int n, const char *const *params, PGresult **res)
{
    return db_exec_prepared(c, store_sql_name[q], s->sql[q], n, params, res);
}

store_status
store_exec_jobs(db_conn *c, const store *s, store_q q, int n, const char *const *params,
                store_changes *ch, json_object **first, int *count)
{
    PGresult *res = NULL;
    db_status st = store_exec(c, s, q, n, params, &res);
    if (st != DB_OK) {
        log_msg(
            LOGL_WARN,
            LOG_FIELDS(LF_STR("statement", store_sql_name[q]), LF_STR("error", db_last_error(c))),
            "job statement failed");
        return store_db(st);
    }
    int rows = PQntuples(res);
    for (int i = 0; i < rows; i++) {
        json_object *job = store_render(res, i, 0);
        if (ch)
            store_changed(ch, job);
        if (first && i == 0)
            *first = job;
        else
            json_object_put(job);
    }
    if (count)
        *count = rows;
    PQclear(res);
    return ST_OK;
}

store_status
store_fail_dependents(db_conn *c, const store *s, const char *id, const char *how,
                      store_changes *ch)
{
    const char *p[] = {id, how};
    return store_exec_jobs(c, s, Q_FAIL_DEPENDENTS, 2, p, ch, NULL, NULL);
}

store_status
store_promote_dependents(db_conn *c, const store *s, const char *id, store_changes *ch)
{
    const char *p[] = {id};
    return store_exec_jobs(c, s, Q_PROMOTE_DEPENDENTS, 1, p, ch, NULL, NULL);
}

store_status
store_acquire(store *s, db_conn **c)
{
    return store_db(db_acquire(s->pool, STORE_WAIT_MS, c));
}

/* Roll back (when in a transaction), release, and pass st on. */
store_status
store_done(db_conn *c, bool in_tx, store_status st)
{
    if (c && in_tx && st != ST_OK)
        db_rollback(c);
    db_release(c);
    return st;
}
