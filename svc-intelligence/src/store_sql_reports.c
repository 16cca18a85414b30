/* store_sql_reports: the statements of client health reports. What a report
 * reads takes $1 the client, $2 `now` (RFC 3339) and $3 the window in days:
 * everything is relative to `now`, never to the database's clock. Rows come
 * back as JSON. */
#include "store_internal.h"

#define UTC    " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define T(col) "to_char(" col UTC

#define NOW    "$2::timestamptz"
#define WINDOW "(" NOW " - make_interval(days => $3::int))"

#define REPORT_META                                                              \
    "'id', p.id, 'client_id', p.client_id, 'job_id', p.job_id, 'days', p.days, " \
    "'created_at', " T("p.created_at")

const store_stmt store_report_sql[QP_N] = {
    /* The latest score at or before now (any age: a report says how old). */
    [QP_LATEST] = {"report_latest",
                   "SELECT json_build_object('overall_score', h.overall_score, "
                   "'health_status', h.health_status, "
                   "'trend', json_build_object('d7', h.trend_d7, 'd30', h.trend_d30), "
                   "'factors', h.factors, 'computed_at', " T(
                       "h.computed_at") ") "
                                        "FROM intelligence.client_health_scores h "
                                        "WHERE h.client_id = $1 AND h.computed_at <= " NOW " "
                                        "ORDER BY h.computed_at DESC, h.id DESC LIMIT 1"},
    /* Every score in the window with each factor's score, oldest first; at
     * most $4, the newest. */
    [QP_HISTORY] =
        {"report_history",
         "SELECT j FROM (SELECT h.computed_at, h.id, json_build_object('computed_at', " T(
             "h.computed_at") ", "
                              "'overall_score', h.overall_score, 'health_status', h.health_status, "
                              "'factors', coalesce((SELECT jsonb_object_agg(e.key, "
                              "e.value->'score') "
                              "FROM jsonb_each(h.factors) e), '{}'::jsonb)) AS j "
                              "FROM intelligence.client_health_scores h WHERE h.client_id = $1 "
                              "AND h.computed_at > " WINDOW " AND h.computed_at <= " NOW " "
                              "ORDER BY h.computed_at DESC, h.id DESC LIMIT $4) x "
                              "ORDER BY x.computed_at, x.id"},
    /* The alerts open at some moment of the window, oldest first. */
    [QP_ALERTS] = {"report_alerts",
                   "SELECT json_build_object('id', a.id, 'type', a.type, 'severity', a.severity, "
                   "'subject', a.subject, 'message', a.message, 'status', a.status, "
                   "'created_at', " T("a.created_at") ", 'resolved_at', " T(
                       "a.resolved_at") ") "
                                        "FROM intelligence.alerts a WHERE a.client_id = $1 "
                                        "AND a.created_at <= " NOW " AND (a.created_at > " WINDOW
                                        " OR a.resolved_at IS NULL OR a.resolved_at > " WINDOW ") "
                                        "ORDER BY a.created_at, a.id LIMIT $4"},
    /* The recommendations made or decided in the window, or still open. */
    [QP_RECS] = {"report_recs",
                 "SELECT json_build_object('id', r.id, 'type', r.type, 'title', r.title, "
                 "'impact', r.impact, 'confidence', r.confidence, 'status', r.status, "
                 "'created_at', " T("r.created_at") ", 'decided_at', " T(
                     "r.decided_at") ") "
                                     "FROM intelligence.recommendations r WHERE r.client_id = $1 "
                                     "AND r.created_at <= " NOW " AND (r.created_at > " WINDOW
                                     " OR r.status = 'open' OR r.decided_at > " WINDOW ") "
                                     "ORDER BY r.created_at, r.id LIMIT $4"},
    /* $1 client, $2 job, $3 days, $4 at, $5 json, $6 csv. */
    [QP_SAVE] = {"report_save",
                 "INSERT INTO intelligence.reports (client_id, job_id, days, created_at, json, "
                 "csv) VALUES ($1, $2, $3, $4, $5::jsonb, $6) ON CONFLICT (job_id) DO UPDATE "
                 "SET client_id = EXCLUDED.client_id, days = EXCLUDED.days, "
                 "created_at = EXCLUDED.created_at, json = EXCLUDED.json, csv = EXCLUDED.csv "
                 "RETURNING id"},
    [QP_GET] = {"report_get", "SELECT json_build_object(" REPORT_META ", 'report', p.json) "
                              "FROM intelligence.reports p WHERE p.id = $1"},
    [QP_CSV] = {"report_csv", "SELECT p.csv, p.client_id FROM intelligence.reports p "
                              "WHERE p.id = $1"},
    /* $1 client or NULL, $2 limit, $3 offset. */
    [QP_LIST] = {"report_list", "SELECT json_build_object(" REPORT_META ") "
                                "FROM intelligence.reports p "
                                "WHERE ($1::uuid IS NULL OR p.client_id = $1) "
                                "ORDER BY p.created_at DESC, p.id DESC LIMIT $2 OFFSET $3"},
    [QP_COUNT] = {"report_count", "SELECT count(*) FROM intelligence.reports p "
                                  "WHERE ($1::uuid IS NULL OR p.client_id = $1)"},
};
