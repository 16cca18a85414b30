/* app: start, serve and stop a daemon (see app.h). */
#include "app.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#ifndef BRAIN_VERSION
#define BRAIN_VERSION "0.0.0"
#endif

#define APP_RETRY_MIN_MS 250
#define APP_RETRY_MAX_MS 5000

struct app {
    const app_spec *spec;
    cfg *cfg;
    metrics_registry *metrics;
    db_pool *db;
    bus *bus;
    health *health;
    web_server *web;
    void *data;
    bool events_ready;
    bool started; /* on_start ran: on_stop will */
    bool serving; /* on_serve ran: on_unserve will */
    char port_default[16];
    cfg_var port_var;
};

const char *
app_version(void)
{
    return BRAIN_VERSION;
}

const cfg *
app_cfg(const app *a)
{
    return a->cfg;
}

db_pool *
app_db(const app *a)
{
    return a->db;
}

bus *
app_bus(const app *a)
{
    return a->bus;
}

metrics_registry *
app_metrics(const app *a)
{
    return a->metrics;
}

health *
app_health(const app *a)
{
    return a->health;
}

web_server *
app_web(const app *a)
{
    return a->web;
}

const char *
app_service(const app *a)
{
    return a->spec->service;
}

void
app_set_data(app *a, void *data)
{
    a->data = data;
}

void *
app_data(const app *a)
{
    return a->data;
}

/* Read and check the configuration: common variables, the daemon's own PORT
 * default, then the daemon's variables. */
static int
app_load_config(app *a, char *err, size_t errlen)
{
    const app_spec *spec = a->spec;
    a->cfg = cfg_new();
    if (a->cfg == NULL || cfg_add(a->cfg, cfg_common_vars, cfg_common_nvars) != 0)
        return -1;
    snprintf(a->port_default, sizeof(a->port_default), "%d", spec->default_port);
    a->port_var = (cfg_var){
        "PORT", CFG_INT, a->port_default, 1, 65535, false, "TCP port the daemon listens on"};
    if (cfg_add(a->cfg, &a->port_var, 1) != 0)
        return -1;
    if (spec->nvars > 0 && cfg_add(a->cfg, spec->vars, spec->nvars) != 0)
        return -1;
    if (cfg_load(a->cfg, err, errlen) != 0)
        return -1;
    log_level lvl = LOGL_INFO;
    if (log_level_parse(cfg_str(a->cfg, "LOG_LEVEL"), &lvl) == 0)
        log_set_level(lvl);
    return 0;
}

/* Wait up to ms for SIGTERM/SIGINT. Returns the signal, or 0 on timeout. */
static int
app_wait_signal(const sigset_t *set, long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    for (;;) {
        int sig = sigtimedwait(set, NULL, &ts);
        if (sig > 0)
            return sig;
        if (errno == EAGAIN)
            return 0;
        if (errno != EINTR)
            return 0;
    }
}

static long
app_backoff(long ms)
{
    ms *= 2;
    return ms > APP_RETRY_MAX_MS ? APP_RETRY_MAX_MS : ms;
}

/* Apply the migrations, retrying while the database is unreachable. Returns 0
 * when done, the signal number when asked to stop first, -1 on a migration that
 * cannot apply (retrying would not help). */
static int
app_migrate(app *a, const sigset_t *set)
{
    long wait_ms = APP_RETRY_MIN_MS;
    for (unsigned attempt = 1;; attempt++) {
        char err[512] = "";
        db_status st =
            db_migrate(a->db, a->spec->schema, app_migrations, app_nmigrations, err, sizeof(err));
        if (st == DB_OK)
            return 0;
        if (st != DB_ERR_UNAVAILABLE) {
            log_msg(LOGL_ERROR, LOG_FIELDS(LF_STR("schema", a->spec->schema)),
                    "migrations failed: %s", err);
            return -1;
        }
        if (attempt == 1 || attempt % 10 == 0)
            log_msg(LOGL_WARN, LOG_FIELDS(LF_INT("attempt", attempt)),
                    "database unavailable, migrations will be retried: %s", err);
        int sig = app_wait_signal(set, wait_ms);
        if (sig != 0)
            return sig;
        wait_ms = app_backoff(wait_ms);
    }
}

/* Make sure the EVENTS stream exists; tried at start and then every second
 * until it succeeds, so a NATS outage at start does not hold the daemon. */
static void
app_ensure_events(app *a)
{
    if (a->events_ready || !bus_connected(a->bus))
        return;
    bus_status st = bus_events_ensure(a->bus);
    if (st == BUS_OK) {
        a->events_ready = true;
    } else {
        log_warn("event stream not ready yet: %s", bus_status_name(st));
    }
}

/* Ends the process if draining takes longer than SHUTDOWN_TIMEOUT_S: a stuck
 * request must not keep a replaced daemon alive forever. */
static void *
app_shutdown_watchdog(void *arg)
{
    long secs = (long)(intptr_t)arg;
    struct timespec ts = {secs, 0};
    while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
    }
    log_error("shutdown took longer than %ld s, exiting", secs);
    _exit(3);
}

static void
app_start_watchdog(const app *a)
{
    pthread_t t;
    long secs = cfg_int(a->cfg, "SHUTDOWN_TIMEOUT_S");
    if (pthread_create(&t, NULL, app_shutdown_watchdog, (void *)(intptr_t)secs) == 0)
        pthread_detach(t);
}

/* Connect what the daemon needs and start serving. Returns 0 or -1. */
static int
app_open(app *a)
{
    const app_spec *spec = a->spec;
    a->metrics = metrics_registry_new();
    if (a->metrics == NULL || metrics_register_process(a->metrics) != 0)
        return -1;
    const char *info_labels[] = {"service", "version"};
    metrics_family *info =
        metrics_gauge(a->metrics, "brain_build_info", "Build of this daemon.", info_labels, 2);
    const char *info_values[] = {spec->service, app_version()};
    if (info != NULL)
        metrics_set(info, info_values, 1);

    a->db = db_pool_new(cfg_str(a->cfg, "DATABASE_URL"), (int)cfg_int(a->cfg, "DB_POOL_SIZE"), 3);
    if (a->db == NULL)
        return -1;
    if (bus_connect(cfg_str(a->cfg, "NATS_URL"), spec->service, &a->bus) != BUS_OK)
        return -1;

    a->health = health_new(spec->service, app_version(), a->metrics);
    if (a->health == NULL || health_add_check(a->health, "postgres", true, health_check_db, a->db)
        || health_add_check(a->health, "nats", true, health_check_bus, a->bus))
        return -1;

    web_config wc = {
        .service = spec->service,
        .bind = spec->front ? "127.0.0.1" : cfg_str(a->cfg, "HTTP_BIND"),
        .port = spec->front ? 0 : (int)cfg_int(a->cfg, "PORT"),
        .threads = (int)cfg_int(a->cfg, "HTTP_THREADS"),
        .max_body = WEB_MAX_BODY,
        .internal_token = spec->edge ? NULL : cfg_str(a->cfg, "INTERNAL_TOKEN"),
        .metrics = a->metrics,
        /* Three quarters of the shutdown budget for requests in flight; the
         * rest for NATS and the pool. */
        .drain_ms = (int)cfg_int(a->cfg, "SHUTDOWN_TIMEOUT_S") * 750,
        .app = a,
        .before = spec->before,
    };
    a->web = web_server_new(&wc);
    if (a->web == NULL || health_register(a->health, a->web) != 0)
        return -1;
    if (spec->api_prefix != NULL
        && health_register_prefix(a->health, a->web, spec->api_prefix) != 0)
        return -1;
    if (spec->nroutes > 0 && web_server_add_routes(a->web, spec->routes, spec->nroutes) != 0)
        return -1;
    if (spec->nws_routes > 0 && web_server_add_ws(a->web, spec->ws_routes, spec->nws_routes) != 0)
        return -1;
    if (spec->on_init != NULL && spec->on_init(a) != 0) {
        log_error("initialisation failed");
        return -1;
    }
    char err[256] = "";
    if (web_server_start(a->web, err, sizeof(err)) != 0) {
        log_error("cannot serve HTTP: %s", err);
        return -1;
    }
    if (spec->on_serve != NULL && spec->on_serve(a) != 0)
        return -1;
    a->serving = true;
    return 0;
}

static void
app_close(app *a)
{
    if (a->serving && a->spec->on_unserve != NULL)
        a->spec->on_unserve(a);
    web_server_free(a->web);
    bus_close(a->bus);
    if (a->spec->on_close != NULL)
        a->spec->on_close(a);
    db_pool_free(a->db);
    health_free(a->health);
    metrics_registry_free(a->metrics);
    cfg_free(a->cfg);
}

static int
app_usage(const app_spec *spec, const char *arg)
{
    fprintf(stderr,
            "usage: %s [--version | --check-config]\n"
            "Configuration comes from the environment; see README.md.\n",
            spec->service);
    return arg == NULL ? 0 : 2;
}

int
app_main(const app_spec *spec, int argc, char **argv)
{
    bool check_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--version") == 0) {
            printf("%s %s\n", spec->service, app_version());
            return 0;
        }
        if (strcmp(argv[i], "--check-config") == 0)
            check_only = true;
        else
            return app_usage(spec, strcmp(argv[i], "--help") == 0 ? NULL : argv[i]);
    }

    /* Signals are taken synchronously by the main thread: block them before
     * any thread starts so every thread inherits the mask. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);

    log_init(spec->service, LOGL_INFO);
    app a = {.spec = spec};
    int rc = 1;
    char err[512] = "";
    if (app_load_config(&a, err, sizeof(err)) != 0) {
        log_error("invalid configuration: %s", err[0] ? err : "out of memory");
        goto out;
    }
    if (check_only) {
        log_info("configuration is valid");
        rc = 0;
        goto out;
    }
    cfg_log(a.cfg);
    int64_t t0 = util_mono_ns();
    if (app_open(&a) != 0)
        goto out;

    int sig = app_migrate(&a, &set);
    if (sig < 0)
        goto stop;
    if (sig == 0) {
        app_ensure_events(&a);
        if (spec->on_start != NULL && spec->on_start(&a) != 0) {
            log_error("start failed");
            goto stop;
        }
        health_set_started(a.health, true);
        web_server_set_ready(a.web, true);
        a.started = true;
        log_msg(LOGL_INFO,
                LOG_FIELDS(LF_STR("version", app_version()),
                           LF_DOUBLE("duration_ms", (double)(util_mono_ns() - t0) / 1e6)),
                "started");
        while ((sig = app_wait_signal(&set, 1000)) == 0)
            app_ensure_events(&a);
    }
    rc = 0;
stop:
    log_info("stopping on %s", sig > 0 ? strsignal(sig) : "error");
    app_start_watchdog(&a);
    /* /ready answers 503 from here on, so load balancers stop sending. */
    health_set_started(a.health, false);
    bool started = spec->on_stop != NULL && a.started;
    web_server_stop(a.web);
    if (started)
        spec->on_stop(&a);
out:
    app_close(&a);
    if (rc == 0 && !check_only)
        log_info("stopped");
    return rc;
}
