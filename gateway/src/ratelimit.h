/* ratelimit: token buckets per key ("key:<id>", "user:<id>", "ip:<addr>").
 * Prefix ratelimit_.
 *
 * Each key has a bucket of `burst` tokens refilled at `rps` tokens a second;
 * a request takes one. Memory is bounded: at most max_keys buckets, spread
 * over lock stripes; when a stripe is full, its least recently used bucket
 * makes room (a bucket idle long enough to have refilled is the same as a new
 * one, so under normal load nothing is lost; under a flood of new keys the
 * oldest keys start again with a full bucket). Thread-safe. The limits hold
 * per gateway instance. */
#ifndef GATEWAY_RATELIMIT_H
#define GATEWAY_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RATELIMIT_MAX_KEY 80 /* bytes of a key, with its NUL; longer keys are cut */

typedef struct ratelimit ratelimit;

typedef struct ratelimit_result {
    bool allowed;
    long limit;       /* the bucket's size (burst) */
    long remaining;   /* whole tokens left after this request */
    long reset_s;     /* seconds until the bucket is full again */
    long retry_after; /* refused: seconds until one token is back (at least 1) */
} ratelimit_result;

/* New limiter: rps > 0, burst >= 1, max_keys >= 1 (rounded up to fill the
 * stripes). NULL on a bad argument or out of memory. */
ratelimit *ratelimit_new(double rps, double burst, size_t max_keys);
void ratelimit_free(ratelimit *rl); /* accepts NULL */

/* Take one token from key's bucket at time now_ns (util_mono_ns()). */
void ratelimit_take(ratelimit *rl, const char *key, int64_t now_ns, ratelimit_result *out);

/* Buckets held now (for tests). */
size_t ratelimit_count(ratelimit *rl);

#endif
