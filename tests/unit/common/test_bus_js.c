/* Unit tests for bus.c's JetStream side against a real nats-server with
 * JetStream (BRAIN_TEST_NATS_URL): streams, the EVENTS stream, durable
 * consumers, redelivery. Core NATS is tested in test_bus.c. Streams are named
 * T<pid>_<x> with subjects t<pid>.<x>.> so the tests can share a server; they
 * are deleted at the end, and EVENTS only if this run created it. */
#include <setjmp.h>
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
static long g_pid;
static bus *g_bus;
/* A plain nats.c connection to inspect and clean up JetStream state. */
static natsConnection *g_nc;
static jsCtx *g_js;
static char g_streams[12][64];
static int g_nstreams;
static bool g_events_created;

static void
stream_name(char *buf, size_t cap, const char *suffix)
{
    snprintf(buf, cap, "T%ld_%s", g_pid, suffix);
    if (g_nstreams < 12)
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
    int64_t deadline = util_mono_ns() + TL_WAIT_MS * 1000000LL;

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
        tl_pause_ms(20);
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
    tl_bus_subject(subj, sizeof(subj), "s.one");
    tl_bus_subject(pattern, sizeof(pattern), "s.>");
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
    tl_inbox ib;

    (void)state;
    tl_inbox_init(&ib);
    stream_name(st, sizeof(st), "C");
    tl_bus_subject(pattern, sizeof(pattern), "c.>");
    tl_bus_subject(filter, sizeof(filter), "c.a.>");
    tl_bus_subject(subj, sizeof(subj), "c.a.1");
    tl_bus_subject(other, sizeof(other), "c.b.1");
    assert_int_equal(bus_stream_ensure(g_bus, st, pattern, 3600), BUS_OK);
    for (int i = 0; i < 3; i++) {
        int n = snprintf(data, sizeof(data), "m%d", i);
        snprintf(rid, sizeof(rid), "rid-%d", i);
        log_set_request_id(rid);
        assert_int_equal(bus_js_publish(g_bus, subj, data, (size_t)n), BUS_OK);
    }
    log_set_request_id(NULL);
    assert_int_equal(bus_js_publish(g_bus, other, "skip", 4), BUS_OK); /* not in the filter */

    assert_int_equal(bus_consume(g_bus, st, "cons", filter, tl_bus_record_event, &ib), BUS_OK);
    assert_true(tl_inbox_wait(&ib, 3, TL_WAIT_MS));
    for (int i = 0; i < 3; i++) {
        snprintf(data, sizeof(data), "m%d", i);
        snprintf(rid, sizeof(rid), "rid-%d", i);
        assert_string_equal(ib.data[i], data);
        assert_string_equal(ib.subject[i], subj);
        assert_string_equal(ib.hdr[i], rid);
        assert_string_equal(ib.rid[i], rid);
    }
    assert_true(wait_acked(st, "cons", 3));
    assert_int_equal(tl_inbox_count(&ib), 3);
    /* The same durable cannot silently change what it consumes. */
    assert_int_equal(bus_consume(g_bus, st, "cons", pattern, tl_bus_record_event, &ib),
                     BUS_ERR_INVALID);
    tl_inbox_destroy(&ib);
}

/* A batch: stored in order; sent again (as after a lost acknowledgement),
 * its msg ids keep the stream from storing anything twice; bad input and a
 * subject no stream takes are reported. */
static void
test_js_publish_batch(void **state)
{
    char st[64], pattern[64], subj[64], nostream[64], data[25][16], ids[25][16];
    bus_js_msg msgs[25];
    jsStreamInfo *si;
    tl_inbox ib;

    (void)state;
    tl_inbox_init(&ib);
    stream_name(st, sizeof(st), "B");
    tl_bus_subject(pattern, sizeof(pattern), "b.>");
    tl_bus_subject(subj, sizeof(subj), "b.x");
    tl_bus_subject(nostream, sizeof(nostream), "nob.x");
    for (int i = 0; i < 25; i++) {
        int n = snprintf(data[i], sizeof(data[0]), "m%d", i);
        snprintf(ids[i], sizeof(ids[0]), "job:%d", i);
        msgs[i] = (bus_js_msg){subj, data[i], (size_t)n, ids[i]};
        if (i >= 20) { /* the last five carry their own text */
            msgs[i].data = "late";
            msgs[i].len = 4;
        }
    }
    assert_int_equal(bus_stream_ensure(g_bus, st, pattern, 3600), BUS_OK);
    assert_int_equal(bus_js_publish_batch(g_bus, msgs, 0, 1000), BUS_OK);
    assert_int_equal(bus_js_publish_batch(g_bus, msgs, 20, 5000), BUS_OK);
    si = stream_info(st);
    assert_non_null(si);
    assert_int_equal(si->State.Msgs, 20);
    jsStreamInfo_Destroy(si);
    /* Again, with five new ones after: only those five are stored. */
    assert_int_equal(bus_js_publish_batch(g_bus, msgs, 25, 5000), BUS_OK);
    si = stream_info(st);
    assert_non_null(si);
    assert_int_equal(si->State.Msgs, 25);
    jsStreamInfo_Destroy(si);

    assert_int_equal(bus_consume(g_bus, st, "batch", pattern, tl_bus_record_event, &ib), BUS_OK);
    assert_true(tl_inbox_wait(&ib, 25, TL_WAIT_MS));
    for (int i = 0; i < 25; i++) {
        char want[16];

        snprintf(want, sizeof(want), "m%d", i);
        assert_string_equal(ib.data[i], i < 20 ? want : "late");
    }
    assert_true(wait_acked(st, "batch", 25));

    /* Nothing is sent when one message is bad. */
    msgs[3].subject = "bad subject";
    assert_int_equal(bus_js_publish_batch(g_bus, msgs, 5, 1000), BUS_ERR_INVALID);
    msgs[3].subject = subj;
    msgs[2].msg_id = "bad id";
    assert_int_equal(bus_js_publish_batch(g_bus, msgs, 5, 1000), BUS_ERR_INVALID);
    msgs[2].msg_id = ids[2];
    assert_int_equal(bus_js_publish_batch(g_bus, msgs, BUS_BATCH_MAX + 1, 1000), BUS_ERR_INVALID);
    assert_int_equal(bus_js_publish_batch(NULL, msgs, 1, 1000), BUS_ERR_INVALID);
    assert_int_equal(bus_js_publish_batch(g_bus, msgs, 1, 0), BUS_ERR_INVALID);
    si = stream_info(st);
    assert_non_null(si);
    assert_int_equal(si->State.Msgs, 25);
    jsStreamInfo_Destroy(si);
    /* No stream takes it: the acknowledgement is an error. */
    msgs[0].subject = nostream;
    msgs[0].msg_id = "nostream:1";
    assert_int_equal(bus_js_publish_batch(g_bus, msgs, 1, 5000), BUS_ERR_NO_RESPONDERS);
    tl_inbox_destroy(&ib);
}

static void
test_nak_redelivers(void **state)
{
    char st[64], pattern[64], subj[64];
    tl_inbox ib;

    (void)state;
    tl_inbox_init(&ib);
    ib.nak_first = 1;
    stream_name(st, sizeof(st), "N");
    tl_bus_subject(pattern, sizeof(pattern), "n.>");
    tl_bus_subject(subj, sizeof(subj), "n.x");
    assert_int_equal(bus_stream_ensure(g_bus, st, pattern, 3600), BUS_OK);
    assert_int_equal(bus_consume(g_bus, st, "nak", pattern, tl_bus_record_event, &ib), BUS_OK);
    assert_int_equal(bus_js_publish(g_bus, subj, "once", 4), BUS_OK);
    assert_true(tl_inbox_wait(&ib, 2, TL_WAIT_MS));
    assert_string_equal(ib.data[0], "once");
    assert_string_equal(ib.data[1], "once");
    /* Redelivered after a delay, not at once. */
    assert_true(ib.at_ns[1] - ib.at_ns[0] >= 200 * 1000000LL);
    assert_true(wait_acked(st, "nak", 1));
    assert_int_equal(tl_inbox_count(&ib), 2);
    tl_inbox_destroy(&ib);
}

/* Two processes consuming with one durable share its messages. */
static void
test_durable_shared_by_replicas(void **state)
{
    char st[64], pattern[64], subj[64], msg[16];
    tl_inbox a, c;
    bus *other = NULL;
    int seen[10] = {0};

    (void)state;
    tl_inbox_init(&a);
    tl_inbox_init(&c);
    stream_name(st, sizeof(st), "R");
    tl_bus_subject(pattern, sizeof(pattern), "r.>");
    tl_bus_subject(subj, sizeof(subj), "r.x");
    assert_int_equal(bus_stream_ensure(g_bus, st, pattern, 3600), BUS_OK);
    assert_int_equal(bus_connect(g_url, "test-replica-2", &other), BUS_OK);
    assert_true(tl_bus_wait_connected(other, true, TL_WAIT_MS));
    assert_int_equal(bus_consume(g_bus, st, "shared", pattern, tl_bus_record_event, &a), BUS_OK);
    assert_int_equal(bus_consume(other, st, "shared", pattern, tl_bus_record_event, &c), BUS_OK);
    for (int i = 0; i < 10; i++) {
        int n = snprintf(msg, sizeof(msg), "%d", i);
        assert_int_equal(bus_js_publish(g_bus, subj, msg, (size_t)n), BUS_OK);
    }
    assert_true(wait_acked(st, "shared", 10));
    bus_close(other);
    assert_int_equal(tl_inbox_count(&a) + tl_inbox_count(&c), 10);
    for (int i = 0; i < a.n; i++)
        seen[strtol(a.data[i], NULL, 10)]++;
    for (int i = 0; i < c.n; i++)
        seen[strtol(c.data[i], NULL, 10)]++;
    for (int i = 0; i < 10; i++)
        assert_int_equal(seen[i], 1);
    tl_inbox_destroy(&a);
    tl_inbox_destroy(&c);
}

static void
test_durable_resumes_after_close(void **state)
{
    char st[64], pattern[64], subj[64];
    tl_inbox first, second;
    jsConsumerInfo *ci = NULL;
    bus *b = NULL;

    (void)state;
    tl_inbox_init(&first);
    tl_inbox_init(&second);
    stream_name(st, sizeof(st), "D");
    tl_bus_subject(pattern, sizeof(pattern), "d.>");
    tl_bus_subject(subj, sizeof(subj), "d.x");
    assert_int_equal(bus_stream_ensure(g_bus, st, pattern, 3600), BUS_OK);

    assert_int_equal(bus_connect(g_url, "test-consumer-1", &b), BUS_OK);
    assert_true(tl_bus_wait_connected(b, true, TL_WAIT_MS));
    assert_int_equal(bus_consume(b, st, "dur", pattern, tl_bus_record_event, &first), BUS_OK);
    assert_int_equal(bus_js_publish(g_bus, subj, "m1", 2), BUS_OK);
    assert_true(tl_inbox_wait(&first, 1, TL_WAIT_MS));
    assert_true(wait_acked(st, "dur", 1));
    bus_close(b);

    /* Published while nobody consumes: kept for the durable. */
    assert_int_equal(bus_js_publish(g_bus, subj, "m2", 2), BUS_OK);
    assert_int_equal(bus_js_publish(g_bus, subj, "m3", 2), BUS_OK);
    assert_int_equal(js_GetConsumerInfo(&ci, g_js, st, "dur", NULL, NULL), NATS_OK);
    assert_int_equal(ci->NumPending, 2);
    jsConsumerInfo_Destroy(ci);

    assert_int_equal(bus_connect(g_url, "test-consumer-2", &b), BUS_OK);
    assert_true(tl_bus_wait_connected(b, true, TL_WAIT_MS));
    assert_int_equal(bus_consume(b, st, "dur", pattern, tl_bus_record_event, &second), BUS_OK);
    assert_true(tl_inbox_wait(&second, 2, TL_WAIT_MS));
    assert_string_equal(second.data[0], "m2");
    assert_string_equal(second.data[1], "m3");
    assert_true(wait_acked(st, "dur", 3));
    bus_close(b);
    assert_int_equal(tl_inbox_count(&first), 1);
    assert_int_equal(tl_inbox_count(&second), 2);
    tl_inbox_destroy(&first);
    tl_inbox_destroy(&second);
}

/* The figures of a health report: a stream's size and its consumers'
 * backlogs, bounded in time; an unknown stream is an error. */
static void
test_stream_figures(void **state)
{
    char st[64], pattern[64], subj[64];
    bus_stream_stats ss;
    bus_consumer_stats cs[4];
    jsConsumerInfo *ci = NULL;
    jsConsumerConfig cc;
    size_t n = 99;

    (void)state;
    stream_name(st, sizeof(st), "F");
    tl_bus_subject(pattern, sizeof(pattern), "f.>");
    tl_bus_subject(subj, sizeof(subj), "f.x");
    assert_int_equal(bus_stream_ensure(g_bus, st, pattern, 3600), BUS_OK);
    assert_int_equal(bus_stream_info(g_bus, st, 2000, &ss), BUS_OK);
    assert_int_equal(ss.messages, 0);
    assert_int_equal(ss.consumers, 0);
    assert_int_equal(bus_stream_consumers(g_bus, st, 2000, cs, 4, &n), BUS_OK);
    assert_int_equal(n, 0);

    for (int i = 0; i < 3; i++)
        assert_int_equal(bus_js_publish(g_bus, subj, "abcd", 4), BUS_OK);
    /* A durable nobody consumes from: everything stays pending. */
    jsConsumerConfig_Init(&cc);
    cc.Durable = "figs";
    cc.AckPolicy = js_AckExplicit;
    assert_int_equal(js_AddConsumer(&ci, g_js, st, &cc, NULL, NULL), NATS_OK);
    jsConsumerInfo_Destroy(ci);

    assert_int_equal(bus_stream_info(g_bus, st, 2000, &ss), BUS_OK);
    assert_int_equal(ss.messages, 3);
    assert_true(ss.bytes >= 12);
    assert_int_equal(ss.consumers, 1);
    assert_int_equal(bus_stream_consumers(g_bus, st, 2000, cs, 4, &n), BUS_OK);
    assert_int_equal(n, 1);
    assert_string_equal(cs[0].name, "figs");
    assert_int_equal(cs[0].pending, 3);
    assert_int_equal(cs[0].ack_pending, 0);
    /* No room: nothing written, not an error. */
    assert_int_equal(bus_stream_consumers(g_bus, st, 2000, cs, 0, &n), BUS_OK);
    assert_int_equal(n, 0);

    assert_int_equal(bus_stream_info(g_bus, "NoSuchStream", 2000, &ss), BUS_ERR_INVALID);
    assert_int_equal(bus_stream_consumers(g_bus, "NoSuchStream", 2000, cs, 4, &n), BUS_ERR_INVALID);
    assert_int_equal(bus_stream_info(g_bus, "bad name", 2000, &ss), BUS_ERR_INVALID);
    assert_int_equal(bus_stream_info(g_bus, st, 0, &ss), BUS_ERR_INVALID);
}

static int
group_setup(void **state)
{
    (void)state;
    g_pid = (long)getpid();
    if (bus_connect(g_url, "test-bus-js", &g_bus) != BUS_OK
        || !tl_bus_wait_connected(g_bus, true, TL_WAIT_MS))
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
        cmocka_unit_test(test_stream_ensure_idempotent),
        cmocka_unit_test(test_events_ensure),
        cmocka_unit_test(test_js_publish_and_consume),
        cmocka_unit_test(test_js_publish_batch),
        cmocka_unit_test(test_nak_redelivers),
        cmocka_unit_test(test_durable_shared_by_replicas),
        cmocka_unit_test(test_durable_resumes_after_close),
        cmocka_unit_test(test_stream_figures),
    };
    int rc;

    g_url = tl_require_env("BRAIN_TEST_NATS_URL");
    if (g_url == NULL)
        return 77;
    log_init("test_bus_js", LOGL_INFO);
    rc = cmocka_run_group_tests(tests, group_setup, group_teardown);
    nats_CloseAndWait(5000);
    return rc;
}
