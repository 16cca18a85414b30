/* store_stats: counts over the job table (GET /jobs/stats, automation.stats). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"
#include "store_internal.h"

static json_object *
count_at(const PGresult *res, int row, int col)
{
    return json_object_new_int64(strtoll(PQgetvalue(res, row, col), NULL, 10));
}

static json_object *
avg_at(const PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col)
               ? NULL
               : json_object_new_double(strtod(PQgetvalue(res, row, col), NULL));
}

/* {key: count} from a two-column (key, count) result, every key of keys
 * present (0 when absent). */
static json_object *
counts_by(const PGresult *res, const char *const *keys)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; keys[i]; i++)
        json_object_object_add(o, keys[i], json_object_new_int64(0));
    for (int r = 0; r < PQntuples(res); r++)
        json_object_object_add(o, PQgetvalue(res, r, 0), count_at(res, r, 1));
    return o;
}

store_status
store_job_stats(store *s, json_object **stats)
{
    static const char *const names[] = {"total_jobs",      "pending",      "queued", "running",
                                        "completed_today", "failed_today", NULL};
    static const char *const prios[] = {"1", "2", "3", "4", "5", NULL};
    db_conn *c = NULL;
    PGresult *res = NULL;
    store_status st;

    *stats = NULL;
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    db_status dst = store_exec(c, s, Q_STATS, 0, NULL, &res);
    if (dst != DB_OK)
        return store_done(c, false, store_db(dst));
    json_object *o = json_object_new_object();
    for (int i = 0; names[i]; i++)
        json_object_object_add(o, names[i], count_at(res, 0, i));
    json_object_object_add(o, "avg_duration_seconds", avg_at(res, 0, 6));
    PQclear(res);
    if ((dst = store_exec(c, s, Q_STATS_TYPE, 0, NULL, &res)) == DB_OK) {
        json_object_object_add(o, "by_type", counts_by(res, job_types));
        PQclear(res);
        if ((dst = store_exec(c, s, Q_STATS_PRIO, 0, NULL, &res)) == DB_OK) {
            json_object_object_add(o, "by_priority", counts_by(res, prios));
            PQclear(res);
        }
    }
    if (dst != DB_OK) {
        json_object_put(o);
        return store_done(c, false, store_db(dst));
    }
    *stats = o;
    return store_done(c, false, ST_OK);
}

store_status
store_client_stats(store *s, const char *client_id, const char *since, json_object **stats)
{
    static const char *const names[] = {"total",   "completed", "failed",  "cancelled",
                                        "running", "queued",    "pending", NULL};
    db_conn *c = NULL;
    PGresult *res = NULL;
    const char *p[] = {client_id, since};
    store_status st;

    *stats = NULL;
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    db_status dst = store_exec(c, s, Q_CLIENT_STATS, 2, p, &res);
    if (dst != DB_OK)
        return store_done(c, false, store_db(dst));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "client_id", client_id ? json_object_new_string(client_id) : NULL);
    json_object_object_add(o, "since", since ? json_object_new_string(since) : NULL);
    for (int i = 0; names[i]; i++)
        json_object_object_add(o, names[i], count_at(res, 0, i));
    long long done = strtoll(PQgetvalue(res, 0, 1), NULL, 10);
    long long failed = strtoll(PQgetvalue(res, 0, 2), NULL, 10);
    /* Of the jobs that ended by running: cancelled ones say nothing of success. */
    json_object_object_add(
        o, "success_rate",
        done + failed > 0 ? json_object_new_double((double)done / (double)(done + failed)) : NULL);
    json_object_object_add(o, "avg_duration_seconds", avg_at(res, 0, 7));
    PQclear(res);
    *stats = o;
    return store_done(c, false, ST_OK);
}
