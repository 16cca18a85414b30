/* auth_http: the routes under /api/auth a person signs in with (login,
 * refresh, logout, me) and the table of every /api/auth route. Users and
 * API keys are auth_admin.c. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "auth.h"
#include "auth_admin.h"
#include "auth_internal.h"
#include "gate.h"
#include "log.h"
#include "secret.h"

#define TOKEN_MAX 64 /* a refresh token we make: "brr_" and 43 characters */

json_object *
auth_body(web_req *r, const char *const *known)
{
    json_object *body = web_body_json(r);
    js_err e;
    if (!body) {
        js_fail(&e, "", "request body must be a JSON object");
        web_reply_invalid(r, &e);
        return NULL;
    }
    if (js_require_object(body, &e) != JS_OK || js_reject_unknown(body, known, &e) != JS_OK) {
        web_reply_invalid(r, &e);
        return NULL;
    }
    return body;
}

/* {"refresh_token": "..."}: the token, or NULL after answering 400. */
static const char *
refresh_token_of(web_req *r)
{
    static const char *const known[] = {"refresh_token", NULL};
    const char *tok = NULL;
    js_err e;
    json_object *body = auth_body(r, known);
    if (!body)
        return NULL;
    if (js_get_string(body, "refresh_token", true, 1, AUTH_REFRESH_MAX, &tok, &e) != JS_OK) {
        web_reply_invalid(r, &e);
        return NULL;
    }
    return tok;
}

static int
reply_bad_login(web_req *r, const char *ip, const char *why)
{
    /* The reason is for operators; the client learns nothing from it. */
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("reason", why), LF_STR("client_ip", ip)), "login failed");
    return web_reply_error(r, 401, NULL, "invalid email or password");
}

/* Store a new refresh token for user (taken) and answer the token pair. */
static int
issue(web_req *r, json_object *user, const char *user_id)
{
    char tok[TOKEN_MAX], hash[SECRET_SHA256_HEX + 1];
    auth_store_status st = AS_ERROR;
    if (auth_new_refresh(tok, sizeof(tok), hash) == 0)
        st = auth_store_refresh_issue(auth_the_store(), user_id, hash, auth_refresh_ttl());
    if (st != AS_OK) {
        json_object_put(user);
        return auth_reply_store(r, st, "user");
    }
    int rc = auth_reply_tokens(r, user, tok);
    explicit_bzero(tok, sizeof(tok));
    return rc;
}

/* The login limit: false after answering 429 (or 503). */
static bool
login_allowed(web_req *r, const char *email, const char *ip)
{
    char retry_s[24];
    long retry = 0;
    auth_store_status st = auth_store_login_blocked(
        auth_the_store(), email, ip, AUTH_LOGIN_FAILURES, AUTH_LOGIN_WINDOW_S, &retry);
    if (st != AS_OK) {
        auth_reply_store(r, st, "user");
        return false;
    }
    if (retry == 0)
        return true;
    snprintf(retry_s, sizeof(retry_s), "%ld", retry);
    web_add_header(r, "Retry-After", retry_s);
    log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("client_ip", ip)), "login refused: too many failures");
    web_reply_error(r, 429, NULL, "too many failed logins: try again in %ld s", retry);
    return false;
}

static int
login(web_req *r)
{
    static const char *const known[] = {"email", "password", NULL};
    const char *email = NULL, *password = NULL;
    char norm[AUTH_EMAIL_MAX + 1], ip[64], rehash[SECRET_HASH_MAX];
    auth_user_row row;
    json_object *user = NULL;
    js_err e;
    auth_store *s = auth_the_store();

    json_object *body = auth_body(r, known);
    if (!body)
        return 0;
    if (js_get_string(body, "email", true, 1, AUTH_EMAIL_MAX, &email, &e) != JS_OK
        || js_get_string(body, "password", true, 1, AUTH_PASSWORD_MAX, &password, &e) != JS_OK)
        return web_reply_invalid(r, &e);
    size_t n = strlen(email);
    for (size_t i = 0; i <= n; i++)
        norm[i] = (char)tolower((unsigned char)email[i]);
    gate_client_ip(r, ip, sizeof(ip));

    if (!login_allowed(r, norm, ip))
        return 0;
    auth_store_status st = auth_store_user_by_email(s, email, &row);
    if (st != AS_OK && st != AS_NOT_FOUND)
        return auth_reply_store(r, st, "user");
    /* The KDF runs whether or not the email is known, so the time taken
     * does not tell. */
    bool found = st == AS_OK;
    bool good = secret_password_verify(password, found ? row.password_hash : auth_dummy_hash());
    if (!found || !good || row.disabled) {
        st = auth_store_login_failed(s, norm, ip, AUTH_LOGIN_WINDOW_S);
        if (st != AS_OK)
            return auth_reply_store(r, st, "user");
        return reply_bad_login(r, ip,
                               !found  ? "unknown_email"
                               : !good ? "wrong_password"
                                       : "disabled_user");
    }
    /* Hashes made with fewer rounds than today's are made again now, while
     * the password is at hand. */
    bool outdated = secret_password_outdated(row.password_hash)
                    && secret_password_hash(password, 0, rehash, sizeof(rehash)) == 0;
    st = auth_store_login_done(s, row.id, norm, row.password_hash, outdated ? rehash : NULL, &user);
    if (st != AS_OK)
        return auth_reply_store(r, st, "user");
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("user_id", row.id), LF_STR("client_ip", ip)), "login");
    return issue(r, user, row.id);
}

static int
refresh(web_req *r)
{
    char tok[TOKEN_MAX], hash[SECRET_SHA256_HEX + 1], old[SECRET_SHA256_HEX + 1], uid[40];
    auth_refresh_outcome outcome = RT_UNKNOWN;
    json_object *user = NULL;
    const char *given = refresh_token_of(r);
    if (!given)
        return 0;
    secret_sha256_hex(given, strlen(given), old);
    if (auth_new_refresh(tok, sizeof(tok), hash) != 0)
        return web_reply_error(r, 500, NULL, "no random source");
    auth_store_status st = auth_store_refresh_rotate(auth_the_store(), old, hash,
                                                     auth_refresh_ttl(), &outcome, uid, &user);
    if (st != AS_OK)
        return auth_reply_store(r, st, "refresh token");
    if (outcome == RT_ROTATED) {
        int rc = auth_reply_tokens(r, user, tok);
        explicit_bzero(tok, sizeof(tok));
        return rc;
    }
    if (outcome == RT_REUSED)
        /* A spent token came back: someone holds a copy. Every token of that
         * login is revoked, so the thief and the user both sign in again. */
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("user_id", uid)),
                "refresh token reused: its login is revoked");
    return web_reply_error(r, 401, NULL, "invalid or expired refresh token");
}

static int
logout(web_req *r)
{
    char hash[SECRET_SHA256_HEX + 1];
    bool revoked = false;
    const auth_identity *id = gate_identity(r);
    const char *given = refresh_token_of(r);
    if (!given)
        return 0;
    secret_sha256_hex(given, strlen(given), hash);
    /* Only the caller's own login: a token of someone else is left alone,
     * and the answer is the same either way. */
    if (id && id->kind == AUTH_KIND_USER) {
        auth_store_status st = auth_store_logout(auth_the_store(), hash, id->id, &revoked);
        if (st != AS_OK)
            return auth_reply_store(r, st, "refresh token");
    }
    if (revoked)
        log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("user_id", id->id)), "logout");
    return web_reply(r, 204, NULL, NULL, 0, NULL);
}

static int
me(web_req *r)
{
    json_object *o = NULL;
    const auth_identity *id = gate_identity(r);
    auth_store_status st;
    if (!id || id->kind == AUTH_KIND_NONE)
        return web_reply_error(r, 401, NULL, "a credential is required");
    if (id->kind == AUTH_KIND_USER)
        st = auth_store_user_get(auth_the_store(), id->id, &o);
    else
        st = auth_store_key_get(auth_the_store(), id->id, &o);
    if (st != AS_OK)
        return auth_reply_store(r, st, id->kind == AUTH_KIND_USER ? "user" : "API key");
    json_object_object_add(o, "kind",
                           json_object_new_string(id->kind == AUTH_KIND_USER ? "user" : "api_key"));
    return web_reply_json(r, 200, o);
}

#define AUTH "/api/auth"

const web_route auth_routes[] = {
    {"POST", AUTH "/login", login, WEB_JSON_BODY, NULL},
    {"POST", AUTH "/refresh", refresh, WEB_JSON_BODY, NULL},
    {"POST", AUTH "/logout", logout, WEB_JSON_BODY, NULL},
    {"GET", AUTH "/me", me, 0, NULL},
    {"GET", AUTH "/api-keys", auth_admin_keys_list, 0, NULL},
    {"POST", AUTH "/api-keys", auth_admin_keys_create, WEB_JSON_BODY, NULL},
    {"DELETE", AUTH "/api-keys/{id}", auth_admin_keys_revoke, 0, NULL},
    {"GET", AUTH "/users", auth_admin_users_list, 0, NULL},
    {"POST", AUTH "/users", auth_admin_users_create, WEB_JSON_BODY, NULL},
    {"PATCH", AUTH "/users/{id}", auth_admin_users_update, WEB_JSON_BODY, NULL},
    {"DELETE", AUTH "/users/{id}", auth_admin_users_delete, 0, NULL},
};
const size_t auth_nroutes = sizeof(auth_routes) / sizeof(auth_routes[0]);
