/* job: the job model and its rules; see job.h. */
#include "job.h"

#include <math.h>
#include <string.h>

#include "util.h"

const char *const job_types[] = {
    "menu_build",        "menu_sync",    "item_create", "item_update",
    "modifier_sync",     "health_check", "golden_copy", "classification",
    "report_generation", "backup",       NULL};

const char *const job_statuses[] = {"pending", "queued",    "running", "completed",
                                    "failed",  "cancelled", NULL};

int
job_type_index(const char *type)
{
    for (int i = 0; type && job_types[i]; i++)
        if (strcmp(type, job_types[i]) == 0)
            return i;
    return -1;
}

bool
job_type_known(const char *type)
{
    return job_type_index(type) >= 0;
}

bool
job_status_final(const char *status)
{
    return strcmp(status, "completed") == 0 || strcmp(status, "failed") == 0
           || strcmp(status, "cancelled") == 0;
}

static js_status
parse_config(json_object *body, json_object **out, js_err *err)
{
    json_object *config = NULL;
    js_status st = js_get_object(body, "config", false, &config, err);
    if (st != JS_OK)
        return st;
    size_t len = 0;
    js_text(config, &len);
    if (len > JOB_MAX_CONFIG)
        return js_fail(err, "config", "field 'config': at most %d bytes", JOB_MAX_CONFIG);
    *out = config;
    return JS_OK;
}

static js_status
parse_depends(json_object *body, job_new *out, js_err *err)
{
    json_object *arr = NULL;
    js_status st = js_get_array(body, "depends_on", false, JOB_MAX_DEPENDS, &arr, err);
    if (st != JS_OK)
        return st == JS_ABSENT ? JS_OK : st;
    size_t n = json_object_array_length(arr);
    for (size_t i = 0; i < n; i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        const char *s = json_object_is_type(v, json_type_string) ? json_object_get_string(v) : NULL;
        if (!s || !util_uuid_valid(s))
            return js_fail(err, "depends_on", "field 'depends_on': entry %zu is not a UUID", i);
        for (size_t k = 0; k < out->ndepends; k++)
            if (strcmp(out->depends_on[k], s) == 0)
                return js_fail(err, "depends_on", "field 'depends_on': %s is listed twice", s);
        out->depends_on[out->ndepends++] = s;
    }
    return JS_OK;
}

js_status
job_new_parse(json_object *body, job_new *out, js_err *err)
{
    static const char *const known[] = {"client_id",    "job_type",        "priority",
                                        "config",       "depends_on",      "scheduled_at",
                                        "max_attempts", "idempotency_key", NULL};
    long long prio = JOB_DEFAULT_PRIO, attempts = JOB_DEFAULT_ATTEMPTS;

    memset(out, 0, sizeof(*out));
    if (js_require_object(body, err) != JS_OK || js_reject_unknown(body, known, err) != JS_OK)
        return JS_INVALID;
    if (js_get_uuid(body, "client_id", true, &out->client_id, err) != JS_OK
        || js_get_enum(body, "job_type", true, job_types, &out->job_type, err) != JS_OK
        || js_get_int(body, "priority", false, 1, 5, &prio, err) == JS_INVALID
        || parse_config(body, &out->config, err) == JS_INVALID
        || parse_depends(body, out, err) == JS_INVALID
        || js_get_time(body, "scheduled_at", false, &out->scheduled_at, err) == JS_INVALID
        || js_get_int(body, "max_attempts", false, 1, JOB_MAX_ATTEMPTS, &attempts, err)
               == JS_INVALID
        || js_get_string(body, "idempotency_key", false, 1, JOB_MAX_IDEM, &out->idempotency_key,
                         err)
               == JS_INVALID)
        return JS_INVALID;
    out->priority = (int)prio;
    out->max_attempts = (int)attempts;
    return JS_OK;
}

job_patch_status
job_patch_parse(json_object *body, job_patch *out, js_err *err)
{
    long long prio = 0;
    js_status st;

    memset(out, 0, sizeof(*out));
    if (js_require_object(body, err) != JS_OK)
        return JOB_PATCH_INVALID;
    json_object_object_foreach(body, key, val)
    {
        (void)val;
        if (strcmp(key, "priority") != 0 && strcmp(key, "config") != 0
            && strcmp(key, "scheduled_at") != 0) {
            js_fail(err, key,
                    "field '%.100s' cannot be changed: only priority, config and scheduled_at "
                    "can, while the job waits",
                    key);
            return JOB_PATCH_FORBIDDEN;
        }
    }
    if (json_object_object_length(body) == 0) {
        js_fail(err, "", "nothing to change: give priority, config or scheduled_at");
        return JOB_PATCH_INVALID;
    }
    st = js_get_int(body, "priority", false, 1, 5, &prio, err);
    if (st == JS_INVALID)
        return JOB_PATCH_INVALID;
    out->has_priority = st == JS_OK;
    out->priority = (int)prio;
    if (json_object_object_get_ex(body, "config", NULL)) {
        st = parse_config(body, &out->config, err);
        if (st != JS_OK) {
            if (st == JS_ABSENT)
                js_fail(err, "config", "field 'config': must be an object");
            return JOB_PATCH_INVALID;
        }
        out->has_config = true;
    }
    if (json_object_object_get_ex(body, "scheduled_at", NULL)) {
        st = js_get_time(body, "scheduled_at", false, &out->scheduled_at, err);
        if (st == JS_INVALID)
            return JOB_PATCH_INVALID;
        out->has_scheduled_at = true; /* null clears it */
    }
    return JOB_PATCH_OK;
}

int64_t
job_backoff_ms(const job_retry_policy *p, int counted_attempt, double r)
{
    int64_t ms = p->base_ms;
    for (int i = 1; i < counted_attempt && ms < p->cap_ms; i++)
        ms *= 2;
    if (ms > p->cap_ms)
        ms = p->cap_ms;
    if (r < 0 || r >= 1 || isnan(r))
        r = 0.5;
    ms = (int64_t)((double)ms * (0.8 + 0.4 * r));
    return ms > p->cap_ms ? p->cap_ms : ms;
}

job_after
job_after_failure(bool retryable, int counted, int max_attempts)
{
    return retryable && counted < max_attempts ? JOB_AFTER_RETRY : JOB_AFTER_FAIL;
}
