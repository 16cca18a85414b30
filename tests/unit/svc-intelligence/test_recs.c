/* recs_rules and report (issue 6): every recommendation rule at its edges
 * (fires, does not fire, impact, confidence, suggested job), the alerts
 * that trigger rules, the suppression of repeats on a fixed `now`, and the
 * report's CSV (RFC 4180 quoting, the formula guard, its rows). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "recs.h"
#include "recs_rules.h"
#include "report.h"

#define NOW   ((int64_t)1790000000) /* 2026-09-21T14:13:20Z */
#define DAY   SCORE_DAY
#define INTEG "0b6b7c2e-6a1f-4f0e-9a57-3c1d2b0e4f11"
#define OTHER "9d2e8a11-1c3b-4d5e-8f60-7a8b9c0d1e2f"

static score_result score;

static void
reset(void)
{
    memset(&score, 0, sizeof(score));
    score.overall = -1;
}

static void
set_factor(score_factor f, int s)
{
    score.factors[f].has_data = true;
    score.factors[f].score = s;
    if (score.overall < 0)
        score.overall = 100; /* some data: not unknown, not critical */
}

static void
set_detail(score_factor f, const char *name, double v)
{
    score_factor_result *r = &score.factors[f];
    r->details[r->ndetails++] = (score_detail){name, v, false, true};
}

/* The item of type t among the rules that fire, or NULL. */
static const recs_item *
fired(const recs_alert *alerts, size_t nalerts, const char *integration, recs_type t,
      recs_item out[RECS_NTYPES])
{
    recs_inputs in = {&score, alerts, nalerts, integration};
    size_t n = recs_evaluate(&in, out);
    for (size_t i = 0; i < n; i++)
        if (out[i].type == t)
            return &out[i];
    return NULL;
}

static const recs_item *
fired_plain(recs_type t, recs_item out[RECS_NTYPES])
{
    return fired(NULL, 0, NULL, t, out);
}

static void
test_names_and_confidence(void **state)
{
    (void)state;
    for (int t = 0; t < RECS_NTYPES; t++) {
        assert_int_equal(recs_type_of(recs_type_name((recs_type)t)), t);
        assert_string_equal(recs_type_names[t], recs_type_name((recs_type)t));
    }
    assert_null(recs_type_names[RECS_NTYPES]);
    assert_int_equal(recs_type_of("nope"), RECS_NTYPES);
    assert_int_equal(recs_type_of(NULL), RECS_NTYPES);
    assert_string_equal(recs_impact_name(RECS_HIGH), "high");
    assert_string_equal(recs_impact_name(RECS_MEDIUM), "medium");
    assert_string_equal(recs_impact_name(RECS_LOW), "low");
    /* 50 just below the threshold, 95 at 0, linear and half up between */
    assert_int_equal(recs_confidence_below(0, 60), 95);
    assert_int_equal(recs_confidence_below(59, 60), 51); /* 50.75 */
    assert_int_equal(recs_confidence_below(30, 60), 73); /* 72.5 */
    assert_int_equal(recs_confidence_below(25, 50), 73);
    assert_int_equal(recs_confidence_below(60, 60), 50);
    assert_int_equal(recs_confidence_below(-3, 50), 95);
    assert_int_equal(recs_confidence_below(10, 0), 50);
}

static void
test_nothing_without_data(void **state)
{
    (void)state;
    recs_item out[RECS_NTYPES];
    reset();
    recs_inputs in = {&score, NULL, 0, INTEG};
    assert_int_equal(recs_evaluate(&in, out), 0);
    /* a healthy client with every factor high: nothing either */
    for (int f = 0; f < SCORE_NFACTORS; f++)
        set_factor((score_factor)f, 90);
    assert_int_equal(recs_evaluate(&in, out), 0);
}

static void
test_check_integration(void **state)
{
    (void)state;
    recs_item out[RECS_NTYPES];
    const recs_item *it;
    reset();
    set_factor(SCORE_SYSTEM_STABILITY, 60);
    assert_null(fired(NULL, 0, INTEG, RECS_CHECK_INTEGRATION, out));
    set_factor(SCORE_SYSTEM_STABILITY, 59);
    it = fired(NULL, 0, INTEG, RECS_CHECK_INTEGRATION, out);
    assert_non_null(it);
    assert_int_equal(it->impact, RECS_MEDIUM);
    assert_int_equal(it->confidence, 51);
    assert_string_equal(it->job_type, "health_check");
    assert_string_equal(it->integration_id, INTEG);
    assert_non_null(strstr(it->description, "System stability is 59/100"));
    set_factor(SCORE_SYSTEM_STABILITY, 39);
    it = fired(NULL, 0, INTEG, RECS_CHECK_INTEGRATION, out);
    assert_int_equal(it->impact, RECS_HIGH);
    /* no integration known: no job, and it says so */
    it = fired(NULL, 0, NULL, RECS_CHECK_INTEGRATION, out);
    assert_null(it->job_type);
    assert_non_null(strstr(it->description, "No integration of this client is known"));

    /* an open integration_unhealthy alert: high, 0.90, on the integration
     * it names, even with a good stability score */
    set_factor(SCORE_SYSTEM_STABILITY, 95);
    recs_alert a[] = {{"score_drop", "x"}, {"integration_unhealthy", OTHER}};
    it = fired(a, 2, INTEG, RECS_CHECK_INTEGRATION, out);
    assert_non_null(it);
    assert_int_equal(it->impact, RECS_HIGH);
    assert_int_equal(it->confidence, 90);
    assert_string_equal(it->integration_id, OTHER);
    assert_non_null(strstr(it->description, OTHER));
    /* a subject that is not an id: the client's latest integration */
    recs_alert b[] = {{"integration_unhealthy", "pos-terminal-3"}};
    it = fired(b, 1, INTEG, RECS_CHECK_INTEGRATION, out);
    assert_string_equal(it->integration_id, INTEG);
    /* both: the higher confidence wins */
    set_factor(SCORE_SYSTEM_STABILITY, 0);
    it = fired(b, 1, INTEG, RECS_CHECK_INTEGRATION, out);
    assert_int_equal(it->confidence, 95);
}

static void
test_review_automation(void **state)
{
    (void)state;
    recs_item out[RECS_NTYPES];
    const recs_item *it;
    reset();
    set_factor(SCORE_AUTOMATION_SUCCESS, 70);
    assert_null(fired_plain(RECS_REVIEW_AUTOMATION, out));
    set_factor(SCORE_AUTOMATION_SUCCESS, 69);
    it = fired(NULL, 0, INTEG, RECS_REVIEW_AUTOMATION, out);
    assert_int_equal(it->impact, RECS_MEDIUM);
    assert_int_equal(it->confidence, 51); /* 50.64 */
    assert_string_equal(it->job_type, "health_check");
    assert_string_equal(it->integration_id, INTEG);
    set_factor(SCORE_AUTOMATION_SUCCESS, 39);
    it = fired_plain(RECS_REVIEW_AUTOMATION, out);
    assert_int_equal(it->impact, RECS_HIGH);
    assert_int_equal(it->confidence, 70); /* 50 + 45 * 31 / 70 = 69.93 */
    assert_null(it->job_type);
    /* the job failure alert alone */
    reset();
    recs_alert a[] = {{"job_failure_rate", "client"}};
    it = fired(a, 1, NULL, RECS_REVIEW_AUTOMATION, out);
    assert_int_equal(it->impact, RECS_HIGH);
    assert_int_equal(it->confidence, 85);
    assert_non_null(strstr(it->description, "job_failure_rate"));
}

static void
test_escalate_account(void **state)
{
    (void)state;
    recs_item out[RECS_NTYPES];
    const recs_item *it;
    reset();
    score.overall = 50;
    assert_null(fired_plain(RECS_ESCALATE_ACCOUNT, out));
    score.overall = 49;
    it = fired_plain(RECS_ESCALATE_ACCOUNT, out);
    assert_int_equal(it->impact, RECS_HIGH);
    assert_int_equal(it->confidence, 51); /* 50.9 */
    assert_null(it->job_type);
    assert_non_null(strstr(it->description, "49/100 (critical)"));
    score.overall = 0;
    assert_int_equal(fired_plain(RECS_ESCALATE_ACCOUNT, out)->confidence, 95);
    /* unknown is not critical */
    score.overall = -1;
    assert_null(fired_plain(RECS_ESCALATE_ACCOUNT, out));
    recs_alert a[] = {{"health_critical", "c"}}, d[] = {{"score_drop", "c"}};
    it = fired(a, 1, NULL, RECS_ESCALATE_ACCOUNT, out);
    assert_int_equal(it->confidence, 80);
    assert_non_null(strstr(it->description, "became critical"));
    it = fired(d, 1, NULL, RECS_ESCALATE_ACCOUNT, out);
    assert_int_equal(it->confidence, 80);
    assert_non_null(strstr(it->description, "dropped sharply"));
}

static void
test_schedule_check_in(void **state)
{
    (void)state;
    recs_item out[RECS_NTYPES];
    const recs_item *it;
    reset();
    set_factor(SCORE_ENGAGEMENT, 50);
    assert_null(fired_plain(RECS_SCHEDULE_CHECK_IN, out));
    set_factor(SCORE_ENGAGEMENT, 49);
    set_detail(SCORE_ENGAGEMENT, "activities_30d", 2);
    set_detail(SCORE_ENGAGEMENT, "days_since_last_activity", 12.7);
    it = fired(NULL, 0, INTEG, RECS_SCHEDULE_CHECK_IN, out);
    assert_int_equal(it->impact, RECS_MEDIUM);
    assert_int_equal(it->confidence, 51);
    assert_null(it->job_type); /* a call, not a job */
    assert_string_equal(it->description, "Engagement is 49/100: 2 activities in the last 30 days, "
                                         "the last 12 days ago. Schedule a check-in call with "
                                         "the client.");
    set_factor(SCORE_ENGAGEMENT, 24);
    assert_int_equal(fired_plain(RECS_SCHEDULE_CHECK_IN, out)->impact, RECS_HIGH);
    set_factor(SCORE_ENGAGEMENT, 25);
    assert_int_equal(fired_plain(RECS_SCHEDULE_CHECK_IN, out)->impact, RECS_MEDIUM);
}

static void
test_follow_up_invoices(void **state)
{
    (void)state;
    recs_item out[RECS_NTYPES];
    const recs_item *it;
    reset();
    /* paid late but nothing overdue: no follow-up */
    set_factor(SCORE_PAYMENT_HEALTH, 70);
    set_detail(SCORE_PAYMENT_HEALTH, "overdue_invoices", 0);
    assert_null(fired_plain(RECS_FOLLOW_UP_INVOICES, out));
    reset();
    set_factor(SCORE_PAYMENT_HEALTH, 80);
    set_detail(SCORE_PAYMENT_HEALTH, "overdue_invoices", 1);
    set_detail(SCORE_PAYMENT_HEALTH, "max_days_overdue", 5);
    assert_null(fired_plain(RECS_FOLLOW_UP_INVOICES, out));
    score.factors[SCORE_PAYMENT_HEALTH].score = 79;
    it = fired_plain(RECS_FOLLOW_UP_INVOICES, out);
    assert_int_equal(it->impact, RECS_MEDIUM);
    assert_int_equal(it->confidence, 51); /* 50.56 */
    assert_null(it->job_type);
    assert_string_equal(it->description, "1 invoice is overdue, the oldest by 5 days (payment "
                                         "health 79/100). Follow up with the client on payment.");
    score.factors[SCORE_PAYMENT_HEALTH].score = 39;
    it = fired_plain(RECS_FOLLOW_UP_INVOICES, out);
    assert_int_equal(it->impact, RECS_HIGH);
    assert_int_equal(it->confidence, 73); /* 50 + 45 * 41 / 80 = 73.06 */
    /* 30 days overdue is high whatever the score */
    reset();
    set_factor(SCORE_PAYMENT_HEALTH, 60);
    set_detail(SCORE_PAYMENT_HEALTH, "overdue_invoices", 2);
    set_detail(SCORE_PAYMENT_HEALTH, "max_days_overdue", 30);
    it = fired_plain(RECS_FOLLOW_UP_INVOICES, out);
    assert_int_equal(it->impact, RECS_HIGH);
    assert_non_null(strstr(it->description, "2 invoices are overdue, the oldest by 30 days"));
    score.factors[SCORE_PAYMENT_HEALTH].details[1].value = 29;
    assert_int_equal(fired_plain(RECS_FOLLOW_UP_INVOICES, out)->impact, RECS_MEDIUM);
}

static void
test_review_open_tickets(void **state)
{
    (void)state;
    recs_item out[RECS_NTYPES];
    const recs_item *it;
    reset();
    set_factor(SCORE_SUPPORT_RESPONSIVENESS, 60);
    assert_null(fired_plain(RECS_REVIEW_OPEN_TICKETS, out));
    set_factor(SCORE_SUPPORT_RESPONSIVENESS, 0);
    set_detail(SCORE_SUPPORT_RESPONSIVENESS, "tickets_30d", 1);
    set_detail(SCORE_SUPPORT_RESPONSIVENESS, "response_targets_met", 0);
    set_detail(SCORE_SUPPORT_RESPONSIVENESS, "resolution_targets_met", 0);
    set_detail(SCORE_SUPPORT_RESPONSIVENESS, "open_tickets", 1);
    it = fired_plain(RECS_REVIEW_OPEN_TICKETS, out);
    assert_int_equal(it->impact, RECS_HIGH);
    assert_int_equal(it->confidence, 95);
    assert_null(it->job_type);
    assert_non_null(strstr(it->description, "of 1 tickets opened in the last 30 days, 0 first "
                                            "responses and 0 resolutions met their targets, and 1 "
                                            "are open"));
    score.factors[SCORE_SUPPORT_RESPONSIVENESS].score = 30;
    assert_int_equal(fired_plain(RECS_REVIEW_OPEN_TICKETS, out)->impact, RECS_MEDIUM);
    score.factors[SCORE_SUPPORT_RESPONSIVENESS].score = 29;
    assert_int_equal(fired_plain(RECS_REVIEW_OPEN_TICKETS, out)->impact, RECS_HIGH);
}

static void
test_propose_menu_work(void **state)
{
    (void)state;
    recs_item out[RECS_NTYPES];
    const recs_item *it;
    reset();
    set_factor(SCORE_GROWTH_POTENTIAL, 100);
    set_detail(SCORE_GROWTH_POTENTIAL, "quotes_accepted", 0);
    assert_null(fired_plain(RECS_PROPOSE_MENU_WORK, out)); /* growth from projects only */
    score.factors[SCORE_GROWTH_POTENTIAL].details[0].value = 1;
    it = fired(NULL, 0, INTEG, RECS_PROPOSE_MENU_WORK, out);
    assert_int_equal(it->impact, RECS_MEDIUM);
    assert_int_equal(it->confidence, 90); /* capped */
    assert_string_equal(it->job_type, "menu_sync");
    assert_string_equal(it->integration_id, INTEG);
    assert_non_null(strstr(it->description, "1 accepted quote in the last 30 days"));
    score.factors[SCORE_GROWTH_POTENTIAL].score = 80;
    assert_int_equal(fired_plain(RECS_PROPOSE_MENU_WORK, out)->confidence, 50);
    score.factors[SCORE_GROWTH_POTENTIAL].score = 84;
    assert_int_equal(fired_plain(RECS_PROPOSE_MENU_WORK, out)->confidence, 60);
    score.factors[SCORE_GROWTH_POTENTIAL].score = 81;
    assert_int_equal(fired_plain(RECS_PROPOSE_MENU_WORK, out)->confidence, 53); /* 52.5 */
    assert_null(fired_plain(RECS_PROPOSE_MENU_WORK, out)->job_type);
    score.factors[SCORE_GROWTH_POTENTIAL].score = 79;
    assert_null(fired_plain(RECS_PROPOSE_MENU_WORK, out));
}

/* A weak client fires several rules at once, in type order, and the same
 * inputs give the same bytes. */
static void
test_order_and_determinism(void **state)
{
    (void)state;
    recs_item a[RECS_NTYPES], b[RECS_NTYPES];
    reset();
    set_factor(SCORE_ENGAGEMENT, 10);
    set_factor(SCORE_SUPPORT_RESPONSIVENESS, 0);
    set_factor(SCORE_PAYMENT_HEALTH, 0);
    set_detail(SCORE_PAYMENT_HEALTH, "overdue_invoices", 3);
    score.overall = 4;
    recs_alert al[] = {{"integration_unhealthy", INTEG}};
    recs_inputs in = {&score, al, 1, NULL};
    size_t n = recs_evaluate(&in, a);
    assert_int_equal(n, 5);
    const recs_type want[] = {RECS_CHECK_INTEGRATION, RECS_ESCALATE_ACCOUNT, RECS_SCHEDULE_CHECK_IN,
                              RECS_FOLLOW_UP_INVOICES, RECS_REVIEW_OPEN_TICKETS};
    for (size_t i = 0; i < n; i++)
        assert_int_equal(a[i].type, want[i]);
    assert_int_equal(recs_evaluate(&in, b), n);
    assert_memory_equal(a, b, n * sizeof(a[0]));
}

static void
test_suppression(void **state)
{
    (void)state;
    recs_history h = {0};
    assert_false(recs_suppressed(&h, NOW));
    h.open = true;
    assert_true(recs_suppressed(&h, NOW));
    /* declined: 14 days to the second */
    h = (recs_history){.declined_at = NOW - 14 * DAY + 1};
    assert_true(recs_suppressed(&h, NOW));
    h.declined_at = NOW - 14 * DAY;
    assert_false(recs_suppressed(&h, NOW));
    h.declined_at = NOW; /* just now */
    assert_true(recs_suppressed(&h, NOW));
    /* accepted: 7 days */
    h = (recs_history){.accepted_at = NOW - 7 * DAY + 1};
    assert_true(recs_suppressed(&h, NOW));
    h.accepted_at = NOW - 7 * DAY;
    assert_false(recs_suppressed(&h, NOW));
    /* an old acceptance does not lift a recent decline */
    h = (recs_history){.declined_at = NOW - DAY, .accepted_at = NOW - 30 * DAY};
    assert_true(recs_suppressed(&h, NOW));
}

static void
test_select_leaves_out_suppressed(void **state)
{
    (void)state;
    recs_item out[RECS_NTYPES];
    recs_history hist[RECS_NTYPES];
    memset(hist, 0, sizeof(hist));
    reset();
    set_factor(SCORE_ENGAGEMENT, 10);
    set_factor(SCORE_SUPPORT_RESPONSIVENESS, 10);
    recs_inputs in = {&score, NULL, 0, NULL};
    assert_int_equal(recs_select(&in, hist, NOW, out), 2);
    hist[RECS_SCHEDULE_CHECK_IN].open = true;
    assert_int_equal(recs_select(&in, hist, NOW, out), 1);
    assert_int_equal(out[0].type, RECS_REVIEW_OPEN_TICKETS);
    hist[RECS_SCHEDULE_CHECK_IN] = (recs_history){.declined_at = NOW - 13 * DAY};
    hist[RECS_REVIEW_OPEN_TICKETS] = (recs_history){.declined_at = NOW - 15 * DAY};
    assert_int_equal(recs_select(&in, hist, NOW, out), 1);
    assert_int_equal(out[0].type, RECS_REVIEW_OPEN_TICKETS);
    /* a day later the check-in may come back */
    assert_int_equal(recs_select(&in, hist, NOW + DAY, out), 2);
}

/* The suggested_action kept with a recommendation: the job to create. */
static void
test_suggested_action(void **state)
{
    (void)state;
    recs_item out[RECS_NTYPES];
    reset();
    set_factor(SCORE_SYSTEM_STABILITY, 10);
    const recs_item *it = fired(NULL, 0, INTEG, RECS_CHECK_INTEGRATION, out);
    json_object *a = recs_action_json(it);
    assert_non_null(a);
    assert_string_equal(json_object_to_json_string_ext(a, JSON_C_TO_STRING_PLAIN),
                        "{\"job_type\":\"health_check\",\"config\":{\"integration_id\":\"" INTEG
                        "\"}}");
    json_object_put(a);
    it = fired(NULL, 0, NULL, RECS_CHECK_INTEGRATION, out);
    assert_null(recs_action_json(it));
}

/* ---- the report's CSV ---- */

static char *
cell(const char *s, bool text)
{
    report_buf b = {0};
    report_csv_cell(&b, s, text);
    assert_false(b.failed);
    char *out = b.data ? b.data : calloc(1, 1);
    return out;
}

static void
check_cell(const char *s, bool text, const char *want)
{
    char *got = cell(s, text);
    assert_string_equal(got, want);
    free(got);
}

static void
test_csv_quoting(void **state)
{
    (void)state;
    check_cell("plain", true, "plain");
    check_cell("", true, "");
    check_cell(NULL, true, "");
    check_cell("a,b", true, "\"a,b\"");
    check_cell("say \"hi\"", true, "\"say \"\"hi\"\"\"");
    check_cell("\"", true, "\"\"\"\"");
    check_cell("two\nlines", true, "\"two\nlines\"");
    check_cell("cr\rhere", true, "\"cr\rhere\"");
    check_cell("Café Ünïcode", true, "Café Ünïcode");
    /* the formula guard: text only */
    check_cell("=SUM(A1:A9)", true, "'=SUM(A1:A9)");
    check_cell("+1", true, "'+1");
    check_cell("-x", true, "'-x");
    check_cell("@cmd", true, "'@cmd");
    check_cell("=1,2", true, "\"'=1,2\"");
    check_cell("-36", false, "-36");
    check_cell("a=b", true, "a=b");
}

static const char data_text[] =
    "{\"client\": {\"id\": \"c1\", \"name\": \"Bistro, \\\"Le\\\" Coin\", \"timezone\": \"UTC\","
    " \"plan\": \"=cmd\", \"status\": \"active\", \"monthly_revenue\": \"10.00\"},"
    " \"latest\": {\"overall_score\": 44, \"health_status\": \"critical\","
    "  \"trend\": {\"d7\": -36, \"d30\": null}, \"computed_at\": \"2026-09-21T14:00:00.000Z\","
    "  \"factors\": {\"engagement\": {\"score\": 40, \"status\": \"ok\", \"weight\": 25,"
    "   \"effective_weight\": 62.5}}},"
    " \"history\": [{\"computed_at\": \"2026-09-20T00:00:00.000Z\", \"overall_score\": 50,"
    "  \"health_status\": \"at_risk\", \"factors\": {\"engagement\": 50}}],"
    " \"alerts\": [{\"id\": \"a1\", \"type\": \"score_drop\", \"severity\": \"high\","
    "  \"subject\": \"c1\", \"message\": \"fell\\nby 36\", \"status\": \"active\","
    "  \"created_at\": \"2026-09-21T14:00:00.000Z\", \"resolved_at\": null}],"
    " \"recommendations\": [{\"id\": \"r1\", \"type\": \"schedule_check_in\","
    "  \"title\": \"Schedule a check-in\", \"impact\": \"medium\", \"confidence\": 0.73,"
    "  \"status\": \"open\", \"created_at\": \"2026-09-21T14:00:00.000Z\","
    "  \"decided_at\": null}]}";

static void
test_report_document_and_csv(void **state)
{
    (void)state;
    json_object *data = json_tokener_parse(data_text);
    assert_non_null(data);
    json_object *doc = report_build(data, NOW * 1000 + 250, 30), *w = NULL, *v = NULL;
    json_object_put(data); /* the document holds its own references */
    assert_true(json_object_object_get_ex(doc, "window", &w));
    assert_true(json_object_object_get_ex(w, "from", &v));
    assert_string_equal(json_object_get_string(v), "2026-08-22T14:13:20.250Z");
    assert_true(json_object_object_get_ex(w, "to", &v));
    assert_string_equal(json_object_get_string(v), "2026-09-21T14:13:20.250Z");
    char *csv = report_csv(doc);
    assert_non_null(csv);
    const char *want[] = {
        "section,item,field,value\r\n",
        "client,,name,\"Bistro, \"\"Le\"\" Coin\"\r\n",
        "client,,plan,'=cmd\r\n",
        "client,,monthly_revenue,10.00\r\n",
        "window,,days,30\r\n",
        "report,,generated_at,2026-09-21T14:13:20.250Z\r\n",
        "score,,overall_score,44\r\n",
        "score,,trend_d7,-36\r\n",
        "score,,trend_d30,\r\n",
        "factor,engagement,effective_weight,62.5\r\n",
        "history,2026-09-20T00:00:00.000Z,engagement,50\r\n",
        "history,2026-09-20T00:00:00.000Z,payment_health,\r\n",
        "alert,a1,message,\"fell\nby 36\"\r\n",
        "recommendation,r1,confidence,0.73\r\n",
        "recommendation,r1,decided_at,\r\n",
    };
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++)
        if (!strstr(csv, want[i]))
            fail_msg("no line %s in:\n%s", want[i], csv);
    assert_memory_equal(csv, want[0], strlen(want[0])); /* the header first */
    /* 6 client + 3 window + 1 report + 5 score + 4 factor + 2 + 6 history
     * + 7 alert + 7 recommendation rows, and the header */
    size_t lines = 0;
    for (const char *p = csv; (p = strstr(p, "\r\n")); p += 2)
        lines++;
    assert_int_equal(lines, 1 + 6 + 3 + 1 + 5 + 4 + 8 + 7 + 7);
    /* the same document gives the same bytes */
    char *again = report_csv(doc);
    assert_string_equal(csv, again);
    free(again);
    free(csv);
    json_object_put(doc);
}

static void
test_report_without_score(void **state)
{
    (void)state;
    json_object *data = json_tokener_parse("{\"client\": {\"id\": \"c\"}, \"latest\": null,"
                                           " \"history\": [], \"alerts\": [],"
                                           " \"recommendations\": []}");
    json_object *doc = report_build(data, NOW * 1000, 1), *v = NULL;
    json_object_put(data);
    assert_true(json_object_object_get_ex(doc, "latest_score", &v));
    assert_null(v);
    char *csv = report_csv(doc);
    assert_non_null(csv);
    assert_null(strstr(csv, "score,"));
    assert_non_null(strstr(csv, "window,,days,1\r\n"));
    free(csv);
    json_object_put(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_confidence),
        cmocka_unit_test(test_nothing_without_data),
        cmocka_unit_test(test_check_integration),
        cmocka_unit_test(test_review_automation),
        cmocka_unit_test(test_escalate_account),
        cmocka_unit_test(test_schedule_check_in),
        cmocka_unit_test(test_follow_up_invoices),
        cmocka_unit_test(test_review_open_tickets),
        cmocka_unit_test(test_propose_menu_work),
        cmocka_unit_test(test_order_and_determinism),
        cmocka_unit_test(test_suppression),
        cmocka_unit_test(test_select_leaves_out_suppressed),
        cmocka_unit_test(test_suggested_action),
        cmocka_unit_test(test_csv_quoting),
        cmocka_unit_test(test_report_document_and_csv),
        cmocka_unit_test(test_report_without_score),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
