/* live_follow: the jobs one live connection follows, an open-addressing
 * table from job id to the last seq sent, plus the ring that bounds the jobs
 * followed through subscribe_client alone. Used under the connection's lock. */
#include <stdlib.h>
#include <string.h>

#include "live_internal.h"

/* ---- the jobs a connection follows: job id -> entry ---- */

static size_t
id_hash(const char *id)
{
    uint64_t h = 1469598103934665603ULL; /* FNV-1a */

    for (; *id != '\0'; id++) {
        h ^= (unsigned char)*id;
        h *= 1099511628211ULL;
    }
    return (size_t)h;
}

live_entry *
live_tab_find(live_conn *c, const char *id)
{
    if (c->cap == 0)
        return NULL;
    for (size_t i = id_hash(id) & (c->cap - 1);; i = (i + 1) & (c->cap - 1)) {
        if (c->tab[i].id[0] == '\0')
            return NULL;
        if (strcmp(c->tab[i].id, id) == 0)
            return &c->tab[i];
    }
}

static live_entry *
tab_slot(live_entry *tab, size_t cap, const char *id)
{
    size_t i = id_hash(id) & (cap - 1);

    while (tab[i].id[0] != '\0')
        i = (i + 1) & (cap - 1);
    return &tab[i];
}

/* A new entry for id (not present); NULL when out of memory. Pointers into
 * the table are invalid afterwards. */
live_entry *
live_tab_add(live_conn *c, const char *id)
{
    live_entry *e;

    if ((c->count + 1) * 2 > c->cap) {
        size_t cap = c->cap > 0 ? c->cap * 2 : 16;
        live_entry *tab = calloc(cap, sizeof(*tab));

        if (tab == NULL)
            return NULL;
        for (size_t i = 0; i < c->cap; i++)
            if (c->tab[i].id[0] != '\0')
                *tab_slot(tab, cap, c->tab[i].id) = c->tab[i];
        free(c->tab);
        c->tab = tab;
        c->cap = cap;
    }
    e = tab_slot(c->tab, c->cap, id);
    memcpy(e->id, id, LIVE_ID);
    e->sub = false;
    e->seq = -1;
    c->count++;
    return e;
}

/* Remove e, moving later entries of its probe run back (no tombstones).
 * Pointers into the table are invalid afterwards. */
void
live_tab_del(live_conn *c, live_entry *e)
{
    size_t mask = c->cap - 1, i = (size_t)(e - c->tab), j = i;

    c->tab[i].id[0] = '\0';
    for (;;) {
        j = (j + 1) & mask;
        if (c->tab[j].id[0] == '\0')
            break;
        size_t k = id_hash(c->tab[j].id) & mask;
        /* entry j may fill the hole at i unless its home k lies in (i, j] */
        if (i <= j ? (k <= i || k > j) : (k <= i && k > j)) {
            c->tab[i] = c->tab[j];
            c->tab[j].id[0] = '\0';
            i = j;
        }
    }
    c->count--;
}

/* Remember id as followed through subscribe_client alone. The ring bounds
 * such entries: when full, the oldest is forgotten (unless subscribed since).
 * Every unsubscribed entry has a place in the ring, so the table holds at most
 * LIVE_MAX_SUBS + LIVE_MAX_TRACKED entries. Returns 0 or -1. */
int
live_track_push(live_conn *c, const char *id)
{
    if (c->ring == NULL && (c->ring = calloc(LIVE_MAX_TRACKED, sizeof(*c->ring))) == NULL)
        return -1;
    if (c->ring_len == LIVE_MAX_TRACKED) {
        live_entry *old = live_tab_find(c, c->ring[c->ring_head]);

        if (old != NULL && !old->sub)
            live_tab_del(c, old);
        c->ring_head = (c->ring_head + 1) % LIVE_MAX_TRACKED;
        c->ring_len--;
    }
    memcpy(c->ring[(c->ring_head + c->ring_len) % LIVE_MAX_TRACKED], id, LIVE_ID);
    c->ring_len++;
    return 0;
}
