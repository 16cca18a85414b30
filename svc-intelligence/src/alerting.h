/* alerting: evaluate the alert rules (alert_rules.c) on the facts the store
 * holds and apply their verdicts: raise or update the open alert, resolve
 * it, or leave it. Prefix alerting_. Called after a client's score is
 * stored, after an event's fact is stored, and by a periodic sweep on its own
 * thread. now_ms: milliseconds since the epoch.
 *
 * The sweep re-evaluates every open alert with the facts as of now and
 * resolves those whose condition has cleared (a failure rate whose failures
 * aged out of 24 h, a drop whose peak aged out of 7 days, a new period's
 * usage). It never raises an alert nor counts an occurrence: those come from
 * scores and events only. */
#ifndef INTEL_ALERTING_H
#define INTEL_ALERTING_H

#include <stdint.h>

#include "metrics.h"
#include "store.h"

/* Count the rules' changes in reg: intelligence_alerts_total{type,change},
 * change opened, updated or resolved. Once, before any evaluation. */
int alerting_metrics(metrics_registry *reg);

/* score_drop and health_critical of a client, after its score was stored. */
store_status alerting_scores(store *s, const char *client_id, int64_t now_ms);
/* job_failure_rate of a client, after a job outcome was stored. */
store_status alerting_jobs(store *s, const char *client_id, int64_t now_ms);
/* integration_unhealthy, after a health check was stored. */
store_status alerting_integration(store *s, const char *integration_id, int64_t now_ms);
/* sync_failed of a source (client_id may be NULL), after a run was stored. */
store_status alerting_sync(store *s, const char *client_id, const char *source_type,
                           int64_t now_ms);
/* usage_over_budget of a business, after a usage report was stored. */
store_status alerting_usage(store *s, const char *business_id, int64_t now_ms);

/* The hook of intel (intel.h) for the event consumers: on_event runs the
 * rule of the event's subject ("job": the client's
 * failure rate, "health": the integration, "sync": the run's source,
 * "usage": the business; "activity" has none). now: seconds; the evaluation
 * takes the end of that second, so that a score stored within it counts. */
struct intel;
void alerting_on_event(struct intel *s, const char *kind, const char *client_id,
                       const char *subject, int64_t now);

/* Re-evaluate every open alert; *resolved: how many were resolved. */
store_status alerting_sweep(store *s, int64_t now_ms, long *resolved);

/* The sweep every interval_ms on a thread of its own. */
typedef struct alerting_sweeper alerting_sweeper;
alerting_sweeper *alerting_sweeper_start(store *s, int interval_ms);
void alerting_sweeper_stop(alerting_sweeper *w); /* joins and frees; NULL ok */

#endif
