/* events: svc-intelligence's durable consumers of the EVENTS stream (DESIGN
 * section 5, README "Events") and the debounced recomputes of the scores
 * they touch. Prefix events_.
 *
 * One durable consumer per kind of event (svc-intelligence-jobs, -health,
 * -sync, -usage, -activity): replicas share them, and a daemon that was down
 * resumes where they stopped. Each message is checked (events_msg.c) and
 * stored keyed on its natural key (store_events.c), so a redelivery changes
 * nothing. A message the database could not take (it is away) is not
 * acknowledged and comes back later; a malformed one, or one the database
 * refuses, is logged and acknowledged, never retried forever. */
#ifndef INTEL_EVENTS_H
#define INTEL_EVENTS_H

#include <stdint.h>

#include "intel.h"

typedef struct events events;

/* Start the thread that sets the consumers up (again every second while NATS
 * or the stream is not there) and recomputes scores once a client's events
 * have been quiet for debounce_ms. NULL on failure. */
events *events_start(intel *s, int debounce_ms);
/* Stop the thread (pending recomputes are dropped: a score is also
 * computed on request). Handlers may still run until NATS is closed. */
void events_stop(events *e);
/* After NATS is closed. NULL ok. */
void events_free(events *e);

/* The handler's work on one message of kind k: 0 to acknowledge it. */
int events_handle(events *e, int kind, const char *subject, const char *data, size_t len);

#endif
