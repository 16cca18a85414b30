/* Unit tests for common/src/config.c: each test sets the environment it needs
 * and the fixture clears every variable the tests touch. */
#include <sys/mman.h>
#include <sys/stat.h>

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

#include "config.h"
#include "log.h"

static const char *const touched[] = {
    "PORT",      "HTTP_BIND",      "DATABASE_URL", "DB_POOL_SIZE", "NATS_URL",
    "LOG_LEVEL", "INTERNAL_TOKEN", "HTTP_THREADS", "BRAIN_ENV",    "SHUTDOWN_TIMEOUT_S",
    "FEATURE_X", "SECRET_NUM",     "API_SECRET",   NULL,
};

static const cfg_var test_vars[] = {
    {"FEATURE_X", CFG_BOOL, "false", 0, 0, false, "a feature flag"},
    {"SECRET_NUM", CFG_INT, "5", 1, 10, true, "a secret number"},
};

static int log_fd = -1;
static char tmp_path[64];

static void
clear_env(void)
{
    char name[128];

    for (size_t i = 0; touched[i] != NULL; i++) {
        unsetenv(touched[i]);
        snprintf(name, sizeof(name), "%s_FILE", touched[i]);
        unsetenv(name);
    }
}

static int
setup(void **state)
{
    (void)state;
    clear_env();
    log_fd = memfd_create("log-capture", MFD_CLOEXEC);
    if (log_fd < 0)
        return -1;
    log_init("test-config", LOGL_DEBUG);
    log_set_fd(log_fd);
    tmp_path[0] = '\0';
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    clear_env();
    log_set_fd(STDOUT_FILENO);
    close(log_fd);
    if (tmp_path[0] != '\0')
        unlink(tmp_path);
    return 0;
}

/* Write len bytes to a fresh temporary file; its path is in tmp_path. */
static const char *
temp_file(const char *content, size_t len)
{
    if (tmp_path[0] != '\0')
        unlink(tmp_path);
    snprintf(tmp_path, sizeof(tmp_path), "/tmp/test_config_XXXXXX");
    int fd = mkstemp(tmp_path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, content, len), (ssize_t)len);
    close(fd);
    return tmp_path;
}

static char *
take_log(void)
{
    off_t end = lseek(log_fd, 0, SEEK_END);
    char *buf = malloc((size_t)end + 1);

    assert_non_null(buf);
    assert_int_equal(pread(log_fd, buf, (size_t)end, 0), end);
    buf[end] = '\0';
    assert_int_equal(ftruncate(log_fd, 0), 0);
    assert_int_equal(lseek(log_fd, 0, SEEK_SET), 0);
    return buf;
}

static cfg *
common_cfg(void)
{
    cfg *c = cfg_new();

    assert_non_null(c);
    assert_int_equal(cfg_add(c, cfg_common_vars, cfg_common_nvars), 0);
    assert_int_equal(cfg_add(c, test_vars, sizeof(test_vars) / sizeof(test_vars[0])), 0);
    return c;
}

/* cfg_load must fail with exactly this message. */
static void
load_fails(cfg *c, const char *want)
{
    char err[256] = "";

    assert_int_equal(cfg_load(c, err, sizeof(err)), -1);
    assert_string_equal(err, want);
}

static void
load_ok(cfg *c)
{
    char err[256] = "";

    if (cfg_load(c, err, sizeof(err)) != 0)
        fail_msg("cfg_load failed: %s", err);
}

static void
test_common_table(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        cfg_type type;
        const char *def;
        long min, max;
        bool secret;
    } want[] = {
        {"PORT", CFG_INT, "8080", 1, 65535, false},
        {"HTTP_BIND", CFG_STR, "127.0.0.1", 0, 0, false},
        {"DATABASE_URL", CFG_STR, "postgresql://brain@127.0.0.1:5432/brain", 0, 0, true},
        {"DB_POOL_SIZE", CFG_INT, "8", 1, 200, false},
        {"NATS_URL", CFG_STR, "nats://127.0.0.1:4222", 0, 0, true},
        {"LOG_LEVEL", CFG_STR, "info", 0, 0, false},
        {"INTERNAL_TOKEN", CFG_STR, NULL, 0, 0, true},
        {"HTTP_THREADS", CFG_INT, "16", 1, 512, false},
        {"BRAIN_ENV", CFG_STR, "development", 0, 0, false},
        {"SHUTDOWN_TIMEOUT_S", CFG_INT, "20", 1, 600, false},
    };

    assert_int_equal(cfg_common_nvars, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < cfg_common_nvars; i++) {
        const cfg_var *v = &cfg_common_vars[i];
        assert_string_equal(v->name, want[i].name);
        assert_int_equal(v->type, want[i].type);
        if (want[i].def == NULL)
            assert_null(v->def);
        else
            assert_string_equal(v->def, want[i].def);
        if (v->type == CFG_INT) {
            assert_int_equal(v->min, want[i].min);
            assert_int_equal(v->max, want[i].max);
        }
        assert_int_equal(v->secret, want[i].secret);
        assert_non_null(v->help);
        assert_true(strlen(v->help) > 0);
    }
}

static void
test_defaults(void **state)
{
    (void)state;
    cfg *c = common_cfg();

    load_ok(c);
    assert_int_equal(cfg_int(c, "PORT"), 8080);
    assert_string_equal(cfg_str(c, "PORT"), "8080");
    assert_string_equal(cfg_str(c, "HTTP_BIND"), "127.0.0.1");
    assert_string_equal(cfg_str(c, "DATABASE_URL"), "postgresql://brain@127.0.0.1:5432/brain");
    assert_int_equal(cfg_int(c, "DB_POOL_SIZE"), 8);
    assert_string_equal(cfg_str(c, "NATS_URL"), "nats://127.0.0.1:4222");
    assert_string_equal(cfg_str(c, "LOG_LEVEL"), "info");
    assert_null(cfg_str(c, "INTERNAL_TOKEN"));
    assert_int_equal(cfg_int(c, "HTTP_THREADS"), 16);
    assert_string_equal(cfg_str(c, "BRAIN_ENV"), "development");
    assert_int_equal(cfg_int(c, "SHUTDOWN_TIMEOUT_S"), 20);
    assert_false(cfg_bool(c, "FEATURE_X"));
    assert_int_equal(cfg_int(c, "SECRET_NUM"), 5);
    assert_false(cfg_is_set(c, "PORT"));
    assert_false(cfg_is_set(c, "INTERNAL_TOKEN"));
    assert_false(cfg_production(c));
    cfg_free(c);
}

static void
test_env_values(void **state)
{
    (void)state;
    cfg *c = common_cfg();

    setenv("PORT", "9090", 1);
    setenv("HTTP_BIND", "", 1); /* an empty non-secret is a value */
    setenv("LOG_LEVEL", "DEBUG", 1);
    setenv("BRAIN_ENV", "test", 1);
    setenv("INTERNAL_TOKEN", "tok", 1);
    setenv("HTTP_THREADS", "512", 1);
    setenv("DB_POOL_SIZE", "1", 1);
    load_ok(c);
    assert_int_equal(cfg_int(c, "PORT"), 9090);
    assert_true(cfg_is_set(c, "PORT"));
    assert_string_equal(cfg_str(c, "HTTP_BIND"), "");
    assert_true(cfg_is_set(c, "HTTP_BIND"));
    assert_string_equal(cfg_str(c, "LOG_LEVEL"), "DEBUG");
    assert_string_equal(cfg_str(c, "INTERNAL_TOKEN"), "tok");
    assert_true(cfg_is_set(c, "INTERNAL_TOKEN"));
    assert_int_equal(cfg_int(c, "HTTP_THREADS"), 512);
    assert_int_equal(cfg_int(c, "DB_POOL_SIZE"), 1);
    assert_false(cfg_production(c));

    /* A second load sees the environment as it is now. */
    unsetenv("PORT");
    setenv("INTERNAL_TOKEN", "", 1); /* an empty secret is unset */
    load_ok(c);
    assert_int_equal(cfg_int(c, "PORT"), 8080);
    assert_false(cfg_is_set(c, "PORT"));
    assert_null(cfg_str(c, "INTERNAL_TOKEN"));
    assert_false(cfg_is_set(c, "INTERNAL_TOKEN"));
    cfg_free(c);
}

static void
test_int_errors(void **state)
{
    (void)state;
    cfg *c = common_cfg();

    setenv("PORT", "abc", 1);
    load_fails(c, "PORT: must be an integer between 1 and 65535 (got 'abc')");
    setenv("PORT", "0", 1);
    load_fails(c, "PORT: must be an integer between 1 and 65535 (got '0')");
    setenv("PORT", "65536", 1);
    load_fails(c, "PORT: must be an integer between 1 and 65535 (got '65536')");
    setenv("PORT", " 80", 1);
    load_fails(c, "PORT: must be an integer between 1 and 65535 (got ' 80')");
    setenv("PORT", "", 1);
    load_fails(c, "PORT: must be an integer between 1 and 65535 (got '')");
    setenv("PORT", "65535", 1);
    setenv("HTTP_THREADS", "513", 1);
    load_fails(c, "HTTP_THREADS: must be an integer between 1 and 512 (got '513')");
    unsetenv("HTTP_THREADS");
    setenv("SHUTDOWN_TIMEOUT_S", "601", 1);
    load_fails(c, "SHUTDOWN_TIMEOUT_S: must be an integer between 1 and 600 (got '601')");
    unsetenv("SHUTDOWN_TIMEOUT_S");
    load_ok(c);
    assert_int_equal(cfg_int(c, "PORT"), 65535);

    /* A secret's bad value is never echoed. */
    setenv("SECRET_NUM", "hunter2", 1);
    load_fails(c, "SECRET_NUM: must be an integer between 1 and 10");

    /* A long bad value is quoted only in part, and err is always terminated. */
    char small[16];
    setenv("SECRET_NUM", "7", 1);
    setenv("PORT", "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx",
           1);
    assert_int_equal(cfg_load(c, small, sizeof(small)), -1);
    assert_string_equal(small, "PORT: must be a");
    assert_int_equal(cfg_load(c, NULL, 0), -1);
    cfg_free(c);
}

static void
test_bools(void **state)
{
    (void)state;
    static const char *const yes[] = {"1", "true", "TRUE", "yes", "Yes", "on", "ON", NULL};
    static const char *const no[] = {"0", "false", "False", "no", "NO", "off", "Off", NULL};
    cfg *c = common_cfg();

    for (size_t i = 0; yes[i] != NULL; i++) {
        setenv("FEATURE_X", yes[i], 1);
        load_ok(c);
        assert_true(cfg_bool(c, "FEATURE_X"));
    }
    for (size_t i = 0; no[i] != NULL; i++) {
        setenv("FEATURE_X", no[i], 1);
        load_ok(c);
        assert_false(cfg_bool(c, "FEATURE_X"));
    }
    setenv("FEATURE_X", "maybe", 1);
    load_fails(c, "FEATURE_X: must be a boolean (true/false, 1/0, yes/no, on/off) (got 'maybe')");
    setenv("FEATURE_X", "2", 1);
    load_fails(c, "FEATURE_X: must be a boolean (true/false, 1/0, yes/no, on/off) (got '2')");
    cfg_free(c);
}

static void
test_log_level_and_env(void **state)
{
    (void)state;
    cfg *c = common_cfg();

    setenv("LOG_LEVEL", "verbose", 1);
    load_fails(c, "LOG_LEVEL: must be one of debug, info, warn, error (got 'verbose')");
    setenv("LOG_LEVEL", "warn", 1);
    setenv("BRAIN_ENV", "prod", 1);
    load_fails(c, "BRAIN_ENV: must be one of development, production, test (got 'prod')");
    setenv("BRAIN_ENV", "Production", 1);
    load_fails(c, "BRAIN_ENV: must be one of development, production, test (got 'Production')");
    setenv("BRAIN_ENV", "test", 1);
    load_ok(c);
    assert_false(cfg_production(c));
    setenv("BRAIN_ENV", "development", 1);
    load_ok(c);
    assert_false(cfg_production(c));
    cfg_free(c);
}

static void
test_production(void **state)
{
    (void)state;
    cfg *c = common_cfg();

    setenv("BRAIN_ENV", "production", 1);
    /* A secret's default is not good enough in production: it must be given. */
    load_fails(c, "DATABASE_URL is required in production (set it or DATABASE_URL_FILE)");
    setenv("DATABASE_URL", "postgresql://svc:pw@db.internal/brain", 1);
    load_fails(c, "NATS_URL is required in production (set it or NATS_URL_FILE)");
    setenv("NATS_URL", "nats://nats.internal:4222", 1);
    load_fails(c, "INTERNAL_TOKEN is required in production (set it or INTERNAL_TOKEN_FILE)");
    setenv("INTERNAL_TOKEN", "", 1);
    load_fails(c, "INTERNAL_TOKEN is required in production (set it or INTERNAL_TOKEN_FILE)");
    setenv("INTERNAL_TOKEN", "s3cret", 1);
    load_fails(c, "SECRET_NUM is required in production (set it or SECRET_NUM_FILE)");
    setenv("SECRET_NUM", "7", 1);
    load_ok(c);
    assert_true(cfg_production(c));
    assert_string_equal(cfg_str(c, "DATABASE_URL"), "postgresql://svc:pw@db.internal/brain");

    /* From a file too; an empty file is no secret. */
    unsetenv("INTERNAL_TOKEN");
    setenv("INTERNAL_TOKEN_FILE", temp_file("\n", 1), 1);
    load_fails(c, "INTERNAL_TOKEN is required in production (set it or INTERNAL_TOKEN_FILE)");
    setenv("INTERNAL_TOKEN_FILE", temp_file("from-file\n", 10), 1);
    load_ok(c);
    assert_string_equal(cfg_str(c, "INTERNAL_TOKEN"), "from-file");
    cfg_free(c);

    /* A daemon without BRAIN_ENV in its table still follows the environment. */
    static const cfg_var only_secret[] = {{"API_SECRET", CFG_STR, NULL, 0, 0, true, "k"}};
    c = cfg_new();
    assert_int_equal(cfg_add(c, only_secret, 1), 0);
    load_fails(c, "API_SECRET is required in production (set it or API_SECRET_FILE)");
    setenv("BRAIN_ENV", "development", 1);
    load_ok(c);
    assert_null(cfg_str(c, "API_SECRET"));
    cfg_free(c);
}

static void
test_files(void **state)
{
    (void)state;
    cfg *c = common_cfg();
    char err[256];

    setenv("INTERNAL_TOKEN_FILE", temp_file("tok-from-file\n", 14), 1);
    load_ok(c);
    assert_string_equal(cfg_str(c, "INTERNAL_TOKEN"), "tok-from-file");
    assert_true(cfg_is_set(c, "INTERNAL_TOKEN"));

    setenv("INTERNAL_TOKEN_FILE", temp_file("crlf\r\n", 6), 1);
    load_ok(c);
    assert_string_equal(cfg_str(c, "INTERNAL_TOKEN"), "crlf");
    setenv("INTERNAL_TOKEN_FILE", temp_file("two\n\n", 5), 1);
    load_ok(c);
    assert_string_equal(cfg_str(c, "INTERNAL_TOKEN"), "two\n");
    setenv("INTERNAL_TOKEN_FILE", temp_file("bare", 4), 1);
    load_ok(c);
    assert_string_equal(cfg_str(c, "INTERNAL_TOKEN"), "bare");
    setenv("INTERNAL_TOKEN_FILE", temp_file("cr\r", 3), 1);
    load_ok(c);
    assert_string_equal(cfg_str(c, "INTERNAL_TOKEN"), "cr\r");

    setenv("PORT_FILE", temp_file("9091\n", 5), 1);
    unsetenv("INTERNAL_TOKEN_FILE");
    load_ok(c);
    assert_int_equal(cfg_int(c, "PORT"), 9091);
    assert_true(cfg_is_set(c, "PORT"));
    unsetenv("PORT_FILE");

    /* An empty NAME_FILE names no file. */
    setenv("PORT_FILE", "", 1);
    load_ok(c);
    assert_int_equal(cfg_int(c, "PORT"), 8080);
    unsetenv("PORT_FILE");

    setenv("INTERNAL_TOKEN_FILE", "/nonexistent/brain-token", 1);
    load_fails(c, "INTERNAL_TOKEN_FILE: cannot read '/nonexistent/brain-token': No such file or "
                  "directory");
    setenv("INTERNAL_TOKEN_FILE", "/tmp", 1);
    load_fails(c, "INTERNAL_TOKEN_FILE: cannot read '/tmp': Is a directory");

    /* A secret's file content is never in an error. */
    setenv("SECRET_NUM_FILE", temp_file("TOPSECRET\n", 10), 1);
    unsetenv("INTERNAL_TOKEN_FILE");
    assert_int_equal(cfg_load(c, err, sizeof(err)), -1);
    assert_string_equal(err, "SECRET_NUM: must be an integer between 1 and 10");
    assert_null(strstr(err, "TOPSECRET"));
    unsetenv("SECRET_NUM_FILE");

    setenv("INTERNAL_TOKEN_FILE", temp_file("a\0b", 3), 1);
    assert_int_equal(cfg_load(c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "INTERNAL_TOKEN_FILE: "));
    assert_non_null(strstr(err, "contains a NUL byte"));
    cfg_free(c);
}

static void
test_file_size_limit(void **state)
{
    (void)state;
    cfg *c = common_cfg();
    char err[256];
    size_t max = 64 * 1024;
    char *big = malloc(max + 3);

    assert_non_null(big);
    memset(big, 'k', max + 1);
    big[max + 1] = '\0';
    setenv("INTERNAL_TOKEN_FILE", temp_file(big, max), 1);
    load_ok(c);
    assert_int_equal(strlen(cfg_str(c, "INTERNAL_TOKEN")), max);

    /* 64 KiB plus its newline is still fine: the newline is not content. */
    big[max] = '\n';
    setenv("INTERNAL_TOKEN_FILE", temp_file(big, max + 1), 1);
    load_ok(c);
    assert_int_equal(strlen(cfg_str(c, "INTERNAL_TOKEN")), max);

    big[max] = '\r';
    big[max + 1] = '\n';
    setenv("INTERNAL_TOKEN_FILE", temp_file(big, max + 2), 1);
    load_ok(c);
    assert_int_equal(strlen(cfg_str(c, "INTERNAL_TOKEN")), max);

    big[max] = 'k';
    setenv("INTERNAL_TOKEN_FILE", temp_file(big, max + 1), 1);
    assert_int_equal(cfg_load(c, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "INTERNAL_TOKEN_FILE: "));
    assert_non_null(strstr(err, "is larger than 65536 bytes"));
    assert_null(strstr(err, "kkkk"));
    free(big);
    cfg_free(c);
}

static void
test_both_set(void **state)
{
    (void)state;
    cfg *c = common_cfg();

    setenv("INTERNAL_TOKEN", "a", 1);
    setenv("INTERNAL_TOKEN_FILE", temp_file("b\n", 2), 1);
    load_fails(c, "INTERNAL_TOKEN and INTERNAL_TOKEN_FILE are both set; set only one");
    setenv("PORT", "1", 1);
    setenv("PORT_FILE", temp_file("2\n", 2), 1);
    unsetenv("INTERNAL_TOKEN");
    load_fails(c, "PORT and PORT_FILE are both set; set only one");
    cfg_free(c);
}

static void
test_add_override_and_limit(void **state)
{
    (void)state;
    static const cfg_var mine[] = {{"PORT", CFG_INT, "8081", 1, 65535, false, "toast port"}};
    static char names[130][24];
    static cfg_var many[130];
    cfg *c = common_cfg();

    assert_int_equal(cfg_add(c, mine, 1), 0);
    load_ok(c);
    assert_int_equal(cfg_int(c, "PORT"), 8081);
    cfg_free(c);

    for (int i = 0; i < 130; i++) {
        snprintf(names[i], sizeof(names[i]), "EXTRA_%d", i);
        many[i] = (cfg_var){names[i], CFG_STR, "x", 0, 0, false, "extra"};
    }
    c = cfg_new();
    assert_int_equal(cfg_add(c, many, 128), 0);
    /* Re-adding known names needs no room. */
    assert_int_equal(cfg_add(c, many, 10), 0);
    /* A table that does not fit adds nothing at all. */
    assert_int_equal(cfg_add(c, many + 127, 2), -1);
    assert_int_equal(cfg_add(c, many + 128, 1), -1);
    load_ok(c);
    assert_string_equal(cfg_str(c, "EXTRA_127"), "x");
    free(take_log());
    assert_null(cfg_str(c, "EXTRA_128"));
    char *out = take_log();
    assert_non_null(strstr(out, "EXTRA_128 was never added"));
    free(out);
    assert_int_equal(cfg_add(NULL, many, 1), -1);
    assert_int_equal(cfg_add(c, NULL, 1), -1);
    assert_int_equal(cfg_add(c, NULL, 0), 0);
    cfg_free(c);
    cfg_free(NULL);
    assert_int_equal(cfg_load(NULL, NULL, 0), -1);
}

static void
test_getter_misuse(void **state)
{
    (void)state;
    cfg *c = common_cfg();

    load_ok(c);
    free(take_log());
    assert_null(cfg_str(c, "NOPE"));
    assert_int_equal(cfg_int(c, "NOPE"), 0);
    assert_false(cfg_bool(c, "NOPE"));
    assert_false(cfg_is_set(c, "NOPE"));
    char *out = take_log();
    int lines = 0;
    for (char *p = out; (p = strstr(p, "NOPE was never added")) != NULL; p++)
        lines++;
    assert_int_equal(lines, 4);
    assert_non_null(strstr(out, "\"level\":\"error\""));
    free(out);

    assert_int_equal(cfg_int(c, "HTTP_BIND"), 0); /* a string */
    assert_false(cfg_bool(c, "PORT"));            /* an int */
    out = take_log();
    assert_non_null(strstr(out, "HTTP_BIND read with the wrong type"));
    assert_non_null(strstr(out, "PORT read with the wrong type"));
    free(out);
    cfg_free(c);
}

static void
test_cfg_log(void **state)
{
    (void)state;
    cfg *c = common_cfg();
    json_object *v;

    setenv("DATABASE_URL", "postgresql://brain:pa55word@db:5432/brain", 1);
    setenv("FEATURE_X", "yes", 1);
    load_ok(c);
    free(take_log());
    cfg_log(c);
    char *out = take_log();
    assert_ptr_equal(strchr(out, '\n'), out + strlen(out) - 1); /* one line */
    assert_null(strstr(out, "pa55word"));
    json_object *o = json_tokener_parse(out);
    assert_non_null(o);
    assert_true(json_object_object_get_ex(o, "msg", &v));
    assert_string_equal(json_object_get_string(v), "configuration");
    assert_true(json_object_object_get_ex(o, "level", &v));
    assert_string_equal(json_object_get_string(v), "info");
    assert_true(json_object_object_get_ex(o, "PORT", &v));
    assert_true(json_object_is_type(v, json_type_int));
    assert_int_equal(json_object_get_int(v), 8080);
    assert_true(json_object_object_get_ex(o, "HTTP_BIND", &v));
    assert_string_equal(json_object_get_string(v), "127.0.0.1");
    assert_true(json_object_object_get_ex(o, "DATABASE_URL", &v));
    assert_string_equal(json_object_get_string(v), "[set]");
    assert_true(json_object_object_get_ex(o, "NATS_URL", &v));
    assert_string_equal(json_object_get_string(v), "[set]");
    assert_true(json_object_object_get_ex(o, "INTERNAL_TOKEN", &v));
    assert_string_equal(json_object_get_string(v), "[unset]");
    assert_true(json_object_object_get_ex(o, "SECRET_NUM", &v));
    assert_string_equal(json_object_get_string(v), "[set]");
    assert_true(json_object_object_get_ex(o, "FEATURE_X", &v));
    assert_true(json_object_is_type(v, json_type_boolean));
    assert_true(json_object_get_boolean(v));
    assert_true(json_object_object_get_ex(o, "BRAIN_ENV", &v));
    assert_string_equal(json_object_get_string(v), "development");
    /* Every variable is there: 4 standard keys plus 12 variables. */
    assert_int_equal(json_object_object_length(o), 4 + 12);
    json_object_put(o);

    setenv("INTERNAL_TOKEN", "tok-VALUE-xyz", 1);
    load_ok(c);
    cfg_log(c);
    free(out);
    out = take_log();
    assert_null(strstr(out, "tok-VALUE-xyz"));
    assert_non_null(strstr(out, "\"INTERNAL_TOKEN\":\"[set]\""));
    free(out);
    cfg_free(c);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_common_table),
        cmocka_unit_test_setup_teardown(test_defaults, setup, teardown),
        cmocka_unit_test_setup_teardown(test_env_values, setup, teardown),
        cmocka_unit_test_setup_teardown(test_int_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bools, setup, teardown),
        cmocka_unit_test_setup_teardown(test_log_level_and_env, setup, teardown),
        cmocka_unit_test_setup_teardown(test_production, setup, teardown),
        cmocka_unit_test_setup_teardown(test_files, setup, teardown),
        cmocka_unit_test_setup_teardown(test_file_size_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_both_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_add_override_and_limit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_getter_misuse, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cfg_log, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
