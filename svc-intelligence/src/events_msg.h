/* events_msg: the payloads of the EVENTS stream svc-intelligence keeps
 * (README "Events"), validated and turned into the parameters of the
 * statement that stores each. Prefix evmsg_. No SQL, NATS or threads here.
 *
 * Every field is checked (uuids, RFC 3339 times between 2000 and 2100, sizes,
 * enums, money); fields not listed are ignored, so a producer may add some.
 * An error names the field and why, never its value: it goes to the logs. */
#ifndef INTEL_EVENTS_MSG_H
#define INTEL_EVENTS_MSG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "json.h"

typedef enum {
    EV_JOB = 0,  /* events.job.<client_id>.<job_id> -> job_outcomes */
    EV_HEALTH,   /* events.toast.health.<integration_id> -> integration_checks */
    EV_SYNC,     /* events.sync.run.<source_type> -> sync_runs */
    EV_USAGE,    /* events.embedding.usage.<business_id> -> provider_usage */
    EV_ACTIVITY, /* events.activity.<client_id> -> activity_log */
    EV_NKINDS
} ev_kind;

#define EV_MAX_BYTES  65536 /* a payload larger than this is refused */
#define EV_TEXT_MAX   1000  /* error texts are cut to this many bytes */
#define EV_OBJECT_MAX 4096  /* counts and details, as JSON text */
#define EV_MAX_PARAMS 10

typedef struct ev_msg {
    ev_kind kind;
    json_object *doc; /* owned: the parameters point into it */
    /* Whether the event is stored at all: a job update that is not final
     * (queued, running ...) is not. */
    bool keep;
    const char *client_id; /* NULL when the event names none */
    const char *subject;   /* job_id, integration_id, run_id, business_id, entry id */
    int64_t at;            /* the event's own time, seconds since the epoch */
    /* The parameters of the kind's statement (store_sql_events.c), in order. */
    const char *p[EV_MAX_PARAMS];
    int np;
    char buf[EV_MAX_PARAMS][48]; /* normalised times and numbers */
    char text[EV_TEXT_MAX + 1];  /* an error text, cut at a character boundary */
} ev_msg;

/* The kind's name ("job", "health", "sync", "usage", "activity"). */
const char *evmsg_kind_name(ev_kind k);

/* Parse and check len bytes of kind k into m. JS_OK: m->doc is set (free it
 * with evmsg_free). JS_INVALID: err says why and m holds nothing. */
js_status evmsg_parse(ev_kind k, const char *data, size_t len, ev_msg *m, js_err *err);
void evmsg_free(ev_msg *m); /* NULL ok */

/* Decimal text: digits, at most `whole` before the point and `frac` after. */
bool evmsg_decimal_valid(const char *s, size_t whole, size_t frac);

#endif
