/* client: what a client request may hold (POST and PATCH /clients), in plain
 * C. Prefix client_. No SQL or HTTP here. */
#ifndef INTEL_CLIENT_H
#define INTEL_CLIENT_H

#include <stdbool.h>
#include <stdint.h>

#include "field.h"

/* The fields, in the order the store binds them. */
typedef enum {
    CLIENT_NAME = 0,
    CLIENT_TIMEZONE,
    CLIENT_PLAN,
    CLIENT_MONTHLY_REVENUE,
    CLIENT_STATUS,
    CLIENT_NFIELDS
} client_field;

/* NULL-terminated: active onboarding paused churned. */
extern const char *const client_statuses[];
extern const field_rule client_rules[CLIENT_NFIELDS];

/* Validate a create (name required; timezone "UTC", plan "standard",
 * monthly_revenue "0" and status "active" by default) or a change (at least
 * one field, none null). */
js_status client_parse(json_object *body, bool create, int64_t now, field_values *out, js_err *err);

bool client_status_known(const char *s);

#endif
