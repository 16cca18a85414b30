/* store_menus_sql: the text of every SQL statement of the menu half, in one
 * place; see store_menus.h. All are parameterised. A snapshot's arrays are
 * given whole as one jsonb parameter and read with jsonb_to_recordset, so a
 * menu of thousands of items is a handful of statements. */
#include "store_menus_internal.h"

#define TS(c) "to_char(" c " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')"
#define GOLDEN_JSON                                                                          \
    "json_build_object('id', g.id, 'integration_id', g.integration_id, 'sha256', g.sha256, " \
    "'counts', g.counts, 'note', g.note, 'created_at', " TS("g.created_at") ")::text"
/* The guids of a snapshot array ($2), for "what disappeared". */
#define GUIDS_OF_2 "(SELECT e->>'guid' FROM jsonb_array_elements($2::jsonb) e)"

const store_menus_stmt store_menus_sql[MQ_NSTMTS] = {
    /* Also locks the integration: two syncs of one restaurant take turns. */
    [MQ_LOCK] = {"menus_lock", "SELECT s.toast_last_updated FROM toast.integrations i "
                               "LEFT JOIN toast.menu_sync_state s ON s.integration_id = i.id "
                               "WHERE i.id = $1 FOR UPDATE OF i"},
    [MQ_STATE] = {"menus_state", "SELECT s.toast_last_updated FROM toast.integrations i "
                                 "LEFT JOIN toast.menu_sync_state s ON s.integration_id = i.id "
                                 "WHERE i.id = $1"},
    [MQ_UPSERT_MENUS] = {"menus_upsert_menus",
                         "INSERT INTO toast.menus AS t (integration_id, guid, name) "
                         "SELECT $1, r.guid, r.name FROM jsonb_to_recordset($2::jsonb) "
                         "AS r(guid text, name text) "
                         "ON CONFLICT (integration_id, guid) DO UPDATE SET name = EXCLUDED.name, "
                         "updated_at = now() WHERE t.name IS DISTINCT FROM EXCLUDED.name"},
    [MQ_DELETE_MENUS] = {"menus_delete_menus", "DELETE FROM toast.menus WHERE integration_id = $1 "
                                               "AND guid NOT IN " GUIDS_OF_2},
    [MQ_UPSERT_GROUPS] = {"menus_upsert_groups",
                          "INSERT INTO toast.menu_groups AS t (integration_id, guid, menu_guid, "
                          "parent_guid, name) SELECT $1, r.guid, r.menu_guid, r.parent_guid, "
                          "r.name FROM jsonb_to_recordset($2::jsonb) AS r(guid text, menu_guid "
                          "text, parent_guid text, name text) "
                          "ON CONFLICT (integration_id, guid) DO UPDATE SET "
                          "menu_guid = EXCLUDED.menu_guid, parent_guid = EXCLUDED.parent_guid, "
                          "name = EXCLUDED.name, updated_at = now() "
                          "WHERE (t.menu_guid, t.parent_guid, t.name) IS DISTINCT FROM "
                          "(EXCLUDED.menu_guid, EXCLUDED.parent_guid, EXCLUDED.name)"},
    [MQ_DELETE_GROUPS] = {"menus_delete_groups", "DELETE FROM toast.menu_groups WHERE "
                                                 "integration_id = $1 AND guid NOT IN " GUIDS_OF_2},
    /* RETURNING tells inserted rows (xmax = 0) from changed ones; unchanged
     * rows are not updated, so not returned. */
    [MQ_UPSERT_ITEMS] = {"menus_upsert_items",
                         "INSERT INTO toast.items AS t (integration_id, guid, name, price, "
                         "pricing_strategy, plu, sku, group_guids, modifier_group_guids, "
                         "visibility) SELECT $1, r.guid, r.name, r.price, r.pricing_strategy, "
                         "r.plu, r.sku, r.groups, r.modifiers, r.visibility "
                         "FROM jsonb_to_recordset($2::jsonb) AS r(guid text, name text, price "
                         "numeric, pricing_strategy text, plu text, sku text, groups jsonb, "
                         "modifiers jsonb, visibility jsonb) "
                         "ON CONFLICT (integration_id, guid) DO UPDATE SET name = EXCLUDED.name, "
                         "price = EXCLUDED.price, pricing_strategy = EXCLUDED.pricing_strategy, "
                         "plu = EXCLUDED.plu, sku = EXCLUDED.sku, "
                         "group_guids = EXCLUDED.group_guids, "
                         "modifier_group_guids = EXCLUDED.modifier_group_guids, "
                         "visibility = EXCLUDED.visibility, updated_at = now() "
                         "WHERE (t.name, t.price, t.pricing_strategy, t.plu, t.sku, "
                         "t.group_guids, t.modifier_group_guids, t.visibility) IS DISTINCT FROM "
                         "(EXCLUDED.name, EXCLUDED.price, EXCLUDED.pricing_strategy, "
                         "EXCLUDED.plu, EXCLUDED.sku, EXCLUDED.group_guids, "
                         "EXCLUDED.modifier_group_guids, EXCLUDED.visibility) "
                         "RETURNING t.guid, (t.xmax = 0) AS inserted"},
    [MQ_DELETE_ITEMS] = {"menus_delete_items", "DELETE FROM toast.items WHERE integration_id = $1 "
                                               "AND guid NOT IN " GUIDS_OF_2 " RETURNING guid"},
    [MQ_UPSERT_MODGROUPS] = {"menus_upsert_modgroups",
                             "INSERT INTO toast.modifier_groups AS t (integration_id, guid, name, "
                             "min_selections, max_selections, options) SELECT $1, r.guid, r.name, "
                             "r.min_selections, r.max_selections, r.options "
                             "FROM jsonb_to_recordset($2::jsonb) AS r(guid text, name text, "
                             "min_selections int, max_selections int, options jsonb) "
                             "ON CONFLICT (integration_id, guid) DO UPDATE SET "
                             "name = EXCLUDED.name, min_selections = EXCLUDED.min_selections, "
                             "max_selections = EXCLUDED.max_selections, "
                             "options = EXCLUDED.options, updated_at = now() "
                             "WHERE (t.name, t.min_selections, t.max_selections, t.options) "
                             "IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.min_selections, "
                             "EXCLUDED.max_selections, EXCLUDED.options)"},
    [MQ_DELETE_MODGROUPS] = {"menus_delete_modgroups",
                             "DELETE FROM toast.modifier_groups WHERE integration_id = $1 "
                             "AND guid NOT IN " GUIDS_OF_2},
    [MQ_SET_STATE] = {"menus_set_state",
                      "WITH st AS (INSERT INTO toast.menu_sync_state (integration_id, "
                      "toast_last_updated, sha256) VALUES ($1, $2, $3) "
                      "ON CONFLICT (integration_id) DO UPDATE SET toast_last_updated = $2, "
                      "sha256 = $3, synced_at = now()) "
                      "UPDATE toast.integrations SET last_menu_sync_at = now() WHERE id = $1"},
    /* The stored menus in the snapshot's shape (menu.h reads any key order).
     * Each list is json_agg over a subquery's rows, whose column names are
     * the snapshot's keys: a quarter cheaper than json_build_object per row. */
    [MQ_LOAD] = {"menus_load",
                 "SELECT s.integration_id IS NOT NULL, CASE WHEN s.integration_id IS NOT NULL "
                 "THEN json_build_object("
                 "'menus', (SELECT coalesce(json_agg(r), '[]') FROM (SELECT guid, name "
                 "FROM toast.menus WHERE integration_id = $1) r), "
                 "'groups', (SELECT coalesce(json_agg(r), '[]') FROM (SELECT guid, menu_guid, "
                 "parent_guid, name FROM toast.menu_groups WHERE integration_id = $1) r), "
                 "'items', (SELECT coalesce(json_agg(r), '[]') FROM (SELECT guid, name, "
                 "price::text AS price, pricing_strategy, plu, sku, group_guids AS groups, "
                 "modifier_group_guids AS modifiers, visibility FROM toast.items "
                 "WHERE integration_id = $1) r), "
                 "'modifier_groups', (SELECT coalesce(json_agg(r), '[]') FROM (SELECT guid, "
                 "name, min_selections, max_selections, options FROM toast.modifier_groups "
                 "WHERE integration_id = $1) r))::text END "
                 "FROM toast.integrations i LEFT JOIN toast.menu_sync_state s "
                 "ON s.integration_id = i.id WHERE i.id = $1"},
    [MQ_SUMMARY] =
        {"menus_summary",
         "SELECT json_build_object('integration_id', i.id, 'counts', json_build_object("
         "'menus', (SELECT count(*) FROM toast.menus WHERE integration_id = i.id), "
         "'groups', (SELECT count(*) FROM toast.menu_groups WHERE integration_id = i.id), "
         "'items', (SELECT count(*) FROM toast.items WHERE integration_id = i.id), "
         "'modifier_groups', (SELECT count(*) FROM toast.modifier_groups "
         "WHERE integration_id = i.id)), "
         "'last_synced_at', " TS(
             "s.synced_at") ", 'last_updated', s.toast_last_updated, "
                            "'sha256', s.sha256, "
                            "'menus', (SELECT coalesce(json_agg(json_build_object('guid', m.guid, "
                            "'name', m.name, "
                            "'groups', (SELECT count(*) FROM toast.menu_groups g WHERE "
                            "g.integration_id = i.id "
                            "AND g.menu_guid = m.guid), "
                            "'items', (SELECT count(*) FROM toast.items it WHERE it.integration_id "
                            "= i.id AND "
                            "EXISTS (SELECT 1 FROM toast.menu_groups g WHERE g.integration_id = "
                            "i.id AND "
                            "g.menu_guid = m.guid AND it.group_guids ? g.guid))) ORDER BY m.name, "
                            "m.guid), '[]') "
                            "FROM toast.menus m WHERE m.integration_id = i.id))::text "
                            "FROM toast.integrations i LEFT JOIN toast.menu_sync_state s ON "
                            "s.integration_id = i.id "
                            "WHERE i.id = $1"},
    [MQ_GOLDEN_INSERT] = {"menus_golden_insert",
                          "INSERT INTO toast.golden_copies AS g (integration_id, sha256, "
                          "snapshot, counts, note) VALUES ($1, $2, $3, $4::jsonb, $5) "
                          "RETURNING " GOLDEN_JSON},
    [MQ_GOLDEN_LATEST] = {"menus_golden_latest",
                          "SELECT " GOLDEN_JSON ", g.snapshot FROM toast.golden_copies g "
                          "WHERE g.integration_id = $1 ORDER BY g.created_at DESC, g.id LIMIT 1"},
    [MQ_GOLDEN_GET] = {"menus_golden_get", "SELECT " GOLDEN_JSON ", g.snapshot "
                                           "FROM toast.golden_copies g "
                                           "WHERE g.integration_id = $1 AND g.id = $2"},
    [MQ_EXISTS] = {"menus_exists", "SELECT 1 FROM toast.integrations WHERE id = $1"},
};
