/* health: the probes every daemon serves (DESIGN section 3). Prefix health_.
 *
 *   GET /health           {"status":"healthy","service","version","uptime_seconds"}
 *   GET /health/detailed  the same plus "checks": {name: {status, latency_ms, ...}}
 *                         and an overall status: healthy, degraded (an optional
 *                         check failed) or unhealthy (a required one failed)
 *   GET /live             200 while the process serves
 *   GET /ready            200 when every required check passes, else 503
 *   GET /startup          200 once health_set_started(true), else 503
 *   GET /metrics          the registry in Prometheus text format 0.0.4
 */
#ifndef BRAIN_HEALTH_H
#define BRAIN_HEALTH_H

#include <stdbool.h>

#include <json-c/json.h>

#include "bus.h"
#include "db.h"
#include "metrics.h"
#include "web.h"

/* A check: return 0 when healthy, non-zero otherwise. It may add fields to
 * detail (an "error" string, nested upstream detail, ...). It must return in
 * about a second; health measures its latency. */
typedef int (*health_check_fn)(void *ud, json_object *detail);

typedef struct health health;

/* service and version are copied. */
health *health_new(const char *service, const char *version, metrics_registry *metrics);
void health_free(health *h); /* accepts NULL */

/* Add a check (before the server starts). required: /ready depends on it. */
int health_add_check(health *h, const char *name, bool required, health_check_fn fn, void *ud);
/* Ready-made checks: ud is a db_pool * or a bus *. */
int health_check_db(void *pool, json_object *detail);
int health_check_bus(void *bus, json_object *detail);

void health_set_started(health *h, bool started);
bool health_started(const health *h);

/* Register the six routes on s. */
int health_register(health *h, web_server *s);
/* Also answer GET <prefix>/health (as /health), so that a service's liveness
 * can be asked through the gateway ("/api/automation/health"). prefix is
 * copied; at most 64 bytes. */
int health_register_prefix(health *h, web_server *s, const char *prefix);

#endif
