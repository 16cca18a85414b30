/* Unit tests for worker.c against a real nats-server (BRAIN_TEST_NATS_URL).
 * The test plays svc-automation: a responder on jobs.claim, jobs.progress,
 * jobs.complete and jobs.release that hands out scripted jobs, answers
 * scripted replies and records what it got. Every test uses a subject prefix
 * of its own (worker_config.subject_prefix), so a real svc-automation on the
 * same server never answers, and a test can leave the subjects unanswered. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>
#include <nats/nats.h>

#include "bus.h"
#include "log.h"
#include "metrics.h"
#include "testlib.h"
#include "testlib_jobs.h"
#include "util.h"
#include "worker.h"

static const char *g_url;
static bus *g_bus;
static int g_lfd = -1;

/* ---- the handler: what it does is in the job's config ---- */

typedef struct hctx {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool gate;
    int running, max_running, finished;
    int rc[TL_FA_JOBS];         /* worker_progress's answer */
    bool cancelled[TL_FA_JOBS]; /* worker_job_cancelled after it */
    bool rid_ok[TL_FA_JOBS];    /* log_request_id() was the job id */
    bool done[TL_FA_JOBS];
} hctx;

static hctx g_h;

static void
h_reset(void)
{
    pthread_mutex_lock(&g_h.mu);
    g_h.gate = false;
    g_h.running = g_h.max_running = g_h.finished = 0;
    memset(g_h.rc, 0, sizeof(g_h.rc));
    memset(g_h.cancelled, 0, sizeof(g_h.cancelled));
    memset(g_h.rid_ok, 0, sizeof(g_h.rid_ok));
    memset(g_h.done, 0, sizeof(g_h.done));
    pthread_mutex_unlock(&g_h.mu);
}

static void
h_open_gate(void)
{
    pthread_mutex_lock(&g_h.mu);
    g_h.gate = true;
    pthread_cond_broadcast(&g_h.cv);
    pthread_mutex_unlock(&g_h.mu);
}

/* Wait (in a handler) until the gate opens or stop_when(j) holds, 20 s at most. */
static void
h_wait(worker_job *j, bool (*stop_when)(const worker_job *))
{
    int64_t deadline = tl_deadline(20000);

    pthread_mutex_lock(&g_h.mu);
    while (!g_h.gate && util_mono_ns() < deadline) {
        struct timespec ts;

        pthread_mutex_unlock(&g_h.mu);
        if (stop_when != NULL && stop_when(j))
            return;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 5000000;
        if (ts.tv_nsec >= 1000000000L) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000L;
        }
        pthread_mutex_lock(&g_h.mu);
        if (!g_h.gate)
            pthread_cond_timedwait(&g_h.cv, &g_h.mu, &ts);
    }
    pthread_mutex_unlock(&g_h.mu);
}

static void
handler(worker_job *j, void *ud)
{
    json_object *cfg = worker_job_config(j), *v = NULL;
    const char *what = json_object_object_get_ex(cfg, "do", &v) ? json_object_get_string(v) : "";
    int n = json_object_object_get_ex(cfg, "n", &v) ? json_object_get_int(v) : 0;

    (void)ud;
    pthread_mutex_lock(&g_h.mu);
    g_h.rid_ok[n] = strcmp(log_request_id(), worker_job_id(j)) == 0;
    if (++g_h.running > g_h.max_running)
        g_h.max_running = g_h.running;
    pthread_mutex_unlock(&g_h.mu);

    if (strcmp(what, "echo") == 0) {
        json_object *r = json_object_new_object();

        json_object_object_add(r, "echo", json_object_get(cfg));
        json_object_object_add(r, "client", json_object_new_string(worker_job_client_id(j)));
        worker_job_succeed(j, r);
    } else if (strcmp(what, "fail") == 0) {
        worker_job_fail(j, true, "boom %d", 7);
    } else if (strcmp(what, "gate") == 0) {
        h_wait(j, NULL);
        worker_job_succeed(j, NULL);
    } else if (strcmp(what, "progress") == 0) {
        g_h.rc[n] = worker_progress(j, 40, "step 2 of 5");
        g_h.cancelled[n] = worker_job_cancelled(j);
        worker_job_succeed(j, NULL); /* ignored unless rc was 0 */
    } else if (strcmp(what, "wait_cancel") == 0) {
        h_wait(j, worker_job_cancelled);
        g_h.cancelled[n] = worker_job_cancelled(j);
    } else if (strcmp(what, "stop_finish") == 0) {
        h_wait(j, worker_job_stopping);
        worker_job_succeed(j, NULL);
    } else if (strcmp(what, "stop_giveup") == 0) {
        h_wait(j, worker_job_stopping);
    } else if (strcmp(what, "ignore_stop") == 0) {
        h_wait(j, NULL);
        g_h.rc[n] = worker_progress(j, 90, NULL);
        worker_job_succeed(j, NULL);
    }
    /* "none": no outcome */

    pthread_mutex_lock(&g_h.mu);
    g_h.running--;
    g_h.finished++;
    g_h.done[n] = true;
    pthread_cond_broadcast(&g_h.cv);
    pthread_mutex_unlock(&g_h.mu);
}

static const worker_type g_types[] = {
    {.job_type = "menu_sync", .fn = handler},
    {.job_type = "health_check", .fn = handler},
};

static worker *
start(tl_fa *f, int concurrency, int lease_s, int poll_ms, metrics_registry *reg)
{
    worker_config cfg = {.worker_id = "w-test",
                         .types = g_types,
                         .ntypes = 2,
                         .concurrency = concurrency,
                         .lease_seconds = lease_s,
                         .poll_ms = poll_ms,
                         .request_timeout_ms = 500,
                         .stop_timeout_ms = 1000,
                         .metrics = reg,
                         .subject_prefix = f->prefix};
    worker *w = NULL;

    assert_int_equal(worker_start(g_bus, &cfg, &w), 0);
    assert_non_null(w);
    return w;
}

/* Whether (in the test) n handlers run at once, or handler a and b are done
 * (b < 0: only a), within TL_WAIT_MS. */
static bool
h_wait_running(int n)
{
    int64_t deadline = tl_deadline(TL_WAIT_MS);
    bool ok;

    pthread_mutex_lock(&g_h.mu);
    while (g_h.running < n && util_mono_ns() < deadline) {
        pthread_mutex_unlock(&g_h.mu);
        tl_pause_ms(5);
        pthread_mutex_lock(&g_h.mu);
    }
    ok = g_h.running >= n;
    pthread_mutex_unlock(&g_h.mu);
    return ok;
}

static bool
h_wait_done(int a, int b)
{
    int64_t deadline = tl_deadline(TL_WAIT_MS);
    bool ok;

    pthread_mutex_lock(&g_h.mu);
    while (!(g_h.done[a] && (b < 0 || g_h.done[b])) && util_mono_ns() < deadline) {
        pthread_mutex_unlock(&g_h.mu);
        tl_pause_ms(5);
        pthread_mutex_lock(&g_h.mu);
    }
    ok = g_h.done[a] && (b < 0 || g_h.done[b]);
    pthread_mutex_unlock(&g_h.mu);
    return ok;
}

static bool
idle_within(worker *w, int ms)
{
    int64_t deadline = tl_deadline(ms);

    while (worker_running(w) != 0) {
        if (util_mono_ns() > deadline)
            return false;
        tl_pause_ms(5);
    }
    return true;
}

static bool
has_metric(metrics_registry *reg, const char *want)
{
    char *text = NULL;
    bool ok;

    assert_int_equal(metrics_render(reg, &text, NULL), 0);
    ok = strstr(text, want) != NULL;
    if (!ok)
        printf("metric %s missing in:\n%s", want, text);
    free(text);
    return ok;
}

/* ---- tests ---- */

static void
test_invalid_config(void **state)
{
    worker_type bad_name[] = {{.job_type = "menu sync", .fn = handler}};
    worker_type dup[] = {{.job_type = "a", .fn = handler}, {.job_type = "a", .fn = handler}};
    worker_type no_fn[] = {{.job_type = "a"}};
    worker_config cfg = {.types = g_types, .ntypes = 1};
    worker *w = (worker *)1;

    (void)state;
    assert_int_equal(worker_start(NULL, &cfg, &w), -1);
    assert_null(w);
    assert_int_equal(worker_start(g_bus, NULL, &w), -1);
    cfg.ntypes = 0;
    assert_int_equal(worker_start(g_bus, &cfg, &w), -1);
    cfg = (worker_config){.types = bad_name, .ntypes = 1};
    assert_int_equal(worker_start(g_bus, &cfg, &w), -1);
    cfg = (worker_config){.types = dup, .ntypes = 2};
    assert_int_equal(worker_start(g_bus, &cfg, &w), -1);
    cfg = (worker_config){.types = no_fn, .ntypes = 1};
    assert_int_equal(worker_start(g_bus, &cfg, &w), -1);
    cfg = (worker_config){.types = g_types, .ntypes = 1, .concurrency = 101};
    assert_int_equal(worker_start(g_bus, &cfg, &w), -1);
    cfg = (worker_config){.types = g_types, .ntypes = 1, .lease_seconds = -1};
    assert_int_equal(worker_start(g_bus, &cfg, &w), -1);
    assert_null(w);
    worker_stop(NULL);
    assert_int_equal(worker_running(NULL), 0);
}

/* A job is claimed, run with its config and the job id as request id, and
 * completed with its result; a failure and a missing outcome are sent as
 * failures; every end is logged and counted. */
static void
test_claim_and_complete(void **state)
{
    tl_fa *f = tl_fa_new(g_bus);
    metrics_registry *reg = metrics_registry_new();
    worker *w;
    json_object *body, *v, *line;
    int a, b, c;

    (void)state;
    h_reset();
    tl_fa_listen(f);
    a = tl_fa_add(f, "{\"do\":\"echo\",\"n\":0,\"x\":\"y\"}");
    b = tl_fa_add(f, "{\"do\":\"fail\",\"n\":1}");
    c = tl_fa_add(f, "{\"do\":\"none\",\"n\":2}");
    free(tl_log_take(g_lfd, NULL));
    w = start(f, 4, 30, 60000, reg);
    assert_string_equal(worker_id(w), "w-test");
    assert_true(tl_fa_wait(f, &f->ncomplete, 3, TL_WAIT_MS));
    assert_true(idle_within(w, TL_WAIT_MS));

    body = json_tokener_parse(f->claim_body);
    assert_non_null(body);
    assert_string_equal(tl_jstr(body, "worker_id", NULL), "w-test");
    assert_true(json_object_object_get_ex(body, "job_types", &v));
    assert_string_equal(json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN),
                        "[\"menu_sync\",\"health_check\"]");
    assert_true(json_object_object_get_ex(body, "max", &v));
    assert_int_equal(json_object_get_int(v), 4);
    assert_true(json_object_object_get_ex(body, "lease_seconds", &v));
    assert_int_equal(json_object_get_int(v), 30);
    json_object_put(body);

    for (int i = 0; i < 3; i++) {
        const tl_fa_rec *r = &f->complete[i];

        body = json_tokener_parse(r->body);
        assert_non_null(body);
        assert_true(json_object_object_get_ex(body, "attempt", &v));
        assert_int_equal(json_object_get_int(v), 2);
        /* Sent from the handler's thread, with the job id as request id. */
        assert_string_equal(r->rid, r->job_id);
        if (strcmp(r->job_id, f->job_id[a]) == 0) {
            assert_string_equal(tl_jstr(body, "status", NULL), "completed");
            assert_non_null(strstr(r->body, "\"result\":{\"echo\":{\"do\":\"echo\",\"n\":0,"
                                            "\"x\":\"y\"},\"client\":\"c-1\"}"));
        } else if (strcmp(r->job_id, f->job_id[b]) == 0) {
            assert_string_equal(tl_jstr(body, "status", NULL), "failed");
            assert_non_null(strstr(r->body, "\"error\":{\"message\":\"boom 7\","
                                            "\"retryable\":true}"));
        } else {
            assert_string_equal(r->job_id, f->job_id[c]);
            assert_non_null(strstr(r->body, "\"message\":\"handler returned no outcome\","
                                            "\"retryable\":true"));
        }
        json_object_put(body);
    }
    assert_true(g_h.rid_ok[0] && g_h.rid_ok[1] && g_h.rid_ok[2]);
    assert_int_equal(f->nrelease, 0);
    assert_true(
        has_metric(reg, "worker_jobs_total{job_type=\"menu_sync\",outcome=\"completed\"} 1\n"));
    assert_true(
        has_metric(reg, "worker_jobs_total{job_type=\"menu_sync\",outcome=\"failed\"} 2\n"));
    assert_true(
        has_metric(reg, "worker_jobs_total{job_type=\"health_check\",outcome=\"released\"} 0\n"));
    assert_true(has_metric(reg, "worker_jobs_running 0\n"));

    line = tl_log_find(g_lfd, "\"job finished\"", f->job_id[a], TL_WAIT_MS);
    assert_string_equal(tl_jstr(line, "request_id", NULL), f->job_id[a]);
    assert_string_equal(tl_jstr(line, "outcome", NULL), "completed");
    assert_string_equal(tl_jstr(line, "job_type", NULL), "menu_sync");
    assert_true(json_object_object_get_ex(line, "duration_ms", &v));
    assert_true(json_object_object_get_ex(line, "attempt", &v));
    assert_int_equal(json_object_get_int(v), 2);
    json_object_put(line);
    line = tl_log_find(g_lfd, "\"job started\"", f->job_id[b], TL_WAIT_MS);
    json_object_put(line);
    worker_stop(w);
    metrics_registry_free(reg);
}

/* Never more than concurrency handlers at once, and a claim never asks for
 * more than the free slots; a slot freed after a full claim is refilled at
 * once, not after poll_ms (60 s here). */
static void
test_concurrency_limit(void **state)
{
    tl_fa *f = tl_fa_new(g_bus);
    worker *w;

    (void)state;
    h_reset();
    tl_fa_listen(f);
    for (int i = 0; i < 5; i++)
        tl_fa_add(f, "{\"do\":\"gate\",\"n\":3}");
    w = start(f, 2, 30, 60000, NULL);
    assert_true(tl_fa_wait(f, &f->nclaim, 1, TL_WAIT_MS));
    assert_int_equal(f->claim_max[0], 2);
    assert_true(h_wait_running(2));
    assert_int_equal(worker_running(w), 2);
    h_open_gate();
    assert_true(tl_fa_wait(f, &f->ncomplete, 5, TL_WAIT_MS));
    assert_int_equal(g_h.max_running, 2);
    for (int i = 0; i < f->nclaim && i < TL_FA_MAX; i++)
        assert_in_range(f->claim_max[i], 1, 2);
    assert_true(idle_within(w, TL_WAIT_MS));
    worker_stop(w);
}

/* A handler busy between progress calls keeps its lease: renewals without
 * "progress" come every lease/3; its own call carries progress and message. */
static void
test_renewal_and_progress(void **state)
{
    tl_fa *f = tl_fa_new(g_bus);
    worker *w;
    int64_t claimed;
    tl_fa_rec r0, r1;
    int i;

    (void)state;
    h_reset();
    tl_fa_listen(f);
    i = tl_fa_add(f, "{\"do\":\"gate\",\"n\":4}");
    w = start(f, 1, 1, 60000, NULL);
    assert_true(tl_fa_wait(f, &f->nprog, 2, TL_WAIT_MS));
    pthread_mutex_lock(&f->mu);
    claimed = f->claim_ns[0];
    r0 = f->prog[0];
    r1 = f->prog[1];
    pthread_mutex_unlock(&f->mu);
    assert_string_equal(r0.job_id, f->job_id[i]);
    assert_int_equal(r0.progress, -1);
    assert_null(strstr(r0.body, "progress"));
    assert_null(strstr(r0.body, "message"));
    assert_non_null(strstr(r0.body, "\"attempt\":2"));
    assert_string_equal(r0.rid, f->job_id[i]);
    /* lease/3 = 333 ms after the claim, then again 333 ms later. */
    assert_in_range((r0.at_ns - claimed) / 1000000, 250, 700);
    assert_in_range((r1.at_ns - r0.at_ns) / 1000000, 250, 700);
    assert_int_equal(r1.progress, -1);
    h_open_gate();
    assert_true(tl_fa_wait(f, &f->ncomplete, 1, TL_WAIT_MS));
    worker_stop(w);

    /* worker_progress itself */
    f = tl_fa_new(g_bus);
    h_reset();
    tl_fa_listen(f);
    tl_fa_add(f, "{\"do\":\"progress\",\"n\":5}");
    w = start(f, 1, 30, 60000, NULL);
    assert_true(tl_fa_wait(f, &f->ncomplete, 1, TL_WAIT_MS));
    assert_int_equal(f->nprog, 1);
    assert_int_equal(f->prog[0].progress, 40);
    assert_non_null(strstr(f->prog[0].body, "\"message\":\"step 2 of 5\""));
    assert_int_equal(g_h.rc[5], 0);
    assert_false(g_h.cancelled[5]);
    worker_stop(w);
}

/* cancel_requested (on a progress call or on a renewal) cancels the job: the
 * handler sees it and its outcome is not sent. */
static void
test_cancel(void **state)
{
    tl_fa *f = tl_fa_new(g_bus);
    metrics_registry *reg = metrics_registry_new();
    worker *w;

    (void)state;
    h_reset();
    tl_fa_listen(f);
    f->cancel = true;
    tl_fa_add(f, "{\"do\":\"progress\",\"n\":6}");
    tl_fa_add(f, "{\"do\":\"wait_cancel\",\"n\":7}");
    w = start(f, 2, 1, 60000, reg);
    assert_true(h_wait_done(6, 7));
    assert_true(idle_within(w, TL_WAIT_MS));
    assert_int_equal(g_h.rc[6], 1);
    assert_true(g_h.cancelled[6]);
    assert_true(g_h.cancelled[7]);
    assert_int_equal(f->ncomplete, 0);
    assert_int_equal(f->nrelease, 0);
    assert_true(
        has_metric(reg, "worker_jobs_total{job_type=\"menu_sync\",outcome=\"cancelled\"} 2\n"));
    worker_stop(w);
    assert_int_equal(f->ncomplete, 0);
    metrics_registry_free(reg);
}

/* ok:false: the job is lost, worker_progress says -1, nothing is completed. */
static void
test_lost(void **state)
{
    tl_fa *f = tl_fa_new(g_bus);
    metrics_registry *reg = metrics_registry_new();
    worker *w;

    (void)state;
    h_reset();
    tl_fa_listen(f);
    f->reject = true;
    tl_fa_add(f, "{\"do\":\"progress\",\"n\":8}");
    w = start(f, 1, 30, 60000, reg);
    assert_true(tl_fa_wait(f, &f->nprog, 1, TL_WAIT_MS));
    assert_true(idle_within(w, TL_WAIT_MS));
    assert_int_equal(g_h.rc[8], -1);
    assert_true(g_h.cancelled[8]);
    assert_int_equal(f->ncomplete, 0);
    assert_true(has_metric(reg, "worker_jobs_total{job_type=\"menu_sync\",outcome=\"lost\"} 1\n"));
    worker_stop(w);
    metrics_registry_free(reg);
}

/* jobs.ready.<type> wakes the claimer long before poll_ms (60 s). */
static void
test_ready_wakes(void **state)
{
    tl_fa *f = tl_fa_new(g_bus);
    char subject[96];
    const char *ready = "{\"job_type\":\"health_check\",\"count\":1}";
    worker *w;
    int64_t t0;

    (void)state;
    h_reset();
    tl_fa_listen(f);
    w = start(f, 2, 30, 60000, NULL);
    assert_true(tl_fa_wait(f, &f->nclaim, 1, TL_WAIT_MS)); /* the first, empty claim */
    tl_fa_add(f, "{\"do\":\"echo\",\"n\":9}");
    snprintf(subject, sizeof(subject), "%sjobs.ready.health_check", f->prefix);
    t0 = util_mono_ns();
    assert_int_equal(bus_publish(g_bus, subject, ready, strlen(ready)), BUS_OK);
    assert_true(tl_fa_wait(f, &f->ncomplete, 1, 3000));
    assert_true((util_mono_ns() - t0) / 1000000 < 3000);
    assert_int_equal(f->nclaim, 2);
    worker_stop(w);
}

/* Nobody answers: one warning, claims spaced by a growing back-off; then an
 * error reply counts as a failure too; once answered, one info line and the
 * queued job runs. */
static void
test_backoff_and_recovery(void **state)
{
    tl_fa *f = tl_fa_new(g_bus);
    char subject[96], *log;
    tl_inbox ib;
    worker *w;
    int n;

    (void)state;
    h_reset();
    tl_inbox_init(&ib);
    free(tl_log_take(g_lfd, NULL));
    w = start(f, 1, 30, 60000, NULL);
    tl_fa_add(f, "{\"do\":\"echo\",\"n\":10}");
    /* No responders for a while (the back-off reaches 800 ms), then a
     * listener that never answers: each try now times out (500 ms). */
    json_object_put(tl_log_find(g_lfd, "cannot claim jobs", "no_responders", TL_WAIT_MS));
    snprintf(subject, sizeof(subject), "%sjobs.claim", f->prefix);
    assert_int_equal(bus_subscribe(g_bus, subject, NULL, tl_bus_record, &ib), BUS_OK);
    assert_true(tl_inbox_wait(&ib, 3, 20000));
    n = tl_inbox_count(&ib);
    for (int i = 2; i < n && i < TL_INBOX_MAX; i++) {
        int64_t gap1 = ib.at_ns[i - 1] - ib.at_ns[i - 2], gap2 = ib.at_ns[i] - ib.at_ns[i - 1];

        assert_true(gap2 > gap1);
    }
    /* A timeout (500 ms) plus at least twice the first back-off (100 ms). */
    assert_true((ib.at_ns[1] - ib.at_ns[0]) / 1000000 >= 500 + 200 - 10);
    f->claim_unparsed = true;
    tl_fa_listen(f);
    assert_true(tl_fa_wait(f, &f->nclaim, 1, 20000));
    pthread_mutex_lock(&f->mu);
    f->claim_unparsed = false;
    pthread_mutex_unlock(&f->mu);
    assert_true(tl_fa_wait(f, &f->ncomplete, 1, 20000));
    log = tl_log_take(g_lfd, NULL);
    {
        int warns = 0;

        for (const char *p = log; (p = strstr(p, "cannot claim jobs")) != NULL; p++)
            warns++;
        assert_int_equal(warns, 1);
    }
    assert_non_null(strstr(log, "claiming jobs again"));
    free(log);
    worker_stop(w);
    tl_inbox_destroy(&ib);
}

/* worker_stop: a job finishing within stop_timeout_ms is completed; one whose
 * handler gives up on stopping and one whose handler ignores it are handed
 * back, each exactly once and never also completed; the late handler's
 * progress is refused and its outcome never sent. */
static void
test_stop(void **state)
{
    tl_fa *f = tl_fa_new(g_bus);
    metrics_registry *reg = metrics_registry_new();
    worker *w;
    int fin, give, ign;
    int64_t t0, ms;

    (void)state;
    h_reset();
    tl_fa_listen(f);
    fin = tl_fa_add(f, "{\"do\":\"stop_finish\",\"n\":11}");
    give = tl_fa_add(f, "{\"do\":\"stop_giveup\",\"n\":12}");
    ign = tl_fa_add(f, "{\"do\":\"ignore_stop\",\"n\":13}");
    w = start(f, 4, 30, 60000, reg);
    assert_true(h_wait_running(3));
    t0 = util_mono_ns();
    worker_stop(w);
    ms = (util_mono_ns() - t0) / 1000000;
    assert_in_range(ms, 900, 5000); /* waited stop_timeout_ms for the third */

    assert_int_equal(tl_fa_count(f, f->complete, f->ncomplete, f->job_id[fin]), 1);
    assert_int_equal(tl_fa_count(f, f->release, f->nrelease, f->job_id[fin]), 0);
    assert_int_equal(tl_fa_count(f, f->complete, f->ncomplete, f->job_id[give]), 0);
    assert_int_equal(tl_fa_count(f, f->release, f->nrelease, f->job_id[give]), 1);
    assert_int_equal(tl_fa_count(f, f->complete, f->ncomplete, f->job_id[ign]), 0);
    assert_int_equal(tl_fa_count(f, f->release, f->nrelease, f->job_id[ign]), 1);
    for (int i = 0; i < 2; i++) {
        assert_non_null(strstr(f->release[i].body, "\"reason\":\"worker stopping\""));
        assert_string_equal(f->release[i].rid, f->release[i].job_id);
    }
    assert_true(
        has_metric(reg, "worker_jobs_total{job_type=\"menu_sync\",outcome=\"released\"} 2\n"));
    metrics_registry_free(reg); /* the late handler must not touch it */

    /* The handler that ignored the stop returns now: it learns the job is not
     * its own any more, and nothing more is sent for it. */
    h_open_gate();
    assert_true(h_wait_done(13, -1));
    assert_int_equal(g_h.rc[13], -1);
    assert_int_equal(bus_ping(g_bus, TL_WAIT_MS, NULL), BUS_OK);
    assert_int_equal(f->ncomplete, 1);
    assert_int_equal(f->nrelease, 2);
    json_object_put(tl_log_find(g_lfd, "handlers still running", NULL, TL_WAIT_MS));
}

static void
test_progress_arguments(void **state)
{
    (void)state;
    assert_int_equal(worker_progress(NULL, 10, NULL), -1);
}

static int
group_setup(void **state)
{
    (void)state;
    pthread_mutex_init(&g_h.mu, NULL);
    pthread_cond_init(&g_h.cv, NULL);
    g_lfd = tl_log_capture();
    if (g_lfd < 0 || bus_connect(g_url, "test-worker", &g_bus) != BUS_OK
        || !tl_bus_wait_connected(g_bus, true, TL_WAIT_MS))
        return -1;
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    bus_close(g_bus);
    free(tl_log_end(g_lfd, NULL));
    return 0;
}

/* A completion asks for the next job in the same request: a busy worker
 * needs one request per job, and the job runs on the thread that is free. */
static void
test_completion_claims_the_next(void **state)
{
    tl_fa *f = tl_fa_new(g_bus);
    metrics_registry *reg = metrics_registry_new();
    json_object *body, *claim, *v;
    worker *w;
    int ids[4];

    (void)state;
    h_reset();
    tl_fa_listen(f);
    for (int i = 0; i < 4; i++) {
        char cfg[64];

        snprintf(cfg, sizeof(cfg), "{\"do\":\"echo\",\"n\":%d}", i);
        ids[i] = tl_fa_add(f, cfg);
    }
    w = start(f, 1, 30, 60000, reg);
    assert_true(tl_fa_wait(f, &f->ncomplete, 4, TL_WAIT_MS));
    assert_true(idle_within(w, TL_WAIT_MS));

    pthread_mutex_lock(&f->mu);
    /* jobs.claim handed out the first job only; the others came with the
     * completions, each asking for one job of the worker's types */
    assert_int_equal(f->claim_max[0], 1);
    assert_int_equal(f->ncomplete_claim, 4);
    for (int i = 0; i < 4; i++) {
        assert_string_equal(f->complete[i].job_id, f->job_id[ids[i]]);
        body = json_tokener_parse(f->complete[i].body);
        assert_non_null(body);
        assert_string_equal(tl_jstr(body, "status", NULL), "completed");
        assert_true(json_object_object_get_ex(body, "claim", &claim));
        assert_string_equal(tl_jstr(claim, "worker_id", NULL), "w-test");
        assert_true(json_object_object_get_ex(claim, "max", &v));
        assert_int_equal(json_object_get_int(v), 1);
        json_object_put(body);
    }
    pthread_mutex_unlock(&f->mu);
    pthread_mutex_lock(&g_h.mu);
    assert_int_equal(g_h.max_running, 1);
    for (int i = 0; i < 4; i++)
        assert_true(g_h.rid_ok[i]);
    pthread_mutex_unlock(&g_h.mu);
    assert_int_equal(f->nrelease, 0);
    assert_true(
        has_metric(reg, "worker_jobs_total{job_type=\"menu_sync\",outcome=\"completed\"} 4\n"));
    assert_true(has_metric(reg, "worker_jobs_running 0\n"));
    worker_stop(w);
    metrics_registry_free(reg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_invalid_config),
        cmocka_unit_test(test_progress_arguments),
        cmocka_unit_test(test_claim_and_complete),
        cmocka_unit_test(test_completion_claims_the_next),
        cmocka_unit_test(test_concurrency_limit),
        cmocka_unit_test(test_renewal_and_progress),
        cmocka_unit_test(test_cancel),
        cmocka_unit_test(test_lost),
        cmocka_unit_test(test_ready_wakes),
        cmocka_unit_test(test_backoff_and_recovery),
        cmocka_unit_test(test_stop),
    };
    int rc;

    g_url = tl_require_env("BRAIN_TEST_NATS_URL");
    if (g_url == NULL)
        return 77;
    log_init("test_worker", LOGL_DEBUG);
    rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    nats_CloseAndWait(5000);
    return rc;
}
