/* store_events: the facts the event consumers keep (migration 005), and
 * the inputs of automation_success and system_stability read from them.
 * Prefix store_event_. */
#ifndef INTEL_STORE_EVENTS_H
#define INTEL_STORE_EVENTS_H

#include <stdbool.h>

#include "events_msg.h"
#include "store.h"

/* Store m (parsed, m->keep). *changed: whether a row was written (false for
 * a duplicate, or a report older than the stored one). ST_NOT_FOUND: an
 * activity entry of a client that is not registered. ST_ERROR: the database
 * refused the values (a check, a type). ST_UNAVAILABLE: any other failure,
 * the database being away first of all (try again later). */
store_status store_event_save(store *s, const ev_msg *m, bool *changed);

#endif
