/* svc-toast: Toast POS integrations, health checks, menu sync, golden copies.
 * Wiring only: the daemon's life (configuration, probes, migrations, NATS,
 * shutdown) is common/app.c; its behaviour lives in the files beside this one. */
#include "app.h"

static const app_spec toast_spec = {
    .service = "svc-toast",
    .default_port = 8083,
    .schema = "toast",
    .api_prefix = "/api/toast",
};

int
main(int argc, char **argv)
{
    return app_main(&toast_spec, argc, argv);
}
