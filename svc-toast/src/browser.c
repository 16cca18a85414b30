/* browser: the menu_build, item_create, item_update and modifier_sync jobs;
 * see browser.h. The change is checked against the stored menu, then sent
 * with the integration's decrypted web login (and a TOTP code when it has a
 * TOTP secret) to the browser-automation service: POST {url}/tasks, then GET
 * {url}/tasks/{id} every BROWSER_POLL_MS into the job's progress until the
 * task ends or BROWSER_TASK_TIMEOUT passes. A cancelled job cancels the task
 * (POST /tasks/{id}/cancel). The credentials live only in the request body,
 * which is wiped once sent, and are never logged. */
#include "browser.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "golden.h"
#include "json.h"
#include "log.h"
#include "toast.h"
#include "totp.h"
#include "util.h"

#define HTTP_TIMEOUT_MS 10000
#define POLL_ERRORS_MAX 5 /* polls in a row without an answer before giving up */
#define URL_MAX         1024

typedef struct task {
    worker_job *j;
    toast *t;
    char id[128];
    char url[URL_MAX]; /* {base}/tasks/{id} */
} task;

/* The body of POST /tasks (a new object): the change, the restaurant and the
 * login. -1 when the TOTP code cannot be made. */
static int
task_body(worker_job *j, const toast_integration *ti, json_object **out)
{
    json_object *b = json_object_new_object(), *change = json_object_new_object();
    json_object *integ = json_object_new_object(), *cred = json_object_new_object();
    json_object_object_foreach(worker_job_config(j), k, v)
    {
        if (strcmp(k, "integration_id") != 0)
            json_object_object_add(change, k, json_object_get(v));
    }
    json_object_object_add(integ, "id", json_object_new_string(ti->id));
    json_object_object_add(integ, "client_id", json_object_new_string(ti->client_id));
    json_object_object_add(integ, "restaurant_guid", json_object_new_string(ti->toast_guid));
    json_object_object_add(integ, "restaurant_id", json_object_new_string(ti->restaurant_id));
    json_object_object_add(cred, "username", json_object_new_string(ti->username));
    json_object_object_add(cred, "password", json_object_new_string(ti->password));
    if (ti->has_totp) {
        char code[7];
        if (totp_now_code(ti->totp_secret, (int64_t)time(NULL), code) != 0) {
            json_object_put(b);
            json_object_put(change);
            json_object_put(integ);
            json_object_put(cred);
            return -1;
        }
        json_object_object_add(cred, "totp_code", json_object_new_string(code));
        explicit_bzero(code, sizeof(code));
    }
    json_object_object_add(b, "type", json_object_new_string(worker_job_type(j)));
    json_object_object_add(b, "job_id", json_object_new_string(worker_job_id(j)));
    json_object_object_add(b, "integration", integ);
    json_object_object_add(b, "change", change);
    json_object_object_add(b, "credentials", cred);
    *out = b;
    return 0;
}

/* Wipe the secrets of the request body before it is freed. */
static void
task_body_wipe(json_object *b, const char *text, size_t len)
{
    json_object *cred = NULL;
    if (text)
        explicit_bzero((char *)text, len);
    if (json_object_object_get_ex(b, "credentials", &cred)) {
        json_object_object_foreach(cred, k, v)
        {
            (void)k;
            explicit_bzero((char *)json_object_get_string(v),
                           (size_t)json_object_get_string_len(v));
        }
    }
    json_object_put(b);
}

static const char *
str_of(json_object *o, const char *key, const char *def)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !json_object_is_type(v, json_type_string))
        return def;
    return json_object_get_string(v);
}

/* Hand the task over. 0 with tk->id, or -1 after failing the job. */
static int
task_create(task *tk, const toast_integration *ti)
{
    json_object *body = NULL, *ans = NULL;
    char url[URL_MAX], err[300];
    size_t len = 0;
    long status = 0;
    int rc = -1;
    if (task_body(tk->j, ti, &body) != 0) {
        worker_job_fail(tk->j, false, "the integration's TOTP secret could not make a code");
        return -1;
    }
    const char *text = json_object_to_json_string_length(body, JSON_C_TO_STRING_PLAIN, &len);
    snprintf(url, sizeof(url), "%s/tasks", tk->t->browser_url);
    int hr = browser_http("POST", url, text, HTTP_TIMEOUT_MS, &status, &ans, err, sizeof(err));
    task_body_wipe(body, text, len);
    if (hr != 0) {
        worker_job_fail(tk->j, true, "browser service unreachable: %s", err);
        goto out;
    }
    const char *id = str_of(ans, "id", NULL);
    if (status < 200 || status > 299 || !id || !id[0] || strlen(id) >= sizeof(tk->id)
        || strspn(id, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_")
               != strlen(id)) {
        json_object *e = NULL;
        json_object_object_get_ex(ans, "error", &e);
        worker_job_fail(tk->j, status >= 500 || status == 429,
                        "browser service refused the task (HTTP %ld): %.200s", status,
                        e ? json_object_get_string(e) : "no task id in its answer");
        goto out;
    }
    util_strlcpy(tk->id, id, sizeof(tk->id));
    snprintf(tk->url, sizeof(tk->url), "%s/tasks/%s", tk->t->browser_url, tk->id);
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("job_id", worker_job_id(tk->j)), LF_STR("task_id", tk->id),
                       LF_STR("integration_id", ti->id)),
            "browser task created");
    rc = 0;
out:
    json_object_put(ans);
    return rc;
}

static void
task_cancel(task *tk)
{
    char url[URL_MAX + 16], err[300];
    long status;
    json_object *ans = NULL;
    snprintf(url, sizeof(url), "%s/cancel", tk->url);
    if (browser_http("POST", url, "{}", HTTP_TIMEOUT_MS, &status, &ans, err, sizeof(err)) != 0)
        log_warn("cancelling browser task %s: %s", tk->id, err);
    json_object_put(ans);
}

/* Sleep ms, waking early when the job is cancelled. */
static void
nap(worker_job *j, long ms)
{
    while (ms > 0 && !worker_job_cancelled(j)) {
        long step = ms < 100 ? ms : 100;
        struct timespec ts = {0, step * 1000000L};
        nanosleep(&ts, NULL);
        ms -= step;
    }
}

/* Poll the task until it ends: the job's outcome is set (or the job was
 * cancelled or lost, and the task cancelled). */
static void
task_follow(task *tk, long poll_ms, long timeout_s)
{
    int64_t deadline = util_mono_ns() + (int64_t)timeout_s * 1000000000LL;
    int errors = 0;
    char err[300];
    for (;;) {
        nap(tk->j, poll_ms);
        if (worker_job_cancelled(tk->j)) {
            task_cancel(tk);
            return;
        }
        if (util_mono_ns() > deadline) {
            task_cancel(tk);
            worker_job_fail(tk->j, true, "browser task %s did not end within %lds", tk->id,
                            timeout_s);
            return;
        }
        json_object *ans = NULL, *v = NULL;
        long status = 0;
        if (browser_http("GET", tk->url, NULL, HTTP_TIMEOUT_MS, &status, &ans, err, sizeof(err))
                != 0
            || status != 200 || !ans) {
            json_object_put(ans);
            if (++errors >= POLL_ERRORS_MAX) {
                worker_job_fail(tk->j, true, "browser task %s: no answer (%s)", tk->id,
                                status ? "bad status" : err);
                return;
            }
            continue;
        }
        errors = 0;
        const char *st = str_of(ans, "status", "");
        if (strcmp(st, "succeeded") == 0 || strcmp(st, "completed") == 0) {
            json_object *res = json_object_new_object();
            json_object_object_add(res, "task_id", json_object_new_string(tk->id));
            json_object_object_add(res, "type", json_object_new_string(worker_job_type(tk->j)));
            json_object_object_get_ex(ans, "result", &v);
            json_object_object_add(res, "result", json_object_get(v));
            json_object_put(ans);
            worker_job_succeed(tk->j, res);
            return;
        }
        if (strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0) {
            bool retry = false;
            json_object *e = NULL;
            if (json_object_object_get_ex(ans, "error", &e)
                && json_object_object_get_ex(e, "retryable", &v))
                retry = json_object_get_boolean(v);
            worker_job_fail(tk->j, retry, "browser task %s %s: %.300s", tk->id, st,
                            str_of(e, "message", str_of(ans, "message", "no reason given")));
            json_object_put(ans);
            return;
        }
        int pct = json_object_object_get_ex(ans, "progress", &v) ? json_object_get_int(v) : 0;
        pct = pct < 5 ? 5 : pct > 95 ? 95 : pct;
        int pr = worker_progress(tk->j, pct, str_of(ans, "message", st));
        json_object_put(ans);
        if (pr != 0) {
            task_cancel(tk);
            return;
        }
    }
}

void
browser_task_job(worker_job *j, void *ud)
{
    toast *t = ud;
    toast_integration ti;
    menu_model *m = NULL;
    golden_err ge;
    js_err je;
    const char *id = NULL;
    char err[300];
    task tk = {.j = j, .t = t};
    memset(&ti, 0, sizeof(ti));
    if (!t->browser_url) {
        worker_job_fail(j, false,
                        "BROWSER_SERVICE_URL is not set: %s jobs change the menu through the "
                        "browser-automation service, which this svc-toast does not know",
                        worker_job_type(j));
        return;
    }
    const cfg *c = app_cfg(t->app);
    if (cfg_production(c) && strncmp(t->browser_url, "https://", 8) != 0) {
        worker_job_fail(j, false,
                        "BROWSER_SERVICE_URL must be https:// in production: the "
                        "task carries the restaurant's login");
        return;
    }
    if (js_get_uuid(worker_job_config(j), "integration_id", true, &id, &je) != JS_OK) {
        worker_job_fail(j, false, "config: %s", je.message);
        return;
    }
    int rc = golden_current(t, id, &m, &ge);
    if (rc != 0) {
        worker_job_fail(j, rc == 503, "config: %s", ge.message);
        goto out;
    }
    if (browser_check(worker_job_type(j), worker_job_config(j), m, err, sizeof(err)) != 0) {
        worker_job_fail(j, false, "config: %s", err);
        goto out;
    }
    int lr = toast_integration_load(t, id, &ti);
    if (lr != 0) {
        worker_job_fail(j, lr != 1, "integration %s %s", id,
                        lr == 1 ? "not found" : "could not be loaded");
        goto out;
    }
    if (!ti.username[0] || !ti.has_password) {
        worker_job_fail(j, false, "integration %s has no Toast web login (username and password)",
                        id);
        goto out;
    }
    worker_progress(j, 2, "handing the change to the browser service");
    if (task_create(&tk, &ti) != 0)
        goto out;
    toast_integration_wipe(&ti);
    task_follow(&tk, cfg_int(c, "BROWSER_POLL_MS"), cfg_int(c, "BROWSER_TASK_TIMEOUT"));
out:
    toast_integration_wipe(&ti);
    menu_model_free(m);
}
