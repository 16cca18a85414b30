/* decide_stats: what the decision engine asks the job queue (automation.stats
 * over NATS, DESIGN section 5): the load per UTC hour and the jobs already
 * scheduled. Prefix decide_stats_. A queue that does not answer (or answers
 * without these fields) is not an error: the engine then decides without
 * load data and says so. */
#ifndef INTEL_DECIDE_STATS_H
#define INTEL_DECIDE_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bus.h"

#define DECIDE_STATS_TIMEOUT_MS 500
#define DECIDE_STATS_HOURS      169 /* the week and the longest job that may start in it */
#define DECIDE_STATS_MAX        1000

typedef struct decide_stats_job {
    char client_id[40];
    int64_t at;
} decide_stats_job;

typedef struct decide_stats {
    bool has_load;
    double hourly_load[24];
    decide_stats_job *jobs; /* scheduled, every client */
    size_t njobs;
} decide_stats;

/* Ask automation.stats for the load and the jobs scheduled from `from`
 * (seconds) on. b may be NULL. Always fills *out (free it with
 * decide_stats_free). */
void decide_stats_fetch(bus *b, int64_t from, decide_stats *out);
/* The start times of client_id's scheduled jobs into buf (at most cap). */
size_t decide_stats_own(const decide_stats *st, const char *client_id, int64_t *buf, size_t cap);
void decide_stats_free(decide_stats *st);

#endif
