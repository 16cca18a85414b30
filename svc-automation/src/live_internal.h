/* What live.c and live_follow.c share: a connection, what it follows, the
 * registry. Locks and lifetimes are described at the top of live.c. */
#ifndef AUTOMATION_LIVE_INTERNAL_H
#define AUTOMATION_LIVE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#include "live.h"
#include "util.h"

#define LIVE_MAX_MESSAGE 4096 /* bytes of one client message */
#define LIVE_MAX_SUBS    1000 /* job subscriptions per connection */
#define LIVE_MAX_TRACKED 1024 /* jobs remembered for subscribe_client alone */
#define LIVE_MAX_HELD    32   /* events held while a subscription is looked up */
#define LIVE_FANOUT      64   /* connections served without a heap array */
#define LIVE_ID          (UTIL_UUID_LEN + 1)

typedef struct live_entry {
    char id[LIVE_ID]; /* "" when the slot is free */
    bool sub;         /* subscribed, not only followed through subscribe_client */
    long long seq;    /* last seq sent, -1 before the first */
} live_entry;

typedef struct live_held {
    long long seq;
    char *text;
    size_t len;
} live_held;

typedef struct live_conn {
    live *l;
    web_ws *ws; /* referenced until the connection is freed */
    char client_id[LIVE_ID];
    int64_t opened_ns;
    int refs;    /* atomic */
    bool listed; /* in l->conns, under l->mu */
    struct live_conn *prev, *next;
    pthread_mutex_t mu;
    /* under mu */
    bool all; /* subscribe_client */
    int nsubs;
    live_entry *tab; /* open addressing, linear probing, load at most 1/2 */
    size_t cap, count;
    char (*ring)[LIVE_ID]; /* jobs followed through "all" alone, oldest first */
    size_t ring_head, ring_len;
    char pending[LIVE_ID]; /* the job being subscribed to, "" when none */
    live_held held[LIVE_MAX_HELD];
    size_t nheld;
    long long sent;
} live_conn;

struct live {
    pthread_mutex_t mu;
    live_conn *conns;
    int nconns;
    live_lookup_fn lookup;
    void *ud;
    metrics_family *m_conns, *m_sent;
};

/* ---- the jobs a connection follows (live_follow.c), under c->mu ---- */
live_entry *live_tab_find(live_conn *c, const char *id);
/* Add id (not present yet); NULL when out of memory. */
live_entry *live_tab_add(live_conn *c, const char *id);
void live_tab_del(live_conn *c, live_entry *e);
/* Remember id as followed through subscribe_client alone; 0 or -1. */
int live_track_push(live_conn *c, const char *id);

#endif
