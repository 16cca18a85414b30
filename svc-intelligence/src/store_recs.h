/* store_recs: recommendations and reports in PostgreSQL (part of the store,
 * see store.h; statements in store_sql_recs.c and store_sql_reports.c).
 * Rows come back as JSON in the shape of the API. */
#ifndef INTEL_STORE_RECS_H
#define INTEL_STORE_RECS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "recs_rules.h"
#include "store.h"

#define STORE_RECS_MAX_ALERTS 50 /* open alerts of a client read for the rules */

typedef struct store_rec_alert {
    char type[40];
    char subject[204];
} store_rec_alert;

/* What the rules need besides the score, read in one snapshot. */
typedef struct store_recs_ctx {
    store_rec_alert alerts[STORE_RECS_MAX_ALERTS]; /* open (not resolved), oldest first */
    size_t nalerts;
    char integration_id[RECS_ID_MAX]; /* "" when none was ever checked */
    recs_history hist[RECS_NTYPES];
} store_recs_ctx;

store_status store_recs_context(store *s, const char *client_id, store_recs_ctx *ctx);

/* Insert an open recommendation, created at `at` (RFC 3339); action is the
 * suggested_action's JSON text or NULL. *inserted is false when one of its
 * type was open already (the partial unique key). */
store_status store_rec_insert(store *s, const char *client_id, const recs_item *it,
                              const char *action, const char *at, bool *inserted);
/* The client's open recommendations, newest first (a JSON array). */
store_status store_recs_open(store *s, const char *client_id, json_object **items);
/* A page, newest first; each filter may be NULL. */
store_status store_rec_list(store *s, const char *client_id, const char *status, const char *type,
                            long limit, long offset, json_object **page);
store_status store_rec_get(store *s, const char *id, json_object **out);

/* Decide an open recommendation. status "accepted" or "declined"; reason
 * (declined), job_id (accepted with a job) and by may be NULL; at is RFC
 * 3339. ST_CONFLICT when it is not open any more (*out is then its current
 * state), ST_NOT_FOUND when there is none. */
typedef struct store_decision {
    const char *status, *reason, *job_id, *by, *at;
} store_decision;
store_status store_rec_decide(store *s, const char *id, const store_decision *d, json_object **out);

/* What a report is made of, as of now (RFC 3339) over the days before it:
 * {client, latest, history, alerts, recommendations} (latest may be null).
 * ST_NOT_FOUND for an unknown client. */
store_status store_report_data(store *s, const char *client_id, const char *now, int days,
                               json_object **data);
/* Keep a report (a job's second run replaces its first); id: the report's. */
store_status store_report_save(store *s, const char *client_id, const char *job_id, int days,
                               const char *at, const char *json, const char *csv,
                               char id[RECS_ID_MAX]);
/* {id, client_id, job_id, days, created_at, report}. */
store_status store_report_get(store *s, const char *id, json_object **out);
/* The CSV text (the caller frees it) and the client's id. */
store_status store_report_csv(store *s, const char *id, char **csv, char client_id[RECS_ID_MAX]);
/* A page of reports without their bodies, newest first; client_id may be NULL. */
store_status store_report_list(store *s, const char *client_id, long limit, long offset,
                               json_object **page);

#endif
