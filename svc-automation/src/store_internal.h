/* What store.c and store_queue.c share: the job columns, rendering, changes. */
#ifndef AUTOMATION_STORE_INTERNAL_H
#define AUTOMATION_STORE_INTERNAL_H

#include "store.h"

#define STORE_WAIT_MS 2000 /* for a pooled connection */

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

#endif
