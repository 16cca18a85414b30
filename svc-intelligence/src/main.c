/* svc-intelligence: client health scores, alerts, recommendations, scheduling decisions.
 * Wiring only: the daemon's life (configuration, probes, migrations, NATS,
 * shutdown) is common/app.c; its behaviour lives in the files beside this one:
 * routes.c (the routes), http_*.c (handlers), client.c and sig.c (what a
 * request may hold), score*.c (the health score), scoring.c (score, keep,
 * render), store*.c (the SQL), events*.c (the event consumers), recs*.c
 * (recommendations), report*.c (reports), alert*.c and alerting.c (alerts). */
#include <stdlib.h>

#include "alerting.h"
#include "app.h"
#include "decide_llm.h"
#include "events.h"
#include "http.h"
#include "intel.h"
#include "report_job.h"
#include "syshealth.h"

static const cfg_var intelligence_vars[] = {
    {"SCORE_DEBOUNCE_MS", CFG_INT, "2000", 0, 600000, false,
     "quiet time after a client's last event before its score is recomputed"},
    {"REPORT_WORKERS", CFG_INT, "2", 0, 16, false,
     "report_generation jobs run at once; 0 runs none here (a replica that only serves the API)"},
    {"ALERT_SWEEP_INTERVAL_MS", CFG_INT, "60000", 100, 3600000, false,
     "how often open alerts are re-evaluated, to resolve those whose condition cleared"},
    DECIDE_LLM_VARS, /* the optional rephrasing of decisions' reasoning */
    SYSHEALTH_VARS,
};

static int
intelligence_init(app *a)
{
    intel *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    app_set_data(a, s);
    s->app = a;
    s->store = store_new(app_db(a));
    s->on_event = alerting_on_event; /* the alert rules follow events */
    if (alerting_metrics(app_metrics(a)) != 0)
        return -1;
    return s->store ? 0 : -1;
}

/* The event consumers (events.c), the alert sweep (alerting.c) and the
 * report worker (report_job.c). */
static int
intelligence_start(app *a)
{
    intel *s = app_data(a);
    const cfg *c = app_cfg(a);
    s->events = events_start(s, (int)cfg_int(c, "SCORE_DEBOUNCE_MS"));
    if (!s->events)
        return -1;
    s->sweeper = alerting_sweeper_start(s->store, (int)cfg_int(c, "ALERT_SWEEP_INTERVAL_MS"));
    if (!s->sweeper)
        return -1;
    return report_job_start(s, (int)cfg_int(c, "REPORT_WORKERS"), &s->reports);
}

static void
intelligence_stop(app *a)
{
    intel *s = app_data(a);
    syshealth_drain(5000);   /* a system health report's late parts use the bus and the store */
    worker_stop(s->reports); /* running reports finish or are handed back */
    s->reports = NULL;
    events_stop(s->events);
    alerting_sweeper_stop(s->sweeper);
    s->sweeper = NULL;
}

static void
intelligence_close(app *a)
{
    intel *s = app_data(a);
    if (!s)
        return;
    worker_stop(s->reports);
    events_free(s->events);
    alerting_sweeper_stop(s->sweeper); /* when the start failed half-way */
    store_free(s->store);
    free(s);
    app_set_data(a, NULL);
}

static const app_spec intelligence_spec = {
    .service = "svc-intelligence",
    .default_port = 8082,
    .schema = "intelligence",
    .api_prefix = "/api/intelligence",
    .vars = intelligence_vars,
    .nvars = sizeof(intelligence_vars) / sizeof(intelligence_vars[0]),
    .on_init = intelligence_init,
    .on_start = intelligence_start,
    .on_stop = intelligence_stop,
    .on_close = intelligence_close,
};

int
main(int argc, char **argv)
{
    /* The table's size is not a constant expression, so it is set here. */
    app_spec spec = intelligence_spec;
    spec.routes = intel_routes(&spec.nroutes);
    return app_main(&spec, argc, argv);
}
