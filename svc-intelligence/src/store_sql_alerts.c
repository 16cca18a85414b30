/* store_sql_alerts: the statements of alerts (README "Alerts"): raise,
 * resolve, acknowledge, read, and the facts each rule is evaluated on. All
 * parameterised. `now` is always a parameter (RFC 3339), never the
 * database's clock, so an evaluation depends on its facts and `now` alone.
 * Times go to the rules as whole seconds since the epoch, money as
 * ten-thousandths. */
#include "store_internal.h"

#define T(col)   "to_char(" col " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define EPOCH(x) "floor(extract(epoch FROM " x "))::bigint"

#define ALERT_JSON                                                                       \
    "json_build_object('id', a.id, 'type', a.type, 'severity', a.severity, "             \
    "'client_id', a.client_id, 'subject', a.subject, 'message', a.message, "             \
    "'details', a.details, 'status', a.status, 'occurrences', a.occurrences, "           \
    "'created_at', " T("a.created_at") ", 'last_seen_at', " T(                           \
        "a.last_seen_at") ", "                                                           \
                          "'acknowledged_by', a.acknowledged_by, 'acknowledged_at', " T( \
                              "a.acknowledged_at") ", "                                  \
                                                   "'resolved_at', " T("a.resolved_at") ")"

/* $1 status, $2 severity, $3 client_id, $4 type: each NULL for any. */
#define ALERT_FILTER                                                                       \
    "WHERE ($1::text IS NULL OR a.status = $1) AND ($2::text IS NULL OR a.severity = $2) " \
    "AND ($3::uuid IS NULL OR a.client_id = $3) AND ($4::text IS NULL OR a.type = $4) "

const store_stmt store_alert_sql[QA_N] = {
    /* $1 type, $2 severity, $3 client_id (kept only when the client is
     * known: an event may name one not registered yet), $4 subject,
     * $5 message, $6 details, $7 now. The partial unique index on (type,
     * subject) of open alerts makes a repeat update the open alert. The last
     * column says whether the row is new. */
    [QA_RAISE] = {"alert_raise",
                  "INSERT INTO intelligence.alerts AS a (type, severity, client_id, subject, "
                  "message, details, created_at, last_seen_at) VALUES ($1, $2, "
                  "(SELECT c.id FROM intelligence.clients c WHERE c.id = $3::uuid), $4, $5, "
                  "$6::jsonb, $7, $7) ON CONFLICT (type, subject) WHERE status <> 'resolved' "
                  "DO UPDATE SET severity = EXCLUDED.severity, message = EXCLUDED.message, "
                  "details = EXCLUDED.details, occurrences = a.occurrences + 1, "
                  "last_seen_at = greatest(a.last_seen_at, EXCLUDED.last_seen_at), "
                  "client_id = coalesce(a.client_id, EXCLUDED.client_id) "
                  "RETURNING " ALERT_JSON ", a.xmax = 0"},
    /* $1 type, $2 subject, $3 now. */
    [QA_RESOLVE] = {"alert_resolve",
                    "UPDATE intelligence.alerts a SET status = 'resolved', "
                    "resolved_at = greatest($3::timestamptz, a.created_at) "
                    "WHERE a.type = $1 AND a.subject = $2 AND a.status <> 'resolved' "
                    "RETURNING a.id"},
    /* $1 id, $2 who, $3 now. A second acknowledgement keeps the first. */
    [QA_ACK] = {"alert_ack", "UPDATE intelligence.alerts a SET status = 'acknowledged', "
                             "acknowledged_by = coalesce(a.acknowledged_by, $2), "
                             "acknowledged_at = coalesce(a.acknowledged_at, $3::timestamptz) "
                             "WHERE a.id = $1 AND a.status <> 'resolved' RETURNING " ALERT_JSON},
    [QA_GET] = {"alert_get", "SELECT " ALERT_JSON " FROM intelligence.alerts a WHERE a.id = $1"},
    /* Newest first. */
    [QA_LIST] = {"alert_list", "SELECT " ALERT_JSON " FROM intelligence.alerts a " ALERT_FILTER
                               "ORDER BY a.created_at DESC, a.id DESC LIMIT $5 OFFSET $6"},
    [QA_COUNT] = {"alert_count", "SELECT count(*) FROM intelligence.alerts a " ALERT_FILTER},
    /* Open alerts after id $1, by id: the sweep's pages. */
    [QA_OPEN] = {"alert_open", "SELECT a.id, a.type, a.subject FROM intelligence.alerts a "
                               "WHERE a.status <> 'resolved' AND a.id > $1 ORDER BY a.id LIMIT $2"},

    /* The facts. $1 the subject's key, $2 now. */
    /* The latest stored score, and the highest of the 7 days up to now. */
    [QA_SCORES] =
        {"alert_scores",
         "SELECT coalesce(l.overall_score, -1), coalesce(" EPOCH(
             "l.computed_at") ", 0), "
                              "coalesce(p.overall_score, -1), coalesce(" EPOCH(
                                  "p.computed_at") ", 0) "
                                                   "FROM (SELECT 1) one LEFT JOIN LATERAL (SELECT "
                                                   "overall_score, computed_at "
                                                   "FROM intelligence.client_health_scores WHERE "
                                                   "client_id = $1 "
                                                   "AND computed_at <= $2::timestamptz ORDER BY "
                                                   "computed_at DESC, id DESC "
                                                   "LIMIT 1) l ON true LEFT JOIN LATERAL (SELECT "
                                                   "overall_score, computed_at "
                                                   "FROM intelligence.client_health_scores WHERE "
                                                   "client_id = $1 "
                                                   "AND overall_score IS NOT NULL AND computed_at "
                                                   "<= $2::timestamptz "
                                                   "AND computed_at >= $2::timestamptz - interval "
                                                   "'7 days' "
                                                   "ORDER BY overall_score DESC, computed_at DESC "
                                                   "LIMIT 1) p ON true"},
    /* $3: at most this many jobs. */
    [QA_JOBS] = {"alert_jobs",
                 "SELECT " EPOCH(
                     "finished_at") ", status = 'failed' "
                                    "FROM intelligence.job_outcomes WHERE client_id = $1::uuid "
                                    "AND status <> 'cancelled' AND finished_at > $2::timestamptz - "
                                    "interval '24 hours' "
                                    "AND finished_at <= $2::timestamptz ORDER BY finished_at DESC "
                                    "LIMIT $3"},
    /* $2: at most this many checks, newest first. */
    [QA_CHECKS] =
        {"alert_checks",
         "SELECT status, " EPOCH(
             "checked_at") ", client_id "
                           "FROM intelligence.integration_checks WHERE integration_id = $1::uuid "
                           "ORDER BY checked_at DESC, check_id DESC LIMIT $2"},
    /* $1 client_id or NULL, $2 source_type, $3 at most this many runs. */
    [QA_RUNS] =
        {"alert_runs",
         "SELECT status, " EPOCH(
             "finished_at") ", left(coalesce(error, ''), 48) "
                            "FROM intelligence.sync_runs WHERE client_id IS NOT DISTINCT FROM "
                            "$1::uuid "
                            "AND source_type = $2 ORDER BY finished_at DESC, run_id DESC LIMIT $3"},
    /* $1 run_id: the source of a sync run. */
    [QA_RUN_SOURCE] = {"alert_run_source",
                       "SELECT source_type FROM intelligence.sync_runs WHERE run_id = $1"},
    /* $1 business_id, $2 period (YYYY-MM), $3 at most this many rows. */
    [QA_USAGE] =
        {"alert_usage",
         "SELECT period, (cost * 10000)::bigint, coalesce((budget * 10000)::bigint, -1), " EPOCH(
             "reported_at") ", client_id FROM intelligence.provider_usage "
                            "WHERE business_id = $1 AND period = $2 ORDER BY reported_at DESC, "
                            "provider "
                            "LIMIT $3"},
};
