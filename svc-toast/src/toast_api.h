/* toast_api: the Toast REST API over libcurl (TOAST_API_BASE). Logins are
 * cached per integration until a minute before they expire: those cached
 * logins are the "sessions" of toast.sessions.list/terminate. A 401 drops the
 * cached token and logs in once more; a 429 honours Retry-After; menus are
 * fetched at most once per second per restaurant. Thread-safe. Prefix
 * toast_api_. */
#ifndef TOAST_TOAST_API_H
#define TOAST_TOAST_API_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "toast.h"

typedef enum {
    TAPI_OK = 0,
    TAPI_AUTH,        /* credentials refused (401/403 after a fresh login) */
    TAPI_RATE,        /* 429 beyond what waiting allows */
    TAPI_UPSTREAM,    /* 5xx or an answer that is not what Toast sends */
    TAPI_UNREACHABLE, /* connection failure or timeout */
    TAPI_NOT_FOUND,
} toast_api_status;

const char *toast_api_status_name(toast_api_status st);

toast_api *toast_api_new(const char *base_url, long timeout_ms);
void toast_api_free(toast_api *a);

/* GET /menus/v2/metadata: Toast's lastUpdated for the restaurant, as sent
 * (e.g. "2026-11-20T10:00:00.000+0000"), into last_updated. */
toast_api_status toast_api_metadata(toast_api *a, const toast_integration *ti, char *last_updated,
                                    size_t cap, char *err, size_t errlen);
/* GET /menus/v2/menus: the whole menus document (*doc, a new reference). */
toast_api_status toast_api_menus(toast_api *a, const toast_integration *ti, json_object **doc,
                                 char *err, size_t errlen);

/* ---- added by the integration half (INTEG) ---- */

/* How long 429 answers may make one call wait in all (Retry-After summed);
 * beyond it the call ends with TAPI_RATE. Default 60 s. */
void toast_api_set_max_wait(toast_api *a, long max_wait_ms);

/* A usable login for ti: the cached one (*reused true) or a fresh one. */
toast_api_status toast_api_session(toast_api *a, const toast_integration *ti, bool *reused,
                                   char *err, size_t errlen);
/* GET /restaurants/v1/restaurants/{guid}: the restaurant (*doc, a new
 * reference). */
toast_api_status toast_api_restaurant(toast_api *a, const toast_integration *ti, json_object **doc,
                                      char *err, size_t errlen);

/* The cached logins ("sessions"), optionally of one client (NULL: all), as
 * an array of {client_id, integration_id, created_at, expires_at} (new). */
json_object *toast_api_sessions(toast_api *a, const char *client_id);
/* Drop every cached login of a client; returns how many. */
int toast_api_terminate(toast_api *a, const char *client_id);
/* Drop the cached login of one integration (its credentials changed, or it
 * was deleted). */
void toast_api_forget(toast_api *a, const char *integration_id);
/* Logins made since start (for the logs and metrics). */
long toast_api_logins(toast_api *a);

#endif
