/* alert_rules: see alert_rules.h; the rules are documented in README.md,
 * "Alerts". */
#include "alert_rules.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static const char *const type_names[ALERT_NTYPES] = {
    "score_drop",  "health_critical",   "job_failure_rate", "integration_unhealthy",
    "sync_failed", "usage_over_budget",
};
static const char *const severity_names[SEV_N] = {"low", "medium", "high", "critical"};

const char *
alert_type_name(alert_type t)
{
    return t < ALERT_NTYPES ? type_names[t] : "unknown";
}

const char *
alert_severity_name(alert_severity s)
{
    return s < SEV_N ? severity_names[s] : "unknown";
}

alert_type
alert_type_of(const char *s)
{
    for (int t = 0; s && t < ALERT_NTYPES; t++)
        if (strcmp(s, type_names[t]) == 0)
            return (alert_type)t;
    return ALERT_NTYPES;
}

alert_severity
alert_severity_of(const char *s)
{
    for (int i = 0; s && i < SEV_N; i++)
        if (strcmp(s, severity_names[i]) == 0)
            return (alert_severity)i;
    return SEV_N;
}

static void
verdict(alert_verdict *v, alert_action a)
{
    memset(v, 0, sizeof(*v));
    v->action = a;
}

/* Cut s back to whole UTF-8 characters after a truncating snprintf. */
static void
utf8_trim(char *s)
{
    size_t len = strlen(s), i = len;
    while (i > 0 && ((unsigned char)s[i - 1] & 0xC0) == 0x80)
        i--;
    if (i == 0 || (unsigned char)s[i - 1] < 0xC0)
        return; /* ends in ASCII, or in stray continuation bytes left as they are */
    unsigned char lead = (unsigned char)s[i - 1];
    size_t want = lead >= 0xF0 ? 4 : lead >= 0xE0 ? 3 : 2;
    if (len - (i - 1) < want)
        s[i - 1] = '\0';
}

static void raise_with(alert_verdict *v, alert_severity sev, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
raise_with(alert_verdict *v, alert_severity sev, const char *fmt, ...)
{
    va_list ap;
    v->action = ALERT_RAISE;
    v->severity = sev;
    va_start(ap, fmt);
    if (vsnprintf(v->message, sizeof(v->message), fmt, ap) >= (int)sizeof(v->message))
        utf8_trim(v->message);
    va_end(ap);
}

static void
detail(alert_verdict *v, const char *name, alert_detail_kind kind, int64_t value)
{
    if (v->ndetails < ALERT_MAX_DETAILS)
        v->details[v->ndetails++] = (alert_detail){name, kind, value, ""};
}

static void
detail_text(alert_verdict *v, const char *name, const char *text)
{
    if (v->ndetails >= ALERT_MAX_DETAILS)
        return;
    alert_detail *d = &v->details[v->ndetails++];
    *d = (alert_detail){name, AD_TEXT, 0, ""};
    if (snprintf(d->text, sizeof(d->text), "%s", text) >= (int)sizeof(d->text))
        utf8_trim(d->text);
}

void
alert_score_drop(const alert_scores *in, int64_t now, alert_verdict *v)
{
    verdict(v, ALERT_CLEAR);
    /* The peak counts only inside the 7 days up to now: an older high score
     * has aged out, and with it the drop. */
    if (in->current < 0 || in->peak < 0 || in->peak_at < now - ALERT_DROP_WINDOW
        || in->peak_at > now)
        return;
    int drop = in->peak - in->current;
    if (drop < ALERT_DROP_POINTS)
        return;
    raise_with(v, drop >= ALERT_DROP_HIGH ? SEV_HIGH : SEV_MEDIUM,
               "health score fell %d points within 7 days (from %d to %d)", drop, in->peak,
               in->current);
    detail(v, "score", AD_INT, in->current);
    detail(v, "peak_score", AD_INT, in->peak);
    detail(v, "peak_at", AD_TIME, in->peak_at);
    detail(v, "drop", AD_INT, drop);
}

void
alert_health_critical(const alert_scores *in, alert_verdict *v)
{
    /* An unknown score (no data at all) is no sign of a critical client. */
    verdict(v, ALERT_CLEAR);
    if (in->current < 0 || in->current >= ALERT_CRITICAL_BAR)
        return;
    raise_with(v, SEV_CRITICAL, "health score %d is critical (below %d)", in->current,
               ALERT_CRITICAL_BAR);
    detail(v, "score", AD_INT, in->current);
    detail(v, "computed_at", AD_TIME, in->current_at);
}

void
alert_job_failure_rate(const alert_job *jobs, size_t n, int64_t now, alert_verdict *v)
{
    long total = 0, failed = 0;
    verdict(v, ALERT_CLEAR);
    for (size_t i = 0; i < n; i++) {
        if (jobs[i].finished_at <= now - ALERT_FAIL_WINDOW || jobs[i].finished_at > now)
            continue;
        total++;
        failed += jobs[i].failed;
    }
    /* Too few jobs say nothing: one failure of two is not a trend. */
    if (total < ALERT_FAIL_MIN_JOBS || failed * 100 <= (long)ALERT_FAIL_PCT * total)
        return;
    long pct = (failed * 100 + total / 2) / total;
    raise_with(v, failed * 100 > (long)ALERT_FAIL_HIGH_PCT * total ? SEV_HIGH : SEV_MEDIUM,
               "%ld of %ld jobs finished in the last 24 h failed (%ld%%)", failed, total, pct);
    detail(v, "failed", AD_INT, failed);
    detail(v, "finished", AD_INT, total);
    detail(v, "failure_rate_pct", AD_INT, pct);
}

void
alert_integration_unhealthy(const alert_check *checks, size_t n, alert_verdict *v)
{
    size_t run = 0;
    while (run < n && checks[run].status == CHECK_UNHEALTHY)
        run++;
    if (run >= ALERT_CHECKS_IN_A_ROW) {
        verdict(v, ALERT_RAISE);
        raise_with(v, run >= ALERT_CHECKS_CRITICAL ? SEV_CRITICAL : SEV_HIGH,
                   "integration unhealthy in its last %zu health checks", run);
        detail(v, "unhealthy_in_a_row", AD_INT, (int64_t)run);
        detail(v, "last_checked_at", AD_TIME, checks[0].checked_at);
        return;
    }
    /* Only a healthy check ends it: a degraded one is not yet a recovery. */
    verdict(v, n > 0 && checks[0].status == CHECK_HEALTHY ? ALERT_CLEAR : ALERT_HOLD);
}

void
alert_sync_failed(const alert_run *runs, size_t n, const char *source_type, alert_verdict *v)
{
    if (n == 0 || runs[0].status == RUN_PARTIAL) {
        /* A partial run neither fails nor completes the source. */
        verdict(v, ALERT_HOLD);
        return;
    }
    if (runs[0].status == RUN_COMPLETED) {
        verdict(v, ALERT_CLEAR);
        return;
    }
    size_t run = 0;
    while (run < n && runs[run].status == RUN_FAILED)
        run++;
    verdict(v, ALERT_RAISE);
    if (runs[0].error[0])
        raise_with(v, run >= ALERT_SYNC_HIGH ? SEV_HIGH : SEV_MEDIUM, "%s sync failed: %s",
                   source_type, runs[0].error);
    else
        raise_with(v, run >= ALERT_SYNC_HIGH ? SEV_HIGH : SEV_MEDIUM, "%s sync failed",
                   source_type);
    detail_text(v, "source_type", source_type);
    detail(v, "failed_in_a_row", AD_INT, (int64_t)run);
    detail(v, "finished_at", AD_TIME, runs[0].finished_at);
}

void
alert_period_of(int64_t now, char out[8])
{
    time_t t = (time_t)now;
    struct tm tm;
    char buf[32];
    gmtime_r(&t, &tm);
    snprintf(buf, sizeof(buf), "%04d-%02d", tm.tm_year + 1900, tm.tm_mon + 1);
    memcpy(out, buf, 7);
    out[7] = '\0';
}

/* ten-thousandths as "123.4500" */
static void
money(int64_t v, char *out, size_t cap)
{
    snprintf(out, cap, "%" PRId64 ".%04" PRId64, v / 10000, v % 10000);
}

void
alert_usage_over_budget(const alert_usage *rows, size_t n, int64_t now, alert_verdict *v)
{
    char period[8], cs[32], bs[32];
    int64_t cost = 0, budget = -1, budget_at = 0;
    alert_period_of(now, period);
    verdict(v, ALERT_CLEAR);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(rows[i].period, period) != 0)
            continue;
        cost += rows[i].cost;
        /* The budget is the business's: the newest report that gives one. */
        if (rows[i].budget >= 0 && (budget < 0 || rows[i].reported_at > budget_at)) {
            budget = rows[i].budget;
            budget_at = rows[i].reported_at;
        }
    }
    if (budget < 0 || cost <= budget)
        return;
    money(cost, cs, sizeof(cs));
    money(budget, bs, sizeof(bs));
    raise_with(v, cost >= ALERT_BUDGET_CRITICAL_X * budget ? SEV_CRITICAL : SEV_HIGH,
               "provider cost %s is over the budget %s for %s", cs, bs, period);
    detail_text(v, "period", period);
    detail(v, "cost", AD_MONEY, cost);
    detail(v, "budget", AD_MONEY, budget);
}

alert_effect
alert_effect_of(alert_action a, bool sweep)
{
    if (a == ALERT_CLEAR)
        return ALERT_DO_RESOLVE;
    return a == ALERT_RAISE && !sweep ? ALERT_DO_UPSERT : ALERT_DO_NOTHING;
}

bool
alert_sync_subject(const char *client_id, const char *source_type, char *out, size_t cap)
{
    if (!source_type || !*source_type || strchr(source_type, '/'))
        return false;
    int w = client_id && *client_id ? snprintf(out, cap, "%s/%s", client_id, source_type)
                                    : snprintf(out, cap, "%s", source_type);
    return w > 0 && (size_t)w < cap && w <= ALERT_SUBJECT_MAX;
}

bool
alert_sync_subject_parse(const char *subject, char *client_id, size_t ccap, char *source_type,
                         size_t scap)
{
    const char *slash = strchr(subject, '/');
    size_t clen = slash ? (size_t)(slash - subject) : 0;
    const char *src = slash ? slash + 1 : subject;
    if (clen >= ccap || strlen(src) >= scap || !*src)
        return false;
    memcpy(client_id, subject, clen);
    client_id[clen] = '\0';
    snprintf(source_type, scap, "%s", src);
    return true;
}
