/* browser: the jobs that change a menu in Toast (menu_build, item_create,
 * item_update, modifier_sync), which Toast's public API does not allow: the
 * change is checked against the stored menu here (browser_check.c, pure),
 * then handed to the browser-automation service at BROWSER_SERVICE_URL
 * (browser.c: POST /tasks, poll GET /tasks/{id}; browser_http.c: libcurl).
 * Prefix browser_. */
#ifndef TOAST_BROWSER_H
#define TOAST_BROWSER_H

#include <stddef.h>

#include <json-c/json.h>

#include "menu.h"

/* Check the job config of job_type against the stored menu m. 0, or -1 with
 * the reason in err (the job then fails without retry). */
int browser_check(const char *job_type, json_object *config, const menu_model *m, char *err,
                  size_t errlen);

/* One HTTP exchange with the browser service: method and url, body (may be
 * NULL) sent as JSON. 0 with *status and *out (the answer parsed as JSON, or
 * NULL when it is not JSON; a new reference), or -1 with err when no answer
 * came (connection refused, timeout). */
int browser_http(const char *method, const char *url, const char *body, long timeout_ms,
                 long *status, json_object **out, char *err, size_t errlen);

#endif
