/* The HTTP handlers of svc-intelligence (web_handler), listed in routes.c,
 * and what they share. Each parses and checks, calls the store or scoring,
 * and renders. */
#ifndef INTEL_HTTP_H
#define INTEL_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "intel.h"
#include "store.h"
#include "web.h"

int http_clients_list(web_req *r);   /* http_clients.c */
int http_clients_create(web_req *r); /* http_clients.c */
int http_clients_get(web_req *r);    /* http_clients.c */
int http_clients_patch(web_req *r);  /* http_clients.c */
/* The route's ud is the sig_spec of its kind. */
int http_signal_create(web_req *r);  /* http_signals.c */
int http_signal_list(web_req *r);    /* http_signals.c */
int http_client_health(web_req *r);  /* http_health.c */
int http_health_summary(web_req *r); /* http_health.c */
int http_recs_list(web_req *r);      /* http_recs.c */
int http_recs_get(web_req *r);       /* http_recs.c */
int http_recs_accept(web_req *r);    /* http_recs.c */
int http_recs_decline(web_req *r);   /* http_recs.c */
int http_reports_list(web_req *r);   /* http_reports.c */
int http_reports_get(web_req *r);    /* http_reports.c */

int http_system_health(web_req *r);    /* http_system.c */
int http_scores_recompute(web_req *r); /* http_system.c */

/* Alerts (http_alerts.c). */
int http_alerts_list(web_req *r);
int http_alerts_get(web_req *r);
int http_alerts_acknowledge(web_req *r);

/* Scheduling decisions (http_decide.c). */
int http_decide(web_req *r);
int http_decisions_list(web_req *r);
int http_decision_get(web_req *r);
int http_schedule_recommendations(web_req *r);

/* The {id} of the path, or NULL after answering 400. */
const char *http_client_id(web_req *r);
/* Answer a store failure: 404 naming what, 409 with conflict, 503, 500. */
int http_store_error(web_req *r, store_status st, const char *what, const char *conflict);
/* 400: the body is missing. */
int http_body_missing(web_req *r);
/* Query parameter name: absent (true, *out NULL), valid by check (true), or
 * false after answering 400 with why. */
bool http_query(web_req *r, const char *name, char *buf, size_t cap, const char **out,
                bool (*check)(const char *), const char *why);
/* Whether the caller may see money (view_financials): by the role the
 * gateway forwards; a daemon's own call has no role and may. */
bool http_sees_money(web_req *r);
/* Milliseconds since the epoch: the clock of a request. */
long long http_now_ms(void);

/* Every route of the daemon. */
const web_route *intel_routes(size_t *n);

#endif
