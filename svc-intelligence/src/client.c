/* client: the rules of a client request; see client.h. */
#include "client.h"

#include <string.h>

const char *const client_statuses[] = {"active", "onboarding", "paused", "churned", NULL};

const field_rule client_rules[CLIENT_NFIELDS] = {
    [CLIENT_NAME] = {"name", FK_TEXT, 200, NULL, true, NULL},
    [CLIENT_TIMEZONE] = {"timezone", FK_TIMEZONE, 64, NULL, false, "UTC"},
    [CLIENT_PLAN] = {"plan", FK_SLUG, 32, NULL, false, "standard"},
    [CLIENT_MONTHLY_REVENUE] = {"monthly_revenue", FK_MONEY, 0, NULL, false, "0"},
    [CLIENT_STATUS] = {"status", FK_ENUM, 0, client_statuses, false, "active"},
};

js_status
client_parse(json_object *body, bool create, int64_t now, field_values *out, js_err *err)
{
    return field_parse(body, client_rules, CLIENT_NFIELDS, create, now, out, err);
}

bool
client_status_known(const char *s)
{
    for (size_t i = 0; client_statuses[i]; i++)
        if (strcmp(s, client_statuses[i]) == 0)
            return true;
    return false;
}
