/* store_sql: the text of every statement of integrations and health checks.
 * All parameterised. Rows come back as one JSON column built by PostgreSQL,
 * in the API's shape; the sealed secrets are selected only by Q_LOAD and the
 * rotation, never by what is rendered. */
#include "store_internal.h"

/* The end of to_char(<time>, ...): RFC 3339 UTC with milliseconds. */
#define UTC " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"

#define INTEG_JSON                                                                   \
    "json_build_object('id', i.id, 'client_id', i.client_id, "                       \
    "'restaurant_id', i.restaurant_id, 'toast_guid', i.toast_guid, 'name', i.name, " \
    "'status', i.status, 'api_client_id', i.api_client_id, 'username', i.username, " \
    "'has_api_client_secret', i.api_client_secret_enc IS NOT NULL, "                 \
    "'has_password', i.password_enc IS NOT NULL, "                                   \
    "'has_totp', i.totp_secret_enc IS NOT NULL, "                                    \
    "'last_health_status', i.last_health_status, "                                   \
    "'last_health_at', to_char(i.last_health_at" UTC ", "                            \
    "'last_menu_sync_at', to_char(i.last_menu_sync_at" UTC ", "                      \
    "'created_at', to_char(i.created_at" UTC ", "                                    \
    "'updated_at', to_char(i.updated_at" UTC ")"

#define HEALTH_JSON                                                                    \
    "json_build_object('id', h.id, 'integration_id', h.integration_id, "               \
    "'status', h.status, 'total_ms', h.total_ms, 'steps', h.steps, 'error', h.error, " \
    "'checked_at', to_char(h.checked_at" UTC ")"

const store_stmt store_sql[Q_NSTMTS] = {
    [Q_INSERT] = {"integ_insert",
                  "INSERT INTO toast.integrations AS i (client_id, restaurant_id, toast_guid, "
                  "name, status, api_client_id, api_client_secret_enc, username, password_enc, "
                  "totp_secret_enc) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) "
                  "RETURNING " INTEG_JSON},
    [Q_GET] = {"integ_get", "SELECT " INTEG_JSON " FROM toast.integrations i WHERE i.id = $1"},
    [Q_LIST] = {"integ_list", "SELECT " INTEG_JSON " FROM toast.integrations i "
                              "WHERE ($1::uuid IS NULL OR i.client_id = $1) "
                              "AND ($2::text IS NULL OR i.status = $2) "
                              "ORDER BY i.created_at, i.id LIMIT $3 OFFSET $4"},
    [Q_COUNT] = {"integ_count", "SELECT count(*) FROM toast.integrations i "
                                "WHERE ($1::uuid IS NULL OR i.client_id = $1) "
                                "AND ($2::text IS NULL OR i.status = $2)"},
    /* $2/$3 name, $4/$5 status, $6/$7 api_client_id, $8/$9 api_client_secret,
     * $10/$11 username, $12/$13 password, $14/$15 totp_secret. */
    [Q_PATCH] = {"integ_patch",
                 "UPDATE toast.integrations i SET "
                 "name = CASE WHEN $2::bool THEN $3 ELSE i.name END, "
                 "status = CASE WHEN $4::bool THEN $5 ELSE i.status END, "
                 "api_client_id = CASE WHEN $6::bool THEN $7 ELSE i.api_client_id END, "
                 "api_client_secret_enc = CASE WHEN $8::bool THEN $9 "
                 "ELSE i.api_client_secret_enc END, "
                 "username = CASE WHEN $10::bool THEN $11 ELSE i.username END, "
                 "password_enc = CASE WHEN $12::bool THEN $13 ELSE i.password_enc END, "
                 "totp_secret_enc = CASE WHEN $14::bool THEN $15 ELSE i.totp_secret_enc END, "
                 "updated_at = now() WHERE i.id = $1 RETURNING " INTEG_JSON},
    [Q_DELETE] = {"integ_delete", "DELETE FROM toast.integrations WHERE id = $1 RETURNING id"},
    [Q_LOAD] = {"integ_load",
                "SELECT id, client_id, restaurant_id, toast_guid, name, status, api_client_id, "
                "coalesce(username, ''), api_client_secret_enc, coalesce(password_enc, ''), "
                "coalesce(totp_secret_enc, '') FROM toast.integrations WHERE id = $1"},
    [Q_SEALED_ALL] = {"integ_sealed_all",
                      "SELECT id, api_client_secret_enc, password_enc, totp_secret_enc "
                      "FROM toast.integrations ORDER BY id FOR UPDATE"},
    [Q_RESEAL] = {"integ_reseal", "UPDATE toast.integrations SET api_client_secret_enc = $2, "
                                  "password_enc = $3, totp_secret_enc = $4 WHERE id = $1"},
    [Q_HEALTH_INSERT] = {"health_insert",
                         "WITH h AS (INSERT INTO toast.health_checks (integration_id, status, "
                         "total_ms, steps, error) VALUES ($1, $2, $3, $4::jsonb, $5) "
                         "RETURNING *), "
                         "u AS (UPDATE toast.integrations SET last_health_status = $2, "
                         "last_health_at = now() WHERE id = $1) "
                         "SELECT " HEALTH_JSON " FROM h"},
    [Q_HEALTH_LIST] = {"health_list", "SELECT " HEALTH_JSON " FROM toast.health_checks h "
                                      "WHERE h.integration_id = $1 "
                                      "ORDER BY h.checked_at DESC, h.id LIMIT $2 OFFSET $3"},
    [Q_HEALTH_COUNT] = {"health_count",
                        "SELECT count(*) FROM toast.health_checks WHERE integration_id = $1"},
    [Q_EXISTS] = {"integ_exists", "SELECT 1 FROM toast.integrations WHERE id = $1"},
    [Q_DUE] = {"health_due",
               "SELECT json_build_object('id', id, 'client_id', client_id) "
               "FROM toast.integrations WHERE status = 'active' AND (last_health_at IS NULL "
               "OR last_health_at < now() - make_interval(secs => $1::int)) "
               "ORDER BY last_health_at NULLS FIRST LIMIT 1000"},
};
