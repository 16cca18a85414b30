/* db: the PostgreSQL pool, queries, transactions and ping. The migration
 * runner is in db_migrate.c.
 *
 * Each slot of the pool owns at most one PGconn, opened on first use and
 * reopened after it broke. A slot is checked out by one thread at a time, so
 * the connection itself needs no lock; only the slot table is behind p->mu. */
#include "db.h"

#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "db_internal.h"
#include "log.h"
#include "util.h"

#define DB_PREPARED_MAX 1024 /* per connection: bounds the name list */
#define DB_POOL_MAX     1000

struct db_pool {
    pthread_mutex_t mu;
    pthread_cond_t cv; /* a slot was released */
    char *url;
    int size;
    int connect_timeout_s;
    bool down; /* the last connection attempt failed: log changes, not every try */
    db_conn *conns;
};

/* Store "SQLSTATE xxxxx: message" (or the bare message) on one line. */
static void
set_error(db_conn *c, const char *sqlstate, const char *msg)
{
    size_t len;

    if (msg == NULL || msg[0] == '\0')
        msg = "unknown error";
    if (sqlstate != NULL)
        snprintf(c->err, sizeof(c->err), "SQLSTATE %s: %s", sqlstate, msg);
    else
        snprintf(c->err, sizeof(c->err), "%s", msg);
    for (char *s = c->err; *s != '\0'; s++) {
        if (*s == '\n' || *s == '\r' || *s == '\t')
            *s = ' ';
    }
    len = strlen(c->err);
    while (len > 0 && c->err[len - 1] == ' ')
        c->err[--len] = '\0';
}

static bool
connection_level(const char *sqlstate)
{
    return sqlstate == NULL || strncmp(sqlstate, "08", 2) == 0 || strcmp(sqlstate, "57P01") == 0
           || strcmp(sqlstate, "57P02") == 0 || strcmp(sqlstate, "57P03") == 0;
}

static db_status
status_from_sqlstate(const char *s)
{
    if (strcmp(s, "23505") == 0)
        return DB_ERR_UNIQUE;
    if (strcmp(s, "23503") == 0)
        return DB_ERR_FOREIGN_KEY;
    if (strncmp(s, "23", 2) == 0)
        return DB_ERR_CONSTRAINT;
    if (strncmp(s, "22", 2) == 0)
        return DB_ERR_INVALID;
    if (strcmp(s, "40001") == 0 || strcmp(s, "40P01") == 0)
        return DB_ERR_SERIALIZATION;
    if (strcmp(s, "57014") == 0)
        return DB_ERR_TIMEOUT;
    return DB_ERR_OTHER;
}

/* Turn a result (NULL when libpq could not even send) into a status, record
 * the error, and mark the connection broken when the failure is not about the
 * statement but about the connection. */
static db_status
classify(db_conn *c, const PGresult *r)
{
    ExecStatusType st = r != NULL ? PQresultStatus(r) : PGRES_FATAL_ERROR;
    const char *state = NULL;
    const char *msg = NULL;

    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY) {
        c->err[0] = '\0';
        return DB_OK;
    }
    if (r != NULL) {
        state = PQresultErrorField(r, PG_DIAG_SQLSTATE);
        msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    }
    if (msg == NULL)
        msg = PQerrorMessage(c->pg);
    if (st != PGRES_FATAL_ERROR && st != PGRES_NONFATAL_ERROR) {
        /* COPY and other protocol states this API does not drive. */
        set_error(c, state, "unexpected result status");
        c->broken = true;
        return DB_ERR_OTHER;
    }
    set_error(c, state, msg);
    if (PQstatus(c->pg) == CONNECTION_BAD || connection_level(state)) {
        c->broken = true;
        return DB_ERR_UNAVAILABLE;
    }
    return status_from_sqlstate(state);
}

db_status
db_i_finish(db_conn *c, PGresult *r, PGresult **res)
{
    db_status st = classify(c, r);

    if (st == DB_OK && res != NULL)
        *res = r;
    else
        PQclear(r);
    return st;
}

static void
forget_prepared(db_conn *c)
{
    for (size_t i = 0; i < c->nprepared; i++)
        free(c->prepared[i]);
    c->nprepared = 0;
}

static void
close_conn(db_conn *c)
{
    PQfinish(c->pg);
    c->pg = NULL;
    c->broken = false;
    forget_prepared(c);
}

static void
on_notice(void *arg, const PGresult *r)
{
    const char *msg = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    const char *state = PQresultErrorField(r, PG_DIAG_SQLSTATE);

    (void)arg;
    log_msg(LOGL_DEBUG, LOG_FIELDS(LF_STR("sqlstate", state != NULL ? state : "")),
            "postgres notice: %s", msg != NULL ? msg : "");
}

/* Log only when the database goes from reachable to not or back. */
static void
note_reachable(db_pool *p, bool up, const char *error)
{
    bool changed;

    pthread_mutex_lock(&p->mu);
    changed = p->down == up;
    p->down = !up;
    pthread_mutex_unlock(&p->mu);
    if (!changed)
        return;
    if (up)
        log_info("database connection restored");
    else
        log_msg(LOGL_WARN, LOG_FIELDS(LF_STR("error", error)), "database unavailable");
}

static int
open_conn(db_pool *p, db_conn *c)
{
    char timeout[16];
    PGconn *pg;
    /* Keys before dbname may be overridden by the url, keys after it may not:
     * the pool's connect timeout bounds every attempt whatever the url says.
     * GSSAPI encryption is off unless the url asks for it: probing for it
     * loads Kerberos (about 0.8 MB resident) and costs a round trip on every
     * connection, and Brain authenticates with passwords over TLS. */
    const char *keys[] = {
        "application_name", "keepalives", "keepalives_idle", "gssencmode", "dbname",
        "connect_timeout",  NULL};
    const char *vals[] = {
        program_invocation_short_name, "1", "30", "disable", p->url, timeout, NULL};

    close_conn(c);
    snprintf(timeout, sizeof(timeout), "%d", p->connect_timeout_s);
    pg = PQconnectdbParams(keys, vals, 1);
    if (pg == NULL || PQstatus(pg) != CONNECTION_OK) {
        set_error(c, NULL, pg != NULL ? PQerrorMessage(pg) : "out of memory");
        PQfinish(pg);
        note_reachable(p, false, c->err);
        return -1;
    }
    PQsetNoticeReceiver(pg, on_notice, NULL);
    c->pg = pg;
    note_reachable(p, true, NULL);
    return 0;
}

/* An idle connection whose server went away is usually noticed here: libpq
 * reads the pending error and end of file without blocking. */
static bool
conn_usable(db_conn *c)
{
    if (c->pg == NULL || c->broken || PQstatus(c->pg) != CONNECTION_OK)
        return false;
    return PQconsumeInput(c->pg) == 1 && PQstatus(c->pg) == CONNECTION_OK;
}

/* Refuse a malformed url up front: libpq's parse errors quote pieces of it,
 * password included, and would end up in the log at every connection try. A
 * string that is neither a URI nor key=value pairs is a database name. */
static bool
url_parses(const char *url)
{
    PQconninfoOption *opts;
    char *perr = NULL;

    if (strchr(url, '=') == NULL && strncmp(url, "postgresql://", 13) != 0
        && strncmp(url, "postgres://", 11) != 0)
        return true;
    opts = PQconninfoParse(url, &perr);
    PQfreemem(perr);
    if (opts == NULL) {
        log_error("invalid database url (not shown: it may hold a password)");
        return false;
    }
    PQconninfoFree(opts);
    return true;
}

db_pool *
db_pool_new(const char *url, int size, int connect_timeout_s)
{
    db_pool *p = NULL;
    pthread_condattr_t ca;

    if (url == NULL || size < 1 || size > DB_POOL_MAX || !url_parses(url))
        return NULL;
    p = calloc(1, sizeof(*p));
    if (p == NULL)
        return NULL;
    p->url = strdup(url);
    p->conns = calloc((size_t)size, sizeof(*p->conns));
    if (p->url == NULL || p->conns == NULL) {
        free(p->url);
        free(p->conns);
        free(p);
        return NULL;
    }
    p->size = size;
    p->connect_timeout_s = connect_timeout_s > 0 ? connect_timeout_s : 5;
    for (int i = 0; i < size; i++)
        p->conns[i].pool = p;
    pthread_mutex_init(&p->mu, NULL);
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&p->cv, &ca);
    pthread_condattr_destroy(&ca);
    return p;
}

void
db_pool_free(db_pool *p)
{
    if (p == NULL)
        return;
    for (int i = 0; i < p->size; i++) {
        if (p->conns[i].in_use)
            log_error("db_pool_free: a connection is still checked out");
        close_conn(&p->conns[i]);
        free(p->conns[i].prepared);
    }
    /* The url may hold a password. */
    explicit_bzero(p->url, strlen(p->url));
    free(p->url);
    free(p->conns);
    pthread_cond_destroy(&p->cv);
    pthread_mutex_destroy(&p->mu);
    free(p);
}

/* A free slot, preferring one that is already connected. Called locked. */
static db_conn *
pick_free(db_pool *p)
{
    db_conn *unopened = NULL;

    for (int i = 0; i < p->size; i++) {
        db_conn *c = &p->conns[i];
        if (c->in_use)
            continue;
        if (c->pg != NULL)
            return c;
        if (unopened == NULL)
            unopened = c;
    }
    return unopened;
}

static void
put_back(db_conn *c)
{
    db_pool *p = c->pool;

    pthread_mutex_lock(&p->mu);
    c->in_use = false;
    pthread_cond_signal(&p->cv);
    pthread_mutex_unlock(&p->mu);
}

db_status
db_acquire(db_pool *p, int wait_ms, db_conn **out)
{
    struct timespec deadline;
    db_conn *c;

    if (out == NULL)
        return DB_ERR_UNAVAILABLE;
    *out = NULL;
    if (p == NULL)
        return DB_ERR_UNAVAILABLE;
    if (wait_ms < 0)
        wait_ms = 0;
    clock_gettime(CLOCK_MONOTONIC, &deadline);
    deadline.tv_sec += wait_ms / 1000;
    deadline.tv_nsec += (long)(wait_ms % 1000) * 1000000L;
    if (deadline.tv_nsec >= 1000000000L) {
        deadline.tv_sec++;
        deadline.tv_nsec -= 1000000000L;
    }

    pthread_mutex_lock(&p->mu);
    while ((c = pick_free(p)) == NULL) {
        if (pthread_cond_timedwait(&p->cv, &p->mu, &deadline) == ETIMEDOUT) {
            c = pick_free(p);
            break;
        }
    }
    if (c != NULL)
        c->in_use = true;
    pthread_mutex_unlock(&p->mu);
    if (c == NULL) {
        log_warn("database pool exhausted: no connection free within %d ms", wait_ms);
        return DB_ERR_UNAVAILABLE;
    }

    if (!conn_usable(c) && open_conn(p, c) != 0) {
        put_back(c);
        return DB_ERR_UNAVAILABLE;
    }
    c->err[0] = '\0';
    *out = c;
    return DB_OK;
}

void
db_release(db_conn *c)
{
    if (c == NULL)
        return;
    if (c->pg != NULL && !c->broken) {
        PGTransactionStatusType ts = PQtransactionStatus(c->pg);
        if (ts == PQTRANS_INTRANS || ts == PQTRANS_INERROR) {
            PGresult *r = PQexec(c->pg, "ROLLBACK");
            if (PQresultStatus(r) != PGRES_COMMAND_OK)
                c->broken = true;
            PQclear(r);
        } else if (ts != PQTRANS_IDLE) {
            c->broken = true;
        }
    }
    if (c->broken)
        close_conn(c);
    put_back(c);
}

/* What every query checks first; *res is cleared so a failure never leaves a
 * stale result behind. */
static db_status
check_args(db_conn *c, const char *sql, int nparams, const char *const *params, PGresult **res)
{
    if (res != NULL)
        *res = NULL;
    if (c == NULL)
        return DB_ERR_UNAVAILABLE;
    if (sql == NULL || nparams < 0 || (nparams > 0 && params == NULL)) {
        set_error(c, NULL, "invalid argument");
        return DB_ERR_OTHER;
    }
    if (c->pg == NULL || c->broken) {
        set_error(c, NULL, "connection is broken");
        return DB_ERR_UNAVAILABLE;
    }
    return DB_OK;
}

db_status
db_exec(db_conn *c, const char *sql, int nparams, const char *const *params, PGresult **res)
{
    db_status st = check_args(c, sql, nparams, params, res);

    if (st != DB_OK)
        return st;
    return db_i_finish(c, PQexecParams(c->pg, sql, nparams, NULL, params, NULL, NULL, 0), res);
}

static bool
is_prepared(const db_conn *c, const char *name)
{
    for (size_t i = 0; i < c->nprepared; i++) {
        if (strcmp(c->prepared[i], name) == 0)
            return true;
    }
    return false;
}

static int
remember_prepared(db_conn *c, const char *name)
{
    if (c->nprepared == c->capprepared) {
        size_t cap = c->capprepared ? c->capprepared * 2 : 16;
        char **grown = realloc(c->prepared, cap * sizeof(*grown));
        if (grown == NULL)
            return -1;
        c->prepared = grown;
        c->capprepared = cap;
    }
    c->prepared[c->nprepared] = strdup(name);
    if (c->prepared[c->nprepared] == NULL)
        return -1;
    c->nprepared++;
    return 0;
}

db_status
db_exec_prepared(db_conn *c, const char *name, const char *sql, int nparams,
                 const char *const *params, PGresult **res)
{
    db_status st = check_args(c, sql, nparams, params, res);

    if (st != DB_OK)
        return st;
    if (name == NULL || name[0] == '\0') {
        set_error(c, NULL, "invalid argument");
        return DB_ERR_OTHER;
    }
    if (!is_prepared(c, name)) {
        /* A program with more statements than the bound still works, unprepared. */
        if (c->nprepared >= DB_PREPARED_MAX)
            return db_exec(c, sql, nparams, params, res);
        st = db_i_finish(c, PQprepare(c->pg, name, sql, nparams, NULL), NULL);
        if (st != DB_OK)
            return st;
        if (remember_prepared(c, name) != 0) {
            /* The server has it but we could not note it: start over clean. */
            set_error(c, NULL, "out of memory");
            c->broken = true;
            return DB_ERR_UNAVAILABLE;
        }
    }
    return db_i_finish(c, PQexecPrepared(c->pg, name, nparams, params, NULL, NULL, 0), res);
}

db_status
db_begin(db_conn *c)
{
    return db_exec(c, "BEGIN", 0, NULL, NULL);
}

db_status
db_commit(db_conn *c)
{
    PGresult *r = NULL;
    db_status st = db_exec(c, "COMMIT", 0, NULL, &r);

    /* COMMIT of a transaction that an earlier error aborted succeeds as a
     * ROLLBACK: the caller must not believe its writes were kept. */
    if (st == DB_OK && strcmp(PQcmdStatus(r), "ROLLBACK") == 0) {
        set_error(c, NULL, "transaction was aborted by an earlier error and rolled back");
        st = DB_ERR_OTHER;
    }
    PQclear(r);
    return st;
}

db_status
db_rollback(db_conn *c)
{
    return db_exec(c, "ROLLBACK", 0, NULL, NULL);
}

const char *
db_last_error(const db_conn *c)
{
    return c != NULL ? c->err : "";
}

/* SELECT 1 bounded by timeout_ms: a server that stopped answering must not
 * hold a readiness probe for as long as TCP keeps trying. */
static db_status
ping_conn(db_conn *c, int64_t deadline_ns)
{
    struct pollfd pfd = {.fd = PQsocket(c->pg), .events = POLLIN};
    PGresult *r;
    db_status st = DB_OK;

    if (PQsendQuery(c->pg, "SELECT 1") != 1)
        return classify(c, NULL);
    while (PQisBusy(c->pg)) {
        int64_t left_ms = (deadline_ns - util_mono_ns()) / 1000000;
        int rc = poll(&pfd, 1, left_ms > 0 ? (int)left_ms : 0);
        if (rc == 0) {
            set_error(c, NULL, "ping timed out");
            c->broken = true; /* a query is still in flight on it */
            return DB_ERR_TIMEOUT;
        }
        if ((rc < 0 && errno != EINTR) || (rc > 0 && PQconsumeInput(c->pg) != 1))
            return classify(c, NULL);
    }
    while ((r = PQgetResult(c->pg)) != NULL) {
        db_status one = classify(c, r);
        if (st == DB_OK)
            st = one;
        PQclear(r);
    }
    return st;
}

db_status
db_ping(db_pool *p, int timeout_ms, int *latency_ms)
{
    int64_t deadline = util_mono_ns() + (int64_t)timeout_ms * 1000000;
    db_status st = DB_ERR_UNAVAILABLE;

    /* A second try on a fresh connection: the first may have been one the
     * server closed while it sat idle in the pool. */
    for (int attempt = 0; attempt < 2; attempt++) {
        db_conn *c = NULL;
        int64_t t0;

        st = db_acquire(p, timeout_ms, &c);
        if (st != DB_OK)
            return st;
        t0 = util_mono_ns();
        st = ping_conn(c, deadline);
        if (st == DB_OK && latency_ms != NULL)
            *latency_ms = (int)((util_mono_ns() - t0) / 1000000);
        db_release(c);
        if (st != DB_ERR_UNAVAILABLE)
            break;
    }
    return st;
}

const char *
db_status_name(db_status s)
{
    switch (s) {
    case DB_OK:
        return "ok";
    case DB_ERR_UNAVAILABLE:
        return "unavailable";
    case DB_ERR_UNIQUE:
        return "unique_violation";
    case DB_ERR_FOREIGN_KEY:
        return "foreign_key_violation";
    case DB_ERR_CONSTRAINT:
        return "constraint_violation";
    case DB_ERR_INVALID:
        return "invalid_value";
    case DB_ERR_SERIALIZATION:
        return "serialization_failure";
    case DB_ERR_TIMEOUT:
        return "timeout";
    case DB_ERR_OTHER:
        return "error";
    }
    return "unknown";
}
