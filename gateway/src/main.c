/* gateway: the one door of Brain. Authenticates, authorizes, limits, proxies
 * and observes; holds no business logic (DESIGN section 1).
 * Wiring only: the daemon's life is common/app.c, the table of routes is
 * routes.c, the services behind it are upstream.c, forwarding is proxy.c
 * (HTTP) and wsproxy.c (WebSocket). */
#include <string.h>

#include "app.h"
#include "auth.h"
#include "breaker.h"
#include "docs.h"
#include "edge.h"
#include "gate.h"
#include "log.h"
#include "permissions.h"
#include "proxy.h"
#include "route.h"
#include "routes.h"
#include "upstream.h"
#include "wsproxy.h"

static int
gateway_init(app *a)
{
    const cfg *c = app_cfg(a);
    if (perm_init() != 0)
        return -1;
    if (auth_init(a) != 0)
        return -1;
    if (gate_init(a) != 0)
        return -1;
    if (upstream_configure(c) != 0)
        return -1;
    proxy_config pc = {
        .timeout_ms = cfg_int(c, "UPSTREAM_TIMEOUT_MS"),
        .connect_timeout_ms = cfg_int(c, "UPSTREAM_CONNECT_TIMEOUT_MS"),
        .internal_token = cfg_str(c, "INTERNAL_TOKEN"),
    };
    if (proxy_init(&pc, app_metrics(a)) != 0)
        return -1;
    const char *names[UP_COUNT];
    for (size_t i = 0; i < UP_COUNT; i++)
        names[i] = upstreams[i].service;
    breaker_config bc = {(int)cfg_int(c, "CIRCUIT_FAILURES"), cfg_int(c, "CIRCUIT_OPEN_MS")};
    if (breaker_init(names, UP_COUNT, &bc, app_metrics(a)) != 0
        || docs_init(cfg_str(c, "OPENAPI_FILE"), cfg_str(c, "DOCS_DIR")) != 0)
        return -1;
    wsproxy_config wc = {
        .timeout_ms = pc.timeout_ms,
        .connect_timeout_ms = pc.connect_timeout_ms,
        .internal_token = pc.internal_token,
        .max_connections = (int)cfg_int(c, "WS_MAX_CONNECTIONS"),
        .http_threads = (int)cfg_int(c, "HTTP_THREADS"),
    };
    if (wsproxy_init(&wc, app_metrics(a)) != 0)
        return -1;
    for (size_t i = 0; i < UP_COUNT; i++)
        if (upstreams[i].probe
            && health_add_check(app_health(a), upstreams[i].service, false, upstream_check,
                                &upstreams[i])
                   != 0)
            return -1;
    return 0;
}

/* The migrations have run: the users table exists. */
static int
gateway_start(app *a)
{
    return auth_start(a);
}

static int
gateway_serve(app *a)
{
    return edge_start(a);
}

static void
gateway_unserve(app *a)
{
    (void)a;
    edge_stop();
}

static void
gateway_stop(app *a)
{
    (void)a;
    edge_stop(); /* before the pools it proxies to go */
    proxy_cleanup();
    wsproxy_cleanup();
}

/* Also when a later step of the start failed. */
static void
gateway_close(app *a)
{
    (void)a;
    docs_cleanup();
    breaker_cleanup();
    gate_cleanup();
    auth_cleanup();
    perm_cleanup();
}

static const app_spec gateway_spec = {
    .service = "gateway",
    .default_port = 8080,
    .edge = true,
    .front = true,
    .schema = "gateway",
    .vars = upstream_vars,
    .routes = gateway_routes,
    .before = gate_before,
    .on_init = gateway_init,
    .on_serve = gateway_serve,
    .on_unserve = gateway_unserve,
    .on_start = gateway_start,
    .on_stop = gateway_stop,
    .on_close = gateway_close,
};

int
main(int argc, char **argv)
{
    /* The table sizes are not constant expressions, so they are set here. */
    app_spec spec = gateway_spec;
    spec.nvars = upstream_nvars;
    /* The gateway's routes, then /api/auth's (auth.h). */
    static web_route routes[ROUTE_MAX_ROUTES];
    if (gateway_nroutes + auth_nroutes > ROUTE_MAX_ROUTES)
        return 1;
    memcpy(routes, gateway_routes, gateway_nroutes * sizeof(routes[0]));
    memcpy(routes + gateway_nroutes, auth_routes, auth_nroutes * sizeof(routes[0]));
    spec.routes = routes;
    spec.nroutes = gateway_nroutes + auth_nroutes;
    spec.ws_routes = wsproxy_routes;
    spec.nws_routes = wsproxy_nroutes;
    return app_main(&spec, argc, argv);
}
