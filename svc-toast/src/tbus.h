/* tbus: every NATS subject svc-toast uses: it answers toast.sessions.list
 * and toast.sessions.terminate (for svc-automation), asks jobs.create
 * (toast_create_job, toast.h), and publishes events.toast.* to JetStream.
 * Prefix tbus_. */
#ifndef TOAST_TBUS_H
#define TOAST_TBUS_H

#include <json-c/json.h>

#include "toast.h"

#define TBUS_TIMEOUT_MS 3000 /* for jobs.create */

/* Subscribe the responders (queue group "toast"). 0 or -1 (logged). */
int tbus_start(toast *t);

/* Publish payload (borrowed) to events.toast.<kind>.<integration_id> and
 * wait for JetStream's acknowledgement. 0, or -1 (logged: the event is lost,
 * which the caller's own record does not depend on). */
int tbus_event(toast *t, const char *kind, const char *integration_id, json_object *payload);

#endif
