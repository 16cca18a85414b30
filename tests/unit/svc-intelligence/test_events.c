/* events (issue 6): the two factors fed by events (automation_success,
 * system_stability) at their edges, their part in the overall score, the
 * debounce of recomputes on a fixed clock, and the checks of every kind of
 * event payload. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "events_msg.h"
#include "events_queue.h"
#include "score.h"

#define NOW ((int64_t)1790000000)

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

/* ---- automation_success ---- */

static void
test_automation_no_data(void **state)
{
    (void)state;
    score_inputs in = inputs();
    score_factor_result f = run(score_automation, &in);
    assert_false(f.has_data);
    assert_non_null(strstr(f.note, "no job"));
    in.jobs_cancelled_30d = 4; /* cancelled jobs are neither success nor failure */
    f = run(score_automation, &in);
    assert_false(f.has_data);
}

static void
test_automation_rates(void **state)
{
    (void)state;
    score_inputs in = inputs();
    in.jobs_completed[0] = 5;
    score_factor_result f = run(score_automation, &in);
    assert_true(f.has_data);
    assert_int_equal(f.score, 100);
    in.jobs_completed[0] = 0;
    in.jobs_failed[29] = 3; /* the oldest day of the window still counts */
    f = run(score_automation, &in);
    assert_int_equal(f.score, 0);
    assert_int_equal((int)detail(&f, "jobs_failed_7d"), 0);
    assert_int_equal((int)detail(&f, "jobs_failed_30d"), 3);
}

/* One failure against three completions: how much it weighs depends on
 * whether it is recent (day 6: double) or not (day 7: single). */
static void
test_automation_recent_failures_weigh_more(void **state)
{
    (void)state;
    score_inputs in = inputs();
    in.jobs_completed[10] = 3;
    in.jobs_failed[6] = 1; /* 3 / (3 + 2) = 60 */
    score_factor_result f = run(score_automation, &in);
    assert_int_equal(f.score, 60);
    assert_int_equal((int)detail(&f, "jobs_failed_7d"), 1);
    assert_int_equal((int)detail(&f, "weighted_failed"), 2);
    assert_true(detail(&f, "success_rate") == 75.0);
    in.jobs_failed[6] = 0;
    in.jobs_failed[7] = 1; /* 3 / (3 + 1) = 75 */
    f = run(score_automation, &in);
    assert_int_equal(f.score, 75);
    assert_int_equal((int)detail(&f, "jobs_failed_7d"), 0);
    /* recent successes weigh double too: 2*1 / (2*1 + 1) = 66.67 -> 67 */
    memset(in.jobs_completed, 0, sizeof(in.jobs_completed));
    in.jobs_completed[0] = 1;
    f = run(score_automation, &in);
    assert_int_equal(f.score, 67);
    /* half up: 1 / (1 + 1) = 50; 2*3 / (2*3 + 2*3 + 0) = 50; 7/(7+1) = 87.5 -> 88 */
    memset(in.jobs_completed, 0, sizeof(in.jobs_completed));
    memset(in.jobs_failed, 0, sizeof(in.jobs_failed));
    in.jobs_completed[20] = 7;
    in.jobs_failed[20] = 1;
    f = run(score_automation, &in);
    assert_int_equal(f.score, 88);
    assert_true(detail(&f, "success_rate") == 87.5);
}

/* ---- system_stability ---- */

static void
test_stability_no_data(void **state)
{
    (void)state;
    score_inputs in = inputs();
    score_factor_result f = run(score_stability, &in);
    assert_false(f.has_data);
    assert_non_null(strstr(f.note, "health check"));
}

static void
test_stability_checks(void **state)
{
    (void)state;
    score_inputs in = inputs();
    in.checks_healthy = 3;
    score_factor_result f = run(score_stability, &in);
    assert_true(f.has_data);
    assert_int_equal(f.score, 100);
    in.checks_degraded = 1; /* (3 + 0.5) / 4 = 87.5 -> 88 */
    f = run(score_stability, &in);
    assert_int_equal(f.score, 88);
    in.checks_unhealthy = 4; /* 3.5 / 8 = 43.75 -> 44, minus 10 for one unhealthy now */
    in.integrations_unhealthy = 1;
    f = run(score_stability, &in);
    assert_int_equal(f.score, 34);
    assert_int_equal((int)detail(&f, "checks_30d"), 8);
    assert_int_equal((int)detail(&f, "integrations_unhealthy_now"), 1);
    in.integrations_unhealthy = 5; /* the penalty stops at 30 */
    f = run(score_stability, &in);
    assert_int_equal(f.score, 14);
    in.checks_healthy = in.checks_degraded = 0; /* never below 0 */
    f = run(score_stability, &in);
    assert_int_equal(f.score, 0);
}

static void
test_stability_syncs_and_both(void **state)
{
    (void)state;
    score_inputs in = inputs();
    in.syncs_completed = 1;
    in.syncs_partial = 1;
    in.syncs_failed = 2; /* (1 + 0.5) / 4 = 37.5 -> 38 */
    score_factor_result f = run(score_stability, &in);
    assert_true(f.has_data);
    assert_int_equal(f.score, 38);
    assert_int_equal((int)detail(&f, "sync_runs_30d"), 4);
    assert_int_equal((int)detail(&f, "sync_runs_failed"), 2);
    in.checks_healthy = 2; /* the mean of 100 and 37.5 = 68.75 -> 69 */
    f = run(score_stability, &in);
    assert_int_equal(f.score, 69);
}

static void
test_compute_uses_both(void **state)
{
    (void)state;
    score_inputs in = inputs();
    score_result r;
    in.jobs_completed[1] = 1;
    in.jobs_failed[1] = 1; /* 50 */
    in.checks_healthy = 1; /* 100 */
    score_compute(&in, &r);
    assert_true(r.factors[SCORE_AUTOMATION_SUCCESS].has_data);
    assert_true(r.factors[SCORE_SYSTEM_STABILITY].has_data);
    /* (20 * 50 + 15 * 100) / 35 = 71.4 -> 71 */
    assert_int_equal(r.overall, 71);
    assert_int_equal(r.band, SCORE_AT_RISK);
}

/* ---- the debounce ---- */

static const char *const A = "11111111-1111-4111-8111-111111111111";
static const char *const B = "22222222-2222-4222-8222-222222222222";

static void
test_queue_debounce(void **state)
{
    (void)state;
    evq q;
    char out[4][EVQ_ID_LEN + 1];
    evq_init(&q, 2000, 2);
    assert_int_equal(evq_next_due(&q), -1);
    assert_true(evq_touch(&q, A, 1000));
    assert_int_equal(evq_next_due(&q), 3000);
    assert_true(evq_touch(&q, A, 2500)); /* a later event pushes it back */
    assert_int_equal(evq_next_due(&q), 4500);
    assert_int_equal(evq_take_due(&q, 4499, out, 4), 0);
    assert_int_equal(evq_take_due(&q, 4500, out, 4), 1);
    assert_string_equal(out[0], A);
    assert_int_equal(evq_next_due(&q), -1);
    /* the same client in upper case is the same client */
    char upper[EVQ_ID_LEN + 1];
    for (size_t i = 0; i <= EVQ_ID_LEN; i++)
        upper[i] = (char)(A[i] >= 'a' && A[i] <= 'f' ? A[i] - 32 : A[i]);
    assert_true(evq_touch(&q, A, 0));
    assert_true(evq_touch(&q, upper, 100));
    assert_true(evq_touch(&q, B, 100));
    assert_false(evq_touch(&q, "22222222-2222-4222-8222-22222222222X", 100)); /* not a uuid */
    assert_false(evq_touch(&q, "33333333-3333-4333-8333-333333333333", 100)); /* full */
    assert_int_equal(evq_take_due(&q, 2100, out, 4), 2);
    evq_free(&q);
}

static void
test_queue_steady_stream_still_recomputes(void **state)
{
    (void)state;
    evq q;
    char out[1][EVQ_ID_LEN + 1];
    evq_init(&q, 100, 10);
    /* an event every 50 ms never leaves 100 ms of quiet, yet the client is
     * due 10 quiet times after its first event */
    for (int64_t t = 0; t < 1000; t += 50)
        assert_true(evq_touch(&q, B, t));
    assert_int_equal(evq_next_due(&q), 1000);
    assert_int_equal(evq_take_due(&q, 999, out, 1), 0);
    assert_int_equal(evq_take_due(&q, 1000, out, 1), 1);
    evq_free(&q);
}

/* ---- payloads ---- */

static js_status
parse(ev_kind k, const char *text, ev_msg *m, js_err *err)
{
    return evmsg_parse(k, text, strlen(text), m, err);
}

#define JOB_ID "33333333-3333-4333-8333-333333333333"

static void
test_parse_job(void **state)
{
    (void)state;
    ev_msg m;
    js_err err;
    char buf[1600];
    assert_int_equal(parse(EV_JOB,
                           "{\"type\":\"job_update\",\"job_id\":\"" JOB_ID "\",\"client_id\":\""
                           "11111111-1111-4111-8111-111111111111\",\"job_type\":\"menu_sync\","
                           "\"status\":\"failed\",\"progress\":40,\"attempt\":2,\"error\":"
                           "{\"message\":\"boom\",\"retryable\":false},"
                           "\"updated_at\":\"2026-09-21T16:13:20+02:00\",\"seq\":7}",
                           &m, &err),
                     JS_OK);
    assert_true(m.keep);
    assert_int_equal(m.np, 8);
    assert_string_equal(m.p[4], "2");
    assert_string_equal(m.p[5], "boom");
    assert_string_equal(m.p[6], "7");
    assert_string_equal(m.p[7], "2026-09-21T14:13:20.000Z");
    assert_int_equal(m.at, NOW);
    assert_string_equal(m.subject, JOB_ID);
    evmsg_free(&m);
    /* a job still running is not kept */
    assert_int_equal(parse(EV_JOB,
                           "{\"type\":\"job_update\",\"job_id\":\"" JOB_ID "\",\"client_id\":\""
                           "11111111-1111-4111-8111-111111111111\",\"job_type\":\"menu_sync\","
                           "\"status\":\"running\",\"attempt\":1,\"error\":null,"
                           "\"updated_at\":\"2026-09-21T14:13:20Z\",\"seq\":2}",
                           &m, &err),
                     JS_OK);
    assert_false(m.keep);
    assert_null(m.p[5]);
    evmsg_free(&m);
    /* an error of another form is no text; the outcome is kept */
    assert_int_equal(parse(EV_JOB,
                           "{\"type\":\"job_update\",\"job_id\":\"" JOB_ID "\",\"client_id\":\""
                           "11111111-1111-4111-8111-111111111111\",\"job_type\":\"menu_sync\","
                           "\"status\":\"failed\",\"attempt\":1,\"error\":{\"code\":7},"
                           "\"updated_at\":\"2026-09-21T14:13:20Z\",\"seq\":3}",
                           &m, &err),
                     JS_OK);
    assert_true(m.keep);
    assert_null(m.p[5]);
    evmsg_free(&m);
    /* a long error is cut, not refused, and never in the middle of a character */
    int n = snprintf(buf, sizeof(buf),
                     "{\"type\":\"job_update\",\"job_id\":\"" JOB_ID "\",\"client_id\":\"" JOB_ID
                     "\",\"job_type\":\"x\",\"status\":\"failed\",\"attempt\":1,"
                     "\"updated_at\":\"2026-09-21T14:13:20Z\",\"seq\":2,\"error\":\"a");
    for (int i = 0; i < 500; i++)
        n += snprintf(buf + n, sizeof(buf) - (size_t)n, "\xc3\xa9");
    snprintf(buf + n, sizeof(buf) - (size_t)n, "\"}");
    assert_int_equal(parse(EV_JOB, buf, &m, &err), JS_OK);
    assert_int_equal(strlen(m.p[5]), 999); /* "a" and 499 two-byte characters */
    evmsg_free(&m);
}

static void
expect_invalid(ev_kind k, const char *text, const char *field)
{
    ev_msg m;
    js_err err;
    assert_int_equal(parse(k, text, &m, &err), JS_INVALID);
    assert_null(m.doc);
    if (strcmp(err.field, field) != 0)
        fail_msg("expected an error on '%s', got '%s': %s", field, err.field, err.message);
}

static void
test_parse_refusals(void **state)
{
    (void)state;
    expect_invalid(EV_JOB, "not json", "");
    expect_invalid(EV_JOB, "[1]", "");
    expect_invalid(EV_JOB, "{\"type\":\"toast_health\"}", "type");
    expect_invalid(EV_JOB, "{\"type\":\"job_update\",\"job_id\":\"nope\"}", "job_id");
    expect_invalid(EV_JOB,
                   "{\"type\":\"job_update\",\"job_id\":\"" JOB_ID "\",\"client_id\":\"" JOB_ID
                   "\",\"job_type\":\"x\",\"status\":\"done\"}",
                   "status");
    expect_invalid(EV_JOB,
                   "{\"type\":\"job_update\",\"job_id\":\"" JOB_ID "\",\"client_id\":\"" JOB_ID
                   "\",\"job_type\":\"x\",\"status\":\"failed\",\"attempt\":1,\"seq\":0,"
                   "\"updated_at\":\"2026-09-21T14:13:20Z\"}",
                   "seq");
    expect_invalid(EV_HEALTH,
                   "{\"type\":\"toast_health\",\"id\":\"" JOB_ID "\",\"integration_id\":\"" JOB_ID
                   "\",\"client_id\":\"" JOB_ID "\",\"status\":\"healthy\","
                   "\"checked_at\":\"1999-12-31T23:59:59Z\"}",
                   "checked_at");
    expect_invalid(
        EV_SYNC,
        "{\"type\":\"sync_run\",\"run_id\":\"r1\",\"source_type\":\"pos\","
        "\"status\":\"completed\",\"counts\":[1],\"finished_at\":\"2026-09-21T14:13:20Z\"}",
        "counts");
    expect_invalid(EV_USAGE,
                   "{\"type\":\"provider_usage\",\"business_id\":\"b\",\"provider\":\"p\","
                   "\"period\":\"2026-13\"}",
                   "period");
    expect_invalid(EV_USAGE,
                   "{\"type\":\"provider_usage\",\"business_id\":\"b\",\"provider\":\"p\","
                   "\"period\":\"2026-09\",\"tokens\":1,\"requests\":1,\"cost\":\"1.23456\"}",
                   "cost");
    expect_invalid(EV_USAGE,
                   "{\"type\":\"provider_usage\",\"business_id\":\"b\",\"provider\":\"p\","
                   "\"period\":\"2026-09\",\"tokens\":-1}",
                   "tokens");
    expect_invalid(EV_ACTIVITY,
                   "{\"type\":\"activity\",\"id\":\"" JOB_ID "\",\"client_id\":\"" JOB_ID
                   "\",\"actor\":\"\",\"action\":\"login\"}",
                   "actor");
}

static void
test_parse_other_kinds(void **state)
{
    (void)state;
    ev_msg m;
    js_err err;
    assert_int_equal(parse(EV_SYNC,
                           "{\"type\":\"sync_run\",\"run_id\":\"r1\",\"source_type\":\"pos\","
                           "\"status\":\"partial\",\"counts\":{\"items\":3},"
                           "\"finished_at\":\"2026-09-21T14:13:20Z\"}",
                           &m, &err),
                     JS_OK);
    assert_null(m.client_id); /* a run of no client */
    assert_string_equal(m.p[4], "{\"items\":3}");
    assert_null(m.p[5]);
    evmsg_free(&m);
    assert_int_equal(parse(EV_USAGE,
                           "{\"type\":\"provider_usage\",\"business_id\":\"b1\",\"provider\":"
                           "\"openai\",\"period\":\"2026-09\",\"tokens\":10,\"requests\":2,"
                           "\"cost\":0.1234,\"budget\":\"50.00\","
                           "\"reported_at\":\"2026-09-21T14:13:20Z\"}",
                           &m, &err),
                     JS_OK);
    assert_int_equal(m.np, 9);
    assert_string_equal(m.p[6], "0.1234");
    assert_string_equal(m.p[7], "50.00");
    assert_string_equal(m.subject, "b1");
    evmsg_free(&m);
    assert_int_equal(parse(EV_ACTIVITY,
                           "{\"type\":\"activity\",\"id\":\"" JOB_ID "\",\"client_id\":\"" JOB_ID
                           "\",\"actor\":\"ann\",\"action\":\"login\","
                           "\"occurred_at\":\"2026-09-21T14:13:20Z\"}",
                           &m, &err),
                     JS_OK);
    assert_string_equal(m.p[5], "{}");
    evmsg_free(&m);
    assert_true(evmsg_decimal_valid("12.3456", 10, 4));
    assert_false(evmsg_decimal_valid("1.", 10, 4));
    assert_false(evmsg_decimal_valid("12345678901", 10, 4));
    assert_false(evmsg_decimal_valid("-1", 10, 4));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_automation_no_data),
        cmocka_unit_test(test_automation_rates),
        cmocka_unit_test(test_automation_recent_failures_weigh_more),
        cmocka_unit_test(test_stability_no_data),
        cmocka_unit_test(test_stability_checks),
        cmocka_unit_test(test_stability_syncs_and_both),
        cmocka_unit_test(test_compute_uses_both),
        cmocka_unit_test(test_queue_debounce),
        cmocka_unit_test(test_queue_steady_stream_still_recomputes),
        cmocka_unit_test(test_parse_job),
        cmocka_unit_test(test_parse_refusals),
        cmocka_unit_test(test_parse_other_kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
