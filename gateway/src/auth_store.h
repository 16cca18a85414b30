/* auth_store: every SQL statement of the gateway's authentication (schema
 * gateway: users, refresh_tokens, api_keys, login_failures), prepared once
 * per connection, always parameterised. Prefix auth_store_. Handlers never
 * see a PGresult: users and keys come back as JSON objects in the shape of
 * the API (never with a hash), or as the small rows below. Tokens and keys
 * are given here as their SHA-256 hex only. Thread-safe. */
#ifndef GATEWAY_AUTH_STORE_H
#define GATEWAY_AUTH_STORE_H

#include <stdbool.h>
#include <stdint.h>

#include <json-c/json.h>

#include "auth.h"
#include "db.h"
#include "secret.h"

typedef enum {
    AS_OK = 0,
    AS_NOT_FOUND = 1,
    AS_DUPLICATE = 2,  /* the email is taken */
    AS_LAST_ADMIN = 3, /* the change would leave no enabled admin */
    AS_UNAVAILABLE = -1,
    AS_ERROR = -2,
} auth_store_status;

typedef struct auth_store auth_store;

/* What a login needs of a user. */
typedef struct auth_user_row {
    char id[40];
    auth_role role;
    bool disabled;
    char password_hash[SECRET_HASH_MAX];
} auth_user_row;

/* What the gate needs of an API key. */
typedef struct auth_key_row {
    char id[40];
    auth_role role;
    bool revoked;
    bool expired;
    int64_t expires_at; /* seconds since the epoch, 0 when it never expires */
} auth_key_row;

/* A user's fields to create or change; NULL (disabled: -1) leaves one as it
 * is on change. password_hash is a secret_password_hash string. */
typedef struct auth_user_fields {
    const char *email, *name, *role, *password_hash;
    int disabled;
} auth_user_fields;

/* How a refresh token was found (auth_store_refresh_rotate). */
typedef enum {
    RT_ROTATED = 0, /* spent now, its successor stored */
    RT_UNKNOWN,     /* no such token */
    RT_REUSED,      /* spent before: its whole family is now revoked */
    RT_REVOKED,     /* logged out, or its family was revoked */
    RT_EXPIRED,
    RT_USER_DISABLED, /* its user is disabled: the family is revoked */
} auth_refresh_outcome;

auth_store *auth_store_new(db_pool *pool);
void auth_store_free(auth_store *s); /* NULL ok */

/* ---- users ---- */
auth_store_status auth_store_has_users(auth_store *s, bool *any);
/* Create the first admin unless a user exists (serialised across replicas).
 * *created tells which happened. */
auth_store_status auth_store_first_admin(auth_store *s, const char *email,
                                         const char *password_hash, bool *created);
/* By email, whatever its case. */
auth_store_status auth_store_user_by_email(auth_store *s, const char *email, auth_user_row *row);
/* The current role and state of user id (the gate's check of a token). */
auth_store_status auth_store_user_status(auth_store *s, const char *id, auth_role *role,
                                         bool *disabled);
auth_store_status auth_store_user_get(auth_store *s, const char *id, json_object **user);
/* {"items","total","limit","offset"}, oldest first. */
auth_store_status auth_store_user_list(auth_store *s, long limit, long offset, json_object **page);
auth_store_status auth_store_user_create(auth_store *s, const auth_user_fields *f,
                                         json_object **user);
/* Change, refusing to leave no enabled admin; disabling a user or changing
 * its password revokes its refresh tokens. */
auth_store_status auth_store_user_update(auth_store *s, const char *id, const auth_user_fields *f,
                                         json_object **user);
/* Delete (its refresh tokens go with it), refusing the last enabled admin. */
auth_store_status auth_store_user_delete(auth_store *s, const char *id);
/* A successful login: last_login_at now, the user's failed logins forgotten,
 * and, when new_hash is not NULL, the password hash replaced (more rounds)
 * if it is still old_hash. *user is the user after it. */
auth_store_status auth_store_login_done(auth_store *s, const char *id, const char *email,
                                        const char *old_hash, const char *new_hash,
                                        json_object **user);

/* ---- the login limit ---- */
/* Whether email or ip already has max failures in the last window_s seconds;
 * when so *retry_after is the seconds until one more attempt is allowed,
 * otherwise 0. */
auth_store_status auth_store_login_blocked(auth_store *s, const char *email, const char *ip,
                                           int max, int window_s, long *retry_after);
/* Record one failure (and forget those older than window_s). */
auth_store_status auth_store_login_failed(auth_store *s, const char *email, const char *ip,
                                          int window_s);

/* ---- refresh tokens ---- */
/* Store a new token of a new family for user_id, valid ttl_s seconds. */
auth_store_status auth_store_refresh_issue(auth_store *s, const char *user_id,
                                           const char *token_hash, long ttl_s);
/* Spend old_hash and store new_hash in its family, in one transaction.
 * On RT_ROTATED *user is the token's user; on RT_REUSED and
 * RT_USER_DISABLED user_id (40 bytes) names whose family was revoked. */
auth_store_status auth_store_refresh_rotate(auth_store *s, const char *old_hash,
                                            const char *new_hash, long ttl_s,
                                            auth_refresh_outcome *outcome, char *user_id,
                                            json_object **user);
/* Revoke the family of token_hash when it belongs to user_id; *revoked tells. */
auth_store_status auth_store_logout(auth_store *s, const char *token_hash, const char *user_id,
                                    bool *revoked);

/* ---- API keys ---- */
/* expires_at: RFC 3339 or NULL; created_by: a user id or NULL. */
auth_store_status auth_store_key_create(auth_store *s, const char *name, const char *prefix,
                                        const char *key_hash, const char *role,
                                        const char *created_by, const char *expires_at,
                                        json_object **key);
auth_store_status auth_store_key_list(auth_store *s, long limit, long offset, json_object **page);
auth_store_status auth_store_key_get(auth_store *s, const char *id, json_object **key);
/* Revoke (again is fine); key_hash (SECRET_SHA256_HEX + 1) gets its hash so
 * the caller can drop it from its cache. */
auth_store_status auth_store_key_revoke(auth_store *s, const char *id, char *key_hash);
/* The key of that hash, its last_used_at set to now when it is usable. */
auth_store_status auth_store_key_lookup(auth_store *s, const char *key_hash, auth_key_row *row);

const char *auth_store_status_name(auth_store_status st);

#endif
