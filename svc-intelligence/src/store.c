/* store: clients and signals in PostgreSQL, and what every store file
 * shares; see store.h. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "log.h"
#include "store_internal.h"

store *
store_new(db_pool *pool)
{
    store *s = calloc(1, sizeof(*s));
    if (s)
        s->pool = pool;
    return s;
}

void
store_free(store *s)
{
    free(s);
}

store_status
store_map(db_status st)
{
    switch (st) {
    case DB_OK:
        return ST_OK;
    case DB_ERR_UNIQUE:
        return ST_CONFLICT;
    case DB_ERR_FOREIGN_KEY: /* the client does not exist (or went away meanwhile) */
        return ST_NOT_FOUND;
    case DB_ERR_UNAVAILABLE:
    case DB_ERR_TIMEOUT:
    case DB_ERR_SERIALIZATION:
        return ST_UNAVAILABLE;
    default:
        return ST_ERROR;
    }
}

store_status
store_run(db_conn *c, const store_stmt *q, int n, const char *const *p, PGresult **res)
{
    db_status st = db_exec_prepared(c, q->name, q->sql, n, p, res);
    if (st != DB_OK && st != DB_ERR_UNIQUE && st != DB_ERR_FOREIGN_KEY)
        log_msg(LOGL_WARN,
                LOG_FIELDS(LF_STR("statement", q->name), LF_STR("error", db_last_error(c))),
                "intelligence statement failed");
    return store_map(st);
}

store_status
store_run1(store *s, const store_stmt *q, int n, const char *const *p, PGresult **res)
{
    db_conn *c = NULL;
    store_status st = store_map(db_acquire(s->pool, STORE_WAIT_MS, &c));
    if (st == ST_OK)
        st = store_run(c, q, n, p, res);
    db_release(c);
    return st;
}

store_status
store_snapshot(db_conn *c)
{
    store_status st = store_map(db_begin(c));
    if (st != ST_OK)
        return st;
    /* A utility statement: it cannot be prepared, and it has no parameter. */
    st = store_map(
        db_exec(c, "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0, NULL, NULL));
    if (st != ST_OK)
        db_rollback(c);
    return st;
}

store_status
store_first_json(store_status st, PGresult *res, json_object **out)
{
    if (st == ST_OK && PQntuples(res) == 0)
        st = ST_NOT_FOUND;
    if (st == ST_OK) {
        *out = json_tokener_parse(PQgetvalue(res, 0, 0));
        if (!*out)
            st = ST_ERROR;
    }
    PQclear(res);
    return st;
}

json_object *
store_page(PGresult *rows, long total, long limit, long offset)
{
    json_object *page = json_object_new_object(), *items = json_object_new_array();
    for (int i = 0; rows && i < PQntuples(rows); i++)
        json_object_array_add(items, json_tokener_parse(PQgetvalue(rows, i, 0)));
    json_object_object_add(page, "items", items);
    json_object_object_add(page, "total", json_object_new_int64(total));
    json_object_object_add(page, "limit", json_object_new_int64(limit));
    json_object_object_add(page, "offset", json_object_new_int64(offset));
    return page;
}

store_status
store_client_create(store *s, const field_values *v, json_object **out)
{
    PGresult *res = NULL;
    store_status st = store_run1(s, &store_client_sql[QC_INSERT], CLIENT_NFIELDS, v->value, &res);
    return store_first_json(st, res, out);
}

store_status
store_client_get(store *s, const char *id, json_object **out)
{
    const char *p[] = {id};
    PGresult *res = NULL;
    store_status st = store_run1(s, &store_client_sql[QC_GET], 1, p, &res);
    return store_first_json(st, res, out);
}

/* A list and its total on one connection: the page's rows, then the count
 * with the list's first ncount parameters. */
static store_status
list_page(store *s, const store_stmt *list, const store_stmt *count, const store_stmt *exists,
          const char *const *p, int nlist, int ncount, long limit, long offset, json_object **page)
{
    PGresult *rows = NULL, *total = NULL, *found = NULL;
    db_conn *c = NULL;
    store_status st = store_map(db_acquire(s->pool, STORE_WAIT_MS, &c));
    if (st == ST_OK && exists) {
        st = store_run(c, exists, 1, p, &found);
        if (st == ST_OK && PQntuples(found) == 0)
            st = ST_NOT_FOUND;
    }
    if (st == ST_OK)
        st = store_run(c, list, nlist, p, &rows);
    if (st == ST_OK)
        st = store_run(c, count, ncount, p, &total);
    if (st == ST_OK)
        *page = store_page(rows, strtol(PQgetvalue(total, 0, 0), NULL, 10), limit, offset);
    PQclear(found);
    PQclear(rows);
    PQclear(total);
    db_release(c);
    return st;
}

store_status
store_client_list(store *s, const char *status, const char *plan, long limit, long offset,
                  json_object **page)
{
    char l[24], o[24];
    snprintf(l, sizeof(l), "%ld", limit);
    snprintf(o, sizeof(o), "%ld", offset);
    const char *p[] = {status, plan, l, o};
    return list_page(s, &store_client_sql[QC_LIST], &store_client_sql[QC_COUNT], NULL, p, 4, 2,
                     limit, offset, page);
}

store_status
store_client_patch(store *s, const char *id, const field_values *v, json_object **out)
{
    const char *p[1 + 2 * CLIENT_NFIELDS];
    PGresult *res = NULL;
    p[0] = id;
    for (int f = 0; f < CLIENT_NFIELDS; f++) {
        p[1 + 2 * f] = v->has[f] ? "true" : "false";
        p[2 + 2 * f] = v->has[f] ? v->value[f] : NULL;
    }
    store_status st = store_run1(s, &store_client_sql[QC_PATCH], 1 + 2 * CLIENT_NFIELDS, p, &res);
    return store_first_json(st, res, out);
}

store_status
store_signal_create(store *s, sig_kind k, const char *client_id, const field_values *v,
                    json_object **out)
{
    const char *p[1 + FIELD_MAX];
    PGresult *res = NULL;
    size_t n = sig_specs[k].nrules;
    p[0] = client_id;
    for (size_t i = 0; i < n; i++)
        p[1 + i] = v->value[i];
    store_status st = store_run1(s, &store_signal_sql[k].insert, (int)(1 + n), p, &res);
    return store_first_json(st, res, out);
}

store_status
store_signal_list(store *s, sig_kind k, const char *client_id, long limit, long offset,
                  json_object **page)
{
    char l[24], o[24];
    snprintf(l, sizeof(l), "%ld", limit);
    snprintf(o, sizeof(o), "%ld", offset);
    const char *p[] = {client_id, l, o};
    return list_page(s, &store_signal_sql[k].list, &store_signal_sql[k].count,
                     &store_client_sql[QC_EXISTS], p, 3, 1, limit, offset, page);
}
