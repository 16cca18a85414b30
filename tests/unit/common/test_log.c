/* Unit tests for common/src/log.c: output is captured in a memfd through
 * log_set_fd() (tl_log_capture) and every line is parsed back with json-c. */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
/* cmocka.h needs stdarg.h, stddef.h, stdint.h and setjmp.h first. */
#include <cmocka.h>
#include <json-c/json.h>

#include "log.h"
#include "testlib.h"
#include "util.h"

static bool
has_field(json_object *o, const char *key)
{
    return json_object_object_get_ex(o, key, NULL);
}

static void
check_keys(json_object *o, const char *const *want)
{
    size_t i = 0;

    json_object_object_foreach(o, key, val)
    {
        (void)val;
        assert_non_null(want[i]);
        assert_string_equal(key, want[i]);
        i++;
    }
    assert_null(want[i]);
}

static void
test_line_shape(void **state)
{
    (void)state;
    char *raw;
    struct timespec ts;
    static const char *const keys[] = {"ts", "level", "service", "msg", NULL};

    log_info("listening on port %d", 8080);
    json_object *o = tl_log_only_line(tl_log_fd, &raw);
    assert_memory_equal(raw, "{\"ts\":\"", 7);
    check_keys(o, keys);
    const char *t = tl_jstr(o, "ts", NULL);
    assert_int_equal(strlen(t), UTIL_RFC3339_LEN);
    assert_int_equal(util_rfc3339_parse(t, &ts), 0);
    assert_true(llabs((int64_t)ts.tv_sec - (int64_t)time(NULL)) <= 2);
    assert_string_equal(tl_jstr(o, "level", NULL), "info");
    assert_string_equal(tl_jstr(o, "service", NULL), "svc-toast");
    assert_string_equal(tl_jstr(o, "msg", NULL), "listening on port 8080");
    assert_null(strstr(raw, "truncated"));
    json_object_put(o);
    free(raw);

    log_debug("d");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "level", NULL), "debug");
    json_object_put(o);
    log_warn("w");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "level", NULL), "warn");
    json_object_put(o);
    log_error("e");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "level", NULL), "error");
    json_object_put(o);
}

static void
test_fields(void **state)
{
    (void)state;
    static const char *const keys[] = {"ts",      "level", "service", "msg",  "integration_id",
                                       "neg",     "big",   "tenth",   "huge", "negzero",
                                       "nan",     "inf",   "ninf",    "yes",  "no",
                                       "nullstr", NULL};
    json_object *v;

    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("integration_id", "abc"), LF_INT("neg", -42),
                       LF_INT("big", 9223372036854775807LL), LF_DOUBLE("tenth", 0.1),
                       LF_DOUBLE("huge", 1e300), LF_DOUBLE("negzero", -0.0), LF_DOUBLE("nan", NAN),
                       LF_DOUBLE("inf", INFINITY), LF_DOUBLE("ninf", -INFINITY),
                       LF_BOOL("yes", true), LF_BOOL("no", false), LF_STR("nullstr", NULL)),
            "health check done");
    json_object *o = tl_log_only_line(tl_log_fd, NULL);
    check_keys(o, keys);
    assert_string_equal(tl_jstr(o, "integration_id", NULL), "abc");
    assert_true(json_object_object_get_ex(o, "neg", &v));
    assert_true(json_object_is_type(v, json_type_int));
    assert_int_equal(json_object_get_int64(v), -42);
    assert_true(json_object_object_get_ex(o, "big", &v));
    assert_true(json_object_get_int64(v) == INT64_MAX);
    assert_true(json_object_object_get_ex(o, "tenth", &v));
    assert_true(json_object_is_type(v, json_type_double));
    assert_true(json_object_get_double(v) == 0.1);
    assert_string_equal(json_object_to_json_string(v), "0.1"); /* shortest form */
    assert_true(json_object_object_get_ex(o, "huge", &v));
    assert_true(json_object_get_double(v) == 1e300);
    assert_true(json_object_object_get_ex(o, "negzero", &v));
    assert_true(json_object_get_double(v) == 0.0);
    static const char *const nulls[] = {"nan", "inf", "ninf", "nullstr"};
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++) {
        assert_true(json_object_object_get_ex(o, nulls[i], &v));
        assert_null(v); /* JSON null */
    }
    assert_true(json_object_object_get_ex(o, "yes", &v));
    assert_true(json_object_is_type(v, json_type_boolean) && json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(o, "no", &v));
    assert_true(json_object_is_type(v, json_type_boolean) && !json_object_get_boolean(v));
    json_object_put(o);

    /* A double that needs 17 digits still reads back exactly. */
    double third = 1.0 / 3.0;
    log_msg(LOGL_INFO, LOG_FIELDS(LF_DOUBLE("third", third)), "x");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_true(json_object_object_get_ex(o, "third", &v));
    assert_true(json_object_get_double(v) == third);
    json_object_put(o);

    /* A NULL field list and a key needing escapes. */
    log_msg(LOGL_INFO, NULL, "no fields");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_int_equal(json_object_object_length(o), 4);
    json_object_put(o);
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("we\"ird\nkey", "v\"al")), "x");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "we\"ird\nkey", NULL), "v\"al");
    json_object_put(o);
}

static void
test_redaction(void **state)
{
    (void)state;
    static const char *const secret_keys[] = {
        "password",
        "DB_PASSWORD",
        "passwd",
        "client_secret",
        "refresh_token",
        "Authorization",
        "api_key",
        "X-API-KEY",
        "apiKey",
        "credentials",
        "session_cookie",
        "TOKEN",
        "a_very_long_field_name_that_is_longer_than_sixty_four_bytes_password",
        NULL,
    };
    char *raw;

    for (size_t i = 0; secret_keys[i] != NULL; i++) {
        log_msg(LOGL_INFO,
                LOG_FIELDS(LF_STR(secret_keys[i], "hunter2-SECRET-VALUE"), LF_STR("user", "alice")),
                "login");
        json_object *o = tl_log_only_line(tl_log_fd, &raw);
        assert_string_equal(tl_jstr(o, secret_keys[i], NULL), "[redacted]");
        assert_string_equal(tl_jstr(o, "user", NULL), "alice");
        assert_null(strstr(raw, "hunter2"));
        json_object_put(o);
        free(raw);
    }

    /* Whatever the type of the value. */
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_INT("access_tokens", 31337), LF_DOUBLE("client_secret", 0.25),
                       LF_BOOL("has_password", true), LF_STR("user_token", NULL)),
            "x");
    json_object *o = tl_log_only_line(tl_log_fd, &raw);
    assert_string_equal(tl_jstr(o, "access_tokens", NULL), "[redacted]");
    assert_string_equal(tl_jstr(o, "client_secret", NULL), "[redacted]");
    assert_string_equal(tl_jstr(o, "has_password", NULL), "[redacted]");
    assert_string_equal(tl_jstr(o, "user_token", NULL), "[redacted]");
    assert_null(strstr(raw, "31337"));
    json_object_put(o);
    free(raw);

    /* Presence fields say whether a secret is set, never what it is. */
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_PRESENCE("INTERNAL_TOKEN", true), LF_PRESENCE("JWT_SECRET", false)),
            "configuration");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "INTERNAL_TOKEN", NULL), "[set]");
    assert_string_equal(tl_jstr(o, "JWT_SECRET", NULL), "[unset]");
    json_object_put(o);

    /* Lookalikes that are not secrets are kept, and so are figures about
     * secrets (an embedding provider's token usage). */
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("pass", "p"), LF_STR("tok", "t"), LF_STR("key", "k"),
                       LF_INT("token_count", 7), LF_INT("tokens_used", 8)),
            "x");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "pass", NULL), "p");
    assert_string_equal(tl_jstr(o, "tok", NULL), "t");
    assert_string_equal(tl_jstr(o, "key", NULL), "k");
    assert_int_equal(json_object_get_int(json_object_object_get(o, "token_count")), 7);
    assert_int_equal(json_object_get_int(json_object_object_get(o, "tokens_used")), 8);
    json_object_put(o);
}

static void
test_level_filter(void **state)
{
    (void)state;
    size_t len;

    log_set_level(LOGL_WARN);
    assert_false(log_enabled(LOGL_DEBUG));
    assert_false(log_enabled(LOGL_INFO));
    assert_true(log_enabled(LOGL_WARN));
    assert_true(log_enabled(LOGL_ERROR));
    log_debug("hidden");
    log_info("hidden");
    free(tl_log_take(tl_log_fd, &len));
    assert_int_equal(len, 0);
    log_warn("shown");
    json_object *o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "msg", NULL), "shown");
    json_object_put(o);

    log_set_level(LOGL_ERROR);
    log_warn("hidden");
    log_error("shown");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "level", NULL), "error");
    json_object_put(o);

    log_set_level(LOGL_DEBUG);
    assert_true(log_enabled(LOGL_DEBUG));
    log_debug("shown");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "level", NULL), "debug");
    json_object_put(o);
}

static void
test_level_parse(void **state)
{
    (void)state;
    log_level l = LOGL_ERROR;

    assert_int_equal(log_level_parse("debug", &l), 0);
    assert_int_equal(l, LOGL_DEBUG);
    assert_int_equal(log_level_parse("INFO", &l), 0);
    assert_int_equal(l, LOGL_INFO);
    assert_int_equal(log_level_parse("Warn", &l), 0);
    assert_int_equal(l, LOGL_WARN);
    assert_int_equal(log_level_parse("error", &l), 0);
    assert_int_equal(l, LOGL_ERROR);
    l = LOGL_INFO;
    assert_int_equal(log_level_parse("warning", &l), -1);
    assert_int_equal(log_level_parse("", &l), -1);
    assert_int_equal(log_level_parse("info ", &l), -1);
    assert_int_equal(log_level_parse("trace", &l), -1);
    assert_int_equal(log_level_parse(NULL, &l), -1);
    assert_int_equal(log_level_parse("info", NULL), -1);
    assert_int_equal(l, LOGL_INFO);
}

static void
test_request_id(void **state)
{
    (void)state;
    static const char *const keys[] = {"ts", "level", "service", "msg", "request_id", "k", NULL};
    char long_id[300];

    assert_non_null(log_request_id());
    assert_string_equal(log_request_id(), "");
    log_set_request_id("req-123");
    assert_string_equal(log_request_id(), "req-123");
    log_msg(LOGL_INFO, LOG_FIELDS(LF_INT("k", 1)), "with id");
    json_object *o = tl_log_only_line(tl_log_fd, NULL);
    check_keys(o, keys);
    assert_string_equal(tl_jstr(o, "request_id", NULL), "req-123");
    json_object_put(o);

    log_set_request_id("");
    assert_string_equal(log_request_id(), "");
    log_info("no id");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_false(has_field(o, "request_id"));
    json_object_put(o);

    log_set_request_id("x\"y");
    log_info("escaped id");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "request_id", NULL), "x\"y");
    json_object_put(o);

    memset(long_id, 'r', sizeof(long_id) - 1);
    long_id[sizeof(long_id) - 1] = '\0';
    log_set_request_id(long_id);
    assert_int_equal(strlen(log_request_id()), 128);
    log_set_request_id(NULL);
    assert_string_equal(log_request_id(), "");
    log_info("cleared");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_false(has_field(o, "request_id"));
    json_object_put(o);
}

enum { LINES_PER_THREAD = 200 };
static pthread_barrier_t barrier;

static void *
thread_logger(void *arg)
{
    const char *name = arg;
    char id[32];

    snprintf(id, sizeof(id), "req-%s", name);
    log_set_request_id(id);
    /* Both threads have set their id before either logs. */
    pthread_barrier_wait(&barrier);
    for (int i = 0; i < LINES_PER_THREAD; i++)
        log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("thread", name), LF_INT("i", i)), "tick %d", i);
    return NULL;
}

static void request_id_per_thread(void);

static void
test_request_id_per_thread(void **state)
{
    (void)state;
    request_id_per_thread();
}

/* Into a file opened for appending short lines go out under the shared lock:
 * they still arrive whole, one per line. */
static void
test_appended_lines_stay_whole(void **state)
{
    (void)state;
    int fl = fcntl(tl_log_fd, F_GETFL);

    assert_int_equal(fcntl(tl_log_fd, F_SETFL, fl | O_APPEND), 0);
    log_set_fd(tl_log_fd);
    request_id_per_thread();
    assert_int_equal(fcntl(tl_log_fd, F_SETFL, fl), 0);
    log_set_fd(tl_log_fd);
}

static void
request_id_per_thread(void)
{
    pthread_t a, b;
    int count_a = 0, count_b = 0;
    size_t len;

    log_set_request_id("req-main");
    assert_int_equal(pthread_barrier_init(&barrier, NULL, 2), 0);
    assert_int_equal(pthread_create(&a, NULL, thread_logger, "A"), 0);
    assert_int_equal(pthread_create(&b, NULL, thread_logger, "B"), 0);
    pthread_join(a, NULL);
    pthread_join(b, NULL);
    pthread_barrier_destroy(&barrier);
    assert_string_equal(log_request_id(), "req-main");

    char *out = tl_log_take(tl_log_fd, &len);
    char *line = out;
    for (char *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
        json_object *o = tl_json_line(line, (size_t)(nl - line));
        const char *t = tl_jstr(o, "thread", NULL);
        char want[32];
        snprintf(want, sizeof(want), "req-%s", t);
        assert_string_equal(tl_jstr(o, "request_id", NULL), want);
        if (strcmp(t, "A") == 0)
            count_a++;
        else
            count_b++;
        json_object_put(o);
    }
    assert_int_equal(*line, '\0'); /* nothing after the last newline */
    assert_int_equal(count_a, LINES_PER_THREAD);
    assert_int_equal(count_b, LINES_PER_THREAD);
    free(out);
}

static void
test_message_escaping(void **state)
{
    (void)state;
    const char msg[] =
        "q\" b\\ n\n t\t r\r b\b f\f c\x01 e\x1f del\x7f slash/ \xc3\xa9 \xe2\x82\xac "
        "\xf0\x9f\x98\x80";

    log_info("%s", msg);
    json_object *o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "msg", NULL), msg);
    json_object_put(o);

    /* Invalid UTF-8 becomes U+FFFD, one per bad byte. */
    log_info("a\xff"
             "b \xc0\x80 \xed\xa0\x80 \xe2\x82");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "msg", NULL), "a\xef\xbf\xbd"
                                                 "b \xef\xbf\xbd\xef\xbf\xbd "
                                                 "\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd "
                                                 "\xef\xbf\xbd\xef\xbf\xbd");
    json_object_put(o);
}

static void
test_json_escape(void **state)
{
    (void)state;
    char buf[64];

    assert_int_equal(log_json_escape(buf, sizeof(buf), "a\"b\\c"), 7);
    assert_string_equal(buf, "a\\\"b\\\\c");
    assert_int_equal(log_json_escape(buf, sizeof(buf), "\n\r\t\b\f"), 10);
    assert_string_equal(buf, "\\n\\r\\t\\b\\f");
    assert_int_equal(log_json_escape(buf, sizeof(buf), "\x01\x1f"), 12);
    assert_string_equal(buf, "\\u0001\\u001f");
    assert_int_equal(log_json_escape(buf, sizeof(buf), "\x7f/\xc3\xa9"), 4);
    assert_string_equal(buf, "\x7f/\xc3\xa9");
    assert_int_equal(log_json_escape(buf, sizeof(buf), "\xc3"), 3);
    assert_string_equal(buf, "\xef\xbf\xbd");
    assert_int_equal(log_json_escape(buf, sizeof(buf), NULL), 0);
    assert_string_equal(buf, "");

    /* Bounds: never split an escape or a character, always terminate. */
    buf[0] = 'z';
    assert_int_equal(log_json_escape(buf, 0, "abc"), 0);
    assert_int_equal(buf[0], 'z');
    assert_int_equal(log_json_escape(buf, 1, "abc"), 0);
    assert_string_equal(buf, "");
    assert_int_equal(log_json_escape(buf, 3, "abc"), 2);
    assert_string_equal(buf, "ab");
    assert_int_equal(log_json_escape(buf, 2, "\"x"), 0);
    assert_string_equal(buf, "");
    assert_int_equal(log_json_escape(buf, 3, "\"x"), 2);
    assert_string_equal(buf, "\\\"");
    assert_int_equal(log_json_escape(buf, 6, "\x01"), 0);
    assert_int_equal(log_json_escape(buf, 7, "\x01"), 6);
    assert_int_equal(log_json_escape(buf, 5, "ab\xe2\x82\xac"), 2);
    assert_string_equal(buf, "ab");
    assert_int_equal(log_json_escape(buf, 6, "ab\xe2\x82\xac"), 5);
    assert_string_equal(buf, "ab\xe2\x82\xac");
    assert_int_equal(log_json_escape(buf, 4, "\xff"), 3);
    assert_int_equal(log_json_escape(buf, 3, "\xff"), 0);
}

/* For every capacity, the output is a prefix of the full output that is
 * itself a complete JSON string body. */
static void
test_json_escape_every_cap(void **state)
{
    (void)state;
    const char src[] = "a\"\\\n\x01\xc3\xa9\xff\xe2\x82\xac\xf0\x9f\x98\x80z";
    char full[128], part[128], quoted[140];
    size_t full_len = log_json_escape(full, sizeof(full), src);

    for (size_t cap = 1; cap <= full_len + 1; cap++) {
        size_t n = log_json_escape(part, cap, src);
        assert_true(n < cap);
        assert_int_equal(strlen(part), n);
        assert_memory_equal(part, full, n);
        snprintf(quoted, sizeof(quoted), "\"%s\"", part);
        json_object *o = json_tokener_parse(quoted);
        if (!json_object_is_type(o, json_type_string))
            fail_msg("cap %zu gave a bad string body: %s", cap, part);
        json_object_put(o);
    }
    assert_int_equal(log_json_escape(part, full_len + 1, src), full_len);
}

static void
test_message_truncated(void **state)
{
    (void)state;
    char big[3000];

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    log_info("%s", big);
    json_object *o = tl_log_only_line(tl_log_fd, NULL);
    assert_int_equal(strlen(tl_jstr(o, "msg", NULL)), 2047);
    json_object *v;
    assert_true(json_object_object_get_ex(o, "truncated", &v));
    assert_true(json_object_get_boolean(v));
    json_object_put(o);

    /* Short enough: no marker. */
    big[2047] = '\0';
    log_info("%s", big);
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_int_equal(strlen(tl_jstr(o, "msg", NULL)), 2047);
    assert_false(has_field(o, "truncated"));
    json_object_put(o);
}

static void
test_line_truncated(void **state)
{
    (void)state;
    char ctl[2001];
    static char big_value[10000];
    json_object *v;
    size_t len;

    /* 2000 control characters escape to 12000 bytes: more than a line. */
    memset(ctl, '\x01', sizeof(ctl) - 1);
    ctl[sizeof(ctl) - 1] = '\0';
    memset(big_value, 'v', sizeof(big_value) - 1);
    log_set_request_id("req-kept");
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("big", big_value), LF_INT("after", 7)), "%s", ctl);
    char *raw = tl_log_take(tl_log_fd, &len);
    assert_true(len <= 8192);
    assert_true(len > 7000);
    json_object *o = tl_json_line(raw, len - 1);
    const char *m = tl_jstr(o, "msg", NULL);
    assert_true(strlen(m) > 100 && strlen(m) < 2000);
    assert_int_equal(strspn(m, "\x01"), strlen(m));
    assert_string_equal(tl_jstr(o, "request_id", NULL), "req-kept");
    assert_true(json_object_object_get_ex(o, "truncated", &v));
    assert_true(json_object_get_boolean(v));
    json_object_put(o);
    free(raw);

    /* A huge field value is cut, and what follows still makes a valid line. */
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("big", big_value), LF_INT("after", 7)), "short");
    raw = tl_log_take(tl_log_fd, &len);
    assert_true(len <= 8192 && len >= 8150);
    o = tl_json_line(raw, len - 1);
    assert_string_equal(tl_jstr(o, "msg", NULL), "short");
    const char *b = tl_jstr(o, "big", NULL);
    assert_true(strlen(b) > 7000);
    assert_int_equal(strspn(b, "v"), strlen(b));
    assert_false(has_field(o, "after"));
    assert_true(json_object_object_get_ex(o, "truncated", &v));
    json_object_put(o);
    free(raw);

    /* Many fields: those that do not fit are left out; only the last one
     * written may be cut. */
    log_field many[301];
    char keys[300][24];
    for (int i = 0; i < 300; i++) {
        snprintf(keys[i], sizeof(keys[i]), "field_%03d", i);
        many[i] = LF_STR(keys[i], "0123456789012345678901234567890123456789");
    }
    many[300] = (log_field){0};
    log_msg(LOGL_INFO, many, "many");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_true(has_field(o, "field_000"));
    assert_false(has_field(o, "field_299"));
    assert_true(json_object_object_get_ex(o, "truncated", &v));
    const char *full = "0123456789012345678901234567890123456789";
    int seen = 0, cut = 0;
    json_object_object_foreach(o, key, val)
    {
        if (strncmp(key, "field_", 6) != 0)
            continue;
        const char *s = json_object_get_string(val);
        assert_int_equal(strncmp(s, full, strlen(s)), 0);
        if (strcmp(s, full) != 0)
            cut++;
        else
            assert_int_equal(cut, 0); /* nothing whole after a cut value */
        seen++;
    }
    assert_true(seen > 100);
    assert_true(cut <= 1);
    json_object_put(o);
    log_set_request_id(NULL);
}

static void
test_service_and_errno(void **state)
{
    (void)state;
    char long_name[100];

    log_init("svc\"odd", LOGL_DEBUG);
    log_info("x");
    json_object *o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "service", NULL), "svc\"odd");
    json_object_put(o);

    memset(long_name, 's', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';
    log_init(long_name, LOGL_DEBUG);
    log_info("x");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_int_equal(strlen(tl_jstr(o, "service", NULL)), 63);
    json_object_put(o);

    /* Without a name, the program's name. */
    log_init("", LOGL_INFO);
    log_info("x");
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "service", NULL), program_invocation_short_name);
    json_object_put(o);
    log_debug("filtered by log_init's level");
    size_t len;
    free(tl_log_take(tl_log_fd, &len));
    assert_int_equal(len, 0);

    /* Logging does not disturb errno, so it can be logged then tested. */
    errno = EACCES;
    log_error("failed: %s", strerror(errno));
    assert_int_equal(errno, EACCES);
    o = tl_log_only_line(tl_log_fd, NULL);
    assert_string_equal(tl_jstr(o, "msg", NULL), "failed: Permission denied");
    json_object_put(o);
    log_init("svc-toast", LOGL_DEBUG);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_line_shape, tl_log_setup, tl_log_teardown),
        cmocka_unit_test_setup_teardown(test_fields, tl_log_setup, tl_log_teardown),
        cmocka_unit_test_setup_teardown(test_redaction, tl_log_setup, tl_log_teardown),
        cmocka_unit_test_setup_teardown(test_level_filter, tl_log_setup, tl_log_teardown),
        cmocka_unit_test(test_level_parse),
        cmocka_unit_test_setup_teardown(test_request_id, tl_log_setup, tl_log_teardown),
        cmocka_unit_test_setup_teardown(test_request_id_per_thread, tl_log_setup, tl_log_teardown),
        cmocka_unit_test_setup_teardown(test_appended_lines_stay_whole, tl_log_setup,
                                        tl_log_teardown),
        cmocka_unit_test_setup_teardown(test_message_escaping, tl_log_setup, tl_log_teardown),
        cmocka_unit_test(test_json_escape),
        cmocka_unit_test(test_json_escape_every_cap),
        cmocka_unit_test_setup_teardown(test_message_truncated, tl_log_setup, tl_log_teardown),
        cmocka_unit_test_setup_teardown(test_line_truncated, tl_log_setup, tl_log_teardown),
        cmocka_unit_test_setup_teardown(test_service_and_errno, tl_log_setup, tl_log_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
