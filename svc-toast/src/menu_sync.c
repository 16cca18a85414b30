/* menu_sync: the menu_sync job. It asks Toast for the menu metadata, stops
 * there when lastUpdated is not newer than the stored copy (Toast asks that
 * menus be fetched only when they changed), otherwise fetches the menus,
 * normalises them (menu.h), replaces the stored copy in one transaction and
 * publishes events.toast.menu.<integration_id> with the counts and the guids
 * of the items added, changed and removed. Idempotent: a second run of the
 * same menu changes nothing and reports nothing changed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "golden.h"
#include "json.h"
#include "log.h"
#include "menu.h"
#include "store_menus.h"
#include "tbus.h"
#include "toast.h"
#include "toast_api.h"
#include "util.h"

#define LAST_UPDATED_MAX 64

/* A refused login or a restaurant Toast does not know will not get better by
 * trying again; the rest (rate limit, 5xx, timeouts) may. */
static bool
api_retryable(toast_api_status st)
{
    return st != TAPI_AUTH && st != TAPI_NOT_FOUND;
}

/* True when Toast's lastUpdated is not newer than the stored one. */
static bool
unchanged(const char *stored, const char *now)
{
    int64_t a, b;
    if (!stored[0])
        return false;
    if (menu_time_parse(stored, &a) != 0 || menu_time_parse(now, &b) != 0)
        return strcmp(stored, now) == 0;
    return b <= a;
}

/* Normalise doc (taken: put as soon as the model holds what it needs, so
 * that its objects and the snapshot's text are not in memory together),
 * store it and say what changed. 0 and *result, or -1 after failing the
 * job. */
static int
sync_store(toast *t, worker_job *j, const toast_integration *ti, json_object *doc,
           const char *last_updated, json_object **result)
{
    static const char *const list_keys[] = {"menus", "groups", "items", "modifier_groups"};
    menu_model *m = NULL;
    json_object *changes = NULL;
    char err[256], sha[MENU_SHA256_HEX], *text = NULL, *lists[4] = {NULL};
    int rc = -1, built = menu_from_toast(doc, &m, err, sizeof(err));
    json_object_put(doc);
    if (built != 0) {
        worker_job_fail(j, false, "Toast's menus document is not usable: %s", err);
        goto out;
    }
    worker_progress(j, 60, "storing the menus");
    bool ok = menu_snapshot_text(m, &text, NULL, sha) == 0;
    /* The hash is of the whole text; the store needs its lists. */
    free(text);
    for (size_t i = 0; ok && i < 4; i++)
        ok = (lists[i] = menu_snapshot_list(m, list_keys[i], NULL)) != NULL;
    if (!ok) {
        worker_job_fail(j, true, "out of memory normalising the menus");
        goto out;
    }
    store_menu_lists sl = {lists[0], lists[1], lists[2], lists[3]};
    store_status st = store_menus_replace(app_db(t->app), ti->id, &sl, sha, last_updated, &changes);
    if (st != ST_OK) {
        if (st == ST_NOT_FOUND)
            worker_job_fail(j, false, "integration %s was deleted during the sync", ti->id);
        else
            worker_job_fail(j, true, "storing the menus failed (%s)", store_status_name(st));
        goto out;
    }
    *result = json_object_new_object();
    json_object_object_add(*result, "integration_id", json_object_new_string(ti->id));
    json_object_object_add(*result, "client_id", json_object_new_string(ti->client_id));
    json_object_object_add(*result, "skipped", json_object_new_boolean(false));
    json_object_object_add(*result, "last_updated", json_object_new_string(last_updated));
    json_object_object_add(*result, "sha256", json_object_new_string(sha));
    json_object *counts = golden_counts(m);
    static const char *const keys[] = {"added", "changed", "removed"};
    for (size_t i = 0; i < 3; i++) {
        json_object *a = json_object_object_get(changes, keys[i]);
        char name[32];
        snprintf(name, sizeof(name), "items_%s", keys[i]);
        json_object_object_add(counts, name,
                               json_object_new_int64((int64_t)json_object_array_length(a)));
        json_object_object_add(*result, keys[i], json_object_get(a));
    }
    json_object_object_add(*result, "counts", counts);
    rc = 0;
out:
    json_object_put(changes);
    for (size_t i = 0; i < 4; i++)
        free(lists[i]);
    menu_model_free(m);
    return rc;
}

static void
publish(toast *t, const char *id, json_object *result)
{
    json_object *ev = json_object_new_object();
    char now[UTIL_RFC3339_LEN + 1];
    util_now_rfc3339(now);
    json_object_object_add(ev, "type", json_object_new_string("menu_synced"));
    json_object_object_foreach(result, k, v)
    {
        json_object_object_add(ev, k, json_object_get(v));
    }
    json_object_object_add(ev, "synced_at", json_object_new_string(now));
    tbus_event(t, "menu", id, ev);
    json_object_put(ev);
}

void
menu_sync_job(worker_job *j, void *ud)
{
    toast *t = ud;
    toast_integration ti;
    json_object *conf = worker_job_config(j), *doc = NULL, *result = NULL;
    static const char *const known[] = {"integration_id", "force", NULL};
    const char *id = NULL;
    bool force = false;
    char stored[LAST_UPDATED_MAX], now[LAST_UPDATED_MAX], err[256];
    js_err je;
    int rc;
    memset(&ti, 0, sizeof(ti));
    if (js_reject_unknown(conf, known, &je) != JS_OK
        || js_get_uuid(conf, "integration_id", true, &id, &je) != JS_OK
        || js_get_bool(conf, "force", false, &force, &je) == JS_INVALID) {
        worker_job_fail(j, false, "config: %s", je.message);
        return;
    }
    int lr = toast_integration_load(t, id, &ti);
    if (lr != 0) {
        if (lr == 1)
            worker_job_fail(j, false, "integration %s not found", id);
        else
            worker_job_fail(j, true, "integration %s could not be loaded", id);
        goto out;
    }
    worker_progress(j, 10, "reading the menu metadata");
    store_status st = store_menus_state(app_db(t->app), id, stored, sizeof(stored));
    if (st != ST_OK) {
        worker_job_fail(j, st != ST_NOT_FOUND, "reading the stored menu state failed (%s)",
                        store_status_name(st));
        goto out;
    }
    toast_api_status as = toast_api_metadata(t->api, &ti, now, sizeof(now), err, sizeof(err));
    if (as != TAPI_OK) {
        worker_job_fail(j, api_retryable(as), "Toast menu metadata: %s (%s)", err,
                        toast_api_status_name(as));
        goto out;
    }
    if (!force && unchanged(stored, now)) {
        result = json_object_new_object();
        json_object_object_add(result, "integration_id", json_object_new_string(id));
        json_object_object_add(result, "skipped", json_object_new_boolean(true));
        json_object_object_add(result, "reason", json_object_new_string("menu unchanged"));
        json_object_object_add(result, "last_updated", json_object_new_string(now));
        log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("integration_id", id), LF_STR("last_updated", now)),
                "menu unchanged: sync skipped");
        worker_job_succeed(j, result);
        goto out;
    }
    if (worker_progress(j, 30, "fetching the menus") != 0)
        goto out; /* cancelled or lost */
    as = toast_api_menus(t->api, &ti, &doc, err, sizeof(err));
    if (as != TAPI_OK) {
        worker_job_fail(j, api_retryable(as), "Toast menus: %s (%s)", err,
                        toast_api_status_name(as));
        goto out;
    }
    rc = sync_store(t, j, &ti, doc, now, &result);
    doc = NULL; /* sync_store took it */
    if (rc != 0)
        goto out;
    worker_progress(j, 90, "publishing the menu event");
    publish(t, id, result);
    log_msg(
        LOGL_INFO,
        LOG_FIELDS(
            LF_STR("integration_id", id), LF_STR("last_updated", now),
            LF_INT("added", json_object_array_length(json_object_object_get(result, "added"))),
            LF_INT("changed", json_object_array_length(json_object_object_get(result, "changed"))),
            LF_INT("removed", json_object_array_length(json_object_object_get(result, "removed")))),
        "menu synced");
    worker_job_succeed(j, result);
out:
    json_object_put(doc);
    toast_integration_wipe(&ti);
}
