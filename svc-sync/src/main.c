/* svc-sync: pulls sales, expenses, recipes, purchases and wastage from POS and other sources.
 * Wiring only: the daemon's life (configuration, probes, migrations, NATS,
 * shutdown) is common/app.c; its behaviour lives in the files beside this one. */
#include "app.h"

static const app_spec sync_spec = {
    .service = "svc-sync",
    .default_port = 8085,
    .schema = "sync",
    .api_prefix = "/api/v1/sync",
};

int
main(int argc, char **argv)
{
    return app_main(&sync_spec, argc, argv);
}
