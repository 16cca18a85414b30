/* testlib_srv: a scripted HTTP/1.1 server on a thread of the test, for the
 * tests of HTTP clients: each request it reads (head and Content-Length body)
 * is recorded and handed to the test's function, which writes the answer byte
 * for byte and says whether to keep the connection. It counts the
 * connections it accepted and closed and the requests it read; tests wait on
 * those counts with deadlines (tl_srv_wait), never on sleeps. Prefix tl_srv_. */
#ifndef BRAIN_TESTLIB_SRV_H
#define BRAIN_TESTLIB_SRV_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

#define TL_SRV_MAX_REQ  8192
#define TL_SRV_MAX_REQS 16

typedef struct tl_srv tl_srv;

typedef enum { TL_SRV_KEEP, TL_SRV_CLOSE } tl_srv_next;

/* Answer one request (raw[0..len), head and body) on fd. conn is the
 * connection's number (1, 2, ...), nreq the request's number on it. */
typedef tl_srv_next (*tl_srv_fn)(tl_srv *s, int fd, int conn, int nreq, const char *raw,
                                 size_t len);

struct tl_srv {
    int lfd, port;
    int stop[2]; /* a pipe: written to stop the thread */
    pthread_t thread;
    tl_srv_fn fn;
    const char *answer; /* for the canned answer functions */
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int accepted, requests, closed; /* guarded by mu */
    char reqs[TL_SRV_MAX_REQS][TL_SRV_MAX_REQ];
    size_t req_len[TL_SRV_MAX_REQS];
};

/* Listen on a free loopback port and serve with fn (answer: for the canned
 * answer functions below). Asserts on failure; tl_srv_stop frees. */
tl_srv *tl_srv_start(tl_srv_fn fn, const char *answer);
void tl_srv_stop(tl_srv *s);
/* Wait until *field (a counter of s) >= n, at most ms. */
bool tl_srv_wait(tl_srv *s, int *field, int n, long ms);
/* The counter *field of s, read under its lock. */
int tl_srv_get(tl_srv *s, const int *field);
/* Wait until fd is readable (true) or s is stopping (false). */
bool tl_srv_readable(tl_srv *s, int fd);
/* Write all of p[0..n) to fd (errors ignored: the client may have gone). */
void tl_srv_write(int fd, const char *p, size_t n);
/* s->answer, then keep the connection / close it / the same one byte per
 * segment (the client must put it together). */
tl_srv_next tl_srv_answer_keep(tl_srv *s, int fd, int conn, int nreq, const char *raw, size_t len);
tl_srv_next tl_srv_answer_close(tl_srv *s, int fd, int conn, int nreq, const char *raw, size_t len);
tl_srv_next tl_srv_answer_bytewise(tl_srv *s, int fd, int conn, int nreq, const char *raw,
                                   size_t len);

#endif
