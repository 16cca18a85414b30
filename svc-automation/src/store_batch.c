/* store_batch: writes that arrive together are written together.
 *
 * Each jobs.complete of a completed attempt (with the worker's next claim
 * riding on it), and each new job with nothing to check first, would be one
 * statement and one commit. Under load many arrive at once, on as many
 * request threads; the first to find a free writer leads: it takes the
 * waiting writes of its kind that fit with its own (up to STORE_BATCH_MAX)
 * and writes them all with one statement (Q_COMPLETE_BATCH, Q_INSERT_BATCH),
 * then hands each thread its own outcome. At most STORE_BATCH_WRITERS
 * batches of a kind are written at once; a lone write goes alone, at once,
 * by the single statement it always had. A batch the database refuses is
 * written again one at a time, so one bad write cannot fail the others. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store.h"
#include "store_internal.h"
#include "util.h"

/* What every waiting write has; the kinds below begin with it. */
struct store_batch_slot {
    struct store_batch_slot *next;
    store_status st; /* the outcome */
    bool taken, done;
    pthread_cond_t cv;
};

/* A kind of write: whether e may join the batch led by lead (typed: the
 * first slot of the batch that constrains it, or NULL), and how a batch of
 * n (n >= 2) is written, false when the database refused it. */
typedef struct batch_kind {
    const char *name; /* the metric's label */
    bool (*fits)(const store_batch_slot *typed, const store_batch_slot *e);
    bool (*constrains)(const store_batch_slot *e);
    bool (*write)(store *s, store_batch_slot *const *b, int n);
    void (*write_one)(store *s, store_batch_slot *e);
} batch_kind;

typedef struct complete_slot {
    store_batch_slot base;
    /* in */
    const char *id, *attempt;     /* id NULL: a claim alone */
    json_object *result;          /* NULL: none */
    const store_claim_req *claim; /* NULL: no claim */
    /* out */
    json_object **claimed;
    double *waits, duration_s;
    store_changes *ch;
    bool dependents;
} complete_slot;

typedef struct create_slot {
    store_batch_slot base;
    /* in */
    const job_new *req;
    char id[UTIL_UUID_LEN + 1];
    /* out */
    json_object *job;
    store_changes *ch;
    char *msg;
    size_t msglen;
} create_slot;

void
store_batch_init(store *s)
{
    for (int k = 0; k < STORE_BATCH_KINDS; k++) {
        store_batch_queue *q = &s->batch[k];
        pthread_mutex_init(&q->mu, NULL);
        q->head = q->tail = NULL;
        q->writers = 0;
    }
}

void
store_count_batches(store *s, metrics_family *f)
{
    s->batch_writes = f;
}

void
store_batch_destroy(store *s)
{
    for (int k = 0; k < STORE_BATCH_KINDS; k++)
        pthread_mutex_destroy(&s->batch[k].mu);
}

/* Take lead's batch out of q (q->mu held): lead first, then the waiting
 * slots that fit, oldest first. Returns how many, in out. */
static int
take_batch(store_batch_queue *q, const batch_kind *kind, store_batch_slot *lead,
           store_batch_slot **out)
{
    const store_batch_slot *typed = kind->constrains(lead) ? lead : NULL;
    store_batch_slot **pp = &q->head, *prev = NULL;
    int n = 0;

    out[n++] = lead;
    lead->taken = true;
    while (*pp) {
        store_batch_slot *e = *pp;
        bool take = e == lead;
        if (!take && n < STORE_BATCH_MAX && (!typed || kind->fits(typed, e))) {
            take = true;
            e->taken = true;
            out[n++] = e;
            if (!typed && kind->constrains(e))
                typed = e;
        }
        if (take) {
            *pp = e->next;
            if (q->tail == e)
                q->tail = prev;
        } else {
            prev = e;
            pp = &e->next;
        }
    }
    return n;
}

/* Queue me and wait until it is written, by this thread or another. */
static void
batch_run(store *s, store_batch_queue *q, const batch_kind *kind, store_batch_slot *me)
{
    store_batch_slot *b[STORE_BATCH_MAX];

    pthread_cond_init(&me->cv, NULL);
    pthread_mutex_lock(&q->mu);
    if (q->tail)
        q->tail->next = me;
    else
        q->head = me;
    q->tail = me;
    while (!me->done) {
        if (me->taken || q->writers >= STORE_BATCH_WRITERS) {
            pthread_cond_wait(&me->cv, &q->mu);
            continue;
        }
        /* Lead: write this slot and those waiting with it. */
        int n = take_batch(q, kind, me, b);
        q->writers++;
        pthread_mutex_unlock(&q->mu);
        bool together = n > 1 && kind->write(s, b, n);
        if (!together)
            for (int i = 0; i < n; i++)
                kind->write_one(s, b[i]);
        if (s->batch_writes) {
            const char *labels[] = {kind->name};
            for (int i = 0; i < (together ? 1 : n); i++)
                metrics_observe(s->batch_writes, labels, together ? n : 1);
        }
        pthread_mutex_lock(&q->mu);
        q->writers--;
        for (int i = 0; i < n; i++) {
            b[i]->done = true;
            if (b[i] != me)
                pthread_cond_signal(&b[i]->cv);
        }
        /* The writer freed goes to the oldest waiting slot. */
        if (q->head)
            pthread_cond_signal(&q->head->cv);
    }
    pthread_mutex_unlock(&q->mu);
    pthread_cond_destroy(&me->cv);
}

/* Run the batch statement q for b[0..n) with doc (taken) as $1 and more (may
 * be NULL) as $2: the rows, each slot's outcome set to unmatched until its
 * row says otherwise, and the connection in *c. NULL when nothing was
 * written: *refused when the database refused the statement (logged, as
 * what), else the slots' outcomes say why (no connection). */
static PGresult *
batch_exec(store *s, store_q q, json_object *doc, const char *more, store_batch_slot *const *b,
           int n, store_status unmatched, db_conn **c, bool *refused, const char *what)
{
    PGresult *res = NULL;
    const char *p[] = {json_object_to_json_string_ext(doc, JSON_C_TO_STRING_PLAIN), more};
    store_status st = store_acquire(s, c);
    db_status dst = st == ST_OK ? store_exec(*c, s, q, more ? 2 : 1, p, &res) : DB_OK;
    json_object_put(doc);
    *refused = st == ST_OK && dst != DB_OK;
    if (*refused) {
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("error", db_last_error(*c)), LF_INT("jobs", n)),
                "%s refused together; writing them one at a time", what);
        store_done(*c, false, store_db(dst));
        return NULL;
    }
    for (int i = 0; i < n; i++)
        b[i]->st = res ? unmatched : st;
    return res;
}

/* ---- completions ---- */

static complete_slot *
as_complete(store_batch_slot *e)
{
    return (complete_slot *)e;
}

static bool
complete_constrains(const store_batch_slot *e)
{
    return ((const complete_slot *)e)->claim != NULL;
}

/* One claim's job types for the whole batch. */
static bool
complete_fits(const store_batch_slot *typed, const store_batch_slot *e)
{
    const complete_slot *a = (const complete_slot *)typed, *b = (const complete_slot *)e;
    return !b->claim || a->claim->types == b->claim->types;
}

/* The batch statement's $1: [{ord, id, attempt, result, worker, want,
 * lease}], ord being the slot's index in the batch. */
static json_object *
complete_doc(store_batch_slot *const *b, int n)
{
    json_object *arr = json_object_new_array_ext(n);
    for (int i = 0; i < n; i++) {
        const complete_slot *e = as_complete(b[i]);
        const store_claim_req *cl = e->claim;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "ord", json_object_new_int(i));
        json_object_object_add(o, "id", e->id ? json_object_new_string(e->id) : NULL);
        json_object_object_add(o, "attempt", json_object_new_int(e->id ? atoi(e->attempt) : 0));
        json_object_object_add(o, "result", json_object_get(e->result));
        json_object_object_add(o, "worker", cl ? json_object_new_string(cl->worker_id) : NULL);
        json_object_object_add(o, "want", json_object_new_int(cl ? cl->max : 0));
        json_object_object_add(o, "lease", json_object_new_int(cl ? cl->lease_seconds : 0));
        json_object_array_add(arr, o);
    }
    return arr;
}

/* Hand the rows of a completion batch to their slots: completions first
 * (each slot's own event before those of its claims), then claimed jobs.
 * Columns: the job, has dependents, wait, claimed, ord. */
static void
complete_deal(const PGresult *res, store_batch_slot *const *b, int n)
{
    int nf = PQnfields(res);
    for (int pass = 0; pass < 2; pass++)
        for (int r = 0; r < PQntuples(res); r++) {
            bool claimed = PQgetvalue(res, r, nf - 2)[0] == 't';
            int ord = atoi(PQgetvalue(res, r, nf - 1));
            if (claimed != (pass == 1) || ord < 0 || ord >= n)
                continue;
            complete_slot *e = as_complete(b[ord]);
            if (claimed) {
                store_take_claimed(res, r, nf - 3, e->claimed, e->waits, e->ch);
                continue;
            }
            json_object *job = store_render(res, r, 0), *d = NULL;
            e->base.st = ST_OK;
            e->dependents = PQgetvalue(res, r, nf - 4)[0] == 't';
            if (json_object_object_get_ex(job, "duration_seconds", &d) && d)
                e->duration_s = json_object_get_double(d);
            store_changed(e->ch, job);
            json_object_put(job);
        }
}

static bool
complete_write(store *s, store_batch_slot *const *b, int n)
{
    db_conn *c = NULL;
    char types[256];
    const store_claim_req *claim = NULL;

    for (int i = 0; i < n && !claim; i++)
        claim = as_complete(b[i])->claim;
    store_claim_types(claim ? claim->types : 0, types, sizeof(types));
    bool refused = false;
    PGresult *res = batch_exec(s, Q_COMPLETE_BATCH, complete_doc(b, n), types, b, n, ST_CONFLICT,
                               &c, &refused, "completions");
    if (!res)
        return !refused;
    for (int i = 0; i < n; i++)
        if (!as_complete(b[i])->id)
            b[i]->st = ST_OK; /* a claim alone: finding nothing is no conflict */
    complete_deal(res, b, n);
    PQclear(res);
    for (int i = 0; i < n; i++) {
        complete_slot *e = as_complete(b[i]);
        if (e->base.st == ST_OK && e->dependents
            && store_promote_dependents(c, s, e->id, e->ch) != ST_OK)
            log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("job_id", e->id)),
                    "dependents not queued at once; the sweep will");
    }
    store_done(c, false, ST_OK);
    return true;
}

static void
complete_write_one(store *s, store_batch_slot *b)
{
    complete_slot *e = as_complete(b);
    if (!e->id) {
        e->base.st = store_claim_one(s, e->claim, e->claimed, e->waits, e->ch);
        return;
    }
    e->base.st = store_complete_one(s, e->id, e->attempt, e->result, e->claim, e->claimed, e->waits,
                                    e->ch, &e->duration_s);
}

static const batch_kind complete_kind = {"complete", complete_fits, complete_constrains,
                                         complete_write, complete_write_one};

store_status
store_complete_batched(store *s, const char *id, const char *attempt, json_object *result,
                       const store_claim_req *claim, json_object **claimed, double *waits,
                       store_changes *ch, double *duration_s)
{
    complete_slot me = {.id = id,
                        .attempt = attempt,
                        .result = result,
                        .claim = claim,
                        .claimed = claimed,
                        .waits = waits,
                        .ch = ch,
                        .duration_s = -1};
    batch_run(s, &s->batch[STORE_BATCH_COMPLETE], &complete_kind, &me.base);
    if (duration_s)
        *duration_s = me.duration_s;
    return me.base.st;
}

/* ---- new jobs ---- */

static create_slot *
as_create(store_batch_slot *e)
{
    return (create_slot *)e;
}

static bool
create_constrains(const store_batch_slot *e)
{
    (void)e;
    return false;
}

static bool
create_fits(const store_batch_slot *typed, const store_batch_slot *e)
{
    (void)typed;
    (void)e;
    return true;
}

/* $1 of Q_INSERT_BATCH: [{id, client_id, job_type, priority, config,
 * max_attempts, scheduled_at}]. */
static json_object *
create_doc(store_batch_slot *const *b, int n)
{
    json_object *arr = json_object_new_array_ext(n);
    for (int i = 0; i < n; i++) {
        const create_slot *e = as_create(b[i]);
        const job_new *r = e->req;
        json_object *o = json_object_new_object();
        json_object_object_add(o, "id", json_object_new_string(e->id));
        json_object_object_add(o, "client_id", json_object_new_string(r->client_id));
        json_object_object_add(o, "job_type", json_object_new_string(r->job_type));
        json_object_object_add(o, "priority", json_object_new_int(r->priority));
        json_object_object_add(o, "config",
                               r->config ? json_object_get(r->config) : json_object_new_object());
        json_object_object_add(o, "max_attempts", json_object_new_int(r->max_attempts));
        json_object_object_add(o, "scheduled_at",
                               r->scheduled_at ? json_object_new_string(r->scheduled_at) : NULL);
        json_object_array_add(arr, o);
    }
    return arr;
}

static bool
create_write(store *s, store_batch_slot *const *b, int n)
{
    db_conn *c = NULL;
    bool refused = false;
    PGresult *res = batch_exec(s, Q_INSERT_BATCH, create_doc(b, n), NULL, b, n, ST_ERROR, &c,
                               &refused, "new jobs");
    if (!res)
        return !refused;
    /* The rows come back in no promised order: matched by id. */
    for (int r = 0; r < PQntuples(res); r++) {
        json_object *job = store_render(res, r, 0), *v = NULL;
        const char *id = json_object_object_get_ex(job, "id", &v) ? json_object_get_string(v) : "";
        create_slot *e = NULL;
        for (int i = 0; i < n && !e; i++)
            if (strcmp(as_create(b[i])->id, id) == 0)
                e = as_create(b[i]);
        if (!e) {
            json_object_put(job);
            continue;
        }
        e->base.st = ST_OK;
        e->job = job;
        store_changed(e->ch, job);
    }
    PQclear(res);
    store_done(c, false, ST_OK);
    return true;
}

static void
create_write_one(store *s, store_batch_slot *b)
{
    create_slot *e = as_create(b);
    bool created = false;
    e->base.st = store_create_one(s, e->req, e->id, &e->job, &created, e->ch, e->msg, e->msglen);
}

static const batch_kind create_kind = {"create", create_fits, create_constrains, create_write,
                                       create_write_one};

store_status
store_create_batched(store *s, const job_new *req, json_object **job, store_changes *ch, char *msg,
                     size_t msglen)
{
    create_slot me = {.req = req, .ch = ch, .msg = msg, .msglen = msglen};
    util_uuid_v4(me.id);
    batch_run(s, &s->batch[STORE_BATCH_CREATE], &create_kind, &me.base);
    *job = me.job;
    return me.base.st;
}
