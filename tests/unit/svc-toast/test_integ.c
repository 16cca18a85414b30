/* integ (the rules of an integration request) and health_status. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "health_check.h"
#include "integ.h"

static json_object *
doc(const char *text)
{
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    return o;
}

#define VALID                                                                          \
    "\"client_id\":\"7f1c2f0e-1b2c-4d3e-8f90-123456789abc\",\"restaurant_id\":\"r1\"," \
    "\"toast_guid\":\"0b7e8b0c-3a6d-4f7e-9a2b-1c2d3e4f5a6b\",\"name\":\"Bistro\","     \
    "\"api_client_id\":\"cli\",\"api_client_secret\":\"s3cret\""

static void
check_create(const char *body, js_status want, const char *field)
{
    integ_input in;
    js_err err;
    json_object *o = doc(body);
    assert_int_equal(integ_parse(o, true, &in, &err), want);
    if (want != JS_OK) {
        assert_string_equal(err.field, field);
        assert_null(strstr(err.message, "s3cret"));
    }
    json_object_put(o);
}

static void
test_create(void **state)
{
    integ_input in;
    js_err err;
    (void)state;
    json_object *o = doc("{" VALID ",\"totp_secret\":\"JBSWY3DPEHPK3PXP\"}");
    assert_int_equal(integ_parse(o, true, &in, &err), JS_OK);
    assert_string_equal(in.value[INTEG_STATUS], "active");
    assert_string_equal(in.value[INTEG_API_CLIENT_SECRET], "s3cret");
    assert_true(in.has[INTEG_TOTP_SECRET] && !in.has[INTEG_PASSWORD]);
    json_object_put(o);
    check_create("{" VALID ",\"toast_guid\":\"nope\"}", JS_INVALID, "toast_guid");
    check_create("{" VALID ",\"status\":\"asleep\"}", JS_INVALID, "status");
    check_create("{" VALID ",\"totp_secret\":\"abc!\"}", JS_INVALID, "totp_secret");
    check_create("{" VALID ",\"totp_secret\":\"JBSWY3DP\"}", JS_INVALID, "totp_secret");
    check_create("{" VALID ",\"other\":1}", JS_INVALID, "other");
    check_create("{\"name\":\"x\"}", JS_INVALID, "client_id");
    check_create("[]", JS_INVALID, "");
}

static void
test_patch(void **state)
{
    integ_input in;
    js_err err;
    (void)state;
    json_object *o = doc("{\"status\":\"paused\",\"password\":null}");
    assert_int_equal(integ_parse(o, false, &in, &err), JS_OK);
    assert_true(in.has[INTEG_STATUS] && in.has[INTEG_PASSWORD]);
    assert_null(in.value[INTEG_PASSWORD]); /* cleared */
    assert_false(in.has[INTEG_NAME]);
    json_object_put(o);
    static const char *const bad[][2] = {
        {"{}", ""},
        {"{\"toast_guid\":\"0b7e8b0c-3a6d-4f7e-9a2b-1c2d3e4f5a6b\"}", "toast_guid"},
        {"{\"client_id\":\"7f1c2f0e-1b2c-4d3e-8f90-123456789abc\"}", "client_id"},
        {"{\"api_client_secret\":null}", "api_client_secret"},
        {"{\"name\":null}", "name"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        o = doc(bad[i][0]);
        assert_int_equal(integ_parse(o, false, &in, &err), JS_INVALID);
        assert_string_equal(err.field, bad[i][1]);
        json_object_put(o);
    }
}

static void
test_health_status(void **state)
{
    (void)state;
    assert_string_equal(health_status(false, 100, 50, 2000), "healthy");
    assert_string_equal(health_status(false, 2001, 900, 2000), "degraded");
    assert_string_equal(health_status(false, 1500, 1500, 1000), "degraded");
    assert_string_equal(health_status(true, 10, 10, 2000), "unhealthy");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create),
        cmocka_unit_test(test_patch),
        cmocka_unit_test(test_health_status),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
