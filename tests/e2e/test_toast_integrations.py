"""svc-toast integrations through the gateway (issue 5): create, list, read,
change, delete; bad input; no secret in any answer or log line; secrets
sealed with Fernet at rest (and readable by another Fernet implementation);
key rotation with two keys."""

import base64
import json
import secrets
import uuid

import pytest
from cryptography.fernet import Fernet, MultiFernet

from harness import check_error, http
from toastapi import assert_no_secret, new_integration_body

VISIBLE = {"id", "client_id", "restaurant_id", "toast_guid", "name", "status", "api_client_id",
           "username", "has_api_client_secret", "has_password", "has_totp",
           "last_health_status", "last_health_at", "last_menu_sync_at", "created_at",
           "updated_at"}


def test_create_read_list_change_delete(toast):
    i, body = toast.create()
    assert set(i) == VISIBLE
    assert i["status"] == "active" and i["toast_guid"] == body["toast_guid"]
    assert i["has_api_client_secret"] and i["has_password"] and i["has_totp"]
    assert i["last_health_status"] is None
    assert toast.get(f"/integrations/{i['id']}").json() == i

    page = toast.get(f"/integrations?client_id={body['client_id']}").json()
    assert page["total"] == 1 and page["items"][0]["id"] == i["id"]
    assert page["limit"] == 50 and page["offset"] == 0
    assert toast.get(f"/integrations?client_id={body['client_id']}&status=paused").json()[
        "total"] == 0

    new_pw = "pw2-" + secrets.token_hex(8)
    toast.sent_secrets.append(new_pw)
    r = toast.patch(f"/integrations/{i['id']}",
                    json={"status": "paused", "name": "Renamed", "password": new_pw,
                          "totp_secret": None})
    assert r.status_code == 200, r.text
    ch = r.json()
    assert ch["status"] == "paused" and ch["name"] == "Renamed"
    assert ch["has_password"] and not ch["has_totp"]
    assert ch["updated_at"] >= i["updated_at"]
    page = toast.get(f"/integrations?client_id={body['client_id']}&status=paused").json()
    assert [x["id"] for x in page["items"]] == [i["id"]]

    assert toast.delete(f"/integrations/{i['id']}").status_code == 204
    check_error(toast.get(f"/integrations/{i['id']}"), 404, "not_found")
    check_error(toast.delete(f"/integrations/{i['id']}"), 404, "not_found")


def test_pagination(toast):
    client = str(uuid.uuid4())
    ids = [toast.create(client_id=client)[0]["id"] for _ in range(3)]
    p = toast.get(f"/integrations?client_id={client}&limit=2&offset=1").json()
    assert p["total"] == 3 and [x["id"] for x in p["items"]] == ids[1:]
    check_error(toast.get("/integrations?limit=0"), 400, "invalid_request")


@pytest.mark.parametrize("change,field", [
    ({"client_id": None}, "client_id"),
    ({"toast_guid": "not-a-guid"}, "toast_guid"),
    ({"toast_guid": None}, "toast_guid"),
    ({"status": "sleeping"}, "status"),
    ({"name": ""}, "name"),
    ({"api_client_secret": None}, "api_client_secret"),
    ({"api_client_secret": "x" * 501}, "api_client_secret"),
    ({"totp_secret": "not base32!"}, "totp_secret"),
    ({"extra": 1}, "extra"),
])
def test_create_refuses_bad_input(toast, change, field):
    body = new_integration_body()
    for k, v in change.items():
        if v is None:
            body.pop(k)
        else:
            body[k] = v
    r = toast.post("/integrations", json=body)
    err = check_error(r, 400, "invalid_request")
    assert err.get("field") == field, err
    for s in ("api_client_secret", "password"):
        assert body.get(s, "@@") not in r.text


def test_bad_requests(toast):
    i, _ = toast.create()
    check_error(toast.post("/integrations", data="{",
                           headers={"Content-Type": "application/json"}), 400,
                "invalid_json")
    check_error(toast.get("/integrations/nope"), 400, "invalid_request")
    check_error(toast.get(f"/integrations/{uuid.uuid4()}"), 404, "not_found")
    check_error(toast.get("/integrations?status=asleep"), 400, "invalid_request")
    check_error(toast.get("/integrations?client_id=x"), 400, "invalid_request")
    err = check_error(toast.patch(f"/integrations/{i['id']}", json={"toast_guid": str(
        uuid.uuid4())}), 400, "invalid_request")
    assert err["field"] == "toast_guid"
    check_error(toast.patch(f"/integrations/{i['id']}", json={}), 400, "invalid_request")
    check_error(toast.patch(f"/integrations/{i['id']}", json={"status": "gone"}), 400,
                "invalid_request")
    check_error(toast.patch(f"/integrations/{uuid.uuid4()}", json={"name": "x"}), 404,
                "not_found")
    # one integration per Toast restaurant
    body = new_integration_body(toast_guid=i["toast_guid"])
    check_error(toast.post("/integrations", json=body), 409, "conflict")


def test_permissions(toast, tokens):
    i, _ = toast.create()
    staff = tokens.headers("staff")
    base = toast.base
    assert http("GET", f"{base}/integrations/{i['id']}", headers=staff).status_code == 200
    check_error(http("POST", f"{base}/integrations", headers=staff,
                     json=new_integration_body()), 403, "forbidden")
    check_error(http("DELETE", f"{base}/integrations/{i['id']}", headers=staff), 403,
                "forbidden")
    check_error(http("POST", f"{base}/integrations/rotate-keys", headers=staff), 403,
                "forbidden")
    check_error(http("GET", f"{base}/integrations"), 401, "unauthorized")


def ring(suite):
    """svc-toast's key ring as Python's Fernet sees it (first key encrypts)."""
    keys = suite["svc-toast"].env["ENCRYPTION_KEYS"].split(",")
    return MultiFernet([Fernet(k.encode()) for k in keys])


def stored(suite, integration_id):
    row = suite.pg.psql("SELECT api_client_secret_enc || '|' || password_enc || '|' || "
                        "totp_secret_enc FROM toast.integrations WHERE id = "
                        f"'{integration_id}'")
    return row.split("|")


def test_secrets_sealed_with_fernet_at_rest(toast, suite):
    i, body = toast.create()
    sealed = stored(suite, i["id"])
    f = ring(suite)
    opened = [f.decrypt(t.encode()).decode() for t in sealed]
    assert opened == [body["api_client_secret"], body["password"], body["totp_secret"]]
    for t, plain in zip(sealed, opened):
        assert plain not in t
    # no secret in svc-toast's or the gateway's log either
    for d in (suite["svc-toast"], suite.gateway):
        text = json.dumps(d.log_lines())
        for s in opened:
            assert s not in text


def test_a_token_sealed_elsewhere_opens_here(toast, suite, fake_toast):
    """A secret written by Python's Fernet is used by svc-toast: a health check
    logs in with it (the fake refuses secrets starting 'wrong')."""
    i, _ = toast.create()
    token = ring(suite).encrypt(b"wrong-on-purpose").decode()
    suite.pg.psql(f"UPDATE toast.integrations SET api_client_secret_enc = '{token}' "
                  f"WHERE id = '{i['id']}'")
    r = toast.post(f"/integrations/{i['id']}/health-check")
    assert r.status_code == 200 and r.json()["status"] == "unhealthy", r.text
    assert "refused" in r.json()["steps"][0]["error"]


def test_rotate_keys_with_two_keys(toast, suite):
    i, body = toast.create()
    d = suite["svc-toast"]
    old = d.env["ENCRYPTION_KEYS"].split(",")[0]
    new = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()
    d.env["ENCRYPTION_KEYS"] = f"{new},{old}"
    d.stop()
    d.start()
    r = toast.post("/integrations/rotate-keys")
    assert r.status_code == 200, r.text
    assert r.json()["rotated"] >= 3 and r.json()["keys"] == 2
    sealed = stored(suite, i["id"])
    assert Fernet(new.encode()).decrypt(sealed[1].encode()).decode() == body["password"]
    with pytest.raises(Exception):
        Fernet(old.encode()).decrypt(sealed[1].encode())
    # The new key alone opens everything now.
    d.env["ENCRYPTION_KEYS"] = new
    d.stop()
    d.start()
    r = toast.post(f"/integrations/{i['id']}/health-check")
    assert r.status_code == 200 and r.json()["status"] == "healthy", r.text
    # Both keys for the rest of the run: rows sealed since still open.
    d.env["ENCRYPTION_KEYS"] = f"{new},{old}"
    d.stop()
    d.start()


def test_refuses_to_start_without_a_key(spawn):
    d = spawn("svc-toast", env={"ENCRYPTION_KEYS": ""}, start=False)
    d.start(wait=False)
    assert d.wait_exit(30) != 0
    assert any("ENCRYPTION_KEYS" in l.get("msg", "") for l in d.log_lines())
    bad = spawn("svc-toast", env={"ENCRYPTION_KEYS": "short"}, start=False)
    bad.start(wait=False)
    assert bad.wait_exit(30) != 0
    assert "short" not in bad.log_text()
