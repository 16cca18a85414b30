/* store_sql: the text of every statement on clients and signals. All
 * parameterised. Rows come back as one JSON column built by PostgreSQL in
 * the API's shape: money as text ("1234.50", exact), times RFC 3339 UTC. */
#include "store_internal.h"

/* The end of to_char(<time>, ...): RFC 3339 UTC with milliseconds. */
#define UTC    " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define T(col) "to_char(" col UTC

#define CLIENT_JSON                                                                    \
    "json_build_object('id', c.id, 'name', c.name, 'timezone', c.timezone, "           \
    "'plan', c.plan, 'monthly_revenue', c.monthly_revenue::text, 'status', c.status, " \
    "'created_at', " T("c.created_at") ", 'updated_at', " T("c.updated_at") ")"

#define CLIENT_FILTER \
    "WHERE ($1::text IS NULL OR c.status = $1) AND ($2::text IS NULL OR c.plan = $2) "

const store_stmt store_client_sql[QC_N] = {
    [QC_INSERT] = {"client_insert", "INSERT INTO intelligence.clients AS c (name, timezone, plan, "
                                    "monthly_revenue, status) VALUES ($1, $2, $3, $4::numeric, $5) "
                                    "RETURNING " CLIENT_JSON},
    [QC_GET] = {"client_get", "SELECT " CLIENT_JSON " FROM intelligence.clients c WHERE c.id = $1"},
    [QC_LIST] = {"client_list", "SELECT " CLIENT_JSON " FROM intelligence.clients c " CLIENT_FILTER
                                "ORDER BY c.created_at, c.id LIMIT $3 OFFSET $4"},
    [QC_COUNT] = {"client_count", "SELECT count(*) FROM intelligence.clients c " CLIENT_FILTER},
    /* $2/$3 name, $4/$5 timezone, $6/$7 plan, $8/$9 monthly_revenue, $10/$11 status. */
    [QC_PATCH] = {"client_patch", "UPDATE intelligence.clients c SET "
                                  "name = CASE WHEN $2::bool THEN $3 ELSE c.name END, "
                                  "timezone = CASE WHEN $4::bool THEN $5 ELSE c.timezone END, "
                                  "plan = CASE WHEN $6::bool THEN $7 ELSE c.plan END, "
                                  "monthly_revenue = CASE WHEN $8::bool THEN $9::numeric "
                                  "ELSE c.monthly_revenue END, "
                                  "status = CASE WHEN $10::bool THEN $11 ELSE c.status END, "
                                  "updated_at = now() WHERE c.id = $1 RETURNING " CLIENT_JSON},
    [QC_EXISTS] = {"client_exists", "SELECT 1 FROM intelligence.clients WHERE id = $1"},
};

/* One kind of signal: its table, JSON, insert columns and newest-first
 * order. */
#define SIG_LIST(name, table, json, order)                                                     \
    {                                                                                          \
#name "_list", "SELECT " json " FROM intelligence." table " x WHERE x.client_id = $1 " \
                       "ORDER BY " order " DESC, x.created_at DESC, x.id LIMIT $2 OFFSET $3"   \
    }
#define SIG_COUNT(name, table)                                                             \
    {                                                                                      \
#name "_count", "SELECT count(*) FROM intelligence." table " WHERE client_id = $1" \
    }

#define ACTIVITY_JSON                                                                   \
    "json_build_object('id', x.id, 'client_id', x.client_id, 'actor', x.actor, "        \
    "'action', x.action, 'occurred_at', " T("x.occurred_at") ", 'details', x.details, " \
                                                             "'created_at', " T(        \
                                                                 "x.created_at") ")"
#define TICKET_JSON                                                                      \
    "json_build_object('id', x.id, 'client_id', x.client_id, 'subject', x.subject, "     \
    "'priority', x.priority, 'opened_at', " T(                                           \
        "x.opened_at") ", "                                                              \
                       "'first_response_at', " T(                                        \
                           "x.first_response_at") ", "                                   \
                                                  "'resolved_at', " T(                   \
                                                      "x.resolved_at") ", "              \
                                                                       "'created_"       \
                                                                       "at', " T("x."    \
                                                                                 "creat" \
                                                                                 "ed_"   \
                                                                                 "at") ")"
#define PAYMENT_JSON                                                                 \
    "json_build_object('id', x.id, 'client_id', x.client_id, 'invoice', x.invoice, " \
    "'amount', x.amount::text, 'due_at', " T(                                        \
        "x.due_at") ", "                                                             \
                    "'paid_at', " T("x.paid_at") ", 'status', x.status, "            \
                                                 "'created_at', " T("x.created_at") ")"
#define PROJECT_JSON                                                           \
    "json_build_object('id', x.id, 'client_id', x.client_id, 'name', x.name, " \
    "'status', x.status, 'value', x.value::text, 'started_at', " T(            \
        "x.started_at") ", "                                                   \
                        "'created_at', " T("x.created_at") ")"
#define QUOTE_JSON                                                               \
    "json_build_object('id', x.id, 'client_id', x.client_id, 'title', x.title, " \
    "'status', x.status, 'value', x.value::text, 'issued_at', " T(               \
        "x.issued_at") ", "                                                      \
                       "'created_at', " T("x.created_at") ")"

const store_sig_sql store_signal_sql[SIG_NKINDS] = {
    [SIG_ACTIVITY] = {{"activity_insert",
                       "INSERT INTO intelligence.activity_log AS x (client_id, actor, action, "
                       "occurred_at, details) VALUES ($1, $2, $3, $4, $5::jsonb) "
                       "RETURNING " ACTIVITY_JSON},
                      SIG_LIST(activity, "activity_log", ACTIVITY_JSON, "x.occurred_at"),
                      SIG_COUNT(activity, "activity_log")},
    [SIG_TICKETS] = {{"ticket_insert",
                      "INSERT INTO intelligence.tickets AS x (client_id, subject, priority, "
                      "opened_at, first_response_at, resolved_at) "
                      "VALUES ($1, $2, $3, $4, $5, $6) RETURNING " TICKET_JSON},
                     SIG_LIST(ticket, "tickets", TICKET_JSON, "x.opened_at"),
                     SIG_COUNT(ticket, "tickets")},
    [SIG_PAYMENTS] = {{"payment_insert",
                       "INSERT INTO intelligence.payments AS x (client_id, invoice, amount, "
                       "due_at, paid_at, status) VALUES ($1, $2, $3::numeric, $4, $5, $6) "
                       "RETURNING " PAYMENT_JSON},
                      SIG_LIST(payment, "payments", PAYMENT_JSON, "x.due_at"),
                      SIG_COUNT(payment, "payments")},
    [SIG_PROJECTS] = {{"project_insert",
                       "INSERT INTO intelligence.projects AS x (client_id, name, status, value, "
                       "started_at) VALUES ($1, $2, $3, $4::numeric, $5) RETURNING " PROJECT_JSON},
                      SIG_LIST(project, "projects", PROJECT_JSON, "x.started_at"),
                      SIG_COUNT(project, "projects")},
    [SIG_QUOTES] = {{"quote_insert",
                     "INSERT INTO intelligence.quotes AS x (client_id, title, status, value, "
                     "issued_at) VALUES ($1, $2, $3, $4::numeric, $5) RETURNING " QUOTE_JSON},
                    SIG_LIST(quote, "quotes", QUOTE_JSON, "x.issued_at"),
                    SIG_COUNT(quote, "quotes")},
};
