/* http_alerts: GET /alerts, GET /alerts/{id}, POST /alerts/{id}/acknowledge
 * (README "Alerts"). Alerts are raised and resolved by the rules
 * (alerting.c), never through HTTP. */
#include <stdio.h>
#include <string.h>

#include "alert_rules.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define WHO_MAX 200 /* bytes of an acknowledging user's id */

static bool
status_known(const char *s)
{
    return strcmp(s, "active") == 0 || strcmp(s, "acknowledged") == 0 || strcmp(s, "resolved") == 0;
}

static bool
severity_known(const char *s)
{
    return alert_severity_of(s) != SEV_N;
}

static bool
type_known(const char *s)
{
    return alert_type_of(s) != ALERT_NTYPES;
}

static bool
uuid_ok(const char *s)
{
    return util_uuid_valid(s);
}

/* A user id as the gateway sends it (a uuid), or another service's name. */
static bool
who_valid(const char *who)
{
    size_t n = who ? strlen(who) : 0;
    for (size_t i = 0; i < n; i++)
        if (who[i] < 0x21 || who[i] > 0x7e)
            return false;
    return n >= 1 && n <= WHO_MAX;
}

int
http_alerts_list(web_req *r)
{
    long limit, offset;
    char sb[32], vb[32], cb[64], tb[48];
    store_alert_filter f = {NULL, NULL, NULL, NULL};
    json_object *page = NULL;
    if (!web_page(r, &limit, &offset)
        || !http_query(r, "status", sb, sizeof(sb), &f.status, status_known,
                       "must be one of active, acknowledged, resolved")
        || !http_query(r, "severity", vb, sizeof(vb), &f.severity, severity_known,
                       "must be one of low, medium, high, critical")
        || !http_query(r, "client_id", cb, sizeof(cb), &f.client_id, uuid_ok, "must be a UUID")
        || !http_query(r, "type", tb, sizeof(tb), &f.type, type_known,
                       "must be one of score_drop, health_critical, job_failure_rate, "
                       "integration_unhealthy, sync_failed, usage_over_budget"))
        return 0;
    store_status st = store_alert_list(intel_of(web_app(r))->store, &f, limit, offset, &page);
    return st == ST_OK ? web_reply_json(r, 200, page) : http_store_error(r, st, "alerts", NULL);
}

int
http_alerts_get(web_req *r)
{
    const char *id = http_client_id(r); /* any {id}: checked as a UUID */
    json_object *out = NULL;
    char what[64];
    if (!id)
        return 0;
    store_status st = store_alert_get(intel_of(web_app(r))->store, id, &out);
    snprintf(what, sizeof(what), "alert %s", id);
    return st == ST_OK ? web_reply_json(r, 200, out) : http_store_error(r, st, what, NULL);
}

int
http_alerts_acknowledge(web_req *r)
{
    const char *id = http_client_id(r);
    const char *who = web_header(r, "X-User-Id");
    json_object *out = NULL;
    char what[64], at[UTIL_RFC3339_LEN + 1];
    if (!id)
        return 0;
    /* The gateway names the caller; a direct call without one says who it
     * is no other way. */
    if (!who_valid(who))
        return web_reply_error(r, 400, "invalid_request",
                               "X-User-Id: the acknowledging user is required (1 to %d "
                               "printable ASCII characters)",
                               WHO_MAX);
    util_now_rfc3339(at);
    store_status st = store_alert_ack(intel_of(web_app(r))->store, id, who, at, &out);
    snprintf(what, sizeof(what), "alert %s", id);
    if (st != ST_OK)
        return http_store_error(r, st, what,
                                "the alert is resolved: its condition has cleared, so there is "
                                "nothing left to acknowledge");
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("alert_id", id), LF_STR("user_id", who)),
            "alert acknowledged");
    return web_reply_json(r, 200, out);
}
