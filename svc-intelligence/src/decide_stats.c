/* decide_stats: automation.stats for the decision engine; see
 * decide_stats.h. */
#include "decide_stats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "json.h"
#include "log.h"
#include "util.h"

static bool
read_load(json_object *o, decide_stats *out)
{
    json_object *a = NULL;
    if (!json_object_object_get_ex(o, "hourly_load", &a) || !json_object_is_type(a, json_type_array)
        || json_object_array_length(a) != 24)
        return false;
    for (size_t h = 0; h < 24; h++) {
        json_object *v = json_object_array_get_idx(a, h);
        if (!json_object_is_type(v, json_type_int) && !json_object_is_type(v, json_type_double))
            return false;
        double d = json_object_get_double(v);
        if (!(d >= 0 && d < 1e9))
            return false;
        out->hourly_load[h] = d;
    }
    return true;
}

static void
read_jobs(json_object *o, decide_stats *out)
{
    json_object *a = NULL;
    if (!json_object_object_get_ex(o, "scheduled", &a) || !json_object_is_type(a, json_type_array))
        return;
    size_t n = json_object_array_length(a);
    n = n > DECIDE_STATS_MAX ? DECIDE_STATS_MAX : n;
    out->jobs = calloc(n ? n : 1, sizeof(*out->jobs));
    for (size_t i = 0; out->jobs && i < n; i++) {
        json_object *j = json_object_array_get_idx(a, i), *c = NULL, *t = NULL;
        struct timespec ts;
        if (!json_object_object_get_ex(j, "client_id", &c)
            || !json_object_object_get_ex(j, "at", &t)
            || !util_uuid_valid(json_object_get_string(c))
            || util_rfc3339_parse(json_object_get_string(t), &ts) != 0)
            continue;
        util_strlcpy(out->jobs[out->njobs].client_id, json_object_get_string(c),
                     sizeof(out->jobs[0].client_id));
        out->jobs[out->njobs++].at = ts.tv_sec;
    }
}

void
decide_stats_fetch(bus *b, int64_t from, decide_stats *out)
{
    char at[UTIL_RFC3339_LEN + 1], body[128], *reply = NULL;
    struct timespec ts = {.tv_sec = (time_t)from, .tv_nsec = 0};
    size_t len = 0;
    memset(out, 0, sizeof(*out));
    util_rfc3339(&ts, at);
    int n = snprintf(body, sizeof(body), "{\"schedule_from\":\"%s\",\"schedule_hours\":%d}", at,
                     DECIDE_STATS_HOURS);
    bus_status st = b ? bus_request(b, "automation.stats", body, (size_t)n, DECIDE_STATS_TIMEOUT_MS,
                                    &reply, &len)
                      : BUS_ERR_UNAVAILABLE;
    json_object *o = NULL;
    js_err err;
    if (st == BUS_OK && js_parse(reply, len, &o, &err) == JS_OK
        && json_object_is_type(o, json_type_object)
        && !json_object_object_get_ex(o, "error", NULL)) {
        out->has_load = read_load(o, out);
        read_jobs(o, out);
    }
    if (!out->has_load)
        log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("nats", bus_status_name(st))),
                "no queue load from automation.stats: deciding without it");
    json_object_put(o);
    free(reply);
}

size_t
decide_stats_own(const decide_stats *st, const char *client_id, int64_t *buf, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < st->njobs && n < cap; i++)
        if (strcasecmp(st->jobs[i].client_id, client_id) == 0)
            buf[n++] = st->jobs[i].at;
    return n;
}

void
decide_stats_free(decide_stats *st)
{
    free(st->jobs);
    st->jobs = NULL;
    st->njobs = 0;
}
