/* decide: the scheduling decision engine of issue 6 (POST /decide, GET
 * /schedule/recommendations), in plain C. Prefix decide_. No SQL, HTTP or
 * NATS here: the caller gathers the facts (the client's zone and health, its
 * integrations' checks, recent failures, the queue's load and scheduled
 * jobs) and gets a result that depends on them and `now` alone.
 *
 * The week: every 15-minute slot from `now` rounded up to the next quarter
 * hour, for 7 days, within not_before and not_after (the start of the
 * job). Slots are UTC instants; each is read in the client's local time, so
 * a local time skipped by a spring-forward change never appears and the
 * repeated hour of an autumn change appears twice, as two distinct UTC
 * slots. Every offset in use today is a multiple of 15 minutes, so a UTC
 * quarter hour is a local quarter hour. The scoring rules and weights are
 * the DECIDE_W_* below (README "Scheduling decisions"). */
#ifndef INTEL_DECIDE_H
#define INTEL_DECIDE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "json.h"

#define DECIDE_SLOT_S       900
#define DECIDE_DAYS         7
#define DECIDE_NSLOTS       (DECIDE_DAYS * 96)
#define DECIDE_MAX_TIMES    48 /* preferred_times, and avoid_times */
#define DECIDE_MAX_DURATION 1440
#define DECIDE_DEF_DURATION 30
#define DECIDE_MAX_ALTS     5
#define DECIDE_MAX_RISKS    4
#define DECIDE_OWN_MAX      1000 /* the client's scheduled jobs considered */
#define DECIDE_JOB_MINUTES  30   /* how long another scheduled job is taken to run */
#define DECIDE_TEXT         1024

/* Points (README "Scheduling decisions"). A slot starts at DECIDE_W_BASE. */
#define DECIDE_W_BASE      100.0
#define DECIDE_W_PREFERRED 40.0 /* at a preferred time, falling to 0 at 2 hours away */
#define DECIDE_PREF_RANGE  120  /* minutes */
#define DECIDE_W_SERVICE   30.0 /* minus, when the job's span meets service hours */
#define DECIDE_W_LOAD      20.0 /* minus, times the hour's load over the busiest hour's */
#define DECIDE_W_OVERLAP   25.0 /* minus, when it overlaps another job of the client */
#define DECIDE_W_NEAR      10.0 /* minus, when one starts within 30 minutes of it */
#define DECIDE_W_LATER     5.0  /* minus, times how far into the week the slot is */
#define DECIDE_MARGIN_FULL 20.0 /* a margin of this many points gives full margin confidence */

/* A zone of the system's database (decide_tz.c): parsed once per process
 * and kept (never freed), safe to use from any thread. */
typedef struct decide_zone decide_zone;
/* NULL when name is not a loadable IANA zone. */
const decide_zone *decide_zone_load(const char *name);
const char *decide_zone_name(const decide_zone *z);
/* Seconds east of UTC at instant t. */
int decide_zone_offset(const decide_zone *z, int64_t t);

/* NULL-terminated: the job types of DESIGN section 5. */
extern const char *const decide_job_types[];

/* A local time window, minutes of the day: [start, end), crossing midnight
 * when end <= start. */
typedef struct decide_window {
    int start, end;
} decide_window;

typedef struct decide_request {
    const char *context;
    const char *client_id;
    const char *job_type; /* NULL: any */
    int duration;         /* minutes, 1..DECIDE_MAX_DURATION */
    int preferred[DECIDE_MAX_TIMES];
    size_t npreferred;
    decide_window avoid[DECIDE_MAX_TIMES];
    size_t navoid;
    bool has_not_before, has_not_after;
    int64_t not_before, not_after;
    bool has_now; /* given in the request */
    int64_t now;
} decide_request;

/* Parse and check a POST /decide body (field names as the API's; errors
 * name the field: "constraints.avoid_times[2]"). now: the clock, used when
 * the body has none. Strings point into body. */
js_status decide_parse(json_object *body, int64_t now, decide_request *out, js_err *err);
/* "HH:MM" as minutes of the day, or -1. */
int decide_parse_hhmm(const char *s);

/* What the engine knows besides the request. */
typedef struct decide_facts {
    const decide_zone *zone;
    bool has_load;          /* automation.stats answered */
    double hourly_load[24]; /* jobs started per UTC hour */
    const int64_t *own;     /* start times of the client's other scheduled jobs */
    size_t nown;
    const char *health;                    /* the latest health status, NULL when never scored */
    int integrations, unhealthy, degraded; /* by latest check */
    int failures_7d, failures_24h;         /* of the same job type */
    const char *last_error;                /* of the latest such failure, may be NULL */
} decide_facts;

typedef struct decide_slot {
    int64_t at; /* UTC */
    int offset; /* the zone's offset then, seconds */
    int local;  /* minutes of the local day */
    double score;
    double pref_pts, service_pts, load_pts, own_pts, later_pts;
} decide_slot;

typedef enum { DECIDE_SCHEDULE = 0, DECIDE_RUN_NOW, DECIDE_DEFER } decide_kind;

typedef struct decide_risk {
    const char *code;     /* integration_unhealthy, integration_degraded,
                             health_critical, recent_failures */
    const char *severity; /* low medium high */
    char message[256];
    char action[256];
} decide_risk;

/* Which constraint left no slot (decide_run returned false). */
typedef struct decide_empty {
    const char *field; /* "constraints.not_before", ... */
    char message[384];
} decide_empty;

typedef struct decide_result {
    decide_kind kind;
    decide_slot best;
    decide_slot alts[DECIDE_MAX_ALTS];
    size_t nalts;
    size_t candidates; /* slots left after the constraints */
    double confidence;
    char reasoning[DECIDE_TEXT];
    char alt_reasoning[DECIDE_MAX_ALTS][512];
    decide_risk risks[DECIDE_MAX_RISKS];
    size_t nrisks;
} decide_result;

/* Decide. false when the constraints leave no slot (*empty says which). */
bool decide_run(const decide_request *q, const decide_facts *f, decide_result *out,
                decide_empty *empty);
const char *decide_kind_name(decide_kind k);
/* {decision, scheduled_for, local_time, timezone, confidence, reasoning,
 * alternatives, risk_factors, recommended_actions}: a new object. */
json_object *decide_json(const decide_result *r, const decide_facts *f);
/* A JSON number written with the given decimals ("0.85", not
 * 0.84999999999999998). */
json_object *decide_number(double v, int decimals);

/* The best local time of day for a daily job_type over the week from now:
 * every slot scored as decide_run does without constraints (but for "sooner
 * is better"), then averaged per time of day. after (may be NULL): another
 * daily job's slot to keep clear of, as if it were scheduled every day. */
typedef struct decide_daily {
    const char *job_type;
    int local;    /* minutes of the day */
    double score; /* the average */
    int64_t next; /* the next such slot, UTC */
    char reasoning[512];
} decide_daily;
void decide_best_daily(const char *job_type, int64_t now, const decide_facts *f,
                       const decide_daily *after, decide_daily *out);

#endif
