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

/* failed_24h, expired_leases and hourly_load (24 averages) into o. */
static db_status
add_recent(db_conn *c, store *s, const char *client_id, json_object *o)
{
    PGresult *res = NULL;
    const char *p[] = {client_id};
    db_status dst = store_exec(c, s, Q_CLIENT_RECENT, 1, p, &res);
    if (dst != DB_OK)
        return dst;
    json_object_object_add(o, "failed_24h", count_at(res, 0, 0));
    json_object_object_add(o, "expired_leases", count_at(res, 0, 1));
    PQclear(res);
    if ((dst = store_exec(c, s, Q_HOURLY_LOAD, 0, NULL, &res)) != DB_OK)
        return dst;
    long long per_hour[24] = {0};
    for (int r = 0; r < PQntuples(res); r++) {
        long h = strtol(PQgetvalue(res, r, 0), NULL, 10);
        if (h >= 0 && h < 24)
            per_hour[h] = strtoll(PQgetvalue(res, r, 1), NULL, 10);
    }
    PQclear(res);
    json_object *load = json_object_new_array_ext(24);
    for (int h = 0; h < 24; h++)
        json_object_array_add(load, json_object_new_double((double)per_hour[h] / 7.0));
    json_object_object_add(o, "hourly_load", load);
    return DB_OK;
}

/* "scheduled": jobs due in [from, from + hours). */
static db_status
add_scheduled(db_conn *c, store *s, const char *from, int hours, json_object *o)
{
    static const char *const keys[] = {"job_id", "client_id", "job_type", "at"};
    PGresult *res = NULL;
    char hbuf[16];
    snprintf(hbuf, sizeof(hbuf), "%d", hours);
    const char *p[] = {from, hbuf};
    db_status dst = store_exec(c, s, Q_SCHEDULED, 2, p, &res);
    if (dst != DB_OK)
        return dst;
    json_object *a = json_object_new_array_ext(PQntuples(res));
    for (int r = 0; r < PQntuples(res); r++) {
        json_object *j = json_object_new_object();
        for (int k = 0; k < 4; k++)
            json_object_object_add(j, keys[k], json_object_new_string(PQgetvalue(res, r, k)));
        json_object_array_add(a, j);
    }
    PQclear(res);
    json_object_object_add(o, "scheduled", a);
    return DB_OK;
}

store_status
store_client_stats(store *s, const store_stats_query *q, json_object **stats)
{
    static const char *const names[] = {"total",   "completed", "failed",  "cancelled",
                                        "running", "queued",    "pending", NULL};
    db_conn *c = NULL;
    PGresult *res = NULL;
    const char *p[] = {q->client_id, q->since};
    store_status st;

    *stats = NULL;
    if ((st = store_acquire(s, &c)) != ST_OK)
        return st;
    db_status dst = store_exec(c, s, Q_CLIENT_STATS, 2, p, &res);
    if (dst != DB_OK)
        return store_done(c, false, store_db(dst));
    json_object *o = json_object_new_object();
    json_object_object_add(o, "client_id",
                           q->client_id ? json_object_new_string(q->client_id) : NULL);
    json_object_object_add(o, "since", q->since ? json_object_new_string(q->since) : NULL);
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
    dst = add_recent(c, s, q->client_id, o);
    if (dst == DB_OK && q->schedule_from)
        dst = add_scheduled(c, s, q->schedule_from, q->schedule_hours, o);
    if (dst != DB_OK) {
        json_object_put(o);
        return store_done(c, false, store_db(dst));
    }
    *stats = o;
    return store_done(c, false, ST_OK);
}
