/* svc-intelligence: client health scores, alerts, recommendations, scheduling decisions.
 * Wiring only: the daemon's life (configuration, probes, migrations, NATS,
 * shutdown) is common/app.c; its behaviour lives in the files beside this one. */
#include "app.h"

static const app_spec intelligence_spec = {
    .service = "svc-intelligence",
    .default_port = 8082,
    .schema = "intelligence",
    .api_prefix = "/api/intelligence",
};

int
main(int argc, char **argv)
{
    return app_main(&intelligence_spec, argc, argv);
}
