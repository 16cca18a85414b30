/* app: the life of a daemon, so that each main.c stays a table and one call.
 * Prefix app_.
 *
 * app_main(): read configuration (cfg_common_vars plus the daemon's own), start
 * logging, the metrics registry, the database pool and the NATS connection
 * (both lazy: a daemon starts while either is down), serve HTTP at once (the
 * probes answer from the first moment; other routes answer 503 until started),
 * run the daemon's migrations (retrying while the database is unreachable),
 * ensure the EVENTS stream, call on_start, mark the daemon started, then wait
 * for SIGTERM or SIGINT. On the signal: stop accepting, drain in-flight
 * requests, call on_stop, drain NATS, close the pool, exit 0.
 *
 * Flags: --version prints the version; --check-config checks the configuration
 * and exits 0 or 1. */
#ifndef BRAIN_APP_H
#define BRAIN_APP_H

#include <stdbool.h>
#include <stddef.h>

#include "bus.h"
#include "config.h"
#include "db.h"
#include "health.h"
#include "metrics.h"
#include "web.h"

typedef struct app app;

typedef struct app_spec {
    const char *service; /* "svc-toast" */
    int default_port;    /* DESIGN section 1 */
    bool edge;           /* the gateway: faces clients, so INTERNAL_TOKEN is what it
                            sends upstream, not what it asks of its own callers */
    /* The daemon serves HTTP_BIND:PORT with a listener of its own
     * (on_serve): civetweb then listens on 127.0.0.1, on a port the kernel
     * picks (web_server_port(app_web(a))), for what that front relays. */
    bool front;
    const char *schema;     /* "toast": app_migrations are applied to it */
    const char *api_prefix; /* "/api/toast": <prefix>/health answers as /health */
    const cfg_var *vars;    /* the daemon's own variables (may be NULL) */
    size_t nvars;
    const web_route *routes;
    size_t nroutes;
    const web_ws_route *ws_routes;
    size_t nws_routes;
    /* web_config.before: runs before route lookup on every request and
     * WebSocket upgrade (the gateway's gate); NULL for none. */
    int (*before)(web_req *r);
    /* Before serving: add health checks, metrics, daemon state (app_set_data).
     * Non-zero stops the start. */
    int (*on_init)(app *a);
    /* Right after the HTTP server started (before migrations): a front's
     * listener. Non-zero stops the start. */
    int (*on_serve)(app *a);
    /* Stops what on_serve started, before the HTTP server is freed (after
     * it drained); called whenever on_serve succeeded. */
    void (*on_unserve)(app *a);
    /* After migrations, with NATS connected (or reconnecting): subscriptions,
     * consumers, background threads. Non-zero stops the start. */
    int (*on_start)(app *a);
    /* After HTTP has drained, before NATS and the pool close. */
    void (*on_stop)(app *a);
    /* Last: HTTP and NATS are closed, so no handler runs any more; the pool
     * is still open. Frees the daemon's state; called whenever the daemon
     * exits after on_init ran, even when a later step failed (so it must
     * accept partial state). */
    void (*on_close)(app *a);
} app_spec;

int app_main(const app_spec *spec, int argc, char **argv);

/* Every daemon's migrations/NNN_name.sql, embedded by common/tools/embed_sql
 * into the daemon's binary at build time. */
extern const db_migration app_migrations[];
extern const size_t app_nmigrations;

/* Accessors; all owned by the app. */
const cfg *app_cfg(const app *a);
db_pool *app_db(const app *a);
bus *app_bus(const app *a);
metrics_registry *app_metrics(const app *a);
health *app_health(const app *a);
web_server *app_web(const app *a);
const char *app_service(const app *a);
void app_set_data(app *a, void *data);
void *app_data(const app *a);

/* The version compiled in (BRAIN_VERSION). */
const char *app_version(void);

#endif
