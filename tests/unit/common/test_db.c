/* Unit tests for db.c against a real PostgreSQL (BRAIN_TEST_DATABASE_URL): the
 * pool, statements, errors, transactions and recovery from lost connections.
 * The migrations are tested in test_db_migrate.c. Every schema made here
 * starts with brain_test_db_<pid> and is dropped at the end, so the tests can
 * share a database with anything else. */
#include <sys/mman.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "db.h"
#include "log.h"
#include "testlib.h"
#include "util.h"

/* The server, the prefix of the schemas made here, and a pool of 4. */
static const char *g_url;
static char g_prefix[48];
static db_pool *g_pool;

static void
schema_name(char *buf, size_t cap, const char *suffix)
{
    snprintf(buf, cap, "%s_%s", g_prefix, suffix);
}

static int
backend_pid(db_conn *c)
{
    return (int)tl_db_scalar(c, "SELECT pg_backend_pid()", 0, NULL);
}

/* Terminate a backend from another connection and wait until it is gone. */
static void
terminate_backend(int pid)
{
    char pbuf[16];
    const char *params[1] = {pbuf};
    int64_t deadline = util_mono_ns() + 10 * 1000000000LL;

    snprintf(pbuf, sizeof(pbuf), "%d", pid);
    assert_int_equal(
        tl_db_pool_scalar(g_pool, "SELECT pg_terminate_backend($1::int)::int", 1, params), 1);
    while (tl_db_pool_scalar(g_pool, "SELECT count(*) FROM pg_stat_activity WHERE pid = $1::int", 1,
                             params)
           != 0) {
        assert_true(util_mono_ns() < deadline);
        tl_pause_ms(10);
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
    db_conn *c = tl_db_acquire(g_pool);

    (void)state;
    schema_name(s, sizeof(s), "exec");
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", s);
    tl_db_exec(c, sql);
    snprintf(sql, sizeof(sql), "CREATE TABLE %s.t (a text, b text)", s);
    tl_db_exec(c, sql);
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
        db_conn *c = tl_db_acquire(p);
        int pid = backend_pid(c);
        snprintf(sql, sizeof(sql),
                 "DO $$ BEGIN RAISE EXCEPTION 'boom\nsecond line' USING ERRCODE = '%s'; END $$",
                 cases[i].sqlstate);
        assert_int_equal(db_exec(c, sql, 0, NULL, NULL), cases[i].want);
        snprintf(want, sizeof(want), "SQLSTATE %s: boom second line", cases[i].sqlstate);
        assert_string_equal(db_last_error(c), want);
        db_release(c);
        /* Connection-level errors close the connection; others keep it. */
        c = tl_db_acquire(p);
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
    db_conn *c = tl_db_acquire(g_pool);

    (void)state;
    schema_name(s, sizeof(s), "errs");
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", s);
    tl_db_exec(c, sql);
    snprintf(sql, sizeof(sql), "CREATE TABLE %s.parent (id int PRIMARY KEY)", s);
    tl_db_exec(c, sql);
    snprintf(sql, sizeof(sql),
             "CREATE TABLE %s.child (id int PRIMARY KEY, parent_id int NOT NULL REFERENCES "
             "%s.parent (id), qty int CHECK (qty >= 0))",
             s, s);
    tl_db_exec(c, sql);
    snprintf(sql, sizeof(sql), "INSERT INTO %s.parent VALUES (1)", s);
    tl_db_exec(c, sql);

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

    tl_db_exec(c, "BEGIN");
    tl_db_exec(c, "SET LOCAL statement_timeout = '50ms'");
    assert_int_equal(db_exec(c, "SELECT pg_sleep(5)", 0, NULL, NULL), DB_ERR_TIMEOUT);
    assert_int_equal(db_rollback(c), DB_OK);
    db_release(c);
}

static void
test_transactions(void **state)
{
    char s[64], sql[256], count[256];
    db_conn *c = tl_db_acquire(g_pool);
    db_conn *other = tl_db_acquire(g_pool);
    int pid;

    (void)state;
    schema_name(s, sizeof(s), "tx");
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", s);
    tl_db_exec(c, sql);
    snprintf(sql, sizeof(sql), "CREATE TABLE %s.t (v text)", s);
    tl_db_exec(c, sql);
    snprintf(count, sizeof(count), "SELECT count(*) FROM %s.t", s);

    assert_int_equal(db_begin(c), DB_OK);
    snprintf(sql, sizeof(sql), "INSERT INTO %s.t VALUES ('kept')", s);
    tl_db_exec(c, sql);
    assert_int_equal(tl_db_scalar(other, count, 0, NULL), 0); /* not visible before commit */
    assert_int_equal(db_commit(c), DB_OK);
    assert_int_equal(tl_db_scalar(other, count, 0, NULL), 1);

    assert_int_equal(db_begin(c), DB_OK);
    snprintf(sql, sizeof(sql), "INSERT INTO %s.t VALUES ('dropped')", s);
    tl_db_exec(c, sql);
    assert_int_equal(db_rollback(c), DB_OK);
    assert_int_equal(tl_db_scalar(other, count, 0, NULL), 1);

    /* COMMIT after an error in the transaction is reported, not taken as done. */
    assert_int_equal(db_begin(c), DB_OK);
    tl_db_exec(c, sql);
    assert_int_equal(db_exec(c, "SELECT 1/0", 0, NULL, NULL), DB_ERR_INVALID);
    assert_int_equal(db_commit(c), DB_ERR_OTHER);
    assert_non_null(strstr(db_last_error(c), "rolled back"));
    assert_int_equal(tl_db_scalar(other, count, 0, NULL), 1);

    /* Release rolls back an open transaction, also a failed one, and keeps
     * the connection (same backend). */
    pid = backend_pid(c);
    assert_int_equal(db_begin(c), DB_OK);
    tl_db_exec(c, sql);
    db_release(c);
    db_release(other);
    c = tl_db_acquire(g_pool);
    other = tl_db_acquire(g_pool);
    if (backend_pid(c) != pid) {
        db_conn *t = c;
        c = other;
        other = t;
    }
    assert_int_equal(backend_pid(c), pid);
    assert_int_equal(tl_db_scalar(c, count, 0, NULL), 1);
    assert_int_equal(db_begin(c), DB_OK);
    assert_int_equal(db_exec(c, "SELECT 1/0", 0, NULL, NULL), DB_ERR_INVALID);
    db_release(c);
    db_release(other);
    c = tl_db_acquire(g_pool);
    assert_int_equal(tl_db_scalar(c, count, 0, NULL), 1);
    db_release(c);
}

static void
test_prepared_many(void **state)
{
    db_conn *a = tl_db_acquire(g_pool);
    db_conn *b = tl_db_acquire(g_pool);
    char x[16], y[16];
    const char *params[2] = {x, y};

    (void)state;
    for (int i = 0; i < 300; i++) {
        db_conn *c = (i % 2) ? a : b;
        snprintf(x, sizeof(x), "%d", i);
        snprintf(y, sizeof(y), "%d", 7 * i);
        assert_int_equal(db_exec_prepared(c, "t_add", "SELECT $1::int + $2::int", 2, params, NULL),
                         DB_OK);
        assert_int_equal(tl_db_scalar(c, "SELECT 1", 0, NULL), 1);
        PGresult *r = NULL;
        assert_int_equal(db_exec_prepared(c, "t_mul", "SELECT $1::int * $2::int", 2, params, &r),
                         DB_OK);
        assert_int_equal(strtol(PQgetvalue(r, 0, 0), NULL, 10), 7L * i * i);
        PQclear(r);
    }
    /* Prepared once per connection, not once per call. */
    assert_int_equal(
        tl_db_scalar(a, "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 't\\_%'", 0,
                     NULL),
        2);
    assert_int_equal(
        tl_db_scalar(b, "SELECT count(*) FROM pg_prepared_statements WHERE name LIKE 't\\_%'", 0,
                     NULL),
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
    c = tl_db_acquire(p);
    t0 = util_mono_ns();
    assert_int_equal(db_acquire(p, 200, &c2), DB_ERR_UNAVAILABLE);
    elapsed_ms = (util_mono_ns() - t0) / 1000000;
    assert_null(c2);
    assert_true(elapsed_ms >= 190 && elapsed_ms < 5000);

    /* A waiter gets the connection as soon as it is released. */
    assert_int_equal(pthread_create(&th, NULL, waiter_main, &w), 0);
    while (!__atomic_load_n(&w.started, __ATOMIC_SEQ_CST))
        tl_pause_ms(1);
    tl_pause_ms(20);
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
    /* Captured from before the pool exists: no line may show the password. */
    int fd = tl_log_capture();
    db_pool *p =
        db_pool_new("postgresql://brain:s3cretpw@127.0.0.1:1/brain?connect_timeout=1", 2, 1);
    db_conn *c = (db_conn *)1;
    char *log;

    (void)state;
    assert_true(fd >= 0);
    assert_non_null(p);
    assert_int_equal(db_acquire(p, 100, &c), DB_ERR_UNAVAILABLE);
    assert_null(c);
    assert_int_equal(db_ping(p, 1000, NULL), DB_ERR_UNAVAILABLE);
    log = tl_log_end(fd, NULL);
    db_pool_free(p);

    assert_non_null(strstr(log, "database unavailable"));
    assert_null(strstr(log, "s3cretpw"));
    free(log);
}

static void
test_recover_checked_out_connection(void **state)
{
    db_pool *p = db_pool_new(g_url, 1, 5);
    db_conn *c;
    int pid;
    const char *params[2] = {"2", "3"};

    (void)state;
    c = tl_db_acquire(p);
    assert_int_equal(db_exec_prepared(c, "add", "SELECT $1::int + $2::int", 2, params, NULL),
                     DB_OK);
    pid = backend_pid(c);
    terminate_backend(pid);
    /* The connection in hand is dead: the query says so, release closes it. */
    assert_int_equal(db_exec(c, "SELECT 1", 0, NULL, NULL), DB_ERR_UNAVAILABLE);
    assert_string_not_equal(db_last_error(c), "");
    db_release(c);

    c = tl_db_acquire(p);
    assert_true(backend_pid(c) != pid);
    /* The new connection prepares its statements again. */
    assert_int_equal(tl_db_scalar(c, "SELECT count(*) FROM pg_prepared_statements", 0, NULL), 0);
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
    c = tl_db_acquire(p);
    pid = backend_pid(c);
    db_release(c);
    terminate_backend(pid);

    /* The first query on the idle connection may fail once; the next works. */
    c = tl_db_acquire(p);
    st = db_exec(c, "SELECT 1", 0, NULL, NULL);
    if (st != DB_OK) {
        assert_int_equal(st, DB_ERR_UNAVAILABLE);
        db_release(c);
        c = tl_db_acquire(p);
        assert_int_equal(db_exec(c, "SELECT 1", 0, NULL, NULL), DB_OK);
    }
    pid = backend_pid(c);
    db_release(c);

    /* db_ping reconnects by itself. */
    terminate_backend(pid);
    assert_int_equal(db_ping(p, 5000, &latency), DB_OK);
    assert_true(latency >= 0 && latency < 5000);
    c = tl_db_acquire(p);
    assert_true(backend_pid(c) != pid);
    db_release(c);
    db_pool_free(p);
}

/* Notices go to the log at debug level, never to stderr. */
static void
test_notice_not_on_stderr(void **state)
{
    int efd = memfd_create("test-db-stderr", MFD_CLOEXEC);
    int saved = dup(STDERR_FILENO);
    db_conn *c = tl_db_acquire(g_pool);
    int lfd = tl_log_capture();
    char *log;

    (void)state;
    assert_true(efd >= 0 && lfd >= 0 && saved >= 0);
    fflush(stderr);
    dup2(efd, STDERR_FILENO);
    log_set_level(LOGL_DEBUG);
    tl_db_exec(c, "DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$");
    log_set_level(LOGL_INFO);
    log = tl_log_end(lfd, NULL);
    dup2(saved, STDERR_FILENO);
    close(saved);
    db_release(c);

    assert_int_equal(lseek(efd, 0, SEEK_END), 0);
    assert_non_null(strstr(log, "hello from plpgsql"));
    assert_non_null(strstr(log, "\"level\":\"debug\""));
    close(efd);
    free(log);
}

static int
group_setup(void **state)
{
    (void)state;
    g_pool = tl_db_group_open(g_url, g_prefix, sizeof(g_prefix));
    return g_pool != NULL ? 0 : -1;
}

static int
group_teardown(void **state)
{
    (void)state;
    tl_db_group_close(g_url, g_prefix, g_pool);
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
    };

    g_url = tl_require_env("BRAIN_TEST_DATABASE_URL");
    if (g_url == NULL)
        return 77;
    log_init("test_db", LOGL_INFO);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
