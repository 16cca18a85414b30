/* Unit tests for common/src/metrics.c: exact renders, validation, overflow,
 * concurrency and the process collector. */
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
/* cmocka.h needs stdarg.h, stddef.h, stdint.h and setjmp.h first. */
#include <cmocka.h>

#include "metrics.h"

static metrics_registry *
new_reg(void)
{
    metrics_registry *reg = metrics_registry_new();

    assert_non_null(reg);
    return reg;
}

/* Render reg and compare the whole output with want. */
static void
assert_render(metrics_registry *reg, const char *want)
{
    char *out = NULL;
    size_t len = 0;

    assert_int_equal(metrics_render(reg, &out, &len), 0);
    assert_non_null(out);
    assert_string_equal(out, want);
    assert_int_equal(len, strlen(want));
    free(out);
}

static char *
render(metrics_registry *reg)
{
    char *out = NULL;

    assert_int_equal(metrics_render(reg, &out, NULL), 0);
    assert_non_null(out);
    return out;
}

/* The value on the line that starts with prefix (followed by a space). */
static double
sample_value(const char *text, const char *prefix)
{
    size_t n = strlen(prefix);

    for (const char *line = text; line != NULL && *line;) {
        if (strncmp(line, prefix, n) == 0 && line[n] == ' ')
            return strtod(line + n + 1, NULL);
        line = strchr(line, '\n');
        if (line != NULL)
            line++;
    }
    fail_msg("no sample %s in:\n%s", prefix, text);
    return NAN;
}

static void
test_empty_registry(void **state)
{
    metrics_registry *reg = new_reg();
    char *out = NULL;

    (void)state;
    assert_render(reg, "");
    assert_int_equal(metrics_render(NULL, &out, NULL), -1);
    assert_null(out);
    assert_int_equal(metrics_render(reg, NULL, NULL), -1);
    metrics_registry_free(reg);
    metrics_registry_free(NULL);
}

static void
test_counter_without_labels(void **state)
{
    metrics_registry *reg = new_reg();
    metrics_family *c = metrics_counter(reg, "jobs_total", "Jobs done.", NULL, 0);

    (void)state;
    assert_non_null(c);
    assert_render(reg, "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 0\n");
    metrics_inc(c, NULL, 1);
    metrics_inc(c, NULL, 2.5);
    metrics_inc(c, NULL, -1);  /* counters never go down */
    metrics_inc(c, NULL, NAN); /* nor become NaN */
    metrics_set(c, NULL, 100); /* not a gauge: ignored */
    metrics_observe(c, NULL, 100);
    assert_render(reg, "# HELP jobs_total Jobs done.\n# TYPE jobs_total counter\njobs_total 3.5\n");
    metrics_inc(NULL, NULL, 1); /* a failed registration must not crash its users */
    metrics_registry_free(reg);
}

static void
test_counter_with_labels(void **state)
{
    static const char *const labels[] = {"method", "code"};
    metrics_registry *reg = new_reg();
    metrics_family *c = metrics_counter(reg, "http_requests_total", "Requests.", labels, 2);
    metrics_family *idle = metrics_counter(reg, "idle_total", "Never used.", labels, 2);

    (void)state;
    assert_non_null(c);
    assert_non_null(idle);
    metrics_inc(c, (const char *const[]){"GET", "200"}, 1);
    metrics_inc(c, (const char *const[]){"POST", "201"}, 2);
    metrics_inc(c, (const char *const[]){"GET", "200"}, 41);
    metrics_inc(c, (const char *const[]){"GET", NULL}, 1);
    assert_render(reg, "# HELP http_requests_total Requests.\n"
                       "# TYPE http_requests_total counter\n"
                       "http_requests_total{method=\"GET\",code=\"200\"} 42\n"
                       "http_requests_total{method=\"POST\",code=\"201\"} 2\n"
                       "http_requests_total{method=\"GET\",code=\"\"} 1\n"
                       "# HELP idle_total Never used.\n"
                       "# TYPE idle_total counter\n");
    metrics_registry_free(reg);
}

static void
test_gauge_set_add(void **state)
{
    static const char *const labels[] = {"status"};
    metrics_registry *reg = new_reg();
    metrics_family *g = metrics_gauge(reg, "queue_depth", "Jobs by status.", labels, 1);
    metrics_family *t = metrics_gauge(reg, "temperature", "", NULL, 0);

    (void)state;
    assert_non_null(g);
    assert_non_null(t);
    metrics_set(g, (const char *const[]){"pending"}, 5);
    metrics_add(g, (const char *const[]){"pending"}, -7.5);
    metrics_add(g, (const char *const[]){"running"}, 3);
    metrics_inc(g, (const char *const[]){"running"}, 100); /* not a counter: ignored */
    metrics_set(t, NULL, 0.1);
    assert_render(reg, "# HELP queue_depth Jobs by status.\n"
                       "# TYPE queue_depth gauge\n"
                       "queue_depth{status=\"pending\"} -2.5\n"
                       "queue_depth{status=\"running\"} 3\n"
                       "# HELP temperature \n"
                       "# TYPE temperature gauge\n"
                       "temperature 0.1\n");
    metrics_registry_free(reg);
}

static void
test_number_format(void **state)
{
    static const struct {
        double v;
        const char *want;
    } cases[] = {
        {42, "42"},
        {-3, "-3"},
        {-0.0, "0"},
        {9007199254740991.0, "9007199254740991"},
        {1e20, "1e+20"},
        {0.005, "0.005"},
        {1.0 / 3.0, "0.3333333333333333"},
        {0.1 + 0.2, "0.30000000000000004"},
        {1e-7, "1e-07"},
        {INFINITY, "+Inf"},
        {-INFINITY, "-Inf"},
        {NAN, "NaN"},
    };
    metrics_registry *reg = new_reg();
    metrics_family *g = metrics_gauge(reg, "g", "h", NULL, 0);
    char want[128];

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        metrics_set(g, NULL, cases[i].v);
        snprintf(want, sizeof(want), "# HELP g h\n# TYPE g gauge\ng %s\n", cases[i].want);
        assert_render(reg, want);
    }
    metrics_registry_free(reg);
}

static void
test_histogram(void **state)
{
    static const char *const labels[] = {"route"};
    static const double bounds[] = {0.125, 0.5, 1};
    metrics_registry *reg = new_reg();
    metrics_family *h = metrics_histogram(reg, "d_seconds", "Durations.", labels, 1, bounds, 3);

    (void)state;
    assert_non_null(h);
    metrics_observe(h, (const char *const[]){"/a"}, 0.0625);
    metrics_observe(h, (const char *const[]){"/a"}, 0.5); /* le is inclusive */
    metrics_observe(h, (const char *const[]){"/a"}, 0.25);
    metrics_observe(h, (const char *const[]){"/a"}, 2);
    metrics_observe(h, (const char *const[]){"/a"}, NAN); /* ignored */
    metrics_observe(h, (const char *const[]){"/b"}, 1);
    assert_render(reg, "# HELP d_seconds Durations.\n"
                       "# TYPE d_seconds histogram\n"
                       "d_seconds_bucket{route=\"/a\",le=\"0.125\"} 1\n"
                       "d_seconds_bucket{route=\"/a\",le=\"0.5\"} 3\n"
                       "d_seconds_bucket{route=\"/a\",le=\"1\"} 3\n"
                       "d_seconds_bucket{route=\"/a\",le=\"+Inf\"} 4\n"
                       "d_seconds_sum{route=\"/a\"} 2.8125\n"
                       "d_seconds_count{route=\"/a\"} 4\n"
                       "d_seconds_bucket{route=\"/b\",le=\"0.125\"} 0\n"
                       "d_seconds_bucket{route=\"/b\",le=\"0.5\"} 0\n"
                       "d_seconds_bucket{route=\"/b\",le=\"1\"} 1\n"
                       "d_seconds_bucket{route=\"/b\",le=\"+Inf\"} 1\n"
                       "d_seconds_sum{route=\"/b\"} 1\n"
                       "d_seconds_count{route=\"/b\"} 1\n");
    metrics_registry_free(reg);
}

static void
test_histogram_default_buckets(void **state)
{
    metrics_registry *reg = new_reg();
    metrics_family *h = metrics_histogram(reg, "lat", "Latency.", NULL, 0, NULL, 0);
    char *out;

    (void)state;
    assert_non_null(h);
    assert_int_equal(metrics_default_nbuckets, 14);
    assert_true(metrics_default_buckets[0] == 0.0005);
    assert_true(metrics_default_buckets[13] == 10);
    metrics_observe(h, NULL, 0.003);
    metrics_observe(h, NULL, 20);
    out = render(reg);
    assert_non_null(strstr(out, "# TYPE lat histogram\nlat_bucket{le=\"0.0005\"} 0\n"
                                "lat_bucket{le=\"0.001\"} 0\nlat_bucket{le=\"0.0025\"} 0\n"
                                "lat_bucket{le=\"0.005\"} 1\n"));
    assert_non_null(strstr(out, "lat_bucket{le=\"10\"} 1\nlat_bucket{le=\"+Inf\"} 2\n"
                                "lat_sum 20.003\nlat_count 2\n"));
    free(out);
    metrics_registry_free(reg);
}

static void
test_escaping(void **state)
{
    static const char *const labels[] = {"v"};
    metrics_registry *reg = new_reg();
    metrics_family *c = metrics_counter(reg, "esc_total", "a \"quoted\"\nback\\slash", labels, 1);

    (void)state;
    assert_non_null(c);
    metrics_inc(c, (const char *const[]){"a\"b\\c\nd"}, 1);
    assert_render(reg, "# HELP esc_total a \"quoted\"\\nback\\\\slash\n"
                       "# TYPE esc_total counter\n"
                       "esc_total{v=\"a\\\"b\\\\c\\nd\"} 1\n");
    metrics_registry_free(reg);
}

static void
test_invalid_names(void **state)
{
    static const char *const bad_metric[] = {"", "1abc", "a-b", "a b", "é", "a.b"};
    static const char *const bad_label[] = {"", "1a", "a:b", "__x", "a-b"};
    static const double decreasing[] = {1, 0.5};
    static const double equal[] = {1, 1};
    static const double infinite[] = {1, INFINITY};
    double many[METRICS_MAX_BUCKETS + 1];
    char long_name[METRICS_MAX_NAME + 2];
    metrics_registry *reg = new_reg();

    (void)state;
    for (size_t i = 0; i < sizeof(bad_metric) / sizeof(bad_metric[0]); i++)
        assert_null(metrics_counter(reg, bad_metric[i], "h", NULL, 0));
    assert_null(metrics_gauge(reg, NULL, "h", NULL, 0));
    for (size_t i = 0; i < sizeof(bad_label) / sizeof(bad_label[0]); i++)
        assert_null(metrics_counter(reg, "c_total", "h", (const char *const[]){bad_label[i]}, 1));
    assert_null(metrics_counter(reg, "c_total", "h", (const char *const[]){NULL}, 1));
    assert_null(metrics_counter(reg, "c_total", "h", NULL, 1));
    assert_null(metrics_counter(reg, "c_total", "h", (const char *const[]){"a", "a"}, 2));
    assert_null(metrics_counter(reg, "c_total", "h",
                                (const char *const[]){"a", "b", "c", "d", "e", "f", "g"}, 7));
    assert_null(metrics_histogram(reg, "h", "h", (const char *const[]){"le"}, 1, NULL, 0));
    assert_null(metrics_histogram(reg, "h", "h", NULL, 0, decreasing, 2));
    assert_null(metrics_histogram(reg, "h", "h", NULL, 0, equal, 2));
    assert_null(metrics_histogram(reg, "h", "h", NULL, 0, infinite, 2));
    for (size_t i = 0; i <= METRICS_MAX_BUCKETS; i++)
        many[i] = (double)i;
    assert_null(metrics_histogram(reg, "h", "h", NULL, 0, many, METRICS_MAX_BUCKETS + 1));
    memset(long_name, 'a', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    assert_null(metrics_gauge(reg, long_name, "h", NULL, 0));
    assert_render(reg, ""); /* nothing was registered */

    /* Valid edge cases. */
    assert_non_null(metrics_gauge(reg, "ns:sub_metric", "h", NULL, 0));
    assert_non_null(metrics_gauge(reg, "_x", "h", (const char *const[]){"_y", "le"}, 2));
    assert_non_null(metrics_histogram(reg, "h", "h", NULL, 0, many, METRICS_MAX_BUCKETS));
    long_name[METRICS_MAX_NAME] = '\0';
    assert_non_null(metrics_gauge(reg, long_name, "h", NULL, 0));
    metrics_registry_free(reg);
}

static void
test_duplicates(void **state)
{
    metrics_registry *reg = new_reg();
    metrics_family *c = metrics_counter(reg, "x_total", "first", NULL, 0);
    char *out;

    (void)state;
    assert_non_null(c);
    assert_null(metrics_counter(reg, "x_total", "again", NULL, 0));
    assert_null(metrics_gauge(reg, "x_total", "as a gauge", NULL, 0));
    assert_non_null(metrics_histogram(reg, "lat", "h", NULL, 0, NULL, 0));
    assert_null(metrics_counter(reg, "lat_count", "taken by the histogram", NULL, 0));
    assert_null(metrics_gauge(reg, "lat_bucket", "taken by the histogram", NULL, 0));
    assert_non_null(metrics_gauge(reg, "lat_other", "free", NULL, 0));
    assert_non_null(metrics_counter(reg, "y_sum", "h", NULL, 0));
    assert_null(metrics_histogram(reg, "y", "would own y_sum", NULL, 0, NULL, 0));
    metrics_inc(c, NULL, 7);
    out = render(reg);
    assert_true(sample_value(out, "x_total") == 7);
    assert_null(strstr(out, "again"));
    free(out);
    metrics_registry_free(reg);
}

static void
test_registry_full(void **state)
{
    metrics_registry *reg = new_reg();
    char name[32];

    (void)state;
    for (int i = 0; i < 128; i++) {
        snprintf(name, sizeof(name), "g%d", i);
        assert_non_null(metrics_gauge(reg, name, "h", NULL, 0));
    }
    assert_null(metrics_gauge(reg, "one_more", "h", NULL, 0));
    metrics_registry_free(reg);
}

static void
test_overflow_series(void **state)
{
    static const char *const labels[] = {"id", "kind"};
    metrics_registry *reg = new_reg();
    metrics_family *c = metrics_counter(reg, "c_total", "h", labels, 2);
    char id[32], *out;
    size_t lines = 0;

    (void)state;
    assert_non_null(c);
    for (int i = 0; i < METRICS_MAX_SERIES; i++) {
        snprintf(id, sizeof(id), "%d", i);
        metrics_inc(c, (const char *const[]){id, "k"}, 1);
    }
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof(id), "new%d", i);
        metrics_inc(c, (const char *const[]){id, "k"}, 1);
    }
    metrics_inc(c, (const char *const[]){"0", "k"}, 1); /* existing series still count */
    out = render(reg);
    for (const char *p = out; (p = strstr(p, "\nc_total{")) != NULL; p++)
        lines++;
    assert_int_equal(lines, METRICS_MAX_SERIES + 1);
    assert_true(sample_value(out, "c_total{id=\"_overflow\",kind=\"_overflow\"}") == 3);
    assert_true(sample_value(out, "c_total{id=\"0\",kind=\"k\"}") == 2);
    assert_true(sample_value(out, "c_total{id=\"1999\",kind=\"k\"}") == 1);
    assert_null(strstr(out, "new0"));
    free(out);
    metrics_registry_free(reg);
}

enum { NTHREADS = 4, NITER = 50000 };

typedef struct worker_ctx {
    metrics_family *c, *plain, *h, *g;
} worker_ctx;

static void *
worker(void *arg)
{
    const worker_ctx *w = arg;

    for (int i = 0; i < NITER; i++) {
        metrics_inc(w->c, (const char *const[]){i % 2 ? "odd" : "even"}, 1);
        metrics_inc(w->plain, NULL, 0.5);
        metrics_observe(w->h, NULL, 0.25);
        metrics_add(w->g, NULL, 1);
    }
    return NULL;
}

static void
test_concurrent_updates(void **state)
{
    static const char *const labels[] = {"parity"};
    metrics_registry *reg = new_reg();
    worker_ctx w = {
        .c = metrics_counter(reg, "c_total", "h", labels, 1),
        .plain = metrics_counter(reg, "p_total", "h", NULL, 0),
        .h = metrics_histogram(reg, "h", "h", NULL, 0, NULL, 0),
        .g = metrics_gauge(reg, "g", "h", NULL, 0),
    };
    pthread_t th[NTHREADS];
    char *out;

    (void)state;
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, worker, &w), 0);
    /* Render while the workers run: it must not race with them. */
    for (int i = 0; i < 20; i++)
        free(render(reg));
    for (int i = 0; i < NTHREADS; i++)
        assert_int_equal(pthread_join(th[i], NULL), 0);
    out = render(reg);
    assert_true(sample_value(out, "c_total{parity=\"even\"}") == NTHREADS * NITER / 2);
    assert_true(sample_value(out, "c_total{parity=\"odd\"}") == NTHREADS * NITER / 2);
    assert_true(sample_value(out, "p_total") == NTHREADS * NITER * 0.5);
    assert_true(sample_value(out, "h_count") == NTHREADS * NITER);
    assert_true(sample_value(out, "h_bucket{le=\"0.25\"}") == NTHREADS * NITER);
    assert_true(sample_value(out, "h_bucket{le=\"0.1\"}") == 0);
    assert_true(sample_value(out, "h_sum") == NTHREADS * NITER * 0.25);
    assert_true(sample_value(out, "g") == NTHREADS * NITER);
    free(out);
    metrics_registry_free(reg);
}

typedef struct collect_ctx {
    metrics_family *g;
    int calls;
    char order[16];
    size_t norder;
} collect_ctx;

static void
note_call(collect_ctx *c, char who)
{
    if (c->norder + 1 < sizeof(c->order))
        c->order[c->norder++] = who;
}

static void
collect_a(metrics_registry *reg, void *ud)
{
    collect_ctx *c = ud;

    (void)reg;
    c->calls++;
    metrics_set(c->g, NULL, c->calls * 10);
    note_call(c, 'a');
}

static void
collect_b(metrics_registry *reg, void *ud)
{
    collect_ctx *c = ud;

    (void)reg;
    note_call(c, 'b');
}

static void
test_collect_callbacks(void **state)
{
    metrics_registry *reg = new_reg();
    collect_ctx c = {.g = metrics_gauge(reg, "computed", "Set at render.", NULL, 0)};

    (void)state;
    assert_int_equal(metrics_on_collect(reg, collect_a, &c), 0);
    assert_int_equal(metrics_on_collect(reg, collect_b, &c), 0);
    assert_render(reg, "# HELP computed Set at render.\n# TYPE computed gauge\ncomputed 10\n");
    assert_render(reg, "# HELP computed Set at render.\n# TYPE computed gauge\ncomputed 20\n");
    assert_string_equal(c.order, "abab");
    for (int i = 2; i < 8; i++)
        assert_int_equal(metrics_on_collect(reg, collect_b, &c), 0);
    assert_int_equal(metrics_on_collect(reg, collect_b, &c), -1);
    assert_int_equal(metrics_on_collect(reg, NULL, NULL), -1);
    metrics_registry_free(reg);
}

static void
test_process_metrics(void **state)
{
    metrics_registry *reg = new_reg();
    volatile double spin = 0;
    char *out;
    double start;

    (void)state;
    assert_int_equal(metrics_register_process(reg), 0);
    assert_int_equal(metrics_register_process(reg), -1); /* already registered */
    /* Burn some CPU so process_cpu_seconds_total is above zero. */
    for (clock_t t0 = clock(); clock() - t0 < CLOCKS_PER_SEC / 20;)
        spin += 1;
    out = render(reg);
    assert_non_null(strstr(out, "# TYPE process_resident_memory_bytes gauge\n"));
    assert_non_null(strstr(out, "# TYPE process_cpu_seconds_total counter\n"));
    assert_non_null(strstr(out, "# TYPE process_start_time_seconds gauge\n"));
    assert_non_null(strstr(out, "# TYPE process_open_fds gauge\n"));
    assert_true(sample_value(out, "process_resident_memory_bytes") > 1024 * 1024);
    assert_true(sample_value(out, "process_cpu_seconds_total") > 0);
    assert_true(sample_value(out, "process_open_fds") > 0);
    start = sample_value(out, "process_start_time_seconds");
    assert_true(start > 1.5e9);
    assert_true(start <= (double)time(NULL) + 1);
    assert_true(start > (double)time(NULL) - 3600);
    free(out);
    metrics_registry_free(reg);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_empty_registry),
        cmocka_unit_test(test_counter_without_labels),
        cmocka_unit_test(test_counter_with_labels),
        cmocka_unit_test(test_gauge_set_add),
        cmocka_unit_test(test_number_format),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_histogram_default_buckets),
        cmocka_unit_test(test_escaping),
        cmocka_unit_test(test_invalid_names),
        cmocka_unit_test(test_duplicates),
        cmocka_unit_test(test_registry_full),
        cmocka_unit_test(test_overflow_series),
        cmocka_unit_test(test_concurrent_updates),
        cmocka_unit_test(test_collect_callbacks),
        cmocka_unit_test(test_process_metrics),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
