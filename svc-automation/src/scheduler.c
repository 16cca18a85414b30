/* scheduler: see scheduler.h. Every replica sweeps; the statements skip rows
 * another replica holds, so sweeping twice is harmless. */
#include "scheduler.h"

#include <stdbool.h>
#include <stdlib.h>

#include "log.h"
#include "service.h"
#include "ticker.h"

struct sched {
    svc *s;
    bool down; /* the last sweep failed: log once per outage */
    ticker *t;
};

static void
sweep_once(void *arg)
{
    sched *sc = arg;
    store_changes ch;
    int n = 0;
    store_changes_init(&ch);
    store_status st = store_sweep(sc->s->store, &ch, &n);
    if (st == ST_OK) {
        if (sc->down)
            log_info("queue sweep works again");
        sc->down = false;
        svc_changed(sc->s, &ch);
    } else {
        if (!sc->down)
            log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("error", store_status_name(st))),
                    "queue sweep failed; retrying");
        sc->down = true;
        store_changes_clear(&ch);
    }
}

sched *
sched_start(svc *s, int interval_ms)
{
    sched *sc = calloc(1, sizeof(*sc));
    if (!sc)
        return NULL;
    sc->s = s;
    if (!(sc->t = ticker_start(interval_ms, true, sweep_once, sc))) {
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
    ticker_stop(sc->t);
    free(sc);
}
