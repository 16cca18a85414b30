/* browser_check: what a menu-changing job may ask, checked against the
 * stored menu before anything is sent to the browser service; see browser.h. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "browser.h"
#include "json.h"

#define NAME_MAX_LEN 200
#define PRICE_MAX    1000000.0

static int bad(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
bad(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* An optional array of guids (field of o) that must all exist in m as
 * found by find. */
static int
guids_exist(json_object *o, const char *field, const menu_model *m,
            const void *(*find)(const menu_model *, const char *), const char *what, char *err,
            size_t errlen)
{
    json_object *arr = NULL;
    js_err je;
    if (js_get_array(o, field, false, MENU_LIST_MAX, &arr, &je) == JS_INVALID)
        return bad(err, errlen, "%s", je.message);
    for (size_t i = 0; arr && i < json_object_array_length(arr); i++) {
        json_object *v = json_object_array_get_idx(arr, i);
        if (!json_object_is_type(v, json_type_string))
            return bad(err, errlen, "field '%s': must hold guids", field);
        if (!find(m, json_object_get_string(v)))
            return bad(err, errlen, "field '%s': %s %s is not in the stored menu", field, what,
                       json_object_get_string(v));
    }
    return 0;
}

static const void *
find_modgroup(const menu_model *m, const char *g)
{
    return menu_find_modgroup(m, g);
}

static const void *
find_item(const menu_model *m, const char *g)
{
    return menu_find_item(m, g);
}

/* name, price and the optional lists of an item (o), as created or changed;
 * required says whether name and price must be there. */
static int
item_fields(json_object *o, bool required, const menu_model *m, char *err, size_t errlen)
{
    const char *name = NULL;
    double price;
    js_err je;
    if (js_get_string(o, "name", required, 1, NAME_MAX_LEN, &name, &je) == JS_INVALID
        || js_get_double(o, "price", required, 0, PRICE_MAX, &price, &je) == JS_INVALID)
        return bad(err, errlen, "%s", je.message);
    if (guids_exist(o, "modifier_group_guids", m, find_modgroup, "modifier group", err, errlen)
        != 0)
        return -1;
    json_object *vis = NULL;
    if (js_get_array(o, "visibility", false, 16, &vis, &je) == JS_INVALID)
        return bad(err, errlen, "%s", je.message);
    return 0;
}

static int
check_item_create(json_object *c, const menu_model *m, char *err, size_t errlen)
{
    static const char *const known[] = {"name",       "price", "group_guid", "modifier_group_guids",
                                        "visibility", NULL};
    json_object *item = NULL;
    const char *group = NULL, *name = NULL;
    js_err je;
    if (js_get_object(c, "item", true, &item, &je) != JS_OK
        || js_reject_unknown(item, known, &je) != JS_OK
        || js_get_string(item, "group_guid", true, 1, MENU_GUID_MAX, &group, &je) != JS_OK)
        return bad(err, errlen, "%s", je.message);
    if (item_fields(item, true, m, err, errlen) != 0)
        return -1;
    if (!menu_find_group(m, group))
        return bad(err, errlen, "field 'group_guid': group %s is not in the stored menu", group);
    js_get_string(item, "name", true, 1, NAME_MAX_LEN, &name, &je);
    for (size_t i = 0; i < m->nitems; i++) {
        const menu_item *it = &m->items[i];
        for (size_t g = 0; it->name && g < it->groups.n; g++)
            if (strcmp(it->groups.v[g], group) == 0 && strcmp(it->name, name) == 0)
                return bad(err, errlen, "group %s already has an item named '%s' (%s)", group, name,
                           it->guid);
    }
    return 0;
}

static int
check_item_update(json_object *c, const menu_model *m, char *err, size_t errlen)
{
    static const char *const known[] = {"name",       "price", "group_guid", "modifier_group_guids",
                                        "visibility", NULL};
    json_object *ch = NULL;
    const char *guid = NULL, *group = NULL;
    js_err je;
    if (js_get_string(c, "item_guid", true, 1, MENU_GUID_MAX, &guid, &je) != JS_OK
        || js_get_object(c, "changes", true, &ch, &je) != JS_OK
        || js_reject_unknown(ch, known, &je) != JS_OK
        || js_get_string(ch, "group_guid", false, 1, MENU_GUID_MAX, &group, &je) == JS_INVALID)
        return bad(err, errlen, "%s", je.message);
    if (!menu_find_item(m, guid))
        return bad(err, errlen, "field 'item_guid': item %s is not in the stored menu", guid);
    if (json_object_object_length(ch) == 0)
        return bad(err, errlen, "field 'changes': must change at least one field");
    if (group && !menu_find_group(m, group))
        return bad(err, errlen, "field 'group_guid': group %s is not in the stored menu", group);
    return item_fields(ch, false, m, err, errlen);
}

static int
check_modifier_sync(json_object *c, const menu_model *m, char *err, size_t errlen)
{
    static const char *const known[] = {"name", "price", NULL};
    json_object *opts = NULL;
    const char *guid = NULL;
    js_err je;
    if (js_get_string(c, "modifier_group_guid", true, 1, MENU_GUID_MAX, &guid, &je) != JS_OK
        || js_get_array(c, "options", true, MENU_LIST_MAX, &opts, &je) != JS_OK)
        return bad(err, errlen, "%s", je.message);
    if (!menu_find_modgroup(m, guid))
        return bad(err, errlen,
                   "field 'modifier_group_guid': modifier group %s is not in the stored menu",
                   guid);
    if (json_object_array_length(opts) == 0)
        return bad(err, errlen, "field 'options': must hold at least one option");
    for (size_t i = 0; i < json_object_array_length(opts); i++) {
        json_object *o = json_object_array_get_idx(opts, i);
        const char *name;
        double price;
        if (js_require_object(o, &je) != JS_OK || js_reject_unknown(o, known, &je) != JS_OK
            || js_get_string(o, "name", true, 1, NAME_MAX_LEN, &name, &je) != JS_OK
            || js_get_double(o, "price", true, 0, PRICE_MAX, &price, &je) != JS_OK)
            return bad(err, errlen, "options[%zu]: %s", i, je.message);
    }
    return guids_exist(c, "item_guids", m, find_item, "item", err, errlen);
}

static int
check_menu_build(json_object *c, const menu_model *m, char *err, size_t errlen)
{
    static const char *const menu_known[] = {"name", "groups", NULL};
    static const char *const group_known[] = {"name", "items", NULL};
    static const char *const item_known[] = {"name", "price", "modifier_group_guids", "visibility",
                                             NULL};
    json_object *menu = NULL, *groups = NULL;
    const char *name = NULL;
    js_err je;
    if (js_get_object(c, "menu", true, &menu, &je) != JS_OK
        || js_reject_unknown(menu, menu_known, &je) != JS_OK
        || js_get_string(menu, "name", true, 1, NAME_MAX_LEN, &name, &je) != JS_OK
        || js_get_array(menu, "groups", true, MENU_LIST_MAX, &groups, &je) != JS_OK)
        return bad(err, errlen, "%s", je.message);
    if (menu_find_menu_named(m, name))
        return bad(err, errlen, "a menu named '%s' already exists", name);
    if (json_object_array_length(groups) == 0)
        return bad(err, errlen, "field 'groups': must hold at least one group");
    for (size_t g = 0; g < json_object_array_length(groups); g++) {
        json_object *grp = json_object_array_get_idx(groups, g), *items = NULL;
        const char *gname;
        if (js_require_object(grp, &je) != JS_OK
            || js_reject_unknown(grp, group_known, &je) != JS_OK
            || js_get_string(grp, "name", true, 1, NAME_MAX_LEN, &gname, &je) != JS_OK
            || js_get_array(grp, "items", false, 5000, &items, &je) == JS_INVALID)
            return bad(err, errlen, "groups[%zu]: %s", g, je.message);
        for (size_t i = 0; items && i < json_object_array_length(items); i++) {
            json_object *it = json_object_array_get_idx(items, i);
            if (js_require_object(it, &je) != JS_OK
                || js_reject_unknown(it, item_known, &je) != JS_OK)
                return bad(err, errlen, "groups[%zu].items[%zu]: %s", g, i, je.message);
            if (item_fields(it, true, m, err, errlen) != 0)
                return -1;
        }
    }
    return 0;
}

int
browser_check(const char *job_type, json_object *config, const menu_model *m, char *err,
              size_t errlen)
{
    static const char *const create_f[] = {"integration_id", "item", NULL};
    static const char *const update_f[] = {"integration_id", "item_guid", "changes", NULL};
    static const char *const modsync_f[] = {"integration_id", "modifier_group_guid", "options",
                                            "item_guids", NULL};
    static const char *const build_f[] = {"integration_id", "menu", NULL};
    static const struct {
        const char *type;
        const char *const *fields;
        int (*check)(json_object *, const menu_model *, char *, size_t);
    } checks[] = {
        {"item_create", create_f, check_item_create},
        {"item_update", update_f, check_item_update},
        {"modifier_sync", modsync_f, check_modifier_sync},
        {"menu_build", build_f, check_menu_build},
    };
    js_err je;
    for (size_t i = 0; i < sizeof(checks) / sizeof(checks[0]); i++) {
        if (strcmp(job_type, checks[i].type) != 0)
            continue;
        if (js_reject_unknown(config, checks[i].fields, &je) != JS_OK)
            return bad(err, errlen, "%s", je.message);
        return checks[i].check(config, m, err, errlen);
    }
    return bad(err, errlen, "job type %s is not a menu change", job_type);
}
