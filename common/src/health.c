/* health: the six probe routes of every daemon (see health.h). */
#include "health.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define HEALTH_MAX_CHECKS 16
#define HEALTH_NROUTES    6
/* /health/detailed runs every check (the gateway's ask each service in
 * turn): callers within this long share one run, so the endpoint cannot be
 * used to multiply load on the dependencies. */
#define HEALTH_DETAILED_CACHE_NS (1000LL * 1000 * 1000)

typedef struct health_entry {
    char name[64];
    bool required;
    health_check_fn fn;
    void *ud;
} health_entry;

struct health {
    char service[64];
    char version[64];
    int64_t start_ns;
    metrics_registry *metrics;
    health_entry checks[HEALTH_MAX_CHECKS];
    size_t nchecks;
    atomic_bool started;
    web_route routes[HEALTH_NROUTES];
    pthread_mutex_t detailed_mu; /* one run of the checks at a time */
    char *detailed_text;         /* the last answer, its status and time */
    int detailed_status;
    int64_t detailed_at;
    char prefixed_pattern[80];
    web_route prefixed;
};

static int health_handle_health(web_req *r);
static int health_handle_detailed(web_req *r);
static int health_handle_live(web_req *r);
static int health_handle_ready(web_req *r);
static int health_handle_startup(web_req *r);
static int health_handle_metrics(web_req *r);

health *
health_new(const char *service, const char *version, metrics_registry *metrics)
{
    health *h = calloc(1, sizeof(*h));
    if (h == NULL)
        return NULL;
    util_strlcpy(h->service, service, sizeof(h->service));
    util_strlcpy(h->version, version, sizeof(h->version));
    h->start_ns = util_mono_ns();
    h->metrics = metrics;
    atomic_init(&h->started, false);
    pthread_mutex_init(&h->detailed_mu, NULL);
    const web_route routes[HEALTH_NROUTES] = {
        {"GET", "/health", health_handle_health, WEB_PUBLIC | WEB_QUIET, h},
        {"GET", "/health/detailed", health_handle_detailed, WEB_PUBLIC | WEB_QUIET, h},
        {"GET", "/live", health_handle_live, WEB_PUBLIC | WEB_QUIET, h},
        {"GET", "/ready", health_handle_ready, WEB_PUBLIC | WEB_QUIET, h},
        {"GET", "/startup", health_handle_startup, WEB_PUBLIC | WEB_QUIET, h},
        {"GET", "/metrics", health_handle_metrics, WEB_PUBLIC | WEB_QUIET, h},
    };
    memcpy(h->routes, routes, sizeof(routes));
    return h;
}

void
health_free(health *h)
{
    if (h == NULL)
        return;
    pthread_mutex_destroy(&h->detailed_mu);
    free(h->detailed_text);
    free(h);
}

int
health_add_check(health *h, const char *name, bool required, health_check_fn fn, void *ud)
{
    if (h->nchecks >= HEALTH_MAX_CHECKS || fn == NULL)
        return -1;
    health_entry *e = &h->checks[h->nchecks++];
    util_strlcpy(e->name, name, sizeof(e->name));
    e->required = required;
    e->fn = fn;
    e->ud = ud;
    return 0;
}

void
health_set_started(health *h, bool started)
{
    atomic_store(&h->started, started);
}

bool
health_started(const health *h)
{
    return atomic_load(&((health *)h)->started);
}

int
health_register(health *h, web_server *s)
{
    return web_server_add_routes(s, h->routes, HEALTH_NROUTES);
}

int
health_register_prefix(health *h, web_server *s, const char *prefix)
{
    int n = snprintf(h->prefixed_pattern, sizeof(h->prefixed_pattern), "%s/health", prefix);
    if (n < 0 || (size_t)n >= sizeof(h->prefixed_pattern) || prefix[0] != '/')
        return -1;
    h->prefixed =
        (web_route){"GET", h->prefixed_pattern, health_handle_health, WEB_PUBLIC | WEB_QUIET, h};
    return web_server_add_routes(s, &h->prefixed, 1);
}

int
health_check_db(void *pool, json_object *detail)
{
    int latency_ms = 0;
    db_status st = db_ping(pool, 1000, &latency_ms);
    if (st != DB_OK) {
        json_object_object_add(detail, "error", json_object_new_string(db_status_name(st)));
        return -1;
    }
    return 0;
}

int
health_check_bus(void *b, json_object *detail)
{
    int latency_ms = 0;
    bus_status st = bus_ping(b, 1000, &latency_ms);
    if (st != BUS_OK) {
        json_object_object_add(detail, "error", json_object_new_string(bus_status_name(st)));
        return -1;
    }
    return 0;
}

/* The fields every health answer starts with. */
static json_object *
health_base(const health *h, const char *status)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(status));
    json_object_object_add(o, "service", json_object_new_string(h->service));
    json_object_object_add(o, "version", json_object_new_string(h->version));
    int64_t up = (util_mono_ns() - h->start_ns) / 1000000000;
    json_object_object_add(o, "uptime_seconds", json_object_new_int64(up));
    return o;
}

/* Run the checks (only the required ones when required_only) into a new
 * "checks" object. *required_ok / *optional_ok tell whether they passed. */
static json_object *
health_run(health *h, bool required_only, bool *required_ok, bool *optional_ok)
{
    json_object *checks = json_object_new_object();
    *required_ok = true;
    *optional_ok = true;
    for (size_t i = 0; i < h->nchecks; i++) {
        health_entry *e = &h->checks[i];
        if (required_only && !e->required)
            continue;
        json_object *detail = json_object_new_object();
        int64_t t0 = util_mono_ns();
        int rc = e->fn(e->ud, detail);
        double ms = (double)(util_mono_ns() - t0) / 1e6;
        json_object_object_add(detail, "status",
                               json_object_new_string(rc == 0 ? "healthy" : "unhealthy"));
        char text[32];
        snprintf(text, sizeof(text), "%.2f", ms);
        json_object_object_add(detail, "latency_ms", json_object_new_double_s(ms, text));
        json_object_object_add(detail, "required", json_object_new_boolean(e->required));
        json_object_object_add(checks, e->name, detail);
        if (rc != 0) {
            if (e->required)
                *required_ok = false;
            else
                *optional_ok = false;
        }
    }
    return checks;
}

/* The names of the failed checks, for the error message of a 503. */
static void
health_failed_names(json_object *checks, char *buf, size_t cap)
{
    size_t used = 0;
    buf[0] = '\0';
    json_object_object_foreach(checks, name, detail)
    {
        json_object *st = NULL;
        if (!json_object_object_get_ex(detail, "status", &st)
            || strcmp(json_object_get_string(st), "healthy") == 0)
            continue;
        int n = snprintf(buf + used, cap - used, "%s%s", used ? ", " : "", name);
        if (n < 0 || (size_t)n >= cap - used)
            break;
        used += (size_t)n;
    }
}

static int
health_handle_health(web_req *r)
{
    health *h = web_route_ud(r);
    return web_reply_json(r, 200, health_base(h, "healthy"));
}

static int
health_handle_detailed(web_req *r)
{
    health *h = web_route_ud(r);
    pthread_mutex_lock(&h->detailed_mu);
    int64_t now = util_mono_ns();
    if (h->detailed_text == NULL || now - h->detailed_at > HEALTH_DETAILED_CACHE_NS) {
        bool req_ok, opt_ok;
        json_object *checks = health_run(h, false, &req_ok, &opt_ok);
        const char *status = !req_ok ? "unhealthy" : !opt_ok ? "degraded" : "healthy";
        json_object *o = health_base(h, status);
        json_object_object_add(o, "started", json_object_new_boolean(health_started(h)));
        json_object_object_add(o, "checks", checks);
        char *text = strdup(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
        json_object_put(o);
        if (text != NULL) {
            free(h->detailed_text);
            h->detailed_text = text;
            h->detailed_status = req_ok ? 200 : 503;
            h->detailed_at = util_mono_ns();
        }
    }
    int rc = h->detailed_text == NULL ? web_reply_error(r, 500, "internal_error", "out of memory")
                                      : web_reply(r, h->detailed_status, "application/json",
                                                  h->detailed_text, strlen(h->detailed_text), NULL);
    pthread_mutex_unlock(&h->detailed_mu);
    return rc;
}

static int
health_handle_live(web_req *r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string("alive"));
    return web_reply_json(r, 200, o);
}

/* A 503 probe answer: the probe's own fields plus the error shape, so both a
 * load balancer and a person reading it see why. */
static int
health_reply_unavailable(web_req *r, json_object *o, const char *code, const char *message)
{
    json_object *err = json_object_new_object();
    json_object_object_add(err, "code", json_object_new_string(code));
    json_object_object_add(err, "message", json_object_new_string(message));
    json_object_object_add(err, "request_id", json_object_new_string(web_request_id(r)));
    json_object_object_add(o, "error", err);
    return web_reply_json(r, 503, o);
}

static int
health_handle_ready(web_req *r)
{
    health *h = web_route_ud(r);
    bool req_ok, opt_ok;
    json_object *checks = health_run(h, true, &req_ok, &opt_ok);
    bool started = health_started(h);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status",
                           json_object_new_string(req_ok && started ? "ready" : "not_ready"));
    json_object_object_add(o, "checks", checks);
    if (req_ok && started)
        return web_reply_json(r, 200, o);
    char failed[256], msg[320];
    health_failed_names(checks, failed, sizeof(failed));
    if (!started)
        snprintf(msg, sizeof(msg), "%s is starting", h->service);
    else
        snprintf(msg, sizeof(msg), "dependencies unavailable: %s", failed);
    return health_reply_unavailable(r, o, "not_ready", msg);
}

static int
health_handle_startup(web_req *r)
{
    health *h = web_route_ud(r);
    json_object *o = json_object_new_object();
    if (health_started(h)) {
        json_object_object_add(o, "status", json_object_new_string("started"));
        return web_reply_json(r, 200, o);
    }
    json_object_object_add(o, "status", json_object_new_string("starting"));
    return health_reply_unavailable(r, o, "starting", "migrations have not finished yet");
}

static int
health_handle_metrics(web_req *r)
{
    health *h = web_route_ud(r);
    char *text = NULL;
    size_t len = 0;
    if (h->metrics == NULL || metrics_render(h->metrics, &text, &len) != 0)
        return web_reply_error(r, 500, "internal_error", "metrics could not be rendered");
    int rc = web_reply(r, 200, "text/plain; version=0.0.4; charset=utf-8", text, len, NULL);
    free(text);
    return rc;
}
