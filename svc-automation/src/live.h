/* live: live job updates over WebSocket (WS /api/automation/ws/{client_id}).
 * Prefix live_.
 *
 * A connection belongs to one client. It subscribes to single jobs of that
 * client or to all of them; every job_update event of the suite (from any
 * replica, through events.job.>) is pushed to the connections that follow that
 * job, in order per job: an event older than one already sent for that job
 * (by its "seq") is dropped. */
#ifndef AUTOMATION_LIVE_H
#define AUTOMATION_LIVE_H

#include <stddef.h>

#include "metrics.h"
#include "web.h"

typedef struct live live;

/* Looks a job up for a subscription: 0 and *event (a malloc'd job_update JSON
 * text, as on events.job.>) when job_id is a job of client_id, 1 when there is
 * no such job for that client, -1 when the store is unavailable. */
typedef int (*live_lookup_fn)(void *ud, const char *client_id, const char *job_id, char **event);

/* New registry; metrics may be NULL (ws_connections, ws_messages_sent_total). */
live *live_new(metrics_registry *metrics, live_lookup_fn lookup, void *ud);
/* Frees the registry; every connection must be closed (web_server_stop did). NULL ok. */
void live_free(live *l);

/* A job_update event (JSON text, len bytes) to push to its followers.
 * Called from NATS threads. */
void live_on_event(live *l, const char *data, size_t len);

/* Connections open now. */
int live_connections(live *l);

/* The WebSocket routes, for app_spec.ws_routes. They find the registry with
 * automation_live(web_ws_app(ws)) (automation.h). */
extern const web_ws_route live_ws_routes[];
extern const size_t live_nws_routes;

#endif
