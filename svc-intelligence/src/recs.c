/* recs: generate and keep a client's recommendations; see recs.h. */
#include "recs.h"

#include <time.h>

#include "log.h"
#include "store_recs.h"
#include "util.h"

json_object *
recs_action_json(const recs_item *it)
{
    if (!it->job_type)
        return NULL;
    json_object *a = json_object_new_object(), *config = json_object_new_object();
    json_object_object_add(config, "integration_id", json_object_new_string(it->integration_id));
    json_object_object_add(a, "job_type", json_object_new_string(it->job_type));
    json_object_object_add(a, "config", config);
    return a;
}

/* Keep one suggestion; a type that became open meanwhile (another request
 * scoring the same client) is no error: the unique key keeps one. */
static store_status
keep(store *s, const char *client_id, const recs_item *it, const char *at)
{
    bool inserted = false;
    json_object *action = recs_action_json(it);
    store_status st =
        store_rec_insert(s, client_id, it, action ? js_text(action, NULL) : NULL, at, &inserted);
    json_object_put(action);
    if (st == ST_OK && inserted)
        log_msg(LOGL_INFO,
                LOG_FIELDS(LF_STR("client_id", client_id), LF_STR("type", recs_type_name(it->type)),
                           LF_STR("impact", recs_impact_name(it->impact))),
                "recommendation made");
    return st;
}

store_status
recs_refresh(store *s, const char *client_id, const score_result *r, int64_t now_ms,
             json_object **open)
{
    store_recs_ctx ctx;
    recs_alert alerts[STORE_RECS_MAX_ALERTS];
    recs_item items[RECS_NTYPES];
    char at[UTIL_RFC3339_LEN + 1];
    struct timespec ts = {.tv_sec = (time_t)(now_ms / 1000),
                          .tv_nsec = (long)(now_ms % 1000) * 1000000L};
    store_status st = store_recs_context(s, client_id, &ctx);
    if (st != ST_OK)
        return st;
    for (size_t i = 0; i < ctx.nalerts; i++)
        alerts[i] = (recs_alert){ctx.alerts[i].type, ctx.alerts[i].subject};
    recs_inputs in = {r, alerts, ctx.nalerts, ctx.integration_id[0] ? ctx.integration_id : NULL};
    size_t n = recs_select(&in, ctx.hist, now_ms / 1000, items);
    util_rfc3339(&ts, at);
    for (size_t i = 0; i < n && st == ST_OK; i++)
        st = keep(s, client_id, &items[i], at);
    return st == ST_OK ? store_recs_open(s, client_id, open) : st;
}
