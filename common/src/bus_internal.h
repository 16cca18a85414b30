/* bus internals shared by bus.c (connection, core publish/request/subscribe)
 * and bus_js.c (JetStream streams, publishing and durable consumers). Not part
 * of the public API. */
#ifndef BRAIN_BUS_INTERNAL_H
#define BRAIN_BUS_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include <nats/nats.h>

#include "bus.h"

#define BUS_URL_MAX     1024
#define BUS_LIST_MAX    16 /* servers in a url, subjects of a stream */
#define BUS_NAME_MAX    64
#define BUS_SUBJECT_MAX 256

struct bus_sub {
    struct bus_sub *next;
    bus *b;
    natsSubscription *sub;
    bus_handler fn;        /* core subscription, or */
    bus_event_handler efn; /* JetStream consumer */
    void *ud;
    bool done; /* closed, and its handler will not run again */
};

struct bus {
    natsOptions *opts;
    natsConnection *nc;
    jsCtx *js;
    pthread_mutex_t mu;
    pthread_cond_t cv; /* closed or a subscription's done changed */
    bool closed;
    struct bus_sub *subs;
    /* bus_js_publish_batch (bus_js.c): one batch at a time on its own
     * context, whose error handler records the batch's first failure. */
    pthread_mutex_t batch_mu;
    jsCtx *batch_js;
    int batch_err;         /* a bus_status, atomic */
    char url[BUS_URL_MAX]; /* the servers without credentials, for logs */
    char name[BUS_NAME_MAX];
};

/* Split a comma-separated list in place (spaces trimmed). Returns the count or
 * -1 when it is empty or too long. */
int bus_i_split_list(char *s, char **items, int max);

/* The header that carries the request id on every message. */
#define BUS_I_HDR_REQUEST_ID "X-Request-Id"

/* The bus status for a nats.c status. */
bus_status bus_i_from_nats(natsStatus s);

/* A subject (or queue name) of 1..255 bytes with no space or control byte. */
bool bus_i_subject_ok(const char *s);

/* A message to subject carrying the calling thread's request id; *out is NULL
 * unless BUS_OK. */
bus_status bus_i_make_msg(const char *subject, const void *data, size_t len, natsMsg **out);

/* Run the subscription's handler for msg with the message's request id set on
 * this thread; the JetStream handler's return value, else 0. */
int bus_i_dispatch(struct bus_sub *bs, natsMsg *msg);

/* Keep a new subscription for bus_close, or undo it (bs is freed). */
bus_status bus_i_track_sub(bus *b, struct bus_sub *bs);

#endif
