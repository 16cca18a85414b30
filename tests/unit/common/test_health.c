/* Tests for health: the six probe routes on a real server, with checks whose
 * outcome each test sets (the database and NATS checks themselves run against
 * real servers in the end-to-end suite). */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "health.h"
#include "log.h"
#include "metrics.h"
#include "web.h"

typedef struct check_state {
    bool healthy;
    int calls;
} check_state;

static int
check_fn(void *ud, json_object *detail)
{
    check_state *c = ud;
    c->calls++;
    if (!c->healthy)
        json_object_object_add(detail, "error", json_object_new_string("connection refused"));
    return c->healthy ? 0 : -1;
}

typedef struct fixture {
    web_server *srv;
    metrics_registry *reg;
    health *h;
    check_state required, optional;
    int port;
} fixture;

typedef struct resp {
    long status;
    char body[16384];
    size_t len;
    char ctype[128];
} resp;

static size_t
on_body(char *p, size_t size, size_t n, void *ud)
{
    resp *r = ud;
    size_t k = size * n;
    if (r->len + k >= sizeof(r->body))
        return 0;
    memcpy(r->body + r->len, p, k);
    r->len += k;
    r->body[r->len] = '\0';
    return k;
}

/* GET path; returns the status and fills r. */
static long
get(const fixture *f, const char *path, resp *r)
{
    char url[256];
    char *ct = NULL;
    CURL *c = curl_easy_init();

    assert_non_null(c);
    memset(r, 0, sizeof(*r));
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", f->port, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    assert_int_equal(curl_easy_perform(c), CURLE_OK);
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
    if (curl_easy_getinfo(c, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK && ct != NULL)
        snprintf(r->ctype, sizeof(r->ctype), "%s", ct);
    curl_easy_cleanup(c);
    return r->status;
}

static json_object *
body_json(const resp *r)
{
    json_object *o = json_tokener_parse(r->body);
    assert_non_null(o);
    return o;
}

static const char *
str_at(json_object *o, const char *a, const char *b, const char *c)
{
    json_object *v = o;
    const char *keys[] = {a, b, c};
    for (size_t i = 0; i < 3 && keys[i] != NULL; i++)
        if (!json_object_object_get_ex(v, keys[i], &v))
            return NULL;
    return json_object_get_string(v);
}

static int
setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    char err[256];

    assert_non_null(f);
    f->required.healthy = true;
    f->optional.healthy = true;
    f->reg = metrics_registry_new();
    f->h = health_new("svc-test", "1.2.3", f->reg);
    assert_int_equal(health_add_check(f->h, "postgres", true, check_fn, &f->required), 0);
    assert_int_equal(health_add_check(f->h, "upstream", false, check_fn, &f->optional), 0);
    web_config wc = {.service = "svc-test", .port = 0, .threads = 4, .metrics = f->reg};
    f->srv = web_server_new(&wc);
    assert_non_null(f->srv);
    assert_int_equal(health_register(f->h, f->srv), 0);
    assert_int_equal(health_register_prefix(f->h, f->srv, "/api/test"), 0);
    assert_int_equal(web_server_start(f->srv, err, sizeof(err)), 0);
    f->port = web_server_port(f->srv);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    fixture *f = *state;
    web_server_free(f->srv);
    health_free(f->h);
    metrics_registry_free(f->reg);
    free(f);
    return 0;
}

static void
test_health_and_live(void **state)
{
    fixture *f = *state;
    resp r;

    assert_int_equal(get(f, "/health", &r), 200);
    assert_string_equal(r.ctype, "application/json");
    json_object *o = body_json(&r);
    assert_string_equal(str_at(o, "status", NULL, NULL), "healthy");
    assert_string_equal(str_at(o, "service", NULL, NULL), "svc-test");
    assert_string_equal(str_at(o, "version", NULL, NULL), "1.2.3");
    assert_true(json_object_is_type(json_object_object_get(o, "uptime_seconds"), json_type_int));
    json_object_put(o);
    /* Liveness runs no check: it must stay cheap. */
    assert_int_equal(f->required.calls, 0);
    f->required.healthy = false;
    assert_int_equal(get(f, "/live", &r), 200);
    assert_int_equal(get(f, "/health", &r), 200);
    assert_int_equal(get(f, "/api/test/health", &r), 200);
    o = body_json(&r);
    assert_string_equal(str_at(o, "service", NULL, NULL), "svc-test");
    json_object_put(o);
    assert_int_equal(f->required.calls, 0);
}

static void
test_startup_and_ready(void **state)
{
    fixture *f = *state;
    resp r;

    /* Not started: both 503, in the error shape, saying why. */
    assert_int_equal(get(f, "/startup", &r), 503);
    json_object *o = body_json(&r);
    assert_string_equal(str_at(o, "status", NULL, NULL), "starting");
    assert_string_equal(str_at(o, "error", "code", NULL), "starting");
    assert_non_null(str_at(o, "error", "request_id", NULL));
    json_object_put(o);
    assert_int_equal(get(f, "/ready", &r), 503);

    health_set_started(f->h, true);
    assert_true(health_started(f->h));
    assert_int_equal(get(f, "/startup", &r), 200);
    assert_int_equal(get(f, "/ready", &r), 200);
    o = body_json(&r);
    assert_string_equal(str_at(o, "status", NULL, NULL), "ready");
    assert_string_equal(str_at(o, "checks", "postgres", "status"), "healthy");
    /* /ready asks only the required checks. */
    assert_null(str_at(o, "checks", "upstream", NULL));
    json_object_put(o);

    /* A required dependency down: 503 naming it; an optional one does not count. */
    f->optional.healthy = false;
    assert_int_equal(get(f, "/ready", &r), 200);
    f->required.healthy = false;
    assert_int_equal(get(f, "/ready", &r), 503);
    o = body_json(&r);
    assert_string_equal(str_at(o, "status", NULL, NULL), "not_ready");
    assert_string_equal(str_at(o, "checks", "postgres", "status"), "unhealthy");
    assert_string_equal(str_at(o, "checks", "postgres", "error"), "connection refused");
    assert_non_null(strstr(str_at(o, "error", "message", NULL), "postgres"));
    json_object_put(o);

    /* And back. */
    f->required.healthy = true;
    assert_int_equal(get(f, "/ready", &r), 200);
    health_set_started(f->h, false);
    assert_int_equal(get(f, "/ready", &r), 503);
}

/* Ask /health/detailed until it answers status and overall (at most 3 s). */
static bool
wait_detailed(const fixture *f, long status, const char *overall, resp *r)
{
    char want[64];
    snprintf(want, sizeof(want), "\"status\":\"%s\"", overall);
    for (int i = 0; i < 300; i++) {
        if (get(f, "/health/detailed", r) == status && strstr(r->body, want) != NULL)
            return true;
        struct timespec tick = {0, 10 * 1000 * 1000};
        nanosleep(&tick, NULL);
    }
    return false;
}

static void
test_detailed(void **state)
{
    fixture *f = *state;
    resp r;

    assert_int_equal(get(f, "/health/detailed", &r), 200);
    json_object *o = body_json(&r);
    assert_string_equal(str_at(o, "status", NULL, NULL), "healthy");
    assert_string_equal(str_at(o, "checks", "postgres", "status"), "healthy");
    assert_string_equal(str_at(o, "checks", "upstream", "status"), "healthy");
    json_object *lat = NULL;
    assert_true(json_object_object_get_ex(json_object_object_get(o, "checks"), "postgres", &lat));
    assert_true(json_object_object_get_ex(lat, "latency_ms", &lat));
    assert_true(json_object_get_double(lat) >= 0);
    json_object_put(o);

    /* Callers within a second share one run of the checks. */
    int calls = f->required.calls;
    f->optional.healthy = false;
    assert_int_equal(get(f, "/health/detailed", &r), 200);
    assert_int_equal(f->required.calls, calls);
    assert_non_null(strstr(r.body, "\"status\":\"healthy\""));

    /* Then the checks run again and the answer follows them. */
    assert_true(wait_detailed(f, 200, "degraded", &r));
    o = body_json(&r);
    assert_string_equal(str_at(o, "checks", "upstream", "error"), "connection refused");
    json_object_put(o);
    f->required.healthy = false;
    assert_true(wait_detailed(f, 503, "unhealthy", &r));
}

static void
test_metrics(void **state)
{
    fixture *f = *state;
    resp r;

    assert_int_equal(get(f, "/live", &r), 200);
    assert_int_equal(get(f, "/metrics", &r), 200);
    assert_string_equal(r.ctype, "text/plain; version=0.0.4; charset=utf-8");
    assert_non_null(strstr(r.body, "# TYPE http_requests_total counter\n"));
    assert_non_null(strstr(r.body, "http_requests_total{service=\"svc-test\",route=\"/live\","
                                   "method=\"GET\",code=\"200\"} 1\n"));
}

static void
test_prefix_rules(void **state)
{
    fixture *f = *state;

    /* A prefix must be absolute and fit. */
    char longp[100];
    memset(longp, 'a', sizeof(longp) - 1);
    longp[0] = '/';
    longp[sizeof(longp) - 1] = '\0';
    assert_int_equal(health_register_prefix(f->h, f->srv, "api/x"), -1);
    assert_int_equal(health_register_prefix(f->h, f->srv, longp), -1);
}

int
main(void)
{
    log_init("test", LOGL_ERROR);
    curl_global_init(CURL_GLOBAL_DEFAULT);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_health_and_live, setup, teardown),
        cmocka_unit_test_setup_teardown(test_startup_and_ready, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detailed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_metrics, setup, teardown),
        cmocka_unit_test_setup_teardown(test_prefix_rules, setup, teardown),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    curl_global_cleanup();
    return rc;
}
