/* routes: svc-automation's route table (the WebSocket route is in live.c). */
#include "http.h"

#define P "/api/automation"

const web_route automation_routes[] = {
    {"GET", P "/jobs", http_jobs_list, 0, NULL},
    {"POST", P "/jobs", http_jobs_create, WEB_JSON_BODY, NULL},
    {"GET", P "/jobs/stats", http_jobs_stats, 0, NULL},
    {"GET", P "/jobs/{job_id}", http_jobs_get, 0, NULL},
    {"PATCH", P "/jobs/{job_id}", http_jobs_patch, WEB_JSON_BODY, NULL},
    {"POST", P "/jobs/{job_id}/cancel", http_jobs_cancel, WEB_JSON_BODY, NULL},
    {"POST", P "/jobs/{job_id}/retry", http_jobs_retry, WEB_JSON_BODY, NULL},
    {"GET", P "/sessions", http_sessions_list, 0, NULL},
    {"POST", P "/sessions/{client_id}/terminate", http_sessions_terminate, WEB_JSON_BODY, NULL},
};
const size_t automation_nroutes = sizeof(automation_routes) / sizeof(automation_routes[0]);
