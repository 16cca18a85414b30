/* integ_state: the daemon's state around the shared toast struct (toast.h):
 * the store, the health settings, the worker's job table and the scheduler.
 * Set up by main.c; kept out of main.c so that unit tests, which link every
 * object but main.o, find the accessors. */
#ifndef TOAST_INTEG_STATE_H
#define TOAST_INTEG_STATE_H

#include "health_check.h"
#include "store.h"
#include "toast.h"

#define TOAST_MAX_JOB_TYPES 16

typedef struct toast_svc {
    toast t; /* first: toast_of gives it, the accessors find the rest from it */
    store *store;
    health_cfg health;
    worker_type types[TOAST_MAX_JOB_TYPES];
    size_t ntypes;
    health_sched *sched;
} toast_svc;

#endif
