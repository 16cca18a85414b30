/* events_msg: parse and check the events svc-intelligence keeps; see
 * events_msg.h. One function per kind, each filling the parameters of its
 * statement in the order of store_sql_events.c. */
#include "events_msg.h"

#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

#define EV_MIN_TIME 946684800  /* 2000-01-01T00:00:00Z */
#define EV_MAX_TIME 4102444800 /* 2100-01-01T00:00:00Z */
#define EV_NAME_MAX 100        /* run ids, business ids, providers, job types */
#define EV_WHO_MAX  200        /* an activity's actor and action */
#define EV_BIG      4000000000000000000LL

static const char *const kind_names[EV_NKINDS] = {
    [EV_JOB] = "job",     [EV_HEALTH] = "health",     [EV_SYNC] = "sync",
    [EV_USAGE] = "usage", [EV_ACTIVITY] = "activity",
};

static const char *const job_statuses[] = {"pending", "queued",    "running", "completed",
                                           "failed",  "cancelled", NULL};
static const char *const check_statuses[] = {"healthy", "degraded", "unhealthy", NULL};
static const char *const sync_statuses[] = {"completed", "failed", "partial", NULL};

const char *
evmsg_kind_name(ev_kind k)
{
    return k < EV_NKINDS ? kind_names[k] : "?";
}

bool
evmsg_decimal_valid(const char *s, size_t whole, size_t frac)
{
    size_t w = 0, f = 0;
    const char *p = s;
    for (; *p >= '0' && *p <= '9'; p++)
        w++;
    if (w == 0 || w > whole)
        return false;
    if (*p == '.') {
        for (p++; *p >= '0' && *p <= '9'; p++)
            f++;
        if (f == 0 || f > frac)
            return false;
    }
    return *p == '\0';
}

/* The next parameter. */
static void
param(ev_msg *m, const char *v)
{
    m->p[m->np++] = v;
}

/* The next parameter, written into the message's own buffer. */
static char *
param_buf(ev_msg *m)
{
    char *b = m->buf[m->np];
    m->p[m->np++] = b;
    return b;
}

static js_status
type_is(json_object *doc, const char *want, js_err *err)
{
    const char *t = NULL;
    if (js_get_string(doc, "type", true, 1, 64, &t, err) != JS_OK)
        return JS_INVALID;
    return strcmp(t, want) == 0 ? JS_OK : js_fail(err, "type", "field 'type': must be '%s'", want);
}

static js_status
text(json_object *doc, const char *field, bool required, size_t max, ev_msg *m, js_err *err)
{
    const char *s = NULL;
    js_status rc = js_get_string(doc, field, required, 1, max, &s, err);
    if (rc == JS_INVALID)
        return rc;
    param(m, rc == JS_OK ? s : NULL);
    return JS_OK;
}

static js_status
uuid(json_object *doc, const char *field, bool required, ev_msg *m, js_err *err)
{
    const char *s = NULL;
    js_status rc = js_get_uuid(doc, field, required, &s, err);
    if (rc == JS_INVALID)
        return rc;
    param(m, rc == JS_OK ? s : NULL);
    return JS_OK;
}

/* A required time, normalised to RFC 3339 UTC with milliseconds; m->at. */
static js_status
when(json_object *doc, const char *field, ev_msg *m, js_err *err)
{
    const char *s = NULL;
    struct timespec ts;
    if (js_get_time(doc, field, true, &s, err) != JS_OK)
        return JS_INVALID;
    util_rfc3339_parse(s, &ts);
    if (ts.tv_sec < EV_MIN_TIME || ts.tv_sec >= EV_MAX_TIME)
        return js_fail(err, field, "field '%s': must be between 2000 and 2100", field);
    util_rfc3339(&ts, param_buf(m));
    m->at = ts.tv_sec;
    return JS_OK;
}

static js_status
integer(json_object *doc, const char *field, bool required, long long min, long long max, ev_msg *m,
        js_err *err)
{
    long long v = 0;
    js_status rc = js_get_int(doc, field, required, min, max, &v, err);
    if (rc == JS_INVALID)
        return rc;
    if (rc == JS_ABSENT) {
        param(m, NULL);
        return JS_OK;
    }
    snprintf(param_buf(m), sizeof(m->buf[0]), "%lld", v);
    return JS_OK;
}

static js_status
enumerated(json_object *doc, const char *field, const char *const *allowed, ev_msg *m, js_err *err)
{
    const char *s = NULL;
    if (js_get_enum(doc, field, true, allowed, &s, err) != JS_OK)
        return JS_INVALID;
    param(m, s);
    return JS_OK;
}

/* An error text: a string, or an object with a string "message" (svc-
 * automation's form); cut to EV_TEXT_MAX bytes at a character boundary.
 * Anything else is kept as no text: an outcome is not lost over the form of
 * its error. */
static js_status
error_text(json_object *doc, const char *field, ev_msg *m)
{
    json_object *v = NULL, *msg = NULL;
    const char *s = NULL;
    json_object_object_get_ex(doc, field, &v);
    if (json_object_is_type(v, json_type_object) && json_object_object_get_ex(v, "message", &msg))
        v = msg;
    if (!json_object_is_type(v, json_type_string)) {
        param(m, NULL);
        return JS_OK;
    }
    s = json_object_get_string(v);
    size_t n = strlen(s);
    if (n > EV_TEXT_MAX) {
        n = EV_TEXT_MAX;
        while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
            n--;
    }
    memcpy(m->text, s, n);
    m->text[n] = '\0';
    param(m, m->text);
    return JS_OK;
}

/* An object of at most EV_OBJECT_MAX bytes as JSON text; "{}" when absent. */
static js_status
object_text(json_object *doc, const char *field, ev_msg *m, js_err *err)
{
    json_object *o = NULL;
    size_t len = 0;
    js_status rc = js_get_object(doc, field, false, &o, err);
    if (rc == JS_INVALID)
        return rc;
    const char *t = rc == JS_OK ? js_text(o, &len) : "{}";
    if (len > EV_OBJECT_MAX)
        return js_fail(err, field, "field '%s': must be at most %d bytes of JSON", field,
                       EV_OBJECT_MAX);
    param(m, t);
    return JS_OK;
}

/* Money-like figure: a string or a number taken as written. */
static js_status
decimal(json_object *doc, const char *field, bool required, size_t whole, size_t frac, ev_msg *m,
        js_err *err)
{
    json_object *v = NULL;
    const char *t = NULL;
    if (!json_object_object_get_ex(doc, field, &v) || v == NULL) {
        if (required)
            return js_fail(err, field, "field '%s': is required", field);
        param(m, NULL);
        return JS_OK;
    }
    if (json_object_is_type(v, json_type_string))
        t = json_object_get_string(v);
    else if (json_object_is_type(v, json_type_int) || json_object_is_type(v, json_type_double))
        t = js_text(v, NULL);
    if (!t || strlen(t) >= sizeof(m->buf[0]) || !evmsg_decimal_valid(t, whole, frac))
        return js_fail(err, field,
                       "field '%s': must be an amount of at least 0 with at most %zu digits "
                       "before the point and %zu after",
                       field, whole, frac);
    memcpy(param_buf(m), t, strlen(t) + 1);
    return JS_OK;
}

static js_status
parse_job(json_object *d, ev_msg *m, js_err *err)
{
    if (type_is(d, "job_update", err) || uuid(d, "job_id", true, m, err)
        || uuid(d, "client_id", true, m, err) || text(d, "job_type", true, 64, m, err)
        || enumerated(d, "status", job_statuses, m, err)
        || integer(d, "attempt", true, 0, 1000000, m, err) || error_text(d, "error", m)
        || integer(d, "seq", true, 1, EV_BIG, m, err) || when(d, "updated_at", m, err))
        return JS_INVALID;
    long long progress = 0;
    if (js_get_int(d, "progress", false, 0, 100, &progress, err) == JS_INVALID)
        return JS_INVALID;
    const char *st = m->p[3];
    m->keep =
        strcmp(st, "completed") == 0 || strcmp(st, "failed") == 0 || strcmp(st, "cancelled") == 0;
    m->subject = m->p[0];
    m->client_id = m->p[1];
    return JS_OK;
}

static js_status
parse_health(json_object *d, ev_msg *m, js_err *err)
{
    if (type_is(d, "toast_health", err) || uuid(d, "id", true, m, err)
        || uuid(d, "integration_id", true, m, err) || uuid(d, "client_id", true, m, err)
        || enumerated(d, "status", check_statuses, m, err)
        || integer(d, "total_ms", false, 0, 86400000, m, err) || error_text(d, "error", m)
        || when(d, "checked_at", m, err))
        return JS_INVALID;
    m->subject = m->p[1];
    m->client_id = m->p[2];
    return JS_OK;
}

static js_status
parse_sync(json_object *d, ev_msg *m, js_err *err)
{
    if (type_is(d, "sync_run", err) || text(d, "run_id", true, EV_NAME_MAX, m, err)
        || text(d, "source_type", true, 64, m, err) || uuid(d, "client_id", false, m, err)
        || enumerated(d, "status", sync_statuses, m, err) || object_text(d, "counts", m, err)
        || error_text(d, "error", m) || when(d, "finished_at", m, err))
        return JS_INVALID;
    m->subject = m->p[0];
    m->client_id = m->p[2];
    return JS_OK;
}

/* "YYYY-MM" with a month 01-12. */
static js_status
period(json_object *d, ev_msg *m, js_err *err)
{
    const char *s = NULL;
    if (js_get_string(d, "period", true, 7, 7, &s, err) != JS_OK)
        return JS_INVALID;
    bool ok = s[4] == '-';
    for (int i = 0; i < 7; i++)
        ok = ok && (i == 4 || isdigit((unsigned char)s[i]));
    int month = ok ? (s[5] - '0') * 10 + (s[6] - '0') : 0;
    if (!ok || month < 1 || month > 12 || strncmp(s, "2000", 4) < 0 || strncmp(s, "2100", 4) >= 0)
        return js_fail(err, "period",
                       "field 'period': must be a month YYYY-MM between 2000 and "
                       "2099");
    param(m, s);
    return JS_OK;
}

static js_status
parse_usage(json_object *d, ev_msg *m, js_err *err)
{
    if (type_is(d, "provider_usage", err) || text(d, "business_id", true, EV_NAME_MAX, m, err)
        || text(d, "provider", true, EV_NAME_MAX, m, err) || period(d, m, err)
        || uuid(d, "client_id", false, m, err) || integer(d, "tokens", true, 0, EV_BIG, m, err)
        || integer(d, "requests", true, 0, EV_BIG, m, err)
        || decimal(d, "cost", true, 10, 4, m, err) || decimal(d, "budget", false, 12, 2, m, err)
        || when(d, "reported_at", m, err))
        return JS_INVALID;
    m->subject = m->p[0];
    m->client_id = m->p[3];
    return JS_OK;
}

static js_status
parse_activity(json_object *d, ev_msg *m, js_err *err)
{
    if (type_is(d, "activity", err) || uuid(d, "id", true, m, err)
        || uuid(d, "client_id", true, m, err) || text(d, "actor", true, EV_WHO_MAX, m, err)
        || text(d, "action", true, EV_WHO_MAX, m, err) || when(d, "occurred_at", m, err)
        || object_text(d, "details", m, err))
        return JS_INVALID;
    m->subject = m->p[0];
    m->client_id = m->p[1];
    return JS_OK;
}

js_status
evmsg_parse(ev_kind k, const char *data, size_t len, ev_msg *m, js_err *err)
{
    static js_status (*const parsers[EV_NKINDS])(json_object *, ev_msg *, js_err *) = {
        [EV_JOB] = parse_job,     [EV_HEALTH] = parse_health,     [EV_SYNC] = parse_sync,
        [EV_USAGE] = parse_usage, [EV_ACTIVITY] = parse_activity,
    };
    json_object *doc = NULL;
    memset(m, 0, sizeof(*m));
    m->kind = k;
    m->keep = true;
    if (k >= EV_NKINDS)
        return js_fail(err, "", "unknown event kind");
    if (len > EV_MAX_BYTES)
        return js_fail(err, "", "event larger than %d bytes", EV_MAX_BYTES);
    if (js_parse(data, len, &doc, err) != JS_OK)
        return JS_INVALID;
    if (js_require_object(doc, err) != JS_OK || parsers[k](doc, m, err) != JS_OK) {
        json_object_put(doc);
        memset(m, 0, sizeof(*m));
        return JS_INVALID;
    }
    m->doc = doc;
    return JS_OK;
}

void
evmsg_free(ev_msg *m)
{
    if (!m)
        return;
    json_object_put(m->doc);
    m->doc = NULL;
}
