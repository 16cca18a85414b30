/* fake-worker: a daemon-like worker on common/worker for the end-to-end tests
 * and benchmarks. It runs any job types it is told to (WORKER_JOB_TYPES) and
 * does what each job's config says:
 *
 *   "steps": N, "step_ms": T   N progress calls T ms apart, then succeed
 *   "fail": "retryable"|"fatal" fail with "fake failure" (after the steps)
 *   "fail_attempts": K          fail retryably while attempt <= K
 *   "hang": true                never report or finish, until cancelled/stopping
 *   "crash": true               _exit(3) at once
 *   "crash_after_steps": K      _exit(3) after K progress calls
 *   "result": {...}             the result to succeed with
 *
 * By default a job succeeds at once with {"worker_id":..., "attempt":n}. A job
 * stops early (without an outcome) once worker_job_cancelled() is true:
 * cancelled, lost, or the worker is stopping (the job is then handed back).
 * Every job ends with a "fake job done" line (job_id, attempt, outcome). */
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <json-c/json.h>

#include "bus.h"
#include "config.h"
#include "json.h"
#include "log.h"
#include "util.h"
#include "worker.h"

#define MAX_TYPES 16
#define SLICE_MS  20 /* how often a waiting job looks at worker_job_cancelled */

static const cfg_var g_vars[] = {
    {"NATS_URL", CFG_STR, "nats://127.0.0.1:4222", 0, 0, false, "NATS server(s)"},
    {"LOG_LEVEL", CFG_STR, "info", 0, 0, false, "debug, info, warn or error"},
    {"WORKER_JOB_TYPES", CFG_STR,
     "menu_build,menu_sync,item_create,item_update,modifier_sync,health_check,golden_copy,"
     "classification,report_generation,backup",
     0, 0, false, "comma-separated job types to run"},
    {"WORKER_CONCURRENCY", CFG_INT, "4", 1, 100, false, "jobs run at once"},
    {"WORKER_ID", CFG_STR, NULL, 0, 0, false, "worker id (default fake-worker-<host>-<pid>)"},
    {"LEASE_SECONDS", CFG_INT, "30", 1, 3600, false, "lease asked for each job"},
    {"POLL_MS", CFG_INT, "2000", 10, 3600000, false, "claim poll while idle"},
    {"STOP_TIMEOUT_MS", CFG_INT, "5000", 1, 3600000, false, "how long a stop lets jobs finish"},
};

static char g_id[128];

static void
done(worker_job *j, const char *outcome)
{
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("job_id", worker_job_id(j)), LF_STR("job_type", worker_job_type(j)),
                       LF_INT("attempt", worker_job_attempt(j)), LF_STR("outcome", outcome)),
            "fake job done");
}

/* Why a job stopped early, for the log. */
static const char *
why_stopped(worker_job *j)
{
    return worker_job_stopping(j) ? "stopped" : "cancelled";
}

/* Wait ms, or less once the job is cancelled. Returns true if it was. */
static bool
wait_ms(worker_job *j, long ms)
{
    int64_t end = util_mono_ns() + (int64_t)ms * 1000000;

    for (;;) {
        int64_t left = (end - util_mono_ns()) / 1000000;
        struct timespec ts;

        if (worker_job_cancelled(j))
            return true;
        if (left <= 0)
            return false;
        if (left > SLICE_MS)
            left = SLICE_MS;
        ts = (struct timespec){.tv_sec = 0, .tv_nsec = left * 1000000L};
        nanosleep(&ts, NULL);
    }
}

typedef struct plan {
    long long steps, step_ms, fail_attempts, crash_after;
    bool hang, crash;
    const char *fail; /* NULL, "retryable" or "fatal" */
    json_object *result;
} plan;

static int
read_plan(json_object *conf, plan *p, js_err *err)
{
    static const char *const fails[] = {"retryable", "fatal", NULL};

    *p = (plan){.crash_after = -1};
    if (js_get_int(conf, "steps", false, 0, 100000, &p->steps, err) == JS_INVALID
        || js_get_int(conf, "step_ms", false, 0, 3600000, &p->step_ms, err) == JS_INVALID
        || js_get_int(conf, "fail_attempts", false, 0, 1000, &p->fail_attempts, err) == JS_INVALID
        || js_get_int(conf, "crash_after_steps", false, 0, 100000, &p->crash_after, err)
               == JS_INVALID
        || js_get_bool(conf, "hang", false, &p->hang, err) == JS_INVALID
        || js_get_bool(conf, "crash", false, &p->crash, err) == JS_INVALID
        || js_get_enum(conf, "fail", false, fails, &p->fail, err) == JS_INVALID
        || js_get_object(conf, "result", false, &p->result, err) == JS_INVALID)
        return -1;
    return 0;
}

static void
run_job(worker_job *j, void *ud)
{
    int attempt = worker_job_attempt(j);
    json_object *result;
    js_err err;
    plan p;

    (void)ud;
    if (read_plan(worker_job_config(j), &p, &err) != 0) {
        worker_job_fail(j, false, "bad fake config: %s", err.message);
        done(j, "failed");
        return;
    }
    if (p.crash || p.crash_after == 0)
        _exit(3);
    if (p.crash_after > p.steps)
        p.steps = p.crash_after;
    for (long long i = 1; i <= p.steps; i++) {
        char msg[64];
        int rc;

        if (wait_ms(j, (long)p.step_ms)) {
            done(j, why_stopped(j));
            return;
        }
        snprintf(msg, sizeof(msg), "step %lld of %lld", i, p.steps);
        rc = worker_progress(j, (int)(100 * i / p.steps), msg);
        if (i == p.crash_after)
            _exit(3);
        if (rc != 0) {
            done(j, rc == 1 ? "cancelled" : "lost");
            return;
        }
    }
    if (p.hang) {
        while (!wait_ms(j, 1000))
            continue;
        done(j, why_stopped(j));
        return;
    }
    if (p.fail != NULL || attempt <= p.fail_attempts) {
        worker_job_fail(j, p.fail == NULL || strcmp(p.fail, "retryable") == 0, "fake failure");
        done(j, "failed");
        return;
    }
    if (p.result != NULL) {
        result = NULL; /* json_object_deep_copy wants an empty destination */
        if (json_object_deep_copy(p.result, &result, NULL) != 0) {
            worker_job_fail(j, true, "out of memory");
            done(j, "failed");
            return;
        }
    } else {
        result = json_object_new_object();
        json_object_object_add(result, "worker_id", json_object_new_string(g_id));
        json_object_object_add(result, "attempt", json_object_new_int(attempt));
    }
    worker_job_succeed(j, result);
    done(j, "completed");
}

/* Split the comma list into types[] (names point into buf). */
static size_t
parse_types(char *buf, worker_type *types)
{
    size_t n = 0;
    char *save = NULL;

    for (char *t = strtok_r(buf, ", ", &save); t != NULL; t = strtok_r(NULL, ", ", &save)) {
        if (n == MAX_TYPES)
            return 0;
        types[n++] = (worker_type){.job_type = t, .fn = run_job};
    }
    return n;
}

int
main(void)
{
    static worker_type types[MAX_TYPES];
    static char type_buf[1024];
    char err[512], host[64] = "host";
    worker_config wc = {0};
    sigset_t sigs;
    cfg *c = cfg_new();
    log_level lvl = LOGL_INFO;
    bus *b = NULL;
    worker *w = NULL;
    int sig = 0, rc = 1;

    log_init("fake-worker", LOGL_INFO);
    if (c == NULL || cfg_add(c, g_vars, sizeof(g_vars) / sizeof(g_vars[0])) != 0
        || cfg_load(c, err, sizeof(err)) != 0) {
        log_error("configuration: %s", c != NULL ? err : "out of memory");
        goto out;
    }
    if (log_level_parse(cfg_str(c, "LOG_LEVEL"), &lvl) != 0) {
        log_error("configuration: LOG_LEVEL must be debug, info, warn or error");
        goto out;
    }
    log_set_level(lvl);
    if (cfg_str(c, "WORKER_ID") != NULL) {
        util_strlcpy(g_id, cfg_str(c, "WORKER_ID"), sizeof(g_id));
    } else {
        gethostname(host, sizeof(host));
        host[sizeof(host) - 1] = '\0';
        snprintf(g_id, sizeof(g_id), "fake-worker-%s-%ld", host, (long)getpid());
    }
    util_strlcpy(type_buf, cfg_str(c, "WORKER_JOB_TYPES"), sizeof(type_buf));
    wc = (worker_config){.worker_id = g_id,
                         .service = "fake-worker",
                         .types = types,
                         .ntypes = parse_types(type_buf, types),
                         .concurrency = (int)cfg_int(c, "WORKER_CONCURRENCY"),
                         .lease_seconds = (int)cfg_int(c, "LEASE_SECONDS"),
                         .poll_ms = (int)cfg_int(c, "POLL_MS"),
                         .stop_timeout_ms = (int)cfg_int(c, "STOP_TIMEOUT_MS")};

    /* Every thread started from here on inherits the blocked signals, so
     * only sigwait below sees them. */
    sigemptyset(&sigs);
    sigaddset(&sigs, SIGTERM);
    sigaddset(&sigs, SIGINT);
    pthread_sigmask(SIG_BLOCK, &sigs, NULL);

    if (bus_connect(cfg_str(c, "NATS_URL"), "fake-worker", &b) != BUS_OK)
        goto out;
    if (worker_start(b, &wc, &w) != 0)
        goto out;
    while (sig != SIGTERM && sig != SIGINT) {
        if (sigwait(&sigs, &sig) != 0)
            break;
    }
    log_msg(LOGL_INFO, LOG_FIELDS(LF_INT("signal", sig)), "stopping");
    rc = 0;
out:
    worker_stop(w);
    bus_close(b);
    cfg_free(c);
    return rc;
}
