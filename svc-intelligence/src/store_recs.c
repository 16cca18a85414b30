/* store_recs: recommendations in PostgreSQL; see store_recs.h. */
#include "store_recs.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store_internal.h"
#include "util.h"

/* One row of recs_context (store_sql_recs.c): an alert, the integration,
 * or the history of a type. */
static void
read_context_row(PGresult *r, int i, store_recs_ctx *ctx)
{
    const char *a = PQgetvalue(r, i, 2), *b = PQgetvalue(r, i, 3);
    switch (PQgetvalue(r, i, 0)[0]) {
    case '1':
        if (ctx->nalerts < STORE_RECS_MAX_ALERTS) {
            store_rec_alert *al = &ctx->alerts[ctx->nalerts++];
            util_strlcpy(al->type, a, sizeof(al->type));
            util_strlcpy(al->subject, b, sizeof(al->subject));
        }
        break;
    case '2':
        util_strlcpy(ctx->integration_id, a, sizeof(ctx->integration_id));
        break;
    case '3': {
        recs_type t = recs_type_of(a);
        if (t == RECS_NTYPES)
            break;
        ctx->hist[t].open = b[0] == 't';
        ctx->hist[t].declined_at = strtoll(PQgetvalue(r, i, 4), NULL, 10);
        ctx->hist[t].accepted_at = strtoll(PQgetvalue(r, i, 5), NULL, 10);
        break;
    }
    default:
        break;
    }
}

store_status
store_recs_context(store *s, const char *client_id, store_recs_ctx *ctx)
{
    char max[16];
    PGresult *res = NULL;
    memset(ctx, 0, sizeof(*ctx));
    snprintf(max, sizeof(max), "%d", STORE_RECS_MAX_ALERTS);
    const char *p[] = {client_id, max};
    store_status st = store_run1(s, &store_recs_sql[QR_CONTEXT], 2, p, &res);
    for (int i = 0; st == ST_OK && i < PQntuples(res); i++)
        read_context_row(res, i, ctx);
    PQclear(res);
    return st;
}

store_status
store_rec_insert(store *s, const char *client_id, const recs_item *it, const char *action,
                 const char *at, bool *inserted)
{
    char conf[16];
    PGresult *res = NULL;
    snprintf(conf, sizeof(conf), "%d.%02d", it->confidence / 100, it->confidence % 100);
    const char *p[] = {client_id,
                       recs_type_name(it->type),
                       recs_type_title(it->type),
                       it->description,
                       recs_impact_name(it->impact),
                       conf,
                       action,
                       at};
    store_status st = store_run1(s, &store_recs_sql[QR_INSERT], 8, p, &res);
    *inserted = st == ST_OK && PQntuples(res) > 0;
    PQclear(res);
    return st;
}

static json_object *
rows_array(PGresult *r)
{
    json_object *a = json_object_new_array();
    for (int i = 0; r && i < PQntuples(r); i++)
        json_object_array_add(a, json_tokener_parse(PQgetvalue(r, i, 0)));
    return a;
}

store_status
store_recs_open(store *s, const char *client_id, json_object **items)
{
    const char *p[] = {client_id};
    PGresult *res = NULL;
    store_status st = store_run1(s, &store_recs_sql[QR_OPEN], 1, p, &res);
    if (st == ST_OK)
        *items = rows_array(res);
    PQclear(res);
    return st;
}

store_status
store_rec_list(store *s, const char *client_id, const char *status, const char *type, long limit,
               long offset, json_object **page)
{
    char l[24], o[24];
    PGresult *rows = NULL, *total = NULL;
    db_conn *c = NULL;
    snprintf(l, sizeof(l), "%ld", limit);
    snprintf(o, sizeof(o), "%ld", offset);
    const char *p[] = {client_id, status, type, l, o};
    store_status st = store_map(db_acquire(s->pool, STORE_WAIT_MS, &c));
    if (st == ST_OK)
        st = store_run(c, &store_recs_sql[QR_LIST], 5, p, &rows);
    if (st == ST_OK)
        st = store_run(c, &store_recs_sql[QR_COUNT], 3, p, &total);
    if (st == ST_OK)
        *page = store_page(rows, strtol(PQgetvalue(total, 0, 0), NULL, 10), limit, offset);
    PQclear(rows);
    PQclear(total);
    db_release(c);
    return st;
}

store_status
store_rec_get(store *s, const char *id, json_object **out)
{
    const char *p[] = {id};
    PGresult *res = NULL;
    store_status st = store_run1(s, &store_recs_sql[QR_GET], 1, p, &res);
    return store_first_json(st, res, out);
}

store_status
store_rec_decide(store *s, const char *id, const store_decision *d, json_object **out)
{
    const char *p[] = {id, d->status, d->reason, d->job_id, d->by, d->at};
    PGresult *res = NULL;
    store_status st = store_run1(s, &store_recs_sql[QR_DECIDE], 6, p, &res);
    st = store_first_json(st, res, out);
    if (st != ST_NOT_FOUND)
        return st;
    /* Not open any more (decided meanwhile), or not there at all. */
    st = store_rec_get(s, id, out);
    return st == ST_OK ? ST_CONFLICT : st;
}
