/* store_sql_recs: the statements on recommendations. All parameterised;
 * times come in as RFC 3339 (the moment of the request, never the
 * database's clock) and go out as RFC 3339 UTC or, for the rules, as whole
 * seconds since the epoch. */
#include "store_internal.h"

#define UTC      " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define T(col)   "to_char(" col UTC
#define EPOCH(x) "floor(extract(epoch FROM " x "))::bigint"

#define REC_JSON                                                                   \
    "json_build_object('id', r.id, 'client_id', r.client_id, 'type', r.type, "     \
    "'title', r.title, 'description', r.description, 'impact', r.impact, "         \
    "'confidence', r.confidence, 'status', r.status, "                             \
    "'suggested_action', r.suggested_action, 'decline_reason', r.decline_reason, " \
    "'job_id', r.job_id, 'created_at', " T("r.created_at") ", 'updated_at', " T(   \
        "r.updated_at") ", 'decided_at', " T("r.decided_at") ", 'decided_by', r.decided_by)"

#define REC_FILTER                                                                          \
    "WHERE ($1::uuid IS NULL OR r.client_id = $1) AND ($2::text IS NULL OR r.status = $2) " \
    "AND ($3::text IS NULL OR r.type = $3) "

const store_stmt store_recs_sql[QR_N] = {
    /* What the rules need besides the score, in one statement (one
     * snapshot, one round trip), as rows (kind, ord, a, b, c, d):
     * 1 the client's open alerts, oldest first, at most $2: type, subject;
     * 2 the integration its health checks last came from: integration_id;
     * 3 per type of recommendation: type, one open (t/f), the latest
     *   decline and the latest acceptance in seconds (0: none). */
    [QR_CONTEXT] =
        {"recs_context",
         "SELECT 1 AS kind, row_number() OVER (ORDER BY a.created_at, a.id) AS ord, "
         "a.type, a.subject, NULL::text, NULL::text FROM (SELECT type, subject, "
         "created_at, id FROM intelligence.alerts WHERE client_id = $1 "
         "AND status <> 'resolved' ORDER BY created_at, id LIMIT $2) a "
         "UNION ALL SELECT 2, 1, i.integration_id::text, NULL, NULL, NULL FROM "
         "(SELECT integration_id FROM intelligence.integration_checks "
         "WHERE client_id = $1 ORDER BY checked_at DESC, check_id LIMIT 1) i "
         "UNION ALL SELECT 3, 1, type, bool_or(status = 'open')::text, "
         "coalesce(max(" EPOCH(
             "decided_at") ") FILTER (WHERE status = 'declined'), "
                           "0)::text, coalesce(max(" EPOCH(
                               "decided_at") ") FILTER (WHERE status = "
                                             "'accepted'), 0)::text FROM "
                                             "intelligence.recommendations "
                                             "WHERE client_id = $1 GROUP BY type ORDER BY 1, 2"},
    /* $1 client, $2 type, $3 title, $4 description, $5 impact, $6 confidence,
     * $7 suggested_action, $8 now. A second open one of the type is not
     * inserted (no row back). */
    [QR_INSERT] = {"recs_insert",
                   "INSERT INTO intelligence.recommendations AS r (client_id, type, title, "
                   "description, impact, confidence, suggested_action, created_at, updated_at) "
                   "VALUES ($1, $2, $3, $4, $5, $6::numeric, $7::jsonb, $8, $8) "
                   "ON CONFLICT (client_id, type) WHERE status = 'open' DO NOTHING "
                   "RETURNING r.id"},
    [QR_OPEN] = {"recs_open", "SELECT " REC_JSON " FROM intelligence.recommendations r "
                              "WHERE r.client_id = $1 AND r.status = 'open' "
                              "ORDER BY r.created_at DESC, r.id DESC"},
    /* $1 client, $2 status, $3 type (each may be NULL), $4 limit, $5 offset. */
    [QR_LIST] = {"recs_list", "SELECT " REC_JSON " FROM intelligence.recommendations r " REC_FILTER
                              "ORDER BY r.created_at DESC, r.id DESC LIMIT $4 OFFSET $5"},
    [QR_COUNT] = {"recs_count", "SELECT count(*) FROM intelligence.recommendations r " REC_FILTER},
    [QR_GET] = {"recs_get", "SELECT " REC_JSON " FROM intelligence.recommendations r "
                            "WHERE r.id = $1"},
    /* $1 id, $2 status, $3 decline_reason, $4 job_id, $5 decided_by, $6 at.
     * Only an open one: no row back otherwise. */
    [QR_DECIDE] = {"recs_decide",
                   "UPDATE intelligence.recommendations r SET status = $2, decline_reason = $3, "
                   "job_id = $4, decided_by = $5, decided_at = $6, updated_at = $6 "
                   "WHERE r.id = $1 AND r.status = 'open' RETURNING " REC_JSON},
};
