/* toast: the daemon's state, shared by its parts. Two halves are built side by
 * side: integrations, credentials, the Toast API client, health checks and
 * sessions (integ*.c, creds.c, toast_api.c, health*.c, tbus.c) and menus,
 * menu sync, golden copies and the browser-service jobs (menu*.c, golden*.c,
 * browser*.c). This header is the contract between them. Prefix toast_. */
#ifndef TOAST_TOAST_H
#define TOAST_TOAST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "app.h"
#include "fernet.h"
#include "worker.h"

typedef struct toast_api toast_api; /* toast_api.h */

typedef struct toast {
    app *app;
    fernet_keys keys; /* ENCRYPTION_KEYS: the first encrypts, all decrypt */
    toast_api *api;
    worker *worker;
    const char *browser_url; /* BROWSER_SERVICE_URL, NULL when unset */
} toast;

toast *toast_of(const void *app);

/* An integration with its secrets decrypted, for the moment of one call.
 * toast_integration_load fills it; toast_integration_wipe clears the secrets
 * (always call it). */
typedef struct toast_integration {
    char id[40], client_id[40], restaurant_id[128], toast_guid[40];
    char name[256], status[16];
    char api_client_id[256];
    char api_client_secret[512]; /* decrypted: never logged, never returned */
    char username[256];
    char password[512];    /* decrypted */
    char totp_secret[128]; /* decrypted, base32 */
    bool has_api_client_secret, has_password, has_totp;
} toast_integration;

/* 0 and *ti filled; 1 when no such integration; -1 on a database or
 * decryption failure (logged without secrets). */
int toast_integration_load(toast *t, const char *id, toast_integration *ti);
void toast_integration_wipe(toast_integration *ti);

/* Create a job through svc-automation (jobs.create) for this service:
 * body is {client_id, job_type, config, ...} (taken). Returns 0 with *job
 * (the created job, a new reference), or an HTTP status to answer (400 with
 * *err naming the problem from svc-automation's answer, 503 when svc-
 * automation does not answer). */
int toast_create_job(toast *t, json_object *body, json_object **job, char *err, size_t errlen);

/* The job handlers of the menu half, registered by main.c with the worker. */
void menu_sync_job(worker_job *j, void *ud);    /* menu_sync */
void golden_copy_job(worker_job *j, void *ud);  /* golden_copy */
void browser_task_job(worker_job *j, void *ud); /* menu_build item_create item_update
                                                   modifier_sync */
/* The health half's handler. */
void health_check_job(worker_job *j, void *ud); /* health_check */

/* The menu half's routes (under /api/toast), added by routes.c:
 * GET /integrations/{id}/menus, POST /integrations/{id}/golden-copy/capture
 * and /compare. */
extern const web_route menu_routes[];
extern const size_t menu_nroutes;

#endif
