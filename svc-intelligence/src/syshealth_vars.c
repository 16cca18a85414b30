/* syshealth_vars: the configuration of GET /system/health (README,
 * "System health"): where each service answers (the gateway's defaults;
 * empty: not configured) and how long the report may wait. */
#include <stdio.h>

#include "syshealth.h"
#include "util.h"

const cfg_var syshealth_vars[] = {
    {"GATEWAY_URL", CFG_STR, "http://127.0.0.1:8080", 0, 0, false,
     "the gateway, for system health"},
    {"AUTOMATION_URL", CFG_STR, "http://127.0.0.1:8081", 0, 0, false, "svc-automation"},
    {"TOAST_URL", CFG_STR, "http://127.0.0.1:8083", 0, 0, false, "svc-toast"},
    {"EMBEDDING_URL", CFG_STR, "http://127.0.0.1:8084", 0, 0, false, "svc-embedding"},
    {"SYNC_URL", CFG_STR, "http://127.0.0.1:8085", 0, 0, false, "svc-sync"},
    {"SYSTEM_HEALTH_TIMEOUT_MS", CFG_INT, "1000", 100, 10000, false,
     "longest wait of GET /system/health for any part"},
};
const size_t syshealth_nvars = sizeof(syshealth_vars) / sizeof(syshealth_vars[0]);

void
syshealth_cfg_load(const cfg *c, syshealth_cfg *out)
{
    for (int i = 0; i < SH_NSERVICES; i++) {
        const char *u = cfg_str(c, syshealth_vars[i].name);
        util_strlcpy(out->url[i], u ? u : "", sizeof(out->url[i]));
    }
    const char *tok = cfg_str(c, "INTERNAL_TOKEN");
    util_strlcpy(out->token, tok ? tok : "", sizeof(out->token));
    out->timeout_ms = (int)cfg_int(c, "SYSTEM_HEALTH_TIMEOUT_MS");
}
