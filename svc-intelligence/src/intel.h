/* intel: the daemon's state, shared by its parts. Prefix intel_. */
#ifndef INTEL_INTEL_H
#define INTEL_INTEL_H

#include "app.h"
#include "store.h"

struct events;
struct alerting_sweeper;

typedef struct intel {
    app *app;
    store *store;
    /* The event consumers and the debounced recomputes (events.c). */
    struct events *events;
    /* A hook for other parts (the alerts), NULL unless set in on_init. It
     * runs on the event threads, possibly several at once: short, and
     * thread-safe. now: seconds since the epoch. (A stored score runs the
     * alerts' score rules itself: scoring.c.)
     * on_event: after an event changed a stored fact; kind "job" "health"
     * "sync" "usage" "activity"; client_id may be NULL (a sync run or usage
     * without one); subject: the job, integration, run, business or entry id. */
    void (*on_event)(struct intel *s, const char *kind, const char *client_id, const char *subject,
                     int64_t now);
    struct worker *reports;           /* runs report_generation jobs (report_job.c); NULL: none */
    struct alerting_sweeper *sweeper; /* resolves alerts whose condition cleared */
} intel;

/* The state of the daemon serving a request (web_app(r)). */
intel *intel_of(const void *app);

#endif
