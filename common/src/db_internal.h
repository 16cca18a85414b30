/* db internals shared by db.c (pool, queries, transactions, ping) and
 * db_migrate.c (the migration runner). Not part of the public API. */
#ifndef BRAIN_DB_INTERNAL_H
#define BRAIN_DB_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <libpq-fe.h>

#include "db.h"

#define DB_ERR_MAX 512

struct db_conn {
    db_pool *pool;
    PGconn *pg; /* NULL until first use and after a failure */
    bool in_use;
    bool broken;      /* closed on release, reopened by a later acquire */
    char **prepared;  /* statement names prepared on pg */
    size_t nprepared; /* entries used */
    size_t capprepared;
    char err[DB_ERR_MAX];
};

/* The status of r, the result of a statement on c (NULL when libpq could not
 * even send it), with the error recorded on c and c marked broken when the
 * connection failed. On DB_OK with res not NULL *res is r (the caller
 * PQclear()s it); otherwise r is cleared. */
db_status db_i_finish(db_conn *c, PGresult *r, PGresult **res);

#endif
