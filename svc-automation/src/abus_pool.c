/* abus_pool: see abus_pool.h. */
#include "abus_pool.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "util.h"

typedef struct work {
    struct work *next;
    const abus_route *route;
    areq req;
    char data[]; /* the payload, NUL-terminated */
} work;

struct abus_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    work *head, *tail;
    size_t queued;
    bool stopping;
    int n;
    pthread_t *threads;
};

static void *
pool_main(void *arg)
{
    abus *ab = arg;
    struct abus_pool *p = ab->pool;
    pthread_mutex_lock(&p->mu);
    for (;;) {
        while (!p->head && !p->stopping)
            pthread_cond_wait(&p->cv, &p->mu);
        work *w = p->head;
        if (!w)
            break; /* stopping, and nothing left to answer */
        p->head = w->next;
        if (!p->head)
            p->tail = NULL;
        p->queued--;
        pthread_mutex_unlock(&p->mu);
        log_set_request_id(w->req.request_id[0] ? w->req.request_id : NULL);
        w->route->fn(&w->req);
        log_set_request_id(NULL);
        free(w);
        pthread_mutex_lock(&p->mu);
    }
    pthread_mutex_unlock(&p->mu);
    return NULL;
}

int
abus_pool_start(abus *ab, int n)
{
    struct abus_pool *p = calloc(1, sizeof(*p));
    if (!p)
        return -1;
    p->threads = calloc((size_t)n, sizeof(pthread_t));
    if (!p->threads) {
        free(p);
        return -1;
    }
    pthread_mutex_init(&p->mu, NULL);
    pthread_cond_init(&p->cv, NULL);
    ab->pool = p;
    for (int i = 0; i < n; i++) {
        if (pthread_create(&p->threads[i], NULL, pool_main, ab) != 0) {
            log_error("cannot start a request thread");
            abus_pool_stop(ab);
            return -1;
        }
        p->n++;
    }
    return 0;
}

static void
refuse(bus_msg *m, const char *why)
{
    char body[200];
    int len = snprintf(body, sizeof(body),
                       "{\"error\":{\"code\":\"unavailable\",\"message\":\"%s\"}}", why);
    bus_respond(m, body, (size_t)len);
}

void
abus_pool_enqueue(bus_msg *m, void *ud)
{
    abus_binding *bind = ud;
    struct abus_pool *p = bind->ab->pool;
    size_t len = 0;
    const char *data = bus_msg_data(m, &len);
    const char *reply = bus_msg_reply(m), *rid = bus_msg_header(m, "X-Request-Id");
    work *w = malloc(sizeof(*w) + len + 1);
    if (!w) {
        refuse(m, "out of memory");
        return;
    }
    memcpy(w->data, data, len);
    w->data[len] = '\0';
    w->route = bind->route;
    w->req = (areq){.ab = bind->ab, .data = w->data, .len = len};
    util_strlcpy(w->req.reply, reply ? reply : "", sizeof(w->req.reply));
    util_strlcpy(w->req.request_id, rid ? rid : "", sizeof(w->req.request_id));
    w->next = NULL;
    pthread_mutex_lock(&p->mu);
    if (p->stopping || p->queued >= ABUS_POOL_MAX_QUEUED || p->n == 0) {
        bool stopping = p->stopping;
        pthread_mutex_unlock(&p->mu);
        free(w);
        refuse(m, stopping ? "svc-automation is stopping; try again"
                           : "svc-automation is busy; try again");
        return;
    }
    if (p->tail)
        p->tail->next = w;
    else
        p->head = w;
    p->tail = w;
    p->queued++;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

void
abus_pool_stop(abus *ab)
{
    struct abus_pool *p = ab ? ab->pool : NULL;
    if (!p)
        return;
    pthread_mutex_lock(&p->mu);
    bool was = p->stopping;
    p->stopping = true;
    pthread_cond_broadcast(&p->cv);
    pthread_mutex_unlock(&p->mu);
    if (was)
        return;
    for (int i = 0; i < p->n; i++)
        pthread_join(p->threads[i], NULL);
}

void
abus_pool_free(abus *ab)
{
    struct abus_pool *p = ab ? ab->pool : NULL;
    if (!p)
        return;
    abus_pool_stop(ab);
    for (work *w = p->head, *next; w; w = next) {
        next = w->next;
        free(w);
    }
    pthread_mutex_destroy(&p->mu);
    pthread_cond_destroy(&p->cv);
    free(p->threads);
    free(p);
    ab->pool = NULL;
}
