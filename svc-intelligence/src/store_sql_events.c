/* store_sql_events: the statements of the event consumers (one per kind of
 * event, parameters in the order events_msg.c fills them) and of the two
 * factors they feed. Every write is keyed on the event's natural key, so a
 * message delivered twice changes nothing the second time; each returns a
 * row only when it changed one. */
#include "store_internal.h"

#define NOW    "$2::timestamptz"
#define WINDOW "(" NOW " - interval '30 days')"

const store_stmt store_event_sql[QE_N] = {
    /* A job's final outcome: the highest seq wins. */
    [QE_JOB] = {"event_job",
                "INSERT INTO intelligence.job_outcomes AS o (job_id, client_id, job_type, status, "
                "attempt, error_message, seq, finished_at) "
                "VALUES ($1, $2, $3, $4, $5, $6, $7, $8) "
                "ON CONFLICT (job_id) DO UPDATE SET client_id = EXCLUDED.client_id, "
                "job_type = EXCLUDED.job_type, status = EXCLUDED.status, "
                "attempt = EXCLUDED.attempt, error_message = EXCLUDED.error_message, "
                "seq = EXCLUDED.seq, finished_at = EXCLUDED.finished_at "
                "WHERE o.seq < EXCLUDED.seq RETURNING o.job_id"},
    [QE_HEALTH] = {"event_health",
                   "INSERT INTO intelligence.integration_checks (check_id, integration_id, "
                   "client_id, status, total_ms, error, checked_at) "
                   "VALUES ($1, $2, $3, $4, $5, $6, $7) "
                   "ON CONFLICT (check_id) DO NOTHING RETURNING check_id"},
    /* A run reported again with a later finished_at replaces the first report. */
    [QE_SYNC] = {"event_sync",
                 "INSERT INTO intelligence.sync_runs AS r (run_id, source_type, client_id, status, "
                 "counts, error, finished_at) VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7) "
                 "ON CONFLICT (run_id) DO UPDATE SET source_type = EXCLUDED.source_type, "
                 "client_id = EXCLUDED.client_id, status = EXCLUDED.status, "
                 "counts = EXCLUDED.counts, error = EXCLUDED.error, "
                 "finished_at = EXCLUDED.finished_at "
                 "WHERE r.finished_at < EXCLUDED.finished_at RETURNING r.run_id"},
    /* Running totals of a period: the newer report wins. */
    [QE_USAGE] = {"event_usage",
                  "INSERT INTO intelligence.provider_usage AS u (business_id, provider, period, "
                  "client_id, tokens, requests, cost, budget, reported_at) "
                  "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) "
                  "ON CONFLICT (business_id, provider, period) DO UPDATE SET "
                  "client_id = EXCLUDED.client_id, tokens = EXCLUDED.tokens, "
                  "requests = EXCLUDED.requests, cost = EXCLUDED.cost, budget = EXCLUDED.budget, "
                  "reported_at = EXCLUDED.reported_at "
                  "WHERE u.reported_at < EXCLUDED.reported_at RETURNING u.business_id"},
    /* The entry's id is the event's: an entry delivered twice is one row. */
    [QE_ACTIVITY] = {"event_activity",
                     "INSERT INTO intelligence.activity_log (id, client_id, actor, action, "
                     "occurred_at, details) VALUES ($1, $2, $3, $4, $5, $6::jsonb) "
                     "ON CONFLICT (id) DO NOTHING RETURNING id"},
    /* $1 client, $2 now. Outcomes by whole days before now (0-29). */
    [QE_IN_JOBS] = {"health_jobs",
                    "SELECT least(29, floor(extract(epoch FROM (" NOW " - finished_at)) / 86400))"
                    "::int AS d, count(*) FILTER (WHERE status = 'completed'), "
                    "count(*) FILTER (WHERE status = 'failed'), "
                    "count(*) FILTER (WHERE status = 'cancelled') "
                    "FROM intelligence.job_outcomes WHERE client_id = $1 "
                    "AND finished_at > " WINDOW " AND finished_at <= " NOW " GROUP BY 1"},
    /* One row: checks by status, integrations whose latest check is
     * unhealthy, sync runs by status. */
    [QE_IN_STABILITY] = {"health_stability",
                         "WITH c AS (SELECT integration_id, status, checked_at, check_id "
                         "FROM intelligence.integration_checks WHERE client_id = $1 "
                         "AND checked_at > " WINDOW " AND checked_at <= " NOW ") "
                         "SELECT (SELECT count(*) FROM c WHERE status = 'healthy'), "
                         "(SELECT count(*) FROM c WHERE status = 'degraded'), "
                         "(SELECT count(*) FROM c WHERE status = 'unhealthy'), "
                         "(SELECT count(*) FROM (SELECT DISTINCT ON (integration_id) status FROM c "
                         "ORDER BY integration_id, checked_at DESC, check_id DESC) l "
                         "WHERE l.status = 'unhealthy'), "
                         "s.completed, s.partial, s.failed FROM (SELECT "
                         "count(*) FILTER (WHERE status = 'completed') AS completed, "
                         "count(*) FILTER (WHERE status = 'partial') AS partial, "
                         "count(*) FILTER (WHERE status = 'failed') AS failed "
                         "FROM intelligence.sync_runs WHERE client_id = $1 "
                         "AND finished_at > " WINDOW " AND finished_at <= " NOW ") s"},
};
