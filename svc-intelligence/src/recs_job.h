/* recs_job: create the job a recommendation suggests, through svc-automation
 * (NATS request jobs.create, DESIGN section 5). Prefix recs_job_. */
#ifndef INTEL_RECS_JOB_H
#define INTEL_RECS_JOB_H

#include <stddef.h>

#include <json-c/json.h>

#include "bus.h"

#define RECS_JOB_TIMEOUT_MS 3000 /* for jobs.create */

/* Send body (borrowed: the body of POST /api/automation/jobs). Returns 0
 * with *job (the created job, a new reference), or the HTTP status to answer
 * with and err saying why: 503 when svc-automation does not answer or
 * answers badly, 409 for its conflict (an idempotency key reused for
 * another job), 502 when it refuses the job as invalid (the suggestion's
 * fault, not the caller's). */
int recs_job_create(bus *b, json_object *body, json_object **job, char *err, size_t errlen);

#endif
