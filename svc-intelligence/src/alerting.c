/* alerting: see alerting.h. */
#include "alerting.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alert_rules.h"
#include "intel.h"
#include "log.h"
#include "ticker.h"
#include "util.h"

#define SWEEP_PAGE 500

/* intelligence_alerts_total: set once by alerting_metrics before any thread
 * evaluates, then only read. */
static metrics_family *changes;

int
alerting_metrics(metrics_registry *reg)
{
    static const char *const labels[] = {"type", "change"};
    changes =
        metrics_counter(reg, "intelligence_alerts_total",
                        "Alerts opened, updated and resolved by the rules, by type", labels, 2);
    return changes ? 0 : -1;
}

static void
count(alert_type type, const char *change)
{
    const char *labels[] = {alert_type_name(type), change};
    if (changes)
        metrics_inc(changes, labels, 1);
}

/* An evaluation after a score or an event raises and resolves; the sweep
 * only resolves. */
typedef enum { EVAL_EVENT = 0, EVAL_SWEEP } eval_mode;

static void
rfc3339_ms(int64_t ms, char at[UTIL_RFC3339_LEN + 1])
{
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    util_rfc3339(&ts, at);
}

static json_object *
details_json(const alert_verdict *v)
{
    json_object *o = json_object_new_object();
    for (size_t i = 0; i < v->ndetails; i++) {
        const alert_detail *d = &v->details[i];
        char buf[UTIL_RFC3339_LEN + 32];
        json_object *x;
        switch (d->kind) {
        case AD_TIME:
            rfc3339_ms(d->value * 1000, buf);
            x = json_object_new_string(buf);
            break;
        case AD_MONEY: /* exact: a decimal string, as money elsewhere */
            snprintf(buf, sizeof(buf), "%" PRId64 ".%04" PRId64, d->value / 10000,
                     d->value % 10000);
            x = json_object_new_string(buf);
            break;
        case AD_TEXT:
            x = json_object_new_string(d->text);
            break;
        default:
            x = json_object_new_int64(d->value);
        }
        json_object_object_add(o, d->name, x);
    }
    return o;
}

/* Raise (or update), resolve, or leave the open alert of (type, subject). */
static store_status
apply(store *s, eval_mode mode, alert_type type, const char *client_id, const char *subject,
      const alert_verdict *v, int64_t now_ms, long *resolved)
{
    char at[UTIL_RFC3339_LEN + 1];
    bool changed = false;
    store_status st = ST_OK;
    alert_effect effect = alert_effect_of(v->action, mode == EVAL_SWEEP);
    rfc3339_ms(now_ms, at);
    if (effect == ALERT_DO_UPSERT) {
        json_object *d = details_json(v);
        st =
            store_alert_raise(s, alert_type_name(type), alert_severity_name(v->severity), client_id,
                              subject, v->message, js_text(d, NULL), at, &changed, NULL);
        json_object_put(d);
        if (st == ST_OK)
            count(type, changed ? "opened" : "updated");
        if (st == ST_OK && changed)
            log_msg(LOGL_INFO,
                    LOG_FIELDS(LF_STR("alert_type", alert_type_name(type)),
                               LF_STR("subject", subject),
                               LF_STR("severity", alert_severity_name(v->severity))),
                    "alert raised"); /* not the message: it may quote an outside error */
    } else if (effect == ALERT_DO_RESOLVE) {
        st = store_alert_resolve(s, alert_type_name(type), subject, at, &changed);
        if (st == ST_OK && changed && resolved)
            (*resolved)++;
        if (st == ST_OK && changed) {
            count(type, "resolved");
            log_msg(
                LOGL_INFO,
                LOG_FIELDS(LF_STR("alert_type", alert_type_name(type)), LF_STR("subject", subject)),
                "alert resolved");
        }
    }
    if (st != ST_OK)
        log_msg(LOGL_WARN,
                LOG_FIELDS(LF_STR("alert_type", alert_type_name(type)), LF_STR("subject", subject),
                           LF_INT("status", st)),
                "alert not updated");
    return st;
}

/* Evaluations of one subject run one at a time in this daemon (event
 * threads, requests and the sweep), so that a raise and a resolve computed
 * from facts read in one order cannot be written in the other. Replicas can
 * still interleave (README "Alerts"). Striped: subjects share 64 locks. */
#define SUBJECT_LOCKS 64
static pthread_mutex_t subject_locks[SUBJECT_LOCKS] = {[0 ... SUBJECT_LOCKS - 1] =
                                                           PTHREAD_MUTEX_INITIALIZER};

static pthread_mutex_t *
subject_lock(const char *key)
{
    uint32_t h = 2166136261u; /* FNV-1a */
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 16777619u;
    pthread_mutex_t *m = &subject_locks[h % SUBJECT_LOCKS];
    pthread_mutex_lock(m);
    return m;
}

/* One score rule, or both (type ALERT_NTYPES). */
static store_status
eval_scores_in(store *s, eval_mode mode, alert_type type, const char *client_id, int64_t now_ms,
               long *resolved)
{
    alert_scores in;
    alert_verdict v;
    store_status st = store_alert_scores(s, client_id, now_ms, &in);
    /* A clear verdict on an alert that is not open has nothing to do: no
     * statement (most scores of most clients). */
    if (st == ST_OK && type != ALERT_HEALTH_CRITICAL) {
        alert_score_drop(&in, now_ms / 1000, &v);
        if (v.action != ALERT_CLEAR || in.drop_open)
            st = apply(s, mode, ALERT_SCORE_DROP, client_id, client_id, &v, now_ms, resolved);
    }
    if (st == ST_OK && type != ALERT_SCORE_DROP) {
        alert_health_critical(&in, &v);
        if (v.action != ALERT_CLEAR || in.critical_open)
            st = apply(s, mode, ALERT_HEALTH_CRITICAL, client_id, client_id, &v, now_ms, resolved);
    }
    return st;
}

static store_status
eval_jobs_in(store *s, eval_mode mode, const char *client_id, int64_t now_ms, long *resolved)
{
    alert_job *jobs = NULL;
    alert_verdict v;
    size_t n = 0;
    store_status st = store_alert_jobs(s, client_id, now_ms, &jobs, &n);
    if (st == ST_OK) {
        alert_job_failure_rate(jobs, n, now_ms / 1000, &v);
        st = apply(s, mode, ALERT_JOB_FAILURE_RATE, client_id, client_id, &v, now_ms, resolved);
    }
    free(jobs);
    return st;
}

static store_status
eval_integration_in(store *s, eval_mode mode, const char *integration_id, int64_t now_ms,
                    long *resolved)
{
    alert_check checks[ALERT_CHECKS_CRITICAL];
    alert_verdict v;
    char client_id[37];
    size_t n = 0;
    store_status st =
        store_alert_checks(s, integration_id, checks, ALERT_CHECKS_CRITICAL, &n, client_id);
    if (st != ST_OK)
        return st;
    alert_integration_unhealthy(checks, n, &v);
    return apply(s, mode, ALERT_INTEGRATION_UNHEALTHY, client_id[0] ? client_id : NULL,
                 integration_id, &v, now_ms, resolved);
}

static store_status
eval_sync_in(store *s, eval_mode mode, const char *client_id, const char *source_type,
             int64_t now_ms, long *resolved)
{
    alert_run runs[ALERT_SYNC_HIGH];
    alert_verdict v;
    char subject[ALERT_SUBJECT_MAX + 1];
    size_t n = 0;
    if (!alert_sync_subject(client_id, source_type, subject, sizeof(subject))) {
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("source_type", source_type)),
                "sync run not evaluated for alerts: its source type is too long or has a '/'");
        return ST_OK;
    }
    store_status st = store_alert_runs(s, client_id, source_type, runs, ALERT_SYNC_HIGH, &n);
    if (st != ST_OK)
        return st;
    alert_sync_failed(runs, n, source_type, &v);
    return apply(s, mode, ALERT_SYNC_FAILED, client_id && *client_id ? client_id : NULL, subject,
                 &v, now_ms, resolved);
}

static store_status
eval_usage_in(store *s, eval_mode mode, const char *business_id, int64_t now_ms, long *resolved)
{
    alert_usage *rows = NULL;
    alert_verdict v;
    char client_id[37];
    size_t n = 0;
    store_status st = store_alert_usage(s, business_id, now_ms, &rows, &n, client_id);
    if (st == ST_OK) {
        alert_usage_over_budget(rows, n, now_ms / 1000, &v);
        st = apply(s, mode, ALERT_USAGE_OVER_BUDGET, client_id[0] ? client_id : NULL, business_id,
                   &v, now_ms, resolved);
    }
    free(rows);
    return st;
}

/* The evaluations above, each under its subject's lock. */
static store_status
eval_scores(store *s, eval_mode mode, alert_type type, const char *client_id, int64_t now_ms,
            long *resolved)
{
    pthread_mutex_t *m = subject_lock(client_id);
    store_status st = eval_scores_in(s, mode, type, client_id, now_ms, resolved);
    pthread_mutex_unlock(m);
    return st;
}

static store_status
eval_jobs(store *s, eval_mode mode, const char *client_id, int64_t now_ms, long *resolved)
{
    pthread_mutex_t *m = subject_lock(client_id);
    store_status st = eval_jobs_in(s, mode, client_id, now_ms, resolved);
    pthread_mutex_unlock(m);
    return st;
}

static store_status
eval_integration(store *s, eval_mode mode, const char *integration_id, int64_t now_ms,
                 long *resolved)
{
    pthread_mutex_t *m = subject_lock(integration_id);
    store_status st = eval_integration_in(s, mode, integration_id, now_ms, resolved);
    pthread_mutex_unlock(m);
    return st;
}

static store_status
eval_sync(store *s, eval_mode mode, const char *client_id, const char *source_type, int64_t now_ms,
          long *resolved)
{
    pthread_mutex_t *m = subject_lock(source_type);
    store_status st = eval_sync_in(s, mode, client_id, source_type, now_ms, resolved);
    pthread_mutex_unlock(m);
    return st;
}

static store_status
eval_usage(store *s, eval_mode mode, const char *business_id, int64_t now_ms, long *resolved)
{
    pthread_mutex_t *m = subject_lock(business_id);
    store_status st = eval_usage_in(s, mode, business_id, now_ms, resolved);
    pthread_mutex_unlock(m);
    return st;
}

store_status
alerting_scores(store *s, const char *client_id, int64_t now_ms)
{
    return eval_scores(s, EVAL_EVENT, ALERT_NTYPES, client_id, now_ms, NULL);
}

store_status
alerting_jobs(store *s, const char *client_id, int64_t now_ms)
{
    return eval_jobs(s, EVAL_EVENT, client_id, now_ms, NULL);
}

store_status
alerting_integration(store *s, const char *integration_id, int64_t now_ms)
{
    return eval_integration(s, EVAL_EVENT, integration_id, now_ms, NULL);
}

store_status
alerting_sync(store *s, const char *client_id, const char *source_type, int64_t now_ms)
{
    return eval_sync(s, EVAL_EVENT, client_id, source_type, now_ms, NULL);
}

store_status
alerting_usage(store *s, const char *business_id, int64_t now_ms)
{
    return eval_usage(s, EVAL_EVENT, business_id, now_ms, NULL);
}

void
alerting_on_event(intel *s, const char *kind, const char *client_id, const char *subject,
                  int64_t now)
{
    char source_type[ALERT_SUBJECT_MAX + 1];
    int64_t now_ms = now * 1000 + 999;
    if (strcmp(kind, "job") == 0 && client_id)
        alerting_jobs(s->store, client_id, now_ms);
    else if (strcmp(kind, "health") == 0)
        alerting_integration(s->store, subject, now_ms);
    else if (strcmp(kind, "usage") == 0)
        alerting_usage(s->store, subject, now_ms);
    else if (strcmp(kind, "sync") == 0
             && store_alert_run_source(s->store, subject, source_type, sizeof(source_type))
                    == ST_OK)
        alerting_sync(s->store, client_id, source_type, now_ms);
}

/* One open alert, by its type and subject. A subject its rule cannot read
 * (never written by this daemon) is left alone. */
static store_status
sweep_one(store *s, const char *type_name, const char *subject, int64_t now_ms, long *resolved)
{
    char client_id[64], source_type[ALERT_SUBJECT_MAX + 1];
    alert_type type = alert_type_of(type_name);
    switch (type) {
    case ALERT_SCORE_DROP:
    case ALERT_HEALTH_CRITICAL:
        return util_uuid_valid(subject)
                   ? eval_scores(s, EVAL_SWEEP, type, subject, now_ms, resolved)
                   : ST_OK;
    case ALERT_JOB_FAILURE_RATE:
        return util_uuid_valid(subject) ? eval_jobs(s, EVAL_SWEEP, subject, now_ms, resolved)
                                        : ST_OK;
    case ALERT_INTEGRATION_UNHEALTHY:
        return util_uuid_valid(subject) ? eval_integration(s, EVAL_SWEEP, subject, now_ms, resolved)
                                        : ST_OK;
    case ALERT_SYNC_FAILED:
        if (!alert_sync_subject_parse(subject, client_id, sizeof(client_id), source_type,
                                      sizeof(source_type))
            || (client_id[0] && !util_uuid_valid(client_id)))
            return ST_OK;
        return eval_sync(s, EVAL_SWEEP, client_id, source_type, now_ms, resolved);
    case ALERT_USAGE_OVER_BUDGET:
        return eval_usage(s, EVAL_SWEEP, subject, now_ms, resolved);
    default:
        return ST_OK;
    }
}

store_status
alerting_sweep(store *s, int64_t now_ms, long *resolved)
{
    char after[64] = "";
    store_status failed = ST_OK;
    *resolved = 0;
    for (;;) {
        json_object *keys = NULL;
        store_status st = store_alert_open(s, after[0] ? after : NULL, SWEEP_PAGE, &keys);
        if (st != ST_OK)
            return st;
        size_t n = json_object_array_length(keys);
        for (size_t i = 0; i < n && st != ST_UNAVAILABLE; i++) {
            json_object *k = json_object_array_get_idx(keys, i), *id, *type, *subject;
            json_object_object_get_ex(k, "id", &id);
            json_object_object_get_ex(k, "type", &type);
            json_object_object_get_ex(k, "subject", &subject);
            util_strlcpy(after, json_object_get_string(id), sizeof(after));
            /* One alert that fails is logged by apply; the others go on. */
            st = sweep_one(s, json_object_get_string(type), json_object_get_string(subject), now_ms,
                           resolved);
            if (st != ST_OK)
                failed = st;
        }
        json_object_put(keys);
        if (st == ST_UNAVAILABLE)
            return st;
        if (n < SWEEP_PAGE)
            return failed;
    }
}

struct alerting_sweeper {
    store *s;
    bool down; /* the last sweep failed: log once per outage */
    ticker *t;
};

static void
sweep_once(void *arg)
{
    alerting_sweeper *w = arg;
    long resolved = 0;
    store_status st = alerting_sweep(w->s, util_now_ms(), &resolved);
    if (st == ST_OK && resolved > 0)
        log_msg(LOGL_INFO, LOG_FIELDS(LF_INT("resolved", resolved)),
                "alert sweep resolved alerts whose condition cleared");
    if (st != ST_OK && !w->down)
        log_msg(LOGL_WARN, LOG_FIELDS(LF_INT("status", st)), "alert sweep failed; retrying");
    else if (st == ST_OK && w->down)
        log_info("alert sweep works again");
    w->down = st != ST_OK;
}

alerting_sweeper *
alerting_sweeper_start(store *s, int interval_ms)
{
    alerting_sweeper *w = calloc(1, sizeof(*w));
    if (!w)
        return NULL;
    w->s = s;
    /* Not at once: at start the events being consumed evaluate anyway. */
    if (!(w->t = ticker_start(interval_ms, false, sweep_once, w))) {
        free(w);
        return NULL;
    }
    return w;
}

void
alerting_sweeper_stop(alerting_sweeper *w)
{
    if (!w)
        return;
    ticker_stop(w->t);
    free(w);
}
