/* report_job: svc-intelligence's worker, which runs the report_generation
 * job type (common/include/worker.h): config {client_id?, days?}, result
 * {report_id}. Prefix report_job_. */
#ifndef INTEL_REPORT_JOB_H
#define INTEL_REPORT_JOB_H

#include "intel.h"
#include "worker.h"

/* Start claiming report_generation jobs, concurrency at a time (0: none;
 * *out is then NULL). 0 or -1 (logged). */
int report_job_start(intel *s, int concurrency, worker **out);

/* The handler (worker_handler; ud is the intel). */
void report_job_run(worker_job *j, void *ud);

#endif
