/* edge_pool: each loop's connections to the upstreams (edge_internal.h). */
#include <sys/epoll.h>
#include <sys/socket.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "edge_internal.h"
#include "util.h"

/* ---- upstream connections ---- */

edge_upconn *
edge__uc_new(edge_loop *l, int fd, upc_target *t, edge_conn *owner, uint32_t events)
{
    edge_upconn *uc = calloc(1, sizeof(*uc));
    if (uc == NULL)
        return NULL;
    uc->ev = (edge_ev){EV_UPSTREAM, owner, uc};
    uc->fd = fd;
    uc->t = t;
    uc->events = events;
    if (edge__ctl(l, EPOLL_CTL_ADD, fd, events, &uc->ev) != 0) {
        free(uc);
        return NULL;
    }
    return uc;
}

/* uc's fd is closed already (by upclient, or just now): uc goes at the end
 * of the round. */
void
edge__uc_forget(edge_loop *l, edge_upconn *uc)
{
    uc->dead = true;
    uc->next_dead = l->dead_uc;
    l->dead_uc = uc;
}

void
edge__uc_close(edge_loop *l, edge_upconn *uc)
{
    close(uc->fd);
    edge__uc_forget(l, uc);
}

static edge_pool *
edge_pool_of(edge_loop *l, upc_target *t, bool add)
{
    for (int i = 0; i < l->npools; i++)
        if (l->pools[i].t == t)
            return &l->pools[i];
    if (!add || l->npools == EDGE_POOL_TARGETS)
        return NULL;
    l->pools[l->npools].t = t;
    l->pools[l->npools].n = 0;
    return &l->pools[l->npools++];
}

/* The most recently used idle connection to t, or NULL. One idle too long
 * (UPC_IDLE_MS: the services close theirs after 2 s) means all below it
 * are too: they are closed. */
edge_upconn *
edge__pool_take(edge_loop *l, upc_target *t)
{
    edge_pool *p = edge_pool_of(l, t, false);
    if (p == NULL || p->n == 0)
        return NULL;
    edge_upconn *uc = p->idle[--p->n];
    if (util_mono_ns() - uc->since_ns < (int64_t)UPC_IDLE_MS * 1000000)
        return uc;
    edge__uc_close(l, uc);
    while (p->n > 0)
        edge__uc_close(l, p->idle[--p->n]);
    return NULL;
}

void
edge__pool_put(edge_loop *l, edge_upconn *uc)
{
    edge_pool *p = edge_pool_of(l, uc->t, true);
    if (p == NULL || p->n == EDGE_POOL_MAX
        || (uc->events != EDGE_UP_IDLE
            && edge__ctl(l, EPOLL_CTL_MOD, uc->fd, EDGE_UP_IDLE, &uc->ev) != 0)) {
        edge__uc_close(l, uc);
        return;
    }
    uc->events = EDGE_UP_IDLE;
    uc->ev.c = NULL;
    uc->since_ns = util_mono_ns();
    p->idle[p->n++] = uc;
}

/* An idle connection became readable: the service closed it (or sent
 * something nobody asked for). */
void
edge__on_idle(edge_loop *l, edge_upconn *uc)
{
    edge_pool *p = edge_pool_of(l, uc->t, false);
    for (int i = 0; p != NULL && i < p->n; i++) {
        if (p->idle[i] == uc) {
            memmove(&p->idle[i], &p->idle[i + 1], (size_t)(p->n - i - 1) * sizeof(p->idle[0]));
            p->n--;
            break;
        }
    }
    edge__uc_close(l, uc);
}
