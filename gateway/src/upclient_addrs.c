/* upclient_addrs: an upstream's addresses, remembered so that the event
 * loops never wait on DNS; see upclient_internal.h. A numeric host is
 * parsed once. A name is looked up with glibc's getaddrinfo_a, whose
 * helper thread does the waiting: a loop uses the addresses it has and, when
 * they are older than UPC_DNS_TTL_MS, starts a lookup whose answer a later
 * connection picks up. The blocking client (civetweb's threads) looks the
 * name up itself each time it connects, as before, and what it finds is
 * remembered as well. */
#include <netinet/in.h>
#include <sys/socket.h>

#include <netdb.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "upclient_internal.h"
#include "util.h"

#define UPC_DNS_TTL_MS 30000

struct upc_dns {
    pthread_mutex_t mu;
    char host[256], port[8];
    bool numeric; /* an address, not a name: never looked up again */
    upc_addrs addrs;
    int64_t addrs_ns; /* when addrs were found (monotonic); 0 for never */
    bool busy;        /* a lookup is under way in gai */
    int last_err;     /* of the last lookup that ended (a getaddrinfo code) */
    struct gaicb gai;
    struct addrinfo hints;
};

static void
addrs_from(upc_addrs *out, const struct addrinfo *res)
{
    out->n = 0;
    for (const struct addrinfo *ai = res; ai != NULL && out->n < UPC_MAX_ADDRS; ai = ai->ai_next) {
        if ((ai->ai_family == AF_INET || ai->ai_family == AF_INET6)
            && ai->ai_addrlen <= sizeof(out->a[0])) {
            memset(&out->a[out->n], 0, sizeof(out->a[0]));
            memcpy(&out->a[out->n], ai->ai_addr, ai->ai_addrlen);
            out->n++;
        }
    }
}

socklen_t
upc__sa_len(const upc_sa *sa)
{
    return sa->sa.sa_family == AF_INET6 ? sizeof(sa->in6) : sizeof(sa->in);
}

upc_dns *
upc__dns_new(const char *host, const char *port)
{
    upc_dns *d = calloc(1, sizeof(*d));
    if (d == NULL)
        return NULL;
    util_strlcpy(d->host, host, sizeof(d->host));
    util_strlcpy(d->port, port, sizeof(d->port));
    d->hints = (struct addrinfo){
        .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    pthread_mutex_init(&d->mu, NULL);
    struct addrinfo hints = d->hints, *res = NULL;
    hints.ai_flags |= AI_NUMERICHOST;
    if (getaddrinfo(d->host, d->port, &hints, &res) == 0) {
        addrs_from(&d->addrs, res);
        freeaddrinfo(res);
        d->numeric = d->addrs.n > 0;
    }
    return d;
}

/* The lookup under way is over: its answer (if any) is taken. Under mu. */
static void
dns_harvest(upc_dns *d)
{
    if (!d->busy || gai_error(&d->gai) == EAI_INPROGRESS)
        return;
    d->busy = false;
    d->last_err = gai_error(&d->gai);
    if (d->last_err == 0) {
        upc_addrs found;
        addrs_from(&found, d->gai.ar_result);
        if (found.n > 0) {
            d->addrs = found;
            d->addrs_ns = util_mono_ns();
        }
    }
    if (d->gai.ar_result != NULL)
        freeaddrinfo(d->gai.ar_result);
    d->gai.ar_result = NULL;
}

/* A lookup in the background, unless one is under way. Under mu. */
static void
dns_start(upc_dns *d)
{
    if (d->busy)
        return;
    struct gaicb *list[1] = {&d->gai};
    memset(&d->gai, 0, sizeof(d->gai));
    d->gai.ar_name = d->host;
    d->gai.ar_service = d->port;
    d->gai.ar_request = &d->hints;
    int rc = getaddrinfo_a(GAI_NOWAIT, list, 1, NULL);
    d->busy = rc == 0;
    if (rc != 0)
        d->last_err = rc;
}

void
upc__dns_free(upc_dns *d)
{
    if (d == NULL)
        return;
    pthread_mutex_lock(&d->mu);
    if (d->busy && gai_cancel(&d->gai) == EAI_NOTCANCELED) {
        const struct gaicb *wait[1] = {&d->gai};
        while (gai_error(&d->gai) == EAI_INPROGRESS)
            (void)gai_suspend(wait, 1, NULL);
    }
    if (d->busy && d->gai.ar_result != NULL)
        freeaddrinfo(d->gai.ar_result);
    pthread_mutex_unlock(&d->mu);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

void
upc__dns_found(upc_dns *d, const struct addrinfo *res)
{
    if (d == NULL || d->numeric)
        return;
    upc_addrs found;
    addrs_from(&found, res);
    if (found.n == 0)
        return;
    pthread_mutex_lock(&d->mu);
    d->addrs = found;
    d->addrs_ns = util_mono_ns();
    pthread_mutex_unlock(&d->mu);
}

int
upc__dns_addrs(upc_dns *d, upc_addrs *out, int64_t until_ns, upc_info *info)
{
    if (d->numeric) {
        *out = d->addrs; /* set once, before any reader */
        return UPC_OK;
    }
    pthread_mutex_lock(&d->mu);
    dns_harvest(d);
    if (d->addrs.n == 0 || util_mono_ns() - d->addrs_ns >= (int64_t)UPC_DNS_TTL_MS * 1000000)
        dns_start(d);
    if (d->addrs.n == 0 && d->busy) {
        /* Never found yet (the first connection, or the name never
         * resolved): the lookup under way is waited for, within the
         * connection's time. */
        const struct gaicb *wait[1] = {&d->gai};
        int64_t left = until_ns - util_mono_ns();
        struct timespec ts = {left > 0 ? left / 1000000000 : 0, left > 0 ? left % 1000000000 : 0};
        pthread_mutex_unlock(&d->mu);
        (void)gai_suspend(wait, 1, &ts);
        pthread_mutex_lock(&d->mu);
        dns_harvest(d);
    }
    *out = d->addrs;
    int err = d->busy ? EAI_INPROGRESS : d->last_err;
    pthread_mutex_unlock(&d->mu);
    if (out->n > 0)
        return UPC_OK;
    snprintf(info->detail, sizeof(info->detail), "cannot resolve %s: %s", d->host,
             err == EAI_INPROGRESS ? "no answer yet"
             : err == 0            ? "no IPv4 or IPv6 address"
                                   : gai_strerror(err));
    return UPC_ERR_CONNECT;
}
