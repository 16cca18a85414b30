/* events_queue: debounced recomputes; see events_queue.h. A plain array:
 * the clients waiting at once are those that had events in the last few
 * seconds, a handful even in a busy hour. */
#include "events_queue.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

void
evq_init(evq *q, int64_t quiet_ms, size_t max)
{
    memset(q, 0, sizeof(*q));
    q->quiet_ms = quiet_ms;
    q->max = max;
}

void
evq_free(evq *q)
{
    free(q->items);
    memset(q, 0, sizeof(*q));
}

static int64_t
due_of(const evq *q, int64_t first, int64_t now)
{
    int64_t due = now + q->quiet_ms, last = first + EVQ_MAX_QUIETS * q->quiet_ms;
    return due < last ? due : last;
}

bool
evq_touch(evq *q, const char *id, int64_t now_ms)
{
    char key[EVQ_ID_LEN + 1];
    if (!id || !util_uuid_valid(id))
        return false;
    for (size_t i = 0; i <= EVQ_ID_LEN; i++)
        key[i] = (char)tolower((unsigned char)id[i]);
    for (size_t i = 0; i < q->n; i++)
        if (strcmp(q->items[i].id, key) == 0) {
            q->items[i].due_ms = due_of(q, q->items[i].first_ms, now_ms);
            return true;
        }
    if (q->n >= q->max)
        return false;
    if (q->n == q->cap) {
        size_t cap = q->cap ? 2 * q->cap : 16;
        evq_entry *items = realloc(q->items, cap * sizeof(*items));
        if (!items)
            return false;
        q->items = items;
        q->cap = cap;
    }
    evq_entry *e = &q->items[q->n++];
    memcpy(e->id, key, sizeof(key));
    e->first_ms = now_ms;
    e->due_ms = due_of(q, now_ms, now_ms);
    return true;
}

size_t
evq_take_due(evq *q, int64_t now_ms, char (*out)[EVQ_ID_LEN + 1], size_t max)
{
    size_t taken = 0;
    for (size_t i = 0; i < q->n && taken < max;) {
        if (q->items[i].due_ms > now_ms) {
            i++;
            continue;
        }
        memcpy(out[taken++], q->items[i].id, EVQ_ID_LEN + 1);
        q->items[i] = q->items[--q->n]; /* order does not matter */
    }
    return taken;
}

int64_t
evq_next_due(const evq *q)
{
    int64_t next = -1;
    for (size_t i = 0; i < q->n; i++)
        if (next < 0 || q->items[i].due_ms < next)
            next = q->items[i].due_ms;
    return next;
}
