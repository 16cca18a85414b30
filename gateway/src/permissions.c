/* permissions: the table of who may do what (permissions.h), and the roles'
 * permissions. README.md ("Roles and permissions") shows the same table;
 * tests/unit/gateway/test_permissions.c checks that the two agree. */
#include "permissions.h"

#include "log.h"
#include "route.h"

#define AUTO "/api/automation"
#define AUTH "/api/auth"

/* Reading is view_*, changing is trigger_*; ending a live Toast session
 * acts on a client's POS credentials, so it takes edit_credentials (admin).
 * Each service's GET <prefix>/health is open: load balancers and the
 * benchmark of issue 4 ask it without a credential, and it says nothing but
 * "healthy" and the version. */
const perm_rule perm_rules[] = {
    /* svc-automation: the job queue */
    {"GET", AUTO "/health", PERM_OPEN},
    {"GET", AUTO "/jobs", PERM_VIEW_OPERATIONS},
    {"POST", AUTO "/jobs", PERM_TRIGGER_JOBS},
    {"GET", AUTO "/jobs/stats", PERM_VIEW_OPERATIONS},
    {"GET", AUTO "/jobs/{job_id}", PERM_VIEW_OPERATIONS},
    {"PATCH", AUTO "/jobs/{job_id}", PERM_TRIGGER_JOBS},
    {"POST", AUTO "/jobs/{job_id}/cancel", PERM_TRIGGER_JOBS},
    {"POST", AUTO "/jobs/{job_id}/retry", PERM_TRIGGER_JOBS},
    {"GET", AUTO "/sessions", PERM_VIEW_OPERATIONS},
    {"POST", AUTO "/sessions/{client_id}/terminate", PERM_EDIT_CREDENTIALS},
    {"GET", AUTO "/ws/{client_id}", PERM_VIEW_OPERATIONS}, /* the WebSocket upgrade */
    /* the other services */
    {"GET", "/api/intelligence/health", PERM_OPEN},
    /* svc-intelligence: clients and their health are the dashboard; their
     * signals are operations, but payments are financial both ways (who may
     * not see them may not write them either) */
    {"GET", "/api/intelligence/clients", PERM_VIEW_DASHBOARD},
    {"POST", "/api/intelligence/clients", PERM_TRIGGER_JOBS},
    {"GET", "/api/intelligence/clients/health-summary", PERM_VIEW_DASHBOARD},
    {"GET", "/api/intelligence/clients/{id}", PERM_VIEW_DASHBOARD},
    {"PATCH", "/api/intelligence/clients/{id}", PERM_TRIGGER_JOBS},
    {"GET", "/api/intelligence/clients/{id}/health", PERM_VIEW_DASHBOARD},
    {"GET", "/api/intelligence/clients/{id}/activity", PERM_VIEW_OPERATIONS},
    {"POST", "/api/intelligence/clients/{id}/activity", PERM_TRIGGER_JOBS},
    {"GET", "/api/intelligence/clients/{id}/tickets", PERM_VIEW_OPERATIONS},
    {"POST", "/api/intelligence/clients/{id}/tickets", PERM_TRIGGER_JOBS},
    {"GET", "/api/intelligence/clients/{id}/payments", PERM_VIEW_FINANCIALS},
    {"POST", "/api/intelligence/clients/{id}/payments", PERM_VIEW_FINANCIALS},
    {"GET", "/api/intelligence/clients/{id}/projects", PERM_VIEW_OPERATIONS},
    {"POST", "/api/intelligence/clients/{id}/projects", PERM_TRIGGER_JOBS},
    {"GET", "/api/intelligence/clients/{id}/quotes", PERM_VIEW_OPERATIONS},
    {"POST", "/api/intelligence/clients/{id}/quotes", PERM_TRIGGER_JOBS},
    /* system health is for operators; recomputing scores is work to trigger */
    {"GET", "/api/intelligence/system/health", PERM_VIEW_OPERATIONS},
    {"POST", "/api/intelligence/scores/recompute", PERM_TRIGGER_JOBS},
    /* recommendations are read on the dashboard; deciding one may create a job */
    {"GET", "/api/intelligence/recommendations", PERM_VIEW_DASHBOARD},
    {"GET", "/api/intelligence/recommendations/{id}", PERM_VIEW_DASHBOARD},
    {"POST", "/api/intelligence/recommendations/{id}/accept", PERM_TRIGGER_JOBS},
    {"POST", "/api/intelligence/recommendations/{id}/decline", PERM_TRIGGER_JOBS},
    {"GET", "/api/intelligence/reports", PERM_EXPORT_REPORTS},
    {"GET", "/api/intelligence/reports/{id}", PERM_EXPORT_REPORTS},
    /* alerts: reading them is the dashboard; acknowledging one is acting on
     * it, as triggering a job is */
    {"GET", "/api/intelligence/alerts", PERM_VIEW_DASHBOARD},
    {"GET", "/api/intelligence/alerts/{id}", PERM_VIEW_DASHBOARD},
    {"POST", "/api/intelligence/alerts/{id}/acknowledge", PERM_TRIGGER_JOBS},
    {"POST", "/api/intelligence/decide", PERM_TRIGGER_JOBS},
    {"GET", "/api/intelligence/decisions", PERM_VIEW_OPERATIONS},
    {"GET", "/api/intelligence/decisions/{id}", PERM_VIEW_OPERATIONS},
    {"GET", "/api/intelligence/schedule/recommendations", PERM_VIEW_OPERATIONS},
    {"GET", "/api/toast/health", PERM_OPEN},
    {"GET", "/api/toast/integrations", PERM_VIEW_OPERATIONS},
    {"POST", "/api/toast/integrations", PERM_EDIT_CREDENTIALS},
    {"POST", "/api/toast/integrations/rotate-keys", PERM_EDIT_CREDENTIALS},
    {"GET", "/api/toast/integrations/{id}", PERM_VIEW_OPERATIONS},
    {"PATCH", "/api/toast/integrations/{id}", PERM_EDIT_CREDENTIALS},
    {"DELETE", "/api/toast/integrations/{id}", PERM_DELETE_DATA},
    {"POST", "/api/toast/integrations/{id}/health-check", PERM_TRIGGER_JOBS},
    {"GET", "/api/toast/integrations/{id}/health-history", PERM_VIEW_OPERATIONS},
    {"POST", "/api/toast/integrations/{id}/sync-menus", PERM_TRIGGER_JOBS},
    {"GET", "/api/toast/integrations/{id}/menus", PERM_VIEW_OPERATIONS},
    {"POST", "/api/toast/integrations/{id}/golden-copy/capture", PERM_TRIGGER_JOBS},
    {"POST", "/api/toast/integrations/{id}/golden-copy/compare", PERM_TRIGGER_JOBS},
    {"POST", "/api/toast/jobs", PERM_TRIGGER_JOBS},
    {"GET", "/api/embedding/health", PERM_OPEN},
    {"GET", "/api/v1/sync/health", PERM_OPEN},
    /* the gateway's own: authentication and user management */
    {"POST", AUTH "/login", PERM_OPEN},
    {"POST", AUTH "/refresh", PERM_OPEN},
    {"POST", AUTH "/logout", PERM_AUTHENTICATED},
    {"GET", AUTH "/me", PERM_AUTHENTICATED},
    {"GET", AUTH "/api-keys", PERM_MANAGE_USERS},
    {"POST", AUTH "/api-keys", PERM_MANAGE_USERS},
    {"DELETE", AUTH "/api-keys/{id}", PERM_MANAGE_USERS},
    {"GET", AUTH "/users", PERM_MANAGE_USERS},
    {"POST", AUTH "/users", PERM_MANAGE_USERS},
    {"PATCH", AUTH "/users/{id}", PERM_MANAGE_USERS},
    {"DELETE", AUTH "/users/{id}", PERM_MANAGE_USERS},
};
const size_t perm_nrules = sizeof(perm_rules) / sizeof(perm_rules[0]);

#define BIT(p)       (1u << (p))
#define VIEWER_PERMS BIT(PERM_VIEW_DASHBOARD)
#define STAFF_PERMS \
    (VIEWER_PERMS | BIT(PERM_VIEW_OPERATIONS) | BIT(PERM_TRIGGER_JOBS) | BIT(PERM_TRIGGER_SYNC))
#define MANAGER_PERMS (STAFF_PERMS | BIT(PERM_VIEW_FINANCIALS) | BIT(PERM_EXPORT_REPORTS))
#define ADMIN_PERMS   (BIT(PERM_COUNT) - 1u)

static const unsigned perm_of_role[] = {
    [ROLE_NONE] = 0,
    [ROLE_VIEWER] = VIEWER_PERMS,
    [ROLE_STAFF] = STAFF_PERMS,
    [ROLE_MANAGER] = MANAGER_PERMS,
    [ROLE_ADMIN] = ADMIN_PERMS,
};

static const char *const perm_names[PERM_COUNT] = {
    [PERM_VIEW_DASHBOARD] = "view_dashboard",     [PERM_VIEW_OPERATIONS] = "view_operations",
    [PERM_TRIGGER_JOBS] = "trigger_jobs",         [PERM_TRIGGER_SYNC] = "trigger_sync",
    [PERM_VIEW_FINANCIALS] = "view_financials",   [PERM_EXPORT_REPORTS] = "export_reports",
    [PERM_EDIT_CREDENTIALS] = "edit_credentials", [PERM_DELETE_DATA] = "delete_data",
    [PERM_MANAGE_USERS] = "manage_users",
};

/* Built once by perm_init, read-only afterwards: route_find is thread-safe
 * on a table nobody adds to. */
static route_table *perm_table;

int
perm_init(void)
{
    perm_cleanup();
    perm_table = route_table_new();
    if (perm_table == NULL)
        return -1;
    for (size_t i = 0; i < perm_nrules; i++) {
        if (route_add(perm_table, perm_rules[i].method, perm_rules[i].pattern,
                      (void *)&perm_rules[i])
            != 0) {
            log_error("permission table: invalid or duplicate rule %s %s", perm_rules[i].method,
                      perm_rules[i].pattern);
            perm_cleanup();
            return -1;
        }
    }
    return 0;
}

void
perm_cleanup(void)
{
    route_table_free(perm_table);
    perm_table = NULL;
}

const perm_rule *
perm_match(const char *method, const char *path)
{
    route_match m;

    if (perm_table == NULL || method == NULL || path == NULL
        || route_find(perm_table, method, path, &m) != ROUTE_FOUND)
        return NULL;
    return m.data;
}

bool
perm_role_has(auth_role r, perm_id p)
{
    if ((unsigned)r >= sizeof(perm_of_role) / sizeof(perm_of_role[0]) || p < 0 || p >= PERM_COUNT)
        return false;
    return (perm_of_role[r] & BIT(p)) != 0;
}

const char *
perm_name(perm_id p)
{
    return p >= 0 && p < PERM_COUNT ? perm_names[p] : NULL;
}
