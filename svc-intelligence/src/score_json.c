/* score_json: a score_result in the API's shape (GET /clients/{id}/health):
 * {overall_score, health_status, factors:{name:{score, weight,
 * effective_weight, status, details}}, trend:{d7, d30}}. */
#include "score_json.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

#include "util.h"

/* A number with at most two decimals, written as such (json-c would print
 * 41.67 as 41.670000000000002). */
static json_object *
decimal(double x)
{
    char buf[32];
    snprintf(buf, sizeof(buf), "%.2f", x);
    char *end = buf + strlen(buf) - 1;
    while (end > buf && *end == '0')
        *end-- = '\0';
    if (*end == '.')
        *end = '\0';
    return json_object_new_double_s(x, buf);
}

static json_object *
detail_value(const score_detail *d)
{
    if (d->is_time) {
        if (d->value < 0)
            return NULL;
        struct timespec ts = {.tv_sec = (time_t)d->value, .tv_nsec = 0};
        char buf[UTIL_RFC3339_LEN + 1];
        util_rfc3339(&ts, buf);
        return json_object_new_string(buf);
    }
    if (d->is_int)
        return json_object_new_int64((int64_t)d->value);
    return decimal(d->value);
}

static json_object *
factor_json(const score_factor_result *f)
{
    json_object *o = json_object_new_object(), *details = json_object_new_object();
    json_object_object_add(o, "score", f->has_data ? json_object_new_int(f->score) : NULL);
    json_object_object_add(o, "weight", json_object_new_int(f->weight));
    json_object_object_add(o, "effective_weight", decimal(f->effective_weight));
    json_object_object_add(o, "status", json_object_new_string(f->has_data ? "ok" : "no_data"));
    for (size_t i = 0; i < f->ndetails; i++)
        json_object_object_add(details, f->details[i].name, detail_value(&f->details[i]));
    if (f->note)
        json_object_object_add(details, "reason", json_object_new_string(f->note));
    json_object_object_add(o, "details", details);
    return o;
}

json_object *
score_factors_json(const score_result *r)
{
    json_object *factors = json_object_new_object();
    for (int i = 0; i < SCORE_NFACTORS; i++)
        json_object_object_add(factors, score_factor_name((score_factor)i),
                               factor_json(&r->factors[i]));
    return factors;
}

json_object *
score_trend_json(const score_result *r)
{
    json_object *t = json_object_new_object();
    json_object_object_add(t, "d7", r->has_d7 ? json_object_new_int(r->trend_d7) : NULL);
    json_object_object_add(t, "d30", r->has_d30 ? json_object_new_int(r->trend_d30) : NULL);
    return t;
}
