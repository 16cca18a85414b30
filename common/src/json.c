/* json: strict parsing of request bodies and typed field getters over json-c.
 *
 * json-c's strict mode still takes some text RFC 8259 forbids (NaN, Infinity,
 * "1.", "-01", raw control characters in strings) and its UTF-8 check lets
 * overlongs and surrogates through, so js_parse adds its own checks around it. */
#include "json.h"

#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "util.h"

/* Copy src into dst[cap] without cutting a UTF-8 sequence in two. */
static void
copy_utf8(char *dst, size_t cap, const char *src)
{
    size_t i = 0;

    if (cap == 0)
        return;
    while (src[i] != '\0') {
        size_t n = util_utf8_seq_len(src + i, strnlen(src + i, 4));
        if (n == 0 || n > cap - 1 - i)
            break;
        i += n;
    }
    memcpy(dst, src, i);
    dst[i] = '\0';
}

js_status
js_fail(js_err *err, const char *field, const char *fmt, ...)
{
    va_list ap;
    size_t bad;

    if (err == NULL)
        return JS_INVALID;
    copy_utf8(err->field, sizeof(err->field), field != NULL ? field : "");
    va_start(ap, fmt);
    vsnprintf(err->message, sizeof(err->message), fmt, ap);
    va_end(ap);
    /* A message cut by vsnprintf may end inside a character: drop the piece. */
    if (!util_utf8_valid(err->message, strlen(err->message), &bad))
        err->message[bad] = '\0';
    return JS_INVALID;
}

/* "field 'name': <why>"; the name shown is the (bounded) copy in err->field. */
static js_status field_fail(js_err *err, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static js_status
field_fail(js_err *err, const char *field, const char *fmt, ...)
{
    char why[256];
    char shown[sizeof(err->field)];
    va_list ap;

    if (err == NULL)
        return JS_INVALID;
    va_start(ap, fmt);
    vsnprintf(why, sizeof(why), fmt, ap);
    va_end(ap);
    copy_utf8(shown, sizeof(shown), field);
    return js_fail(err, field, "field '%s': %s", shown, why);
}

static js_status
syntax_fail(js_err *err, size_t at, const char *why)
{
    return js_fail(err, "", "invalid JSON at byte %zu: %s", at, why);
}

static bool
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* End of the RFC 8259 number starting at buf[i], or 0 if it is not one. */
static size_t
scan_number(const char *buf, size_t len, size_t i)
{
    if (i < len && buf[i] == '-')
        i++;
    if (i < len && buf[i] == '0') {
        i++;
    } else if (i < len && buf[i] >= '1' && buf[i] <= '9') {
        while (i < len && is_digit(buf[i]))
            i++;
    } else {
        return 0;
    }
    if (i < len && buf[i] == '.') {
        if (++i >= len || !is_digit(buf[i]))
            return 0;
        while (i < len && is_digit(buf[i]))
            i++;
    }
    if (i < len && (buf[i] == 'e' || buf[i] == 'E')) {
        i++;
        if (i < len && (buf[i] == '+' || buf[i] == '-'))
            i++;
        if (i >= len || !is_digit(buf[i]))
            return 0;
        while (i < len && is_digit(buf[i]))
            i++;
    }
    return i;
}

static bool
is_word_char(char c)
{
    return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '.' || c == '+'
           || c == '-';
}

/* Lexical checks on text json-c already accepted, so strings are known to be
 * closed and escapes well formed: only the tokens json-c is lax about. */
static js_status
check_tokens(const char *buf, size_t len, js_err *err)
{
    size_t i = 0;

    while (i < len) {
        char c = buf[i];
        if (c == '"') {
            size_t nul = 0;
            for (i++; i < len && buf[i] != '"'; i++) {
                if (buf[i] == '\\') {
                    if (nul == 0 && i + 5 < len && memcmp(buf + i + 1, "u0000", 5) == 0)
                        nul = i;
                    i++;
                } else if ((unsigned char)buf[i] < 0x20) {
                    return syntax_fail(err, i, "control character in string");
                }
            }
            i++;
            /* json-c cuts a key at a NUL, which would change the document
             * silently; a NUL in a value is for the field's reader to refuse. */
            size_t next = i;
            while (nul != 0 && next < len && strchr(" \t\r\n", buf[next]) != NULL)
                next++;
            if (nul != 0 && next < len && buf[next] == ':')
                return syntax_fail(err, nul, "\\u0000 in a key");
        } else if (c == '-' || is_digit(c)) {
            size_t end = scan_number(buf, len, i);
            if (end == 0 || (end < len && is_word_char(buf[end])))
                return syntax_fail(err, i, "invalid number");
            i = end;
        } else if (is_word_char(c)) {
            size_t end = i;
            while (end < len && is_word_char(buf[end]))
                end++;
            size_t n = end - i;
            if (!((n == 4 && memcmp(buf + i, "true", 4) == 0)
                  || (n == 5 && memcmp(buf + i, "false", 5) == 0)
                  || (n == 4 && memcmp(buf + i, "null", 4) == 0)))
                return syntax_fail(err, i, "invalid literal");
            i = end;
        } else {
            i++;
        }
    }
    return JS_OK;
}

/* Nesting of arrays and objects, counted here rather than by json-c, whose
 * limit also counts the scalar at the bottom of a nest. Runs before json-c, on
 * text not yet known to be JSON, so it only tracks strings and brackets. */
#define JS_STR_(x) #x
#define JS_STR(x)  JS_STR_(x)

static js_status
check_depth(const char *buf, size_t len, js_err *err)
{
    int depth = 0;
    bool in_string = false;
    size_t containers = 0, items = 0;

    for (size_t i = 0; i < len; i++) {
        char c = buf[i];
        if (in_string) {
            if (c == '\\')
                i++;
            else if (c == '"')
                in_string = false;
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            if (++depth > JS_MAX_DEPTH)
                return syntax_fail(err, i, "nesting too deep");
            /* json-c allocates a table per object: a megabyte of "{}," would
             * cost hundreds of megabytes, so the counts are bounded first. */
            if (++containers > JS_MAX_CONTAINERS)
                return syntax_fail(err, i,
                                   "more than " JS_STR(JS_MAX_CONTAINERS) " objects and arrays");
        } else if ((c == ']' || c == '}') && depth > 0) {
            depth--;
        } else if (c == ',' && ++items > JS_MAX_ITEMS) {
            return syntax_fail(err, i, "more than " JS_STR(JS_MAX_ITEMS) " values");
        }
    }
    return JS_OK;
}

js_status
js_parse(const char *buf, size_t len, json_object **out, js_err *err)
{
    json_tokener *tok = NULL;
    json_object *obj = NULL;
    js_status rc = JS_INVALID;
    const char *nul;
    size_t at;

    if (out == NULL)
        return js_fail(err, "", "invalid JSON: no output");
    *out = NULL;
    if (buf == NULL)
        buf = "";
    if (len >= INT_MAX)
        return js_fail(err, "", "invalid JSON: document too large");
    nul = memchr(buf, '\0', len);
    if (nul != NULL)
        return syntax_fail(err, (size_t)(nul - buf), "NUL byte");
    if (!util_utf8_valid(buf, len, &at))
        return syntax_fail(err, at, "invalid UTF-8");

    rc = check_depth(buf, len, err);
    if (rc != JS_OK)
        goto out;
    rc = JS_INVALID;
    /* One more than our limit: json-c counts the innermost scalar as a level. */
    tok = json_tokener_new_ex(JS_MAX_DEPTH + 1);
    if (tok == NULL) {
        rc = js_fail(err, "", "out of memory");
        goto out;
    }
    json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
    obj = json_tokener_parse_ex(tok, buf, (int)len);
    enum json_tokener_error jerr = json_tokener_get_error(tok);
    at = json_tokener_get_parse_end(tok);
    /* A top-level number or a bare literal only ends at the end of input,
     * which json-c learns from a terminating NUL. */
    if (obj == NULL && jerr == json_tokener_continue) {
        obj = json_tokener_parse_ex(tok, "", 1);
        jerr = json_tokener_get_error(tok);
        at = len;
    }
    /* The document "null" is a success with a NULL object. */
    if (jerr != json_tokener_success) {
        rc = syntax_fail(err, at, json_tokener_error_desc(jerr));
        goto out;
    }
    for (; at < len; at++) {
        if (strchr(" \t\r\n", buf[at]) == NULL) {
            rc = syntax_fail(err, at, "unexpected character after the value");
            goto out;
        }
    }
    rc = check_tokens(buf, len, err);
    if (rc != JS_OK)
        goto out;
    *out = obj;
    obj = NULL;
out:
    json_object_put(obj);
    if (tok != NULL)
        json_tokener_free(tok);
    return rc;
}

js_status
js_require_object(json_object *doc, js_err *err)
{
    if (!json_object_is_type(doc, json_type_object))
        return js_fail(err, "", "request body must be a JSON object");
    return JS_OK;
}

/* The value of field, or JS_ABSENT / "is required" when missing or null. */
static js_status
lookup(json_object *obj, const char *field, bool required, json_object **v, js_err *err)
{
    if (!json_object_is_type(obj, json_type_object))
        return js_fail(err, "", "request body must be a JSON object");
    if (field == NULL)
        return js_fail(err, "", "no field name");
    if (!json_object_object_get_ex(obj, field, v) || *v == NULL) {
        if (required)
            return field_fail(err, field, "is required");
        return JS_ABSENT;
    }
    return JS_OK;
}

/* A string value without NUL characters (C code could not see past one). */
static bool
plain_string(json_object *v, const char **s, size_t *len)
{
    if (!json_object_is_type(v, json_type_string))
        return false;
    *s = json_object_get_string(v);
    *len = (size_t)json_object_get_string_len(v);
    return memchr(*s, '\0', *len) == NULL;
}

static void
describe_string(char *buf, size_t cap, size_t minlen, size_t maxlen)
{
    const char *kind = minlen == 1 ? "a non-empty string" : "a string";

    if (minlen > 1 && minlen == maxlen)
        snprintf(buf, cap, "must be a string of exactly %zu bytes", minlen);
    else if (minlen > 1 && maxlen == SIZE_MAX)
        snprintf(buf, cap, "must be a string of at least %zu bytes", minlen);
    else if (minlen > 1)
        snprintf(buf, cap, "must be a string of %zu to %zu bytes", minlen, maxlen);
    else if (maxlen == SIZE_MAX)
        snprintf(buf, cap, "must be %s", kind);
    else
        snprintf(buf, cap, "must be %s of at most %zu bytes", kind, maxlen);
}

js_status
js_get_string(json_object *obj, const char *field, bool required, size_t minlen, size_t maxlen,
              const char **out, js_err *err)
{
    json_object *v;
    const char *s;
    size_t len;
    char why[128];
    js_status rc = lookup(obj, field, required, &v, err);

    if (rc != JS_OK)
        return rc;
    if (!plain_string(v, &s, &len) || len < minlen || len > maxlen) {
        describe_string(why, sizeof(why), minlen, maxlen);
        if (json_object_is_type(v, json_type_string) && memchr(s, '\0', len) != NULL)
            util_strlcpy(why, "must not contain NUL characters", sizeof(why));
        return field_fail(err, field, "%s", why);
    }
    *out = s;
    return JS_OK;
}

js_status
js_get_int(json_object *obj, const char *field, bool required, long long min, long long max,
           long long *out, js_err *err)
{
    json_object *v;
    long long n;
    js_status rc = lookup(obj, field, required, &v, err);

    if (rc != JS_OK)
        return rc;
    if (json_object_is_type(v, json_type_int)) {
        /* json-c saturates out-of-range integers to INT64_MIN / UINT64_MAX and
         * keeps those above INT64_MAX as unsigned: refuse all of them, and so
         * INT64_MIN itself, which cannot be told apart from a saturated one. */
        int64_t i = json_object_get_int64(v);
        if (i == INT64_MIN || (i == INT64_MAX && json_object_get_uint64(v) > INT64_MAX))
            goto bad;
        n = (long long)i;
    } else if (json_object_is_type(v, json_type_double)) {
        /* 3.0 and 1e2 are integers written differently; 1.5 is not. */
        double d = json_object_get_double(v);
        if (!isfinite(d) || d != trunc(d) || d < -9223372036854775808.0
            || d >= 9223372036854775808.0)
            goto bad;
        n = (long long)d;
    } else {
        goto bad;
    }
    if (n < min || n > max)
        goto bad;
    *out = n;
    return JS_OK;
bad:
    return field_fail(err, field, "must be an integer between %lld and %lld", min, max);
}

js_status
js_get_double(json_object *obj, const char *field, bool required, double min, double max,
              double *out, js_err *err)
{
    json_object *v;
    js_status rc = lookup(obj, field, required, &v, err);

    if (rc != JS_OK)
        return rc;
    if (json_object_is_type(v, json_type_double) || json_object_is_type(v, json_type_int)) {
        double d = json_object_get_double(v);
        if (isfinite(d) && d >= min && d <= max) {
            *out = d;
            return JS_OK;
        }
    }
    return field_fail(err, field, "must be a number between %g and %g", min, max);
}

js_status
js_get_bool(json_object *obj, const char *field, bool required, bool *out, js_err *err)
{
    json_object *v;
    js_status rc = lookup(obj, field, required, &v, err);

    if (rc != JS_OK)
        return rc;
    if (!json_object_is_type(v, json_type_boolean))
        return field_fail(err, field, "must be true or false");
    *out = json_object_get_boolean(v) != 0;
    return JS_OK;
}

js_status
js_get_enum(json_object *obj, const char *field, bool required, const char *const *allowed,
            const char **out, js_err *err)
{
    json_object *v;
    const char *s;
    size_t len;
    char list[240];
    size_t used = 0;
    js_status rc = lookup(obj, field, required, &v, err);

    if (rc != JS_OK)
        return rc;
    if (plain_string(v, &s, &len)) {
        for (size_t i = 0; allowed != NULL && allowed[i] != NULL; i++) {
            if (strcmp(s, allowed[i]) == 0) {
                *out = allowed[i];
                return JS_OK;
            }
        }
    }
    list[0] = '\0';
    for (size_t i = 0; allowed != NULL && allowed[i] != NULL; i++) {
        size_t need = strlen(allowed[i]) + (i > 0 ? 2 : 0);
        if (need + sizeof(", ...") > sizeof(list) - used) {
            snprintf(list + used, sizeof(list) - used, ", ...");
            break;
        }
        used += (size_t)snprintf(list + used, sizeof(list) - used, "%s%s", i > 0 ? ", " : "",
                                 allowed[i]);
    }
    return field_fail(err, field, "must be one of %s", list);
}

js_status
js_get_uuid(json_object *obj, const char *field, bool required, const char **out, js_err *err)
{
    json_object *v;
    const char *s;
    size_t len;
    js_status rc = lookup(obj, field, required, &v, err);

    if (rc != JS_OK)
        return rc;
    if (!plain_string(v, &s, &len) || !util_uuid_valid(s))
        return field_fail(err, field, "must be a UUID");
    *out = s;
    return JS_OK;
}

js_status
js_get_time(json_object *obj, const char *field, bool required, const char **out, js_err *err)
{
    json_object *v;
    const char *s;
    size_t len;
    struct timespec ts;
    js_status rc = lookup(obj, field, required, &v, err);

    if (rc != JS_OK)
        return rc;
    if (!plain_string(v, &s, &len) || util_rfc3339_parse(s, &ts) != 0)
        return field_fail(err, field, "must be an RFC 3339 timestamp");
    *out = s;
    return JS_OK;
}

bool
js_has_nul(json_object *v)
{
    switch (json_object_get_type(v)) {
    case json_type_string:
        return memchr(json_object_get_string(v), '\0', (size_t)json_object_get_string_len(v))
               != NULL;
    case json_type_array:
        for (size_t i = 0; i < json_object_array_length(v); i++)
            if (js_has_nul(json_object_array_get_idx(v, i)))
                return true;
        return false;
    case json_type_object: {
        json_object_object_foreach(v, key, val)
        {
            (void)key;
            if (js_has_nul(val))
                return true;
        }
        return false;
    }
    default:
        return false;
    }
}

js_status
js_get_object(json_object *obj, const char *field, bool required, json_object **out, js_err *err)
{
    json_object *v;
    js_status rc = lookup(obj, field, required, &v, err);

    if (rc != JS_OK)
        return rc;
    if (!json_object_is_type(v, json_type_object))
        return field_fail(err, field, "must be an object");
    if (js_has_nul(v))
        return field_fail(err, field, "must not contain NUL characters");
    *out = v;
    return JS_OK;
}

js_status
js_get_array(json_object *obj, const char *field, bool required, size_t max_items,
             json_object **out, js_err *err)
{
    json_object *v;
    js_status rc = lookup(obj, field, required, &v, err);

    if (rc != JS_OK)
        return rc;
    if (!json_object_is_type(v, json_type_array) || json_object_array_length(v) > max_items) {
        if (max_items == SIZE_MAX)
            return field_fail(err, field, "must be an array");
        return field_fail(err, field, "must be an array of at most %zu items", max_items);
    }
    *out = v;
    return JS_OK;
}

js_status
js_reject_unknown(json_object *obj, const char *const *known, js_err *err)
{
    char shown[sizeof(err->field)];

    if (!json_object_is_type(obj, json_type_object))
        return js_fail(err, "", "request body must be a JSON object");
    json_object_object_foreach(obj, key, val)
    {
        bool found = false;
        (void)val;
        for (size_t i = 0; known != NULL && known[i] != NULL && !found; i++)
            found = strcmp(key, known[i]) == 0;
        if (!found) {
            copy_utf8(shown, sizeof(shown), key);
            return js_fail(err, key, "unknown field '%s'", shown);
        }
    }
    return JS_OK;
}

const char *
js_text(json_object *obj, size_t *len)
{
    size_t n = 0;
    const char *s = json_object_to_json_string_length(
        obj, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE, &n);

    if (len != NULL)
        *len = n;
    return s;
}
