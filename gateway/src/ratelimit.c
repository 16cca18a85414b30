/* ratelimit: token buckets in a bounded hash table with LRU eviction
 * (ratelimit.h).
 *
 * The table is split into stripes, each with its own lock, hash chains and
 * fixed pool of buckets, so requests of different callers seldom wait for
 * each other and nothing is allocated after ratelimit_new. Buckets are kept
 * in least-recently-used order per stripe: a new key takes a free bucket or,
 * when none is left, the stripe's least recently used one. */
#include "ratelimit.h"

#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "util.h"

#define RL_STRIPES 16 /* a power of two */
#define RL_NIL     UINT32_MAX

typedef struct rl_bucket {
    char key[RATELIMIT_MAX_KEY];
    uint64_t hash;
    double tokens;
    int64_t last_ns;       /* when tokens was last brought up to date */
    uint32_t chain;        /* next in the hash chain */
    uint32_t newer, older; /* LRU list */
} rl_bucket;

typedef struct rl_stripe {
    pthread_mutex_t mu;
    rl_bucket *buckets;              /* cap of them */
    uint32_t *heads;                 /* nheads chain heads */
    uint32_t cap, nheads, next_free; /* buckets [0, next_free) are in use */
    uint32_t newest, oldest;
} rl_stripe;

struct ratelimit {
    double rps, burst;
    rl_stripe stripes[RL_STRIPES];
};

/* FNV-1a, 64 bits: keys come from clients (addresses, ids), so the spread
 * matters more than speed; the chains are short and bounded by cap anyway. */
static uint64_t
rl_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s != '\0'; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

ratelimit *
ratelimit_new(double rps, double burst, size_t max_keys)
{
    if (!(rps > 0) || !(burst >= 1) || max_keys == 0 || max_keys > (size_t)UINT32_MAX / 2)
        return NULL;
    ratelimit *rl = calloc(1, sizeof(*rl));
    if (rl == NULL)
        return NULL;
    rl->rps = rps;
    rl->burst = burst;
    uint32_t cap = (uint32_t)((max_keys + RL_STRIPES - 1) / RL_STRIPES);
    for (size_t i = 0; i < RL_STRIPES; i++) {
        rl_stripe *s = &rl->stripes[i];
        pthread_mutex_init(&s->mu, NULL);
        s->cap = cap;
        s->nheads = cap;
        s->newest = s->oldest = RL_NIL;
        /* calloc: pages are only touched as buckets are used */
        s->buckets = calloc(cap, sizeof(*s->buckets));
        s->heads = malloc(cap * sizeof(*s->heads));
        if (s->buckets == NULL || s->heads == NULL) {
            ratelimit_free(rl);
            return NULL;
        }
        for (uint32_t j = 0; j < cap; j++)
            s->heads[j] = RL_NIL;
    }
    return rl;
}

void
ratelimit_free(ratelimit *rl)
{
    if (rl == NULL)
        return;
    for (size_t i = 0; i < RL_STRIPES; i++) {
        rl_stripe *s = &rl->stripes[i];
        if (s->cap == 0)
            continue;
        pthread_mutex_destroy(&s->mu);
        free(s->buckets);
        free(s->heads);
    }
    free(rl);
}

static void
rl_lru_unlink(rl_stripe *s, uint32_t i)
{
    rl_bucket *b = &s->buckets[i];

    if (b->newer != RL_NIL)
        s->buckets[b->newer].older = b->older;
    else
        s->newest = b->older;
    if (b->older != RL_NIL)
        s->buckets[b->older].newer = b->newer;
    else
        s->oldest = b->newer;
}

static void
rl_lru_push(rl_stripe *s, uint32_t i)
{
    rl_bucket *b = &s->buckets[i];

    b->newer = RL_NIL;
    b->older = s->newest;
    if (s->newest != RL_NIL)
        s->buckets[s->newest].newer = i;
    s->newest = i;
    if (s->oldest == RL_NIL)
        s->oldest = i;
}

static void
rl_chain_unlink(rl_stripe *s, uint32_t i)
{
    uint32_t *p = &s->heads[s->buckets[i].hash % s->nheads];

    while (*p != RL_NIL && *p != i)
        p = &s->buckets[*p].chain;
    if (*p == i)
        *p = s->buckets[i].chain;
}

/* The bucket of key (hash h), made when absent: a free one, else the least
 * recently used one of the stripe. Called with s->mu held. */
static rl_bucket *
rl_get(ratelimit *rl, rl_stripe *s, const char *key, uint64_t h, int64_t now_ns)
{
    uint32_t *head = &s->heads[h % s->nheads];

    for (uint32_t i = *head; i != RL_NIL; i = s->buckets[i].chain) {
        rl_bucket *b = &s->buckets[i];
        if (b->hash == h && strcmp(b->key, key) == 0) {
            rl_lru_unlink(s, i);
            rl_lru_push(s, i);
            return b;
        }
    }
    uint32_t i;
    if (s->next_free < s->cap) {
        i = s->next_free++;
    } else {
        i = s->oldest;
        rl_lru_unlink(s, i);
        rl_chain_unlink(s, i);
    }
    rl_bucket *b = &s->buckets[i];
    util_strlcpy(b->key, key, sizeof(b->key));
    b->hash = h;
    b->tokens = rl->burst;
    b->last_ns = now_ns;
    b->chain = *head;
    *head = i;
    rl_lru_push(s, i);
    return b;
}

void
ratelimit_take(ratelimit *rl, const char *key, int64_t now_ns, ratelimit_result *out)
{
    char k[RATELIMIT_MAX_KEY];

    util_strlcpy(k, key != NULL ? key : "", sizeof(k));
    uint64_t h = rl_hash(k);
    rl_stripe *s = &rl->stripes[(h >> 32) & (RL_STRIPES - 1)];

    pthread_mutex_lock(&s->mu);
    rl_bucket *b = rl_get(rl, s, k, h, now_ns);
    if (now_ns > b->last_ns) {
        b->tokens += (double)(now_ns - b->last_ns) / 1e9 * rl->rps;
        if (b->tokens > rl->burst)
            b->tokens = rl->burst;
        b->last_ns = now_ns;
    }
    out->allowed = b->tokens >= 1.0;
    if (out->allowed)
        b->tokens -= 1.0;
    double tokens = b->tokens;
    pthread_mutex_unlock(&s->mu);

    out->limit = (long)rl->burst;
    out->remaining = (long)floor(tokens);
    out->reset_s = (long)ceil((rl->burst - tokens) / rl->rps);
    out->retry_after = 0;
    if (!out->allowed) {
        long wait = (long)ceil((1.0 - tokens) / rl->rps);
        out->retry_after = wait > 0 ? wait : 1;
    }
}

size_t
ratelimit_count(ratelimit *rl)
{
    size_t n = 0;

    for (size_t i = 0; i < RL_STRIPES; i++) {
        pthread_mutex_lock(&rl->stripes[i].mu);
        n += rl->stripes[i].next_free;
        pthread_mutex_unlock(&rl->stripes[i].mu);
    }
    return n;
}
