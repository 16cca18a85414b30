/* store_sql: the text of every SQL statement of svc-automation, in one place.
 * All are parameterised; "%s" is the job column list (store_cols), put in
 * once at start. Times are written back as RFC 3339 UTC by that list. */
#include "store_internal.h"

#define TS(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* A dependency that is not done blocks a job. */
#define DEPS_OPEN                                                                  \
    "EXISTS (SELECT 1 FROM automation.job_dependencies d2 JOIN automation.jobs k " \
    "ON k.id = d2.depends_on WHERE d2.job_id = j.id AND k.status <> 'completed')"
#define DUE "coalesce(j.scheduled_at <= now(), true)"

/* A claim's parts, shared by Q_CLAIM and Q_COMPLETE_CLAIM: t the job types,
 * m how many, cond more conditions, w the worker id, l the lease seconds.
 * "= ANY (ARRAY(...))": a prepared statement's generic plan does not know how
 * few rows LIMIT m leaves, and would otherwise hash-join the whole table. */
#define CLAIM_PICK(t, m, cond)                                                              \
    "picked AS (SELECT id FROM automation.jobs WHERE status = 'queued' "                    \
    "AND job_type = ANY(" t "::text[]) AND (run_after IS NULL OR run_after <= now()) " cond \
    "ORDER BY priority, created_at LIMIT " m " FOR UPDATE SKIP LOCKED), "
/* The claim's times are the clock's, not now(): a claim made with a
 * completion may run after that transaction waited for a lock, and may then
 * take a job whose earlier attempt ended (lease expired) after now(); an
 * attempt never starts before the one it follows ended. */
#define CLAIM_TAKE(w, l)                                                                    \
    "cl AS (UPDATE automation.jobs j SET status = 'running', attempt = j.attempt + 1, "     \
    "worker_id = " w ", lease_seconds = " l "::int, "                                       \
    "lease_expires_at = clock_timestamp() + make_interval(secs => " l "::int), "            \
    "started_at = clock_timestamp(), updated_at = clock_timestamp(), seq = j.seq + 1, "     \
    "progress = 0, progress_message = NULL, cancel_requested = false "                      \
    "WHERE j.id = ANY (ARRAY(SELECT id FROM picked)) "                                      \
    "RETURNING j.*), "                                                                      \
    "ins AS (INSERT INTO automation.job_attempts (job_id, attempt, worker_id, started_at) " \
    "SELECT id, attempt, " w ", started_at FROM cl) "
/* How long a claimed job waited, ready, in seconds. */
#define CLAIM_WAIT "extract(epoch FROM clock_timestamp() - greatest(j.queued_at, j.run_after))"
/* A completion ($1 job, $2 attempt, $3 result) as the CTEs done and att. */
#define COMPLETE_DONE                                                                          \
    "done AS (UPDATE automation.jobs j SET status = 'completed', result = $3::jsonb, "         \
    "error = NULL, progress = 100, completed_at = now(), updated_at = now(), "                 \
    "seq = j.seq + 1, lease_expires_at = NULL, "                                               \
    "duration_seconds = extract(epoch FROM now() - j.started_at) "                             \
    "WHERE j.id = $1 AND j.attempt = $2 AND j.status = 'running' RETURNING j.*), "             \
    "att AS (UPDATE automation.job_attempts a SET outcome = 'completed', finished_at = now() " \
    "FROM done WHERE a.job_id = done.id AND a.attempt = done.attempt) "
/* A completion that also claims the worker's next jobs (m of them; the job
 * types, worker and lease as $4, $6 and $7): one statement, one commit.
 * Nothing is claimed when the completion does not apply. The last column
 * tells the claimed rows. ($5, the count, is named even where m is a
 * constant, so that every parameter has a type.) */
#define COMPLETE_CLAIM(m)                                                             \
    "WITH " COMPLETE_DONE                                                             \
    ", " CLAIM_PICK("$4", m, "AND EXISTS (SELECT 1 FROM done) AND $5::int > 0 ")      \
        CLAIM_TAKE("$6", "$7") "SELECT %s, " HAS_DEPENDENTS ", NULL::numeric, false " \
                               "FROM done j UNION ALL (SELECT %s, false, " CLAIM_WAIT \
                               ", true FROM cl j ORDER BY j.priority, j.created_at)"
/* Completions written together ($1: [{ord, id, attempt, result, worker, want,
 * lease}] as JSON; $2 the job types of their claims): each completion that
 * applies claims want jobs for its worker, and so does each claim alone (id
 * null). The claimed jobs are dealt to the
 * completions in order (slots); the picked ones are found by id through an
 * array, as in CLAIM_TAKE, so no plan scans the table. The last column is
 * the completion (ord) a row belongs to. */
#define COMPLETE_BATCH                                                                             \
    "WITH req AS (SELECT * FROM jsonb_to_recordset($1::jsonb) AS r(ord int, id uuid, "             \
    "attempt int, result jsonb, worker text, want int, lease int)), "                              \
    "done AS (UPDATE automation.jobs j SET status = 'completed', "                                 \
    "result = nullif(req.result, 'null'::jsonb), "                                                 \
    "error = NULL, progress = 100, completed_at = now(), updated_at = now(), "                     \
    "seq = j.seq + 1, lease_expires_at = NULL, "                                                   \
    "duration_seconds = extract(epoch FROM now() - j.started_at) FROM req "                        \
    "WHERE j.id = ANY (ARRAY(SELECT id FROM req)) AND j.id = req.id "                              \
    "AND j.attempt = req.attempt AND j.status = 'running' "                                        \
    "RETURNING j.*, req.ord AS req_ord, req.worker AS req_worker, req.want AS req_want, "          \
    "req.lease AS req_lease), "                                                                    \
    "att AS (UPDATE automation.job_attempts a SET outcome = 'completed', finished_at = now() "     \
    "FROM done WHERE a.job_id = ANY (ARRAY(SELECT id FROM done)) "                                 \
    "AND a.job_id = done.id AND a.attempt = done.attempt), "                                       \
    "slots AS (SELECT d.req_ord, d.req_worker, d.req_lease, "                                      \
    "row_number() OVER (ORDER BY d.req_ord, g) AS rn FROM (SELECT req_ord, req_worker, "           \
    "req_want, req_lease FROM done UNION ALL SELECT ord, worker, want, lease FROM req "            \
    "WHERE id IS NULL) d CROSS JOIN LATERAL generate_series(1, d.req_want) g), " CLAIM_PICK(       \
        "$2", "(SELECT count(*) FROM slots)",                                                      \
        "") "dealt AS (SELECT p.id, s.req_ord, s.req_worker, s.req_lease FROM "                    \
            "(SELECT id, row_number() OVER () AS rn FROM picked) p JOIN slots s ON s.rn = p.rn), " \
            "cl AS (UPDATE automation.jobs j SET status = 'running', attempt = j.attempt + 1, "    \
            "worker_id = dealt.req_worker, lease_seconds = dealt.req_lease, "                      \
            "lease_expires_at = clock_timestamp() + make_interval(secs => dealt.req_lease), "      \
            "started_at = clock_timestamp(), updated_at = clock_timestamp(), seq = j.seq + 1, "    \
            "progress = 0, progress_message = NULL, cancel_requested = false FROM dealt "          \
            "WHERE j.id = ANY (ARRAY(SELECT id FROM dealt)) AND j.id = dealt.id "                  \
            "RETURNING j.*, dealt.req_ord), "                                                      \
            "ins AS (INSERT INTO automation.job_attempts (job_id, attempt, worker_id, "            \
            "started_at) "                                                                         \
            "SELECT id, attempt, worker_id, started_at FROM cl) "                                  \
            "SELECT %s, " HAS_DEPENDENTS ", NULL::numeric, false, j.req_ord FROM done j "          \
            "UNION ALL (SELECT %s, false, " CLAIM_WAIT ", true, j.req_ord FROM cl j "              \
            "ORDER BY j.priority, j.created_at)"
#define HAS_DEPENDENTS \
    "EXISTS (SELECT 1 FROM automation.job_dependencies d WHERE d.depends_on = j.id)"

const char *const store_sql_name[Q_COUNT_STMTS] = {
    [Q_GET] = "get",
    [Q_BY_IDEM] = "by_idem",
    [Q_LOCK_DEPS] = "lock_deps",
    [Q_INSERT] = "insert",
    [Q_ATTEMPTS] = "attempts",
    [Q_DEPS] = "deps",
    [Q_LIST] = "list",
    [Q_COUNT] = "count",
    [Q_LOCK] = "lock",
    [Q_PATCH] = "patch",
    [Q_REEVAL] = "reeval",
    [Q_CANCEL_WAITING] = "cancel_waiting",
    [Q_CANCEL_RUNNING] = "cancel_running",
    [Q_RETRY] = "retry",
    [Q_STATS] = "stats",
    [Q_STATS_TYPE] = "stats_type",
    [Q_STATS_PRIO] = "stats_prio",
    [Q_CLIENT_STATS] = "client_stats",
    [Q_CLIENT_RECENT] = "client_recent",
    [Q_HOURLY_LOAD] = "hourly_load",
    [Q_SCHEDULED] = "scheduled",
    [Q_EVENT] = "event",
    [Q_FAIL_DEPENDENTS] = "fail_dependents",
    [Q_PROMOTE_DEPENDENTS] = "promote_dependents",
    [Q_CLAIM] = "claim",
    [Q_PROGRESS] = "progress",
    [Q_CANCEL_AT_PROGRESS] = "cancel_at_progress",
    [Q_COMPLETE] = "complete",
    [Q_LOCK_RUNNING] = "lock_running",
    [Q_RETRY_LATER] = "retry_later",
    [Q_FAIL] = "fail",
    [Q_ATTEMPT_END] = "attempt_end",
    [Q_RELEASE] = "release",
    [Q_EXPIRED] = "expired",
    [Q_PROMOTE_DUE] = "promote_due",
    [Q_FAIL_ORPHANS] = "fail_orphans",
    [Q_BACKOFF_ENDED] = "backoff_ended",
    [Q_NOW] = "now",
    [Q_DEPTH] = "depth",
    [Q_COMPLETE_CLAIM] = "complete_claim",
    [Q_COMPLETE_CLAIM_ONE] = "complete_claim_one",
    [Q_INSERT_ONE] = "insert_one",
    [Q_COMPLETE_BATCH] = "complete_batch",
    [Q_INSERT_BATCH] = "insert_batch",
};

const char *const store_sql_text[Q_COUNT_STMTS] = {
    [Q_GET] = "SELECT %s FROM automation.jobs j WHERE j.id = $1",

    [Q_BY_IDEM] = "SELECT %s FROM automation.jobs j WHERE j.idempotency_key = $1",

    /* FOR SHARE: a dependency cannot finish while the job naming it is being
     * created, so its completion always sees the new job. */
    [Q_LOCK_DEPS] = "SELECT id, status FROM automation.jobs WHERE id = ANY($1::uuid[]) "
                    "ORDER BY id FOR SHARE",

    /* $4 is what the dependencies allow (queued, pending or failed); a
     * future scheduled_at keeps a job pending. */
    [Q_INSERT] =
        "WITH ins AS (INSERT INTO automation.jobs (id, client_id, job_type, status, priority, "
        "config, max_attempts, scheduled_at, idempotency_key, error, queued_at, completed_at) "
        "SELECT $1, $2, $3, s.st, $5, $6::jsonb, $7, $8::timestamptz, $9, $10::jsonb, "
        "CASE WHEN s.st = 'queued' THEN now() END, CASE WHEN s.st = 'failed' THEN now() END "
        "FROM (SELECT CASE WHEN $4 = 'queued' AND NOT coalesce($8::timestamptz <= now(), true) "
        "THEN 'pending' ELSE $4 END AS st) s RETURNING id) "
        "INSERT INTO automation.job_dependencies (job_id, depends_on) "
        "SELECT ins.id, dep FROM ins, unnest($11::uuid[]) AS dep",

    /* A job without dependencies nor idempotency key, returned as created:
     * one statement instead of a transaction. */
    [Q_INSERT_ONE] =
        "INSERT INTO automation.jobs AS j (id, client_id, job_type, status, priority, config, "
        "max_attempts, scheduled_at, queued_at) SELECT $1, $2, $3, s.st, $4, $5::jsonb, $6, "
        "$7::timestamptz, CASE WHEN s.st = 'queued' THEN now() END "
        "FROM (SELECT CASE WHEN coalesce($7::timestamptz <= now(), true) THEN 'queued' "
        "ELSE 'pending' END AS st) s RETURNING %s",

    [Q_ATTEMPTS] = "SELECT attempt, worker_id, " TS("started_at") ", " TS(
        "finished_at") ", "
                       "outcome, error FROM automation.job_attempts WHERE job_id = $1 ORDER BY "
                       "attempt",

    [Q_DEPS] = "SELECT d.depends_on, k.status FROM automation.job_dependencies d "
               "JOIN automation.jobs k ON k.id = d.depends_on WHERE d.job_id = $1 "
               "ORDER BY d.depends_on",

#define LIST_WHERE                                                                         \
    "WHERE ($1::text IS NULL OR j.status = $1) AND ($2::text IS NULL OR j.job_type = $2) " \
    "AND ($3::uuid IS NULL OR j.client_id = $3) AND ($4::int IS NULL OR j.priority = $4) " \
    "AND ($5::timestamptz IS NULL OR j.created_at >= $5) "                                 \
    "AND ($6::timestamptz IS NULL OR j.created_at < $6) "
    [Q_LIST] = "SELECT %s FROM automation.jobs j " LIST_WHERE
               "ORDER BY j.created_at DESC, j.id DESC LIMIT $7 OFFSET $8",
    [Q_COUNT] = "SELECT count(*) FROM automation.jobs j " LIST_WHERE,

    [Q_LOCK] = "SELECT status, cancel_requested FROM automation.jobs WHERE id = $1 FOR UPDATE",

    [Q_PATCH] = "UPDATE automation.jobs SET priority = coalesce($2::smallint, priority), "
                "config = coalesce($3::jsonb, config), "
                "scheduled_at = CASE WHEN $4::bool THEN $5::timestamptz ELSE scheduled_at END, "
                "updated_at = now(), seq = seq + 1 WHERE id = $1",

    /* A waiting job's status from its dependencies and schedule. */
    [Q_REEVAL] = "UPDATE automation.jobs j SET status = x.st, "
                 "queued_at = CASE WHEN x.st = 'queued' AND j.status <> 'queued' THEN now() "
                 "WHEN x.st = 'queued' THEN j.queued_at END "
                 "FROM (SELECT CASE WHEN " DUE " AND NOT " DEPS_OPEN " THEN 'queued' "
                 "ELSE 'pending' END AS st FROM automation.jobs j WHERE j.id = $1) x "
                 "WHERE j.id = $1 RETURNING %s",

    [Q_CANCEL_WAITING] = "UPDATE automation.jobs j SET status = 'cancelled', completed_at = now(), "
                         "updated_at = now(), seq = j.seq + 1, queued_at = NULL "
                         "WHERE j.id = $1 RETURNING %s",

    [Q_CANCEL_RUNNING] = "UPDATE automation.jobs j SET cancel_requested = true, "
                         "updated_at = now(), seq = j.seq + 1 WHERE j.id = $1 RETURNING %s",

    /* A retry by hand: earlier attempts stop counting, the job waits again. */
    [Q_RETRY] = "UPDATE automation.jobs SET attempts_uncounted = attempt, error = NULL, "
                "result = NULL, progress = 0, progress_message = NULL, cancel_requested = false, "
                "run_after = NULL, completed_at = NULL, duration_seconds = NULL, "
                "worker_id = NULL, lease_expires_at = NULL, status = 'pending', "
                "updated_at = now(), seq = seq + 1 WHERE id = $1",

    [Q_STATS] = "SELECT count(*), count(*) FILTER (WHERE status = 'pending'), "
                "count(*) FILTER (WHERE status = 'queued'), "
                "count(*) FILTER (WHERE status = 'running'), "
                "count(*) FILTER (WHERE status = 'completed' "
                "AND completed_at >= date_trunc('day', now(), 'UTC')), "
                "count(*) FILTER (WHERE status = 'failed' "
                "AND completed_at >= date_trunc('day', now(), 'UTC')), "
                "avg(duration_seconds) FILTER (WHERE status = 'completed') "
                "FROM automation.jobs",
    [Q_STATS_TYPE] = "SELECT job_type, count(*) FROM automation.jobs GROUP BY job_type",
    [Q_STATS_PRIO] = "SELECT priority, count(*) FROM automation.jobs GROUP BY priority",

    [Q_CLIENT_STATS] =
        "SELECT count(*), count(*) FILTER (WHERE status = 'completed'), "
        "count(*) FILTER (WHERE status = 'failed'), count(*) FILTER (WHERE status = 'cancelled'), "
        "count(*) FILTER (WHERE status = 'running'), count(*) FILTER (WHERE status = 'queued'), "
        "count(*) FILTER (WHERE status = 'pending'), "
        "avg(duration_seconds) FILTER (WHERE status = 'completed') FROM automation.jobs "
        "WHERE ($1::uuid IS NULL OR client_id = $1) "
        "AND ($2::timestamptz IS NULL OR created_at >= $2)",

    /* Failures of the last 24 h and running jobs whose lease ran out, whatever
     * "since" says: both read small index ranges (jobs_completed, jobs_leases). */
    [Q_CLIENT_RECENT] = "SELECT (SELECT count(*) FROM automation.jobs WHERE status = 'failed' "
                        "AND completed_at >= now() - interval '24 hours' "
                        "AND ($1::uuid IS NULL OR client_id = $1)), "
                        "(SELECT count(*) FROM automation.jobs WHERE status = 'running' "
                        "AND lease_expires_at < now() AND ($1::uuid IS NULL OR client_id = $1))",

    /* Jobs started per hour of the UTC day over the last 7 days, whole queue:
     * the jobs that ended in that time (jobs_completed), by their start. */
    [Q_HOURLY_LOAD] = "SELECT extract(hour FROM started_at AT TIME ZONE 'UTC')::int, count(*) "
                      "FROM automation.jobs WHERE completed_at >= now() - interval '7 days' "
                      "AND started_at IS NOT NULL GROUP BY 1",

    /* Jobs of every client due in [$1, $1 + $2 hours): pending ones waiting for
     * their scheduled_at, queued ones waiting out a retry backoff. */
    [Q_SCHEDULED] = "SELECT id, client_id, job_type, " TS(
        "at") " FROM ("
              "SELECT id, client_id, job_type, scheduled_at AS at FROM automation.jobs "
              "WHERE status = 'pending' AND scheduled_at >= $1 "
              "AND scheduled_at < $1::timestamptz + make_interval(hours => $2::int) "
              "UNION ALL SELECT id, client_id, job_type, run_after FROM automation.jobs "
              "WHERE status = 'queued' AND run_after >= $1 "
              "AND run_after < $1::timestamptz + make_interval(hours => $2::int)) d "
              "ORDER BY at, id LIMIT 1000",

    [Q_EVENT] = "SELECT %s FROM automation.jobs j WHERE j.id = $1 AND j.client_id = $2",

    /* Every pending job downstream of $1 fails, naming the dependency that
     * stopped it ($2: how $1 ended). */
    [Q_FAIL_DEPENDENTS] =
        "WITH RECURSIVE doomed(job_id, cause) AS ("
        "SELECT d.job_id, d.depends_on FROM automation.job_dependencies d "
        "JOIN automation.jobs p ON p.id = d.job_id AND p.status = 'pending' "
        "WHERE d.depends_on = $1 UNION "
        "SELECT d.job_id, d.depends_on FROM automation.job_dependencies d "
        "JOIN doomed ON d.depends_on = doomed.job_id "
        "JOIN automation.jobs p ON p.id = d.job_id AND p.status = 'pending') "
        "UPDATE automation.jobs j SET status = 'failed', completed_at = now(), "
        "updated_at = now(), seq = j.seq + 1, queued_at = NULL, "
        "error = jsonb_build_object('message', 'dependency ' || doomed.cause || ' ' || "
        "CASE WHEN doomed.cause = $1 THEN $2 ELSE 'failed' END, 'retryable', false) "
        "FROM doomed WHERE j.id = doomed.job_id AND j.status = 'pending' RETURNING %s",

    [Q_PROMOTE_DEPENDENTS] =
        "UPDATE automation.jobs j SET status = 'queued', queued_at = now(), updated_at = now(), "
        "seq = j.seq + 1 WHERE j.id IN (SELECT d.job_id FROM automation.job_dependencies d "
        "WHERE d.depends_on = $1) AND j.status = 'pending' AND " DUE " AND NOT " DEPS_OPEN
        " RETURNING %s",

    /* The claim: ready jobs by priority, then age; SKIP LOCKED so replicas
     * and concurrent claims never take the same job. */
    [Q_CLAIM] = "WITH " CLAIM_PICK("$1", "$2", "") CLAIM_TAKE(
        "$3", "$4") "SELECT %s, " CLAIM_WAIT " FROM cl j ORDER BY j.priority, j.created_at",

    /* Without $3 it only renews the lease. */
    [Q_PROGRESS] =
        "UPDATE automation.jobs j SET progress = coalesce($3::smallint, j.progress), "
        "progress_message = CASE WHEN $3::smallint IS NULL THEN j.progress_message ELSE $4 END, "
        "lease_expires_at = now() + make_interval(secs => j.lease_seconds), "
        "updated_at = CASE WHEN $3::smallint IS NULL THEN j.updated_at ELSE now() END, "
        "seq = j.seq + CASE WHEN $3::smallint IS NULL THEN 0 ELSE 1 END "
        "WHERE j.id = $1 AND j.attempt = $2 AND j.status = 'running' RETURNING %s",

    [Q_CANCEL_AT_PROGRESS] =
        "WITH upd AS (UPDATE automation.jobs j SET status = 'cancelled', completed_at = now(), "
        "updated_at = now(), seq = j.seq + 1, lease_expires_at = NULL, "
        "duration_seconds = extract(epoch FROM now() - j.started_at) "
        "WHERE j.id = $1 AND j.attempt = $2 AND j.status = 'running' AND j.cancel_requested "
        "RETURNING j.*), "
        "att AS (UPDATE automation.job_attempts a SET outcome = 'cancelled', finished_at = now() "
        "FROM upd WHERE a.job_id = upd.id AND a.attempt = upd.attempt) "
        "SELECT %s FROM upd j",

    [Q_COMPLETE] = "WITH " COMPLETE_DONE "SELECT %s, " HAS_DEPENDENTS " FROM done j",

    [Q_LOCK_RUNNING] = "SELECT attempt - attempts_uncounted, max_attempts, cancel_requested "
                       "FROM automation.jobs WHERE id = $1 AND attempt = $2 "
                       "AND status = 'running' FOR UPDATE",

    /* $3: back-off in ms (0: at once). */
    [Q_RETRY_LATER] =
        "UPDATE automation.jobs j SET status = 'queued', error = $4::jsonb, "
        "run_after = CASE WHEN $3::bigint > 0 THEN now() + $3::bigint * interval '1 millisecond' "
        "END, queued_at = now(), lease_expires_at = NULL, updated_at = now(), seq = j.seq + 1 "
        "WHERE j.id = $1 AND j.attempt = $2 RETURNING %s",

    [Q_FAIL] = "UPDATE automation.jobs j SET status = 'failed', error = $3::jsonb, "
               "completed_at = now(), lease_expires_at = NULL, updated_at = now(), "
               "seq = j.seq + 1, duration_seconds = extract(epoch FROM now() - j.started_at) "
               "WHERE j.id = $1 AND j.attempt = $2 RETURNING %s",

    [Q_ATTEMPT_END] = "UPDATE automation.job_attempts SET outcome = $3, finished_at = now(), "
                      "error = $4::jsonb WHERE job_id = $1 AND attempt = $2",

    /* A stopping worker hands a job back: queued at once, that attempt not
     * counted; unless cancellation was asked for meanwhile. */
    [Q_RELEASE] =
        "WITH upd AS (UPDATE automation.jobs j SET "
        "status = CASE WHEN j.cancel_requested THEN 'cancelled' ELSE 'queued' END, "
        "completed_at = CASE WHEN j.cancel_requested THEN now() END, "
        "queued_at = CASE WHEN j.cancel_requested THEN NULL ELSE now() END, "
        "attempts_uncounted = j.attempts_uncounted + 1, run_after = NULL, "
        "lease_expires_at = NULL, updated_at = now(), seq = j.seq + 1 "
        "WHERE j.id = $1 AND j.attempt = $2 AND j.status = 'running' RETURNING j.*), "
        "att AS (UPDATE automation.job_attempts a SET outcome = 'released', finished_at = now(), "
        "error = jsonb_build_object('message', $3::text, 'retryable', true) "
        "FROM upd WHERE a.job_id = upd.id AND a.attempt = upd.attempt) "
        "SELECT %s FROM upd j",

    [Q_EXPIRED] = "SELECT id, attempt FROM automation.jobs WHERE status = 'running' "
                  "AND lease_expires_at < now() ORDER BY lease_expires_at LIMIT 200 "
                  "FOR UPDATE SKIP LOCKED",

    [Q_PROMOTE_DUE] =
        "UPDATE automation.jobs j SET status = 'queued', queued_at = now(), updated_at = now(), "
        "seq = j.seq + 1 WHERE j.id IN (SELECT id FROM automation.jobs j WHERE "
        "j.status = 'pending' AND " DUE " AND NOT " DEPS_OPEN " ORDER BY j.created_at LIMIT 500 "
        "FOR UPDATE SKIP LOCKED) RETURNING %s",

    [Q_FAIL_ORPHANS] =
        "UPDATE automation.jobs j SET status = 'failed', completed_at = now(), updated_at = now(), "
        "seq = j.seq + 1, queued_at = NULL, "
        "error = jsonb_build_object('message', 'dependency ' || k.id || ' ' || k.status, "
        "'retryable', false) FROM automation.job_dependencies d JOIN automation.jobs k "
        "ON k.id = d.depends_on AND k.status IN ('failed', 'cancelled') "
        "WHERE j.status = 'pending' AND d.job_id = j.id RETURNING %s",

    [Q_BACKOFF_ENDED] = "SELECT DISTINCT job_type FROM automation.jobs WHERE status = 'queued' "
                        "AND run_after IS NOT NULL AND run_after > $1::timestamptz "
                        "AND run_after <= now()",

    [Q_NOW] = "SELECT " TS("now()"),

    [Q_DEPTH] = "SELECT status, count(*) FROM automation.jobs "
                "WHERE status IN ('pending', 'queued', 'running') GROUP BY status",

    /* A worker's next job with its completion is the common case: with a
     * constant LIMIT that statement gets a generic plan (planned once per
     * connection) instead of being planned at every call. */
    [Q_COMPLETE_CLAIM] = COMPLETE_CLAIM("$5"),
    [Q_COMPLETE_CLAIM_ONE] = COMPLETE_CLAIM("1"),
    [Q_COMPLETE_BATCH] = COMPLETE_BATCH,

    /* Jobs as Q_INSERT_ONE makes them, several at once ($1: [{id, client_id,
     * job_type, priority, config, max_attempts, scheduled_at}]). */
    [Q_INSERT_BATCH] =
        "INSERT INTO automation.jobs AS j (id, client_id, job_type, status, priority, config, "
        "max_attempts, scheduled_at, queued_at) SELECT r.id, r.client_id, r.job_type, s.st, "
        "r.priority, r.config, r.max_attempts, r.scheduled_at, "
        "CASE WHEN s.st = 'queued' THEN now() END "
        "FROM jsonb_to_recordset($1::jsonb) AS r(id uuid, client_id uuid, job_type text, "
        "priority smallint, config jsonb, max_attempts int, scheduled_at timestamptz) "
        "CROSS JOIN LATERAL (SELECT CASE WHEN coalesce(r.scheduled_at <= now(), true) "
        "THEN 'queued' ELSE 'pending' END AS st) s RETURNING %s",
};
