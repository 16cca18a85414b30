/* store_menus: the menu half's SQL; see store_menus.h. */
#include "store_menus.h"

#include <stdlib.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "store_menus_internal.h"
#include "util.h"

#define WAIT_MS 2000 /* for a pooled connection */

static store_status
map_db(db_status st)
{
    switch (st) {
    case DB_OK:
        return ST_OK;
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

/* Run q on c; a failure is logged with the statement's name. */
static store_status
run(db_conn *c, store_menus_q q, int n, const char *const *p, PGresult **res)
{
    db_status st = db_exec_prepared(c, store_menus_sql[q].name, store_menus_sql[q].sql, n, p, res);
    if (st != DB_OK && st != DB_ERR_FOREIGN_KEY)
        log_msg(LOGL_WARN,
                LOG_FIELDS(LF_STR("statement", store_menus_sql[q].name),
                           LF_STR("error", db_last_error(c))),
                "toast menu statement failed");
    return map_db(st);
}

static store_status
acquire(db_pool *p, db_conn **c)
{
    return map_db(db_acquire(p, WAIT_MS, c));
}

/* Roll back when in a transaction and st is not ST_OK, release, return st. */
static store_status
done(db_conn *c, bool in_tx, store_status st)
{
    if (c && in_tx && st != ST_OK)
        db_rollback(c);
    db_release(c);
    return st;
}

/* Column col of the first row as JSON (a new object), or NULL. */
static json_object *
json_cell(PGresult *res, int col)
{
    if (PQntuples(res) < 1 || PQgetisnull(res, 0, col))
        return NULL;
    return json_tokener_parse(PQgetvalue(res, 0, col));
}

/* One-row statement q with the integration id (and more parameters) whose
 * first row is needed: ST_NOT_FOUND when there is none. */
static store_status
one_row(db_pool *p, store_menus_q q, int n, const char *const *params, PGresult **res)
{
    db_conn *c = NULL;
    store_status st = acquire(p, &c);
    *res = NULL;
    if (st == ST_OK)
        st = run(c, q, n, params, res);
    if (st == ST_OK && PQntuples(*res) < 1)
        st = ST_NOT_FOUND;
    if (st != ST_OK) {
        PQclear(*res);
        *res = NULL;
    }
    return done(c, false, st);
}

store_status
store_menus_state(db_pool *p, const char *integration_id, char *last_updated, size_t cap)
{
    PGresult *res = NULL;
    const char *params[] = {integration_id};
    store_status st = one_row(p, MQ_STATE, 1, params, &res);
    last_updated[0] = '\0';
    if (st == ST_OK && !PQgetisnull(res, 0, 0))
        util_strlcpy(last_updated, PQgetvalue(res, 0, 0), cap);
    PQclear(res);
    return st;
}

/* Upsert the list (JSON text) with statement up, then delete what it no
 * longer has with del. */
static store_status
replace_table(db_conn *c, const char *id, const char *list, store_menus_q up, store_menus_q del,
              json_object *changes)
{
    const char *params[] = {id, list};
    PGresult *res = NULL;
    store_status st = run(c, up, 2, params, &res);
    for (int i = 0; st == ST_OK && changes && i < PQntuples(res); i++)
        json_object_array_add(
            json_object_object_get(changes, PQgetvalue(res, i, 1)[0] == 't' ? "added" : "changed"),
            json_object_new_string(PQgetvalue(res, i, 0)));
    PQclear(res);
    res = NULL;
    if (st == ST_OK)
        st = run(c, del, 2, params, &res);
    for (int i = 0; st == ST_OK && changes && i < PQntuples(res); i++)
        json_object_array_add(json_object_object_get(changes, "removed"),
                              json_object_new_string(PQgetvalue(res, i, 0)));
    PQclear(res);
    return st;
}

static int
cmp_json_str(const void *a, const void *b)
{
    return strcmp(json_object_get_string(*(json_object *const *)a),
                  json_object_get_string(*(json_object *const *)b));
}

store_status
store_menus_replace(db_pool *p, const char *integration_id, const store_menu_lists *lists,
                    const char *sha256, const char *last_updated, json_object **changes)
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    bool in_tx = false;
    json_object *ch = json_object_new_object();
    const char *id1[] = {integration_id};
    const char *state[] = {integration_id, last_updated, sha256};
    store_status st = ch ? acquire(p, &c) : ST_ERROR;
    *changes = NULL;
    if (st != ST_OK)
        goto out;
    json_object_object_add(ch, "added", json_object_new_array());
    json_object_object_add(ch, "changed", json_object_new_array());
    json_object_object_add(ch, "removed", json_object_new_array());
    if ((st = map_db(db_begin(c))) != ST_OK)
        goto out;
    in_tx = true;
    if ((st = run(c, MQ_LOCK, 1, id1, &res)) != ST_OK)
        goto out;
    if (PQntuples(res) < 1) {
        st = ST_NOT_FOUND;
        goto out;
    }
    if ((st =
             replace_table(c, integration_id, lists->menus, MQ_UPSERT_MENUS, MQ_DELETE_MENUS, NULL))
            != ST_OK
        || (st = replace_table(c, integration_id, lists->groups, MQ_UPSERT_GROUPS, MQ_DELETE_GROUPS,
                               NULL))
               != ST_OK
        || (st = replace_table(c, integration_id, lists->items, MQ_UPSERT_ITEMS, MQ_DELETE_ITEMS,
                               ch))
               != ST_OK
        || (st = replace_table(c, integration_id, lists->modifier_groups, MQ_UPSERT_MODGROUPS,
                               MQ_DELETE_MODGROUPS, NULL))
               != ST_OK
        || (st = run(c, MQ_SET_STATE, 3, state, NULL)) != ST_OK)
        goto out;
    if ((st = map_db(db_commit(c))) != ST_OK)
        goto out;
    in_tx = false;
    json_object_object_foreach(ch, key, arr)
    {
        (void)key;
        json_object_array_sort(arr, cmp_json_str);
    }
    *changes = ch;
    ch = NULL;
out:
    PQclear(res);
    json_object_put(ch);
    return done(c, in_tx, st);
}

store_status
store_menus_load(db_pool *p, const char *integration_id, char **snapshot, size_t *len)
{
    PGresult *res = NULL;
    const char *params[] = {integration_id};
    store_status st = one_row(p, MQ_LOAD, 1, params, &res);
    *snapshot = NULL;
    *len = 0;
    if (st == ST_OK && PQgetvalue(res, 0, 0)[0] == 't') {
        *len = (size_t)PQgetlength(res, 0, 1);
        if (!(*snapshot = malloc(*len + 1)))
            st = ST_ERROR;
        else
            memcpy(*snapshot, PQgetvalue(res, 0, 1), *len + 1);
    }
    PQclear(res);
    return st;
}

store_status
store_menus_summary(db_pool *p, const char *integration_id, json_object **out)
{
    PGresult *res = NULL;
    const char *params[] = {integration_id};
    store_status st = one_row(p, MQ_SUMMARY, 1, params, &res);
    *out = NULL;
    if (st == ST_OK && !(*out = json_cell(res, 0)))
        st = ST_ERROR;
    PQclear(res);
    return st;
}

store_status
store_golden_insert(db_pool *p, const char *integration_id, const char *sha256,
                    const char *snapshot, json_object *counts, const char *note, json_object **row)
{
    PGresult *res = NULL;
    const char *params[] = {integration_id, sha256, snapshot,
                            json_object_to_json_string_ext(counts, JSON_C_TO_STRING_PLAIN), note};
    store_status st = one_row(p, MQ_GOLDEN_INSERT, 5, params, &res);
    *row = NULL;
    if (st == ST_OK && !(*row = json_cell(res, 0)))
        st = ST_ERROR;
    PQclear(res);
    return st;
}

store_status
store_golden_get(db_pool *p, const char *integration_id, const char *baseline_id, json_object **row,
                 char **snapshot)
{
    PGresult *res = NULL;
    const char *params[] = {integration_id, baseline_id};
    store_status st = one_row(p, baseline_id ? MQ_GOLDEN_GET : MQ_GOLDEN_LATEST,
                              baseline_id ? 2 : 1, params, &res);
    *row = NULL;
    *snapshot = NULL;
    if (st == ST_OK) {
        *row = json_cell(res, 0);
        *snapshot = strdup(PQgetvalue(res, 0, 1));
        if (!*row || !*snapshot) {
            json_object_put(*row);
            free(*snapshot);
            *row = NULL;
            *snapshot = NULL;
            st = ST_ERROR;
        }
    }
    PQclear(res);
    return st;
}
