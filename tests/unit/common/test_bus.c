/* Unit tests for bus.c against a real nats-server (BRAIN_TEST_NATS_URL): core
 * NATS, that is publish/subscribe, request/reply, queue groups, reconnection
 * and what reaches the log. JetStream is tested in test_bus_js.c. Subjects
 * carry the pid so the tests can share a server; the reconnect test starts
 * its own nats-server from PATH. */
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <nats/nats.h>

#include "bus.h"
#include "log.h"
#include "testlib.h"
#include "util.h"

static const char *g_url;
static bus *g_bus;

/* Replies "re:<data>" and records the request. */
static void
echo(bus_msg *m, void *ud)
{
    char out[128];
    size_t len = 0;
    const char *data = bus_msg_data(m, &len);
    int n = snprintf(out, sizeof(out), "re:%.*s", (int)len, data);

    tl_inbox_add(ud, m);
    assert_int_equal(bus_respond(m, out, (size_t)n), BUS_OK);
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
    assert_int_equal(bus_subscribe(g_bus, "a b", NULL, tl_bus_record, NULL), BUS_ERR_INVALID);
    assert_int_equal(bus_subscribe(g_bus, "a", "q q", tl_bus_record, NULL), BUS_ERR_INVALID);
    assert_int_equal(bus_request(g_bus, "a.b", "x", 1, 100, &reply, NULL), BUS_ERR_NO_RESPONDERS);
    assert_null(reply);
    assert_int_equal(bus_subscribe(g_bus, "", NULL, tl_bus_record, NULL), BUS_ERR_INVALID);
    assert_int_equal(bus_subscribe(g_bus, "a", NULL, NULL, NULL), BUS_ERR_INVALID);
    assert_int_equal(bus_consume(g_bus, "bad.name", "d", "x.>", tl_bus_record_event, NULL),
                     BUS_ERR_INVALID);
    assert_int_equal(bus_consume(g_bus, "S", "bad.durable", "x.>", tl_bus_record_event, NULL),
                     BUS_ERR_INVALID);
    assert_false(bus_connected(NULL));
    bus_close(NULL);
}

static void
test_publish_subscribe_request_id(void **state)
{
    tl_inbox ib;
    char subj[64];
    int latency = -1;

    (void)state;
    tl_inbox_init(&ib);
    tl_bus_subject(subj, sizeof(subj), "ps.one");
    assert_true(bus_connected(g_bus));
    assert_int_equal(bus_subscribe(g_bus, subj, NULL, tl_bus_record, &ib), BUS_OK);
    assert_int_equal(bus_ping(g_bus, 2000, &latency), BUS_OK);
    assert_true(latency >= 0 && latency < 2000);

    log_set_request_id("req-abc-123");
    assert_int_equal(bus_publish(g_bus, subj, "hello", 5), BUS_OK);
    log_set_request_id(NULL);
    assert_int_equal(bus_publish(g_bus, subj, "", 0), BUS_OK);
    assert_true(tl_inbox_wait(&ib, 2, TL_WAIT_MS));
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
    tl_inbox_destroy(&ib);
}

static void
test_request_reply(void **state)
{
    tl_inbox ib;
    char subj[64];
    char *reply = NULL;
    size_t len = 0;

    (void)state;
    tl_inbox_init(&ib);
    tl_bus_subject(subj, sizeof(subj), "rr.echo");
    assert_int_equal(bus_subscribe(g_bus, subj, NULL, echo, &ib), BUS_OK);
    assert_int_equal(bus_ping(g_bus, 2000, NULL), BUS_OK);
    log_set_request_id("req-rr");
    assert_int_equal(bus_request(g_bus, subj, "ping", 4, 5000, &reply, &len), BUS_OK);
    log_set_request_id(NULL);
    assert_non_null(reply);
    assert_int_equal(len, 7);
    assert_string_equal(reply, "re:ping");
    free(reply);
    assert_int_equal(tl_inbox_count(&ib), 1);
    assert_string_equal(ib.rid[0], "req-rr");
    tl_inbox_destroy(&ib);
}

static void
test_request_timeout_and_no_responders(void **state)
{
    tl_inbox ib;
    char subj[64], nobody[64];
    char *reply = (char *)1;
    int64_t t0, ms;

    (void)state;
    tl_inbox_init(&ib);
    tl_bus_subject(subj, sizeof(subj), "rr.silent");
    tl_bus_subject(nobody, sizeof(nobody), "rr.nobody");
    assert_int_equal(bus_subscribe(g_bus, subj, NULL, tl_bus_record, &ib), BUS_OK);
    assert_int_equal(bus_ping(g_bus, 2000, NULL), BUS_OK);

    t0 = util_mono_ns();
    assert_int_equal(bus_request(g_bus, subj, "x", 1, 300, &reply, NULL), BUS_ERR_TIMEOUT);
    ms = (util_mono_ns() - t0) / 1000000;
    assert_null(reply);
    assert_true(ms >= 250 && ms < 5000);
    assert_true(tl_inbox_wait(&ib, 1, TL_WAIT_MS)); /* it did arrive, nobody answered */

    t0 = util_mono_ns();
    assert_int_equal(bus_request(g_bus, nobody, "x", 1, 5000, &reply, NULL), BUS_ERR_NO_RESPONDERS);
    assert_true((util_mono_ns() - t0) / 1000000 < 2500); /* told, not timed out */
    assert_null(reply);
    tl_inbox_destroy(&ib);
}

/* bus_request_all: the answers of every subscriber, gathered. */
typedef struct gathered {
    int n;
    char text[4][16];
} gathered;

static void
gather(const char *data, size_t len, void *ud)
{
    gathered *g = ud;

    if (g->n < 4)
        snprintf(g->text[g->n], sizeof(g->text[0]), "%.*s", (int)len, data);
    g->n++;
}

static void
test_request_all(void **state)
{
    tl_inbox a, b, silent;
    char subj[64], quiet[64], nobody[64];
    gathered g = {0};
    int64_t t0, ms;

    (void)state;
    tl_inbox_init(&a);
    tl_inbox_init(&b);
    tl_inbox_init(&silent);
    tl_bus_subject(subj, sizeof(subj), "all.two");
    tl_bus_subject(quiet, sizeof(quiet), "all.silent");
    tl_bus_subject(nobody, sizeof(nobody), "all.nobody");
    assert_int_equal(bus_subscribe(g_bus, subj, NULL, echo, &a), BUS_OK);
    assert_int_equal(bus_subscribe(g_bus, subj, NULL, echo, &b), BUS_OK);
    assert_int_equal(bus_subscribe(g_bus, quiet, NULL, tl_bus_record, &silent), BUS_OK);
    assert_int_equal(bus_ping(g_bus, 2000, NULL), BUS_OK);

    /* two subscribers, two answers; the wait ends the quiet time after them */
    log_set_request_id("req-all");
    t0 = util_mono_ns();
    assert_int_equal(bus_request_all(g_bus, subj, "hi", 2, 5000, 200, gather, &g), BUS_OK);
    ms = (util_mono_ns() - t0) / 1000000;
    log_set_request_id(NULL);
    assert_int_equal(g.n, 2);
    assert_string_equal(g.text[0], "re:hi");
    assert_string_equal(g.text[1], "re:hi");
    assert_true(ms >= 150 && ms < 2500);
    assert_string_equal(a.rid[0], "req-all");

    /* a subscriber that never answers: a timeout, with nothing gathered */
    g.n = 0;
    assert_int_equal(bus_request_all(g_bus, quiet, "x", 1, 300, 50, gather, &g), BUS_ERR_TIMEOUT);
    assert_int_equal(g.n, 0);
    assert_true(tl_inbox_wait(&silent, 1, TL_WAIT_MS));

    /* nobody subscribed: told at once, not timed out */
    t0 = util_mono_ns();
    assert_int_equal(bus_request_all(g_bus, nobody, "x", 1, 5000, 50, gather, &g),
                     BUS_ERR_NO_RESPONDERS);
    assert_true((util_mono_ns() - t0) / 1000000 < 2500);
    assert_int_equal(bus_request_all(g_bus, "a b", "x", 1, 100, 50, gather, &g), BUS_ERR_INVALID);
    assert_int_equal(bus_request_all(g_bus, subj, "x", 1, 100, 50, NULL, &g), BUS_ERR_INVALID);
    tl_inbox_destroy(&a);
    tl_inbox_destroy(&b);
    tl_inbox_destroy(&silent);
}

static void
test_queue_group_delivers_once(void **state)
{
    tl_inbox a, c;
    char subj[64], msg[16];
    bus *other = NULL;
    int seen[20] = {0};

    (void)state;
    tl_inbox_init(&a);
    tl_inbox_init(&c);
    tl_bus_subject(subj, sizeof(subj), "qg.work");
    assert_int_equal(bus_connect(g_url, "test-bus-2", &other), BUS_OK);
    assert_true(tl_bus_wait_connected(other, true, TL_WAIT_MS));
    assert_int_equal(bus_subscribe(g_bus, subj, "workers", tl_bus_record, &a), BUS_OK);
    assert_int_equal(bus_subscribe(other, subj, "workers", tl_bus_record, &c), BUS_OK);
    assert_int_equal(bus_ping(g_bus, 2000, NULL), BUS_OK);
    assert_int_equal(bus_ping(other, 2000, NULL), BUS_OK);
    for (int i = 0; i < 20; i++) {
        int n = snprintf(msg, sizeof(msg), "%d", i);
        assert_int_equal(bus_publish(g_bus, subj, msg, (size_t)n), BUS_OK);
    }
    /* Wait for 20 in total; a message given to both members would show up
     * as a duplicate below. */
    for (int64_t end = util_mono_ns() + TL_WAIT_MS * 1000000LL;
         tl_inbox_count(&a) + tl_inbox_count(&c) < 20 && util_mono_ns() < end;)
        tl_pause_ms(5);
    assert_int_equal(bus_ping(g_bus, 2000, NULL), BUS_OK);
    assert_int_equal(bus_ping(other, 2000, NULL), BUS_OK);
    bus_close(other); /* drains: every handler has returned */
    assert_int_equal(tl_inbox_count(&a) + tl_inbox_count(&c), 20);
    for (int i = 0; i < a.n; i++)
        seen[strtol(a.data[i], NULL, 10)]++;
    for (int i = 0; i < c.n; i++)
        seen[strtol(c.data[i], NULL, 10)]++;
    for (int i = 0; i < 20; i++)
        assert_int_equal(seen[i], 1);
    tl_inbox_destroy(&a);
    tl_inbox_destroy(&c);
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
    char url[128], *log;
    int port = free_port(), lfd;
    tl_inbox ib;
    bus *b = NULL;
    char *reply = NULL;
    pid_t srv;

    (void)state;
    assert_true(port > 0);
    tl_inbox_init(&ib);
    snprintf(url, sizeof(url), "nats://brain:hunter2pw@127.0.0.1:%d", port);
    lfd = tl_log_capture();
    assert_true(lfd >= 0);
    assert_int_equal(bus_connect(url, "test-reconnect", &b), BUS_OK);
    assert_non_null(b);
    assert_false(bus_connected(b));
    assert_int_equal(bus_publish(b, "r.x", "x", 1), BUS_ERR_UNAVAILABLE);
    assert_int_equal(bus_request(b, "r.x", "x", 1, 100, &reply, NULL), BUS_ERR_UNAVAILABLE);
    assert_int_equal(bus_ping(b, 100, NULL), BUS_ERR_UNAVAILABLE);
    assert_int_equal(bus_js_publish(b, "r.x", "x", 1), BUS_ERR_UNAVAILABLE);
    assert_int_equal(bus_stream_ensure(b, "R", "r.>", 60), BUS_ERR_UNAVAILABLE);
    assert_int_equal(bus_subscribe(b, "r.x", NULL, tl_bus_record, &ib), BUS_OK);

    srv = start_nats(port);
    assert_true(srv > 0);
    assert_true(tl_bus_wait_connected(b, true, 15000));
    assert_int_equal(bus_publish(b, "r.x", "first", 5), BUS_OK);
    assert_true(tl_inbox_wait(&ib, 1, TL_WAIT_MS));
    assert_string_equal(ib.data[0], "first");

    stop_nats(srv);
    assert_true(tl_bus_wait_connected(b, false, 15000));
    assert_int_equal(bus_publish(b, "r.x", "lost", 4), BUS_ERR_UNAVAILABLE);
    srv = start_nats(port);
    assert_true(tl_bus_wait_connected(b, true, 15000));
    assert_int_equal(bus_publish(b, "r.x", "second", 6), BUS_OK);
    assert_true(tl_inbox_wait(&ib, 2, TL_WAIT_MS));
    assert_string_equal(ib.data[1], "second");
    bus_close(b);
    stop_nats(srv);
    log = tl_log_end(lfd, NULL);

    assert_non_null(strstr(log, "nats reconnected"));
    assert_non_null(strstr(log, "nats disconnected"));
    assert_non_null(strstr(log, "127.0.0.1"));
    assert_null(strstr(log, "hunter2pw"));
    free(log);
    tl_inbox_destroy(&ib);
}

/* Closing a connection that never came up neither hangs nor leaks. */
static void
test_close_while_disconnected(void **state)
{
    char url[160], want[128], *log;
    int p1 = free_port(), p2 = free_port(), lfd;
    tl_inbox ib;
    bus *b = NULL;
    int64_t t0;

    (void)state;
    tl_inbox_init(&ib);
    snprintf(url, sizeof(url), "nats://alice:pw1secret@127.0.0.1:%d,nats://bob:pw2@127.0.0.1:%d",
             p1, p2);
    snprintf(want, sizeof(want), "nats://127.0.0.1:%d,nats://127.0.0.1:%d", p1, p2);
    lfd = tl_log_capture();
    assert_true(lfd >= 0);
    assert_int_equal(bus_connect(url, "test-never", &b), BUS_OK);
    log = tl_log_end(lfd, NULL);
    assert_non_null(strstr(log, want));
    assert_null(strstr(log, "pw1secret"));
    assert_null(strstr(log, "pw2"));
    free(log);
    assert_false(bus_connected(b));
    assert_int_equal(bus_subscribe(b, "never.x", "q", tl_bus_record, &ib), BUS_OK);
    assert_int_equal(bus_consume(b, "S", "d", "never.>", tl_bus_record_event, &ib),
                     BUS_ERR_UNAVAILABLE);
    t0 = util_mono_ns();
    bus_close(b);
    assert_true((util_mono_ns() - t0) / 1000000 < 3000);
    assert_int_equal(tl_inbox_count(&ib), 0);
    tl_inbox_destroy(&ib);
}

static int
group_setup(void **state)
{
    (void)state;
    if (bus_connect(g_url, "test-bus", &g_bus) != BUS_OK
        || !tl_bus_wait_connected(g_bus, true, TL_WAIT_MS))
        return -1;
    return 0;
}

static int
group_teardown(void **state)
{
    (void)state;
    bus_close(g_bus);
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
        cmocka_unit_test(test_request_all),
        cmocka_unit_test(test_queue_group_delivers_once),
        cmocka_unit_test(test_connect_before_server_and_reconnect),
        cmocka_unit_test(test_close_while_disconnected),
    };
    int rc;

    g_url = tl_require_env("BRAIN_TEST_NATS_URL");
    if (g_url == NULL)
        return 77;
    log_init("test_bus", LOGL_INFO);
    rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    nats_CloseAndWait(5000);
    return rc;
}
