/* ticker: see ticker.h. The wait is on the monotonic clock, so a change of
 * the wall clock neither hurries nor holds a sweep. */
#include "ticker.h"

#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct ticker {
    int interval_ms;
    bool first_now;
    void (*fn)(void *ud);
    void *ud;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

/* Wait one interval or until stopped; with t->mu held. */
static void
wait_interval(ticker *t)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += t->interval_ms / 1000;
    ts.tv_nsec += (long)(t->interval_ms % 1000) * 1000000L;
    ts.tv_sec += ts.tv_nsec / 1000000000L;
    ts.tv_nsec %= 1000000000L;
    while (!t->stop && pthread_cond_timedwait(&t->cv, &t->mu, &ts) == 0) {
        /* woken early: stop, or a spurious wake-up (wait on) */
    }
}

static void *
ticker_main(void *arg)
{
    ticker *t = arg;
    pthread_mutex_lock(&t->mu);
    if (!t->first_now)
        wait_interval(t);
    while (!t->stop) {
        pthread_mutex_unlock(&t->mu);
        t->fn(t->ud);
        pthread_mutex_lock(&t->mu);
        wait_interval(t);
    }
    pthread_mutex_unlock(&t->mu);
    return NULL;
}

ticker *
ticker_start(int interval_ms, bool first_now, void (*fn)(void *ud), void *ud)
{
    ticker *t = calloc(1, sizeof(*t));
    pthread_condattr_t ca;
    if (!t)
        return NULL;
    t->interval_ms = interval_ms > 0 ? interval_ms : 1;
    t->first_now = first_now;
    t->fn = fn;
    t->ud = ud;
    pthread_mutex_init(&t->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&t->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&t->th, NULL, ticker_main, t) != 0) {
        pthread_mutex_destroy(&t->mu);
        pthread_cond_destroy(&t->cv);
        free(t);
        return NULL;
    }
    return t;
}

void
ticker_stop(ticker *t)
{
    if (!t)
        return;
    pthread_mutex_lock(&t->mu);
    t->stop = true;
    pthread_cond_signal(&t->cv);
    pthread_mutex_unlock(&t->mu);
    pthread_join(t->th, NULL);
    pthread_mutex_destroy(&t->mu);
    pthread_cond_destroy(&t->cv);
    free(t);
}
