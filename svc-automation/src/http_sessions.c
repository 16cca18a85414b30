/* http_sessions: the Toast sessions svc-toast holds, asked over NATS
 * (toast.sessions.list, toast.sessions.terminate). Each svc-toast replica
 * knows its own cached logins, so every replica is asked and the answers are
 * merged. svc-automation keeps no session state: it relays, and says clearly
 * when svc-toast is not there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abus.h"
#include "http.h"
#include "service.h"
#include "util.h"

/* What the replicas answered. */
typedef struct gathered {
    json_object *sessions; /* list: every replica's sessions, in one array */
    long long terminated;  /* terminate: summed */
    int good;              /* answers without an error */
    int not_json;          /* answers that were not a JSON object */
    json_object *error;    /* the first error answer's "error" */
} gathered;

static void
on_answer(const char *data, size_t len, void *ud)
{
    gathered *g = ud;
    json_object *obj = NULL, *v = NULL;
    js_err err;

    if (js_parse(data, len, &obj, &err) != JS_OK || !json_object_is_type(obj, json_type_object)) {
        g->not_json++;
        json_object_put(obj);
        return;
    }
    if (json_object_object_get_ex(obj, "error", &v)) {
        if (g->error == NULL)
            g->error = json_object_get(v);
        json_object_put(obj);
        return;
    }
    g->good++;
    if (json_object_object_get_ex(obj, "sessions", &v) && json_object_is_type(v, json_type_array))
        for (size_t i = 0; i < json_object_array_length(v); i++)
            json_object_array_add(g->sessions, json_object_get(json_object_array_get_idx(v, i)));
    if (json_object_object_get_ex(obj, "terminated", &v) && json_object_is_type(v, json_type_int))
        g->terminated += json_object_get_int64(v);
    json_object_put(obj);
}

/* The merged answer, or the reason there is none. */
static int
reply_gathered(web_req *r, const char *subject, bus_status st, gathered *g, json_object *ok)
{
    if (st == BUS_ERR_NO_RESPONDERS || st == BUS_ERR_TIMEOUT || st == BUS_ERR_UNAVAILABLE)
        return web_reply_error(r, 503, "unavailable",
                               "svc-toast did not answer %s (%s): Toast sessions are unknown "
                               "right now; try again",
                               subject, bus_status_name(st));
    if (st != BUS_OK)
        return web_reply_error(r, 502, "bad_gateway", "asking svc-toast failed (%s)",
                               bus_status_name(st));
    if (g->good > 0)
        return web_reply_json(r, 200, json_object_get(ok));
    if (g->error != NULL) {
        json_object *code = NULL, *msg = NULL;
        json_object_object_get_ex(g->error, "code", &code);
        json_object_object_get_ex(g->error, "message", &msg);
        int status = code && strcmp(json_object_get_string(code), "not_found") == 0 ? 404 : 502;
        return web_reply_error(r, status, web_status_code_name(status), "svc-toast: %s",
                               msg ? json_object_get_string(msg) : "error");
    }
    return web_reply_error(r, 502, "bad_gateway", "svc-toast sent an answer that is not JSON");
}

int
http_sessions_list(web_req *r)
{
    svc *s = svc_of(web_app(r));
    gathered g = {.sessions = json_object_new_array()};
    bus_status st =
        abus_ask_all(s->bus, "toast.sessions.list", "{}", s->request_timeout_ms, on_answer, &g);
    json_object *ok = json_object_new_object();

    json_object_object_add(ok, "sessions", json_object_get(g.sessions));
    int rc = reply_gathered(r, "toast.sessions.list", st, &g, ok);
    json_object_put(ok);
    json_object_put(g.sessions);
    json_object_put(g.error);
    return rc;
}

int
http_sessions_terminate(web_req *r)
{
    svc *s = svc_of(web_app(r));
    const char *client = web_param(r, "client_id");
    char body[96];

    if (!client || !util_uuid_valid(client)) {
        js_err je;
        js_fail(&je, "client_id", "client_id: must be a UUID");
        return web_reply_invalid(r, &je);
    }
    snprintf(body, sizeof(body), "{\"client_id\":\"%s\"}", client);
    gathered g = {.sessions = json_object_new_array()};
    bus_status st = abus_ask_all(s->bus, "toast.sessions.terminate", body, s->request_timeout_ms,
                                 on_answer, &g);
    json_object *ok = json_object_new_object();

    json_object_object_add(ok, "client_id", json_object_new_string(client));
    json_object_object_add(ok, "terminated", json_object_new_int64(g.terminated));
    int rc = reply_gathered(r, "toast.sessions.terminate", st, &g, ok);
    json_object_put(ok);
    json_object_put(g.sessions);
    json_object_put(g.error);
    return rc;
}
