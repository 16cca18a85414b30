/* recompute: score many clients in parallel; see recompute.h. Each worker
 * takes a batch of clients at a time: their inputs in one snapshot with one
 * statement per kind (store_health_inputs_many), the scores computed here
 * (score.c, as scoring_run does) and stored in one statement; then, client
 * by client, the alerts' score rules and the recommendations, which are not
 * batched (alerting.c, recs.c). */
#include "recompute.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "alerting.h"
#include "log.h"
#include "recs.h"
#include "score.h"
#include "score_json.h"
#include "util.h"

#define MAX_WORKERS 32
#define BATCH       200 /* clients per statement */

typedef struct job {
    intel *s;
    json_object *ids; /* the clients to score */
    size_t n;
    size_t batch; /* clients per batch */
    int64_t now_ms;
    char at[UTIL_RFC3339_LEN + 1]; /* computed_at */
    size_t next;                   /* atomic: the first client of the next batch */
    long done;                     /* atomic */
    long failed;                   /* atomic */
    long missing;                  /* atomic */
    long recs_failed;              /* atomic: recommendations not refreshed */
} job;

/* The score of one client as the batch save wants it. */
static json_object *
score_row(const char *id, const score_result *r)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "client_id", json_object_new_string(id));
    json_object_object_add(o, "overall", r->overall >= 0 ? json_object_new_int(r->overall) : NULL);
    json_object_object_add(o, "status", json_object_new_string(score_band_name(r->band)));
    json_object_object_add(o, "factors", score_factors_json(r));
    json_object_object_add(o, "d7", r->has_d7 ? json_object_new_int(r->trend_d7) : NULL);
    json_object_object_add(o, "d30", r->has_d30 ? json_object_new_int(r->trend_d30) : NULL);
    return o;
}

/* What follows every stored score (scoring_run does the same): the alerts'
 * score rules read the stored scores, and the recommendations read the open
 * alerts, in that order. A failure there is logged where it happens; the
 * score stands. */
static void
after_save(job *j, json_object *ids, const score_result *res, const bool *found, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (!found[i])
            continue;
        const char *id = json_object_get_string(json_object_array_get_idx(ids, i));
        alerting_scores(j->s->store, id, j->now_ms);
        if (recs_refresh(j->s->store, id, &res[i], j->now_ms, NULL) != ST_OK)
            __atomic_fetch_add(&j->recs_failed, 1, __ATOMIC_RELAXED);
    }
}

/* Score clients [from, from + n) of the job. */
static void
run_batch(job *j, size_t from, size_t n)
{
    json_object *ids = json_object_new_array_ext((int)n), *rows = json_object_new_array_ext((int)n);
    store_inputs *h = calloc(n, sizeof(*h));
    score_result *res = calloc(n, sizeof(*res));
    bool *found = calloc(n, sizeof(*found));
    long scored = 0, missing = 0;
    for (size_t i = 0; i < n; i++)
        json_object_array_add(ids, json_object_get(json_object_array_get_idx(j->ids, from + i)));
    store_status st = h && found && res
                          ? store_health_inputs_many(j->s->store, ids, j->now_ms / 1000, h, found)
                          : ST_ERROR;
    for (size_t i = 0; st == ST_OK && i < n; i++) {
        if (found[i]) {
            const char *id = json_object_get_string(json_object_array_get_idx(ids, i));
            score_compute(&h[i].in, &res[i]);
            json_object_array_add(rows, score_row(id, &res[i]));
            scored++;
        } else {
            missing++; /* deleted since the list was read */
        }
        store_inputs_free(&h[i]);
    }
    if (st == ST_OK && scored > 0)
        st = store_scores_save_many(j->s->store, rows, j->at);
    if (st == ST_OK)
        after_save(j, ids, res, found, n);
    if (st == ST_OK) {
        __atomic_fetch_add(&j->done, scored, __ATOMIC_RELAXED);
        __atomic_fetch_add(&j->missing, missing, __ATOMIC_RELAXED);
    } else {
        __atomic_fetch_add(&j->failed, (long)n, __ATOMIC_RELAXED);
    }
    json_object_put(ids);
    json_object_put(rows);
    free(h);
    free(res);
    free(found);
}

static void *
worker(void *arg)
{
    job *j = arg;
    for (;;) {
        size_t from = __atomic_fetch_add(&j->next, j->batch, __ATOMIC_RELAXED);
        if (from >= j->n)
            return NULL;
        run_batch(j, from, j->n - from < j->batch ? j->n - from : j->batch);
    }
}

store_status
recompute_run(intel *s, json_object *ids, int workers, int64_t now_ms, recompute_result *out)
{
    pthread_t t[MAX_WORKERS];
    int started = 0;
    int64_t t0 = util_mono_ns();
    job j = {.s = s, .now_ms = now_ms};
    struct timespec ts = {.tv_sec = (time_t)(now_ms / 1000),
                          .tv_nsec = (long)(now_ms % 1000) * 1000000L};
    store_status st = store_clients_to_score(s->store, ids, &j.ids);
    if (st != ST_OK)
        return st;
    util_rfc3339(&ts, j.at);
    j.n = json_object_array_length(j.ids);
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    if (workers < 1)
        workers = 1;
    /* Batches of BATCH, smaller when there are too few to keep every worker
     * busy. */
    j.batch = (j.n + (size_t)workers - 1) / (size_t)workers;
    if (j.batch > BATCH)
        j.batch = BATCH;
    if (j.batch < 1)
        j.batch = 1;
    size_t batches = (j.n + j.batch - 1) / j.batch;
    if ((size_t)workers > batches)
        workers = (int)batches;
    /* The calling thread works too: the job finishes even without threads. */
    for (int i = 1; i < workers; i++)
        if (pthread_create(&t[started], NULL, worker, &j) == 0)
            started++;
    worker(&j);
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    *out = (recompute_result){
        .recomputed = j.done,
        .failed = j.failed,
        /* listed ids the query did not find, and those deleted meanwhile */
        .not_found = j.missing + (ids ? (long)(json_object_array_length(ids) - j.n) : 0),
        .duration_ms = (util_mono_ns() - t0) / 1000000,
    };
    json_object_put(j.ids);
    if (j.failed > 0 || j.recs_failed > 0)
        log_msg(LOGL_WARN,
                LOG_FIELDS(LF_INT("failed", j.failed), LF_INT("scored", j.done),
                           LF_INT("recommendations_failed", j.recs_failed)),
                "some scores could not be recomputed, or their recommendations refreshed");
    return ST_OK;
}

int
recompute_workers(const intel *s)
{
    /* Leave a connection of the pool to the other requests. */
    long pool = cfg_int(app_cfg(s->app), "DB_POOL_SIZE");
    return pool > 2 ? (int)pool - 1 : 1;
}

store_status
recompute_unscored(intel *s, int64_t now_ms, long *n)
{
    *n = 0;
    for (;;) {
        json_object *ids = NULL;
        recompute_result res;
        store_status st = store_unscored(s->store, RECOMPUTE_MAX_IDS, &ids);
        if (st != ST_OK)
            return st;
        size_t count = json_object_array_length(ids);
        st = count > 0 ? recompute_run(s, ids, recompute_workers(s), now_ms, &res) : ST_OK;
        json_object_put(ids);
        if (st != ST_OK)
            return st;
        if (count == 0)
            return ST_OK;
        *n += res.recomputed;
        if (res.failed > 0)
            return ST_UNAVAILABLE; /* the database failed on some: say so, not a partial list */
        /* A short batch was the last; a batch without progress would come
         * back the same. */
        if (count < RECOMPUTE_MAX_IDS || res.recomputed == 0)
            return ST_OK;
    }
}
