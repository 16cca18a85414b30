/* Unit tests for common/src/log.c's fast paths (test_log.c has the rest):
 * figures written without printf, the secret-key verdict remembered per key,
 * and lines held by an event loop's thread (log_hold). Output is captured in a
 * memfd through log_set_fd() (tl_log_capture). */
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

/* Figures in milliseconds to the microsecond (every access line's
 * duration) are written as %.15g writes them, on a faster path. */
static void
test_duration_figures(void **state)
{
    (void)state;
    static const long long ks[] = {0,       1,         5,    10,    100,    999,
                                   1000,    1001,      1234, 12345, 100000, 999999,
                                   1000000, 123456789, -1,   -500,  -1500,  999999999999LL};
    for (size_t i = 0; i < sizeof(ks) / sizeof(ks[0]); i++) {
        double d = (double)ks[i] / 1000.0;
        char want[64], *raw, key[64];
        snprintf(want, sizeof(want), "\"duration_ms\":%.15g", d);
        log_msg(LOGL_INFO, LOG_FIELDS(LF_DOUBLE("duration_ms", d)), "x");
        json_object *o = tl_log_only_line(tl_log_fd, &raw);
        snprintf(key, sizeof(key), "%lld", ks[i]);
        if (strstr(raw, want) == NULL)
            fail_msg("%s: want %s in %s", key, want, raw);
        json_object_put(o);
        free(raw);
    }
    /* and integers as %lld */
    static const long long ints[] = {0, 7, -7, 1234567, INT64_MIN, INT64_MAX};
    for (size_t i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        char want[64], *raw;
        snprintf(want, sizeof(want), "\"n\":%lld}", ints[i]);
        log_msg(LOGL_INFO, LOG_FIELDS(LF_INT("n", ints[i])), "x");
        json_object *o = tl_log_only_line(tl_log_fd, &raw);
        if (strstr(raw, want) == NULL)
            fail_msg("want %s in %s", want, raw);
        json_object_put(o);
        free(raw);
    }
}

/* One buffer used for two keys in turn: each is judged on its text. */
static void
test_redaction_of_a_reused_key_buffer(void **state)
{
    (void)state;
    char key[32], *raw;
    snprintf(key, sizeof(key), "note");
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR(key, "visible")), "x");
    json_object *o = tl_log_only_line(tl_log_fd, &raw);
    assert_string_equal(tl_jstr(o, "note", NULL), "visible");
    json_object_put(o);
    free(raw);
    snprintf(key, sizeof(key), "refresh_token");
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR(key, "hunter2")), "x");
    o = tl_log_only_line(tl_log_fd, &raw);
    assert_string_equal(tl_jstr(o, "refresh_token", NULL), "[redacted]");
    assert_null(strstr(raw, "hunter2"));
    json_object_put(o);
    free(raw);
}

/* Held lines wait for log_flush (or a warning), and keep their order. */
static void
test_hold(void **state)
{
    (void)state;
    size_t len = 0;
    log_hold(true);
    log_info("first");
    log_info("second");
    char *text = tl_log_read(tl_log_fd, &len);
    assert_int_equal(len, 0); /* nothing written yet */
    free(text);
    log_warn("third"); /* not held: the held ones go first */
    log_info("fourth");
    log_hold(false); /* flushes */
    text = tl_log_take(tl_log_fd, &len);
    char *a = strstr(text, "first"), *b = strstr(text, "second"), *c = strstr(text, "third"),
         *d = strstr(text, "fourth");
    assert_true(a != NULL && b != NULL && c != NULL && d != NULL);
    assert_true(a < b && b < c && c < d);
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_duration_figures, tl_log_setup, tl_log_teardown),
        cmocka_unit_test_setup_teardown(test_redaction_of_a_reused_key_buffer, tl_log_setup,
                                        tl_log_teardown),
        cmocka_unit_test_setup_teardown(test_hold, tl_log_setup, tl_log_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
