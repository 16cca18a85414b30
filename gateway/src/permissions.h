/* permissions: the one table of who may do what. Every route of every service
 * reached through the gateway is listed here with the permission it needs;
 * an /api route that is not in the table is denied (403), so a new route
 * cannot be left open by mistake. README.md shows the table and
 * tests/unit/gateway/test_openapi.c checks it against gateway/openapi.json. */
#ifndef GATEWAY_PERMISSIONS_H
#define GATEWAY_PERMISSIONS_H

#include <stdbool.h>
#include <stddef.h>

#include "auth.h"

typedef enum {
    PERM_OPEN = -2,          /* anyone, without a credential (login, refresh) */
    PERM_AUTHENTICATED = -1, /* any valid credential (me, logout) */
    PERM_VIEW_DASHBOARD = 0,
    PERM_VIEW_OPERATIONS,
    PERM_TRIGGER_JOBS,
    PERM_TRIGGER_SYNC,
    PERM_VIEW_FINANCIALS,
    PERM_EXPORT_REPORTS,
    PERM_EDIT_CREDENTIALS,
    PERM_DELETE_DATA,
    PERM_MANAGE_USERS,
    PERM_COUNT
} perm_id;

typedef struct perm_rule {
    const char *method;  /* "GET", "POST", ... ("GET" also covers HEAD) */
    const char *pattern; /* route.h pattern of the public path, e.g.
                            "/api/automation/jobs/{job_id}/cancel" */
    perm_id perm;
} perm_rule;

extern const perm_rule perm_rules[];
extern const size_t perm_nrules;

/* Once: builds the matcher. Returns 0 or -1 (a bad pattern, logged). */
int perm_init(void);
void perm_cleanup(void);
/* The rule for a request, NULL when the table has none (403). */
const perm_rule *perm_match(const char *method, const char *path);
/* Whether role r holds permission p (PERM_OPEN and PERM_AUTHENTICATED are
 * decided by the gate, not here). */
bool perm_role_has(auth_role r, perm_id p);
/* "view_dashboard", ...; NULL for the pseudo-permissions. */
const char *perm_name(perm_id p);

#endif
