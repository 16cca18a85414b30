/* score_json: a computed score as JSON, in the shape of the API. Prefix
 * score_ (the rendering half of score.h). Both return new objects. */
#ifndef INTEL_SCORE_JSON_H
#define INTEL_SCORE_JSON_H

#include <json-c/json.h>

#include "score.h"

/* {"engagement": {score, weight, effective_weight, status, details}, ...};
 * a factor without data has score null, status "no_data" and details.reason. */
json_object *score_factors_json(const score_result *r);
/* {"d7": n|null, "d30": n|null} */
json_object *score_trend_json(const score_result *r);

#endif
