/* decide_text: the words of a decision: its risk factors, recommended
 * actions and reasoning, and its JSON; see decide.h. Plain text built from
 * the slot's score parts, so the same inputs give the same words. */
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "decide_internal.h"
#include "util.h"

typedef struct text {
    char *buf;
    size_t cap, len;
} text;

__attribute__((format(printf, 2, 3))) static void
add(text *t, const char *fmt, ...)
{
    if (t->len + 1 >= t->cap)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(t->buf + t->len, t->cap - t->len, fmt, ap);
    va_end(ap);
    if (n > 0)
        t->len = t->len + (size_t)n < t->cap ? t->len + (size_t)n : t->cap - 1;
}

/* "Tue 2026-09-22 09:00" in the slot's local time. */
static void
local_text(const decide_slot *s, char *out, size_t cap)
{
    time_t t = (time_t)(s->at + s->offset);
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, cap, "%a %Y-%m-%d %H:%M", &tm);
}

/* RFC 3339 with the local offset: "2026-09-22T09:00:00-04:00". */
static void
local_rfc3339(const decide_slot *s, char *out, size_t cap)
{
    time_t t = (time_t)(s->at + s->offset);
    struct tm tm;
    char base[24];
    int off = s->offset < 0 ? -s->offset : s->offset;
    gmtime_r(&t, &tm);
    strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out, cap, "%s%c%02d:%02d", base, s->offset < 0 ? '-' : '+', off / 3600,
             off % 3600 / 60);
}

static void
utc_rfc3339(int64_t at, char *out)
{
    struct timespec ts = {.tv_sec = (time_t)at, .tv_nsec = 0};
    util_rfc3339(&ts, out);
}

static bool
is_toast_job(const char *job_type)
{
    static const char *const toast[] = {"menu_build",  "menu_sync",     "item_create",
                                        "item_update", "modifier_sync", "golden_copy",
                                        NULL};
    for (size_t i = 0; job_type && toast[i]; i++)
        if (strcmp(job_type, toast[i]) == 0)
            return true;
    return false;
}

static decide_risk *
risk(decide_result *r, const char *code, const char *severity)
{
    decide_risk *k = &r->risks[r->nrisks++];
    k->code = code;
    k->severity = severity;
    return k;
}

void
decide_risks(const decide_request *q, const decide_facts *f, decide_result *r)
{
    const char *jt = q->job_type ? q->job_type : "this job";
    if (f->unhealthy > 0) {
        decide_risk *k =
            risk(r, "integration_unhealthy", is_toast_job(q->job_type) ? "high" : "medium");
        snprintf(k->message, sizeof(k->message),
                 "%d of the client's %d integrations failed their latest health check",
                 f->unhealthy, f->integrations);
        snprintf(k->action, sizeof(k->action),
                 "run a health_check and fix the failing integration (credentials, POS access) "
                 "before %s runs",
                 jt);
    }
    if (f->degraded > 0) {
        decide_risk *k = risk(r, "integration_degraded", "low");
        snprintf(k->message, sizeof(k->message),
                 "%d of the client's %d integrations were degraded at their latest health check",
                 f->degraded, f->integrations);
        snprintf(k->action, sizeof(k->action),
                 "watch the integration's next health checks; slow answers may make %s slow", jt);
    }
    if (f->health && strcmp(f->health, "critical") == 0) {
        decide_risk *k = risk(r, "health_critical", "medium");
        snprintf(k->message, sizeof(k->message), "the client's health score is critical");
        snprintf(k->action, sizeof(k->action),
                 "review the client's health (GET /api/intelligence/clients/%s/health) and its "
                 "active alerts",
                 q->client_id ? q->client_id : "{id}");
    }
    if (q->job_type && f->failures_7d > 0) {
        decide_risk *k = risk(r, "recent_failures", f->failures_24h >= 3 ? "high" : "medium");
        snprintf(k->message, sizeof(k->message),
                 "%s failed %d time%s in the last 7 days (%d in the last 24 hours)%s%.80s",
                 q->job_type, f->failures_7d, f->failures_7d == 1 ? "" : "s", f->failures_24h,
                 f->last_error ? "; last error: " : "", f->last_error ? f->last_error : "");
        snprintf(k->action, sizeof(k->action),
                 "look at the last failed %s job's error and fix its cause before it runs again",
                 q->job_type);
    }
}

/* The reasons a slot scored as it did, joined by "; ". */
static void
reasons(const decide_request *q, const decide_facts *f, double peak, const decide_slot *s, text *t)
{
    if (s->pref_pts > 0) {
        int best = 0;
        for (size_t p = 1; p < q->npreferred; p++)
            if (decide_tod_distance(s->local, q->preferred[p])
                < decide_tod_distance(s->local, q->preferred[best]))
                best = (int)p;
        int d = decide_tod_distance(s->local, q->preferred[best]);
        if (d == 0)
            add(t, "at the preferred time %02d:%02d", q->preferred[best] / 60,
                q->preferred[best] % 60);
        else
            add(t, "%d minutes from the preferred time %02d:%02d", d, q->preferred[best] / 60,
                q->preferred[best] % 60);
    } else if (q->npreferred) {
        add(t, "more than two hours from every preferred time");
    } else {
        add(t, "no preferred time was given");
    }
    bool meets = false;
    for (size_t i = 0; i < DECIDE_NSERVICE; i++)
        meets |= decide_overlaps(s->local, q->duration, decide_service[i]);
    if (s->service_pts < 0)
        add(t, "; it runs into the restaurant's service hours (no better slot was open)");
    else if (meets)
        add(t, "; it runs in service hours, allowed because a preferred time is inside them");
    else
        add(t, "; outside the restaurant's service hours (11:00-14:00, 17:00-21:00)");
    if (peak > 0) {
        int h = (int)((s->at % 86400 + 86400) % 86400 / 3600);
        add(t, "; the queue's load at %02d:00 UTC is %.1f jobs an hour against a peak of %.1f", h,
            f->hourly_load[h], peak);
    } else if (f->has_load) {
        add(t, "; the queue has had no load at any hour");
    }
    if (s->own_pts <= -DECIDE_W_OVERLAP)
        add(t, "; it overlaps another scheduled job of this client");
    else if (s->own_pts < 0)
        add(t, "; another job of this client starts within 30 minutes of it");
    else if (f->nown > 0)
        add(t, "; clear of the client's %zu other scheduled job%s", f->nown,
            f->nown == 1 ? "" : "s");
    else
        add(t, "; no other job of this client is scheduled then");
}

static void
decision_sentence(const decide_result *r, const char *local, const char *zone, text *t)
{
    if (r->kind == DECIDE_DEFER) {
        for (size_t i = 0; i < r->nrisks; i++)
            if (strcmp(r->risks[i].severity, "high") == 0) {
                add(t, "Defer: %s; fix that first, then run at %s %s. ", r->risks[i].message, local,
                    zone);
                return;
            }
    }
    if (r->kind == DECIDE_RUN_NOW)
        add(t, "Run now: the earliest slot, %s %s, is also the best. ", local, zone);
    else
        add(t, "Schedule for %s %s. ", local, zone);
}

void
decide_explain(const decide_request *q, const decide_facts *f, double peak,
               const decide_slot *other, decide_result *r)
{
    text t = {r->reasoning, sizeof(r->reasoning), 0};
    char local[40];
    const char *zone = decide_zone_name(f->zone);
    local_text(&r->best, local, sizeof(local));
    decision_sentence(r, local, zone, &t);
    add(&t, "It scored %.1f points, the best of %zu open slots: ", r->best.score, r->candidates);
    reasons(q, f, peak, &r->best, &t);
    add(&t, ".");
    if (other) {
        local_text(other, local, sizeof(local));
        add(&t, " The best other time of day, %s, scored %.1f.", local, other->score);
    }
    if (!f->has_load)
        add(&t, " The job queue's load was not known (automation.stats did not answer), so it "
                "was not weighed and the confidence is lower.");
    if (r->nrisks)
        add(&t, " %zu risk factor%s lower the confidence.", r->nrisks, r->nrisks == 1 ? "" : "s");
    for (size_t i = 0; i < r->nalts; i++) {
        text a = {r->alt_reasoning[i], sizeof(r->alt_reasoning[i]), 0};
        local_text(&r->alts[i], local, sizeof(local));
        add(&a, "%s %s, %.1f points below the choice: ", local, zone,
            r->best.score - r->alts[i].score);
        reasons(q, f, peak, &r->alts[i], &a);
    }
}

void
decide_daily_explain(const decide_request *q, const decide_facts *f, double peak,
                     const decide_daily *after, decide_daily *d)
{
    text t = {d->reasoning, sizeof(d->reasoning), 0};
    decide_slot s = {.at = d->next};
    s.local = decide_local_minute(f->zone, s.at, &s.offset);
    decide_score(q, f, peak, -1, &s);
    add(&t,
        "%02d:%02d %s scores best over the next 7 days (%.1f points on average): ", d->local / 60,
        d->local % 60, decide_zone_name(f->zone), d->score);
    reasons(q, f, peak, &s, &t);
    if (after) {
        double pts = decide_clear_of(after, d->local, q->duration);
        add(&t, "; %s the daily %s at %02d:%02d",
            pts == 0 ? "clear of" : (pts <= -DECIDE_W_OVERLAP ? "overlapping" : "close to"),
            after->job_type, after->local / 60, after->local % 60);
    }
    if (!f->has_load)
        add(&t, "; the queue's load was not known");
}

json_object *
decide_number(double v, int decimals)
{
    char s[32];
    double p = decimals == 1 ? 10 : 100;
    snprintf(s, sizeof(s), "%.*f", decimals, v);
    return json_object_new_double_s(round(v * p) / p, s);
}

json_object *
decide_json(const decide_result *r, const decide_facts *f)
{
    char utc[UTIL_RFC3339_LEN + 1], local[40];
    json_object *o = json_object_new_object(), *alts = json_object_new_array(),
                *risks = json_object_new_array(), *actions = json_object_new_array();
    utc_rfc3339(r->best.at, utc);
    local_rfc3339(&r->best, local, sizeof(local));
    json_object_object_add(o, "decision", json_object_new_string(decide_kind_name(r->kind)));
    json_object_object_add(o, "scheduled_for", json_object_new_string(utc));
    json_object_object_add(o, "local_time", json_object_new_string(local));
    json_object_object_add(o, "timezone", json_object_new_string(decide_zone_name(f->zone)));
    json_object_object_add(o, "score", decide_number(r->best.score, 1));
    json_object_object_add(o, "confidence", decide_number(r->confidence, 2));
    json_object_object_add(o, "reasoning", json_object_new_string(r->reasoning));
    for (size_t i = 0; i < r->nalts; i++) {
        json_object *a = json_object_new_object();
        utc_rfc3339(r->alts[i].at, utc);
        local_rfc3339(&r->alts[i], local, sizeof(local));
        json_object_object_add(a, "scheduled_for", json_object_new_string(utc));
        json_object_object_add(a, "local_time", json_object_new_string(local));
        json_object_object_add(a, "score", decide_number(r->alts[i].score, 1));
        json_object_object_add(a, "reasoning", json_object_new_string(r->alt_reasoning[i]));
        json_object_array_add(alts, a);
    }
    for (size_t i = 0; i < r->nrisks; i++) {
        json_object *k = json_object_new_object();
        json_object_object_add(k, "code", json_object_new_string(r->risks[i].code));
        json_object_object_add(k, "severity", json_object_new_string(r->risks[i].severity));
        json_object_object_add(k, "message", json_object_new_string(r->risks[i].message));
        json_object_array_add(risks, k);
        json_object_array_add(actions, json_object_new_string(r->risks[i].action));
    }
    json_object_object_add(o, "alternatives", alts);
    json_object_object_add(o, "risk_factors", risks);
    json_object_object_add(o, "recommended_actions", actions);
    json_object_object_add(o, "load_data", json_object_new_boolean(f->has_load));
    return o;
}
