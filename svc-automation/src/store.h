/* store: every SQL statement of svc-automation (schema automation), prepared
 * once per connection and always parameterised. Prefix store_. Handlers never
 * see a PGresult: jobs come back as JSON objects in the shape of the API.
 *
 * Writes that change jobs also fill a store_changes: the job_update events to
 * publish and the job types whose workers should be woken, to be told to
 * others once the change has committed. */
#ifndef AUTOMATION_STORE_H
#define AUTOMATION_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "db.h"
#include "job.h"
#include "metrics.h"

typedef enum {
    ST_OK = 0,
    ST_NOT_FOUND = 1,
    ST_CONFLICT = 2, /* the job's state does not allow it: msg says why */
    ST_INVALID = 3,  /* the request names something that does not exist: msg says what */
    ST_UNAVAILABLE = -1,
    ST_ERROR = -2,
} store_status;

typedef struct store store;

typedef struct store_changes {
    json_object *events; /* array of job_update events (new references), or NULL */
    unsigned wake;       /* bit i: job_types[i] has jobs ready now */
} store_changes;

void store_changes_init(store_changes *c);
void store_changes_clear(store_changes *c);

/* store_msg: why a request was refused, for the client. */
#define STORE_MSG 300

store *store_new(db_pool *pool, const job_retry_policy *retry);
/* Count the writes each statement made in f, a histogram labelled {kind}
 * ("complete", "create"): completions and new jobs that arrive together are
 * written by one statement (store_batch.c). */
void store_count_batches(store *s, metrics_family *f);
void store_free(store *s); /* NULL ok */

/* ---- the API (store.c) ---- */
/* 201 case: *created true. Same idempotency key: the first job, *created false. */
store_status store_job_create(store *s, const job_new *req, json_object **job, bool *created,
                              store_changes *ch, char *msg, size_t msglen);
/* The job with "attempts" and "dependencies". */
store_status store_job_get(store *s, const char *id, json_object **job);

typedef struct store_filter {
    const char *status, *job_type, *client_id;
    int priority; /* 0: any */
    const char *created_after, *created_before;
    long limit, offset;
} store_filter;
/* {"items","total","limit","offset"} */
store_status store_job_list(store *s, const store_filter *f, json_object **page);
store_status store_job_patch(store *s, const char *id, const job_patch *p, json_object **job,
                             store_changes *ch, char *msg, size_t msglen);
store_status store_job_cancel(store *s, const char *id, json_object **job, store_changes *ch,
                              char *msg, size_t msglen);
store_status store_job_retry(store *s, const char *id, json_object **job, store_changes *ch,
                             char *msg, size_t msglen);
/* GET /jobs/stats. */
store_status store_job_stats(store *s, json_object **stats);
/* automation.stats: counts and success rate, optionally for one client and
 * since a time (RFC 3339); failures of the last 24 h, expired leases and the
 * queue's hourly load; with schedule_from, the jobs of every client due in
 * the schedule_hours after it (README "The job queue"). */
typedef struct store_stats_query {
    const char *client_id;     /* NULL: the whole queue */
    const char *since;         /* NULL: all time */
    const char *schedule_from; /* NULL: no "scheduled" list */
    int schedule_hours;        /* 1..336 */
} store_stats_query;
store_status store_client_stats(store *s, const store_stats_query *q, json_object **stats);
/* The job_update event of a job of client_id (live subscriptions). */
store_status store_job_event(store *s, const char *client_id, const char *job_id,
                             json_object **event);

/* ---- the worker protocol (store_queue.c) ---- */
/* What a claim asks for (jobs.claim, or a claim riding on jobs.complete). */
typedef struct store_claim_req {
    const char *worker_id;
    unsigned types; /* bit i: job_types[i] */
    int max;
    int lease_seconds;
} store_claim_req;

/* Claim up to max ready jobs of the types in mask for worker_id. *jobs is the
 * array of claims; waits[i] (when not NULL, room for max) is how long claim i
 * waited in the queue, in seconds. */
store_status store_claim(store *s, const store_claim_req *req, json_object **jobs, double *waits,
                         store_changes *ch);
/* Renew the lease; with has_progress also record progress. *cancelled: the
 * job had cancel_requested and is now cancelled. ST_CONFLICT: not running
 * under that attempt. */
store_status store_progress(store *s, const char *id, int attempt, bool has_progress, int progress,
                            const char *message, bool *cancelled, store_changes *ch);
/* Finish an attempt. result (completed) or error message and retryable.
 * With claim (may be NULL), the same transaction also claims the worker's
 * next jobs once the attempt is finished: *claimed and waits as for
 * store_claim (*claimed stays NULL when the attempt could not be finished). */
store_status store_complete(store *s, const char *id, int attempt, bool completed,
                            json_object *result, const char *error, bool retryable,
                            const store_claim_req *claim, json_object **claimed, double *waits,
                            store_changes *ch, double *duration_s);
/* Hand a running attempt back: queued at once, the attempt not counted. */
store_status store_release(store *s, const char *id, int attempt, const char *reason,
                           store_changes *ch);
/* Periodic upkeep, from any replica: requeue jobs whose lease expired (or fail
 * them when out of attempts), queue pending jobs whose time came and whose
 * dependencies completed, fail pending jobs whose dependency failed, and wake
 * workers for retries whose back-off ended since the last sweep. *n: jobs
 * changed. */
store_status store_sweep(store *s, store_changes *ch, int *n);
/* Jobs per status, in job_statuses order. */
store_status store_queue_depth(store *s, long counts[6]);

const char *store_status_name(store_status st);

#endif
