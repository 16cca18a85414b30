/* store_alerts: alerts and the facts their rules read; see store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"
#include "util.h"

#define MAX_JOBS  10000 /* a client's jobs finished in 24 h, read per evaluation */
#define MAX_USAGE 1000  /* providers of one business in one period */

static int64_t
num(PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

static void
at_of(int64_t now_ms, char at[UTIL_RFC3339_LEN + 1])
{
    struct timespec ts = {.tv_sec = (time_t)(now_ms / 1000),
                          .tv_nsec = (long)(now_ms % 1000) * 1000000L};
    util_rfc3339(&ts, at);
}

store_status
store_alert_raise(store *s, const char *type, const char *severity, const char *client_id,
                  const char *subject, const char *message, const char *details, const char *at,
                  bool *created, json_object **out)
{
    const char *p[] = {type, severity, client_id, subject, message, details, at};
    PGresult *res = NULL;
    store_status st = store_run1(s, &store_alert_sql[QA_RAISE], 7, p, &res);
    if (st == ST_OK && PQntuples(res) == 1) {
        *created = PQgetvalue(res, 0, 1)[0] == 't';
        if (out)
            *out = json_tokener_parse(PQgetvalue(res, 0, 0));
    } else if (st == ST_OK) {
        st = ST_ERROR;
    }
    PQclear(res);
    return st;
}

store_status
store_alert_resolve(store *s, const char *type, const char *subject, const char *at, bool *resolved)
{
    const char *p[] = {type, subject, at};
    PGresult *res = NULL;
    store_status st = store_run1(s, &store_alert_sql[QA_RESOLVE], 3, p, &res);
    *resolved = st == ST_OK && PQntuples(res) > 0;
    PQclear(res);
    return st;
}

store_status
store_alert_ack(store *s, const char *id, const char *who, const char *at, json_object **out)
{
    const char *p[] = {id, who, at};
    PGresult *res = NULL;
    store_status st = store_run1(s, &store_alert_sql[QA_ACK], 3, p, &res);
    st = store_first_json(st, res, out);
    if (st != ST_NOT_FOUND)
        return st;
    /* No open alert of that id: a resolved one, or none at all. */
    json_object *found = NULL;
    st = store_alert_get(s, id, &found);
    json_object_put(found);
    return st == ST_OK ? ST_CONFLICT : st;
}

store_status
store_alert_get(store *s, const char *id, json_object **out)
{
    const char *p[] = {id};
    PGresult *res = NULL;
    store_status st = store_run1(s, &store_alert_sql[QA_GET], 1, p, &res);
    return store_first_json(st, res, out);
}

store_status
store_alert_list(store *s, const store_alert_filter *f, long limit, long offset, json_object **page)
{
    char l[24], o[24];
    PGresult *rows = NULL, *total = NULL;
    db_conn *c = NULL;
    bool in_tx = false;
    snprintf(l, sizeof(l), "%ld", limit);
    snprintf(o, sizeof(o), "%ld", offset);
    const char *p[] = {f->status, f->severity, f->client_id, f->type, l, o};
    store_status st = store_map(db_acquire(s->pool, STORE_WAIT_MS, &c));
    if (st == ST_OK && (st = store_snapshot(c)) == ST_OK)
        in_tx = true; /* the page and its total agree */
    if (st == ST_OK)
        st = store_run(c, &store_alert_sql[QA_LIST], 6, p, &rows);
    if (st == ST_OK)
        st = store_run(c, &store_alert_sql[QA_COUNT], 4, p, &total);
    if (st == ST_OK)
        *page = store_page(rows, strtol(PQgetvalue(total, 0, 0), NULL, 10), limit, offset);
    if (in_tx)
        db_rollback(c);
    PQclear(rows);
    PQclear(total);
    db_release(c);
    return st;
}

store_status
store_alert_open(store *s, const char *after, long max, json_object **keys)
{
    char m[24];
    PGresult *res = NULL;
    snprintf(m, sizeof(m), "%ld", max);
    const char *p[] = {after ? after : "00000000-0000-0000-0000-000000000000", m};
    store_status st = store_run1(s, &store_alert_sql[QA_OPEN], 2, p, &res);
    if (st == ST_OK) {
        *keys = json_object_new_array();
        for (int i = 0; i < PQntuples(res); i++) {
            json_object *k = json_object_new_object();
            json_object_object_add(k, "id", json_object_new_string(PQgetvalue(res, i, 0)));
            json_object_object_add(k, "type", json_object_new_string(PQgetvalue(res, i, 1)));
            json_object_object_add(k, "subject", json_object_new_string(PQgetvalue(res, i, 2)));
            json_object_array_add(*keys, k);
        }
    }
    PQclear(res);
    return st;
}

store_status
store_alert_scores(store *s, const char *client_id, int64_t now_ms, alert_scores *out)
{
    char at[UTIL_RFC3339_LEN + 1];
    PGresult *res = NULL;
    at_of(now_ms, at);
    const char *p[] = {client_id, at};
    store_status st = store_run1(s, &store_alert_sql[QA_SCORES], 2, p, &res);
    if (st == ST_OK && PQntuples(res) == 1)
        *out = (alert_scores){(int)num(res, 0, 0), num(res, 0, 1), (int)num(res, 0, 2),
                              num(res, 0, 3)};
    else if (st == ST_OK)
        st = ST_ERROR;
    PQclear(res);
    return st;
}

store_status
store_alert_jobs(store *s, const char *client_id, int64_t now_ms, alert_job **jobs, size_t *n)
{
    char at[UTIL_RFC3339_LEN + 1], max[24];
    PGresult *res = NULL;
    at_of(now_ms, at);
    snprintf(max, sizeof(max), "%d", MAX_JOBS);
    const char *p[] = {client_id, at, max};
    *jobs = NULL;
    *n = 0;
    store_status st = store_run1(s, &store_alert_sql[QA_JOBS], 3, p, &res);
    if (st == ST_OK) {
        int rows = PQntuples(res);
        *jobs = calloc(rows > 0 ? (size_t)rows : 1, sizeof(**jobs));
        if (!*jobs)
            st = ST_ERROR;
        for (int i = 0; *jobs && i < rows; i++)
            (*jobs)[i] = (alert_job){num(res, i, 0), PQgetvalue(res, i, 1)[0] == 't'};
        if (*jobs)
            *n = (size_t)rows;
    }
    PQclear(res);
    return st;
}

static alert_check_status
check_status_of(const char *s)
{
    if (strcmp(s, "unhealthy") == 0)
        return CHECK_UNHEALTHY;
    return strcmp(s, "degraded") == 0 ? CHECK_DEGRADED : CHECK_HEALTHY;
}

store_status
store_alert_checks(store *s, const char *integration_id, alert_check *checks, size_t max, size_t *n,
                   char client_id[37])
{
    char m[24];
    PGresult *res = NULL;
    snprintf(m, sizeof(m), "%zu", max);
    const char *p[] = {integration_id, m};
    *n = 0;
    client_id[0] = '\0';
    store_status st = store_run1(s, &store_alert_sql[QA_CHECKS], 2, p, &res);
    for (int i = 0; st == ST_OK && i < PQntuples(res) && (size_t)i < max; i++) {
        checks[i] = (alert_check){check_status_of(PQgetvalue(res, i, 0)), num(res, i, 1)};
        *n = (size_t)i + 1;
    }
    if (st == ST_OK && *n > 0)
        util_strlcpy(client_id, PQgetvalue(res, 0, 2), 37);
    PQclear(res);
    return st;
}

static alert_run_status
run_status_of(const char *s)
{
    if (strcmp(s, "failed") == 0)
        return RUN_FAILED;
    return strcmp(s, "partial") == 0 ? RUN_PARTIAL : RUN_COMPLETED;
}

store_status
store_alert_runs(store *s, const char *client_id, const char *source_type, alert_run *runs,
                 size_t max, size_t *n)
{
    char m[24];
    PGresult *res = NULL;
    snprintf(m, sizeof(m), "%zu", max);
    const char *p[] = {client_id && *client_id ? client_id : NULL, source_type, m};
    *n = 0;
    store_status st = store_run1(s, &store_alert_sql[QA_RUNS], 3, p, &res);
    for (int i = 0; st == ST_OK && i < PQntuples(res) && (size_t)i < max; i++) {
        runs[i] = (alert_run){run_status_of(PQgetvalue(res, i, 0)), num(res, i, 1), ""};
        /* 48 characters at most: within the buffer, and whole characters. */
        util_strlcpy(runs[i].error, PQgetvalue(res, i, 2), sizeof(runs[i].error));
        *n = (size_t)i + 1;
    }
    PQclear(res);
    return st;
}

store_status
store_alert_run_source(store *s, const char *run_id, char *source_type, size_t cap)
{
    const char *p[] = {run_id};
    PGresult *res = NULL;
    store_status st = store_run1(s, &store_alert_sql[QA_RUN_SOURCE], 1, p, &res);
    if (st == ST_OK && PQntuples(res) == 0)
        st = ST_NOT_FOUND;
    if (st == ST_OK && util_strlcpy(source_type, PQgetvalue(res, 0, 0), cap) >= cap)
        st = ST_ERROR; /* longer than any subject may be */
    PQclear(res);
    return st;
}

store_status
store_alert_usage(store *s, const char *business_id, int64_t now_ms, alert_usage **rows, size_t *n,
                  char client_id[37])
{
    char period[8], max[24];
    PGresult *res = NULL;
    alert_period_of(now_ms / 1000, period);
    snprintf(max, sizeof(max), "%d", MAX_USAGE);
    const char *p[] = {business_id, period, max};
    *rows = NULL;
    *n = 0;
    client_id[0] = '\0';
    store_status st = store_run1(s, &store_alert_sql[QA_USAGE], 3, p, &res);
    if (st == ST_OK) {
        int k = PQntuples(res);
        *rows = calloc(k > 0 ? (size_t)k : 1, sizeof(**rows));
        if (!*rows)
            st = ST_ERROR;
        for (int i = 0; *rows && i < k; i++) {
            alert_usage *u = &(*rows)[i];
            util_strlcpy(u->period, PQgetvalue(res, i, 0), sizeof(u->period));
            u->cost = num(res, i, 1);
            u->budget = num(res, i, 2);
            u->reported_at = num(res, i, 3);
            /* Newest first: the first report naming a client names it. */
            if (!client_id[0] && !PQgetisnull(res, i, 4))
                util_strlcpy(client_id, PQgetvalue(res, i, 4), 37);
        }
        if (*rows)
            *n = (size_t)k;
    }
    PQclear(res);
    return st;
}
