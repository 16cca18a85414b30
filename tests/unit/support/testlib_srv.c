/* testlib_srv: see testlib_srv.h. */
#include "testlib_srv.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "testlib.h"
#include "util.h"

static void
tl_srv_count(tl_srv *s, int *field)
{
    pthread_mutex_lock(&s->mu);
    (*field)++;
    pthread_cond_broadcast(&s->cv);
    pthread_mutex_unlock(&s->mu);
}

/* Wait until *field >= n, at most ms. */
bool
tl_srv_wait(tl_srv *s, int *field, int n, long ms)
{
    int64_t until = tl_deadline(ms);
    pthread_mutex_lock(&s->mu);
    while (*field < n && util_mono_ns() < until) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 10 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        pthread_cond_timedwait(&s->cv, &s->mu, &ts);
    }
    bool ok = *field >= n;
    pthread_mutex_unlock(&s->mu);
    return ok;
}

int
tl_srv_get(tl_srv *s, const int *field)
{
    pthread_mutex_lock(&s->mu);
    int v = *field;
    pthread_mutex_unlock(&s->mu);
    return v;
}

/* Wait for fd to be readable, or the stop pipe: false on stop. */
bool
tl_srv_readable(tl_srv *s, int fd)
{
    struct pollfd p[2] = {{.fd = fd, .events = POLLIN}, {.fd = s->stop[0], .events = POLLIN}};
    while (poll(p, 2, -1) < 0)
        if (errno != EINTR)
            return false;
    return (p[1].revents & POLLIN) == 0;
}

void
tl_srv_write(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
        if (w <= 0)
            return;
        p += w;
        n -= (size_t)w;
    }
}

/* Read one request (head and Content-Length body) into buf. Returns its
 * length, 0 at the end of the connection or on stop. */
static size_t
tl_srv_read_request(tl_srv *s, int fd, char *buf, size_t cap)
{
    size_t len = 0;
    const char *end = NULL;
    while (end == NULL) {
        if (len + 1 >= cap || !tl_srv_readable(s, fd))
            return 0;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return 0;
        len += (size_t)n;
        buf[len] = '\0';
        end = strstr(buf, "\r\n\r\n");
    }
    size_t head = (size_t)(end + 4 - buf), body = 0;
    const char *cl = strcasestr(buf, "\r\nContent-Length:");
    if (cl != NULL && cl < end)
        body = strtoul(cl + 17, NULL, 10);
    while (len < head + body && len + 1 < cap) {
        if (!tl_srv_readable(s, fd))
            return 0;
        ssize_t n = recv(fd, buf + len, cap - 1 - len, 0);
        if (n <= 0)
            return 0;
        len += (size_t)n;
        buf[len] = '\0';
    }
    return len;
}

static void *
tl_srv_run(void *arg)
{
    tl_srv *s = arg;
    char buf[TL_SRV_MAX_REQ];
    int conn = 0;
    while (tl_srv_readable(s, s->lfd)) {
        int fd = accept(s->lfd, NULL, NULL);
        if (fd < 0)
            continue;
        int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
        tl_srv_count(s, &s->accepted);
        conn++;
        for (int nreq = 1;; nreq++) {
            size_t len = tl_srv_read_request(s, fd, buf, sizeof(buf));
            if (len == 0)
                break;
            pthread_mutex_lock(&s->mu);
            if (s->requests < TL_SRV_MAX_REQS) {
                memcpy(s->reqs[s->requests], buf, len + 1);
                s->req_len[s->requests] = len;
            }
            s->requests++;
            pthread_cond_broadcast(&s->cv);
            pthread_mutex_unlock(&s->mu);
            if (s->fn(s, fd, conn, nreq, buf, len) == TL_SRV_CLOSE)
                break;
        }
        close(fd);
        tl_srv_count(s, &s->closed);
    }
    return NULL;
}

tl_srv *
tl_srv_start(tl_srv_fn fn, const char *answer)
{
    tl_srv *s = calloc(1, sizeof(*s));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof(a);

    assert_non_null(s);
    s->fn = fn;
    s->answer = answer;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv, NULL);
    assert_int_equal(pipe(s->stop), 0);
    s->lfd = socket(AF_INET, SOCK_STREAM, 0);
    assert_true(s->lfd >= 0);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 16), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &alen), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, tl_srv_run, s), 0);
    return s;
}

void
tl_srv_stop(tl_srv *s)
{
    assert_int_equal(write(s->stop[1], "x", 1), 1);
    pthread_join(s->thread, NULL);
    close(s->lfd);
    close(s->stop[0]);
    close(s->stop[1]);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->cv);
    free(s);
}

/* The canned answer s->answer, then keep the connection. */
tl_srv_next
tl_srv_answer_keep(tl_srv *s, int fd, int conn, int nreq, const char *raw, size_t len)
{
    (void)conn, (void)nreq, (void)raw, (void)len;
    tl_srv_write(fd, s->answer, strlen(s->answer));
    return TL_SRV_KEEP;
}

/* The canned answer, then close. */
tl_srv_next
tl_srv_answer_close(tl_srv *s, int fd, int conn, int nreq, const char *raw, size_t len)
{
    tl_srv_answer_keep(s, fd, conn, nreq, raw, len);
    return TL_SRV_CLOSE;
}

/* The canned answer one byte per segment: the client must put it together. */
tl_srv_next
tl_srv_answer_bytewise(tl_srv *s, int fd, int conn, int nreq, const char *raw, size_t len)
{
    (void)conn, (void)nreq, (void)raw, (void)len;
    for (const char *p = s->answer; *p; p++)
        tl_srv_write(fd, p, 1);
    return TL_SRV_KEEP;
}
