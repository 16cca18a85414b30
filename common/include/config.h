/* config: configuration from the environment (DESIGN section 7). Prefix cfg_.
 *
 * A daemon describes its variables in a table (name, type, default, bounds,
 * secret or not); cfg_load() reads them all once at start and checks them, so a
 * bad value stops the daemon at start with a clear message instead of later.
 * Every variable may also come from a file named by <NAME>_FILE (Docker and
 * Kubernetes secrets); a trailing newline in the file is dropped. Setting both
 * NAME and NAME_FILE is an error. */
#ifndef BRAIN_CONFIG_H
#define BRAIN_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

typedef enum { CFG_STR = 0, CFG_INT, CFG_BOOL } cfg_type;

typedef struct cfg_var {
    const char *name;
    cfg_type type;
    const char *def; /* default as text; NULL means unset (cfg_str gives NULL) */
    long min, max;   /* bounds for CFG_INT */
    bool secret;     /* never logged; required in production (BRAIN_ENV=production) */
    const char *help;
} cfg_var;

typedef struct cfg cfg;

/* The variables every daemon reads: PORT, DATABASE_URL, NATS_URL, LOG_LEVEL,
 * INTERNAL_TOKEN, HTTP_THREADS, DB_POOL_SIZE, BRAIN_ENV, ... */
extern const cfg_var cfg_common_vars[];
extern const size_t cfg_common_nvars;

/* New empty configuration; free with cfg_free (accepts NULL). */
cfg *cfg_new(void);
void cfg_free(cfg *c);

/* Add a table of variables. A variable whose name was added before replaces
 * the earlier entry (a daemon's own default for PORT, say). The table must
 * outlive c. Returns 0 or -1 (too many variables). */
int cfg_add(cfg *c, const cfg_var *vars, size_t n);

/* Read every added variable from the environment (or its _FILE). Returns 0, or
 * -1 with a message naming the variable and the problem in err. When BRAIN_ENV
 * is "production", every secret must be given (in NAME or NAME_FILE): its
 * default, meant for local runs, does not count. */
int cfg_load(cfg *c, char *err, size_t errlen);

/* Typed getters. Asking for a name that was never added is a programming
 * error: it is logged and gives NULL / 0 / false. Strings are owned by c. */
const char *cfg_str(const cfg *c, const char *name);
long cfg_int(const cfg *c, const char *name);
bool cfg_bool(const cfg *c, const char *name);

/* True if the value came from the environment or a file, not the default. */
bool cfg_is_set(const cfg *c, const char *name);

/* True when BRAIN_ENV is "production". */
bool cfg_production(const cfg *c);

/* Log every variable at info, secrets as "[set]"/"[unset]", never their value. */
void cfg_log(const cfg *c);

#endif
