"""svc-toast's Toast sessions (its cached logins) through svc-automation's
/api/automation/sessions (toast.sessions.list / .terminate over NATS)."""

import uuid

from harness import check_error, http


def sessions(toast, client_id):
    r = http("GET", toast.base.replace("/api/toast", "/api/automation") + "/sessions",
             headers=toast.headers)
    assert r.status_code == 200, r.text
    return [s for s in r.json()["sessions"] if s["client_id"] == client_id]


def test_list_and_terminate(toast, fake_toast):
    i, body = toast.create()
    client = body["client_id"]
    assert sessions(toast, client) == []
    assert toast.post(f"/integrations/{i['id']}/health-check").json()["status"] == "healthy"
    listed = sessions(toast, client)
    assert len(listed) == 1 and listed[0]["integration_id"] == i["id"]
    assert listed[0]["created_at"] < listed[0]["expires_at"]
    assert set(listed[0]) == {"client_id", "integration_id", "created_at", "expires_at"}

    auto = toast.base.replace("/api/toast", "/api/automation")
    r = http("POST", f"{auto}/sessions/{client}/terminate", headers=toast.headers)
    assert r.status_code == 200 and r.json()["terminated"] == 1, r.text
    assert sessions(toast, client) == []
    # the next call logs in again
    c = toast.post(f"/integrations/{i['id']}/health-check").json()
    assert not c["steps"][0]["session_reused"]
    assert fake_toast.stats(body["toast_guid"])["logins"] == 2


def test_terminate_unknown_client_is_zero(toast):
    auto = toast.base.replace("/api/toast", "/api/automation")
    r = http("POST", f"{auto}/sessions/{uuid.uuid4()}/terminate", headers=toast.headers)
    assert r.status_code == 200 and r.json()["terminated"] == 0
    check_error(http("POST", f"{auto}/sessions/x/terminate", headers=toast.headers), 400,
                "invalid_request")


def test_changed_credentials_drop_the_session(toast, fake_toast):
    i, body = toast.create()
    toast.post(f"/integrations/{i['id']}/health-check")
    assert len(sessions(toast, body["client_id"])) == 1
    secret = "sec-" + uuid.uuid4().hex
    toast.sent_secrets.append(secret)
    assert toast.patch(f"/integrations/{i['id']}",
                       json={"api_client_secret": secret}).status_code == 200
    assert sessions(toast, body["client_id"]) == []
    assert toast.delete(f"/integrations/{i['id']}").status_code == 204
