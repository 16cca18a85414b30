/* db: PostgreSQL over libpq: a connection pool that survives a database
 * restart, parameterised queries, transactions and the migration runner.
 * Prefix db_. Only a daemon's store.c includes this header.
 *
 * Connections are opened lazily, so a pool can be created while the database
 * is down. A connection that fails is closed on release and reopened by a later
 * acquire; a broken idle connection is found by the next query, which fails
 * once with DB_ERR_UNAVAILABLE. A connection is used by one thread at a time:
 * acquire it, use it, release it. Session settings outlive a release: change
 * them with SET LOCAL inside a transaction, never with a plain SET. */
#ifndef BRAIN_DB_H
#define BRAIN_DB_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

typedef enum {
    DB_OK = 0,
    DB_ERR_UNAVAILABLE = -1,   /* no connection (server down, pool exhausted in time) */
    DB_ERR_UNIQUE = -2,        /* 23505 */
    DB_ERR_FOREIGN_KEY = -3,   /* 23503 */
    DB_ERR_CONSTRAINT = -4,    /* other 23xxx: not null, check, exclusion */
    DB_ERR_INVALID = -5,       /* 22xxx: bad value for a type */
    DB_ERR_SERIALIZATION = -6, /* 40001, 40P01: retry the transaction */
    DB_ERR_TIMEOUT = -7,       /* 57014: statement timeout */
    DB_ERR_OTHER = -8,
} db_status;

typedef struct db_pool db_pool;
typedef struct db_conn db_conn;

typedef struct db_migration {
    const char *name; /* "001_init.sql": the version is the leading number */
    const char *sql;
} db_migration;

/* New pool of at most size connections to url (a libpq URI or key=value
 * string). Nothing is connected yet. connect_timeout_s bounds each connection
 * attempt. The url is copied and never logged (it may hold a password). */
db_pool *db_pool_new(const char *url, int size, int connect_timeout_s);
/* Closes every connection; none may be checked out. Accepts NULL. */
void db_pool_free(db_pool *p);

/* Check a connection out, waiting at most wait_ms for a free one. Opens or
 * reopens it as needed. DB_OK and *out set, or DB_ERR_UNAVAILABLE. */
db_status db_acquire(db_pool *p, int wait_ms, db_conn **out);
/* Give it back: an open transaction is rolled back, a broken connection is
 * closed. Accepts NULL. */
void db_release(db_conn *c);

/* Run sql with text parameters ($1..$n; a NULL entry is SQL NULL). When res
 * is not NULL and the statement succeeds, *res is the result (caller PQclear()s
 * it); on failure *res is NULL. */
db_status db_exec(db_conn *c, const char *sql, int nparams, const char *const *params,
                  PGresult **res);
/* The same through a statement prepared once per connection under name. */
db_status db_exec_prepared(db_conn *c, const char *name, const char *sql, int nparams,
                           const char *const *params, PGresult **res);

db_status db_begin(db_conn *c);
db_status db_commit(db_conn *c);
db_status db_rollback(db_conn *c);

/* The last error of c for logs (SQLSTATE and primary message; never sent to
 * clients). "" when none. */
const char *db_last_error(const db_conn *c);

/* SELECT 1 on a pooled connection, within timeout_ms; *latency_ms set on
 * success. Reconnects once if the connection was broken. */
db_status db_ping(db_pool *p, int timeout_ms, int *latency_ms);

/* Apply migrations to schema, in order of their names, each in its own
 * transaction, under a PostgreSQL advisory lock keyed on the schema so replicas
 * starting together apply each once. Creates the schema and
 * <schema>.schema_migrations(version, name, checksum, applied_at) first. An
 * applied migration whose text changed since (checksum) is an error. Returns
 * DB_OK, or an error with the failing file and reason in err. */
db_status db_migrate(db_pool *p, const char *schema, const db_migration *m, size_t n, char *err,
                     size_t errlen);

const char *db_status_name(db_status s);

#endif
