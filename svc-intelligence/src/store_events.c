/* store_events: keep an event's facts, and read the inputs of the factors
 * they feed; see store_events.h. */
#include "store_events.h"

#include <stdlib.h>

#include "log.h"
#include "store_internal.h"

/* Only what the row itself caused is final: a value the database refuses
 * (a check, a type, an unknown client). Any other failure may pass (a
 * failover, a lost connection), so the event is tried again, not lost. */
static store_status
save_status(db_status st)
{
    switch (st) {
    case DB_OK:
        return ST_OK;
    case DB_ERR_FOREIGN_KEY:
        return ST_NOT_FOUND;
    case DB_ERR_CONSTRAINT:
    case DB_ERR_INVALID:
        return ST_ERROR;
    default:
        return ST_UNAVAILABLE;
    }
}

store_status
store_event_save(store *s, const ev_msg *m, bool *changed)
{
    PGresult *res = NULL;
    db_conn *c = NULL;
    *changed = false;
    if (m->kind >= EV_NKINDS)
        return ST_ERROR;
    /* QE_JOB .. QE_ACTIVITY follow ev_kind. */
    const store_stmt *q = &store_event_sql[m->kind];
    db_status st = db_acquire(s->pool, STORE_WAIT_MS, &c);
    if (st == DB_OK) {
        st = db_exec_prepared(c, q->name, q->sql, m->np, m->p, &res);
        if (st != DB_OK && st != DB_ERR_FOREIGN_KEY)
            log_msg(LOGL_WARN,
                    LOG_FIELDS(LF_STR("statement", q->name), LF_STR("error", db_last_error(c))),
                    "intelligence statement failed");
    }
    if (st == DB_OK)
        *changed = PQntuples(res) > 0;
    PQclear(res);
    db_release(c);
    return save_status(st);
}

static long
count_at(PGresult *r, int row, int col)
{
    return strtol(PQgetvalue(r, row, col), NULL, 10);
}

store_status
store_event_inputs(db_conn *c, const char *const *p, score_inputs *in)
{
    PGresult *jobs = NULL, *stab = NULL;
    store_status st = store_run(c, &store_event_sql[QE_IN_JOBS], 2, p, &jobs);
    for (int i = 0; st == ST_OK && i < PQntuples(jobs); i++) {
        long d = count_at(jobs, i, 0);
        if (d < 0 || d >= SCORE_WINDOW_DAYS)
            continue;
        in->jobs_completed[d] = count_at(jobs, i, 1);
        in->jobs_failed[d] = count_at(jobs, i, 2);
        in->jobs_cancelled_30d += count_at(jobs, i, 3);
    }
    if (st == ST_OK)
        st = store_run(c, &store_event_sql[QE_IN_STABILITY], 2, p, &stab);
    if (st == ST_OK && PQntuples(stab) == 1) {
        in->checks_healthy = count_at(stab, 0, 0);
        in->checks_degraded = count_at(stab, 0, 1);
        in->checks_unhealthy = count_at(stab, 0, 2);
        in->integrations_unhealthy = count_at(stab, 0, 3);
        in->syncs_completed = count_at(stab, 0, 4);
        in->syncs_partial = count_at(stab, 0, 5);
        in->syncs_failed = count_at(stab, 0, 6);
    }
    PQclear(jobs);
    PQclear(stab);
    return st;
}
