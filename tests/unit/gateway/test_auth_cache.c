/* Unit tests for gateway/src/auth_cache.c (what the gate remembers about keys
 * and users) and the role names of auth.c. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
/* cmocka.h needs stdarg.h, stddef.h, stdint.h and setjmp.h first. */
#include <cmocka.h>

#include "auth.h"
#include "auth_cache.h"
#include "testlib.h"
#include "util.h"

static auth_cache_val
val(const char *id, auth_role role, const char *reason)
{
    auth_cache_val v = {.role = role, .reason = reason, .expires_at = 0};
    util_strlcpy(v.id, id, sizeof(v.id));
    return v;
}

static void
test_put_get_drop(void **state)
{
    (void)state;
    auth_cache *c = auth_cache_new(64, 60000);
    auth_cache_val v = val("k1", ROLE_STAFF, NULL), out;
    assert_non_null(c);

    assert_false(auth_cache_get(c, "a", &out));
    auth_cache_put(c, "a", &v, auth_cache_gen(c));
    assert_true(auth_cache_get(c, "a", &out));
    assert_string_equal(out.id, "k1");
    assert_int_equal(out.role, ROLE_STAFF);
    assert_null(out.reason);
    v = val("k1", ROLE_NONE, "revoked_key");
    auth_cache_put(c, "a", &v, auth_cache_gen(c));
    assert_true(auth_cache_get(c, "a", &out));
    assert_string_equal(out.reason, "revoked_key");
    auth_cache_drop(c, "a");
    assert_false(auth_cache_get(c, "a", &out));
    auth_cache_drop(c, "never-there");
    /* A key longer than a SHA-256 hex is not kept. */
    char long_key[AUTH_CACHE_KEY_MAX + 2];
    memset(long_key, 'x', sizeof(long_key) - 1);
    long_key[sizeof(long_key) - 1] = '\0';
    auth_cache_put(c, long_key, &v, auth_cache_gen(c));
    assert_false(auth_cache_get(c, long_key, &out));
    auth_cache_free(c);
    auth_cache_free(NULL);
}

static void
test_stale_put_is_dropped(void **state)
{
    (void)state;
    auth_cache *c = auth_cache_new(64, 60000);
    auth_cache_val v = val("k1", ROLE_ADMIN, NULL), out;

    /* A lookup started, then the key was revoked (dropped) before its answer
     * came back: that answer may predate the revocation, so it is not kept. */
    uint64_t gen = auth_cache_gen(c);
    auth_cache_drop(c, "a");
    auth_cache_put(c, "a", &v, gen);
    assert_false(auth_cache_get(c, "a", &out));
    auth_cache_put(c, "a", &v, auth_cache_gen(c));
    assert_true(auth_cache_get(c, "a", &out));
    auth_cache_free(c);
}

static void
test_entries_expire(void **state)
{
    (void)state;
    auth_cache *c = auth_cache_new(16, 30);
    auth_cache_val v = val("u", ROLE_VIEWER, NULL), out;

    auth_cache_put(c, "a", &v, auth_cache_gen(c));
    assert_true(auth_cache_get(c, "a", &out));
    int64_t deadline = tl_deadline(TL_WAIT_MS);
    while (auth_cache_get(c, "a", &out) && util_mono_ns() < deadline)
        tl_pause_ms(5);
    assert_false(auth_cache_get(c, "a", &out));
    auth_cache_free(c);
}

/* Past its lifetime an entry is stale for one more lifetime (auth_cache_find
 * gives it, auth_cache_get does not), then gone. */
static void
test_entries_go_stale_then_expire(void **state)
{
    (void)state;
    auth_cache *c = auth_cache_new(16, 200);
    auth_cache_val v = val("u", ROLE_VIEWER, NULL), out;
    bool stale = true;

    auth_cache_put(c, "a", &v, auth_cache_gen(c));
    assert_true(auth_cache_find(c, "a", &out, &stale));
    assert_false(stale);
    int64_t deadline = tl_deadline(TL_WAIT_MS);
    while (auth_cache_get(c, "a", &out) && util_mono_ns() < deadline)
        tl_pause_ms(2);
    assert_false(auth_cache_get(c, "a", &out));
    assert_true(auth_cache_find(c, "a", &out, &stale));
    assert_true(stale);
    assert_string_equal(out.id, "u");
    while (auth_cache_find(c, "a", &out, &stale) && util_mono_ns() < deadline)
        tl_pause_ms(5);
    assert_false(auth_cache_find(c, "a", &out, &stale));
    /* a stale entry is dropped like a live one */
    auth_cache_put(c, "b", &v, auth_cache_gen(c));
    while (auth_cache_get(c, "b", &out) && util_mono_ns() < deadline)
        tl_pause_ms(2);
    auth_cache_drop(c, "b");
    assert_false(auth_cache_find(c, "b", &out, &stale));
    auth_cache_free(c);
}

static void
test_collisions_never_mix_entries(void **state)
{
    (void)state;
    /* 16 slots, 500 keys: most collide. A hit always gives the key's own
     * entry; a replaced one is a miss. */
    auth_cache *c = auth_cache_new(1, 60000);
    char key[32], id[32];
    auth_cache_val out;
    int hits = 0;

    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        snprintf(id, sizeof(id), "id-%d", i);
        auth_cache_val v = val(id, ROLE_STAFF, NULL);
        auth_cache_put(c, key, &v, auth_cache_gen(c));
    }
    for (int i = 0; i < 500; i++) {
        snprintf(key, sizeof(key), "key-%d", i);
        snprintf(id, sizeof(id), "id-%d", i);
        if (auth_cache_get(c, key, &out)) {
            assert_string_equal(out.id, id);
            hits++;
        }
    }
    assert_true(hits > 0 && hits <= 16);
    auth_cache_free(c);
}

static auth_cache *shared;

static void *
hammer(void *arg)
{
    char key[32], id[32];
    auth_cache_val out;
    for (int i = 0; i < 20000; i++) {
        int k = (i * 7 + (int)(intptr_t)arg) % 64;
        snprintf(key, sizeof(key), "key-%d", k);
        snprintf(id, sizeof(id), "id-%d", k);
        if (i % 3 == 0) {
            auth_cache_val v = val(id, ROLE_MANAGER, NULL);
            auth_cache_put(shared, key, &v, auth_cache_gen(shared));
        } else if (i % 11 == 0) {
            auth_cache_drop(shared, key);
        } else if (auth_cache_get(shared, key, &out) && strcmp(out.id, id) != 0) {
            return (void *)1;
        }
    }
    return NULL;
}

static void
test_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    shared = auth_cache_new(32, 60000);
    for (intptr_t i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&t[i], NULL, hammer, (void *)i), 0);
    for (int i = 0; i < 4; i++) {
        void *rc = NULL;
        pthread_join(t[i], &rc);
        assert_null(rc);
    }
    auth_cache_free(shared);
}

static void
test_role_names(void **state)
{
    (void)state;
    const char *names[] = {"viewer", "staff", "manager", "admin"};
    for (int r = ROLE_VIEWER; r <= ROLE_ADMIN; r++) {
        assert_string_equal(auth_role_name((auth_role)r), names[r - ROLE_VIEWER]);
        assert_int_equal(auth_role_parse(names[r - ROLE_VIEWER]), r);
    }
    assert_null(auth_role_name(ROLE_NONE));
    assert_null(auth_role_name((auth_role)99));
    assert_int_equal(auth_role_parse("Admin"), ROLE_NONE);
    assert_int_equal(auth_role_parse(""), ROLE_NONE);
    assert_int_equal(auth_role_parse(NULL), ROLE_NONE);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_put_get_drop),
        cmocka_unit_test(test_stale_put_is_dropped),
        cmocka_unit_test(test_entries_expire),
        cmocka_unit_test(test_collisions_never_mix_entries),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_role_names),
        cmocka_unit_test(test_entries_go_stale_then_expire),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
