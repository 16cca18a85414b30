/* svc-intelligence: client health scores, alerts, recommendations, scheduling decisions.
 * Wiring only: the daemon's life (configuration, probes, migrations, NATS,
 * shutdown) is common/app.c; its behaviour lives in the files beside this one:
 * routes.c (the routes), http_*.c (handlers), client.c and sig.c (what a
 * request may hold), score*.c (the health score), scoring.c (score, keep,
 * render), store*.c (the SQL). */
#include <stdlib.h>

#include "app.h"
#include "decide_llm.h"
#include "http.h"
#include "intel.h"

static int
intelligence_init(app *a)
{
    intel *s = calloc(1, sizeof(*s));
    if (!s)
        return -1;
    app_set_data(a, s);
    s->app = a;
    s->store = store_new(app_db(a));
    return s->store ? 0 : -1;
}

static void
intelligence_close(app *a)
{
    intel *s = app_data(a);
    if (!s)
        return;
    store_free(s->store);
    free(s);
    app_set_data(a, NULL);
}

static const app_spec intelligence_spec = {
    .service = "svc-intelligence",
    .default_port = 8082,
    .schema = "intelligence",
    .api_prefix = "/api/intelligence",
    .on_init = intelligence_init,
    .on_close = intelligence_close,
    .vars = decide_llm_vars, /* the reasoning's optional rephrasing */
    .nvars = DECIDE_LLM_NVARS,
};

int
main(int argc, char **argv)
{
    /* The table's size is not a constant expression, so it is set here. */
    app_spec spec = intelligence_spec;
    spec.routes = intel_routes(&spec.nroutes);
    return app_main(&spec, argc, argv);
}
