/* recompute: score many clients in parallel; see recompute.h. */
#include "recompute.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>

#include "log.h"
#include "scoring.h"
#include "util.h"

#define MAX_WORKERS 32

typedef struct batch {
    store *s;
    json_object *ids; /* the clients to score */
    size_t n;
    int64_t now_ms;
    size_t next;  /* atomic: the next index to take */
    long done;    /* atomic */
    long failed;  /* atomic */
    long missing; /* atomic */
} batch;

static void *
worker(void *arg)
{
    batch *b = arg;
    for (;;) {
        size_t i = __atomic_fetch_add(&b->next, 1, __ATOMIC_RELAXED);
        if (i >= b->n)
            return NULL;
        json_object *out = NULL;
        const char *id = json_object_get_string(json_object_array_get_idx(b->ids, i));
        store_status st = scoring_run(b->s, id, b->now_ms, &out);
        json_object_put(out);
        long *count = st == ST_OK ? &b->done : st == ST_NOT_FOUND ? &b->missing : &b->failed;
        __atomic_fetch_add(count, 1, __ATOMIC_RELAXED);
    }
}

store_status
recompute_run(store *s, json_object *ids, int workers, int64_t now_ms, recompute_result *out)
{
    pthread_t t[MAX_WORKERS];
    int started = 0;
    int64_t t0 = util_mono_ns();
    batch b = {.s = s, .now_ms = now_ms};
    store_status st = store_clients_to_score(s, ids, &b.ids);
    if (st != ST_OK)
        return st;
    b.n = json_object_array_length(b.ids);
    if (workers > MAX_WORKERS)
        workers = MAX_WORKERS;
    if ((size_t)workers > b.n)
        workers = (int)b.n;
    /* The calling thread works too: the batch finishes even without threads. */
    for (int i = 1; i < workers; i++)
        if (pthread_create(&t[started], NULL, worker, &b) == 0)
            started++;
    worker(&b);
    for (int i = 0; i < started; i++)
        pthread_join(t[i], NULL);
    *out = (recompute_result){
        .recomputed = b.done,
        .failed = b.failed,
        /* listed ids the query did not find, and those deleted meanwhile */
        .not_found = b.missing + (ids ? (long)(json_object_array_length(ids) - b.n) : 0),
        .duration_ms = (util_mono_ns() - t0) / 1000000,
    };
    json_object_put(b.ids);
    if (b.failed > 0)
        log_msg(LOGL_WARN, LOG_FIELDS(LF_INT("failed", b.failed), LF_INT("scored", b.done)),
                "some scores could not be recomputed");
    return ST_OK;
}
