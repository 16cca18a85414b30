/* menu_snap_read: the model from a snapshot's JSON text, read with
 * menu_scan.c rather than built as json-c objects first (see menu_snap.c for
 * why); see menu.h. Keys in any order (the database writes its own order and
 * whitespace), unknown keys skipped, a key given twice refused; the fields
 * are checked as menu_parse.c checks Toast's document, with the same
 * messages. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "menu_internal.h"

/* S_STR: a text field, optional; S_GUID: a guid, required (1 to
 * MENU_GUID_MAX bytes); S_REF: a guid that may be absent (parent_guid). */
typedef enum { S_STR, S_GUID, S_REF, S_PRICE, S_INT, S_STRS, S_OPTIONS } skind;

typedef struct sfield {
    const char *key;
    skind kind;
    size_t off;
} sfield;

#define SF(type, key, kind, member)       \
    {                                     \
        key, kind, offsetof(type, member) \
    }

static const sfield menu_fields[] = {
    SF(menu_menu, "guid", S_GUID, guid),
    SF(menu_menu, "name", S_STR, name),
    {NULL, S_STR, 0},
};
static const sfield group_fields[] = {
    SF(menu_group, "guid", S_GUID, guid),
    SF(menu_group, "name", S_STR, name),
    SF(menu_group, "menu_guid", S_GUID, menu_guid),
    SF(menu_group, "parent_guid", S_REF, parent_guid),
    {NULL, S_STR, 0},
};
static const sfield item_fields[] = {
    SF(menu_item, "guid", S_GUID, guid),
    SF(menu_item, "name", S_STR, name),
    SF(menu_item, "pricing_strategy", S_STR, pricing_strategy),
    SF(menu_item, "plu", S_STR, plu),
    SF(menu_item, "sku", S_STR, sku),
    SF(menu_item, "price", S_PRICE, price),
    SF(menu_item, "groups", S_STRS, groups),
    SF(menu_item, "modifiers", S_STRS, modifiers),
    SF(menu_item, "visibility", S_STRS, visibility),
    {NULL, S_STR, 0},
};
static const sfield modgroup_fields[] = {
    SF(menu_modgroup, "guid", S_GUID, guid),
    SF(menu_modgroup, "name", S_STR, name),
    SF(menu_modgroup, "min_selections", S_INT, min_sel),
    SF(menu_modgroup, "max_selections", S_INT, max_sel),
    SF(menu_modgroup, "options", S_OPTIONS, options),
    {NULL, S_STR, 0},
};
static const sfield option_fields[] = {
    SF(menu_option, "guid", S_GUID, guid),
    SF(menu_option, "name", S_STR, name),
    SF(menu_option, "price", S_PRICE, price),
    {NULL, S_STR, 0},
};

static int
f_str(mscan *r, const sfield *f, char **dst)
{
    size_t max = f->kind == S_STR ? MENU_NAME_MAX : MENU_GUID_MAX;
    int n = ms_null(r);
    if (n != 0)
        return n < 0 ? -1 : 0;
    if (ms_peek(r) != '"')
        return mb_fail(r->b, "%s: '%s' must be a string", r->b->where, f->key);
    if (ms_string(r) != 0)
        return -1;
    if (r->tmplen > max || (f->kind == S_GUID && r->tmplen == 0))
        return mb_fail(r->b, "%s: '%s' must be 1 to %zu bytes", r->b->where, f->key, max);
    return (*dst = mb_dup(r->b, r->tmp)) ? 0 : -1;
}

static int
f_price(mscan *r, const sfield *f, menu_price *out)
{
    bool is_int;
    int64_t i = 0;
    double d = 0;
    char c;
    int n = ms_null(r);
    if (n != 0)
        return n < 0 ? -1 : 0;
    c = ms_peek(r);
    if (c == '"') {
        if (ms_string(r) != 0)
            return -1;
        if (menu_price_parse(r->tmp, &out->v) != 0)
            return mb_fail(r->b, "%s: '%s' must be a price", r->b->where, f->key);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        if (ms_number(r, &is_int, &i, &d) != 0)
            return -1;
        if (is_int && (i > INT64_MAX / 10000 || i < INT64_MIN / 10000))
            return mb_fail(r->b, "%s: '%s' is out of range", r->b->where, f->key);
        d *= 10000.0;
        if (!is_int && (!isfinite(d) || fabs(d) > 9e15))
            return mb_fail(r->b, "%s: '%s' is out of range", r->b->where, f->key);
        out->v = is_int ? i * 10000 : llround(d);
    } else {
        return mb_fail(r->b, "%s: '%s' must be a price", r->b->where, f->key);
    }
    out->set = true;
    return 0;
}

static int
f_int(mscan *r, const sfield *f, int64_t *out)
{
    bool is_int = false;
    int64_t i = -1;
    double d;
    char c;
    int n = ms_null(r);
    if (n != 0)
        return n < 0 ? -1 : 0;
    c = ms_peek(r);
    if ((c == '-' || (c >= '0' && c <= '9')) && ms_number(r, &is_int, &i, &d) != 0)
        return -1;
    if (!is_int || i < 0 || i > 1000000)
        return mb_fail(r->b, "%s: '%s' must be an integer from 0 to 1000000", r->b->where, f->key);
    *out = i;
    return 0;
}

static int
f_strs(mscan *r, const sfield *f, menu_strs *l)
{
    bool first = true;
    int n = ms_null(r), e;
    if (n != 0)
        return n < 0 ? -1 : 0;
    if (ms_peek(r) != '[')
        return mb_fail(r->b, "%s: '%s' must be an array", r->b->where, f->key);
    r->p++;
    while ((e = ms_element(r, &first)) == 1) {
        if (ms_peek(r) != '"')
            return mb_fail(r->b, "%s: '%s' must hold non-empty strings", r->b->where, f->key);
        if (ms_string(r) != 0)
            return -1;
        if (r->tmplen == 0 || r->tmplen > MENU_NAME_MAX)
            return mb_fail(r->b, "%s: '%s' must hold non-empty strings", r->b->where, f->key);
        if (mb_strs_add(r->b, l, r->tmp) != 0)
            return -1;
    }
    return e;
}

static int entity(mscan *r, const sfield *fields, void *e);

static int
f_options(mscan *r, menu_modgroup *g)
{
    bool first = true;
    size_t cap = 0;
    int n = ms_null(r), e;
    if (n != 0)
        return n < 0 ? -1 : 0;
    if (ms_peek(r) != '[')
        return mb_fail(r->b, "%s: 'options' must be an array", r->b->where);
    r->p++;
    while ((e = ms_element(r, &first)) == 1) {
        if (g->noptions >= MENU_LIST_MAX)
            return mb_fail(r->b, "%s: more than %d options", r->b->where, MENU_LIST_MAX);
        if (ms_peek(r) != '{')
            return mb_fail(r->b, "%s: option %zu is not an object", r->b->where, g->noptions);
        if (g->noptions == cap) {
            size_t nc = cap ? cap * 2 : 8;
            menu_option *o = realloc(g->options, nc * sizeof(*o));
            if (!o)
                return mb_fail(r->b, "out of memory");
            memset(o + cap, 0, (nc - cap) * sizeof(*o));
            g->options = o;
            cap = nc;
        }
        if (entity(r, option_fields, &g->options[g->noptions++]) != 0)
            return -1;
    }
    return e;
}

/* The object at r->p into e, a zeroed entity described by fields. Keys not
 * in fields are skipped; a key given twice is refused. */
static int
entity(mscan *r, const sfield *fields, void *e)
{
    char key[MS_KEY_MAX];
    bool first = true;
    unsigned seen = 0;
    int more;
    for (const sfield *f = fields; f->key; f++)
        if (f->kind == S_INT)
            *(int64_t *)((char *)e + f->off) = -1; /* "Toast does not say" */
    if (ms_expect(r, '{') != 0)
        return -1;
    while ((more = ms_member(r, &first, key)) == 1) {
        const sfield *f = fields;
        while (f->key && strcmp(f->key, key) != 0)
            f++;
        if (!f->key) {
            if (ms_skip(r, 0) != 0)
                return -1;
            continue;
        }
        unsigned bit = 1u << (f - fields);
        if (seen & bit)
            return mb_fail(r->b, "%s: '%s' is given twice", r->b->where, f->key);
        seen |= bit;
        void *dst = (char *)e + f->off;
        int rc = f->kind == S_PRICE     ? f_price(r, f, dst)
                 : f->kind == S_INT     ? f_int(r, f, dst)
                 : f->kind == S_STRS    ? f_strs(r, f, dst)
                 : f->kind == S_OPTIONS ? f_options(r, e)
                                        : f_str(r, f, dst);
        if (rc != 0)
            return -1;
    }
    if (more != 0)
        return -1;
    for (const sfield *f = fields; f->key; f++)
        if (f->kind == S_GUID && !*(char **)((char *)e + f->off))
            return mb_fail(r->b, "%s: '%s' is missing", r->b->where, f->key);
    return 0;
}

/* The four lists of a snapshot, in the order menu.h gives them. */
typedef enum { L_MENUS, L_GROUPS, L_ITEMS, L_MODGROUPS, L_N } list_kind;

static const struct {
    const char *key, *kind; /* the key, and the entity's name in messages */
    const sfield *fields;
} lists[L_N] = {
    [L_MENUS] = {"menus", "menu", menu_fields},
    [L_GROUPS] = {"groups", "group", group_fields},
    [L_ITEMS] = {"items", "item", item_fields},
    [L_MODGROUPS] = {"modifier_groups", "modifier group", modgroup_fields},
};

static void *
new_entity(mb *b, list_kind k)
{
    switch (k) {
    case L_MENUS:
        return mb_menu(b);
    case L_GROUPS:
        return mb_group(b);
    case L_ITEMS:
        return mb_item(b);
    default:
        return mb_modgroup(b);
    }
}

static int
list(mscan *r, list_kind k)
{
    bool first = true;
    int e;
    if (ms_peek(r) != '[')
        return mb_fail(r->b, "snapshot: '%s' must be an array", lists[k].key);
    r->p++;
    for (size_t i = 0; (e = ms_element(r, &first)) == 1; i++) {
        void *ent;
        if (ms_peek(r) != '{')
            return mb_fail(r->b, "snapshot: %s[%zu] is not an object", lists[k].key, i);
        snprintf(r->b->where, sizeof(r->b->where), "snapshot %s %zu", lists[k].kind, i);
        if (!(ent = new_entity(r->b, k)) || entity(r, lists[k].fields, ent) != 0)
            return -1;
    }
    return e;
}

static int
snapshot(mscan *r)
{
    char key[MS_KEY_MAX];
    bool first = true, seen[L_N] = {false};
    int more;
    if (ms_peek(r) != '{')
        return mb_fail(r->b, "the snapshot is not an object");
    r->p++;
    while ((more = ms_member(r, &first, key)) == 1) {
        int k = 0;
        while (k < L_N && strcmp(lists[k].key, key) != 0)
            k++;
        if (k == L_N) {
            if (ms_skip(r, 0) != 0)
                return -1;
            continue;
        }
        if (seen[k])
            return mb_fail(r->b, "snapshot: '%s' is given twice", key);
        seen[k] = true;
        if (list(r, (list_kind)k) != 0)
            return -1;
    }
    if (more != 0)
        return -1;
    for (int k = 0; k < L_N; k++)
        if (!seen[k])
            return mb_fail(r->b, "snapshot: '%s' must be an array", lists[k].key);
    if (ms_peek(r) != '\0')
        return ms_fail(r, "text after the snapshot");
    return 0;
}

int
menu_from_snapshot_text(const char *text, size_t len, menu_model **out, char *err, size_t errlen)
{
    mb b;
    mscan r = {.p = text, .start = text, .end = text + len, .b = &b};
    if (mb_start(&b, out, err, errlen) != 0)
        return -1;
    int rc = snapshot(&r);
    free(r.tmp);
    return mb_end(&b, rc, false, out);
}

int
menu_from_snapshot(json_object *snap, menu_model **out, char *err, size_t errlen)
{
    size_t len = 0;
    const char *text;
    *out = NULL;
    if (!json_object_is_type(snap, json_type_object)) {
        snprintf(err, errlen, "the snapshot is not an object");
        return -1;
    }
    text = json_object_to_json_string_length(snap, JSON_C_TO_STRING_PLAIN, &len);
    if (!text) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    return menu_from_snapshot_text(text, len, out, err, errlen);
}
