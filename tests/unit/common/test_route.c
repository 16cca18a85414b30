/* Unit tests for common/src/route.c: pattern validation, matching,
 * precedence, 404/405, decoding and limits. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs stdarg.h, stddef.h, stdint.h and setjmp.h first. */
#include <cmocka.h>

#include "route.h"

/* Distinct addresses to tell routes apart through their data. */
static int d_a, d_b, d_c, d_d, d_e;

static route_table *
new_table(void)
{
    route_table *t = route_table_new();

    assert_non_null(t);
    return t;
}

/* Find and expect ROUTE_FOUND with the given data. */
static void
expect_found(const route_table *t, const char *method, const char *path, const void *data,
             route_match *m)
{
    route_result r = route_find(t, method, path, m);

    if (r != ROUTE_FOUND)
        fail_msg("%s %s: result %d, want found", method, path, (int)r);
    assert_ptr_equal(m->data, data);
    assert_string_equal(m->allow, "");
}

static void
expect_not_found(const route_table *t, const char *method, const char *path)
{
    route_match m;
    route_result r = route_find(t, method, path, &m);

    if (r != ROUTE_NOT_FOUND)
        fail_msg("%s %s: result %d, want not found", method, path, (int)r);
    assert_null(m.data);
    assert_null(m.pattern);
    assert_int_equal(m.nparams, 0);
}

static void
expect_405(const route_table *t, const char *method, const char *path, const char *allow)
{
    route_match m;
    route_result r = route_find(t, method, path, &m);

    if (r != ROUTE_METHOD_NOT_ALLOWED)
        fail_msg("%s %s: result %d, want 405", method, path, (int)r);
    assert_string_equal(m.allow, allow);
    assert_null(m.data);
}

static void
test_literals(void **state)
{
    route_table *t = new_table();
    route_match m;

    (void)state;
    assert_int_equal(route_add(t, "GET", "/", &d_a), 0);
    assert_int_equal(route_add(t, "GET", "/health", &d_b), 0);
    assert_int_equal(route_add(t, "POST", "/api/auth/login", &d_c), 0);
    expect_found(t, "GET", "/", &d_a, &m);
    assert_string_equal(m.pattern, "/");
    expect_found(t, "GET", "/health", &d_b, &m);
    assert_string_equal(m.pattern, "/health");
    assert_int_equal(m.nparams, 0);
    expect_found(t, "POST", "/api/auth/login", &d_c, &m);
    expect_not_found(t, "GET", "/healthz");
    expect_not_found(t, "GET", "/Health"); /* case-sensitive */
    expect_not_found(t, "POST", "/api/auth");
    expect_not_found(t, "POST", "/api/auth/login/x");
    expect_not_found(t, "GET", "");
    expect_not_found(t, "GET", "health");
    expect_not_found(t, "GET", "/health?x=1"); /* the query string is the caller's job */
    assert_int_equal(route_find(NULL, "GET", "/", &m), ROUTE_NOT_FOUND);
    assert_int_equal(route_find(t, NULL, "/", &m), ROUTE_NOT_FOUND);
    assert_int_equal(route_find(t, "GET", NULL, &m), ROUTE_NOT_FOUND);
    assert_int_equal(route_find(t, "GET", "/", NULL), ROUTE_NOT_FOUND);
    route_table_free(t);
    route_table_free(NULL);
}

static void
test_params(void **state)
{
    route_table *t = new_table();
    route_match m;

    (void)state;
    assert_int_equal(route_add(t, "GET", "/jobs/{job_id}/attempts/{n}", &d_a), 0);
    expect_found(t, "GET", "/jobs/4f1c/attempts/2", &d_a, &m);
    assert_string_equal(m.pattern, "/jobs/{job_id}/attempts/{n}");
    assert_int_equal(m.nparams, 2);
    assert_string_equal(m.params[0].name, "job_id");
    assert_string_equal(m.params[0].value, "4f1c");
    assert_string_equal(route_param(&m, "job_id"), "4f1c");
    assert_string_equal(route_param(&m, "n"), "2");
    assert_null(route_param(&m, "job"));
    assert_null(route_param(&m, "*"));
    assert_null(route_param(NULL, "n"));
    expect_not_found(t, "GET", "/jobs/4f1c/attempts");
    expect_not_found(t, "GET", "/jobs//attempts/2");
    route_table_free(t);
}

static void
test_tail(void **state)
{
    route_table *t = new_table();
    route_match m;

    (void)state;
    assert_int_equal(route_add(t, "GET", "/static/*", &d_a), 0);
    assert_int_equal(route_add(t, "GET", "/files/{bucket}/*", &d_b), 0);
    expect_found(t, "GET", "/static", &d_a, &m);
    assert_string_equal(route_param(&m, "*"), "");
    expect_found(t, "GET", "/static/", &d_a, &m);
    assert_string_equal(route_param(&m, "*"), "");
    expect_found(t, "GET", "/static/app.js", &d_a, &m);
    assert_string_equal(route_param(&m, "*"), "app.js");
    expect_found(t, "GET", "/static/a/b/c.js", &d_a, &m);
    assert_string_equal(route_param(&m, "*"), "a/b/c.js");
    expect_found(t, "GET", "/static/a/b/", &d_a, &m);
    assert_string_equal(route_param(&m, "*"), "a/b");
    /* The tail is passed on as sent: escapes stay, '/' hidden in one too. */
    expect_found(t, "GET", "/static/a%20b/c", &d_a, &m);
    assert_string_equal(route_param(&m, "*"), "a%20b/c");
    assert_int_equal(m.tail_len, strlen("a%20b/c"));
    assert_memory_equal(m.tail, "a%20b/c", m.tail_len);
    expect_found(t, "GET", "/static/a%2Fb", &d_a, &m);
    assert_string_equal(route_param(&m, "*"), "a%2Fb");
    expect_not_found(t, "GET", "/static/a//b");
    expect_not_found(t, "GET", "/staticx");
    expect_found(t, "GET", "/files/b1/x/y", &d_b, &m);
    assert_int_equal(m.nparams, 2);
    assert_string_equal(route_param(&m, "bucket"), "b1");
    assert_string_equal(route_param(&m, "*"), "x/y");
    expect_found(t, "GET", "/files/b1", &d_b, &m);
    assert_string_equal(route_param(&m, "*"), "");
    expect_not_found(t, "GET", "/files");
    expect_not_found(t, "GET", "/");

    /* A catch-all at the root. */
    assert_int_equal(route_add(t, "GET", "/*", &d_c), 0);
    expect_found(t, "GET", "/", &d_c, &m);
    assert_string_equal(route_param(&m, "*"), "");
    expect_found(t, "GET", "/other/thing", &d_c, &m);
    assert_string_equal(route_param(&m, "*"), "other/thing");
    expect_found(t, "GET", "/static/x", &d_a, &m); /* the longer literal prefix wins */
    route_table_free(t);
}

/* The same routes added in both orders must give the same answers. */
static void
check_precedence(const char *const *order, size_t n)
{
    static const struct {
        const char *pattern;
        int *data;
    } routes[] = {
        {"/jobs/stats", &d_a}, {"/jobs/{id}", &d_b}, {"/jobs/*", &d_c},
        {"/jobs", &d_d},       {"/{x}/b/c", &d_e},
    };
    route_table *t = new_table();
    route_match m;

    for (size_t i = 0; i < n; i++) {
        for (size_t j = 0; j < sizeof(routes) / sizeof(routes[0]); j++) {
            if (strcmp(order[i], routes[j].pattern) == 0)
                assert_int_equal(route_add(t, "GET", routes[j].pattern, routes[j].data), 0);
        }
    }
    expect_found(t, "GET", "/jobs/stats", &d_a, &m);
    expect_found(t, "GET", "/jobs/42", &d_b, &m);
    assert_string_equal(route_param(&m, "id"), "42");
    expect_found(t, "GET", "/jobs/42/attempts", &d_c, &m);
    assert_string_equal(route_param(&m, "*"), "42/attempts");
    expect_found(t, "GET", "/jobs", &d_d, &m); /* an exact end beats an empty "*" */
    expect_found(t, "GET", "/jobs/", &d_d, &m);
    /* Leftmost difference decides: literal "jobs" beats {x} despite b/c. */
    expect_found(t, "GET", "/jobs/b/c", &d_c, &m);
    expect_found(t, "GET", "/other/b/c", &d_e, &m);
    route_table_free(t);
}

static void
test_precedence(void **state)
{
    static const char *const fwd[] = {"/jobs/stats", "/jobs/{id}", "/jobs/*", "/jobs", "/{x}/b/c"};
    static const char *const rev[] = {"/{x}/b/c", "/jobs", "/jobs/*", "/jobs/{id}", "/jobs/stats"};

    (void)state;
    check_precedence(fwd, 5);
    check_precedence(rev, 5);
}

static void
test_404_405(void **state)
{
    route_table *t = new_table();
    route_match m;

    (void)state;
    assert_int_equal(route_add(t, "GET", "/jobs", &d_a), 0);
    assert_int_equal(route_add(t, "POST", "/jobs", &d_b), 0);
    assert_int_equal(route_add(t, "GET", "/jobs/{id}", &d_c), 0);
    assert_int_equal(route_add(t, "DELETE", "/jobs/{id}", &d_d), 0);
    assert_int_equal(route_add(t, "PUT", "/jobs/stats", &d_e), 0);
    assert_int_equal(route_add(t, "HEAD", "/ping", &d_e), 0);
    expect_405(t, "PUT", "/jobs", "GET, HEAD, POST");
    expect_405(t, "PATCH", "/jobs/1", "DELETE, GET, HEAD");
    expect_405(t, "POST", "/jobs/stats", "DELETE, GET, HEAD, PUT");
    expect_405(t, "GET", "/ping", "HEAD");
    expect_not_found(t, "GET", "/nothing");
    expect_not_found(t, "PUT", "/jobs/1/x");
    /* The most specific pattern that serves the method wins. */
    expect_found(t, "DELETE", "/jobs/stats", &d_d, &m);
    assert_string_equal(route_param(&m, "id"), "stats");
    expect_found(t, "PUT", "/jobs/stats", &d_e, &m);
    expect_found(t, "GET", "/jobs/stats", &d_c, &m);
    route_table_free(t);
}

static void
test_head_and_any_method(void **state)
{
    route_table *t = new_table();
    route_match m;

    (void)state;
    assert_int_equal(route_add(t, "GET", "/a", &d_a), 0);
    expect_found(t, "HEAD", "/a", &d_a, &m);
    assert_int_equal(route_add(t, "HEAD", "/a", &d_b), 0);
    expect_found(t, "HEAD", "/a", &d_b, &m); /* an explicit HEAD route beats GET */
    expect_found(t, "GET", "/a", &d_a, &m);

    assert_int_equal(route_add(t, "*", "/a", &d_c), 0);
    expect_found(t, "GET", "/a", &d_a, &m); /* exact method beats "*" */
    expect_found(t, "PATCH", "/a", &d_c, &m);
    expect_found(t, "BREW", "/a", &d_c, &m);

    /* A proxy catch-all serves what the specific route does not. */
    assert_int_equal(route_add(t, "*", "/api/*", &d_d), 0);
    assert_int_equal(route_add(t, "GET", "/api/health", &d_e), 0);
    expect_found(t, "GET", "/api/health", &d_e, &m);
    expect_found(t, "HEAD", "/api/health", &d_e, &m);
    expect_found(t, "POST", "/api/health", &d_d, &m);
    assert_string_equal(route_param(&m, "*"), "health");
    route_table_free(t);
}

static void
test_trailing_slash(void **state)
{
    route_table *t = new_table();
    route_match m;

    (void)state;
    assert_int_equal(route_add(t, "GET", "/", &d_a), 0);
    assert_int_equal(route_add(t, "GET", "/jobs/{id}", &d_b), 0);
    expect_found(t, "GET", "/", &d_a, &m);
    expect_found(t, "GET", "/jobs/7/", &d_b, &m);
    assert_string_equal(route_param(&m, "id"), "7");
    expect_not_found(t, "GET", "//");
    expect_not_found(t, "GET", "/jobs/7//");
    expect_not_found(t, "GET", "/jobs//7");
    expect_not_found(t, "GET", "//jobs/7");
    route_table_free(t);
}

static void
test_percent_decoding(void **state)
{
    route_table *t = new_table();
    route_match m;

    (void)state;
    assert_int_equal(route_add(t, "GET", "/items/{name}", &d_a), 0);
    assert_int_equal(route_add(t, "GET", "/x/caf", &d_b), 0);
    expect_found(t, "GET", "/items/a%20b", &d_a, &m);
    assert_string_equal(route_param(&m, "name"), "a b");
    expect_found(t, "GET", "/items/%41%42c", &d_a, &m);
    assert_string_equal(route_param(&m, "name"), "ABc");
    expect_found(t, "GET", "/items/caf%c3%A9", &d_a, &m);
    assert_string_equal(route_param(&m, "name"), "caf\xc3\xa9");
    expect_found(t, "GET", "/items/a+b", &d_a, &m);
    assert_string_equal(route_param(&m, "name"), "a+b");
    expect_found(t, "GET", "/items/%25", &d_a, &m);
    assert_string_equal(route_param(&m, "name"), "%");
    static const char *const bad[] = {
        "/items/a%2Fb", "/items/a%2fb", "/items/%00", "/items/%zz",
        "/items/%4",    "/items/%",     "/items/%g1", "/items/a%2",
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        expect_not_found(t, "GET", bad[i]);

    /* Literals compare with the raw segment: "c%61f" is not "caf". */
    expect_not_found(t, "GET", "/x/c%61f");
    assert_int_equal(route_add(t, "GET", "/x/{v}", &d_c), 0);
    expect_found(t, "GET", "/x/c%61f", &d_c, &m);
    assert_string_equal(route_param(&m, "v"), "caf");
    expect_found(t, "GET", "/x/caf", &d_b, &m);
    route_table_free(t);
}

static void
test_long_values(void **state)
{
    char path[4 * ROUTE_MAX_VALUE + 64], pattern[ROUTE_MAX_PATH + 2];
    route_table *t = new_table();
    route_match m;
    size_t n;

    (void)state;
    assert_int_equal(route_add(t, "GET", "/v/{value}", &d_a), 0);
    assert_int_equal(route_add(t, "GET", "/t/*", &d_b), 0);
    /* ROUTE_MAX_VALUE - 1 bytes fit, one more does not. */
    n = (size_t)snprintf(path, sizeof(path), "/v/");
    memset(path + n, 'x', ROUTE_MAX_VALUE - 1);
    path[n + ROUTE_MAX_VALUE - 1] = '\0';
    expect_found(t, "GET", path, &d_a, &m);
    assert_int_equal(strlen(route_param(&m, "value")), ROUTE_MAX_VALUE - 1);
    n = strlen(path);
    snprintf(path + n, sizeof(path) - n, "x");
    expect_not_found(t, "GET", path);
    /* The limit applies to the decoded value. */
    n = (size_t)snprintf(path, sizeof(path), "/v/");
    for (size_t i = 0; i < ROUTE_MAX_VALUE - 1; i++)
        n += (size_t)snprintf(path + n, sizeof(path) - n, "%%41");
    expect_found(t, "GET", path, &d_a, &m);
    assert_int_equal(strlen(route_param(&m, "value")), ROUTE_MAX_VALUE - 1);
    /* A tail longer than a value still matches: the parameter holds its
     * first bytes, m.tail all of it. */
    n = (size_t)snprintf(path, sizeof(path), "/t/");
    for (size_t i = 0; i < ROUTE_MAX_VALUE / 4; i++)
        n += (size_t)snprintf(path + n, sizeof(path) - n, "abc/");
    path[n - 1] = '\0'; /* 255 bytes of tail */
    expect_found(t, "GET", path, &d_b, &m);
    assert_int_equal(strlen(route_param(&m, "*")), ROUTE_MAX_VALUE - 1);
    n = strlen(path);
    snprintf(path + n, sizeof(path) - n, "/x");
    expect_found(t, "GET", path, &d_b, &m);
    assert_int_equal(strlen(route_param(&m, "*")), ROUTE_MAX_VALUE - 1);
    assert_int_equal(m.tail_len, strlen(path) - strlen("/t/"));

    /* A path of exactly ROUTE_MAX_PATH bytes matches; one byte more never does. */
    memset(pattern, 'a', sizeof(pattern));
    for (size_t i = 0; i < ROUTE_MAX_PATH; i += 128)
        pattern[i] = '/';
    pattern[ROUTE_MAX_PATH] = '\0';
    assert_int_equal(route_add(t, "GET", pattern, &d_c), 0);
    expect_found(t, "GET", pattern, &d_c, &m);
    pattern[ROUTE_MAX_PATH] = '/';
    pattern[ROUTE_MAX_PATH + 1] = '\0';
    expect_not_found(t, "GET", pattern);
    assert_int_equal(route_add(t, "POST", pattern, &d_c), -1);
    route_table_free(t);
}

static void
test_invalid_patterns(void **state)
{
    static const char *const bad[] = {
        "",       "jobs",   "/jobs/", "//",   "/a//b", "/{",          "/{}",    "/{1a}",
        "/{a-b}", "/x{a}",  "/{a}x",  "/{a",  "/*/x",  "/a*",         "/**",    "/{a}/{a}",
        "/a b",   "/a%20b", "/a?b=1", "/a#f", "/{*}",  "/a/{x}/{x}/", "/a\x01", "/{a}}",
    };
    char name[ROUTE_MAX_NAME + 8];
    route_table *t = new_table();

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (route_add(t, "GET", bad[i], &d_a) != -1)
            fail_msg("pattern \"%s\" accepted", bad[i]);
    }
    assert_int_equal(route_add(t, "GET", NULL, &d_a), -1);
    assert_int_equal(route_add(NULL, "GET", "/a", &d_a), -1);
    /* Methods: upper-case letters or "*". */
    assert_int_equal(route_add(t, "get", "/a", &d_a), -1);
    assert_int_equal(route_add(t, "", "/a", &d_a), -1);
    assert_int_equal(route_add(t, NULL, "/a", &d_a), -1);
    assert_int_equal(route_add(t, "GE T", "/a", &d_a), -1);
    assert_int_equal(route_add(t, "**", "/a", &d_a), -1);
    assert_int_equal(route_add(t, "ABCDEFGHIJKLMNOP", "/a", &d_a), -1);
    assert_int_equal(route_add(t, "ABCDEFGHIJKLMNO", "/a", &d_a), 0);
    /* Parameter names shorter than ROUTE_MAX_NAME. */
    snprintf(name, sizeof(name), "/{%0*d}", ROUTE_MAX_NAME, 0);
    name[2] = 'n';
    assert_int_equal(route_add(t, "GET", name, &d_a), -1);
    snprintf(name, sizeof(name), "/{n%0*d}", ROUTE_MAX_NAME - 2, 0);
    assert_int_equal(route_add(t, "GET", name, &d_a), 0);
    /* At most ROUTE_MAX_PARAMS parameters, the tail included. */
    assert_int_equal(route_add(t, "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/{i}", &d_a), -1);
    assert_int_equal(route_add(t, "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}/*", &d_a), -1);
    assert_int_equal(route_add(t, "GET", "/{a}/{b}/{c}/{d}/{e}/{f}/{g}/*", &d_a), 0);
    assert_int_equal(route_add(t, "GET", "/p/{a}/{b}/{c}/{d}/{e}/{f}/{g}/{h}", &d_a), 0);
    /* Valid oddities. */
    assert_int_equal(route_add(t, "GET", "/_x/{_y9}/v1.2/a-b~c", &d_a), 0);
    route_table_free(t);
}

static void
test_duplicates(void **state)
{
    route_table *t = new_table();
    route_match m;

    (void)state;
    assert_int_equal(route_add(t, "GET", "/a/{x}", &d_a), 0);
    assert_int_equal(route_add(t, "GET", "/a/{x}", &d_b), -1);
    assert_int_equal(route_add(t, "GET", "/a/{y}", &d_b), -1); /* same shape */
    assert_int_equal(route_add(t, "POST", "/a/{y}", &d_b), 0);
    assert_int_equal(route_add(t, "GET", "/a/x", &d_c), 0);
    assert_int_equal(route_add(t, "GET", "/a/*", &d_d), 0);
    assert_int_equal(route_add(t, "*", "/a/{z}", &d_e), 0);
    assert_int_equal(route_add(t, "*", "/a/{x}", &d_e), -1);
    expect_found(t, "GET", "/a/1", &d_a, &m);
    assert_string_equal(route_param(&m, "x"), "1");
    expect_found(t, "POST", "/a/1", &d_b, &m);
    assert_string_equal(route_param(&m, "y"), "1");
    assert_null(route_param(&m, "x"));
    route_table_free(t);
}

static void
test_table_full(void **state)
{
    route_table *t = new_table();
    route_match m;
    char pattern[32];

    (void)state;
    for (int i = 0; i < ROUTE_MAX_ROUTES; i++) {
        snprintf(pattern, sizeof(pattern), "/r%d", i);
        assert_int_equal(route_add(t, "GET", pattern, &d_a), 0);
    }
    assert_int_equal(route_add(t, "GET", "/one/more", &d_b), -1);
    expect_found(t, "GET", "/r255", &d_a, &m);
    expect_not_found(t, "GET", "/one/more");
    route_table_free(t);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_literals),       cmocka_unit_test(test_params),
        cmocka_unit_test(test_tail),           cmocka_unit_test(test_precedence),
        cmocka_unit_test(test_404_405),        cmocka_unit_test(test_head_and_any_method),
        cmocka_unit_test(test_trailing_slash), cmocka_unit_test(test_percent_decoding),
        cmocka_unit_test(test_long_values),    cmocka_unit_test(test_invalid_patterns),
        cmocka_unit_test(test_duplicates),     cmocka_unit_test(test_table_full),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
