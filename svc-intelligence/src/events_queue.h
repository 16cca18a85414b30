/* events_queue: the clients whose score waits to be recomputed, debounced.
 * Prefix evq_. No lock or clock here (the caller holds one and passes
 * `now`), so the tests drive it exactly.
 *
 * A client touched at t is due at t + quiet, pushed back by each later touch,
 * but never beyond its first touch + EVQ_MAX_QUIETS * quiet: a steady stream of
 * events still gives a recompute now and then. */
#ifndef INTEL_EVENTS_QUEUE_H
#define INTEL_EVENTS_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define EVQ_MAX_QUIETS 10
#define EVQ_ID_LEN     36

typedef struct evq_entry {
    char id[EVQ_ID_LEN + 1]; /* lowercase */
    int64_t first_ms, due_ms;
} evq_entry;

typedef struct evq {
    evq_entry *items;
    size_t n, cap, max;
    int64_t quiet_ms;
} evq;

/* max: most clients waiting at once (a touch beyond is refused). */
void evq_init(evq *q, int64_t quiet_ms, size_t max);
void evq_free(evq *q);
/* false when id is not a UUID or the queue is full. */
bool evq_touch(evq *q, const char *id, int64_t now_ms);
/* Move up to max clients due at now into out (ids), removing them; how many. */
size_t evq_take_due(evq *q, int64_t now_ms, char (*out)[EVQ_ID_LEN + 1], size_t max);
/* The earliest due time, or -1 when none waits. */
int64_t evq_next_due(const evq *q);

#endif
