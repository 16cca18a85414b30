/* store_system: the counts of GET /system/health and the clients of POST
 * /scores/recompute; see store.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"

/* {name: count} for every name, 0 when the rows do not have it. */
static json_object *
counts(PGresult *r, const char *const *names, long *total)
{
    json_object *o = json_object_new_object();
    *total = 0;
    for (size_t i = 0; names[i]; i++) {
        long n = 0;
        for (int row = 0; row < PQntuples(r); row++)
            if (strcmp(PQgetvalue(r, row, 0), names[i]) == 0)
                n = strtol(PQgetvalue(r, row, 1), NULL, 10);
        json_object_object_add(o, names[i], json_object_new_int64(n));
        *total += n;
    }
    return o;
}

store_status
store_system_counts(store *s, int timeout_ms, json_object **integrations, json_object **alerts)
{
    static const char *const checks[] = {"healthy", "degraded", "unhealthy", NULL};
    static const char *const severities[] = {"critical", "high", "medium", "low", NULL};
    char ms[24];
    PGresult *ri = NULL, *ra = NULL;
    db_conn *c = NULL;
    bool in_tx = false;
    snprintf(ms, sizeof(ms), "%d", timeout_ms);
    const char *p[] = {ms};
    store_status st = store_map(db_acquire(s->pool, timeout_ms, &c));
    if (st == ST_OK && (st = store_map(db_begin(c))) == ST_OK)
        in_tx = true;
    if (st == ST_OK)
        st = store_run(c, &store_system_sql[QS_TIMEOUT], 1, p, NULL);
    if (st == ST_OK)
        st = store_run(c, &store_system_sql[QS_INTEGRATIONS], 0, NULL, &ri);
    if (st == ST_OK)
        st = store_run(c, &store_system_sql[QS_ALERTS], 0, NULL, &ra);
    if (st == ST_OK) {
        long total = 0, ignored = 0;
        *integrations = counts(ri, checks, &total);
        json_object_object_add(*integrations, "total", json_object_new_int64(total));
        *alerts = counts(ra, severities, &ignored);
    }
    if (in_tx)
        db_rollback(c);
    PQclear(ri);
    PQclear(ra);
    db_release(c);
    return st;
}

store_status
store_clients_to_score(store *s, json_object *ids, json_object **out)
{
    PGresult *res = NULL;
    const char *p[] = {ids ? json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN) : NULL};
    store_status st = ids ? store_run1(s, &store_system_sql[QS_KNOWN_CLIENTS], 1, p, &res)
                          : store_run1(s, &store_system_sql[QS_ACTIVE_CLIENTS], 0, NULL, &res);
    if (st == ST_OK) {
        *out = json_object_new_array_ext(PQntuples(res));
        for (int i = 0; i < PQntuples(res); i++)
            json_object_array_add(*out, json_object_new_string(PQgetvalue(res, i, 0)));
    }
    PQclear(res);
    return st;
}
