/* score (the health score of issue 6): every factor's formula at its edges,
 * re-weighting without some factors, the bands, the trend, a client without
 * any data, and that the same inputs and `now` give the same result. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "score.h"
#include "score_json.h"

#define NOW  ((int64_t)1790000000) /* 2026-09-21T14:13:20Z */
#define DAY  SCORE_DAY
#define HOUR ((int64_t)3600)

static score_inputs
inputs(void)
{
    score_inputs in;
    memset(&in, 0, sizeof(in));
    in.now = NOW;
    return in;
}

static score_factor_result
run(void (*fn)(const score_inputs *, score_factor_result *), const score_inputs *in)
{
    score_factor_result f;
    memset(&f, 0, sizeof(f));
    fn(in, &f);
    return f;
}

static double
detail(const score_factor_result *f, const char *name)
{
    for (size_t i = 0; i < f->ndetails; i++)
        if (strcmp(f->details[i].name, name) == 0)
            return f->details[i].value;
    fail_msg("no detail %s", name);
    return -2;
}

/* ---- engagement ---- */

static int
engagement(long n, int64_t last)
{
    score_inputs in = inputs();
    in.activities_30d = n;
    in.last_activity_at = last;
    score_factor_result f = run(score_engagement, &in);
    assert_true(f.has_data);
    return f.score;
}

static void
test_engagement(void **state)
{
    (void)state;
    score_inputs in = inputs();
    score_factor_result f = run(score_engagement, &in);
    assert_false(f.has_data); /* never any activity */
    assert_non_null(f.note);
    in.last_activity_at = NOW + 1; /* only in the future of `now` */
    assert_false(run(score_engagement, &in).has_data);

    assert_int_equal(engagement(20, NOW), 100);          /* recency 100, frequency 100 */
    assert_int_equal(engagement(40, NOW), 100);          /* frequency stops at 100 */
    assert_int_equal(engagement(0, NOW - 30 * DAY), 0);  /* 30 days: recency 0 */
    assert_int_equal(engagement(0, NOW - 400 * DAY), 0); /* never below 0 */
    assert_int_equal(engagement(10, NOW - 15 * DAY), 50);
    assert_int_equal(engagement(1, NOW), 53);             /* (100 + 5) / 2 = 52.5, half up */
    assert_int_equal(engagement(0, NOW - 6 * DAY), 40);   /* recency 80, frequency 0 */
    assert_int_equal(engagement(19, NOW - 29 * DAY), 49); /* 3.33 and 95: 49.17 */

    in.activities_30d = 10;
    in.last_activity_at = NOW - 15 * DAY;
    f = run(score_engagement, &in);
    assert_int_equal((int)detail(&f, "activities_30d"), 10);
    assert_int_equal((int)detail(&f, "recency"), 50);
    assert_int_equal((int)detail(&f, "frequency"), 50);
    assert_true(detail(&f, "days_since_last_activity") == 15.0);
}

/* ---- support_responsiveness ---- */

static score_factor_result
support(const score_ticket *t, size_t n)
{
    score_inputs in = inputs();
    in.tickets = t;
    in.ntickets = n;
    return run(score_support, &in);
}

static void
test_support(void **state)
{
    (void)state;
    assert_false(support(NULL, 0).has_data);

    /* normal: 8 h to respond, 72 h to resolve; exactly on the target is met */
    score_ticket ok = {PRIO_NORMAL, NOW - 5 * DAY, NOW - 5 * DAY + 8 * HOUR,
                       NOW - 5 * DAY + 72 * HOUR};
    score_factor_result f = support(&ok, 1);
    assert_true(f.has_data);
    assert_int_equal(f.score, 100);

    score_ticket late = {PRIO_NORMAL, NOW - 5 * DAY, NOW - 5 * DAY + 8 * HOUR + 1,
                         NOW - 5 * DAY + 72 * HOUR + 1};
    assert_int_equal(support(&late, 1).score, 0);

    /* urgent: 1 h and 8 h; responded in time, resolved late */
    score_ticket urgent = {PRIO_URGENT, NOW - 2 * DAY, NOW - 2 * DAY + HOUR,
                           NOW - 2 * DAY + 9 * HOUR};
    assert_int_equal(support(&urgent, 1).score, 50);

    /* still open and within both targets: both count as met */
    score_ticket fresh = {PRIO_LOW, NOW - 2 * HOUR, 0, 0};
    f = support(&fresh, 1);
    assert_int_equal(f.score, 100);
    assert_int_equal((int)detail(&f, "open_tickets"), 1);
    /* open past both targets (high: 4 h, 24 h) */
    score_ticket stale = {PRIO_HIGH, NOW - 2 * DAY, 0, 0};
    assert_int_equal(support(&stale, 1).score, 0);
    /* answered after `now`: not answered yet at `now` */
    score_ticket future_answer = {PRIO_HIGH, NOW - 5 * HOUR, NOW + 1, 0};
    assert_int_equal(support(&future_answer, 1).score, 50);

    /* three of four targets: 75 */
    score_ticket two[] = {ok, urgent};
    f = support(two, 2);
    assert_int_equal(f.score, 75);
    assert_int_equal((int)detail(&f, "tickets_30d"), 2);
    assert_int_equal((int)detail(&f, "response_targets_met"), 2);
    assert_int_equal((int)detail(&f, "resolution_targets_met"), 1);

    /* the window: opened exactly 30 days ago is out, a second later is in */
    score_ticket edge[] = {{PRIO_NORMAL, NOW - SCORE_WINDOW, 0, 0}};
    assert_false(support(edge, 1).has_data);
    edge[0].opened_at = NOW - SCORE_WINDOW + 1;
    assert_int_equal(support(edge, 1).score, 0);
    edge[0].opened_at = NOW + 1; /* after now */
    assert_false(support(edge, 1).has_data);

    /* one of three: 33.33 -> 33; two of three: 66.67 -> 67 */
    score_ticket mix[] = {ok, late, late};
    assert_int_equal(support(mix, 3).score, 33);
    score_ticket mix2[] = {ok, ok, late};
    assert_int_equal(support(mix2, 3).score, 67);
}

/* ---- payment_health ---- */

static score_factor_result
payments(const score_invoice *v, size_t n)
{
    score_inputs in = inputs();
    in.invoices = v;
    in.ninvoices = n;
    return run(score_payments, &in);
}

static int
one_invoice(int64_t due, int64_t paid)
{
    score_invoice v = {due, paid};
    score_factor_result f = payments(&v, 1);
    assert_true(f.has_data);
    return f.score;
}

static void
test_payments(void **state)
{
    (void)state;
    assert_false(payments(NULL, 0).has_data);
    assert_int_equal(one_invoice(NOW - 5 * DAY, NOW - 6 * DAY), 100); /* paid early */
    assert_int_equal(one_invoice(NOW - 5 * DAY, NOW - 5 * DAY), 100); /* on the day */
    assert_int_equal(one_invoice(NOW, 0), 100);           /* due this second: not overdue */
    assert_int_equal(one_invoice(NOW - HOUR, 0), 90);     /* overdue, 0 whole days: 10 */
    assert_int_equal(one_invoice(NOW - 10 * DAY, 0), 70); /* 10 + 2 * 10 */
    assert_int_equal(one_invoice(NOW - 25 * DAY, 0), 40); /* 10 + 50 = 60, the cap */
    assert_int_equal(one_invoice(NOW - 90 * DAY, 0), 40); /* still overdue from before */
    assert_int_equal(one_invoice(NOW - 20 * DAY, NOW - 17 * DAY), 94); /* 3 days late */
    assert_int_equal(one_invoice(NOW - 25 * DAY, NOW - 5 * DAY), 80);  /* 20 days: cap 20 */
    assert_int_equal(one_invoice(NOW - 5 * DAY, NOW - 5 * DAY + 23 * HOUR), 100); /* < 1 day */
    assert_int_equal(one_invoice(NOW - 10 * DAY, NOW + HOUR), 70); /* paid after now: unpaid */

    /* not considered: not due yet; paid and due before the window */
    score_invoice skip[] = {{NOW + DAY, 0}, {NOW - SCORE_WINDOW, NOW - SCORE_WINDOW}};
    assert_false(payments(skip, 2).has_data);

    /* penalties add up, and the score stops at 0 */
    score_invoice two[] = {{NOW - 10 * DAY, 0}, {NOW - 3 * DAY, 0}};
    score_factor_result f = payments(two, 2);
    assert_int_equal(f.score, 54); /* 100 - 30 - 16 */
    assert_int_equal((int)detail(&f, "overdue_invoices"), 2);
    assert_int_equal((int)detail(&f, "max_days_overdue"), 10);
    score_invoice many[] = {{NOW - 40 * DAY, 0}, {NOW - 50 * DAY, 0}, {NOW - 60 * DAY, 0}};
    assert_int_equal(payments(many, 3).score, 0);
}

/* ---- growth_potential ---- */

static void
test_growth(void **state)
{
    (void)state;
    score_inputs in = inputs();
    assert_false(run(score_growth, &in).has_data);
    in.quotes_open = 1; /* a quote out, no outcome yet: neutral */
    assert_int_equal(run(score_growth, &in).score, 50);
    in.quotes_accepted = 1;
    in.projects_new = 1;
    assert_int_equal(run(score_growth, &in).score, 90);
    in.projects_new = 3; /* 50 + 20 + 60 stops at 100 */
    assert_int_equal(run(score_growth, &in).score, 100);
    in = inputs();
    in.quotes_lost = 1;
    assert_int_equal(run(score_growth, &in).score, 35);
    in.quotes_lost = 4; /* 50 - 60 stops at 0 */
    assert_int_equal(run(score_growth, &in).score, 0);
    in = inputs();
    in.paid_cents_30d = 100; /* payments alone are data: more than before */
    assert_int_equal(run(score_growth, &in).score, 60);
    in.paid_cents_prev_30d = 101;
    score_factor_result f = run(score_growth, &in);
    assert_int_equal(f.score, 40);
    assert_int_equal((int)detail(&f, "revenue_trend"), -10);
    in.paid_cents_30d = 101; /* the same: no change */
    assert_int_equal(run(score_growth, &in).score, 50);
}

/* ---- the overall score, re-weighting, bands ---- */

static void
set(score_factor_result f[SCORE_NFACTORS], score_factor k, int score)
{
    f[k].has_data = true;
    f[k].score = score;
}

static void
weights(score_factor_result f[SCORE_NFACTORS])
{
    static const int w[SCORE_NFACTORS] = {25, 20, 15, 15, 15, 10};
    memset(f, 0, sizeof(score_factor_result) * SCORE_NFACTORS);
    for (int i = 0; i < SCORE_NFACTORS; i++)
        f[i].weight = w[i];
}

static void
test_overall_and_reweighting(void **state)
{
    score_factor_result f[SCORE_NFACTORS];
    (void)state;
    weights(f);
    assert_int_equal(score_overall(f), -1); /* nothing: unknown */
    for (int i = 0; i < SCORE_NFACTORS; i++)
        assert_true(f[i].effective_weight == 0);

    set(f, SCORE_ENGAGEMENT, 80); /* one factor alone carries the whole weight */
    assert_int_equal(score_overall(f), 80);
    assert_true(f[SCORE_ENGAGEMENT].effective_weight == 100);

    set(f, SCORE_PAYMENT_HEALTH, 40); /* (25 * 80 + 15 * 40) / 40 = 65 */
    assert_int_equal(score_overall(f), 65);
    assert_true(f[SCORE_ENGAGEMENT].effective_weight == 62.5);
    assert_true(f[SCORE_PAYMENT_HEALTH].effective_weight == 37.5);
    assert_true(f[SCORE_AUTOMATION_SUCCESS].effective_weight == 0);

    weights(f); /* 50.5 rounds half up to 51 */
    set(f, SCORE_PAYMENT_HEALTH, 50);
    set(f, SCORE_SUPPORT_RESPONSIVENESS, 51);
    assert_int_equal(score_overall(f), 51);

    weights(f); /* all six, the nominal weights: 0.25*100 + 0.20*0 + ... */
    set(f, SCORE_ENGAGEMENT, 100);
    set(f, SCORE_AUTOMATION_SUCCESS, 0);
    set(f, SCORE_SUPPORT_RESPONSIVENESS, 100);
    set(f, SCORE_PAYMENT_HEALTH, 100);
    set(f, SCORE_SYSTEM_STABILITY, 0);
    set(f, SCORE_GROWTH_POTENTIAL, 100);
    assert_int_equal(score_overall(f), 65);
    assert_true(f[SCORE_GROWTH_POTENTIAL].effective_weight == 10);

    weights(f); /* 25/35 = 71.43 %, 10/35 = 28.57 % */
    set(f, SCORE_ENGAGEMENT, 0);
    set(f, SCORE_GROWTH_POTENTIAL, 100);
    assert_int_equal(score_overall(f), 29); /* 28.57 */
    assert_true(f[SCORE_ENGAGEMENT].effective_weight == 71.43);
    assert_true(f[SCORE_GROWTH_POTENTIAL].effective_weight == 28.57);
}

static void
test_bands(void **state)
{
    (void)state;
    assert_int_equal(score_band_of(100), SCORE_HEALTHY);
    assert_int_equal(score_band_of(75), SCORE_HEALTHY);
    assert_int_equal(score_band_of(74), SCORE_AT_RISK);
    assert_int_equal(score_band_of(50), SCORE_AT_RISK);
    assert_int_equal(score_band_of(49), SCORE_CRITICAL);
    assert_int_equal(score_band_of(0), SCORE_CRITICAL);
    assert_int_equal(score_band_of(-1), SCORE_UNKNOWN);
    assert_string_equal(score_band_name(SCORE_AT_RISK), "at_risk");
    assert_string_equal(score_band_name(SCORE_UNKNOWN), "unknown");
}

/* ---- trend ---- */

static void
test_trend(void **state)
{
    int d = 0;
    int64_t at = NOW - 7 * DAY;
    (void)state;
    score_past none = {false, 0, 0};
    assert_false(score_trend(60, &none, at, &d));
    score_past p = {true, at - DAY, 40};
    assert_true(score_trend(60, &p, at, &d));
    assert_int_equal(d, 20);
    assert_true(score_trend(30, &p, at, &d));
    assert_int_equal(d, -10);
    p.computed_at = at; /* exactly 7 days earlier */
    assert_true(score_trend(40, &p, at, &d));
    assert_int_equal(d, 0);
    p.computed_at = at - SCORE_WINDOW; /* 30 days older than asked: still taken */
    assert_true(score_trend(60, &p, at, &d));
    p.computed_at = at - SCORE_WINDOW - 1; /* older: too old to compare with */
    assert_false(score_trend(60, &p, at, &d));
    p.computed_at = at + 1; /* not earlier than asked */
    assert_false(score_trend(60, &p, at, &d));
    p = (score_past){true, at, -1}; /* it was unknown */
    assert_false(score_trend(60, &p, at, &d));
    p.score = 40; /* unknown now */
    assert_false(score_trend(-1, &p, at, &d));
}

/* ---- the whole: unknown, sources not there yet, d7/d30, determinism ---- */

static void
test_unknown(void **state)
{
    score_result r;
    (void)state;
    score_inputs in = inputs();
    in.past_d7 = (score_past){true, NOW - 8 * DAY, 70};
    score_compute(&in, &r);
    assert_int_equal(r.overall, -1);
    assert_int_equal(r.band, SCORE_UNKNOWN);
    assert_false(r.has_d7);
    assert_false(r.has_d30);
    for (int i = 0; i < SCORE_NFACTORS; i++) {
        assert_false(r.factors[i].has_data);
        assert_non_null(r.factors[i].note);
    }
    json_object *f = score_factors_json(&r);
    json_object *e = json_object_object_get(f, "engagement");
    assert_null(json_object_object_get(e, "score"));
    assert_string_equal(json_object_get_string(json_object_object_get(e, "status")), "no_data");
    json_object_put(f);
}

static void
test_compute(void **state)
{
    score_result a, b;
    (void)state;
    score_ticket t[] = {{PRIO_HIGH, NOW - DAY, NOW - DAY + HOUR, NOW - DAY + 2 * HOUR}};
    score_invoice v[] = {{NOW - 10 * DAY, 0}};
    score_inputs in = inputs();
    in.activities_30d = 20;
    in.last_activity_at = NOW - HOUR;
    in.tickets = t;
    in.ntickets = 1;
    in.invoices = v;
    in.ninvoices = 1;
    in.past_d7 = (score_past){true, NOW - 8 * DAY, 70};
    in.past_d30 = (score_past){true, NOW - 30 * DAY, 95};
    score_compute(&in, &a);
    /* engagement 100 (99.86 recency), support 100, payments 70; (25*100 +
     * 15*100 + 15*70) / 55 = 91.8 -> 92 */
    assert_int_equal(a.factors[SCORE_ENGAGEMENT].score, 100);
    assert_int_equal(a.factors[SCORE_SUPPORT_RESPONSIVENESS].score, 100);
    assert_int_equal(a.factors[SCORE_PAYMENT_HEALTH].score, 70);
    assert_false(a.factors[SCORE_GROWTH_POTENTIAL].has_data);
    assert_int_equal(a.overall, 92);
    assert_int_equal(a.band, SCORE_HEALTHY);
    assert_true(a.has_d7 && a.has_d30);
    assert_int_equal(a.trend_d7, 22);
    assert_int_equal(a.trend_d30, -3);
    /* no job outcome, health check or sync run: no data (test_events.c) */
    assert_false(a.factors[SCORE_AUTOMATION_SUCCESS].has_data);
    assert_false(a.factors[SCORE_SYSTEM_STABILITY].has_data);
    assert_int_equal(a.factors[SCORE_AUTOMATION_SUCCESS].weight, 20);
    assert_non_null(strstr(a.factors[SCORE_SYSTEM_STABILITY].note, "sync run"));

    /* the same inputs and now: the same result, rendered the same */
    score_compute(&in, &b);
    assert_int_equal(a.overall, b.overall);
    json_object *ja = score_factors_json(&a), *jb = score_factors_json(&b);
    assert_string_equal(json_object_to_json_string(ja), json_object_to_json_string(jb));
    json_object *pay = json_object_object_get(ja, "payment_health");
    assert_string_equal(json_object_to_json_string(json_object_object_get(pay, "effective_weight")),
                        "27.27");
    json_object_put(ja);
    json_object_put(jb);

    /* a day later the overdue invoice weighs more */
    in.now += DAY;
    in.last_activity_at += DAY;
    in.tickets = NULL;
    in.ntickets = 0;
    score_compute(&in, &b);
    assert_int_equal(b.factors[SCORE_PAYMENT_HEALTH].score, 68);
}

static void
test_priorities(void **state)
{
    (void)state;
    assert_int_equal(score_priority_of("urgent"), PRIO_URGENT);
    assert_int_equal(score_priority_of("low"), PRIO_LOW);
    assert_int_equal(score_priority_of("nope"), PRIO_N);
    assert_int_equal(score_response_target_h(PRIO_HIGH), 4);
    assert_int_equal(score_resolution_target_h(PRIO_LOW), 168);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engagement),
        cmocka_unit_test(test_support),
        cmocka_unit_test(test_payments),
        cmocka_unit_test(test_growth),
        cmocka_unit_test(test_overall_and_reweighting),
        cmocka_unit_test(test_bands),
        cmocka_unit_test(test_trend),
        cmocka_unit_test(test_unknown),
        cmocka_unit_test(test_compute),
        cmocka_unit_test(test_priorities),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
