/* intel: the daemon's state, shared by its parts. Prefix intel_. */
#ifndef INTEL_INTEL_H
#define INTEL_INTEL_H

#include "app.h"
#include "store.h"

struct events;

typedef struct intel {
    app *app;
    store *store;
    /* The event consumers and the debounced recomputes (events.c). */
    struct events *events;
    /* Hooks for other parts (the alerts), NULL unless set in on_init. They
     * run on the event threads, possibly several at once: short, and
     * thread-safe. now: seconds since the epoch.
     * on_score: after a score recomputed because of events was stored.
     * on_event: after an event changed a stored fact; kind "job" "health"
     * "sync" "usage" "activity"; client_id may be NULL (a sync run or usage
     * without one); subject: the job, integration, run, business or entry id. */
    void (*on_score)(struct intel *s, const char *client_id, const score_result *r, int64_t now);
    void (*on_event)(struct intel *s, const char *kind, const char *client_id, const char *subject,
                     int64_t now);
    struct worker *reports; /* runs report_generation jobs (report_job.c); NULL: none */
} intel;

/* The state of the daemon serving a request (web_app(r)). */
intel *intel_of(const void *app);

#endif
