/* store_sql_health: the statements of the health score. $1 is the client,
 * $2 `now` (RFC 3339): every window is taken relative to it, never to the
 * database's clock, so a score depends on its inputs and `now` alone. Times
 * go to the domain as whole seconds since the epoch, money paid as cents. */
#include "store_internal.h"

#define NOW      "$2::timestamptz"
#define WINDOW   "(" NOW " - interval '30 days')"
#define EPOCH(x) "floor(extract(epoch FROM " x "))::bigint"

/* One row for an existing client, none otherwise. */
#define AGGREGATES                                                                               \
    "SELECT a.n, a.last, q.accepted, q.lost, q.open, p.n, pay.cur, pay.prev "                    \
    "FROM intelligence.clients c "                                                               \
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
                       "WHERE c.id = $1"

/* Each client's newest score: client_latest_scores, kept by a trigger on
 * client_health_scores (migration 011), one row per client however long the
 * history. */
#define SUMMARY_LATEST \
    "FROM intelligence.clients c JOIN intelligence.client_latest_scores l ON l.client_id = c.id "

const store_stmt store_health_sql[QH_N] = {
    [QH_AGGREGATES] = {"health_aggregates", AGGREGATES},
    [QH_TICKETS] =
        {"health_tickets",
         "SELECT priority, " EPOCH(
             "opened_at") ", "
                          "coalesce(" EPOCH(
                              "first_response_at") ", 0), "
                                                   "coalesce(" EPOCH(
                                                       "resolved_at") ", 0) FROM "
                                                                      "intelligence.tickets "
                                                                      "WHERE client_id = $1 AND "
                                                                      "opened_at > " WINDOW
                                                                      " AND opened_at <= " NOW " "
                                                                      "ORDER BY opened_at DESC, id "
                                                                      "LIMIT $3"},
    [QH_INVOICES] =
        {"health_invoices",
         "SELECT " EPOCH("due_at") ", coalesce(" EPOCH(
             "paid_at") ", 0) "
                        "FROM intelligence.payments WHERE client_id = $1 AND status <> 'void' "
                        "AND due_at <= " NOW " AND (due_at > " WINDOW " OR paid_at IS NULL "
                        "OR paid_at > " NOW ") ORDER BY due_at DESC, id LIMIT $3"},
    /* The newest score at or before now - 7 days, and now - 30 days. */
    [QH_PAST] = {"health_past",
                 "SELECT d.k, " EPOCH(
                     "h.computed_at") ", coalesce(h.overall_score, -1) "
                                      "FROM (VALUES (7), (30)) AS d(k) CROSS JOIN LATERAL (SELECT "
                                      "computed_at, "
                                      "overall_score FROM intelligence.client_health_scores WHERE "
                                      "client_id = $1 "
                                      "AND computed_at <= " NOW " - make_interval(days => d.k) "
                                      "ORDER BY computed_at DESC, id DESC LIMIT 1) h"},
    [QH_SAVE] = {"health_save",
                 "INSERT INTO intelligence.client_health_scores (client_id, overall_score, "
                 "health_status, factors, trend_d7, trend_d30, computed_at) "
                 "VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7)"},
    [QH_UNSCORED] = {"health_unscored",
                     "SELECT c.id FROM intelligence.clients c WHERE NOT EXISTS (SELECT 1 "
                     "FROM intelligence.client_latest_scores l WHERE l.client_id = c.id) "
                     "ORDER BY c.created_at, c.id LIMIT $1"},
    /* $1 band or NULL, $2 limit, $3 offset. Unknown (no score) sorts last.
     * The page is chosen first and only its rows are rendered. */
    [QH_SUMMARY] = {"health_summary",
                    "SELECT json_build_object('client_id', s.id, 'name', s.name, "
                    "'plan', s.plan, 'client_status', s.status, "
                    "'overall_score', s.overall_score, 'health_status', s.health_status, "
                    "'trend', json_build_object('d7', s.trend_d7, 'd30', s.trend_d30), "
                    "'computed_at', to_char(s.computed_at AT TIME ZONE 'UTC', "
                    "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')) "
                    "FROM (SELECT c.id, c.name, c.plan, c.status, l.overall_score, "
                    "l.health_status, l.trend_d7, l.trend_d30, l.computed_at " SUMMARY_LATEST
                    "WHERE ($1::text IS NULL OR l.health_status = $1) "
                    "ORDER BY l.overall_score ASC NULLS LAST, c.name, c.id LIMIT $2 OFFSET $3) s "
                    "ORDER BY s.overall_score ASC NULLS LAST, s.name, s.id"},
    [QH_COUNTS] = {"health_counts",
                   "SELECT l.health_status, count(*) " SUMMARY_LATEST "GROUP BY l.health_status"},
};
