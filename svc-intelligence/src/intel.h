/* intel: the daemon's state, shared by its parts. Prefix intel_. */
#ifndef INTEL_INTEL_H
#define INTEL_INTEL_H

#include "app.h"
#include "store.h"

typedef struct intel {
    app *app;
    store *store;
} intel;

/* The state of the daemon serving a request (web_app(r)). */
intel *intel_of(const void *app);

#endif
