/* store: integrations and health checks in PostgreSQL; see store.h. */
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_internal.h"
#include "util.h"

#define WAIT_MS 2000 /* for a pooled connection */

struct store {
    db_pool *pool;
};

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
    case ST_UNAVAILABLE:
        return "unavailable";
    default:
        return "error";
    }
}

static store_status
map_db(db_status st)
{
    switch (st) {
    case DB_OK:
        return ST_OK;
    case DB_ERR_UNIQUE:
        return ST_CONFLICT;
    case DB_ERR_FOREIGN_KEY: /* the integration went away meanwhile */
        return ST_NOT_FOUND;
    case DB_ERR_UNAVAILABLE:
    case DB_ERR_TIMEOUT:
    case DB_ERR_SERIALIZATION:
        return ST_UNAVAILABLE;
    default:
        return ST_ERROR;
    }
}

/* Run q on c; a failure is logged (statement and database error, never
 * parameters: they may be sealed secrets). */
static store_status
run(db_conn *c, store_q q, int n, const char *const *p, PGresult **res)
{
    db_status st = db_exec_prepared(c, store_sql[q].name, store_sql[q].sql, n, p, res);
    if (st != DB_OK && st != DB_ERR_UNIQUE && st != DB_ERR_FOREIGN_KEY)
        log_msg(
            LOGL_WARN,
            LOG_FIELDS(LF_STR("statement", store_sql[q].name), LF_STR("error", db_last_error(c))),
            "toast statement failed");
    return map_db(st);
}

/* One statement on a pooled connection. */
static store_status
run1(store *s, store_q q, int n, const char *const *p, PGresult **res)
{
    db_conn *c = NULL;
    store_status st = map_db(db_acquire(s->pool, WAIT_MS, &c));
    if (st == ST_OK)
        st = run(c, q, n, p, res);
    db_release(c);
    return st;
}

/* The first column of row 0 as JSON (ST_NOT_FOUND without rows). */
static store_status
first_json(store_status st, PGresult *res, json_object **out)
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

/* {"items": rows' first column, "total", "limit", "offset"}. */
static json_object *
page_of(PGresult *rows, long total, long limit, long offset)
{
    json_object *page = json_object_new_object(), *items = json_object_new_array();
    for (int i = 0; i < PQntuples(rows); i++)
        json_object_array_add(items, json_tokener_parse(PQgetvalue(rows, i, 0)));
    json_object_object_add(page, "items", items);
    json_object_object_add(page, "total", json_object_new_int64(total));
    json_object_object_add(page, "limit", json_object_new_int64(limit));
    json_object_object_add(page, "offset", json_object_new_int64(offset));
    return page;
}

store_status
store_integ_create(store *s, const integ_input *in, const store_sealed *sealed, json_object **out)
{
    const char *p[10];
    PGresult *res = NULL;
    for (int f = 0; f < 6; f++)
        p[f] = in->value[f];
    p[6] = sealed->tok[0];
    p[7] = in->value[INTEG_USERNAME];
    p[8] = sealed->tok[1];
    p[9] = sealed->tok[2];
    store_status st = run1(s, Q_INSERT, 10, p, &res);
    return first_json(st, res, out);
}

store_status
store_integ_get(store *s, const char *id, json_object **out)
{
    const char *p[] = {id};
    PGresult *res = NULL;
    store_status st = run1(s, Q_GET, 1, p, &res);
    return first_json(st, res, out);
}

store_status
store_integ_list(store *s, const char *client_id, const char *status, long limit, long offset,
                 json_object **page)
{
    char l[24], o[24];
    PGresult *rows = NULL, *count = NULL;
    db_conn *c = NULL;
    snprintf(l, sizeof(l), "%ld", limit);
    snprintf(o, sizeof(o), "%ld", offset);
    const char *p[] = {client_id, status, l, o};
    store_status st = map_db(db_acquire(s->pool, WAIT_MS, &c));
    if (st == ST_OK)
        st = run(c, Q_LIST, 4, p, &rows);
    if (st == ST_OK)
        st = run(c, Q_COUNT, 2, p, &count);
    if (st == ST_OK)
        *page = page_of(rows, strtol(PQgetvalue(count, 0, 0), NULL, 10), limit, offset);
    PQclear(rows);
    PQclear(count);
    db_release(c);
    return st;
}

store_status
store_integ_patch(store *s, const char *id, const integ_input *in, const store_sealed *sealed,
                  json_object **out)
{
    static const integ_field order[] = {
        INTEG_NAME,     INTEG_STATUS,   INTEG_API_CLIENT_ID, INTEG_API_CLIENT_SECRET,
        INTEG_USERNAME, INTEG_PASSWORD, INTEG_TOTP_SECRET};
    const char *p[15];
    PGresult *res = NULL;
    p[0] = id;
    for (size_t k = 0; k < sizeof(order) / sizeof(order[0]); k++) {
        integ_field f = order[k];
        const char *v = in->value[f];
        if (f == INTEG_API_CLIENT_SECRET)
            v = sealed->tok[0];
        else if (f == INTEG_PASSWORD)
            v = sealed->tok[1];
        else if (f == INTEG_TOTP_SECRET)
            v = sealed->tok[2];
        p[1 + 2 * k] = in->has[f] ? "true" : "false";
        p[2 + 2 * k] = v;
    }
    store_status st = run1(s, Q_PATCH, 15, p, &res);
    return first_json(st, res, out);
}

store_status
store_integ_delete(store *s, const char *id)
{
    const char *p[] = {id};
    PGresult *res = NULL;
    store_status st = run1(s, Q_DELETE, 1, p, &res);
    if (st == ST_OK && PQntuples(res) == 0)
        st = ST_NOT_FOUND;
    PQclear(res);
    return st;
}

store_status
store_integ_load(store *s, const char *id, store_integ_row *row)
{
    const char *p[] = {id};
    PGresult *res = NULL;
    memset(row, 0, sizeof(*row));
    store_status st = run1(s, Q_LOAD, 1, p, &res);
    if (st == ST_OK && PQntuples(res) == 0)
        st = ST_NOT_FOUND;
    if (st == ST_OK) {
        char *const dst[] = {row->id,     row->client_id, row->restaurant_id, row->toast_guid,
                             row->name,   row->status,    row->api_client_id, row->username,
                             row->enc[0], row->enc[1],    row->enc[2]};
        const size_t cap[] = {sizeof(row->id),
                              sizeof(row->client_id),
                              sizeof(row->restaurant_id),
                              sizeof(row->toast_guid),
                              sizeof(row->name),
                              sizeof(row->status),
                              sizeof(row->api_client_id),
                              sizeof(row->username),
                              CREDS_TOKEN_MAX,
                              CREDS_TOKEN_MAX,
                              CREDS_TOKEN_MAX};
        for (int i = 0; i < 11; i++)
            util_strlcpy(dst[i], PQgetvalue(res, 0, i), cap[i]);
    }
    PQclear(res);
    return st;
}

/* Re-seal the three tokens of row i of all; false when one fails. */
static bool
reseal_row(PGresult *all, int i, store_reseal_fn reseal, void *ud, char out[3][CREDS_TOKEN_MAX],
           const char *p[4], int *n)
{
    p[0] = PQgetvalue(all, i, 0);
    for (int k = 0; k < 3; k++) {
        p[1 + k] = NULL;
        if (PQgetisnull(all, i, 1 + k))
            continue;
        if (reseal(PQgetvalue(all, i, 1 + k), out[k], CREDS_TOKEN_MAX, ud) != 0)
            return false;
        p[1 + k] = out[k];
        (*n)++;
    }
    return true;
}

store_status
store_integ_rotate(store *s, store_reseal_fn reseal, void *ud, int *n)
{
    db_conn *c = NULL;
    PGresult *all = NULL;
    char out[3][CREDS_TOKEN_MAX];
    bool in_tx = false;
    *n = 0;
    store_status st = map_db(db_acquire(s->pool, WAIT_MS, &c));
    if (st == ST_OK && (st = map_db(db_begin(c))) == ST_OK)
        in_tx = true;
    if (st == ST_OK)
        st = run(c, Q_SEALED_ALL, 0, NULL, &all);
    for (int i = 0; st == ST_OK && i < PQntuples(all); i++) {
        const char *p[4];
        if (!reseal_row(all, i, reseal, ud, out, p, n)) {
            st = ST_ERROR;
            break;
        }
        PGresult *r = NULL;
        st = run(c, Q_RESEAL, 4, p, &r);
        PQclear(r);
    }
    if (st == ST_OK)
        st = map_db(db_commit(c));
    else if (in_tx)
        db_rollback(c);
    creds_wipe(out, sizeof(out));
    PQclear(all);
    db_release(c);
    if (st != ST_OK)
        *n = 0;
    return st;
}

store_status
store_health_record(store *s, const char *id, const char *status, long total_ms, json_object *steps,
                    const char *error, json_object **out)
{
    char ms[24];
    PGresult *res = NULL;
    snprintf(ms, sizeof(ms), "%ld", total_ms);
    const char *p[] = {id, status, ms, js_text(steps, NULL), error};
    store_status st = run1(s, Q_HEALTH_INSERT, 5, p, &res);
    return first_json(st, res, out);
}

store_status
store_health_list(store *s, const char *id, long limit, long offset, json_object **page)
{
    char l[24], o[24];
    PGresult *rows = NULL, *count = NULL, *exists = NULL;
    db_conn *c = NULL;
    snprintf(l, sizeof(l), "%ld", limit);
    snprintf(o, sizeof(o), "%ld", offset);
    const char *p[] = {id, l, o};
    store_status st = map_db(db_acquire(s->pool, WAIT_MS, &c));
    if (st == ST_OK)
        st = run(c, Q_EXISTS, 1, p, &exists);
    if (st == ST_OK && PQntuples(exists) == 0)
        st = ST_NOT_FOUND;
    if (st == ST_OK)
        st = run(c, Q_HEALTH_LIST, 3, p, &rows);
    if (st == ST_OK)
        st = run(c, Q_HEALTH_COUNT, 1, p, &count);
    if (st == ST_OK)
        *page = page_of(rows, strtol(PQgetvalue(count, 0, 0), NULL, 10), limit, offset);
    PQclear(exists);
    PQclear(rows);
    PQclear(count);
    db_release(c);
    return st;
}

store_status
store_health_due(store *s, long interval_s, json_object **due)
{
    char iv[24];
    PGresult *res = NULL;
    snprintf(iv, sizeof(iv), "%ld", interval_s);
    const char *p[] = {iv};
    store_status st = run1(s, Q_DUE, 1, p, &res);
    if (st == ST_OK) {
        *due = json_object_new_array();
        for (int i = 0; i < PQntuples(res); i++)
            json_object_array_add(*due, json_tokener_parse(PQgetvalue(res, i, 0)));
    }
    PQclear(res);
    return st;
}
