/* http_reports: GET /reports (a client's reports, without their bodies) and
 * GET /reports/{id} (the JSON, or ?format=csv the CSV as a download). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http.h"
#include "store_recs.h"
#include "util.h"

static store *
store_of(web_req *r)
{
    return intel_of(web_app(r))->store;
}

static bool
format_known(const char *s)
{
    return strcmp(s, "json") == 0 || strcmp(s, "csv") == 0;
}

int
http_reports_list(web_req *r)
{
    long limit, offset;
    char cb[64];
    const char *client = NULL;
    json_object *page = NULL;
    if (!web_page(r, &limit, &offset)
        || !http_query(r, "client_id", cb, sizeof(cb), &client, util_uuid_valid, "must be a UUID"))
        return 0;
    store_status st = store_report_list(store_of(r), client, limit, offset, &page);
    return st == ST_OK ? web_reply_json(r, 200, page) : http_store_error(r, st, "reports", NULL);
}

static int
reply_csv(web_req *r, const char *id)
{
    char *csv = NULL, client[RECS_ID_MAX], what[64], disposition[160];
    store_status st = store_report_csv(store_of(r), id, &csv, client);
    if (st != ST_OK) {
        snprintf(what, sizeof(what), "report %s", id);
        return http_store_error(r, st, what, NULL);
    }
    /* The name says whose report it is; both ids are UUIDs, safe in a header. */
    snprintf(disposition, sizeof(disposition),
             "Content-Disposition: attachment; filename=\"report-%s-%.8s.csv\"", client, id);
    const char *headers[] = {disposition, NULL};
    int rc =
        web_reply(r, 200, "text/csv; charset=utf-8; header=present", csv, strlen(csv), headers);
    free(csv);
    return rc;
}

int
http_reports_get(web_req *r)
{
    const char *id = http_client_id(r), *format = NULL;
    char fb[16], what[64];
    json_object *out = NULL;
    if (!id
        || !http_query(r, "format", fb, sizeof(fb), &format, format_known, "must be json or csv"))
        return 0;
    if (format && strcmp(format, "csv") == 0)
        return reply_csv(r, id);
    store_status st = store_report_get(store_of(r), id, &out);
    snprintf(what, sizeof(what), "report %s", id);
    return st == ST_OK ? web_reply_json(r, 200, out) : http_store_error(r, st, what, NULL);
}
