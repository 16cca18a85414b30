/* testlib: capture the log in an in-memory file and read its lines back. */
#include <sys/mman.h>

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "log.h"
#include "testlib.h"
#include "util.h"

int tl_log_fd = -1;

int
tl_log_setup(void **state)
{
    (void)state;
    log_init("svc-toast", LOGL_DEBUG);
    tl_log_fd = tl_log_capture();
    log_set_request_id(NULL);
    return tl_log_fd >= 0 ? 0 : -1;
}

int
tl_log_teardown(void **state)
{
    (void)state;
    log_hold(false);
    log_set_fd(STDOUT_FILENO);
    log_set_request_id(NULL);
    close(tl_log_fd);
    tl_log_fd = -1;
    return 0;
}

int
tl_log_capture(void)
{
    int fd = memfd_create("tl-log-capture", MFD_CLOEXEC);

    if (fd >= 0)
        log_set_fd(fd);
    return fd;
}

char *
tl_log_read(int fd, size_t *len)
{
    off_t end = lseek(fd, 0, SEEK_END);

    assert_true(end >= 0);
    char *buf = malloc((size_t)end + 1);
    assert_non_null(buf);
    assert_int_equal(pread(fd, buf, (size_t)end, 0), end);
    /* A line written while tl_log_take truncated the file lands past its new
     * end and leaves a run of NULs before it: read them as line breaks, so
     * that what follows is still seen. */
    for (off_t i = 0; i < end; i++)
        if (buf[i] == '\0')
            buf[i] = '\n';
    buf[end] = '\0';
    if (len != NULL)
        *len = (size_t)end;
    return buf;
}

char *
tl_log_take(int fd, size_t *len)
{
    char *buf = tl_log_read(fd, len);

    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
    return buf;
}

char *
tl_log_end(int fd, size_t *len)
{
    log_set_fd(STDOUT_FILENO);
    char *buf = tl_log_read(fd, len);
    close(fd);
    return buf;
}

json_object *
tl_json_line(const char *s, size_t len)
{
    json_tokener *tok = json_tokener_new();

    assert_non_null(tok);
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
    json_object *o = json_tokener_parse_ex(tok, s, (int)len);
    if (o == NULL)
        fail_msg("unparsable line (%s): %.*s", json_tokener_error_desc(json_tokener_get_error(tok)),
                 (int)len, s);
    assert_int_equal(json_tokener_get_parse_end(tok), len);
    json_tokener_free(tok);
    assert_true(json_object_is_type(o, json_type_object));
    return o;
}

json_object *
tl_log_only_line(int fd, char **raw)
{
    size_t len;
    char *out = tl_log_take(fd, &len);

    assert_true(len > 1);
    assert_int_equal(out[len - 1], '\n');
    assert_ptr_equal(strchr(out, '\n'), out + len - 1);
    assert_true(len <= 8192);
    /* Nothing but the final newline below 0x20: every control is escaped. */
    for (size_t i = 0; i + 1 < len; i++)
        assert_true((unsigned char)out[i] >= 0x20);
    json_object *o = tl_json_line(out, len - 1);
    if (raw != NULL)
        *raw = out;
    else
        free(out);
    return o;
}

json_object *
tl_log_find(int fd, const char *a, const char *b, long ms)
{
    for (int64_t end = tl_deadline(ms); util_mono_ns() < end; tl_pause_ms(5)) {
        char *all = tl_log_read(fd, NULL), *save = NULL;
        for (char *line = strtok_r(all, "\n", &save); line != NULL;
             line = strtok_r(NULL, "\n", &save)) {
            if (strstr(line, a) != NULL && (b == NULL || strstr(line, b) != NULL)) {
                json_object *o = json_tokener_parse(line);
                free(all);
                assert_non_null(o);
                return o;
            }
        }
        free(all);
    }
    fail_msg("no log line with %s%s%s", a, b != NULL ? " and " : "", b != NULL ? b : "");
    return NULL;
}
