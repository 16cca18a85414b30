/* The HTTP handlers of the integration half (web_handler), listed in
 * routes.c, and what handlers share. */
#ifndef TOAST_HTTP_H
#define TOAST_HTTP_H

#include "store.h"
#include "web.h"

int http_integrations_create(web_req *r);
int http_integrations_list(web_req *r);
int http_integrations_get(web_req *r);
int http_integrations_patch(web_req *r);
int http_integrations_delete(web_req *r);
int http_integrations_rotate(web_req *r);
int http_health_check(web_req *r);   /* health_http.c */
int http_health_history(web_req *r); /* health_http.c */
int http_sync_menus(web_req *r);     /* http_jobs.c */
int http_jobs_create(web_req *r);    /* http_jobs.c */

/* The {id} of the path, or NULL after answering 400. */
const char *http_integration_id(web_req *r);
/* Answer a store failure: 404 naming what, 409, 503, 500. */
int http_store_error(web_req *r, store_status st, const char *what);

/* Every route of the daemon, both halves (routes.c). */
const web_route *toast_routes(size_t *n);

#endif
