/* Tests for live (svc-automation/src/live.c): a real web server on a free port
 * with live's WebSocket route, a stand-in job lookup, events injected with
 * live_on_event, and the raw WebSocket client of testlib_ws. No other server. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "automation.h"
#include "live.h"
#include "log.h"
#include "testlib.h"
#include "testlib_ws.h"
#include "util.h"

#define CLIENT_A "0a000000-0000-4000-8000-00000000000a"
#define CLIENT_B "0b000000-0000-4000-8000-00000000000b"
#define JOB_1    "11111111-1111-4111-8111-111111111111"
#define JOB_2    "22222222-2222-4222-8222-222222222222"
#define JOB_3    "33333333-3333-4333-8333-333333333333"
#define JOB_B    "bbbbbbbb-bbbb-4bbb-8bbb-bbbbbbbbbbbb"

/* ---- the daemon stand-in: automation_live and the job lookup ---- */

/* Set between tests while the server runs: read atomically. */
static live *g_live;

live *
automation_live(const void *a)
{
    (void)a; /* the test server has no app: one registry per test */
    return __atomic_load_n(&g_live, __ATOMIC_ACQUIRE);
}

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int fail; /* 0, or what every lookup returns (-1: store down) */
    bool any; /* every job of CLIENT_A exists, at seq any_seq */
    long long any_seq;
    bool block; /* the next lookup waits for "released" */
    bool entered, released;
} lk = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

/* The jobs that exist: JOB_1 of A at seq 3, JOB_B of B at seq 1. */
static const struct {
    const char *client, *job;
    long long seq;
} jobs[] = {{CLIENT_A, JOB_1, 3}, {CLIENT_B, JOB_B, 1}};

static int
event_text(char *buf, size_t cap, const char *client, const char *job, long long seq)
{
    return snprintf(buf, cap,
                    "{\"type\":\"job_update\",\"job_id\":\"%s\",\"client_id\":\"%s\","
                    "\"job_type\":\"menu_sync\",\"status\":\"running\",\"progress\":%lld,"
                    "\"attempt\":1,\"error\":null,\"updated_at\":\"2026-11-22T10:00:00.000Z\","
                    "\"seq\":%lld}",
                    job, client, seq % 101, seq);
}

static int
lookup(void *ud, const char *client, const char *job, char **event)
{
    char buf[512];
    long long seq = -1;

    (void)ud;
    pthread_mutex_lock(&lk.mu);
    if (lk.block) {
        lk.entered = true;
        pthread_cond_broadcast(&lk.cv);
        while (!lk.released)
            pthread_cond_wait(&lk.cv, &lk.mu);
        lk.block = false;
    }
    int fail = lk.fail;
    if (lk.any && strcmp(client, CLIENT_A) == 0)
        seq = lk.any_seq;
    pthread_mutex_unlock(&lk.mu);
    if (fail != 0)
        return fail;
    for (size_t i = 0; i < sizeof(jobs) / sizeof(jobs[0]); i++)
        if (strcmp(client, jobs[i].client) == 0 && strcmp(job, jobs[i].job) == 0)
            seq = jobs[i].seq;
    if (seq < 0)
        return 1;
    event_text(buf, sizeof(buf), client, job, seq);
    *event = strdup(buf);
    return *event != NULL ? 0 : -1;
}

static void
emit(const char *client, const char *job, long long seq)
{
    char buf[512];
    int n = event_text(buf, sizeof(buf), client, job, seq);

    live_on_event(g_live, buf, (size_t)n);
}

/* ---- fixture: one server for the group, a new registry per test ---- */

typedef struct fixture {
    tl_server srv;
    metrics_registry *reg; /* live's metrics */
} fixture;

static fixture fx;

static int
group_setup(void **state)
{
    tl_server_cfg sc = {
        .ws = live_ws_routes, .nws = live_nws_routes, .ready = true, .threads = 128};

    tl_server_start(&fx.srv, &sc);
    *state = &fx;
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    tl_server_stop(&fx.srv);
    return 0;
}

static int
setup(void **state)
{
    live *l;

    pthread_mutex_lock(&lk.mu);
    lk.fail = 0;
    lk.any = lk.block = lk.entered = lk.released = false;
    lk.any_seq = 1;
    pthread_mutex_unlock(&lk.mu);
    if ((fx.reg = metrics_registry_new()) == NULL || (l = live_new(fx.reg, lookup, NULL)) == NULL)
        return -1;
    __atomic_store_n(&g_live, l, __ATOMIC_RELEASE);
    *state = &fx;
    return 0;
}

/* Every test closes its sockets: the registry must empty. */
static int
teardown(void **state)
{
    fixture *f = *state;
    live *l = g_live;

    for (int64_t end = tl_deadline(TL_WAIT_MS); live_connections(l) != 0; tl_pause_ms(5))
        if (util_mono_ns() > end)
            return -1;
    __atomic_store_n(&g_live, NULL, __ATOMIC_RELEASE);
    live_free(l);
    metrics_registry_free(f->reg);
    f->reg = NULL;
    return 0;
}

/* Connect to the live route of client (see tl_ws_connect). */
static int
live_connect(int port, const char *client, char *head, size_t cap)
{
    char path[160];
    snprintf(path, sizeof(path), "/api/automation/ws/%s", client);
    return tl_ws_connect(port, path, NULL, head, cap);
}

/* ---- asserting helpers for the test thread ---- */

static json_object *
recv_json(int fd)
{
    char buf[8192];

    assert_int_equal(tl_ws_recv(fd, buf, sizeof(buf)), 0);
    return tl_json_line(buf, strlen(buf));
}

static int
open_client(const fixture *f, const char *client)
{
    char head[1024];
    int fd = live_connect(f->srv.port, client, head, sizeof(head));

    assert_true(fd >= 0);
    assert_non_null(strstr(head, " 101 "));
    json_object *o = recv_json(fd);
    assert_string_equal(tl_jstr(o, "type", NULL), "connected");
    json_object_put(o);
    return fd;
}

static void
send_text(int fd, const char *text)
{
    assert_int_equal(tl_ws_send(fd, 1, text, strlen(text)), 0);
}

/* The next message has this type and, when key is not NULL, key == value. */
static void
expect_msg(int fd, const char *type, const char *key, const char *value)
{
    json_object *o = recv_json(fd);

    assert_string_equal(tl_jstr(o, "type", NULL), type);
    if (key != NULL)
        assert_string_equal(tl_jstr(o, key, NULL), value);
    json_object_put(o);
}

static void
expect_update(int fd, const char *job, long long seq)
{
    json_object *o = recv_json(fd), *v;

    assert_string_equal(tl_jstr(o, "type", NULL), "job_update");
    assert_string_equal(tl_jstr(o, "job_id", NULL), job);
    assert_true(json_object_object_get_ex(o, "seq", &v));
    assert_int_equal(json_object_get_int64(v), seq);
    json_object_put(o);
}

/* The next message is an error whose message contains want. */
static void
expect_error(int fd, const char *want)
{
    json_object *o = recv_json(fd);
    const char *msg = tl_jstr(o, "message", NULL);

    assert_string_equal(tl_jstr(o, "type", NULL), "error");
    if (strstr(msg, want) == NULL)
        fail_msg("error \"%s\" does not contain \"%s\"", msg, want);
    json_object_put(o);
}

/* Ping: everything sent before the pong has been read, so "nothing else
 * arrived" is checked by the pong being next. */
static void
sync_client(int fd)
{
    send_text(fd, "{\"type\":\"ping\"}");
    expect_msg(fd, "pong", NULL, NULL);
}

static void
subscribe(int fd, const char *job)
{
    char msg[128];

    snprintf(msg, sizeof(msg), "{\"type\":\"subscribe\",\"job_id\":\"%s\"}", job);
    send_text(fd, msg);
}

static void
wait_connections(int n)
{
    for (int64_t end = tl_deadline(TL_WAIT_MS); live_connections(g_live) != n; tl_pause_ms(5))
        if (util_mono_ns() > end)
            fail_msg("%d live connections, want %d", live_connections(g_live), n);
}

/* ---- tests ---- */

static void
test_connect(void **state)
{
    fixture *f = *state;
    char head[1024];
    int cap = tl_log_capture();

    log_set_level(LOGL_INFO);

    int bad = live_connect(f->srv.port, "not-a-uuid", head, sizeof(head));
    assert_true(bad >= 0);
    assert_non_null(strstr(head, " 400 "));
    close(bad);

    /* the client id is taken in any case, spoken in lowercase */
    char head2[1024];
    int fd =
        live_connect(f->srv.port, "0A000000-0000-4000-8000-00000000000A", head2, sizeof(head2));
    assert_non_null(strstr(head2, " 101 "));
    expect_msg(fd, "connected", "client_id", CLIENT_A);
    assert_int_equal(live_connections(g_live), 1);
    assert_true(tl_metrics_wait(f->reg, "ws_connections 1\n", TL_WAIT_MS));
    sync_client(fd);
    assert_true(tl_metrics_wait(f->reg, "ws_messages_sent_total 2\n", TL_WAIT_MS));
    json_object_put(tl_log_find(cap, "live connection opened", CLIENT_A, TL_WAIT_MS));
    close(fd);
    wait_connections(0);
    assert_true(tl_metrics_wait(f->reg, "ws_connections 0\n", TL_WAIT_MS));
    json_object *line = tl_log_find(cap, "live connection closed", CLIENT_A, TL_WAIT_MS);
    json_object *sent;
    assert_true(json_object_object_get_ex(line, "messages_sent", &sent));
    assert_int_equal(json_object_get_int(sent), 2);
    json_object_put(line);
    /* web's own line comes last: the capture may end once it is there. A
     * line of ours takes the logger's lock after that thread's last write,
     * which orders the end of the capture after it (for ThreadSanitizer). */
    json_object_put(tl_log_find(cap, "websocket closed", NULL, TL_WAIT_MS));
    log_info("test_connect: capture ends");
    free(tl_log_end(cap, NULL));
    log_set_level(LOGL_WARN);
}

static void
test_subscribe_snapshot_order(void **state)
{
    char want[512], buf[8192];
    int fd = open_client(*state, CLIENT_A);

    subscribe(fd, "11111111-1111-4111-8111-111111111111");
    expect_msg(fd, "subscribed", "job_id", JOB_1);
    /* the looked-up state, forwarded as the lookup gave it */
    event_text(want, sizeof(want), CLIENT_A, JOB_1, 3);
    assert_int_equal(tl_ws_recv(fd, buf, sizeof(buf)), 0);
    assert_string_equal(buf, want);

    emit(CLIENT_A, JOB_1, 4);
    emit(CLIENT_A, JOB_1, 5);
    emit(CLIENT_A, JOB_1, 3); /* older than what was sent */
    emit(CLIENT_A, JOB_1, 5); /* the same change from the other replica */
    emit(CLIENT_A, JOB_2, 9); /* a job not followed */
    emit(CLIENT_A, JOB_1, 6);
    expect_update(fd, JOB_1, 4);
    expect_update(fd, JOB_1, 5);
    expect_update(fd, JOB_1, 6);
    sync_client(fd);

    /* subscribing again re-acknowledges; the state was already sent */
    subscribe(fd, JOB_1);
    expect_msg(fd, "subscribed", "job_id", JOB_1);
    sync_client(fd);
    close(fd);
}

static void
test_subscribe_client(void **state)
{
    int fd = open_client(*state, CLIENT_A);

    send_text(fd, "{\"type\":\"subscribe_client\",\"client_id\":\"" CLIENT_B "\"}");
    expect_error(fd, "follows client " CLIENT_A " only");
    send_text(fd, "{\"type\":\"subscribe_client\"}");
    expect_msg(fd, "subscribed", "client_id", CLIENT_A);
    emit(CLIENT_A, JOB_2, 1);
    emit(CLIENT_A, JOB_3, 1);
    emit(CLIENT_A, JOB_2, 2);
    emit(CLIENT_A, JOB_2, 1); /* stale */
    emit(CLIENT_A, JOB_3, 1); /* duplicate */
    emit(CLIENT_B, JOB_B, 7); /* another tenant */
    expect_update(fd, JOB_2, 1);
    expect_update(fd, JOB_3, 1);
    expect_update(fd, JOB_2, 2);
    sync_client(fd);
    close(fd);
}

static void
test_unsubscribe(void **state)
{
    int fd = open_client(*state, CLIENT_A);

    subscribe(fd, JOB_1);
    expect_msg(fd, "subscribed", "job_id", JOB_1);
    expect_update(fd, JOB_1, 3);
    send_text(fd, "{\"type\":\"unsubscribe\",\"job_id\":\"" JOB_1 "\"}");
    expect_msg(fd, "unsubscribed", "job_id", JOB_1);
    emit(CLIENT_A, JOB_1, 10);
    sync_client(fd);
    /* unsubscribing from what is not followed is answered the same way */
    send_text(fd, "{\"type\":\"unsubscribe\",\"job_id\":\"" JOB_2 "\"}");
    expect_msg(fd, "unsubscribed", "job_id", JOB_2);

    /* under subscribe_client the job stays followed and its seq remembered */
    send_text(fd, "{\"type\":\"subscribe_client\"}");
    expect_msg(fd, "subscribed", "client_id", CLIENT_A);
    subscribe(fd, JOB_1);
    expect_msg(fd, "subscribed", "job_id", JOB_1);
    expect_update(fd, JOB_1, 3);
    send_text(fd, "{\"type\":\"unsubscribe\",\"job_id\":\"" JOB_1 "\"}");
    expect_msg(fd, "unsubscribed", "job_id", JOB_1);
    emit(CLIENT_A, JOB_1, 3);
    emit(CLIENT_A, JOB_1, 4);
    expect_update(fd, JOB_1, 4);
    sync_client(fd);
    close(fd);
}

static void
test_tenant(void **state)
{
    int a = open_client(*state, CLIENT_A), b = open_client(*state, CLIENT_B);

    subscribe(a, JOB_B); /* B's job, asked for by A */
    expect_error(a, "job " JOB_B " not found for client " CLIENT_A);
    subscribe(a, JOB_1);
    expect_msg(a, "subscribed", "job_id", JOB_1);
    expect_update(a, JOB_1, 3);
    send_text(a, "{\"type\":\"subscribe_client\"}");
    expect_msg(a, "subscribed", "client_id", CLIENT_A);
    subscribe(b, "BBBBBBBB-BBBB-4BBB-8BBB-BBBBBBBBBBBB"); /* ids are taken in any case */
    expect_msg(b, "subscribed", "job_id", JOB_B);
    expect_update(b, JOB_B, 1);

    emit(CLIENT_B, JOB_B, 5);
    emit(CLIENT_B, JOB_1, 9); /* A's job id under B's client: not A's event */
    expect_update(b, JOB_B, 5);
    sync_client(a);
    sync_client(b);
    close(a);
    close(b);
}

static void
test_invalid_messages(void **state)
{
    static const struct {
        const char *msg, *want;
    } cases[] = {
        {"hello", "invalid JSON"},
        {"[1]", "message must be a JSON object"},
        {"{}", "field 'type': is required"},
        {"{\"type\":5}", "field 'type'"},
        {"{\"type\":\"dance\"}", "unknown type 'dance'"},
        {"{\"type\":\"subscribe\"}", "field 'job_id': is required"},
        {"{\"type\":\"subscribe\",\"job_id\":\"nope\"}", "field 'job_id': must be a UUID"},
        {"{\"type\":\"unsubscribe\",\"job_id\":7}", "field 'job_id': must be a UUID"},
        {"{\"type\":\"subscribe_client\",\"client_id\":\"x\"}", "field 'client_id'"},
    };
    char big[4097];
    int fd = open_client(*state, CLIENT_A);

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        send_text(fd, cases[i].msg);
        expect_error(fd, cases[i].want);
    }
    assert_int_equal(tl_ws_send(fd, 2, "{\"type\":\"ping\"}", 15), 0);
    expect_error(fd, "binary");
    /* 4096 bytes are fine, 4097 are not */
    memset(big, ' ', sizeof(big));
    memcpy(big, "{\"type\":\"ping\"}", 15);
    assert_int_equal(tl_ws_send(fd, 1, big, 4096), 0);
    expect_msg(fd, "pong", NULL, NULL);
    assert_int_equal(tl_ws_send(fd, 1, big, 4097), 0);
    expect_error(fd, "4097 bytes is over the limit of 4096");
    sync_client(fd); /* still open */
    close(fd);
}

static void
test_store_errors(void **state)
{
    int fd = open_client(*state, CLIENT_A);

    pthread_mutex_lock(&lk.mu);
    lk.fail = -1;
    pthread_mutex_unlock(&lk.mu);
    subscribe(fd, JOB_1);
    expect_error(fd, "job store unavailable, try again");
    subscribe(fd, JOB_2);
    expect_error(fd, "job store unavailable, try again");
    emit(CLIENT_A, JOB_1, 4); /* not subscribed */
    sync_client(fd);
    close(fd);
}

/* Events of a job arriving while its lookup runs follow the snapshot. */
static void
test_events_during_lookup(void **state)
{
    int fd = open_client(*state, CLIENT_A);

    pthread_mutex_lock(&lk.mu);
    lk.block = true;
    pthread_mutex_unlock(&lk.mu);
    subscribe(fd, JOB_1);
    pthread_mutex_lock(&lk.mu);
    while (!lk.entered)
        pthread_cond_wait(&lk.cv, &lk.mu); /* the lookup is under way */
    pthread_mutex_unlock(&lk.mu);
    emit(CLIENT_A, JOB_1, 4);
    emit(CLIENT_A, JOB_1, 2); /* older than the snapshot (3) */
    emit(CLIENT_A, JOB_1, 5);
    pthread_mutex_lock(&lk.mu);
    lk.released = true;
    pthread_cond_broadcast(&lk.cv);
    pthread_mutex_unlock(&lk.mu);
    expect_msg(fd, "subscribed", "job_id", JOB_1);
    expect_update(fd, JOB_1, 3);
    expect_update(fd, JOB_1, 4);
    expect_update(fd, JOB_1, 5);
    sync_client(fd);
    close(fd);
}

static void
test_limits(void **state)
{
    char job[UTIL_UUID_LEN + 1], first[UTIL_UUID_LEN + 1], msg[128];
    int fd = open_client(*state, CLIENT_A);

    pthread_mutex_lock(&lk.mu);
    lk.any = true;
    pthread_mutex_unlock(&lk.mu);
    for (int i = 0; i < 1000; i++) {
        assert_int_equal(util_uuid_v4(job), 0);
        if (i == 0)
            memcpy(first, job, sizeof(first));
        subscribe(fd, job);
        expect_msg(fd, "subscribed", "job_id", job);
        expect_update(fd, job, 1);
    }
    subscribe(fd, JOB_2);
    expect_error(fd, "at most 1000 job subscriptions per connection");
    subscribe(fd, first); /* already counted */
    expect_msg(fd, "subscribed", "job_id", first);
    snprintf(msg, sizeof(msg), "{\"type\":\"unsubscribe\",\"job_id\":\"%s\"}", first);
    send_text(fd, msg);
    expect_msg(fd, "unsubscribed", "job_id", first);
    subscribe(fd, JOB_2);
    expect_msg(fd, "subscribed", "job_id", JOB_2);
    expect_update(fd, JOB_2, 1);
    close(fd);

    /* subscribe_client remembers the last 1024 jobs: an event of a job
     * forgotten since goes out again, one of a remembered job does not */
    fd = open_client(*state, CLIENT_A);
    send_text(fd, "{\"type\":\"subscribe_client\"}");
    expect_msg(fd, "subscribed", "client_id", CLIENT_A);
    for (int i = 0; i < 1100; i++) {
        assert_int_equal(util_uuid_v4(job), 0);
        if (i == 0)
            memcpy(first, job, sizeof(first));
        emit(CLIENT_A, job, 1);
        expect_update(fd, job, 1);
    }
    emit(CLIENT_A, job, 1);
    emit(CLIENT_A, first, 1);
    expect_update(fd, first, 1);
    sync_client(fd);
    close(fd);
}

/* Replies to the client (on its connection's thread) and pushed events (on
 * another) share the connection: they interleave without deadlock or loss. */
static void *
stream_main(void *arg)
{
    (void)arg;
    for (long long seq = 1; seq <= 2000; seq++)
        emit(CLIENT_A, JOB_2, seq);
    return NULL;
}

static void
test_replies_during_stream(void **state)
{
    char buf[8192];
    long long last = 0;
    int pongs = 0;
    pthread_t th;
    int fd = open_client(*state, CLIENT_A);

    send_text(fd, "{\"type\":\"subscribe_client\"}");
    expect_msg(fd, "subscribed", "client_id", CLIENT_A);
    assert_int_equal(pthread_create(&th, NULL, stream_main, NULL), 0);
    while (last < 2000 || pongs < 200) {
        if (pongs < 200 && pongs * 10 <= last)
            send_text(fd, "{\"type\":\"ping\"}");
        assert_int_equal(tl_ws_recv(fd, buf, sizeof(buf)), 0);
        json_object *o = tl_json_line(buf, strlen(buf)), *v;
        if (strcmp(tl_jstr(o, "type", NULL), "pong") == 0) {
            pongs++;
        } else {
            assert_true(json_object_object_get_ex(o, "seq", &v));
            assert_int_equal(json_object_get_int64(v), last + 1);
            last++;
        }
        json_object_put(o);
    }
    pthread_join(th, NULL);
    sync_client(fd);
    close(fd);
}

/* ---- many connections, concurrent events and connection churn ---- */

#define NCONN   40
#define NJOBS   4
#define NEVENTS 300

static const char *const conc_jobs[NJOBS] = {
    "44444444-4444-4444-8444-444444444444", "55555555-5555-4555-8555-555555555555",
    "66666666-6666-4666-8666-666666666666", "77777777-7777-4777-8777-777777777777"};

typedef struct reader {
    int fd;
    long long last[NJOBS]; /* seq of the last update per job */
    int got[NJOBS];        /* updates received per job, the snapshot (seq 0) aside */
    int bad;               /* out of order, another tenant's, or unreadable */
    pthread_t th;
} reader;

static int
job_index(const char *job)
{
    for (int k = 0; k < NJOBS; k++)
        if (strcmp(job, conc_jobs[k]) == 0)
            return k;
    return -1;
}

/* Read updates until every job reached NEVENTS; no cmocka asserts here. */
static void *
reader_main(void *arg)
{
    reader *r = arg;
    char buf[8192];
    int done = 0;

    while (done < NJOBS && r->bad == 0) {
        json_object *o, *v;
        if (tl_ws_recv(r->fd, buf, sizeof(buf)) != 0 || (o = json_tokener_parse(buf)) == NULL) {
            r->bad++;
            break;
        }
        const char *client =
            json_object_object_get_ex(o, "client_id", &v) ? json_object_get_string(v) : "";
        int k =
            json_object_object_get_ex(o, "job_id", &v) ? job_index(json_object_get_string(v)) : -1;
        long long seq = json_object_object_get_ex(o, "seq", &v) ? json_object_get_int64(v) : -1;
        if (strcmp(client, CLIENT_A) != 0 || k < 0 || seq <= r->last[k]) {
            r->bad++;
        } else {
            r->last[k] = seq;
            r->got[k] += seq > 0;
            done += seq == NEVENTS;
        }
        json_object_put(o);
    }
    return NULL;
}

static void *
emitter_main(void *arg)
{
    const char *job = arg;
    const char *client = job_index(job) >= 0 ? CLIENT_A : CLIENT_B;

    for (long long seq = 1; seq <= NEVENTS; seq++)
        emit(client, job, seq);
    return NULL;
}

static struct {
    int port;
    int stop; /* atomic */
    int rounds, opened;
} churn;

/* Open connections following all of A's jobs and drop them, read or not. */
static void *
churn_main(void *arg)
{
    char head[1024], buf[8192];

    (void)arg;
    while (!__atomic_load_n(&churn.stop, __ATOMIC_ACQUIRE)) {
        int fd = live_connect(churn.port, CLIENT_A, head, sizeof(head));
        if (fd >= 0 && strstr(head, " 101 ") != NULL) {
            const char *m = "{\"type\":\"subscribe_client\"}";
            churn.opened++;
            /* read nothing, "connected", or that and "subscribed": only what
             * surely comes, so the thread never waits once events stop */
            if (tl_ws_send(fd, 1, m, strlen(m)) == 0)
                for (int i = 0; i < churn.rounds % 3; i++)
                    (void)tl_ws_recv(fd, buf, sizeof(buf));
        }
        if (fd >= 0)
            close(fd);
        churn.rounds++;
    }
    return NULL;
}

static void
test_many_connections(void **state)
{
    fixture *f = *state;
    static reader rs[NCONN];
    pthread_t em[NJOBS + 1], ch;

    pthread_mutex_lock(&lk.mu);
    lk.any = true;
    lk.any_seq = 0;
    pthread_mutex_unlock(&lk.mu);
    memset(rs, 0, sizeof(rs));
    for (int i = 0; i < NCONN; i++) {
        rs[i].fd = open_client(f, CLIENT_A);
        for (int k = 0; k < NJOBS; k++)
            rs[i].last[k] = -1;
        if (i % 2 == 0) {
            send_text(rs[i].fd, "{\"type\":\"subscribe_client\"}");
            expect_msg(rs[i].fd, "subscribed", "client_id", CLIENT_A);
            continue;
        }
        for (int k = 0; k < NJOBS; k++) {
            subscribe(rs[i].fd, conc_jobs[k]);
            expect_msg(rs[i].fd, "subscribed", "job_id", conc_jobs[k]);
            expect_update(rs[i].fd, conc_jobs[k], 0);
        }
    }
    for (int i = 0; i < NCONN; i++)
        assert_int_equal(pthread_create(&rs[i].th, NULL, reader_main, &rs[i]), 0);
    churn.port = f->srv.port;
    churn.stop = churn.rounds = churn.opened = 0;
    assert_int_equal(pthread_create(&ch, NULL, churn_main, NULL), 0);
    for (int k = 0; k < NJOBS; k++)
        assert_int_equal(pthread_create(&em[k], NULL, emitter_main, (void *)conc_jobs[k]), 0);
    assert_int_equal(pthread_create(&em[NJOBS], NULL, emitter_main, (void *)JOB_B), 0);
    for (int k = 0; k <= NJOBS; k++)
        pthread_join(em[k], NULL);
    for (int i = 0; i < NCONN; i++)
        pthread_join(rs[i].th, NULL);
    __atomic_store_n(&churn.stop, 1, __ATOMIC_RELEASE);
    pthread_join(ch, NULL);

    for (int i = 0; i < NCONN; i++) {
        assert_int_equal(rs[i].bad, 0);
        for (int k = 0; k < NJOBS; k++) {
            assert_int_equal(rs[i].got[k], NEVENTS);
            assert_int_equal(rs[i].last[k], NEVENTS);
        }
        sync_client(rs[i].fd); /* nothing after the last update */
        close(rs[i].fd);
    }
    assert_true(churn.opened > 0);
    wait_connections(0);
    assert_true(tl_metrics_wait(f->reg, "ws_connections 0\n", TL_WAIT_MS));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_connect, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_snapshot_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_subscribe_client, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unsubscribe, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tenant, setup, teardown),
        cmocka_unit_test_setup_teardown(test_invalid_messages, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_during_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_replies_during_stream, setup, teardown),
        cmocka_unit_test_setup_teardown(test_many_connections, setup, teardown),
    };

    log_init("svc-automation", LOGL_WARN);
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
