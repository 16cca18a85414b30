/* scheduler: see scheduler.h. Every replica sweeps; the statements skip rows
 * another replica holds, so sweeping twice is harmless. */
#include "scheduler.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"
#include "service.h"

struct sched {
    svc *s;
    int interval_ms;
    pthread_t th;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static void *
sched_main(void *arg)
{
    sched *sc = arg;
    bool down = false;
    pthread_mutex_lock(&sc->mu);
    while (!sc->stop) {
        pthread_mutex_unlock(&sc->mu);
        store_changes ch;
        int n = 0;
        store_changes_init(&ch);
        store_status st = store_sweep(sc->s->store, &ch, &n);
        if (st == ST_OK) {
            if (down)
                log_info("queue sweep works again");
            down = false;
            svc_changed(sc->s, &ch);
        } else {
            if (!down)
                log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("error", store_status_name(st))),
                        "queue sweep failed; retrying");
            down = true;
            store_changes_clear(&ch);
        }
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        ts.tv_nsec += (long)sc->interval_ms * 1000000L;
        ts.tv_sec += ts.tv_nsec / 1000000000L;
        ts.tv_nsec %= 1000000000L;
        pthread_mutex_lock(&sc->mu);
        if (!sc->stop)
            pthread_cond_timedwait(&sc->cv, &sc->mu, &ts);
    }
    pthread_mutex_unlock(&sc->mu);
    return NULL;
}

sched *
sched_start(svc *s, int interval_ms)
{
    sched *sc = calloc(1, sizeof(*sc));
    pthread_condattr_t ca;
    if (!sc)
        return NULL;
    sc->s = s;
    sc->interval_ms = interval_ms;
    pthread_mutex_init(&sc->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&sc->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&sc->th, NULL, sched_main, sc) != 0) {
        pthread_mutex_destroy(&sc->mu);
        pthread_cond_destroy(&sc->cv);
        free(sc);
        return NULL;
    }
    return sc;
}

void
sched_stop(sched *sc)
{
    if (!sc)
        return;
    pthread_mutex_lock(&sc->mu);
    sc->stop = true;
    pthread_cond_signal(&sc->cv);
    pthread_mutex_unlock(&sc->mu);
    pthread_join(sc->th, NULL);
    pthread_mutex_destroy(&sc->mu);
    pthread_cond_destroy(&sc->cv);
    free(sc);
}
