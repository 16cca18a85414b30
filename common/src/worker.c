/* worker: start and stop, and the claimer thread (jobs.claim, woken by
 * jobs.ready.<type>). A job's own thread, its lease renewal, progress and
 * outcome are in worker_job.c. See worker_internal.h for the locking and
 * lifetime rules. */
#include "worker.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"
#include "worker_internal.h"

#define BACKOFF_MIN_MS 100
#define BACKOFF_MAX_MS 5000

/* The jobs.ready handler gets a worker's serial, not its address: the
 * subscription outlives the worker (bus.h cannot unsubscribe), so the handler
 * looks the worker up here and finds nothing once it is stopped. Lock order:
 * g_live_mu before any worker's mu. */
static pthread_mutex_t g_live_mu = PTHREAD_MUTEX_INITIALIZER;
static worker *g_live;
static uint64_t g_serial;

static const char *const g_outcomes[] = {"completed", "failed", "cancelled", "lost", "released"};

void
worker_i_wait(worker *w, int64_t deadline_ns)
{
    struct timespec ts;

    if (deadline_ns <= 0) {
        pthread_cond_wait(&w->cv, &w->mu);
        return;
    }
    /* util_mono_ns reads CLOCK_MONOTONIC, the clock of w->cv. */
    ts.tv_sec = (time_t)(deadline_ns / 1000000000LL);
    ts.tv_nsec = (long)(deadline_ns % 1000000000LL);
    pthread_cond_timedwait(&w->cv, &w->mu, &ts);
}

static void
worker_free(worker *w)
{
    pthread_cond_destroy(&w->cv);
    pthread_mutex_destroy(&w->mu);
    free(w);
}

void
worker_i_unref_unlock(worker *w)
{
    bool last = --w->refs == 0;

    pthread_mutex_unlock(&w->mu);
    if (last)
        worker_free(w);
}

void
worker_i_account(worker *w, const worker_job *j, const char *outcome)
{
    const char *labels[2] = {j->job_type, outcome};
    char rid[129];
    long long ms = (util_mono_ns() - j->started_ns) / 1000000;

    if (strcmp(outcome, "released") == 0)
        w->released++;
    metrics_inc(w->m_total, labels, 1);
    metrics_set(w->m_running, NULL, w->njobs);
    /* The end line is findable by the job id whichever thread writes it. */
    util_strlcpy(rid, log_request_id(), sizeof(rid));
    log_set_request_id(j->id);
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("job_id", j->id), LF_STR("job_type", j->job_type),
                       LF_INT("attempt", j->attempt), LF_STR("outcome", outcome),
                       LF_INT("duration_ms", ms)),
            "job finished");
    log_set_request_id(rid);
}

static void
on_ready(bus_msg *m, void *ud)
{
    uint64_t serial = (uint64_t)(uintptr_t)ud;

    (void)m;
    pthread_mutex_lock(&g_live_mu);
    for (worker *w = g_live; w != NULL; w = w->next_live) {
        if (w->serial == serial) {
            pthread_mutex_lock(&w->mu);
            w->wake = true;
            pthread_cond_broadcast(&w->cv);
            pthread_mutex_unlock(&w->mu);
            break;
        }
    }
    pthread_mutex_unlock(&g_live_mu);
}

/* ---- claiming ---- */

/* Ask for up to max jobs. BUS_OK with *jobs (a new reference, an array) or an
 * error; *why says what went wrong for the log. */
json_object *
worker_i_claim_body(const worker *w, int max)
{
    json_object *body = json_object_new_object();
    json_object *types = json_object_new_array();

    for (size_t i = 0; i < w->ntypes; i++)
        json_object_array_add(types, json_object_new_string(w->types[i].job_type));
    json_object_object_add(body, "worker_id", json_object_new_string(w->id));
    json_object_object_add(body, "job_types", types);
    json_object_object_add(body, "max", json_object_new_int(max));
    json_object_object_add(body, "lease_seconds", json_object_new_int(w->lease_ms / 1000));
    return body;
}

static bus_status
claim_request(worker *w, int max, json_object **doc, json_object **jobs, const char **why)
{
    bus_status st;

    *doc = NULL;
    *jobs = NULL;
    st = worker_i_request(w, "jobs.claim", worker_i_claim_body(w, max), doc);
    *why = bus_status_name(st);
    if (st != BUS_OK)
        return st;
    if (!json_object_object_get_ex(*doc, "jobs", jobs)
        || !json_object_is_type(*jobs, json_type_array)) {
        json_object *err = NULL;

        *why = json_object_object_get_ex(*doc, "error", &err) ? "error reply" : "bad reply";
        *jobs = NULL;
        json_object_put(*doc);
        *doc = NULL;
        return BUS_ERR_OTHER;
    }
    return BUS_OK;
}

/* Start the claimed jobs (at most max of them); release the rest, and all of
 * them when the worker is stopping. Returns how many were in the answer. */
static int
claim_start(worker *w, json_object *arr, int max, int64_t sent_ns)
{
    size_t n = json_object_array_length(arr);
    worker_job *started[WORKER_MAX_CONCUR];
    int nstarted = 0;

    pthread_mutex_lock(&w->mu);
    for (size_t i = 0; i < n; i++) {
        worker_job *j = worker_i_job_new(w, json_object_array_get_idx(arr, i), sent_ns);

        if (j == NULL)
            continue;
        if (w->stopping || nstarted >= max) {
            const char *why = w->stopping ? "worker stopping" : "more jobs than asked for";

            pthread_mutex_unlock(&w->mu);
            worker_i_release(w, j->id, j->attempt, why);
            worker_i_job_free(j);
            pthread_mutex_lock(&w->mu);
            continue;
        }
        j->next = w->jobs;
        w->jobs = j;
        w->njobs++;
        w->refs++;
        started[nstarted++] = j;
    }
    metrics_set(w->m_running, NULL, w->njobs);
    pthread_cond_broadcast(&w->cv); /* the renewer has new leases to keep */
    pthread_mutex_unlock(&w->mu);

    for (int i = 0; i < nstarted; i++) {
        worker_job *j = started[i];

        if (worker_i_job_start(j) == 0)
            continue;
        log_error("cannot start a thread for job %s; handing it back", j->id);
        pthread_mutex_lock(&w->mu);
        for (worker_job **pp = &w->jobs; *pp != NULL; pp = &(*pp)->next) {
            if (*pp == j) {
                *pp = j->next;
                break;
            }
        }
        w->njobs--;
        w->refs--;
        while (j->pins > 0)
            worker_i_wait(w, 0);
        worker_i_account(w, j, "released");
        pthread_cond_broadcast(&w->cv);
        pthread_mutex_unlock(&w->mu);
        worker_i_release(w, j->id, j->attempt, "worker cannot start a thread");
        worker_i_job_free(j);
    }
    return (int)n;
}

static void *
claimer_main(void *arg)
{
    worker *w = arg;
    int64_t next_ns = 0;
    int backoff_ms = 0, failures = 0;
    bool timed_out = false;

    pthread_mutex_lock(&w->mu);
    for (;;) {
        json_object *doc = NULL, *arr = NULL;
        const char *why = NULL;
        int max, got;
        int64_t sent_ns;
        bus_status st;

        while (!w->stopping) {
            int64_t now = util_mono_ns();

            if (w->njobs >= w->concurrency)
                worker_i_wait(w, 0); /* a finishing job broadcasts */
            else if (now >= next_ns || (w->wake && (backoff_ms == 0 || timed_out)))
                break;
            else
                worker_i_wait(w, next_ns);
        }
        if (w->stopping)
            break;
        max = w->concurrency - w->njobs;
        w->wake = false;
        pthread_mutex_unlock(&w->mu);

        sent_ns = util_mono_ns();
        st = claim_request(w, max, &doc, &arr, &why);
        got = st == BUS_OK ? claim_start(w, arr, max, sent_ns) : 0;
        json_object_put(doc);

        pthread_mutex_lock(&w->mu);
        if (st != BUS_OK) {
            /* A timeout may be svc-automation busy rather than away: then a
             * jobs.ready (it is up) cuts the back-off short. */
            timed_out = st == BUS_ERR_TIMEOUT;
            backoff_ms = backoff_ms == 0 ? BACKOFF_MIN_MS : backoff_ms * 2;
            if (backoff_ms > BACKOFF_MAX_MS)
                backoff_ms = BACKOFF_MAX_MS;
            next_ns = util_mono_ns() + (int64_t)backoff_ms * 1000000;
            /* Once per outage, not once per try. */
            if (failures++ == 0)
                log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("worker_id", w->id), LF_STR("reason", why)),
                        "cannot claim jobs; retrying with back-off up to %d ms", BACKOFF_MAX_MS);
            continue;
        }
        if (failures > 0)
            log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("worker_id", w->id), LF_INT("tries", failures)),
                    "claiming jobs again");
        failures = 0;
        backoff_ms = 0;
        timed_out = false;
        w->saturated = got >= max;
        next_ns = util_mono_ns() + (int64_t)w->poll_ms * 1000000;
    }
    pthread_mutex_unlock(&w->mu);
    return NULL;
}

/* ---- start ---- */

static bool
type_name_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > WORKER_FIELD_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    }
    return true;
}

/* Defaults for zero, -1 for out of range. */
static int
pick(int v, int def, int min, int max)
{
    if (v == 0)
        return def;
    return v < min || v > max ? -1 : v;
}

static int
check_config(const worker_config *cfg, worker *w)
{
    if (cfg->types == NULL || cfg->ntypes == 0 || cfg->ntypes > WORKER_MAX_TYPES) {
        log_error("worker: between 1 and %d job types are needed", WORKER_MAX_TYPES);
        return -1;
    }
    for (size_t i = 0; i < cfg->ntypes; i++) {
        if (!type_name_ok(cfg->types[i].job_type) || cfg->types[i].fn == NULL) {
            log_error("worker: job type %zu needs a name of [a-z0-9_] and a handler", i);
            return -1;
        }
        for (size_t k = 0; k < i; k++) {
            if (strcmp(cfg->types[k].job_type, cfg->types[i].job_type) == 0) {
                log_error("worker: job type %s given twice", cfg->types[i].job_type);
                return -1;
            }
        }
    }
    w->concurrency = pick(cfg->concurrency, 4, 1, WORKER_MAX_CONCUR);
    w->lease_ms = pick(cfg->lease_seconds, 30, 1, 3600) * 1000;
    w->poll_ms = pick(cfg->poll_ms, 2000, 10, 3600000);
    w->request_timeout_ms = pick(cfg->request_timeout_ms, 2000, 10, 600000);
    w->stop_timeout_ms = pick(cfg->stop_timeout_ms, 10000, 1, 3600000);
    if (w->concurrency < 0 || w->lease_ms < 0 || w->poll_ms < 0 || w->request_timeout_ms < 0
        || w->stop_timeout_ms < 0) {
        log_error("worker: concurrency 1..%d, lease_seconds 1..3600, poll_ms, "
                  "request_timeout_ms and stop_timeout_ms >= 10 (or 0 for the default)",
                  WORKER_MAX_CONCUR);
        return -1;
    }
    if (cfg->subject_prefix != NULL
        && util_strlcpy(w->prefix, cfg->subject_prefix, sizeof(w->prefix)) >= sizeof(w->prefix)) {
        log_error("worker: subject_prefix longer than %zu bytes", sizeof(w->prefix) - 1);
        return -1;
    }
    if (cfg->worker_id != NULL && cfg->worker_id[0] != '\0') {
        if (util_strlcpy(w->id, cfg->worker_id, sizeof(w->id)) >= sizeof(w->id)) {
            log_error("worker: worker_id longer than %zu bytes", sizeof(w->id) - 1);
            return -1;
        }
    } else {
        char host[64] = "host";

        if (gethostname(host, sizeof(host)) != 0)
            util_strlcpy(host, "host", sizeof(host));
        host[sizeof(host) - 1] = '\0';
        snprintf(w->id, sizeof(w->id), "%.48s-%s-%ld",
                 cfg->service != NULL && cfg->service[0] != '\0' ? cfg->service : "worker", host,
                 (long)getpid());
    }
    return 0;
}

static void
register_metrics(worker *w, metrics_registry *reg)
{
    static const char *const labels[] = {"job_type", "outcome"};

    if (reg == NULL)
        return;
    w->m_total = metrics_counter(reg, "worker_jobs_total", "Jobs this worker finished, by outcome",
                                 labels, 2);
    w->m_running = metrics_gauge(reg, "worker_jobs_running", "Jobs running now", NULL, 0);
    /* Every series from the start, so a rate() sees the first job. */
    for (size_t i = 0; i < w->ntypes; i++) {
        for (size_t k = 0; k < sizeof(g_outcomes) / sizeof(g_outcomes[0]); k++) {
            const char *v[2] = {w->types[i].job_type, g_outcomes[k]};

            metrics_inc(w->m_total, v, 0);
        }
    }
}

int
worker_start(bus *b, const worker_config *cfg, worker **out)
{
    pthread_condattr_t ca;
    worker *w = NULL;

    if (out != NULL)
        *out = NULL;
    if (b == NULL || cfg == NULL || out == NULL) {
        log_error("worker_start: bus, configuration and out are required");
        return -1;
    }
    w = calloc(1, sizeof(*w));
    if (w == NULL)
        return -1;
    if (check_config(cfg, w) != 0) {
        free(w);
        return -1;
    }
    w->b = b;
    w->types = cfg->types;
    w->ntypes = cfg->ntypes;
    w->refs = 1;
    pthread_mutex_init(&w->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&w->cv, &ca);
    pthread_condattr_destroy(&ca);
    register_metrics(w, cfg->metrics);

    pthread_mutex_lock(&g_live_mu);
    w->serial = ++g_serial;
    w->next_live = g_live;
    g_live = w;
    pthread_mutex_unlock(&g_live_mu);

    for (size_t i = 0; i < w->ntypes; i++) {
        char subject[WORKER_PREFIX_MAX + WORKER_FIELD_MAX + 16];
        bus_status st;

        snprintf(subject, sizeof(subject), "%sjobs.ready.%s", w->prefix, w->types[i].job_type);
        st = bus_subscribe(b, subject, NULL, on_ready, (void *)(uintptr_t)w->serial);
        /* Polling still finds the jobs, only later. */
        if (st != BUS_OK)
            log_warn("worker: cannot subscribe to %s (%s); polling only", subject,
                     bus_status_name(st));
    }
    if (pthread_create(&w->renewer, NULL, worker_i_renewer_main, w) != 0) {
        log_error("worker: cannot start the lease renewer thread");
        worker_stop(w);
        return -1;
    }
    w->renewer_started = true;
    if (pthread_create(&w->claimer, NULL, claimer_main, w) != 0) {
        log_error("worker: cannot start the claimer thread");
        worker_stop(w);
        return -1;
    }
    w->claimer_started = true;
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("worker_id", w->id), LF_INT("concurrency", w->concurrency),
                       LF_INT("job_types", (long long)w->ntypes)),
            "worker started");
    *out = w;
    return 0;
}

/* ---- stop ---- */

/* Hand back every job whose handler is still running: each is taken off the
 * list here, under mu, so its thread will neither complete nor release it. */
static void
release_running(worker *w)
{
    struct {
        char id[WORKER_FIELD_MAX + 1];
        int attempt;
    } out[WORKER_MAX_CONCUR];
    int n = 0;

    pthread_mutex_lock(&w->mu);
    for (worker_job **pp = &w->jobs; *pp != NULL;) {
        worker_job *j = *pp;

        if (j->handler_done) {
            pp = &j->next;
            continue;
        }
        *pp = j->next;
        j->next = NULL;
        j->released = true;
        w->njobs--;
        worker_i_account(w, j, "released");
        if (n < WORKER_MAX_CONCUR) {
            util_strlcpy(out[n].id, j->id, sizeof(out[n].id));
            out[n].attempt = j->attempt;
            n++;
        }
    }
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    for (int i = 0; i < n; i++)
        worker_i_release(w, out[i].id, out[i].attempt, "worker stopping");
}

void
worker_stop(worker *w)
{
    int64_t deadline;
    int released, orphans;

    if (w == NULL)
        return;
    pthread_mutex_lock(&w->mu);
    w->stopping = true;
    pthread_cond_broadcast(&w->cv);
    pthread_mutex_unlock(&w->mu);
    deadline = util_mono_ns() + (int64_t)w->stop_timeout_ms * 1000000;

    /* No claim is in flight after this, so every claimed job is on the list. */
    if (w->claimer_started)
        pthread_join(w->claimer, NULL);

    pthread_mutex_lock(&w->mu);
    for (;;) {
        bool busy = false;

        for (worker_job *j = w->jobs; j != NULL; j = j->next)
            busy = busy || !j->handler_done;
        if (!busy || util_mono_ns() >= deadline)
            break;
        worker_i_wait(w, deadline);
    }
    pthread_mutex_unlock(&w->mu);
    release_running(w);

    /* The rest are sending their outcome (bounded retries); the renewer keeps
     * their leases meanwhile. Then no handler's request may still be using
     * the bus when the caller closes it. */
    pthread_mutex_lock(&w->mu);
    while (w->njobs > 0 || w->inflight > 0)
        worker_i_wait(w, 0);
    w->closed = true;
    pthread_cond_broadcast(&w->cv);
    orphans = w->refs - 1;
    released = w->released;
    pthread_mutex_unlock(&w->mu);
    if (w->renewer_started)
        pthread_join(w->renewer, NULL);

    pthread_mutex_lock(&g_live_mu);
    for (worker **pp = &g_live; *pp != NULL; pp = &(*pp)->next_live) {
        if (*pp == w) {
            *pp = w->next_live;
            break;
        }
    }
    pthread_mutex_unlock(&g_live_mu);

    if (orphans > 0)
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("worker_id", w->id), LF_INT("handlers", orphans)),
                "handlers still running after their jobs were handed back; their memory is kept "
                "until they return");
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("worker_id", w->id), LF_INT("released", released)),
            "worker stopped");
    pthread_mutex_lock(&w->mu);
    worker_i_unref_unlock(w);
}

const char *
worker_id(const worker *w)
{
    return w != NULL ? w->id : "";
}

int
worker_running(const worker *w)
{
    worker *mw = (worker *)w;
    int n;

    if (w == NULL)
        return 0;
    pthread_mutex_lock(&mw->mu);
    n = mw->njobs;
    pthread_mutex_unlock(&mw->mu);
    return n;
}
