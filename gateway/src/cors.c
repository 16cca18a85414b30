/* cors: the CORS_ORIGINS list and the headers it calls for (cors.h). */
#include "cors.h"

#include <string.h>
#include <strings.h>

#include "log.h"

/* What a preflight may ask for: the methods of the API and the headers the
 * frontend sends (credentials, JSON, its own request id). */
#define CORS_METHODS "GET, HEAD, POST, PUT, PATCH, DELETE"
#define CORS_HEADERS "Authorization, Content-Type, X-API-Key, X-Request-Id"
/* What a browser script may read of an answer besides the safelisted ones. */
#define CORS_EXPOSE \
    "X-Request-Id, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset, Retry-After"

static struct {
    bool enabled;  /* CORS_ORIGINS was set */
    bool wildcard; /* "*" is in the list */
    size_t n;
    char origins[CORS_MAX_ORIGINS][CORS_MAX_ORIGIN + 1];
} cors;

/* scheme://host[:port], nothing after it (no path, no trailing slash). */
static bool
cors_valid_origin(const char *s, size_t n)
{
    size_t skip;

    if (strncasecmp(s, "https://", 8) == 0)
        skip = 8;
    else if (strncasecmp(s, "http://", 7) == 0)
        skip = 7;
    else
        return false;
    if (n <= skip)
        return false;
    for (size_t i = skip; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')
                  || c == '.' || c == '-' || c == ':' || c == '[' || c == ']';
        if (!ok)
            return false;
    }
    return true;
}

int
cors_init(const char *origins)
{
    cors_cleanup();
    for (const char *p = origins; p != NULL && *p != '\0';) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, ",");
        while (n > 0 && (p[n - 1] == ' ' || p[n - 1] == '\t'))
            n--;
        if (n == 0)
            continue;
        if (n == 1 && p[0] == '*') {
            cors.wildcard = true;
        } else if (n > CORS_MAX_ORIGIN || !cors_valid_origin(p, n) || cors.n == CORS_MAX_ORIGINS) {
            log_error("CORS_ORIGINS: invalid entry %.*s (want scheme://host[:port] or *, at "
                      "most %d entries)",
                      (int)(n > 80 ? 80 : n), p, CORS_MAX_ORIGINS);
            cors_cleanup();
            return -1;
        } else {
            memcpy(cors.origins[cors.n], p, n);
            cors.origins[cors.n][n] = '\0';
            cors.n++;
        }
        p += n;
        p += strcspn(p, ",");
    }
    cors.enabled = cors.wildcard || cors.n > 0;
    return 0;
}

void
cors_cleanup(void)
{
    memset(&cors, 0, sizeof(cors));
}

/* A listed origin (scheme and host compare without case). */
static bool
cors_listed(const char *origin)
{
    for (size_t i = 0; i < cors.n; i++)
        if (strcasecmp(cors.origins[i], origin) == 0)
            return true;
    return false;
}

bool
cors_allowed(const char *origin)
{
    return origin != NULL && cors.enabled && (cors.wildcard || cors_listed(origin));
}

/* Access-Control-Allow-Origin (and -Credentials) for an allowed origin. */
static void
cors_allow_headers(web_req *r, const char *origin)
{
    if (cors_listed(origin)) {
        web_add_header(r, "Access-Control-Allow-Origin", origin);
        web_add_header(r, "Access-Control-Allow-Credentials", "true");
    } else {
        web_add_header(r, "Access-Control-Allow-Origin", "*");
    }
}

int
cors_apply(web_req *r)
{
    const char *origin = web_header(r, "Origin");
    bool preflight = origin != NULL && strcmp(web_method(r), "OPTIONS") == 0
                     && web_header(r, "Access-Control-Request-Method") != NULL;
    /* An origin is echoed in a header: one that could not be a valid origin
     * is treated as not allowed. */
    bool allowed = origin != NULL && cors_valid_origin(origin, strlen(origin))
                   && strlen(origin) <= CORS_MAX_ORIGIN && cors_allowed(origin);

    if (preflight) {
        web_add_header(r, "Vary",
                       "Origin, Access-Control-Request-Method, "
                       "Access-Control-Request-Headers");
        if (!allowed) {
            web_reply_error(r, 403, "forbidden", "origin not allowed by CORS_ORIGINS");
            return 1;
        }
        cors_allow_headers(r, origin);
        web_add_header(r, "Access-Control-Allow-Methods", CORS_METHODS);
        web_add_header(r, "Access-Control-Allow-Headers", CORS_HEADERS);
        web_add_header(r, "Access-Control-Max-Age", CORS_MAX_AGE_S);
        web_reply(r, 204, NULL, NULL, 0, NULL);
        return 1;
    }
    if (!cors.enabled)
        return 0;
    if (web_is_upgrade(r)) {
        /* Browsers send Origin with every WebSocket and apply no CORS rule
         * to it: the gateway does, so a page of another site cannot open
         * one with a token it got hold of. */
        if (origin != NULL && !allowed) {
            web_reply_error(r, 403, "forbidden", "origin not allowed by CORS_ORIGINS");
            return 1;
        }
        return 0;
    }
    web_add_header(r, "Vary", "Origin");
    if (allowed) {
        cors_allow_headers(r, origin);
        web_add_header(r, "Access-Control-Expose-Headers", CORS_EXPOSE);
    }
    return 0;
}
