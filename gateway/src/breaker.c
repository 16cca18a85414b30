/* breaker: the circuit breaker of each upstream (see breaker.h). */
#include "breaker.h"

#include <pthread.h>
#include <stdatomic.h>
#include <string.h>

#include "log.h"
#include "util.h"

#define BREAKER_MAX 16

typedef enum { BR_CLOSED = 0, BR_OPEN, BR_HALF_OPEN } breaker_state;

struct breaker {
    char name[64];
    /* Read without the lock on the hot path; changed only under mu. */
    atomic_int state;
    atomic_int failures; /* consecutive, while closed */
    pthread_mutex_t mu;
    int64_t opened_ns; /* when it last opened (under mu) */
};

static breaker breakers[BREAKER_MAX];
static size_t nbreakers;
static breaker_config breaker_cfg;
static metrics_family *breaker_gauge;
static metrics_family *breaker_rejected;

breaker *
breaker_for(const char *name)
{
    for (size_t i = 0; i < nbreakers; i++)
        if (strcmp(breakers[i].name, name) == 0)
            return &breakers[i];
    return NULL;
}

int
breaker_init(const char *const *names, size_t n, const breaker_config *cfg, metrics_registry *reg)
{
    if (cfg->failures < 1 || cfg->open_ms < 1) {
        log_error("circuit breaker: CIRCUIT_FAILURES and CIRCUIT_OPEN_MS must be positive");
        return -1;
    }
    breaker_cfg = *cfg;
    if (reg != NULL) {
        const char *labels[] = {"upstream"};
        breaker_gauge = metrics_gauge(reg, "gateway_circuit_open",
                                      "1 while the circuit to an upstream is open or half-open "
                                      "(requests refused with 503), else 0.",
                                      labels, 1);
        breaker_rejected =
            metrics_counter(reg, "gateway_circuit_rejected_total",
                            "Requests answered 503 at once because the upstream's circuit was "
                            "open.",
                            labels, 1);
    }
    for (size_t i = 0; i < n; i++) {
        if (breaker_for(names[i]) != NULL)
            continue;
        if (nbreakers == BREAKER_MAX) {
            log_error("circuit breaker: more than %d upstreams", BREAKER_MAX);
            return -1;
        }
        breaker *b = &breakers[nbreakers];
        if (util_strlcpy(b->name, names[i], sizeof(b->name)) >= sizeof(b->name)) {
            log_error("circuit breaker: upstream name %s is too long", names[i]);
            return -1;
        }
        atomic_init(&b->state, BR_CLOSED);
        atomic_init(&b->failures, 0);
        pthread_mutex_init(&b->mu, NULL);
        b->opened_ns = 0;
        nbreakers++;
        const char *lv[] = {b->name};
        metrics_set(breaker_gauge, lv, 0);
    }
    return 0;
}

void
breaker_cleanup(void)
{
    for (size_t i = 0; i < nbreakers; i++)
        pthread_mutex_destroy(&breakers[i].mu);
    nbreakers = 0;
    breaker_gauge = NULL;
    breaker_rejected = NULL;
}

/* Under b->mu: open (again) from now. */
static void
breaker_open(breaker *b, const char *why)
{
    atomic_store(&b->state, BR_OPEN);
    b->opened_ns = util_mono_ns();
    const char *lv[] = {b->name};
    metrics_set(breaker_gauge, lv, 1);
    log_msg(LOGL_WARN,
            LOG_FIELDS(LF_STR("upstream", b->name), LF_INT("open_ms", breaker_cfg.open_ms)),
            "circuit to %s opened: %s", b->name, why);
}

breaker_verdict
breaker_acquire(breaker *b, long *retry_after_ms)
{
    if (retry_after_ms != NULL)
        *retry_after_ms = 0;
    if (b == NULL || atomic_load(&b->state) == BR_CLOSED)
        return BREAKER_ALLOW;
    breaker_verdict v = BREAKER_REJECT;
    long wait_ms = 0;
    pthread_mutex_lock(&b->mu);
    int st = atomic_load(&b->state);
    if (st == BR_CLOSED) {
        v = BREAKER_ALLOW;
    } else if (st == BR_OPEN) {
        int64_t left_ns = b->opened_ns + breaker_cfg.open_ms * 1000000LL - util_mono_ns();
        if (left_ns <= 0) {
            /* The first request after the pause is the trial; the others
             * keep being refused until it has answered. */
            atomic_store(&b->state, BR_HALF_OPEN);
            v = BREAKER_TRIAL;
        } else {
            wait_ms = (long)((left_ns + 999999) / 1000000);
        }
    }
    pthread_mutex_unlock(&b->mu);
    if (v == BREAKER_REJECT) {
        const char *lv[] = {b->name};
        metrics_inc(breaker_rejected, lv, 1);
        if (retry_after_ms != NULL)
            *retry_after_ms = wait_ms;
    }
    return v;
}

void
breaker_report(breaker *b, breaker_verdict v, bool ok)
{
    if (b == NULL || v == BREAKER_REJECT)
        return;
    if (v == BREAKER_ALLOW) {
        if (ok) {
            if (atomic_load(&b->failures) != 0)
                atomic_store(&b->failures, 0);
            return;
        }
        if (atomic_fetch_add(&b->failures, 1) + 1 < breaker_cfg.failures)
            return;
        pthread_mutex_lock(&b->mu);
        if (atomic_load(&b->state) == BR_CLOSED
            && atomic_load(&b->failures) >= breaker_cfg.failures)
            breaker_open(b, "consecutive failures");
        pthread_mutex_unlock(&b->mu);
        return;
    }
    pthread_mutex_lock(&b->mu);
    if (ok) {
        atomic_store(&b->failures, 0);
        atomic_store(&b->state, BR_CLOSED);
        const char *lv[] = {b->name};
        metrics_set(breaker_gauge, lv, 0);
        log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("upstream", b->name)),
                "circuit to %s closed: the trial request succeeded", b->name);
    } else {
        breaker_open(b, "the trial request failed");
    }
    pthread_mutex_unlock(&b->mu);
}

bool
breaker_is_open(const breaker *b)
{
    return b != NULL && atomic_load(&b->state) != BR_CLOSED;
}
