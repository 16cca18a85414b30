/* route: the route table, matching a method and a path to a registered pattern.
 * Prefix route_. Pure code (no I/O), so it is unit-tested on its own.
 *
 * Patterns are absolute paths of segments: literal ("jobs"), parameter
 * ("{job_id}", the whole segment) or, as the last segment only, "*" which
 * matches the rest of the path (zero or more segments; its value is the rest,
 * without a leading slash, under the name "*"). Method "*" matches any method.
 * A valid pattern starts with '/', has no empty segment (except the root "/"
 * itself), parameter names [a-zA-Z_][a-zA-Z0-9_]* shorter than ROUTE_MAX_NAME
 * and distinct, at most ROUTE_MAX_PARAMS parameters (the "*" tail counts as
 * one), and literals without spaces, control characters or any of {}*%?#.
 * Literals compare exactly (case-sensitive) with the raw, undecoded segment.
 *
 * Choosing a route: among the routes whose pattern matches the path and that
 * serve the method, the most specific pattern wins, compared segment by
 * segment from the left: literal over parameter over "*" (and a pattern that
 * ends over one whose "*" matches nothing). For two routes of the same shape,
 * an exact method beats GET serving HEAD, which beats "*". So with
 * GET /jobs/stats and DELETE /jobs/{id}, "DELETE /jobs/stats" finds the
 * second, with id "stats". ROUTE_METHOD_NOT_ALLOWED only when patterns match
 * the path but none serves the method; allow then lists, sorted and without
 * repeats, the methods of all the routes matching the path, with HEAD when GET
 * is there ("GET, HEAD, POST").
 *
 * Paths: a single trailing slash is ignored ("/jobs/" is "/jobs", "/" stays
 * the root); a path that does not start with '/', is longer than
 * ROUTE_MAX_PATH or holds an empty segment ("//") matches nothing.
 * Parameter values are percent-decoded ('+' stays '+'); a value with an
 * invalid escape, that decodes to contain '/' or NUL, or longer than
 * ROUTE_MAX_VALUE - 1 bytes, does not match that pattern (another may still
 * match). The "*" tail is not decoded: it is given as sent, whole in m->tail
 * and, cut to ROUTE_MAX_VALUE - 1 bytes, as the parameter "*". */
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
        char value[ROUTE_MAX_VALUE]; /* decoded, NUL-terminated */
    } params[ROUTE_MAX_PARAMS];
    char allow[128];  /* ROUTE_METHOD_NOT_ALLOWED: the allowed methods, "GET, POST" */
    const char *tail; /* a "*" route: the rest of the path as sent (points into path) */
    size_t tail_len;
} route_match;

typedef struct route_table route_table;

route_table *route_table_new(void);
void route_table_free(route_table *t); /* accepts NULL */

/* Add a route. method is an upper-case HTTP method (A-Z, at most 15 letters)
 * or "*"; pattern as above; both are copied. Returns 0, or -1 for an invalid
 * method or pattern, a duplicate (same method and same shape: "/a/{x}" and
 * "/a/{y}" are the same) or a full table (ROUTE_MAX_ROUTES). */
int route_add(route_table *t, const char *method, const char *pattern, void *data);

/* Match method and path (no query string). Thread-safe once no more routes
 * are added. m is always reset; on ROUTE_FOUND it holds the route's data,
 * pattern (owned by t) and parameters, on ROUTE_METHOD_NOT_ALLOWED allow. */
route_result route_find(const route_table *t, const char *method, const char *path, route_match *m);

/* The value of parameter name in m, or NULL. */
const char *route_param(const route_match *m, const char *name);

#endif
