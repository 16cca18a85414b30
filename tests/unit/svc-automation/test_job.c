/* job: the job model's rules without any server: request validation, the
 * back-off schedule and what a failed attempt leads to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <string.h>

#include <cmocka.h>

#include "automation.h"
#include "job.h"

/* live.c finds its registry through main.c, which unit tests do not link;
 * nothing here opens a WebSocket. */
live *
automation_live(const void *a)
{
    (void)a;
    return NULL;
}

static json_object *
parse(const char *text)
{
    json_object *o = NULL;
    js_err err;
    assert_int_equal(js_parse(text, strlen(text), &o, &err), JS_OK);
    return o;
}

static void
test_new_defaults(void **state)
{
    (void)state;
    json_object *b = parse("{\"client_id\":\"11111111-1111-4111-8111-111111111111\","
                           "\"job_type\":\"backup\"}");
    job_new j;
    js_err err;
    assert_int_equal(job_new_parse(b, &j, &err), JS_OK);
    assert_int_equal(j.priority, 3);
    assert_int_equal(j.max_attempts, 3);
    assert_null(j.config);
    assert_int_equal(j.ndepends, 0);
    assert_null(j.idempotency_key);
    json_object_put(b);
}

static void
expect_invalid(const char *text, const char *field)
{
    json_object *b = parse(text);
    job_new j;
    js_err err;
    assert_int_equal(job_new_parse(b, &j, &err), JS_INVALID);
    assert_string_equal(err.field, field);
    assert_non_null(strstr(err.message, field));
    json_object_put(b);
}

#define C "\"client_id\":\"11111111-1111-4111-8111-111111111111\""

static void
test_new_rejects(void **state)
{
    (void)state;
    expect_invalid("{\"job_type\":\"backup\"}", "client_id");
    expect_invalid("{" C ",\"job_type\":\"nope\"}", "job_type");
    expect_invalid("{" C ",\"job_type\":\"backup\",\"priority\":0}", "priority");
    expect_invalid("{" C ",\"job_type\":\"backup\",\"priority\":6}", "priority");
    expect_invalid("{" C ",\"job_type\":\"backup\",\"config\":[]}", "config");
    expect_invalid("{" C ",\"job_type\":\"backup\",\"depends_on\":[\"x\"]}", "depends_on");
    expect_invalid("{" C ",\"job_type\":\"backup\",\"depends_on\":["
                   "\"22222222-2222-4222-8222-222222222222\","
                   "\"22222222-2222-4222-8222-222222222222\"]}",
                   "depends_on");
    expect_invalid("{" C ",\"job_type\":\"backup\",\"scheduled_at\":\"soon\"}", "scheduled_at");
    expect_invalid("{" C ",\"job_type\":\"backup\",\"max_attempts\":101}", "max_attempts");
    expect_invalid("{" C ",\"job_type\":\"backup\",\"colour\":1}", "colour");
}

static void
test_unknown_type_lists_allowed(void **state)
{
    (void)state;
    json_object *b = parse("{" C ",\"job_type\":\"nope\"}");
    job_new j;
    js_err err;
    assert_int_equal(job_new_parse(b, &j, &err), JS_INVALID);
    for (size_t i = 0; job_types[i]; i++)
        assert_non_null(strstr(err.message, job_types[i]));
    json_object_put(b);
}

static void
test_patch(void **state)
{
    (void)state;
    job_patch p;
    js_err err;
    json_object *b = parse("{\"priority\":1,\"scheduled_at\":null}");
    assert_int_equal(job_patch_parse(b, &p, &err), JOB_PATCH_OK);
    assert_true(p.has_priority && p.has_scheduled_at && !p.has_config);
    assert_int_equal(p.priority, 1);
    assert_null(p.scheduled_at);
    json_object_put(b);
    b = parse("{\"status\":\"completed\"}");
    assert_int_equal(job_patch_parse(b, &p, &err), JOB_PATCH_FORBIDDEN);
    assert_string_equal(err.field, "status");
    json_object_put(b);
    b = parse("{\"priority\":9}");
    assert_int_equal(job_patch_parse(b, &p, &err), JOB_PATCH_INVALID);
    json_object_put(b);
    b = parse("{}");
    assert_int_equal(job_patch_parse(b, &p, &err), JOB_PATCH_INVALID);
    json_object_put(b);
}

static void
test_backoff(void **state)
{
    (void)state;
    job_retry_policy p = {2000, 300000};
    /* r = 0.5 is the middle of the jitter: exactly base * 2^(n-1) */
    assert_int_equal(job_backoff_ms(&p, 1, 0.5), 2000);
    assert_int_equal(job_backoff_ms(&p, 2, 0.5), 4000);
    assert_int_equal(job_backoff_ms(&p, 3, 0.5), 8000);
    assert_int_equal(job_backoff_ms(&p, 20, 0.5), 300000);
    assert_int_equal(job_backoff_ms(&p, 1000, 0.99), 300000);
    /* jitter within [0.8, 1.2) */
    assert_int_equal(job_backoff_ms(&p, 1, 0.0), 1600);
    assert_true(job_backoff_ms(&p, 1, 0.999) < 2400 && job_backoff_ms(&p, 1, 0.999) >= 2390);
    /* out-of-range randomness is not trusted */
    assert_int_equal(job_backoff_ms(&p, 2, 7.0), 4000);
}

static void
test_after_failure(void **state)
{
    (void)state;
    assert_int_equal(job_after_failure(true, 1, 3), JOB_AFTER_RETRY);
    assert_int_equal(job_after_failure(true, 2, 3), JOB_AFTER_RETRY);
    assert_int_equal(job_after_failure(true, 3, 3), JOB_AFTER_FAIL);
    assert_int_equal(job_after_failure(false, 1, 3), JOB_AFTER_FAIL);
    assert_int_equal(job_after_failure(true, 1, 1), JOB_AFTER_FAIL);
}

static void
test_types_and_statuses(void **state)
{
    (void)state;
    assert_int_equal(job_type_index("menu_build"), 0);
    assert_int_equal(job_type_index("backup"), 9);
    assert_int_equal(job_type_index("Backup"), -1);
    assert_int_equal(job_type_index(NULL), -1);
    assert_true(job_status_final("completed") && job_status_final("failed")
                && job_status_final("cancelled"));
    assert_false(job_status_final("running") || job_status_final("queued"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_defaults),
        cmocka_unit_test(test_new_rejects),
        cmocka_unit_test(test_unknown_type_lists_allowed),
        cmocka_unit_test(test_patch),
        cmocka_unit_test(test_backoff),
        cmocka_unit_test(test_after_failure),
        cmocka_unit_test(test_types_and_statuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
