/* bus_gather: a request answered by every subscriber (bus_request_all). */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>

#include <nats/nats.h>

#include "bus.h"
#include "bus_internal.h"
#include "log.h"
#include "util.h"

bus_status
bus_request_all(bus *b, const char *subject, const void *data, size_t len, int timeout_ms,
                int quiet_ms, bus_reply_fn fn, void *ud)
{
    natsInbox *inbox = NULL;
    natsSubscription *sub = NULL;
    natsMsg *m = NULL;
    bus_status st;
    int answers = 0;
    bool no_responders = false;

    if (b == NULL || fn == NULL || timeout_ms <= 0 || quiet_ms <= 0 || !bus_i_subject_ok(subject)
        || len > INT_MAX || (data == NULL && len > 0))
        return BUS_ERR_INVALID;
    if (!bus_connected(b))
        return BUS_ERR_UNAVAILABLE;
    /* A subscription of its own on a new inbox: every answer is taken here,
     * not only the first as natsConnection_Request does. */
    st = bus_i_from_nats(natsInbox_Create(&inbox));
    if (st == BUS_OK)
        st = bus_i_from_nats(natsConnection_SubscribeSync(&sub, b->nc, inbox));
    if (st == BUS_OK)
        st = bus_i_from_nats(natsMsg_Create(&m, subject, inbox, data, (int)len));
    if (st == BUS_OK && log_request_id()[0] != '\0')
        st = bus_i_from_nats(natsMsgHeader_Set(m, BUS_I_HDR_REQUEST_ID, log_request_id()));
    if (st == BUS_OK)
        st = bus_i_from_nats(natsConnection_PublishMsg(b->nc, m));
    if (st != BUS_OK)
        goto out;

    int64_t now = util_mono_ns(), deadline = now + (int64_t)timeout_ms * 1000000;
    for (;;) {
        int64_t until = deadline;
        natsMsg *r = NULL;

        /* after the first answer, the others get quiet_ms each to follow */
        if (answers > 0 && now + (int64_t)quiet_ms * 1000000 < until)
            until = now + (int64_t)quiet_ms * 1000000;
        if (until <= now)
            break;
        int64_t wait_ms = (until - now + 999999) / 1000000;
        natsStatus ns = natsSubscription_NextMsg(&r, sub, wait_ms);
        if (ns == NATS_NO_RESPONDERS) {
            no_responders = true;
            break;
        }
        if (ns != NATS_OK)
            break;                       /* timed out (or the connection went) */
        if (natsMsg_IsNoResponders(r)) { /* nats.c 2.2.0 to 2.4.1 return it as a message */
            no_responders = true;
            natsMsg_Destroy(r);
            break;
        }
        fn(natsMsg_GetData(r), (size_t)natsMsg_GetDataLength(r), ud);
        answers++;
        natsMsg_Destroy(r);
        now = util_mono_ns();
    }
    st = answers > 0        ? BUS_OK
         : no_responders    ? BUS_ERR_NO_RESPONDERS
         : bus_connected(b) ? BUS_ERR_TIMEOUT
                            : BUS_ERR_UNAVAILABLE;
out:
    if (sub != NULL) {
        natsSubscription_Unsubscribe(sub);
        natsSubscription_Destroy(sub);
    }
    natsInbox_Destroy(inbox);
    natsMsg_Destroy(m);
    return st;
}
