/* route: the route table, matching a method and a path to a registered pattern.
 * Prefix route_. Pure code (no I/O), so it is unit-tested on its own.
 *
 * Patterns are absolute paths of segments: literal ("jobs"), parameter
 * ("{job_id}", the whole segment) or, as the last segment only, "*" which
 * matches the rest of the path (zero or more segments; its value is the rest,
 * without a leading slash, under the name "*"). Method "*" matches any method.
 * When several patterns match, the most specific wins, segment by segment from
 * the left: literal over parameter over "*". HEAD matches GET routes. A single
 * trailing slash on the path is ignored ("/jobs/" is "/jobs").
 * Parameter values are percent-decoded; a value that decodes to contain '/' or
 * NUL, or is longer than ROUTE_MAX_VALUE bytes, does not match. */
#ifndef BRAIN_ROUTE_H
#define BRAIN_ROUTE_H

#include <stddef.h>

#define ROUTE_MAX_PARAMS 8
#define ROUTE_MAX_NAME   32
#define ROUTE_MAX_VALUE  256
#define ROUTE_MAX_ROUTES 256
#define ROUTE_MAX_PATH   2048 /* longer paths never match */

typedef enum { ROUTE_FOUND = 0, ROUTE_NOT_FOUND, ROUTE_METHOD_NOT_ALLOWED } route_result;

typedef struct route_match {
    void *data;          /* the data given to route_add for the matched route */
    const char *pattern; /* the matched route's pattern (a metrics label) */
    size_t nparams;
    struct {
        char name[ROUTE_MAX_NAME];
        char value[ROUTE_MAX_VALUE]; /* the "*" tail may be truncated to this */
    } params[ROUTE_MAX_PARAMS];
    char allow[128]; /* ROUTE_METHOD_NOT_ALLOWED: the allowed methods, "GET, POST" */
} route_match;

typedef struct route_table route_table;

route_table *route_table_new(void);
void route_table_free(route_table *t); /* accepts NULL */

/* Add a route. method is an upper-case HTTP method or "*"; pattern as above;
 * both are copied. Returns 0, or -1 for an invalid pattern, a duplicate
 * (method, pattern) or a full table. */
int route_add(route_table *t, const char *method, const char *pattern, void *data);

/* Match method and path (no query string). Thread-safe once no more routes
 * are added. */
route_result route_find(const route_table *t, const char *method, const char *path,
                        route_match *m);

/* The value of parameter name in m, or NULL. */
const char *route_param(const route_match *m, const char *name);

#endif
