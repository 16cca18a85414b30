/* What a request may hold (client.c, sig.c, field.c, tz.c): each refusal
 * names the field; defaults, normalised times and exact money. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"
#include "sig.h"
#include "tz.h"

#define NOW ((int64_t)1790000000) /* 2026-09-21T14:13:20Z */

static json_object *
doc(const char *text)
{
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    return o;
}

static void
client_refused(const char *body, bool create, const char *field)
{
    field_values v;
    js_err err;
    json_object *o = doc(body);
    assert_int_equal(client_parse(o, create, NOW, &v, &err), JS_INVALID);
    assert_string_equal(err.field, field);
    json_object_put(o);
}

static void
test_client(void **state)
{
    field_values v;
    js_err err;
    (void)state;
    json_object *o = doc("{\"name\":\"Bistro\"}");
    assert_int_equal(client_parse(o, true, NOW, &v, &err), JS_OK);
    assert_string_equal(v.value[CLIENT_TIMEZONE], "UTC");
    assert_string_equal(v.value[CLIENT_PLAN], "standard");
    assert_string_equal(v.value[CLIENT_MONTHLY_REVENUE], "0");
    assert_string_equal(v.value[CLIENT_STATUS], "active");
    json_object_put(o);
    o = doc("{\"name\":\"B\",\"timezone\":\"Europe/Paris\",\"plan\":\"pro-2\","
            "\"monthly_revenue\":1234.5,\"status\":\"paused\"}");
    assert_int_equal(client_parse(o, true, NOW, &v, &err), JS_OK);
    assert_string_equal(v.value[CLIENT_MONTHLY_REVENUE], "1234.5"); /* as written */
    json_object_put(o);
    o = doc("{\"status\":\"churned\"}");
    assert_int_equal(client_parse(o, false, NOW, &v, &err), JS_OK);
    assert_true(v.has[CLIENT_STATUS] && !v.has[CLIENT_NAME]);
    json_object_put(o);

    client_refused("{}", true, "name");
    client_refused("{\"name\":\"\"}", true, "name");
    client_refused("{\"name\":\"x\",\"id\":\"y\"}", true, "id");
    client_refused("{\"name\":\"x\",\"timezone\":\"Mars/Olympus\"}", true, "timezone");
    client_refused("{\"name\":\"x\",\"plan\":\"Gold Plan\"}", true, "plan");
    client_refused("{\"name\":\"x\",\"monthly_revenue\":-1}", true, "monthly_revenue");
    client_refused("{\"name\":\"x\",\"monthly_revenue\":\"1.234\"}", true, "monthly_revenue");
    client_refused("{\"name\":\"x\",\"monthly_revenue\":true}", true, "monthly_revenue");
    client_refused("{\"name\":\"x\",\"status\":\"gone\"}", true, "status");
    client_refused("{}", false, "");
    client_refused("{\"name\":null}", false, "name");
    client_refused("[1]", true, "");
}

static void
test_money_and_slug(void **state)
{
    (void)state;
    assert_true(field_money_valid("0", false));
    assert_false(field_money_valid("0", true));
    assert_false(field_money_valid("0.00", true));
    assert_true(field_money_valid("0.01", true));
    assert_true(field_money_valid("999999999999.99", true));
    assert_false(field_money_valid("1000000000000", false)); /* 13 digits */
    assert_false(field_money_valid("1.", false));
    assert_false(field_money_valid(".5", false));
    assert_false(field_money_valid("1.999", false));
    assert_false(field_money_valid("-1", false));
    assert_false(field_money_valid("1e3", false));
    assert_false(field_money_valid("", false));
    assert_true(field_slug_valid("enterprise"));
    assert_true(field_slug_valid("9-to_5"));
    assert_false(field_slug_valid("_x"));
    assert_false(field_slug_valid("Pro"));
    assert_false(field_slug_valid("abcdefghijklmnopqrstuvwxyz0123456"));
}

static void
test_timezones(void **state)
{
    (void)state;
    assert_true(tz_valid("UTC"));
    assert_true(tz_valid("America/New_York"));
    assert_true(tz_valid("Etc/GMT+5"));
    assert_false(tz_valid(""));
    assert_false(tz_valid("America")); /* a directory */
    assert_false(tz_valid("America/"));
    assert_false(tz_valid("/etc/passwd"));
    assert_false(tz_valid("../../etc/passwd"));
    assert_false(tz_valid("America/../Europe/Paris"));
    assert_false(tz_valid("Nowhere/City"));
    assert_false(tz_valid("localtime"));
}

static js_status
sig_try(sig_kind k, const char *body, field_values *v, js_err *err)
{
    json_object *o = doc(body);
    js_status rc = sig_parse(k, o, NOW, v, err);
    json_object_put(o);
    return rc;
}

static void
sig_refused(sig_kind k, const char *body, const char *field)
{
    field_values v;
    js_err err;
    assert_int_equal(sig_try(k, body, &v, &err), JS_INVALID);
    assert_string_equal(err.field, field);
}

static void
test_signals(void **state)
{
    field_values v;
    js_err err;
    (void)state;
    /* activity: occurred_at defaults to now, normalised */
    json_object *o = doc("{\"actor\":\"ann\",\"action\":\"login\"}");
    assert_int_equal(sig_parse(SIG_ACTIVITY, o, NOW, &v, &err), JS_OK);
    assert_string_equal(v.value[2], "2026-09-21T14:13:20.000Z");
    assert_string_equal(v.value[3], "{}");
    json_object_put(o);
    o = doc("{\"actor\":\"a\",\"action\":\"b\",\"occurred_at\":\"2026-09-21T16:13:20+02:00\"}");
    assert_int_equal(sig_parse(SIG_ACTIVITY, o, NOW, &v, &err), JS_OK);
    assert_string_equal(v.value[2], "2026-09-21T14:13:20.000Z");
    json_object_put(o);
    sig_refused(SIG_ACTIVITY, "{\"action\":\"b\"}", "actor");
    sig_refused(SIG_ACTIVITY, "{\"actor\":\"a\",\"action\":\"b\",\"occurred_at\":\"yesterday\"}",
                "occurred_at");
    sig_refused(SIG_ACTIVITY,
                "{\"actor\":\"a\",\"action\":\"b\",\"occurred_at\":\"2026-09-21T14:18:21Z\"}",
                "occurred_at"); /* 5 minutes and a second ahead */
    assert_int_equal(
        sig_try(SIG_ACTIVITY,
                "{\"actor\":\"a\",\"action\":\"b\",\"occurred_at\":\"2026-09-21T14:18:20Z\"}", &v,
                &err),
        JS_OK); /* 5 minutes ahead: clock skew */
    sig_refused(SIG_ACTIVITY, "{\"actor\":\"a\",\"action\":\"b\",\"details\":\"x\"}", "details");

    /* tickets */
    sig_refused(SIG_TICKETS, "{\"priority\":\"low\"}", "opened_at");
    sig_refused(SIG_TICKETS, "{\"opened_at\":\"2026-09-20T00:00:00Z\",\"priority\":\"asap\"}",
                "priority");
    sig_refused(SIG_TICKETS,
                "{\"opened_at\":\"2026-09-20T00:00:00Z\",\"first_response_at\":"
                "\"2026-09-19T23:59:59Z\"}",
                "first_response_at");
    assert_int_equal(sig_try(SIG_TICKETS, "{\"opened_at\":\"2026-09-20T00:00:00Z\"}", &v, &err),
                     JS_OK);
    assert_string_equal(v.value[1], "normal");

    /* payments: the status follows paid_at */
    assert_int_equal(sig_try(SIG_PAYMENTS,
                             "{\"invoice\":\"I-1\",\"amount\":\"10.50\",\"due_at\":"
                             "\"2030-01-01T00:00:00Z\"}",
                             &v, &err),
                     JS_OK); /* due_at may be ahead */
    assert_string_equal(v.value[4], "open");
    assert_int_equal(sig_try(SIG_PAYMENTS,
                             "{\"invoice\":\"I-1\",\"amount\":10,\"due_at\":"
                             "\"2026-09-01T00:00:00Z\",\"paid_at\":\"2026-09-02T00:00:00Z\"}",
                             &v, &err),
                     JS_OK);
    assert_string_equal(v.value[4], "paid");
    sig_refused(SIG_PAYMENTS,
                "{\"invoice\":\"I\",\"amount\":0,\"due_at\":\"2026-09-01T00:00:00Z\"}", "amount");
    sig_refused(SIG_PAYMENTS,
                "{\"invoice\":\"I\",\"amount\":1,\"due_at\":\"2026-09-01T00:00:00Z\",\"status\":"
                "\"paid\"}",
                "paid_at");
    sig_refused(SIG_PAYMENTS,
                "{\"invoice\":\"I\",\"amount\":1,\"due_at\":\"2026-09-01T00:00:00Z\",\"status\":"
                "\"void\",\"paid_at\":\"2026-09-02T00:00:00Z\"}",
                "status");
    sig_refused(SIG_PAYMENTS,
                "{\"invoice\":\"I\",\"amount\":1,\"due_at\":\"2101-01-01T00:00:00Z\"}", "due_at");

    /* projects and quotes */
    assert_int_equal(sig_try(SIG_PROJECTS, "{}", &v, &err), JS_OK);
    assert_string_equal(v.value[1], "active");
    assert_string_equal(v.value[2], "0");
    sig_refused(SIG_PROJECTS, "{\"status\":\"dreaming\"}", "status");
    sig_refused(SIG_QUOTES, "{\"status\":\"sent\"}", "value");
    sig_refused(SIG_QUOTES, "{\"value\":1,\"title\":\"\"}", "title");
    sig_refused(SIG_QUOTES, "{\"value\":1,\"extra\":1}", "extra");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_client),
        cmocka_unit_test(test_money_and_slug),
        cmocka_unit_test(test_timezones),
        cmocka_unit_test(test_signals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
