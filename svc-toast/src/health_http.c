/* health_http: POST /integrations/{id}/health-check (run one now) and GET
 * /integrations/{id}/health-history (newest first). */
#include <stdio.h>

#include "health_check.h"
#include "http.h"

int
http_health_check(web_req *r)
{
    const char *id = http_integration_id(r);
    json_object *check = NULL;
    char err[400];
    if (!id)
        return 0;
    int rc = health_run(toast_of(web_app(r)), id, &check, err, sizeof(err));
    if (rc > 0)
        return web_reply_error(r, 404, "not_found", "integration %s not found", id);
    if (rc < 0)
        return web_reply_error(r, 503, "unavailable", "health check not recorded: %s", err);
    return web_reply_json(r, 200, check);
}

int
http_health_history(web_req *r)
{
    const char *id = http_integration_id(r);
    long limit, offset;
    json_object *page = NULL;
    char what[64];
    if (!id || !web_page(r, &limit, &offset))
        return 0;
    store_status st =
        store_health_list(toast_store(toast_of(web_app(r))), id, limit, offset, &page);
    snprintf(what, sizeof(what), "integration %s", id);
    return st == ST_OK ? web_reply_json(r, 200, page) : http_store_error(r, st, what);
}
