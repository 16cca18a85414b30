/* store_batch: the health score's inputs and results for many clients at
 * once; see store.h and store_sql_batch.c. Rows come ordered by the client's
 * position (ord, 1-based) in the request. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "store_internal.h"
#include "util.h"

static int64_t
num(PGresult *r, int row, int col)
{
    return strtoll(PQgetvalue(r, row, col), NULL, 10);
}

/* The client index of a row, or -1 when out of range. */
static long
index_of(PGresult *r, int row, size_t n)
{
    int64_t ord = num(r, row, 0);
    return ord >= 1 && (size_t)ord <= n ? (long)(ord - 1) : -1;
}

static void
read_aggregates(PGresult *r, size_t n, store_inputs *h, bool *found)
{
    for (int row = 0; row < PQntuples(r); row++) {
        long i = index_of(r, row, n);
        if (i < 0)
            continue;
        score_inputs *in = &h[i].in;
        found[i] = true;
        in->activities_30d = (long)num(r, row, 1);
        in->last_activity_at = num(r, row, 2);
        in->quotes_accepted = (long)num(r, row, 3);
        in->quotes_lost = (long)num(r, row, 4);
        in->quotes_open = (long)num(r, row, 5);
        in->projects_new = (long)num(r, row, 6);
        in->paid_cents_30d = num(r, row, 7);
        in->paid_cents_prev_30d = num(r, row, 8);
    }
}

/* Each client's rows as one array: count them, then fill (rows are grouped
 * by client). */
static store_status
read_tickets(PGresult *r, size_t n, store_inputs *h)
{
    for (int row = 0; row < PQntuples(r); row++) {
        long i = index_of(r, row, n);
        if (i >= 0)
            h[i].in.ntickets++;
    }
    for (size_t i = 0; i < n; i++) {
        h[i].tickets = calloc(h[i].in.ntickets ? h[i].in.ntickets : 1, sizeof(*h[i].tickets));
        if (!h[i].tickets)
            return ST_ERROR;
        h[i].in.tickets = h[i].tickets;
        h[i].in.ntickets = 0;
    }
    for (int row = 0; row < PQntuples(r); row++) {
        long i = index_of(r, row, n);
        if (i < 0)
            continue;
        score_priority p = score_priority_of(PQgetvalue(r, row, 1));
        h[i].tickets[h[i].in.ntickets++] = (score_ticket){
            p == PRIO_N ? PRIO_NORMAL : p, num(r, row, 2), num(r, row, 3), num(r, row, 4)};
    }
    return ST_OK;
}

static store_status
read_invoices(PGresult *r, size_t n, store_inputs *h)
{
    for (int row = 0; row < PQntuples(r); row++) {
        long i = index_of(r, row, n);
        if (i >= 0)
            h[i].in.ninvoices++;
    }
    for (size_t i = 0; i < n; i++) {
        h[i].invoices = calloc(h[i].in.ninvoices ? h[i].in.ninvoices : 1, sizeof(*h[i].invoices));
        if (!h[i].invoices)
            return ST_ERROR;
        h[i].in.invoices = h[i].invoices;
        h[i].in.ninvoices = 0;
    }
    for (int row = 0; row < PQntuples(r); row++) {
        long i = index_of(r, row, n);
        if (i >= 0)
            h[i].invoices[h[i].in.ninvoices++] = (score_invoice){num(r, row, 1), num(r, row, 2)};
    }
    return ST_OK;
}

static void
read_past(PGresult *r, size_t n, store_inputs *h)
{
    for (int row = 0; row < PQntuples(r); row++) {
        long i = index_of(r, row, n);
        if (i < 0)
            continue;
        score_past *p = num(r, row, 1) == 7 ? &h[i].in.past_d7 : &h[i].in.past_d30;
        *p = (score_past){true, num(r, row, 2), (int)num(r, row, 3)};
    }
}

static void
read_jobs(PGresult *r, size_t n, store_inputs *h)
{
    for (int row = 0; row < PQntuples(r); row++) {
        long i = index_of(r, row, n);
        int64_t d = num(r, row, 1);
        if (i < 0 || d < 0 || d >= SCORE_WINDOW_DAYS)
            continue;
        h[i].in.jobs_completed[d] = (long)num(r, row, 2);
        h[i].in.jobs_failed[d] = (long)num(r, row, 3);
        h[i].in.jobs_cancelled_30d += (long)num(r, row, 4);
    }
}

static void
read_stability(PGresult *r, size_t n, store_inputs *h)
{
    for (int row = 0; row < PQntuples(r); row++) {
        long i = index_of(r, row, n);
        if (i < 0)
            continue;
        score_inputs *in = &h[i].in;
        in->checks_healthy = (long)num(r, row, 1);
        in->checks_degraded = (long)num(r, row, 2);
        in->checks_unhealthy = (long)num(r, row, 3);
        in->integrations_unhealthy = (long)num(r, row, 4);
        in->syncs_completed = (long)num(r, row, 5);
        in->syncs_partial = (long)num(r, row, 6);
        in->syncs_failed = (long)num(r, row, 7);
    }
}

static void
free_all(store_inputs *h, size_t n)
{
    for (size_t i = 0; i < n; i++)
        store_inputs_free(&h[i]);
}

store_status
store_health_inputs_many(store *s, json_object *ids, int64_t now, store_inputs *h, bool *found)
{
    char at[UTIL_RFC3339_LEN + 1], lt[24], li[24];
    struct timespec ts = {.tv_sec = (time_t)now, .tv_nsec = 0};
    size_t n = json_object_array_length(ids);
    PGresult *res[QB_SAVE] = {NULL};
    db_conn *c = NULL;
    bool in_tx = false;
    util_rfc3339(&ts, at);
    snprintf(lt, sizeof(lt), "%d", SCORE_MAX_TICKETS);
    snprintf(li, sizeof(li), "%d", SCORE_MAX_INVOICES);
    const char *list = json_object_to_json_string_ext(ids, JSON_C_TO_STRING_PLAIN);
    const char *p2[] = {list, at}, *pt[] = {list, at, lt}, *pi[] = {list, at, li};
    memset(h, 0, n * sizeof(*h));
    for (size_t i = 0; i < n; i++) {
        h[i].in.now = now;
        found[i] = false;
    }
    store_status st = store_map(db_acquire(s->pool, STORE_WAIT_MS, &c));
    if (st == ST_OK && (st = store_snapshot(c)) == ST_OK)
        in_tx = true;
    if (st == ST_OK
        && (st = store_run(c, &store_batch_sql[QB_AGGREGATES], 2, p2, &res[QB_AGGREGATES]))
               == ST_OK)
        read_aggregates(res[QB_AGGREGATES], n, h, found);
    if (st == ST_OK
        && (st = store_run(c, &store_batch_sql[QB_TICKETS], 3, pt, &res[QB_TICKETS])) == ST_OK)
        st = read_tickets(res[QB_TICKETS], n, h);
    if (st == ST_OK
        && (st = store_run(c, &store_batch_sql[QB_INVOICES], 3, pi, &res[QB_INVOICES])) == ST_OK)
        st = read_invoices(res[QB_INVOICES], n, h);
    if (st == ST_OK
        && (st = store_run(c, &store_batch_sql[QB_PAST], 2, p2, &res[QB_PAST])) == ST_OK)
        read_past(res[QB_PAST], n, h);
    if (st == ST_OK
        && (st = store_run(c, &store_batch_sql[QB_JOBS], 2, p2, &res[QB_JOBS])) == ST_OK)
        read_jobs(res[QB_JOBS], n, h);
    if (st == ST_OK
        && (st = store_run(c, &store_batch_sql[QB_STABILITY], 2, p2, &res[QB_STABILITY])) == ST_OK)
        read_stability(res[QB_STABILITY], n, h);
    if (in_tx)
        db_rollback(c); /* read only: nothing to keep */
    for (size_t i = 0; i < QB_SAVE; i++)
        PQclear(res[i]);
    db_release(c);
    if (st != ST_OK)
        free_all(h, n);
    return st;
}

store_status
store_scores_save_many(store *s, json_object *scores, const char *computed_at)
{
    PGresult *res = NULL;
    const char *p[] = {json_object_to_json_string_ext(scores, JSON_C_TO_STRING_PLAIN), computed_at};
    store_status st = store_run1(s, &store_batch_sql[QB_SAVE], 2, p, &res);
    PQclear(res);
    return st;
}
