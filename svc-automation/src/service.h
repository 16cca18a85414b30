/* service: what svc-automation does, whoever asks (HTTP handlers, NATS
 * subscribers): create and change jobs, hand them to workers, and after every
 * committed change tell the rest of the suite (events, worker wake-ups,
 * metrics, the job's log line). Prefix svc_. */
#ifndef AUTOMATION_SERVICE_H
#define AUTOMATION_SERVICE_H

#include <json-c/json.h>

#include "app.h"
#include "job.h"
#include "live.h"
#include "metrics.h"
#include "store.h"

typedef struct abus abus;

typedef struct svc {
    app *app;
    store *store;
    live *live;
    abus *bus;
    metrics_family *jobs_total;    /* {job_type,status} */
    metrics_family *queue_depth;   /* {status} */
    metrics_family *duration;      /* {job_type} */
    metrics_family *claim_latency; /* seconds a claimed job waited */
    int sweep_ms;
    int request_timeout_ms; /* toast.sessions.* */
} svc;

/* The daemon's state, from its app (web_app, web_ws_app). */
svc *svc_of(const void *app);

/* Why a request was refused: an HTTP status, an error code and a message
 * (and the field at fault for 400). */
typedef struct svc_err {
    int status;
    const char *code;
    char field[128];
    char message[400];
} svc_err;

/* Each returns the HTTP status of success (200, 201) with *job set, or the
 * failure status with e filled. */
int svc_create(svc *s, json_object *body, json_object **job, svc_err *e);
int svc_patch(svc *s, const char *id, json_object *body, json_object **job, svc_err *e);
int svc_cancel(svc *s, const char *id, json_object **job, svc_err *e);
int svc_retry(svc *s, const char *id, json_object **job, svc_err *e);
/* Map a store failure to e; returns e->status. */
int svc_fail(svc_err *e, store_status st, const char *what, const char *msg);

/* After a committed change: publish ch's events, wake workers, count. */
void svc_changed(svc *s, store_changes *ch);

#endif
