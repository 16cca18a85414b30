/* auth_store_tokens: refresh tokens, API keys and the login limit; the SQL
 * texts are in auth_store.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth_store.h"
#include "auth_store_internal.h"
#include "util.h"

/* ---- the login limit ---- */

auth_store_status
auth_store_login_blocked(auth_store *s, const char *email, const char *ip, int max, int window_s,
                         long *retry_after)
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    char win[16], skip[16];
    const char *p[] = {email, ip, win, skip};
    snprintf(win, sizeof(win), "%d", window_s);
    snprintf(skip, sizeof(skip), "%d", max > 0 ? max - 1 : 0);
    *retry_after = 0;
    auth_store_status st = auth_store_acquire(s, &c);
    if (st != AS_OK
        || (st = auth_store_db(auth_store_exec(c, AQ_LOGIN_BLOCKED, 4, p, &res))) != AS_OK)
        return auth_store_done(c, false, st);
    if (PQntuples(res) > 0 && !PQgetisnull(res, 0, 0)) {
        long v = strtol(PQgetvalue(res, 0, 0), NULL, 10);
        /* The window may be ending this very second: still say 1. */
        *retry_after = v < 1 ? 1 : v;
    }
    PQclear(res);
    return auth_store_done(c, false, AS_OK);
}

auth_store_status
auth_store_login_failed(auth_store *s, const char *email, const char *ip, int window_s)
{
    db_conn *c = NULL;
    char win[16];
    const char *p[] = {email, ip, win};
    snprintf(win, sizeof(win), "%d", window_s);
    auth_store_status st = auth_store_acquire(s, &c);
    if (st == AS_OK)
        st = auth_store_db(auth_store_exec(c, AQ_LOGIN_FAILED, 3, p, NULL));
    return auth_store_done(c, false, st);
}

/* ---- refresh tokens ---- */

auth_store_status
auth_store_refresh_issue(auth_store *s, const char *user_id, const char *token_hash, long ttl_s)
{
    db_conn *c = NULL;
    char ttl[24];
    const char *p[] = {token_hash, user_id, NULL, ttl};
    snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
    auth_store_status st = auth_store_acquire(s, &c);
    if (st == AS_OK)
        st = auth_store_db(auth_store_exec(c, AQ_RT_INSERT, 4, p, NULL));
    return auth_store_done(c, false, st);
}

/* The locked token's state: columns of AQ_RT_LOCK. */
static auth_refresh_outcome
token_state(const PGresult *res)
{
    if (PQntuples(res) == 0)
        return RT_UNKNOWN;
    if (PQgetvalue(res, 0, 3)[0] == 't')
        return RT_REUSED;
    if (PQgetvalue(res, 0, 4)[0] == 't')
        return RT_REVOKED;
    if (PQgetvalue(res, 0, 5)[0] == 't')
        return RT_EXPIRED;
    return RT_ROTATED;
}

auth_store_status
auth_store_refresh_rotate(auth_store *s, const char *old_hash, const char *new_hash, long ttl_s,
                          auth_refresh_outcome *outcome, char *user_id, json_object **user)
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    json_object *u = NULL, *dis = NULL;
    char id[40] = "", family[40] = "", ttl[24];
    const char *plock[] = {old_hash}, *pid[] = {id}, *pfam[] = {family};
    const char *pnew[] = {new_hash, user_id, family, ttl};
    bool tx = false;
    snprintf(ttl, sizeof(ttl), "%ld", ttl_s);
    user_id[0] = '\0';
    auth_store_status st = auth_store_acquire(s, &c);
    if (st != AS_OK || (st = auth_store_db(db_begin(c))) != AS_OK)
        goto out;
    tx = true;
    /* FOR UPDATE: of two rotations of one token, the second waits and then
     * sees it spent, which is the reuse it is. */
    if ((st = auth_store_db(auth_store_exec(c, AQ_RT_LOCK, 1, plock, &res))) != AS_OK)
        goto out;
    *outcome = token_state(res);
    if (*outcome != RT_UNKNOWN) {
        util_strlcpy(id, PQgetvalue(res, 0, 0), sizeof(id));
        util_strlcpy(user_id, PQgetvalue(res, 0, 1), 40);
        util_strlcpy(family, PQgetvalue(res, 0, 2), sizeof(family));
    }
    PQclear(res);
    if (*outcome == RT_ROTATED) {
        const char *puser[] = {user_id};
        st = auth_store_one(c, AQ_USER_GET, 1, puser, 'u', &u);
        if (st != AS_OK)
            goto out;
        if (json_object_object_get_ex(u, "disabled", &dis) && json_object_get_boolean(dis))
            *outcome = RT_USER_DISABLED;
    }
    if (*outcome == RT_REUSED || *outcome == RT_USER_DISABLED) {
        st = auth_store_db(auth_store_exec(c, AQ_RT_REVOKE_FAMILY, 1, pfam, NULL));
    } else if (*outcome == RT_ROTATED) {
        if ((st = auth_store_db(auth_store_exec(c, AQ_RT_USE, 1, pid, NULL))) != AS_OK)
            goto out;
        st = auth_store_db(auth_store_exec(c, AQ_RT_INSERT, 4, pnew, NULL));
    }
    if (st == AS_OK)
        st = auth_store_db(db_commit(c));
    if (st == AS_OK && *outcome == RT_ROTATED) {
        *user = u;
        u = NULL;
    }
out:
    json_object_put(u);
    return auth_store_done(c, tx, st);
}

auth_store_status
auth_store_logout(auth_store *s, const char *token_hash, const char *user_id, bool *revoked)
{
    db_conn *c = NULL;
    PGresult *res = NULL;
    const char *p[] = {token_hash, user_id};
    *revoked = false;
    auth_store_status st = auth_store_acquire(s, &c);
    if (st == AS_OK
        && (st = auth_store_db(auth_store_exec(c, AQ_RT_LOGOUT, 2, p, &res))) == AS_OK) {
        *revoked = strcmp(PQcmdTuples(res), "0") != 0;
        PQclear(res);
    }
    return auth_store_done(c, false, st);
}

/* ---- API keys ---- */

auth_store_status
auth_store_key_create(auth_store *s, const char *name, const char *prefix, const char *key_hash,
                      const char *role, const char *created_by, const char *expires_at,
                      json_object **key)
{
    db_conn *c = NULL;
    const char *p[] = {name, prefix, key_hash, role, created_by, expires_at};
    auth_store_status st = auth_store_acquire(s, &c);
    if (st == AS_OK)
        st = auth_store_one(c, AQ_KEY_INSERT, 6, p, 'k', key);
    return auth_store_done(c, false, st);
}

auth_store_status
auth_store_key_list(auth_store *s, long limit, long offset, json_object **page)
{
    return auth_store_page(s, AQ_KEY_LIST, AQ_KEY_COUNT, 'k', limit, offset, page);
}

auth_store_status
auth_store_key_get(auth_store *s, const char *id, json_object **key)
{
    return auth_store_get(s, AQ_KEY_GET, id, 'k', key);
}

static void
fill_hash(const PGresult *res, void *ud)
{
    util_strlcpy(ud, PQgetvalue(res, 0, 0), SECRET_SHA256_HEX + 1);
}

auth_store_status
auth_store_key_revoke(auth_store *s, const char *id, char *key_hash)
{
    const char *p[] = {id};
    return auth_store_first_row(s, AQ_KEY_REVOKE, 1, p, fill_hash, key_hash);
}

static void
fill_key_row(const PGresult *res, void *ud)
{
    auth_key_row *row = ud;
    util_strlcpy(row->id, PQgetvalue(res, 0, 0), sizeof(row->id));
    row->role = auth_role_parse(PQgetvalue(res, 0, 1));
    row->revoked = PQgetvalue(res, 0, 2)[0] == 't';
    row->expired = PQgetvalue(res, 0, 3)[0] == 't';
    row->expires_at = strtoll(PQgetvalue(res, 0, 4), NULL, 10);
}

auth_store_status
auth_store_key_lookup(auth_store *s, const char *key_hash, auth_key_row *row)
{
    const char *p[] = {key_hash};
    return auth_store_first_row(s, AQ_KEY_LOOKUP, 1, p, fill_key_row, row);
}
