/* menu: Toast's menus document to the model, the canonical snapshot and its
 * SHA-256, and the diff of two snapshots, without any server. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "browser.h"
#include "json.h"
#include "menu.h"

/* A restaurant with two menus, nested groups, an item listed in two groups,
 * a modifier group shared by two items, and prices as Toast writes them. */
static const char *const doc_text =
    "{\"restaurantGuid\":\"r-1\",\"lastUpdated\":\"2026-11-20T10:00:00.000+0000\","
    "\"menus\":["
    " {\"guid\":\"m-lunch\",\"name\":\"Lunch\",\"menuGroups\":["
    "  {\"guid\":\"g-mains\",\"name\":\"Mains\",\"menuItems\":["
    "    {\"guid\":\"i-burger\",\"name\":\"Burger\",\"price\":12.5,\"pricingStrategy\":"
    "\"BASE_PRICE\",\"plu\":\"101\",\"sku\":null,\"visibility\":[\"POS\",\"KIOSK\"],"
    "\"modifierGroupReferences\":[7,8]},"
    "    {\"guid\":\"i-salad\",\"name\":\"Salad\",\"price\":9,\"modifierGroupReferences\":[7]}],"
    "   \"menuGroups\":[{\"guid\":\"g-specials\",\"name\":\"Specials\",\"menuItems\":["
    "    {\"guid\":\"i-burger\",\"name\":\"Burger\",\"price\":12.5}]}]}]},"
    " {\"guid\":\"m-drinks\",\"name\":\"Drinks\",\"menuGroups\":["
    "  {\"guid\":\"g-soft\",\"name\":\"Soft\",\"menuItems\":["
    "    {\"guid\":\"i-cola\",\"name\":\"Cola\",\"price\":null,\"pricingStrategy\":"
    "\"SIZE_PRICE\"}]}]}],"
    "\"modifierGroupReferences\":{"
    " \"7\":{\"referenceId\":7,\"guid\":\"mg-sides\",\"name\":\"Sides\",\"minSelections\":0,"
    "\"maxSelections\":2,\"modifierOptionReferences\":[70,71]},"
    " \"8\":{\"referenceId\":8,\"guid\":\"mg-temp\",\"name\":\"Temperature\","
    "\"modifierOptionReferences\":[]}},"
    "\"modifierOptionReferences\":{"
    " \"70\":{\"referenceId\":70,\"guid\":\"o-fries\",\"name\":\"Fries\",\"price\":2.25},"
    " \"71\":{\"referenceId\":71,\"guid\":\"o-slaw\",\"name\":\"Slaw\",\"price\":0}}}";

static json_object *
parse(const char *text)
{
    json_object *o = NULL;
    js_err err;
    assert_int_equal(js_parse(text, strlen(text), &o, &err), JS_OK);
    return o;
}

static menu_model *
model_of(const char *text)
{
    char err[256];
    menu_model *m = NULL;
    json_object *doc = parse(text);
    int rc = menu_from_toast(doc, &m, err, sizeof(err));
    if (rc != 0)
        fail_msg("menu_from_toast: %s", err);
    json_object_put(doc);
    return m;
}

/* The document with one substring replaced. */
static menu_model *
model_with(const char *from, const char *to)
{
    const char *at = strstr(doc_text, from);
    assert_non_null(at);
    size_t n = strlen(doc_text) + strlen(to) + 1;
    char *t = malloc(n);
    assert_non_null(t);
    snprintf(t, n, "%.*s%s%s", (int)(at - doc_text), doc_text, to, at + strlen(from));
    menu_model *m = model_of(t);
    free(t);
    return m;
}

static void
test_toast_document(void **state)
{
    (void)state;
    menu_model *m = model_of(doc_text);
    assert_int_equal(m->nmenus, 2);
    assert_int_equal(m->ngroups, 3);
    assert_int_equal(m->nitems, 3); /* the burger, listed twice, is one item */
    assert_int_equal(m->nmodgroups, 2);

    const menu_item *b = menu_find_item(m, "i-burger");
    assert_non_null(b);
    assert_string_equal(b->name, "Burger");
    assert_true(b->price.set);
    assert_int_equal(b->price.v, 125000);
    assert_int_equal(b->groups.n, 2);
    assert_string_equal(b->groups.v[0], "g-mains");
    assert_string_equal(b->groups.v[1], "g-specials");
    assert_int_equal(b->modifiers.n, 2);
    assert_string_equal(b->modifiers.v[0], "mg-sides");
    assert_string_equal(b->visibility.v[0], "KIOSK");
    assert_string_equal(b->plu, "101");
    assert_null(b->sku);

    const menu_item *c = menu_find_item(m, "i-cola");
    assert_false(c->price.set);
    assert_string_equal(c->pricing_strategy, "SIZE_PRICE");

    const menu_group *sp = menu_find_group(m, "g-specials");
    assert_string_equal(sp->parent_guid, "g-mains");
    assert_string_equal(sp->menu_guid, "m-lunch");
    assert_null(menu_find_group(m, "g-mains")->parent_guid);

    const menu_modgroup *mg = menu_find_modgroup(m, "mg-sides");
    assert_int_equal(mg->noptions, 2);
    assert_string_equal(mg->options[0].name, "Fries");
    assert_int_equal(mg->options[0].price.v, 22500);
    assert_int_equal(mg->max_sel, 2);
    assert_int_equal(menu_find_modgroup(m, "mg-temp")->min_sel, -1);
    assert_null(menu_find_item(m, "nope"));
    assert_non_null(menu_find_menu_named(m, "Drinks"));
    menu_model_free(m);
}

static void
test_snapshot_canonical(void **state)
{
    (void)state;
    char *t1, *t2, *t3, err[256];
    char h1[MENU_SHA256_HEX], h2[MENU_SHA256_HEX], h3[MENU_SHA256_HEX];
    size_t n1;
    menu_model *m = model_of(doc_text);
    assert_int_equal(menu_snapshot_text(m, &t1, &n1, h1), 0);
    assert_int_equal(strlen(t1), n1);
    assert_int_equal(strlen(h1), 64);
    /* Keys sorted, prices exact, absent values null. */
    assert_non_null(strstr(t1, "{\"groups\":[{\"guid\":\"g-mains\",\"menu_guid\":\"m-lunch\","
                               "\"name\":\"Mains\",\"parent_guid\":null}"));
    assert_non_null(strstr(t1, "\"price\":\"12.50\""));
    assert_non_null(strstr(t1, "\"price\":\"2.25\""));
    assert_non_null(strstr(t1, "\"version\":1}"));

    /* Back from the snapshot: the same text, the same digest. */
    json_object *snap = parse(t1);
    menu_model *back = NULL;
    assert_int_equal(menu_from_snapshot(snap, &back, err, sizeof(err)), 0);
    assert_int_equal(menu_snapshot_text(back, &t2, NULL, h2), 0);
    assert_string_equal(t1, t2);
    assert_string_equal(h1, h2);

    /* Options keep Toast's order: another order is another menu. */
    menu_model *swapped =
        model_with("\"modifierOptionReferences\":[70,71]", "\"modifierOptionReferences\":[71,70]");
    assert_int_equal(menu_snapshot_text(swapped, &t3, NULL, h3), 0);
    assert_string_not_equal(h1, h3);
    free(t1);
    free(t2);
    free(t3);
    json_object_put(snap);
    menu_model_free(m);
    menu_model_free(back);
    menu_model_free(swapped);
}

static void
test_order_does_not_matter(void **state)
{
    (void)state;
    static const char *const a =
        "{\"menus\":[{\"guid\":\"m1\",\"menuGroups\":[{\"guid\":\"g1\",\"menuItems\":["
        "{\"guid\":\"i1\",\"price\":1},{\"guid\":\"i2\",\"price\":2,\"visibility\":[\"B\",\"A\"]}"
        "]}]},{\"guid\":\"m2\"}]}";
    static const char *const b =
        "{\"menus\":[{\"guid\":\"m2\"},{\"guid\":\"m1\",\"menuGroups\":[{\"guid\":\"g1\","
        "\"menuItems\":[{\"guid\":\"i2\",\"price\":2.0,\"visibility\":[\"A\",\"B\",\"A\"]},"
        "{\"guid\":\"i1\",\"price\":1.0}]}]}]}";
    char *ta, *tb, ha[MENU_SHA256_HEX], hb[MENU_SHA256_HEX];
    menu_model *ma = model_of(a), *mb = model_of(b);
    assert_int_equal(menu_snapshot_text(ma, &ta, NULL, ha), 0);
    assert_int_equal(menu_snapshot_text(mb, &tb, NULL, hb), 0);
    assert_string_equal(ta, tb);
    assert_string_equal(ha, hb);
    json_object *d = menu_diff(ma, mb);
    assert_true(json_object_get_boolean(json_object_object_get(d, "identical")));
    json_object_put(d);
    free(ta);
    free(tb);
    menu_model_free(ma);
    menu_model_free(mb);
}

/* The one change of d as "kind/guid/field before->after". */
static void
expect_one_change(json_object *d, const char *kind, const char *guid, const char *field,
                  const char *before, const char *after)
{
    json_object *ch = json_object_object_get(d, "changed");
    assert_false(json_object_get_boolean(json_object_object_get(d, "identical")));
    assert_int_equal(json_object_array_length(ch), 1);
    json_object *c = json_object_array_get_idx(ch, 0);
    assert_string_equal(json_object_get_string(json_object_object_get(c, "kind")), kind);
    assert_string_equal(json_object_get_string(json_object_object_get(c, "guid")), guid);
    assert_string_equal(json_object_get_string(json_object_object_get(c, "field")), field);
    assert_string_equal(
        json_object_to_json_string_ext(json_object_object_get(c, "before"), JSON_C_TO_STRING_PLAIN),
        before);
    assert_string_equal(
        json_object_to_json_string_ext(json_object_object_get(c, "after"), JSON_C_TO_STRING_PLAIN),
        after);
    /* No item comes or goes (a group may, when an item moves to a new one). */
    static const char *const lists[] = {"added", "removed"};
    for (size_t l = 0; l < 2; l++) {
        json_object *a = json_object_object_get(d, lists[l]);
        for (size_t i = 0; i < json_object_array_length(a); i++)
            assert_string_equal(json_object_get_string(json_object_object_get(
                                    json_object_array_get_idx(a, i), "kind")),
                                "group");
    }
}

static void
check_change(const char *from, const char *to, const char *kind, const char *guid,
             const char *field, const char *before, const char *after)
{
    menu_model *a = model_of(doc_text), *b = model_with(from, to);
    json_object *d = menu_diff(a, b);
    expect_one_change(d, kind, guid, field, before, after);
    json_object_put(d);
    menu_model_free(a);
    menu_model_free(b);
}

static void
test_diff_fields(void **state)
{
    (void)state;
    check_change("\"price\":9,", "\"price\":9.75,", "item", "i-salad", "price", "\"9.00\"",
                 "\"9.75\"");
    check_change("\"name\":\"Salad\"", "\"name\":\"Green salad\"", "item", "i-salad", "name",
                 "\"Salad\"", "\"Green salad\"");
    check_change("\"visibility\":[\"POS\",\"KIOSK\"]", "\"visibility\":[\"POS\"]", "item",
                 "i-burger", "visibility", "[\"KIOSK\",\"POS\"]", "[\"POS\"]");
    check_change("\"modifierGroupReferences\":[7]}", "\"modifierGroupReferences\":[7,8]}", "item",
                 "i-salad", "modifiers", "[\"mg-sides\"]", "[\"mg-sides\",\"mg-temp\"]");
    /* The cola moves from Soft to Specials: a group change of the item. */
    check_change("{\"guid\":\"g-soft\",\"name\":\"Soft\",\"menuItems\":[",
                 "{\"guid\":\"g-soft\",\"name\":\"Soft\",\"menuItems\":[]},"
                 "{\"guid\":\"g-x\",\"name\":\"X\",\"menuItems\":[",
                 "item", "i-cola", "group", "[\"g-soft\"]", "[\"g-x\"]");
    check_change("\"price\":2.25", "\"price\":2.5", "modifier_group", "mg-sides", "options",
                 "[{\"guid\":\"o-fries\",\"name\":\"Fries\",\"price\":\"2.25\"},"
                 "{\"guid\":\"o-slaw\",\"name\":\"Slaw\",\"price\":\"0.00\"}]",
                 "[{\"guid\":\"o-fries\",\"name\":\"Fries\",\"price\":\"2.50\"},"
                 "{\"guid\":\"o-slaw\",\"name\":\"Slaw\",\"price\":\"0.00\"}]");
    check_change("\"name\":\"Drinks\"", "\"name\":\"Beverages\"", "menu", "m-drinks", "name",
                 "\"Drinks\"", "\"Beverages\"");
}

static void
test_diff_added_removed(void **state)
{
    (void)state;
    menu_model *a = model_of(doc_text);
    menu_model *b = model_with("{\"guid\":\"i-salad\",\"name\":\"Salad\"",
                               "{\"guid\":\"i-soup\",\"name\":\"Soup\"");
    json_object *d = menu_diff(a, b);
    json_object *added = json_object_object_get(d, "added");
    json_object *removed = json_object_object_get(d, "removed");
    assert_false(json_object_get_boolean(json_object_object_get(d, "identical")));
    assert_int_equal(json_object_array_length(added), 1);
    assert_int_equal(json_object_array_length(removed), 1);
    assert_string_equal(
        json_object_get_string(json_object_object_get(json_object_array_get_idx(added, 0), "guid")),
        "i-soup");
    assert_string_equal(json_object_get_string(
                            json_object_object_get(json_object_array_get_idx(removed, 0), "name")),
                        "Salad");
    assert_int_equal(json_object_array_length(json_object_object_get(d, "changed")), 0);
    json_object_put(d);
    d = menu_diff(a, a);
    assert_true(json_object_get_boolean(json_object_object_get(d, "identical")));
    json_object_put(d);
    menu_model_free(a);
    menu_model_free(b);
}

static void
expect_bad_document(const char *text, const char *why)
{
    char err[256];
    menu_model *m = (menu_model *)1;
    /* A deeper parser than js_parse's, for the nesting limit. */
    json_tokener *tok = json_tokener_new_ex(200);
    json_object *doc = json_tokener_parse_ex(tok, text, (int)strlen(text));
    json_tokener_free(tok);
    assert_non_null(doc);
    assert_int_equal(menu_from_toast(doc, &m, err, sizeof(err)), -1);
    assert_null(m);
    if (!strstr(err, why))
        fail_msg("expected \"%s\" in \"%s\"", why, err);
    json_object_put(doc);
}

static void
test_bad_documents(void **state)
{
    (void)state;
    expect_bad_document("[]", "not an object");
    expect_bad_document("{}", "no 'menus' array");
    expect_bad_document("{\"menus\":[{\"name\":\"x\"}]}", "'guid' is missing");
    expect_bad_document("{\"menus\":[{\"guid\":\"m\",\"menuGroups\":[{\"guid\":\"g\","
                        "\"menuItems\":[{\"guid\":\"i\",\"price\":\"x\"}]}]}]}",
                        "must be a price");
    expect_bad_document("{\"menus\":[{\"guid\":\"m\",\"menuGroups\":[{\"guid\":\"g\","
                        "\"menuItems\":[{\"guid\":\"i\",\"modifierGroupReferences\":[3]}]}]}]}",
                        "not in modifierGroupReferences");
    expect_bad_document("{\"menus\":[{\"guid\":\"m\"},{\"guid\":\"m\"}]}", "listed twice");
    /* Groups nested deeper than MENU_DEPTH_MAX. */
    char deep[2048];
    size_t n = (size_t)snprintf(deep, sizeof(deep), "{\"menus\":[{\"guid\":\"m\",\"menuGroups\":");
    for (int i = 0; i <= MENU_DEPTH_MAX; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "[{\"guid\":\"g%d\",\"menuGroups\":", i);
    n += (size_t)snprintf(deep + n, sizeof(deep) - n, "[]");
    for (int i = 0; i <= MENU_DEPTH_MAX; i++)
        n += (size_t)snprintf(deep + n, sizeof(deep) - n, "}]");
    snprintf(deep + n, sizeof(deep) - n, "}]}");
    expect_bad_document(deep, "nest deeper");
}

static void
test_bad_snapshot(void **state)
{
    (void)state;
    char err[256];
    menu_model *m = NULL;
    json_object *s = parse("{\"menus\":[],\"groups\":[],\"modifier_groups\":[],\"items\":["
                           "{\"guid\":\"a\"},{\"guid\":\"a\"}]}");
    assert_int_equal(menu_from_snapshot(s, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "listed twice"));
    json_object_put(s);
    s = parse("{\"menus\":[]}");
    assert_int_equal(menu_from_snapshot(s, &m, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "'groups' must be an array"));
    json_object_put(s);
}

static void
test_prices(void **state)
{
    (void)state;
    int64_t v;
    char b[MENU_PRICE_LEN];
    static const struct {
        const char *in;
        int64_t v;
        const char *out;
    } ok[] = {
        {"0", 0, "0.00"},
        {"12.5", 125000, "12.50"},
        {"12.5000", 125000, "12.50"},
        {"0.125", 1250, "0.125"},
        {"-1.05", -10500, "-1.05"},
        {"3.1416", 31416, "3.1416"},
        {"1000000", 10000000000, "1000000.00"},
    };
    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        assert_int_equal(menu_price_parse(ok[i].in, &v), 0);
        assert_int_equal(v, ok[i].v);
        menu_price_format(v, b);
        assert_string_equal(b, ok[i].out);
    }
    static const char *const bad[] = {
        "", "-", "1.", ".5", "1.23456", "1e3", "12a", "--1", "99999999999999999999"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(menu_price_parse(bad[i], &v), -1);
}

static void
test_times(void **state)
{
    (void)state;
    int64_t a, b;
    assert_int_equal(menu_time_parse("2026-11-20T10:00:00.000+0000", &a), 0);
    assert_int_equal(menu_time_parse("2026-11-20T10:00:00Z", &b), 0);
    assert_true(a == b);
    assert_int_equal(menu_time_parse("2026-11-20T11:00:00.5+01:00", &b), 0);
    assert_true(b == a + 500);
    assert_int_equal(menu_time_parse("2026-11-20T10:00:00.001-0000", &b), 0);
    assert_true(b == a + 1);
    assert_int_equal(menu_time_parse("2026-11-20", &b), -1);
    assert_int_equal(menu_time_parse("2026-11-20T10:00:00", &b), -1);
    assert_int_equal(menu_time_parse("2026-13-20T10:00:00Z", &b), -1);
    assert_int_equal(menu_time_parse("2026-11-20T10:00:00+00", &b), -1);
}

/* browser_check: a change is checked against the stored menu. */
static void
expect_checked(const char *type, const char *config, const char *why)
{
    char err[300] = "";
    menu_model *m = model_of(doc_text);
    json_object *c = parse(config);
    int rc = browser_check(type, c, m, err, sizeof(err));
    if (!why)
        assert_int_equal(rc, 0);
    else if (rc != -1 || !strstr(err, why))
        fail_msg("%s %s: expected \"%s\", got %d \"%s\"", type, config, why, rc, err);
    json_object_put(c);
    menu_model_free(m);
}

#define I "\"integration_id\":\"11111111-1111-4111-8111-111111111111\","

static void
test_browser_check(void **state)
{
    (void)state;
    expect_checked("item_create",
                   "{" I "\"item\":{\"name\":\"Soup\",\"price\":4.5,\"group_guid\":\"g-mains\","
                   "\"modifier_group_guids\":[\"mg-sides\"]}}",
                   NULL);
    expect_checked("item_create",
                   "{" I "\"item\":{\"name\":\"Soup\",\"price\":4.5,\"group_guid\":\"g-none\"}}",
                   "group g-none is not in the stored menu");
    expect_checked("item_create",
                   "{" I "\"item\":{\"name\":\"Salad\",\"price\":4.5,\"group_guid\":\"g-mains\"}}",
                   "already has an item named 'Salad'");
    expect_checked("item_create", "{" I "\"item\":{\"name\":\"Soup\",\"group_guid\":\"g-mains\"}}",
                   "price");
    expect_checked("item_update", "{" I "\"item_guid\":\"i-salad\",\"changes\":{\"price\":10}}",
                   NULL);
    expect_checked("item_update", "{" I "\"item_guid\":\"i-nope\",\"changes\":{\"price\":10}}",
                   "item i-nope is not in the stored menu");
    expect_checked("item_update", "{" I "\"item_guid\":\"i-salad\",\"changes\":{}}",
                   "at least one field");
    expect_checked("item_update",
                   "{" I "\"item_guid\":\"i-salad\",\"changes\":{\"colour\":\"red\"}}",
                   "unknown field 'colour'");
    expect_checked("modifier_sync",
                   "{" I "\"modifier_group_guid\":\"mg-sides\",\"options\":[{\"name\":\"Rice\","
                   "\"price\":1}],\"item_guids\":[\"i-burger\"]}",
                   NULL);
    expect_checked("modifier_sync",
                   "{" I "\"modifier_group_guid\":\"mg-sides\",\"options\":[{\"name\":\"Rice\","
                   "\"price\":-1}]}",
                   "price");
    expect_checked("modifier_sync", "{" I "\"modifier_group_guid\":\"mg-x\",\"options\":[]}",
                   "modifier group mg-x is not in the stored menu");
    expect_checked("menu_build",
                   "{" I "\"menu\":{\"name\":\"Brunch\",\"groups\":[{\"name\":\"Eggs\","
                   "\"items\":[{\"name\":\"Benedict\",\"price\":14}]}]}}",
                   NULL);
    expect_checked("menu_build",
                   "{" I "\"menu\":{\"name\":\"Lunch\",\"groups\":[{\"name\":\"x\"}]}}",
                   "a menu named 'Lunch' already exists");
    expect_checked("menu_sync", "{" I "\"x\":1}", "not a menu change");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_toast_document),
        cmocka_unit_test(test_snapshot_canonical),
        cmocka_unit_test(test_order_does_not_matter),
        cmocka_unit_test(test_diff_fields),
        cmocka_unit_test(test_diff_added_removed),
        cmocka_unit_test(test_bad_documents),
        cmocka_unit_test(test_bad_snapshot),
        cmocka_unit_test(test_prices),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_browser_check),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
