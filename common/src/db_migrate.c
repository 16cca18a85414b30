/* db_migrate: the migration runner (db_migrate in db.h). Each migration runs
 * in its own transaction together with its row in <schema>.schema_migrations,
 * all under a session advisory lock keyed on the schema. */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <libpq-fe.h>
#include <openssl/evp.h>

#include "db.h"
#include "db_internal.h"
#include "log.h"
#include "util.h"

#define DB_MIGRATE_WAIT_MS 30000
#define DB_SQL_MAX         512 /* statements built around a quoted schema name */

static bool
valid_schema(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > 63 || !((s[0] >= 'a' && s[0] <= 'z') || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++) {
        if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '_'))
            return false;
    }
    return true;
}

/* The version of a name matching ^[0-9]{3}_[a-z0-9_]+\.sql$, or -1. */
static int
migration_version(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;

    if (n < 9 || n > 128 || name[3] != '_' || strcmp(name + n - 4, ".sql") != 0)
        return -1;
    for (size_t i = 0; i < n - 4; i++) {
        char ch = name[i];
        bool digit = ch >= '0' && ch <= '9';
        if (i < 3 ? !digit : !(digit || (ch >= 'a' && ch <= 'z') || ch == '_'))
            return -1;
    }
    return (name[0] - '0') * 100 + (name[1] - '0') * 10 + (name[2] - '0');
}

static int
check_migrations(const db_migration *m, size_t n, char *err, size_t errlen)
{
    int prev = -1;

    for (size_t i = 0; i < n; i++) {
        int v = migration_version(m[i].name);
        if (v < 0 || m[i].sql == NULL) {
            snprintf(err, errlen, "invalid migration name \"%s\"", m[i].name ? m[i].name : "");
            return -1;
        }
        if (v <= prev) {
            snprintf(err, errlen, "migration %s: versions must be unique and in order", m[i].name);
            return -1;
        }
        prev = v;
    }
    return 0;
}

static int
sha256_hex(const char *s, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int len = 0;

    if (EVP_Digest(s, strlen(s), md, &len, EVP_sha256(), NULL) != 1 || len != 32)
        return -1;
    for (unsigned int i = 0; i < len; i++) {
        out[2 * i] = hex[md[i] >> 4];
        out[2 * i + 1] = hex[md[i] & 0xf];
    }
    out[64] = '\0';
    return 0;
}

/* The schema is created only when missing: in production a daemon's role may
 * own its schema without the right to create schemas in the database. */
static db_status
ensure_schema(db_conn *c, const char *schema, const char *qschema)
{
    const char *params[1] = {schema};
    char sql[DB_SQL_MAX];
    PGresult *r = NULL;
    db_status st;

    st = db_exec(c, "SELECT 1 FROM pg_namespace WHERE nspname = $1", 1, params, &r);
    if (st != DB_OK)
        return st;
    if (PQntuples(r) == 0) {
        snprintf(sql, sizeof(sql), "CREATE SCHEMA IF NOT EXISTS %s", qschema);
        st = db_exec(c, sql, 0, NULL, NULL);
    }
    PQclear(r);
    if (st != DB_OK)
        return st;
    snprintf(sql, sizeof(sql),
             "CREATE TABLE IF NOT EXISTS %s.schema_migrations (version integer PRIMARY KEY, "
             "name text NOT NULL, checksum text NOT NULL, "
             "applied_at timestamptz NOT NULL DEFAULT now())",
             qschema);
    return db_exec(c, sql, 0, NULL, NULL);
}

/* The recorded checksum of version, or NULL when it was not applied. */
static const char *
applied_checksum(const PGresult *r, int version)
{
    for (int i = 0; i < PQntuples(r); i++) {
        long v;
        if (util_parse_long(PQgetvalue(r, i, 0), 0, 999, &v) == 0 && v == version)
            return PQgetvalue(r, i, 1);
    }
    return NULL;
}

/* One migration in its own transaction: its SQL and its record together. */
static db_status
apply_one(db_conn *c, const char *schema, const char *qschema, const db_migration *m, int version,
          const char *checksum)
{
    char sql[DB_SQL_MAX];
    char vbuf[16];
    const char *params[3] = {vbuf, m->name, checksum};
    int64_t t0 = util_mono_ns();
    db_status st;

    snprintf(vbuf, sizeof(vbuf), "%d", version);
    st = db_begin(c);
    if (st != DB_OK)
        return st;
    snprintf(sql, sizeof(sql), "SET LOCAL search_path TO %s, public", qschema);
    st = db_exec(c, sql, 0, NULL, NULL);
    /* The file's own SQL, possibly several statements: no parameters here. */
    if (st == DB_OK)
        st = db_i_finish(c, PQexec(c->pg, m->sql), NULL);
    if (st == DB_OK) {
        snprintf(sql, sizeof(sql),
                 "INSERT INTO %s.schema_migrations (version, name, checksum) VALUES ($1, $2, $3)",
                 qschema);
        st = db_exec(c, sql, 3, params, NULL);
    }
    if (st == DB_OK)
        st = db_commit(c);
    if (st != DB_OK) {
        char keep[DB_ERR_MAX];
        util_strlcpy(keep, c->err, sizeof(keep));
        if (!c->broken)
            db_rollback(c);
        util_strlcpy(c->err, keep, sizeof(c->err));
        return st;
    }
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("schema", schema), LF_STR("migration", m->name),
                       LF_INT("duration_ms", (util_mono_ns() - t0) / 1000000)),
            "migration applied");
    return DB_OK;
}

db_status
db_migrate(db_pool *p, const char *schema, const db_migration *m, size_t n, char *err,
           size_t errlen)
{
    char scratch[DB_ERR_MAX];
    const char *params[1] = {schema};
    db_conn *c = NULL;
    char *qschema = NULL;
    PGresult *applied = NULL;
    bool locked = false;
    char sql[DB_SQL_MAX];
    db_status st = DB_ERR_INVALID;

    if (err == NULL || errlen == 0) {
        err = scratch;
        errlen = sizeof(scratch);
    }
    err[0] = '\0';
    if (!valid_schema(schema)) {
        snprintf(err, errlen, "invalid schema name");
        return DB_ERR_INVALID;
    }
    if ((n > 0 && m == NULL) || check_migrations(m, n, err, errlen) != 0)
        return DB_ERR_INVALID;

    st = db_acquire(p, DB_MIGRATE_WAIT_MS, &c);
    if (st != DB_OK) {
        snprintf(err, errlen, "database unavailable");
        return st;
    }
    /* A session lock: it outlives the per-migration transactions. */
    st = db_exec(c, "SELECT pg_advisory_lock(hashtextextended('brain.migrate.' || $1, 0))", 1,
                 params, NULL);
    if (st != DB_OK) {
        snprintf(err, errlen, "advisory lock: %s", c->err);
        goto out;
    }
    locked = true;
    qschema = PQescapeIdentifier(c->pg, schema, strlen(schema));
    if (qschema == NULL) {
        st = DB_ERR_OTHER;
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    st = ensure_schema(c, schema, qschema);
    if (st == DB_OK) {
        snprintf(sql, sizeof(sql), "SELECT version, checksum FROM %s.schema_migrations", qschema);
        st = db_exec(c, sql, 0, NULL, &applied);
    }
    if (st != DB_OK) {
        snprintf(err, errlen, "schema %s: %s", schema, c->err);
        goto out;
    }

    for (size_t i = 0; i < n; i++) {
        int version = migration_version(m[i].name);
        char sum[65];
        const char *have;

        if (sha256_hex(m[i].sql, sum) != 0) {
            st = DB_ERR_OTHER;
            snprintf(err, errlen, "%s: cannot compute checksum", m[i].name);
            goto out;
        }
        have = applied_checksum(applied, version);
        if (have != NULL) {
            if (strcmp(have, sum) != 0) {
                st = DB_ERR_OTHER;
                snprintf(err, errlen, "migration %s was changed after it was applied", m[i].name);
                goto out;
            }
            continue;
        }
        st = apply_one(c, schema, qschema, &m[i], version, sum);
        if (st != DB_OK) {
            snprintf(err, errlen, "%s: %s", m[i].name, c->err);
            goto out;
        }
    }
    st = DB_OK;

out:
    if (locked && !c->broken) {
        PGresult *r = NULL;
        if (db_exec(c, "SELECT pg_advisory_unlock(hashtextextended('brain.migrate.' || $1, 0))", 1,
                    params, &r)
            != DB_OK)
            c->broken = true; /* closing the session releases the lock */
        PQclear(r);
    }
    PQclear(applied);
    PQfreemem(qschema);
    db_release(c);
    return st;
}
