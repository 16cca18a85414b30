/* decide (the scheduling decision engine of issue 6) on a fixed `now` and
 * known load: the preferred slot wins, avoided windows are never chosen,
 * service hours are avoided, windows across midnight, a duration running
 * into a window, not_before/not_after, DST changes in America/New_York and
 * Europe/London, the constraint that empties the week, confidence and
 * risks; the request's checks; the zone offsets themselves. */
#include <sys/stat.h>

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "decide.h"
#include "util.h"

static int64_t
at(const char *s)
{
    struct timespec ts;
    assert_int_equal(util_rfc3339_parse(s, &ts), 0);
    return ts.tv_sec;
}

static decide_facts
facts(const char *zone)
{
    decide_facts f;
    memset(&f, 0, sizeof(f));
    f.zone = decide_zone_load(zone);
    assert_non_null(f.zone);
    f.has_load = true;
    for (int h = 0; h < 24; h++)
        f.hourly_load[h] = 1.0; /* flat: load ranks no hour above another */
    f.health = "healthy";
    return f;
}

static decide_request
request(const char *now)
{
    decide_request q;
    memset(&q, 0, sizeof(q));
    q.context = "test";
    q.client_id = "6f1c2a4e-7a7e-4d61-9a53-3c2f4c0e1b01";
    q.duration = DECIDE_DEF_DURATION;
    q.now = at(now);
    return q;
}

static void
prefer(decide_request *q, const char *hhmm)
{
    q->preferred[q->npreferred++] = decide_parse_hhmm(hhmm);
}

static void
avoid(decide_request *q, const char *from, const char *to)
{
    q->avoid[q->navoid++] = (decide_window){decide_parse_hhmm(from), decide_parse_hhmm(to)};
}

static decide_result
run(const decide_request *q, const decide_facts *f)
{
    decide_result r;
    decide_empty e;
    assert_true(decide_run(q, f, &r, &e));
    return r;
}

/* The local minute of the day of slot s. */
static int
local(const decide_slot *s)
{
    return s->local;
}

static void
assert_at(int64_t got, const char *want)
{
    if (got != at(want)) {
        char buf[UTIL_RFC3339_LEN + 1];
        struct timespec ts = {.tv_sec = (time_t)got};
        util_rfc3339(&ts, buf);
        fail_msg("got %s, want %s", buf, want);
    }
}

/* The "local_time" of the result's JSON. */
static void
assert_local(const decide_result *r, const decide_facts *f, const char *want)
{
    json_object *o = decide_json(r, f), *v = NULL;
    assert_true(json_object_object_get_ex(o, "local_time", &v));
    assert_string_equal(json_object_get_string(v), want);
    json_object_put(o);
}

static void
test_zone_offsets(void **state)
{
    (void)state;
    const decide_zone *ny = decide_zone_load("America/New_York");
    const decide_zone *lon = decide_zone_load("Europe/London");
    const decide_zone *syd = decide_zone_load("Australia/Sydney");
    assert_non_null(ny);
    assert_non_null(lon);
    assert_non_null(syd);
    assert_ptr_equal(decide_zone_load("America/New_York"), ny); /* cached */
    assert_null(decide_zone_load("Nowhere/Atlantis"));
    assert_null(decide_zone_load("../etc/passwd"));
    assert_int_equal(decide_zone_offset(ny, at("2027-03-14T06:59:59Z")), -5 * 3600);
    assert_int_equal(decide_zone_offset(ny, at("2027-03-14T07:00:00Z")), -4 * 3600);
    assert_int_equal(decide_zone_offset(ny, at("2026-11-01T05:59:59Z")), -4 * 3600);
    assert_int_equal(decide_zone_offset(ny, at("2026-11-01T06:00:00Z")), -5 * 3600);
    assert_int_equal(decide_zone_offset(lon, at("2026-10-25T00:59:59Z")), 3600);
    assert_int_equal(decide_zone_offset(lon, at("2026-10-25T01:00:00Z")), 0);
    assert_int_equal(decide_zone_offset(syd, at("2026-07-01T00:00:00Z")), 10 * 3600);
    assert_int_equal(decide_zone_offset(syd, at("2027-01-01T00:00:00Z")), 11 * 3600);
    /* Beyond the files' tables (2037): the footer's POSIX rule. */
    assert_int_equal(decide_zone_offset(ny, at("2045-03-12T06:59:59Z")), -5 * 3600);
    assert_int_equal(decide_zone_offset(ny, at("2045-03-12T07:00:00Z")), -4 * 3600);
    assert_int_equal(decide_zone_offset(ny, at("2045-11-05T06:00:00Z")), -5 * 3600);
    assert_int_equal(decide_zone_offset(lon, at("2045-03-26T01:00:00Z")), 3600);
    assert_int_equal(decide_zone_offset(syd, at("2045-04-01T15:59:59Z")), 11 * 3600);
    assert_int_equal(decide_zone_offset(syd, at("2045-04-01T16:00:00Z")), 10 * 3600);
    assert_int_equal(decide_zone_offset(decide_zone_load("UTC"), at("2026-07-01T00:00:00Z")), 0);
}

static const char *const thread_zones[] = {"Asia/Kolkata", "America/Sao_Paulo", "Pacific/Chatham",
                                           "Africa/Cairo", "Europe/Berlin"};

/* Load the zones and read offsets, from many threads at once. */
static void *
load_zones(void *arg)
{
    const decide_zone **out = arg;
    for (int round = 0; round < 50; round++)
        for (size_t i = 0; i < 5; i++) {
            const decide_zone *z = decide_zone_load(thread_zones[i]);
            if (!z || (out[i] && out[i] != z))
                return (void *)1;
            out[i] = z;
            if (decide_zone_offset(z, 1790000000 + round * 86400) % 900 != 0)
                return (void *)1;
        }
    return NULL;
}

/* The cache hands every thread the same zone, parsed once. */
static void
test_zone_threads(void **state)
{
    (void)state;
    pthread_t th[8];
    const decide_zone *seen[8][5];
    memset(seen, 0, sizeof(seen));
    for (int i = 0; i < 8; i++)
        assert_int_equal(pthread_create(&th[i], NULL, load_zones, seen[i]), 0);
    for (int i = 0; i < 8; i++) {
        void *rc = NULL;
        assert_int_equal(pthread_join(th[i], &rc), 0);
        assert_null(rc);
    }
    for (int i = 1; i < 8; i++)
        assert_memory_equal(seen[i], seen[0], sizeof(seen[0]));
    assert_int_equal(decide_zone_offset(seen[0][0], at("2026-07-01T00:00:00Z")), 5 * 3600 + 1800);
    assert_int_equal(decide_zone_offset(seen[0][2], at("2026-07-01T00:00:00Z")), 12 * 3600 + 2700);
}

/* A TZif file (version 2) without transitions: only its footer's POSIX
 * rule, written to dir/Test/name. */
static void
write_tzif(const char *dir, const char *name, const char *rule)
{
    unsigned char hdr[44] = {'T', 'Z', 'i', 'f', '2'};
    unsigned char data[10] = {0, 0, 0, 0, 0, 0, 'X', 'X', 'X', 0}; /* one type, UTC */
    char path[512];
    hdr[39] = 1; /* typecnt */
    hdr[43] = 4; /* charcnt */
    snprintf(path, sizeof(path), "%s/Test/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    for (int v = 0; v < 2; v++) {
        fwrite(hdr, 1, sizeof(hdr), f);
        fwrite(data, 1, sizeof(data), f);
    }
    fprintf(f, "\n%s\n", rule);
    fclose(f);
}

/* The footer's rule forms: a quoted name, Julian days with (Jn) and
 * without (n) February 29th, explicit offsets and change times. */
static void
test_zone_rules(void **state)
{
    (void)state;
    char dir[] = "/tmp/test_decide_tzXXXXXX", sub[600];
    assert_non_null(mkdtemp(dir));
    snprintf(sub, sizeof(sub), "%s/Test", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    write_tzif(dir, "Fixed", "<+03>-3");
    write_tzif(dir, "Julian", "AAA3BBB,J60/2,J300/2");
    write_tzif(dir, "Zero", "CCC-10DDD-11:30,59/2,299/3");
    write_tzif(dir, "Bad", "not a rule");
    setenv("TZDIR", dir, 1);
    const decide_zone *fixed = decide_zone_load("Test/Fixed");
    const decide_zone *jul = decide_zone_load("Test/Julian");
    const decide_zone *zero = decide_zone_load("Test/Zero");
    const decide_zone *bad = decide_zone_load("Test/Bad");
    unsetenv("TZDIR");
    assert_non_null(fixed);
    assert_non_null(jul);
    assert_non_null(zero);
    assert_non_null(bad);
    assert_int_equal(decide_zone_offset(fixed, at("2027-07-01T00:00:00Z")), 3 * 3600);
    /* J60 is March 1st in every year; 02:00 standard (-3) is 05:00 UTC. */
    assert_int_equal(decide_zone_offset(jul, at("2027-03-01T04:59:59Z")), -3 * 3600);
    assert_int_equal(decide_zone_offset(jul, at("2027-03-01T05:00:00Z")), -2 * 3600);
    assert_int_equal(decide_zone_offset(jul, at("2028-03-01T05:00:00Z")), -2 * 3600);
    assert_int_equal(decide_zone_offset(jul, at("2028-02-29T12:00:00Z")), -3 * 3600);
    /* J300 is October 27th; 02:00 daylight (-2) is 04:00 UTC. */
    assert_int_equal(decide_zone_offset(jul, at("2028-10-27T03:59:59Z")), -2 * 3600);
    assert_int_equal(decide_zone_offset(jul, at("2028-10-27T04:00:00Z")), -3 * 3600);
    /* n counts February 29th: day 59 is March 1st in 2027, February 29th in
     * 2028; 02:00 at +10 is 16:00 UTC the day before. */
    assert_int_equal(decide_zone_offset(zero, at("2027-02-28T15:59:59Z")), 10 * 3600);
    assert_int_equal(decide_zone_offset(zero, at("2027-02-28T16:00:00Z")), 11 * 3600 + 1800);
    assert_int_equal(decide_zone_offset(zero, at("2028-02-28T16:00:00Z")), 11 * 3600 + 1800);
    assert_int_equal(decide_zone_offset(zero, at("2028-02-27T16:00:00Z")), 10 * 3600);
    /* An unreadable rule leaves the file's only type: UTC. */
    assert_int_equal(decide_zone_offset(bad, at("2027-07-01T00:00:00Z")), 0);
    for (const char *const *n = (const char *const[]){"Fixed", "Julian", "Zero", "Bad", NULL}; *n;
         n++) {
        char path[700];
        snprintf(path, sizeof(path), "%s/%s", sub, *n);
        unlink(path);
    }
    rmdir(sub);
    rmdir(dir);
}

/* Monday 08:00 in New York: the preferred 09:00 local wins, today. */
static void
test_preferred_wins(void **state)
{
    (void)state;
    decide_facts f = facts("America/New_York");
    decide_request q = request("2026-09-21T12:00:00Z");
    prefer(&q, "09:00");
    decide_result r = run(&q, &f);
    assert_at(r.best.at, "2026-09-21T13:00:00Z");
    assert_local(&r, &f, "2026-09-21T09:00:00-04:00");
    assert_int_equal(r.kind, DECIDE_SCHEDULE);
    assert_non_null(strstr(r.reasoning, "at the preferred time 09:00"));
    assert_true(r.nalts >= 3);
    for (size_t i = 0; i < r.nalts; i++)
        assert_true(r.alts[i].score <= r.best.score);
}

/* The load's quiet hour wins when nothing else differs; another job of the
 * client at that hour pushes the choice away. */
static void
test_load_and_own_jobs(void **state)
{
    (void)state;
    decide_facts f = facts("UTC");
    decide_request q = request("2026-09-21T00:00:00Z");
    for (int h = 0; h < 24; h++)
        f.hourly_load[h] = h == 4 ? 0 : 10;
    decide_result r = run(&q, &f);
    assert_at(r.best.at, "2026-09-21T04:00:00Z");
    int64_t own[] = {at("2026-09-21T04:00:00Z")};
    f.own = own;
    f.nown = 1;
    r = run(&q, &f);
    assert_at(r.best.at, "2026-09-22T04:00:00Z");
}

static void
test_avoided_never_chosen(void **state)
{
    (void)state;
    decide_facts f = facts("Europe/London");
    decide_request q = request("2026-09-21T05:00:00Z");
    prefer(&q, "08:00"); /* inside the window: it must lose anyway */
    avoid(&q, "07:00", "10:00");
    decide_result r = run(&q, &f);
    assert_true(local(&r.best) < 7 * 60 || local(&r.best) >= 10 * 60);
    /* 06:30 + 30 minutes ends as the window starts: the nearest allowed. */
    assert_int_equal(local(&r.best), 6 * 60 + 30);
    for (size_t i = 0; i < r.nalts; i++)
        assert_true(local(&r.alts[i]) < 7 * 60 - 15 || local(&r.alts[i]) >= 10 * 60);
}

/* 11:00 UTC is lunch: the first slot after it, 14:00, wins; a preferred
 * time inside lunch waives it. */
static void
test_service_hours(void **state)
{
    (void)state;
    decide_facts f = facts("UTC");
    decide_request q = request("2026-09-21T11:00:00Z");
    decide_result r = run(&q, &f);
    assert_at(r.best.at, "2026-09-21T14:00:00Z");
    assert_non_null(strstr(r.reasoning, "outside the restaurant's service hours"));
    prefer(&q, "12:00");
    r = run(&q, &f);
    assert_at(r.best.at, "2026-09-21T12:00:00Z");
    assert_non_null(strstr(r.reasoning, "allowed because a preferred time is inside them"));
}

static void
test_window_across_midnight(void **state)
{
    (void)state;
    decide_facts f = facts("UTC");
    decide_request q = request("2026-09-21T23:00:00Z");
    avoid(&q, "22:00", "06:00");
    decide_result r = run(&q, &f);
    assert_at(r.best.at, "2026-09-22T06:00:00Z");
    for (size_t i = 0; i < r.nalts; i++)
        assert_true(local(&r.alts[i]) >= 6 * 60 && local(&r.alts[i]) < 22 * 60);
}

/* 08:30 is preferred, but 60 minutes from 08:30 run into 09:00-10:00. */
static void
test_duration_into_window(void **state)
{
    (void)state;
    decide_facts f = facts("UTC");
    decide_request q = request("2026-09-21T07:00:00Z");
    q.duration = 60;
    prefer(&q, "08:30");
    avoid(&q, "09:00", "10:00");
    decide_result r = run(&q, &f);
    assert_at(r.best.at, "2026-09-21T08:00:00Z");
    for (size_t i = 0; i < r.nalts; i++)
        assert_false(local(&r.alts[i]) > 8 * 60 && local(&r.alts[i]) < 10 * 60);
    q.duration = 30;
    r = run(&q, &f);
    assert_at(r.best.at, "2026-09-21T08:30:00Z");
}

static void
test_not_before_not_after(void **state)
{
    (void)state;
    decide_facts f = facts("UTC");
    decide_request q = request("2026-09-21T06:00:00Z");
    q.has_not_before = q.has_not_after = true;
    q.not_before = at("2026-09-23T00:00:00Z");
    q.not_after = at("2026-09-23T08:00:00Z");
    decide_result r = run(&q, &f);
    assert_at(r.best.at, "2026-09-23T00:00:00Z");
    assert_int_equal(r.candidates, 33); /* 00:00 to 08:00 inclusive */
    for (size_t i = 0; i < r.nalts; i++)
        assert_true(r.alts[i].at >= q.not_before && r.alts[i].at <= q.not_after);
}

/* New York springs forward on 2027-03-14 at 02:00: 02:30 does not exist
 * that day, so the preferred 02:30 is met the next day. */
static void
test_dst_spring_new_york(void **state)
{
    (void)state;
    decide_facts f = facts("America/New_York");
    decide_request q = request("2027-03-14T05:00:00Z"); /* 00:00 EST */
    prefer(&q, "02:30");
    decide_result r = run(&q, &f);
    assert_at(r.best.at, "2027-03-15T06:30:00Z");
    assert_local(&r, &f, "2027-03-15T02:30:00-04:00");
    /* Limited to the 14th, the nearest existing times win: 03:00 EDT. */
    q.has_not_after = true;
    q.not_after = at("2027-03-14T12:00:00Z");
    r = run(&q, &f);
    assert_at(r.best.at, "2027-03-14T07:00:00Z");
    assert_local(&r, &f, "2027-03-14T03:00:00-04:00");
}

/* London falls back on 2026-10-25 at 02:00 BST: 01:30 happens twice, as two
 * distinct UTC slots. */
static void
test_dst_fall_london(void **state)
{
    (void)state;
    decide_facts f = facts("Europe/London");
    decide_request q = request("2026-10-24T23:00:00Z"); /* 00:00 BST */
    prefer(&q, "01:30");
    decide_result r = run(&q, &f);
    assert_at(r.best.at, "2026-10-25T00:30:00Z");
    assert_local(&r, &f, "2026-10-25T01:30:00+01:00");
    q.has_not_before = true;
    q.not_before = at("2026-10-25T00:45:00Z");
    r = run(&q, &f);
    assert_at(r.best.at, "2026-10-25T01:30:00Z");
    assert_local(&r, &f, "2026-10-25T01:30:00+00:00");
}

static void
test_dst_fall_new_york(void **state)
{
    (void)state;
    decide_facts f = facts("America/New_York");
    decide_request q = request("2026-11-01T04:00:00Z"); /* 00:00 EDT */
    prefer(&q, "01:15");
    decide_result r = run(&q, &f);
    assert_at(r.best.at, "2026-11-01T05:15:00Z");
    assert_local(&r, &f, "2026-11-01T01:15:00-04:00");
    q.has_not_before = true;
    q.not_before = at("2026-11-01T05:30:00Z");
    r = run(&q, &f);
    assert_at(r.best.at, "2026-11-01T06:15:00Z");
    assert_local(&r, &f, "2026-11-01T01:15:00-05:00");
}

static void
test_dst_spring_london(void **state)
{
    (void)state;
    decide_facts f = facts("Europe/London");
    decide_request q = request("2027-03-28T00:00:00Z"); /* 00:00 GMT */
    prefer(&q, "01:30");
    decide_result r = run(&q, &f);
    assert_at(r.best.at, "2027-03-29T00:30:00Z");
    assert_local(&r, &f, "2027-03-29T01:30:00+01:00");
}

static void
expect_empty(const decide_request *q, const decide_facts *f, const char *field)
{
    decide_result r;
    decide_empty e;
    memset(&e, 0, sizeof(e));
    assert_false(decide_run(q, f, &r, &e));
    assert_string_equal(e.field, field);
    assert_non_null(strstr(e.message, field));
}

static void
test_empty_week(void **state)
{
    (void)state;
    decide_facts f = facts("UTC");
    decide_request q = request("2026-09-21T06:00:00Z");
    avoid(&q, "00:00", "23:59");
    expect_empty(&q, &f, "constraints.avoid_times");

    q = request("2026-09-21T06:00:00Z");
    avoid(&q, "00:00", "12:00");
    avoid(&q, "12:15", "23:59");
    expect_empty(&q, &f, "duration_minutes");
    q.duration = 15; /* 12:00 to 12:15 fits exactly */
    decide_result r = run(&q, &f);
    assert_int_equal(local(&r.best), 12 * 60);

    q = request("2026-09-21T06:00:00Z");
    q.has_not_after = true;
    q.not_after = at("2026-09-21T05:00:00Z");
    expect_empty(&q, &f, "constraints.not_after");

    q = request("2026-09-21T06:00:00Z");
    q.has_not_before = true;
    q.not_before = at("2026-09-29T00:00:00Z");
    expect_empty(&q, &f, "constraints.not_before");
}

static void
test_confidence(void **state)
{
    (void)state;
    decide_facts f = facts("UTC");
    decide_request q = request("2026-09-21T00:00:00Z");
    decide_result flat = run(&q, &f);
    prefer(&q, "03:00");
    decide_result clear = run(&q, &f);
    assert_true(clear.confidence >= flat.confidence + 0.3);
    assert_true(clear.confidence <= 0.95 && flat.confidence >= 0.05);
    /* Without load data: lower, and said. */
    f.has_load = false;
    decide_result blind = run(&q, &f);
    assert_true(blind.confidence < clear.confidence);
    assert_non_null(strstr(blind.reasoning, "automation.stats did not answer"));
}

static void
test_risks(void **state)
{
    (void)state;
    decide_facts f = facts("UTC");
    decide_request q = request("2026-09-21T00:00:00Z");
    q.job_type = "menu_sync";
    prefer(&q, "03:00");
    decide_result ok = run(&q, &f);
    assert_int_equal(ok.nrisks, 0);
    f.integrations = 2;
    f.unhealthy = 1;
    f.health = "critical";
    f.failures_7d = 3;
    f.failures_24h = 1;
    f.last_error = "toast: 401";
    decide_result r = run(&q, &f);
    assert_int_equal(r.nrisks, 3);
    assert_string_equal(r.risks[0].code, "integration_unhealthy");
    assert_string_equal(r.risks[0].severity, "high");
    assert_string_equal(r.risks[1].code, "health_critical");
    assert_string_equal(r.risks[2].code, "recent_failures");
    assert_non_null(strstr(r.risks[2].message, "toast: 401"));
    assert_int_equal(r.kind, DECIDE_DEFER);
    assert_true(r.confidence < ok.confidence);
    assert_int_equal(r.best.at, ok.best.at); /* risks do not move the slot */
    q.job_type = "health_check";             /* the check itself is not deferred */
    f.failures_7d = 0;
    r = run(&q, &f);
    assert_int_equal(r.kind, DECIDE_SCHEDULE);
}

static void
test_run_now_and_deterministic(void **state)
{
    (void)state;
    decide_facts f = facts("UTC");
    decide_request q = request("2026-09-21T02:50:00Z");
    prefer(&q, "03:00");
    decide_result a = run(&q, &f), b = run(&q, &f);
    assert_int_equal(a.kind, DECIDE_RUN_NOW);
    assert_at(a.best.at, "2026-09-21T03:00:00Z");
    assert_memory_equal(&a, &b, sizeof(a));
}

static void
test_best_daily(void **state)
{
    (void)state;
    decide_facts f = facts("America/New_York");
    for (int h = 0; h < 24; h++)
        f.hourly_load[h] = h == 8 ? 0 : 5; /* 04:00 EDT is the quiet hour */
    decide_daily d, m;
    decide_best_daily("health_check", at("2026-09-21T12:00:00Z"), &f, NULL, &d);
    assert_int_equal(d.local, 4 * 60);
    assert_at(d.next, "2026-09-22T08:00:00Z");
    assert_non_null(strstr(d.reasoning, "04:00 America/New_York"));
    /* menu_sync keeps clear of the daily health_check: 04:00 and 04:15
     * overlap it, 04:30 and 04:45 are close to it (-10) but still in the
     * quiet hour (a busy hour costs -20). */
    decide_best_daily("menu_sync", at("2026-09-21T12:00:00Z"), &f, &d, &m);
    assert_int_equal(m.local, 4 * 60 + 30);
    assert_non_null(strstr(m.reasoning, "close to the daily health_check at 04:00"));
}

/* ---- the request ---- */

static js_status
parse(const char *text, decide_request *q, js_err *err)
{
    json_object *o = json_tokener_parse(text);
    assert_non_null(o);
    js_status st = decide_parse(o, at("2026-09-21T00:00:00Z"), q, err);
    json_object_put(o);
    return st;
}

#define CLIENT "\"client_id\":\"6f1c2a4e-7a7e-4d61-9a53-3c2f4c0e1b01\",\"context\":\"menu\""

static void
expect_bad(const char *text, const char *field, const char *says)
{
    decide_request q;
    js_err err;
    assert_int_equal(parse(text, &q, &err), JS_INVALID);
    assert_string_equal(err.field, field);
    if (!strstr(err.message, says))
        fail_msg("message %s does not say %s", err.message, says);
}

static void
test_parse(void **state)
{
    (void)state;
    decide_request q;
    js_err err;
    assert_int_equal(parse("{" CLIENT ",\"job_type\":\"menu_sync\",\"duration_minutes\":45,"
                           "\"constraints\":{\"preferred_times\":[\"09:00\",\"23:59\"],"
                           "\"avoid_times\":[\"22:00-02:00\"],"
                           "\"not_before\":\"2026-09-22T00:00:00Z\"},"
                           "\"now\":\"2026-09-21T10:00:00+02:00\"}",
                           &q, &err),
                     JS_OK);
    assert_string_equal(q.job_type, "menu_sync");
    assert_int_equal(q.duration, 45);
    assert_int_equal(q.npreferred, 2);
    assert_int_equal(q.preferred[1], 23 * 60 + 59);
    assert_int_equal(q.avoid[0].start, 22 * 60);
    assert_int_equal(q.avoid[0].end, 2 * 60);
    assert_true(q.has_not_before && !q.has_not_after);
    assert_int_equal(q.now, at("2026-09-21T08:00:00Z"));
    assert_int_equal(parse("{" CLIENT "}", &q, &err), JS_OK);
    assert_int_equal(q.duration, DECIDE_DEF_DURATION);
    assert_int_equal(q.now, at("2026-09-21T00:00:00Z"));

    expect_bad("{" CLIENT ",\"constraints\":{\"preferred_times\":[\"9:00\"]}}",
               "constraints.preferred_times[0]", "HH:MM");
    expect_bad("{" CLIENT ",\"constraints\":{\"preferred_times\":[\"09:00\",\"24:00\"]}}",
               "constraints.preferred_times[1]", "HH:MM");
    expect_bad("{" CLIENT ",\"constraints\":{\"avoid_times\":[\"12:00-1300\"]}}",
               "constraints.avoid_times[0]", "HH:MM-HH:MM");
    expect_bad("{" CLIENT ",\"constraints\":{\"avoid_times\":[\"12:00-12:00\"]}}",
               "constraints.avoid_times[0]", "empty");
    expect_bad("{" CLIENT ",\"constraints\":{\"not_before\":\"2026-09-23T00:00:00Z\","
               "\"not_after\":\"2026-09-22T00:00:00Z\"}}",
               "constraints.not_after", "before not_before");
    expect_bad("{" CLIENT ",\"job_type\":\"laundry\"}", "job_type", "menu_sync, item_create");
    expect_bad("{" CLIENT ",\"duration_minutes\":0}", "duration_minutes", "");
    expect_bad("{" CLIENT ",\"colour\":1}", "colour", "unknown");
    expect_bad("{\"context\":\"x\"}", "client_id", "");
    char big[1024];
    size_t n =
        (size_t)snprintf(big, sizeof(big), "{" CLIENT ",\"constraints\":{\"preferred_times\":[");
    for (int i = 0; i <= DECIDE_MAX_TIMES; i++)
        n += (size_t)snprintf(big + n, sizeof(big) - n, "%s\"10:00\"", i ? "," : "");
    snprintf(big + n, sizeof(big) - n, "]}}");
    expect_bad(big, "constraints.preferred_times", "at most 48");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_zone_offsets),
        cmocka_unit_test(test_zone_rules),
        cmocka_unit_test(test_zone_threads),
        cmocka_unit_test(test_preferred_wins),
        cmocka_unit_test(test_load_and_own_jobs),
        cmocka_unit_test(test_avoided_never_chosen),
        cmocka_unit_test(test_service_hours),
        cmocka_unit_test(test_window_across_midnight),
        cmocka_unit_test(test_duration_into_window),
        cmocka_unit_test(test_not_before_not_after),
        cmocka_unit_test(test_dst_spring_new_york),
        cmocka_unit_test(test_dst_fall_london),
        cmocka_unit_test(test_dst_fall_new_york),
        cmocka_unit_test(test_dst_spring_london),
        cmocka_unit_test(test_empty_week),
        cmocka_unit_test(test_confidence),
        cmocka_unit_test(test_risks),
        cmocka_unit_test(test_run_now_and_deterministic),
        cmocka_unit_test(test_best_daily),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
