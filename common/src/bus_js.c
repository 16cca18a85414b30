/* bus_js: JetStream on the bus connection: the stream (bus_stream_ensure),
 * acknowledged publishing, and durable push consumers whose handlers run
 * through the same dispatch as core subscriptions (bus.c). A message a handler
 * refuses is redelivered later with a growing delay. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <nats/nats.h>

#include "bus.h"
#include "bus_internal.h"
#include "log.h"
#include "util.h"

#define BUS_ACK_WAIT_S  30
#define BUS_NAK_BASE_MS 250
#define BUS_NAK_MAX_MS  30000

/* Redelivery backs off with the number of attempts so that a message that
 * keeps failing does not spin. */
static void
nak_later(natsMsg *msg)
{
    jsMsgMetaData *meta = NULL;
    uint64_t delivered = 1;
    int64_t delay = BUS_NAK_BASE_MS;

    if (natsMsg_GetMetaData(&meta, msg) == NATS_OK) {
        delivered = meta->NumDelivered;
        jsMsgMetaData_Destroy(meta);
    }
    for (uint64_t i = 1; i < delivered && delay < BUS_NAK_MAX_MS; i++)
        delay *= 2;
    if (delay > BUS_NAK_MAX_MS)
        delay = BUS_NAK_MAX_MS;
    natsMsg_NakWithDelay(msg, delay, NULL);
}

static void
on_js_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    if (bus_i_dispatch(closure, msg) == 0)
        natsMsg_Ack(msg, NULL);
    else
        nak_later(msg);
    natsMsg_Destroy(msg);
}

static bool
js_name_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > BUS_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')
              || ch == '_' || ch == '-'))
            return false;
    }
    return true;
}

bus_status
bus_stream_ensure(bus *b, const char *stream, const char *subjects, int64_t max_age_s)
{
    char copy[BUS_URL_MAX];
    char *subj[BUS_LIST_MAX];
    jsStreamInfo *si = NULL;
    jsStreamConfig cfg;
    jsErrCode jerr = 0;
    natsStatus s;
    int n;

    if (b == NULL || !js_name_ok(stream) || subjects == NULL || max_age_s < 0
        || max_age_s > INT64_MAX / 1000000000LL
        || util_strlcpy(copy, subjects, sizeof(copy)) >= sizeof(copy)
        || (n = bus_i_split_list(copy, subj, BUS_LIST_MAX)) < 0)
        return BUS_ERR_INVALID;
    if (!bus_connected(b))
        return BUS_ERR_UNAVAILABLE;
    s = js_GetStreamInfo(&si, b->js, stream, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    si = NULL;
    if (s == NATS_OK)
        return BUS_OK;
    if (s != NATS_NOT_FOUND && jerr != JSStreamNotFoundErr)
        goto fail;

    jsStreamConfig_Init(&cfg);
    cfg.Name = stream;
    cfg.Subjects = (const char **)subj;
    cfg.SubjectsLen = n;
    cfg.Retention = js_LimitsPolicy;
    cfg.Storage = js_FileStorage;
    cfg.MaxAge = max_age_s * 1000000000LL;
    s = js_AddStream(&si, b->js, &cfg, NULL, &jerr);
    jsStreamInfo_Destroy(si);
    /* Another replica may have created it a moment ago. */
    if (s != NATS_OK && jerr != JSStreamNameExistErr)
        goto fail;
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("stream", stream), LF_STR("subjects", subjects)),
            "stream ready");
    return BUS_OK;
fail:
    log_msg(LOGL_ERROR,
            LOG_FIELDS(LF_STR("stream", stream), LF_STR("error", natsStatus_GetText(s)),
                       LF_INT("js_error", jerr)),
            "stream setup failed");
    return bus_i_from_nats(s);
}

bus_status
bus_events_ensure(bus *b)
{
    return bus_stream_ensure(b, "EVENTS", "events.>", 7 * 24 * 3600);
}

bus_status
bus_js_publish(bus *b, const char *subject, const void *data, size_t len)
{
    natsMsg *m = NULL;
    jsPubAck *ack = NULL;
    jsErrCode jerr = 0;
    bus_status st;

    if (b == NULL)
        return BUS_ERR_INVALID;
    st = bus_i_make_msg(subject, data, len, &m);
    if (st != BUS_OK)
        return st;
    if (!bus_connected(b)) {
        natsMsg_Destroy(m);
        return BUS_ERR_UNAVAILABLE;
    }
    /* NATS_NO_RESPONDERS here means no stream takes the subject. */
    st = bus_i_from_nats(js_PublishMsg(&ack, b->js, m, NULL, &jerr));
    jsPubAck_Destroy(ack);
    natsMsg_Destroy(m);
    return st;
}

static void
on_batch_error(jsCtx *js, jsPubAckErr *pae, void *closure)
{
    bus *b = closure;
    int none = BUS_OK, st = bus_i_from_nats(pae->Err);

    (void)js;
    if (st == BUS_OK)
        st = BUS_ERR_OTHER;
    /* The first failure of the batch wins. */
    __atomic_compare_exchange_n(&b->batch_err, &none, st, false, __ATOMIC_SEQ_CST,
                                __ATOMIC_SEQ_CST);
}

/* The batch context (b->batch_mu held). */
static bus_status
batch_ctx(bus *b)
{
    jsOptions jo;

    if (b->batch_js != NULL)
        return BUS_OK;
    jsOptions_Init(&jo);
    jo.PublishAsync.MaxPending = BUS_BATCH_MAX;
    jo.PublishAsync.ErrHandler = on_batch_error;
    jo.PublishAsync.ErrHandlerClosure = b;
    return bus_i_from_nats(natsConnection_JetStream(&b->batch_js, b->nc, &jo));
}

/* Send one message of a batch without waiting for its acknowledgement. */
static bus_status
batch_send(bus *b, const bus_js_msg *msg)
{
    natsMsg *m = NULL;
    bus_status st = bus_i_make_msg(msg->subject, msg->data, msg->len, &m);

    if (st == BUS_OK && msg->msg_id != NULL)
        st = bus_i_from_nats(natsMsgHeader_Set(m, "Nats-Msg-Id", msg->msg_id));
    if (st == BUS_OK)
        st = bus_i_from_nats(js_PublishMsgAsync(b->batch_js, &m, NULL));
    natsMsg_Destroy(m); /* nothing when nats.c took it */
    return st;
}

bus_status
bus_js_publish_batch(bus *b, const bus_js_msg *msgs, size_t n, int timeout_ms)
{
    natsMsgList pending;
    jsPubOptions po;
    natsStatus s;
    bus_status st = BUS_OK;
    int err;

    if (b == NULL || (msgs == NULL && n > 0) || n > BUS_BATCH_MAX || timeout_ms <= 0)
        return BUS_ERR_INVALID;
    for (size_t i = 0; i < n; i++) {
        if (!bus_i_subject_ok(msgs[i].subject) || (msgs[i].data == NULL && msgs[i].len > 0)
            || (msgs[i].msg_id != NULL && !bus_i_subject_ok(msgs[i].msg_id)))
            return BUS_ERR_INVALID;
    }
    if (n == 0)
        return BUS_OK;
    pthread_mutex_lock(&b->batch_mu);
    /* nats.c would buffer while reconnecting; the caller holds the batch. */
    if (!bus_connected(b)) {
        st = BUS_ERR_UNAVAILABLE;
        goto out;
    }
    if ((st = batch_ctx(b)) != BUS_OK)
        goto out;
    __atomic_store_n(&b->batch_err, BUS_OK, __ATOMIC_SEQ_CST);
    for (size_t i = 0; i < n && st == BUS_OK; i++)
        st = batch_send(b, &msgs[i]);
    /* Wait for what was sent, even after a failure, so that no late
     * acknowledgement belongs to the next batch. */
    jsPubOptions_Init(&po);
    po.MaxWait = timeout_ms;
    s = js_PublishAsyncComplete(b->batch_js, &po);
    if (s != NATS_OK) {
        /* Forget the unacknowledged ones: the caller sends them again. */
        if (js_PublishAsyncGetPendingList(&pending, b->batch_js) == NATS_OK)
            natsMsgList_Destroy(&pending);
        if (st == BUS_OK)
            st = bus_i_from_nats(s);
    }
    err = __atomic_load_n(&b->batch_err, __ATOMIC_SEQ_CST);
    if (st == BUS_OK && err != BUS_OK)
        st = (bus_status)err;
out:
    pthread_mutex_unlock(&b->batch_mu);
    return st;
}

/* The durable consumer is created here, not by js_Subscribe: nats.c deletes a
 * consumer that its subscribe call created as soon as that subscription is
 * drained, and a durable must outlive its consumer process. It is a push
 * consumer delivering to a queue group named after it, so that replicas of a
 * daemon share the work. */
static bus_status
ensure_consumer(bus *b, const char *stream, const char *durable, const char *filter)
{
    char deliver[BUS_SUBJECT_MAX];
    jsConsumerInfo *ci = NULL;
    jsConsumerConfig cc;
    jsErrCode jerr = 0;
    natsStatus s;
    bus_status st = BUS_OK;

    s = js_GetConsumerInfo(&ci, b->js, stream, durable, NULL, &jerr);
    if (s == NATS_OK) {
        const char *have = ci->Config->FilterSubject;
        if (have == NULL || strcmp(have, filter) != 0) {
            log_msg(LOGL_ERROR,
                    LOG_FIELDS(LF_STR("stream", stream), LF_STR("durable", durable),
                               LF_STR("filter", have != NULL ? have : "")),
                    "durable consumer exists with another filter");
            st = BUS_ERR_INVALID;
        }
        jsConsumerInfo_Destroy(ci);
        return st;
    }
    if (s != NATS_NOT_FOUND && jerr != JSConsumerNotFoundErr)
        goto fail;
    snprintf(deliver, sizeof(deliver), "_brain.deliver.%s.%s", stream, durable);
    jsConsumerConfig_Init(&cc);
    cc.Durable = durable;
    cc.DeliverSubject = deliver;
    cc.DeliverGroup = durable;
    cc.FilterSubject = filter;
    cc.DeliverPolicy = js_DeliverAll;
    cc.AckPolicy = js_AckExplicit;
    cc.AckWait = BUS_ACK_WAIT_S * 1000000000LL;
    s = js_AddConsumer(&ci, b->js, stream, &cc, NULL, &jerr);
    jsConsumerInfo_Destroy(ci);
    if (s == NATS_OK)
        return BUS_OK;
fail:
    log_msg(LOGL_ERROR,
            LOG_FIELDS(LF_STR("stream", stream), LF_STR("durable", durable),
                       LF_STR("error", natsStatus_GetText(s)), LF_INT("js_error", jerr)),
            "durable consumer setup failed");
    return bus_i_from_nats(s);
}

bus_status
bus_consume(bus *b, const char *stream, const char *durable, const char *filter,
            bus_event_handler fn, void *ud)
{
    struct bus_sub *bs;
    jsSubOptions so;
    jsErrCode jerr = 0;
    natsStatus s;
    bus_status st;

    if (b == NULL || !js_name_ok(stream) || !js_name_ok(durable) || !bus_i_subject_ok(filter)
        || fn == NULL)
        return BUS_ERR_INVALID;
    if (!bus_connected(b))
        return BUS_ERR_UNAVAILABLE;
    st = ensure_consumer(b, stream, durable, filter);
    if (st != BUS_OK)
        return st;
    bs = calloc(1, sizeof(*bs));
    if (bs == NULL)
        return BUS_ERR_OTHER;
    *bs = (struct bus_sub){.b = b, .efn = fn, .ud = ud};
    jsSubOptions_Init(&so);
    so.Stream = stream;
    so.Consumer = durable;
    so.Queue = durable;
    so.ManualAck = true;
    s = js_Subscribe(&bs->sub, b->js, filter, on_js_msg, bs, NULL, &so, &jerr);
    if (s != NATS_OK) {
        log_msg(LOGL_ERROR,
                LOG_FIELDS(LF_STR("stream", stream), LF_STR("durable", durable),
                           LF_STR("error", natsStatus_GetText(s)), LF_INT("js_error", jerr)),
                "consumer subscription failed");
        free(bs);
        return bus_i_from_nats(s);
    }
    return bus_i_track_sub(b, bs);
}

/* A context whose API requests wait at most timeout_ms (the connection's own
 * context waits 5 s). */
static bus_status
js_with_wait(bus *b, int timeout_ms, jsCtx **js)
{
    jsOptions jo;

    if (!bus_connected(b))
        return BUS_ERR_UNAVAILABLE;
    jsOptions_Init(&jo);
    jo.Wait = timeout_ms;
    return bus_i_from_nats(natsConnection_JetStream(js, b->nc, &jo));
}

static bus_status
js_info_status(natsStatus s, jsErrCode jerr)
{
    if (s == NATS_NOT_FOUND || jerr == JSStreamNotFoundErr)
        return BUS_ERR_INVALID;
    return bus_i_from_nats(s);
}

bus_status
bus_stream_info(bus *b, const char *stream, int timeout_ms, bus_stream_stats *out)
{
    jsCtx *js = NULL;
    jsStreamInfo *si = NULL;
    jsErrCode jerr = 0;
    bus_status st;

    if (b == NULL || !js_name_ok(stream) || timeout_ms <= 0 || out == NULL)
        return BUS_ERR_INVALID;
    if ((st = js_with_wait(b, timeout_ms, &js)) != BUS_OK)
        return st;
    natsStatus s = js_GetStreamInfo(&si, js, stream, NULL, &jerr);
    st = js_info_status(s, jerr);
    if (st == BUS_OK)
        *out = (bus_stream_stats){si->State.Msgs, si->State.Bytes, si->State.Consumers};
    jsStreamInfo_Destroy(si);
    jsCtx_Destroy(js);
    return st;
}

bus_status
bus_stream_consumers(bus *b, const char *stream, int timeout_ms, bus_consumer_stats *out,
                     size_t max, size_t *n)
{
    jsCtx *js = NULL;
    jsConsumerInfoList *list = NULL;
    jsErrCode jerr = 0;
    bus_status st;

    if (b == NULL || !js_name_ok(stream) || timeout_ms <= 0 || (out == NULL && max > 0)
        || n == NULL)
        return BUS_ERR_INVALID;
    *n = 0;
    if ((st = js_with_wait(b, timeout_ms, &js)) != BUS_OK)
        return st;
    natsStatus s = js_Consumers(&list, js, stream, NULL, &jerr);
    /* A stream without consumers answers "not found" to the list. */
    if (s == NATS_NOT_FOUND && jerr != JSStreamNotFoundErr)
        s = NATS_OK;
    st = js_info_status(s, jerr);
    for (int i = 0; st == BUS_OK && list != NULL && i < list->Count && *n < max; i++) {
        const jsConsumerInfo *ci = list->List[i];
        bus_consumer_stats *c = &out[(*n)++];
        util_strlcpy(c->name, ci->Name != NULL ? ci->Name : "", sizeof(c->name));
        c->pending = ci->NumPending;
        c->ack_pending = ci->NumAckPending;
    }
    jsConsumerInfoList_Destroy(list);
    jsCtx_Destroy(js);
    return st;
}
