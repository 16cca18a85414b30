/* svc-embedding: embeddings of menu items, policies and FAQs; semantic search.
 * Wiring only: the daemon's life (configuration, probes, migrations, NATS,
 * shutdown) is common/app.c; its behaviour lives in the files beside this one. */
#include "app.h"

static const app_spec embedding_spec = {
    .service = "svc-embedding",
    .default_port = 8084,
    .schema = "embedding",
    .api_prefix = "/api/embedding",
};

int
main(int argc, char **argv)
{
    return app_main(&embedding_spec, argc, argv);
}
