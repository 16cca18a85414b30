/* Unit tests for gateway/src/upclient_addrs.c: an upstream's addresses as the
 * event loops get them, without a DNS lookup on the way when they are known. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <netdb.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
/* cmocka.h needs stdarg.h, stddef.h, stdint.h and setjmp.h first. */
#include <cmocka.h>

#include "upclient_internal.h"
#include "util.h"

static int64_t
in_ms(int ms)
{
    return util_mono_ns() + (int64_t)ms * 1000000;
}

static void
assert_v4(const upc_sa *sa, const char *addr, int port)
{
    char text[INET_ADDRSTRLEN];
    assert_int_equal(sa->sa.sa_family, AF_INET);
    assert_int_equal(upc__sa_len(sa), sizeof(struct sockaddr_in));
    assert_non_null(inet_ntop(AF_INET, &sa->in.sin_addr, text, sizeof(text)));
    assert_string_equal(text, addr);
    assert_int_equal(ntohs(sa->in.sin_port), port);
}

static void
test_a_numeric_host_is_parsed_once(void **state)
{
    (void)state;
    upc_dns *d = upc__dns_new("127.0.0.7", "8001");
    upc_addrs a = {0};
    upc_info info = {0};
    assert_non_null(d);
    assert_int_equal(upc__dns_addrs(d, &a, in_ms(1000), &info), UPC_OK);
    assert_int_equal(a.n, 1);
    assert_v4(&a.a[0], "127.0.0.7", 8001);
    upc__dns_free(d);

    d = upc__dns_new("::1", "80");
    assert_non_null(d);
    assert_int_equal(upc__dns_addrs(d, &a, in_ms(1000), &info), UPC_OK);
    assert_int_equal(a.n, 1);
    assert_int_equal(a.a[0].sa.sa_family, AF_INET6);
    assert_int_equal(upc__sa_len(&a.a[0]), sizeof(struct sockaddr_in6));
    upc__dns_free(d);
    upc__dns_free(NULL);
}

/* A name never looked up: the first caller waits for the lookup. */
static void
test_a_name_is_looked_up_the_first_time(void **state)
{
    (void)state;
    upc_dns *d = upc__dns_new("localhost", "8002");
    upc_addrs a = {0};
    upc_info info = {0};
    assert_non_null(d);
    assert_int_equal(upc__dns_addrs(d, &a, in_ms(5000), &info), UPC_OK);
    assert_true(a.n >= 1);
    bool loopback = false;
    for (int i = 0; i < a.n; i++)
        loopback =
            loopback
            || (a.a[i].sa.sa_family == AF_INET && ntohl(a.a[i].in.sin_addr.s_addr) >> 24 == 127)
            || (a.a[i].sa.sa_family == AF_INET6 && IN6_IS_ADDR_LOOPBACK(&a.a[i].in6.sin6_addr));
    assert_true(loopback);
    /* known now: the next caller does not wait, whatever its deadline */
    assert_int_equal(upc__dns_addrs(d, &a, util_mono_ns(), &info), UPC_OK);
    assert_true(a.n >= 1);
    upc__dns_free(d);
}

/* What the blocking client found is what the loops use, with no lookup of
 * their own (this name resolves nowhere). */
static void
test_what_a_blocking_lookup_found_is_used(void **state)
{
    (void)state;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res = NULL;
    upc_dns *d = upc__dns_new("brain-upstream.invalid", "8003");
    upc_addrs a = {0};
    upc_info info = {0};
    assert_non_null(d);
    assert_int_equal(getaddrinfo("127.0.0.9", "8003", &hints, &res), 0);
    upc__dns_found(d, res);
    freeaddrinfo(res);
    int64_t t0 = util_mono_ns();
    assert_int_equal(upc__dns_addrs(d, &a, in_ms(5000), &info), UPC_OK);
    assert_true(util_mono_ns() - t0 < 100000000LL); /* nothing waited for */
    assert_int_equal(a.n, 1);
    assert_v4(&a.a[0], "127.0.0.9", 8003);
    upc__dns_free(d);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_a_numeric_host_is_parsed_once),
        cmocka_unit_test(test_a_name_is_looked_up_the_first_time),
        cmocka_unit_test(test_what_a_blocking_lookup_found_is_used),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
