/* testlib: PostgreSQL helpers for tests against a real server (db.h). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"

db_conn *
tl_db_acquire(db_pool *p)
{
    db_conn *c = NULL;

    assert_int_equal(db_acquire(p, 5000, &c), DB_OK);
    assert_non_null(c);
    return c;
}

void
tl_db_exec(db_conn *c, const char *sql)
{
    db_status st = db_exec(c, sql, 0, NULL, NULL);

    if (st != DB_OK)
        fail_msg("%s: %s (%s)", sql, db_status_name(st), db_last_error(c));
}

long
tl_db_scalar(db_conn *c, const char *sql, int n, const char *const *params)
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

long
tl_db_pool_scalar(db_pool *p, const char *sql, int n, const char *const *params)
{
    db_conn *c = tl_db_acquire(p);
    long v = tl_db_scalar(c, sql, n, params);

    db_release(c);
    return v;
}

void
tl_db_drop_schemas(const char *url, const char *prefix)
{
    char like[128];
    const char *params[1] = {like};
    PGresult *r = NULL;
    db_conn *c = NULL;
    db_pool *p = db_pool_new(url, 1, 5);

    snprintf(like, sizeof(like), "%s\\_%%", prefix);
    if (p != NULL && db_acquire(p, 5000, &c) == DB_OK
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
}

db_pool *
tl_db_group_open(const char *url, char *prefix, size_t cap)
{
    snprintf(prefix, cap, "brain_test_db_%ld", (long)getpid());
    return db_pool_new(url, 4, 5);
}

void
tl_db_group_close(const char *url, const char *prefix, db_pool *pool)
{
    tl_db_drop_schemas(url, prefix);
    db_pool_free(pool);
}
