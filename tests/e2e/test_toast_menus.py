"""svc-toast menus (issue 5): the menu_sync job against the fake Toast API
(the fixture menu mirrored, an unchanged menu skipped, a changed menu
reported in the job and in events.toast.menu.<id>), the menu summary, golden
copies (identical, and with drift after a change), the golden_copy job, and
bad input on every menu route."""

import re
import uuid

from harness import check_error, wait_for
from jobsapi import Api
from natsclient import Client, wait_msg

ITEMS = 300  # the fake's default menu
NS = uuid.UUID("6f3c1f7e-8a57-4a5e-9d0b-2f4f3c7d9a10")  # the fake's guids (server.py gid)


def fake_guid(*parts):
    return str(uuid.uuid5(NS, "/".join(str(p) for p in parts)))


def auto_of(toast, tokens):
    return Api(toast.base.replace("/api/toast", ""), headers=tokens.headers("admin"))


def finished(auto, job_id, timeout=60):
    def done():
        j = auto.job(job_id)
        return j if j["status"] in ("completed", "failed", "cancelled") else None
    return wait_for(done, timeout, f"job {job_id} to finish")


def sync(toast, auto, iid, **body):
    r = toast.post(f"/integrations/{iid}/sync-menus", json=body or None)
    assert r.status_code == 202, r.text
    j = finished(auto, r.json()["id"])
    assert j["status"] == "completed", j
    return j["result"]


def test_menu_sync_mirrors_the_fixture(toast, tokens, suite):
    auto = auto_of(toast, tokens)
    i, body = toast.create()
    iid, guid = i["id"], body["toast_guid"]
    nc = Client(suite.nats.url)
    try:
        _, q = nc.subscribe(f"events.toast.menu.{iid}")
        res = sync(toast, auto, iid)
        ev = wait_msg(q, lambda m: True, 10, "the menu event").json()
    finally:
        nc.close()
    assert res["skipped"] is False and res["integration_id"] == iid
    # Three menus of three groups with two subgroups each; four shared modifier groups.
    assert res["counts"]["menus"] == 3 and res["counts"]["groups"] == 27
    assert res["counts"]["items"] == ITEMS and res["counts"]["modifier_groups"] == 4
    assert len(res["added"]) == ITEMS and res["changed"] == [] and res["removed"] == []
    assert fake_guid(guid, "item", 0) in res["added"]
    assert re.fullmatch(r"[0-9a-f]{64}", res["sha256"])
    assert ev["type"] == "menu_synced" and ev["integration_id"] == iid
    assert ev["client_id"] == body["client_id"] and ev["counts"] == res["counts"]
    assert sorted(ev["added"]) == sorted(res["added"])

    s = toast.get(f"/integrations/{iid}/menus")
    assert s.status_code == 200, s.text
    s = s.json()
    assert s["integration_id"] == iid
    assert s["counts"] == {"menus": 3, "groups": 27, "items": ITEMS, "modifier_groups": 4}
    assert s["last_updated"] == res["last_updated"] and s["last_updated"].endswith("+0000")
    assert s["last_synced_at"] and s["sha256"] == res["sha256"]
    assert sorted(m["name"] for m in s["menus"]) == ["Dinner", "Drinks", "Lunch"]
    assert sum(m["items"] for m in s["menus"]) == ITEMS
    assert all(m["groups"] == 9 for m in s["menus"])
    assert toast.get(f"/integrations/{iid}").json()["last_menu_sync_at"]
    # The rows themselves: prices exact, an item's groups and modifiers kept.
    row = suite.pg.psql("SELECT price::text, jsonb_array_length(modifier_group_guids) "
                        f"FROM toast.items WHERE integration_id = '{iid}' "
                        f"AND guid = '{fake_guid(guid, 'item', 3)}'")
    assert row == "5.7500|2", row


def test_unchanged_menu_is_skipped_and_changes_are_reported(toast, tokens, suite, fake_toast):
    auto = auto_of(toast, tokens)
    i, body = toast.create()
    iid, guid = i["id"], body["toast_guid"]
    sync(toast, auto, iid)
    calls = len(fake_toast.stats(guid)["menus_calls"])
    res = sync(toast, auto, iid)
    assert res["skipped"] is True and res["reason"] == "menu unchanged", res
    assert len(fake_toast.stats(guid)["menus_calls"]) == calls  # menus not fetched again
    # force fetches and stores, but nothing changed.
    res = sync(toast, auto, iid, force=True)
    assert res["skipped"] is False and res["added"] == res["changed"] == res["removed"] == []

    fake_toast.control(guid, change_menu=True)
    nc = Client(suite.nats.url)
    try:
        _, q = nc.subscribe(f"events.toast.menu.{iid}")
        res = sync(toast, auto, iid)
        ev = wait_msg(q, lambda m: True, 10, "the menu event").json()
    finally:
        nc.close()
    assert res["skipped"] is False
    assert res["added"] == [fake_guid(guid, "item", "new", 1)]
    assert res["removed"] == [fake_guid(guid, "item", ITEMS - 1)]
    assert sorted(res["changed"]) == sorted([fake_guid(guid, "item", 0),
                                             fake_guid(guid, "item", 1)])
    assert res["counts"]["items"] == ITEMS and res["counts"]["items_changed"] == 2
    assert ev["changed"] == res["changed"] and ev["removed"] == res["removed"]
    s = toast.get(f"/integrations/{iid}/menus").json()
    assert s["counts"]["items"] == ITEMS and s["last_updated"] == res["last_updated"]
    gone = suite.pg.psql(f"SELECT count(*) FROM toast.items WHERE integration_id = '{iid}' "
                         f"AND guid = '{fake_guid(guid, 'item', ITEMS - 1)}'")
    assert gone.strip() == "0"


def test_golden_copy_identical_then_drift(toast, tokens, fake_toast):
    auto = auto_of(toast, tokens)
    i, body = toast.create()
    iid, guid = i["id"], body["toast_guid"]
    sync(toast, auto, iid)
    r = toast.post(f"/integrations/{iid}/golden-copy/capture", json={"note": "approved"})
    assert r.status_code == 201, r.text
    gc = r.json()
    assert re.fullmatch(r"[0-9a-f]{64}", gc["sha256"]) and gc["note"] == "approved"
    assert gc["counts"]["items"] == ITEMS and gc["integration_id"] == iid and gc["created_at"]

    r = toast.post(f"/integrations/{iid}/golden-copy/compare")
    assert r.status_code == 200, r.text
    cmp = r.json()
    assert cmp["identical"] is True and cmp["baseline_id"] == gc["id"]
    assert cmp["baseline_sha256"] == cmp["current_sha256"] == gc["sha256"]
    assert cmp["added"] == cmp["removed"] == cmp["changed"] == []

    fake_toast.control(guid, change_menu=True)
    sync(toast, auto, iid)
    cmp = toast.post(f"/integrations/{iid}/golden-copy/compare",
                     json={"baseline_id": gc["id"]}).json()
    assert cmp["identical"] is False and cmp["current_sha256"] != gc["sha256"]
    changes = {(c["guid"], c["field"]): c for c in cmp["changed"]}
    price = changes[(fake_guid(guid, "item", 0), "price")]
    assert price["kind"] == "item" and price["before"] == "5.00" and price["after"] == "6.00"
    name = changes[(fake_guid(guid, "item", 1), "name")]
    assert name["before"] == "Item 1" and name["after"] == "Item 1 v1"
    assert len(cmp["changed"]) == 2, cmp["changed"]
    assert [a["guid"] for a in cmp["added"]] == [fake_guid(guid, "item", "new", 1)]
    assert cmp["added"][0]["name"] == "New item v1"
    assert [a["guid"] for a in cmp["removed"]] == [fake_guid(guid, "item", ITEMS - 1)]

    # A new baseline of the changed menu: identical again.
    gc2 = toast.post(f"/integrations/{iid}/golden-copy/capture").json()
    cmp = toast.post(f"/integrations/{iid}/golden-copy/compare").json()
    assert cmp["identical"] is True and cmp["baseline_id"] == gc2["id"]


def test_golden_copy_job(toast, tokens):
    auto = auto_of(toast, tokens)
    i, _ = toast.create()
    iid = i["id"]
    sync(toast, auto, iid)
    for action in ("capture", "compare"):
        r = toast.post("/jobs", json={"integration_id": iid, "job_type": "golden_copy",
                                      "config": {"action": action}})
        assert r.status_code == 202, r.text
        j = finished(auto, r.json()["id"])
        assert j["status"] == "completed", j
        assert j["result"]["action"] == action
    assert j["result"]["identical"] is True
    r = toast.post("/jobs", json={"integration_id": iid, "job_type": "golden_copy",
                                  "config": {"action": "destroy"}})
    j = finished(auto, r.json()["id"])
    assert j["status"] == "failed" and j["attempt"] == 1, j
    assert "action" in j["error"]["message"]


def test_menu_routes_bad_input(toast, tokens):
    auto = auto_of(toast, tokens)
    i, _ = toast.create()
    iid, other = i["id"], str(uuid.uuid4())
    # Nothing synced yet.
    s = toast.get(f"/integrations/{iid}/menus").json()
    assert s["counts"] == {"menus": 0, "groups": 0, "items": 0, "modifier_groups": 0}
    assert s["last_synced_at"] is None and s["menus"] == []
    err = check_error(toast.post(f"/integrations/{iid}/golden-copy/capture"), 409, "conflict")
    assert "sync" in err["message"]
    for path in ("menus",):
        check_error(toast.get(f"/integrations/{other}/{path}"), 404, "not_found")
        check_error(toast.get(f"/integrations/not-a-uuid/{path}"), 400, "invalid_request")
    for what in ("capture", "compare"):
        check_error(toast.post(f"/integrations/{other}/golden-copy/{what}"), 404, "not_found")
        check_error(toast.post(f"/integrations/nope/golden-copy/{what}"), 400, "invalid_request")
    sync(toast, auto, iid)
    err = check_error(toast.post(f"/integrations/{iid}/golden-copy/compare"), 404, "not_found")
    assert "capture" in err["message"]
    check_error(toast.post(f"/integrations/{iid}/golden-copy/compare",
                           json={"baseline_id": "x"}), 400, "invalid_request")
    check_error(toast.post(f"/integrations/{iid}/golden-copy/compare",
                           json={"baseline_id": other}), 404, "not_found")
    check_error(toast.post(f"/integrations/{iid}/golden-copy/capture", json={"colour": 1}), 400,
                "invalid_request")
    check_error(toast.post(f"/integrations/{iid}/golden-copy/capture", json=[1]), 400,
                "invalid_request")
    check_error(toast.post(f"/integrations/{iid}/golden-copy/capture", json={"note": 5}), 400,
                "invalid_request")


def test_delete_takes_menus_and_golden_copies(toast, tokens, suite):
    auto = auto_of(toast, tokens)
    i, _ = toast.create()
    iid = i["id"]
    sync(toast, auto, iid)
    assert toast.post(f"/integrations/{iid}/golden-copy/capture").status_code == 201
    assert toast.delete(f"/integrations/{iid}").status_code in (200, 204)
    check_error(toast.get(f"/integrations/{iid}/menus"), 404, "not_found")
    for table in ("menus", "menu_groups", "items", "modifier_groups", "golden_copies",
                  "menu_sync_state"):
        n = suite.pg.psql(f"SELECT count(*) FROM toast.{table} WHERE integration_id = '{iid}'")
        assert n.strip() == "0", table
