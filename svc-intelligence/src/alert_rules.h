/* alert_rules: the rules that raise and clear alerts (issue 6, README
 * "Alerts"), in plain C. Prefix alert_. No SQL, HTTP, NATS or JSON here: the
 * store gathers each rule's facts into the structs below, a rule decides,
 * alerting.c applies the verdict. The same facts and the same `now` (seconds
 * since the epoch) always give the same verdict.
 *
 * A verdict raises (or keeps, with a fresh message and severity) the one open
 * alert of its type and subject, clears it (the condition is over: the open
 * alert is resolved), or holds (the facts say neither: an open alert stays as
 * it is and none is raised). */
#ifndef INTEL_ALERT_RULES_H
#define INTEL_ALERT_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ALERT_DAY ((int64_t)86400)

/* score_drop: a fall of this many points from the highest score of the last
 * 7 days; ALERT_DROP_HIGH points or more is high, less medium. */
#define ALERT_DROP_POINTS  15
#define ALERT_DROP_HIGH    30
#define ALERT_DROP_WINDOW  (7 * ALERT_DAY)
#define ALERT_CRITICAL_BAR 50 /* the `critical` band: below this score */
/* job_failure_rate: over ALERT_FAIL_PCT percent of at least ALERT_FAIL_MIN_JOBS
 * jobs finished (completed or failed) in the last 24 h; over ALERT_FAIL_HIGH_PCT
 * percent is high, else medium. */
#define ALERT_FAIL_WINDOW   ALERT_DAY
#define ALERT_FAIL_PCT      20
#define ALERT_FAIL_HIGH_PCT 50
#define ALERT_FAIL_MIN_JOBS 5
/* integration_unhealthy: this many unhealthy checks in a row (high);
 * ALERT_CHECKS_CRITICAL in a row is critical. */
#define ALERT_CHECKS_IN_A_ROW 3
#define ALERT_CHECKS_CRITICAL 10
/* sync_failed: the last ALERT_SYNC_HIGH runs all failed is high, else medium. */
#define ALERT_SYNC_HIGH 3
/* usage_over_budget: cost over budget is high; ALERT_BUDGET_CRITICAL_X times
 * the budget or more is critical. */
#define ALERT_BUDGET_CRITICAL_X 2

#define ALERT_SUBJECT_MAX 200 /* bytes, as the table allows */
#define ALERT_MESSAGE_MAX 600 /* bytes, below the table's 1000 characters */
#define ALERT_MAX_DETAILS 6

typedef enum {
    ALERT_SCORE_DROP = 0,
    ALERT_HEALTH_CRITICAL,
    ALERT_JOB_FAILURE_RATE,
    ALERT_INTEGRATION_UNHEALTHY,
    ALERT_SYNC_FAILED,
    ALERT_USAGE_OVER_BUDGET,
    ALERT_NTYPES
} alert_type;

typedef enum { SEV_LOW = 0, SEV_MEDIUM, SEV_HIGH, SEV_CRITICAL, SEV_N } alert_severity;

typedef enum { ALERT_HOLD = 0, ALERT_RAISE, ALERT_CLEAR } alert_action;

/* A figure the verdict came from: an integer, a time (seconds since the
 * epoch, rendered RFC 3339), money (ten-thousandths, rendered as a decimal
 * string) or a text. */
typedef enum { AD_INT = 0, AD_TIME, AD_MONEY, AD_TEXT } alert_detail_kind;
typedef struct alert_detail {
    const char *name;
    alert_detail_kind kind;
    int64_t value;
    char text[64];
} alert_detail;

typedef struct alert_verdict {
    alert_action action;
    alert_severity severity; /* when raising */
    char message[ALERT_MESSAGE_MAX + 1];
    alert_detail details[ALERT_MAX_DETAILS];
    size_t ndetails;
} alert_verdict;

/* A client's scores: the latest stored one, and the highest stored in the 7
 * days up to now (-1 for none, or an unknown score). */
typedef struct alert_scores {
    int current; /* -1: no score, or unknown */
    int64_t current_at;
    int peak; /* -1: none in the window */
    int64_t peak_at;
} alert_scores;

/* A finished job of a client. */
typedef struct alert_job {
    int64_t finished_at;
    bool failed; /* else completed; cancelled jobs are not given */
} alert_job;

typedef enum { CHECK_HEALTHY = 0, CHECK_DEGRADED, CHECK_UNHEALTHY } alert_check_status;
/* An integration's health checks, newest first. */
typedef struct alert_check {
    alert_check_status status;
    int64_t checked_at;
} alert_check;

typedef enum { RUN_COMPLETED = 0, RUN_PARTIAL, RUN_FAILED } alert_run_status;
/* A sync source's runs (for one client, or without a client), newest first. */
typedef struct alert_run {
    alert_run_status status;
    int64_t finished_at;
    char error[200]; /* the first 48 characters of its error, or "" */
} alert_run;

/* A business's usage report for one provider and period. */
typedef struct alert_usage {
    char period[8]; /* YYYY-MM */
    int64_t cost;   /* ten-thousandths */
    int64_t budget; /* ten-thousandths; -1: none reported */
    int64_t reported_at;
} alert_usage;

void alert_score_drop(const alert_scores *in, int64_t now, alert_verdict *v);
void alert_health_critical(const alert_scores *in, alert_verdict *v);
void alert_job_failure_rate(const alert_job *jobs, size_t n, int64_t now, alert_verdict *v);
void alert_integration_unhealthy(const alert_check *checks, size_t n, alert_verdict *v);
void alert_sync_failed(const alert_run *runs, size_t n, const char *source_type, alert_verdict *v);
void alert_usage_over_budget(const alert_usage *rows, size_t n, int64_t now, alert_verdict *v);

/* What an evaluation does with a verdict: after a score or an event, a raise
 * opens the alert or updates the open one (one more occurrence) and a clear
 * resolves it; the periodic sweep only resolves, never raising nor counting.
 * A hold does nothing. */
typedef enum { ALERT_DO_NOTHING = 0, ALERT_DO_UPSERT, ALERT_DO_RESOLVE } alert_effect;
alert_effect alert_effect_of(alert_action a, bool sweep);

/* The subject of a sync_failed alert: "<client_id>/<source_type>", or
 * "<source_type>" without a client. False when it would be too long. */
bool alert_sync_subject(const char *client_id, const char *source_type, char *out, size_t cap);
/* The reverse: client_id (or "" when none) and source_type of a subject. */
bool alert_sync_subject_parse(const char *subject, char *client_id, size_t ccap, char *source_type,
                              size_t scap);
/* The period (YYYY-MM, UTC) now falls in; out holds 8 bytes. */
void alert_period_of(int64_t now, char out[8]);

/* Names: "score_drop" ...; "low" ...; ALERT_NTYPES / SEV_N when unknown. */
const char *alert_type_name(alert_type t);
const char *alert_severity_name(alert_severity s);
alert_type alert_type_of(const char *s);
alert_severity alert_severity_of(const char *s);

#endif
