"""svc-toast health checks (issue 5) against the fake Toast API: healthy,
degraded (slow), unhealthy (401, 500), session reuse and re-login after a
401, 429 back-off, history, the event, the health_check job and its
scheduling."""

import uuid

from harness import check_error, wait_for
from natsclient import Client, wait_msg


def steps_of(check):
    return {s["step"]: s for s in check["steps"]}


def check(toast, iid):
    r = toast.post(f"/integrations/{iid}/health-check", timeout=30)
    assert r.status_code == 200, r.text
    return r.json()


def test_healthy_check_is_recorded_and_published(toast, suite):
    i, body = toast.create()
    nc = Client(suite.nats.url)
    try:
        _, q = nc.subscribe(f"events.toast.health.{i['id']}")
        c = check(toast, i["id"])
        ev = wait_msg(q, lambda m: True, 10, "the health event").json()
    finally:
        nc.close()
    assert c["status"] == "healthy" and c["integration_id"] == i["id"], c
    assert [s["step"] for s in c["steps"]] == ["login", "restaurant", "metadata"]
    assert all(s["ok"] and s["latency_ms"] >= 0 for s in c["steps"])
    assert steps_of(c)["metadata"]["last_updated"]
    assert c["total_ms"] >= 0 and c["error"] is None
    assert ev["id"] == c["id"] and ev["status"] == "healthy"
    assert ev["client_id"] == body["client_id"]
    got = toast.get(f"/integrations/{i['id']}").json()
    assert got["last_health_status"] == "healthy" and got["last_health_at"]
    hist = toast.get(f"/integrations/{i['id']}/health-history").json()
    assert hist["total"] == 1 and hist["items"][0] == c


def test_history_newest_first(toast):
    i, _ = toast.create()
    ids = [check(toast, i["id"])["id"] for _ in range(3)]
    hist = toast.get(f"/integrations/{i['id']}/health-history?limit=2").json()
    assert hist["total"] == 3 and [h["id"] for h in hist["items"]] == ids[::-1][:2]
    check_error(toast.get(f"/integrations/{uuid.uuid4()}/health-history"), 404, "not_found")
    check_error(toast.post(f"/integrations/{uuid.uuid4()}/health-check"), 404, "not_found")


def test_slow_toast_is_degraded(toast, fake_toast):
    i, body = toast.create()
    fake_toast.control(body["toast_guid"], slow_ms=1000)
    c = check(toast, i["id"])
    assert c["status"] == "degraded", c
    assert steps_of(c)["restaurant"]["latency_ms"] >= 1000


def test_too_slow_toast_is_unhealthy(toast, fake_toast):
    i, body = toast.create()
    fake_toast.control(body["toast_guid"], slow_ms=3500)  # above TOAST_TIMEOUT_MS
    c = check(toast, i["id"])
    assert c["status"] == "unhealthy", c
    assert steps_of(c)["restaurant"]["reason"] == "unreachable"


def test_refused_credentials_are_unhealthy(toast):
    i, _ = toast.create(api_client_secret="wrong-" + uuid.uuid4().hex)
    c = check(toast, i["id"])
    assert c["status"] == "unhealthy" and c["error"], c
    assert [s["step"] for s in c["steps"]] == ["login"]
    assert steps_of(c)["login"]["reason"] == "auth"
    assert toast.get(f"/integrations/{i['id']}").json()["last_health_status"] == "unhealthy"


def test_toast_500_is_unhealthy(toast, fake_toast):
    i, body = toast.create()
    fake_toast.control(body["toast_guid"], fail_500=1)
    c = check(toast, i["id"])
    assert c["status"] == "unhealthy" and "500" in c["error"], c
    assert steps_of(c)["restaurant"]["reason"] == "upstream"


def test_session_reused_then_login_again_after_401(toast, fake_toast):
    i, body = toast.create()
    guid = body["toast_guid"]
    first = check(toast, i["id"])
    second = check(toast, i["id"])
    assert not steps_of(first)["login"]["session_reused"]
    assert steps_of(second)["login"]["session_reused"]
    assert fake_toast.stats(guid)["logins"] == 1
    fake_toast.control(guid, fail_401=1)  # the cached token stops working
    third = check(toast, i["id"])
    assert third["status"] == "healthy", third
    assert fake_toast.stats(guid)["logins"] == 2


def test_429_waits_for_retry_after(toast, fake_toast):
    i, body = toast.create()
    fake_toast.control(body["toast_guid"], fail_429=1, retry_after=1)
    c = check(toast, i["id"])
    assert c["status"] in ("healthy", "degraded"), c
    assert steps_of(c)["restaurant"]["ok"] and steps_of(c)["restaurant"]["latency_ms"] >= 1000
    calls = fake_toast.stats(body["toast_guid"])["calls"]
    assert calls[f"/restaurants/v1/restaurants/{body['toast_guid']}"] == 2
    # Beyond TOAST_MAX_RETRY_WAIT_MS: given up at once.
    fake_toast.control(body["toast_guid"], fail_429=1, retry_after=30)
    c = check(toast, i["id"])
    assert c["status"] == "unhealthy" and steps_of(c)["restaurant"]["reason"] == "rate_limited"


def wait_job(api_get, job_id, timeout=30):
    def done():
        j = api_get(job_id)
        return j if j["status"] in ("completed", "failed") else None
    return wait_for(done, timeout, f"job {job_id} to finish")


def test_health_check_job(toast, tokens):
    from jobsapi import Api
    auto = Api(toast.base.replace("/api/toast", ""), headers=tokens.headers("admin"))
    i, body = toast.create()
    r = toast.post("/jobs", json={"integration_id": i["id"], "job_type": "health_check"})
    assert r.status_code == 202, r.text
    job = r.json()
    assert job["client_id"] == body["client_id"]
    assert job["config"]["integration_id"] == i["id"]
    done = wait_job(auto.job, job["id"])
    assert done["status"] == "completed", done
    assert done["result"]["status"] == "healthy" and done["result"]["integration_id"] == i["id"]
    # bad input
    check_error(toast.post("/jobs", json={"integration_id": i["id"], "job_type": "backup"}), 400,
                "invalid_request")
    check_error(toast.post("/jobs", json={"job_type": "health_check"}), 400, "invalid_request")
    check_error(toast.post("/jobs", json={"integration_id": str(uuid.uuid4()),
                                          "job_type": "health_check"}), 404, "not_found")
    err = check_error(toast.post("/jobs", json={"integration_id": i["id"],
                                                "job_type": "health_check", "priority": 9}),
                      400, "invalid_request")
    assert "priority" in err["message"]


def test_sync_menus_creates_a_job(toast):
    i, body = toast.create()
    r = toast.post(f"/integrations/{i['id']}/sync-menus", json={"force": True})
    assert r.status_code == 202, r.text
    j = r.json()
    assert j["job_type"] == "menu_sync" and j["client_id"] == body["client_id"]
    assert j["config"] == {"integration_id": i["id"], "force": True}
    check_error(toast.post(f"/integrations/{i['id']}/sync-menus", json={"force": 1}), 400,
                "invalid_request")
    check_error(toast.post(f"/integrations/{uuid.uuid4()}/sync-menus"), 404, "not_found")


def test_scheduled_health_checks(toast, spawn, fake_toast):
    """HEALTH_CHECK_INTERVAL: an active integration gets a health_check job."""
    i, body = toast.create()
    paused, _ = toast.create(status="paused")
    d = spawn("svc-toast", env={"HEALTH_CHECK_INTERVAL": "2", "TOAST_API_BASE": fake_toast.url})
    try:
        got = wait_for(lambda: toast.get(f"/integrations/{i['id']}").json()["last_health_at"],
                       30, "a scheduled health check")
        assert got
        assert d.find_log(lambda l: l.get("msg") == "health checks scheduled", timeout=10)
        assert toast.get(f"/integrations/{paused['id']}").json()["last_health_at"] is None
    finally:
        d.stop()
