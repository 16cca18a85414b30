/* http_decide: POST /decide (decide, keep, answer 201 with the kept
 * decision), GET /decisions and /decisions/{id}, and GET
 * /schedule/recommendations (the best daily slot per client for menu_sync
 * and health_check; computed, not kept). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "decide.h"
#include "decide_llm.h"
#include "decide_stats.h"
#include "http.h"
#include "log.h"
#include "util.h"

#define REQUESTED_BY_MAX 200

static store *
store_of(web_req *r)
{
    return intel_of(web_app(r))->store;
}

static bus *
bus_of(web_req *r)
{
    return app_bus(intel_of(web_app(r))->app);
}

/* The client's zone; UTC when its name no longer loads (it was checked when
 * the client was saved, so only a changed system database gets here). */
static const decide_zone *
zone_of(const char *name)
{
    const decide_zone *z = decide_zone_load(name);
    if (!z) {
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("timezone", name)), "time zone not loadable: UTC");
        z = decide_zone_load("UTC");
    }
    return z;
}

static void
facts_of(const store_decide_facts *sf, const decide_stats *ds, decide_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->zone = zone_of(sf->timezone);
    f->has_load = ds->has_load;
    memcpy(f->hourly_load, ds->hourly_load, sizeof(f->hourly_load));
    f->health = sf->health[0] ? sf->health : NULL;
    f->integrations = sf->integrations;
    f->unhealthy = sf->unhealthy;
    f->degraded = sf->degraded;
    f->failures_7d = sf->failures_7d;
    f->failures_24h = sf->failures_24h;
    f->last_error = sf->last_error[0] ? sf->last_error : NULL;
}

/* 422: the constraints leave no slot; the error names the constraint. */
static int
reply_empty(web_req *r, const decide_empty *e)
{
    json_object *o = json_object_new_object(), *err = json_object_new_object();
    json_object_object_add(err, "code", json_object_new_string("no_slot"));
    json_object_object_add(err, "message", json_object_new_string(e->message));
    json_object_object_add(err, "field", json_object_new_string(e->field));
    json_object_object_add(err, "request_id", json_object_new_string(web_request_id(r)));
    json_object_object_add(o, "error", err);
    return web_reply_json(r, 422, o);
}

static const char *
requested_by(web_req *r)
{
    const char *u = web_header(r, "X-User-Id");
    return u && u[0] && strlen(u) <= REQUESTED_BY_MAX && util_utf8_valid(u, strlen(u), NULL) ? u
                                                                                             : NULL;
}

static int
keep(web_req *r, const decide_request *q, json_object *body, json_object *resp,
     const decide_result *res)
{
    char conf[16];
    json_object *sched = NULL, *out = NULL;
    json_object_object_get_ex(resp, "scheduled_for", &sched);
    snprintf(conf, sizeof(conf), "%.2f", res->confidence);
    store_decision_in d = {q->client_id,
                           q->context,
                           q->job_type,
                           decide_kind_name(res->kind),
                           js_text(body, NULL),
                           js_text(resp, NULL),
                           json_object_get_string(sched),
                           conf,
                           requested_by(r)};
    store_status st = store_decision_save(store_of(r), &d, &out);
    json_object_put(resp);
    if (st != ST_OK) {
        char what[64];
        snprintf(what, sizeof(what), "client %s", q->client_id);
        return http_store_error(r, st, st == ST_NOT_FOUND ? what : "the decision", NULL);
    }
    json_object *id = NULL;
    json_object_object_get_ex(out, "id", &id);
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("decision_id", json_object_get_string(id)),
                       LF_STR("client_id", q->client_id), LF_STR("decision", d.decision)),
            "scheduling decision made");
    return web_reply_json(r, 201, out);
}

int
http_decide(web_req *r)
{
    json_object *body = web_body_json(r);
    decide_request q;
    store_decide_facts sf;
    decide_stats ds;
    decide_facts f;
    decide_empty empty;
    js_err je;
    char what[64];
    if (!body)
        return http_body_missing(r);
    if (decide_parse(body, http_now_ms() / 1000, &q, &je) != JS_OK)
        return web_reply_invalid(r, &je);
    store_status st = store_decide_facts_get(store_of(r), q.client_id, q.job_type, q.now, &sf);
    snprintf(what, sizeof(what), "client %s", q.client_id);
    if (st != ST_OK)
        return http_store_error(r, st, what, NULL);
    decide_stats_fetch(bus_of(r), q.now, &ds);
    int64_t *own = calloc(DECIDE_STATS_MAX, sizeof(*own));
    decide_result *res = malloc(sizeof(*res));
    int rc = 0;
    if (!own || !res) {
        rc = web_reply_error(r, 500, "internal", "out of memory");
        goto out;
    }
    facts_of(&sf, &ds, &f);
    f.own = own;
    f.nown = decide_stats_own(&ds, q.client_id, own, DECIDE_STATS_MAX);
    if (!decide_run(&q, &f, res, &empty)) {
        rc = reply_empty(r, &empty);
        goto out;
    }
    json_object *resp = decide_json(res, &f);
    decide_llm_rephrase(app_cfg(intel_of(web_app(r))->app), resp);
    rc = keep(r, &q, body, resp, res);
out:
    free(own);
    free(res);
    decide_stats_free(&ds);
    return rc;
}

int
http_decision_get(web_req *r)
{
    const char *id = http_client_id(r);
    json_object *out = NULL;
    char what[64];
    if (!id)
        return 0;
    store_status st = store_decision_get(store_of(r), id, &out);
    snprintf(what, sizeof(what), "decision %s", id);
    return st == ST_OK ? web_reply_json(r, 200, out) : http_store_error(r, st, what, NULL);
}

static bool
job_type_known(const char *s)
{
    for (size_t i = 0; decide_job_types[i]; i++)
        if (strcmp(s, decide_job_types[i]) == 0)
            return true;
    return false;
}

static bool
time_valid(const char *s)
{
    struct timespec ts;
    return util_rfc3339_parse(s, &ts) == 0;
}

int
http_decisions_list(web_req *r)
{
    long limit, offset;
    char cb[64], jb[40], sb[64];
    const char *client = NULL, *job_type = NULL, *since = NULL;
    json_object *page = NULL;
    if (!web_page(r, &limit, &offset)
        || !http_query(r, "client_id", cb, sizeof(cb), &client, util_uuid_valid, "must be a UUID")
        || !http_query(r, "job_type", jb, sizeof(jb), &job_type, job_type_known,
                       "must be a job type (see POST /decide)")
        || !http_query(r, "since", sb, sizeof(sb), &since, time_valid,
                       "must be an RFC 3339 timestamp"))
        return 0;
    store_status st =
        store_decision_list(store_of(r), client, job_type, since, limit, offset, &page);
    return st == ST_OK ? web_reply_json(r, 200, page) : http_store_error(r, st, "decisions", NULL);
}

/* {job_type: {local_time, timezone, next_at, score, reasoning}} for one
 * client: health_check first, then menu_sync kept clear of it. */
static json_object *
daily_of(json_object *client, const decide_stats *ds, int64_t now, int64_t *own)
{
    static const char *const types[] = {"health_check", "menu_sync"};
    json_object *id = NULL, *tz = NULL, *out = json_object_new_object();
    json_object_object_get_ex(client, "id", &id);
    json_object_object_get_ex(client, "timezone", &tz);
    decide_facts f = {.zone = zone_of(json_object_get_string(tz)), .has_load = ds->has_load};
    memcpy(f.hourly_load, ds->hourly_load, sizeof(f.hourly_load));
    f.own = own;
    f.nown = decide_stats_own(ds, json_object_get_string(id), own, DECIDE_STATS_MAX);
    decide_daily d[2];
    for (size_t t = 0; t < 2; t++) {
        char hhmm[24], next[UTIL_RFC3339_LEN + 1];
        struct timespec ts;
        decide_best_daily(types[t], now, &f, t ? &d[0] : NULL, &d[t]);
        ts = (struct timespec){.tv_sec = (time_t)d[t].next, .tv_nsec = 0};
        util_rfc3339(&ts, next);
        snprintf(hhmm, sizeof(hhmm), "%02d:%02d", d[t].local / 60, d[t].local % 60);
        json_object *o = json_object_new_object();
        json_object_object_add(o, "local_time", json_object_new_string(hhmm));
        json_object_object_add(o, "timezone", json_object_new_string(decide_zone_name(f.zone)));
        json_object_object_add(o, "next_at", json_object_new_string(next));
        json_object_object_add(o, "score", decide_number(d[t].score, 1));
        json_object_object_add(o, "reasoning", json_object_new_string(d[t].reasoning));
        json_object_object_add(out, types[t], o);
    }
    json_object_object_add(out, "load_data", json_object_new_boolean(ds->has_load));
    return out;
}

int
http_schedule_recommendations(web_req *r)
{
    long limit, offset;
    char cb[64];
    const char *client = NULL;
    json_object *page = NULL, *items = NULL;
    if (!web_page(r, &limit, &offset)
        || !http_query(r, "client_id", cb, sizeof(cb), &client, util_uuid_valid, "must be a UUID"))
        return 0;
    store_status st = store_schedule_clients(store_of(r), client, limit, offset, &page);
    if (st != ST_OK) {
        char what[64];
        snprintf(what, sizeof(what), "client %s", client ? client : "");
        return http_store_error(r, st, client ? what : "clients", NULL);
    }
    int64_t now = http_now_ms() / 1000, *own = calloc(DECIDE_STATS_MAX, sizeof(*own));
    if (!own) {
        json_object_put(page);
        return web_reply_error(r, 500, "internal", "out of memory");
    }
    decide_stats ds;
    decide_stats_fetch(bus_of(r), now, &ds);
    json_object_object_get_ex(page, "items", &items);
    for (size_t i = 0; i < json_object_array_length(items); i++) {
        json_object *c = json_object_array_get_idx(items, i), *id = NULL;
        json_object *daily = daily_of(c, &ds, now, own);
        json_object_object_get_ex(c, "id", &id);
        json_object_object_add(c, "client_id", json_object_get(id));
        json_object_object_del(c, "id");
        json_object_object_add(c, "recommendations", daily);
    }
    free(own);
    decide_stats_free(&ds);
    return web_reply_json(r, 200, page);
}
