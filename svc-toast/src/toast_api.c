/* toast_api: the Toast REST API over libcurl; see toast_api.h.
 *
 * One easy handle per call (calls come from many threads). The login cache
 * is a small list under a mutex; the token is copied out before a call, so
 * no lock is held while talking to Toast. */
#include "toast_api.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>

#include "creds.h"
#include "log.h"
#include "util.h"

#define MAX_BODY        (64L * 1024 * 1024) /* a 5,000-item menu is a few MiB */
#define TOKEN_MAX       8192
#define EARLY_MS        60000 /* a token is renewed a minute before it expires */
#define MENUS_GAP_MS    1000  /* GET /menus/v2/menus at most once a second per restaurant */
#define MAX_SESSIONS    4096
#define MAX_GATES       4096
#define DEFAULT_WAIT_MS 60000

typedef struct session {
    char integration_id[40], client_id[40], api_client_id[256];
    char *token;
    int64_t created_ms, expires_ms;
} session;

typedef struct gate {
    char guid[40];
    int64_t next_ms; /* the earliest time of the next menus call */
} gate;

struct toast_api {
    char *base;
    long timeout_ms, max_wait_ms;
    pthread_mutex_t mu;
    session *sessions;
    size_t nsessions, capsessions;
    gate *gates;
    size_t ngates;
    long logins;
};

const char *
toast_api_status_name(toast_api_status st)
{
    static const char *const names[] = {"ok",       "auth",        "rate_limited",
                                        "upstream", "unreachable", "not_found"};
    return (unsigned)st < sizeof(names) / sizeof(names[0]) ? names[st] : "error";
}

toast_api *
toast_api_new(const char *base_url, long timeout_ms)
{
    toast_api *a = calloc(1, sizeof(*a));
    if (!a)
        return NULL;
    size_t n = strlen(base_url);
    while (n > 0 && base_url[n - 1] == '/')
        n--;
    a->base = strndup(base_url, n);
    a->gates = calloc(MAX_GATES, sizeof(*a->gates));
    if (!a->base || !a->gates) {
        free(a->base);
        free(a->gates);
        free(a);
        return NULL;
    }
    a->timeout_ms = timeout_ms;
    a->max_wait_ms = DEFAULT_WAIT_MS;
    pthread_mutex_init(&a->mu, NULL);
    return a;
}

static void
session_clear(session *s)
{
    if (s->token) {
        creds_wipe(s->token, strlen(s->token));
        free(s->token);
    }
    memset(s, 0, sizeof(*s));
}

void
toast_api_free(toast_api *a)
{
    if (!a)
        return;
    for (size_t i = 0; i < a->nsessions; i++)
        session_clear(&a->sessions[i]);
    free(a->sessions);
    free(a->gates);
    free(a->base);
    pthread_mutex_destroy(&a->mu);
    free(a);
}

void
toast_api_set_max_wait(toast_api *a, long max_wait_ms)
{
    a->max_wait_ms = max_wait_ms;
}

/* ---- one HTTP exchange ---- */

typedef struct exchange {
    char *body;
    size_t len;
    bool too_big;
    long retry_after_s; /* -1: none */
} exchange;

static size_t
on_body(char *data, size_t size, size_t n, void *ud)
{
    exchange *x = ud;
    size_t add = size * n;
    if (x->len + add > (size_t)MAX_BODY) {
        x->too_big = true;
        return 0;
    }
    char *b = realloc(x->body, x->len + add + 1);
    if (!b)
        return 0;
    memcpy(b + x->len, data, add);
    x->body = b;
    x->len += add;
    b[x->len] = '\0';
    return add;
}

static size_t
on_header(char *data, size_t size, size_t n, void *ud)
{
    exchange *x = ud;
    size_t len = size * n;
    static const char name[] = "retry-after:";
    if (len > sizeof(name) && strncasecmp(data, name, sizeof(name) - 1) == 0) {
        char v[32];
        size_t k = 0;
        for (size_t i = sizeof(name) - 1; i < len && k < sizeof(v) - 1; i++)
            if (data[i] >= '0' && data[i] <= '9')
                v[k++] = data[i];
            else if (data[i] != ' ' && data[i] != '\r' && data[i] != '\n')
                break; /* an HTTP date: taken as one second */
        v[k] = '\0';
        long s = 1;
        if (k > 0 && util_parse_long(v, 0, 86400, &s) != 0)
            s = 1;
        x->retry_after_s = s;
    }
    return len;
}

/* One request. *status is the HTTP status (0 when no answer came). The body
 * is x->body (the caller frees it). */
static toast_api_status
exchange_run(toast_api *a, const char *method, const char *path, const char *guid,
             const char *token, const char *json, exchange *x, long *status, char *err,
             size_t errlen)
{
    char url[1024], auth[TOKEN_MAX + 32], rest[96];
    struct curl_slist *h = NULL;
    toast_api_status rc = TAPI_UNREACHABLE;
    *x = (exchange){.retry_after_s = -1};
    *status = 0;
    CURL *c = curl_easy_init();
    if (!c) {
        snprintf(err, errlen, "libcurl could not start a request");
        return TAPI_UNREACHABLE;
    }
    snprintf(url, sizeof(url), "%s%s", a->base, path);
    h = curl_slist_append(h, "Accept: application/json");
    if (json)
        h = curl_slist_append(h, "Content-Type: application/json");
    if (token) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        h = curl_slist_append(h, auth);
    }
    if (guid) {
        snprintf(rest, sizeof(rest), "Toast-Restaurant-External-ID: %s", guid);
        h = curl_slist_append(h, rest);
    }
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
    if (json)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, json);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, a->timeout_ms);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, a->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, x);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, x);
    CURLcode cc = curl_easy_perform(c);
    if (cc != CURLE_OK) {
        snprintf(err, errlen, "%s %s: %s", method, path,
                 x->too_big ? "answer larger than 64 MiB" : curl_easy_strerror(cc));
        rc = x->too_big ? TAPI_UPSTREAM : TAPI_UNREACHABLE;
        goto out;
    }
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    rc = TAPI_OK;
out:
    if (token)
        creds_wipe(auth, sizeof(auth));
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    return rc;
}

/* The answer's JSON, or NULL. Toast's documents are deep and large, so this
 * is json-c's own parser with a depth bound, not js_parse (sized for
 * request bodies). */
static json_object *
parse_answer(const exchange *x)
{
    if (!x->body)
        return NULL;
    json_tokener *tok = json_tokener_new_ex(64);
    if (!tok)
        return NULL;
    json_object *o = json_tokener_parse_ex(tok, x->body, (int)x->len);
    if (json_tokener_get_error(tok) != json_tokener_success) {
        json_object_put(o);
        o = NULL;
    }
    json_tokener_free(tok);
    return o;
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) != 0)
        continue;
}

/* A request that waits out 429 answers (Retry-After) within max_wait_ms,
 * and maps the final status. *out (may be NULL) gets the JSON of a 2xx. */
static toast_api_status
request(toast_api *a, const char *method, const char *path, const char *guid, const char *token,
        const char *json, json_object **out, long *status, char *err, size_t errlen)
{
    long waited = 0;
    for (;;) {
        exchange x;
        toast_api_status rc =
            exchange_run(a, method, path, guid, token, json, &x, status, err, errlen);
        if (rc == TAPI_OK && *status == 429) {
            long wait = (x.retry_after_s < 0 ? 1 : x.retry_after_s) * 1000L;
            free(x.body);
            if (waited + wait > a->max_wait_ms) {
                snprintf(err, errlen, "%s %s: rate limited by Toast (429, Retry-After %ld s)",
                         method, path, wait / 1000);
                return TAPI_RATE;
            }
            log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("path", path), LF_INT("retry_after_ms", wait)),
                    "Toast asked to slow down (429); waiting");
            sleep_ms(wait);
            waited += wait;
            continue;
        }
        if (rc == TAPI_OK) {
            if (*status >= 200 && *status < 300) {
                if (out && !(*out = parse_answer(&x))) {
                    snprintf(err, errlen, "%s %s: the answer is not JSON", method, path);
                    rc = TAPI_UPSTREAM;
                }
            } else if (*status == 401 || *status == 403) {
                snprintf(err, errlen, "%s %s: Toast refused the credentials (%ld)", method, path,
                         *status);
                rc = TAPI_AUTH;
            } else if (*status == 404) {
                snprintf(err, errlen, "%s %s: not found at Toast (404)", method, path);
                rc = TAPI_NOT_FOUND;
            } else {
                snprintf(err, errlen, "%s %s: Toast answered %ld", method, path, *status);
                rc = TAPI_UPSTREAM;
            }
        }
        free(x.body);
        return rc;
    }
}

/* ---- logins and the session cache ---- */

static session *
find_session(toast_api *a, const char *integration_id)
{
    for (size_t i = 0; i < a->nsessions; i++)
        if (strcmp(a->sessions[i].integration_id, integration_id) == 0)
            return &a->sessions[i];
    return NULL;
}

static void
drop_session(toast_api *a, session *s)
{
    session_clear(s);
    *s = a->sessions[--a->nsessions];
    memset(&a->sessions[a->nsessions], 0, sizeof(session));
}

/* A copy of ti's cached token when still good for a minute (the caller frees
 * and wipes it), else NULL. */
static char *
cached_token(toast_api *a, const toast_integration *ti)
{
    char *tok = NULL;
    pthread_mutex_lock(&a->mu);
    session *s = find_session(a, ti->id);
    if (s && strcmp(s->api_client_id, ti->api_client_id) != 0)
        drop_session(a, s); /* the credentials changed */
    else if (s && s->expires_ms - EARLY_MS > util_now_ms())
        tok = strdup(s->token);
    pthread_mutex_unlock(&a->mu);
    return tok;
}

static void
store_session(toast_api *a, const toast_integration *ti, const char *token, long expires_in_s)
{
    pthread_mutex_lock(&a->mu);
    session *s = find_session(a, ti->id);
    if (!s && a->nsessions == a->capsessions && a->capsessions < MAX_SESSIONS) {
        size_t cap = a->capsessions ? a->capsessions * 2 : 16;
        session *grown = realloc(a->sessions, cap * sizeof(*grown));
        if (grown) {
            a->sessions = grown;
            a->capsessions = cap;
        }
    }
    if (!s && a->nsessions < a->capsessions) {
        s = &a->sessions[a->nsessions++];
        memset(s, 0, sizeof(*s)); /* realloc leaves the new slots as they were */
    }
    if (s) {
        session_clear(s);
        util_strlcpy(s->integration_id, ti->id, sizeof(s->integration_id));
        util_strlcpy(s->client_id, ti->client_id, sizeof(s->client_id));
        util_strlcpy(s->api_client_id, ti->api_client_id, sizeof(s->api_client_id));
        s->token = strdup(token);
        s->created_ms = util_now_ms();
        s->expires_ms = s->created_ms + expires_in_s * 1000;
        if (!s->token)
            drop_session(a, s);
    }
    a->logins++;
    pthread_mutex_unlock(&a->mu);
}

/* Log in with the machine-client credentials; a new token on success. */
static toast_api_status
login(toast_api *a, const toast_integration *ti, char **token, char *err, size_t errlen)
{
    json_object *req = json_object_new_object(), *ans = NULL, *t = NULL, *v = NULL;
    long status = 0;
    json_object_object_add(req, "clientId", json_object_new_string(ti->api_client_id));
    json_object_object_add(req, "clientSecret", json_object_new_string(ti->api_client_secret));
    json_object_object_add(req, "userAccessType", json_object_new_string("TOAST_MACHINE_CLIENT"));
    size_t len = 0;
    const char *text = js_text(req, &len);
    toast_api_status rc = request(a, "POST", "/authentication/v1/authentication/login", NULL, NULL,
                                  text, &ans, &status, err, errlen);
    creds_wipe((char *)text, len); /* the request held the secret */
    json_object_put(req);
    if (rc != TAPI_OK)
        goto out;
    long expires = 0;
    if (!json_object_object_get_ex(ans, "token", &t)
        || !json_object_object_get_ex(t, "accessToken", &v)
        || !json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0
        || json_object_get_string_len(v) >= TOKEN_MAX) {
        snprintf(err, errlen, "login: the answer holds no token.accessToken");
        rc = TAPI_UPSTREAM;
        goto out;
    }
    *token = strdup(json_object_get_string(v));
    json_object *e = NULL;
    if (json_object_object_get_ex(t, "expiresIn", &e))
        expires = (long)json_object_get_int64(e);
    if (expires <= 0)
        expires = 3600;
    if (!*token) {
        rc = TAPI_UPSTREAM;
        goto out;
    }
    store_session(a, ti, *token, expires);
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("integration_id", ti->id), LF_INT("expires_in_s", expires)),
            "logged in to Toast");
out:
    json_object_put(ans);
    return rc;
}

/* A token for ti: cached or from a fresh login. */
static toast_api_status
token_for(toast_api *a, const toast_integration *ti, char **token, bool *reused, char *err,
          size_t errlen)
{
    *token = cached_token(a, ti);
    *reused = *token != NULL;
    if (*token)
        return TAPI_OK;
    if (!ti->has_api_client_secret) {
        snprintf(err, errlen, "the integration has no API client secret");
        return TAPI_AUTH;
    }
    return login(a, ti, token, err, errlen);
}

static void
free_token(char *token)
{
    if (token) {
        creds_wipe(token, strlen(token));
        free(token);
    }
}

void
toast_api_forget(toast_api *a, const char *integration_id)
{
    pthread_mutex_lock(&a->mu);
    session *s = find_session(a, integration_id);
    if (s)
        drop_session(a, s);
    pthread_mutex_unlock(&a->mu);
}

/* An authorised GET: a 401 drops the cached token and logs in once more. */
static toast_api_status
authed_get(toast_api *a, const toast_integration *ti, const char *path, json_object **out,
           char *err, size_t errlen)
{
    char *token = NULL;
    bool reused = false;
    long status = 0;
    toast_api_status rc = token_for(a, ti, &token, &reused, err, errlen);
    if (rc != TAPI_OK)
        return rc;
    rc = request(a, "GET", path, ti->toast_guid, token, NULL, out, &status, err, errlen);
    if (rc == TAPI_AUTH && status == 401) {
        log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("integration_id", ti->id)),
                "Toast refused the cached login (401); logging in again");
        toast_api_forget(a, ti->id);
        free_token(token);
        token = NULL;
        rc = login(a, ti, &token, err, errlen);
        if (rc == TAPI_OK)
            rc = request(a, "GET", path, ti->toast_guid, token, NULL, out, &status, err, errlen);
    }
    free_token(token);
    return rc;
}

toast_api_status
toast_api_session(toast_api *a, const toast_integration *ti, bool *reused, char *err, size_t errlen)
{
    char *token = NULL;
    toast_api_status rc = token_for(a, ti, &token, reused, err, errlen);
    free_token(token);
    return rc;
}

toast_api_status
toast_api_restaurant(toast_api *a, const toast_integration *ti, json_object **doc, char *err,
                     size_t errlen)
{
    char path[128];
    snprintf(path, sizeof(path), "/restaurants/v1/restaurants/%s", ti->toast_guid);
    return authed_get(a, ti, path, doc, err, errlen);
}

toast_api_status
toast_api_metadata(toast_api *a, const toast_integration *ti, char *last_updated, size_t cap,
                   char *err, size_t errlen)
{
    json_object *doc = NULL, *v = NULL;
    toast_api_status rc = authed_get(a, ti, "/menus/v2/metadata", &doc, err, errlen);
    if (rc != TAPI_OK)
        return rc;
    if (!json_object_object_get_ex(doc, "lastUpdated", &v)
        || !json_object_is_type(v, json_type_string)) {
        snprintf(err, errlen, "GET /menus/v2/metadata: no lastUpdated in the answer");
        rc = TAPI_UPSTREAM;
    } else {
        util_strlcpy(last_updated, json_object_get_string(v), cap);
    }
    json_object_put(doc);
    return rc;
}

/* Wait for the restaurant's turn: menus are fetched at most once per
 * MENUS_GAP_MS per restaurant, so callers queue up behind each other. */
static void
menus_turn(toast_api *a, const char *guid)
{
    int64_t now = util_now_ms(), at = now;
    pthread_mutex_lock(&a->mu);
    gate *g = NULL;
    for (size_t i = 0; i < a->ngates && !g; i++)
        if (strcmp(a->gates[i].guid, guid) == 0)
            g = &a->gates[i];
    if (!g && a->ngates < MAX_GATES) {
        g = &a->gates[a->ngates++];
        util_strlcpy(g->guid, guid, sizeof(g->guid));
        g->next_ms = now;
    }
    if (g) {
        at = g->next_ms > now ? g->next_ms : now;
        g->next_ms = at + MENUS_GAP_MS;
    }
    pthread_mutex_unlock(&a->mu);
    if (at > now)
        sleep_ms((long)(at - now));
}

toast_api_status
toast_api_menus(toast_api *a, const toast_integration *ti, json_object **doc, char *err,
                size_t errlen)
{
    menus_turn(a, ti->toast_guid);
    return authed_get(a, ti, "/menus/v2/menus", doc, err, errlen);
}

static void
ms_rfc3339(int64_t ms, char out[UTIL_RFC3339_LEN + 1])
{
    struct timespec ts = {(time_t)(ms / 1000), (long)(ms % 1000) * 1000000L};
    util_rfc3339(&ts, out);
}

json_object *
toast_api_sessions(toast_api *a, const char *client_id)
{
    json_object *arr = json_object_new_array();
    int64_t now = util_now_ms();
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nsessions; i++) {
        const session *s = &a->sessions[i];
        char created[UTIL_RFC3339_LEN + 1], expires[UTIL_RFC3339_LEN + 1];
        if ((client_id && strcmp(s->client_id, client_id) != 0) || s->expires_ms <= now)
            continue;
        ms_rfc3339(s->created_ms, created);
        ms_rfc3339(s->expires_ms, expires);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "client_id", json_object_new_string(s->client_id));
        json_object_object_add(o, "integration_id", json_object_new_string(s->integration_id));
        json_object_object_add(o, "created_at", json_object_new_string(created));
        json_object_object_add(o, "expires_at", json_object_new_string(expires));
        json_object_array_add(arr, o);
    }
    pthread_mutex_unlock(&a->mu);
    return arr;
}

int
toast_api_terminate(toast_api *a, const char *client_id)
{
    int n = 0;
    pthread_mutex_lock(&a->mu);
    for (size_t i = 0; i < a->nsessions;) {
        if (strcmp(a->sessions[i].client_id, client_id) == 0) {
            drop_session(a, &a->sessions[i]);
            n++;
        } else {
            i++;
        }
    }
    pthread_mutex_unlock(&a->mu);
    return n;
}

long
toast_api_logins(toast_api *a)
{
    pthread_mutex_lock(&a->mu);
    long n = a->logins;
    pthread_mutex_unlock(&a->mu);
    return n;
}
