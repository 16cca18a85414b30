/* Unit tests for bus.c against a real nats-server with JetStream
 * (BRAIN_TEST_NATS_URL). Subjects and streams carry the pid so the tests can
 * share a server; the reconnect test starts its own nats-server from PATH. */
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* clang-format off: cmocka.h needs the headers above included first */
#include <cmocka.h>
/* clang-format on */

#include <nats/nats.h>

#include "bus.h"
#include "log.h"
#include "util.h"

#define INBOX_MAX 64
#define WAIT_MS   10000

static const char *g_url;
static long g_pid;
static bus *g_bus;
/* A plain nats.c connection to inspect and clean up JetStream state. */
static natsConnection *g_nc;
static jsCtx *g_js;

struct inbox {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;
    int nak_first; /* JetStream handler: ask for redelivery of delivery 1 */
    char data[INBOX_MAX][64];
    char rid[INBOX_MAX][64]; /* log_request_id() on the handler's thread */
    char hdr[INBOX_MAX][64]; /* the X-Request-Id header, "(none)" if absent */
    char subject[INBOX_MAX][128];
    int64_t at_ns[INBOX_MAX];
};

static void
inbox_init(struct inbox *ib)
{
    memset(ib, 0, sizeof(*ib));
    pthread_mutex_init(&ib->mu, NULL);
    pthread_cond_init(&ib->cv, NULL);
}

static void
inbox_destroy(struct inbox *ib)
{
    pthread_cond_destroy(&ib->cv);
    pthread_mutex_destroy(&ib->mu);
}

/* Record a message; returns how many the inbox holds now. */
static int
inbox_add(struct inbox *ib, bus_msg *m)
{
    size_t len = 0;
    const char *data = bus_msg_data(m, &len);
    const char *hdr = bus_msg_header(m, "X-Request-Id");
    int n;

    pthread_mutex_lock(&ib->mu);
    n = ib->n;
    if (n < INBOX_MAX) {
        snprintf(ib->data[n], sizeof(ib->data[n]), "%.*s", (int)len, data);
        util_strlcpy(ib->rid[n], log_request_id(), sizeof(ib->rid[n]));
        util_strlcpy(ib->hdr[n], hdr != NULL ? hdr : "(none)", sizeof(ib->hdr[n]));
        util_strlcpy(ib->subject[n], bus_msg_subject(m), sizeof(ib->subject[n]));
        ib->at_ns[n] = util_mono_ns();
        ib->n = ++n;
    }
    pthread_cond_broadcast(&ib->cv);
    pthread_mutex_unlock(&ib->mu);
    return n;
}

static bool
inbox_wait(struct inbox *ib, int n, int ms)
{
    struct timespec deadline;
    bool ok;

    clock_gettime(CLOCK_REALTIME, &deadline);
    deadline.tv_sec += ms / 1000;
    deadline.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&ib->mu);
    while (ib->n < n) {
        if (pthread_cond_timedwait(&ib->cv, &ib->mu, &deadline) != 0)
            break;
    }
    ok = ib->n >= n;
    pthread_mutex_unlock(&ib->mu);
    return ok;
}

static int
inbox_count(struct inbox *ib)
{
    int n;

    pthread_mutex_lock(&ib->mu);
    n = ib->n;
    pthread_mutex_unlock(&ib->mu);
    return n;
}

static void
record(bus_msg *m, void *ud)
{
    inbox_add(ud, m);
}

/* Replies "re:<data>" and records the request. */
static void
echo(bus_msg *m, void *ud)
{
    char out[128];
    size_t len = 0;
    const char *data = bus_msg_data(m, &len);
    int n = snprintf(out, sizeof(out), "re:%.*s", (int)len, data);

    inbox_add(ud, m);
    assert_int_equal(bus_respond(m, out, (size_t)n), BUS_OK);
}

static int
record_event(bus_msg *m, void *ud)
{
    struct inbox *ib = ud;
    int n = inbox_add(ib, m);

    return ib->nak_first && n == 1 ? 1 : 0;
}

static void
subject(char *buf, size_t cap, const char *suffix)
{
    snprintf(buf, cap, "t%ld.%s", g_pid, suffix);
}

static void
pause_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static bool
wait_connected(bus *b, bool want, int ms)
{
    int64_t deadline = util_mono_ns() + (int64_t)ms * 1000000;

    while (bus_connected(b) != want) {
        if (util_mono_ns() > deadline)
            return false;
        pause_ms(10);
    }
    return true;
}

static void
test_names_and_arguments(void **state)
{
    bus *b = (bus *)1;
    char *reply = (char *)1;

    (void)state;
    assert_string_equal(bus_status_name(BUS_OK), "ok");
    assert_string_equal(bus_status_name(BUS_ERR_NO_RESPONDERS), "no_responders");
    assert_string_equal(bus_status_name((bus_status)99), "unknown");
    assert_int_equal(bus_connect(NULL, "x", &b), BUS_ERR_INVALID);
    assert_null(b);
    assert_int_equal(bus_connect(" , ", "x", &b), BUS_ERR_INVALID);
    assert_int_equal(bus_publish(g_bus, "", "x", 1), BUS_ERR_INVALID);
    assert_int_equal(bus_publish(g_bus, NULL, "x", 1), BUS_ERR_INVALID);
    assert_int_equal(bus_publish(g_bus, "a.b", NULL, 3), BUS_ERR_INVALID);
    /* Whitespace in a subject would be protocol on the wire. */
    assert_int_equal(bus_publish(g_bus, "a b", "x", 1), BUS_ERR_INVALID);
    assert_int_equal(bus_publish(g_bus, "a\r\nPUB c 1", "x", 1), BUS_ERR_INVALID);
    assert_int_equal(bus_js_publish(g_bus, "a\tb", "x", 1), BUS_ERR_INVALID);
    assert_int_equal(bus_subscribe(g_bus, "a b", NULL, record, NULL), BUS_ERR_INVALID);
    assert_int_equal(bus_subscribe(g_bus, "a", "q q", record, NULL), BUS_ERR_INVALID);
    assert_int_equal(bus_request(g_bus, "a.b", "x", 1, 100, &reply, NULL), BUS_ERR_NO_RESPONDERS);
    assert_null(reply);
    assert_int_equal(bus_subscribe(g_bus, "", NULL, record, NULL), BUS_ERR_INVALID);
    assert_int_equal(bus_subscribe(g_bus, "a", NULL, NULL, NULL), BUS_ERR_INVALID);
    assert_int_equal(bus_consume(g_bus, "bad.name", "d", "x.>", record_event, NULL),
                     BUS_ERR_INVALID);
    assert_int_equal(bus_consume(g_bus, "S", "bad.durable", "x.>", record_event, NULL),
                     BUS_ERR_INVALID);
    assert_false(bus_connected(NULL));
    bus_close(NULL);
}

static void
test_publish_subscribe_request_id(void **state)
{
    struct inbox ib;
    char subj[64];
    int latency = -1;

    (void)state;
    inbox_init(&ib);
    subject(subj, sizeof(subj), "ps.one");
    assert_true(bus_connected(g_bus));
    assert_int_equal(bus_subscribe(g_bus, subj, NULL, record, &ib), BUS_OK);
    assert_int_equal(bus_ping(g_bus, 2000, &latency), BUS_OK);
    assert_true(latency >= 0 && latency < 2000);

    log_set_request_id("req-abc-123");
    assert_int_equal(bus_publish(g_bus, subj, "hello", 5), BUS_OK);
    log_set_request_id(NULL);
    assert_int_equal(bus_publish(g_bus, subj, "", 0), BUS_OK);
    assert_true(inbox_wait(&ib, 2, WAIT_MS));
    assert_string_equal(ib.data[0], "hello");
    assert_string_equal(ib.subject[0], subj);
    assert_string_equal(ib.hdr[0], "req-abc-123");
    assert_string_equal(ib.rid[0], "req-abc-123");
    /* Without a request id there is no header, and the handler's thread does
     * not keep the previous message's id. */
    assert_string_equal(ib.data[1], "");
    assert_string_equal(ib.hdr[1], "(none)");
    assert_string_equal(ib.rid[1], "");
    /* The test thread's own id was never touched by the handler. */
    assert_string_equal(log_request_id(), "");
    inbox_destroy(&ib);
}

static void
test_request_reply(void **state)
{
    struct inbox ib;
    char subj[64];
    char *reply = NULL;
    size_t len = 0;

    (void)state;
    inbox_init(&ib);
    subject(subj, sizeof(subj), "rr.echo");
    assert_int_equal(bus_subscribe(g_bus, subj, NULL, echo, &ib), BUS_OK);
    assert_int_equal(bus_ping(g_bus, 2000, NULL), BUS_OK);
    log_set_request_id("req-rr");
    assert_int_equal(bus_request(g_bus, subj, "ping", 4, 5000, &reply, &len), BUS_OK);
    log_set_request_id(NULL);
    assert_non_null(reply);
    assert_int_equal(len, 7);
    assert_string_equal(reply, "re:ping");
    free(reply);
    assert_int_equal(inbox_count(&ib), 1);
    assert_string_equal(ib.rid[0], "req-rr");
    inbox_destroy(&ib);
}

static void
test_request_timeout_and_no_responders(void **state)
{
    struct inbox ib;
    char subj[64], nobody[64];
    char *reply = (char *)1;
    int64_t t0, ms;

    (void)state;
    inbox_init(&ib);
    subject(subj, sizeof(subj), "rr.silent");
    subject(nobody, sizeof(nobody), "rr.nobody");
    assert_int_equal(bus_subscribe(g_bus, subj, NULL, record, &ib), BUS_OK);
    assert_int_equal(bus_ping(g_bus, 2000, NULL), BUS_OK);

    t0 = util_mono_ns();
    assert_int_equal(bus_request(g_bus, subj, "x", 1, 300, &reply, NULL), BUS_ERR_TIMEOUT);
    ms = (util_mono_ns() - t0) / 1000000;
    assert_null(reply);
    assert_true(ms >= 250 && ms < 5000);
    assert_true(inbox_wait(&ib, 1, WAIT_MS)); /* it did arrive, nobody answered */

    t0 = util_mono_ns();
    assert_int_equal(bus_request(g_bus, nobody, "x", 1, 5000, &reply, NULL), BUS_ERR_NO_RESPONDERS);
    assert_true((util_mono_ns() - t0) / 1000000 < 2500); /* told, not timed out */
    assert_null(reply);
    inbox_destroy(&ib);
}

static void
test_queue_group_delivers_once(void **state)
{
    struct inbox a, c;
    char subj[64], msg[16];
    bus *other = NULL;
    int seen[20] = {0};

    (void)state;
    inbox_init(&a);
    inbox_init(&c);
    subject(subj, sizeof(subj), "qg.work");
    assert_int_equal(bus_connect(g_url, "test-bus-2", &other), BUS_OK);
    assert_true(wait_connected(other, true, WAIT_MS));
    assert_int_equal(bus_subscribe(g_bus, subj, "workers", record, &a), BUS_OK);
    assert_int_equal(bus_subscribe(other, subj, "workers", record, &c), BUS_OK);
    assert_int_equal(bus_ping(g_bus, 2000, NULL), BUS_OK);
    assert_int_equal(bus_ping(other, 2000, NULL), BUS_OK);
    for (int i = 0; i < 20; i++) {
        int n = snprintf(msg, sizeof(msg), "%d", i);
        assert_int_equal(bus_publish(g_bus, subj, msg, (size_t)n), BUS_OK);
    }
    /* Wait for 20 in total; a message given to both members would show up
     * as a duplicate below. */
    for (int64_t end = util_mono_ns() + WAIT_MS * 1000000LL;
         inbox_count(&a) + inbox_count(&c) < 20 && util_mono_ns() < end;)
        pause_ms(5);
    assert_int_equal(bus_ping(g_bus, 2000, NULL), BUS_OK);
    assert_int_equal(bus_ping(other, 2000, NULL), BUS_OK);
    bus_close(other); /* drains: every handler has returned */
    assert_int_equal(inbox_count(&a) + inbox_count(&c), 20);
    for (int i = 0; i < a.n; i++)
        seen[strtol(a.data[i], NULL, 10)]++;
    for (int i = 0; i < c.n; i++)
        seen[strtol(c.data[i], NULL, 10)]++;
    for (int i = 0; i < 20; i++)
        assert_int_equal(seen[i], 1);
    inbox_destroy(&a);
    inbox_destroy(&c);
}

static int
free_port(void)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(sa);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int port = -1;

    if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0
        && getsockname(fd, (struct sockaddr *)&sa, &len) == 0)
        port = ntohs(sa.sin_port);
    close(fd);
    return port;
}

static pid_t
start_nats(int port)
{
    char p[16];
    pid_t pid;

    snprintf(p, sizeof(p), "%d", port);
    pid = fork();
    if (pid == 0) {
        int devnull = open("/dev/null", O_WRONLY);
        dup2(devnull, STDOUT_FILENO);
        dup2(devnull, STDERR_FILENO);
        execlp("nats-server", "nats-server", "-a", "127.0.0.1", "-p", p, (char *)NULL);
        _exit(127);
    }
    return pid;
}

static void
stop_nats(pid_t pid)
{
    int status;

    kill(pid, SIGKILL);
    waitpid(pid, &status, 0);
}

/* Connecting while the server is down succeeds; the connection comes up when
 * the server does, survives its loss, and its subscriptions come back. The url
 * carries credentials, which must not reach the log. */
static void
test_connect_before_server_and_reconnect(void **state)
{
    char url[128], lpath[] = "/tmp/test_bus_log_XXXXXX", buf[16384];
    int port = free_port(), lfd = mkstemp(lpath);
    struct inbox ib;
    bus *b = NULL;
    char *reply = NULL;
    pid_t srv;
    ssize_t n;

    (void)state;
    assert_true(port > 0 && lfd >= 0);
    inbox_init(&ib);
    snprintf(url, sizeof(url), "nats://brain:hunter2pw@127.0.0.1:%d", port);
    log_set_fd(lfd);
    assert_int_equal(bus_connect(url, "test-reconnect", &b), BUS_OK);
    assert_non_null(b);
    assert_false(bus_connected(b));
    assert_int_equal(bus_publish(b, "r.x", "x", 1), BUS_ERR_UNAVAILABLE);
    assert_int_equal(bus_request(b, "r.x", "x", 1, 100, &reply, NULL), BUS_ERR_UNAVAILABLE);
    assert_int_equal(bus_ping(b, 100, NULL), BUS_ERR_UNAVAILABLE);
    assert_int_equal(bus_js_publish(b, "r.x", "x", 1), BUS_ERR_UNAVAILABLE);
    assert_int_equal(bus_stream_ensure(b, "R", "r.>", 60), BUS_ERR_UNAVAILABLE);
    assert_int_equal(bus_subscribe(b, "r.x", NULL, record, &ib), BUS_OK);

    srv = start_nats(port);
    assert_true(srv > 0);
    assert_true(wait_connected(b, true, 15000));
    assert_int_equal(bus_publish(b, "r.x", "first", 5), BUS_OK);
    assert_true(inbox_wait(&ib, 1, WAIT_MS));
    assert_string_equal(ib.data[0], "first");

    stop_nats(srv);
    assert_true(wait_connected(b, false, 15000));
    assert_int_equal(bus_publish(b, "r.x", "lost", 4), BUS_ERR_UNAVAILABLE);
    srv = start_nats(port);
    assert_true(wait_connected(b, true, 15000));
    assert_int_equal(bus_publish(b, "r.x", "second", 6), BUS_OK);
    assert_true(inbox_wait(&ib, 2, WAIT_MS));
    assert_string_equal(ib.data[1], "second");
    bus_close(b);
    stop_nats(srv);
    log_set_fd(STDOUT_FILENO);

    n = pread(lfd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, "nats reconnected"));
    assert_non_null(strstr(buf, "nats disconnected"));
    assert_non_null(strstr(buf, "127.0.0.1"));
    assert_null(strstr(buf, "hunter2pw"));
    close(lfd);
    unlink(lpath);
    inbox_destroy(&ib);
}

/* Closing a connection that never came up neither hangs nor leaks. */
static void
test_close_while_disconnected(void **state)
{
    char url[160], want[128], lpath[] = "/tmp/test_bus_log_XXXXXX", buf[8192];
    int p1 = free_port(), p2 = free_port(), lfd = mkstemp(lpath);
    struct inbox ib;
    bus *b = NULL;
    int64_t t0;
    ssize_t n;

    (void)state;
    assert_true(lfd >= 0);
    inbox_init(&ib);
    snprintf(url, sizeof(url), "nats://alice:pw1secret@127.0.0.1:%d,nats://bob:pw2@127.0.0.1:%d",
             p1, p2);
    snprintf(want, sizeof(want), "nats://127.0.0.1:%d,nats://127.0.0.1:%d", p1, p2);
    log_set_fd(lfd);
    assert_int_equal(bus_connect(url, "test-never", &b), BUS_OK);
    log_set_fd(STDOUT_FILENO);
    n = pread(lfd, buf, sizeof(buf) - 1, 0);
    assert_true(n > 0);
    buf[n] = '\0';
    assert_non_null(strstr(buf, want));
    assert_null(strstr(buf, "pw1secret"));
    assert_null(strstr(buf, "pw2"));
    close(lfd);
    unlink(lpath);
    assert_false(bus_connected(b));
    assert_int_equal(bus_subscribe(b, "never.x", "q", record, &ib), BUS_OK);
    assert_int_equal(bus_consume(b, "S", "d", "never.>", record_event, &ib), BUS_ERR_UNAVAILABLE);
    t0 = util_mono_ns();
    bus_close(b);
    assert_true((util_mono_ns() - t0) / 1000000 < 3000);
    assert_int_equal(inbox_count(&ib), 0);
    inbox_destroy(&ib);
}

/* JetStream: streams named T<pid>_<x> with subjects t<pid>.<x>.>, deleted at
 * the end; EVENTS only if this run created it. */
static char g_streams[8][64];
static int g_nstreams;
static bool g_events_created;

static void
stream_name(char *buf, size_t cap, const char *suffix)
{
    snprintf(buf, cap, "T%ld_%s", g_pid, suffix);
    if (g_nstreams < 8)
        util_strlcpy(g_streams[g_nstreams++], buf, sizeof(g_streams[0]));
}

static void
delete_test_streams(void)
{
    for (int i = 0; i < g_nstreams; i++)
        js_DeleteStream(g_js, g_streams[i], NULL, NULL);
    if (g_events_created)
        js_DeleteStream(g_js, "EVENTS", NULL, NULL);
}

static jsStreamInfo *
stream_info(const char *name)
{
    jsStreamInfo *si = NULL;

    if (js_GetStreamInfo(&si, g_js, name, NULL, NULL) != NATS_OK)
        return NULL;
    return si;
}

/* Wait until the consumer has every message up to stream sequence seq acked. */
static bool
wait_acked(const char *stream, const char *durable, uint64_t seq)
{
    int64_t deadline = util_mono_ns() + WAIT_MS * 1000000LL;

    for (;;) {
        jsConsumerInfo *ci = NULL;
        bool done = false;
        if (js_GetConsumerInfo(&ci, g_js, stream, durable, NULL, NULL) == NATS_OK)
            done = ci->NumAckPending == 0 && ci->AckFloor.Stream >= seq;
        jsConsumerInfo_Destroy(ci);
        if (done)
            return true;
        if (util_mono_ns() > deadline)
            return false;
        pause_ms(20);
    }
}

static void
test_stream_ensure_idempotent(void **state)
{
    char st[64], st2[64], subj[64], pattern[64], two[128];
    jsStreamInfo *si;

    (void)state;
    stream_name(st, sizeof(st), "S");
    stream_name(st2, sizeof(st2), "S2");
    subject(subj, sizeof(subj), "s.one");
    subject(pattern, sizeof(pattern), "s.>");
    assert_int_equal(bus_js_publish(g_bus, subj, "1", 1), BUS_ERR_NO_RESPONDERS);
    assert_int_equal(bus_stream_ensure(g_bus, st, pattern, 3600), BUS_OK);
    assert_int_equal(bus_js_publish(g_bus, subj, "1", 1), BUS_OK);
    /* A second call leaves the stream and its messages as they are. */
    assert_int_equal(bus_stream_ensure(g_bus, st, pattern, 60), BUS_OK);
    si = stream_info(st);
    assert_non_null(si);
    assert_int_equal(si->State.Msgs, 1);
    assert_int_equal(si->Config->MaxAge, 3600LL * 1000000000LL);
    assert_int_equal(si->Config->Storage, js_FileStorage);
    assert_int_equal(si->Config->Retention, js_LimitsPolicy);
    assert_int_equal(si->Config->SubjectsLen, 1);
    assert_string_equal(si->Config->Subjects[0], pattern);
    jsStreamInfo_Destroy(si);

    snprintf(two, sizeof(two), "t%ld.m1.>, t%ld.m2.>", g_pid, g_pid);
    assert_int_equal(bus_stream_ensure(g_bus, st2, two, 60), BUS_OK);
    si = stream_info(st2);
    assert_non_null(si);
    assert_int_equal(si->Config->SubjectsLen, 2);
    jsStreamInfo_Destroy(si);

    assert_int_equal(bus_stream_ensure(g_bus, "bad name", pattern, 60), BUS_ERR_INVALID);
    assert_int_equal(bus_stream_ensure(g_bus, st, pattern, -1), BUS_ERR_INVALID);
    assert_int_equal(bus_stream_ensure(g_bus, st, " ", 60), BUS_ERR_INVALID);
}

static void
test_events_ensure(void **state)
{
    jsStreamInfo *si = stream_info("EVENTS");

    (void)state;
    g_events_created = si == NULL;
    jsStreamInfo_Destroy(si);
    assert_int_equal(bus_events_ensure(g_bus), BUS_OK);
    assert_int_equal(bus_events_ensure(g_bus), BUS_OK);
    si = stream_info("EVENTS");
    assert_non_null(si);
    assert_int_equal(si->Config->SubjectsLen, 1);
    assert_string_equal(si->Config->Subjects[0], "events.>");
    assert_int_equal(si->Config->MaxAge, 7LL * 24 * 3600 * 1000000000LL);
    assert_int_equal(si->Config->Retention, js_LimitsPolicy);
    jsStreamInfo_Destroy(si);
}

static void
test_js_publish_and_consume(void **state)
{
    char st[64], pattern[64], filter[64], subj[64], other[64], rid[16], data[16];
    struct inbox ib;

    (void)state;
    inbox_init(&ib);
    stream_name(st, sizeof(st), "C");
    subject(pattern, sizeof(pattern), "c.>");
    subject(filter, sizeof(filter), "c.a.>");
    subject(subj, sizeof(subj), "c.a.1");
    subject(other, sizeof(other), "c.b.1");
    assert_int_equal(bus_stream_ensure(g_bus, st, pattern, 3600), BUS_OK);
    for (int i = 0; i < 3; i++) {
        int n = snprintf(data, sizeof(data), "m%d", i);
        snprintf(rid, sizeof(rid), "rid-%d", i);
        log_set_request_id(rid);
        assert_int_equal(bus_js_publish(g_bus, subj, data, (size_t)n), BUS_OK);
    }
    log_set_request_id(NULL);
    assert_int_equal(bus_js_publish(g_bus, other, "skip", 4), BUS_OK); /* not in the filter */

    assert_int_equal(bus_consume(g_bus, st, "cons", filter, record_event, &ib), BUS_OK);
    assert_true(inbox_wait(&ib, 3, WAIT_MS));
    for (int i = 0; i < 3; i++) {
        snprintf(data, sizeof(data), "m%d", i);
        snprintf(rid, sizeof(rid), "rid-%d", i);
        assert_string_equal(ib.data[i], data);
        assert_string_equal(ib.subject[i], subj);
        assert_string_equal(ib.hdr[i], rid);
        assert_string_equal(ib.rid[i], rid);
    }
    assert_true(wait_acked(st, "cons", 3));
    assert_int_equal(inbox_count(&ib), 3);
    /* The same durable cannot silently change what it consumes. */
    assert_int_equal(bus_consume(g_bus, st, "cons", pattern, record_event, &ib), BUS_ERR_INVALID);
    inbox_destroy(&ib);
}

static void
test_nak_redelivers(void **state)
{
    char st[64], pattern[64], subj[64];
    struct inbox ib;

    (void)state;
    inbox_init(&ib);
    ib.nak_first = 1;
    stream_name(st, sizeof(st), "N");
    subject(pattern, sizeof(pattern), "n.>");
    subject(subj, sizeof(subj), "n.x");
    assert_int_equal(bus_stream_ensure(g_bus, st, pattern, 3600), BUS_OK);
    assert_int_equal(bus_consume(g_bus, st, "nak", pattern, record_event, &ib), BUS_OK);
    assert_int_equal(bus_js_publish(g_bus, subj, "once", 4), BUS_OK);
    assert_true(inbox_wait(&ib, 2, WAIT_MS));
    assert_string_equal(ib.data[0], "once");
    assert_string_equal(ib.data[1], "once");
    /* Redelivered after a delay, not at once. */
    assert_true(ib.at_ns[1] - ib.at_ns[0] >= 200 * 1000000LL);
    assert_true(wait_acked(st, "nak", 1));
    assert_int_equal(inbox_count(&ib), 2);
    inbox_destroy(&ib);
}

/* Two processes consuming with one durable share its messages. */
static void
test_durable_shared_by_replicas(void **state)
{
    char st[64], pattern[64], subj[64], msg[16];
    struct inbox a, c;
    bus *other = NULL;
    int seen[10] = {0};

    (void)state;
    inbox_init(&a);
    inbox_init(&c);
    stream_name(st, sizeof(st), "R");
    subject(pattern, sizeof(pattern), "r.>");
    subject(subj, sizeof(subj), "r.x");
    assert_int_equal(bus_stream_ensure(g_bus, st, pattern, 3600), BUS_OK);
    assert_int_equal(bus_connect(g_url, "test-replica-2", &other), BUS_OK);
    assert_true(wait_connected(other, true, WAIT_MS));
    assert_int_equal(bus_consume(g_bus, st, "shared", pattern, record_event, &a), BUS_OK);
    assert_int_equal(bus_consume(other, st, "shared", pattern, record_event, &c), BUS_OK);
    for (int i = 0; i < 10; i++) {
        int n = snprintf(msg, sizeof(msg), "%d", i);
        assert_int_equal(bus_js_publish(g_bus, subj, msg, (size_t)n), BUS_OK);
    }
    assert_true(wait_acked(st, "shared", 10));
    bus_close(other);
    assert_int_equal(inbox_count(&a) + inbox_count(&c), 10);
    for (int i = 0; i < a.n; i++)
        seen[strtol(a.data[i], NULL, 10)]++;
    for (int i = 0; i < c.n; i++)
        seen[strtol(c.data[i], NULL, 10)]++;
    for (int i = 0; i < 10; i++)
        assert_int_equal(seen[i], 1);
    inbox_destroy(&a);
    inbox_destroy(&c);
}

static void
test_durable_resumes_after_close(void **state)
{
    char st[64], pattern[64], subj[64];
    struct inbox first, second;
    jsConsumerInfo *ci = NULL;
    bus *b = NULL;

    (void)state;
    inbox_init(&first);
    inbox_init(&second);
    stream_name(st, sizeof(st), "D");
    subject(pattern, sizeof(pattern), "d.>");
    subject(subj, sizeof(subj), "d.x");
    assert_int_equal(bus_stream_ensure(g_bus, st, pattern, 3600), BUS_OK);

    assert_int_equal(bus_connect(g_url, "test-consumer-1", &b), BUS_OK);
    assert_true(wait_connected(b, true, WAIT_MS));
    assert_int_equal(bus_consume(b, st, "dur", pattern, record_event, &first), BUS_OK);
    assert_int_equal(bus_js_publish(g_bus, subj, "m1", 2), BUS_OK);
    assert_true(inbox_wait(&first, 1, WAIT_MS));
    assert_true(wait_acked(st, "dur", 1));
    bus_close(b);

    /* Published while nobody consumes: kept for the durable. */
    assert_int_equal(bus_js_publish(g_bus, subj, "m2", 2), BUS_OK);
    assert_int_equal(bus_js_publish(g_bus, subj, "m3", 2), BUS_OK);
    assert_int_equal(js_GetConsumerInfo(&ci, g_js, st, "dur", NULL, NULL), NATS_OK);
    assert_int_equal(ci->NumPending, 2);
    jsConsumerInfo_Destroy(ci);

    assert_int_equal(bus_connect(g_url, "test-consumer-2", &b), BUS_OK);
    assert_true(wait_connected(b, true, WAIT_MS));
    assert_int_equal(bus_consume(b, st, "dur", pattern, record_event, &second), BUS_OK);
    assert_true(inbox_wait(&second, 2, WAIT_MS));
    assert_string_equal(second.data[0], "m2");
    assert_string_equal(second.data[1], "m3");
    assert_true(wait_acked(st, "dur", 3));
    bus_close(b);
    assert_int_equal(inbox_count(&first), 1);
    assert_int_equal(inbox_count(&second), 2);
    inbox_destroy(&first);
    inbox_destroy(&second);
}

static int
group_setup(void **state)
{
    (void)state;
    g_pid = (long)getpid();
    if (bus_connect(g_url, "test-bus", &g_bus) != BUS_OK || !wait_connected(g_bus, true, WAIT_MS))
        return -1;
    if (natsConnection_ConnectTo(&g_nc, g_url) != NATS_OK
        || natsConnection_JetStream(&g_js, g_nc, NULL) != NATS_OK)
        return -1;
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    bus_close(g_bus);
    delete_test_streams();
    jsCtx_Destroy(g_js);
    natsConnection_Destroy(g_nc);
    return 0;
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_and_arguments),
        cmocka_unit_test(test_publish_subscribe_request_id),
        cmocka_unit_test(test_request_reply),
        cmocka_unit_test(test_request_timeout_and_no_responders),
        cmocka_unit_test(test_queue_group_delivers_once),
        cmocka_unit_test(test_connect_before_server_and_reconnect),
        cmocka_unit_test(test_close_while_disconnected),
        cmocka_unit_test(test_stream_ensure_idempotent),
        cmocka_unit_test(test_events_ensure),
        cmocka_unit_test(test_js_publish_and_consume),
        cmocka_unit_test(test_nak_redelivers),
        cmocka_unit_test(test_durable_shared_by_replicas),
        cmocka_unit_test(test_durable_resumes_after_close),
    };
    int rc;

    g_url = getenv("BRAIN_TEST_NATS_URL");
    if (g_url == NULL || g_url[0] == '\0') {
        printf("skipped: needs BRAIN_TEST_NATS_URL\n");
        return 77;
    }
    log_init("test_bus", LOGL_INFO);
    rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    nats_CloseAndWait(5000);
    return rc;
}
