/* events: the durable consumers and the debounced recomputes; see events.h.
 * One thread of our own sets the consumers up and recomputes; the messages
 * are handled on nats.c's delivery threads. */
#include "events.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bus.h"
#include "events_msg.h"
#include "events_queue.h"
#include "log.h"
#include "scoring.h"
#include "store_events.h"
#include "util.h"

#define EVENTS_RETRY_MS    1000   /* consumers not set up yet: try again after */
#define EVENTS_MAX_PENDING 100000 /* clients waiting for a recompute at once */
#define EVENTS_BATCH       64     /* recomputes between looks at the queue */

static const struct {
    const char *durable, *filter;
} consumer_table[EV_NKINDS] = {
    [EV_JOB] = {"svc-intelligence-jobs", "events.job.>"},
    [EV_HEALTH] = {"svc-intelligence-health", "events.toast.health.>"},
    [EV_SYNC] = {"svc-intelligence-sync", "events.sync.run.>"},
    [EV_USAGE] = {"svc-intelligence-usage", "events.embedding.usage.>"},
    [EV_ACTIVITY] = {"svc-intelligence-activity", "events.activity.>"},
};

/* What a consumer's handler gets. */
struct consumer {
    events *e;
    ev_kind kind;
    bool ready;
};

struct events {
    intel *s;
    pthread_t thread;
    bool running, stop;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    evq queue; /* under mu */
    struct consumer consumers[EV_NKINDS];
    metrics_family *handled, *recomputed;
};

static void
count(events *e, ev_kind k, const char *outcome)
{
    const char *labels[] = {evmsg_kind_name(k), outcome};
    metrics_inc(e->handled, labels, 1);
}

static void
on_changed(events *e, const ev_msg *m, int64_t now_ms)
{
    intel *s = e->s;
    if (s->on_event)
        s->on_event(s, evmsg_kind_name(m->kind), m->client_id, m->subject, now_ms / 1000);
    /* Provider usage feeds no factor. */
    if (m->kind == EV_USAGE || !m->client_id)
        return;
    pthread_mutex_lock(&e->mu);
    bool ok = evq_touch(&e->queue, m->client_id, now_ms);
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    if (!ok)
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("client_id", m->client_id)),
                "score recompute not queued: too many waiting");
}

int
events_handle(events *e, int kind, const char *subject, const char *data, size_t len)
{
    ev_msg m;
    js_err err;
    bool changed = false;
    ev_kind k = (ev_kind)kind;
    if (evmsg_parse(k, data, len, &m, &err) != JS_OK) {
        /* The message names the field, never its value. */
        log_msg(LOGL_WARN,
                LOG_FIELDS(LF_STR("subject", subject), LF_STR("kind", evmsg_kind_name(k)),
                           LF_STR("error", err.message)),
                "malformed event dropped");
        count(e, k, "invalid");
        return 0;
    }
    if (!m.keep) {
        evmsg_free(&m);
        count(e, k, "ignored");
        return 0;
    }
    store_status st = store_event_save(e->s->store, &m, &changed);
    int rc = 0;
    if (st == ST_UNAVAILABLE) {
        log_msg(LOGL_WARN,
                LOG_FIELDS(LF_STR("subject", subject), LF_STR("kind", evmsg_kind_name(k))),
                "event not stored, the database is away: it comes back later");
        count(e, k, "retried");
        rc = 1; /* not acknowledged: it comes back */
    } else if (st != ST_OK) {
        log_msg(LOGL_WARN,
                LOG_FIELDS(LF_STR("subject", subject), LF_STR("kind", evmsg_kind_name(k)),
                           LF_STR("reason", st == ST_NOT_FOUND ? "unknown client"
                                                               : "refused by the database")),
                "event dropped");
        count(e, k, "dropped");
    } else if (changed) {
        count(e, k, "stored");
        on_changed(e, &m, util_now_ms());
    } else {
        count(e, k, "duplicate");
    }
    evmsg_free(&m);
    return rc;
}

static int
on_message(bus_msg *msg, void *ud)
{
    struct consumer *c = ud;
    size_t len = 0;
    const char *data = bus_msg_data(msg, &len);
    return events_handle(c->e, (int)c->kind, bus_msg_subject(msg), data, len);
}

/* Set up the consumers not set up yet; true when all are. */
static bool
consume_all(events *e)
{
    bus *b = app_bus(e->s->app);
    bool all = true;
    for (int k = 0; k < EV_NKINDS; k++) {
        struct consumer *c = &e->consumers[k];
        if (c->ready)
            continue;
        if (!bus_connected(b)) {
            all = false;
            continue;
        }
        bus_status st = bus_consume(b, "EVENTS", consumer_table[k].durable,
                                    consumer_table[k].filter, on_message, c);
        c->ready = st == BUS_OK;
        all = all && c->ready;
        if (c->ready)
            log_msg(LOGL_INFO,
                    LOG_FIELDS(LF_STR("durable", consumer_table[k].durable),
                               LF_STR("filter", consumer_table[k].filter)),
                    "consuming events");
    }
    return all;
}

/* Recompute one client's score and keep it (with its alerts and
 * recommendations: scoring.c). ST_UNAVAILABLE: try later. */
static store_status
recompute(events *e, const char *client_id)
{
    intel *s = e->s;
    json_object *out = NULL, *v = NULL;
    int64_t now_ms = util_now_ms();
    store_status st = scoring_run(s->store, client_id, now_ms, &out);
    if (st != ST_OK)
        return st;
    json_object_object_get_ex(out, "health_status", &v);
    log_msg(LOGL_DEBUG,
            LOG_FIELDS(LF_STR("client_id", client_id),
                       LF_STR("health_status", json_object_get_string(v))),
            "score recomputed after events");
    json_object_put(out);
    return ST_OK;
}

static void
recompute_batch(events *e, char (*ids)[EVQ_ID_LEN + 1], size_t n)
{
    for (size_t i = 0; i < n; i++) {
        store_status st = recompute(e, ids[i]);
        const char *labels[] = {st == ST_OK          ? "ok"
                                : st == ST_NOT_FOUND ? "unknown_client"
                                                     : "failed"};
        metrics_inc(e->recomputed, labels, 1);
        if (st == ST_UNAVAILABLE) { /* the database is away: later */
            pthread_mutex_lock(&e->mu);
            evq_touch(&e->queue, ids[i], util_now_ms());
            pthread_mutex_unlock(&e->mu);
        } else if (st != ST_OK && st != ST_NOT_FOUND) {
            log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("client_id", ids[i])), "score recompute failed");
        }
    }
}

static void
wait_until(events *e, int64_t wake_ms)
{
    struct timespec ts = {.tv_sec = (time_t)(wake_ms / 1000),
                          .tv_nsec = (long)(wake_ms % 1000) * 1000000L};
    pthread_cond_timedwait(&e->cv, &e->mu, &ts); /* CLOCK_REALTIME, like util_now_ms */
}

static void *
run(void *arg)
{
    events *e = arg;
    char ids[EVENTS_BATCH][EVQ_ID_LEN + 1];
    bool all = false;
    pthread_mutex_lock(&e->mu);
    while (!e->stop) {
        if (!all) {
            pthread_mutex_unlock(&e->mu);
            all = consume_all(e);
            pthread_mutex_lock(&e->mu);
        }
        int64_t now = util_now_ms();
        size_t n = evq_take_due(&e->queue, now, ids, EVENTS_BATCH);
        if (n > 0) {
            pthread_mutex_unlock(&e->mu);
            recompute_batch(e, ids, n);
            pthread_mutex_lock(&e->mu);
            continue;
        }
        int64_t next = evq_next_due(&e->queue);
        int64_t wake = all ? (next >= 0 ? next : now + 60000) : now + EVENTS_RETRY_MS;
        if (!all && next >= 0 && next < wake)
            wake = next;
        if (!e->stop)
            wait_until(e, wake);
    }
    pthread_mutex_unlock(&e->mu);
    return NULL;
}

events *
events_start(intel *s, int debounce_ms)
{
    static const char *const kl[] = {"kind", "outcome"}, *const rl[] = {"outcome"};
    events *e = calloc(1, sizeof(*e));
    if (!e)
        return NULL;
    e->s = s;
    pthread_mutex_init(&e->mu, NULL);
    pthread_cond_init(&e->cv, NULL);
    evq_init(&e->queue, debounce_ms, EVENTS_MAX_PENDING);
    for (int k = 0; k < EV_NKINDS; k++)
        e->consumers[k] = (struct consumer){e, (ev_kind)k, false};
    metrics_registry *m = app_metrics(s->app);
    e->handled = metrics_counter(m, "intelligence_events_total",
                                 "Events handled, by kind and outcome", kl, 2);
    e->recomputed = metrics_counter(m, "intelligence_score_recomputes_total",
                                    "Scores recomputed after events, by outcome", rl, 1);
    if (!e->handled || !e->recomputed || pthread_create(&e->thread, NULL, run, e) != 0) {
        events_free(e);
        return NULL;
    }
    e->running = true;
    return e;
}

void
events_stop(events *e)
{
    if (!e || !e->running)
        return;
    pthread_mutex_lock(&e->mu);
    e->stop = true;
    pthread_cond_signal(&e->cv);
    pthread_mutex_unlock(&e->mu);
    pthread_join(e->thread, NULL);
    e->running = false;
}

void
events_free(events *e)
{
    if (!e)
        return;
    events_stop(e);
    evq_free(&e->queue);
    pthread_mutex_destroy(&e->mu);
    pthread_cond_destroy(&e->cv);
    free(e);
}
