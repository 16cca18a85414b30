/* recs: a client's recommendations from end to end: read what the rules
 * need besides the score (store_recs.c), decide (recs_rules.c), keep the
 * new ones and list the open ones. Prefix recs_ (the stateful half of
 * recs_rules.h). Called by scoring_run each time a score is computed. */
#ifndef INTEL_RECS_H
#define INTEL_RECS_H

#include <stdint.h>

#include <json-c/json.h>

#include "recs_rules.h"
#include "score.h"
#include "store.h"

/* Suggest what the rules give for score r at now_ms (milliseconds since
 * the epoch: created_at; the rules use whole seconds) unless suppressed,
 * then *open: the client's open recommendations, newest first. */
store_status recs_refresh(store *s, const char *client_id, const score_result *r, int64_t now_ms,
                          json_object **open);

/* The suggested_action of an item: {job_type, config: {integration_id}},
 * or NULL when accepting it creates no job. A new object. */
json_object *recs_action_json(const recs_item *it);

#endif
