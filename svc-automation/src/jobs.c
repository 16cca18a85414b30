/* jobs: the job operations shared by the HTTP and NATS adapters; see
 * service.h. */
#include <stdio.h>
#include <string.h>

#include "abus.h"
#include "log.h"
#include "service.h"
#include "util.h"

svc *
svc_of(const void *a)
{
    return app_data(a);
}

int
svc_fail(svc_err *e, store_status st, const char *what, const char *msg)
{
    e->field[0] = '\0';
    switch (st) {
    case ST_NOT_FOUND:
        e->status = 404;
        e->code = "not_found";
        snprintf(e->message, sizeof(e->message), "%s not found", what);
        break;
    case ST_CONFLICT:
        e->status = 409;
        e->code = "conflict";
        snprintf(e->message, sizeof(e->message), "%s", msg && msg[0] ? msg : "state conflict");
        break;
    case ST_INVALID:
        e->status = 400;
        e->code = "invalid_request";
        snprintf(e->message, sizeof(e->message), "%s", msg && msg[0] ? msg : "invalid value");
        /* the message starts "field 'x'": name the field too */
        if (msg && strncmp(msg, "field '", 7) == 0) {
            const char *end = strchr(msg + 7, '\'');
            size_t n = end ? (size_t)(end - msg - 7) : 0;
            if (n < sizeof(e->field)) {
                memcpy(e->field, msg + 7, n);
                e->field[n] = '\0';
            }
        }
        break;
    case ST_UNAVAILABLE:
        e->status = 503;
        e->code = "unavailable";
        snprintf(e->message, sizeof(e->message), "the job store is unavailable; try again");
        break;
    default:
        e->status = 500;
        e->code = "internal_error";
        snprintf(e->message, sizeof(e->message), "internal error");
        break;
    }
    return e->status;
}

static int
invalid(svc_err *e, const js_err *je)
{
    e->status = 400;
    e->code = "invalid_request";
    util_strlcpy(e->field, je->field, sizeof(e->field));
    util_strlcpy(e->message, je->message, sizeof(e->message));
    return 400;
}

void
svc_changed(svc *s, store_changes *ch)
{
    size_t n = ch->events ? json_object_array_length(ch->events) : 0;
    for (size_t i = 0; i < n; i++) {
        json_object *ev = json_object_array_get_idx(ch->events, i), *v = NULL;
        const char *f[4] = {NULL, NULL, NULL, NULL};
        static const char *const keys[] = {"job_id", "job_type", "status", "client_id"};
        for (int k = 0; k < 4; k++)
            if (json_object_object_get_ex(ev, keys[k], &v))
                f[k] = json_object_get_string(v);
        json_object_object_get_ex(ev, "attempt", &v);
        log_msg(LOGL_INFO,
                LOG_FIELDS(LF_STR("job_id", f[0]), LF_STR("job_type", f[1]), LF_STR("status", f[2]),
                           LF_STR("client_id", f[3]), LF_INT("attempt", json_object_get_int(v))),
                "job %s", f[2]);
        const char *labels[] = {f[1], f[2]};
        metrics_inc(s->jobs_total, labels, 1);
    }
    abus_changed(s->bus, ch);
    store_changes_clear(ch);
}

int
svc_create(svc *s, json_object *body, json_object **job, svc_err *e)
{
    job_new req;
    js_err je;
    store_changes ch;
    char msg[STORE_MSG];
    bool created = false;

    *job = NULL;
    if (job_new_parse(body, &req, &je) != JS_OK)
        return invalid(e, &je);
    store_changes_init(&ch);
    store_status st = store_job_create(s->store, &req, job, &created, &ch, msg, sizeof(msg));
    if (st != ST_OK) {
        store_changes_clear(&ch);
        return svc_fail(e, st, "job", msg);
    }
    svc_changed(s, &ch);
    return created ? 201 : 200;
}

int
svc_patch(svc *s, const char *id, json_object *body, json_object **job, svc_err *e)
{
    job_patch p;
    js_err je;
    store_changes ch;
    char msg[STORE_MSG], what[64];

    *job = NULL;
    job_patch_status ps = job_patch_parse(body, &p, &je);
    if (ps == JOB_PATCH_INVALID)
        return invalid(e, &je);
    if (ps == JOB_PATCH_FORBIDDEN) {
        invalid(e, &je);
        e->status = 409;
        e->code = "conflict";
        return 409;
    }
    snprintf(what, sizeof(what), "job %s", id);
    store_changes_init(&ch);
    store_status st = store_job_patch(s->store, id, &p, job, &ch, msg, sizeof(msg));
    if (st != ST_OK) {
        store_changes_clear(&ch);
        return svc_fail(e, st, what, msg);
    }
    svc_changed(s, &ch);
    return 200;
}

typedef store_status (*change_fn)(store *, const char *, json_object **, store_changes *, char *,
                                  size_t);

static int
change(svc *s, change_fn fn, const char *id, json_object **job, svc_err *e)
{
    store_changes ch;
    char msg[STORE_MSG], what[64];

    snprintf(what, sizeof(what), "job %s", id);
    store_changes_init(&ch);
    store_status st = fn(s->store, id, job, &ch, msg, sizeof(msg));
    if (st != ST_OK) {
        store_changes_clear(&ch);
        return svc_fail(e, st, what, msg);
    }
    svc_changed(s, &ch);
    return 200;
}

int
svc_cancel(svc *s, const char *id, json_object **job, svc_err *e)
{
    return change(s, store_job_cancel, id, job, e);
}

int
svc_retry(svc *s, const char *id, json_object **job, svc_err *e)
{
    return change(s, store_job_retry, id, job, e);
}
