/* menu_diff: the snapshot of a menu model as json-c objects, and the
 * differences between two models; see menu.h. The snapshot's text and its
 * SHA-256 are written in menu_snap.c. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "menu.h"

/* ---- rendering ---- */

static json_object *
j_str(const char *s)
{
    return s ? json_object_new_string(s) : NULL;
}

static json_object *
j_price(const menu_price *p)
{
    char b[MENU_PRICE_LEN];
    if (!p->set)
        return NULL;
    menu_price_format(p->v, b);
    return json_object_new_string(b);
}

static json_object *
j_int(int64_t v)
{
    return v < 0 ? NULL : json_object_new_int64(v);
}

static json_object *
j_strs(const menu_strs *l)
{
    json_object *a = json_object_new_array_ext((int)l->n);
    for (size_t i = 0; a && i < l->n; i++)
        json_object_array_add(a, json_object_new_string(l->v[i]));
    return a;
}

static json_object *
j_options(const menu_modgroup *g)
{
    json_object *a = json_object_new_array_ext((int)g->noptions);
    for (size_t i = 0; a && i < g->noptions; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "guid", j_str(g->options[i].guid));
        json_object_object_add(o, "name", j_str(g->options[i].name));
        json_object_object_add(o, "price", j_price(&g->options[i].price));
        json_object_array_add(a, o);
    }
    return a;
}

/* Keys are added in sorted order: json-c keeps insertion order, so the text
 * is canonical. */
json_object *
menu_snapshot(const menu_model *m)
{
    json_object *s = json_object_new_object();
    json_object *groups = json_object_new_array_ext((int)m->ngroups);
    json_object *items = json_object_new_array_ext((int)m->nitems);
    json_object *menus = json_object_new_array_ext((int)m->nmenus);
    json_object *mgs = json_object_new_array_ext((int)m->nmodgroups);
    if (!s || !groups || !items || !menus || !mgs) {
        json_object_put(s);
        json_object_put(groups);
        json_object_put(items);
        json_object_put(menus);
        json_object_put(mgs);
        return NULL;
    }
    for (size_t i = 0; i < m->ngroups; i++) {
        const menu_group *g = &m->groups[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "guid", j_str(g->guid));
        json_object_object_add(o, "menu_guid", j_str(g->menu_guid));
        json_object_object_add(o, "name", j_str(g->name));
        json_object_object_add(o, "parent_guid", j_str(g->parent_guid));
        json_object_array_add(groups, o);
    }
    for (size_t i = 0; i < m->nitems; i++) {
        const menu_item *it = &m->items[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "groups", j_strs(&it->groups));
        json_object_object_add(o, "guid", j_str(it->guid));
        json_object_object_add(o, "modifiers", j_strs(&it->modifiers));
        json_object_object_add(o, "name", j_str(it->name));
        json_object_object_add(o, "plu", j_str(it->plu));
        json_object_object_add(o, "price", j_price(&it->price));
        json_object_object_add(o, "pricing_strategy", j_str(it->pricing_strategy));
        json_object_object_add(o, "sku", j_str(it->sku));
        json_object_object_add(o, "visibility", j_strs(&it->visibility));
        json_object_array_add(items, o);
    }
    for (size_t i = 0; i < m->nmenus; i++) {
        json_object *o = json_object_new_object();
        json_object_object_add(o, "guid", j_str(m->menus[i].guid));
        json_object_object_add(o, "name", j_str(m->menus[i].name));
        json_object_array_add(menus, o);
    }
    for (size_t i = 0; i < m->nmodgroups; i++) {
        const menu_modgroup *g = &m->modgroups[i];
        json_object *o = json_object_new_object();
        json_object_object_add(o, "guid", j_str(g->guid));
        json_object_object_add(o, "max_selections", j_int(g->max_sel));
        json_object_object_add(o, "min_selections", j_int(g->min_sel));
        json_object_object_add(o, "name", j_str(g->name));
        json_object_object_add(o, "options", j_options(g));
        json_object_array_add(mgs, o);
    }
    json_object_object_add(s, "groups", groups);
    json_object_object_add(s, "items", items);
    json_object_object_add(s, "menus", menus);
    json_object_object_add(s, "modifier_groups", mgs);
    json_object_object_add(s, "version", json_object_new_int(1));
    return s;
}

/* ---- differences ---- */

typedef enum { F_STR, F_PRICE, F_STRS, F_INT, F_OPTIONS } field_kind;

typedef struct field {
    const char *name;
    field_kind kind;
    size_t off;
} field;

#define FLD(type, name, kind, member)      \
    {                                      \
        name, kind, offsetof(type, member) \
    }

static const field item_fields[] = {
    FLD(menu_item, "price", F_PRICE, price),
    FLD(menu_item, "name", F_STR, name),
    FLD(menu_item, "group", F_STRS, groups),
    FLD(menu_item, "modifiers", F_STRS, modifiers),
    FLD(menu_item, "visibility", F_STRS, visibility),
    FLD(menu_item, "plu", F_STR, plu),
    FLD(menu_item, "sku", F_STR, sku),
    FLD(menu_item, "pricing_strategy", F_STR, pricing_strategy),
    {NULL, F_STR, 0},
};
static const field group_fields[] = {
    FLD(menu_group, "name", F_STR, name),
    FLD(menu_group, "menu", F_STR, menu_guid),
    FLD(menu_group, "parent", F_STR, parent_guid),
    {NULL, F_STR, 0},
};
static const field menu_fields[] = {
    FLD(menu_menu, "name", F_STR, name),
    {NULL, F_STR, 0},
};
static const field modgroup_fields[] = {
    FLD(menu_modgroup, "name", F_STR, name),
    FLD(menu_modgroup, "min_selections", F_INT, min_sel),
    FLD(menu_modgroup, "max_selections", F_INT, max_sel),
    {"options", F_OPTIONS, 0},
    {NULL, F_STR, 0},
};

static bool
str_eq(const char *a, const char *b)
{
    return (!a || !b) ? a == b : strcmp(a, b) == 0;
}

static bool
price_eq(const menu_price *a, const menu_price *b)
{
    return a->set == b->set && (!a->set || a->v == b->v);
}

static bool
field_eq(const field *f, const void *a, const void *b)
{
    const char *pa = (const char *)a + f->off, *pb = (const char *)b + f->off;
    switch (f->kind) {
    case F_STR:
        return str_eq(*(char *const *)pa, *(char *const *)pb);
    case F_PRICE:
        return price_eq((const menu_price *)pa, (const menu_price *)pb);
    case F_INT:
        return *(const int64_t *)pa == *(const int64_t *)pb;
    case F_STRS: {
        const menu_strs *x = (const menu_strs *)pa, *y = (const menu_strs *)pb;
        if (x->n != y->n)
            return false;
        for (size_t i = 0; i < x->n; i++)
            if (strcmp(x->v[i], y->v[i]) != 0)
                return false;
        return true;
    }
    case F_OPTIONS: {
        const menu_modgroup *x = a, *y = b;
        if (x->noptions != y->noptions)
            return false;
        for (size_t i = 0; i < x->noptions; i++)
            if (!str_eq(x->options[i].guid, y->options[i].guid)
                || !str_eq(x->options[i].name, y->options[i].name)
                || !price_eq(&x->options[i].price, &y->options[i].price))
                return false;
        return true;
    }
    }
    return false;
}

static json_object *
field_json(const field *f, const void *e)
{
    const char *p = (const char *)e + f->off;
    switch (f->kind) {
    case F_STR:
        return j_str(*(char *const *)p);
    case F_PRICE:
        return j_price((const menu_price *)p);
    case F_INT:
        return j_int(*(const int64_t *)p);
    case F_STRS:
        return j_strs((const menu_strs *)p);
    case F_OPTIONS:
        return j_options(e);
    }
    return NULL;
}

/* Every entity starts with its guid and its name. */
typedef struct entity_head {
    char *guid, *name;
} entity_head;

static json_object *
entry(const char *kind, const entity_head *h)
{
    json_object *o = json_object_new_object();
    json_object_object_add(o, "kind", json_object_new_string(kind));
    json_object_object_add(o, "guid", j_str(h->guid));
    json_object_object_add(o, "name", j_str(h->name));
    return o;
}

typedef struct diff_out {
    json_object *added, *removed, *changed;
} diff_out;

/* Merge two arrays sorted by guid. */
static void
diff_kind(diff_out *d, const char *kind, const field *fields, const void *xa, size_t nx,
          const void *ya, size_t ny, size_t sz)
{
    size_t i = 0, k = 0;
    while (i < nx || k < ny) {
        const entity_head *x = i < nx ? (const void *)((const char *)xa + i * sz) : NULL;
        const entity_head *y = k < ny ? (const void *)((const char *)ya + k * sz) : NULL;
        int c = !x ? 1 : !y ? -1 : strcmp(x->guid, y->guid);
        if (c < 0) {
            json_object_array_add(d->removed, entry(kind, x));
            i++;
            continue;
        }
        if (c > 0) {
            json_object_array_add(d->added, entry(kind, y));
            k++;
            continue;
        }
        for (const field *f = fields; f->name; f++) {
            if (field_eq(f, x, y))
                continue;
            json_object *o = entry(kind, y);
            json_object_object_add(o, "field", json_object_new_string(f->name));
            json_object_object_add(o, "before", field_json(f, x));
            json_object_object_add(o, "after", field_json(f, y));
            json_object_array_add(d->changed, o);
        }
        i++;
        k++;
    }
}

json_object *
menu_diff(const menu_model *a, const menu_model *b)
{
    diff_out d = {json_object_new_array(), json_object_new_array(), json_object_new_array()};
    json_object *r = json_object_new_object();
    if (!r || !d.added || !d.removed || !d.changed) {
        json_object_put(r);
        json_object_put(d.added);
        json_object_put(d.removed);
        json_object_put(d.changed);
        return NULL;
    }
    diff_kind(&d, "item", item_fields, a->items, a->nitems, b->items, b->nitems, sizeof(menu_item));
    diff_kind(&d, "group", group_fields, a->groups, a->ngroups, b->groups, b->ngroups,
              sizeof(menu_group));
    diff_kind(&d, "menu", menu_fields, a->menus, a->nmenus, b->menus, b->nmenus, sizeof(menu_menu));
    diff_kind(&d, "modifier_group", modgroup_fields, a->modgroups, a->nmodgroups, b->modgroups,
              b->nmodgroups, sizeof(menu_modgroup));
    bool same = json_object_array_length(d.added) == 0 && json_object_array_length(d.removed) == 0
                && json_object_array_length(d.changed) == 0;
    json_object_object_add(r, "identical", json_object_new_boolean(same));
    json_object_object_add(r, "added", d.added);
    json_object_object_add(r, "removed", d.removed);
    json_object_object_add(r, "changed", d.changed);
    return r;
}
