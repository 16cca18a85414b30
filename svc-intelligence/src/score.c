/* score: the health score's formulas; see score.h and README.md ("Client
 * health"). Each formula is a few lines on purpose: an account manager must
 * be able to redo it by hand from the factor's details. */
#include "score.h"

#include <math.h>
#include <string.h>

static const struct {
    const char *name;
    int weight;
} factor_table[SCORE_NFACTORS] = {
    [SCORE_ENGAGEMENT] = {"engagement", 25},
    [SCORE_AUTOMATION_SUCCESS] = {"automation_success", 20},
    [SCORE_SUPPORT_RESPONSIVENESS] = {"support_responsiveness", 15},
    [SCORE_PAYMENT_HEALTH] = {"payment_health", 15},
    [SCORE_SYSTEM_STABILITY] = {"system_stability", 15},
    [SCORE_GROWTH_POTENTIAL] = {"growth_potential", 10},
};

/* Targets per priority, in hours: first response, resolution. */
static const struct {
    const char *name;
    int response_h, resolution_h;
} prio_table[PRIO_N] = {
    [PRIO_LOW] = {"low", 24, 168},
    [PRIO_NORMAL] = {"normal", 8, 72},
    [PRIO_HIGH] = {"high", 4, 24},
    [PRIO_URGENT] = {"urgent", 1, 8},
};

const char *const score_band_names[] = {"healthy", "at_risk", "critical", "unknown", NULL};

const char *
score_factor_name(score_factor f)
{
    return f < SCORE_NFACTORS ? factor_table[f].name : "?";
}

const char *
score_band_name(score_band b)
{
    switch (b) {
    case SCORE_HEALTHY:
        return "healthy";
    case SCORE_AT_RISK:
        return "at_risk";
    case SCORE_CRITICAL:
        return "critical";
    default:
        return "unknown";
    }
}

score_priority
score_priority_of(const char *s)
{
    for (int p = 0; s && p < PRIO_N; p++)
        if (strcmp(s, prio_table[p].name) == 0)
            return (score_priority)p;
    return PRIO_N;
}

int
score_response_target_h(score_priority p)
{
    return p < PRIO_N ? prio_table[p].response_h : prio_table[PRIO_NORMAL].response_h;
}

int
score_resolution_target_h(score_priority p)
{
    return p < PRIO_N ? prio_table[p].resolution_h : prio_table[PRIO_NORMAL].resolution_h;
}

/* Half up, so 62.5 is 63 on every machine. */
static int
round_half_up(double x)
{
    return (int)floor(x + 0.5);
}

static long
lmin(long a, long b)
{
    return a < b ? a : b;
}

static double
clamp(double x, double lo, double hi)
{
    return x < lo ? lo : x > hi ? hi : x;
}

static void
detail(score_factor_result *f, const char *name, double value, bool is_int)
{
    if (f->ndetails < SCORE_MAX_DETAILS)
        f->details[f->ndetails++] = (score_detail){name, value, false, is_int};
}

static void
detail_time(score_factor_result *f, const char *name, int64_t t)
{
    if (f->ndetails < SCORE_MAX_DETAILS)
        f->details[f->ndetails++] = (score_detail){name, t > 0 ? (double)t : -1, true, false};
}

/* engagement: recency and frequency of activity, each 0-100, averaged.
 * recency = 100 * (30 - days since the last entry) / 30, at least 0;
 * frequency = 5 points per entry in the window, at most 100 (20 entries).
 * No entry ever: no data. */
void
score_engagement(const score_inputs *in, score_factor_result *f)
{
    if (in->last_activity_at <= 0 || in->last_activity_at > in->now) {
        f->has_data = false;
        f->note = "no activity recorded";
        return;
    }
    double days = (double)(in->now - in->last_activity_at) / SCORE_DAY;
    double recency = clamp(100.0 * (30.0 - days) / 30.0, 0, 100);
    double frequency = clamp(5.0 * (double)in->activities_30d, 0, 100);
    f->has_data = true;
    f->score = round_half_up((recency + frequency) / 2.0);
    detail(f, "activities_30d", (double)in->activities_30d, true);
    detail_time(f, "last_activity_at", in->last_activity_at);
    detail(f, "days_since_last_activity", floor(days * 10.0) / 10.0, false);
    detail(f, "recency", round_half_up(recency), true);
    detail(f, "frequency", round_half_up(frequency), true);
}

/* Whether a target of hours was met by `done` (0: not yet) for something
 * started at `from`: done in time, or not done and still within it. */
static bool
target_met(int64_t from, int64_t done, int hours, int64_t now)
{
    int64_t limit = from + (int64_t)hours * 3600;
    if (done > 0 && done <= now)
        return done <= limit;
    return now <= limit;
}

/* support_responsiveness: of the tickets opened in the window, the share of
 * targets met, two per ticket (first response, resolution; targets by
 * priority, a target still running counts as met):
 * 100 * met / (2 * tickets). No ticket in the window: no data. */
void
score_support(const score_inputs *in, score_factor_result *f)
{
    long n = 0, resp = 0, resol = 0, open = 0;
    for (size_t i = 0; i < in->ntickets; i++) {
        const score_ticket *t = &in->tickets[i];
        if (t->opened_at > in->now || t->opened_at <= in->now - SCORE_WINDOW)
            continue;
        n++;
        resp += target_met(t->opened_at, t->first_response_at, score_response_target_h(t->priority),
                           in->now);
        resol += target_met(t->opened_at, t->resolved_at, score_resolution_target_h(t->priority),
                            in->now);
        open += t->resolved_at <= 0 || t->resolved_at > in->now;
    }
    if (n == 0) {
        f->has_data = false;
        f->note = "no ticket opened in the last 30 days";
        return;
    }
    f->has_data = true;
    f->score = round_half_up(100.0 * (double)(resp + resol) / (2.0 * (double)n));
    detail(f, "tickets_30d", (double)n, true);
    detail(f, "response_targets_met", (double)resp, true);
    detail(f, "resolution_targets_met", (double)resol, true);
    detail(f, "open_tickets", (double)open, true);
}

/* payment_health: 100 minus a penalty per invoice, at least 0. Unpaid past
 * its due date: 10 + 2 per whole day overdue, at most 60. Paid a whole day
 * or more late: 2 per day late, at most 20. Paid on time, or not due yet: 0.
 * No invoice due in the window and none still overdue: no data. */
void
score_payments(const score_inputs *in, score_factor_result *f)
{
    long n = 0, overdue = 0, late = 0, max_days = 0, penalty = 0;
    for (size_t i = 0; i < in->ninvoices; i++) {
        const score_invoice *v = &in->invoices[i];
        bool paid = v->paid_at > 0 && v->paid_at <= in->now;
        if (v->due_at > in->now || (paid && v->due_at <= in->now - SCORE_WINDOW))
            continue;
        n++;
        if (!paid && v->due_at < in->now) {
            long days = (long)((in->now - v->due_at) / SCORE_DAY);
            penalty += lmin(10 + 2 * days, 60);
            overdue++;
            if (days > max_days)
                max_days = days;
        } else if (paid && v->paid_at > v->due_at) {
            long days = (long)((v->paid_at - v->due_at) / SCORE_DAY);
            penalty += lmin(2 * days, 20);
            late += days > 0;
        }
    }
    if (n == 0) {
        f->has_data = false;
        f->note = "no invoice due in the last 30 days and none overdue";
        return;
    }
    f->has_data = true;
    f->score = penalty >= 100 ? 0 : (int)(100 - penalty);
    detail(f, "invoices_considered", (double)n, true);
    detail(f, "overdue_invoices", (double)overdue, true);
    detail(f, "max_days_overdue", (double)max_days, true);
    detail(f, "paid_late", (double)late, true);
    detail(f, "penalty", (double)penalty, true);
}

/* growth_potential: 50, plus 20 per accepted quote and per new project, minus
 * 15 per declined or expired quote, plus 10 when more was paid in the window
 * than in the 30 days before (minus 10 when less), within 0-100. Nothing of
 * these in the window (nor payments in the 60 days): no data. */
void
score_growth(const score_inputs *in, score_factor_result *f)
{
    long quotes = in->quotes_accepted + in->quotes_lost + in->quotes_open;
    bool paid = in->paid_cents_30d > 0 || in->paid_cents_prev_30d > 0;
    if (quotes == 0 && in->projects_new == 0 && !paid) {
        f->has_data = false;
        f->note = "no quote, project or payment in the last 30 days";
        return;
    }
    int revenue = 0;
    if (in->paid_cents_30d > in->paid_cents_prev_30d)
        revenue = 10;
    else if (in->paid_cents_30d < in->paid_cents_prev_30d)
        revenue = -10;
    double s = 50.0 + 20.0 * (double)in->quotes_accepted + 20.0 * (double)in->projects_new
               - 15.0 * (double)in->quotes_lost + revenue;
    f->has_data = true;
    f->score = (int)clamp(s, 0, 100);
    detail(f, "quotes_accepted", (double)in->quotes_accepted, true);
    detail(f, "quotes_lost", (double)in->quotes_lost, true);
    detail(f, "quotes_open", (double)in->quotes_open, true);
    detail(f, "projects_new", (double)in->projects_new, true);
    detail(f, "revenue_trend", revenue, true);
}

/* automation_success: the job success rate of the window, recent outcomes
 * weighing double: an outcome of the last 7 days (whole days before now
 * 0-6) counts 2, an older one 1. 100 * weighted completed / weighted
 * (completed + failed). Cancelled jobs are neither. No completed or failed
 * job in the window: no data. */
void
score_automation(const score_inputs *in, score_factor_result *f)
{
    long done = 0, failed = 0, failed_recent = 0, wdone = 0, wfailed = 0;
    for (int d = 0; d < SCORE_WINDOW_DAYS; d++) {
        long w = d < SCORE_RECENT_DAYS ? 2 : 1;
        done += in->jobs_completed[d];
        failed += in->jobs_failed[d];
        wdone += w * in->jobs_completed[d];
        wfailed += w * in->jobs_failed[d];
        if (d < SCORE_RECENT_DAYS)
            failed_recent += in->jobs_failed[d];
    }
    if (done + failed == 0) {
        f->has_data = false;
        f->note = "no job completed or failed in the last 30 days";
        return;
    }
    f->has_data = true;
    f->score = round_half_up(100.0 * (double)wdone / (double)(wdone + wfailed));
    detail(f, "jobs_completed_30d", (double)done, true);
    detail(f, "jobs_failed_30d", (double)failed, true);
    detail(f, "jobs_failed_7d", (double)failed_recent, true);
    detail(f, "jobs_cancelled_30d", (double)in->jobs_cancelled_30d, true);
    detail(f, "success_rate", floor(1000.0 * (double)done / (double)(done + failed)) / 10.0, false);
    detail(f, "weighted_completed", (double)wdone, true);
    detail(f, "weighted_failed", (double)wfailed, true);
}

/* system_stability: the mean of the parts that have data, minus 10 per
 * integration whose latest check of the window is unhealthy (at most 30),
 * within 0-100. Checks part: 100 * (healthy + degraded / 2) / checks. Sync
 * part: 100 * (completed + partial / 2) / runs. No check and no sync run of
 * the client in the window: no data. */
void
score_stability(const score_inputs *in, score_factor_result *f)
{
    long checks = in->checks_healthy + in->checks_degraded + in->checks_unhealthy;
    long runs = in->syncs_completed + in->syncs_partial + in->syncs_failed;
    if (checks == 0 && runs == 0) {
        f->has_data = false;
        f->note = "no integration health check or sync run in the last 30 days";
        return;
    }
    double sum = 0;
    int parts = 0;
    if (checks > 0) {
        sum += 100.0 * ((double)in->checks_healthy + (double)in->checks_degraded / 2.0)
               / (double)checks;
        parts++;
    }
    if (runs > 0) {
        sum +=
            100.0 * ((double)in->syncs_completed + (double)in->syncs_partial / 2.0) / (double)runs;
        parts++;
    }
    long penalty = lmin(SCORE_UNHEALTHY_PENALTY * in->integrations_unhealthy, SCORE_UNHEALTHY_MAX);
    f->has_data = true;
    f->score = (int)clamp(round_half_up(sum / parts - (double)penalty), 0, 100);
    detail(f, "checks_30d", (double)checks, true);
    detail(f, "checks_healthy", (double)in->checks_healthy, true);
    detail(f, "checks_degraded", (double)in->checks_degraded, true);
    detail(f, "checks_unhealthy", (double)in->checks_unhealthy, true);
    detail(f, "integrations_unhealthy_now", (double)in->integrations_unhealthy, true);
    detail(f, "sync_runs_30d", (double)runs, true);
    detail(f, "sync_runs_failed", (double)in->syncs_failed, true);
    detail(f, "sync_runs_partial", (double)in->syncs_partial, true);
}

int
score_overall(score_factor_result f[SCORE_NFACTORS])
{
    long num = 0, den = 0;
    for (int i = 0; i < SCORE_NFACTORS; i++)
        if (f[i].has_data) {
            num += (long)f[i].weight * f[i].score;
            den += f[i].weight;
        }
    for (int i = 0; i < SCORE_NFACTORS; i++)
        f[i].effective_weight =
            f[i].has_data && den > 0 ? round(10000.0 * f[i].weight / (double)den) / 100.0 : 0;
    if (den == 0)
        return -1;
    return (int)((2 * num + den) / (2 * den)); /* half up, in integers */
}

score_band
score_band_of(int overall)
{
    if (overall < 0)
        return SCORE_UNKNOWN;
    if (overall >= 75)
        return SCORE_HEALTHY;
    return overall >= 50 ? SCORE_AT_RISK : SCORE_CRITICAL;
}

bool
score_trend(int overall, const score_past *p, int64_t at, int *delta)
{
    if (overall < 0 || !p->found || p->score < 0 || p->computed_at > at
        || p->computed_at < at - SCORE_WINDOW)
        return false;
    *delta = overall - p->score;
    return true;
}

void
score_compute(const score_inputs *in, score_result *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < SCORE_NFACTORS; i++)
        out->factors[i].weight = factor_table[i].weight;
    score_engagement(in, &out->factors[SCORE_ENGAGEMENT]);
    score_support(in, &out->factors[SCORE_SUPPORT_RESPONSIVENESS]);
    score_payments(in, &out->factors[SCORE_PAYMENT_HEALTH]);
    score_growth(in, &out->factors[SCORE_GROWTH_POTENTIAL]);
    score_automation(in, &out->factors[SCORE_AUTOMATION_SUCCESS]);
    score_stability(in, &out->factors[SCORE_SYSTEM_STABILITY]);
    out->overall = score_overall(out->factors);
    out->band = score_band_of(out->overall);
    out->has_d7 = score_trend(out->overall, &in->past_d7, in->now - 7 * SCORE_DAY, &out->trend_d7);
    out->has_d30 =
        score_trend(out->overall, &in->past_d30, in->now - 30 * SCORE_DAY, &out->trend_d30);
}
