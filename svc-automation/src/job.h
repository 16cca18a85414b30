/* job: the job model and its rules, in plain C (DESIGN section 2: no SQL, NATS
 * or HTTP here). Prefix job_.
 *
 * What a job may be (types, statuses, priorities), what a request to create or
 * change one must hold, and what happens after a failed attempt (retry after
 * an exponential back-off with jitter, or fail for good). */
#ifndef AUTOMATION_JOB_H
#define AUTOMATION_JOB_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "json.h"

#define JOB_MAX_DEPENDS      64          /* depends_on entries of one job */
#define JOB_MAX_IDEM         200         /* bytes of an idempotency key */
#define JOB_MAX_CONFIG       (64 * 1024) /* bytes of a job's config, serialised */
#define JOB_MAX_RESULT       (256 * 1024)
#define JOB_MAX_MESSAGE      1000 /* bytes of an error or progress message */
#define JOB_DEFAULT_PRIO     3
#define JOB_DEFAULT_ATTEMPTS 3
#define JOB_MAX_ATTEMPTS     100
#define JOB_MAX_WORKER_ID    200

/* NULL-terminated lists, for js_get_enum and messages. */
extern const char *const job_types[];
extern const char *const job_statuses[];

bool job_type_known(const char *type);
/* Index of type in job_types, or -1. */
int job_type_index(const char *type);
/* Finished: completed, failed or cancelled. */
bool job_status_final(const char *status);

/* A request to create a job (POST /jobs, jobs.create). Strings point into the
 * request's json_object. */
typedef struct job_new {
    const char *client_id;
    const char *job_type;
    int priority;
    json_object *config; /* borrowed; NULL means {} */
    const char *depends_on[JOB_MAX_DEPENDS];
    size_t ndepends;
    const char *scheduled_at; /* RFC 3339 or NULL */
    int max_attempts;
    const char *idempotency_key; /* or NULL */
} job_new;

/* Validate body into out. JS_OK, or JS_INVALID with the field and why. */
js_status job_new_parse(json_object *body, job_new *out, js_err *err);

/* A change to a waiting job (PATCH /jobs/{id}). */
typedef struct job_patch {
    bool has_priority, has_config, has_scheduled_at;
    int priority;
    json_object *config;
    const char *scheduled_at; /* NULL with has_scheduled_at: clear it */
} job_patch;

/* JOB_PATCH_OK, JOB_PATCH_INVALID (a bad value: 400) or JOB_PATCH_FORBIDDEN (a
 * field that cannot be changed: 409); err says which and why. */
typedef enum {
    JOB_PATCH_OK = 0,
    JOB_PATCH_INVALID = -1,
    JOB_PATCH_FORBIDDEN = -2
} job_patch_status;
job_patch_status job_patch_parse(json_object *body, job_patch *out, js_err *err);

/* Retry policy. */
typedef struct job_retry_policy {
    int64_t base_ms; /* first back-off (2000) */
    int64_t cap_ms;  /* longest back-off (300000) */
} job_retry_policy;

/* Back-off before attempt n+1 after attempt n (counted attempts, n >= 1) failed:
 * base * 2^(n-1), capped, then scaled by a jitter factor in [0.8, 1.2) chosen by
 * r (uniform in [0, 1)), and capped again. */
int64_t job_backoff_ms(const job_retry_policy *p, int counted_attempt, double r);

/* What a failed attempt leads to. */
typedef enum { JOB_AFTER_RETRY = 0, JOB_AFTER_FAIL = 1 } job_after;
/* counted: the attempts that count so far, this one included. */
job_after job_after_failure(bool retryable, int counted, int max_attempts);

#endif
