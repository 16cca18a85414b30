/* ticker: a thread of its own that runs a function every interval, for the
 * daemons' periodic sweeps. Prefix ticker_. */
#ifndef BRAIN_TICKER_H
#define BRAIN_TICKER_H

#include <stdbool.h>

typedef struct ticker ticker;

/* Run fn(ud) on a new thread: at once when first_now, else after one
 * interval; then interval_ms (at least 1) after each call returned. NULL
 * when the thread cannot start. */
ticker *ticker_start(int interval_ms, bool first_now, void (*fn)(void *ud), void *ud);
/* Stop: a call in progress finishes, no other starts; the wait between calls
 * is cut short. Joins and frees. NULL ok. */
void ticker_stop(ticker *t);

#endif
