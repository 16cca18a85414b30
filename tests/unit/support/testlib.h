/* testlib: helpers shared by the unit tests (tests/unit/<dir>/test_<x>.c).
 *
 * The Makefile compiles every .c file of tests/unit/support and links it into every
 * unit-test binary, so nothing here defines main() or a test, and nothing
 * runs before a test calls it: no constructors, no state but zeroed statics.
 * Helpers marked "asserts" fail the running cmocka test when what they need
 * does not hold; include <cmocka.h> in the test before calling them. Every
 * exported name starts with tl_. */
#ifndef BRAIN_TESTLIB_H
#define BRAIN_TESTLIB_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <curl/curl.h>
#include <json-c/json.h>

#include "bus.h"
#include "db.h"
#include "metrics.h"
#include "web.h"

/* ---- time and environment (testlib.c) ---- */

/* How long a test waits for something that should happen "soon". */
#define TL_WAIT_MS 10000

/* Sleep ms milliseconds: only between checks of a condition with a deadline. */
void tl_pause_ms(long ms);

/* The util_mono_ns() value ms milliseconds from now. */
int64_t tl_deadline(long ms);

/* The value of the environment variable name, or NULL (empty counts as unset)
 * after printing "skipped: needs <name>": main() then returns 77. */
const char *tl_require_env(const char *name);

/* ---- log capture (testlib_log.c) ---- */

/* cmocka fixtures of the log tests: the log set up for service "svc-toast"
 * at debug level and captured in tl_log_fd (setup), then held lines sent,
 * stdout back and the capture closed (teardown). */
extern int tl_log_fd;
int tl_log_setup(void **state);
int tl_log_teardown(void **state);

/* Send every log line of the process to a new in-memory file and return its
 * fd, or -1 (the log is left as it was). Does not assert: usable in main(). */
int tl_log_capture(void);

/* Everything written to the capture fd so far, NUL-terminated; *len (may be
 * NULL) gets its length. The caller frees it. Asserts. */
char *tl_log_read(int fd, size_t *len);

/* tl_log_read, then empty the capture so the next call sees only new lines. */
char *tl_log_take(int fd, size_t *len);

/* End a capture: the log goes back to stdout, fd is closed, and what it held
 * is returned as by tl_log_read. */
char *tl_log_end(int fd, size_t *len);

/* Parse s[0..len) strictly (valid UTF-8, nothing after it) as one JSON
 * object. Asserts; the caller puts the result. */
json_object *tl_json_line(const char *s, size_t len);

/* The single line written since the last take, parsed, after checking that it
 * is one line of at most 8192 bytes with no raw control character. raw (may
 * be NULL) gets its text, which the caller frees. Empties the capture. */
json_object *tl_log_only_line(int fd, char **raw);

/* The first captured line containing both needles (b may be NULL), parsed;
 * waits up to ms for it, since a line may be written just after a reply went
 * out. Fails the test when none comes. */
json_object *tl_log_find(int fd, const char *a, const char *b, long ms);

/* ---- HTTP client (testlib_http.c), libcurl against 127.0.0.1 ---- */

typedef struct tl_resp {
    long status;
    char body[4096]; /* NUL-terminated, cut at 4095 bytes */
    size_t len;
    char headers[4096]; /* of the final response (not of a 100 Continue) */
    size_t hlen;
    long connects;  /* new connections curl made: 0 when one was reused */
    bool continued; /* an interim "100 Continue" came first */
} tl_resp;

/* One request; h may be a handle kept between calls (keep-alive) or NULL for
 * a fresh one. hdrs is a NULL-terminated list of "Name: value" or NULL.
 * chunked > 0 streams that many bytes of 'x' with Transfer-Encoding: chunked
 * instead of body/blen. Returns curl's code; out gets the response. */
CURLcode tl_http_on(CURL *h, int port, const char *method, const char *path,
                    const char *const *hdrs, const char *body, size_t blen, size_t chunked,
                    tl_resp *out);

/* Over a plain socket: send head, then body_len spaces in one blocking stream
 * (no waiting for an answer in between, as a client that ignores Expect
 * does) and tail (or NULL), then read the answer until the server closes.
 * Returns the bytes
 * read into out (NUL-terminated, cut at cap - 1), or -errno when a send or
 * receive failed, the way a client reports a reset. */
long tl_raw_exchange(int port, const char *head, size_t body_len, const char *tail, char *out,
                     size_t cap);

/* One request on a fresh connection with a string body (or NULL); asserts the
 * transfer worked and returns the status. */
long tl_http(int port, const char *method, const char *path, const char *const *hdrs,
             const char *body, tl_resp *out);

/* The value of response header name (any case) copied into buf, or NULL. */
const char *tl_header(const tl_resp *r, const char *name, char *buf, size_t cap);

/* Asserts header name has value want, or is absent when want is NULL. */
void tl_assert_header(const tl_resp *r, const char *name, const char *want);

/* The body parsed as JSON. Asserts; the caller puts it. */
json_object *tl_body_json(const tl_resp *r);

/* The string at o.a, or o.a.b when b is not NULL. Asserts the keys exist. */
const char *tl_jstr(json_object *o, const char *a, const char *b);

/* ---- web server fixture (testlib_http.c) ---- */

typedef struct tl_server_cfg {
    const char *service;     /* NULL: "test" */
    const web_route *routes; /* may be NULL */
    size_t nroutes;
    const web_ws_route *ws; /* may be NULL */
    size_t nws;
    const char *token; /* X-Internal-Token to require, NULL for none */
    bool ready;        /* false: 503 "starting" until web_server_set_ready */
    int threads;       /* 0: 8 */
} tl_server_cfg;

typedef struct tl_server {
    web_server *srv;
    metrics_registry *reg; /* the server's metrics */
    int port;              /* chosen by the system, on 127.0.0.1 */
} tl_server;

/* Start a server on a free port with the routes of cfg. Asserts. */
void tl_server_start(tl_server *f, const tl_server_cfg *cfg);

/* Stop and free the server and its metrics. */
void tl_server_stop(tl_server *f);

/* Whether the metrics text contains want within ms; a server accounts a
 * request just after its reply went out. Prints the text when it does not. */
bool tl_metrics_wait(metrics_registry *reg, const char *want, long ms);

/* ---- PostgreSQL (testlib_db.c) ---- */

/* A connection of p, waiting up to 5 s. Asserts. */
db_conn *tl_db_acquire(db_pool *p);

/* Run sql without parameters; fails the test with the error if it fails. */
void tl_db_exec(db_conn *c, const char *sql);

/* The single value of a one-row, one-column query, as a long. Asserts. */
long tl_db_scalar(db_conn *c, const char *sql, int n, const char *const *params);

/* tl_db_scalar on a connection of p, released after. */
long tl_db_pool_scalar(db_pool *p, const char *sql, int n, const char *const *params);

/* Drop (CASCADE) every schema named <prefix>_<anything>, on a pool of its own
 * (a failed test may have left connections of its pool checked out). Errors
 * go to stderr: this runs in group teardowns. */
void tl_db_drop_schemas(const char *url, const char *prefix);

/* The group fixture of the database tests: a schema prefix unique to this
 * process ("brain_test_db_<pid>", into prefix[cap]) and a pool on url;
 * NULL when the pool cannot be made. tl_db_group_close drops the schemas
 * under prefix and frees the pool. */
db_pool *tl_db_group_open(const char *url, char *prefix, size_t cap);
void tl_db_group_close(const char *url, const char *prefix, db_pool *pool);

/* ---- NATS (testlib_bus.c) ---- */

#define TL_INBOX_MAX 64

/* Messages received by handlers, for the test thread to wait on and check.
 * Read the arrays only after tl_inbox_wait/tl_inbox_count said they are there. */
typedef struct tl_inbox {
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int n;
    int nak_first; /* tl_bus_record_event: ask for redelivery of message 1 */
    char data[TL_INBOX_MAX][64];
    char rid[TL_INBOX_MAX][64]; /* log_request_id() on the handler's thread */
    char hdr[TL_INBOX_MAX][64]; /* the X-Request-Id header, "(none)" if absent */
    char subject[TL_INBOX_MAX][128];
    int64_t at_ns[TL_INBOX_MAX]; /* util_mono_ns() on arrival */
} tl_inbox;

void tl_inbox_init(tl_inbox *ib);
void tl_inbox_destroy(tl_inbox *ib);

/* Record a message (past TL_INBOX_MAX only wakes waiters); returns how many
 * the inbox holds now. */
int tl_inbox_add(tl_inbox *ib, bus_msg *m);

/* Whether the inbox holds at least n messages within ms. */
bool tl_inbox_wait(tl_inbox *ib, int n, int ms);

int tl_inbox_count(tl_inbox *ib);

/* A bus_handler recording into the tl_inbox ud. */
void tl_bus_record(bus_msg *m, void *ud);

/* A bus_event_handler recording into the tl_inbox ud; asks for redelivery of
 * the first message when ud's nak_first is set, acknowledges the rest. */
int tl_bus_record_event(bus_msg *m, void *ud);

/* "t<pid>.<suffix>": subjects of their own, so tests can share a server. */
void tl_bus_subject(char *buf, size_t cap, const char *suffix);

/* Whether bus_connected(b) becomes want within ms. */
bool tl_bus_wait_connected(bus *b, bool want, int ms);

#endif
