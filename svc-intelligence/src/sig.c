/* sig: the rules of each kind of signal; see sig.h. */
#include "sig.h"

#include <string.h>

static const char *const priorities[] = {"low", "normal", "high", "urgent", NULL};
static const char *const payment_statuses[] = {"open", "paid", "void", NULL};
static const char *const project_statuses[] = {"proposed", "active", "completed", "cancelled",
                                               NULL};
static const char *const quote_statuses[] = {"draft",    "sent",    "accepted",
                                             "declined", "expired", NULL};

enum { A_ACTOR, A_ACTION, A_OCCURRED_AT, A_DETAILS, A_N };
static const field_rule activity_rules[A_N] = {
    [A_ACTOR] = {"actor", FK_TEXT, 200, NULL, true, NULL},
    [A_ACTION] = {"action", FK_TEXT, 200, NULL, true, NULL},
    [A_OCCURRED_AT] = {"occurred_at", FK_PAST_TIME, 0, NULL, false, "now"},
    [A_DETAILS] = {"details", FK_OBJECT, 0, NULL, false, "{}"},
};

enum { T_SUBJECT, T_PRIORITY, T_OPENED_AT, T_FIRST_RESPONSE_AT, T_RESOLVED_AT, T_N };
static const field_rule ticket_rules[T_N] = {
    [T_SUBJECT] = {"subject", FK_TEXT, 300, NULL, false, NULL},
    [T_PRIORITY] = {"priority", FK_ENUM, 0, priorities, false, "normal"},
    [T_OPENED_AT] = {"opened_at", FK_PAST_TIME, 0, NULL, true, NULL},
    [T_FIRST_RESPONSE_AT] = {"first_response_at", FK_PAST_TIME, 0, NULL, false, NULL},
    [T_RESOLVED_AT] = {"resolved_at", FK_PAST_TIME, 0, NULL, false, NULL},
};

enum { P_INVOICE, P_AMOUNT, P_DUE_AT, P_PAID_AT, P_STATUS, P_N };
static const field_rule payment_rules[P_N] = {
    [P_INVOICE] = {"invoice", FK_TEXT, 64, NULL, true, NULL},
    [P_AMOUNT] = {"amount", FK_MONEY_POS, 0, NULL, true, NULL},
    [P_DUE_AT] = {"due_at", FK_TIME, 0, NULL, true, NULL},
    [P_PAID_AT] = {"paid_at", FK_PAST_TIME, 0, NULL, false, NULL},
    [P_STATUS] = {"status", FK_ENUM, 0, payment_statuses, false, NULL},
};

enum { J_NAME, J_STATUS, J_VALUE, J_STARTED_AT, J_N };
static const field_rule project_rules[J_N] = {
    [J_NAME] = {"name", FK_TEXT, 200, NULL, false, NULL},
    [J_STATUS] = {"status", FK_ENUM, 0, project_statuses, false, "active"},
    [J_VALUE] = {"value", FK_MONEY, 0, NULL, false, "0"},
    [J_STARTED_AT] = {"started_at", FK_PAST_TIME, 0, NULL, false, "now"},
};

enum { Q_TITLE, Q_STATUS, Q_VALUE, Q_ISSUED_AT, Q_N };
static const field_rule quote_rules[Q_N] = {
    [Q_TITLE] = {"title", FK_TEXT, 200, NULL, false, NULL},
    [Q_STATUS] = {"status", FK_ENUM, 0, quote_statuses, false, "sent"},
    [Q_VALUE] = {"value", FK_MONEY, 0, NULL, true, NULL},
    [Q_ISSUED_AT] = {"issued_at", FK_PAST_TIME, 0, NULL, false, "now"},
};

const sig_spec sig_specs[SIG_NKINDS] = {
    [SIG_ACTIVITY] = {SIG_ACTIVITY, "activity", "activity entry", activity_rules, A_N},
    [SIG_TICKETS] = {SIG_TICKETS, "tickets", "ticket", ticket_rules, T_N},
    [SIG_PAYMENTS] = {SIG_PAYMENTS, "payments", "payment", payment_rules, P_N},
    [SIG_PROJECTS] = {SIG_PROJECTS, "projects", "project", project_rules, J_N},
    [SIG_QUOTES] = {SIG_QUOTES, "quotes", "quote", quote_rules, Q_N},
};

static js_status
check_ticket(field_values *v, js_err *err)
{
    static const int after[] = {T_FIRST_RESPONSE_AT, T_RESOLVED_AT};
    for (size_t i = 0; i < sizeof(after) / sizeof(after[0]); i++) {
        int f = after[i];
        if (v->value[f] && v->when[f] < v->when[T_OPENED_AT])
            return js_fail(err, ticket_rules[f].name, "field '%s': must not be before opened_at",
                           ticket_rules[f].name);
    }
    return JS_OK;
}

/* paid exactly when paid_at is there; the status follows paid_at when not
 * given. */
static js_status
check_payment(field_values *v, js_err *err)
{
    const char *status = v->value[P_STATUS];
    bool paid_at = v->value[P_PAID_AT] != NULL;
    if (!status) {
        v->value[P_STATUS] = paid_at ? "paid" : "open";
        return JS_OK;
    }
    if (strcmp(status, "paid") == 0 && !paid_at)
        return js_fail(err, "paid_at", "field 'paid_at': is required when status is 'paid'");
    if (strcmp(status, "paid") != 0 && paid_at)
        return js_fail(err, "status",
                       "field 'status': must be 'paid' (or left out) when paid_at is given");
    return JS_OK;
}

js_status
sig_parse(sig_kind k, json_object *body, int64_t now, field_values *out, js_err *err)
{
    if (k >= SIG_NKINDS)
        return js_fail(err, "", "unknown signal kind");
    const sig_spec *s = &sig_specs[k];
    if (field_parse(body, s->rules, s->nrules, true, now, out, err) != JS_OK)
        return JS_INVALID;
    if (k == SIG_TICKETS)
        return check_ticket(out, err);
    if (k == SIG_PAYMENTS)
        return check_payment(out, err);
    return JS_OK;
}
