/* svc-automation: the job queue (priorities, dependencies, retries, leases)
 * and live job updates. Wiring only: the daemon's life is common/app.c; the
 * routes are routes.c and live.c, the NATS subjects abus*.c, the SQL store*.c,
 * the rules job.c, the periodic sweep scheduler.c. */
#include <stdlib.h>
#include <string.h>

#include "abus.h"
#include "app.h"
#include "automation.h"
#include "http.h"
#include "live.h"
#include "log.h"
#include "scheduler.h"
#include "service.h"

static const cfg_var automation_vars[] = {
    {"SWEEP_INTERVAL_MS", CFG_INT, "500", 20, 60000, false,
     "how often expired leases, due jobs and ended back-offs are looked for"},
    {"RETRY_BASE_MS", CFG_INT, "2000", 1, 600000, false,
     "back-off before the second attempt; doubles with each attempt, with +-20% jitter"},
    {"RETRY_MAX_MS", CFG_INT, "300000", 1, 86400000, false, "longest back-off between attempts"},
    {"EVENT_PUBLISHERS", CFG_INT, "1", 1, 16, false,
     "threads publishing job events to JetStream in batches (one job always uses the same one)"},
    {"REQUEST_THREADS", CFG_INT, "32", 1, 256, false,
     "threads answering NATS requests (claims, progress, completions, jobs.create); those "
     "waiting to be written together only wait, so more threads make larger batches"},
    {"SESSIONS_TIMEOUT_MS", CFG_INT, "2000", 100, 60000, false,
     "how long to wait for svc-toast to answer toast.sessions.*"},
};

static sched *scheduler;

live *
automation_live(const void *a)
{
    svc *s = svc_of(a);
    return s ? s->live : NULL;
}

static int
live_lookup(void *ud, const char *client_id, const char *job_id, char **event)
{
    svc *s = ud;
    json_object *ev = NULL;
    store_status st = store_job_event(s->store, client_id, job_id, &ev);
    if (st == ST_NOT_FOUND)
        return 1;
    if (st != ST_OK)
        return -1;
    *event = strdup(js_text(ev, NULL));
    json_object_put(ev);
    return *event ? 0 : -1;
}

static void
collect_depth(metrics_registry *reg, void *ud)
{
    svc *s = ud;
    long counts[6];
    (void)reg;
    if (store_queue_depth(s->store, counts) != ST_OK)
        return;
    for (int i = 0; i < 3; i++) { /* pending, queued, running */
        const char *labels[] = {job_statuses[i]};
        metrics_set(s->queue_depth, labels, (double)counts[i]);
    }
}

static int
automation_init(app *a)
{
    static const char *const type_status[] = {"job_type", "status"};
    static const char *const status[] = {"status"};
    static const char *const type[] = {"job_type"};
    static const double durations[] = {0.01, 0.05, 0.1, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};
    const cfg *c = app_cfg(a);
    metrics_registry *m = app_metrics(a);
    svc *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    app_set_data(a, s);
    s->app = a;
    s->sweep_ms = (int)cfg_int(c, "SWEEP_INTERVAL_MS");
    s->request_timeout_ms = (int)cfg_int(c, "SESSIONS_TIMEOUT_MS");
    job_retry_policy retry = {cfg_int(c, "RETRY_BASE_MS"), cfg_int(c, "RETRY_MAX_MS")};
    s->store = store_new(app_db(a), &retry);
    s->live = live_new(m, live_lookup, s);
    s->jobs_total = metrics_counter(m, "jobs_total", "Job state changes made here, by new status",
                                    type_status, 2);
    s->queue_depth = metrics_gauge(m, "job_queue_depth", "Jobs waiting or running", status, 1);
    s->duration =
        metrics_histogram(m, "job_duration_seconds", "Run time of completed jobs (last attempt)",
                          type, 1, durations, sizeof(durations) / sizeof(durations[0]));
    s->claim_latency =
        metrics_histogram(m, "job_claim_latency_seconds",
                          "Time a job waited, ready, until a worker claimed it", NULL, 0, NULL, 0);
    static const char *const kind[] = {"kind"};
    static const double writes[] = {1, 2, 4, 8, 16, 32};
    if (s->store)
        store_count_batches(s->store, metrics_histogram(m, "job_store_batch_writes",
                                                        "Writes (completions, new jobs) made by "
                                                        "one statement",
                                                        kind, 1, writes, 6));
    if (!s->store || !s->live || metrics_on_collect(m, collect_depth, s) != 0)
        return -1;
    return 0;
}

static int
automation_start(app *a)
{
    svc *s = svc_of(a);
    s->bus = abus_new(s, app_bus(a), (int)cfg_int(app_cfg(a), "EVENT_PUBLISHERS"),
                      (int)cfg_int(app_cfg(a), "REQUEST_THREADS"));
    if (!s->bus || abus_subscribe(s->bus) != 0)
        return -1;
    scheduler = sched_start(s, s->sweep_ms);
    return scheduler ? 0 : -1;
}

static void
automation_stop(app *a)
{
    svc *s = svc_of(a);
    sched_stop(scheduler);
    scheduler = NULL;
    abus_stop(s->bus, 2000);
}

static void
automation_close(app *a)
{
    svc *s = svc_of(a);
    if (!s)
        return;
    sched_stop(scheduler); /* when the start failed half-way */
    scheduler = NULL;
    abus_free(s->bus);
    live_free(s->live);
    store_free(s->store);
    free(s);
    app_set_data(a, NULL);
}

static const app_spec automation_spec = {
    .service = "svc-automation",
    .default_port = 8081,
    .schema = "automation",
    .api_prefix = "/api/automation",
    .vars = automation_vars,
    .routes = automation_routes,
    .ws_routes = live_ws_routes,
    .on_init = automation_init,
    .on_start = automation_start,
    .on_stop = automation_stop,
    .on_close = automation_close,
};

int
main(int argc, char **argv)
{
    /* The table sizes are not constant expressions, so they are set here. */
    app_spec spec = automation_spec;
    spec.nvars = sizeof(automation_vars) / sizeof(automation_vars[0]);
    spec.nroutes = automation_nroutes;
    spec.nws_routes = live_nws_routes;
    return app_main(&spec, argc, argv);
}
