/* abus: every NATS subject svc-automation uses (DESIGN section 5). Prefix
 * abus_.
 *
 * In: jobs.create, jobs.claim, jobs.progress, jobs.complete, jobs.release and
 * automation.stats (queue group "automation": each request is answered by
 * one replica), and events.job.> (every replica, for live updates).
 * Out: events.job.<client_id>.<job_id> on JetStream, published after the
 * change committed by publisher threads (a job always goes to the same one,
 * so its events keep their order), held and retried while NATS is away, up to
 * a bound; jobs.ready.<job_type>; toast.sessions.* requests. */
#ifndef AUTOMATION_ABUS_H
#define AUTOMATION_ABUS_H

#include <stddef.h>

#include "bus.h"
#include "store.h"

typedef struct svc svc;
typedef struct abus abus;

#define ABUS_MAX_QUEUED 100000 /* events waiting for NATS; beyond, new ones are dropped */

/* Publisher threads and request threads (handlers) start at once; NULL on
 * failure. */
abus *abus_new(svc *s, bus *b, int publishers, int handlers);
/* Subscribe to the subjects above. 0 or -1. */
int abus_subscribe(abus *ab);
/* Answer the requests queued (later ones are refused as "unavailable"), then
 * stop the publishers, giving them up to wait_ms to send what is queued. */
void abus_stop(abus *ab, int wait_ms);
/* Free (after the bus is closed, so no handler runs). NULL ok. */
void abus_free(abus *ab);

/* Publish the events of a committed change and wake the workers it concerns. */
void abus_changed(abus *ab, const store_changes *ch);

/* Ask every svc-toast replica (toast.sessions.list / .terminate: each knows
 * its own sessions): fn gets each answer (bus_request_all). BUS_OK when one
 * answered at least, else BUS_ERR_NO_RESPONDERS, BUS_ERR_TIMEOUT or
 * BUS_ERR_UNAVAILABLE. */
bus_status abus_ask_all(abus *ab, const char *subject, const char *body, int timeout_ms,
                        bus_reply_fn fn, void *ud);

/* Events queued for publishing, and dropped so far. */
size_t abus_queued(abus *ab);

#endif
