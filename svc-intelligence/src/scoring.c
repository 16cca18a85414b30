/* scoring: compute, keep and render a client's health score; see scoring.h. */
#include "scoring.h"

#include <time.h>

#include "alerting.h"
#include "recs.h"
#include "score_json.h"
#include "util.h"

store_status
scoring_run(store *s, const char *client_id, int64_t now_ms, json_object **out)
{
    store_inputs h;
    score_result r;
    char at[UTIL_RFC3339_LEN + 1];
    struct timespec ts = {.tv_sec = (time_t)(now_ms / 1000),
                          .tv_nsec = (long)(now_ms % 1000) * 1000000L};
    store_status st = store_health_inputs(s, client_id, now_ms / 1000, &h);
    if (st != ST_OK)
        return st;
    score_compute(&h.in, &r);
    store_inputs_free(&h);
    util_rfc3339(&ts, at);
    json_object *factors = score_factors_json(&r);
    st = store_score_save(s, client_id, &r, js_text(factors, NULL), at);
    if (st != ST_OK) {
        json_object_put(factors);
        return st;
    }
    /* The score rules of the alerts read the stored scores, and the
     * recommendations read the open alerts: in that order. An alert that
     * could not be updated is logged there; the score stands. */
    alerting_scores(s, client_id, now_ms);
    json_object *recs = NULL;
    st = recs_refresh(s, client_id, &r, now_ms, &recs);
    if (st != ST_OK) {
        json_object_put(factors);
        return st;
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "client_id", json_object_new_string(client_id));
    json_object_object_add(o, "overall_score",
                           r.overall >= 0 ? json_object_new_int(r.overall) : NULL);
    json_object_object_add(o, "health_status", json_object_new_string(score_band_name(r.band)));
    json_object_object_add(o, "factors", factors);
    json_object_object_add(o, "trend", score_trend_json(&r));
    json_object_object_add(o, "computed_at", json_object_new_string(at));
    json_object_object_add(o, "recommendations", recs);
    *out = o;
    return ST_OK;
}
