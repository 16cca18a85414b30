/* live: live job updates over WebSocket (live.h).
 *
 * Locks. l->mu guards the list of connections and nothing else. Each
 * connection's c->mu guards what it follows (subscriptions, subscribe_client,
 * the last seq sent per job) and serialises everything sent on it, so "newer
 * than what this connection got for the job?" and the send are one step: a
 * job's events leave in seq order whichever threads deliver them. The two
 * locks are never held together, and l->mu never while sending.
 *
 * Lifetime. A connection is reference counted: the registry holds one from
 * on_connect to on_close, a delivering thread one while it sends (taken under
 * l->mu, which on_close also takes to unlist it). The connection holds a
 * reference on its web_ws until it is freed, so a late send is harmless.
 *
 * Subscribing looks the job up (a database query) without any lock. Events
 * for that job arriving meanwhile are held and go out after the "subscribed"
 * acknowledgement and the looked-up state, newer ones only. */
#include "live.h"

#include <ctype.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "automation.h"
#include "json.h"
#include "live_internal.h"
#include "log.h"
#include "util.h"

/* ---- events ---- */

typedef struct live_ev {
    char job[LIVE_ID];
    char client[LIVE_ID];
    long long seq;
} live_ev;

/* Ids are compared lowercased: a UUID has one meaning whatever its case. */
static void
id_copy(char dst[LIVE_ID], const char *uuid)
{
    for (size_t i = 0; i < UTIL_UUID_LEN; i++)
        dst[i] = (char)tolower((unsigned char)uuid[i]);
    dst[UTIL_UUID_LEN] = '\0';
}

static int
event_parse(const char *data, size_t len, live_ev *ev, js_err *err)
{
    json_object *doc = NULL;
    const char *job, *client;
    int rc = -1;

    if (js_parse(data, len, &doc, err) != JS_OK || js_require_object(doc, err) != JS_OK
        || js_get_uuid(doc, "job_id", true, &job, err) != JS_OK
        || js_get_uuid(doc, "client_id", true, &client, err) != JS_OK
        || js_get_int(doc, "seq", true, 0, LLONG_MAX, &ev->seq, err) != JS_OK)
        goto out;
    id_copy(ev->job, job);
    id_copy(ev->client, client);
    rc = 0;
out:
    json_object_put(doc);
    return rc;
}

/* ---- sending; c->mu held ---- */

static void
conn_send(live_conn *c, const char *text, size_t len)
{
    if (web_ws_send_text(c->ws, text, len) != 0)
        return; /* the connection is going: on_close follows */
    c->sent++;
    metrics_inc(c->l->m_sent, NULL, 1);
}

/* {"type":type} plus key:value when key is not NULL. */
static void
conn_reply(live_conn *c, const char *type, const char *key, const char *value)
{
    json_object *o = json_object_new_object();
    const char *text;
    size_t len;

    if (o == NULL) {
        log_error("out of memory for a live-update reply");
        return;
    }
    json_object_object_add(o, "type", json_object_new_string(type));
    if (key != NULL)
        json_object_object_add(o, key, json_object_new_string(value));
    if ((text = js_text(o, &len)) != NULL)
        conn_send(c, text, len);
    json_object_put(o);
}

/* Send an event for entry e unless c already got that seq or a newer one. */
static void
conn_deliver(live_conn *c, live_entry *e, long long seq, const char *text, size_t len)
{
    if (seq <= e->seq)
        return;
    e->seq = seq;
    conn_send(c, text, len);
}

/* Keep an event of the job being subscribed to until its lookup is done. */
static void
conn_hold(live_conn *c, long long seq, const char *text, size_t len)
{
    char *copy = malloc(len > 0 ? len : 1);

    if (copy == NULL) {
        log_error("out of memory holding a job event");
        return;
    }
    if (c->nheld == LIVE_MAX_HELD) {
        log_warn("job %s: more than %d events during its lookup, the oldest dropped", c->pending,
                 LIVE_MAX_HELD);
        free(c->held[0].text);
        memmove(&c->held[0], &c->held[1], (LIVE_MAX_HELD - 1) * sizeof(c->held[0]));
        c->nheld--;
    }
    memcpy(copy, text, len);
    c->held[c->nheld++] = (live_held){.seq = seq, .text = copy, .len = len};
}

/* An event of c's client: send it if c follows the job. */
static void
conn_offer(live_conn *c, const char *job, long long seq, const char *text, size_t len)
{
    live_entry *e;

    if (strcmp(job, c->pending) == 0) {
        conn_hold(c, seq, text, len);
        return;
    }
    /* an entry in the table is followed: subscribed, or seen through "all" */
    if ((e = live_tab_find(c, job)) == NULL) {
        if (!c->all)
            return;
        if (live_track_push(c, job) != 0 || (e = live_tab_add(c, job)) == NULL) {
            log_error("out of memory following job %s", job);
            return;
        }
    }
    conn_deliver(c, e, seq, text, len);
}

/* ---- connections ---- */

static void
conn_unref(live_conn *c)
{
    if (__atomic_sub_fetch(&c->refs, 1, __ATOMIC_ACQ_REL) != 0)
        return;
    for (size_t i = 0; i < c->nheld; i++)
        free(c->held[i].text);
    free(c->tab);
    free(c->ring);
    pthread_mutex_destroy(&c->mu);
    web_ws_unref(c->ws);
    free(c);
}

static void conn_error(live_conn *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
conn_error(live_conn *c, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    pthread_mutex_lock(&c->mu);
    conn_reply(c, "error", "message", msg);
    pthread_mutex_unlock(&c->mu);
}

/* The subscription is confirmed (c->mu held): acknowledge, send the looked-up
 * state, then what arrived meanwhile. Returns 0, or -1 when out of memory. */
static int
conn_confirm(live_conn *c, const char *job, const live_ev *ev, const char *snap)
{
    live_entry *e = live_tab_find(c, job);

    if (e == NULL && (e = live_tab_add(c, job)) == NULL) {
        log_error("out of memory subscribing to job %s", job);
        return -1;
    }
    if (!e->sub) {
        e->sub = true;
        c->nsubs++;
    }
    conn_reply(c, "subscribed", "job_id", job);
    conn_deliver(c, e, ev->seq, snap, strlen(snap));
    return 0;
}

/* The lookup's answer: 0 and *ev when snap is an event of that job and client
 * (a different one would break the tenant rule: treated as a store failure). */
static int
snapshot_check(const live_conn *c, const char *job, const char *snap, live_ev *ev)
{
    js_err err = {.message = "it names another job or client"};

    if (event_parse(snap, strlen(snap), ev, &err) != 0 || strcmp(ev->job, job) != 0
        || strcmp(ev->client, c->client_id) != 0) {
        log_error("job lookup for %s gave an unusable event: %s", job, err.message);
        return -1;
    }
    return 0;
}

/* ---- client messages ---- */

static void
msg_subscribe(live_conn *c, json_object *msg)
{
    char job[LIVE_ID], *snap = NULL;
    const char *raw;
    live_entry *e;
    live_ev ev = {.seq = 0};
    js_err err;
    int rc;

    if (js_get_uuid(msg, "job_id", true, &raw, &err) != JS_OK) {
        conn_error(c, "%s", err.message);
        return;
    }
    id_copy(job, raw);
    pthread_mutex_lock(&c->mu);
    e = live_tab_find(c, job);
    if ((e == NULL || !e->sub) && c->nsubs >= LIVE_MAX_SUBS) {
        pthread_mutex_unlock(&c->mu);
        conn_error(c, "at most %d job subscriptions per connection", LIVE_MAX_SUBS);
        return;
    }
    memcpy(c->pending, job, LIVE_ID);
    pthread_mutex_unlock(&c->mu);

    log_msg(LOGL_DEBUG, LOG_FIELDS(LF_STR("client_id", c->client_id), LF_STR("job_id", job)),
            "live subscribe");
    rc = c->l->lookup(c->l->ud, c->client_id, job, &snap);
    if (rc == 0 && (snap == NULL || snapshot_check(c, job, snap, &ev) != 0))
        rc = -1;

    pthread_mutex_lock(&c->mu);
    c->pending[0] = '\0';
    if (rc == 0)
        rc = conn_confirm(c, job, &ev, snap);
    /* held events follow the snapshot; if the subscription failed they still
     * reach a subscription that existed before */
    for (size_t i = 0; i < c->nheld; i++) {
        conn_offer(c, job, c->held[i].seq, c->held[i].text, c->held[i].len);
        free(c->held[i].text);
    }
    c->nheld = 0;
    pthread_mutex_unlock(&c->mu);
    free(snap);

    if (rc == 1)
        conn_error(c, "job %s not found for client %s", job, c->client_id);
    else if (rc != 0)
        conn_error(c, "job store unavailable, try again");
}

static void
msg_unsubscribe(live_conn *c, json_object *msg)
{
    char job[LIVE_ID];
    const char *raw;
    live_entry *e;
    js_err err;

    if (js_get_uuid(msg, "job_id", true, &raw, &err) != JS_OK) {
        conn_error(c, "%s", err.message);
        return;
    }
    id_copy(job, raw);
    pthread_mutex_lock(&c->mu);
    if ((e = live_tab_find(c, job)) != NULL && e->sub) {
        e->sub = false;
        c->nsubs--;
        /* still followed through "all": keep its seq, as any job seen that way */
        if (!c->all)
            live_tab_del(c, e);
        else if (live_track_push(c, job) != 0)
            log_error("out of memory following job %s", job);
    }
    conn_reply(c, "unsubscribed", "job_id", job);
    pthread_mutex_unlock(&c->mu);
    log_msg(LOGL_DEBUG, LOG_FIELDS(LF_STR("client_id", c->client_id), LF_STR("job_id", job)),
            "live unsubscribe");
}

static void
msg_subscribe_client(live_conn *c, json_object *msg)
{
    const char *raw = NULL;
    char client[LIVE_ID];
    js_err err;

    /* a client_id is optional; when given it must be this connection's */
    if (js_get_uuid(msg, "client_id", false, &raw, &err) == JS_INVALID) {
        conn_error(c, "%s", err.message);
        return;
    }
    if (raw != NULL) {
        id_copy(client, raw);
        if (strcmp(client, c->client_id) != 0) {
            conn_error(c, "field 'client_id': this connection follows client %s only",
                       c->client_id);
            return;
        }
    }
    pthread_mutex_lock(&c->mu);
    c->all = true;
    conn_reply(c, "subscribed", "client_id", c->client_id);
    pthread_mutex_unlock(&c->mu);
    log_msg(LOGL_DEBUG, LOG_FIELDS(LF_STR("client_id", c->client_id)), "live subscribe_client");
}

static void
msg_ping(live_conn *c, json_object *msg)
{
    (void)msg;
    pthread_mutex_lock(&c->mu);
    conn_reply(c, "pong", NULL, NULL);
    pthread_mutex_unlock(&c->mu);
}

static const struct live_cmd {
    const char *type;
    void (*run)(live_conn *c, json_object *msg);
} live_cmds[] = {
    {"subscribe", msg_subscribe},
    {"unsubscribe", msg_unsubscribe},
    {"subscribe_client", msg_subscribe_client},
    {"ping", msg_ping},
};

/* ---- WebSocket callbacks ---- */

static int
live_ws_connect(web_ws *ws)
{
    const char *client = web_ws_param(ws, "client_id");
    live *l = automation_live(web_ws_app(ws));
    live_conn *c;

    if (client == NULL || !util_uuid_valid(client))
        return 400;
    if (l == NULL || (c = calloc(1, sizeof(*c))) == NULL)
        return 503;
    pthread_mutex_init(&c->mu, NULL);
    c->l = l;
    c->ws = ws;
    web_ws_ref(ws);
    c->refs = 1;
    c->opened_ns = util_mono_ns();
    id_copy(c->client_id, client);
    web_ws_set_data(ws, c);
    return 0;
}

static void
live_ws_ready(web_ws *ws)
{
    live_conn *c = web_ws_data(ws);
    live *l = c->l;

    pthread_mutex_lock(&l->mu);
    c->next = l->conns;
    if (l->conns != NULL)
        l->conns->prev = c;
    l->conns = c;
    c->listed = true;
    l->nconns++;
    metrics_set(l->m_conns, NULL, l->nconns);
    pthread_mutex_unlock(&l->mu);
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("client_id", c->client_id)), "live connection opened");

    pthread_mutex_lock(&c->mu);
    conn_reply(c, "connected", "client_id", c->client_id);
    pthread_mutex_unlock(&c->mu);
}

static int
live_ws_message(web_ws *ws, const char *data, size_t len, bool binary)
{
    live_conn *c = web_ws_data(ws);
    json_object *msg = NULL;
    const char *type;
    js_err err;

    if (binary) {
        conn_error(c, "messages must be JSON text, not binary");
        return 0;
    }
    if (len > LIVE_MAX_MESSAGE) {
        conn_error(c, "message of %zu bytes is over the limit of %d bytes", len, LIVE_MAX_MESSAGE);
        return 0;
    }
    if (js_parse(data, len, &msg, &err) != JS_OK) {
        conn_error(c, "%s", err.message);
        goto out;
    }
    if (!json_object_is_type(msg, json_type_object)) {
        conn_error(c, "message must be a JSON object");
        goto out;
    }
    if (js_get_string(msg, "type", true, 1, 64, &type, &err) != JS_OK) {
        conn_error(c, "%s", err.message);
        goto out;
    }
    for (size_t i = 0; i < sizeof(live_cmds) / sizeof(live_cmds[0]); i++) {
        if (strcmp(type, live_cmds[i].type) == 0) {
            live_cmds[i].run(c, msg);
            goto out;
        }
    }
    conn_error(c,
               "field 'type': unknown type '%s' (subscribe, unsubscribe, subscribe_client, ping)",
               type);
out:
    json_object_put(msg);
    return 0; /* an invalid message never closes the connection */
}

static void
live_ws_close(web_ws *ws)
{
    live_conn *c = web_ws_data(ws);
    live *l;
    long long sent;

    if (c == NULL)
        return;
    l = c->l;
    pthread_mutex_lock(&l->mu);
    if (c->listed) {
        if (c->prev != NULL)
            c->prev->next = c->next;
        else
            l->conns = c->next;
        if (c->next != NULL)
            c->next->prev = c->prev;
        c->listed = false;
        l->nconns--;
        metrics_set(l->m_conns, NULL, l->nconns);
    }
    pthread_mutex_unlock(&l->mu);
    pthread_mutex_lock(&c->mu);
    sent = c->sent;
    pthread_mutex_unlock(&c->mu);
    log_msg(LOGL_INFO,
            LOG_FIELDS(
                LF_STR("client_id", c->client_id),
                LF_DOUBLE("duration_ms", (double)((util_mono_ns() - c->opened_ns) / 1000) / 1000.0),
                LF_INT("messages_sent", sent)),
            "live connection closed");
    web_ws_set_data(ws, NULL);
    conn_unref(c);
}

const web_ws_route live_ws_routes[] = {
    {"/api/automation/ws/{client_id}", live_ws_connect, live_ws_ready, live_ws_message,
     live_ws_close},
};
const size_t live_nws_routes = sizeof(live_ws_routes) / sizeof(live_ws_routes[0]);

/* ---- registry ---- */

live *
live_new(metrics_registry *metrics, live_lookup_fn lookup, void *ud)
{
    live *l;

    if (lookup == NULL || (l = calloc(1, sizeof(*l))) == NULL)
        return NULL;
    pthread_mutex_init(&l->mu, NULL);
    l->lookup = lookup;
    l->ud = ud;
    if (metrics != NULL) {
        l->m_conns = metrics_gauge(metrics, "ws_connections",
                                   "Open WebSocket connections for live job updates.", NULL, 0);
        l->m_sent = metrics_counter(metrics, "ws_messages_sent_total",
                                    "Messages sent on live-update WebSocket connections.", NULL, 0);
    }
    return l;
}

void
live_free(live *l)
{
    if (l == NULL)
        return;
    if (l->nconns != 0)
        log_error("live registry freed with %d connections open", l->nconns);
    pthread_mutex_destroy(&l->mu);
    free(l);
}

int
live_connections(live *l)
{
    int n;

    pthread_mutex_lock(&l->mu);
    n = l->nconns;
    pthread_mutex_unlock(&l->mu);
    return n;
}

void
live_on_event(live *l, const char *data, size_t len)
{
    live_conn *local[LIVE_FANOUT], **v = local;
    size_t n = 0, cap = LIVE_FANOUT;
    live_ev ev;
    js_err err;
    bool idle;

    /* Every event of every job reaches every replica: most find nobody
     * connected here, and need not be parsed. */
    pthread_mutex_lock(&l->mu);
    idle = l->nconns == 0;
    pthread_mutex_unlock(&l->mu);
    if (idle)
        return;
    if (event_parse(data, len, &ev, &err) != 0) {
        log_warn("job event dropped: %s", err.message);
        return;
    }
    pthread_mutex_lock(&l->mu);
    if ((size_t)l->nconns > cap) {
        live_conn **big = malloc((size_t)l->nconns * sizeof(*big));

        if (big != NULL) {
            v = big;
            cap = (size_t)l->nconns;
        } else {
            log_error("out of memory: job %s goes to the first %d connections only", ev.job,
                      LIVE_FANOUT);
        }
    }
    /* the tenant rule: only connections of the event's client */
    for (live_conn *c = l->conns; c != NULL && n < cap; c = c->next) {
        if (strcmp(c->client_id, ev.client) != 0)
            continue;
        __atomic_add_fetch(&c->refs, 1, __ATOMIC_RELAXED);
        v[n++] = c;
    }
    pthread_mutex_unlock(&l->mu);

    for (size_t i = 0; i < n; i++) {
        pthread_mutex_lock(&v[i]->mu);
        conn_offer(v[i], ev.job, ev.seq, data, len);
        pthread_mutex_unlock(&v[i]->mu);
        conn_unref(v[i]);
    }
    if (v != local)
        free(v);
}
