/* Unit tests for common/src/json.c. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs stdarg.h, stddef.h, stdint.h and setjmp.h first. */
#include <cmocka.h>

#include "json.h"
#include "util.h"

static const char fixture[] =
    "{\"name\":\"Alice\",\"empty\":\"\",\"nul\":\"a\\u0000b\",\"priority\":3,"
    "\"float_int\":3.0,\"exp_int\":1e2,\"frac\":1.5,\"str_num\":\"3\",\"bool\":true,"
    "\"big\":9223372036854775807,\"huge\":99999999999999999999,"
    "\"neg_huge\":-99999999999999999999,\"min64\":-9223372036854775808,"
    "\"u64\":9223372036854775808,\"nul_val\":null,\"ratio\":0.25,\"inf\":1e400,"
    "\"neg\":-7,\"job_type\":\"menu_sync\",\"id\":\"4f1c2a3b-0d9e-4f6a-8b7c-1234567890ab\","
    "\"bad_id\":\"4f1c\",\"at\":\"2026-11-21T10:00:00.5+02:00\","
    "\"bad_at\":\"2026-02-30T00:00:00Z\",\"obj\":{\"x\":1},\"arr\":[1,2,3],"
    "\"deep_nul\":{\"a\":[1,{\"b\":\"x\\u0000\"}]},\"deep_ok\":{\"a\":[1,{\"b\":\"x\"}]},"
    "\"utf\":\"\xc3\xa9\xe2\x82\xac\"}";

static int
setup(void **state)
{
    json_object *doc = NULL;
    js_err err;

    if (js_parse(fixture, strlen(fixture), &doc, &err) != JS_OK) {
        fprintf(stderr, "fixture: %s\n", err.message);
        return -1;
    }
    *state = doc;
    return 0;
}

static int
teardown(void **state)
{
    json_object_put(*state);
    return 0;
}

static json_object *
parse_ok(const char *s, size_t len)
{
    json_object *o = (json_object *)0x1;
    js_err err;

    if (js_parse(s, len, &o, &err) != JS_OK)
        fail_msg("rejected '%.*s': %s", (int)len, s, err.message);
    return o;
}

static void
parse_fails(const char *s, size_t len, const char *want)
{
    json_object *o = (json_object *)0x1;
    js_err err;

    memset(&err, 'x', sizeof(err));
    if (js_parse(s, len, &o, &err) != JS_INVALID)
        fail_msg("accepted '%.*s'", (int)len, s);
    assert_null(o);
    assert_string_equal(err.field, "");
    assert_string_equal(err.message, want);
}

#define PARSE_FAILS(lit, want) parse_fails(lit, sizeof(lit) - 1, want)

static void
test_parse_valid(void **state)
{
    (void)state;
    static const char *const ok[] = {
        "{}",
        " {\"a\":1} \n\t\r",
        "[]",
        "123",
        "-0",
        "0",
        "1.5e3",
        "1E-2",
        "-12.5E+3",
        "\"s\"",
        "true",
        "false",
        "\"NaN\"",
        "\"a\\\"b\\\\\"",
        "\"\\u00e9\\ud83d\\ude00\"",
        "[1,\"x\",{\"y\":[null,true]}]",
        "\"\xe2\x82\xac\"",
        "\"\\/\"",
        "  7  ",
        NULL,
    };

    for (size_t i = 0; ok[i] != NULL; i++)
        json_object_put(parse_ok(ok[i], strlen(ok[i])));

    json_object *o = parse_ok("{\"a\":[1,2],\"b\":\"c\"}", 19);
    assert_true(json_object_is_type(o, json_type_object));
    assert_int_equal(json_object_object_length(o), 2);
    json_object_put(o);

    o = parse_ok("42", 2);
    assert_true(json_object_is_type(o, json_type_int));
    assert_int_equal(json_object_get_int(o), 42);
    json_object_put(o);

    /* The document null is valid JSON: success with a NULL object. */
    o = parse_ok("null", 4);
    assert_null(o);

    /* Only len bytes are parsed. */
    o = parse_ok("{}garbage", 2);
    assert_true(json_object_is_type(o, json_type_object));
    json_object_put(o);
    o = parse_ok("123456", 3);
    assert_int_equal(json_object_get_int(o), 123);
    json_object_put(o);
}

static void
test_parse_invalid(void **state)
{
    (void)state;
    PARSE_FAILS("", "invalid JSON at byte 0: unexpected end of data");
    PARSE_FAILS("   ", "invalid JSON at byte 3: unexpected end of data");
    PARSE_FAILS("{\"a\":1,}", "invalid JSON at byte 7: unexpected character");
    PARSE_FAILS("{} x", "invalid JSON at byte 3: unexpected character");
    PARSE_FAILS("{}{}", "invalid JSON at byte 2: unexpected character");
    PARSE_FAILS("[1,2", "invalid JSON at byte 4: unexpected end of data");
    PARSE_FAILS("{\"a\" 1}", "invalid JSON at byte 5: object property name separator ':' expected");
    PARSE_FAILS("{a:1}", "invalid JSON at byte 1: quoted object property name expected");
    PARSE_FAILS("['a']", "invalid JSON at byte 1: unexpected character");
    PARSE_FAILS("/* c */ {}", "invalid JSON at byte 0: unexpected character");
    PARSE_FAILS("\"\\x\"", "invalid JSON at byte 2: invalid string sequence");
    PARSE_FAILS("\"abc", "invalid JSON at byte 4: unexpected end of data");
    PARSE_FAILS("tru", "invalid JSON at byte 3: unexpected end of data");
    PARSE_FAILS("+1", "invalid JSON at byte 0: unexpected character");
    PARSE_FAILS(".5", "invalid JSON at byte 0: unexpected character");
    PARSE_FAILS("0x10", "invalid JSON at byte 1: unexpected character");

    /* What json-c's strict mode lets through, caught by js_parse. */
    PARSE_FAILS("NaN", "invalid JSON at byte 0: invalid literal");
    PARSE_FAILS("[1,NaN]", "invalid JSON at byte 3: invalid literal");
    PARSE_FAILS("{\"a\":Infinity}", "invalid JSON at byte 5: invalid literal");
    PARSE_FAILS("[-Infinity]", "invalid JSON at byte 1: invalid number");
    PARSE_FAILS("1.", "invalid JSON at byte 0: invalid number");
    PARSE_FAILS("[1.e5]", "invalid JSON at byte 1: invalid number");
    PARSE_FAILS("-01", "invalid JSON at byte 0: invalid number");
    PARSE_FAILS("{\"a\":\"x\ty\"}", "invalid JSON at byte 7: control character in string");
    PARSE_FAILS("\"\n\"", "invalid JSON at byte 1: control character in string");
    PARSE_FAILS("{\"a\\u0000\":1}", "invalid JSON at byte 3: \\u0000 in a key");
    PARSE_FAILS("{\"b\":{\"\\u0000\" :1}}", "invalid JSON at byte 7: \\u0000 in a key");

    /* Bytes: NUL anywhere, and ill-formed UTF-8 inside or outside strings. */
    PARSE_FAILS("{\"a\":\"x\0\"}", "invalid JSON at byte 7: NUL byte");
    PARSE_FAILS("{}\0", "invalid JSON at byte 2: NUL byte");
    PARSE_FAILS("\"\xc0\x80\"", "invalid JSON at byte 1: invalid UTF-8");
    PARSE_FAILS("\"ab\xed\xa0\x80\"", "invalid JSON at byte 3: invalid UTF-8");
    PARSE_FAILS("\"\xf4\x90\x80\x80\"", "invalid JSON at byte 1: invalid UTF-8");
    PARSE_FAILS("\"\xe2\x82\"", "invalid JSON at byte 1: invalid UTF-8");
    PARSE_FAILS("[1]\xff", "invalid JSON at byte 3: invalid UTF-8");
    /* A sequence cut by len is ill-formed even if memory goes on. */
    parse_fails("\"\xe2\x82\xac\"", 3, "invalid JSON at byte 1: invalid UTF-8");

    json_object *o = (json_object *)0x1;
    js_err err;
    assert_int_equal(js_parse(NULL, 0, &o, &err), JS_INVALID);
    assert_null(o);
    assert_string_equal(err.message, "invalid JSON at byte 0: unexpected end of data");
    assert_int_equal(js_parse("{}", 2, NULL, &err), JS_INVALID);
    assert_int_equal(js_parse("{", 1, &o, NULL), JS_INVALID); /* err is optional */
}

/* A document of n copies of item joined by commas, inside [ ]. */
static char *
repeated(const char *item, size_t n, size_t *len)
{
    size_t il = strlen(item), cap = n * (il + 1) + 3, o = 0;
    char *doc = malloc(cap);
    assert_non_null(doc);
    doc[o++] = '[';
    for (size_t i = 0; i < n; i++) {
        if (i > 0)
            doc[o++] = ',';
        memcpy(doc + o, item, il);
        o += il;
    }
    doc[o++] = ']';
    doc[o] = '\0';
    *len = o;
    return doc;
}

static void
test_parse_size_limits(void **state)
{
    (void)state;
    size_t len;
    char want[96];

    /* Up to the limits, a document parses: the outer array is one container. */
    char *doc = repeated("{}", JS_MAX_CONTAINERS - 1, &len);
    json_object_put(parse_ok(doc, len));
    free(doc);
    /* One more object and it is refused before json-c builds anything. */
    doc = repeated("{}", JS_MAX_CONTAINERS, &len);
    snprintf(want, sizeof(want), "invalid JSON at byte %zu: more than %d objects and arrays",
             len - 3, JS_MAX_CONTAINERS);
    parse_fails(doc, len, want);
    free(doc);
    /* Values are bounded too, whatever they are. */
    doc = repeated("1", JS_MAX_ITEMS + 1, &len);
    json_object_put(parse_ok(doc, len));
    free(doc);
    doc = repeated("1", JS_MAX_ITEMS + 2, &len);
    snprintf(want, sizeof(want), "invalid JSON at byte %zu: more than %d values", len - 3,
             JS_MAX_ITEMS);
    parse_fails(doc, len, want);
    free(doc);
    /* Commas and brackets inside strings are text, not values. */
    doc = repeated("\",,,[[{{\"", JS_MAX_ITEMS / 2, &len);
    json_object_put(parse_ok(doc, len));
    free(doc);
}

static void
test_parse_depth(void **state)
{
    (void)state;
    char doc[2 * (JS_MAX_DEPTH + 1) + 1];

    memset(doc, '[', JS_MAX_DEPTH);
    memset(doc + JS_MAX_DEPTH, ']', JS_MAX_DEPTH);
    json_object_put(parse_ok(doc, 2 * JS_MAX_DEPTH));

    memset(doc, '[', JS_MAX_DEPTH + 1);
    memset(doc + JS_MAX_DEPTH + 1, ']', JS_MAX_DEPTH + 1);
    parse_fails(doc, 2 * (JS_MAX_DEPTH + 1), "invalid JSON at byte 32: nesting too deep");

    /* A scalar at the bottom is not a level. */
    memset(doc, '[', JS_MAX_DEPTH);
    doc[JS_MAX_DEPTH] = '7';
    memset(doc + JS_MAX_DEPTH + 1, ']', JS_MAX_DEPTH);
    json_object_put(parse_ok(doc, 2 * JS_MAX_DEPTH + 1));

    /* Objects count the same way; brackets inside strings do not count. */
    char obj[16 * (JS_MAX_DEPTH + 1) + 8];
    size_t n = 0;
    for (int i = 0; i < JS_MAX_DEPTH + 1; i++)
        n += (size_t)snprintf(obj + n, sizeof(obj) - n, "{\"[\\\"{\":");
    n += (size_t)snprintf(obj + n, sizeof(obj) - n, "\"[[{\"");
    for (int i = 0; i < JS_MAX_DEPTH + 1; i++)
        obj[n++] = '}';
    parse_fails(obj, n, "invalid JSON at byte 256: nesting too deep");
    /* One level less parses. */
    json_object *o = parse_ok(obj + 8, n - 9);
    assert_true(json_object_is_type(o, json_type_object));
    json_object_put(o);
}

static void
test_require_object(void **state)
{
    (void)state;
    js_err err;
    json_object *arr = json_object_new_array();
    json_object *obj = json_object_new_object();

    assert_int_equal(js_require_object(obj, &err), JS_OK);
    assert_int_equal(js_require_object(arr, &err), JS_INVALID);
    assert_string_equal(err.message, "request body must be a JSON object");
    assert_string_equal(err.field, "");
    assert_int_equal(js_require_object(NULL, &err), JS_INVALID);
    assert_string_equal(err.message, "request body must be a JSON object");
    json_object_put(arr);
    json_object_put(obj);
}

/* err must say exactly want, about field. */
static void
check_err(const js_err *err, const char *field, const char *want)
{
    assert_string_equal(err->field, field);
    assert_string_equal(err->message, want);
}

static void
test_get_string(void **state)
{
    json_object *doc = *state;
    const char *s = "untouched";
    js_err err;

    assert_int_equal(js_get_string(doc, "name", true, 0, 200, &s, &err), JS_OK);
    assert_string_equal(s, "Alice");
    assert_int_equal(js_get_string(doc, "name", true, 5, 5, &s, &err), JS_OK);
    assert_int_equal(js_get_string(doc, "utf", true, 0, 5, &s, &err), JS_OK);
    assert_string_equal(s, "\xc3\xa9\xe2\x82\xac");
    assert_int_equal(js_get_string(doc, "empty", true, 0, 10, &s, &err), JS_OK);
    assert_string_equal(s, "");

    s = "untouched";
    assert_int_equal(js_get_string(doc, "name", true, 0, 4, &s, &err), JS_INVALID);
    check_err(&err, "name", "field 'name': must be a string of at most 4 bytes");
    assert_string_equal(s, "untouched");
    assert_int_equal(js_get_string(doc, "utf", true, 0, 4, &s, &err), JS_INVALID);
    assert_int_equal(js_get_string(doc, "name", true, 6, 10, &s, &err), JS_INVALID);
    check_err(&err, "name", "field 'name': must be a string of 6 to 10 bytes");
    assert_int_equal(js_get_string(doc, "name", true, 6, 6, &s, &err), JS_INVALID);
    check_err(&err, "name", "field 'name': must be a string of exactly 6 bytes");
    assert_int_equal(js_get_string(doc, "name", true, 6, SIZE_MAX, &s, &err), JS_INVALID);
    check_err(&err, "name", "field 'name': must be a string of at least 6 bytes");
    assert_int_equal(js_get_string(doc, "empty", true, 1, SIZE_MAX, &s, &err), JS_INVALID);
    check_err(&err, "empty", "field 'empty': must be a non-empty string");
    assert_int_equal(js_get_string(doc, "empty", true, 1, 200, &s, &err), JS_INVALID);
    check_err(&err, "empty", "field 'empty': must be a non-empty string of at most 200 bytes");
    assert_int_equal(js_get_string(doc, "priority", true, 0, 200, &s, &err), JS_INVALID);
    check_err(&err, "priority", "field 'priority': must be a string of at most 200 bytes");
    assert_int_equal(js_get_string(doc, "obj", false, 0, SIZE_MAX, &s, &err), JS_INVALID);
    check_err(&err, "obj", "field 'obj': must be a string");
    assert_int_equal(js_get_string(doc, "nul", true, 0, 200, &s, &err), JS_INVALID);
    check_err(&err, "nul", "field 'nul': must not contain NUL characters");
    assert_string_equal(s, "untouched");

    /* Missing and null: absent when optional, an error when required. */
    assert_int_equal(js_get_string(doc, "nope", false, 0, 10, &s, &err), JS_ABSENT);
    assert_int_equal(js_get_string(doc, "nul_val", false, 0, 10, &s, &err), JS_ABSENT);
    assert_string_equal(s, "untouched");
    assert_int_equal(js_get_string(doc, "nope", true, 0, 10, &s, &err), JS_INVALID);
    check_err(&err, "nope", "field 'nope': is required");
    assert_int_equal(js_get_string(doc, "nul_val", true, 0, 10, &s, &err), JS_INVALID);
    check_err(&err, "nul_val", "field 'nul_val': is required");
    assert_int_equal(js_get_string(doc, "nope", true, 0, 10, &s, NULL), JS_INVALID);
}

static void
int_ok(json_object *doc, const char *field, long long min, long long max, long long want)
{
    long long v = 12345;
    js_err err;

    if (js_get_int(doc, field, true, min, max, &v, &err) != JS_OK)
        fail_msg("%s: %s", field, err.message);
    assert_true(v == want);
}

static void
int_bad(json_object *doc, const char *field, long long min, long long max)
{
    long long v = 12345;
    js_err err;
    char want[256];

    if (js_get_int(doc, field, true, min, max, &v, &err) != JS_INVALID)
        fail_msg("%s accepted as %lld", field, v);
    assert_true(v == 12345);
    snprintf(want, sizeof(want), "field '%s': must be an integer between %lld and %lld", field, min,
             max);
    check_err(&err, field, want);
}

static void
test_get_int(void **state)
{
    json_object *doc = *state;
    long long v = 99;
    js_err err;

    int_ok(doc, "priority", 1, 5, 3);
    int_ok(doc, "priority", 3, 3, 3);
    int_ok(doc, "neg", -7, 0, -7);
    int_ok(doc, "float_int", 1, 5, 3);
    int_ok(doc, "exp_int", 0, 1000, 100);
    int_ok(doc, "big", LLONG_MIN, LLONG_MAX, LLONG_MAX);
    int_bad(doc, "priority", 4, 5);
    int_bad(doc, "priority", 1, 2);
    int_bad(doc, "neg", -6, 0);
    int_bad(doc, "frac", 1, 5);
    int_bad(doc, "str_num", 1, 5);
    int_bad(doc, "bool", 0, 1);
    int_bad(doc, "obj", 0, 1);
    int_bad(doc, "arr", 0, 1);
    int_bad(doc, "inf", LLONG_MIN, LLONG_MAX);
    int_bad(doc, "big", LLONG_MIN, LLONG_MAX - 1);
    /* Beyond long long, whatever json-c saturated them to. */
    int_bad(doc, "huge", LLONG_MIN, LLONG_MAX);
    int_bad(doc, "neg_huge", LLONG_MIN, LLONG_MAX);
    int_bad(doc, "u64", LLONG_MIN, LLONG_MAX);
    /* Documented limit: INT64_MIN cannot be told from a saturated value. */
    int_bad(doc, "min64", LLONG_MIN, LLONG_MAX);

    assert_int_equal(js_get_int(doc, "nope", false, 1, 5, &v, &err), JS_ABSENT);
    assert_int_equal(js_get_int(doc, "nul_val", false, 1, 5, &v, &err), JS_ABSENT);
    assert_true(v == 99);
    assert_int_equal(js_get_int(doc, "nope", true, 1, 5, &v, &err), JS_INVALID);
    check_err(&err, "nope", "field 'nope': is required");
}

static void
test_get_double(void **state)
{
    json_object *doc = *state;
    double d = 9.0;
    js_err err;

    assert_int_equal(js_get_double(doc, "ratio", true, 0, 1, &d, &err), JS_OK);
    assert_true(d == 0.25);
    assert_int_equal(js_get_double(doc, "ratio", true, 0.25, 0.25, &d, &err), JS_OK);
    assert_int_equal(js_get_double(doc, "priority", true, 0, 10, &d, &err), JS_OK);
    assert_true(d == 3.0);
    assert_int_equal(js_get_double(doc, "neg", true, -10, 10, &d, &err), JS_OK);
    assert_true(d == -7.0);

    d = 9.0;
    assert_int_equal(js_get_double(doc, "ratio", true, 0.5, 1, &d, &err), JS_INVALID);
    check_err(&err, "ratio", "field 'ratio': must be a number between 0.5 and 1");
    assert_int_equal(js_get_double(doc, "inf", true, -1e308, 1e308, &d, &err), JS_INVALID);
    check_err(&err, "inf", "field 'inf': must be a number between -1e+308 and 1e+308");
    assert_int_equal(js_get_double(doc, "str_num", true, 0, 10, &d, &err), JS_INVALID);
    assert_int_equal(js_get_double(doc, "bool", true, 0, 10, &d, &err), JS_INVALID);
    assert_true(d == 9.0);
    assert_int_equal(js_get_double(doc, "nope", false, 0, 1, &d, &err), JS_ABSENT);
    assert_int_equal(js_get_double(doc, "nope", true, 0, 1, &d, &err), JS_INVALID);
    check_err(&err, "nope", "field 'nope': is required");
}

static void
test_get_bool(void **state)
{
    json_object *doc = *state;
    bool b = false;
    js_err err;

    assert_int_equal(js_get_bool(doc, "bool", true, &b, &err), JS_OK);
    assert_true(b);
    b = false;
    assert_int_equal(js_get_bool(doc, "priority", true, &b, &err), JS_INVALID);
    check_err(&err, "priority", "field 'priority': must be true or false");
    assert_int_equal(js_get_bool(doc, "str_num", true, &b, &err), JS_INVALID);
    assert_int_equal(js_get_bool(doc, "nul_val", false, &b, &err), JS_ABSENT);
    assert_false(b);
    assert_int_equal(js_get_bool(doc, "nul_val", true, &b, &err), JS_INVALID);
    check_err(&err, "nul_val", "field 'nul_val': is required");
}

static void
test_get_enum(void **state)
{
    json_object *doc = *state;
    static const char *const types[] = {"menu_build", "menu_sync", "health_check", NULL};
    const char *s = "untouched";
    js_err err;

    assert_int_equal(js_get_enum(doc, "job_type", true, types, &s, &err), JS_OK);
    assert_string_equal(s, "menu_sync");
    s = "untouched";
    assert_int_equal(js_get_enum(doc, "name", true, types, &s, &err), JS_INVALID);
    check_err(&err, "name", "field 'name': must be one of menu_build, menu_sync, health_check");
    assert_int_equal(js_get_enum(doc, "priority", true, types, &s, &err), JS_INVALID);
    check_err(&err, "priority",
              "field 'priority': must be one of menu_build, menu_sync, health_check");
    assert_string_equal(s, "untouched");
    assert_int_equal(js_get_enum(doc, "nope", false, types, &s, &err), JS_ABSENT);
    assert_int_equal(js_get_enum(doc, "nope", true, types, &s, &err), JS_INVALID);

    /* Case matters. */
    json_object *o = parse_ok("{\"t\":\"MENU_SYNC\"}", 17);
    assert_int_equal(js_get_enum(o, "t", true, types, &s, &err), JS_INVALID);
    json_object_put(o);

    /* A long list is cut with "..." and the message stays bounded. */
    static char names[40][32];
    const char *many[41];
    for (int i = 0; i < 40; i++) {
        snprintf(names[i], sizeof(names[i]), "value_number_%02d", i);
        many[i] = names[i];
    }
    many[40] = NULL;
    assert_int_equal(js_get_enum(doc, "name", true, many, &s, &err), JS_INVALID);
    size_t n = strlen(err.message);
    assert_true(n < sizeof(err.message) - 1);
    assert_string_equal(err.message + n - 5, ", ...");
    assert_non_null(strstr(err.message, "must be one of value_number_00, value_number_01"));
}

static void
test_get_uuid_time(void **state)
{
    json_object *doc = *state;
    const char *s = "untouched";
    js_err err;

    assert_int_equal(js_get_uuid(doc, "id", true, &s, &err), JS_OK);
    assert_string_equal(s, "4f1c2a3b-0d9e-4f6a-8b7c-1234567890ab");
    s = "untouched";
    assert_int_equal(js_get_uuid(doc, "bad_id", true, &s, &err), JS_INVALID);
    check_err(&err, "bad_id", "field 'bad_id': must be a UUID");
    assert_int_equal(js_get_uuid(doc, "priority", true, &s, &err), JS_INVALID);
    assert_string_equal(s, "untouched");
    assert_int_equal(js_get_uuid(doc, "nope", false, &s, &err), JS_ABSENT);

    assert_int_equal(js_get_time(doc, "at", true, &s, &err), JS_OK);
    assert_string_equal(s, "2026-11-21T10:00:00.5+02:00");
    s = "untouched";
    assert_int_equal(js_get_time(doc, "bad_at", true, &s, &err), JS_INVALID);
    check_err(&err, "bad_at", "field 'bad_at': must be an RFC 3339 timestamp");
    assert_int_equal(js_get_time(doc, "name", true, &s, &err), JS_INVALID);
    assert_int_equal(js_get_time(doc, "priority", true, &s, &err), JS_INVALID);
    assert_string_equal(s, "untouched");
    assert_int_equal(js_get_time(doc, "nul_val", false, &s, &err), JS_ABSENT);
    assert_int_equal(js_get_time(doc, "nul_val", true, &s, &err), JS_INVALID);
}

static void
test_get_object_array(void **state)
{
    json_object *doc = *state;
    json_object *v = NULL;
    long long x = 0;
    js_err err;

    assert_int_equal(js_get_object(doc, "obj", true, &v, &err), JS_OK);
    assert_int_equal(js_get_int(v, "x", true, 0, 10, &x, &err), JS_OK);
    assert_true(x == 1);
    v = NULL;
    assert_int_equal(js_get_object(doc, "arr", true, &v, &err), JS_INVALID);
    check_err(&err, "arr", "field 'arr': must be an object");
    assert_null(v);
    assert_int_equal(js_get_object(doc, "nope", false, &v, &err), JS_ABSENT);
    /* A NUL anywhere inside an object refuses it: nothing could store it. */
    assert_int_equal(js_get_object(doc, "deep_nul", true, &v, &err), JS_INVALID);
    check_err(&err, "deep_nul", "field 'deep_nul': must not contain NUL characters");
    assert_int_equal(js_get_object(doc, "deep_ok", true, &v, &err), JS_OK);
    assert_false(js_has_nul(v));
    assert_true(js_has_nul(json_object_object_get(doc, "deep_nul")));
    assert_true(js_has_nul(json_object_object_get(doc, "nul")));
    assert_false(js_has_nul(json_object_object_get(doc, "arr")));

    assert_int_equal(js_get_array(doc, "arr", true, 3, &v, &err), JS_OK);
    assert_int_equal(json_object_array_length(v), 3);
    v = NULL;
    assert_int_equal(js_get_array(doc, "arr", true, 2, &v, &err), JS_INVALID);
    check_err(&err, "arr", "field 'arr': must be an array of at most 2 items");
    assert_int_equal(js_get_array(doc, "obj", true, SIZE_MAX, &v, &err), JS_INVALID);
    check_err(&err, "obj", "field 'obj': must be an array");
    assert_null(v);
    assert_int_equal(js_get_array(doc, "nul_val", false, 10, &v, &err), JS_ABSENT);
    assert_int_equal(js_get_array(doc, "nul_val", true, 10, &v, &err), JS_INVALID);

    /* Getters on something that is not an object. */
    json_object *arr;
    assert_int_equal(js_get_array(doc, "arr", true, 3, &arr, &err), JS_OK);
    assert_int_equal(js_get_int(arr, "x", false, 0, 1, &x, &err), JS_INVALID);
    check_err(&err, "", "request body must be a JSON object");
    assert_int_equal(js_get_string(NULL, "x", false, 0, 1, NULL, &err), JS_INVALID);
}

static void
test_reject_unknown(void **state)
{
    (void)state;
    static const char *const known[] = {"a", "b", NULL};
    static const char *const none[] = {NULL};
    js_err err;

    json_object *o = parse_ok("{\"a\":1,\"zz\":2,\"b\":3,\"yy\":4}", 27);
    assert_int_equal(js_reject_unknown(o, known, &err), JS_INVALID);
    check_err(&err, "zz", "unknown field 'zz'");
    json_object_put(o);

    o = parse_ok("{\"b\":1,\"a\":null}", 16);
    assert_int_equal(js_reject_unknown(o, known, &err), JS_OK);
    json_object_put(o);
    o = parse_ok("{}", 2);
    assert_int_equal(js_reject_unknown(o, none, &err), JS_OK);
    json_object_put(o);
    o = parse_ok("{\"a\":1}", 7);
    assert_int_equal(js_reject_unknown(o, none, &err), JS_INVALID);
    check_err(&err, "a", "unknown field 'a'");
    json_object_put(o);
    o = parse_ok("[1]", 3);
    assert_int_equal(js_reject_unknown(o, known, &err), JS_INVALID);
    check_err(&err, "", "request body must be a JSON object");
    json_object_put(o);

    /* A long key from the client is cut on a character boundary. */
    char doc[1024];
    size_t n = 0;
    n += (size_t)snprintf(doc + n, sizeof(doc) - n, "{\"");
    for (int i = 0; i < 300; i++)
        n += (size_t)snprintf(doc + n, sizeof(doc) - n, "\xc3\xa9");
    n += (size_t)snprintf(doc + n, sizeof(doc) - n, "\":1}");
    o = parse_ok(doc, n);
    assert_int_equal(js_reject_unknown(o, known, &err), JS_INVALID);
    assert_int_equal(strlen(err.field), 126);
    assert_true(util_utf8_valid(err.field, strlen(err.field), NULL));
    assert_true(util_utf8_valid(err.message, strlen(err.message), NULL));
    assert_memory_equal(err.message, "unknown field '\xc3\xa9", 17);
    json_object_put(o);
}

static void
test_fail(void **state)
{
    (void)state;
    js_err err;
    char big[600];

    assert_int_equal(js_fail(&err, "f", "field '%s': %s", "f", "bad"), JS_INVALID);
    check_err(&err, "f", "field 'f': bad");
    assert_int_equal(js_fail(&err, NULL, "whole document"), JS_INVALID);
    check_err(&err, "", "whole document");
    assert_int_equal(js_fail(NULL, "f", "x"), JS_INVALID);

    /* A message cut at the buffer's end is cut on a character boundary. */
    size_t n = 0;
    big[n++] = 'x';
    while (n + 3 < sizeof(big)) {
        memcpy(big + n, "\xe2\x82\xac", 3);
        n += 3;
    }
    big[n] = '\0';
    js_fail(&err, "f", "%s", big);
    n = strlen(err.message);
    assert_true(n <= sizeof(err.message) - 1);
    assert_true(n >= sizeof(err.message) - 4);
    assert_true(util_utf8_valid(err.message, n, NULL));
}

static void
test_text(void **state)
{
    (void)state;
    size_t len = 0;
    const char src[] = "{ \"a\" : 1, \"b\" : [ true, null ], \"s\" : \"x/y\\n\" }";
    json_object *o = parse_ok(src, sizeof(src) - 1);

    const char *t = js_text(o, &len);
    assert_string_equal(t, "{\"a\":1,\"b\":[true,null],\"s\":\"x/y\\n\"}");
    assert_int_equal(len, strlen(t));
    assert_string_equal(js_text(o, NULL), t);
    json_object_put(o);
    assert_string_equal(js_text(NULL, &len), "null");
    assert_int_equal(len, 4);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_valid),
        cmocka_unit_test(test_parse_invalid),
        cmocka_unit_test(test_parse_depth),
        cmocka_unit_test(test_parse_size_limits),
        cmocka_unit_test(test_require_object),
        cmocka_unit_test_setup_teardown(test_get_string, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_int, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_double, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_bool, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_enum, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_uuid_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_get_object_array, setup, teardown),
        cmocka_unit_test(test_reject_unknown),
        cmocka_unit_test(test_fail),
        cmocka_unit_test(test_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
