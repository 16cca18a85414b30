/* sig: the five kinds of client signal (issue 6) and what a POST of each
 * may hold, in plain C. Prefix sig_. No SQL or HTTP here.
 *
 *   activity  actor, action, occurred_at (default now), details {}
 *   tickets   subject?, priority (low normal high urgent; normal), opened_at,
 *             first_response_at?, resolved_at? (neither before opened_at)
 *   payments  invoice, amount (> 0), due_at, paid_at?, status (open paid
 *             void; paid exactly when paid_at is given, by default)
 *   projects  name?, status (proposed active completed cancelled; active),
 *             value (0), started_at (default now)
 *   quotes    title?, status (draft sent accepted declined expired; sent),
 *             value, issued_at (default now)
 * Times that record what happened may not be in the future (due_at may). */
#ifndef INTEL_SIG_H
#define INTEL_SIG_H

#include <stddef.h>
#include <stdint.h>

#include "field.h"

typedef enum {
    SIG_ACTIVITY = 0,
    SIG_TICKETS,
    SIG_PAYMENTS,
    SIG_PROJECTS,
    SIG_QUOTES,
    SIG_NKINDS
} sig_kind;

typedef struct sig_spec {
    sig_kind kind;
    const char *path; /* the route's last segment: "activity", "tickets", ... */
    const char *what; /* "activity entry", "ticket", ... (for messages) */
    const field_rule *rules;
    size_t nrules;
} sig_spec;

extern const sig_spec sig_specs[SIG_NKINDS];

/* Validate a POST body of kind k, with the rules across fields. */
js_status sig_parse(sig_kind k, json_object *body, int64_t now, field_values *out, js_err *err);

#endif
