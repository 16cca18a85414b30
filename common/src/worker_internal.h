/* worker internals shared by worker.c (start, stop, claiming, lease renewal)
 * and worker_job.c (a job's thread, progress, outcome). Prefix worker_i_.
 *
 * Locking: everything marked "mu" is guarded by worker.mu; one condition
 * variable (worker.cv, CLOCK_MONOTONIC) is broadcast on every change anyone may
 * wait for. Lifetimes: a worker is freed when its last reference goes (the
 * owner's, dropped at the end of worker_stop, and one per job thread alive), so
 * a handler that outlives worker_stop never touches freed memory. A job is
 * freed by its own thread once no renewal has it pinned. Once worker.closed is
 * set, nothing touches the bus or the metrics any more (the caller may free
 * both after worker_stop). */
#ifndef BRAIN_WORKER_INTERNAL_H
#define BRAIN_WORKER_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "bus.h"
#include "metrics.h"
#include "worker.h"

#define WORKER_ID_MAX     128
#define WORKER_PREFIX_MAX 64
#define WORKER_FIELD_MAX  64   /* job id, job type, client id */
#define WORKER_ERROR_MAX  1024 /* a failed job's message */
#define WORKER_MAX_TYPES  16   /* jobs.claim accepts 1..16 job types */
#define WORKER_MAX_CONCUR 100  /* jobs.claim accepts max 1..100 */

struct worker_job {
    worker *w;
    const worker_type *type;
    char id[WORKER_FIELD_MAX + 1];
    char job_type[WORKER_FIELD_MAX + 1];
    char client_id[WORKER_FIELD_MAX + 1];
    int attempt;
    json_object *config; /* owned */
    int64_t started_ns;
    pthread_t thread;

    /* mu */
    int64_t renewed_ns;    /* when the last successful claim/renewal was sent */
    int64_t next_renew_ns; /* when the renewer sends the next one */
    int pins;              /* renewals in flight that use this job */
    bool cancel_requested; /* svc-automation said so: the job is cancelled */
    bool lost;             /* no longer this worker's (ok:false, or lease ran out) */
    bool handler_done;
    bool released; /* handed back by worker_stop: off the list, its thread frees it */
    struct worker_job *next;

    /* the job's own thread only */
    bool has_outcome;
    worker_outcome outcome;
    json_object *result; /* owned */
    char error[WORKER_ERROR_MAX];
    bool retryable;
};

struct worker {
    bus *b;
    char id[WORKER_ID_MAX];
    char prefix[WORKER_PREFIX_MAX]; /* before every subject; "" in production */
    const worker_type *types;
    size_t ntypes;
    int concurrency;
    int lease_ms;
    int poll_ms;
    int request_timeout_ms;
    int stop_timeout_ms;
    metrics_family *m_total;
    metrics_family *m_running;
    uint64_t serial;          /* names this worker to the jobs.ready handler */
    struct worker *next_live; /* the list of live workers (worker.c) */
    pthread_t claimer;
    pthread_t renewer;
    bool claimer_started;
    bool renewer_started;

    pthread_mutex_t mu;
    pthread_cond_t cv;
    /* mu */
    struct worker_job *jobs; /* claimed and not finished, not released */
    int njobs;
    int refs;       /* owner + job threads alive */
    int inflight;   /* bus requests made for jobs right now */
    int released;   /* jobs handed back, for the stop line */
    bool wake;      /* a jobs.ready came, or a slot freed after a full claim */
    bool saturated; /* the last claim got all it asked for: more may wait */
    bool stopping;
    bool closed;
};

/* ---- worker.c ---- */

/* Wait on w->cv (w->mu held) until deadline_ns (util_mono_ns scale), a
 * broadcast, or a spurious wake-up; deadline_ns <= 0 waits without limit. */
void worker_i_wait(worker *w, int64_t deadline_ns);
/* Drop a reference (w->mu held, released here): frees w on the last one. */
void worker_i_unref_unlock(worker *w);
/* The body of jobs.claim (also jobs.complete's "claim") for up to max jobs of
 * w's types; a new object, owned by the caller. */
json_object *worker_i_claim_body(const worker *w, int max);
/* Set the running gauge and count a finished job (w->mu held, w not closed);
 * writes the job's end line. */
void worker_i_account(worker *w, const worker_job *j, const char *outcome);

/* ---- worker_job.c ---- */

/* Send a JSON request to the worker's prefix + subject (body is put here);
 * *reply gets the parsed object answer or NULL. BUS_OK only with an object
 * answer (else BUS_ERR_OTHER). */
bus_status worker_i_request(worker *w, const char *subject, json_object *body, json_object **reply);
/* A job from one element of a jobs.claim answer, or NULL (logged). */
worker_job *worker_i_job_new(worker *w, json_object *o, int64_t claimed_ns);
void worker_i_job_free(worker_job *j);
/* Run the job's handler on a detached thread of its own. Returns 0 or -1. */
int worker_i_job_start(worker_job *j);
/* jobs.release, tried a few times; returns 0 once svc-automation answered. */
int worker_i_release(worker *w, const char *job_id, int attempt, const char *reason);
/* Renew the lease of j (percent < 0: renew only). The caller keeps j alive
 * (its handler, or a pin). Returns 0, 1 (cancelled) or -1 (lost). */
int worker_i_renew(worker_job *j, int percent, const char *message);
/* When the renewer should next renew a job after a failed try. */
int64_t worker_i_retry_ns(const worker *w, int64_t now);
/* The lease renewer thread: renews every job whose lease was last renewed
 * lease/3 ago, until w->closed. */
void *worker_i_renewer_main(void *arg);

#endif
