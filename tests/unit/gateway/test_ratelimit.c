/* Tests for the token buckets: a burst then the rate, the figures of the
 * X-RateLimit headers, independent keys, bounded memory under a flood of
 * keys, and no token handed out twice under concurrency. Time is given, not
 * waited for. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "ratelimit.h"

#define SEC 1000000000LL

static void
test_burst_then_rate(void **state)
{
    ratelimit *rl = ratelimit_new(10, 5, 100);
    ratelimit_result r;
    int64_t t = 1000 * SEC;

    (void)state;
    assert_non_null(rl);
    for (long i = 0; i < 5; i++) {
        ratelimit_take(rl, "user:a", t, &r);
        assert_true(r.allowed);
        assert_int_equal(r.limit, 5);
        assert_int_equal(r.remaining, 4 - i);
        assert_int_equal(r.retry_after, 0);
    }
    assert_int_equal(r.reset_s, 1); /* 5 tokens at 10/s: half a second, rounded up */
    ratelimit_take(rl, "user:a", t, &r);
    assert_false(r.allowed);
    assert_int_equal(r.remaining, 0);
    assert_int_equal(r.retry_after, 1);
    /* a tenth of a second brings one token back, and no more */
    ratelimit_take(rl, "user:a", t + SEC / 10, &r);
    assert_true(r.allowed);
    ratelimit_take(rl, "user:a", t + SEC / 10, &r);
    assert_false(r.allowed);
    /* a long pause refills to the burst, not beyond */
    ratelimit_take(rl, "user:a", t + 100 * SEC, &r);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 4);
    /* time going backwards (another thread's clock read) takes nothing extra */
    ratelimit_take(rl, "user:a", t, &r);
    assert_true(r.allowed);
    assert_int_equal(r.remaining, 3);
    ratelimit_free(rl);
}

static void
test_slow_rate_retry_after(void **state)
{
    ratelimit *rl = ratelimit_new(1, 1, 10);
    ratelimit_result r;

    (void)state;
    ratelimit_take(rl, "ip:1.2.3.4", 0, &r);
    assert_true(r.allowed);
    ratelimit_take(rl, "ip:1.2.3.4", SEC / 4, &r);
    assert_false(r.allowed);
    assert_int_equal(r.retry_after, 1); /* 0.75 s, rounded up */
    assert_int_equal(r.reset_s, 1);
    ratelimit_free(rl);
}

static void
test_keys_are_independent(void **state)
{
    ratelimit *rl = ratelimit_new(1, 2, 100);
    ratelimit_result r;

    (void)state;
    for (int i = 0; i < 2; i++) {
        ratelimit_take(rl, "key:k1", 0, &r);
        assert_true(r.allowed);
    }
    ratelimit_take(rl, "key:k1", 0, &r);
    assert_false(r.allowed);
    ratelimit_take(rl, "key:k2", 0, &r);
    assert_true(r.allowed);
    ratelimit_take(rl, "user:k1", 0, &r);
    assert_true(r.allowed);
    assert_int_equal(ratelimit_count(rl), 3);
    ratelimit_free(rl);
}

static void
test_memory_is_bounded(void **state)
{
    ratelimit *rl = ratelimit_new(1, 1, 64);
    ratelimit_result r;
    char key[64];

    (void)state;
    ratelimit_take(rl, "ip:victim", 0, &r);
    assert_true(r.allowed);
    ratelimit_take(rl, "ip:victim", 0, &r);
    assert_false(r.allowed);
    /* an attacker with many addresses: the table stays at its size */
    for (int i = 0; i < 20000; i++) {
        snprintf(key, sizeof(key), "ip:10.%d.%d.%d", i >> 16, (i >> 8) & 255, i & 255);
        ratelimit_take(rl, key, 0, &r);
        assert_true(r.allowed);
        assert_true(ratelimit_count(rl) <= 64);
    }
    assert_int_equal(ratelimit_count(rl), 64);
    /* the victim's bucket was the least recently used: it starts again full
     * (the cost of a bound, said in ratelimit.h) */
    ratelimit_take(rl, "ip:victim", 0, &r);
    assert_true(r.allowed);
    /* a key longer than the limit is cut, not refused */
    char longkey[300];
    memset(longkey, 'k', sizeof(longkey) - 1);
    longkey[sizeof(longkey) - 1] = '\0';
    ratelimit_take(rl, longkey, 0, &r);
    assert_true(r.allowed);
    ratelimit_take(rl, longkey, 0, &r);
    assert_false(r.allowed);
    ratelimit_free(rl);
}

static void
test_bad_arguments(void **state)
{
    (void)state;
    assert_null(ratelimit_new(0, 10, 10));
    assert_null(ratelimit_new(-1, 10, 10));
    assert_null(ratelimit_new(10, 0.5, 10));
    assert_null(ratelimit_new(10, 10, 0));
    ratelimit_free(NULL);
}

typedef struct taker {
    ratelimit *rl;
    int allowed;
} taker;

static void *
take_many(void *arg)
{
    taker *t = arg;
    ratelimit_result r;

    for (int i = 0; i < 5000; i++) {
        ratelimit_take(t->rl, i % 2 ? "user:shared" : "user:other", 7 * SEC, &r);
        if (r.allowed && i % 2)
            t->allowed++;
    }
    return NULL;
}

static void
test_concurrent_takes_share_one_bucket(void **state)
{
    ratelimit *rl = ratelimit_new(1, 1000, 100);
    taker t[4];
    pthread_t th[4];

    (void)state;
    for (int i = 0; i < 4; i++) {
        t[i] = (taker){rl, 0};
        assert_int_equal(pthread_create(&th[i], NULL, take_many, &t[i]), 0);
    }
    int total = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        total += t[i].allowed;
    }
    assert_int_equal(total, 1000); /* the burst, exactly: same instant for all */
    ratelimit_free(rl);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_burst_then_rate),
        cmocka_unit_test(test_slow_rate_retry_after),
        cmocka_unit_test(test_keys_are_independent),
        cmocka_unit_test(test_memory_is_bounded),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_concurrent_takes_share_one_bucket),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
