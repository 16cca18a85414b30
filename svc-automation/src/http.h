/* The HTTP handlers of svc-automation (web_handler), listed in routes.c. */
#ifndef AUTOMATION_HTTP_H
#define AUTOMATION_HTTP_H

#include "web.h"

int http_jobs_list(web_req *r);
int http_jobs_create(web_req *r);
int http_jobs_get(web_req *r);
int http_jobs_patch(web_req *r);
int http_jobs_cancel(web_req *r);
int http_jobs_retry(web_req *r);
int http_jobs_stats(web_req *r);
int http_sessions_list(web_req *r);
int http_sessions_terminate(web_req *r);

extern const web_route automation_routes[];
extern const size_t automation_nroutes;

#endif
