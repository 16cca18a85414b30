/* store_sql_system: the statements of GET /system/health and POST
 * /scores/recompute. */
#include "store_internal.h"

const store_stmt store_system_sql[QS_N] = {
    /* $1: milliseconds; local to the transaction it runs in. */
    [QS_TIMEOUT] = {"system_timeout", "SELECT set_config('statement_timeout', $1, true)"},
    /* Each integration counts once, by the status of its newest check
     * (integration_latest, kept by a trigger: migration 012). */
    [QS_INTEGRATIONS] = {"system_integrations",
                         "SELECT status, count(*) FROM intelligence.integration_latest "
                         "GROUP BY status"},
    [QS_ALERTS] = {"system_alerts", "SELECT severity, count(*) FROM intelligence.alerts "
                                    "WHERE status = 'active' GROUP BY severity"},
    [QS_ACTIVE_CLIENTS] = {"system_active_clients",
                           "SELECT id FROM intelligence.clients WHERE status = 'active' "
                           "ORDER BY created_at, id"},
    /* $1: a JSON array of UUIDs. */
    [QS_KNOWN_CLIENTS] = {"system_known_clients",
                          "SELECT c.id FROM intelligence.clients c "
                          "WHERE c.id IN (SELECT value::uuid FROM jsonb_array_elements_text($1)) "
                          "ORDER BY c.created_at, c.id"},
};
