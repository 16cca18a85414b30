/* routes: svc-toast's route table. The integration half's routes are here;
 * each other half keeps its own table (menu_routes, toast.h) and is listed in
 * `tables` below, so the daemon serves one table built once at start. */
#include <string.h>

#include "http.h"
#include "toast.h"

#define P "/api/toast"

static const web_route integ_routes[] = {
    {"GET", P "/integrations", http_integrations_list, 0, NULL},
    {"POST", P "/integrations", http_integrations_create, WEB_JSON_BODY, NULL},
    {"POST", P "/integrations/rotate-keys", http_integrations_rotate, WEB_JSON_BODY, NULL},
    {"GET", P "/integrations/{id}", http_integrations_get, 0, NULL},
    {"PATCH", P "/integrations/{id}", http_integrations_patch, WEB_JSON_BODY, NULL},
    {"DELETE", P "/integrations/{id}", http_integrations_delete, 0, NULL},
    {"POST", P "/integrations/{id}/health-check", http_health_check, WEB_JSON_BODY, NULL},
    {"GET", P "/integrations/{id}/health-history", http_health_history, 0, NULL},
    {"POST", P "/integrations/{id}/sync-menus", http_sync_menus, WEB_JSON_BODY, NULL},
    {"POST", P "/jobs", http_jobs_create, WEB_JSON_BODY, NULL},
};
static const size_t integ_nroutes = sizeof(integ_routes) / sizeof(integ_routes[0]);

#define MAX_ROUTES 64

const web_route *
toast_routes(size_t *n)
{
    static const struct {
        const web_route *routes;
        const size_t *n;
    } tables[] = {
        {integ_routes, &integ_nroutes},
        {menu_routes, &menu_nroutes},
    };
    static web_route all[MAX_ROUTES];
    size_t count = 0;
    for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++)
        for (size_t i = 0; i < *tables[t].n && count < MAX_ROUTES; i++)
            all[count++] = tables[t].routes[i];
    *n = count;
    return all;
}
