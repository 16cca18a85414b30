/* tbus: svc-toast on NATS; see tbus.h. */
#include "tbus.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bus.h"
#include "log.h"
#include "toast_api.h"
#include "util.h"

static void
respond(bus_msg *m, json_object *o)
{
    size_t len = 0;
    const char *text = js_text(o, &len);
    if (bus_respond(m, text, len) != BUS_OK)
        log_debug("toast.sessions reply not sent");
    json_object_put(o);
}

static void
respond_error(bus_msg *m, const char *code, const char *message)
{
    json_object *o = json_object_new_object(), *e = json_object_new_object();
    json_object_object_add(e, "code", json_object_new_string(code));
    json_object_object_add(e, "message", json_object_new_string(message));
    json_object_object_add(o, "error", e);
    respond(m, o);
}

/* The request's optional client_id: 0 with *client (NULL when absent), or -1
 * after answering an error. *doc is to be put by the caller. */
static int
client_of(bus_msg *m, json_object **doc, const char **client, bool required)
{
    size_t len = 0;
    const char *data = bus_msg_data(m, &len);
    js_err err;
    *doc = NULL;
    *client = NULL;
    if (len == 0 && !required)
        return 0;
    if (js_parse(data, len, doc, &err) != JS_OK || js_require_object(*doc, &err) != JS_OK
        || js_get_uuid(*doc, "client_id", required, client, &err) == JS_INVALID) {
        respond_error(m, "invalid_request", err.message);
        return -1;
    }
    return 0;
}

static void
on_list(bus_msg *m, void *ud)
{
    toast *t = ud;
    json_object *doc = NULL;
    const char *client = NULL;
    if (client_of(m, &doc, &client, false) == 0) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "sessions", toast_api_sessions(t->api, client));
        respond(m, o);
    }
    json_object_put(doc);
}

static void
on_terminate(bus_msg *m, void *ud)
{
    toast *t = ud;
    json_object *doc = NULL;
    const char *client = NULL;
    if (client_of(m, &doc, &client, true) == 0) {
        int n = toast_api_terminate(t->api, client);
        log_msg(LOGL_INFO, LOG_FIELDS(LF_STR("client_id", client), LF_INT("terminated", n)),
                "Toast sessions terminated");
        json_object *o = json_object_new_object();
        json_object_object_add(o, "client_id", json_object_new_string(client));
        json_object_object_add(o, "terminated", json_object_new_int(n));
        respond(m, o);
    }
    json_object_put(doc);
}

int
tbus_start(toast *t)
{
    bus *b = app_bus(t->app);
    /* No queue group: each replica knows only its own sessions, so every
     * replica answers and svc-automation merges the answers. */
    bus_status st = bus_subscribe(b, "toast.sessions.list", NULL, on_list, t);
    if (st == BUS_OK)
        st = bus_subscribe(b, "toast.sessions.terminate", NULL, on_terminate, t);
    if (st != BUS_OK) {
        log_error("subscribing to toast.sessions.*: %s", bus_status_name(st));
        return -1;
    }
    return 0;
}

int
tbus_event(toast *t, const char *kind, const char *integration_id, json_object *payload)
{
    char subject[128];
    size_t len = 0;
    snprintf(subject, sizeof(subject), "events.toast.%s.%s", kind, integration_id);
    const char *text = js_text(payload, &len);
    bus_status st = bus_js_publish(app_bus(t->app), subject, text, len);
    if (st != BUS_OK) {
        log_msg(LOGL_WARN,
                LOG_FIELDS(LF_STR("subject", subject), LF_STR("error", bus_status_name(st))),
                "event not published");
        return -1;
    }
    return 0;
}

/* svc-automation's error answer as a status and message. */
static int
job_refused(json_object *e, char *err, size_t errlen)
{
    json_object *code = NULL, *msg = NULL;
    json_object_object_get_ex(e, "code", &code);
    json_object_object_get_ex(e, "message", &msg);
    snprintf(err, errlen, "%s", msg ? json_object_get_string(msg) : "svc-automation refused");
    const char *c = code ? json_object_get_string(code) : "";
    if (strcmp(c, "invalid_request") == 0)
        return 400;
    if (strcmp(c, "conflict") == 0)
        return 409;
    return 503;
}

int
toast_create_job(toast *t, json_object *body, json_object **job, char *err, size_t errlen)
{
    char *reply = NULL;
    json_object *ans = NULL, *e = NULL;
    js_err je;
    int rc = 503;
    size_t len = 0;
    const char *text = js_text(body, &len);
    bus_status st =
        bus_request(app_bus(t->app), "jobs.create", text, len, TBUS_TIMEOUT_MS, &reply, NULL);
    json_object_put(body);
    if (st != BUS_OK) {
        snprintf(err, errlen, "svc-automation did not answer jobs.create (%s); try again",
                 bus_status_name(st));
        goto out;
    }
    if (js_parse(reply, strlen(reply), &ans, &je) != JS_OK
        || !json_object_is_type(ans, json_type_object)) {
        snprintf(err, errlen, "svc-automation sent an answer that is not a JSON object");
        goto out;
    }
    /* A job has an "error" member too: null unless it failed. */
    if (json_object_object_get_ex(ans, "error", &e) && e
        && !json_object_object_get_ex(ans, "id", NULL)) {
        rc = job_refused(e, err, errlen);
        goto out;
    }
    *job = json_object_get(ans);
    rc = 0;
out:
    json_object_put(ans);
    free(reply);
    return rc;
}
