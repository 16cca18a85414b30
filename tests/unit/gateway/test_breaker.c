/* Tests for the circuit breaker: closed, open after N failures in a row, a
 * single trial after the pause, closed again on its success or open again on
 * its failure, and the gauge gateway_circuit_open{upstream}. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "breaker.h"

#define OPEN_MS 40

static metrics_registry *reg;

static int
setup(void **state)
{
    (void)state;
    static const char *const names[] = {"svc-a", "svc-b", "svc-a"};
    breaker_config cfg = {.failures = 3, .open_ms = OPEN_MS};
    reg = metrics_registry_new();
    return reg == NULL || breaker_init(names, 3, &cfg, reg) != 0 ? -1 : 0;
}

static int
teardown(void **state)
{
    (void)state;
    breaker_cleanup();
    metrics_registry_free(reg);
    return 0;
}

static void
pass_open_time(void)
{
    struct timespec ts = {0, (OPEN_MS + 15) * 1000000L};
    while (nanosleep(&ts, &ts) != 0) {
    }
}

static bool
gauge_is(const char *name, int v)
{
    char *text = NULL, want[128];
    snprintf(want, sizeof(want), "gateway_circuit_open{upstream=\"%s\"} %d\n", name, v);
    assert_int_equal(metrics_render(reg, &text, NULL), 0);
    bool found = strstr(text, want) != NULL;
    free(text);
    return found;
}

static void
fail_times(breaker *b, int n)
{
    for (int i = 0; i < n; i++) {
        breaker_verdict v = breaker_acquire(b, NULL);
        assert_int_equal(v, BREAKER_ALLOW);
        breaker_report(b, v, false);
    }
}

static void
test_names_and_gauges(void **state)
{
    (void)state;
    assert_non_null(breaker_for("svc-a"));
    assert_ptr_not_equal(breaker_for("svc-a"), breaker_for("svc-b"));
    assert_null(breaker_for("svc-c"));
    assert_int_equal(breaker_acquire(NULL, NULL), BREAKER_ALLOW);
    assert_true(gauge_is("svc-a", 0));
    assert_true(gauge_is("svc-b", 0));
}

static void
test_opens_after_failures_in_a_row(void **state)
{
    (void)state;
    breaker *b = breaker_for("svc-a");
    fail_times(b, 2);
    /* A success in between starts the count again. */
    breaker_report(b, breaker_acquire(b, NULL), true);
    fail_times(b, 2);
    assert_false(breaker_is_open(b));
    fail_times(b, 1);
    assert_true(breaker_is_open(b));
    assert_true(gauge_is("svc-a", 1));
    long wait_ms = 0;
    assert_int_equal(breaker_acquire(b, &wait_ms), BREAKER_REJECT);
    assert_true(wait_ms > 0 && wait_ms <= OPEN_MS);
    /* The other upstream is not affected. */
    assert_int_equal(breaker_acquire(breaker_for("svc-b"), NULL), BREAKER_ALLOW);
    breaker_report(breaker_for("svc-b"), BREAKER_ALLOW, true);
    assert_true(gauge_is("svc-b", 0));

    /* One trial after the pause; the others are still refused meanwhile. */
    pass_open_time();
    breaker_verdict trial = breaker_acquire(b, NULL);
    assert_int_equal(trial, BREAKER_TRIAL);
    assert_int_equal(breaker_acquire(b, NULL), BREAKER_REJECT);
    assert_true(gauge_is("svc-a", 1));
    breaker_report(b, trial, true);
    assert_false(breaker_is_open(b));
    assert_true(gauge_is("svc-a", 0));
    assert_int_equal(breaker_acquire(b, NULL), BREAKER_ALLOW);
    breaker_report(b, BREAKER_ALLOW, true);
}

static void
test_failed_trial_opens_again(void **state)
{
    (void)state;
    breaker *b = breaker_for("svc-b");
    fail_times(b, 3);
    assert_true(breaker_is_open(b));
    pass_open_time();
    breaker_verdict trial = breaker_acquire(b, NULL);
    assert_int_equal(trial, BREAKER_TRIAL);
    breaker_report(b, trial, false);
    assert_true(breaker_is_open(b));
    long wait_ms = 0;
    assert_int_equal(breaker_acquire(b, &wait_ms), BREAKER_REJECT);
    assert_true(wait_ms > OPEN_MS / 2);
    /* A late answer of a request let through before the circuit opened
     * changes nothing. */
    breaker_report(b, BREAKER_ALLOW, true);
    assert_true(breaker_is_open(b));
    pass_open_time();
    trial = breaker_acquire(b, NULL);
    assert_int_equal(trial, BREAKER_TRIAL);
    breaker_report(b, trial, true);
    assert_false(breaker_is_open(b));
    /* Closed again with a fresh count: N - 1 failures keep it closed. */
    fail_times(b, 2);
    assert_false(breaker_is_open(b));
}

static void
test_rejections_are_counted(void **state)
{
    (void)state;
    char *text = NULL;
    assert_int_equal(metrics_render(reg, &text, NULL), 0);
    assert_non_null(strstr(text, "# TYPE gateway_circuit_rejected_total counter\n"));
    assert_non_null(strstr(text, "gateway_circuit_rejected_total{upstream=\"svc-a\"} 2\n"));
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_gauges),
        cmocka_unit_test(test_opens_after_failures_in_a_row),
        cmocka_unit_test(test_failed_trial_opens_again),
        cmocka_unit_test(test_rejections_are_counted),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
