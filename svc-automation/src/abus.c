/* abus: outgoing NATS traffic of svc-automation (events, wake-ups, questions
 * to svc-toast); see abus.h. The incoming subjects are in abus_in.c. */
#include "abus.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "abus_internal.h"
#include "abus_pool.h"
#include "log.h"
#include "service.h"
#include "util.h"

#define BATCH         256  /* events sent before waiting for their acknowledgements */
#define BATCH_WAIT_MS 5000 /* for the acknowledgements of one batch */

typedef struct pending {
    struct pending *next;
    char subject[160];
    char msg_id[96]; /* "<job_id>:<seq>": a batch sent again is stored once */
    size_t len;
    char data[]; /* the event's JSON text */
} pending;

typedef struct publisher {
    abus *ab;
    pthread_t th;
    bool running;
    pending *head, *tail;
} publisher;

struct abus_out {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stopping;
    int64_t drain_deadline_ms;
    size_t queued, dropped;
    int n;
    publisher pubs[ABUS_MAX_PUBLISHERS];
};

static uint32_t
hash(const char *s)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 16777619u;
    return h;
}

static void
wait_ms(pthread_cond_t *cv, pthread_mutex_t *mu, int ms)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += ms / 1000;
    ts.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(cv, mu, &ts);
}

/* Send up to BATCH events from p's head (o->mu not held; the events stay
 * queued, only this thread removes them). Returns the status and in *n how
 * many the status is about. */
static bus_status
send_head(publisher *p, pending *head, size_t *n)
{
    bus_js_msg msgs[BATCH];
    size_t k = 0;
    bus_status st;

    for (pending *e = head; e && k < BATCH; e = e->next, k++)
        msgs[k] = (bus_js_msg){e->subject, e->data, e->len, e->msg_id};
    st = bus_js_publish_batch(p->ab->b, msgs, k, BATCH_WAIT_MS);
    *n = k;
    if (st == BUS_ERR_INVALID) {
        /* One of them is refused: find it one at a time. */
        *n = 1;
        st = bus_js_publish(p->ab->b, head->subject, head->data, head->len);
    }
    return st;
}

/* One publisher: sends its events in order, in batches, and holds the head
 * while NATS is away so no event is skipped; a batch that was not wholly
 * acknowledged is sent again (its msg ids keep the stream from storing any
 * event twice). */
static void *
publisher_main(void *arg)
{
    publisher *p = arg;
    struct abus_out *o = p->ab->out;
    int backoff = 0;
    bool warned = false;

    pthread_mutex_lock(&o->mu);
    for (;;) {
        while (!p->head && !o->stopping)
            pthread_cond_wait(&o->cv, &o->mu);
        if (!p->head)
            break;
        if (o->stopping && util_now_ms() > o->drain_deadline_ms)
            break;
        pending *head = p->head;
        size_t n = 0;
        pthread_mutex_unlock(&o->mu);
        bus_status st = send_head(p, head, &n);
        pthread_mutex_lock(&o->mu);
        if (st == BUS_OK || st == BUS_ERR_INVALID) {
            if (st != BUS_OK)
                log_msg(LOGL_ERROR, LOG_FIELDS(LF_STR("subject", head->subject)),
                        "event refused by NATS, dropped");
            if (warned)
                log_info("job events flow again");
            warned = false;
            backoff = 0;
            for (size_t i = 0; i < n; i++) {
                pending *e = p->head;
                p->head = e->next;
                o->queued--;
                free(e);
            }
            if (!p->head)
                p->tail = NULL;
            continue;
        }
        if (!warned)
            log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("error", bus_status_name(st))),
                    "job events held: NATS does not take them now; retrying");
        warned = true;
        backoff = backoff ? (backoff * 2 > 2000 ? 2000 : backoff * 2) : 50;
        wait_ms(&o->cv, &o->mu, backoff);
    }
    pthread_mutex_unlock(&o->mu);
    return NULL;
}

abus *
abus_new(svc *s, bus *b, int publishers, int handlers)
{
    abus *ab = calloc(1, sizeof(*ab));
    struct abus_out *o = calloc(1, sizeof(*o));
    pthread_condattr_t ca;
    if (!ab || !o) {
        free(ab);
        free(o);
        return NULL;
    }
    ab->s = s;
    ab->b = b;
    ab->out = o;
    pthread_mutex_init(&o->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&o->cv, &ca);
    pthread_condattr_destroy(&ca);
    o->n = publishers < 1 ? 1 : publishers > ABUS_MAX_PUBLISHERS ? ABUS_MAX_PUBLISHERS : publishers;
    for (int i = 0; i < o->n; i++) {
        o->pubs[i].ab = ab;
        if (pthread_create(&o->pubs[i].th, NULL, publisher_main, &o->pubs[i]) != 0) {
            log_error("cannot start an event publisher");
            abus_stop(ab, 0);
            abus_free(ab);
            return NULL;
        }
        o->pubs[i].running = true;
    }
    if (abus_pool_start(ab, handlers) != 0) {
        abus_stop(ab, 0);
        abus_free(ab);
        return NULL;
    }
    return ab;
}

void
abus_stop(abus *ab, int wait)
{
    if (!ab)
        return;
    /* Requests first: what they change is then published below. */
    abus_pool_stop(ab);
    struct abus_out *o = ab->out;
    pthread_mutex_lock(&o->mu);
    o->stopping = true;
    o->drain_deadline_ms = util_now_ms() + wait;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    for (int i = 0; i < o->n; i++)
        if (o->pubs[i].running) {
            pthread_join(o->pubs[i].th, NULL);
            o->pubs[i].running = false;
        }
    if (o->queued > 0)
        log_msg(LOGL_WARN, LOG_FIELDS(LF_INT("events", o->queued)),
                "job events not published before the stop");
}

void
abus_free(abus *ab)
{
    if (!ab)
        return;
    struct abus_out *o = ab->out;
    abus_stop(ab, 0);
    for (int i = 0; i < o->n; i++)
        for (pending *e = o->pubs[i].head, *next; e; e = next) {
            next = e->next;
            free(e);
        }
    pthread_mutex_destroy(&o->mu);
    pthread_cond_destroy(&o->cv);
    free(o);
    abus_pool_free(ab);
    free(ab);
}

size_t
abus_queued(abus *ab)
{
    pthread_mutex_lock(&ab->out->mu);
    size_t n = ab->out->queued;
    pthread_mutex_unlock(&ab->out->mu);
    return n;
}

static void
enqueue(abus *ab, json_object *ev)
{
    struct abus_out *o = ab->out;
    json_object *jid = NULL, *cid = NULL, *seq = NULL;
    size_t len = 0;
    const char *text = js_text(ev, &len);
    json_object_object_get_ex(ev, "job_id", &jid);
    json_object_object_get_ex(ev, "client_id", &cid);
    json_object_object_get_ex(ev, "seq", &seq);
    const char *job_id = json_object_get_string(jid);
    pending *e = malloc(sizeof(*e) + len + 1);
    if (!e || !job_id)
        goto drop;
    snprintf(e->subject, sizeof(e->subject), "events.job.%s.%s", json_object_get_string(cid),
             job_id);
    /* A job's seq grows with each change: one id per event. */
    snprintf(e->msg_id, sizeof(e->msg_id), "%s:%lld", job_id,
             (long long)json_object_get_int64(seq));
    memcpy(e->data, text, len + 1);
    e->len = len;
    e->next = NULL;
    pthread_mutex_lock(&o->mu);
    if (o->stopping || o->queued >= ABUS_MAX_QUEUED) {
        o->dropped++;
        size_t dropped = o->dropped;
        pthread_mutex_unlock(&o->mu);
        if (dropped == 1 || dropped % 1000 == 0)
            log_msg(LOGL_ERROR, LOG_FIELDS(LF_INT("dropped", dropped)),
                    "job event dropped: the publish queue is full or stopping");
        free(e);
        return;
    }
    publisher *p = &o->pubs[hash(job_id) % (uint32_t)o->n];
    if (p->tail)
        p->tail->next = e;
    else
        p->head = e;
    p->tail = e;
    o->queued++;
    pthread_cond_broadcast(&o->cv);
    pthread_mutex_unlock(&o->mu);
    return;
drop:
    free(e);
}

void
abus_changed(abus *ab, const store_changes *ch)
{
    size_t n = ch->events ? json_object_array_length(ch->events) : 0;
    for (size_t i = 0; i < n; i++)
        enqueue(ab, json_object_array_get_idx(ch->events, i));
    for (int t = 0; job_types[t]; t++) {
        if (!(ch->wake & (1u << t)))
            continue;
        char subject[64], body[96];
        snprintf(subject, sizeof(subject), "jobs.ready.%s", job_types[t]);
        int len = snprintf(body, sizeof(body), "{\"job_type\":\"%s\",\"count\":1}", job_types[t]);
        /* A lost wake-up costs a poll interval, never a job: no retry. */
        bus_publish(ab->b, subject, body, (size_t)len);
    }
}

bus_status
abus_ask_all(abus *ab, const char *subject, const char *body, int timeout_ms, bus_reply_fn fn,
             void *ud)
{
    /* Replicas answer together: one that is 100 ms behind the first is not
     * waited for longer (the request's whole bound is timeout_ms). */
    return bus_request_all(ab->b, subject, body, strlen(body), timeout_ms, 100, fn, ud);
}
