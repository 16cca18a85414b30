/* bus: NATS through nats.c: one connection per process that reconnects by
 * itself, and core publish/request/subscribe with the request id in a header.
 * JetStream streams with durable push consumers are in bus_js.c.
 *
 * nats.c runs callbacks on its own threads. Every subscription's closure
 * (struct bus_sub) lives until bus_close has seen the connection closed and
 * each subscription's completion callback, which nats.c calls after the last
 * handler invocation has returned; only then is anything freed. */
#include "bus.h"

#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <nats/nats.h>

#include "bus_internal.h"
#include "log.h"
#include "util.h"

#define HDR_REQUEST_ID    BUS_I_HDR_REQUEST_ID
#define BUS_DRAIN_MS      5000
#define BUS_CLOSE_WAIT_MS (BUS_DRAIN_MS + 5000)

struct bus_msg {
    bus *b;
    natsMsg *m;
};

static void
append(char *out, size_t cap, size_t *o, const char *s, size_t n)
{
    if (*o + n >= cap)
        n = cap - 1 - *o;
    memcpy(out + *o, s, n);
    *o += n;
    out[*o] = '\0';
}

/* Copy a comma-separated url list without any user:password@ part. */
static void
redact_url(const char *in, char *out, size_t cap)
{
    size_t o = 0;

    out[0] = '\0';
    while (*in != '\0') {
        const char *end = strchr(in, ',');
        const char *host = strstr(in, "://");
        const char *at = NULL;

        if (end == NULL)
            end = in + strlen(in);
        host = (host != NULL && host < end) ? host + 3 : in;
        append(out, cap, &o, in, (size_t)(host - in));
        for (const char *q = host; q < end && *q != '/'; q++) {
            if (*q == '@')
                at = q;
        }
        if (at != NULL)
            host = at + 1;
        append(out, cap, &o, host, (size_t)(end - host));
        if (*end == ',')
            append(out, cap, &o, ",", 1);
        in = *end == ',' ? end + 1 : end;
    }
}

/* Split a comma-separated list in place (spaces trimmed). Returns the count or
 * -1 when it is empty or too long. */
int
bus_i_split_list(char *s, char **items, int max)
{
    int n = 0;
    char *save = NULL;

    for (char *t = strtok_r(s, ",", &save); t != NULL; t = strtok_r(NULL, ",", &save)) {
        size_t len;
        while (*t == ' ')
            t++;
        len = strlen(t);
        while (len > 0 && t[len - 1] == ' ')
            t[--len] = '\0';
        if (len == 0)
            continue;
        if (n == max)
            return -1;
        items[n++] = t;
    }
    return n > 0 ? n : -1;
}

bus_status
bus_i_from_nats(natsStatus s)
{
    switch (s) {
    case NATS_OK:
        return BUS_OK;
    case NATS_TIMEOUT:
        return BUS_ERR_TIMEOUT;
    case NATS_NO_RESPONDERS:
        return BUS_ERR_NO_RESPONDERS;
    case NATS_INVALID_ARG:
    case NATS_INVALID_SUBJECT:
    case NATS_INVALID_QUEUE_NAME:
    case NATS_INVALID_TIMEOUT:
    case NATS_MAX_PAYLOAD:
    case NATS_ADDRESS_MISSING:
        return BUS_ERR_INVALID;
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NOT_YET_CONNECTED:
    case NATS_NO_SERVER:
    case NATS_STALE_CONNECTION:
    case NATS_DRAINING:
    case NATS_IO_ERROR:
        return BUS_ERR_UNAVAILABLE;
    default:
        return BUS_ERR_OTHER;
    }
}

static void
on_connected(natsConnection *nc, void *closure)
{
    char url[BUS_URL_MAX] = "", safe[BUS_URL_MAX];

    (void)closure;
    natsConnection_GetConnectedUrl(nc, url, sizeof(url));
    redact_url(url, safe, sizeof(safe));
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("server", safe)), "nats connected");
}

static void
on_reconnected(natsConnection *nc, void *closure)
{
    char url[BUS_URL_MAX] = "", safe[BUS_URL_MAX];

    (void)closure;
    natsConnection_GetConnectedUrl(nc, url, sizeof(url));
    redact_url(url, safe, sizeof(safe));
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("server", safe)), "nats reconnected");
}

static void
on_disconnected(natsConnection *nc, void *closure)
{
    bus *b = closure;

    /* Also called on the way to a deliberate close: say so only when not. */
    if (!natsConnection_IsClosed(nc))
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("servers", b->url)), "nats disconnected");
}

static void
on_closed(natsConnection *nc, void *closure)
{
    bus *b = closure;

    (void)nc;
    log_info("nats connection closed");
    /* The last callback nats.c makes with b: bus_close may free it as soon
     * as the lock is released. */
    pthread_mutex_lock(&b->mu);
    b->closed = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

static void
on_async_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
    int64_t dropped = 0;

    (void)nc;
    (void)closure;
    if (sub != NULL)
        natsSubscription_GetDropped(sub, &dropped);
    log_msg(LOGL_WARN,
            LOG_FIELDS(LF_STR("error", natsStatus_GetText(err)), LF_INT("dropped", dropped)),
            "nats asynchronous error");
}

static natsStatus
set_options(bus *b, char **servers, int n)
{
    natsOptions *o = b->opts;
    natsStatus s = natsOptions_SetServers(o, (const char **)servers, n);

    if (s == NATS_OK)
        s = natsOptions_SetName(o, b->name);
    /* Forever, from the first attempt on: a daemon may start before NATS. */
    if (s == NATS_OK)
        s = natsOptions_SetMaxReconnect(o, -1);
    if (s == NATS_OK)
        s = natsOptions_SetRetryOnFailedConnect(o, true, on_connected, b);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectWait(o, 500);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectJitter(o, 100, 1000);
    /* Publishing fails fast while disconnected, so this only covers races. */
    if (s == NATS_OK)
        s = natsOptions_SetReconnectBufSize(o, 1024 * 1024);
    if (s == NATS_OK)
        s = natsOptions_SetTimeout(o, 2000);
    if (s == NATS_OK)
        s = natsOptions_SetPingInterval(o, 5000);
    if (s == NATS_OK)
        s = natsOptions_SetMaxPingsOut(o, 2);
    if (s == NATS_OK)
        s = natsOptions_SetDisconnectedCB(o, on_disconnected, b);
    if (s == NATS_OK)
        s = natsOptions_SetReconnectedCB(o, on_reconnected, b);
    if (s == NATS_OK)
        s = natsOptions_SetClosedCB(o, on_closed, b);
    if (s == NATS_OK)
        s = natsOptions_SetErrorHandler(o, on_async_error, b);
    return s;
}

static void
free_bus(bus *b)
{
    while (b->subs != NULL) {
        struct bus_sub *bs = b->subs;
        b->subs = bs->next;
        natsSubscription_Destroy(bs->sub);
        free(bs);
    }
    jsCtx_Destroy(b->batch_js);
    jsCtx_Destroy(b->js);
    natsConnection_Destroy(b->nc);
    natsOptions_Destroy(b->opts);
    pthread_cond_destroy(&b->cv);
    pthread_mutex_destroy(&b->mu);
    pthread_mutex_destroy(&b->batch_mu);
    free(b);
}

bus_status
bus_connect(const char *url, const char *name, bus **out)
{
    char copy[BUS_URL_MAX];
    char *servers[BUS_LIST_MAX];
    pthread_condattr_t ca;
    natsStatus s;
    int n;
    bus *b;

    if (out == NULL)
        return BUS_ERR_INVALID;
    *out = NULL;
    if (url == NULL || util_strlcpy(copy, url, sizeof(copy)) >= sizeof(copy)
        || (n = bus_i_split_list(copy, servers, BUS_LIST_MAX)) < 0)
        return BUS_ERR_INVALID;
    b = calloc(1, sizeof(*b));
    if (b == NULL)
        return BUS_ERR_OTHER;
    pthread_mutex_init(&b->mu, NULL);
    pthread_mutex_init(&b->batch_mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&b->cv, &ca);
    pthread_condattr_destroy(&ca);
    redact_url(url, b->url, sizeof(b->url));
    util_strlcpy(b->name, name != NULL && name[0] != '\0' ? name : "brain", sizeof(b->name));

    /* Before the library's first use: its locks block at once instead of
     * spinning (nats_Open's default spins 2000 times). On a machine with few
     * cores a spinning thread only takes the CPU from the one it waits for.
     * Later calls are no-ops. */
    s = nats_Open(0);
    if (s == NATS_OK)
        s = natsOptions_Create(&b->opts);
    if (s == NATS_OK)
        s = set_options(b, servers, n);
    if (s == NATS_OK) {
        s = natsConnection_Connect(&b->nc, b->opts);
        if (s == NATS_NOT_YET_CONNECTED) {
            log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("servers", b->url)),
                    "nats not reachable yet; retrying in the background");
            s = NATS_OK;
        } else if (s == NATS_OK) {
            on_connected(b->nc, b);
        }
    }
    if (s == NATS_OK)
        s = natsConnection_JetStream(&b->js, b->nc, NULL);
    if (s != NATS_OK) {
        log_msg(LOGL_ERROR,
                LOG_FIELDS(LF_STR("servers", b->url), LF_STR("error", natsStatus_GetText(s))),
                "nats connection setup failed");
        if (b->nc != NULL) {
            bus_close(b);
        } else {
            free_bus(b);
        }
        return bus_i_from_nats(s) == BUS_ERR_INVALID ? BUS_ERR_INVALID : BUS_ERR_OTHER;
    }
    *out = b;
    return BUS_OK;
}

static bool
all_done(const bus *b)
{
    if (!b->closed)
        return false;
    for (const struct bus_sub *bs = b->subs; bs != NULL; bs = bs->next) {
        if (!bs->done)
            return false;
    }
    return true;
}

void
bus_close(bus *b)
{
    struct timespec deadline;
    bool done;

    if (b == NULL)
        return;
    /* Drain: stop receiving, let handlers finish, flush what was published.
     * Not possible while disconnected, then close at once. */
    if (natsConnection_DrainTimeout(b->nc, BUS_DRAIN_MS) != NATS_OK)
        natsConnection_Close(b->nc);

    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += BUS_CLOSE_WAIT_MS / 1000;
    pthread_mutex_lock(&b->mu);
    while (!(done = all_done(b))) {
        if (pthread_cond_timedwait(&b->cv, &b->mu, &deadline) != 0) {
            done = all_done(b);
            break;
        }
    }
    pthread_mutex_unlock(&b->mu);
    if (!done) {
        /* A callback may still use b: keeping it is safer than freeing it. */
        log_error("nats connection did not close in time; not freeing it");
        return;
    }
    free_bus(b);
}

bool
bus_connected(const bus *b)
{
    return b != NULL && natsConnection_Status(b->nc) == NATS_CONN_STATUS_CONNECTED;
}

bus_status
bus_ping(bus *b, int timeout_ms, int *latency_ms)
{
    int64_t t0;
    natsStatus s;

    if (b == NULL || timeout_ms <= 0)
        return BUS_ERR_INVALID;
    if (!bus_connected(b))
        return BUS_ERR_UNAVAILABLE;
    t0 = util_mono_ns();
    s = natsConnection_FlushTimeout(b->nc, timeout_ms);
    if (s == NATS_OK && latency_ms != NULL)
        *latency_ms = (int)((util_mono_ns() - t0) / 1000000);
    return bus_i_from_nats(s);
}

/* Subjects often carry ids from requests: a space or line break in one would
 * be read by the server as protocol, not as part of the subject. */
bool
bus_i_subject_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n >= BUS_SUBJECT_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f)
            return false;
    }
    return true;
}

/* A message carrying the calling thread's request id. */
bus_status
bus_i_make_msg(const char *subject, const void *data, size_t len, natsMsg **out)
{
    const char *rid = log_request_id();
    natsStatus s;

    *out = NULL;
    if (!bus_i_subject_ok(subject) || len > INT_MAX || (data == NULL && len > 0))
        return BUS_ERR_INVALID;
    s = natsMsg_Create(out, subject, NULL, data, (int)len);
    if (s == NATS_OK && rid[0] != '\0')
        s = natsMsgHeader_Set(*out, HDR_REQUEST_ID, rid);
    if (s != NATS_OK) {
        natsMsg_Destroy(*out);
        *out = NULL;
    }
    return bus_i_from_nats(s);
}

bus_status
bus_publish(bus *b, const char *subject, const void *data, size_t len)
{
    natsMsg *m = NULL;
    bus_status st;

    if (b == NULL)
        return BUS_ERR_INVALID;
    st = bus_i_make_msg(subject, data, len, &m);
    if (st != BUS_OK)
        return st;
    /* nats.c would buffer while reconnecting; the caller should know now. */
    if (!bus_connected(b))
        st = BUS_ERR_UNAVAILABLE;
    else
        st = bus_i_from_nats(natsConnection_PublishMsg(b->nc, m));
    natsMsg_Destroy(m);
    return st;
}

bus_status
bus_request(bus *b, const char *subject, const void *data, size_t len, int timeout_ms, char **reply,
            size_t *reply_len)
{
    natsMsg *m = NULL, *resp = NULL;
    bus_status st;

    if (reply_len != NULL)
        *reply_len = 0;
    if (reply == NULL)
        return BUS_ERR_INVALID;
    *reply = NULL;
    if (b == NULL || timeout_ms <= 0)
        return BUS_ERR_INVALID;
    st = bus_i_make_msg(subject, data, len, &m);
    if (st != BUS_OK)
        return st;
    if (!bus_connected(b)) {
        st = BUS_ERR_UNAVAILABLE;
        goto out;
    }
    st = bus_i_from_nats(natsConnection_RequestMsg(&resp, b->nc, m, timeout_ms));
    if (st == BUS_OK) {
        size_t n = (size_t)natsMsg_GetDataLength(resp);
        *reply = malloc(n + 1);
        if (*reply == NULL) {
            st = BUS_ERR_OTHER;
            goto out;
        }
        if (n > 0)
            memcpy(*reply, natsMsg_GetData(resp), n);
        (*reply)[n] = '\0';
        if (reply_len != NULL)
            *reply_len = n;
    }
out:
    natsMsg_Destroy(resp);
    natsMsg_Destroy(m);
    return st;
}

/* Run fn for msg with the message's request id set on this thread. */
int
bus_i_dispatch(struct bus_sub *bs, natsMsg *msg)
{
    const char *rid = NULL;
    bus_msg bm = {.b = bs->b, .m = msg};
    int rc = 0;

    if (natsMsgHeader_Get(msg, HDR_REQUEST_ID, &rid) != NATS_OK)
        rid = NULL;
    log_set_request_id(rid);
    if (bs->fn != NULL)
        bs->fn(&bm, bs->ud);
    else
        rc = bs->efn(&bm, bs->ud);
    log_set_request_id(NULL);
    return rc;
}

static void
on_core_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
    (void)nc;
    (void)sub;
    bus_i_dispatch(closure, msg);
    natsMsg_Destroy(msg);
}

static void
on_sub_complete(void *closure)
{
    struct bus_sub *bs = closure;
    bus *b = bs->b;

    pthread_mutex_lock(&b->mu);
    bs->done = true;
    pthread_cond_broadcast(&b->cv);
    pthread_mutex_unlock(&b->mu);
}

/* Keep a new subscription for bus_close, or undo it. */
bus_status
bus_i_track_sub(bus *b, struct bus_sub *bs)
{
    if (natsSubscription_SetOnCompleteCB(bs->sub, on_sub_complete, bs) != NATS_OK) {
        natsSubscription_Unsubscribe(bs->sub);
        natsSubscription_Destroy(bs->sub);
        free(bs);
        return BUS_ERR_OTHER;
    }
    pthread_mutex_lock(&b->mu);
    bs->next = b->subs;
    b->subs = bs;
    pthread_mutex_unlock(&b->mu);
    return BUS_OK;
}

bus_status
bus_subscribe(bus *b, const char *subject, const char *queue, bus_handler fn, void *ud)
{
    struct bus_sub *bs;
    natsStatus s;

    if (b == NULL || !bus_i_subject_ok(subject) || fn == NULL
        || (queue != NULL && queue[0] != '\0' && !bus_i_subject_ok(queue)))
        return BUS_ERR_INVALID;
    bs = calloc(1, sizeof(*bs));
    if (bs == NULL)
        return BUS_ERR_OTHER;
    *bs = (struct bus_sub){.b = b, .fn = fn, .ud = ud};
    /* Allowed while disconnected: nats.c sends it when the connection is up. */
    if (queue != NULL && queue[0] != '\0')
        s = natsConnection_QueueSubscribe(&bs->sub, b->nc, subject, queue, on_core_msg, bs);
    else
        s = natsConnection_Subscribe(&bs->sub, b->nc, subject, on_core_msg, bs);
    if (s != NATS_OK) {
        free(bs);
        return bus_i_from_nats(s);
    }
    return bus_i_track_sub(b, bs);
}

const char *
bus_msg_subject(const bus_msg *m)
{
    return natsMsg_GetSubject(m->m);
}

const char *
bus_msg_data(const bus_msg *m, size_t *len)
{
    if (len != NULL)
        *len = (size_t)natsMsg_GetDataLength(m->m);
    return natsMsg_GetData(m->m);
}

const char *
bus_msg_header(const bus_msg *m, const char *name)
{
    const char *v = NULL;

    if (name == NULL || natsMsgHeader_Get(m->m, name, &v) != NATS_OK)
        return NULL;
    return v;
}

const char *
bus_msg_reply(const bus_msg *m)
{
    const char *reply = natsMsg_GetReply(m->m);
    return reply && reply[0] ? reply : NULL;
}

bus_status
bus_respond(bus_msg *m, const void *data, size_t len)
{
    const char *reply = natsMsg_GetReply(m->m);
    natsMsg *r = NULL;
    bus_status st;

    if (reply == NULL || reply[0] == '\0')
        return BUS_ERR_INVALID;
    st = bus_i_make_msg(reply, data, len, &r);
    if (st == BUS_OK)
        st = bus_i_from_nats(natsConnection_PublishMsg(m->b->nc, r));
    natsMsg_Destroy(r);
    return st;
}

const char *
bus_status_name(bus_status s)
{
    switch (s) {
    case BUS_OK:
        return "ok";
    case BUS_ERR_UNAVAILABLE:
        return "unavailable";
    case BUS_ERR_TIMEOUT:
        return "timeout";
    case BUS_ERR_NO_RESPONDERS:
        return "no_responders";
    case BUS_ERR_INVALID:
        return "invalid";
    case BUS_ERR_OTHER:
        return "error";
    }
    return "unknown";
}
