/* scoring: a client's health score from end to end: read its inputs (store),
 * compute (score.c), keep the result (client_health_scores) and render it.
 * Prefix scoring_. Used by the HTTP handlers, the event consumers' recomputes
 * and the recompute of every client; each stored score also runs the alerts'
 * score rules and refreshes the client's recommendations. */
#ifndef INTEL_SCORING_H
#define INTEL_SCORING_H

#include <stdint.h>

#include <json-c/json.h>

#include "store.h"

/* Score client_id as of now_ms (milliseconds since the epoch: computed_at;
 * the formulas use whole seconds) and store it. *out: {client_id,
 * overall_score, health_status, factors, trend, computed_at,
 * recommendations: the open ones, after recs_refresh}. ST_NOT_FOUND for an
 * unknown client. */
store_status scoring_run(store *s, const char *client_id, int64_t now_ms, json_object **out);

#endif
