/* Tests for the permission table: every rule matches its own routes (and
 * only the methods it names), paths outside the table match nothing, every
 * role holds exactly the permissions of issue 4, and README.md shows the
 * same table as permissions.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "log.h"
#include "permissions.h"

/* README.md from the top of the repository, wherever the test runs from. */
#define README_BEGIN "<!-- permission table: begin -->"
#define README_END   "<!-- permission table: end -->"

static int
setup(void **state)
{
    (void)state;
    return perm_init();
}

static int
teardown(void **state)
{
    (void)state;
    perm_cleanup();
    return 0;
}

/* The pattern with each {param} replaced by a value. */
static void
concrete(const char *pattern, const char *value, char *out, size_t cap)
{
    size_t n = 0;

    for (const char *p = pattern; *p != '\0' && n + 1 < cap;) {
        if (*p == '{') {
            n += (size_t)snprintf(out + n, cap - n, "%s", value);
            p = strchr(p, '}') + 1;
        } else {
            out[n++] = *p++;
        }
    }
    out[n] = '\0';
}

static void
test_every_rule_matches_its_routes(void **state)
{
    char path[300];

    (void)state;
    assert_true(perm_nrules >= 25);
    for (size_t i = 0; i < perm_nrules; i++) {
        const perm_rule *want = &perm_rules[i];
        concrete(want->pattern, "0b6f1c1e-0000-4000-8000-000000000001", path, sizeof(path));
        assert_ptr_equal(perm_match(want->method, path), want);
        /* a trailing slash is the same route (route.h), as upstream */
        size_t n = strlen(path);
        path[n] = '/';
        path[n + 1] = '\0';
        assert_ptr_equal(perm_match(want->method, path), want);
        path[n] = '\0';
        if (strcmp(want->method, "GET") == 0)
            assert_ptr_equal(perm_match("HEAD", path), want);
        /* a method the table does not name for this path matches nothing */
        const char *others[] = {"PUT", "OPTIONS", "TRACE", "CONNECT"};
        for (size_t j = 0; j < sizeof(others) / sizeof(others[0]); j++)
            assert_null(perm_match(others[j], path));
    }
}

static void
test_paths_outside_the_table_match_nothing(void **state)
{
    static const char *const misses[][2] = {
        {"GET", "/api/automation/nope"},
        {"DELETE", "/api/automation/jobs/1"},
        {"GET", "/api/automation/jobs/1/attempts"},
        {"POST", "/api/automation/jobs/a%2Fb/cancel"}, /* a parameter with '/' */
        {"DELETE", "/api/intelligence/clients/1"},
        {"POST", "/api/toast/health"},
        {"GET", "/api/admin/embedding-usage"},
        {"GET", "/api/auth/users/1/extra"},
        {"GET", "/api/auth/login"},
        {"GET", "/api"},
        {"GET", "/api/"},
        {"GET", "/API/automation/jobs"},
        {"GET", "/api//automation/jobs"},
        {"GET", "/health"},
        {"GET", ""},
        {NULL, "/api/automation/jobs"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(misses) / sizeof(misses[0]); i++)
        assert_null(perm_match(misses[i][0], misses[i][1]));
    assert_null(perm_match("GET", NULL));
}

static void
test_some_rules(void **state)
{
    (void)state;
    assert_int_equal(perm_match("GET", "/api/automation/jobs")->perm, PERM_VIEW_OPERATIONS);
    assert_int_equal(perm_match("POST", "/api/automation/jobs")->perm, PERM_TRIGGER_JOBS);
    /* the literal wins over the parameter */
    assert_string_equal(perm_match("GET", "/api/automation/jobs/stats")->pattern,
                        "/api/automation/jobs/stats");
    assert_int_equal(perm_match("POST", "/api/automation/sessions/c1/terminate")->perm,
                     PERM_EDIT_CREDENTIALS);
    assert_int_equal(perm_match("GET", "/api/automation/ws/c1")->perm, PERM_VIEW_OPERATIONS);
    assert_int_equal(perm_match("POST", "/api/auth/login")->perm, PERM_OPEN);
    assert_int_equal(perm_match("POST", "/api/auth/refresh")->perm, PERM_OPEN);
    assert_int_equal(perm_match("GET", "/api/auth/me")->perm, PERM_AUTHENTICATED);
    assert_int_equal(perm_match("POST", "/api/auth/logout")->perm, PERM_AUTHENTICATED);
    assert_int_equal(perm_match("DELETE", "/api/auth/api-keys/k1")->perm, PERM_MANAGE_USERS);
    assert_int_equal(perm_match("PATCH", "/api/auth/users/u1")->perm, PERM_MANAGE_USERS);
    assert_int_equal(perm_match("GET", "/api/v1/sync/health")->perm, PERM_OPEN);
}

static void
test_roles(void **state)
{
    /* issue 4: viewer: view_dashboard; staff: + view_operations,
     * trigger_jobs, trigger_sync; manager: + view_financials,
     * export_reports; admin: all */
    static const char *const want[] = {
        [ROLE_NONE] = "",
        [ROLE_VIEWER] = "view_dashboard",
        [ROLE_STAFF] = "view_dashboard view_operations trigger_jobs trigger_sync",
        [ROLE_MANAGER] = "view_dashboard view_operations trigger_jobs trigger_sync "
                         "view_financials export_reports",
        [ROLE_ADMIN] = "view_dashboard view_operations trigger_jobs trigger_sync "
                       "view_financials export_reports edit_credentials delete_data "
                       "manage_users",
    };

    (void)state;
    for (int r = ROLE_NONE; r <= ROLE_ADMIN; r++) {
        char got[300] = "";
        size_t n = 0;
        for (int p = 0; p < PERM_COUNT; p++)
            if (perm_role_has((auth_role)r, (perm_id)p))
                n += (size_t)snprintf(got + n, sizeof(got) - n, "%s%s", n > 0 ? " " : "",
                                      perm_name((perm_id)p));
        assert_string_equal(got, want[r]);
    }
    assert_false(perm_role_has(ROLE_ADMIN, PERM_OPEN));
    assert_false(perm_role_has(ROLE_ADMIN, PERM_AUTHENTICATED));
    assert_false(perm_role_has(ROLE_ADMIN, PERM_COUNT));
    assert_false(perm_role_has((auth_role)99, PERM_VIEW_DASHBOARD));
    assert_null(perm_name(PERM_OPEN));
    assert_null(perm_name(PERM_AUTHENTICATED));
    assert_null(perm_name(PERM_COUNT));
}

static const char *
perm_label(perm_id p)
{
    return p == PERM_OPEN ? "open" : p == PERM_AUTHENTICATED ? "authenticated" : perm_name(p);
}

static char *
read_readme(void)
{
    char path[512];
    const char *me = __FILE__, *cut = strstr(me, "tests/unit/gateway/");
    snprintf(path, sizeof(path), "%.*sREADME.md", (int)(cut != NULL ? cut - me : 0), me);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        fail_msg("cannot open %s", path);
    char *text = calloc(1, 1 << 20);
    assert_non_null(text);
    size_t n = fread(text, 1, (1 << 20) - 1, f);
    fclose(f);
    text[n] = '\0';
    return text;
}

static void
test_readme_shows_the_table(void **state)
{
    char *text = read_readme();
    char *begin = strstr(text, README_BEGIN), *end = strstr(text, README_END);
    size_t rows = 0;

    (void)state;
    assert_non_null(begin);
    assert_non_null(end);
    *end = '\0';
    /* every row "| METHOD | `pattern` | permission |" is a rule, in order */
    for (char *line = strtok(begin, "\n"); line != NULL; line = strtok(NULL, "\n")) {
        char method[16], pattern[200], perm[40];
        if (sscanf(line, "| %15s | `%199[^`]` | %39s |", method, pattern, perm) != 3)
            continue;
        if (rows >= perm_nrules)
            fail_msg("README.md has more rows than the table: %s", line);
        const perm_rule *r = &perm_rules[rows];
        if (strcmp(method, r->method) != 0 || strcmp(pattern, r->pattern) != 0
            || strcmp(perm, perm_label(r->perm)) != 0)
            fail_msg("README.md row %zu is \"%s %s %s\", permissions.c has \"%s %s %s\"", rows + 1,
                     method, pattern, perm, r->method, r->pattern, perm_label(r->perm));
        rows++;
    }
    assert_int_equal(rows, perm_nrules);
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_rule_matches_its_routes),
        cmocka_unit_test(test_paths_outside_the_table_match_nothing),
        cmocka_unit_test(test_some_rules),
        cmocka_unit_test(test_roles),
        cmocka_unit_test(test_readme_shows_the_table),
    };

    log_init("test-permissions", LOGL_WARN);
    return cmocka_run_group_tests(tests, setup, teardown);
}
