/* gateway: the one door of Brain. Authenticates, authorizes, limits, proxies
 * and observes; holds no business logic (DESIGN section 1).
 * Wiring only: the daemon's life is common/app.c, the table of routes is
 * routes.c, the services behind it are upstream.c, forwarding is proxy.c
 * (HTTP) and wsproxy.c (WebSocket). */
#include "app.h"
#include "log.h"
#include "proxy.h"
#include "routes.h"
#include "upstream.h"
#include "wsproxy.h"

static int
gateway_init(app *a)
{
    const cfg *c = app_cfg(a);
    if (upstream_configure(c) != 0)
        return -1;
    proxy_config pc = {
        .timeout_ms = cfg_int(c, "UPSTREAM_TIMEOUT_MS"),
        .connect_timeout_ms = cfg_int(c, "UPSTREAM_CONNECT_TIMEOUT_MS"),
        .internal_token = cfg_str(c, "INTERNAL_TOKEN"),
    };
    if (proxy_init(&pc, app_metrics(a)) != 0)
        return -1;
    wsproxy_config wc = {
        .timeout_ms = pc.timeout_ms,
        .connect_timeout_ms = pc.connect_timeout_ms,
        .internal_token = pc.internal_token,
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

static void
gateway_stop(app *a)
{
    (void)a;
    proxy_cleanup();
    wsproxy_cleanup();
}

static const app_spec gateway_spec = {
    .service = "gateway",
    .default_port = 8080,
    .edge = true,
    .schema = "gateway",
    .vars = upstream_vars,
    .routes = gateway_routes,
    .on_init = gateway_init,
    .on_stop = gateway_stop,
};

int
main(int argc, char **argv)
{
    /* The table sizes are not constant expressions, so they are set here. */
    app_spec spec = gateway_spec;
    spec.nvars = upstream_nvars;
    spec.nroutes = gateway_nroutes;
    spec.ws_routes = wsproxy_routes;
    spec.nws_routes = wsproxy_nroutes;
    return app_main(&spec, argc, argv);
}
