/* What store.c and store_sql.c share: the statements of the integration half. */
#ifndef TOAST_STORE_INTERNAL_H
#define TOAST_STORE_INTERNAL_H

typedef enum {
    Q_INSERT = 0,
    Q_GET,
    Q_LIST,
    Q_COUNT,
    Q_PATCH,
    Q_DELETE,
    Q_LOAD,
    Q_SEALED_ALL,
    Q_RESEAL,
    Q_HEALTH_INSERT,
    Q_HEALTH_LIST,
    Q_HEALTH_COUNT,
    Q_EXISTS,
    Q_DUE,
    Q_NSTMTS
} store_q;

typedef struct store_stmt {
    const char *name; /* prepared statement name, unique in the daemon */
    const char *sql;
} store_stmt;

extern const store_stmt store_sql[Q_NSTMTS];

#endif
