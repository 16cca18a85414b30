/* health_sched: a health_check job per active integration every
 * HEALTH_CHECK_INTERVAL; see health_check.h. The jobs go through
 * jobs.create with an idempotency key naming the integration and the
 * interval, so replicas scheduling at once create each job once. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "health_check.h"
#include "log.h"
#include "store.h"

struct health_sched {
    toast *t;
    long interval_s;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool stop;
};

static void
schedule_one(toast *t, json_object *due, long interval_s)
{
    json_object *id = NULL, *client = NULL, *job = NULL;
    char key[128], err[300];
    json_object_object_get_ex(due, "id", &id);
    json_object_object_get_ex(due, "client_id", &client);
    snprintf(key, sizeof(key), "health_check:%s:%lld", json_object_get_string(id),
             (long long)(time(NULL) / interval_s));
    json_object *body = json_object_new_object(), *conf = json_object_new_object();
    json_object_object_add(conf, "integration_id", json_object_get(id));
    json_object_object_add(body, "client_id", json_object_get(client));
    json_object_object_add(body, "job_type", json_object_new_string("health_check"));
    json_object_object_add(body, "config", conf);
    json_object_object_add(body, "idempotency_key", json_object_new_string(key));
    if (toast_create_job(t, body, &job, err, sizeof(err)) != 0)
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("integration_id", json_object_get_string(id))),
                "scheduled health check not created: %s", err);
    json_object_put(job);
}

static void
tick(health_sched *s)
{
    json_object *due = NULL;
    if (store_health_due(toast_store(s->t), s->interval_s, &due) != ST_OK)
        return;
    size_t n = json_object_array_length(due);
    for (size_t i = 0; i < n; i++)
        schedule_one(s->t, json_object_array_get_idx(due, i), s->interval_s);
    if (n > 0)
        log_msg(LOGL_INFO, LOG_FIELDS(LF_INT("integrations", (long long)n)),
                "health checks scheduled");
    json_object_put(due);
}

static void *
run(void *arg)
{
    health_sched *s = arg;
    pthread_mutex_lock(&s->mu);
    while (!s->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        until.tv_sec += s->interval_s;
        /* The first round comes one interval after start, not at once: a
         * restart does not check every integration again. */
        while (!s->stop && pthread_cond_timedwait(&s->cv, &s->mu, &until) != ETIMEDOUT)
            continue;
        if (s->stop)
            break;
        pthread_mutex_unlock(&s->mu);
        tick(s);
        pthread_mutex_lock(&s->mu);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

health_sched *
health_sched_start(toast *t, long interval_s)
{
    health_sched *s = calloc(1, sizeof(*s));
    pthread_condattr_t ca;
    if (!s)
        return NULL;
    s->t = t;
    s->interval_s = interval_s;
    pthread_mutex_init(&s->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->cv, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&s->thread, NULL, run, s) != 0) {
        pthread_cond_destroy(&s->cv);
        pthread_mutex_destroy(&s->mu);
        free(s);
        return NULL;
    }
    return s;
}

void
health_sched_stop(health_sched *s)
{
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stop = true;
    pthread_cond_signal(&s->cv);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->cv);
    pthread_mutex_destroy(&s->mu);
    free(s);
}
