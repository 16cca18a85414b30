/* store: the SQL of integrations and health checks (schema toast), every
 * statement in store_sql.c, prepared once per connection and parameterised.
 * Prefix store_. Handlers never see a PGresult: rows come back as JSON in the
 * shape of the API, and that shape never holds a secret (only the
 * has_api_client_secret, has_password and has_totp booleans). */
#ifndef TOAST_STORE_H
#define TOAST_STORE_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "creds.h"
#include "db.h"
#include "integ.h"
#include "toast.h"

typedef enum {
    ST_OK = 0,
    ST_NOT_FOUND = 1,
    ST_CONFLICT = 2, /* a unique key is taken (toast_guid) */
    ST_UNAVAILABLE = -1,
    ST_ERROR = -2,
} store_status;

typedef struct store store;

store *store_new(db_pool *pool);
void store_free(store *s); /* NULL ok */
const char *store_status_name(store_status st);

/* The daemon's store (main.c). */
store *toast_store(const toast *t);

/* The sealed secrets of a create or change, in the order api_client_secret,
 * password, totp_secret: a token, or NULL (not given, or cleared). */
typedef struct store_sealed {
    const char *tok[3];
} store_sealed;

store_status store_integ_create(store *s, const integ_input *in, const store_sealed *sealed,
                                json_object **out);
store_status store_integ_get(store *s, const char *id, json_object **out);
/* client_id and status may be NULL. {"items","total","limit","offset"}. */
store_status store_integ_list(store *s, const char *client_id, const char *status, long limit,
                              long offset, json_object **page);
store_status store_integ_patch(store *s, const char *id, const integ_input *in,
                               const store_sealed *sealed, json_object **out);
/* With its health history (and, by the foreign keys' ON DELETE CASCADE, its
 * menus and golden copies). */
store_status store_integ_delete(store *s, const char *id);

/* The stored row with the secrets still sealed ("" when unset), for
 * toast_integration_load. */
typedef struct store_integ_row {
    char id[40], client_id[40], restaurant_id[128], toast_guid[40];
    char name[256], status[16], api_client_id[256], username[256];
    char enc[3][CREDS_TOKEN_MAX]; /* api_client_secret, password, totp_secret */
} store_integ_row;
store_status store_integ_load(store *s, const char *id, store_integ_row *row);

/* Re-seal every stored secret, in one transaction: reseal(token, out, cap,
 * ud) returns 0 or -1 (then nothing changes). *n: secrets re-sealed. */
typedef int (*store_reseal_fn)(const char *token, char *out, size_t cap, void *ud);
store_status store_integ_rotate(store *s, store_reseal_fn reseal, void *ud, int *n);

/* Record a health check and put its status on the integration.
 * steps: array (borrowed). *out: the check as the API shows it. */
store_status store_health_record(store *s, const char *id, const char *status, long total_ms,
                                 json_object *steps, const char *error, json_object **out);
/* Newest first; 404 when the integration does not exist. */
store_status store_health_list(store *s, const char *id, long limit, long offset,
                               json_object **page);
/* Active integrations whose last check is older than interval_s (or never
 * ran): an array of {"id","client_id"}. */
store_status store_health_due(store *s, long interval_s, json_object **due);

#endif
