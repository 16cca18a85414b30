/* breaker: a passive circuit breaker per upstream service. Prefix breaker_.
 *
 * Closed: requests go through; each failed exchange counts, each good one
 * resets the count. After CIRCUIT_FAILURES failures in a row the circuit
 * opens: for CIRCUIT_OPEN_MS every request is refused at once (the proxy
 * answers 503) instead of waiting on an upstream that is not there. Then ONE
 * request goes through as a trial (half-open) while the others are still
 * refused: a good answer closes the circuit, a failure opens it again for
 * another CIRCUIT_OPEN_MS.
 *
 * What counts as a failure is the caller's call (proxy.c: no connection, no
 * complete or no relayable HTTP answer, a timeout; see README.md).
 * gateway_circuit_open{upstream} is 1 while a circuit is open or half-open.
 * Thread-safe; the closed, healthy path takes no lock. */
#ifndef GATEWAY_BREAKER_H
#define GATEWAY_BREAKER_H

#include <stdbool.h>
#include <stddef.h>

#include "metrics.h"

typedef struct breaker breaker;

typedef struct breaker_config {
    int failures; /* consecutive failures that open the circuit (>= 1) */
    long open_ms; /* how long it stays open before a trial */
} breaker_config;

typedef enum {
    BREAKER_ALLOW = 0, /* closed: go ahead */
    BREAKER_TRIAL,     /* half-open: this request is the one trial */
    BREAKER_REJECT,    /* open: answer 503 without trying */
} breaker_verdict;

/* Once, before serving: one breaker per distinct name of names (repeated
 * names share one), the gauge gateway_circuit_open{upstream} (0 for each)
 * and gateway_circuit_rejected_total{upstream} in reg (may be NULL).
 * Returns 0 or -1 (logged). */
int breaker_init(const char *const *names, size_t n, const breaker_config *cfg,
                 metrics_registry *reg);
/* After the HTTP server stopped. */
void breaker_cleanup(void);

/* The breaker of an upstream, NULL for a name not given to breaker_init (the
 * callers then go ahead unguarded). */
breaker *breaker_for(const char *name);

/* May a request go to this upstream now? With BREAKER_REJECT, *retry_after_ms
 * (may be NULL) is how long until the next trial. A NULL b allows. */
breaker_verdict breaker_acquire(breaker *b, long *retry_after_ms);
/* The outcome of a request that breaker_acquire let through, with the verdict
 * it got. Every ALLOW or TRIAL must be reported exactly once. */
void breaker_report(breaker *b, breaker_verdict v, bool ok);

/* Whether the circuit is open or half-open now (for /health, tests). */
bool breaker_is_open(const breaker *b);

#endif
