/* abus_pool: the threads that answer svc-automation's NATS requests, so that
 * requests on one subject run side by side (nats.c hands a subscription's
 * messages over one at a time). Prefix abus_pool_. */
#ifndef AUTOMATION_ABUS_POOL_H
#define AUTOMATION_ABUS_POOL_H

#include <stddef.h>

#include "abus_internal.h"

#define ABUS_POOL_MAX_QUEUED 20000 /* requests waiting; beyond, "busy" at once */

/* A request, copied out of its NATS message. */
typedef struct areq {
    abus *ab;
    const char *data;
    size_t len;
    char reply[256];      /* "" when the sender wants no answer */
    char request_id[129]; /* X-Request-Id, for the logs */
} areq;

typedef struct abus_route {
    const char *subject;
    void (*fn)(areq *m);
} abus_route;

extern const abus_route abus_routes[];
extern const size_t abus_nroutes;

/* Start n threads. 0 or -1. */
int abus_pool_start(abus *ab, int n);
/* bus_handler for the subjects of abus_routes; ud is an abus_binding. */
void abus_pool_enqueue(bus_msg *m, void *ud);
/* Answer what is queued, stop the threads; later requests are refused as
 * "unavailable" at once. */
void abus_pool_stop(abus *ab);
/* Stop (if not yet) and free. NULL ok. */
void abus_pool_free(abus *ab);

#endif
