/* store_health: the health score's inputs, its history and the summary;
 * see store.h. */
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

static store_status
read_aggregates(PGresult *r, score_inputs *in)
{
    if (PQntuples(r) == 0)
        return ST_NOT_FOUND;
    in->activities_30d = (long)num(r, 0, 0);
    in->last_activity_at = num(r, 0, 1);
    in->quotes_accepted = (long)num(r, 0, 2);
    in->quotes_lost = (long)num(r, 0, 3);
    in->quotes_open = (long)num(r, 0, 4);
    in->projects_new = (long)num(r, 0, 5);
    in->paid_cents_30d = num(r, 0, 6);
    in->paid_cents_prev_30d = num(r, 0, 7);
    return ST_OK;
}

static store_status
read_tickets(PGresult *r, store_inputs *h)
{
    int n = PQntuples(r);
    h->tickets = calloc(n > 0 ? (size_t)n : 1, sizeof(*h->tickets));
    if (!h->tickets)
        return ST_ERROR;
    for (int i = 0; i < n; i++) {
        score_priority p = score_priority_of(PQgetvalue(r, i, 0));
        h->tickets[i] =
            (score_ticket){p == PRIO_N ? PRIO_NORMAL : p, num(r, i, 1), num(r, i, 2), num(r, i, 3)};
    }
    h->in.tickets = h->tickets;
    h->in.ntickets = (size_t)n;
    return ST_OK;
}

static store_status
read_invoices(PGresult *r, store_inputs *h)
{
    int n = PQntuples(r);
    h->invoices = calloc(n > 0 ? (size_t)n : 1, sizeof(*h->invoices));
    if (!h->invoices)
        return ST_ERROR;
    for (int i = 0; i < n; i++)
        h->invoices[i] = (score_invoice){num(r, i, 0), num(r, i, 1)};
    h->in.invoices = h->invoices;
    h->in.ninvoices = (size_t)n;
    return ST_OK;
}

static void
read_past(PGresult *r, score_inputs *in)
{
    for (int i = 0; i < PQntuples(r); i++) {
        score_past *p = num(r, i, 0) == 7 ? &in->past_d7 : &in->past_d30;
        *p = (score_past){true, num(r, i, 1), (int)num(r, i, 2)};
    }
}

/* A consistent view of the client's signals: every query in one read-only
 * REPEATABLE READ transaction. */
store_status
store_health_inputs(store *s, const char *client_id, int64_t now, store_inputs *h)
{
    char at[UTIL_RFC3339_LEN + 1], lt[24], li[24];
    struct timespec ts = {.tv_sec = (time_t)now, .tv_nsec = 0};
    PGresult *res[4] = {NULL, NULL, NULL, NULL};
    db_conn *c = NULL;
    bool in_tx = false;
    memset(h, 0, sizeof(*h));
    h->in.now = now;
    util_rfc3339(&ts, at);
    snprintf(lt, sizeof(lt), "%d", SCORE_MAX_TICKETS);
    snprintf(li, sizeof(li), "%d", SCORE_MAX_INVOICES);
    const char *p2[] = {client_id, at}, *pt[] = {client_id, at, lt}, *pi[] = {client_id, at, li};
    store_status st = store_map(db_acquire(s->pool, STORE_WAIT_MS, &c));
    if (st == ST_OK && (st = store_snapshot(c)) == ST_OK)
        in_tx = true;
    if (st == ST_OK
        && (st = store_run(c, &store_health_sql[QH_AGGREGATES], 2, p2, &res[0])) == ST_OK)
        st = read_aggregates(res[0], &h->in);
    if (st == ST_OK && (st = store_run(c, &store_health_sql[QH_TICKETS], 3, pt, &res[1])) == ST_OK)
        st = read_tickets(res[1], h);
    if (st == ST_OK && (st = store_run(c, &store_health_sql[QH_INVOICES], 3, pi, &res[2])) == ST_OK)
        st = read_invoices(res[2], h);
    if (st == ST_OK && (st = store_run(c, &store_health_sql[QH_PAST], 2, p2, &res[3])) == ST_OK)
        read_past(res[3], &h->in);
    if (st == ST_OK)
        st = store_event_inputs(c, p2, &h->in);
    if (in_tx)
        db_rollback(c); /* read only: nothing to keep */
    for (int i = 0; i < 4; i++)
        PQclear(res[i]);
    db_release(c);
    if (st != ST_OK)
        store_inputs_free(h);
    return st;
}

void
store_inputs_free(store_inputs *h)
{
    free(h->tickets);
    free(h->invoices);
    h->tickets = NULL;
    h->invoices = NULL;
    h->in.tickets = NULL;
    h->in.invoices = NULL;
}

store_status
store_score_save(store *s, const char *client_id, const score_result *r, const char *factors,
                 const char *computed_at)
{
    char overall[16], d7[16], d30[16];
    PGresult *res = NULL;
    snprintf(overall, sizeof(overall), "%d", r->overall);
    snprintf(d7, sizeof(d7), "%d", r->trend_d7);
    snprintf(d30, sizeof(d30), "%d", r->trend_d30);
    const char *p[] = {client_id,
                       r->overall >= 0 ? overall : NULL,
                       score_band_name(r->band),
                       factors,
                       r->has_d7 ? d7 : NULL,
                       r->has_d30 ? d30 : NULL,
                       computed_at};
    store_status st = store_run1(s, &store_health_sql[QH_SAVE], 7, p, &res);
    PQclear(res);
    return st;
}

store_status
store_unscored(store *s, long max, json_object **ids)
{
    char m[24];
    PGresult *res = NULL;
    snprintf(m, sizeof(m), "%ld", max);
    const char *p[] = {m};
    store_status st = store_run1(s, &store_health_sql[QH_UNSCORED], 1, p, &res);
    if (st == ST_OK) {
        *ids = json_object_new_array();
        for (int i = 0; i < PQntuples(res); i++)
            json_object_array_add(*ids, json_object_new_string(PQgetvalue(res, i, 0)));
    }
    PQclear(res);
    return st;
}

/* {"healthy": n, "at_risk": n, "critical": n, "unknown": n}, and the total
 * of band (all bands when NULL). */
static json_object *
counts_of(PGresult *r, const char *band, long *total)
{
    json_object *counts = json_object_new_object();
    *total = 0;
    for (size_t b = 0; score_band_names[b]; b++) {
        long n = 0;
        for (int i = 0; i < PQntuples(r); i++)
            if (strcmp(PQgetvalue(r, i, 0), score_band_names[b]) == 0)
                n = strtol(PQgetvalue(r, i, 1), NULL, 10);
        json_object_object_add(counts, score_band_names[b], json_object_new_int64(n));
        if (!band || strcmp(band, score_band_names[b]) == 0)
            *total += n;
    }
    return counts;
}

store_status
store_summary(store *s, const char *band, long limit, long offset, json_object **page)
{
    char l[24], o[24];
    PGresult *rows = NULL, *counts = NULL;
    db_conn *c = NULL;
    snprintf(l, sizeof(l), "%ld", limit);
    snprintf(o, sizeof(o), "%ld", offset);
    const char *p[] = {band, l, o};
    bool in_tx = false;
    store_status st = store_map(db_acquire(s->pool, STORE_WAIT_MS, &c));
    if (st == ST_OK && (st = store_snapshot(c)) == ST_OK)
        in_tx = true; /* the page and the counts agree */
    if (st == ST_OK)
        st = store_run(c, &store_health_sql[QH_SUMMARY], 3, p, &rows);
    if (st == ST_OK)
        st = store_run(c, &store_health_sql[QH_COUNTS], 0, NULL, &counts);
    if (st == ST_OK) {
        long total = 0;
        json_object *bands = counts_of(counts, band, &total);
        *page = store_page(rows, total, limit, offset);
        json_object_object_add(*page, "counts", bands);
    }
    if (in_tx)
        db_rollback(c);
    PQclear(rows);
    PQclear(counts);
    db_release(c);
    return st;
}
