/* alert_rules (the alerts of issue 6): every rule raises at its threshold
 * and not one step below, clears when its condition is over, holds when the
 * facts say neither, with the documented severities; the sync subject; and
 * the same facts and `now` always give the same verdict. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "alert_rules.h"

#define NOW  ((int64_t)1790000000) /* 2026-09-21T14:13:20Z */
#define DAY  ALERT_DAY
#define HOUR ((int64_t)3600)

static int64_t
detail(const alert_verdict *v, const char *name)
{
    for (size_t i = 0; i < v->ndetails; i++)
        if (strcmp(v->details[i].name, name) == 0)
            return v->details[i].value;
    fail_msg("no detail %s", name);
    return -1;
}

static const char *
detail_text(const alert_verdict *v, const char *name)
{
    for (size_t i = 0; i < v->ndetails; i++)
        if (strcmp(v->details[i].name, name) == 0)
            return v->details[i].text;
    fail_msg("no detail %s", name);
    return NULL;
}

static alert_verdict
drop(int current, int peak, int64_t peak_at)
{
    alert_scores in = {current, NOW, peak, peak_at};
    alert_verdict v;
    alert_score_drop(&in, NOW, &v);
    return v;
}

static void
test_score_drop(void **state)
{
    (void)state;
    alert_verdict v = drop(60, 75, NOW - DAY);
    assert_int_equal(v.action, ALERT_RAISE); /* 15 points: the threshold */
    assert_int_equal(v.severity, SEV_MEDIUM);
    assert_int_equal(detail(&v, "drop"), 15);
    assert_int_equal(detail(&v, "peak_score"), 75);
    assert_int_equal(detail(&v, "peak_at"), NOW - DAY);
    assert_string_equal(v.message, "health score fell 15 points within 7 days (from 75 to 60)");
    assert_int_equal(drop(61, 75, NOW - DAY).action, ALERT_CLEAR); /* 14 points */
    v = drop(40, 69, NOW - DAY);
    assert_int_equal(v.action, ALERT_RAISE);
    assert_int_equal(v.severity, SEV_MEDIUM); /* 29 */
    v = drop(40, 70, NOW - DAY);
    assert_int_equal(v.severity, SEV_HIGH); /* 30 */
    /* The window: a peak exactly 7 days old still counts, one second older
     * has aged out; a peak after now is not taken. */
    assert_int_equal(drop(50, 90, NOW - 7 * DAY).action, ALERT_RAISE);
    assert_int_equal(drop(50, 90, NOW - 7 * DAY - 1).action, ALERT_CLEAR);
    assert_int_equal(drop(50, 90, NOW + 1).action, ALERT_CLEAR);
    /* No score, an unknown one, or no peak: nothing fell. */
    assert_int_equal(drop(-1, 90, NOW - DAY).action, ALERT_CLEAR);
    assert_int_equal(drop(50, -1, 0).action, ALERT_CLEAR);
    assert_int_equal(drop(90, 90, NOW).action, ALERT_CLEAR);
}

static alert_verdict
critical(int current)
{
    alert_scores in = {current, NOW - 60, current, NOW - 60};
    alert_verdict v;
    alert_health_critical(&in, &v);
    return v;
}

static void
test_health_critical(void **state)
{
    (void)state;
    alert_verdict v = critical(49);
    assert_int_equal(v.action, ALERT_RAISE);
    assert_int_equal(v.severity, SEV_CRITICAL);
    assert_int_equal(detail(&v, "score"), 49);
    assert_int_equal(detail(&v, "computed_at"), NOW - 60);
    assert_string_equal(v.message, "health score 49 is critical (below 50)");
    assert_int_equal(critical(0).action, ALERT_RAISE);
    assert_int_equal(critical(50).action, ALERT_CLEAR); /* at_risk */
    assert_int_equal(critical(100).action, ALERT_CLEAR);
    assert_int_equal(critical(-1).action, ALERT_CLEAR); /* unknown is not critical */
}

static alert_verdict
failures(int completed, int failed, int64_t at)
{
    alert_job jobs[64];
    alert_verdict v;
    size_t n = 0;
    for (int i = 0; i < completed; i++)
        jobs[n++] = (alert_job){at, false};
    for (int i = 0; i < failed; i++)
        jobs[n++] = (alert_job){at, true};
    alert_job_failure_rate(jobs, n, NOW, &v);
    return v;
}

static void
test_job_failure_rate(void **state)
{
    (void)state;
    /* 20% exactly is not over 20%; 2 of 9 (22%) is. */
    assert_int_equal(failures(8, 2, NOW - HOUR).action, ALERT_CLEAR);
    alert_verdict v = failures(7, 2, NOW - HOUR);
    assert_int_equal(v.action, ALERT_RAISE);
    assert_int_equal(v.severity, SEV_MEDIUM);
    assert_int_equal(detail(&v, "failed"), 2);
    assert_int_equal(detail(&v, "finished"), 9);
    assert_int_equal(detail(&v, "failure_rate_pct"), 22);
    assert_string_equal(v.message, "2 of 9 jobs finished in the last 24 h failed (22%)");
    /* Fewer than 5 jobs: no alert, even all failed; 5 are enough. */
    assert_int_equal(failures(0, 4, NOW - HOUR).action, ALERT_CLEAR);
    v = failures(0, 5, NOW - HOUR);
    assert_int_equal(v.action, ALERT_RAISE);
    assert_int_equal(v.severity, SEV_HIGH);
    /* 50% is medium, over 50% high. */
    assert_int_equal(failures(5, 5, NOW - HOUR).severity, SEV_MEDIUM);
    assert_int_equal(failures(4, 5, NOW - HOUR).severity, SEV_HIGH);
    /* The window is (now - 24 h, now]: exactly 24 h old has aged out. */
    assert_int_equal(failures(0, 5, NOW - DAY + 1).action, ALERT_RAISE);
    assert_int_equal(failures(0, 5, NOW - DAY).action, ALERT_CLEAR);
    assert_int_equal(failures(0, 5, NOW + 1).action, ALERT_CLEAR);
    assert_int_equal(failures(0, 0, NOW).action, ALERT_CLEAR);
}

static void
test_job_failure_rate_mixed_ages(void **state)
{
    (void)state;
    /* Failures that age out of the 24 h no longer count. */
    alert_job jobs[] = {{NOW - HOUR, false},    {NOW - HOUR, false},   {NOW - HOUR, false},
                        {NOW - HOUR, false},    {NOW - HOUR, true},    {NOW - DAY - 10, true},
                        {NOW - DAY - 10, true}, {NOW - DAY - 10, true}};
    alert_verdict v, again;
    alert_job_failure_rate(jobs, 8, NOW, &v);
    assert_int_equal(v.action, ALERT_CLEAR); /* 1 of 5: 20% */
    /* An hour earlier the old ones were inside: 4 of 8. */
    alert_job_failure_rate(jobs, 8, NOW - HOUR, &v);
    assert_int_equal(v.action, ALERT_RAISE);
    assert_int_equal(v.severity, SEV_MEDIUM);
    assert_int_equal(detail(&v, "finished"), 8);
    alert_job_failure_rate(jobs, 8, NOW - HOUR, &again);
    assert_memory_equal(&v, &again, sizeof(v)); /* deterministic */
}

static alert_verdict
checks(const char *statuses)
{
    alert_check c[16];
    alert_verdict v;
    size_t n = strlen(statuses);
    for (size_t i = 0; i < n; i++)
        c[i] = (alert_check){statuses[i] == 'u'   ? CHECK_UNHEALTHY
                             : statuses[i] == 'd' ? CHECK_DEGRADED
                                                  : CHECK_HEALTHY,
                             NOW - (int64_t)i * 300};
    alert_integration_unhealthy(c, n, &v);
    return v;
}

static void
test_integration_unhealthy(void **state)
{
    (void)state;
    /* Newest first: u = unhealthy, d = degraded, h = healthy. */
    alert_verdict v = checks("uuuh");
    assert_int_equal(v.action, ALERT_RAISE);
    assert_int_equal(v.severity, SEV_HIGH);
    assert_int_equal(detail(&v, "unhealthy_in_a_row"), 3);
    assert_int_equal(detail(&v, "last_checked_at"), NOW);
    assert_string_equal(v.message, "integration unhealthy in its last 3 health checks");
    assert_int_equal(checks("uuu").action, ALERT_RAISE);
    assert_int_equal(checks("uuuuuuuuu").severity, SEV_HIGH);
    assert_int_equal(checks("uuuuuuuuuu").severity, SEV_CRITICAL); /* 10 in a row */
    /* Two in a row, or three broken by another status: not yet. */
    assert_int_equal(checks("uu").action, ALERT_HOLD);
    assert_int_equal(checks("uudu").action, ALERT_HOLD);
    /* A healthy check clears; a degraded one does not. */
    assert_int_equal(checks("huuu").action, ALERT_CLEAR);
    assert_int_equal(checks("duuu").action, ALERT_HOLD);
    assert_int_equal(checks("").action, ALERT_HOLD);
}

static alert_verdict
runs(const char *statuses, const char *error)
{
    alert_run r[8];
    alert_verdict v;
    size_t n = strlen(statuses);
    for (size_t i = 0; i < n; i++) {
        r[i] = (alert_run){statuses[i] == 'f'   ? RUN_FAILED
                           : statuses[i] == 'p' ? RUN_PARTIAL
                                                : RUN_COMPLETED,
                           NOW - (int64_t)i * HOUR, ""};
        snprintf(r[i].error, sizeof(r[i].error), "%s", error);
    }
    alert_sync_failed(r, n, "square", &v);
    return v;
}

static void
test_sync_failed(void **state)
{
    (void)state;
    alert_verdict v = runs("fc", "token expired");
    assert_int_equal(v.action, ALERT_RAISE);
    assert_int_equal(v.severity, SEV_MEDIUM);
    assert_string_equal(v.message, "square sync failed: token expired");
    assert_string_equal(detail_text(&v, "source_type"), "square");
    assert_int_equal(detail(&v, "failed_in_a_row"), 1);
    assert_int_equal(detail(&v, "finished_at"), NOW);
    assert_string_equal(runs("f", "").message, "square sync failed");
    assert_int_equal(runs("ff", "").severity, SEV_MEDIUM);
    assert_int_equal(runs("fff", "").severity, SEV_HIGH); /* three in a row */
    /* A later completed run clears; a partial one holds. */
    assert_int_equal(runs("cf", "").action, ALERT_CLEAR);
    assert_int_equal(runs("pf", "").action, ALERT_HOLD);
    assert_int_equal(runs("", "").action, ALERT_HOLD);
}

static void
test_sync_subject(void **state)
{
    char out[ALERT_SUBJECT_MAX + 1], c[64], src[ALERT_SUBJECT_MAX + 1], big[300];
    (void)state;
    const char *id = "4f1c2b9e-0000-4000-8000-000000000001";
    assert_true(alert_sync_subject(id, "square", out, sizeof(out)));
    assert_string_equal(out, "4f1c2b9e-0000-4000-8000-000000000001/square");
    assert_true(alert_sync_subject_parse(out, c, sizeof(c), src, sizeof(src)));
    assert_string_equal(c, id);
    assert_string_equal(src, "square");
    assert_true(alert_sync_subject(NULL, "square", out, sizeof(out)));
    assert_string_equal(out, "square");
    assert_true(alert_sync_subject_parse(out, c, sizeof(c), src, sizeof(src)));
    assert_string_equal(c, "");
    assert_string_equal(src, "square");
    assert_false(alert_sync_subject(id, "a/b", out, sizeof(out)));
    assert_false(alert_sync_subject(id, "", out, sizeof(out)));
    memset(big, 'x', 170);
    big[170] = '\0'; /* 37 + 170 bytes: over 200 */
    assert_false(alert_sync_subject(id, big, out, sizeof(out)));
    assert_true(alert_sync_subject(NULL, big, out, sizeof(out)));
}

static alert_verdict
usage(const alert_usage *rows, size_t n)
{
    alert_verdict v;
    alert_usage_over_budget(rows, n, NOW, &v);
    return v;
}

static void
test_usage_over_budget(void **state)
{
    (void)state;
    char period[8];
    alert_period_of(NOW, period);
    assert_string_equal(period, "2026-09");
    /* Two providers: 60.0000 + 40.0001 over a budget of 100.00. */
    alert_usage rows[] = {
        {"2026-09", 600000, 1000000, NOW - HOUR},
        {"2026-09", 400001, -1, NOW - 2 * HOUR},
        {"2026-08", 9990000, 10000, NOW - 30 * DAY}, /* last period: not counted */
    };
    alert_verdict v = usage(rows, 3);
    assert_int_equal(v.action, ALERT_RAISE);
    assert_int_equal(v.severity, SEV_HIGH);
    assert_int_equal(detail(&v, "cost"), 1000001);
    assert_int_equal(detail(&v, "budget"), 1000000);
    assert_string_equal(detail_text(&v, "period"), "2026-09");
    assert_string_equal(v.message,
                        "provider cost 100.0001 is over the budget 100.0000 for 2026-09");
    /* Exactly the budget is not over it. */
    rows[1].cost = 400000;
    assert_int_equal(usage(rows, 3).action, ALERT_CLEAR);
    /* Twice the budget is critical. */
    rows[1].cost = 1400000;
    assert_int_equal(usage(rows, 3).severity, SEV_CRITICAL);
    rows[1].cost = 1399999;
    assert_int_equal(usage(rows, 3).severity, SEV_HIGH);
    /* The newest report giving a budget sets it. */
    rows[1].budget = 5000000;
    rows[1].reported_at = NOW;
    assert_int_equal(usage(rows, 3).action, ALERT_CLEAR);
    /* No budget reported, or nothing this period: nothing to be over. */
    alert_usage none[] = {{"2026-09", 900000, -1, NOW}};
    assert_int_equal(usage(none, 1).action, ALERT_CLEAR);
    assert_int_equal(usage(rows + 2, 1).action, ALERT_CLEAR);
    assert_int_equal(usage(NULL, 0).action, ALERT_CLEAR);
    /* A budget of 0 and any cost. */
    alert_usage zero[] = {{"2026-09", 1, 0, NOW}};
    assert_int_equal(usage(zero, 1).severity, SEV_CRITICAL);
}

static void
test_effects(void **state)
{
    (void)state;
    /* After a score or an event: raise opens or updates, clear resolves. */
    assert_int_equal(alert_effect_of(ALERT_RAISE, false), ALERT_DO_UPSERT);
    assert_int_equal(alert_effect_of(ALERT_CLEAR, false), ALERT_DO_RESOLVE);
    assert_int_equal(alert_effect_of(ALERT_HOLD, false), ALERT_DO_NOTHING);
    /* The sweep only resolves: a condition still true is left as it is. */
    assert_int_equal(alert_effect_of(ALERT_RAISE, true), ALERT_DO_NOTHING);
    assert_int_equal(alert_effect_of(ALERT_CLEAR, true), ALERT_DO_RESOLVE);
    assert_int_equal(alert_effect_of(ALERT_HOLD, true), ALERT_DO_NOTHING);
    /* A failure rate whose failures aged out: raise at the event, resolve
     * at a later sweep. */
    alert_job jobs[5];
    for (int i = 0; i < 5; i++)
        jobs[i] = (alert_job){NOW - HOUR, true};
    alert_verdict v;
    alert_job_failure_rate(jobs, 5, NOW, &v);
    assert_int_equal(alert_effect_of(v.action, false), ALERT_DO_UPSERT);
    alert_job_failure_rate(jobs, 5, NOW + DAY - HOUR - 1, &v);
    assert_int_equal(alert_effect_of(v.action, true), ALERT_DO_NOTHING);
    alert_job_failure_rate(jobs, 5, NOW + DAY - HOUR, &v);
    assert_int_equal(alert_effect_of(v.action, true), ALERT_DO_RESOLVE);
}

static void
test_names(void **state)
{
    (void)state;
    for (int t = 0; t < ALERT_NTYPES; t++)
        assert_int_equal(alert_type_of(alert_type_name((alert_type)t)), t);
    for (int s = 0; s < SEV_N; s++)
        assert_int_equal(alert_severity_of(alert_severity_name((alert_severity)s)), s);
    assert_string_equal(alert_type_name(ALERT_INTEGRATION_UNHEALTHY), "integration_unhealthy");
    assert_int_equal(alert_type_of("score"), ALERT_NTYPES);
    assert_int_equal(alert_type_of(NULL), ALERT_NTYPES);
    assert_int_equal(alert_severity_of("urgent"), SEV_N);
}

static void
test_message_cut_on_a_character(void **state)
{
    (void)state;
    /* A long error of 2-byte characters: the message is cut whole. */
    alert_run r = {RUN_FAILED, NOW, ""};
    char src[1000];
    size_t k = 0;
    while (k + 2 < sizeof(src) - 1) {
        src[k++] = (char)0xC3;
        src[k++] = (char)0xA9; /* é */
    }
    src[k] = '\0';
    alert_verdict v;
    alert_sync_failed(&r, 1, src, &v);
    size_t len = strlen(v.message);
    assert_true(len <= ALERT_MESSAGE_MAX);
    assert_true(len % 2 == 0); /* "" + whole é only */
    assert_int_equal((unsigned char)v.message[len - 1], 0xA9);
    /* The source type detail too. */
    size_t dl = strlen(detail_text(&v, "source_type"));
    assert_true(dl % 2 == 0 && dl > 0);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_score_drop),
        cmocka_unit_test(test_health_critical),
        cmocka_unit_test(test_job_failure_rate),
        cmocka_unit_test(test_job_failure_rate_mixed_ages),
        cmocka_unit_test(test_integration_unhealthy),
        cmocka_unit_test(test_sync_failed),
        cmocka_unit_test(test_sync_subject),
        cmocka_unit_test(test_usage_over_budget),
        cmocka_unit_test(test_effects),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_message_cut_on_a_character),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
