/* syshealth_vars: the configuration of GET /system/health read from its
 * variables (SYSHEALTH_VARS in syshealth.h). */
#include "log.h"
#include "syshealth.h"
#include "util.h"

/* In the order of syshealth_service. */
static const char *const url_vars[SH_NSERVICES] = {
    "GATEWAY_URL", "AUTOMATION_URL", "TOAST_URL", "EMBEDDING_URL", "SYNC_URL",
};

void
syshealth_cfg_load(const cfg *c, syshealth_cfg *out)
{
    for (int i = 0; i < SH_NSERVICES; i++) {
        const char *u = cfg_str(c, url_vars[i]);
        if (util_strlcpy(out->url[i], u ? u : "", sizeof(out->url[i])) >= sizeof(out->url[i])) {
            log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("variable", url_vars[i])),
                    "URL too long for the system health report: not asked");
            out->url[i][0] = '\0';
        }
    }
    const char *tok = cfg_str(c, "INTERNAL_TOKEN");
    util_strlcpy(out->token, tok ? tok : "", sizeof(out->token));
    out->timeout_ms = (int)cfg_int(c, "SYSTEM_HEALTH_TIMEOUT_MS");
}
