/* Unit tests for db_migrate() against a real PostgreSQL
 * (BRAIN_TEST_DATABASE_URL): applying, re-running, checksums, atomic failure,
 * concurrent migrators and invalid input. Every schema made here starts with
 * brain_test_db_<pid> and is dropped at the end, so the tests can share a
 * database with anything else. */
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

static long
table_exists(const char *schema, const char *table)
{
    char name[128];
    const char *params[1] = {name};

    snprintf(name, sizeof(name), "%s.%s", schema, table);
    return tl_db_pool_scalar(g_pool, "SELECT (to_regclass($1) IS NOT NULL)::int", 1, params);
}

/* The applied versions of schema as digits, e.g. "12" for 1 and 2. */
static void
applied_versions(const char *schema, char *out, size_t cap)
{
    char sql[256];
    PGresult *r = NULL;
    db_conn *c = tl_db_acquire(g_pool);

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
    int lfd = tl_log_capture();
    char *log;

    (void)state;
    assert_true(lfd >= 0);
    schema_name(s, sizeof(s), "mig");
    assert_int_equal(db_migrate(g_pool, s, m, 2, err, sizeof(err)), DB_OK);
    log = tl_log_end(lfd, NULL);
    assert_string_equal(err, "");
    assert_int_equal(table_exists(s, "items"), 1);
    applied_versions(s, versions, sizeof(versions));
    assert_string_equal(versions, "12");
    snprintf(sql, sizeof(sql),
             "SELECT count(*) FROM %s.schema_migrations "
             "WHERE name = '001_init.sql' AND length(checksum) = 64",
             s);
    assert_int_equal(tl_db_pool_scalar(g_pool, sql, 0, NULL), 1);

    assert_non_null(strstr(log, "\"msg\":\"migration applied\""));
    assert_non_null(strstr(log, "\"migration\":\"002_more.sql\""));
    assert_non_null(strstr(log, "\"duration_ms\":"));
    free(log);

    /* Running again applies nothing (002 would fail: the column exists). */
    assert_int_equal(db_migrate(g_pool, s, m, 2, err, sizeof(err)), DB_OK);
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s.items", s);
    assert_int_equal(tl_db_pool_scalar(g_pool, sql, 0, NULL), 1);
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
    assert_int_equal(tl_db_pool_scalar(g_pool, sql, 0, NULL), 3);
    snprintf(sql, sizeof(sql), "SELECT count(DISTINCT n) FROM %s.runs", s);
    assert_int_equal(tl_db_pool_scalar(g_pool, sql, 0, NULL), 3);
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
        cmocka_unit_test(test_migrate_apply_and_rerun),
        cmocka_unit_test(test_migrate_checksum_mismatch),
        cmocka_unit_test(test_migrate_failure_is_atomic),
        cmocka_unit_test(test_migrate_concurrent),
        cmocka_unit_test(test_migrate_invalid_input),
    };

    g_url = tl_require_env("BRAIN_TEST_DATABASE_URL");
    if (g_url == NULL)
        return 77;
    log_init("test_db_migrate", LOGL_INFO);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
