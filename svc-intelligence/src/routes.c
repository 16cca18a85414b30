/* routes: svc-intelligence's route table. /clients/health-summary is a
 * literal segment, so it wins over /clients/{id} (route.h). */
#include "http.h"
#include "sig.h"

#define P "/api/intelligence"
#define SIG(path, k)                                                                             \
    {"POST", P "/clients/{id}/" path, http_signal_create, WEB_JSON_BODY, (void *)&sig_specs[k]}, \
    {                                                                                            \
        "GET", P "/clients/{id}/" path, http_signal_list, 0, (void *)&sig_specs[k]               \
    }

static const web_route routes[] = {
    {"GET", P "/clients", http_clients_list, 0, NULL},
    {"POST", P "/clients", http_clients_create, WEB_JSON_BODY, NULL},
    {"GET", P "/clients/health-summary", http_health_summary, 0, NULL},
    {"GET", P "/clients/{id}", http_clients_get, 0, NULL},
    {"PATCH", P "/clients/{id}", http_clients_patch, WEB_JSON_BODY, NULL},
    {"GET", P "/clients/{id}/health", http_client_health, 0, NULL},
    SIG("activity", SIG_ACTIVITY),
    SIG("tickets", SIG_TICKETS),
    SIG("payments", SIG_PAYMENTS),
    SIG("projects", SIG_PROJECTS),
    SIG("quotes", SIG_QUOTES),
    {"GET", P "/system/health", http_system_health, 0, NULL},
    {"POST", P "/scores/recompute", http_scores_recompute, WEB_JSON_BODY, NULL},
    {"GET", P "/recommendations", http_recs_list, 0, NULL},
    {"GET", P "/recommendations/{id}", http_recs_get, 0, NULL},
    {"POST", P "/recommendations/{id}/accept", http_recs_accept, WEB_JSON_BODY, NULL},
    {"POST", P "/recommendations/{id}/decline", http_recs_decline, WEB_JSON_BODY, NULL},
    {"GET", P "/reports", http_reports_list, 0, NULL},
    {"GET", P "/reports/{id}", http_reports_get, 0, NULL},
    {"GET", P "/alerts", http_alerts_list, 0, NULL},
    {"GET", P "/alerts/{id}", http_alerts_get, 0, NULL},
    {"POST", P "/alerts/{id}/acknowledge", http_alerts_acknowledge, 0, NULL},
    {"POST", P "/decide", http_decide, WEB_JSON_BODY, NULL},
    {"GET", P "/decisions", http_decisions_list, 0, NULL},
    {"GET", P "/decisions/{id}", http_decision_get, 0, NULL},
    {"GET", P "/schedule/recommendations", http_schedule_recommendations, 0, NULL},
};

const web_route *
intel_routes(size_t *n)
{
    *n = sizeof(routes) / sizeof(routes[0]);
    return routes;
}
