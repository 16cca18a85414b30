/* System health (syshealth.c, syshealth_http.c): the overall status rule on
 * every component, and the services' probes against scripted servers: a
 * health report, a service that is not one, a closed port, one that never
 * answers (bounded by the timeout), one not configured, the internal token
 * sent; and the whole report within its deadline while PostgreSQL hangs and
 * NATS is away, its late parts waited for by syshealth_drain. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "syshealth.h"
#include "testlib.h"
#include "testlib_srv.h"
#include "util.h"

/* Every component well. */
#define GOOD                                                                        \
    "{\"postgres\":{\"status\":\"up\"},"                                            \
    "\"nats\":{\"status\":\"up\",\"jetstream\":{\"status\":\"up\"}},"               \
    "\"services\":{\"gateway\":{\"status\":\"healthy\"},\"svc-toast\":{\"status\":" \
    "\"not_configured\"}},"                                                         \
    "\"job_queue\":{\"status\":\"up\",\"expired_leases\":0},"                       \
    "\"integrations\":{\"healthy\":1,\"degraded\":0,\"unhealthy\":0,\"total\":1},"  \
    "\"alerts\":{\"critical\":0,\"high\":2,\"medium\":0,\"low\":0}}"

/* The overall status of GOOD with the value at path a.b (or a.b.c) set to v
 * (JSON text). */
static const char *
overall_with(const char *a, const char *b, const char *c, const char *v)
{
    json_object *comp = json_tokener_parse(GOOD), *o = comp;
    assert_non_null(comp);
    if (a) {
        const char *keys[] = {a, b, c};
        int n = c ? 3 : b ? 2 : 1;
        for (int i = 0; i < n - 1; i++)
            assert_true(json_object_object_get_ex(o, keys[i], &o));
        json_object_object_add(o, keys[n - 1], json_tokener_parse(v));
    }
    const char *st = syshealth_overall(comp);
    json_object_put(comp);
    return st;
}

static void
test_overall_rule(void **state)
{
    (void)state;
    assert_string_equal(overall_with(NULL, NULL, NULL, NULL), "healthy");
    /* PostgreSQL or NATS down: unhealthy, whatever else. */
    assert_string_equal(overall_with("postgres", "status", NULL, "\"down\""), "unhealthy");
    assert_string_equal(overall_with("postgres", "status", NULL, "\"unknown\""), "unhealthy");
    assert_string_equal(overall_with("nats", "status", NULL, "\"down\""), "unhealthy");
    /* Degraded. */
    assert_string_equal(overall_with("nats", "jetstream", "status", "\"down\""), "degraded");
    assert_string_equal(overall_with("services", "gateway", "status", "\"down\""), "degraded");
    assert_string_equal(overall_with("services", "gateway", "status", "\"degraded\""), "degraded");
    assert_string_equal(overall_with("services", "status", NULL, "\"unknown\""), "degraded");
    assert_string_equal(overall_with("job_queue", "status", NULL, "\"unavailable\""), "degraded");
    assert_string_equal(overall_with("job_queue", "expired_leases", NULL, "1"), "degraded");
    assert_string_equal(overall_with("alerts", "critical", NULL, "1"), "degraded");
    assert_string_equal(overall_with("alerts", "status", NULL, "\"unknown\""), "degraded");
    assert_string_equal(overall_with("integrations", "status", NULL, "\"unknown\""), "degraded");
    /* Not degrading: other severities, unhealthy integrations, no lease
     * figure from an older svc-automation. */
    assert_string_equal(overall_with("alerts", "high", NULL, "9"), "healthy");
    assert_string_equal(overall_with("integrations", "unhealthy", NULL, "3"), "healthy");
    assert_string_equal(overall_with("job_queue", "expired_leases", NULL, "null"), "healthy");
}

static tl_srv_next
answer_never(tl_srv *s, int fd, int conn, int nreq, const char *raw, size_t len)
{
    (void)conn;
    (void)nreq;
    (void)raw;
    (void)len;
    (void)fd;
    /* Hold the connection until the client gives up (or the test ends). */
    while (tl_srv_readable(s, fd)) {
        char buf[64];
        if (read(fd, buf, sizeof(buf)) <= 0)
            break;
    }
    return TL_SRV_CLOSE;
}

static const char *
svc_field(json_object *out, const char *svc, const char *field)
{
    json_object *o = NULL, *v = NULL;
    assert_true(json_object_object_get_ex(out, svc, &o));
    if (!json_object_object_get_ex(o, field, &v))
        return NULL;
    return json_object_get_string(v);
}

static void
test_services(void **state)
{
    (void)state;
    tl_srv *ok =
        tl_srv_start(tl_srv_answer_close,
                     "HTTP/1.1 503 Service Unavailable\r\nContent-Type: application/json\r\n"
                     "Content-Length: 22\r\n\r\n{\"status\":\"unhealthy\"}");
    tl_srv *bad =
        tl_srv_start(tl_srv_answer_close, "HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
    tl_srv *never = tl_srv_start(answer_never, NULL);
    /* A port nobody listens on: bound, then closed. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);

    syshealth_cfg c = {.timeout_ms = 300};
    snprintf(c.url[SH_GATEWAY], sizeof(c.url[0]), "http://127.0.0.1:%d/", ok->port);
    snprintf(c.url[SH_AUTOMATION], sizeof(c.url[0]), "http://127.0.0.1:%d", bad->port);
    snprintf(c.url[SH_TOAST], sizeof(c.url[0]), "http://127.0.0.1:%d", never->port);
    snprintf(c.url[SH_EMBEDDING], sizeof(c.url[0]), "http://127.0.0.1:%d", ntohs(sa.sin_port));
    util_strlcpy(c.token, "tok-123", sizeof(c.token));

    int64_t t0 = util_mono_ns();
    json_object *out = syshealth_services(&c);
    int64_t ms = (util_mono_ns() - t0) / 1000000;
    assert_true(ms < 1000); /* all at once, each within 300 ms */

    assert_string_equal(svc_field(out, "gateway", "status"), "unhealthy");
    assert_string_equal(svc_field(out, "gateway", "http_status"), "503");
    assert_non_null(strstr(ok->reqs[0], "GET /health/detailed HTTP/1.1"));
    assert_non_null(strstr(ok->reqs[0], "X-Internal-Token: tok-123"));
    assert_string_equal(svc_field(out, "svc-automation", "status"), "down");
    assert_string_equal(svc_field(out, "svc-automation", "error"),
                        "the answer is not a health report");
    assert_string_equal(svc_field(out, "svc-toast", "status"), "down");
    assert_string_equal(svc_field(out, "svc-embedding", "status"), "down");
    /* What went wrong, never where. */
    const char *why = svc_field(out, "svc-embedding", "error");
    assert_non_null(why);
    assert_null(strstr(why, "127.0.0.1"));
    assert_string_equal(svc_field(out, "svc-sync", "status"), "not_configured");
    json_object_put(out);
    tl_srv_stop(ok);
    tl_srv_stop(bad);
    tl_srv_stop(never);
}

/* A listener that never accepts: a connection is made (the backlog), and
 * nothing is ever said on it. */
static int
black_hole(int *port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof(sa);
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
    assert_int_equal(listen(fd, 16), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    *port = ntohs(sa.sin_port);
    return fd;
}

static json_object *
at(json_object *o, const char *a, const char *b)
{
    json_object *v = NULL;
    assert_true(json_object_object_get_ex(o, a, &v));
    if (b)
        assert_true(json_object_object_get_ex(v, b, &v));
    return v;
}

static void
test_report_deadline(void **state)
{
    (void)state;
    int pg_port, nats_port;
    int pg_fd = black_hole(&pg_port), nats_fd = black_hole(&nats_port);
    close(nats_fd); /* nobody there at all */
    char url[128];
    snprintf(url, sizeof(url), "postgresql://brain@127.0.0.1:%d/brain", pg_port);
    db_pool *pool = db_pool_new(url, 2, 2);
    snprintf(url, sizeof(url), "nats://127.0.0.1:%d", nats_port);
    bus *b = NULL;
    assert_int_equal(bus_connect(url, "test-syshealth", &b), BUS_OK);
    store *st = store_new(pool);
    syshealth_cfg c = {.timeout_ms = 300}; /* no service configured */
    syshealth_deps d = {pool, b, st, &c};

    int64_t t0 = util_mono_ns();
    json_object *o = syshealth_report(&d, 1790000000123LL);
    int64_t ms = (util_mono_ns() - t0) / 1000000;
    assert_non_null(o);
    assert_true(ms >= 250 && ms < 800); /* waited for the parts, and no longer */
    assert_string_equal(json_object_get_string(at(o, "status", NULL)), "unhealthy");
    assert_string_equal(json_object_get_string(at(o, "checked_at", NULL)),
                        "2026-09-21T14:13:20.123Z");
    json_object *comp = at(o, "components", NULL);
    /* PostgreSQL never answered: still connecting at the deadline. */
    assert_string_equal(json_object_get_string(at(comp, "postgres", "status")), "unknown");
    assert_non_null(strstr(json_object_get_string(at(comp, "postgres", "error")), "300 ms"));
    assert_string_equal(json_object_get_string(at(comp, "nats", "status")), "down");
    assert_string_equal(json_object_get_string(at(comp, "job_queue", "status")), "unavailable");
    assert_string_equal(json_object_get_string(at(comp, "alerts", "status")), "unknown");
    json_object *svcs = at(comp, "services", NULL);
    json_object_object_foreach(svcs, name, v)
    {
        (void)name;
        assert_string_equal(json_object_get_string(at(v, "status", NULL)), "not_configured");
    }
    json_object_put(o);
    /* The parts still connecting finish on their own (the pool's connect
     * timeout), and drain waits for them before anything is freed. */
    assert_true(syshealth_drain(10000));
    store_free(st);
    bus_close(b);
    db_pool_free(pool);
    close(pg_fd);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overall_rule),
        cmocka_unit_test(test_services),
        cmocka_unit_test(test_report_deadline),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
