/* upstream: the services behind the gateway, where each is reached, and the
 * probe of each one's own detailed health. */
#ifndef GATEWAY_UPSTREAM_H
#define GATEWAY_UPSTREAM_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "config.h"

#define UPSTREAM_MAX_URL 512

typedef enum {
    UP_AUTOMATION = 0,
    UP_INTELLIGENCE,
    UP_TOAST,
    UP_EMBEDDING,
    UP_EMBEDDING_ADMIN, /* /api/admin/embedding-* also goes to svc-embedding */
    UP_SYNC,
    UP_COUNT
} upstream_id;

typedef struct upstream {
    const char *service;     /* "svc-automation": metrics label and error messages */
    const char *url_var;     /* the variable holding its base URL */
    const char *tail_prefix; /* when set, the path after the route prefix must begin so */
    char base[UPSTREAM_MAX_URL];
    bool probe; /* listed once in /health/detailed */
} upstream;

extern upstream upstreams[UP_COUNT];

/* The gateway's own configuration variables (upstream URLs, timeouts). */
extern const cfg_var upstream_vars[];
extern const size_t upstream_nvars;

/* Read the upstream URLs from c. Returns 0, or -1 with the variable at fault
 * logged (the URL must be http:// or https://). */
int upstream_configure(const cfg *c);

/* health_check_fn: GET <base>/health/detailed of the upstream ud, its answer
 * nested in detail under "detail". */
int upstream_check(void *ud, json_object *detail);

#endif
