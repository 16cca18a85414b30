/* recompute: POST /scores/recompute: score many clients at once, in
 * parallel over the database pool, each exactly as GET /clients/{id}/health
 * does (scoring.c), so that a recomputed score is stored like any other.
 * Each stored score is followed by what follows any: the alerts' score
 * rules, then the recommendations (as scoring_run).
 * Prefix recompute_. */
#ifndef INTEL_RECOMPUTE_H
#define INTEL_RECOMPUTE_H

#include <stdint.h>

#include <json-c/json.h>

#include "intel.h"

#define RECOMPUTE_MAX_IDS 10000 /* client_ids in one request */

typedef struct recompute_result {
    long recomputed; /* scored and stored */
    long failed;     /* the database failed on them */
    long not_found;  /* listed, but no such client (or deleted meanwhile) */
    int64_t duration_ms;
} recompute_result;

/* Score every active client (ids NULL) or the listed ones (a JSON array of
 * UUID strings, checked by the caller) as of now_ms, on up to workers
 * threads. ST_OK unless the list of clients could not be read. */
store_status recompute_run(intel *s, json_object *ids, int workers, int64_t now_ms,
                           recompute_result *out);

/* How many threads a recompute may use: all of the database pool but one,
 * left to the other requests. */
int recompute_workers(const intel *s);

/* Score every client that has no stored score yet, RECOMPUTE_MAX_IDS at a
 * time (the health summary does, so that every client is in it). *n: how
 * many were scored. */
store_status recompute_unscored(intel *s, int64_t now_ms, long *n);

#endif
