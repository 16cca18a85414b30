/* http_health: GET /clients/{id}/health (compute, keep, answer) and GET
 * /clients/health-summary (every client's latest score, worst first). */
#include <stdio.h>
#include <string.h>

#include "http.h"
#include "log.h"
#include "recompute.h"
#include "score.h"
#include "scoring.h"

int
http_client_health(web_req *r)
{
    const char *id = http_client_id(r);
    json_object *out = NULL;
    char what[64];
    if (!id)
        return 0;
    store_status st = scoring_run(intel_of(web_app(r))->store, id, http_now_ms(), &out);
    snprintf(what, sizeof(what), "client %s", id);
    return st == ST_OK ? web_reply_json(r, 200, out) : http_store_error(r, st, what, NULL);
}

static bool
band_known(const char *s)
{
    for (size_t i = 0; score_band_names[i]; i++)
        if (strcmp(s, score_band_names[i]) == 0)
            return true;
    return false;
}

int
http_health_summary(web_req *r)
{
    intel *s = intel_of(web_app(r));
    long limit, offset, scored = 0;
    char bb[32];
    const char *band = NULL;
    json_object *page = NULL;
    if (!web_page(r, &limit, &offset)
        || !http_query(r, "status", bb, sizeof(bb), &band, band_known,
                       "must be one of healthy, at_risk, critical, unknown"))
        return 0;
    /* A client never scored gets its first score now, so that every client
     * is in the summary: all of them at once, as POST /scores/recompute. */
    store_status st = recompute_unscored(s, http_now_ms(), &scored);
    if (st == ST_OK && scored > 0)
        log_msg(LOGL_INFO, LOG_FIELDS(LF_INT("clients", scored)), "first health scores computed");
    if (st == ST_OK)
        st = store_summary(s->store, band, limit, offset, &page);
    return st == ST_OK ? web_reply_json(r, 200, page)
                       : http_store_error(r, st, "health scores", NULL);
}
