/* gateway/openapi.json against the gateway's own tables (issue 4): every rule
 * of the permission table (permissions.c) is an operation of the document and
 * every /api operation of the document is a rule, with the same permission
 * (x-permission), security and 401/403 answers; every $ref resolves; every
 * route the gateway serves itself is described. The document is read from
 * OPENAPI_FILE, else gateway/openapi.json (make runs tests from the top). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "permissions.h"
#include "routes.h"

static const char *const http_methods[] = {"get",     "put",  "post",  "delete",
                                           "options", "head", "patch", "trace"};
#define NMETHODS (sizeof(http_methods) / sizeof(http_methods[0]))

static json_object *doc;

static int
load(void **state)
{
    (void)state;
    const char *path = getenv("OPENAPI_FILE");
    doc = json_object_from_file(path != NULL ? path : "gateway/openapi.json");
    return doc == NULL ? -1 : 0;
}

static int
unload(void **state)
{
    (void)state;
    json_object_put(doc);
    doc = NULL;
    return 0;
}

static json_object *
get(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o != NULL && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

/* The operation of method (any case) on path, or NULL. */
static json_object *
operation(const char *path, const char *method)
{
    char lower[16];
    size_t i = 0;
    for (; method[i] != '\0' && i + 1 < sizeof(lower); i++)
        lower[i] = (char)(method[i] >= 'A' && method[i] <= 'Z' ? method[i] + 32 : method[i]);
    lower[i] = '\0';
    return get(get(get(doc, "paths"), path), lower);
}

static const char *
expected_permission(perm_id p)
{
    if (p == PERM_OPEN)
        return "open";
    if (p == PERM_AUTHENTICATED)
        return "authenticated";
    return perm_name(p);
}

static void
test_is_openapi_3_1(void **state)
{
    (void)state;
    const char *v = json_object_get_string(get(doc, "openapi"));
    assert_non_null(v);
    assert_int_equal(strncmp(v, "3.1.", 4), 0);
    assert_non_null(get(get(doc, "info"), "title"));
    assert_non_null(get(get(doc, "info"), "version"));
    json_object *schemes = get(get(doc, "components"), "securitySchemes");
    assert_string_equal(json_object_get_string(get(get(schemes, "bearerAuth"), "scheme")),
                        "bearer");
    assert_string_equal(json_object_get_string(get(get(schemes, "apiKey"), "name")), "X-API-Key");
    json_object *error = get(get(get(doc, "components"), "schemas"), "Error");
    assert_non_null(get(get(get(error, "properties"), "error"), "properties"));
}

static void
test_every_rule_is_an_operation(void **state)
{
    (void)state;
    assert_true(perm_nrules > 0);
    for (size_t i = 0; i < perm_nrules; i++) {
        const perm_rule *r = &perm_rules[i];
        json_object *op = operation(r->pattern, r->method);
        if (op == NULL)
            fail_msg("%s %s is in the permission table but not in openapi.json", r->method,
                     r->pattern);
        const char *want = expected_permission(r->perm);
        const char *have = json_object_get_string(get(op, "x-permission"));
        if (have == NULL || strcmp(have, want) != 0)
            fail_msg("%s %s: x-permission is %s, the table says %s", r->method, r->pattern,
                     have ? have : "absent", want);
        json_object *security = get(op, "security");
        json_object *responses = get(op, "responses");
        bool open = r->perm == PERM_OPEN;
        bool no_security = security != NULL && json_object_array_length(security) == 0;
        if (open != no_security)
            fail_msg("%s %s: security must be [] exactly when the route is open", r->method,
                     r->pattern);
        if (!open && get(responses, "401") == NULL)
            fail_msg("%s %s needs a credential but documents no 401", r->method, r->pattern);
        if (r->perm >= 0 && get(responses, "403") == NULL)
            fail_msg("%s %s needs %s but documents no 403", r->method, r->pattern, want);
        if (get(responses, "429") == NULL)
            fail_msg("%s %s documents no 429", r->method, r->pattern);
    }
}

static bool
in_table(const char *method, const char *path)
{
    for (size_t i = 0; i < perm_nrules; i++)
        if (strcasecmp(perm_rules[i].method, method) == 0
            && strcmp(perm_rules[i].pattern, path) == 0)
            return true;
    return false;
}

static void
test_every_api_operation_is_a_rule(void **state)
{
    (void)state;
    size_t seen = 0;
    json_object_object_foreach(get(doc, "paths"), path, item)
    {
        if (strncmp(path, "/api/", 5) != 0)
            continue;
        for (size_t m = 0; m < NMETHODS; m++) {
            if (get(item, http_methods[m]) == NULL)
                continue;
            seen++;
            if (!in_table(http_methods[m], path))
                fail_msg("openapi.json describes %s %s, which the permission table does not have "
                         "(the gateway would answer 403)",
                         http_methods[m], path);
        }
    }
    assert_int_equal(seen, perm_nrules);
}

/* Resolve a local reference ("#/components/schemas/Job"; no ~ escapes are
 * used in ours). */
static bool
resolves(const char *ref)
{
    char buf[256];
    if (strncmp(ref, "#/", 2) != 0 || strlen(ref) >= sizeof(buf))
        return false;
    snprintf(buf, sizeof(buf), "%s", ref + 2);
    json_object *o = doc;
    char *save = NULL;
    for (char *part = strtok_r(buf, "/", &save); part != NULL; part = strtok_r(NULL, "/", &save))
        if ((o = get(o, part)) == NULL)
            return false;
    return true;
}

static void
check_refs(json_object *o, size_t *n)
{
    if (json_object_is_type(o, json_type_array)) {
        for (size_t i = 0; i < json_object_array_length(o); i++)
            check_refs(json_object_array_get_idx(o, i), n);
        return;
    }
    if (!json_object_is_type(o, json_type_object))
        return;
    json_object_object_foreach(o, key, value)
    {
        if (strcmp(key, "$ref") == 0 && json_object_is_type(value, json_type_string)) {
            (*n)++;
            if (!resolves(json_object_get_string(value)))
                fail_msg("$ref %s does not resolve", json_object_get_string(value));
        } else {
            check_refs(value, n);
        }
    }
}

static void
test_every_ref_resolves(void **state)
{
    (void)state;
    size_t n = 0;
    check_refs(doc, &n);
    assert_true(n > 0);
}

/* Every operation has an operationId (unique) and at least one answer. */
static void
test_operations_are_complete(void **state)
{
    (void)state;
    json_object *ids = json_object_new_object();
    json_object_object_foreach(get(doc, "paths"), path, item)
    {
        for (size_t m = 0; m < NMETHODS; m++) {
            json_object *op = get(item, http_methods[m]);
            if (op == NULL)
                continue;
            const char *id = json_object_get_string(get(op, "operationId"));
            if (id == NULL || get(ids, id) != NULL)
                fail_msg("%s %s: operationId missing or repeated", http_methods[m], path);
            json_object_object_add(ids, id, json_object_new_boolean(1));
            if (json_object_object_length(get(op, "responses")) == 0)
                fail_msg("%s %s has no responses", http_methods[m], path);
        }
    }
    json_object_put(ids);
}

/* The gateway's own routes (probes, docs) and the routes it handles itself
 * are described; the route /docs/<anything> is "/docs/{file}" there. */
static void
test_gateway_routes_are_described(void **state)
{
    (void)state;
    static const char *const probes[] = {"/health",  "/health/detailed", "/live",         "/ready",
                                         "/startup", "/metrics",         "/openapi.json", "/docs"};
    for (size_t i = 0; i < sizeof(probes) / sizeof(probes[0]); i++)
        if (operation(probes[i], "GET") == NULL)
            fail_msg("GET %s is not described", probes[i]);
    for (size_t i = 0; i < gateway_nroutes; i++) {
        const web_route *r = &gateway_routes[i];
        if (strcmp(r->method, "*") == 0)
            continue; /* a proxied prefix: its routes are the services' */
        const char *path = strcmp(r->pattern, "/docs/*") == 0 ? "/docs/{file}" : r->pattern;
        if (operation(path, r->method) == NULL)
            fail_msg("the gateway serves %s %s, which openapi.json does not describe", r->method,
                     r->pattern);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_is_openapi_3_1),
        cmocka_unit_test(test_every_rule_is_an_operation),
        cmocka_unit_test(test_every_api_operation_is_a_rule),
        cmocka_unit_test(test_every_ref_resolves),
        cmocka_unit_test(test_operations_are_complete),
        cmocka_unit_test(test_gateway_routes_are_described),
    };
    return cmocka_run_group_tests(tests, load, unload);
}
