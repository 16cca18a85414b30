/* upstream: the table of services behind the gateway. */
#include "upstream.h"

#include <string.h>

#include "log.h"
#include "proxy.h"
#include "util.h"

upstream upstreams[UP_COUNT] = {
    [UP_AUTOMATION] = {"svc-automation", "AUTOMATION_URL", NULL, "", true},
    [UP_INTELLIGENCE] = {"svc-intelligence", "INTELLIGENCE_URL", NULL, "", true},
    [UP_TOAST] = {"svc-toast", "TOAST_URL", NULL, "", true},
    [UP_EMBEDDING] = {"svc-embedding", "EMBEDDING_URL", NULL, "", true},
    [UP_EMBEDDING_ADMIN] = {"svc-embedding", "EMBEDDING_URL", "embedding-", "", false},
    [UP_SYNC] = {"svc-sync", "SYNC_URL", NULL, "", true},
};

const cfg_var upstream_vars[] = {
    {"AUTOMATION_URL", CFG_STR, "http://127.0.0.1:8081", 0, 0, false, "svc-automation base URL"},
    {"INTELLIGENCE_URL", CFG_STR, "http://127.0.0.1:8082", 0, 0, false,
     "svc-intelligence base URL"},
    {"TOAST_URL", CFG_STR, "http://127.0.0.1:8083", 0, 0, false, "svc-toast base URL"},
    {"EMBEDDING_URL", CFG_STR, "http://127.0.0.1:8084", 0, 0, false, "svc-embedding base URL"},
    {"SYNC_URL", CFG_STR, "http://127.0.0.1:8085", 0, 0, false, "svc-sync base URL"},
    {"UPSTREAM_TIMEOUT_MS", CFG_INT, "10000", 100, 600000, false,
     "time an upstream has to answer before the gateway replies 504"},
    {"UPSTREAM_CONNECT_TIMEOUT_MS", CFG_INT, "2000", 50, 60000, false,
     "time to open a connection to an upstream before the gateway replies 502"},
    {"CIRCUIT_FAILURES", CFG_INT, "5", 1, 1000, false,
     "failures in a row (no connection, no complete answer, timeout) that open an upstream's "
     "circuit"},
    {"CIRCUIT_OPEN_MS", CFG_INT, "10000", 10, 3600000, false,
     "how long an open circuit answers 503 at once before one trial request goes through"},
    {"OPENAPI_FILE", CFG_STR, "gateway/openapi.json", 0, 0, false,
     "the OpenAPI description served at /openapi.json (read once at start)"},
    {"DOCS_DIR", CFG_STR, "build/swagger-ui", 0, 0, false,
     "the files of the npm package swagger-ui-dist, served under /docs"},
    {"CORS_ORIGINS", CFG_STR, "", 0, 0, false,
     "origins allowed to call from a browser (comma list, or *); empty: no CORS"},
    {"RATE_LIMIT_RPS", CFG_INT, "50", 0, 1000000, false,
     "requests a second per API key, user or anonymous client IP (0: no limit)"},
    {"RATE_LIMIT_BURST", CFG_INT, "100", 1, 1000000, false,
     "requests a caller may make at once before RATE_LIMIT_RPS applies"},
    {"TRUSTED_PROXIES", CFG_STR, "", 0, 0, false,
     "addresses (a.b.c.d or a.b.c.d/n) of proxies whose X-Forwarded-For names the client"},
    {"WS_MAX_CONNECTIONS", CFG_INT, "0", 0, 100000, false,
     "proxied WebSockets open at once (0: half of HTTP_THREADS, also the most allowed)"},
    {"EDGE_THREADS", CFG_INT, "0", 0, 64, false,
     "event-loop threads serving PORT (0: one per CPU core)"},
    {"EDGE_MAX_CONNECTIONS", CFG_INT, "10000", 16, 1000000, false,
     "client connections open at once; more are refused at accept"},
    {"JWT_SECRET", CFG_STR, NULL, 0, 0, true,
     "HMAC key of the access tokens, at least 32 bytes (random per process in development)"},
    {"ADMIN_EMAIL", CFG_STR, "admin@localhost", 0, 0, false,
     "email of the first admin, created when there is no user"},
    {"ADMIN_PASSWORD", CFG_STR, NULL, 0, 0, true,
     "password of the first admin; without it one is generated and logged once"},
    {"ACCESS_TOKEN_TTL_S", CFG_INT, "900", 60, 86400, false, "lifetime of an access token"},
    {"REFRESH_TOKEN_TTL_S", CFG_INT, "1209600", 300, 31536000, false,
     "lifetime of a refresh token (each use replaces it with a new one)"},
};
const size_t upstream_nvars = sizeof(upstream_vars) / sizeof(upstream_vars[0]);

int
upstream_configure(const cfg *c)
{
    for (size_t i = 0; i < UP_COUNT; i++) {
        upstream *u = &upstreams[i];
        const char *url = cfg_str(c, u->url_var);
        if (url == NULL || (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)) {
            log_error("%s must be an http:// or https:// URL", u->url_var);
            return -1;
        }
        size_t n = util_strlcpy(u->base, url, sizeof(u->base));
        if (n >= sizeof(u->base)) {
            log_error("%s is longer than %zu bytes", u->url_var, sizeof(u->base) - 1);
            return -1;
        }
        while (n > 0 && u->base[n - 1] == '/')
            u->base[--n] = '\0';
    }
    return 0;
}

int
upstream_check(void *ud, json_object *detail)
{
    const upstream *u = ud;
    json_object *body = NULL;
    int status = 0;
    char err[128] = "";
    int rc = proxy_get_json(u, "/health/detailed", 1000, &status, &body, err, sizeof(err));
    if (rc != 0) {
        json_object_object_add(detail, "error", json_object_new_string(err));
        return -1;
    }
    json_object_object_add(detail, "http_status", json_object_new_int(status));
    if (body != NULL)
        json_object_object_add(detail, "detail", body);
    return status == 200 ? 0 : -1;
}
