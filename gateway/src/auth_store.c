/* auth_store: the text of every SQL statement of authentication, what the
 * statements share (execution, rendering, pages), and the users' part; see
 * auth_store.h. Refresh tokens, API keys and the login limit are in
 * auth_store_tokens.c. */
#include "auth_store.h"

#include <stdlib.h>
#include <string.h>

#include "auth_store_internal.h"
#include "log.h"
#include "util.h"

#define TS(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
/* The API's columns of a user (alias u) and of an API key (alias k), in the
 * order of user_cols and key_cols below. Never a hash. */
#define USER_COLS                                                             \
    "u.id, u.email, u.name, u.role, u.disabled, " TS("u.created_at") ", " TS( \
        "u.updated_at") ", " TS("u.last_login_at")
#define KEY_COLS                                                                 \
    "k.id, k.name, k.prefix, k.role, k.created_by, " TS("k.created_at") ", " TS( \
        "k.expires_at") ", " TS("k.revoked_at") ", " TS("k.last_used_at")
/* $n seconds as an interval. */
#define SECS(n) "make_interval(secs => $" n ")"
/* The time of the newest failure beyond the allowed count ($4) within the
 * window ($3) for one column: when it leaves the window, one more try is
 * allowed. */
#define NTH_FAILURE(col, p)                                      \
    "(SELECT at FROM gateway.login_failures WHERE " col " = $" p \
    " AND at > now() - " SECS("3") " ORDER BY at DESC OFFSET $4 LIMIT 1)"

static const struct {
    const char *name;
    const char *sql;
} stmts[AQ_COUNT] = {
    [AQ_HAS_USERS] = {"auth_has_users", "SELECT EXISTS (SELECT 1 FROM gateway.users)"},
    /* Serialises the changes that could leave no enabled admin, and the
     * creation of the first one, across replicas. */
    [AQ_LOCK_USERS] = {"auth_lock_users",
                       "SELECT pg_advisory_xact_lock(hashtext('gateway.users'))"},
    [AQ_FIRST_ADMIN] = {"auth_first_admin",
                        "INSERT INTO gateway.users (email, name, role, password_hash) "
                        "SELECT $1, 'Administrator', 'admin', $2 "
                        "WHERE NOT EXISTS (SELECT 1 FROM gateway.users) RETURNING id"},
    [AQ_USER_BY_EMAIL] = {"auth_user_by_email",
                          "SELECT id, role, disabled, password_hash FROM gateway.users "
                          "WHERE lower(email) = lower($1)"},
    [AQ_USER_STATUS] = {"auth_user_status",
                        "SELECT role, disabled FROM gateway.users WHERE id = $1"},
    [AQ_USER_GET] = {"auth_user_get", "SELECT " USER_COLS " FROM gateway.users u WHERE u.id = $1"},
    [AQ_USER_LIST] = {"auth_user_list", "SELECT " USER_COLS " FROM gateway.users u "
                                        "ORDER BY u.created_at, u.id LIMIT $1 OFFSET $2"},
    [AQ_USER_COUNT] = {"auth_user_count", "SELECT count(*) FROM gateway.users"},
    [AQ_USER_INSERT] = {"auth_user_insert",
                        "INSERT INTO gateway.users AS u (email, name, role, password_hash, "
                        "disabled) VALUES ($1, coalesce($2, ''), $3, $4, "
                        "coalesce($5::boolean, false)) RETURNING " USER_COLS},
    [AQ_USER_UPDATE] = {"auth_user_update",
                        "UPDATE gateway.users AS u SET email = coalesce($2, u.email), "
                        "name = coalesce($3, u.name), role = coalesce($4, u.role), "
                        "password_hash = coalesce($5, u.password_hash), "
                        "disabled = coalesce($6::boolean, u.disabled), updated_at = now() "
                        "WHERE u.id = $1 RETURNING " USER_COLS},
    [AQ_USER_DELETE] = {"auth_user_delete", "DELETE FROM gateway.users WHERE id = $1"},
    [AQ_ADMINS_LEFT] = {"auth_admins_left", "SELECT count(*) FROM gateway.users "
                                            "WHERE role = 'admin' AND NOT disabled"},
    [AQ_USER_LOGIN] = {"auth_user_login", "UPDATE gateway.users AS u SET last_login_at = now() "
                                          "WHERE u.id = $1 RETURNING " USER_COLS},
    /* Only if nobody changed the password since it was checked. */
    [AQ_USER_REHASH] = {"auth_user_rehash", "UPDATE gateway.users SET password_hash = $3 "
                                            "WHERE id = $1 AND password_hash = $2"},
    [AQ_LOGIN_BLOCKED] = {"auth_login_blocked",
                          "SELECT ceil(extract(epoch FROM greatest(" NTH_FAILURE(
                              "email",
                              "1") ", " NTH_FAILURE("ip",
                                                    "2") ") + " SECS("3") " - now()))::bigint"},
    [AQ_LOGIN_FAILED] = {"auth_login_failed",
                         "WITH old AS (DELETE FROM gateway.login_failures "
                         "WHERE at < now() - " SECS(
                             "3") ") "
                                  "INSERT INTO gateway.login_failures (email, ip) VALUES ($1, $2)"},
    [AQ_LOGIN_CLEAR] = {"auth_login_clear", "DELETE FROM gateway.login_failures WHERE email = $1"},
    [AQ_RT_INSERT] = {"auth_rt_insert",
                      "INSERT INTO gateway.refresh_tokens (token_hash, user_id, family_id, "
                      "expires_at) VALUES ($1, $2, coalesce($3::uuid, gen_random_uuid()), "
                      "now() + " SECS("4") ")"},
    [AQ_RT_LOCK] = {"auth_rt_lock",
                    "SELECT id, user_id, family_id, used_at IS NOT NULL, revoked_at IS NOT NULL, "
                    "expires_at <= now() FROM gateway.refresh_tokens WHERE token_hash = $1 "
                    "FOR UPDATE"},
    [AQ_RT_USE] = {"auth_rt_use", "UPDATE gateway.refresh_tokens SET used_at = now() "
                                  "WHERE id = $1"},
    [AQ_RT_REVOKE_FAMILY] = {"auth_rt_revoke_family",
                             "UPDATE gateway.refresh_tokens SET revoked_at = now() "
                             "WHERE family_id = $1 AND revoked_at IS NULL"},
    [AQ_RT_REVOKE_USER] = {"auth_rt_revoke_user",
                           "UPDATE gateway.refresh_tokens SET revoked_at = now() "
                           "WHERE user_id = $1 AND revoked_at IS NULL"},
    [AQ_RT_LOGOUT] = {"auth_rt_logout",
                      "UPDATE gateway.refresh_tokens SET revoked_at = now() WHERE family_id = "
                      "(SELECT family_id FROM gateway.refresh_tokens WHERE token_hash = $1 "
                      "AND user_id = $2) AND revoked_at IS NULL"},
    /* Spent tokens are kept until they expire, for reuse detection. */
    [AQ_RT_PURGE] = {"auth_rt_purge", "DELETE FROM gateway.refresh_tokens "
                                      "WHERE expires_at < now() - interval '1 day'"},
    [AQ_KEY_INSERT] = {"auth_key_insert",
                       "INSERT INTO gateway.api_keys AS k (name, prefix, key_hash, role, "
                       "created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6::timestamptz) "
                       "RETURNING " KEY_COLS},
    [AQ_KEY_LIST] = {"auth_key_list", "SELECT " KEY_COLS " FROM gateway.api_keys k "
                                      "ORDER BY k.created_at DESC, k.id LIMIT $1 OFFSET $2"},
    [AQ_KEY_COUNT] = {"auth_key_count", "SELECT count(*) FROM gateway.api_keys"},
    [AQ_KEY_GET] = {"auth_key_get", "SELECT " KEY_COLS " FROM gateway.api_keys k WHERE k.id = $1"},
    [AQ_KEY_REVOKE] = {"auth_key_revoke",
                       "UPDATE gateway.api_keys SET revoked_at = coalesce(revoked_at, now()) "
                       "WHERE id = $1 RETURNING key_hash"},
    /* One round trip finds the key and records its use (at most once per
     * replica and cache lifetime, since the gate caches the answer). */
    [AQ_KEY_LOOKUP] = {"auth_key_lookup",
                       "UPDATE gateway.api_keys SET last_used_at = CASE WHEN revoked_at IS NULL "
                       "AND coalesce(expires_at > now(), true) THEN now() ELSE last_used_at END "
                       "WHERE key_hash = $1 RETURNING id, role, revoked_at IS NOT NULL, "
                       "coalesce(expires_at <= now(), false), "
                       "coalesce(floor(extract(epoch FROM expires_at))::bigint, 0)"},
};

/* How the API's columns are rendered: 's' string, 'b' boolean. */
static const struct {
    const char *name;
    char type;
} user_cols[] = {{"id", 's'},         {"email", 's'},        {"name", 's'},
                 {"role", 's'},       {"disabled", 'b'},     {"created_at", 's'},
                 {"updated_at", 's'}, {"last_login_at", 's'}},
  key_cols[] = {{"id", 's'},         {"name", 's'},       {"prefix", 's'},
                {"role", 's'},       {"created_by", 's'}, {"created_at", 's'},
                {"expires_at", 's'}, {"revoked_at", 's'}, {"last_used_at", 's'}};

auth_store *
auth_store_new(db_pool *pool)
{
    auth_store *s = calloc(1, sizeof(*s));
    if (s)
        s->pool = pool;
    return s;
}

void
auth_store_free(auth_store *s)
{
    free(s);
}

const char *
auth_store_status_name(auth_store_status st)
{
    switch (st) {
    case AS_OK:
        return "ok";
    case AS_NOT_FOUND:
        return "not_found";
    case AS_DUPLICATE:
        return "duplicate";
    case AS_LAST_ADMIN:
        return "last_admin";
    case AS_UNAVAILABLE:
        return "unavailable";
    default:
        return "error";
    }
}

auth_store_status
auth_store_db(db_status st)
{
    switch (st) {
    case DB_OK:
        return AS_OK;
    case DB_ERR_UNIQUE:
        return AS_DUPLICATE;
    case DB_ERR_UNAVAILABLE:
    case DB_ERR_TIMEOUT:
    case DB_ERR_SERIALIZATION:
        return AS_UNAVAILABLE;
    default:
        return AS_ERROR;
    }
}

db_status
auth_store_exec(db_conn *c, auth_q q, int n, const char *const *params, PGresult **res)
{
    db_status st = db_exec_prepared(c, stmts[q].name, stmts[q].sql, n, params, res);
    if (st != DB_OK && st != DB_ERR_UNIQUE)
        log_msg(LOGL_WARN,
                LOG_FIELDS(LF_STR("statement", stmts[q].name), LF_STR("error", db_last_error(c))),
                "auth statement failed");
    return st;
}

auth_store_status
auth_store_acquire(auth_store *s, db_conn **c)
{
    return auth_store_db(db_acquire(s->pool, AUTH_STORE_WAIT_MS, c));
}

auth_store_status
auth_store_done(db_conn *c, bool in_tx, auth_store_status st)
{
    if (c && in_tx && st != AS_OK)
        db_rollback(c);
    db_release(c);
    return st;
}

static json_object *
render(const PGresult *res, int row, char kind)
{
    json_object *o = json_object_new_object();
    size_t n = kind == 'u' ? sizeof(user_cols) / sizeof(user_cols[0])
                           : sizeof(key_cols) / sizeof(key_cols[0]);
    for (size_t i = 0; o && i < n; i++) {
        const char *name = kind == 'u' ? user_cols[i].name : key_cols[i].name;
        char type = kind == 'u' ? user_cols[i].type : key_cols[i].type;
        json_object *v = NULL;
        if (!PQgetisnull(res, row, (int)i)) {
            const char *t = PQgetvalue(res, row, (int)i);
            v = type == 'b' ? json_object_new_boolean(t[0] == 't') : json_object_new_string(t);
        }
        json_object_object_add(o, name, v);
    }
    return o;
}

auth_store_status
auth_store_one(db_conn *c, auth_q q, int n, const char *const *params, char kind, json_object **out)
{
    PGresult *res = NULL;
    db_status st = auth_store_exec(c, q, n, params, &res);
    if (st != DB_OK)
        return auth_store_db(st);
    auth_store_status as = AS_NOT_FOUND;
    if (PQntuples(res) > 0) {
        *out = render(res, 0, kind);
        as = *out ? AS_OK : AS_ERROR;
    }
    PQclear(res);
    return as;
}

auth_store_status
auth_store_first_row(auth_store *s, auth_q q, int n, const char *const *params,
                     void (*fill)(const PGresult *res, void *ud), void *ud)
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    auth_store_status st = auth_store_acquire(s, &c);
    if (st != AS_OK || (st = auth_store_db(auth_store_exec(c, q, n, params, &res))) != AS_OK)
        return auth_store_done(c, false, st);
    st = AS_NOT_FOUND;
    if (PQntuples(res) > 0) {
        fill(res, ud);
        st = AS_OK;
    }
    PQclear(res);
    return auth_store_done(c, false, st);
}

auth_store_status
auth_store_get(auth_store *s, auth_q q, const char *id, char kind, json_object **out)
{
    db_conn *c = NULL;
    const char *p[] = {id};
    auth_store_status st = auth_store_acquire(s, &c);
    if (st == AS_OK)
        st = auth_store_one(c, q, 1, p, kind, out);
    return auth_store_done(c, false, st);
}

/* The first column of the first row as a long, or -1. */
static long
scalar(PGresult *res)
{
    long v = -1;
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0))
        v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return v;
}

auth_store_status
auth_store_page(auth_store *s, auth_q list, auth_q count, char kind, long limit, long offset,
                json_object **page)
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    char lim[24], off[24];
    const char *p[] = {lim, off};
    snprintf(lim, sizeof(lim), "%ld", limit);
    snprintf(off, sizeof(off), "%ld", offset);
    auth_store_status st = auth_store_acquire(s, &c);
    if (st != AS_OK || (st = auth_store_db(auth_store_exec(c, list, 2, p, &res))) != AS_OK)
        return auth_store_done(c, false, st);
    json_object *items = json_object_new_array();
    for (int i = 0; items && i < PQntuples(res); i++)
        json_object_array_add(items, render(res, i, kind));
    PQclear(res);
    res = NULL;
    if ((st = auth_store_db(auth_store_exec(c, count, 0, NULL, &res))) != AS_OK) {
        json_object_put(items);
        return auth_store_done(c, false, st);
    }
    *page = json_object_new_object();
    json_object_object_add(*page, "items", items);
    json_object_object_add(*page, "total", json_object_new_int64(scalar(res)));
    json_object_object_add(*page, "limit", json_object_new_int64(limit));
    json_object_object_add(*page, "offset", json_object_new_int64(offset));
    return auth_store_done(c, false, AS_OK);
}

/* ---- users ---- */

auth_store_status
auth_store_has_users(auth_store *s, bool *any)
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    auth_store_status st = auth_store_acquire(s, &c);
    if (st == AS_OK
        && (st = auth_store_db(auth_store_exec(c, AQ_HAS_USERS, 0, NULL, &res))) == AS_OK) {
        *any = PQntuples(res) > 0 && PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
    }
    return auth_store_done(c, false, st);
}

/* A connection in a transaction holding AQ_LOCK_USERS; *tx tells whether
 * the transaction was opened (for auth_store_done). */
static auth_store_status
begin_locked(auth_store *s, db_conn **c, bool *tx)
{
    auth_store_status st = auth_store_acquire(s, c);
    if (st != AS_OK || (st = auth_store_db(db_begin(*c))) != AS_OK)
        return st;
    *tx = true;
    return auth_store_db(auth_store_exec(*c, AQ_LOCK_USERS, 0, NULL, NULL));
}

auth_store_status
auth_store_first_admin(auth_store *s, const char *email, const char *password_hash, bool *created)
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    const char *p[] = {email, password_hash};
    bool tx = false;
    auth_store_status st = begin_locked(s, &c, &tx);
    if (st != AS_OK
        || (st = auth_store_db(auth_store_exec(c, AQ_FIRST_ADMIN, 2, p, &res))) != AS_OK)
        goto out;
    *created = PQntuples(res) > 0;
    PQclear(res);
    st = auth_store_db(db_commit(c));
out:
    return auth_store_done(c, tx, st);
}

static void
fill_user_row(const PGresult *res, void *ud)
{
    auth_user_row *row = ud;
    util_strlcpy(row->id, PQgetvalue(res, 0, 0), sizeof(row->id));
    row->role = auth_role_parse(PQgetvalue(res, 0, 1));
    row->disabled = PQgetvalue(res, 0, 2)[0] == 't';
    util_strlcpy(row->password_hash, PQgetvalue(res, 0, 3), sizeof(row->password_hash));
}

auth_store_status
auth_store_user_by_email(auth_store *s, const char *email, auth_user_row *row)
{
    const char *p[] = {email};
    return auth_store_first_row(s, AQ_USER_BY_EMAIL, 1, p, fill_user_row, row);
}

/* The columns of AQ_USER_STATUS, into an auth_user_row's role and disabled. */
static void
fill_user_status(const PGresult *res, void *ud)
{
    auth_user_row *row = ud;
    row->role = auth_role_parse(PQgetvalue(res, 0, 0));
    row->disabled = PQgetvalue(res, 0, 1)[0] == 't';
}

auth_store_status
auth_store_user_status(auth_store *s, const char *id, auth_role *role, bool *disabled)
{
    const char *p[] = {id};
    auth_user_row row = {.role = ROLE_NONE};
    auth_store_status st = auth_store_first_row(s, AQ_USER_STATUS, 1, p, fill_user_status, &row);
    *role = row.role;
    *disabled = row.disabled;
    return st;
}

auth_store_status
auth_store_user_get(auth_store *s, const char *id, json_object **user)
{
    return auth_store_get(s, AQ_USER_GET, id, 'u', user);
}

auth_store_status
auth_store_user_list(auth_store *s, long limit, long offset, json_object **page)
{
    return auth_store_page(s, AQ_USER_LIST, AQ_USER_COUNT, 'u', limit, offset, page);
}

static const char *
bool_param(int v)
{
    return v < 0 ? NULL : v ? "true" : "false";
}

auth_store_status
auth_store_user_create(auth_store *s, const auth_user_fields *f, json_object **user)
{
    db_conn *c = NULL;
    const char *p[] = {f->email, f->name, f->role, f->password_hash, bool_param(f->disabled)};
    auth_store_status st = auth_store_acquire(s, &c);
    if (st == AS_OK)
        st = auth_store_one(c, AQ_USER_INSERT, 5, p, 'u', user);
    return auth_store_done(c, false, st);
}

/* The end of a change that may touch admins: refuse it when no enabled admin
 * is left. Runs inside the transaction, under AQ_LOCK_USERS. */
static auth_store_status
admins_left(db_conn *c)
{
    PGresult *res = NULL;
    auth_store_status st = auth_store_db(auth_store_exec(c, AQ_ADMINS_LEFT, 0, NULL, &res));
    if (st != AS_OK)
        return st;
    return scalar(res) > 0 ? AS_OK : AS_LAST_ADMIN;
}

auth_store_status
auth_store_user_update(auth_store *s, const char *id, const auth_user_fields *f, json_object **user)
{
    db_conn *c = NULL;
    json_object *u = NULL;
    const char *p[] = {id, f->email, f->name, f->role, f->password_hash, bool_param(f->disabled)};
    bool tx = false;
    auth_store_status st = begin_locked(s, &c, &tx);
    if (st != AS_OK || (st = auth_store_one(c, AQ_USER_UPDATE, 6, p, 'u', &u)) != AS_OK
        || (st = admins_left(c)) != AS_OK)
        goto out;
    /* A disabled user, or one whose password changed, keeps no session. */
    if ((f->disabled == 1 || f->password_hash)
        && (st = auth_store_db(auth_store_exec(c, AQ_RT_REVOKE_USER, 1, p, NULL))) != AS_OK)
        goto out;
    if ((st = auth_store_db(db_commit(c))) == AS_OK) {
        *user = u;
        u = NULL;
    }
out:
    json_object_put(u);
    return auth_store_done(c, tx, st);
}

auth_store_status
auth_store_user_delete(auth_store *s, const char *id)
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    const char *p[] = {id};
    bool tx = false;
    auth_store_status st = begin_locked(s, &c, &tx);
    if (st != AS_OK
        || (st = auth_store_db(auth_store_exec(c, AQ_USER_DELETE, 1, p, &res))) != AS_OK)
        goto out;
    bool deleted = strcmp(PQcmdTuples(res), "0") != 0;
    PQclear(res);
    st = deleted ? admins_left(c) : AS_NOT_FOUND;
    if (st == AS_OK)
        st = auth_store_db(db_commit(c));
out:
    return auth_store_done(c, tx, st);
}

auth_store_status
auth_store_login_done(auth_store *s, const char *id, const char *email, const char *old_hash,
                      const char *new_hash, json_object **user)
{
    db_conn *c = NULL;
    const char *pid[] = {id}, *pemail[] = {email}, *prehash[] = {id, old_hash, new_hash};
    auth_store_status st = auth_store_acquire(s, &c);
    if (st != AS_OK)
        return st;
    /* Housekeeping first: neither failure stops a login. */
    (void)auth_store_exec(c, AQ_LOGIN_CLEAR, 1, pemail, NULL);
    (void)auth_store_exec(c, AQ_RT_PURGE, 0, NULL, NULL);
    if (new_hash)
        (void)auth_store_exec(c, AQ_USER_REHASH, 3, prehash, NULL);
    st = auth_store_one(c, AQ_USER_LOGIN, 1, pid, 'u', user);
    return auth_store_done(c, false, st);
}
