/* store_sql_batch: the health score's inputs for many clients in one
 * statement each (POST /scores/recompute). They read exactly what the
 * one-client statements of store_sql_health.c and store_sql_events.c
 * (health_jobs, health_stability) read, client by client (a
 * LATERAL per client keeps each one's window, order and limit), so a score
 * is the same whichever way it was computed; change both together.
 * $1: the clients, a JSON array of UUID strings; each row carries the
 * client's 1-based position in it (ord). $2: now (RFC 3339). */
#include "store_internal.h"

#define NOW      "$2::timestamptz"
#define WINDOW   "(" NOW " - interval '30 days')"
#define EPOCH(x) "floor(extract(epoch FROM " x "))::bigint"
#define CLIENTS  "jsonb_array_elements_text($1::jsonb) WITH ORDINALITY AS u(id, ord) "

/* As health_aggregates, one row per existing client. */
#define AGGREGATES_MANY                                                                          \
    "SELECT u.ord, a.n, a.last, q.accepted, q.lost, q.open, p.n, pay.cur, pay.prev "             \
    "FROM " CLIENTS "JOIN intelligence.clients c ON c.id = u.id::uuid "                          \
    "CROSS JOIN LATERAL (SELECT "                                                                \
    "(SELECT count(*) FROM intelligence.activity_log WHERE client_id = c.id "                    \
    "AND occurred_at > " WINDOW " AND occurred_at <= " NOW ") AS n, "                            \
    "coalesce((SELECT " EPOCH(                                                                   \
        "occurred_at") " FROM intelligence.activity_log "                                        \
                       "WHERE client_id = c.id AND occurred_at <= " NOW                          \
                       " ORDER BY occurred_at DESC LIMIT 1), "                                   \
                       "0) AS last) a "                                                          \
                       "CROSS JOIN LATERAL (SELECT count(*) FILTER (WHERE status = 'accepted') " \
                       "AS accepted, "                                                           \
                       "count(*) FILTER (WHERE status IN ('declined', 'expired')) AS lost, "     \
                       "count(*) FILTER (WHERE status IN ('draft', 'sent')) AS open "            \
                       "FROM intelligence.quotes WHERE client_id = c.id "                        \
                       "AND issued_at > " WINDOW " AND issued_at <= " NOW ") q "                 \
                       "CROSS JOIN LATERAL (SELECT count(*) AS n FROM intelligence.projects "    \
                       "WHERE client_id = c.id AND status <> 'cancelled' "                       \
                       "AND started_at > " WINDOW " AND started_at <= " NOW ") p "               \
                       "CROSS JOIN LATERAL (SELECT "                                             \
                       "(coalesce(sum(amount) FILTER (WHERE paid_at > " WINDOW                   \
                       "), 0) * 100)::bigint AS cur, "                                           \
                       "(coalesce(sum(amount) FILTER (WHERE paid_at <= " WINDOW                  \
                       "), 0) * 100)::bigint AS prev "                                           \
                       "FROM intelligence.payments WHERE client_id = c.id AND status = 'paid' "  \
                       "AND paid_at > " NOW " - interval '60 days' AND paid_at <= " NOW ") pay " \
                       "ORDER BY u.ord"

const store_stmt store_batch_sql[QB_N] = {
    [QB_AGGREGATES] = {"batch_aggregates", AGGREGATES_MANY},
    /* $3: the most tickets per client. */
    [QB_TICKETS] =
        {"batch_tickets",
         "SELECT u.ord, t.priority, t.opened, t.responded, t.resolved FROM " CLIENTS
         "CROSS JOIN LATERAL (SELECT priority, " EPOCH(
             "opened_at") " AS opened, "
                          "coalesce(" EPOCH(
                              "first_response_at") ", 0) AS responded, "
                                                   "coalesce(" EPOCH(
                                                       "resolved_at") ", 0) AS resolved "
                                                                      "FROM intelligence.tickets "
                                                                      "WHERE client_id = "
                                                                      "u.id::uuid "
                                                                      "AND opened_at > " WINDOW
                                                                      " AND opened_at <= " NOW " "
                                                                      "ORDER BY opened_at DESC, id "
                                                                      "LIMIT $3) t ORDER BY u.ord"},
    /* $3: the most invoices per client. */
    [QB_INVOICES] =
        {"batch_invoices",
         "SELECT u.ord, i.due, i.paid FROM " CLIENTS "CROSS JOIN LATERAL (SELECT " EPOCH(
             "due_at") " AS due, "
                       "coalesce(" EPOCH(
                           "paid_at") ", 0) AS paid "
                                      "FROM intelligence.payments WHERE client_id = u.id::uuid "
                                      "AND status <> 'void' AND due_at <= " NOW
                                      " AND (due_at > " WINDOW
                                      " OR paid_at IS NULL OR paid_at > " NOW ") "
                                      "ORDER BY due_at DESC, id LIMIT $3) i ORDER BY u.ord"},
    [QB_PAST] =
        {"batch_past",
         "SELECT u.ord, d.k, " EPOCH(
             "h.computed_at") ", coalesce(h.overall_score, -1) "
                              "FROM " CLIENTS "CROSS JOIN (VALUES (7), (30)) AS d(k) "
                              "CROSS JOIN LATERAL (SELECT computed_at, overall_score "
                              "FROM intelligence.client_health_scores WHERE client_id = u.id::uuid "
                              "AND computed_at <= " NOW " - make_interval(days => d.k) "
                              "ORDER BY computed_at DESC, id DESC LIMIT 1) h ORDER BY u.ord"},
    /* As health_jobs (store_sql_events.c): outcomes by whole days before now. */
    [QB_JOBS] = {"batch_jobs",
                 "SELECT u.ord, j.d, j.completed, j.failed, j.cancelled FROM " CLIENTS
                 "CROSS JOIN LATERAL (SELECT least(29, floor(extract(epoch FROM (" NOW
                 " - finished_at)) / 86400))::int AS d, "
                 "count(*) FILTER (WHERE status = 'completed') AS completed, "
                 "count(*) FILTER (WHERE status = 'failed') AS failed, "
                 "count(*) FILTER (WHERE status = 'cancelled') AS cancelled "
                 "FROM intelligence.job_outcomes WHERE client_id = u.id::uuid "
                 "AND finished_at > " WINDOW " AND finished_at <= " NOW " GROUP BY 1) j "
                 "ORDER BY u.ord"},
    /* As health_stability: checks by status, integrations whose latest check
     * is unhealthy, sync runs by status; one row per client. */
    [QB_STABILITY] = {"batch_stability",
                      "SELECT u.ord, k.healthy, k.degraded, k.unhealthy, l.n, "
                      "s.completed, s.partial, s.failed FROM " CLIENTS "CROSS JOIN LATERAL (SELECT "
                      "count(*) FILTER (WHERE status = 'healthy') AS healthy, "
                      "count(*) FILTER (WHERE status = 'degraded') AS degraded, "
                      "count(*) FILTER (WHERE status = 'unhealthy') AS unhealthy "
                      "FROM intelligence.integration_checks WHERE client_id = u.id::uuid "
                      "AND checked_at > " WINDOW " AND checked_at <= " NOW ") k "
                      "CROSS JOIN LATERAL (SELECT count(*) AS n FROM (SELECT DISTINCT ON "
                      "(integration_id) status FROM intelligence.integration_checks "
                      "WHERE client_id = u.id::uuid AND checked_at > " WINDOW
                      " AND checked_at <= " NOW " "
                      "ORDER BY integration_id, checked_at DESC, check_id DESC) x "
                      "WHERE x.status = 'unhealthy') l "
                      "CROSS JOIN LATERAL (SELECT "
                      "count(*) FILTER (WHERE status = 'completed') AS completed, "
                      "count(*) FILTER (WHERE status = 'partial') AS partial, "
                      "count(*) FILTER (WHERE status = 'failed') AS failed "
                      "FROM intelligence.sync_runs WHERE client_id = u.id::uuid "
                      "AND finished_at > " WINDOW " AND finished_at <= " NOW ") s "
                      "ORDER BY u.ord"},
    /* $1: [{client_id, overall, status, factors, d7, d30}], $2: computed_at. */
    [QB_SAVE] = {"batch_save",
                 "INSERT INTO intelligence.client_health_scores (client_id, overall_score, "
                 "health_status, factors, trend_d7, trend_d30, computed_at) "
                 "SELECT (x->>'client_id')::uuid, (x->>'overall')::smallint, x->>'status', "
                 "x->'factors', (x->>'d7')::smallint, (x->>'d30')::smallint, $2::timestamptz "
                 "FROM jsonb_array_elements($1::jsonb) AS x"},
};
