/* field: the checks of one request field by its kind; see field.h. */
#include "field.h"

#include <ctype.h>
#include <string.h>
#include <time.h>

#include "tz.h"
#include "util.h"

bool
field_money_valid(const char *s, bool positive)
{
    size_t whole = 0, frac = 0;
    bool nonzero = false;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++, whole++)
        nonzero |= *p != '0';
    if (whole == 0 || whole > 12)
        return false;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++, frac++)
            nonzero |= *p != '0';
        if (frac == 0 || frac > 2)
            return false;
    }
    return *p == '\0' && (!positive || nonzero);
}

bool
field_slug_valid(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > 32 || !(islower((unsigned char)s[0]) || isdigit((unsigned char)s[0])))
        return false;
    for (size_t i = 0; i < n; i++)
        if (!(islower((unsigned char)s[i]) || isdigit((unsigned char)s[i]) || s[i] == '_'
              || s[i] == '-'))
            return false;
    return true;
}

/* Money: a JSON string, or a number taken as written (json-c keeps the text
 * of a parsed number), so no binary float ever stands between the request
 * and the numeric column. */
static js_status
parse_money(json_object *v, const field_rule *r, char *buf, size_t cap, js_err *err)
{
    const char *text = NULL;
    if (json_object_is_type(v, json_type_string))
        text = json_object_get_string(v);
    else if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
        text = js_text(v, NULL);
    if (!text || strlen(text) >= cap || !field_money_valid(text, r->kind == FK_MONEY_POS))
        return js_fail(err, r->name,
                       "field '%s': must be an amount %s 0 with at most 2 decimals (at most "
                       "%s), as a string or a number",
                       r->name, r->kind == FK_MONEY_POS ? "above" : "of at least", FIELD_MONEY_MAX);
    util_strlcpy(buf, text, cap);
    return JS_OK;
}

static js_status
parse_time(json_object *v, const field_rule *r, int64_t now, field_values *out, int i, js_err *err)
{
    struct timespec ts;
    const char *s = json_object_get_string(v);
    if (!json_object_is_type(v, json_type_string) || util_rfc3339_parse(s, &ts) != 0)
        return js_fail(err, r->name, "field '%s': must be an RFC 3339 timestamp", r->name);
    if (ts.tv_sec < FIELD_MIN_TIME || ts.tv_sec >= FIELD_MAX_TIME)
        return js_fail(err, r->name, "field '%s': must be between 2000 and 2100", r->name);
    if (r->kind == FK_PAST_TIME && ts.tv_sec > now + FIELD_SKEW_S)
        return js_fail(err, r->name, "field '%s': must not be in the future", r->name);
    util_rfc3339(&ts, out->buf[i]);
    out->value[i] = out->buf[i];
    out->when[i] = ts.tv_sec;
    return JS_OK;
}

static js_status
parse_one(json_object *body, const field_rule *r, int64_t now, field_values *out, int i,
          js_err *err)
{
    json_object *v = NULL;
    js_status rc;
    json_object_object_get_ex(body, r->name, &v);
    switch (r->kind) {
    case FK_TEXT:
        return js_get_string(body, r->name, false, 1, r->maxlen, &out->value[i], err);
    case FK_ENUM:
        return js_get_enum(body, r->name, false, r->allowed, &out->value[i], err);
    case FK_SLUG:
    case FK_TIMEZONE:
        rc = js_get_string(body, r->name, false, 1, 64, &out->value[i], err);
        if (rc == JS_OK && r->kind == FK_SLUG && !field_slug_valid(out->value[i]))
            return js_fail(err, r->name,
                           "field '%s': must be 1 to 32 of a-z, 0-9, '_' and '-', starting "
                           "with a letter or digit",
                           r->name);
        if (rc == JS_OK && r->kind == FK_TIMEZONE && !tz_valid(out->value[i]))
            return js_fail(err, r->name,
                           "field '%s': must be an IANA time-zone name such as "
                           "'America/New_York' or 'UTC'",
                           r->name);
        return rc;
    case FK_TIME:
    case FK_PAST_TIME:
        return parse_time(v, r, now, out, i, err);
    case FK_MONEY:
    case FK_MONEY_POS:
        rc = parse_money(v, r, out->buf[i], sizeof(out->buf[i]), err);
        if (rc == JS_OK)
            out->value[i] = out->buf[i];
        return rc;
    case FK_OBJECT: {
        size_t len = 0;
        if (!json_object_is_type(v, json_type_object))
            return js_fail(err, r->name, "field '%s': must be an object", r->name);
        out->value[i] = js_text(v, &len);
        if (len > FIELD_OBJECT_MAX)
            return js_fail(err, r->name, "field '%s': must be at most %d bytes of JSON", r->name,
                           FIELD_OBJECT_MAX);
        return JS_OK;
    }
    }
    return js_fail(err, r->name, "field '%s': unknown kind", r->name);
}

/* The default of rule i on create. */
static void
fill_default(const field_rule *r, int64_t now, field_values *out, int i)
{
    if (!r->def)
        return;
    if (r->kind == FK_TIME || r->kind == FK_PAST_TIME) {
        struct timespec ts = {.tv_sec = (time_t)now, .tv_nsec = 0};
        util_rfc3339(&ts, out->buf[i]);
        out->value[i] = out->buf[i];
        out->when[i] = now;
        return;
    }
    out->value[i] = r->def;
}

js_status
field_parse(json_object *body, const field_rule *rules, size_t n, bool create, int64_t now,
            field_values *out, js_err *err)
{
    const char *known[FIELD_MAX + 1];
    size_t given = 0;
    memset(out, 0, sizeof(*out));
    if (n > FIELD_MAX)
        return js_fail(err, "", "too many fields in the table");
    if (js_require_object(body, err) != JS_OK)
        return JS_INVALID;
    for (size_t i = 0; i < n; i++)
        known[i] = rules[i].name;
    known[n] = NULL;
    if (js_reject_unknown(body, known, err) != JS_OK)
        return JS_INVALID;
    for (size_t i = 0; i < n; i++) {
        const field_rule *r = &rules[i];
        json_object *v = NULL;
        bool present = json_object_object_get_ex(body, r->name, &v);
        if (present && !v && !create)
            return js_fail(err, r->name, "field '%s': cannot be null", r->name);
        if (!present || !v) {
            if (create && r->required)
                return js_fail(err, r->name, "field '%s': is required", r->name);
            if (create)
                fill_default(r, now, out, (int)i);
            continue;
        }
        if (parse_one(body, r, now, out, (int)i, err) != JS_OK)
            return JS_INVALID;
        out->has[i] = true;
        given++;
    }
    if (!create && given == 0)
        return js_fail(err, "", "nothing to change: give at least one field");
    return JS_OK;
}
