/* Unit tests for common/src/ticker.c: calls come at the interval, the first
 * at once or after one interval, and stopping cuts the wait short. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
/* cmocka.h needs stdarg.h, stddef.h, stdint.h and setjmp.h first. */
#include <cmocka.h>

#include "ticker.h"
#include "util.h"

static atomic_int calls;

static void
count(void *ud)
{
    (void)ud;
    atomic_fetch_add(&calls, 1);
}

/* Wait until calls reaches n or deadline_ms passed; true when it did. */
static bool
wait_calls(int n, int deadline_ms)
{
    int64_t end = util_mono_ns() + (int64_t)deadline_ms * 1000000;
    struct timespec ts = {0, 1000000};
    while (atomic_load(&calls) < n) {
        if (util_mono_ns() > end)
            return false;
        nanosleep(&ts, NULL); /* polling a counter, with a deadline */
    }
    return true;
}

static void
test_calls_repeat(void **state)
{
    (void)state;
    atomic_store(&calls, 0);
    ticker *t = ticker_start(5, true, count, NULL);
    assert_non_null(t);
    assert_true(wait_calls(5, 5000));
    ticker_stop(t);
    int after = atomic_load(&calls);
    /* no call after the stop returned */
    struct timespec ts = {0, 30000000};
    nanosleep(&ts, NULL);
    assert_int_equal(atomic_load(&calls), after);
}

static void
test_first_call_waits_one_interval(void **state)
{
    (void)state;
    atomic_store(&calls, 0);
    int64_t t0 = util_mono_ns();
    ticker *t = ticker_start(200, false, count, NULL);
    assert_non_null(t);
    assert_true(wait_calls(1, 5000));
    assert_true(util_mono_ns() - t0 >= 200 * 1000000LL);
    ticker_stop(t);
}

static void
test_stop_cuts_the_wait_short(void **state)
{
    (void)state;
    atomic_store(&calls, 0);
    ticker *t = ticker_start(3600 * 1000, true, count, NULL);
    assert_non_null(t);
    assert_true(wait_calls(1, 5000));
    int64_t t0 = util_mono_ns();
    ticker_stop(t);
    assert_true(util_mono_ns() - t0 < 2000 * 1000000LL); /* not an hour */
    assert_int_equal(atomic_load(&calls), 1);
    ticker_stop(NULL);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_calls_repeat),
        cmocka_unit_test(test_first_call_waits_one_interval),
        cmocka_unit_test(test_stop_cuts_the_wait_short),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
