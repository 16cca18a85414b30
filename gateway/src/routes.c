/* routes: the gateway's route table. The probes and /metrics come from
 * common/health; everything under a service's prefix is proxied to it. */
#include "routes.h"

#include "docs.h"
#include "proxy.h"
#include "upstream.h"

/* Proxied bodies are checked here (size, JSON, content type) so a bad request
 * is refused at the edge, before it costs an upstream anything. */
#define PROXIED (WEB_JSON_BODY)

const web_route gateway_routes[] = {
    {"*", "/api/automation/*", proxy_handle, PROXIED, &upstreams[UP_AUTOMATION]},
    {"*", "/api/intelligence/*", proxy_handle, PROXIED, &upstreams[UP_INTELLIGENCE]},
    {"*", "/api/toast/*", proxy_handle, PROXIED, &upstreams[UP_TOAST]},
    {"*", "/api/embedding/*", proxy_handle, PROXIED, &upstreams[UP_EMBEDDING]},
    {"*", "/api/admin/*", proxy_handle, PROXIED, &upstreams[UP_EMBEDDING_ADMIN]},
    {"*", "/api/v1/sync/*", proxy_handle, PROXIED, &upstreams[UP_SYNC]},
    {"GET", "/openapi.json", docs_handle_openapi, WEB_PUBLIC, NULL},
    {"GET", "/docs", docs_handle_ui, WEB_PUBLIC, NULL},
    {"GET", "/docs/*", docs_handle_ui, WEB_PUBLIC, NULL},
};
const size_t gateway_nroutes = sizeof(gateway_routes) / sizeof(gateway_routes[0]);
