/* testlib_jobs: see testlib_jobs.h. */
#include "testlib_jobs.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <json-c/json.h>

#include "testlib.h"
#include "util.h"

/* Static: the subscriptions outlive each test (bus.h cannot unsubscribe). */
static tl_fa g_fa[16];
static int g_nfa;

static void
fa_record(tl_fa_rec *r, json_object *doc, const char *text, bus_msg *m)
{
    json_object *v = NULL;
    const char *hdr = bus_msg_header(m, "X-Request-Id");

    if (json_object_object_get_ex(doc, "job_id", &v))
        util_strlcpy(r->job_id, json_object_get_string(v), sizeof(r->job_id));
    r->progress = json_object_object_get_ex(doc, "progress", &v) ? json_object_get_int(v) : -1;
    util_strlcpy(r->body, text, sizeof(r->body));
    util_strlcpy(r->rid, hdr != NULL ? hdr : "", sizeof(r->rid));
    r->at_ns = util_mono_ns();
}

/* The answer {"ok":true (with ok), "jobs":[up to max of the queued jobs]}. */
static const char *
fa_hand_out(tl_fa *f, int max, bool ok)
{
    json_object *out = json_object_new_object(), *arr = json_object_new_array();
    static __thread char buf[4096];

    if (ok)
        json_object_object_add(out, "ok", json_object_new_boolean(true));
    for (; max > 0 && f->next_job < f->njobs; max--, f->next_job++) {
        json_object *j = json_object_new_object();
        int i = f->next_job;

        json_object_object_add(j, "id", json_object_new_string(f->job_id[i]));
        json_object_object_add(j, "job_type", json_object_new_string("menu_sync"));
        json_object_object_add(j, "client_id", json_object_new_string("c-1"));
        json_object_object_add(j, "config", json_tokener_parse(f->job_config[i]));
        json_object_object_add(j, "attempt", json_object_new_int(2));
        json_object_object_add(j, "lease_expires_at",
                               json_object_new_string("2026-11-22T10:00:30.000Z"));
        json_object_array_add(arr, j);
    }
    json_object_object_add(out, "jobs", arr);
    util_strlcpy(buf, json_object_to_json_string_ext(out, JSON_C_TO_STRING_PLAIN), sizeof(buf));
    json_object_put(out);
    return buf;
}

/* jobs.claim: up to max of the queued jobs. */
static const char *
fa_claim(tl_fa *f, json_object *doc, const char *text)
{
    json_object *v = NULL;
    int max = json_object_object_get_ex(doc, "max", &v) ? json_object_get_int(v) : 0;

    if (f->nclaim < TL_FA_MAX) {
        f->claim_max[f->nclaim] = max;
        f->claim_ns[f->nclaim] = util_mono_ns();
    }
    if (f->nclaim++ == 0)
        util_strlcpy(f->claim_body, text, sizeof(f->claim_body));
    return fa_hand_out(f, max, false);
}

static void
fa_on_msg(bus_msg *m, void *ud)
{
    tl_fa *f = ud;
    size_t len = 0;
    const char *data = bus_msg_data(m, &len);
    const char *subj = bus_msg_subject(m) + strlen(f->prefix);
    const char *reply = "{\"ok\":true}";
    char text[1024];
    json_object *doc;

    snprintf(text, sizeof(text), "%.*s", (int)len, data);
    doc = json_tokener_parse(text);
    pthread_mutex_lock(&f->mu);
    if (strcmp(subj, "jobs.claim") == 0 && f->claim_unparsed) {
        f->nclaim++;
        reply = "{\"error\":{\"code\":\"unavailable\",\"message\":\"db\"}}";
    } else if (strcmp(subj, "jobs.claim") == 0) {
        reply = fa_claim(f, doc, text);
    } else if (strcmp(subj, "jobs.progress") == 0) {
        if (f->nprog < TL_FA_MAX)
            fa_record(&f->prog[f->nprog], doc, text, m);
        f->nprog++;
        reply = f->reject   ? "{\"ok\":false,\"cancel_requested\":false,"
                              "\"error\":{\"code\":\"conflict\",\"message\":\"stale\"}}"
                : f->cancel ? "{\"ok\":true,\"cancel_requested\":true}"
                            : "{\"ok\":true,\"cancel_requested\":false}";
    } else if (strcmp(subj, "jobs.complete") == 0) {
        json_object *claim = NULL, *v = NULL;

        if (f->ncomplete < TL_FA_MAX)
            fa_record(&f->complete[f->ncomplete], doc, text, m);
        f->ncomplete++;
        /* The claim that may come with a completion, as svc-automation does. */
        if (json_object_object_get_ex(doc, "claim", &claim)) {
            f->ncomplete_claim++;
            reply = fa_hand_out(
                f, json_object_object_get_ex(claim, "max", &v) ? json_object_get_int(v) : 0, true);
        }
    } else if (strcmp(subj, "jobs.release") == 0) {
        if (f->nrelease < TL_FA_MAX)
            fa_record(&f->release[f->nrelease], doc, text, m);
        f->nrelease++;
    }
    pthread_cond_broadcast(&f->cv);
    pthread_mutex_unlock(&f->mu);
    json_object_put(doc);
    bus_respond(m, reply, strlen(reply));
}

tl_fa *
tl_fa_new(bus *b)
{
    tl_fa *f;

    assert_true(g_nfa < (int)(sizeof(g_fa) / sizeof(g_fa[0])));
    f = &g_fa[g_nfa];
    pthread_mutex_init(&f->mu, NULL);
    pthread_cond_init(&f->cv, NULL);
    f->bus = b;
    snprintf(f->prefix, sizeof(f->prefix), "t%ld.w%d.", (long)getpid(), g_nfa);
    g_nfa++;
    return f;
}

/* Answer the job subjects from now on. */
void
tl_fa_listen(tl_fa *f)
{
    static const char *const subs[] = {"jobs.claim", "jobs.progress", "jobs.complete",
                                       "jobs.release"};

    for (size_t i = 0; i < 4; i++) {
        char s[96];

        snprintf(s, sizeof(s), "%s%s", f->prefix, subs[i]);
        assert_int_equal(bus_subscribe(f->bus, s, NULL, fa_on_msg, f), BUS_OK);
    }
    assert_int_equal(bus_ping(f->bus, TL_WAIT_MS, NULL), BUS_OK);
}

/* Queue a job whose config is cfg; returns its index. */
int
tl_fa_add(tl_fa *f, const char *cfg)
{
    int i;

    pthread_mutex_lock(&f->mu);
    i = f->njobs++;
    assert_true(i < TL_FA_JOBS);
    assert_int_equal(util_uuid_v4(f->job_id[i]), 0);
    util_strlcpy(f->job_config[i], cfg, sizeof(f->job_config[i]));
    pthread_mutex_unlock(&f->mu);
    return i;
}

/* Whether *counter reaches n within ms. */
bool
tl_fa_wait(tl_fa *f, const int *counter, int n, int ms)
{
    int64_t deadline = tl_deadline(ms);
    bool ok;

    pthread_mutex_lock(&f->mu);
    while (*counter < n && util_mono_ns() < deadline) {
        pthread_mutex_unlock(&f->mu);
        tl_pause_ms(5);
        pthread_mutex_lock(&f->mu);
    }
    ok = *counter >= n;
    pthread_mutex_unlock(&f->mu);
    return ok;
}

int
tl_fa_count(tl_fa *f, const tl_fa_rec *recs, int n, const char *job_id)
{
    int c = 0;

    pthread_mutex_lock(&f->mu);
    for (int i = 0; i < n && i < TL_FA_MAX; i++)
        c += strcmp(recs[i].job_id, job_id) == 0;
    pthread_mutex_unlock(&f->mu);
    return c;
}
