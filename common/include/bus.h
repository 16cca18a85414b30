/* bus: NATS over nats.c: a connection that reconnects by itself, request/reply
 * with timeouts, publishing with headers, and the JetStream stream EVENTS with
 * durable consumers (DESIGN section 5). Prefix bus_. Only a daemon's bus.c (and
 * common's health and app) include this header.
 *
 * Every message sent carries the calling thread's request id (log.h) in the
 * header X-Request-Id; every handler runs with the request id of the message
 * it is handling set on its thread. */
#ifndef BRAIN_BUS_H
#define BRAIN_BUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef enum {
    BUS_OK = 0,
    BUS_ERR_UNAVAILABLE = -1,   /* not connected right now */
    BUS_ERR_TIMEOUT = -2,       /* no reply in time */
    BUS_ERR_NO_RESPONDERS = -3, /* nobody listens on the subject */
    BUS_ERR_INVALID = -4,       /* bad subject or argument */
    BUS_ERR_OTHER = -5,
} bus_status;

typedef struct bus bus;
typedef struct bus_msg bus_msg;

/* Core subscription handler; runs on a nats.c thread. msg is freed after it
 * returns. */
typedef void (*bus_handler)(bus_msg *msg, void *ud);
/* JetStream consumer handler: return 0 to acknowledge, non-zero to have the
 * message redelivered later. */
typedef int (*bus_event_handler)(bus_msg *msg, void *ud);

/* Connect to url (comma-separated list allowed) as client name. Returns BUS_OK
 * with *out set even when the server is down now: the connection keeps trying
 * in the background and forever after a loss, and subscriptions are restored
 * on reconnect. The url is never logged with its credentials. */
bus_status bus_connect(const char *url, const char *name, bus **out);
/* Drain subscriptions (handlers running finish), then close and free. NULL ok. */
void bus_close(bus *b);

bool bus_connected(const bus *b);
/* Round trip to the server within timeout_ms. */
bus_status bus_ping(bus *b, int timeout_ms, int *latency_ms);

bus_status bus_publish(bus *b, const char *subject, const void *data, size_t len);
/* Request and wait for one reply: *reply is malloc'd and NUL-terminated (the
 * caller frees it), *reply_len its length (may be NULL). */
bus_status bus_request(bus *b, const char *subject, const void *data, size_t len, int timeout_ms,
                       char **reply, size_t *reply_len);

/* One answer of bus_request_all: data is the answer's payload (not
 * NUL-terminated, valid during the call). */
typedef void (*bus_reply_fn)(const char *data, size_t len, void *ud);
/* Request answered by every subscriber of subject (subscribed without a queue
 * group): fn gets each answer as it comes. Waits at most timeout_ms for the
 * first answer, then stops once none came for quiet_ms. BUS_OK when at least
 * one came; BUS_ERR_NO_RESPONDERS, BUS_ERR_TIMEOUT or BUS_ERR_UNAVAILABLE
 * otherwise. */
bus_status bus_request_all(bus *b, const char *subject, const void *data, size_t len,
                           int timeout_ms, int quiet_ms, bus_reply_fn fn, void *ud);

/* Subscribe (queue may be NULL for a plain subscription). */
bus_status bus_subscribe(bus *b, const char *subject, const char *queue, bus_handler fn, void *ud);

const char *bus_msg_subject(const bus_msg *m);
/* The payload (not NUL-terminated in general) and its length. */
const char *bus_msg_data(const bus_msg *m, size_t *len);
/* A header value, or NULL. */
const char *bus_msg_header(const bus_msg *m, const char *name);
/* The reply subject of a request, or NULL: to answer later, from another
 * thread, with bus_publish to it (the message itself is freed when its
 * handler returns). */
const char *bus_msg_reply(const bus_msg *m);
/* Reply to a request message. BUS_ERR_INVALID if it has no reply subject. */
bus_status bus_respond(bus_msg *m, const void *data, size_t len);

/* Create the stream if it does not exist (limits retention, file storage,
 * subjects as given, max age in seconds); an existing stream is left as is. */
bus_status bus_stream_ensure(bus *b, const char *stream, const char *subjects, int64_t max_age_s);
/* The event stream of DESIGN section 5: EVENTS, "events.>", 7 days. */
bus_status bus_events_ensure(bus *b);
/* Publish to JetStream and wait for the stream's acknowledgement. */
bus_status bus_js_publish(bus *b, const char *subject, const void *data, size_t len);

/* One message of a batch. msg_id (may be NULL) goes in the header
 * Nats-Msg-Id: the stream stores a message id once within its duplicate
 * window (2 minutes by default), so a batch sent again stores nothing twice. */
typedef struct bus_js_msg {
    const char *subject;
    const void *data;
    size_t len;
    const char *msg_id;
} bus_js_msg;

#define BUS_BATCH_MAX 1024 /* messages in one bus_js_publish_batch */

/* Publish n messages to JetStream, in order, without waiting for each
 * acknowledgement, then wait up to timeout_ms for all of them. BUS_OK once
 * every one was stored (or was a duplicate of a stored one); otherwise the
 * first failure (BUS_ERR_INVALID: a bad subject or msg id, nothing sent), and
 * some may have been stored: send the whole batch again, with msg ids. Calls
 * are serialised per bus. */
bus_status bus_js_publish_batch(bus *b, const bus_js_msg *msgs, size_t n, int timeout_ms);
/* Consume stream messages matching filter with a durable consumer named
 * durable (explicit acks, redelivered when not acked). Delivery is at least
 * once: a handler that has not returned after 30 s (the ack wait) sees its
 * message delivered again, so handlers are idempotent. Replicas consuming with
 * the same durable share the messages. A durable keeps its filter: a different
 * filter for an existing durable is BUS_ERR_INVALID. */
bus_status bus_consume(bus *b, const char *stream, const char *durable, const char *filter,
                       bus_event_handler fn, void *ud);

/* A stream's size (bus_stream_info) and a durable consumer's backlog
 * (bus_stream_consumers), for health reports. */
typedef struct bus_stream_stats {
    uint64_t messages;
    uint64_t bytes;
    int64_t consumers;
} bus_stream_stats;

typedef struct bus_consumer_stats {
    char name[64];
    uint64_t pending;    /* matching messages not yet delivered */
    int64_t ack_pending; /* delivered, not yet acknowledged */
} bus_consumer_stats;

/* The stream's figures, within timeout_ms. BUS_ERR_NO_RESPONDERS when
 * JetStream is off, BUS_ERR_INVALID for a bad name or an unknown stream. */
bus_status bus_stream_info(bus *b, const char *stream, int timeout_ms, bus_stream_stats *out);
/* Up to max of the stream's consumers, in the server's order, within
 * timeout_ms; *n: how many were written. */
bus_status bus_stream_consumers(bus *b, const char *stream, int timeout_ms, bus_consumer_stats *out,
                                size_t max, size_t *n);

const char *bus_status_name(bus_status s);

#endif
