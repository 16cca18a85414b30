/* svc-intelligence: client health scores, alerts, recommendations, scheduling decisions.
 * Wiring only: the daemon's life (configuration, probes, migrations, NATS,
 * shutdown) is common/app.c; its behaviour lives in the files beside this one:
 * routes.c (the routes), http_*.c (handlers), client.c and sig.c (what a
 * request may hold), score*.c (the health score), scoring.c (score, keep,
 * render), store*.c (the SQL). */
#include <stdlib.h>

#include "alerting.h"
#include "app.h"
#include "events.h"
#include "http.h"
#include "intel.h"

static const cfg_var intelligence_vars[] = {
    {"SCORE_DEBOUNCE_MS", CFG_INT, "2000", 0, 600000, false,
     "quiet time after a client's last event before its score is recomputed"},
    {"ALERT_SWEEP_INTERVAL_MS", CFG_INT, "60000", 100, 3600000, false,
     "how often open alerts are re-evaluated, to resolve those whose condition cleared"},
};

/* The alert sweep (alerting.c). */
static alerting_sweeper *sweeper;

/* The event consumers (events.c) and the alert sweep. */
static int
intelligence_start(app *a)
{
    intel *s = app_data(a);
    s->events = events_start(s, (int)cfg_int(app_cfg(a), "SCORE_DEBOUNCE_MS"));
    sweeper = alerting_sweeper_start(s->store, (int)cfg_int(app_cfg(a), "ALERT_SWEEP_INTERVAL_MS"));
    return s->events && sweeper ? 0 : -1;
}

static void
intelligence_stop(app *a)
{
    events_stop(((intel *)app_data(a))->events);
    alerting_sweeper_stop(sweeper);
    sweeper = NULL;
}

static int
intelligence_init(app *a)
{
    intel *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    app_set_data(a, s);
    s->app = a;
    s->store = store_new(app_db(a));
    s->on_score = alerting_on_score; /* the alert rules follow scores and events */
    s->on_event = alerting_on_event;
    if (alerting_metrics(app_metrics(a)) != 0)
        return -1;
    return s->store ? 0 : -1;
}

static void
intelligence_close(app *a)
{
    intel *s = app_data(a);
    if (!s)
        return;
    events_free(s->events);
    alerting_sweeper_stop(sweeper); /* when the start failed half-way */
    sweeper = NULL;
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
    spec.nvars = sizeof(intelligence_vars) / sizeof(intelligence_vars[0]);
    return app_main(&spec, argc, argv);
}
