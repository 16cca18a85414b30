/* golden: capture and compare golden copies, and the golden_copy job; see
 * golden.h. */
#include "golden.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "store_menus.h"
#include "util.h"

static int fail(golden_err *e, int status, const char *code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
fail(golden_err *e, int status, const char *code, const char *fmt, ...)
{
    va_list ap;
    e->status = status;
    e->code = code;
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
    return status;
}

/* A store failure as a status; what is the thing looked for. */
static int
store_fail(golden_err *e, store_status st, const char *what, const char *id)
{
    if (st == ST_NOT_FOUND)
        return fail(e, 404, "not_found", "%s %s not found", what, id);
    if (st == ST_UNAVAILABLE)
        return fail(e, 503, "unavailable", "the database is unavailable");
    return fail(e, 500, "internal", "reading the menus failed");
}

json_object *
golden_counts(const menu_model *m)
{
    json_object *c = json_object_new_object();
    json_object_object_add(c, "menus", json_object_new_int64((int64_t)m->nmenus));
    json_object_object_add(c, "groups", json_object_new_int64((int64_t)m->ngroups));
    json_object_object_add(c, "items", json_object_new_int64((int64_t)m->nitems));
    json_object_object_add(c, "modifier_groups", json_object_new_int64((int64_t)m->nmodgroups));
    return c;
}

int
golden_current(toast *t, const char *integration_id, menu_model **m, golden_err *e)
{
    char *snap = NULL, err[256];
    size_t len = 0;
    *m = NULL;
    store_status st = store_menus_load(app_db(t->app), integration_id, &snap, &len);
    if (st != ST_OK)
        return store_fail(e, st, "integration", integration_id);
    if (!snap)
        return fail(e, 409, "conflict",
                    "integration %s has no synced menu yet: run sync-menus first", integration_id);
    int rc = menu_from_snapshot_text(snap, len, m, err, sizeof(err));
    free(snap);
    if (rc != 0) {
        log_msg(LOGL_ERROR, LOG_FIELDS(LF_STR("integration_id", integration_id)),
                "stored menu unreadable: %s", err);
        return fail(e, 500, "internal", "the stored menu could not be read");
    }
    return 0;
}

int
golden_capture(toast *t, const char *integration_id, const char *note, json_object **out,
               golden_err *e)
{
    menu_model *m = NULL;
    char *text = NULL, sha[MENU_SHA256_HEX];
    json_object *counts = NULL;
    int rc = golden_current(t, integration_id, &m, e);
    *out = NULL;
    if (rc != 0)
        goto out;
    if (menu_snapshot_text(m, &text, NULL, sha) != 0) {
        rc = fail(e, 500, "internal", "the snapshot could not be made");
        goto out;
    }
    counts = golden_counts(m);
    store_status st =
        store_golden_insert(app_db(t->app), integration_id, sha, text, counts, note, out);
    if (st != ST_OK) {
        rc = store_fail(e, st, "integration", integration_id);
        goto out;
    }
    log_msg(LOGL_INFO,
            LOG_FIELDS(LF_STR("integration_id", integration_id), LF_STR("sha256", sha),
                       LF_INT("items", m->nitems)),
            "golden copy captured");
out:
    json_object_put(counts);
    free(text);
    menu_model_free(m);
    return rc;
}

/* The baseline's model from its stored text (the canonical snapshot). */
static int
baseline_model(const char *text, menu_model **m, golden_err *e)
{
    char err[256];
    if (menu_from_snapshot_text(text, strlen(text), m, err, sizeof(err)) != 0) {
        log_msg(LOGL_ERROR, LOG_FIELDS(LF_STR("error", err)), "golden copy unreadable");
        return fail(e, 500, "internal", "the baseline could not be read");
    }
    return 0;
}

int
golden_compare(toast *t, const char *integration_id, const char *baseline_id, json_object **out,
               golden_err *e)
{
    menu_model *cur = NULL, *base = NULL;
    json_object *row = NULL, *diff = NULL, *v = NULL;
    char *btext = NULL, *ctext = NULL, sha[MENU_SHA256_HEX];
    int rc = golden_current(t, integration_id, &cur, e);
    *out = NULL;
    if (rc != 0)
        goto out;
    store_status st = store_golden_get(app_db(t->app), integration_id, baseline_id, &row, &btext);
    if (st == ST_NOT_FOUND) {
        rc = baseline_id
                 ? fail(e, 404, "not_found", "golden copy %s not found for integration %s",
                        baseline_id, integration_id)
                 : fail(e, 404, "not_found",
                        "integration %s has no golden copy yet: capture one first", integration_id);
        goto out;
    }
    if (st != ST_OK) {
        rc = store_fail(e, st, "integration", integration_id);
        goto out;
    }
    if ((rc = baseline_model(btext, &base, e)) != 0)
        goto out;
    if (menu_snapshot_text(cur, &ctext, NULL, sha) != 0 || !(diff = menu_diff(base, cur))) {
        rc = fail(e, 500, "internal", "the comparison could not be made");
        goto out;
    }
    *out = json_object_new_object();
    json_object_object_add(*out, "identical",
                           json_object_get(json_object_object_get(diff, "identical")));
    json_object_object_get_ex(row, "id", &v);
    json_object_object_add(*out, "baseline_id", json_object_get(v));
    json_object_object_get_ex(row, "sha256", &v);
    json_object_object_add(*out, "baseline_sha256", json_object_get(v));
    json_object_object_get_ex(row, "created_at", &v);
    json_object_object_add(*out, "baseline_created_at", json_object_get(v));
    json_object_object_add(*out, "current_sha256", json_object_new_string(sha));
    json_object_object_add(*out, "counts", golden_counts(cur));
    static const char *const lists[] = {"added", "removed", "changed"};
    for (size_t i = 0; i < 3; i++)
        json_object_object_add(*out, lists[i],
                               json_object_get(json_object_object_get(diff, lists[i])));
out:
    json_object_put(row);
    json_object_put(diff);
    free(btext);
    free(ctext);
    menu_model_free(cur);
    menu_model_free(base);
    return rc;
}

void
golden_copy_job(worker_job *j, void *ud)
{
    toast *t = ud;
    json_object *conf = worker_job_config(j), *out = NULL;
    static const char *const actions[] = {"capture", "compare", NULL};
    static const char *const known[] = {"integration_id", "action", "baseline_id", "note", NULL};
    const char *id = NULL, *action = "capture", *baseline = NULL, *note = NULL;
    js_err je;
    golden_err e;
    if (js_reject_unknown(conf, known, &je) != JS_OK
        || js_get_uuid(conf, "integration_id", true, &id, &je) != JS_OK
        || js_get_enum(conf, "action", false, actions, &action, &je) == JS_INVALID
        || js_get_uuid(conf, "baseline_id", false, &baseline, &je) == JS_INVALID
        || js_get_string(conf, "note", false, 0, 1000, &note, &je) == JS_INVALID) {
        worker_job_fail(j, false, "config: %s", je.message);
        return;
    }
    worker_progress(j, 10, action);
    int rc = strcmp(action, "compare") == 0 ? golden_compare(t, id, baseline, &out, &e)
                                            : golden_capture(t, id, note, &out, &e);
    if (rc != 0) {
        /* Only an unavailable database is worth another attempt. */
        worker_job_fail(j, rc == 503, "%s", e.message);
        return;
    }
    json_object_object_add(out, "action", json_object_new_string(action));
    worker_job_succeed(j, out);
}
