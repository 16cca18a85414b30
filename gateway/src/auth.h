/* auth: who is calling. Users with passwords, access tokens (JWT HS256),
 * single-use refresh tokens and API keys, all in schema gateway; the
 * routes under /api/auth. The gate (gate.c) asks auth_identify() for every
 * request and decides with the permission table (permissions.h). */
#ifndef GATEWAY_AUTH_H
#define GATEWAY_AUTH_H

#include <stdbool.h>
#include <stddef.h>

#include "app.h"
#include "web.h"

typedef enum { ROLE_NONE = 0, ROLE_VIEWER, ROLE_STAFF, ROLE_MANAGER, ROLE_ADMIN } auth_role;

typedef enum { AUTH_KIND_NONE = 0, AUTH_KIND_USER, AUTH_KIND_API_KEY } auth_kind;

typedef struct auth_identity {
    auth_kind kind;
    char id[40]; /* the user's id, or the API key's id (UUIDs) */
    auth_role role;
    char rate_key[48]; /* "user:<id>" or "key:<id>": the rate limiter's bucket */
} auth_identity;

typedef enum {
    AUTH_ANONYMOUS = 0, /* no credential at all */
    AUTH_OK,            /* *id filled */
    AUTH_REJECTED,      /* a credential that is not valid: 401; *reason says why */
    AUTH_UNAVAILABLE,   /* cannot check now (database down for an API key): 503 */
    AUTH_WOULD_WAIT,    /* on a no-wait thread: only the database can tell (see below) */
} auth_result;

/* "admin", "manager", "staff", "viewer"; ROLE_NONE gives NULL. */
const char *auth_role_name(auth_role r);
/* The role of a name, ROLE_NONE when unknown. */
auth_role auth_role_parse(const char *name);

/* Once, in the gateway's on_init: reads JWT_SECRET (refuses to start without
 * 32 bytes or more unless BRAIN_ENV=development), prepares the store and
 * (auth_start) creates the first admin when there is no user. Returns 0 or -1
 * (logged). */
int auth_init(app *a);
/* Once, in on_start (the migrations have run): the first admin, from
 * ADMIN_EMAIL and ADMIN_PASSWORD, or with a generated password logged once
 * at warn level. Nothing when a user exists. Returns 0 or -1 (logged). */
int auth_start(app *a);
/* In on_close (no handler runs any more). */
void auth_cleanup(void);

/* The credential of a request: "Authorization: Bearer <jwt or API key>",
 * "X-API-Key: <key>", and, only when query_token is true (WebSocket
 * upgrades, which browsers cannot give headers), "?access_token=<jwt>".
 * reason (for gateway_auth_failures_total{reason} and the 401's message) is
 * one of "malformed", "bad_alg", "bad_signature", "expired",
 * "not_yet_valid", "unknown_key", "revoked_key", "expired_key",
 * "disabled_user". Never logs the credential. Thread-safe. */
auth_result auth_identify(web_req *r, bool query_token, auth_identity *id, const char **reason);

/* The gateway's event loops must never wait on the database. On a thread
 * that called auth_nowait_thread(), auth_identify answers AUTH_WOULD_WAIT
 * for a key or user not in the cache, and asks a thread of auth's own to
 * load it; loaded (or not, the database failing), that thread calls the
 * loaded hook, and the loop tries the request again (a second
 * AUTH_WOULD_WAIT: the loop hands it to civetweb's threads, which may
 * wait). An entry past its lifetime (by less than one more) is used by such
 * a thread while it is loaded again. The entry of a key revoked or a user
 * changed on this replica is dropped at once as before; what another replica
 * changed shows within the cache's lifetime when the database answers,
 * within twice that when it does not. auth_nowait_start (before the loops;
 * 0 or -1, logged) starts that thread, auth_nowait_stop (after them;
 * idempotent) stops it. */
int auth_nowait_start(void (*loaded)(void));
void auth_nowait_stop(void);
void auth_nowait_thread(void);

/* The gateway's own routes under /api/auth (login, refresh, logout, me,
 * api-keys, users). Handlers read the caller's identity with gate_identity(). */
extern const web_route auth_routes[];
extern const size_t auth_nroutes;

#endif
