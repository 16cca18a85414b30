/* health_check: one health check of an integration (log in or reuse the
 * session, read the restaurant, read the menu metadata), its record, its
 * event events.toast.health.<id>; the health_check job (toast.h) and the
 * periodic scheduling of one per active integration (health_sched.c).
 * Prefix health_. */
#ifndef TOAST_HEALTH_CHECK_H
#define TOAST_HEALTH_CHECK_H

#include <json-c/json.h>

#include "metrics.h"
#include "toast.h"

typedef struct health_cfg {
    long degraded_ms;             /* HEALTH_DEGRADED_MS: slower than this is degraded */
    long interval_s;              /* HEALTH_CHECK_INTERVAL */
    metrics_family *checks_total; /* toast_health_checks_total{status} */
} health_cfg;

/* The daemon's settings (main.c). */
const health_cfg *health_cfg_of(const toast *t);

/* Run, record and publish one check of integration id. 0 with *check (the
 * stored check, new), 1 when there is no such integration, -1 when it could
 * not be run or recorded (err says why). */
int health_run(toast *t, const char *id, json_object **check, char *err, size_t errlen);

/* The status of a check whose steps all answered: degraded when slower
 * than degraded_ms in all or in one step, healthy otherwise; any failed
 * step makes it unhealthy. */
const char *health_status(bool failed, long total_ms, long slowest_ms, long degraded_ms);

/* HEALTH_CHECK_INTERVAL: every interval, a health_check job (through
 * jobs.create, once per integration and interval across replicas) for each
 * active integration not checked within the interval. */
typedef struct health_sched health_sched;
health_sched *health_sched_start(toast *t, long interval_s);
void health_sched_stop(health_sched *s); /* NULL ok */

#endif
