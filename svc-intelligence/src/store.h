/* store: svc-intelligence's SQL (schema intelligence): clients, their
 * signals and their health scores. Every statement is in store_sql*.c,
 * prepared once per connection and parameterised. Prefix store_. Handlers
 * never see a PGresult: rows come back as JSON in the shape of the API
 * (money as decimal strings, times RFC 3339 UTC), and the health score's
 * inputs as the plain structs of score.h. */
#ifndef INTEL_STORE_H
#define INTEL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "alert_rules.h"
#include "db.h"
#include "field.h"
#include "score.h"
#include "sig.h"

typedef enum {
    ST_OK = 0,
    ST_NOT_FOUND = 1,
    ST_CONFLICT = 2, /* a unique key is taken (a client's invoice number) */
    ST_UNAVAILABLE = -1,
    ST_ERROR = -2,
} store_status;

typedef struct store store;

store *store_new(db_pool *pool);
void store_free(store *s); /* NULL ok */

/* Clients. v: client_parse's values. A page is {"items","total","limit",
 * "offset"}; status and plan may be NULL. */
store_status store_client_create(store *s, const field_values *v, json_object **out);
store_status store_client_get(store *s, const char *id, json_object **out);
store_status store_client_list(store *s, const char *status, const char *plan, long limit,
                               long offset, json_object **page);
store_status store_client_patch(store *s, const char *id, const field_values *v, json_object **out);

/* Signals: one row in one statement (ST_NOT_FOUND for an unknown client,
 * ST_CONFLICT for an invoice number the client has already). Lists are
 * newest first; ST_NOT_FOUND for an unknown client. */
store_status store_signal_create(store *s, sig_kind k, const char *client_id, const field_values *v,
                                 json_object **out);
store_status store_signal_list(store *s, sig_kind k, const char *client_id, long limit, long offset,
                               json_object **page);

/* What a client's score is computed from, as of now (seconds), read in one
 * snapshot. The tickets and invoices live in h until store_inputs_free. */
typedef struct store_inputs {
    score_inputs in;
    score_ticket *tickets;
    score_invoice *invoices;
} store_inputs;
store_status store_health_inputs(store *s, const char *client_id, int64_t now, store_inputs *h);
void store_inputs_free(store_inputs *h);

/* Keep a computed score. factors: the factors object's JSON text;
 * computed_at: RFC 3339. */
store_status store_score_save(store *s, const char *client_id, const score_result *r,
                              const char *factors, const char *computed_at);
/* Up to max ids of clients without any stored score (a JSON array). */
store_status store_unscored(store *s, long max, json_object **ids);
/* Every client's latest score, worst first (unknown last), with counts per
 * band over all clients: {"items","total","limit","offset","counts"}.
 * band may be NULL. */
store_status store_summary(store *s, const char *band, long limit, long offset, json_object **page);

/* The same for many clients (store_batch.c), read in one snapshot with one
 * statement per kind of input: h[i] is ids[i]'s (a JSON array of n UUID
 * strings); found[i] false for a client that does not exist. Free each
 * h[i] with store_inputs_free. */
store_status store_health_inputs_many(store *s, json_object *ids, int64_t now, store_inputs *h,
                                      bool *found);
/* Keep many scores in one statement. scores: [{client_id, overall, status,
 * factors, d7, d30}] (nulls as the one-client save has them). */
store_status store_scores_save_many(store *s, json_object *scores, const char *computed_at);

/* System health (store_system.c): the integrations by the status of their
 * latest check {"healthy","degraded","unhealthy","total"} and the active
 * alerts by severity {"critical","high","medium","low"}, each statement
 * bounded by timeout_ms. */
store_status store_system_counts(store *s, int timeout_ms, json_object **integrations,
                                 json_object **alerts);
/* The ids of every active client (a JSON array), or of those among ids
 * (a JSON array of UUID strings) that exist; oldest first. */
store_status store_clients_to_score(store *s, json_object *ids, json_object **out);

/* Alerts (store_alerts.c). One open alert (active or acknowledged) per type
 * and subject. at: `now`, RFC 3339. */
/* Raise, or update the open alert of (type, subject): severity, message,
 * details (a JSON object's text), one more occurrence, last_seen_at. client_id
 * may be NULL; one the portal does not know is left out. *created: whether a
 * new alert was opened; out may be NULL. */
store_status store_alert_raise(store *s, const char *type, const char *severity,
                               const char *client_id, const char *subject, const char *message,
                               const char *details, const char *at, bool *created,
                               json_object **out);
/* Resolve the open alert of (type, subject), if any (*resolved says). */
store_status store_alert_resolve(store *s, const char *type, const char *subject, const char *at,
                                 bool *resolved);
/* Acknowledge by who; a second time keeps the first. ST_NOT_FOUND, or
 * ST_CONFLICT when the alert is resolved. */
store_status store_alert_ack(store *s, const char *id, const char *who, const char *at,
                             json_object **out);
store_status store_alert_get(store *s, const char *id, json_object **out);
/* Newest first; any filter may be NULL. */
typedef struct store_alert_filter {
    const char *status, *severity, *client_id, *type;
} store_alert_filter;
store_status store_alert_list(store *s, const store_alert_filter *f, long limit, long offset,
                              json_object **page);
/* Up to max open alerts with an id above after (NULL: from the start):
 * [{"id","type","subject"}]. */
store_status store_alert_open(store *s, const char *after, long max, json_object **keys);
/* The facts of the rules (alert_rules.h), as of now_ms (milliseconds since
 * the epoch, as stored scores' computed_at). */
store_status store_alert_scores(store *s, const char *client_id, int64_t now_ms, alert_scores *out);
/* *jobs is the caller's to free. */
store_status store_alert_jobs(store *s, const char *client_id, int64_t now_ms, alert_job **jobs,
                              size_t *n);
/* The newest checks (at most max); client_id: the newest check's client. */
store_status store_alert_checks(store *s, const char *integration_id, alert_check *checks,
                                size_t max, size_t *n, char client_id[37]);
/* client_id may be NULL (runs without a client). */
store_status store_alert_runs(store *s, const char *client_id, const char *source_type,
                              alert_run *runs, size_t max, size_t *n);
/* The source type of a stored sync run (ST_NOT_FOUND when none). */
store_status store_alert_run_source(store *s, const char *run_id, char *source_type, size_t cap);
/* The reports of now's period; *rows is the caller's to free; client_id: the
 * newest report's that names one, or "". */
store_status store_alert_usage(store *s, const char *business_id, int64_t now_ms,
                               alert_usage **rows, size_t *n, char client_id[37]);

/* Decisions (store_decide.c). What a decision on client_id is made from,
 * as of now (seconds): ST_NOT_FOUND for an unknown client. job_type may be
 * NULL (no failures then). */
typedef struct store_decide_facts {
    char timezone[65];
    char health[16];                       /* "" when never scored */
    int integrations, unhealthy, degraded; /* by each integration's latest check */
    int failures_7d, failures_24h;         /* of job_type */
    char last_error[160];                  /* of its latest failure, "" when none */
} store_decide_facts;
store_status store_decide_facts_get(store *s, const char *client_id, const char *job_type,
                                    int64_t now, store_decide_facts *out);
/* Keep a decision; *out is the row as GET /decisions/{id} shows it.
 * request and response: JSON objects' text; requested_by may be NULL. */
typedef struct store_decision_in {
    const char *client_id, *context, *job_type, *decision, *request, *response, *scheduled_for,
        *confidence, *requested_by;
} store_decision_in;
store_status store_decision_save(store *s, const store_decision_in *d, json_object **out);
store_status store_decision_get(store *s, const char *id, json_object **out);
/* Newest first; client_id, job_type and since (RFC 3339) may be NULL. */
store_status store_decision_list(store *s, const char *client_id, const char *job_type,
                                 const char *since, long limit, long offset, json_object **page);
/* The clients of GET /schedule/recommendations: client_id alone (ST_NOT_FOUND
 * when unknown), or every active client; items are {id, name, timezone}. */
store_status store_schedule_clients(store *s, const char *client_id, long limit, long offset,
                                    json_object **page);

#endif
