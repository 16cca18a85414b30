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
