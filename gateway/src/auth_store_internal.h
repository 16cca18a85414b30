/* What auth_store.c (users, the SQL texts) and auth_store_tokens.c (refresh
 * tokens, API keys, the login limit) share. */
#ifndef GATEWAY_AUTH_STORE_INTERNAL_H
#define GATEWAY_AUTH_STORE_INTERNAL_H

#include "auth_store.h"

#define AUTH_STORE_WAIT_MS 2000 /* for a pooled connection */

/* Every statement of auth; the texts are in auth_store.c. */
typedef enum {
    AQ_HAS_USERS = 0,
    AQ_LOCK_USERS,
    AQ_FIRST_ADMIN,
    AQ_USER_BY_EMAIL,
    AQ_USER_STATUS,
    AQ_USER_GET,
    AQ_USER_LIST,
    AQ_USER_COUNT,
    AQ_USER_INSERT,
    AQ_USER_UPDATE,
    AQ_USER_DELETE,
    AQ_ADMINS_LEFT,
    AQ_USER_LOGIN,
    AQ_USER_REHASH,
    AQ_LOGIN_BLOCKED,
    AQ_LOGIN_FAILED,
    AQ_LOGIN_CLEAR,
    AQ_RT_INSERT,
    AQ_RT_LOCK,
    AQ_RT_USE,
    AQ_RT_REVOKE_FAMILY,
    AQ_RT_REVOKE_USER,
    AQ_RT_LOGOUT,
    AQ_RT_PURGE,
    AQ_KEY_INSERT,
    AQ_KEY_LIST,
    AQ_KEY_COUNT,
    AQ_KEY_GET,
    AQ_KEY_REVOKE,
    AQ_KEY_LOOKUP,
    AQ_COUNT
} auth_q;

struct auth_store {
    db_pool *pool;
};

/* Run statement q on c (prepared once per connection under its name); a
 * failure is logged with the statement's name. */
db_status auth_store_exec(db_conn *c, auth_q q, int n, const char *const *params, PGresult **res);
/* A pooled connection. */
auth_store_status auth_store_acquire(auth_store *s, db_conn **c);
/* Roll back when in_tx and st is not AS_OK, release c (NULL ok), return st. */
auth_store_status auth_store_done(db_conn *c, bool in_tx, auth_store_status st);
auth_store_status auth_store_db(db_status st);
/* Run q, which selects the API's columns of one user (kind 'u') or key
 * ('k'), and render its first row into *out (AS_NOT_FOUND without one). */
auth_store_status auth_store_one(db_conn *c, auth_q q, int n, const char *const *params, char kind,
                                 json_object **out);
/* Run q on a pooled connection; fill(res, ud) reads its first row. AS_NOT_FOUND
 * when it returns none. */
auth_store_status auth_store_first_row(auth_store *s, auth_q q, int n, const char *const *params,
                                       void (*fill)(const PGresult *res, void *ud), void *ud);
/* auth_store_one on a pooled connection, the one parameter being id. */
auth_store_status auth_store_get(auth_store *s, auth_q q, const char *id, char kind,
                                 json_object **out);
/* {"items","total","limit","offset"} from a list statement and its count. */
auth_store_status auth_store_page(auth_store *s, auth_q list, auth_q count, char kind, long limit,
                                  long offset, json_object **page);

#endif
