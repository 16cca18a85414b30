/* recs_job: jobs.create for an accepted recommendation; see recs_job.h. */
#include "recs_job.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

/* svc-automation's error answer as a status and message. */
static int
refused(json_object *e, char *err, size_t errlen)
{
    json_object *code = NULL, *msg = NULL;
    json_object_object_get_ex(e, "code", &code);
    json_object_object_get_ex(e, "message", &msg);
    const char *c = code ? json_object_get_string(code) : "";
    snprintf(err, errlen, "svc-automation refused the suggested job: %s",
             msg ? json_object_get_string(msg) : c);
    if (strcmp(c, "invalid_request") == 0)
        return 502;
    return strcmp(c, "conflict") == 0 ? 409 : 503;
}

int
recs_job_create(bus *b, json_object *body, json_object **job, char *err, size_t errlen)
{
    char *reply = NULL;
    json_object *ans = NULL, *e = NULL;
    js_err je;
    int rc = 503;
    size_t len = 0;
    const char *text = js_text(body, &len);
    bus_status st = b ? bus_request(b, "jobs.create", text, len, RECS_JOB_TIMEOUT_MS, &reply, NULL)
                      : BUS_ERR_UNAVAILABLE;
    if (st != BUS_OK) {
        snprintf(err, errlen,
                 "svc-automation did not answer jobs.create (%s): the recommendation stays "
                 "open; try again",
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
        rc = refused(e, err, errlen);
        goto out;
    }
    *job = json_object_get(ans);
    rc = 0;
out:
    json_object_put(ans);
    free(reply);
    return rc;
}
