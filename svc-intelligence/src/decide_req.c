/* decide_req: what a POST /decide body may hold; see decide.h. Every error
 * names its field ("constraints.avoid_times[1]") and says why, without
 * echoing the value. */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "decide.h"
#include "field.h"
#include "util.h"

#define CONTEXT_MAX 200

const char *const decide_job_types[] = {
    "menu_build",        "menu_sync",    "item_create", "item_update",
    "modifier_sync",     "health_check", "golden_copy", "classification",
    "report_generation", "backup",       NULL};

int
decide_parse_hhmm(const char *s)
{
    if (!s || strlen(s) != 5 || s[2] != ':')
        return -1;
    for (int i = 0; i < 5; i++)
        if (i != 2 && !(s[i] >= '0' && s[i] <= '9'))
            return -1;
    int h = (s[0] - '0') * 10 + (s[1] - '0'), m = (s[3] - '0') * 10 + (s[4] - '0');
    return h < 24 && m < 60 ? h * 60 + m : -1;
}

/* A time of the request: RFC 3339 between 2000 and 2100. */
static js_status
get_time(json_object *o, const char *name, const char *field, bool *has, int64_t *out, js_err *err)
{
    json_object *v = NULL;
    struct timespec ts;
    if (!json_object_object_get_ex(o, name, &v) || !v)
        return JS_ABSENT;
    if (!json_object_is_type(v, json_type_string)
        || util_rfc3339_parse(json_object_get_string(v), &ts) != 0)
        return js_fail(err, field, "field '%s': must be an RFC 3339 timestamp", field);
    if (ts.tv_sec < FIELD_MIN_TIME || ts.tv_sec >= FIELD_MAX_TIME)
        return js_fail(err, field, "field '%s': must be between 2000 and 2100", field);
    *has = true;
    *out = ts.tv_sec;
    return JS_OK;
}

/* An array of at most DECIDE_MAX_TIMES strings, each checked by one. */
static js_status
get_list(json_object *c, const char *name, json_object **arr, js_err *err)
{
    json_object *v = NULL;
    char f[64];
    *arr = NULL;
    snprintf(f, sizeof(f), "constraints.%s", name);
    if (!json_object_object_get_ex(c, name, &v) || !v)
        return JS_ABSENT;
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > DECIDE_MAX_TIMES)
        return js_fail(err, f, "field '%s': must be an array of at most %d strings", f,
                       DECIDE_MAX_TIMES);
    *arr = v;
    return JS_OK;
}

static js_status
parse_preferred(json_object *c, decide_request *q, js_err *err)
{
    json_object *arr = NULL;
    js_status rc = get_list(c, "preferred_times", &arr, err);
    for (size_t i = 0; rc == JS_OK && i < json_object_array_length(arr); i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        int m = json_object_is_type(v, json_type_string)
                    ? decide_parse_hhmm(json_object_get_string(v))
                    : -1;
        if (m < 0) {
            char f[64];
            snprintf(f, sizeof(f), "constraints.preferred_times[%zu]", i);
            return js_fail(err, f, "field '%s': must be a local time \"HH:MM\" (00:00 to 23:59)",
                           f);
        }
        q->preferred[q->npreferred++] = m;
    }
    return rc == JS_INVALID ? JS_INVALID : JS_OK;
}

static js_status
parse_avoid(json_object *c, decide_request *q, js_err *err)
{
    json_object *arr = NULL;
    js_status rc = get_list(c, "avoid_times", &arr, err);
    for (size_t i = 0; rc == JS_OK && i < json_object_array_length(arr); i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
        char a[6] = "", b[6] = "", f[64];
        snprintf(f, sizeof(f), "constraints.avoid_times[%zu]", i);
        if (strlen(s) == 11 && s[5] == '-') {
            memcpy(a, s, 5);
            memcpy(b, s + 6, 5);
        }
        int start = decide_parse_hhmm(a), end = decide_parse_hhmm(b);
        if (start < 0 || end < 0)
            return js_fail(err, f,
                           "field '%s': must be a local window \"HH:MM-HH:MM\" (it may cross "
                           "midnight, as \"22:00-02:00\")",
                           f);
        if (start == end)
            return js_fail(err, f, "field '%s': the window is empty (start equals end)", f);
        q->avoid[q->navoid++] = (decide_window){start, end};
    }
    return rc == JS_INVALID ? JS_INVALID : JS_OK;
}

static js_status
parse_constraints(json_object *body, decide_request *q, js_err *err)
{
    static const char *const known[] = {"preferred_times", "avoid_times", "not_before", "not_after",
                                        NULL};
    json_object *c = NULL;
    if (!json_object_object_get_ex(body, "constraints", &c) || !c)
        return JS_OK;
    if (!json_object_is_type(c, json_type_object))
        return js_fail(err, "constraints", "field 'constraints': must be an object");
    if (js_reject_unknown(c, known, err) != JS_OK || parse_preferred(c, q, err) != JS_OK
        || parse_avoid(c, q, err) != JS_OK
        || get_time(c, "not_before", "constraints.not_before", &q->has_not_before, &q->not_before,
                    err)
               == JS_INVALID
        || get_time(c, "not_after", "constraints.not_after", &q->has_not_after, &q->not_after, err)
               == JS_INVALID)
        return JS_INVALID;
    if (q->has_not_before && q->has_not_after && q->not_after < q->not_before)
        return js_fail(err, "constraints.not_after",
                       "field 'constraints.not_after': must not be before not_before");
    return JS_OK;
}

static js_status
parse_job_type(json_object *body, decide_request *q, js_err *err)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(body, "job_type", &v) || !v)
        return JS_OK;
    const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : "";
    for (size_t i = 0; decide_job_types[i]; i++)
        if (strcmp(s, decide_job_types[i]) == 0) {
            q->job_type = decide_job_types[i];
            return JS_OK;
        }
    char list[256] = "";
    for (size_t i = 0, n = 0; decide_job_types[i] && n < sizeof(list); i++)
        n += (size_t)snprintf(list + n, sizeof(list) - n, "%s%s", i ? ", " : "",
                              decide_job_types[i]);
    return js_fail(err, "job_type", "field 'job_type': must be one of %s", list);
}

js_status
decide_parse(json_object *body, int64_t now, decide_request *q, js_err *err)
{
    static const char *const known[] = {"context",     "client_id", "job_type", "duration_minutes",
                                        "constraints", "now",       NULL};
    long long dur = DECIDE_DEF_DURATION;
    memset(q, 0, sizeof(*q));
    q->now = now;
    if (js_require_object(body, err) != JS_OK || js_reject_unknown(body, known, err) != JS_OK
        || js_get_string(body, "context", true, 1, CONTEXT_MAX, &q->context, err) != JS_OK
        || js_get_uuid(body, "client_id", true, &q->client_id, err) != JS_OK
        || parse_job_type(body, q, err) != JS_OK
        || js_get_int(body, "duration_minutes", false, 1, DECIDE_MAX_DURATION, &dur, err)
               == JS_INVALID
        || get_time(body, "now", "now", &q->has_now, &q->now, err) == JS_INVALID)
        return JS_INVALID;
    q->duration = (int)dur;
    return parse_constraints(body, q, err);
}
