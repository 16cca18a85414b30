/* auth_nowait: credentials on threads that must not wait (the gateway's
 * event loops), and the thread that loads their cache entries again; see
 * auth.h. */
#include <pthread.h>
#include <stdbool.h>
#include <string.h>

#include "auth.h"
#include "auth_cache.h"
#include "auth_internal.h"
#include "log.h"
#include "util.h"

#define NOWAIT_QUEUE 64 /* entries waiting to be loaded again; more are dropped */

typedef struct pending {
    bool user;
    char key[AUTH_CACHE_KEY_MAX + 1];
} pending;

static struct {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    pthread_t thread;
    bool running, stop;
    void (*loaded)(void); /* after each load */
    pending q[NOWAIT_QUEUE];
    size_t n;
} nw = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static __thread bool t_nowait;

void
auth_nowait_thread(void)
{
    t_nowait = true;
}

bool
auth_nowait_here(void)
{
    return t_nowait;
}

void
auth_nowait_refresh(bool user, const char *key)
{
    if (strlen(key) > AUTH_CACHE_KEY_MAX)
        return;
    pthread_mutex_lock(&nw.mu);
    bool queued = false;
    for (size_t i = 0; i < nw.n && !queued; i++)
        queued = nw.q[i].user == user && strcmp(nw.q[i].key, key) == 0;
    if (!queued && nw.running && nw.n < NOWAIT_QUEUE) {
        nw.q[nw.n].user = user;
        util_strlcpy(nw.q[nw.n].key, key, sizeof(nw.q[nw.n].key));
        nw.n++;
        pthread_cond_signal(&nw.cv);
    }
    pthread_mutex_unlock(&nw.mu);
}

static void *
refresher(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&nw.mu);
    for (;;) {
        while (nw.n == 0 && !nw.stop)
            pthread_cond_wait(&nw.cv, &nw.mu);
        if (nw.stop)
            break;
        /* Taken off the queue only once loaded: a stale hit meanwhile does
         * not queue it a second time. */
        pending p = nw.q[0];
        pthread_mutex_unlock(&nw.mu);
        auth_cache_val v;
        bool ok = p.user ? auth_load_user(p.key, &v) : auth_load_key(p.key, &v);
        pthread_mutex_lock(&nw.mu);
        memmove(&nw.q[0], &nw.q[1], (nw.n - 1) * sizeof(nw.q[0]));
        nw.n--;
        if (!ok) {
            /* The database is away: the rest would fail as well. The
             * entries run out and the next requests go the waiting way. */
            nw.n = 0;
        }
        void (*loaded)(void) = nw.loaded;
        pthread_mutex_unlock(&nw.mu);
        if (loaded != NULL)
            loaded();
        pthread_mutex_lock(&nw.mu);
    }
    nw.n = 0;
    pthread_mutex_unlock(&nw.mu);
    return NULL;
}

int
auth_nowait_start(void (*loaded)(void))
{
    pthread_mutex_lock(&nw.mu);
    int rc = 0;
    nw.loaded = loaded;
    if (!nw.running) {
        nw.stop = false;
        nw.n = 0;
        rc = pthread_create(&nw.thread, NULL, refresher, NULL);
        nw.running = rc == 0;
    }
    pthread_mutex_unlock(&nw.mu);
    if (rc != 0)
        log_error("authentication: cannot start the cache's refresh thread: %s", strerror(rc));
    return rc == 0 ? 0 : -1;
}

void
auth_nowait_stop(void)
{
    pthread_mutex_lock(&nw.mu);
    bool running = nw.running;
    nw.stop = true;
    nw.running = false;
    pthread_cond_signal(&nw.cv);
    pthread_mutex_unlock(&nw.mu);
    if (running)
        pthread_join(nw.thread, NULL);
}
