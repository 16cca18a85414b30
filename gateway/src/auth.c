/* auth: the secret, the first admin, who is calling (auth_identify) and the
 * access tokens; see auth.h. The routes are auth_http.c and auth_admin.c,
 * the SQL auth_store*.c. */
#include "auth.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "auth_cache.h"
#include "auth_internal.h"
#include "jwt.h"
#include "log.h"
#include "secret.h"
#include "util.h"

#define SECRET_MIN      32   /* bytes of JWT_SECRET */
#define SECRET_MAX      1024 /* longer is surely a mistake (a file of something else) */
#define CACHE_SLOTS     4096
#define B64URL_ALPHABET "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"

static struct {
    auth_store *store;
    auth_cache *keys;  /* by SHA-256 hex of the key */
    auth_cache *users; /* by user id */
    jwt_key *key;      /* JWT_SECRET, set up once */
    long access_ttl, refresh_ttl;
    char dummy_hash[SECRET_HASH_MAX];
    const cfg *cfg;
} g;

static const char *const role_names[] = {[ROLE_VIEWER] = "viewer",
                                         [ROLE_STAFF] = "staff",
                                         [ROLE_MANAGER] = "manager",
                                         [ROLE_ADMIN] = "admin"};

const char *
auth_role_name(auth_role r)
{
    return r > ROLE_NONE && r <= ROLE_ADMIN ? role_names[r] : NULL;
}

auth_role
auth_role_parse(const char *name)
{
    for (int r = ROLE_VIEWER; name && r <= ROLE_ADMIN; r++)
        if (strcmp(name, role_names[r]) == 0)
            return (auth_role)r;
    return ROLE_NONE;
}

bool
auth_email_valid(const char *email)
{
    size_t n = strlen(email);
    const char *at = strchr(email, '@');
    if (n < 3 || n > AUTH_EMAIL_MAX || !at || at == email || at[1] == '\0' || strchr(at + 1, '@'))
        return false;
    for (const unsigned char *p = (const unsigned char *)email; *p; p++)
        if (*p <= ' ' || *p == 0x7f)
            return false;
    return true;
}

/* JWT_SECRET, or a random one in development, into g.key. */
static int
load_secret(const cfg *c)
{
    unsigned char random[32];
    const char *s = cfg_str(c, "JWT_SECRET");
    const char *env = cfg_str(c, "BRAIN_ENV");
    if (s && (strlen(s) < SECRET_MIN || strlen(s) > SECRET_MAX)) {
        log_error("JWT_SECRET must be %d to %d bytes long", SECRET_MIN, SECRET_MAX);
        return -1;
    }
    if (s) {
        g.key = jwt_key_new((const unsigned char *)s, strlen(s));
        return g.key ? 0 : -1;
    }
    if (!env || strcmp(env, "development") != 0) {
        log_error("JWT_SECRET (at least %d bytes) is required unless BRAIN_ENV=development",
                  SECRET_MIN);
        return -1;
    }
    if (secret_random(random, sizeof(random)) != 0)
        return -1;
    g.key = jwt_key_new(random, sizeof(random));
    explicit_bzero(random, sizeof(random));
    log_warn("JWT_SECRET is not set: tokens are signed with a random key of this process and "
             "stop working when it exits (BRAIN_ENV=development only)");
    return g.key ? 0 : -1;
}

int
auth_init(app *a)
{
    char pw[48];
    const cfg *c = app_cfg(a);
    g.cfg = c;
    if (load_secret(c) != 0)
        return -1;
    g.access_ttl = cfg_int(c, "ACCESS_TOKEN_TTL_S");
    g.refresh_ttl = cfg_int(c, "REFRESH_TOKEN_TTL_S");
    const char *email = cfg_str(c, "ADMIN_EMAIL"), *admin_pw = cfg_str(c, "ADMIN_PASSWORD");
    if (!email || !auth_email_valid(email)) {
        log_error("ADMIN_EMAIL is not an email address");
        return -1;
    }
    if (admin_pw
        && (strlen(admin_pw) < AUTH_PASSWORD_MIN || strlen(admin_pw) > AUTH_PASSWORD_MAX)) {
        log_error("ADMIN_PASSWORD must be %d to %d bytes long", AUTH_PASSWORD_MIN,
                  AUTH_PASSWORD_MAX);
        return -1;
    }
    g.store = auth_store_new(app_db(a));
    g.keys = auth_cache_new(CACHE_SLOTS, AUTH_CACHE_TTL_MS);
    g.users = auth_cache_new(CACHE_SLOTS, AUTH_CACHE_TTL_MS);
    if (!g.store || !g.keys || !g.users || secret_token(NULL, 24, pw, sizeof(pw)) != 0
        || secret_password_hash(pw, 0, g.dummy_hash, sizeof(g.dummy_hash)) != 0) {
        log_error("authentication: out of memory or no random source");
        return -1;
    }
    return 0;
}

int
auth_start(app *a)
{
    (void)a;
    char generated[48] = "", hash[SECRET_HASH_MAX];
    bool any = true, created = false;
    const char *email = cfg_str(g.cfg, "ADMIN_EMAIL"), *pw = cfg_str(g.cfg, "ADMIN_PASSWORD");
    int rc = -1;

    if (auth_store_has_users(g.store, &any) != AS_OK)
        goto out;
    if (any)
        return 0;
    if (!pw) {
        if (secret_token(NULL, 18, generated, sizeof(generated)) != 0)
            goto out;
        pw = generated;
    }
    if (secret_password_hash(pw, 0, hash, sizeof(hash)) != 0
        || auth_store_first_admin(g.store, email, hash, &created) != AS_OK)
        goto out;
    rc = 0;
    if (!created)
        goto out; /* another replica was first */
    if (generated[0])
        /* The one place a password is written: the operator has no other way
         * to learn it. It is in the message, which is never redacted. */
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("email", email)),
                "no ADMIN_PASSWORD: the first admin %s was created with the password %s "
                "(shown once; change it)",
                email, generated);
    else
        log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("email", email)), "the first admin was created");
out:
    explicit_bzero(generated, sizeof(generated));
    if (rc != 0)
        log_error("authentication: the first admin could not be created");
    return rc;
}

void
auth_cleanup(void)
{
    auth_store_free(g.store);
    auth_cache_free(g.keys);
    auth_cache_free(g.users);
    jwt_key_free(g.key);
    memset(&g, 0, sizeof(g));
}

auth_store *
auth_the_store(void)
{
    return g.store;
}

const char *
auth_dummy_hash(void)
{
    return g.dummy_hash;
}

long
auth_refresh_ttl(void)
{
    return g.refresh_ttl;
}

void
auth_forget_user(const char *id)
{
    auth_cache_drop(g.users, id);
}

void
auth_forget_key(const char *key_hash)
{
    auth_cache_drop(g.keys, key_hash);
}

/* ---- who is calling ---- */

static auth_result
reject(const char **reason, const char *why)
{
    *reason = why;
    return AUTH_REJECTED;
}

static void
set_identity(auth_identity *id, auth_kind kind, const char *who, auth_role role)
{
    id->kind = kind;
    id->role = role;
    util_strlcpy(id->id, who, sizeof(id->id));
    snprintf(id->rate_key, sizeof(id->rate_key), "%s:%s", kind == AUTH_KIND_USER ? "user" : "key",
             who);
}

bool
auth_load_key(const char *hash, auth_cache_val *v)
{
    uint64_t gen = auth_cache_gen(g.keys);
    auth_key_row row;
    auth_store_status st = auth_store_key_lookup(g.store, hash, &row);
    if (st != AS_OK && st != AS_NOT_FOUND)
        return false;
    memset(v, 0, sizeof(*v));
    if (st == AS_NOT_FOUND) {
        v->reason = "unknown_key";
    } else {
        util_strlcpy(v->id, row.id, sizeof(v->id));
        v->role = row.role;
        v->expires_at = row.expires_at;
        v->reason = row.revoked ? "revoked_key" : row.expired ? "expired_key" : NULL;
    }
    auth_cache_put(g.keys, hash, v, gen);
    return true;
}

bool
auth_load_user(const char *id, auth_cache_val *v)
{
    uint64_t gen = auth_cache_gen(g.users);
    bool disabled = false;
    auth_role role = ROLE_NONE;
    auth_store_status st = auth_store_user_status(g.store, id, &role, &disabled);
    if (st != AS_OK && st != AS_NOT_FOUND)
        return false;
    memset(v, 0, sizeof(*v));
    util_strlcpy(v->id, id, sizeof(v->id));
    v->role = role;
    v->reason = st == AS_NOT_FOUND || disabled ? "disabled_user" : NULL;
    auth_cache_put(g.users, id, v, gen);
    return true;
}

/* The cached entry of key in c, or on a thread that may wait a fresh one
 * from the database: 1 with *v, 0 when the database cannot be asked, -1 on a
 * no-wait thread that would have to ask it. */
static int
cached(auth_cache *c, bool user, const char *key, auth_cache_val *v)
{
    bool stale = false, nowait = auth_nowait_here();
    if (auth_cache_find(c, key, v, &stale) && (!stale || nowait)) {
        if (stale)
            auth_nowait_refresh(user, key);
        return 1;
    }
    if (nowait) {
        auth_nowait_refresh(user, key); /* the loop is told when it is in */
        return -1;
    }
    return (user ? auth_load_user(key, v) : auth_load_key(key, v)) ? 1 : 0;
}

static auth_result
identify_key(const char *key, auth_identity *id, const char **reason)
{
    char hash[SECRET_SHA256_HEX + 1];
    auth_cache_val v = {0};

    if (strlen(key) != AUTH_KEY_LEN || strspn(key + 4, B64URL_ALPHABET) != AUTH_KEY_LEN - 4)
        return reject(reason, "malformed");
    secret_sha256_hex(key, AUTH_KEY_LEN, hash);
    int got = cached(g.keys, false, hash, &v);
    if (got < 0)
        return AUTH_WOULD_WAIT;
    if (got == 0)
        return AUTH_UNAVAILABLE;
    if (v.reason)
        return reject(reason, v.reason);
    if (v.expires_at != 0 && (int64_t)time(NULL) >= v.expires_at)
        return reject(reason, "expired_key");
    set_identity(id, AUTH_KIND_API_KEY, v.id, v.role);
    return AUTH_OK;
}

/* A string claim, NULL when missing or not a string. */
static const char *
claim(json_object *claims, const char *name)
{
    json_object *v = NULL;
    if (!json_object_object_get_ex(claims, name, &v) || !json_object_is_type(v, json_type_string))
        return NULL;
    return json_object_get_string(v);
}

/* Access tokens this thread verified lately. A client sends the same token
 * with every request for its lifetime, and its signature and claims cannot
 * change: a token equal byte for byte (compared in constant time) to one
 * verified before needs only its times checked again. */
#define AUTH_JWT_MEMOS    16
#define AUTH_JWT_MEMO_LEN 512

typedef struct jwt_memo {
    size_t len; /* 0: empty */
    char token[AUTH_JWT_MEMO_LEN];
    double exp, nbf;
    char sub[40];
    auth_role role;
} jwt_memo;

static __thread jwt_memo jwt_memos[AUTH_JWT_MEMOS];

static jwt_memo *
jwt_memo_slot(const char *token, size_t len)
{
    /* FNV-1a over the end of the signature */
    uint32_t h = 2166136261u;
    for (size_t i = len > 16 ? len - 16 : 0; i < len; i++)
        h = (h ^ (unsigned char)token[i]) * 16777619u;
    return &jwt_memos[h % AUTH_JWT_MEMOS];
}

/* The verdict on a token's times, as jwt_verify_with gives it. */
static jwt_status
jwt_times(double exp, double nbf, int64_t now_s)
{
    double now = (double)now_s, leeway = AUTH_LEEWAY_S;
    if (!(now < exp + leeway))
        return JWT_EXPIRED;
    if (now + leeway < nbf)
        return JWT_NOT_YET_VALID;
    return JWT_OK;
}

static double
number_of(json_object *claims, const char *name)
{
    json_object *v = NULL;
    return json_object_object_get_ex(claims, name, &v) ? json_object_get_double(v) : 0;
}

/* Verify token into sub and role: the memo first, else the signature and
 * claims (then remembered). JWT_OK, another jwt_status, or JWT_MALFORMED
 * for claims the gateway cannot use. */
static jwt_status
verify_jwt(const char *token, char sub[40], auth_role *role)
{
    int64_t now = (int64_t)time(NULL);
    size_t len = strlen(token);
    jwt_memo *m = len < AUTH_JWT_MEMO_LEN ? jwt_memo_slot(token, len) : NULL;
    if (m != NULL && m->len == len && CRYPTO_memcmp(m->token, token, len) == 0) {
        jwt_status st = jwt_times(m->exp, m->nbf, now);
        if (st == JWT_OK) {
            memcpy(sub, m->sub, 40);
            *role = m->role;
        }
        return st;
    }
    json_object *claims = NULL;
    jwt_status st = jwt_verify_with(g.key, token, now, AUTH_LEEWAY_S, &claims);
    if (st != JWT_OK)
        return st;
    const char *s = claim(claims, "sub"), *jti = claim(claims, "jti");
    *role = auth_role_parse(claim(claims, "role"));
    bool ok = s && util_uuid_valid(s) && jti && jti[0] && *role != ROLE_NONE;
    if (ok) {
        util_strlcpy(sub, s, 40);
        if (m != NULL) {
            m->len = len;
            memcpy(m->token, token, len);
            m->exp = number_of(claims, "exp");
            m->nbf = number_of(claims, "nbf");
            memcpy(m->sub, sub, 40);
            m->role = *role;
        }
    }
    json_object_put(claims);
    return ok ? JWT_OK : JWT_MALFORMED;
}

static auth_result
identify_jwt(const char *token, auth_identity *id, const char **reason)
{
    auth_cache_val v = {0};
    char sub[40];
    auth_role role = ROLE_NONE;
    jwt_status st = verify_jwt(token, sub, &role);
    if (st == JWT_MALFORMED)
        return reject(reason, "malformed");
    if (st != JWT_OK)
        return reject(reason, jwt_status_name(st));
    /* The user's current state decides: a disabled or deleted user's tokens
     * stop working within the cache's lifetime, and a role change applies
     * without a new token. With the database away, the signed token is
     * trusted as it is, as any JWT would be. */
    int got = cached(g.users, true, sub, &v);
    if (got < 0)
        return AUTH_WOULD_WAIT;
    if (got == 0) {
        memset(&v, 0, sizeof(v));
        v.role = role;
    }
    if (v.reason)
        return reject(reason, v.reason);
    set_identity(id, AUTH_KIND_USER, sub, v.role);
    return AUTH_OK;
}

auth_result
auth_identify(web_req *r, bool query_token, auth_identity *id, const char **reason)
{
    char qbuf[JWT_MAX_LEN + 1];
    const char *authz = web_header(r, "Authorization"), *xkey = web_header(r, "X-API-Key");
    const char *cred = NULL;

    memset(id, 0, sizeof(*id));
    *reason = NULL;
    if (authz && xkey)
        return reject(reason, "malformed"); /* two credentials: which one? */
    if (authz) {
        if (strncasecmp(authz, "Bearer ", 7) != 0)
            return reject(reason, "malformed");
        cred = authz + 7;
        cred += strspn(cred, " ");
    } else if (xkey) {
        if (strncmp(xkey, AUTH_KEY_PREFIX, 4) != 0)
            return reject(reason, "malformed");
        cred = xkey;
    } else if (query_token) {
        cred = web_query(r, "access_token", qbuf, sizeof(qbuf));
        /* Keys live long and URLs end up in logs: only JWTs go there. */
        if (cred && strncmp(cred, AUTH_KEY_PREFIX, 4) == 0)
            return reject(reason, "malformed");
        if (!cred && strstr(web_query_string(r), "access_token="))
            return reject(reason, "malformed"); /* present but too long */
    }
    if (!cred)
        return AUTH_ANONYMOUS;
    if (!cred[0])
        return reject(reason, "malformed");
    if (strncmp(cred, AUTH_KEY_PREFIX, 4) == 0)
        return identify_key(cred, id, reason);
    return identify_jwt(cred, id, reason);
}

/* ---- tokens ---- */

int
auth_new_refresh(char *token, size_t cap, char *hash)
{
    if (secret_token("brr_", AUTH_REFRESH_BYTES, token, cap) != 0)
        return -1;
    secret_sha256_hex(token, strlen(token), hash);
    return 0;
}

/* A signed access token for user id with role, valid access_ttl seconds. */
static int
sign_access(const char *id, auth_role role, char *out, size_t cap)
{
    char jti[UTIL_UUID_LEN + 1];
    int64_t now = (int64_t)time(NULL);
    json_object *c = json_object_new_object();
    if (!c || util_uuid_v4(jti) != 0) {
        json_object_put(c);
        return -1;
    }
    json_object_object_add(c, "sub", json_object_new_string(id));
    json_object_object_add(c, "role", json_object_new_string(auth_role_name(role)));
    json_object_object_add(c, "iat", json_object_new_int64(now));
    json_object_object_add(c, "nbf", json_object_new_int64(now));
    json_object_object_add(c, "exp", json_object_new_int64(now + g.access_ttl));
    json_object_object_add(c, "jti", json_object_new_string(jti));
    size_t n = jwt_sign_with(g.key, c, out, cap);
    json_object_put(c);
    return n > 0 ? 0 : -1;
}

int
auth_reply_tokens(web_req *r, json_object *user, const char *refresh_token)
{
    char access[1024];
    json_object *v = NULL, *role = NULL;
    json_object_object_get_ex(user, "id", &v);
    json_object_object_get_ex(user, "role", &role);
    if (sign_access(json_object_get_string(v), auth_role_parse(json_object_get_string(role)),
                    access, sizeof(access))
        != 0) {
        json_object_put(user);
        return web_reply_error(r, 500, NULL, "the access token could not be made");
    }
    json_object *o = json_object_new_object();
    json_object_object_add(o, "access_token", json_object_new_string(access));
    json_object_object_add(o, "refresh_token", json_object_new_string(refresh_token));
    json_object_object_add(o, "token_type", json_object_new_string("Bearer"));
    json_object_object_add(o, "expires_in", json_object_new_int64(g.access_ttl));
    json_object_object_add(o, "user", user);
    explicit_bzero(access, sizeof(access));
    return web_reply_json(r, 200, o);
}

int
auth_reply_store(web_req *r, auth_store_status st, const char *what)
{
    switch (st) {
    case AS_NOT_FOUND:
        return web_reply_error(r, 404, NULL, "%s not found", what);
    case AS_DUPLICATE:
        return web_reply_error(r, 409, NULL, "a user with this email already exists");
    case AS_LAST_ADMIN:
        return web_reply_error(r, 409, NULL,
                               "this change would leave no enabled admin: promote or enable "
                               "another admin first");
    case AS_UNAVAILABLE:
        return web_reply_error(r, 503, NULL, "the user database is unavailable");
    default:
        return web_reply_error(r, 500, NULL, "the user database failed");
    }
}
