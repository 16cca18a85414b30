/* golden: golden copies (capture and compare) and the stored menu as a
 * model, for the routes, the golden_copy job and the browser-service jobs.
 * Prefix golden_. */
#ifndef TOAST_GOLDEN_H
#define TOAST_GOLDEN_H

#include <json-c/json.h>

#include "menu.h"
#include "toast.h"

/* Why a call failed: an HTTP status, its error code and a message. */
typedef struct golden_err {
    int status;
    const char *code;
    char message[256];
} golden_err;

/* The stored menu of the integration as a model (*m, free with
 * menu_model_free). 0, or an HTTP status with *e: 404 no such integration,
 * 409 no menu synced yet, 503 database unavailable, 500. */
int golden_current(toast *t, const char *integration_id, menu_model **m, golden_err *e);

/* Store the current menu as a baseline: 0 and *out {"id","integration_id",
 * "sha256","counts","note","created_at"}, or a status as above. */
int golden_capture(toast *t, const char *integration_id, const char *note, json_object **out,
                   golden_err *e);

/* Compare the current menu with the latest baseline (baseline_id NULL) or
 * the given one: 0 and *out {"identical","baseline_id","baseline_sha256",
 * "baseline_created_at","current_sha256","added","removed","changed"}, or a
 * status (404 also when there is no such baseline). */
int golden_compare(toast *t, const char *integration_id, const char *baseline_id, json_object **out,
                   golden_err *e);

/* {"menus","groups","items","modifier_groups"} of m (a new object). */
json_object *golden_counts(const menu_model *m);

#endif
