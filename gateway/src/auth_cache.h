/* auth_cache: what the gate learnt from PostgreSQL about an API key (by its
 * hash) or a user (by id), kept a short time so the hot path does not ask
 * the database on every request. Prefix auth_cache_. Thread-safe.
 *
 * Direct-mapped: a fixed number of slots, each key in the one its hash
 * names, a colliding key simply replacing the older one. Memory is fixed at
 * creation whatever callers send (a flood of random keys only churns it),
 * and a lookup is one hash and one short lock (one lock per group of slots,
 * so threads rarely wait on each other). */
#ifndef GATEWAY_AUTH_CACHE_H
#define GATEWAY_AUTH_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "auth.h"

#define AUTH_CACHE_KEY_MAX 64 /* a SHA-256 hex, or a UUID */

typedef struct auth_cache_val {
    char id[40];        /* the key's or user's id */
    auth_role role;     /* its current role */
    const char *reason; /* NULL when usable, else why not ("revoked_key", ...; static) */
    int64_t expires_at; /* an API key's own expiry (epoch seconds), 0 for none */
} auth_cache_val;

typedef struct auth_cache auth_cache;

/* slots is rounded up to a power of two; entries live ttl_ms. NULL on
 * allocation failure. */
auth_cache *auth_cache_new(size_t slots, int ttl_ms);
void auth_cache_free(auth_cache *c); /* NULL ok */

/* The live entry of key, copied into *out. */
bool auth_cache_get(auth_cache *c, const char *key, auth_cache_val *out);
/* The entry of key when it is live or past its lifetime by less than one
 * more lifetime (*stale then true): for a caller that must not wait, which
 * uses it while the entry is refreshed. */
bool auth_cache_find(auth_cache *c, const char *key, auth_cache_val *out, bool *stale);
/* The count of drops so far: read it before asking the database, and give it
 * to auth_cache_put, which then keeps nothing if a drop came in between (the
 * answer may predate a revocation). */
uint64_t auth_cache_gen(const auth_cache *c);
void auth_cache_put(auth_cache *c, const char *key, const auth_cache_val *v, uint64_t gen);
/* Forget key at once (a revoked key, a changed user). */
void auth_cache_drop(auth_cache *c, const char *key);

#endif
