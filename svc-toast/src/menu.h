/* menu: a restaurant's menus as plain data, without any server. Prefix menu_.
 *
 * The model is built from Toast's menus document (GET /menus/v2/menus) or
 * from a snapshot (the canonical JSON below, as stored in golden copies or
 * rebuilt from the database). Every list is sorted by guid, so two models of
 * the same menu are equal field by field, their canonical JSON is equal byte
 * for byte, and its SHA-256 identifies the menu.
 *
 * Snapshot (keys sorted at every level, no whitespace, prices as exact
 * decimal strings, absent values as null):
 *   {"groups":[{"guid","menu_guid","name","parent_guid"}],
 *    "items":[{"groups":[guid],"guid","modifiers":[guid],"name","plu","price",
 *              "pricing_strategy","sku","visibility":[str]}],
 *    "menus":[{"guid","name"}],
 *    "modifier_groups":[{"guid","max_selections","min_selections","name",
 *                        "options":[{"guid","name","price"}]}],
 *    "version":1}
 * An item that Toast lists in several groups is one item with several groups. */
#ifndef TOAST_MENU_H
#define TOAST_MENU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#define MENU_GUID_MAX   64   /* bytes of a guid */
#define MENU_NAME_MAX   1024 /* bytes of a name or other text field */
#define MENU_DEPTH_MAX  16   /* nested menu groups */
#define MENU_LIST_MAX   256  /* entries of an item's groups, modifiers, visibility */
#define MENU_PRICE_LEN  32   /* a formatted price with its NUL */
#define MENU_SHA256_HEX 65   /* hex digest with its NUL */

/* A sorted list of distinct strings. */
typedef struct menu_strs {
    char **v;
    size_t n;
} menu_strs;

/* Prices are exact: ten-thousandths of the currency unit. */
typedef struct menu_price {
    int64_t v;
    bool set;
} menu_price;

typedef struct menu_menu {
    char *guid, *name;
} menu_menu;

typedef struct menu_group {
    char *guid, *name, *menu_guid;
    char *parent_guid; /* NULL for a menu's top-level group */
} menu_group;

typedef struct menu_item {
    char *guid, *name, *pricing_strategy, *plu, *sku;
    menu_price price;
    menu_strs groups, modifiers, visibility;
} menu_item;

typedef struct menu_option {
    char *guid, *name;
    menu_price price;
} menu_option;

typedef struct menu_modgroup {
    char *guid, *name;
    int64_t min_sel, max_sel; /* -1 when Toast does not say */
    menu_option *options;     /* in Toast's order */
    size_t noptions;
} menu_modgroup;

typedef struct menu_model {
    menu_menu *menus;
    size_t nmenus;
    menu_group *groups;
    size_t ngroups;
    menu_item *items;
    size_t nitems;
    menu_modgroup *modgroups;
    size_t nmodgroups;
} menu_model;

/* Build the model of Toast's menus document. Returns 0 and *out (free with
 * menu_model_free), or -1 with what is wrong in err. */
int menu_from_toast(json_object *doc, menu_model **out, char *err, size_t errlen);
/* Build the model of a snapshot (keys in any order; prices as decimal strings
 * or numbers). Returns 0 and *out, or -1 with err. */
int menu_from_snapshot(json_object *snap, menu_model **out, char *err, size_t errlen);
/* The same from the snapshot's JSON text (len bytes), without building json-c
 * objects: the fast way for large menus. */
int menu_from_snapshot_text(const char *text, size_t len, menu_model **out, char *err,
                            size_t errlen);
/* Accepts NULL. */
void menu_model_free(menu_model *m);

/* The canonical snapshot (a new object). NULL on allocation failure. */
json_object *menu_snapshot(const menu_model *m);
/* Its text (malloc'd, the caller frees) and SHA-256 in hex. 0 or -1. */
int menu_snapshot_text(const menu_model *m, char **text, size_t *len, char sha256[MENU_SHA256_HEX]);
/* One list of the snapshot ("menus", "groups", "items" or "modifier_groups")
 * as JSON text, as it stands in menu_snapshot_text's text (malloc'd, the
 * caller frees; its length in *len when len is not NULL). NULL on
 * allocation failure or another key. */
char *menu_snapshot_list(const menu_model *m, const char *key, size_t *len);

/* The differences from before to after (a new object):
 *   {"identical": bool,
 *    "added":   [{"kind","guid","name"}],
 *    "removed": [{"kind","guid","name"}],
 *    "changed": [{"kind","guid","name","field","before","after"}]}
 * kind is "item", "group", "menu" or "modifier_group"; for items the fields
 * are price, name, group, modifiers, visibility, plu, sku and
 * pricing_strategy; identical is true exactly when the snapshots are equal.
 * NULL on allocation failure. */
json_object *menu_diff(const menu_model *before, const menu_model *after);

/* Lookups by guid (binary search); NULL when absent. */
const menu_item *menu_find_item(const menu_model *m, const char *guid);
const menu_group *menu_find_group(const menu_model *m, const char *guid);
const menu_modgroup *menu_find_modgroup(const menu_model *m, const char *guid);
const menu_menu *menu_find_menu_named(const menu_model *m, const char *name);

/* Prices: parse a decimal string ("12.5", "-0.25", at most four decimals) or
 * format one ("12.50": at least two decimals, at most four). */
int menu_price_parse(const char *s, int64_t *out);
void menu_price_format(int64_t v, char out[MENU_PRICE_LEN]);

/* Toast's lastUpdated ("2026-11-20T10:00:00.000+0000", also RFC 3339) in
 * milliseconds since the epoch. 0 or -1. */
int menu_time_parse(const char *s, int64_t *ms);

#endif
