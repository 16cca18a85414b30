/* report: arrange and render a client health report; see report.h. */
#include "report.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "score.h"
#include "util.h"

static void
put(report_buf *b, const char *s, size_t n)
{
    if (b->failed)
        return;
    if (b->len + n + 1 > b->cap) {
        size_t cap = b->cap ? b->cap : 4096;
        while (cap < b->len + n + 1)
            cap *= 2;
        if (cap > REPORT_CSV_MAX + 1) {
            b->failed = true;
            return;
        }
        char *p = realloc(b->data, cap);
        if (!p) {
            b->failed = true;
            return;
        }
        b->data = p;
        b->cap = cap;
    }
    memcpy(b->data + b->len, s, n);
    b->len += n;
    b->data[b->len] = '\0';
}

void
report_buf_free(report_buf *b)
{
    free(b->data);
    memset(b, 0, sizeof(*b));
}

void
report_csv_cell(report_buf *b, const char *s, bool text)
{
    if (!s)
        s = "";
    bool guard = text && s[0] && strchr("=+-@\t\r", s[0]);
    bool quote = strpbrk(s, ",\"\r\n") != NULL;
    if (quote)
        put(b, "\"", 1);
    if (guard)
        put(b, "'", 1);
    for (const char *p = s; *p;) {
        const char *q = quote ? strchr(p, '"') : NULL;
        size_t n = q ? (size_t)(q - p) + 1 : strlen(p);
        put(b, p, n);
        if (q)
            put(b, "\"", 1); /* the quote doubled */
        p += n;
    }
    if (quote)
        put(b, "\"", 1);
}

/* One value as a cell: null empty, strings as text, the rest as JSON. */
static void
value_cell(report_buf *b, json_object *v)
{
    if (!v)
        report_csv_cell(b, "", false);
    else if (json_object_is_type(v, json_type_string))
        report_csv_cell(b, json_object_get_string(v), true);
    else
        report_csv_cell(b, json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN), false);
}

static json_object *
get(json_object *o, const char *key)
{
    json_object *v = NULL;
    return o && json_object_object_get_ex(o, key, &v) ? v : NULL;
}

static void
row(report_buf *b, const char *section, const char *item, const char *field, json_object *v)
{
    report_csv_cell(b, section, false);
    put(b, ",", 1);
    report_csv_cell(b, item, true);
    put(b, ",", 1);
    report_csv_cell(b, field, false);
    put(b, ",", 1);
    value_cell(b, v);
    put(b, "\r\n", 2);
}

/* A row per field of o (in the order of fields). */
static void
rows(report_buf *b, const char *section, const char *item, json_object *o,
     const char *const *fields)
{
    for (size_t i = 0; fields[i]; i++)
        row(b, section, item, fields[i], get(o, fields[i]));
}

static void
score_rows(report_buf *b, json_object *latest)
{
    static const char *const factor_fields[] = {"score", "status", "weight", "effective_weight",
                                                NULL};
    if (!latest)
        return;
    row(b, "score", "", "overall_score", get(latest, "overall_score"));
    row(b, "score", "", "health_status", get(latest, "health_status"));
    row(b, "score", "", "trend_d7", get(get(latest, "trend"), "d7"));
    row(b, "score", "", "trend_d30", get(get(latest, "trend"), "d30"));
    row(b, "score", "", "computed_at", get(latest, "computed_at"));
    for (int f = 0; f < SCORE_NFACTORS; f++) {
        const char *name = score_factor_name((score_factor)f);
        json_object *fo = get(get(latest, "factors"), name);
        if (fo)
            rows(b, "factor", name, fo, factor_fields);
    }
}

static void
history_rows(report_buf *b, json_object *history)
{
    for (size_t i = 0; i < json_object_array_length(history); i++) {
        json_object *h = json_object_array_get_idx(history, i);
        const char *at = json_object_get_string(get(h, "computed_at"));
        row(b, "history", at, "overall_score", get(h, "overall_score"));
        row(b, "history", at, "health_status", get(h, "health_status"));
        for (int f = 0; f < SCORE_NFACTORS; f++) {
            const char *name = score_factor_name((score_factor)f);
            json_object *fo = get(get(h, "factors"), name);
            if (fo || get(h, "factors"))
                row(b, "history", at, name, fo);
        }
    }
}

static void
list_rows(report_buf *b, const char *section, json_object *list, const char *const *fields)
{
    for (size_t i = 0; i < json_object_array_length(list); i++) {
        json_object *o = json_object_array_get_idx(list, i);
        rows(b, section, json_object_get_string(get(o, "id")), o, fields);
    }
}

char *
report_csv(json_object *doc)
{
    static const char *const client_fields[] = {
        "id", "name", "timezone", "plan", "status", "monthly_revenue", NULL};
    static const char *const window_fields[] = {"days", "from", "to", NULL};
    static const char *const alert_fields[] = {"type",   "severity",   "subject",     "message",
                                               "status", "created_at", "resolved_at", NULL};
    static const char *const rec_fields[] = {"type",   "title",      "impact",     "confidence",
                                             "status", "created_at", "decided_at", NULL};
    report_buf b = {0};
    put(&b, "section,item,field,value\r\n", 26);
    rows(&b, "client", "", get(doc, "client"), client_fields);
    rows(&b, "window", "", get(doc, "window"), window_fields);
    row(&b, "report", "", "generated_at", get(doc, "generated_at"));
    score_rows(&b, get(doc, "latest_score"));
    history_rows(&b, get(doc, "history"));
    list_rows(&b, "alert", get(doc, "alerts"), alert_fields);
    list_rows(&b, "recommendation", get(doc, "recommendations"), rec_fields);
    if (b.failed) {
        report_buf_free(&b);
        return NULL;
    }
    return b.data;
}

static json_object *
time_json(int64_t ms)
{
    char buf[UTIL_RFC3339_LEN + 1];
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    util_rfc3339(&ts, buf);
    return json_object_new_string(buf);
}

/* A reference to data's part, or an empty array for a missing list. */
static json_object *
part(json_object *data, const char *key, bool list)
{
    json_object *v = get(data, key);
    if (v)
        return json_object_get(v);
    return list ? json_object_new_array() : NULL;
}

json_object *
report_build(json_object *data, int64_t now_ms, int days)
{
    json_object *doc = json_object_new_object(), *window = json_object_new_object();
    json_object_object_add(window, "days", json_object_new_int(days));
    json_object_object_add(window, "from", time_json(now_ms - (int64_t)days * SCORE_DAY * 1000));
    json_object_object_add(window, "to", time_json(now_ms));
    json_object_object_add(doc, "client", part(data, "client", false));
    json_object_object_add(doc, "window", window);
    json_object_object_add(doc, "generated_at", time_json(now_ms));
    json_object_object_add(doc, "latest_score", part(data, "latest", false));
    json_object_object_add(doc, "history", part(data, "history", true));
    json_object_object_add(doc, "alerts", part(data, "alerts", true));
    json_object_object_add(doc, "recommendations", part(data, "recommendations", true));
    return doc;
}
