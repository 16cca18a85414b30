/* gate: what every request meets at the gateway before routing (gate.h):
 * URI check, CORS, who is calling, the permission table, the rate limit.
 *
 * The caller's identity is kept with the request (web_set_ctx) for the
 * proxies (X-User-Id, X-User-Role upstream) and the /api/auth handlers; on a
 * WebSocket it moves to the connection (gate_ws_identity). */
#include "gate.h"

#include <arpa/inet.h>
#include <netinet/in.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cors.h"
#include "log.h"
#include "permissions.h"
#include "ratelimit.h"
#include "util.h"

/* Buckets the rate limiter keeps at most (about 120 bytes each, touched
 * only when used): beyond it, the least recently seen callers start again. */
#define GATE_RATE_KEYS   16384
#define GATE_MAX_PROXIES 16

typedef struct gate_net {
    uint32_t addr, mask; /* host order */
} gate_net;

static struct {
    ratelimit *rl; /* NULL: RATE_LIMIT_RPS=0, no limit */
    metrics_family *auth_failures, *rate_limited;
    gate_net proxies[GATE_MAX_PROXIES]; /* TRUSTED_PROXIES */
    size_t nproxies;
} gate;

static const auth_identity gate_anonymous = {.kind = AUTH_KIND_NONE};

/* Reasons of gateway_auth_failures_total: auth.h's, plus "missing" (no
 * credential on a route that needs one) and "unavailable" (it could not be
 * checked). */
static const char *const gate_reasons[] = {
    "missing",     "malformed",   "bad_alg",     "bad_signature", "expired",     "not_yet_valid",
    "unknown_key", "revoked_key", "expired_key", "disabled_user", "unavailable",
};

/* ---- client address ---- */

/* "a.b.c.d" or "a.b.c.d/n" into net. Returns 0 or -1. */
static int
gate_parse_net(const char *s, size_t n, gate_net *net)
{
    char buf[32];
    long bits = 32;

    if (n == 0 || n >= sizeof(buf))
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    char *slash = strchr(buf, '/');
    if (slash != NULL) {
        *slash = '\0';
        if (util_parse_long(slash + 1, 0, 32, &bits) != 0)
            return -1;
    }
    struct in_addr a;
    if (inet_pton(AF_INET, buf, &a) != 1)
        return -1;
    net->mask = bits == 0 ? 0 : UINT32_MAX << (32 - bits);
    net->addr = ntohl(a.s_addr) & net->mask;
    return 0;
}

static int
gate_parse_proxies(const char *list)
{
    gate.nproxies = 0;
    for (const char *p = list; p != NULL && *p != '\0';) {
        p += strspn(p, " \t,");
        size_t n = strcspn(p, " \t,");
        if (n == 0)
            break;
        if (gate.nproxies == GATE_MAX_PROXIES
            || gate_parse_net(p, n, &gate.proxies[gate.nproxies]) != 0) {
            log_error("TRUSTED_PROXIES: invalid entry %.*s (want IPv4 addresses or "
                      "a.b.c.d/n, at most %d)",
                      (int)(n > 40 ? 40 : n), p, GATE_MAX_PROXIES);
            return -1;
        }
        gate.nproxies++;
        p += n;
    }
    return 0;
}

static bool
gate_trusted(const char *addr, size_t n)
{
    gate_net one;

    if (gate.nproxies == 0 || gate_parse_net(addr, n, &one) != 0)
        return false;
    for (size_t i = 0; i < gate.nproxies; i++)
        if ((one.addr & gate.proxies[i].mask) == gate.proxies[i].addr)
            return true;
    return false;
}

const char *
gate_client_ip(web_req *r, char *buf, size_t cap)
{
    const char *peer = web_remote_addr(r);
    const char *xff = web_header(r, "X-Forwarded-For");

    util_strlcpy(buf, peer != NULL ? peer : "", cap);
    if (xff == NULL || !gate_trusted(buf, strlen(buf)))
        return buf;
    /* From the right: each hop added the address it saw; the first one not
     * of a trusted proxy is the client. */
    for (size_t end = strlen(xff); end > 0;) {
        size_t start = end;
        while (start > 0 && xff[start - 1] != ',')
            start--;
        const char *h = xff + start;
        size_t n = end - start;
        while (n > 0 && (*h == ' ' || *h == '\t'))
            h++, n--;
        while (n > 0 && (h[n - 1] == ' ' || h[n - 1] == '\t'))
            n--;
        gate_net probe;
        if (n == 0 || n >= cap || gate_parse_net(h, n, &probe) != 0)
            break; /* not an address: trust nothing further left */
        memcpy(buf, h, n);
        buf[n] = '\0';
        if (!gate_trusted(h, n))
            break;
        end = start > 0 ? start - 1 : 0;
    }
    return buf;
}

/* ---- pieces of the decision ---- */

/* s cut to fit out, anything but printable ASCII replaced by '?': the
 * client's method and path are quoted in error messages. */
static const char *
gate_quote(const char *s, char *out, size_t cap)
{
    size_t i = 0;

    for (; s[i] != '\0' && i + 1 < cap; i++)
        out[i] = s[i] >= 0x20 && s[i] < 0x7f ? s[i] : '?';
    out[i] = '\0';
    return out;
}

static bool
gate_is_api(const char *path)
{
    return strncmp(path, "/api", 4) == 0 && (path[4] == '/' || path[4] == '\0');
}

/* Take a token for the caller: its identity's bucket, else its address's.
 * Returns false after answering 429. */
static bool
gate_limit(web_req *r, const char *rate_key)
{
    char key[RATELIMIT_MAX_KEY], ip[64], v[24];
    ratelimit_result res;

    if (gate.rl == NULL)
        return true;
    if (rate_key != NULL && rate_key[0] != '\0') {
        util_strlcpy(key, rate_key, sizeof(key));
    } else {
        memcpy(key, "ip:", 3);
        util_strlcpy(key + 3, gate_client_ip(r, ip, sizeof(ip)), sizeof(key) - 3);
    }
    ratelimit_take(gate.rl, key, util_mono_ns(), &res);
    /* (three headers on every answer: formatted without printf) */
    util_utoa(res.limit > 0 ? (unsigned long)res.limit : 0, v);
    web_add_header(r, "X-RateLimit-Limit", v);
    util_utoa(res.remaining > 0 ? (unsigned long)res.remaining : 0, v);
    web_add_header(r, "X-RateLimit-Remaining", v);
    util_utoa(res.reset_s > 0 ? (unsigned long)res.reset_s : 0, v);
    web_add_header(r, "X-RateLimit-Reset", v);
    if (res.allowed)
        return true;
    metrics_inc(gate.rate_limited, NULL, 1);
    snprintf(v, sizeof(v), "%ld", res.retry_after);
    web_add_header(r, "Retry-After", v);
    web_reply_error(r, 429, "rate_limited", "too many requests; retry in %ld s", res.retry_after);
    return false;
}

static int
gate_refuse_auth(web_req *r, auth_result ar, const char *reason)
{
    const char *label = ar == AUTH_ANONYMOUS     ? "missing"
                        : ar == AUTH_UNAVAILABLE ? "unavailable"
                        : reason != NULL         ? reason
                                                 : "malformed";
    const char *lv[] = {label};

    metrics_inc(gate.auth_failures, lv, 1);
    log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("reason", label), LF_STR("path", web_path(r))),
            "credential refused");
    if (ar == AUTH_UNAVAILABLE) {
        web_add_header(r, "Retry-After", "1");
        return web_reply_error(r, 503, "unavailable", "the credential cannot be checked now");
    }
    if (ar == AUTH_ANONYMOUS) {
        web_add_header(r, "WWW-Authenticate", "Bearer realm=\"brain\"");
        return web_reply_error(r, 401, "unauthorized", "authentication required");
    }
    web_add_header(r, "WWW-Authenticate", "Bearer realm=\"brain\", error=\"invalid_token\"");
    return web_reply_error(r, 401, "unauthorized", "invalid credential (%s)", label);
}

/* Keep the identity with the request; false when out of memory (500 sent). */
static bool
gate_keep(web_req *r, const auth_identity *id)
{
    auth_identity *copy = malloc(sizeof(*copy));

    if (copy == NULL) {
        web_reply_error(r, 500, "internal_error", "out of memory");
        return false;
    }
    *copy = *id;
    web_set_ctx(r, copy, free);
    return true;
}

/* ---- the gate ---- */

int
gate_before(web_req *r)
{
    const char *method = web_method(r), *path = web_path(r);
    char m[16], p[160];

    /* The web layer refused these already; the gate does not rely on it. */
    if (!web_uri_safe(path) || !web_uri_safe(web_query_string(r))) {
        web_reply_error(r, 400, "bad_request", "control character in the request URI");
        return 1;
    }
    if (cors_apply(r) != 0)
        return 1;
    if (!gate_is_api(path))
        return 0; /* probes, /metrics, /openapi.json, /docs; anything else is a 404 */

    const perm_rule *rule = perm_match(method, path);
    auth_identity id = {.kind = AUTH_KIND_NONE};
    const char *reason = NULL;
    auth_result ar = AUTH_ANONYMOUS;
    /* A credential is checked on an open route too, so the service hears who
     * calls when someone does (and the caller is limited as itself). */
    if (rule != NULL)
        ar = auth_identify(r, web_is_upgrade(r), &id, &reason);
    if (ar == AUTH_WOULD_WAIT)
        return web_defer(r); /* before the limiter: counted where it is served */
    /* Before any refusal: someone sending bad tokens is limited too. */
    if (!gate_limit(r, ar == AUTH_OK ? id.rate_key : NULL))
        return 1;
    if (rule == NULL) {
        web_reply_error(r, 403, "forbidden", "no permission rule for %s %s",
                        gate_quote(method, m, sizeof(m)), gate_quote(path, p, sizeof(p)));
        return 1;
    }
    /* An open route stays open: a credential that is not valid is ignored,
     * not refused nor counted (POST /api/auth/refresh is called with an
     * expired access token still in the client's Authorization header). */
    if (rule->perm == PERM_OPEN)
        return ar == AUTH_OK && !gate_keep(r, &id) ? 1 : 0;
    if (ar != AUTH_OK) {
        gate_refuse_auth(r, ar, reason);
        return 1;
    }
    if (rule->perm != PERM_AUTHENTICATED && !perm_role_has(id.role, rule->perm)) {
        const char *role = auth_role_name(id.role);
        web_reply_error(r, 403, "forbidden", "role %s lacks permission %s",
                        role != NULL ? role : "none", perm_name(rule->perm));
        return 1;
    }
    return gate_keep(r, &id) ? 0 : 1;
}

const auth_identity *
gate_identity(web_req *r)
{
    const auth_identity *id = web_ctx(r);
    return id != NULL ? id : &gate_anonymous;
}

const auth_identity *
gate_ws_identity(const web_ws *ws)
{
    const auth_identity *id = web_ws_ctx(ws);
    return id != NULL ? id : &gate_anonymous;
}

int
gate_init(app *a)
{
    const cfg *c = app_cfg(a);
    const char *reason_label[] = {"reason"};

    if (cors_init(cfg_str(c, "CORS_ORIGINS")) != 0
        || gate_parse_proxies(cfg_str(c, "TRUSTED_PROXIES")) != 0)
        return -1;
    long rps = cfg_int(c, "RATE_LIMIT_RPS"), burst = cfg_int(c, "RATE_LIMIT_BURST");
    if (rps > 0 && (gate.rl = ratelimit_new((double)rps, (double)burst, GATE_RATE_KEYS)) == NULL) {
        log_error("cannot make the rate limiter");
        return -1;
    }
    gate.auth_failures =
        metrics_counter(app_metrics(a), "gateway_auth_failures_total",
                        "Requests refused for their credential, by reason.", reason_label, 1);
    gate.rate_limited = metrics_counter(app_metrics(a), "gateway_rate_limited_total",
                                        "Requests refused with 429 by the rate limit.", NULL, 0);
    if (gate.auth_failures == NULL || gate.rate_limited == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(gate_reasons) / sizeof(gate_reasons[0]); i++) {
        const char *lv[] = {gate_reasons[i]};
        metrics_inc(gate.auth_failures, lv, 0);
    }
    return 0;
}

void
gate_cleanup(void)
{
    ratelimit_free(gate.rl);
    gate.rl = NULL;
    cors_cleanup();
}
