/* What the parts of auth share: auth.c (start, identify, tokens),
 * auth_http.c (login, refresh, logout, me) and auth_admin.c (users, API
 * keys). */
#ifndef GATEWAY_AUTH_INTERNAL_H
#define GATEWAY_AUTH_INTERNAL_H

#include <json-c/json.h>

#include "auth.h"
#include "auth_store.h"
#include "web.h"

#define AUTH_KEY_PREFIX     "brk_" /* API keys; anything else after Bearer is a JWT */
#define AUTH_KEY_BYTES      32
#define AUTH_KEY_LEN        47 /* "brk_" and 43 characters */
#define AUTH_KEY_SHOWN      12 /* the prefix kept in clear: "brk_" and 8 characters */
#define AUTH_REFRESH_BYTES  32
#define AUTH_REFRESH_MAX    128 /* longest refresh token accepted in a body */
#define AUTH_LEEWAY_S       30  /* clock skew allowed on exp and nbf */
#define AUTH_CACHE_TTL_MS   10000
#define AUTH_LOGIN_FAILURES 5   /* failed logins allowed per email and per IP ... */
#define AUTH_LOGIN_WINDOW_S 900 /* ... in this many seconds */
#define AUTH_PASSWORD_MIN   8
#define AUTH_PASSWORD_MAX   1024
#define AUTH_EMAIL_MAX      254
#define AUTH_NAME_MAX       200

/* The store (for the handlers). */
auth_store *auth_the_store(void);

/* A PBKDF2 hash of a random password, verified against when an email is
 * unknown so that a login takes as long either way. */
const char *auth_dummy_hash(void);

/* Answer 200 {access_token, refresh_token, token_type, expires_in, user}
 * for user (a user object, taken), with refresh_token already stored. */
int auth_reply_tokens(web_req *r, json_object *user, const char *refresh_token);

/* A new random refresh token into token (cap >= 64) and its hash into hash
 * (SECRET_SHA256_HEX + 1). Returns 0 or -1. */
int auth_new_refresh(char *token, size_t cap, char *hash);

long auth_refresh_ttl(void);

/* What the database says of an API key (by its hash) or a user (by id),
 * into *v and the cache; false when the database could not be asked (*v
 * untouched). They wait on the database: never on an event loop. */
struct auth_cache_val;
bool auth_load_key(const char *hash, struct auth_cache_val *v);
bool auth_load_user(const char *id, struct auth_cache_val *v);

/* auth_nowait.c: whether this thread must not wait, and a request to load
 * an entry again in the background (dropped when too many are waiting; the
 * entry then runs out and the next request loads it). */
bool auth_nowait_here(void);
void auth_nowait_refresh(bool user, const char *key);

/* The replica that changes a user or revokes a key forgets it at once. */
void auth_forget_user(const char *id);
void auth_forget_key(const char *key_hash);

/* The answer for a store failure: 503 when the database is away, 404 naming
 * what, 409 for a taken email or the last admin, 500 otherwise. */
int auth_reply_store(web_req *r, auth_store_status st, const char *what);

/* The request's JSON object body, or NULL after answering 400 (no body, not
 * an object, a field not in the NULL-terminated known list). */
json_object *auth_body(web_req *r, const char *const *known);

/* A syntactically plausible email: 3 to AUTH_EMAIL_MAX bytes, one "@" with
 * text on both sides, no space or control character. */
bool auth_email_valid(const char *email);

#endif
