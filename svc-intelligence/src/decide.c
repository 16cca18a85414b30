/* decide: the week's slots, their scores, the choice and its confidence;
 * see decide.h. The words (reasoning, risks) are decide_text.c's. */
#include "decide.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide_internal.h"

#define WEEK_S ((int64_t)DECIDE_DAYS * 86400)

/* The restaurant's service hours, local: lunch and dinner. */
const decide_window decide_service[DECIDE_NSERVICE] = {{11 * 60, 14 * 60}, {17 * 60, 21 * 60}};

int64_t
decide_first_slot(int64_t now)
{
    int64_t r = ((now % DECIDE_SLOT_S) + DECIDE_SLOT_S) % DECIDE_SLOT_S;
    return r ? now - r + DECIDE_SLOT_S : now;
}

int
decide_local_minute(const decide_zone *z, int64_t at, int *offset)
{
    int off = decide_zone_offset(z, at);
    if (offset)
        *offset = off;
    int64_t s = ((at + off) % 86400 + 86400) % 86400;
    return (int)(s / 60);
}

/* Whether [a, a + d) (minutes, a in the day, d <= one day) meets window w. */
bool
decide_overlaps(int a, int d, decide_window w)
{
    int s = w.start, e = w.end > w.start ? w.end : w.end + 1440;
    for (int k = -1440; k <= 1440; k += 1440)
        if (a < e + k && s + k < a + d)
            return true;
    return false;
}

static bool
in_window(int m, decide_window w)
{
    return w.end > w.start ? (m >= w.start && m < w.end) : (m >= w.start || m < w.end);
}

int
decide_tod_distance(int a, int b)
{
    int d = abs(a - b) % 1440;
    return d > 720 ? 1440 - d : d;
}

/* Whether service window i is waived: a preferred time is inside it. */
static bool
service_waived(const decide_request *q, size_t i)
{
    for (size_t p = 0; p < q->npreferred; p++)
        if (in_window(q->preferred[p], decide_service[i]))
            return true;
    return false;
}

static double
max_load(const decide_facts *f)
{
    double m = 0;
    for (int h = 0; f->has_load && h < 24; h++)
        m = f->hourly_load[h] > m ? f->hourly_load[h] : m;
    return m;
}

void
decide_score(const decide_request *q, const decide_facts *f, double peak, int64_t start,
             decide_slot *s)
{
    s->pref_pts = s->service_pts = s->load_pts = s->own_pts = s->later_pts = 0;
    if (q->npreferred) {
        int best = 1440;
        for (size_t p = 0; p < q->npreferred; p++) {
            int d = decide_tod_distance(s->local, q->preferred[p]);
            best = d < best ? d : best;
        }
        if (best < DECIDE_PREF_RANGE)
            s->pref_pts = DECIDE_W_PREFERRED * (1.0 - (double)best / DECIDE_PREF_RANGE);
    }
    for (size_t i = 0; i < DECIDE_NSERVICE && s->service_pts == 0; i++)
        if (decide_overlaps(s->local, q->duration, decide_service[i]) && !service_waived(q, i))
            s->service_pts = -DECIDE_W_SERVICE;
    if (peak > 0) {
        int h = (int)((s->at % 86400 + 86400) % 86400 / 3600);
        s->load_pts = -DECIDE_W_LOAD * f->hourly_load[h] / peak;
    }
    int64_t end = s->at + (int64_t)q->duration * 60, job = DECIDE_JOB_MINUTES * 60;
    for (size_t j = 0; j < f->nown && s->own_pts > -DECIDE_W_OVERLAP; j++) {
        int64_t t = f->own[j];
        if (s->at < t + job && t < end)
            s->own_pts = -DECIDE_W_OVERLAP;
        else if (s->at < t + job + 1800 && t < end + 1800)
            s->own_pts = -DECIDE_W_NEAR;
    }
    if (start >= 0)
        s->later_pts = -DECIDE_W_LATER * (double)(s->at - start) / (double)WEEK_S;
    s->score =
        DECIDE_W_BASE + s->pref_pts + s->service_pts + s->load_pts + s->own_pts + s->later_pts;
}

/* Keep the slots the constraints allow; count what each constraint left. */
static size_t
candidates(const decide_request *q, const decide_facts *f, decide_slot *out, size_t counts[3])
{
    int64_t start = decide_first_slot(q->now);
    size_t n = 0;
    counts[0] = counts[1] = counts[2] = 0;
    for (int i = 0; i < DECIDE_NSLOTS; i++) {
        decide_slot s = {.at = start + (int64_t)i * DECIDE_SLOT_S};
        if ((q->has_not_before && s.at < q->not_before)
            || (q->has_not_after && s.at > q->not_after))
            continue;
        counts[0]++;
        s.local = decide_local_minute(f->zone, s.at, &s.offset);
        bool avoided = false, runs_into = false;
        for (size_t w = 0; w < q->navoid; w++) {
            avoided |= in_window(s.local, q->avoid[w]);
            runs_into |= decide_overlaps(s.local, q->duration, q->avoid[w]);
        }
        if (avoided)
            continue;
        counts[1]++;
        if (runs_into)
            continue;
        counts[2]++;
        out[n++] = s;
    }
    return n;
}

static void
explain_empty(const decide_request *q, const size_t counts[3], decide_empty *e)
{
    int64_t start = decide_first_slot(q->now), end = start + WEEK_S;
    if (counts[0] == 0) {
        bool late = q->has_not_before && q->not_before >= end;
        bool early = q->has_not_after && q->not_after < start;
        e->field =
            late ? "constraints.not_before"
                 : (early || q->has_not_after ? "constraints.not_after" : "constraints.not_before");
        snprintf(e->message, sizeof(e->message),
                 late    ? "constraints.not_before is after the 7 days considered from now: no "
                           "slot left"
                 : early ? "constraints.not_after is before now: no slot left"
                         : "no quarter-hour slot lies between constraints.not_before and "
                           "constraints.not_after within the next 7 days");
    } else if (counts[1] == 0) {
        e->field = "constraints.avoid_times";
        snprintf(e->message, sizeof(e->message),
                 "constraints.avoid_times cover every one of the %zu slots left in the week: no "
                 "slot left",
                 counts[0]);
    } else {
        e->field = "duration_minutes";
        snprintf(e->message, sizeof(e->message),
                 "no slot leaves %d minutes (duration_minutes) before an avoided window "
                 "(constraints.avoid_times): every one of the %zu slots left would run into one",
                 q->duration, counts[1]);
    }
}

static int
by_score(const void *a, const void *b)
{
    const decide_slot *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->at < y->at ? -1 : (x->at > y->at);
}

/* The next best on other times: first at another time of day (an hour or
 * more from the choice and each other), then, if fewer than three, any slot
 * an hour or more from the others. Returns the margin's slot or NULL. */
static const decide_slot *
pick_alternatives(const decide_slot *s, size_t n, decide_result *r)
{
    const decide_slot *other = NULL;
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 1; i < n && r->nalts < (pass ? 3u : (size_t)DECIDE_MAX_ALTS); i++) {
            bool ok = true;
            for (size_t k = 0; k <= r->nalts && ok; k++) {
                const decide_slot *c = k == r->nalts ? &r->best : &r->alts[k];
                if (c->at == s[i].at)
                    ok = false;
                else if (pass == 0)
                    ok = decide_tod_distance(c->local, s[i].local) >= 60;
                else
                    ok = llabs(c->at - s[i].at) >= 3600;
            }
            if (!ok)
                continue;
            if (pass == 0 && !other)
                other = &s[i];
            r->alts[r->nalts++] = s[i];
        }
    return other;
}

static double
confidence(const decide_result *r, const decide_slot *other, const decide_facts *f)
{
    double m = other ? (r->best.score - other->score) / DECIDE_MARGIN_FULL : 1.0;
    double c = 0.5 + 0.4 * (m > 1 ? 1 : (m < 0 ? 0 : m));
    if (!f->has_load)
        c -= 0.15;
    if (!f->health)
        c -= 0.05;
    for (size_t i = 0; i < r->nrisks; i++)
        c -= strcmp(r->risks[i].severity, "high") == 0     ? 0.2
             : strcmp(r->risks[i].severity, "medium") == 0 ? 0.1
                                                           : 0.05;
    c = c < 0.05 ? 0.05 : (c > 0.95 ? 0.95 : c);
    return round(c * 100) / 100;
}

bool
decide_run(const decide_request *q, const decide_facts *f, decide_result *r, decide_empty *empty)
{
    decide_slot s[DECIDE_NSLOTS];
    size_t counts[3];
    memset(r, 0, sizeof(*r));
    size_t n = candidates(q, f, s, counts);
    if (n == 0) {
        explain_empty(q, counts, empty);
        return false;
    }
    double peak = max_load(f);
    int64_t start = decide_first_slot(q->now);
    for (size_t i = 0; i < n; i++)
        decide_score(q, f, peak, start, &s[i]);
    qsort(s, n, sizeof(s[0]), by_score);
    r->best = s[0];
    r->candidates = n;
    const decide_slot *other = pick_alternatives(s, n, r);
    decide_risks(q, f, r);
    r->confidence = confidence(r, other, f);
    bool high = false;
    for (size_t i = 0; i < r->nrisks; i++)
        high |= strcmp(r->risks[i].severity, "high") == 0;
    if (high && !(q->job_type && strcmp(q->job_type, "health_check") == 0))
        r->kind = DECIDE_DEFER;
    else if (r->best.at - q->now < DECIDE_SLOT_S)
        r->kind = DECIDE_RUN_NOW;
    decide_explain(q, f, peak, other, r);
    return true;
}

const char *
decide_kind_name(decide_kind k)
{
    return k == DECIDE_RUN_NOW ? "run_now" : (k == DECIDE_DEFER ? "defer" : "schedule");
}

/* Points for keeping clear of another daily job at local minute `at`: as
 * for the client's other scheduled jobs. */
double
decide_clear_of(const decide_daily *after, int local, int duration)
{
    if (!after)
        return 0;
    decide_window run = {after->local, (after->local + DECIDE_JOB_MINUTES) % 1440};
    decide_window near = {(after->local + 1440 - 30) % 1440,
                          (after->local + DECIDE_JOB_MINUTES + 30) % 1440};
    if (decide_overlaps(local, duration, run))
        return -DECIDE_W_OVERLAP;
    return decide_overlaps(local, duration, near) ? -DECIDE_W_NEAR : 0;
}

void
decide_best_daily(const char *job_type, int64_t now, const decide_facts *f,
                  const decide_daily *after, decide_daily *out)
{
    decide_request q = {.job_type = job_type, .duration = DECIDE_DEF_DURATION, .now = now};
    double sum[96] = {0}, peak = max_load(f);
    int cnt[96] = {0};
    int64_t next[96] = {0}, start = decide_first_slot(now);
    for (int i = 0; i < DECIDE_NSLOTS; i++) {
        decide_slot s = {.at = start + (int64_t)i * DECIDE_SLOT_S};
        s.local = decide_local_minute(f->zone, s.at, &s.offset);
        decide_score(&q, f, peak, -1, &s);
        int b = s.local / 15;
        if (cnt[b]++ == 0)
            next[b] = s.at;
        sum[b] += s.score + decide_clear_of(after, s.local, q.duration);
    }
    /* Every quarter of the local day occurs in a week, so each has a count. */
    int best = 0;
    for (int b = 1; b < 96; b++)
        if (cnt[b] && (!cnt[best] || sum[b] / cnt[b] > sum[best] / cnt[best] + 1e-9))
            best = b;
    out->job_type = job_type;
    out->local = best * 15;
    out->score = cnt[best] ? round(sum[best] / cnt[best] * 10) / 10 : 0;
    out->next = next[best];
    decide_daily_explain(&q, f, peak, after, out);
}
