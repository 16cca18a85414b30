/* integ: what an integration request may hold (POST and PATCH
 * /integrations), in plain C: field rules, statuses, the Toast GUID, the TOTP
 * secret's form. No SQL, HTTP or crypto here. Prefix integ_. */
#ifndef TOAST_INTEG_H
#define TOAST_INTEG_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "json.h"

/* The fields of an integration a client may send, in this order. */
typedef enum {
    INTEG_CLIENT_ID = 0,
    INTEG_RESTAURANT_ID,
    INTEG_TOAST_GUID,
    INTEG_NAME,
    INTEG_STATUS,
    INTEG_API_CLIENT_ID,
    INTEG_API_CLIENT_SECRET, /* secret */
    INTEG_USERNAME,
    INTEG_PASSWORD,    /* secret */
    INTEG_TOTP_SECRET, /* secret */
    INTEG_NFIELDS
} integ_field;

#define INTEG_SECRET_MAX 500 /* bytes of a secret's plaintext */

/* NULL-terminated: active paused error disabled. */
extern const char *const integ_statuses[];

/* A validated request. value[f] points into the request body; has[f] says
 * the field was given (for PATCH), and a given field with a NULL value clears
 * it (only username, password and totp_secret may be cleared). */
typedef struct integ_input {
    const char *value[INTEG_NFIELDS];
    bool has[INTEG_NFIELDS];
} integ_input;

/* The field's JSON name. */
const char *integ_field_name(integ_field f);
/* True for the fields stored encrypted. */
bool integ_field_secret(integ_field f);

/* Validate a create (create true: required fields, status defaults to
 * "active") or a change (create false: at least one field; client_id,
 * restaurant_id and toast_guid cannot change). JS_OK, or JS_INVALID with the
 * field and why in err (never the value). */
js_status integ_parse(json_object *body, bool create, integ_input *out, js_err *err);

bool integ_status_known(const char *s);

#endif
