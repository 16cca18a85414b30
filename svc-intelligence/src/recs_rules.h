/* recs_rules: which actions to suggest for a client, in plain C (issue 6,
 * README "Recommendations"). Prefix recs_. No SQL, HTTP, NATS or JSON here:
 * recs.c gathers the inputs and keeps the result. The same inputs and the
 * same `now` always give the same suggestions.
 *
 * Each type has one rule over the client's score (score.h) and the types of
 * its open alerts; a rule that fires gives an impact, a confidence and a
 * description from the figures it fired on, and for some types a job to
 * create on acceptance. A type is not suggested while one of its kind is
 * open, within 14 days of being declined, nor within 7 days of being
 * accepted (so that the action has time to show). Times are seconds since
 * the epoch. */
#ifndef INTEL_RECS_RULES_H
#define INTEL_RECS_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "score.h"

#define RECS_DECLINE_QUIET (14 * SCORE_DAY) /* no repeat this long after a decline */
#define RECS_ACCEPT_QUIET  (7 * SCORE_DAY)  /* nor this long after an acceptance */
#define RECS_TEXT_MAX      480              /* a description, with its NUL */
#define RECS_ID_MAX        37               /* a UUID and its NUL */

/* In evaluation order; the names are the `type` of the API and the table. */
typedef enum {
    RECS_CHECK_INTEGRATION = 0,
    RECS_REVIEW_AUTOMATION,
    RECS_ESCALATE_ACCOUNT,
    RECS_SCHEDULE_CHECK_IN,
    RECS_FOLLOW_UP_INVOICES,
    RECS_REVIEW_OPEN_TICKETS,
    RECS_PROPOSE_MENU_WORK,
    RECS_NTYPES
} recs_type;

typedef enum { RECS_LOW = 0, RECS_MEDIUM, RECS_HIGH } recs_impact;

/* One open (active or acknowledged) alert of the client. */
typedef struct recs_alert {
    const char *type;    /* "integration_unhealthy", "job_failure_rate", ... */
    const char *subject; /* for integration_unhealthy: the integration's id */
} recs_alert;

typedef struct recs_inputs {
    const score_result *score;
    const recs_alert *alerts; /* oldest first */
    size_t nalerts;
    /* The integration most recently checked for the client (its health
     * checks), or NULL: the one a suggested job runs on when no alert names
     * one. */
    const char *integration_id;
} recs_inputs;

typedef struct recs_item {
    recs_type type;
    recs_impact impact;
    int confidence;                   /* hundredths: 0 to 100 */
    const char *job_type;             /* the job to create on acceptance, or NULL */
    char integration_id[RECS_ID_MAX]; /* the job's config: {integration_id} */
    char description[RECS_TEXT_MAX];  /* plain words: why, and what to do */
} recs_item;

/* What was decided about one type for the client so far. */
typedef struct recs_history {
    bool open;           /* one is open now */
    int64_t declined_at; /* the latest decline, 0: never */
    int64_t accepted_at; /* the latest acceptance, 0: never */
} recs_history;

/* Every rule that fires, in type order. Returns how many (at most
 * RECS_NTYPES). */
size_t recs_evaluate(const recs_inputs *in, recs_item out[RECS_NTYPES]);

/* Whether a type with this history is not to be suggested at now. */
bool recs_suppressed(const recs_history *h, int64_t now);

/* recs_evaluate without the suppressed types (hist is indexed by type). */
size_t recs_select(const recs_inputs *in, const recs_history hist[RECS_NTYPES], int64_t now,
                   recs_item out[RECS_NTYPES]);

/* Confidence in hundredths of a score s below its threshold t (0 < t):
 * 50 just below, rising linearly to 95 at 0, rounded half up. */
int recs_confidence_below(int s, int t);

/* Names: "check_integration", ...; RECS_NTYPES when s names no type. */
const char *recs_type_name(recs_type t);
const char *recs_type_title(recs_type t);
recs_type recs_type_of(const char *s);
/* NULL-terminated list of the type names. */
extern const char *const recs_type_names[];
/* "low", "medium", "high". */
const char *recs_impact_name(recs_impact i);

#endif
