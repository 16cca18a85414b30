/* auth_admin: users and API keys, for admins (see auth_admin.h). Each
 * handler checks its input, calls the store and renders the answer; the
 * replica making a change forgets what its gate cached about it at once. */
#include "auth_admin.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "auth_internal.h"
#include "gate.h"
#include "log.h"
#include "secret.h"
#include "util.h"

static const char *const roles[] = {"admin", "manager", "staff", "viewer", NULL};

/* The {id} of the path, or NULL after answering 400. */
static const char *
path_id(web_req *r)
{
    const char *id = web_param(r, "id");
    js_err e;
    if (!id || !util_uuid_valid(id)) {
        js_fail(&e, "id", "id: must be a UUID");
        web_reply_invalid(r, &e);
        return NULL;
    }
    return id;
}

/* Who made a change, for the log: a user's or a key's id. */
static const char *
actor(web_req *r)
{
    const auth_identity *id = gate_identity(r);
    return id && id->kind != AUTH_KIND_NONE ? id->id : "";
}

static js_status
get_email(json_object *body, bool required, const char **email, js_err *e)
{
    js_status st = js_get_string(body, "email", required, 3, AUTH_EMAIL_MAX, email, e);
    if (st == JS_OK && !auth_email_valid(*email))
        return js_fail(e, "email", "field 'email': must be an email address");
    return st;
}

/* The fields of a user from body (all required to create but name and
 * disabled; all optional to change). A password is hashed into hash. */
static js_status
user_fields(json_object *body, bool create, auth_user_fields *f, char *hash, size_t cap, js_err *e)
{
    const char *password = NULL;
    bool disabled = false;
    js_status st;
    memset(f, 0, sizeof(*f));
    f->disabled = -1;
    if (get_email(body, create, &f->email, e) == JS_INVALID
        || js_get_string(body, "name", false, 0, AUTH_NAME_MAX, &f->name, e) == JS_INVALID
        || js_get_enum(body, "role", create, roles, &f->role, e) == JS_INVALID
        || js_get_string(body, "password", create, AUTH_PASSWORD_MIN, AUTH_PASSWORD_MAX, &password,
                         e)
               == JS_INVALID
        || (st = js_get_bool(body, "disabled", false, &disabled, e)) == JS_INVALID)
        return JS_INVALID;
    if (st == JS_OK)
        f->disabled = disabled;
    if (!create && !f->email && !f->name && !f->role && !password && f->disabled < 0)
        return js_fail(e, "", "nothing to change: give email, name, role, password or disabled");
    if (password) {
        if (secret_password_hash(password, 0, hash, cap) != 0)
            return js_fail(e, "password", "field 'password': could not be hashed");
        f->password_hash = hash;
    }
    return JS_OK;
}

/* A page of users or keys. */
static int
reply_page(web_req *r,
           auth_store_status (*list)(auth_store *s, long limit, long offset, json_object **page),
           const char *what)
{
    long limit, offset;
    json_object *page = NULL;
    if (!web_page(r, &limit, &offset))
        return 0;
    auth_store_status st = list(auth_the_store(), limit, offset, &page);
    return st == AS_OK ? web_reply_json(r, 200, page) : auth_reply_store(r, st, what);
}

int
auth_admin_users_list(web_req *r)
{
    return reply_page(r, auth_store_user_list, "users");
}

int
auth_admin_users_create(web_req *r)
{
    static const char *const known[] = {"email", "name", "role", "password", "disabled", NULL};
    char hash[SECRET_HASH_MAX];
    auth_user_fields f;
    json_object *user = NULL, *v = NULL;
    js_err e;
    json_object *body = auth_body(r, known);
    if (!body)
        return 0;
    if (user_fields(body, true, &f, hash, sizeof(hash), &e) != JS_OK)
        return web_reply_invalid(r, &e);
    auth_store_status st = auth_store_user_create(auth_the_store(), &f, &user);
    if (st != AS_OK)
        return auth_reply_store(r, st, "user");
    json_object_object_get_ex(user, "id", &v);
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("user_id", json_object_get_string(v)), LF_STR("role", f.role),
                       LF_STR("by", actor(r))),
            "user created");
    return web_reply_json(r, 201, user);
}

int
auth_admin_users_update(web_req *r)
{
    static const char *const known[] = {"email", "name", "role", "password", "disabled", NULL};
    char hash[SECRET_HASH_MAX];
    auth_user_fields f;
    json_object *user = NULL;
    js_err e;
    const char *id = path_id(r);
    if (!id)
        return 0;
    json_object *body = auth_body(r, known);
    if (!body)
        return 0;
    if (user_fields(body, false, &f, hash, sizeof(hash), &e) != JS_OK)
        return web_reply_invalid(r, &e);
    auth_store_status st = auth_store_user_update(auth_the_store(), id, &f, &user);
    if (st != AS_OK)
        return auth_reply_store(r, st, "user");
    auth_forget_user(id);
    char changed[64];
    snprintf(changed, sizeof(changed), "%s%s%s%s%s", f.email ? " email" : "", f.name ? " name" : "",
             f.role ? " role" : "", f.password_hash ? " password" : "",
             f.disabled >= 0 ? " disabled" : "");
    log_msg(
        LOGL_INFO,
        LOG_FIELDS(LF_STR("user_id", id), LF_STR("changed", changed + 1), LF_STR("by", actor(r))),
        "user changed");
    return web_reply_json(r, 200, user);
}

int
auth_admin_users_delete(web_req *r)
{
    const char *id = path_id(r);
    if (!id)
        return 0;
    auth_store_status st = auth_store_user_delete(auth_the_store(), id);
    if (st != AS_OK)
        return auth_reply_store(r, st, "user");
    auth_forget_user(id);
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("user_id", id), LF_STR("by", actor(r))), "user deleted");
    return web_reply(r, 204, NULL, NULL, 0, NULL);
}

int
auth_admin_keys_list(web_req *r)
{
    return reply_page(r, auth_store_key_list, "API keys");
}

int
auth_admin_keys_create(web_req *r)
{
    static const char *const known[] = {"name", "role", "expires_at", NULL};
    const char *name = NULL, *role = NULL, *expires = NULL;
    char key[AUTH_KEY_LEN + 1], prefix[AUTH_KEY_SHOWN + 1], hash[SECRET_SHA256_HEX + 1];
    json_object *out = NULL, *v = NULL;
    struct timespec ts;
    js_err e;
    json_object *body = auth_body(r, known);
    if (!body)
        return 0;
    if (js_get_string(body, "name", true, 1, AUTH_NAME_MAX, &name, &e) != JS_OK
        || js_get_enum(body, "role", true, roles, &role, &e) != JS_OK
        || js_get_time(body, "expires_at", false, &expires, &e) == JS_INVALID)
        return web_reply_invalid(r, &e);
    if (expires && (util_rfc3339_parse(expires, &ts) != 0 || ts.tv_sec <= time(NULL))) {
        js_fail(&e, "expires_at", "field 'expires_at': must be in the future");
        return web_reply_invalid(r, &e);
    }
    if (secret_token(AUTH_KEY_PREFIX, AUTH_KEY_BYTES, key, sizeof(key)) != 0)
        return web_reply_error(r, 500, NULL, "no random source");
    util_strlcpy(prefix, key, sizeof(prefix));
    secret_sha256_hex(key, strlen(key), hash);
    const auth_identity *id = gate_identity(r);
    const char *by = id && id->kind == AUTH_KIND_USER ? id->id : NULL;
    auth_store_status st =
        auth_store_key_create(auth_the_store(), name, prefix, hash, role, by, expires, &out);
    if (st != AS_OK) {
        explicit_bzero(key, sizeof(key));
        return auth_reply_store(r, st, "API key");
    }
    json_object_object_get_ex(out, "id", &v);
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("key_id", json_object_get_string(v)), LF_STR("role", role),
                       LF_STR("by", actor(r))),
            "API key created");
    /* The only time the key is shown: only its hash is kept. */
    json_object_object_add(out, "key", json_object_new_string(key));
    explicit_bzero(key, sizeof(key));
    return web_reply_json(r, 201, out);
}

int
auth_admin_keys_revoke(web_req *r)
{
    char hash[SECRET_SHA256_HEX + 1];
    const char *id = path_id(r);
    if (!id)
        return 0;
    auth_store_status st = auth_store_key_revoke(auth_the_store(), id, hash);
    if (st != AS_OK)
        return auth_reply_store(r, st, "API key");
    auth_forget_key(hash);
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("key_id", id), LF_STR("by", actor(r))), "API key revoked");
    return web_reply(r, 204, NULL, NULL, 0, NULL);
}
