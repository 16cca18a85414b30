/* store_reports: client health reports in PostgreSQL; see store_recs.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "store_recs.h"
#include "util.h"

#define REPORT_MAX_ROWS 2000 /* newest scores, alerts and recommendations a report holds */

enum { PART_CLIENT = 0, PART_LATEST, PART_HISTORY, PART_ALERTS, PART_RECS, PART_N };

static json_object *
rows_array(PGresult *r)
{
    json_object *a = json_object_new_array();
    for (int i = 0; r && i < PQntuples(r); i++)
        json_object_array_add(a, json_tokener_parse(PQgetvalue(r, i, 0)));
    return a;
}

static json_object *
first_row(PGresult *r)
{
    return r && PQntuples(r) > 0 ? json_tokener_parse(PQgetvalue(r, 0, 0)) : NULL;
}

/* Every part in one read-only snapshot, so that they agree. */
store_status
store_report_data(store *s, const char *client_id, const char *now, int days, json_object **data)
{
    static const char *const names[PART_N] = {"client", "latest", "history", "alerts",
                                              "recommendations"};
    char d[16], max[16];
    PGresult *res[PART_N] = {NULL};
    db_conn *c = NULL;
    bool in_tx = false;
    snprintf(d, sizeof(d), "%d", days);
    snprintf(max, sizeof(max), "%d", REPORT_MAX_ROWS);
    const char *p[] = {client_id, now, d, max};
    const store_stmt *q[PART_N] = {&store_client_sql[QC_GET], &store_report_sql[QP_LATEST],
                                   &store_report_sql[QP_HISTORY], &store_report_sql[QP_ALERTS],
                                   &store_report_sql[QP_RECS]};
    store_status st = store_map(db_acquire(s->pool, STORE_WAIT_MS, &c));
    if (st == ST_OK && (st = store_snapshot(c)) == ST_OK)
        in_tx = true;
    for (int i = 0; st == ST_OK && i < PART_N; i++)
        st = store_run(c, q[i], i == PART_CLIENT ? 1 : i == PART_LATEST ? 2 : 4, p, &res[i]);
    if (st == ST_OK && PQntuples(res[PART_CLIENT]) == 0)
        st = ST_NOT_FOUND;
    if (st == ST_OK) {
        *data = json_object_new_object();
        for (int i = 0; i < PART_N; i++)
            json_object_object_add(*data, names[i],
                                   i <= PART_LATEST ? first_row(res[i]) : rows_array(res[i]));
    }
    if (in_tx)
        db_rollback(c);
    for (int i = 0; i < PART_N; i++)
        PQclear(res[i]);
    db_release(c);
    return st;
}

store_status
store_report_save(store *s, const char *client_id, const char *job_id, int days, const char *at,
                  const char *json, const char *csv, char id[RECS_ID_MAX])
{
    char d[16];
    PGresult *res = NULL;
    snprintf(d, sizeof(d), "%d", days);
    const char *p[] = {client_id, job_id, d, at, json, csv};
    store_status st = store_run1(s, &store_report_sql[QP_SAVE], 6, p, &res);
    if (st == ST_OK && PQntuples(res) == 0)
        st = ST_ERROR;
    if (st == ST_OK)
        util_strlcpy(id, PQgetvalue(res, 0, 0), RECS_ID_MAX);
    PQclear(res);
    return st;
}

store_status
store_report_get(store *s, const char *id, json_object **out)
{
    const char *p[] = {id};
    PGresult *res = NULL;
    store_status st = store_run1(s, &store_report_sql[QP_GET], 1, p, &res);
    return store_first_json(st, res, out);
}

store_status
store_report_csv(store *s, const char *id, char **csv, char client_id[RECS_ID_MAX])
{
    const char *p[] = {id};
    PGresult *res = NULL;
    store_status st = store_run1(s, &store_report_sql[QP_CSV], 1, p, &res);
    if (st == ST_OK && PQntuples(res) == 0)
        st = ST_NOT_FOUND;
    if (st == ST_OK) {
        *csv = strdup(PQgetvalue(res, 0, 0));
        util_strlcpy(client_id, PQgetvalue(res, 0, 1), RECS_ID_MAX);
        if (!*csv)
            st = ST_ERROR;
    }
    PQclear(res);
    return st;
}

store_status
store_report_list(store *s, const char *client_id, long limit, long offset, json_object **page)
{
    char l[24], o[24];
    PGresult *rows = NULL, *total = NULL;
    db_conn *c = NULL;
    snprintf(l, sizeof(l), "%ld", limit);
    snprintf(o, sizeof(o), "%ld", offset);
    const char *p[] = {client_id, l, o};
    store_status st = store_map(db_acquire(s->pool, STORE_WAIT_MS, &c));
    if (st == ST_OK)
        st = store_run(c, &store_report_sql[QP_LIST], 3, p, &rows);
    if (st == ST_OK)
        st = store_run(c, &store_report_sql[QP_COUNT], 1, p, &total);
    if (st == ST_OK)
        *page = store_page(rows, strtol(PQgetvalue(total, 0, 0), NULL, 10), limit, offset);
    PQclear(rows);
    PQclear(total);
    db_release(c);
    return st;
}
