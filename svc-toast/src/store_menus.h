/* store_menus: the SQL of the menu half (menus, menu_groups, items,
 * modifier_groups, menu_sync_state, golden_copies), every statement in
 * store_menus_sql.c, prepared once per connection and parameterised. Prefix
 * store_menus_ / store_golden_. Rows come back as JSON in the API's shape. */
#ifndef TOAST_STORE_MENUS_H
#define TOAST_STORE_MENUS_H

#include <stdbool.h>
#include <stddef.h>

#include <json-c/json.h>

#include "db.h"
#include "store.h"

/* Toast's lastUpdated of the stored copy into last_updated ("" when no menu
 * was synced yet). ST_NOT_FOUND when the integration does not exist. */
store_status store_menus_state(db_pool *p, const char *integration_id, char *last_updated,
                               size_t cap);

/* The four lists of a menu snapshot as JSON text (menu_snapshot_list). */
typedef struct store_menu_lists {
    const char *menus, *groups, *items, *modifier_groups;
} store_menu_lists;

/* Replace the stored menus of the integration by the snapshot's lists
 * (borrowed, the canonical JSON of menu.h), in one transaction: upsert menus,
 * groups, items and modifier groups, delete what disappeared, record
 * last_updated and sha256, set the integration's last_menu_sync_at.
 * *changes (a new object): {"added":[guid],"changed":[guid],"removed":[guid]}
 * of items, sorted. ST_NOT_FOUND when the integration is gone. */
store_status store_menus_replace(db_pool *p, const char *integration_id,
                                 const store_menu_lists *lists, const char *sha256,
                                 const char *last_updated, json_object **changes);

/* The stored menus as a snapshot's JSON text (menu.h's shape, keys in any
 * order): *snapshot malloc'd (the caller frees) with its length in *len, or
 * NULL when no menu was synced yet. ST_NOT_FOUND when the integration does
 * not exist. Text rather than an object: menu_from_snapshot_text reads a
 * large menu several times faster than json-c builds it. */
store_status store_menus_load(db_pool *p, const char *integration_id, char **snapshot, size_t *len);

/* GET .../menus: {"integration_id","counts":{menus,groups,items,
 * modifier_groups},"last_synced_at","last_updated","sha256","menus":[{guid,
 * name,groups,items}]}. */
store_status store_menus_summary(db_pool *p, const char *integration_id, json_object **out);

/* A golden copy: *row {"id","integration_id","sha256","counts","note",
 * "created_at"}. */
store_status store_golden_insert(db_pool *p, const char *integration_id, const char *sha256,
                                 const char *snapshot, json_object *counts, const char *note,
                                 json_object **row);
/* The latest golden copy (baseline_id NULL) or the given one: *row as above
 * and *snapshot its text (malloc'd, the caller frees). ST_NOT_FOUND when
 * there is none. */
store_status store_golden_get(db_pool *p, const char *integration_id, const char *baseline_id,
                              json_object **row, char **snapshot);

#endif
