/* What store*.c share: the statements, and running them. */
#ifndef INTEL_STORE_INTERNAL_H
#define INTEL_STORE_INTERNAL_H

#include "store.h"

typedef struct store_stmt {
    const char *name; /* prepared statement name, unique in the daemon */
    const char *sql;
} store_stmt;

/* Clients (store_sql.c). */
enum { QC_INSERT = 0, QC_GET, QC_LIST, QC_COUNT, QC_PATCH, QC_EXISTS, QC_N };
extern const store_stmt store_client_sql[QC_N];

/* Per signal kind (store_sql.c): $1 client_id, then the kind's fields in the
 * order of its rules; list: $1 client_id, $2 limit, $3 offset. */
typedef struct store_sig_sql {
    store_stmt insert, list, count;
} store_sig_sql;
extern const store_sig_sql store_signal_sql[SIG_NKINDS];

/* Health (store_sql_health.c). */
enum {
    QH_AGGREGATES = 0,
    QH_TICKETS,
    QH_INVOICES,
    QH_PAST,
    QH_SAVE,
    QH_UNSCORED,
    QH_SUMMARY,
    QH_COUNTS,
    QH_N
};
extern const store_stmt store_health_sql[QH_N];

/* System health and recompute (store_sql_system.c). */
enum { QS_TIMEOUT = 0, QS_INTEGRATIONS, QS_ALERTS, QS_ACTIVE_CLIENTS, QS_KNOWN_CLIENTS, QS_N };
extern const store_stmt store_system_sql[QS_N];
/* Many clients at once (store_sql_batch.c). */
enum { QB_AGGREGATES = 0, QB_TICKETS, QB_INVOICES, QB_PAST, QB_JOBS, QB_STABILITY, QB_SAVE, QB_N };
extern const store_stmt store_batch_sql[QB_N];
/* Events (store_sql_events.c): one statement per ev_kind, in its order, then
 * the inputs of the factors they feed ($1 client, $2 now). */
enum { QE_JOB = 0, QE_HEALTH, QE_SYNC, QE_USAGE, QE_ACTIVITY, QE_IN_JOBS, QE_IN_STABILITY, QE_N };
extern const store_stmt store_event_sql[QE_N];
/* automation_success's and system_stability's inputs, on c (inside the
 * snapshot of store_health_inputs); p: {client_id, now}. */
store_status store_event_inputs(db_conn *c, const char *const *p, score_inputs *in);
/* Recommendations (store_sql_recs.c) and reports (store_sql_reports.c). */
enum { QR_CONTEXT = 0, QR_INSERT, QR_OPEN, QR_LIST, QR_COUNT, QR_GET, QR_DECIDE, QR_N };
extern const store_stmt store_recs_sql[QR_N];
enum {
    QP_LATEST = 0,
    QP_HISTORY,
    QP_ALERTS,
    QP_RECS,
    QP_SAVE,
    QP_GET,
    QP_CSV,
    QP_LIST,
    QP_COUNT,
    QP_N
};
extern const store_stmt store_report_sql[QP_N];
/* Decisions (store_sql_decide.c). */
enum { QD_FACTS = 0, QD_INSERT, QD_GET, QD_LIST, QD_COUNT, QD_CLIENTS, QD_CLIENTS_COUNT, QD_N };
extern const store_stmt store_decide_sql[QD_N];

/* Alerts (store_sql_alerts.c). */
enum {
    QA_RAISE = 0,
    QA_RESOLVE,
    QA_ACK,
    QA_GET,
    QA_LIST,
    QA_COUNT,
    QA_OPEN,
    QA_SCORES,
    QA_JOBS,
    QA_CHECKS,
    QA_RUNS,
    QA_RUN_SOURCE,
    QA_USAGE,
    QA_N
};
extern const store_stmt store_alert_sql[QA_N];

struct store {
    db_pool *pool;
};

#define STORE_WAIT_MS 2000 /* for a pooled connection */

store_status store_map(db_status st);
/* Run q on c; a failure is logged with the statement's name. */
store_status store_run(db_conn *c, const store_stmt *q, int n, const char *const *p,
                       PGresult **res);
/* One statement on a pooled connection. */
store_status store_run1(store *s, const store_stmt *q, int n, const char *const *p, PGresult **res);
/* Begin a read-only REPEATABLE READ transaction on c: the statements that
 * follow see one snapshot. End it with db_rollback (nothing to keep). */
store_status store_snapshot(db_conn *c);
/* The first column of row 0 as JSON (ST_NOT_FOUND without rows); clears res. */
store_status store_first_json(store_status st, PGresult *res, json_object **out);
/* {"items": rows' first column, "total", "limit", "offset"}. */
json_object *store_page(PGresult *rows, long total, long limit, long offset);

#endif
