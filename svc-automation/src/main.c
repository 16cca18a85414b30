/* svc-automation: the job queue (priorities, dependencies, retries, leases) and live job updates.
 * Wiring only: the daemon's life (configuration, probes, migrations, NATS,
 * shutdown) is common/app.c; its behaviour lives in the files beside this one. */
#include "app.h"

static const app_spec automation_spec = {
    .service = "svc-automation",
    .default_port = 8081,
    .schema = "automation",
    .api_prefix = "/api/automation",
};

int
main(int argc, char **argv)
{
    return app_main(&automation_spec, argc, argv);
}
