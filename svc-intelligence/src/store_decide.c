/* store_decide: the facts of a decision, the decisions kept, the clients of
 * the schedule recommendations; see store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"
#include "util.h"

static int
int_at(PGresult *r, int col)
{
    return PQgetisnull(r, 0, col) ? 0 : (int)strtol(PQgetvalue(r, 0, col), NULL, 10);
}

store_status
store_decide_facts_get(store *s, const char *client_id, const char *job_type, int64_t now,
                       store_decide_facts *out)
{
    char at[UTIL_RFC3339_LEN + 1];
    struct timespec ts = {.tv_sec = (time_t)now, .tv_nsec = 0};
    PGresult *res = NULL;
    util_rfc3339(&ts, at);
    const char *p[] = {client_id, job_type, at};
    memset(out, 0, sizeof(*out));
    store_status st = store_run1(s, &store_decide_sql[QD_FACTS], 3, p, &res);
    if (st == ST_OK && PQntuples(res) == 0)
        st = ST_NOT_FOUND;
    if (st == ST_OK) {
        util_strlcpy(out->timezone, PQgetvalue(res, 0, 0), sizeof(out->timezone));
        util_strlcpy(out->health, PQgetvalue(res, 0, 1), sizeof(out->health));
        out->integrations = int_at(res, 2);
        out->unhealthy = int_at(res, 3);
        out->degraded = int_at(res, 4);
        out->failures_7d = int_at(res, 5);
        out->failures_24h = int_at(res, 6);
        util_strlcpy(out->last_error, PQgetvalue(res, 0, 7), sizeof(out->last_error));
    }
    PQclear(res);
    return st;
}

store_status
store_decision_save(store *s, const store_decision_in *d, json_object **out)
{
    const char *p[] = {d->client_id, d->context,       d->job_type,   d->decision,    d->request,
                       d->response,  d->scheduled_for, d->confidence, d->requested_by};
    PGresult *res = NULL;
    store_status st = store_run1(s, &store_decide_sql[QD_INSERT], 9, p, &res);
    return store_first_json(st, res, out);
}

store_status
store_decision_get(store *s, const char *id, json_object **out)
{
    const char *p[] = {id};
    PGresult *res = NULL;
    store_status st = store_run1(s, &store_decide_sql[QD_GET], 1, p, &res);
    return store_first_json(st, res, out);
}

/* A page of rows (first column JSON) and their total, on one connection. */
static store_status
page_of(store *s, const store_stmt *list, const store_stmt *count, const char *const *p, int n,
        long limit, long offset, json_object **page)
{
    PGresult *rows = NULL, *total = NULL;
    db_conn *c = NULL;
    store_status st = store_map(db_acquire(s->pool, STORE_WAIT_MS, &c));
    if (st == ST_OK)
        st = store_run(c, list, n + 2, p, &rows);
    if (st == ST_OK)
        st = store_run(c, count, n, p, &total);
    if (st == ST_OK)
        *page = store_page(rows, strtol(PQgetvalue(total, 0, 0), NULL, 10), limit, offset);
    PQclear(rows);
    PQclear(total);
    db_release(c);
    return st;
}

store_status
store_decision_list(store *s, const char *client_id, const char *job_type, const char *since,
                    long limit, long offset, json_object **page)
{
    char l[24], o[24];
    snprintf(l, sizeof(l), "%ld", limit);
    snprintf(o, sizeof(o), "%ld", offset);
    const char *p[] = {client_id, job_type, since, l, o};
    return page_of(s, &store_decide_sql[QD_LIST], &store_decide_sql[QD_COUNT], p, 3, limit, offset,
                   page);
}

store_status
store_schedule_clients(store *s, const char *client_id, long limit, long offset, json_object **page)
{
    char l[24], o[24];
    PGresult *rows = NULL, *total = NULL;
    db_conn *c = NULL;
    snprintf(l, sizeof(l), "%ld", limit);
    snprintf(o, sizeof(o), "%ld", offset);
    const char *p[] = {client_id, l, o};
    store_status st = store_map(db_acquire(s->pool, STORE_WAIT_MS, &c));
    if (st == ST_OK)
        st = store_run(c, &store_decide_sql[QD_CLIENTS], 3, p, &rows);
    if (st == ST_OK)
        st = store_run(c, &store_decide_sql[QD_CLIENTS_COUNT], 1, p, &total);
    long n = st == ST_OK ? strtol(PQgetvalue(total, 0, 0), NULL, 10) : 0;
    if (st == ST_OK && client_id && n == 0)
        st = ST_NOT_FOUND;
    if (st == ST_OK) {
        json_object *items = json_object_new_array();
        for (int i = 0; i < PQntuples(rows); i++) {
            json_object *o1 = json_object_new_object();
            json_object_object_add(o1, "id", json_object_new_string(PQgetvalue(rows, i, 0)));
            json_object_object_add(o1, "name", json_object_new_string(PQgetvalue(rows, i, 1)));
            json_object_object_add(o1, "timezone", json_object_new_string(PQgetvalue(rows, i, 2)));
            json_object_array_add(items, o1);
        }
        *page = json_object_new_object();
        json_object_object_add(*page, "items", items);
        json_object_object_add(*page, "total", json_object_new_int64(n));
        json_object_object_add(*page, "limit", json_object_new_int64(limit));
        json_object_object_add(*page, "offset", json_object_new_int64(offset));
    }
    PQclear(rows);
    PQclear(total);
    db_release(c);
    return st;
}
