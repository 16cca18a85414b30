/* store_sql_decide: the statements of the decision engine: what a decision
 * is made from (facts), the decisions kept, and the clients the schedule
 * recommendations are for. All parameterised; windows are taken from the
 * request's `now` ($3), never the database's clock. */
#include "store_internal.h"

#define RFC3339(x) "to_char(" x " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

/* The stored answer with the row's own fields: what POST /decide returned. */
#define DECISION_JSON                                                          \
    "(d.response || jsonb_build_object('id', d.id, 'client_id', d.client_id, " \
    "'context', d.context, 'job_type', d.job_type, 'decided_at', " RFC3339(    \
        "d.decided_at") ", 'requested_by', d.requested_by, 'request', d.request))::text"

#define DECISION_FILTER                                                                       \
    "WHERE ($1::uuid IS NULL OR d.client_id = $1) AND ($2::text IS NULL OR d.job_type = $2) " \
    "AND ($3::timestamptz IS NULL OR d.decided_at >= $3) "

/* $1 client, $2 job type (NULL: none), $3 now. One row for an existing
 * client: its zone, its latest health status (NULL when never scored), its
 * integrations by their latest check, and the job type's failures. */
#define FACTS                                                                               \
    "SELECT c.timezone, (SELECT h.health_status FROM intelligence.client_health_scores h "  \
    "WHERE h.client_id = c.id AND h.computed_at <= $3::timestamptz "                        \
    "ORDER BY h.computed_at DESC, h.id DESC LIMIT 1), i.total, i.unhealthy, i.degraded, "   \
    "f.n7, f.n24, (SELECT o.error_message FROM intelligence.job_outcomes o "                \
    "WHERE o.client_id = c.id AND o.job_type = $2 AND o.status = 'failed' "                 \
    "AND o.finished_at <= $3::timestamptz ORDER BY o.finished_at DESC, o.job_id LIMIT 1) "  \
    "FROM intelligence.clients c "                                                          \
    "CROSS JOIN LATERAL (SELECT count(*) AS total, "                                        \
    "count(*) FILTER (WHERE l.status = 'unhealthy') AS unhealthy, "                         \
    "count(*) FILTER (WHERE l.status = 'degraded') AS degraded FROM (SELECT DISTINCT ON "   \
    "(k.integration_id) k.status FROM intelligence.integration_checks k "                   \
    "WHERE k.client_id = c.id AND k.checked_at <= $3::timestamptz "                         \
    "ORDER BY k.integration_id, k.checked_at DESC) l) i "                                   \
    "CROSS JOIN LATERAL (SELECT count(*) AS n7, "                                           \
    "count(*) FILTER (WHERE o.finished_at > $3::timestamptz - interval '24 hours') AS n24 " \
    "FROM intelligence.job_outcomes o WHERE o.client_id = c.id AND o.job_type = $2 "        \
    "AND o.status = 'failed' AND o.finished_at > $3::timestamptz - interval '7 days' "      \
    "AND o.finished_at <= $3::timestamptz) f "                                              \
    "WHERE c.id = $1"

/* $1 client or NULL (then every active client). */
#define SCHEDULE_FILTER "WHERE ($1::uuid IS NULL AND c.status = 'active') OR c.id = $1 "

const store_stmt store_decide_sql[QD_N] = {
    [QD_FACTS] = {"decide_facts", FACTS},
    [QD_INSERT] = {"decision_insert",
                   "INSERT INTO intelligence.decisions AS d (client_id, context, job_type, "
                   "decision, request, response, scheduled_for, confidence, requested_by) "
                   "VALUES ($1, $2, $3, $4, $5::jsonb, $6::jsonb, $7, $8::numeric, $9) "
                   "RETURNING " DECISION_JSON},
    [QD_GET] = {"decision_get",
                "SELECT " DECISION_JSON " FROM intelligence.decisions d WHERE d.id = $1"},
    /* $4 limit, $5 offset: newest first. */
    [QD_LIST] = {"decision_list",
                 "SELECT " DECISION_JSON " FROM intelligence.decisions d " DECISION_FILTER
                 "ORDER BY d.decided_at DESC, d.id DESC "
                 "LIMIT $4 OFFSET $5"},
    [QD_COUNT] = {"decision_count",
                  "SELECT count(*) FROM intelligence.decisions d " DECISION_FILTER},
    /* $2 limit, $3 offset. */
    [QD_CLIENTS] = {"schedule_clients",
                    "SELECT c.id, c.name, c.timezone FROM intelligence.clients c " SCHEDULE_FILTER
                    "ORDER BY c.created_at, c.id LIMIT $2 OFFSET $3"},
    [QD_CLIENTS_COUNT] = {"schedule_clients_count",
                          "SELECT count(*) FROM intelligence.clients c " SCHEDULE_FILTER},
};
