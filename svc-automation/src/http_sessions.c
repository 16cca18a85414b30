/* http_sessions: the Toast sessions svc-toast holds, asked over NATS
 * (toast.sessions.list, toast.sessions.terminate). svc-automation keeps no
 * session state: it relays, and says clearly when svc-toast is not there. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "abus.h"
#include "http.h"
#include "service.h"
#include "util.h"

/* Relay a question to svc-toast and its JSON answer to the client. */
static int
ask_toast(web_req *r, const char *subject, const char *body)
{
    svc *s = svc_of(web_app(r));
    char *reply = NULL;
    json_object *obj = NULL;
    js_err err;
    bus_status st = abus_ask(s->bus, subject, body, s->request_timeout_ms, &reply);
    if (st == BUS_ERR_NO_RESPONDERS || st == BUS_ERR_TIMEOUT || st == BUS_ERR_UNAVAILABLE)
        return web_reply_error(r, 503, "unavailable",
                               "svc-toast did not answer %s (%s): Toast sessions are unknown "
                               "right now; try again",
                               subject, bus_status_name(st));
    if (st != BUS_OK)
        return web_reply_error(r, 502, "bad_gateway", "asking svc-toast failed (%s)",
                               bus_status_name(st));
    if (js_parse(reply, strlen(reply), &obj, &err) != JS_OK || !obj) {
        free(reply);
        json_object_put(obj);
        return web_reply_error(r, 502, "bad_gateway", "svc-toast sent an answer that is not JSON");
    }
    free(reply);
    json_object *e = NULL;
    if (json_object_object_get_ex(obj, "error", &e)) {
        json_object *code = NULL;
        json_object_object_get_ex(e, "code", &code);
        int status = code && strcmp(json_object_get_string(code), "not_found") == 0 ? 404 : 502;
        json_object *msg = NULL;
        json_object_object_get_ex(e, "message", &msg);
        int rc = web_reply_error(r, status, web_status_code_name(status), "svc-toast: %s",
                                 msg ? json_object_get_string(msg) : "error");
        json_object_put(obj);
        return rc;
    }
    return web_reply_json(r, 200, obj);
}

int
http_sessions_list(web_req *r)
{
    return ask_toast(r, "toast.sessions.list", "{}");
}

int
http_sessions_terminate(web_req *r)
{
    const char *client = web_param(r, "client_id");
    char body[96];
    if (!client || !util_uuid_valid(client)) {
        js_err je;
        js_fail(&je, "client_id", "client_id: must be a UUID");
        return web_reply_invalid(r, &je);
    }
    snprintf(body, sizeof(body), "{\"client_id\":\"%s\"}", client);
    return ask_toast(r, "toast.sessions.terminate", body);
}
