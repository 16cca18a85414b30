/* What store_menus.c and store_menus_sql.c share: the menu half's statements. */
#ifndef TOAST_STORE_MENUS_INTERNAL_H
#define TOAST_STORE_MENUS_INTERNAL_H

typedef enum {
    MQ_LOCK = 0,
    MQ_STATE,
    MQ_UPSERT_MENUS,
    MQ_DELETE_MENUS,
    MQ_UPSERT_GROUPS,
    MQ_DELETE_GROUPS,
    MQ_UPSERT_ITEMS,
    MQ_DELETE_ITEMS,
    MQ_UPSERT_MODGROUPS,
    MQ_DELETE_MODGROUPS,
    MQ_SET_STATE,
    MQ_LOAD,
    MQ_SUMMARY,
    MQ_GOLDEN_INSERT,
    MQ_GOLDEN_LATEST,
    MQ_GOLDEN_GET,
    MQ_EXISTS,
    MQ_NSTMTS
} store_menus_q;

typedef struct store_menus_stmt {
    const char *name; /* prepared statement name, unique in the daemon ("menus_...") */
    const char *sql;
} store_menus_stmt;

extern const store_menus_stmt store_menus_sql[MQ_NSTMTS];

#endif
