/* intel: the daemon's state, shared by its parts. Prefix intel_. */
#ifndef INTEL_INTEL_H
#define INTEL_INTEL_H

#include "app.h"
#include "store.h"

typedef struct intel {
    app *app;
    store *store;
    struct worker *reports; /* runs report_generation jobs (report_job.c); NULL: none */
} intel;

/* The state of the daemon serving a request (web_app(r)). */
intel *intel_of(const void *app);

#endif
