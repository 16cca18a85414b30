/* score: a client's health score from its signals, in plain C (issue 6).
 * Prefix score_. No SQL, HTTP, NATS or JSON here: the store gathers the
 * inputs, score_compute decides, score_json.c renders. The same inputs and
 * the same `now` always give the same result.
 *
 * Six factors, each 0-100 over the 30 days before `now` (the formulas are in
 * score.c and README.md, "Client health"), weighted 25/20/15/15/15/10. A
 * factor without data is `no_data` and left out: the others are re-weighted
 * to sum to 100. Without any data the client is `unknown`, with no score.
 * The overall score is rounded half up to an integer, then banded: healthy
 * >= 75, at_risk 50-74, critical < 50. Times are seconds since the epoch. */
#ifndef INTEL_SCORE_H
#define INTEL_SCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SCORE_DAY          86400
#define SCORE_WINDOW       (30 * SCORE_DAY) /* every factor looks back this far */
#define SCORE_MAX_TICKETS  1000             /* newest tickets of the window scored */
#define SCORE_MAX_INVOICES 1000             /* newest invoices considered */

/* The factors fed by events. */
#define SCORE_WINDOW_DAYS       30
#define SCORE_RECENT_DAYS       7  /* automation_success: outcomes this recent weigh double */
#define SCORE_UNHEALTHY_PENALTY 10 /* system_stability: per integration unhealthy now, */
#define SCORE_UNHEALTHY_MAX     30 /* at most this much in all */

typedef enum {
    SCORE_ENGAGEMENT = 0,
    SCORE_AUTOMATION_SUCCESS,
    SCORE_SUPPORT_RESPONSIVENESS,
    SCORE_PAYMENT_HEALTH,
    SCORE_SYSTEM_STABILITY,
    SCORE_GROWTH_POTENTIAL,
    SCORE_NFACTORS
} score_factor;

typedef enum {
    SCORE_UNKNOWN = 0, /* no factor had data */
    SCORE_HEALTHY,
    SCORE_AT_RISK,
    SCORE_CRITICAL,
} score_band;

typedef enum { PRIO_LOW = 0, PRIO_NORMAL, PRIO_HIGH, PRIO_URGENT, PRIO_N } score_priority;

typedef struct score_ticket {
    score_priority priority;
    int64_t opened_at;
    int64_t first_response_at; /* 0: none yet */
    int64_t resolved_at;       /* 0: not resolved */
} score_ticket;

/* An invoice that is not void. */
typedef struct score_invoice {
    int64_t due_at;
    int64_t paid_at; /* 0: not paid (a payment after `now` counts as not paid yet) */
} score_invoice;

/* A stored score taken for a trend: the newest one computed at or before
 * now - 7 (or 30) days. */
typedef struct score_past {
    bool found;
    int64_t computed_at;
    int score; /* -1 when it was unknown */
} score_past;

typedef struct score_inputs {
    int64_t now;
    /* engagement: activity entries with occurred_at in (now - 30 d, now], and
     * the newest entry at or before now (0: none ever) */
    long activities_30d;
    int64_t last_activity_at;
    /* support_responsiveness: tickets opened in (now - 30 d, now] */
    const score_ticket *tickets;
    size_t ntickets;
    /* payment_health: invoices due in (now - 30 d, now], and older ones still
     * unpaid at now */
    const score_invoice *invoices;
    size_t ninvoices;
    /* growth_potential, over (now - 30 d, now]: quotes issued, by outcome;
     * projects started (not cancelled); and money paid in that window and in
     * the 30 days before it, in cents */
    long quotes_accepted, quotes_lost, quotes_open;
    long projects_new;
    int64_t paid_cents_30d, paid_cents_prev_30d;
    /* automation_success: final job outcomes (events.job.*) finished in
     * (now - 30 d, now], by whole days before now (index 0: the last 24 h,
     * 29: the oldest day), and the cancelled jobs of the window */
    long jobs_completed[SCORE_WINDOW_DAYS], jobs_failed[SCORE_WINDOW_DAYS];
    long jobs_cancelled_30d;
    /* system_stability, over (now - 30 d, now]: integration health checks
     * (events.toast.health.*) by status, the integrations whose latest check
     * there is unhealthy, and sync runs (events.sync.run.*) by status */
    long checks_healthy, checks_degraded, checks_unhealthy, integrations_unhealthy;
    long syncs_completed, syncs_partial, syncs_failed;
    /* trend */
    score_past past_d7, past_d30;
} score_inputs;

/* What one factor came to. The details are numbers named in the README; a
 * value of -1 in a detail means "none" (rendered as null). */
#define SCORE_MAX_DETAILS 8
typedef struct score_detail {
    const char *name;
    double value;
    bool is_time; /* value is seconds since the epoch: rendered as RFC 3339 */
    bool is_int;
} score_detail;

typedef struct score_factor_result {
    bool has_data;
    int score;               /* 0-100 when has_data */
    int weight;              /* nominal: 25, 20, 15, 15, 15, 10 */
    double effective_weight; /* after re-weighting, percent (0 without data) */
    const char *note;        /* why no data, or NULL */
    score_detail details[SCORE_MAX_DETAILS];
    size_t ndetails;
} score_factor_result;

typedef struct score_result {
    score_band band;
    int overall; /* -1 when unknown */
    score_factor_result factors[SCORE_NFACTORS];
    bool has_d7, has_d30;
    int trend_d7, trend_d30; /* overall minus the earlier score */
} score_result;

void score_compute(const score_inputs *in, score_result *out);

/* The parts, for the tests. */
void score_engagement(const score_inputs *in, score_factor_result *f);
void score_support(const score_inputs *in, score_factor_result *f);
void score_payments(const score_inputs *in, score_factor_result *f);
void score_growth(const score_inputs *in, score_factor_result *f);
void score_automation(const score_inputs *in, score_factor_result *f);
void score_stability(const score_inputs *in, score_factor_result *f);
/* Weighted mean of the factors with data, half up; -1 when none has data.
 * Sets each factor's effective_weight. */
int score_overall(score_factor_result f[SCORE_NFACTORS]);
score_band score_band_of(int overall);
/* The trend against one earlier score: false when there is none, it is
 * more than 30 days older than the moment asked for (at - its computed_at),
 * or either score is unknown. */
bool score_trend(int overall, const score_past *p, int64_t at, int *delta);

/* Names: "engagement", ...; "healthy", ...; "low", ... */
const char *score_factor_name(score_factor f);
const char *score_band_name(score_band b);
/* NULL-terminated: healthy at_risk critical unknown. */
extern const char *const score_band_names[];
/* PRIO_N when s names no priority. */
score_priority score_priority_of(const char *s);
/* Hours allowed for the first response and for the resolution. */
int score_response_target_h(score_priority p);
int score_resolution_target_h(score_priority p);

#endif
