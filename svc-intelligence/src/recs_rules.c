/* recs_rules: the recommendation rules; see recs_rules.h and README.md
 * ("Recommendations"). Each rule reads a factor's score and details (the
 * same figures the health answer shows) and the client's open alerts, so an
 * account manager can tell from the description why it fired. */
#include "recs_rules.h"

#include <stdio.h>
#include <string.h>

#include "util.h"

typedef bool (*recs_rule)(const recs_inputs *in, recs_item *it);

static bool rule_integration(const recs_inputs *in, recs_item *it);
static bool rule_automation(const recs_inputs *in, recs_item *it);
static bool rule_escalate(const recs_inputs *in, recs_item *it);
static bool rule_check_in(const recs_inputs *in, recs_item *it);
static bool rule_invoices(const recs_inputs *in, recs_item *it);
static bool rule_tickets(const recs_inputs *in, recs_item *it);
static bool rule_menu(const recs_inputs *in, recs_item *it);

static const struct {
    const char *name, *title;
    recs_rule rule;
} type_table[RECS_NTYPES] = {
    [RECS_CHECK_INTEGRATION] = {"check_integration", "Check the Toast integration",
                                rule_integration},
    [RECS_REVIEW_AUTOMATION] = {"review_automation", "Review failing automation", rule_automation},
    [RECS_ESCALATE_ACCOUNT] = {"escalate_account", "Escalate the account", rule_escalate},
    [RECS_SCHEDULE_CHECK_IN] = {"schedule_check_in", "Schedule a check-in", rule_check_in},
    [RECS_FOLLOW_UP_INVOICES] = {"follow_up_invoices", "Follow up on overdue invoices",
                                 rule_invoices},
    [RECS_REVIEW_OPEN_TICKETS] = {"review_open_tickets", "Review open support tickets",
                                  rule_tickets},
    [RECS_PROPOSE_MENU_WORK] = {"propose_menu_work", "Propose menu work", rule_menu},
};

const char *const recs_type_names[] = {
    "check_integration",  "review_automation",   "escalate_account",  "schedule_check_in",
    "follow_up_invoices", "review_open_tickets", "propose_menu_work", NULL};

const char *
recs_type_name(recs_type t)
{
    return t < RECS_NTYPES ? type_table[t].name : "?";
}

const char *
recs_type_title(recs_type t)
{
    return t < RECS_NTYPES ? type_table[t].title : "?";
}

recs_type
recs_type_of(const char *s)
{
    for (int t = 0; s && t < RECS_NTYPES; t++)
        if (strcmp(s, type_table[t].name) == 0)
            return (recs_type)t;
    return RECS_NTYPES;
}

const char *
recs_impact_name(recs_impact i)
{
    switch (i) {
    case RECS_HIGH:
        return "high";
    case RECS_MEDIUM:
        return "medium";
    default:
        return "low";
    }
}

int
recs_confidence_below(int s, int t)
{
    if (t <= 0)
        return 50;
    if (s < 0)
        s = 0;
    if (s >= t)
        return 50;
    return 50 + (45 * (t - s) * 2 + t) / (2 * t); /* half up, in integers */
}

/* The factor's score, or false when it has no data. */
static bool
factor(const recs_inputs *in, score_factor f, int *score)
{
    const score_factor_result *r = &in->score->factors[f];
    if (!r->has_data)
        return false;
    *score = r->score;
    return true;
}

/* A detail of a factor, 0 when it has none of that name. */
static long
detail(const recs_inputs *in, score_factor f, const char *name)
{
    const score_factor_result *r = &in->score->factors[f];
    for (size_t i = 0; i < r->ndetails; i++)
        if (strcmp(r->details[i].name, name) == 0)
            return r->details[i].value < 0 ? 0 : (long)r->details[i].value;
    return 0;
}

/* The first open alert of the type, or NULL. */
static const recs_alert *
alert_of(const recs_inputs *in, const char *type)
{
    for (size_t i = 0; i < in->nalerts; i++)
        if (in->alerts[i].type && strcmp(in->alerts[i].type, type) == 0)
            return &in->alerts[i];
    return NULL;
}

static void
bump(recs_item *it, recs_impact impact, int confidence)
{
    if (impact > it->impact)
        it->impact = impact;
    if (confidence > it->confidence)
        it->confidence = confidence;
}

/* A job on an integration: the one named (when it is a UUID), else the
 * client's latest; none known, no job. */
static void
job_on(const recs_inputs *in, recs_item *it, const char *job_type, const char *named)
{
    const char *id = named && util_uuid_valid(named) ? named : in->integration_id;
    if (!id || !util_uuid_valid(id))
        return;
    it->job_type = job_type;
    util_strlcpy(it->integration_id, id, sizeof(it->integration_id));
}

static const char no_integration[] =
    " No integration of this client is known yet: check its integrations by hand.";

/* An open integration_unhealthy alert (high, 0.90), or system_stability
 * below 60 (high below 40, else medium). Job: health_check. */
static bool
rule_integration(const recs_inputs *in, recs_item *it)
{
    const recs_alert *a = alert_of(in, "integration_unhealthy");
    int s = 0;
    bool low = factor(in, SCORE_SYSTEM_STABILITY, &s) && s < 60;
    if (!a && !low)
        return false;
    if (a)
        bump(it, RECS_HIGH, 90);
    if (low)
        bump(it, s < 40 ? RECS_HIGH : RECS_MEDIUM, recs_confidence_below(s, 60));
    job_on(in, it, "health_check", a ? a->subject : NULL);
    if (a)
        snprintf(it->description, sizeof(it->description),
                 "Integration %.40s failed its health checks (an open integration_unhealthy "
                 "alert). Run a health check to see whether it has recovered.%s",
                 a->subject ? a->subject : "?", it->job_type ? "" : no_integration);
    else
        snprintf(it->description, sizeof(it->description),
                 "System stability is %d/100 (below 60). Run a health check of the "
                 "integration.%s",
                 s, it->job_type ? "" : no_integration);
    return true;
}

/* An open job_failure_rate alert (high, 0.85), or automation_success below
 * 70 (high below 40, else medium). Job: health_check, since failing jobs
 * often come from a broken connection. */
static bool
rule_automation(const recs_inputs *in, recs_item *it)
{
    const recs_alert *a = alert_of(in, "job_failure_rate");
    int s = 0;
    bool low = factor(in, SCORE_AUTOMATION_SUCCESS, &s) && s < 70;
    if (!a && !low)
        return false;
    if (a)
        bump(it, RECS_HIGH, 85);
    if (low)
        bump(it, s < 40 ? RECS_HIGH : RECS_MEDIUM, recs_confidence_below(s, 70));
    job_on(in, it, "health_check", NULL);
    char why[96];
    if (low)
        snprintf(why, sizeof(why), "Automation success is %d/100 (below 70)", s);
    else
        snprintf(why, sizeof(why),
                 "Jobs of this client fail often (an open job_failure_rate "
                 "alert)");
    snprintf(it->description, sizeof(it->description),
             "%s. Review the failed jobs; a health check of the integration rules out a broken "
             "connection.%s",
             why, it->job_type ? "" : no_integration);
    return true;
}

/* The overall score is critical (below 50), or a health_critical or
 * score_drop alert is open (0.80). Always high. No job. */
static bool
rule_escalate(const recs_inputs *in, recs_item *it)
{
    const recs_alert *a = alert_of(in, "health_critical");
    const recs_alert *d = alert_of(in, "score_drop");
    int overall = in->score->overall;
    bool critical = overall >= 0 && overall < 50;
    if (!a && !d && !critical)
        return false;
    it->impact = RECS_HIGH;
    if (a || d)
        bump(it, RECS_HIGH, 80);
    if (critical)
        bump(it, RECS_HIGH, recs_confidence_below(overall, 50));
    if (critical)
        snprintf(it->description, sizeof(it->description),
                 "The health score is %d/100 (critical). Escalate to the account owner and "
                 "agree on a recovery plan with the client.",
                 overall);
    else
        snprintf(it->description, sizeof(it->description),
                 "The health score %s (an open %s alert). Escalate to the account owner and "
                 "agree on a recovery plan with the client.",
                 a ? "became critical" : "dropped sharply", a ? "health_critical" : "score_drop");
    return true;
}

/* engagement below 50 (high below 25, else medium). No job. */
static bool
rule_check_in(const recs_inputs *in, recs_item *it)
{
    int s = 0;
    if (!factor(in, SCORE_ENGAGEMENT, &s) || s >= 50)
        return false;
    bump(it, s < 25 ? RECS_HIGH : RECS_MEDIUM, recs_confidence_below(s, 50));
    snprintf(it->description, sizeof(it->description),
             "Engagement is %d/100: %ld activities in the last 30 days, the last %ld days ago. "
             "Schedule a check-in call with the client.",
             s, detail(in, SCORE_ENGAGEMENT, "activities_30d"),
             detail(in, SCORE_ENGAGEMENT, "days_since_last_activity"));
    return true;
}

/* payment_health below 80 with an invoice overdue (high when one is 30 days
 * overdue or more, or the score is below 40; else medium). No job. */
static bool
rule_invoices(const recs_inputs *in, recs_item *it)
{
    int s = 0;
    long overdue = detail(in, SCORE_PAYMENT_HEALTH, "overdue_invoices");
    long days = detail(in, SCORE_PAYMENT_HEALTH, "max_days_overdue");
    if (!factor(in, SCORE_PAYMENT_HEALTH, &s) || s >= 80 || overdue < 1)
        return false;
    bump(it, days >= 30 || s < 40 ? RECS_HIGH : RECS_MEDIUM, recs_confidence_below(s, 80));
    snprintf(it->description, sizeof(it->description),
             "%ld invoice%s overdue, the oldest by %ld days (payment health %d/100). Follow up "
             "with the client on payment.",
             overdue, overdue == 1 ? " is" : "s are", days, s);
    return true;
}

/* support_responsiveness below 60 (high below 30, else medium). No job. */
static bool
rule_tickets(const recs_inputs *in, recs_item *it)
{
    int s = 0;
    if (!factor(in, SCORE_SUPPORT_RESPONSIVENESS, &s) || s >= 60)
        return false;
    bump(it, s < 30 ? RECS_HIGH : RECS_MEDIUM, recs_confidence_below(s, 60));
    snprintf(it->description, sizeof(it->description),
             "Support responsiveness is %d/100: of %ld tickets opened in the last 30 days, %ld "
             "first responses and %ld resolutions met their targets, and %ld are open. Review "
             "the open tickets.",
             s, detail(in, SCORE_SUPPORT_RESPONSIVENESS, "tickets_30d"),
             detail(in, SCORE_SUPPORT_RESPONSIVENESS, "response_targets_met"),
             detail(in, SCORE_SUPPORT_RESPONSIVENESS, "resolution_targets_met"),
             detail(in, SCORE_SUPPORT_RESPONSIVENESS, "open_tickets"));
    return true;
}

/* growth_potential 80 or more with an accepted quote: an opportunity,
 * medium; confidence 0.50 at 80 rising 2.5 points per point to at most 0.90.
 * Job: menu_sync, so the proposal starts from the current menu. */
static bool
rule_menu(const recs_inputs *in, recs_item *it)
{
    int s = 0;
    long accepted = detail(in, SCORE_GROWTH_POTENTIAL, "quotes_accepted");
    if (!factor(in, SCORE_GROWTH_POTENTIAL, &s) || s < 80 || accepted < 1)
        return false;
    int c = 50 + (5 * (s - 80) + 1) / 2;
    bump(it, RECS_MEDIUM, c > 90 ? 90 : c);
    job_on(in, it, "menu_sync", NULL);
    snprintf(it->description, sizeof(it->description),
             "Growth potential is %d/100 with %ld accepted quote%s in the last 30 days. Propose "
             "menu work; %s",
             s, accepted, accepted == 1 ? "" : "s",
             it->job_type ? "syncing the menu first gives the proposal the current menu."
                          : "no integration is known, so start from the client's own menu.");
    return true;
}

size_t
recs_evaluate(const recs_inputs *in, recs_item out[RECS_NTYPES])
{
    size_t n = 0;
    for (int t = 0; t < RECS_NTYPES; t++) {
        recs_item *it = &out[n];
        memset(it, 0, sizeof(*it));
        it->type = (recs_type)t;
        if (type_table[t].rule(in, it))
            n++;
    }
    return n;
}

bool
recs_suppressed(const recs_history *h, int64_t now)
{
    if (h->open)
        return true;
    if (h->declined_at > 0 && now < h->declined_at + RECS_DECLINE_QUIET)
        return true;
    return h->accepted_at > 0 && now < h->accepted_at + RECS_ACCEPT_QUIET;
}

size_t
recs_select(const recs_inputs *in, const recs_history hist[RECS_NTYPES], int64_t now,
            recs_item out[RECS_NTYPES])
{
    size_t n = recs_evaluate(in, out), kept = 0;
    for (size_t i = 0; i < n; i++)
        if (!recs_suppressed(&hist[out[i].type], now))
            out[kept++] = out[i];
    return kept;
}
