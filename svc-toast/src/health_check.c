/* health_check: one check of an integration, and the health_check job; see
 * health_check.h. */
#include "health_check.h"

#include <stdio.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "tbus.h"
#include "toast_api.h"
#include "util.h"

#define STEP_ERR 300

const char *
health_status(bool failed, long total_ms, long slowest_ms, long degraded_ms)
{
    if (failed)
        return "unhealthy";
    if (total_ms > degraded_ms || slowest_ms > degraded_ms)
        return "degraded";
    return "healthy";
}

/* What one step did, as the check records it. */
static json_object *
step(const char *name, toast_api_status st, long ms, const char *err)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "step", json_object_new_string(name));
    json_object_object_add(o, "ok", json_object_new_boolean(st == TAPI_OK));
    json_object_object_add(o, "latency_ms", json_object_new_int64(ms));
    json_object_object_add(o, "error", st == TAPI_OK ? NULL : json_object_new_string(err));
    if (st != TAPI_OK)
        json_object_object_add(o, "reason", json_object_new_string(toast_api_status_name(st)));
    return o;
}

static long
ms_since(int64_t t0)
{
    return (long)((util_mono_ns() - t0) / 1000000);
}

/* The three steps against Toast; a failed step ends the check. *error: the
 * first failure's message ("" when none). */
static json_object *
run_steps(toast *t, const toast_integration *ti, bool *failed, long *slowest, char *error,
          size_t errlen)
{
    json_object *steps = json_object_new_array(), *rest = NULL;
    char err[STEP_ERR] = "", updated[64] = "";
    bool reused = false;
    int64_t t0 = util_mono_ns();
    toast_api_status st = toast_api_session(t->api, ti, &reused, err, sizeof(err));
    long ms = ms_since(t0);
    json_object *s = step("login", st, ms, err);
    json_object_object_add(s, "session_reused", json_object_new_boolean(reused));
    json_object_array_add(steps, s);
    *slowest = ms;
    if (st == TAPI_OK) {
        t0 = util_mono_ns();
        st = toast_api_restaurant(t->api, ti, &rest, err, sizeof(err));
        ms = ms_since(t0);
        json_object_array_add(steps, step("restaurant", st, ms, err));
        json_object_put(rest);
        *slowest = ms > *slowest ? ms : *slowest;
    }
    if (st == TAPI_OK) {
        t0 = util_mono_ns();
        st = toast_api_metadata(t->api, ti, updated, sizeof(updated), err, sizeof(err));
        ms = ms_since(t0);
        s = step("metadata", st, ms, err);
        if (st == TAPI_OK)
            json_object_object_add(s, "last_updated", json_object_new_string(updated));
        json_object_array_add(steps, s);
        *slowest = ms > *slowest ? ms : *slowest;
    }
    *failed = st != TAPI_OK;
    util_strlcpy(error, *failed ? err : "", errlen);
    return steps;
}

int
health_run(toast *t, const char *id, json_object **check, char *err, size_t errlen)
{
    toast_integration ti;
    char error[STEP_ERR];
    bool failed = false;
    long slowest = 0;
    const health_cfg *hc = health_cfg_of(t);
    int rc = toast_integration_load(t, id, &ti);
    if (rc != 0) {
        snprintf(err, errlen,
                 rc > 0 ? "integration %s not found"
                        : "integration %s could not be read or decrypted",
                 id);
        return rc;
    }
    int64_t t0 = util_mono_ns();
    json_object *steps = run_steps(t, &ti, &failed, &slowest, error, sizeof(error));
    long total = ms_since(t0);
    const char *status = health_status(failed, total, slowest, hc->degraded_ms);
    store_status st =
        store_health_record(toast_store(t), id, status, total, steps, failed ? error : NULL, check);
    json_object_put(steps);
    if (st != ST_OK) {
        snprintf(err, errlen, "recording the check failed (%s)", store_status_name(st));
        rc = st == ST_NOT_FOUND ? 1 : -1;
        goto out;
    }
    const char *labels[] = {status};
    metrics_inc(hc->checks_total, labels, 1);
    json_object *ev = NULL;
    if (json_object_deep_copy(*check, &ev, NULL) == 0) {
        json_object_object_add(ev, "type", json_object_new_string("toast_health"));
        json_object_object_add(ev, "client_id", json_object_new_string(ti.client_id));
        tbus_event(t, "health", id, ev);
        json_object_put(ev);
    }
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("integration_id", id), LF_STR("status", status),
                       LF_INT("duration_ms", total)),
            "health check done");
out:
    toast_integration_wipe(&ti);
    return rc;
}

void
health_check_job(worker_job *j, void *ud)
{
    toast *t = ud;
    const char *id = NULL;
    json_object *check = NULL;
    char err[400];
    js_err je;
    if (js_get_uuid(worker_job_config(j), "integration_id", true, &id, &je) != JS_OK) {
        worker_job_fail(j, false, "config: %s", je.message);
        return;
    }
    worker_progress(j, 10, "checking");
    int rc = health_run(t, id, &check, err, sizeof(err));
    if (rc == 0)
        worker_job_succeed(j, check);
    else
        worker_job_fail(j, rc < 0, "%s", err); /* a missing integration stays missing */
}
