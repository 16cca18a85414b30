/* testlib: NATS helpers for tests against a real server (bus.h): an inbox the
 * handlers record into and the test thread waits on. */
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "testlib.h"
#include "util.h"

void
tl_inbox_init(tl_inbox *ib)
{
    memset(ib, 0, sizeof(*ib));
    pthread_mutex_init(&ib->mu, NULL);
    pthread_cond_init(&ib->cv, NULL);
}

void
tl_inbox_destroy(tl_inbox *ib)
{
    pthread_cond_destroy(&ib->cv);
    pthread_mutex_destroy(&ib->mu);
}

int
tl_inbox_add(tl_inbox *ib, bus_msg *m)
{
    size_t len = 0;
    const char *data = bus_msg_data(m, &len);
    const char *hdr = bus_msg_header(m, "X-Request-Id");
    int n;

    pthread_mutex_lock(&ib->mu);
    n = ib->n;
    if (n < TL_INBOX_MAX) {
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

bool
tl_inbox_wait(tl_inbox *ib, int n, int ms)
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

int
tl_inbox_count(tl_inbox *ib)
{
    int n;

    pthread_mutex_lock(&ib->mu);
    n = ib->n;
    pthread_mutex_unlock(&ib->mu);
    return n;
}

void
tl_bus_record(bus_msg *m, void *ud)
{
    tl_inbox_add(ud, m);
}

int
tl_bus_record_event(bus_msg *m, void *ud)
{
    tl_inbox *ib = ud;
    int n = tl_inbox_add(ib, m);

    return ib->nak_first && n == 1 ? 1 : 0;
}

void
tl_bus_subject(char *buf, size_t cap, const char *suffix)
{
    snprintf(buf, cap, "t%ld.%s", (long)getpid(), suffix);
}

bool
tl_bus_wait_connected(bus *b, bool want, int ms)
{
    int64_t deadline = tl_deadline(ms);

    while (bus_connected(b) != want) {
        if (util_mono_ns() > deadline)
            return false;
        tl_pause_ms(10);
    }
    return true;
}
