/* store_events: keep an event's facts, and read the inputs of the factors
 * they feed; see store_events.h. */
#include "store_events.h"

#include <stdlib.h>

#include "store_internal.h"

store_status
store_event_save(store *s, const ev_msg *m, bool *changed)
{
    PGresult *res = NULL;
    *changed = false;
    if (m->kind >= EV_NKINDS)
        return ST_ERROR;
    /* QE_JOB .. QE_ACTIVITY follow ev_kind. */
    store_status st = store_run1(s, &store_event_sql[m->kind], m->np, m->p, &res);
    if (st == ST_OK)
        *changed = PQntuples(res) > 0;
    PQclear(res);
    return st;
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
