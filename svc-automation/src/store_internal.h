/* What store.c and store_queue.c share: the job columns, rendering, changes. */
#ifndef AUTOMATION_STORE_INTERNAL_H
#define AUTOMATION_STORE_INTERNAL_H

#include <pthread.h>

#include "metrics.h"
#include "store.h"

#define STORE_WAIT_MS       2000 /* for a pooled connection */
#define STORE_BATCH_MAX     32   /* completions written by one statement */
#define STORE_BATCH_WRITERS 2    /* batches written at once */

typedef struct store_batch_slot store_batch_slot;
/* Writes of one kind waiting to be written together (store_batch.c). */
typedef struct store_batch_queue {
    pthread_mutex_t mu;
    store_batch_slot *head, *tail;
    int writers; /* batches being written */
} store_batch_queue;
enum { STORE_BATCH_COMPLETE = 0, STORE_BATCH_CREATE, STORE_BATCH_KINDS };

/* Every statement of the daemon. Their text is in store_sql.c; a "%s" in it
 * stands for the job column list (store_cols), filled in once at start (at
 * most twice in one statement). */
typedef enum {
    Q_GET = 0,
    Q_BY_IDEM,
    Q_LOCK_DEPS,
    Q_INSERT,
    Q_ATTEMPTS,
    Q_DEPS,
    Q_LIST,
    Q_COUNT,
    Q_LOCK,
    Q_PATCH,
    Q_REEVAL,
    Q_CANCEL_WAITING,
    Q_CANCEL_RUNNING,
    Q_RETRY,
    Q_STATS,
    Q_STATS_TYPE,
    Q_STATS_PRIO,
    Q_CLIENT_STATS,
    Q_CLIENT_RECENT,
    Q_HOURLY_LOAD,
    Q_SCHEDULED,
    Q_EVENT,
    Q_FAIL_DEPENDENTS,
    Q_PROMOTE_DEPENDENTS,
    Q_CLAIM,
    Q_PROGRESS,
    Q_CANCEL_AT_PROGRESS,
    Q_COMPLETE,
    Q_LOCK_RUNNING,
    Q_RETRY_LATER,
    Q_FAIL,
    Q_ATTEMPT_END,
    Q_RELEASE,
    Q_EXPIRED,
    Q_PROMOTE_DUE,
    Q_FAIL_ORPHANS,
    Q_BACKOFF_ENDED,
    Q_NOW,
    Q_DEPTH,
    Q_COMPLETE_CLAIM,
    Q_COMPLETE_CLAIM_ONE,
    Q_INSERT_ONE,
    Q_COMPLETE_BATCH,
    Q_INSERT_BATCH,
    Q_COUNT_STMTS
} store_q;

extern const char *const store_sql_text[Q_COUNT_STMTS];
extern const char *const store_sql_name[Q_COUNT_STMTS];

struct store {
    db_pool *pool;
    job_retry_policy retry;
    char *cols; /* the job column list, "j." qualified, built once */
    char *sql[Q_COUNT_STMTS];
    char last_sweep[40]; /* the database's now() at the last sweep */
    store_batch_queue batch[STORE_BATCH_KINDS];
    metrics_family *batch_writes; /* {kind}: writes per batch statement, or NULL */
};

/* Run statement q on c (prepared once per connection). */
db_status store_exec(db_conn *c, const store *s, store_q q, int n, const char *const *params,
                     PGresult **res);
/* Run q, which returns jobs (store_cols first), and record each as changed in
 * ch (may be NULL). *first (may be NULL) gets the first job, *count the rows. */
store_status store_exec_jobs(db_conn *c, const store *s, store_q q, int n,
                             const char *const *params, store_changes *ch, json_object **first,
                             int *count);

/* The SELECT list of a job (as alias j) in the order store_render reads it. */
const char *store_cols(const store *s);
/* Row i of res (selected with store_cols from column off) as an API job. */
json_object *store_render(const PGresult *res, int row, int off);
/* The job_update event of a rendered job. */
json_object *store_event_of(json_object *job);
/* Record a changed job (a new event; a wake when it is queued and ready). */
void store_changed(store_changes *ch, json_object *job);
/* A pooled connection (waits STORE_WAIT_MS at most). */
store_status store_acquire(store *s, db_conn **c);
/* Roll back when in_tx and st is not ST_OK, release c (NULL ok), return st. */
store_status store_done(db_conn *c, bool in_tx, store_status st);
/* Map a db error. */
store_status store_db(db_status st);

/* Fail the pending dependents of job id (recursively), each naming the
 * dependency that stopped it; how is the way id ended ("failed",
 * "cancelled"). */
store_status store_fail_dependents(db_conn *c, const store *s, const char *id, const char *how,
                                   store_changes *ch);
/* Queue the pending dependents of id whose dependencies all completed. */
store_status store_promote_dependents(db_conn *c, const store *s, const char *id,
                                      store_changes *ch);

/* The job types of a claim mask as an array literal ("{a,b}") in out. */
void store_claim_types(unsigned types, char *out, size_t cap);
/* Append the claimed row r of res (job columns first, the wait at wcol) to
 * *jobs (created on the first), its wait to waits[n], and record it in ch. */
void store_take_claimed(const PGresult *res, int r, int wcol, json_object **jobs, double *waits,
                        store_changes *ch);
/* A completed attempt (and the claim riding on it) by its own statement. */
store_status store_complete_one(store *s, const char *id, const char *attempt, json_object *result,
                                const store_claim_req *claim, json_object **claimed, double *waits,
                                store_changes *ch, double *duration_s);
/* The same, written together with the completions (and claims) that arrive
 * with it (store_batch.c). With id NULL, a claim alone (duration_s NULL). */
store_status store_complete_batched(store *s, const char *id, const char *attempt,
                                    json_object *result, const store_claim_req *claim,
                                    json_object **claimed, double *waits, store_changes *ch,
                                    double *duration_s);
/* A new job with nothing to check first (no dependencies, no idempotency
 * key) under the given id, by its own statement. */
store_status store_create_one(store *s, const job_new *req, const char *id, json_object **job,
                              bool *created, store_changes *ch, char *msg, size_t msglen);
/* The same, written together with the new jobs that arrive with it, under a
 * new id (store_batch.c). */
store_status store_create_batched(store *s, const job_new *req, json_object **job,
                                  store_changes *ch, char *msg, size_t msglen);
/* A claim by its own statement. */
store_status store_claim_one(store *s, const store_claim_req *req, json_object **jobs,
                             double *waits, store_changes *ch);
void store_batch_init(store *s);
void store_batch_destroy(store *s);

#endif
