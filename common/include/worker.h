/* worker: the worker half of the job protocol (DESIGN section 5), for every
 * daemon that executes job types. Prefix worker_.
 *
 * A worker claims jobs of its types from svc-automation (jobs.claim), runs up
 * to `concurrency` of them at a time on its own threads, renews their leases
 * (jobs.progress, also while a handler is busy between its own progress calls),
 * reports progress, notices cancel_requested, and completes each job with a
 * result or an error (jobs.complete, which also claims the next job for the
 * thread it frees, so a busy worker needs one request per job). It claims as
 * soon as it is woken by jobs.ready.<job_type>, and otherwise polls every
 * poll_ms while it has free slots. While svc-automation does not answer it backs off (100 ms
 * doubling up to 5 s; after a timeout, which may be svc-automation busy, a jobs.ready cuts it
 * short). On worker_stop it stops claiming, lets running handlers finish for
 * up to stop_timeout_ms, and hands back (jobs.release) the jobs still running,
 * so another worker takes them at once without using up an attempt.
 *
 * Delivery is at least once: a job whose lease was lost may run twice, so
 * handlers are idempotent. */
#ifndef BRAIN_WORKER_H
#define BRAIN_WORKER_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "bus.h"
#include "metrics.h"

typedef struct worker worker;
typedef struct worker_job worker_job;

/* What a handler decided; see worker_job_succeed / worker_job_fail. */
typedef enum {
    WORKER_JOB_COMPLETED = 0,
    WORKER_JOB_FAILED = 1,
} worker_outcome;

/* Runs a job on a worker thread. Before returning it calls exactly one of
 * worker_job_succeed or worker_job_fail; returning without either fails the
 * job retryably ("handler returned no outcome"), except while the worker is
 * stopping: the job is then handed back (jobs.release). When
 * worker_job_cancelled() becomes true the handler should stop soon (its
 * outcome is then ignored when the job was cancelled or lost, and sent when
 * the worker is stopping and the handler returns within stop_timeout_ms). */
typedef void (*worker_handler)(worker_job *job, void *ud);

typedef struct worker_type {
    const char *job_type; /* "menu_sync" */
    worker_handler fn;
    void *ud;
} worker_type;

/* Zero means the default. Bounds: 1..16 types of [a-z0-9_], concurrency
 * 1..100, lease_seconds 1..3600 (the limits of jobs.claim). */
typedef struct worker_config {
    const char *worker_id;    /* unique per process, e.g. "svc-toast-<host>-<pid>"; NULL
                                 generates "<service>-<hostname>-<pid>" */
    const char *service;      /* for the generated id and logs */
    const worker_type *types; /* the job types this worker runs; the array must outlive w */
    size_t ntypes;
    int concurrency;            /* jobs run at once (threads), default 4 */
    int lease_seconds;          /* asked of svc-automation, default 30 */
    int poll_ms;                /* claim poll while idle and not woken, default 2000 */
    int request_timeout_ms;     /* per NATS request, default 2000 */
    int stop_timeout_ms;        /* how long worker_stop lets handlers finish, default 10000 */
    metrics_registry *metrics;  /* worker_jobs_total{job_type,outcome} and
                                   worker_jobs_running (one worker per registry); may be NULL */
    const char *subject_prefix; /* NULL in production. Put before every jobs.* subject
                                   ("t42." gives "t42.jobs.claim", "t42.jobs.ready.x") so
                                   tests can play svc-automation on a shared server */
} worker_config;

/* Start claiming on b (which must outlive w). Returns 0 and *out, or -1
 * (invalid configuration, logged). Works while NATS or svc-automation is down:
 * it keeps trying. */
int worker_start(bus *b, const worker_config *cfg, worker **out);
/* Stop as described above, then free. Accepts NULL. */
void worker_stop(worker *w);

/* The worker's id (owned by w). */
const char *worker_id(const worker *w);
/* Jobs running right now. */
int worker_running(const worker *w);

/* ---- inside a handler (the job is owned by the worker) ---- */
const char *worker_job_id(const worker_job *j);
const char *worker_job_type(const worker_job *j);
const char *worker_job_client_id(const worker_job *j);
int worker_job_attempt(const worker_job *j);
/* The job's config object (borrowed; never NULL: {} when the job had none). */
json_object *worker_job_config(const worker_job *j);

/* Report progress (0..100, message may be NULL) and renew the lease. Returns
 * 0, 1 when cancellation was requested (the job is then cancelled: stop), or
 * -1 when the job is no longer this worker's (lease lost, svc-automation
 * unreachable for longer than the lease). */
int worker_progress(worker_job *j, int percent, const char *message);
/* True once a progress call or lease renewal saw cancel_requested, once the
 * job is lost (worker_progress returned -1: its outcome would be ignored), or
 * while the worker is stopping (the job will be handed back). */
bool worker_job_cancelled(const worker_job *j);
/* True when the worker is stopping (the job will be handed back unless it
 * finishes within stop_timeout_ms). */
bool worker_job_stopping(const worker_job *j);

/* The outcome: takes ownership of result (may be NULL: sent as {}). A second
 * call is ignored (logged); the first outcome stands. */
void worker_job_succeed(worker_job *j, json_object *result);
void worker_job_fail(worker_job *j, bool retryable, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
