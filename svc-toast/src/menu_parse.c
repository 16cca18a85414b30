/* menu_parse: the menu model from Toast's menus document; see menu.h. The
 * snapshot's text is read in menu_snap.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "menu_internal.h"

/* ---- Toast's document ---- */

/* The entry of a referenceId map (modifierGroupReferences,
 * modifierOptionReferences) for a reference given as a number or string. */
static json_object *
ref_lookup(json_object *map, json_object *ref)
{
    char key[32];
    json_object *v = NULL;
    if (json_object_is_type(ref, json_type_int))
        snprintf(key, sizeof(key), "%lld", (long long)json_object_get_int64(ref));
    else if (json_object_is_type(ref, json_type_string) && json_object_get_string_len(ref) < 32)
        snprintf(key, sizeof(key), "%s", json_object_get_string(ref));
    else
        return NULL;
    if (!map || !json_object_object_get_ex(map, key, &v)
        || !json_object_is_type(v, json_type_object))
        return NULL;
    return v;
}

/* An array field (absent or null gives NULL); -1 when it is something else. */
static int
array_of(mb *b, json_object *o, const char *key, json_object **out)
{
    json_object *v = NULL;
    *out = NULL;
    if (!json_object_object_get_ex(o, key, &v) || !v)
        return 0;
    if (!json_object_is_type(v, json_type_array))
        return mb_fail(b, "%s: '%s' must be an array", b->where, key);
    *out = v;
    return 0;
}

static int
string_list(mb *b, json_object *o, const char *key, menu_strs *l)
{
    json_object *arr = NULL;
    if (array_of(b, o, key, &arr) != 0)
        return -1;
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(v, json_type_string) || json_object_get_string_len(v) == 0
            || (size_t)json_object_get_string_len(v) > MENU_NAME_MAX)
            return mb_fail(b, "%s: '%s' must hold non-empty strings", b->where, key);
        if (mb_strs_add(b, l, json_object_get_string(v)) != 0)
            return -1;
    }
    return 0;
}

static int
toast_item(mb *b, json_object *o, const char *group_guid, json_object *mg_refs)
{
    const char *guid, *name, *ps, *plu, *sku;
    json_object *refs = NULL;
    if (!json_object_is_type(o, json_type_object))
        return mb_fail(b, "group %s: a menu item is not an object", group_guid);
    snprintf(b->where, sizeof(b->where), "item in group %s", group_guid);
    if (mb_str(b, o, "guid", true, MENU_GUID_MAX, &guid) != 0)
        return -1;
    snprintf(b->where, sizeof(b->where), "item %s", guid);
    if (mb_str(b, o, "name", false, MENU_NAME_MAX, &name) != 0
        || mb_str(b, o, "pricingStrategy", false, MENU_NAME_MAX, &ps) != 0
        || mb_str(b, o, "plu", false, MENU_NAME_MAX, &plu) != 0
        || mb_str(b, o, "sku", false, MENU_NAME_MAX, &sku) != 0
        || array_of(b, o, "modifierGroupReferences", &refs) != 0)
        return -1;
    menu_item *it = mb_item(b);
    if (!it)
        return -1;
    if (!(it->guid = mb_dup(b, guid)) || (name && !(it->name = mb_dup(b, name)))
        || (ps && !(it->pricing_strategy = mb_dup(b, ps))) || (plu && !(it->plu = mb_dup(b, plu)))
        || (sku && !(it->sku = mb_dup(b, sku))) || mb_price(b, o, "price", &it->price) != 0
        || mb_strs_add(b, &it->groups, group_guid) != 0
        || string_list(b, o, "visibility", &it->visibility) != 0)
        return -1;
    for (size_t i = 0; refs && i < json_object_array_length(refs); i++) {
        json_object *mg = ref_lookup(mg_refs, json_object_array_get_idx(refs, i));
        json_object *g = NULL;
        if (!mg || !json_object_object_get_ex(mg, "guid", &g)
            || !json_object_is_type(g, json_type_string))
            return mb_fail(b,
                           "item %s: modifier group reference %zu is not in "
                           "modifierGroupReferences",
                           guid, i);
        if (mb_strs_add(b, &it->modifiers, json_object_get_string(g)) != 0)
            return -1;
    }
    return 0;
}

static int
toast_group(mb *b, json_object *o, const char *menu_guid, const char *parent, int depth,
            json_object *mg_refs)
{
    const char *guid, *name;
    json_object *subs = NULL, *items = NULL;
    if (depth > MENU_DEPTH_MAX)
        return mb_fail(b, "menu %s: groups nest deeper than %d", menu_guid, MENU_DEPTH_MAX);
    if (!json_object_is_type(o, json_type_object))
        return mb_fail(b, "menu %s: a menu group is not an object", menu_guid);
    snprintf(b->where, sizeof(b->where), "group in menu %s", menu_guid);
    if (mb_str(b, o, "guid", true, MENU_GUID_MAX, &guid) != 0)
        return -1;
    snprintf(b->where, sizeof(b->where), "group %s", guid);
    if (mb_str(b, o, "name", false, MENU_NAME_MAX, &name) != 0
        || array_of(b, o, "menuGroups", &subs) != 0 || array_of(b, o, "menuItems", &items) != 0)
        return -1;
    menu_group *g = mb_group(b);
    if (!g || !(g->guid = mb_dup(b, guid)) || (name && !(g->name = mb_dup(b, name)))
        || !(g->menu_guid = mb_dup(b, menu_guid))
        || (parent && !(g->parent_guid = mb_dup(b, parent))))
        return -1;
    for (size_t i = 0; items && i < json_object_array_length(items); i++)
        if (toast_item(b, json_object_array_get_idx(items, i), guid, mg_refs) != 0)
            return -1;
    for (size_t i = 0; subs && i < json_object_array_length(subs); i++)
        if (toast_group(b, json_object_array_get_idx(subs, i), menu_guid, guid, depth + 1, mg_refs)
            != 0)
            return -1;
    return 0;
}

/* The options of g: references (opts) into modifierOptionReferences (refs). */
static int
add_options(mb *b, menu_modgroup *g, json_object *opts, json_object *refs)
{
    size_t n = opts ? json_object_array_length(opts) : 0;
    if (n > MENU_LIST_MAX)
        return mb_fail(b, "%s: more than %d options", b->where, MENU_LIST_MAX);
    if (n && !(g->options = calloc(n, sizeof(*g->options))))
        return mb_fail(b, "out of memory");
    for (size_t i = 0; i < n; i++) {
        json_object *opt = ref_lookup(refs, json_object_array_get_idx(opts, i));
        const char *og, *on;
        menu_option *op = &g->options[g->noptions];
        if (!opt || !json_object_is_type(opt, json_type_object))
            return mb_fail(b, "%s: option %zu is not an object of modifierOptionReferences",
                           b->where, i);
        if (mb_str(b, opt, "guid", true, MENU_GUID_MAX, &og) != 0
            || mb_str(b, opt, "name", false, MENU_NAME_MAX, &on) != 0)
            return -1;
        g->noptions++;
        if (!(op->guid = mb_dup(b, og)) || (on && !(op->name = mb_dup(b, on)))
            || mb_price(b, opt, "price", &op->price) != 0)
            return -1;
    }
    return 0;
}

static int
toast_modgroup(mb *b, const char *ref, json_object *o, json_object *opt_refs)
{
    const char *guid, *name;
    json_object *opts = NULL;
    snprintf(b->where, sizeof(b->where), "modifier group reference %.40s", ref);
    if (!json_object_is_type(o, json_type_object))
        return mb_fail(b, "%s is not an object", b->where);
    if (mb_str(b, o, "guid", true, MENU_GUID_MAX, &guid) != 0)
        return -1;
    snprintf(b->where, sizeof(b->where), "modifier group %s", guid);
    if (mb_str(b, o, "name", false, MENU_NAME_MAX, &name) != 0
        || array_of(b, o, "modifierOptionReferences", &opts) != 0)
        return -1;
    menu_modgroup *g = mb_modgroup(b);
    if (!g || !(g->guid = mb_dup(b, guid)) || (name && !(g->name = mb_dup(b, name)))
        || mb_int(b, o, "minSelections", &g->min_sel) != 0
        || mb_int(b, o, "maxSelections", &g->max_sel) != 0)
        return -1;
    return add_options(b, g, opts, opt_refs);
}

int
menu_from_toast(json_object *doc, menu_model **out, char *err, size_t errlen)
{
    mb b;
    json_object *menus = NULL, *mg_refs = NULL, *opt_refs = NULL;
    int rc = -1;
    if (mb_start(&b, out, err, errlen) != 0)
        return -1;
    snprintf(b.where, sizeof(b.where), "menus document");
    if (!json_object_is_type(doc, json_type_object)) {
        mb_fail(&b, "the menus document is not an object");
        goto out;
    }
    if (!json_object_object_get_ex(doc, "menus", &menus)
        || !json_object_is_type(menus, json_type_array)) {
        mb_fail(&b, "the menus document has no 'menus' array");
        goto out;
    }
    json_object_object_get_ex(doc, "modifierGroupReferences", &mg_refs);
    json_object_object_get_ex(doc, "modifierOptionReferences", &opt_refs);
    if ((mg_refs && !json_object_is_type(mg_refs, json_type_object))
        || (opt_refs && !json_object_is_type(opt_refs, json_type_object))) {
        mb_fail(&b, "modifierGroupReferences and modifierOptionReferences must be objects");
        goto out;
    }
    if (mg_refs) {
        json_object_object_foreach(mg_refs, ref, mg)
        {
            if (toast_modgroup(&b, ref, mg, opt_refs) != 0)
                goto out;
        }
    }
    for (size_t i = 0; i < json_object_array_length(menus); i++) {
        json_object *m = json_object_array_get_idx(menus, i), *groups = NULL;
        const char *guid, *name;
        snprintf(b.where, sizeof(b.where), "menu %zu", i);
        if (!json_object_is_type(m, json_type_object)) {
            mb_fail(&b, "menu %zu is not an object", i);
            goto out;
        }
        if (mb_str(&b, m, "guid", true, MENU_GUID_MAX, &guid) != 0
            || mb_str(&b, m, "name", false, MENU_NAME_MAX, &name) != 0
            || array_of(&b, m, "menuGroups", &groups) != 0)
            goto out;
        menu_menu *mm = mb_menu(&b);
        if (!mm || !(mm->guid = mb_dup(&b, guid)) || (name && !(mm->name = mb_dup(&b, name))))
            goto out;
        for (size_t k = 0; groups && k < json_object_array_length(groups); k++)
            if (toast_group(&b, json_object_array_get_idx(groups, k), guid, NULL, 1, mg_refs) != 0)
                goto out;
    }
    rc = 0;
out:
    return mb_end(&b, rc, true, out);
}
