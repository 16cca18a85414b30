/* Unit tests for db.c against a real PostgreSQL (BRAIN_TEST_DATABASE_URL).
 * Every schema made here starts with brain_test_db_<pid> and is dropped at
 * the end, so the tests can share a database with anything else. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* clang-format off: cmocka.h needs the headers above included first */
#include <cmocka.h>
/* clang-format on */

#include "db.h"
#include "log.h"
#include "util.h"

static const char *g_url;
static char g_prefix[48];
static db_pool *g_pool;

/* Short pauses inside loops that wait for a condition with a deadline. */
static void
pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void
schema_name(char *buf, size_t cap, const char *suffix)
{
    snprintf(buf, cap, "%s_%s", g_prefix, suffix);
}

static db_conn *
must_acquire(db_pool *p)
{
    db_conn *c = NULL;

    assert_int_equal(db_acquire(p, 5000, &c), DB_OK);
    assert_non_null(c);
    return c;
}

static void
must_exec(db_conn *c, const char *sql)
{
    db_status st = db_exec(c, sql, 0, NULL, NULL);

    if (st != DB_OK)
        fail_msg("%s: %s (%s)", sql, db_status_name(st), db_last_error(c));
}

/* The single value of a one-row, one-column query, as a long. */
static long
scalar(db_conn *c, const char *sql, int n, const char *const *params)
{
    PGresult *r = NULL;
    db_status st = db_exec(c, sql, n, params, &r);
    char *end = NULL;
    long v;

    if (st != DB_OK)
        fail_msg("%s: %s (%s)", sql, db_status_name(st), db_last_error(c));
    assert_int_equal(PQntuples(r), 1);
    errno = 0;
    v = strtol(PQgetvalue(r, 0, 0), &end, 10);
    assert_true(errno == 0 && end != NULL && *end == '\0');
    PQclear(r);
    return v;
}

static long
pool_scalar(const char *sql, int n, const char *const *params)
{
    db_conn *c = must_acquire(g_pool);
    long v = scalar(c, sql, n, params);

    db_release(c);
    return v;
}

static int
backend_pid(db_conn *c)
{
    return (int)scalar(c, "SELECT pg_backend_pid()", 0, NULL);
}

/* Terminate a backend from another connection and wait until it is gone. */
static void
terminate_backend(int pid)
{
    char pbuf[16];
    const char *params[1] = {pbuf};
    int64_t deadline = util_mono_ns() + 10 * 1000000000LL;

    snprintf(pbuf, sizeof(pbuf), "%d", pid);
    assert_int_equal(pool_scalar("SELECT pg_terminate_backend($1::int)::int", 1, params), 1);
    while (pool_scalar("SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", 1, params)
           != 0) {
        assert_true(util_mono_ns() < deadline);
        pause_ms(10);
    }
}

static void
test_status_names(void **state)
{
    db_pool *named;

    (void)state;
    assert_string_equal(db_status_name(DB_OK), "ok");
    assert_string_equal(db_status_name(DB_ERR_UNIQUE), "unique_violation");
    assert_string_equal(db_status_name(DB_ERR_TIMEOUT), "timeout");
    assert_string_equal(db_status_name((db_status)42), "unknown");
    assert_null(db_pool_new(NULL, 1, 1));
    assert_null(db_pool_new(g_url, 0, 1));
    assert_null(db_pool_new("host=127.0.0.1 passwordhunter2", 1, 1));
    assert_null(db_pool_new("postgresql://u:p%zz@127.0.0.1/x", 1, 1));
    named = db_pool_new("just_a_database_name", 1, 1);
    assert_non_null(named);
    db_pool_free(named);
    db_pool_free(NULL);
    db_release(NULL);
    assert_string_equal(db_last_error(NULL), "");
}

static void
test_exec_params_and_null(void **state)
{
    char s[64], sql[256];
    const char *params[2] = {"it's; DROP TABLE x --", NULL};
    PGresult *r = NULL;
    db_conn *c = must_acquire(g_pool);

    (void)state;
    schema_name(s, sizeof(s), "exec");
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", s);
    must_exec(c, sql);
    snprintf(sql, sizeof(sql), "CREATE TABLE %s.t (a text, b text)", s);
    must_exec(c, sql);
    snprintf(sql, sizeof(sql), "INSERT INTO %s.t VALUES ($1, $2) RETURNING a, b IS NULL", s);
    assert_int_equal(db_exec(c, sql, 2, params, &r), DB_OK);
    assert_non_null(r);
    assert_int_equal(PQntuples(r), 1);
    assert_string_equal(PQgetvalue(r, 0, 0), params[0]);
    assert_string_equal(PQgetvalue(r, 0, 1), "t");
    PQclear(r);
    assert_string_equal(db_last_error(c), "");
    /* The connection is named after the program in pg_stat_activity. */
    assert_int_equal(db_exec(c, "SELECT current_setting('application_name')", 0, NULL, &r), DB_OK);
    assert_string_equal(PQgetvalue(r, 0, 0), "test_db");
    PQclear(r);

    /* A failed statement leaves *res NULL; bad arguments are refused. */
    r = (PGresult *)1;
    assert_int_equal(db_exec(c, "SELECT nope", 0, NULL, &r), DB_ERR_OTHER);
    assert_null(r);
    assert_int_equal(db_exec(c, NULL, 0, NULL, NULL), DB_ERR_OTHER);
    assert_int_equal(db_exec(c, "SELECT $1", 1, NULL, NULL), DB_ERR_OTHER);
    db_release(c);
}

static void
test_error_mapping(void **state)
{
    static const struct {
        const char *sqlstate;
        db_status want;
    } cases[] = {
        {"23505", DB_ERR_UNIQUE},        {"23503", DB_ERR_FOREIGN_KEY},
        {"23502", DB_ERR_CONSTRAINT},    {"23514", DB_ERR_CONSTRAINT},
        {"22P02", DB_ERR_INVALID},       {"22012", DB_ERR_INVALID},
        {"40001", DB_ERR_SERIALIZATION}, {"40P01", DB_ERR_SERIALIZATION},
        {"57014", DB_ERR_TIMEOUT},       {"42601", DB_ERR_OTHER},
        {"57P01", DB_ERR_UNAVAILABLE},   {"08006", DB_ERR_UNAVAILABLE},
    };
    char sql[256], want[64];
    db_pool *p = db_pool_new(g_url, 1, 5);

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        db_conn *c = must_acquire(p);
        int pid = backend_pid(c);
        snprintf(sql, sizeof(sql),
                 "DO $$ BEGIN RAISE EXCEPTION 'boom\nsecond line' USING ERRCODE = '%s'; END $$",
                 cases[i].sqlstate);
        assert_int_equal(db_exec(c, sql, 0, NULL, NULL), cases[i].want);
        snprintf(want, sizeof(want), "SQLSTATE %s: boom second line", cases[i].sqlstate);
        assert_string_equal(db_last_error(c), want);
        db_release(c);
        /* Connection-level errors close the connection; others keep it. */
        c = must_acquire(p);
        if (cases[i].want == DB_ERR_UNAVAILABLE)
            assert_int_not_equal(backend_pid(c), pid);
        else
            assert_int_equal(backend_pid(c), pid);
        db_release(c);
    }
    db_pool_free(p);
}

static void
test_real_constraint_errors(void **state)
{
    char s[64], sql[512];
    const char *bad[1] = {"abc"};
    db_conn *c = must_acquire(g_pool);

    (void)state;
    schema_name(s, sizeof(s), "errs");
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", s);
    must_exec(c, sql);
    snprintf(sql, sizeof(sql), "CREATE TABLE %s.parent (id int PRIMARY KEY)", s);
    must_exec(c, sql);
    snprintf(sql, sizeof(sql),
             "CREATE TABLE %s.child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES "
             "%s.parent (id), qty int CHECK (qty >= 0))",
             s, s);
    must_exec(c, sql);
    snprintf(sql, sizeof(sql), "INSERT INTO %s.parent VALUES (1)", s);
    must_exec(c, sql);

    snprintf(sql, sizeof(sql), "INSERT INTO %s.parent VALUES (1)", s);
    assert_int_equal(db_exec(c, sql, 0, NULL, NULL), DB_ERR_UNIQUE);
    assert_true(strncmp(db_last_error(c), "SQLSTATE 23505: duplicate key value", 35) == 0);
    assert_null(strchr(db_last_error(c), '\n'));
    snprintf(sql, sizeof(sql), "INSERT INTO %s.child VALUES (1, 99, 1)", s);
    assert_int_equal(db_exec(c, sql, 0, NULL, NULL), DB_ERR_FOREIGN_KEY);
    snprintf(sql, sizeof(sql), "INSERT INTO %s.child VALUES (1, NULL, 1)", s);
    assert_int_equal(db_exec(c, sql, 0, NULL, NULL), DB_ERR_CONSTRAINT);
    snprintf(sql, sizeof(sql), "INSERT INTO %s.child VALUES (1, 1, -1)", s);
    assert_int_equal(db_exec(c, sql, 0, NULL, NULL), DB_ERR_CONSTRAINT);
    assert_int_equal(db_exec(c, "SELECT $1::int", 1, bad, NULL), DB_ERR_INVALID);
    assert_int_equal(db_exec(c, "SELEC 1", 0, NULL, NULL), DB_ERR_OTHER);

    must_exec(c, "BEGIN");
    must_exec(c, "SET LOCAL statement_timeout = '50ms'");
    assert_int_equal(db_exec(c, "SELECT pg_sleep(5)", 0, NULL, NULL), DB_ERR_TIMEOUT);
    assert_int_equal(db_rollback(c), DB_OK);
    db_release(c);
}

static void
test_transactions(void **state)
{
    char s[64], sql[256], count[256];
    db_conn *c = must_acquire(g_pool);
    db_conn *other = must_acquire(g_pool);
    int pid;

    (void)state;
    schema_name(s, sizeof(s), "tx");
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", s);
    must_exec(c, sql);
    snprintf(sql, sizeof(sql), "CREATE TABLE %s.t (v text)", s);
    must_exec(c, sql);
    snprintf(count, sizeof(count), "SELECT count(*) FROM %s.t", s);

    assert_int_equal(db_begin(c), DB_OK);
    snprintf(sql, sizeof(sql), "INSERT INTO %s.t VALUES ('kept')", s);
    must_exec(c, sql);
    assert_int_equal(scalar(other, count, 0, NULL), 0); /* not visible before commit */
    assert_int_equal(db_commit(c), DB_OK);
    assert_int_equal(scalar(other, count, 0, NULL), 1);

    assert_int_equal(db_begin(c), DB_OK);
    snprintf(sql, sizeof(sql), "INSERT INTO %s.t VALUES ('dropped')", s);
    must_exec(c, sql);
    assert_int_equal(db_rollback(c), DB_OK);
    assert_int_equal(scalar(other, count, 0, NULL), 1);

    /* COMMIT after an error in the transaction is reported, not taken as done. */
    assert_int_equal(db_begin(c), DB_OK);
    must_exec(c, sql);
    assert_int_equal(db_exec(c, "SELECT 1/0", 0, NULL, NULL), DB_ERR_INVALID);
    assert_int_equal(db_commit(c), DB_ERR_OTHER);
    assert_non_null(strstr(db_last_error(c), "rolled back"));
    assert_int_equal(scalar(other, count, 0, NULL), 1);

    /* Release rolls back an open transaction, also a failed one, and keeps
     * the connection (same backend). */
    pid = backend_pid(c);
    assert_int_equal(db_begin(c), DB_OK);
    must_exec(c, sql);
    db_release(c);
    db_release(other);
    c = must_acquire(g_pool);
    other = must_acquire(g_pool);
    if (backend_pid(c) != pid) {
        db_conn *t = c;
        c = other;
        other = t;
    }
    assert_int_equal(backend_pid(c), pid);
    assert_int_equal(scalar(c, count, 0, NULL), 1);
    assert_int_equal(db_begin(c), DB_OK);
    assert_int_equal(db_exec(c, "SELECT 1/0", 0, NULL, NULL), DB_ERR_INVALID);
    db_release(c);
    db_release(other);
    c = must_acquire(g_pool);
    assert_int_equal(scalar(c, count, 0, NULL), 1);
    db_release(c);
}

static void
test_prepared_many(void **state)
{
    db_conn *a = must_acquire(g_pool);
    db_conn *b = must_acquire(g_pool);
    char x[16], y[16];
    const char *params[2] = {x, y};

    (void)state;
    for (int i = 0; i < 300; i++) {
        db_conn *c = (i % 2) ? a : b;
        snprintf(x, sizeof(x), "%d", i);
        snprintf(y, sizeof(y), "%d", 7 * i);
        assert_int_equal(db_exec_prepared(c, "t_add", "SELECT $1::int + $2::int", 2, params, NULL),
                         DB_OK);
        assert_int_equal(scalar(c, "SELECT 1", 0, NULL), 1);
        PGresult *r = NULL;
        assert_int_equal(db_exec_prepared(c, "t_mul", "SELECT $1::int * $2::int", 2, params, &r),
                         DB_OK);
        assert_int_equal(strtol(PQgetvalue(r, 0, 0), NULL, 10), 7L * i * i);
        PQclear(r);
    }
    /* Prepared once per connection, not once per call. */
    assert_int_equal(
        scalar(a, "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 't\\_%'", 0, NULL),
        2);
    assert_int_equal(
        scalar(b, "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 't\\_%'", 0, NULL),
        2);
    /* A statement that fails to prepare is not remembered as prepared. */
    assert_int_equal(db_exec_prepared(a, "t_bad", "SELEC 1", 0, NULL, NULL), DB_ERR_OTHER);
    assert_int_equal(db_exec_prepared(a, "t_bad", "SELEC 1", 0, NULL, NULL), DB_ERR_OTHER);
    assert_true(strncmp(db_last_error(a), "SQLSTATE 42601", 14) == 0);
    db_release(a);
    db_release(b);
}

struct waiter {
    db_pool *pool;
    volatile int started;
    db_status st;
};

static void *
waiter_main(void *arg)
{
    struct waiter *w = arg;
    db_conn *c = NULL;

    __atomic_store_n(&w->started, 1, __ATOMIC_SEQ_CST);
    w->st = db_acquire(w->pool, 10000, &c);
    db_release(c);
    return NULL;
}

static void
test_pool_exhaustion(void **state)
{
    db_pool *p = db_pool_new(g_url, 1, 5);
    db_conn *c = NULL, *c2 = (db_conn *)1;
    struct waiter w = {.pool = p};
    pthread_t th;
    int64_t t0, elapsed_ms;

    (void)state;
    assert_non_null(p);
    c = must_acquire(p);
    t0 = util_mono_ns();
    assert_int_equal(db_acquire(p, 200, &c2), DB_ERR_UNAVAILABLE);
    elapsed_ms = (util_mono_ns() - t0) / 1000000;
    assert_null(c2);
    assert_true(elapsed_ms >= 190 && elapsed_ms < 5000);

    /* A waiter gets the connection as soon as it is released. */
    assert_int_equal(pthread_create(&th, NULL, waiter_main, &w), 0);
    while (!__atomic_load_n(&w.started, __ATOMIC_SEQ_CST))
        pause_ms(1);
    pause_ms(20);
    t0 = util_mono_ns();
    db_release(c);
    pthread_join(th, NULL);
    assert_int_equal(w.st, DB_OK);
    assert_true((util_mono_ns() - t0) / 1000000 < 5000);
    db_pool_free(p);
}

static void
test_unreachable_server(void **state)
{
    char path[] = "/tmp/test_db_log_XXXXXX";
    char buf[8192];
    int fd = mkstemp(path);
    db_pool *p =
        db_pool_new("postgresql://brain:s3cretpw@127.0.0.1:1/brain?connect_timeout=1", 2, 1);
    db_conn *c = (db_conn *)1;
    ssize_t n;

    (void)state;
    assert_true(fd >= 0);
    assert_non_null(p);
    log_set_fd(fd);
    assert_int_equal(db_acquire(p, 100, &c), DB_ERR_UNAVAILABLE);
    assert_null(c);
    assert_int_equal(db_ping(p, 1000, NULL), DB_ERR_UNAVAILABLE);
    log_set_fd(STDOUT_FILENO);
    db_pool_free(p);

    n = pread(fd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "database unavailable"));
    assert_null(strstr(buf, "s3cretpw"));
    close(fd);
    unlink(path);
}

static void
test_recover_checked_out_connection(void **state)
{
    db_pool *p = db_pool_new(g_url, 1, 5);
    db_conn *c;
    int pid;
    const char *params[2] = {"2", "3"};

    (void)state;
    c = must_acquire(p);
    assert_int_equal(db_exec_prepared(c, "add", "SELECT $1::int + $2::int", 2, params, NULL),
                     DB_OK);
    pid = backend_pid(c);
    terminate_backend(pid);
    /* The connection in hand is dead: the query says so, release closes it. */
    assert_int_equal(db_exec(c, "SELECT 1", 0, NULL, NULL), DB_ERR_UNAVAILABLE);
    assert_string_not_equal(db_last_error(c), "");
    db_release(c);

    c = must_acquire(p);
    assert_true(backend_pid(c) != pid);
    /* The new connection prepares its statements again. */
    assert_int_equal(scalar(c, "SELECT count(*) FROM pg_prepared_statements", 0, NULL), 0);
    assert_int_equal(db_exec_prepared(c, "add", "SELECT $1::int + $2::int", 2, params, NULL),
                     DB_OK);
    db_release(c);
    db_pool_free(p);
}

static void
test_recover_idle_connection_and_ping(void **state)
{
    db_pool *p = db_pool_new(g_url, 1, 5);
    db_conn *c;
    db_status st;
    int pid, latency = -1;

    (void)state;
    c = must_acquire(p);
    pid = backend_pid(c);
    db_release(c);
    terminate_backend(pid);

    /* The first query on the idle connection may fail once; the next works. */
    c = must_acquire(p);
    st = db_exec(c, "SELECT 1", 0, NULL, NULL);
    if (st != DB_OK) {
        assert_int_equal(st, DB_ERR_UNAVAILABLE);
        db_release(c);
        c = must_acquire(p);
        assert_int_equal(db_exec(c, "SELECT 1", 0, NULL, NULL), DB_OK);
    }
    pid = backend_pid(c);
    db_release(c);

    /* db_ping reconnects by itself. */
    terminate_backend(pid);
    assert_int_equal(db_ping(p, 5000, &latency), DB_OK);
    assert_true(latency >= 0 && latency < 5000);
    c = must_acquire(p);
    assert_true(backend_pid(c) != pid);
    db_release(c);
    db_pool_free(p);
}

/* Notices go to the log at debug level, never to stderr. */
static void
test_notice_not_on_stderr(void **state)
{
    char epath[] = "/tmp/test_db_err_XXXXXX", lpath[] = "/tmp/test_db_log_XXXXXX";
    char buf[8192];
    int efd = mkstemp(epath), lfd = mkstemp(lpath);
    int saved = dup(STDERR_FILENO);
    db_conn *c = must_acquire(g_pool);
    ssize_t n;

    (void)state;
    assert_true(efd >= 0 && lfd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(efd, STDERR_FILENO);
    log_set_fd(lfd);
    log_set_level(LOGL_DEBUG);
    must_exec(c, "DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$");
    log_set_level(LOGL_INFO);
    log_set_fd(STDOUT_FILENO);
    dup2(saved, STDERR_FILENO);
    close(saved);
    db_release(c);

    assert_int_equal(lseek(efd, 0, SEEK_END), 0);
    n = pread(lfd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "hello from plpgsql"));
    assert_non_null(strstr(buf, "\"level\":\"debug\""));
    close(efd);
    close(lfd);
    unlink(epath);
    unlink(lpath);
}

static long
table_exists(const char *schema, const char *table)
{
    char name[128];
    const char *params[1] = {name};

    snprintf(name, sizeof(name), "%s.%s", schema, table);
    return pool_scalar("SELECT (to_regclass($1) IS NOT NULL)::int", 1, params);
}

/* The applied versions of schema as digits, e.g. "12" for 1 and 2. */
static void
applied_versions(const char *schema, char *out, size_t cap)
{
    char sql[256];
    PGresult *r = NULL;
    db_conn *c = must_acquire(g_pool);

    snprintf(sql, sizeof(sql),
             "SELECT coalesce(string_agg(version::text, '' ORDER BY version), '') "
             "FROM %s.schema_migrations",
             schema);
    assert_int_equal(db_exec(c, sql, 0, NULL, &r), DB_OK);
    util_strlcpy(out, PQgetvalue(r, 0, 0), cap);
    PQclear(r);
    db_release(c);
}

static void
test_migrate_apply_and_rerun(void **state)
{
    const db_migration m[] = {
        {"001_init.sql", "CREATE TABLE items (id int PRIMARY KEY, name text NOT NULL);\n"
                         "CREATE INDEX items_name ON items (name);"},
        {"002_more.sql", "ALTER TABLE items ADD COLUMN qty int; INSERT INTO items VALUES "
                         "(1, 'a', 2);"},
    };
    char s[64], err[256] = "x", versions[16], sql[256];
    char lpath[] = "/tmp/test_db_log_XXXXXX", buf[8192];
    int lfd = mkstemp(lpath);
    ssize_t n;

    (void)state;
    assert_true(lfd >= 0);
    schema_name(s, sizeof(s), "mig");
    log_set_fd(lfd);
    assert_int_equal(db_migrate(g_pool, s, m, 2, err, sizeof(err)), DB_OK);
    log_set_fd(STDOUT_FILENO);
    assert_string_equal(err, "");
    assert_int_equal(table_exists(s, "items"), 1);
    applied_versions(s, versions, sizeof(versions));
    assert_string_equal(versions, "12");
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM %s.schema_migrations "
             "WHERE name = '001_init.sql' AND length(checksum) = 64",
             s);
    assert_int_equal(pool_scalar(sql, 0, NULL), 1);

    n = pread(lfd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "\"msg\":\"migration applied\""));
    assert_non_null(strstr(buf, "\"migration\":\"002_more.sql\""));
    assert_non_null(strstr(buf, "\"duration_ms\":"));
    close(lfd);
    unlink(lpath);

    /* Running again applies nothing (002 would fail: the column exists). */
    assert_int_equal(db_migrate(g_pool, s, m, 2, err, sizeof(err)), DB_OK);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.items", s);
    assert_int_equal(pool_scalar(sql, 0, NULL), 1);
    /* An empty list is fine too. */
    assert_int_equal(db_migrate(g_pool, s, NULL, 0, err, sizeof(err)), DB_OK);
}

static void
test_migrate_checksum_mismatch(void **state)
{
    db_migration m[] = {{"001_init.sql", "CREATE TABLE a (id int);"}};
    char s[64], err[256];

    (void)state;
    schema_name(s, sizeof(s), "sum");
    assert_int_equal(db_migrate(g_pool, s, m, 1, err, sizeof(err)), DB_OK);
    m[0].sql = "CREATE TABLE a (id bigint);";
    assert_int_equal(db_migrate(g_pool, s, m, 1, err, sizeof(err)), DB_ERR_OTHER);
    assert_string_equal(err, "migration 001_init.sql was changed after it was applied");
}

static void
test_migrate_failure_is_atomic(void **state)
{
    db_migration m[] = {
        {"001_ok.sql", "CREATE TABLE t1 (id int);"},
        {"002_bad.sql", "CREATE TABLE t2 (id int); INSERT INTO t2 VALUES (1); SELECT 1/0;"},
        {"003_later.sql", "CREATE TABLE t3 (id int);"},
    };
    char s[64], err[256], versions[16];
    db_pool *p = db_pool_new(g_url, 1, 5);

    (void)state;
    schema_name(s, sizeof(s), "atomic");
    assert_int_equal(db_migrate(p, s, m, 3, err, sizeof(err)), DB_ERR_INVALID);
    assert_true(strncmp(err, "002_bad.sql: SQLSTATE 22012: division by zero", 46) == 0);
    assert_int_equal(table_exists(s, "t1"), 1);
    assert_int_equal(table_exists(s, "t2"), 0);
    assert_int_equal(table_exists(s, "t3"), 0);
    applied_versions(s, versions, sizeof(versions));
    assert_string_equal(versions, "1");

    /* The advisory lock was released: another pool can migrate right away,
     * and the pool that failed still works. */
    m[1].sql = "CREATE TABLE t2 (id int);";
    assert_int_equal(db_migrate(g_pool, s, m, 3, err, sizeof(err)), DB_OK);
    applied_versions(s, versions, sizeof(versions));
    assert_string_equal(versions, "123");
    assert_int_equal(db_migrate(p, s, m, 3, err, sizeof(err)), DB_OK);
    db_pool_free(p);
}

struct migrator {
    const char *schema;
    const db_migration *m;
    size_t n;
    pthread_barrier_t *start;
    db_status st;
    char err[256];
};

static void *
migrator_main(void *arg)
{
    struct migrator *mg = arg;
    db_pool *p = db_pool_new(g_url, 1, 5);

    pthread_barrier_wait(mg->start);
    mg->st = db_migrate(p, mg->schema, mg->m, mg->n, mg->err, sizeof(mg->err));
    db_pool_free(p);
    return NULL;
}

static void
test_migrate_concurrent(void **state)
{
    /* Plain CREATE TABLE fails when run twice, and runs counts applications. */
    const db_migration m[] = {
        {"001_a.sql", "CREATE TABLE runs (n int); SELECT pg_sleep(0.2); "
                      "INSERT INTO runs VALUES (1);"},
        {"002_b.sql", "CREATE TABLE b (id int); INSERT INTO runs VALUES (2);"},
        {"003_c.sql", "CREATE TABLE c (id int); INSERT INTO runs VALUES (3);"},
    };
    char s[64], sql[256], versions[16];
    struct migrator mg[2];
    pthread_t th[2];
    pthread_barrier_t start;

    (void)state;
    schema_name(s, sizeof(s), "conc");
    pthread_barrier_init(&start, NULL, 2);
    for (int i = 0; i < 2; i++) {
        mg[i] = (struct migrator){.schema = s, .m = m, .n = 3, .start = &start};
        assert_int_equal(pthread_create(&th[i], NULL, migrator_main, &mg[i]), 0);
    }
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    pthread_barrier_destroy(&start);
    for (int i = 0; i < 2; i++) {
        if (mg[i].st != DB_OK)
            fail_msg("migrator %d: %s", i, mg[i].err);
    }
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.runs", s);
    assert_int_equal(pool_scalar(sql, 0, NULL), 3);
    snprintf(sql, sizeof(sql), "SELECT count(DISTINCT n) FROM %s.runs", s);
    assert_int_equal(pool_scalar(sql, 0, NULL), 3);
    applied_versions(s, versions, sizeof(versions));
    assert_string_equal(versions, "123");
}

static void
test_migrate_invalid_input(void **state)
{
    static const char *const bad_names[] = {
        "1_init.sql", "001_Init.sql", "001_init.txt", "001init.sql",
        "001_.sql",   "abc_init.sql", "001_a-b.sql",  ""};
    const db_migration dup[] = {{"001_a.sql", "SELECT 1"}, {"001_b.sql", "SELECT 1"}};
    const db_migration unordered[] = {{"002_a.sql", "SELECT 1"}, {"001_b.sql", "SELECT 1"}};
    char s[64], err[256];

    (void)state;
    schema_name(s, sizeof(s), "inval");
    for (size_t i = 0; i < sizeof(bad_names) / sizeof(bad_names[0]); i++) {
        db_migration m = {bad_names[i], "SELECT 1"};
        assert_int_equal(db_migrate(g_pool, s, &m, 1, err, sizeof(err)), DB_ERR_INVALID);
        assert_non_null(strstr(err, "invalid migration name"));
    }
    assert_int_equal(db_migrate(g_pool, s, dup, 2, err, sizeof(err)), DB_ERR_INVALID);
    assert_int_equal(db_migrate(g_pool, s, unordered, 2, err, sizeof(err)), DB_ERR_INVALID);
    assert_int_equal(db_migrate(g_pool, "Bad", dup, 1, err, sizeof(err)), DB_ERR_INVALID);
    assert_string_equal(err, "invalid schema name");
    assert_int_equal(db_migrate(g_pool, "a;drop", dup, 1, err, sizeof(err)), DB_ERR_INVALID);
    assert_int_equal(db_migrate(g_pool, NULL, dup, 1, NULL, 0), DB_ERR_INVALID);
    /* Nothing was created for any of them. */
    assert_int_equal(table_exists(s, "schema_migrations"), 0);
}

static int
group_setup(void **state)
{
    (void)state;
    snprintf(g_prefix, sizeof(g_prefix), "brain_test_db_%ld", (long)getpid());
    g_pool = db_pool_new(g_url, 4, 5);
    return g_pool != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
    char like[64];
    const char *params[1] = {like};
    PGresult *r = NULL;
    db_conn *c = NULL;
    /* A fresh pool: a failed test may have left g_pool's connections out. */
    db_pool *p = db_pool_new(g_url, 1, 5);

    (void)state;
    snprintf(like, sizeof(like), "%s\\_%%", g_prefix);
    if (db_acquire(p, 5000, &c) == DB_OK
        && db_exec(c, "SELECT quote_ident(nspname) FROM pg_namespace WHERE nspname LIKE $1", 1,
                   params, &r)
               == DB_OK) {
        for (int i = 0; i < PQntuples(r); i++) {
            char sql[256];
            snprintf(sql, sizeof(sql), "DROP SCHEMA %s CASCADE", PQgetvalue(r, i, 0));
            if (db_exec(c, sql, 0, NULL, NULL) != DB_OK)
                fprintf(stderr, "teardown: %s\n", db_last_error(c));
        }
    }
    PQclear(r);
    db_release(c);
    db_pool_free(p);
    db_pool_free(g_pool);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_status_names),
        cmocka_unit_test(test_exec_params_and_null),
        cmocka_unit_test(test_error_mapping),
        cmocka_unit_test(test_real_constraint_errors),
        cmocka_unit_test(test_transactions),
        cmocka_unit_test(test_prepared_many),
        cmocka_unit_test(test_pool_exhaustion),
        cmocka_unit_test(test_unreachable_server),
        cmocka_unit_test(test_recover_checked_out_connection),
        cmocka_unit_test(test_recover_idle_connection_and_ping),
        cmocka_unit_test(test_notice_not_on_stderr),
        cmocka_unit_test(test_migrate_apply_and_rerun),
        cmocka_unit_test(test_migrate_checksum_mismatch),
        cmocka_unit_test(test_migrate_failure_is_atomic),
        cmocka_unit_test(test_migrate_concurrent),
        cmocka_unit_test(test_migrate_invalid_input),
    };

    g_url = getenv("BRAIN_TEST_DATABASE_URL");
    if (g_url == NULL || g_url[0] == '\0') {
        printf("skipped: needs BRAIN_TEST_DATABASE_URL\n");
        return 77;
    }
    log_init("test_db", LOGL_INFO);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
