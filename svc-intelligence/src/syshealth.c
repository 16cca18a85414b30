/* syshealth: the system health report; see syshealth.h. */
#include "syshealth.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"
#include "util.h"

#define STREAM        "EVENTS"
#define MAX_CONSUMERS 64
#define SLACK_MS      100 /* beyond the timeout, for the parts to hand in */

const char *const syshealth_service_names[SH_NSERVICES] = {
    "gateway", "svc-automation", "svc-toast", "svc-embedding", "svc-sync",
};

typedef enum { P_POSTGRES = 0, P_NATS, P_SERVICES, P_QUEUE, P_COUNTS, P_N } part_id;

/* One report's shared state: freed by whoever lets go of it last (the
 * handler, or a part that ran past the deadline). */
typedef struct job {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int refs;
    int pending;
    syshealth_deps deps;
    syshealth_cfg cfg; /* a copy: a late part never reads the daemon's */
    int64_t deadline_ns;
    json_object *out[P_N];
} job;

typedef struct part {
    job *j;
    part_id id;
} part;

static pthread_mutex_t inflight_mu = PTHREAD_MUTEX_INITIALIZER;
static int inflight;

static int
left_ms(const job *j)
{
    int64_t ms = (j->deadline_ns - util_mono_ns()) / 1000000;
    return ms < 1 ? 1 : (int)ms;
}

static json_object *
status_obj(const char *status)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(status));
    return o;
}

static json_object *
part_postgres(job *j)
{
    int ms = 0;
    db_status st = db_ping(j->deps.pool, left_ms(j), &ms);
    json_object *o = status_obj(st == DB_OK ? "up" : "down");
    if (st == DB_OK)
        json_object_object_add(o, "latency_ms", json_object_new_int(ms));
    else
        json_object_object_add(o, "error", json_object_new_string(db_status_name(st)));
    return o;
}

static json_object *
jetstream(job *j)
{
    bus_stream_stats ss;
    bus_consumer_stats *cs = calloc(MAX_CONSUMERS, sizeof(*cs));
    size_t n = 0;
    bus_status st = cs ? bus_stream_info(j->deps.bus, STREAM, left_ms(j), &ss) : BUS_ERR_OTHER;
    if (st == BUS_OK)
        st = bus_stream_consumers(j->deps.bus, STREAM, left_ms(j), cs, MAX_CONSUMERS, &n);
    json_object *o = status_obj(st == BUS_OK ? "up" : "down");
    if (st != BUS_OK) {
        json_object_object_add(o, "error", json_object_new_string(bus_status_name(st)));
        free(cs);
        return o;
    }
    json_object *s = json_object_new_object(), *list = json_object_new_array();
    json_object_object_add(s, "name", json_object_new_string(STREAM));
    json_object_object_add(s, "messages", json_object_new_int64((int64_t)ss.messages));
    json_object_object_add(s, "bytes", json_object_new_int64((int64_t)ss.bytes));
    json_object_object_add(o, "stream", s);
    for (size_t i = 0; i < n; i++) {
        json_object *c = json_object_new_object();
        json_object_object_add(c, "name", json_object_new_string(cs[i].name));
        json_object_object_add(c, "pending", json_object_new_int64((int64_t)cs[i].pending));
        json_object_object_add(c, "ack_pending", json_object_new_int64(cs[i].ack_pending));
        json_object_array_add(list, c);
    }
    json_object_object_add(o, "consumers", list);
    free(cs);
    return o;
}

static json_object *
part_nats(job *j)
{
    int ms = 0;
    bus_status st = bus_ping(j->deps.bus, left_ms(j), &ms);
    json_object *o = status_obj(st == BUS_OK ? "up" : "down");
    if (st != BUS_OK) {
        json_object_object_add(o, "error", json_object_new_string(bus_status_name(st)));
        return o;
    }
    json_object_object_add(o, "latency_ms", json_object_new_int(ms));
    json_object_object_add(o, "jetstream", jetstream(j));
    return o;
}

/* A count of the automation.stats reply, or null when it has none. */
static json_object *
stat_field(json_object *reply, const char *name)
{
    json_object *v = NULL;
    if (json_object_object_get_ex(reply, name, &v) && json_object_is_type(v, json_type_int))
        return json_object_get(v);
    return NULL;
}

static json_object *
part_queue(job *j)
{
    char *text = NULL;
    size_t len = 0;
    json_object *reply = NULL, *o;
    js_err je;
    bus_status st = bus_request(j->deps.bus, "automation.stats", "{}", 2, left_ms(j), &text, &len);
    if (st != BUS_OK || js_parse(text, len, &reply, &je) != JS_OK
        || !json_object_is_type(reply, json_type_object)
        || json_object_object_get_ex(reply, "error", NULL)) {
        o = status_obj("unavailable");
        json_object_object_add(o, "error",
                               json_object_new_string(st != BUS_OK ? bus_status_name(st)
                                                                   : "bad automation.stats reply"));
        json_object_put(reply);
        free(text);
        return o;
    }
    o = status_obj("up");
    json_object *depth = json_object_new_object();
    json_object_object_add(depth, "pending", stat_field(reply, "pending"));
    json_object_object_add(depth, "queued", stat_field(reply, "queued"));
    json_object_object_add(depth, "running", stat_field(reply, "running"));
    json_object_object_add(o, "depth", depth);
    json_object_object_add(o, "failed_24h", stat_field(reply, "failed_24h"));
    json_object_object_add(o, "expired_leases", stat_field(reply, "expired_leases"));
    json_object_put(reply);
    free(text);
    return o;
}

/* Both counts in one object, split when the report is put together. */
static json_object *
part_counts(job *j)
{
    json_object *ints = NULL, *alerts = NULL;
    store_status st = store_system_counts(j->deps.store, left_ms(j), &ints, &alerts);
    json_object *o = json_object_new_object();
    if (st != ST_OK) {
        json_object_object_add(o, "error", json_object_new_string("the database did not answer"));
        return o;
    }
    json_object_object_add(o, "integrations", ints);
    json_object_object_add(o, "alerts", alerts);
    return o;
}

static void
job_unref(job *j)
{
    /* j->mu held */
    bool last = --j->refs == 0;
    pthread_mutex_unlock(&j->mu);
    if (!last)
        return;
    for (int i = 0; i < P_N; i++)
        json_object_put(j->out[i]);
    pthread_cond_destroy(&j->cv);
    pthread_mutex_destroy(&j->mu);
    free(j);
}

static void *
part_main(void *arg)
{
    part p = *(part *)arg;
    job *j = p.j;
    json_object *o = NULL;
    free(arg);
    switch (p.id) {
    case P_POSTGRES:
        o = part_postgres(j);
        break;
    case P_NATS:
        o = part_nats(j);
        break;
    case P_SERVICES:
        o = syshealth_services(&j->cfg);
        break;
    case P_QUEUE:
        o = part_queue(j);
        break;
    default:
        o = part_counts(j);
        break;
    }
    pthread_mutex_lock(&j->mu);
    j->out[p.id] = o;
    j->pending--;
    pthread_cond_broadcast(&j->cv);
    job_unref(j);
    pthread_mutex_lock(&inflight_mu);
    inflight--;
    pthread_mutex_unlock(&inflight_mu);
    return NULL;
}

static bool
part_start(job *j, part_id id)
{
    pthread_t t;
    pthread_attr_t attr;
    part *p = malloc(sizeof(*p));
    if (!p)
        return false;
    *p = (part){j, id};
    pthread_mutex_lock(&inflight_mu);
    inflight++;
    pthread_mutex_unlock(&inflight_mu);
    pthread_mutex_lock(&j->mu);
    j->refs++;
    j->pending++;
    pthread_mutex_unlock(&j->mu);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int rc = pthread_create(&t, &attr, part_main, p);
    pthread_attr_destroy(&attr);
    if (rc == 0)
        return true;
    free(p);
    pthread_mutex_lock(&j->mu);
    j->refs--;
    j->pending--;
    pthread_mutex_unlock(&j->mu);
    pthread_mutex_lock(&inflight_mu);
    inflight--;
    pthread_mutex_unlock(&inflight_mu);
    return false;
}

static job *
job_new(const syshealth_deps *d)
{
    job *j = calloc(1, sizeof(*j));
    pthread_condattr_t ca;
    if (!j)
        return NULL;
    pthread_mutex_init(&j->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&j->cv, &ca);
    pthread_condattr_destroy(&ca);
    j->refs = 1;
    j->deps = *d;
    j->cfg = *d->cfg;
    j->deps.cfg = &j->cfg;
    j->deadline_ns = util_mono_ns() + (int64_t)d->cfg->timeout_ms * 1000000;
    return j;
}

/* Wait for every part, or until the deadline and a little. */
static void
job_wait(job *j)
{
    int64_t until = j->deadline_ns + (int64_t)SLACK_MS * 1000000;
    struct timespec ts = {.tv_sec = (time_t)(until / 1000000000),
                          .tv_nsec = (long)(until % 1000000000)};
    while (j->pending > 0 && pthread_cond_timedwait(&j->cv, &j->mu, &ts) == 0)
        ;
}

static json_object *
no_answer(const job *j)
{
    json_object *o = status_obj("unknown");
    char why[64];
    snprintf(why, sizeof(why), "no answer within %d ms", j->cfg.timeout_ms);
    json_object_object_add(o, "error", json_object_new_string(why));
    return o;
}

/* Take part id's result (a late one is reported as not answering). */
static json_object *
take(job *j, part_id id)
{
    json_object *o = j->out[id];
    j->out[id] = NULL;
    return o;
}

static void
add_counts(json_object *comp, json_object *counts, const job *j)
{
    json_object *ints = NULL, *alerts = NULL;
    if (counts && json_object_object_get_ex(counts, "integrations", &ints)
        && json_object_object_get_ex(counts, "alerts", &alerts)) {
        json_object_object_add(comp, "integrations", json_object_get(ints));
        json_object_object_add(comp, "alerts", json_object_get(alerts));
    } else {
        json_object *e = counts ? status_obj("unknown") : no_answer(j), *why = NULL;
        if (counts && json_object_object_get_ex(counts, "error", &why))
            json_object_object_add(e, "error", json_object_get(why));
        json_object_object_add(comp, "integrations", e);
        json_object_object_add(comp, "alerts", json_object_get(e));
    }
    json_object_put(counts);
}

static json_object *
components_of(job *j)
{
    static const char *const names[P_N] = {"postgres", "nats", "services", "job_queue", NULL};
    json_object *comp = json_object_new_object();
    for (int i = 0; i < P_COUNTS; i++) {
        json_object *o = take(j, (part_id)i);
        json_object_object_add(comp, names[i], o ? o : no_answer(j));
    }
    add_counts(comp, take(j, P_COUNTS), j);
    return comp;
}

json_object *
syshealth_report(const syshealth_deps *d, int64_t now_ms)
{
    job *j = job_new(d);
    char at[UTIL_RFC3339_LEN + 1];
    struct timespec ts = {.tv_sec = (time_t)(now_ms / 1000),
                          .tv_nsec = (long)(now_ms % 1000) * 1000000L};
    if (!j)
        return NULL;
    for (int i = 0; i < P_N; i++)
        if (!part_start(j, (part_id)i))
            log_msg(LOGL_WARN, LOG_FIELDS(LF_INT("part", i)),
                    "system health: no thread for a part");
    pthread_mutex_lock(&j->mu);
    job_wait(j);
    json_object *comp = components_of(j);
    job_unref(j); /* unlocks */
    util_rfc3339(&ts, at);
    json_object *o = json_object_new_object();
    json_object_object_add(o, "status", json_object_new_string(syshealth_overall(comp)));
    json_object_object_add(o, "checked_at", json_object_new_string(at));
    json_object_object_add(o, "components", comp);
    return o;
}

bool
syshealth_drain(int wait_ms)
{
    int64_t until = util_mono_ns() + (int64_t)wait_ms * 1000000;
    bool none;
    pthread_mutex_lock(&inflight_mu);
    while (inflight > 0 && util_mono_ns() < until) {
        pthread_mutex_unlock(&inflight_mu);
        struct timespec pause = {0, 10 * 1000000L};
        nanosleep(&pause, NULL);
        pthread_mutex_lock(&inflight_mu);
    }
    none = inflight == 0;
    pthread_mutex_unlock(&inflight_mu);
    return none;
}

/* The string at path a.b (NULL when absent). */
static const char *
str_at(json_object *o, const char *a, const char *b)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, a, &v) || (b && !json_object_object_get_ex(v, b, &v)))
        return NULL;
    return json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
}

static bool
is(const char *s, const char *want)
{
    return s && strcmp(s, want) == 0;
}

static int64_t
int_at(json_object *o, const char *a, const char *b)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, a, &v) || !json_object_object_get_ex(v, b, &v))
        return 0;
    return json_object_get_int64(v);
}

static bool
services_ok(json_object *comp)
{
    json_object *svcs = NULL;
    if (!json_object_object_get_ex(comp, "services", &svcs) || str_at(comp, "services", "status"))
        return false; /* the part itself did not answer */
    json_object_object_foreach(svcs, name, v)
    {
        (void)name;
        const char *st = str_at(v, "status", NULL);
        if (!is(st, "healthy") && !is(st, "not_configured"))
            return false;
    }
    return true;
}

const char *
syshealth_overall(json_object *comp)
{
    if (!is(str_at(comp, "postgres", "status"), "up") || !is(str_at(comp, "nats", "status"), "up"))
        return "unhealthy";
    json_object *nats = NULL;
    json_object_object_get_ex(comp, "nats", &nats);
    if (!is(str_at(nats, "jetstream", "status"), "up") || !services_ok(comp)
        || !is(str_at(comp, "job_queue", "status"), "up")
        || int_at(comp, "job_queue", "expired_leases") > 0 || str_at(comp, "alerts", "status")
        || str_at(comp, "integrations", "status") || int_at(comp, "alerts", "critical") > 0)
        return "degraded";
    return "healthy";
}
