/* svc-toast: Toast POS integrations, health checks, menu sync, golden copies.
 * Wiring only: the daemon's life (configuration, probes, migrations, NATS,
 * shutdown) is common/app.c; its behaviour lives in the files beside this one:
 * routes.c (the routes), http_*.c and health_http.c (handlers), integ.c and
 * creds.c (integrations and their sealed secrets), store*.c (the SQL),
 * toast_api.c (Toast), health_*.c (checks), tbus.c (NATS). */
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "app.h"
#include "health_check.h"
#include "http.h"
#include "integ_state.h"
#include "log.h"
#include "store.h"
#include "tbus.h"
#include "toast.h"
#include "toast_api.h"
#include "util.h"

static const cfg_var toast_vars[] = {
    {"ENCRYPTION_KEYS", CFG_STR, NULL, 0, 0, true,
     "comma list of 32-byte URL-safe Base64 Fernet keys: the first encrypts, all decrypt "
     "(required unless BRAIN_ENV=development)"},
    {"TOAST_API_BASE", CFG_STR, "https://ws-api.toasttab.com", 0, 0, false, "Toast API base URL"},
    {"TOAST_TIMEOUT_MS", CFG_INT, "10000", 100, 120000, false, "timeout of one Toast API call"},
    {"TOAST_MAX_RETRY_WAIT_MS", CFG_INT, "60000", 0, 3600000, false,
     "how long 429 answers (Retry-After) may make one Toast call wait in all"},
    {"HEALTH_CHECK_INTERVAL", CFG_INT, "3600", 1, 604800, false,
     "seconds between scheduled health checks of each active integration"},
    {"HEALTH_DEGRADED_MS", CFG_INT, "2000", 1, 600000, false,
     "a health check (or one of its steps) slower than this is degraded"},
    {"BROWSER_SERVICE_URL", CFG_STR, NULL, 0, 0, false,
     "browser-automation service for menu changes (unset: those jobs fail at once)"},
    {"WORKER_CONCURRENCY", CFG_INT, "4", 0, 100, false,
     "Toast jobs run at once; 0 runs none here (a replica that only serves the API)"},
    {"BROWSER_POLL_MS", CFG_INT, "1000", 50, 60000, false,
     "how often a browser-service task is polled (GET /tasks/{id})"},
    {"BROWSER_TASK_TIMEOUT", CFG_INT, "900", 1, 86400, false,
     "seconds a browser-service task may take before its job fails (retryable)"},
};

/* The job types svc-toast runs, each with its handler (ud is set to the
 * daemon's state at start). */
static const worker_type toast_job_table[] = {
    {"health_check", health_check_job, NULL},  {"menu_sync", menu_sync_job, NULL},
    {"golden_copy", golden_copy_job, NULL},    {"menu_build", browser_task_job, NULL},
    {"item_create", browser_task_job, NULL},   {"item_update", browser_task_job, NULL},
    {"modifier_sync", browser_task_job, NULL},
};
#define NJOBS (sizeof(toast_job_table) / sizeof(toast_job_table[0]))

/* The key ring; outside development a missing or bad ENCRYPTION_KEYS stops
 * the start, in development a random key serves this run only. */
static int
load_keys(const cfg *c, fernet_keys *keys)
{
    const char *list = cfg_str(c, "ENCRYPTION_KEYS");
    const char *env = cfg_str(c, "BRAIN_ENV");
    char err[200];
    if (list && list[0]) {
        if (fernet_keys_parse(list, keys, err, sizeof(err)) == 0)
            return 0;
        log_error("ENCRYPTION_KEYS: %s", err);
        return -1;
    }
    if (!env || strcmp(env, "development") != 0) {
        log_error("ENCRYPTION_KEYS is required (or ENCRYPTION_KEYS_FILE) unless "
                  "BRAIN_ENV=development: credentials are never stored unencrypted");
        return -1;
    }
    FILE *f = fopen("/dev/urandom", "rb");
    size_t got = f ? fread(keys->key[0], 1, FERNET_KEY_LEN, f) : 0;
    if (f)
        fclose(f);
    if (got != FERNET_KEY_LEN)
        return -1;
    keys->n = 1;
    log_warn("ENCRYPTION_KEYS unset: a random key for this run only; credentials stored now "
             "will not open after a restart");
    return 0;
}

static int
toast_init(app *a)
{
    static const char *const status[] = {"status"};
    const cfg *c = app_cfg(a);
    toast_svc *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    app_set_data(a, s);
    s->t.app = a;
    if (load_keys(c, &s->t.keys) != 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
        return -1;
    const char *browser = cfg_str(c, "BROWSER_SERVICE_URL");
    s->t.browser_url = browser && browser[0] ? browser : NULL;
    s->t.api = toast_api_new(cfg_str(c, "TOAST_API_BASE"), cfg_int(c, "TOAST_TIMEOUT_MS"));
    s->store = store_new(app_db(a));
    if (!s->t.api || !s->store)
        return -1;
    toast_api_set_max_wait(s->t.api, cfg_int(c, "TOAST_MAX_RETRY_WAIT_MS"));
    s->health.degraded_ms = cfg_int(c, "HEALTH_DEGRADED_MS");
    s->health.interval_s = cfg_int(c, "HEALTH_CHECK_INTERVAL");
    s->health.checks_total = metrics_counter(app_metrics(a), "toast_health_checks_total",
                                             "Health checks of integrations, by result", status, 1);
    for (size_t i = 0; i < NJOBS && i < TOAST_MAX_JOB_TYPES; i++) {
        s->types[i] = toast_job_table[i];
        s->types[i].ud = &s->t;
        s->ntypes = i + 1;
    }
    return 0;
}

static int
toast_start(app *a)
{
    toast_svc *s = app_data(a);
    worker_config wc = {
        .service = "svc-toast",
        .types = s->types,
        .ntypes = s->ntypes,
        .concurrency = (int)cfg_int(app_cfg(a), "WORKER_CONCURRENCY"),
        .metrics = app_metrics(a),
    };
    if (tbus_start(&s->t) != 0)
        return -1;
    if (wc.concurrency == 0)
        log_info("WORKER_CONCURRENCY is 0: this replica runs no Toast jobs");
    else if (worker_start(app_bus(a), &wc, &s->t.worker) != 0)
        return -1;
    s->sched = health_sched_start(&s->t, s->health.interval_s);
    return s->sched ? 0 : -1;
}

static void
toast_stop(app *a)
{
    toast_svc *s = app_data(a);
    health_sched_stop(s->sched);
    s->sched = NULL;
    worker_stop(s->t.worker); /* running jobs finish or are handed back */
    s->t.worker = NULL;
}

static void
toast_close(app *a)
{
    toast_svc *s = app_data(a);
    if (!s)
        return;
    health_sched_stop(s->sched);
    worker_stop(s->t.worker);
    toast_api_free(s->t.api);
    store_free(s->store);
    memset(&s->t.keys, 0, sizeof(s->t.keys));
    free(s);
    app_set_data(a, NULL);
    curl_global_cleanup();
}

static const app_spec toast_spec = {
    .service = "svc-toast",
    .default_port = 8083,
    .schema = "toast",
    .api_prefix = "/api/toast",
    .vars = toast_vars,
    .on_init = toast_init,
    .on_start = toast_start,
    .on_stop = toast_stop,
    .on_close = toast_close,
};

int
main(int argc, char **argv)
{
    /* The table sizes are not constant expressions, so they are set here. */
    app_spec spec = toast_spec;
    spec.nvars = sizeof(toast_vars) / sizeof(toast_vars[0]);
    spec.routes = toast_routes(&spec.nroutes);
    return app_main(&spec, argc, argv);
}
