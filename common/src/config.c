/* config: a table of variables read from the environment (or <NAME>_FILE) once
 * at start and checked there, so a bad value stops the daemon with a message
 * naming the variable instead of failing later. */
#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

#define CFG_MAX_VARS 128
#define CFG_FILE_MAX (64 * 1024)
#define CFG_NAME_MAX 120
#define CFG_SHOW_MAX 64 /* bytes of a bad value quoted back in an error */

const cfg_var cfg_common_vars[] = {
    {"PORT", CFG_INT, "8080", 1, 65535, false, "HTTP port to listen on"},
    {"HTTP_BIND", CFG_STR, "127.0.0.1", 0, 0, false, "address to listen on"},
    /* A connection string may hold a password, so it is treated as a secret. */
    {"DATABASE_URL", CFG_STR, "postgresql://brain@127.0.0.1:5432/brain", 0, 0, true,
     "PostgreSQL connection string"},
    {"DB_POOL_SIZE", CFG_INT, "8", 1, 200, false, "PostgreSQL connections in the pool"},
    {"NATS_URL", CFG_STR, "nats://127.0.0.1:4222", 0, 0, true, "NATS server URL"},
    {"LOG_LEVEL", CFG_STR, "info", 0, 0, false, "debug, info, warn or error"},
    {"INTERNAL_TOKEN", CFG_STR, NULL, 0, 0, true,
     "shared token the gateway sends upstream in X-Internal-Token"},
    {"HTTP_THREADS", CFG_INT, "16", 1, 512, false, "HTTP worker threads"},
    {"BRAIN_ENV", CFG_STR, "development", 0, 0, false, "development, production or test"},
    {"SHUTDOWN_TIMEOUT_S", CFG_INT, "20", 1, 600, false,
     "seconds to drain in-flight work on SIGTERM"},
};
const size_t cfg_common_nvars = sizeof(cfg_common_vars) / sizeof(cfg_common_vars[0]);

static const char *const brain_envs[] = {"development", "production", "test", NULL};

typedef struct entry {
    const cfg_var *var;
    char *value; /* owned; NULL when neither set nor defaulted */
    bool set;    /* came from the environment or a file */
    long ival;
    bool bval;
} entry;

struct cfg {
    entry e[CFG_MAX_VARS];
    size_t n;
    bool production;
};

cfg *
cfg_new(void)
{
    return calloc(1, sizeof(cfg));
}

static void
entry_reset(entry *e)
{
    free(e->value);
    e->value = NULL;
    e->set = false;
    e->ival = 0;
    e->bval = false;
}

void
cfg_free(cfg *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        entry_reset(&c->e[i]);
    free(c);
}

static entry *
find(const cfg *c, const char *name)
{
    if (c == NULL || name == NULL)
        return NULL;
    for (size_t i = 0; i < c->n; i++) {
        if (strcmp(c->e[i].var->name, name) == 0)
            return (entry *)&c->e[i];
    }
    return NULL;
}

int
cfg_add(cfg *c, const cfg_var *vars, size_t n)
{
    size_t fresh = 0;

    if (c == NULL || (vars == NULL && n > 0))
        return -1;
    /* Check room first so a failed call adds nothing. */
    for (size_t i = 0; i < n; i++) {
        if (vars[i].name == NULL || strlen(vars[i].name) > CFG_NAME_MAX)
            return -1;
        if (find(c, vars[i].name) == NULL)
            fresh++;
    }
    if (fresh > CFG_MAX_VARS - c->n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        entry *e = find(c, vars[i].name);
        if (e == NULL)
            e = &c->e[c->n++];
        entry_reset(e);
        e->var = &vars[i];
    }
    return 0;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err != NULL && errlen > 0) {
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

/* Read a secret file whole into a new string, without its trailing newline.
 * Errors name the variable and the path, never the content. */
static int
read_file(const char *fname, const char *path, char **out, char *err, size_t errlen)
{
    char *buf = NULL;
    size_t len = 0;
    int fd, rc = -1;

    fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        rc = fail(err, errlen, "%s: cannot read '%s': %s", fname, path, strerror(errno));
        goto out;
    }
    /* Room for the content, its "\r\n", one byte more to tell a file that
     * is too large, and the NUL. */
    buf = malloc(CFG_FILE_MAX + 4);
    if (buf == NULL) {
        rc = fail(err, errlen, "%s: out of memory", fname);
        goto out;
    }
    while (len < CFG_FILE_MAX + 3) {
        ssize_t n = read(fd, buf + len, CFG_FILE_MAX + 3 - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = fail(err, errlen, "%s: cannot read '%s': %s", fname, path, strerror(errno));
            goto out;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    if (len > 0 && buf[len - 1] == '\n') {
        len--;
        if (len > 0 && buf[len - 1] == '\r')
            len--;
    }
    if (len > CFG_FILE_MAX) {
        rc = fail(err, errlen, "%s: '%s' is larger than %d bytes", fname, path, CFG_FILE_MAX);
        goto out;
    }
    if (memchr(buf, '\0', len) != NULL) {
        rc = fail(err, errlen, "%s: '%s' contains a NUL byte", fname, path);
        goto out;
    }
    buf[len] = '\0';
    *out = buf;
    buf = NULL;
    rc = 0;
out:
    if (fd >= 0)
        close(fd);
    free(buf);
    return rc;
}

/* Find the raw value of one variable: NAME, else NAME_FILE, else its default. */
static int
load_value(entry *e, char *err, size_t errlen)
{
    const cfg_var *v = e->var;
    char fname[CFG_NAME_MAX + sizeof("_FILE")];
    char *value = NULL;

    snprintf(fname, sizeof(fname), "%s_FILE", v->name);
    const char *env = getenv(v->name);
    const char *path = getenv(fname);
    /* An empty secret is no secret; an empty path names no file. */
    if (env != NULL && env[0] == '\0' && v->secret)
        env = NULL;
    if (path != NULL && path[0] == '\0')
        path = NULL;

    if (env != NULL && path != NULL)
        return fail(err, errlen, "%s and %s are both set; set only one", v->name, fname);
    if (env != NULL) {
        value = strdup(env);
        if (value == NULL)
            return fail(err, errlen, "%s: out of memory", v->name);
        e->set = true;
    } else if (path != NULL) {
        if (read_file(fname, path, &value, err, errlen) != 0)
            return -1;
        if (value[0] == '\0' && v->secret) {
            free(value);
            value = NULL;
        } else {
            e->set = true;
        }
    }
    if (value == NULL && v->def != NULL) {
        value = strdup(v->def);
        if (value == NULL)
            return fail(err, errlen, "%s: out of memory", v->name);
    }
    e->value = value;
    return 0;
}

static int
parse_bool(const char *s, bool *out)
{
    static const char *const yes[] = {"1", "true", "yes", "on"};
    static const char *const no[] = {"0", "false", "no", "off"};

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return -1;
}

/* Check one loaded value against its type, bounds and the production rule. */
static int
check_value(const cfg *c, entry *e, char *err, size_t errlen)
{
    const cfg_var *v = e->var;
    log_level lvl;

    /* In production a secret's default (a local database without a password,
     * say) is never good enough: it must be given. */
    if (v->secret && c->production && !e->set)
        return fail(err, errlen, "%s is required in production (set it or %s_FILE)", v->name,
                    v->name);
    if (e->value == NULL)
        return 0;
    if (v->type == CFG_INT && util_parse_long(e->value, v->min, v->max, &e->ival) != 0) {
        if (v->secret)
            return fail(err, errlen, "%s: must be an integer between %ld and %ld", v->name, v->min,
                        v->max);
        return fail(err, errlen, "%s: must be an integer between %ld and %ld (got '%.*s')", v->name,
                    v->min, v->max, CFG_SHOW_MAX, e->value);
    }
    if (v->type == CFG_BOOL && parse_bool(e->value, &e->bval) != 0) {
        if (v->secret)
            return fail(err, errlen, "%s: must be a boolean (true/false, 1/0, yes/no, on/off)",
                        v->name);
        return fail(err, errlen,
                    "%s: must be a boolean (true/false, 1/0, yes/no, on/off) (got '%.*s')", v->name,
                    CFG_SHOW_MAX, e->value);
    }
    if (strcmp(v->name, "LOG_LEVEL") == 0 && log_level_parse(e->value, &lvl) != 0)
        return fail(err, errlen, "LOG_LEVEL: must be one of debug, info, warn, error (got '%.*s')",
                    CFG_SHOW_MAX, e->value);
    return 0;
}

/* BRAIN_ENV decides whether secrets are required, so it is checked first. */
static int
load_environment(cfg *c, char *err, size_t errlen)
{
    const entry *e = find(c, "BRAIN_ENV");
    const char *env = e != NULL ? e->value : getenv("BRAIN_ENV");

    c->production = false;
    if (env == NULL)
        return 0;
    for (size_t i = 0; brain_envs[i] != NULL; i++) {
        if (strcmp(env, brain_envs[i]) == 0) {
            c->production = strcmp(env, "production") == 0;
            return 0;
        }
    }
    if (e == NULL)
        return 0; /* not a variable of this daemon: nothing to check */
    return fail(err, errlen, "BRAIN_ENV: must be one of development, production, test (got '%.*s')",
                CFG_SHOW_MAX, env);
}

int
cfg_load(cfg *c, char *err, size_t errlen)
{
    if (err != NULL && errlen > 0)
        err[0] = '\0';
    if (c == NULL)
        return fail(err, errlen, "no configuration");
    for (size_t i = 0; i < c->n; i++)
        entry_reset(&c->e[i]);
    for (size_t i = 0; i < c->n; i++) {
        if (load_value(&c->e[i], err, errlen) != 0)
            return -1;
    }
    if (load_environment(c, err, errlen) != 0)
        return -1;
    for (size_t i = 0; i < c->n; i++) {
        if (check_value(c, &c->e[i], err, errlen) != 0)
            return -1;
    }
    return 0;
}

static const entry *
lookup(const cfg *c, const char *name, cfg_type want, bool any_type)
{
    const entry *e = find(c, name);

    if (e == NULL) {
        log_error("config: variable %s was never added", name != NULL ? name : "(null)");
        return NULL;
    }
    if (!any_type && e->var->type != want) {
        log_error("config: variable %s read with the wrong type", name);
        return NULL;
    }
    return e;
}

const char *
cfg_str(const cfg *c, const char *name)
{
    const entry *e = lookup(c, name, CFG_STR, true);

    return e != NULL ? e->value : NULL;
}

long
cfg_int(const cfg *c, const char *name)
{
    const entry *e = lookup(c, name, CFG_INT, false);

    return e != NULL ? e->ival : 0;
}

bool
cfg_bool(const cfg *c, const char *name)
{
    const entry *e = lookup(c, name, CFG_BOOL, false);

    return e != NULL ? e->bval : false;
}

bool
cfg_is_set(const cfg *c, const char *name)
{
    const entry *e = lookup(c, name, CFG_STR, true);

    return e != NULL && e->set;
}

bool
cfg_production(const cfg *c)
{
    return c != NULL && c->production;
}

void
cfg_log(const cfg *c)
{
    log_field f[CFG_MAX_VARS + 1];
    size_t n = 0;

    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++) {
        const entry *e = &c->e[i];
        const char *name = e->var->name;

        if (e->var->secret)
            f[n++] = LF_PRESENCE(name, e->value != NULL);
        else if (e->value == NULL)
            f[n++] = LF_STR(name, NULL);
        else if (e->var->type == CFG_INT)
            f[n++] = LF_INT(name, e->ival);
        else if (e->var->type == CFG_BOOL)
            f[n++] = LF_BOOL(name, e->bval);
        else
            f[n++] = LF_STR(name, e->value);
    }
    f[n] = (log_field){0};
    log_msg(LOGL_INFO, f, "configuration");
}
