/* auth_cache: a small direct-mapped cache with striped locks; see
 * auth_cache.h. */
#include "auth_cache.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define AUTH_CACHE_STRIPES 16

typedef struct slot {
    char key[AUTH_CACHE_KEY_MAX + 1];
    int64_t until_ns; /* monotonic; 0 for an empty slot */
    auth_cache_val val;
} slot;

struct auth_cache {
    slot *slots;
    size_t mask;
    int64_t ttl_ns;
    uint64_t drops;
    pthread_mutex_t locks[AUTH_CACHE_STRIPES];
};

auth_cache *
auth_cache_new(size_t slots, int ttl_ms)
{
    size_t n = AUTH_CACHE_STRIPES;
    while (n < slots)
        n <<= 1;
    auth_cache *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->slots = calloc(n, sizeof(*c->slots));
    if (!c->slots) {
        free(c);
        return NULL;
    }
    c->mask = n - 1;
    c->ttl_ns = (int64_t)ttl_ms * 1000000;
    for (size_t i = 0; i < AUTH_CACHE_STRIPES; i++)
        pthread_mutex_init(&c->locks[i], NULL);
    return c;
}

void
auth_cache_free(auth_cache *c)
{
    if (!c)
        return;
    for (size_t i = 0; i < AUTH_CACHE_STRIPES; i++)
        pthread_mutex_destroy(&c->locks[i]);
    free(c->slots);
    free(c);
}

/* FNV-1a: the keys are random hashes and UUIDs, so any mixing will do. */
static size_t
slot_of(const auth_cache *c, const char *key)
{
    uint64_t h = 1469598103934665603ULL;
    for (const unsigned char *p = (const unsigned char *)key; *p; p++)
        h = (h ^ *p) * 1099511628211ULL;
    return (size_t)h & c->mask;
}

bool
auth_cache_find(auth_cache *c, const char *key, auth_cache_val *out, bool *stale)
{
    size_t i = slot_of(c, key);
    pthread_mutex_t *m = &c->locks[i % AUTH_CACHE_STRIPES];
    bool hit = false;
    pthread_mutex_lock(m);
    slot *s = &c->slots[i];
    if (s->until_ns != 0 && strcmp(s->key, key) == 0) {
        int64_t now = util_mono_ns();
        if (now < s->until_ns + c->ttl_ns) {
            *out = s->val;
            *stale = now >= s->until_ns;
            hit = true;
        } else {
            s->until_ns = 0;
        }
    }
    pthread_mutex_unlock(m);
    return hit;
}

bool
auth_cache_get(auth_cache *c, const char *key, auth_cache_val *out)
{
    bool stale = false;
    return auth_cache_find(c, key, out, &stale) && !stale;
}

uint64_t
auth_cache_gen(const auth_cache *c)
{
    return __atomic_load_n(&c->drops, __ATOMIC_ACQUIRE);
}

void
auth_cache_put(auth_cache *c, const char *key, const auth_cache_val *v, uint64_t gen)
{
    if (strlen(key) > AUTH_CACHE_KEY_MAX)
        return;
    size_t i = slot_of(c, key);
    pthread_mutex_t *m = &c->locks[i % AUTH_CACHE_STRIPES];
    pthread_mutex_lock(m);
    /* Checked under the slot's lock, which a drop of this key also takes
     * after counting itself: a put that passes here lands before that drop
     * clears the slot. */
    if (auth_cache_gen(c) != gen) {
        pthread_mutex_unlock(m);
        return;
    }
    slot *s = &c->slots[i];
    util_strlcpy(s->key, key, sizeof(s->key));
    s->val = *v;
    s->until_ns = util_mono_ns() + c->ttl_ns;
    pthread_mutex_unlock(m);
}

void
auth_cache_drop(auth_cache *c, const char *key)
{
    size_t i = slot_of(c, key);
    pthread_mutex_t *m = &c->locks[i % AUTH_CACHE_STRIPES];
    __atomic_add_fetch(&c->drops, 1, __ATOMIC_ACQ_REL);
    pthread_mutex_lock(m);
    if (strcmp(c->slots[i].key, key) == 0)
        c->slots[i].until_ns = 0;
    pthread_mutex_unlock(m);
}
