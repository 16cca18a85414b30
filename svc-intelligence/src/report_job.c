/* report_job: the report_generation job; see report_job.h. The job is
 * idempotent: a second run of the same job (delivery is at least once)
 * rewrites its report rather than adding one. */
#include "report_job.h"

#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "report.h"
#include "store_recs.h"
#include "util.h"

static const worker_type report_types[] = {{"report_generation", report_job_run, NULL}};

int
report_job_start(intel *s, int concurrency, worker **out)
{
    static worker_type types[1];
    *out = NULL;
    if (concurrency <= 0) {
        log_info("REPORT_WORKERS is 0: this replica runs no report_generation jobs");
        return 0;
    }
    types[0] = report_types[0];
    types[0].ud = s;
    worker_config wc = {
        .service = "svc-intelligence",
        .types = types,
        .ntypes = 1,
        .concurrency = concurrency,
        .metrics = app_metrics(s->app),
    };
    return worker_start(app_bus(s->app), &wc, out);
}

/* The job's client and window: false after failing the job. */
static bool
job_config(worker_job *j, const char **client, int *days)
{
    static const char *const known[] = {"client_id", "days", NULL};
    json_object *conf = worker_job_config(j);
    long long d = REPORT_DAYS_DEFAULT;
    js_err je;
    *client = NULL;
    if (js_reject_unknown(conf, known, &je) != JS_OK
        || js_get_uuid(conf, "client_id", false, client, &je) == JS_INVALID
        || js_get_int(conf, "days", false, 1, REPORT_DAYS_MAX, &d, &je) == JS_INVALID) {
        worker_job_fail(j, false, "config: %s", je.message);
        return false;
    }
    if (!*client)
        *client = worker_job_client_id(j);
    *days = (int)d;
    return true;
}

/* Render and keep: the report's id, or a store status (ST_ERROR also when
 * the CSV could not be rendered). */
static store_status
render(store *st, worker_job *j, const char *client, int days, json_object *data, int64_t now_ms,
       const char *at, char id[RECS_ID_MAX])
{
    json_object *doc = report_build(data, now_ms, days);
    char *csv = report_csv(doc);
    store_status rc = ST_ERROR;
    if (csv)
        rc = store_report_save(st, client, worker_job_id(j), days, at, js_text(doc, NULL), csv, id);
    free(csv);
    json_object_put(doc);
    return rc;
}

void
report_job_run(worker_job *j, void *ud)
{
    intel *s = ud;
    const char *client = NULL;
    int days = REPORT_DAYS_DEFAULT;
    char at[UTIL_RFC3339_LEN + 1], id[RECS_ID_MAX];
    json_object *data = NULL;
    if (!job_config(j, &client, &days))
        return;
    /* One moment for the reading and the document: the window's edges in
     * the JSON are exactly those read. */
    int64_t now_ms = util_now_ms();
    struct timespec ts = {.tv_sec = (time_t)(now_ms / 1000),
                          .tv_nsec = (long)(now_ms % 1000) * 1000000L};
    util_rfc3339(&ts, at);
    store_status st = store_report_data(s->store, client, at, days, &data);
    if (st == ST_NOT_FOUND) {
        worker_job_fail(j, false, "client %s not found", client);
        return;
    }
    if (st != ST_OK) {
        worker_job_fail(j, true, "reading the report's data failed; try again");
        return;
    }
    if (worker_progress(j, 50, "rendering") != 0) {
        json_object_put(data);
        return; /* cancelled or lost: nobody wants the outcome */
    }
    st = render(s->store, j, client, days, data, now_ms, at, id);
    json_object_put(data);
    if (st != ST_OK) {
        worker_job_fail(j, st != ST_NOT_FOUND, "keeping the report failed");
        return;
    }
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("client_id", client), LF_STR("report_id", id)),
            "report generated");
    json_object *result = json_object_new_object();
    json_object_object_add(result, "report_id", json_object_new_string(id));
    worker_job_succeed(j, result);
}
