/* syshealth: GET /system/health, the whole system at a glance for operators
 * (issue 6, README "System health"). Prefix syshealth_.
 *
 * Five parts run at once on threads of their own, each bounded by the
 * timeout (SYSTEM_HEALTH_TIMEOUT_MS): PostgreSQL (a ping), NATS (a ping, the
 * EVENTS stream and its consumers), every service's /health/detailed over
 * HTTP (syshealth_http.c), the job queue (automation.stats) and the counts
 * kept in this schema (integrations by their latest check, active alerts by
 * severity). The report waits for them until the deadline and no longer: a
 * part still running then is reported as not answering, and its thread
 * finishes on its own (syshealth_drain waits for such threads at exit). */
#ifndef INTEL_SYSHEALTH_H
#define INTEL_SYSHEALTH_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "bus.h"
#include "config.h"
#include "db.h"
#include "store.h"

/* The services asked, in the order of the report. */
typedef enum {
    SH_GATEWAY = 0,
    SH_AUTOMATION,
    SH_TOAST,
    SH_EMBEDDING,
    SH_SYNC,
    SH_NSERVICES
} syshealth_service;

#define SYSHEALTH_URL_MAX 512

typedef struct syshealth_cfg {
    char url[SH_NSERVICES][SYSHEALTH_URL_MAX]; /* "" when not configured */
    char token[256];                           /* X-Internal-Token, "" for none */
    int timeout_ms;
} syshealth_cfg;

/* The variables of the report, for the daemon's table (main.c): where each
 * service answers (the gateway's defaults; empty: not configured) and how
 * long the report may wait. */
#define SYSHEALTH_VARS                                                                             \
    {"GATEWAY_URL", CFG_STR, "http://127.0.0.1:8080", 0, 0, false, "the gateway (system health)"}, \
        {"AUTOMATION_URL", CFG_STR, "http://127.0.0.1:8081", 0, 0, false, "svc-automation"},       \
        {"TOAST_URL", CFG_STR, "http://127.0.0.1:8083", 0, 0, false, "svc-toast"},                 \
        {"EMBEDDING_URL", CFG_STR, "http://127.0.0.1:8084", 0, 0, false, "svc-embedding"},         \
        {"SYNC_URL", CFG_STR, "http://127.0.0.1:8085", 0, 0, false, "svc-sync"},                   \
    {                                                                                              \
        "SYSTEM_HEALTH_TIMEOUT_MS", CFG_INT, "1000", 100, 10000, false,                            \
            "longest wait of GET /system/health for any part"                                      \
    }

/* The report's configuration, read from those variables (syshealth_vars.c). */
void syshealth_cfg_load(const cfg *c, syshealth_cfg *out);

/* Names in the report: "gateway", "svc-automation", ... */
extern const char *const syshealth_service_names[SH_NSERVICES];

/* Everything the parts read; borrowed, alive for the daemon's life. */
typedef struct syshealth_deps {
    db_pool *pool;
    bus *bus;
    store *store;
    const syshealth_cfg *cfg;
} syshealth_deps;

/* The report: {status, checked_at, components}. NULL only when out of
 * memory. */
json_object *syshealth_report(const syshealth_deps *d, int64_t now_ms);

/* The overall status of components (the report's components object):
 * "unhealthy" when PostgreSQL or NATS is down; "degraded" when JetStream, a
 * configured service, the job queue's figures or this schema's counts are
 * unavailable, a service says it is not healthy, a running job's lease has
 * expired, or a critical alert is active; "healthy" otherwise. */
const char *syshealth_overall(json_object *components);

/* Wait up to wait_ms for parts still running from earlier reports. True
 * when none is left. */
bool syshealth_drain(int wait_ms);

/* Each service's /health/detailed, all at once, within cfg->timeout_ms
 * (syshealth_http.c): {name: {status, latency_ms, http_status?, error?}}.
 * status is the service's own (healthy, degraded, unhealthy), "down" when it
 * did not answer with a health report, or "not_configured". */
json_object *syshealth_services(const syshealth_cfg *cfg);

#endif
