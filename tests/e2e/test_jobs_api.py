"""svc-automation's job routes through the gateway: every route, every bad
input, idempotency, changes, cancel and retry rules, statistics, sessions."""

import uuid

import pytest

import natsclient
from harness import check_error, is_rfc3339
from jobsapi import TYPES, new_client, ts


def test_create_and_get(api):
    c = new_client()
    j = api.create(c, "golden_copy", priority=2, config={"menu": "lunch"}, max_attempts=5)
    assert j["status"] == "queued" and j["priority"] == 2 and j["config"] == {"menu": "lunch"}
    assert j["max_attempts"] == 5 and j["attempt"] == 0 and j["progress"] == 0
    assert j["client_id"] == c and uuid.UUID(j["id"]).version == 4
    assert is_rfc3339(j["created_at"]) and j["created_at"].endswith("Z")
    got = api.job(j["id"])
    assert got["id"] == j["id"] and got["attempts"] == [] and got["dependencies"] == []
    for key in ("result", "error", "scheduled_at", "run_after", "worker_id", "lease_expires_at",
                "started_at", "completed_at", "duration_seconds", "idempotency_key"):
        assert key in got and got[key] is None, key


def test_defaults(api):
    j = api.create(new_client(), "backup")
    assert j["priority"] == 3 and j["max_attempts"] == 3 and j["config"] == {}
    assert j["cancel_requested"] is False and j["depends_on"] == []


@pytest.mark.parametrize("body,field", [
    ({"job_type": "menu_sync"}, "client_id"),
    ({"client_id": "not-a-uuid", "job_type": "menu_sync"}, "client_id"),
    ({"client_id": "C"}, "job_type"),
    ({"client_id": "C", "job_type": "menu_syncx"}, "job_type"),
    ({"client_id": "C", "job_type": "menu_sync", "priority": 0}, "priority"),
    ({"client_id": "C", "job_type": "menu_sync", "priority": 6}, "priority"),
    ({"client_id": "C", "job_type": "menu_sync", "priority": "1"}, "priority"),
    ({"client_id": "C", "job_type": "menu_sync", "config": [1]}, "config"),
    ({"client_id": "C", "job_type": "menu_sync", "config": "x"}, "config"),
    # PostgreSQL's jsonb cannot hold the character U+0000.
    ({"client_id": "C", "job_type": "menu_sync", "config": {"a": "x\u0000"}}, "config"),
    ({"client_id": "C", "job_type": "menu_sync", "depends_on": ["nope"]}, "depends_on"),
    ({"client_id": "C", "job_type": "menu_sync", "depends_on": "x"}, "depends_on"),
    ({"client_id": "C", "job_type": "menu_sync", "scheduled_at": "tomorrow"}, "scheduled_at"),
    ({"client_id": "C", "job_type": "menu_sync", "scheduled_at": "2026-13-01T00:00:00Z"},
     "scheduled_at"),
    ({"client_id": "C", "job_type": "menu_sync", "max_attempts": 0}, "max_attempts"),
    ({"client_id": "C", "job_type": "menu_sync", "idempotency_key": ""}, "idempotency_key"),
    ({"client_id": "C", "job_type": "menu_sync", "status": "running"}, "status"),
])
def test_create_rejects_bad_fields(api, body, field):
    if body.get("client_id") == "C":
        body = {**body, "client_id": new_client()}
    before = api.get("/jobs?limit=1").json()["total"]
    err = check_error(api.post("/jobs", body), 400, "invalid_request")
    assert err.get("field") == field, err
    assert field in err["message"]
    assert api.get("/jobs?limit=1").json()["total"] == before, "a refused job was stored"


def test_nul_in_a_key_is_refused(api):
    """json-c would cut the key at the NUL and store another document."""
    before = api.get("/jobs?limit=1").json()["total"]
    body = '{"client_id":"%s","job_type":"menu_sync","config":{"a\\u0000":1}}' % new_client()
    r = api.post("/jobs", None, data=body, headers={"Content-Type": "application/json"})
    err = check_error(r, 400, "invalid_json")
    assert "\\u0000 in a key" in err["message"], err
    assert api.get("/jobs?limit=1").json()["total"] == before


def test_unknown_job_type_lists_the_allowed_ones(api):
    err = check_error(api.post("/jobs", {"client_id": new_client(), "job_type": "x"}), 400,
                      "invalid_request")
    for t in TYPES:
        assert t in err["message"]


def test_missing_dependency_is_named(api):
    ghost = str(uuid.uuid4())
    err = check_error(api.post("/jobs", {"client_id": new_client(), "job_type": "menu_sync",
                                         "depends_on": [ghost]}), 400, "invalid_request")
    assert ghost in err["message"] and err["field"] == "depends_on"


def test_body_must_be_json_object(api):
    check_error(api.post("/jobs", [1, 2]), 400, "invalid_request")
    r = api.post("/jobs", data="{bad", headers={"Content-Type": "application/json"})
    check_error(r, 400, "invalid_json")
    check_error(api.post("/jobs", data="x=1",
                         headers={"Content-Type": "application/x-www-form-urlencoded"}),
                415, "unsupported_media_type")


def test_bad_job_id_and_unknown_job(api):
    check_error(api.get("/jobs/not-a-uuid"), 400, "invalid_request")
    missing = str(uuid.uuid4())
    err = check_error(api.get(f"/jobs/{missing}"), 404, "not_found")
    assert missing in err["message"]
    check_error(api.post(f"/jobs/{missing}/cancel"), 404, "not_found")
    check_error(api.post(f"/jobs/{missing}/retry"), 404, "not_found")
    check_error(api.patch(f"/jobs/{missing}", {"priority": 1}), 404, "not_found")


def test_idempotency_key(api):
    c, key = new_client(), "idem-" + uuid.uuid4().hex
    r1 = api.post("/jobs", {"client_id": c, "job_type": "report_generation", "idempotency_key": key})
    r2 = api.post("/jobs", {"client_id": c, "job_type": "report_generation", "idempotency_key": key})
    assert r1.status_code == 201 and r2.status_code == 200, (r1.text, r2.text)
    assert r1.json()["id"] == r2.json()["id"]
    assert api.get(f"/jobs?client_id={c}").json()["total"] == 1
    # The same key for another request is a conflict, not a silent reuse.
    err = check_error(api.post("/jobs", {"client_id": new_client(), "job_type": "backup",
                                         "idempotency_key": key}), 409, "conflict")
    assert r1.json()["id"] in err["message"]


def test_idempotency_key_concurrent(api):
    import concurrent.futures
    c, key = new_client(), "race-" + uuid.uuid4().hex
    body = {"client_id": c, "job_type": "backup", "idempotency_key": key}
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        rs = list(ex.map(lambda _: api.post("/jobs", body), range(16)))
    assert sorted(r.status_code for r in rs) == [200] * 15 + [201], [r.text for r in rs]
    assert len({r.json()["id"] for r in rs}) == 1


def test_list_filters_and_pagination(api):
    c = new_client()
    made = [api.create(c, t, priority=p) for t, p in
            [("menu_sync", 1), ("backup", 2), ("menu_sync", 3), ("backup", 4), ("menu_sync", 5)]]
    page = api.get(f"/jobs?client_id={c}").json()
    assert page["total"] == 5 and page["limit"] == 50 and page["offset"] == 0
    assert [j["id"] for j in page["items"]] == [j["id"] for j in reversed(made)], "newest first"
    p = api.get(f"/jobs?client_id={c}&limit=2&offset=1").json()
    assert [j["id"] for j in p["items"]] == [made[3]["id"], made[2]["id"]] and p["total"] == 5
    assert api.get(f"/jobs?client_id={c}&job_type=backup").json()["total"] == 2
    assert api.get(f"/jobs?client_id={c}&priority=1").json()["total"] == 1
    assert api.get(f"/jobs?client_id={c}&status=queued").json()["total"] == 5
    assert api.get(f"/jobs?client_id={c}&status=completed").json()["total"] == 0
    after = made[2]["created_at"]
    assert api.get(f"/jobs?client_id={c}&created_after={after}").json()["total"] == 3
    assert api.get(f"/jobs?client_id={c}&created_before={after}").json()["total"] == 2
    assert api.get(f"/jobs?client_id={c}&created_after={ts(60)}").json()["total"] == 0


@pytest.mark.parametrize("query,field", [
    ("limit=0", "limit"), ("limit=501", "limit"), ("limit=x", "limit"), ("offset=-1", "offset"),
    ("status=done", "status"), ("job_type=x", "job_type"), ("client_id=x", "client_id"),
    ("priority=9", "priority"), ("created_after=yesterday", "created_after"),
    ("created_before=2026-02-30T00:00:00Z", "created_before"),
])
def test_list_rejects_bad_query(api, query, field):
    err = check_error(api.get(f"/jobs?{query}"), 400, "invalid_request")
    assert err.get("field") == field, err


def test_patch_waiting_job(api):
    c = new_client()
    j = api.create(c, "menu_sync")
    r = api.patch(f"/jobs/{j['id']}", {"priority": 1, "config": {"x": 2}})
    assert r.status_code == 200, r.text
    assert r.json()["priority"] == 1 and r.json()["config"] == {"x": 2}
    r = api.patch(f"/jobs/{j['id']}", {"scheduled_at": ts(3600)})
    assert r.status_code == 200 and r.json()["status"] == "pending", r.text
    r = api.patch(f"/jobs/{j['id']}", {"scheduled_at": None})
    assert r.status_code == 200 and r.json()["status"] == "queued", r.text


def test_patch_refusals(api, worker):
    j = api.create(new_client(), "menu_sync")
    err = check_error(api.patch(f"/jobs/{j['id']}", {"status": "completed"}), 409, "conflict")
    assert "status" in err["message"] and "priority" in err["message"]
    check_error(api.patch(f"/jobs/{j['id']}", {"priority": 7}), 400, "invalid_request")
    check_error(api.patch(f"/jobs/{j['id']}", {"config": 3}), 400, "invalid_request")
    check_error(api.patch(f"/jobs/{j['id']}", {}), 400, "invalid_request")
    claimed = worker.claim_one()
    assert claimed["id"] == j["id"]
    err = check_error(api.patch(f"/jobs/{j['id']}", {"priority": 1}), 409, "conflict")
    assert "running" in err["message"]
    assert api.job(j["id"])["priority"] == 3


def test_cancel_pending_and_queued(api):
    c = new_client()
    j = api.create(c, "menu_sync")
    r = api.post(f"/jobs/{j['id']}/cancel")
    assert r.status_code == 200 and r.json()["status"] == "cancelled", r.text
    assert api.job(j["id"])["completed_at"] is not None
    later = api.create(c, "menu_sync", scheduled_at=ts(3600))
    assert later["status"] == "pending"
    assert api.post(f"/jobs/{later['id']}/cancel").json()["status"] == "cancelled"
    err = check_error(api.post(f"/jobs/{j['id']}/cancel"), 409, "conflict")
    assert "cancelled" in err["message"]


def test_cancel_running_ends_at_next_progress(api, worker):
    j = api.create(new_client(), "menu_sync")
    job = worker.claim_one()
    assert job["id"] == j["id"]
    r = api.post(f"/jobs/{j['id']}/cancel")
    assert r.status_code == 200, r.text
    assert r.json()["status"] == "running" and r.json()["cancel_requested"] is True
    assert worker.progress(job, 40, "step") == {"ok": True, "cancel_requested": True}
    done = api.job(j["id"])
    assert done["status"] == "cancelled"
    assert done["attempts"][-1]["outcome"] == "cancelled"
    # The worker's late outcome changes nothing.
    assert worker.complete(job)["ok"] is False
    assert api.job(j["id"])["status"] == "cancelled"


def test_retry_rules(api, worker):
    j = api.create(new_client(), "menu_sync", max_attempts=1)
    check_error(api.post(f"/jobs/{j['id']}/retry"), 409, "conflict")  # queued
    job = worker.claim_one()
    assert worker.fail(job, "bad menu", retryable=False) == {"ok": True}
    failed = api.job(j["id"])
    assert failed["status"] == "failed" and failed["error"] == {"message": "bad menu",
                                                                "retryable": False}
    r = api.post(f"/jobs/{j['id']}/retry")
    assert r.status_code == 200 and r.json()["status"] == "queued", r.text
    assert r.json()["error"] is None
    job2 = worker.claim_one()
    assert job2["id"] == j["id"] and job2["attempt"] == 2
    worker.complete(job2, {"ok": 1})
    done = api.job(j["id"])
    assert done["status"] == "completed" and done["result"] == {"ok": 1}
    assert [a["outcome"] for a in done["attempts"]] == ["failed", "completed"]
    err = check_error(api.post(f"/jobs/{j['id']}/retry"), 409, "conflict")
    assert "completed" in err["message"]


def test_stats(api, worker):
    before = api.get("/jobs/stats").json()
    c = new_client()
    api.create(c, "health_check", priority=1)
    api.create(c, "health_check", priority=1, scheduled_at=ts(3600))
    j = api.create(c, "health_check", priority=1)
    job = worker.claim_one(types=("health_check",))
    worker.complete(job)
    after = api.get("/jobs/stats").json()
    assert after["total_jobs"] == before["total_jobs"] + 3
    assert after["by_type"]["health_check"] == before["by_type"]["health_check"] + 3
    assert after["by_priority"]["1"] == before["by_priority"]["1"] + 3
    assert after["completed_today"] == before["completed_today"] + 1
    assert after["pending"] >= 1 and after["avg_duration_seconds"] is not None
    for key in ("queued", "running", "failed_today"):
        assert isinstance(after[key], int)
    assert j["id"]


def test_automation_stats_over_nats(api, worker, suite):
    c = new_client()
    for _ in range(3):
        api.create(c, "classification")
    for ok in (True, True, False):
        job = worker.claim_one(types=("classification",))
        (worker.complete(job) if ok else worker.fail(job, retryable=False))
    nc = natsclient.Client(suite.nats.url)
    try:
        s = nc.request_json("automation.stats", {"client_id": c})
        assert s["total"] == 3 and s["completed"] == 2 and s["failed"] == 1
        assert abs(s["success_rate"] - 2 / 3) < 1e-9
        assert nc.request_json("automation.stats", {"client_id": c, "since": ts(60)})["total"] == 0
        assert nc.request_json("automation.stats", {"client_id": "x"})["error"]["code"] == \
            "invalid_request"
        assert s["failed_24h"] == 1 and isinstance(s["expired_leases"], int)
        assert len(s["hourly_load"]) == 24 and sum(s["hourly_load"]) >= 3 / 7 - 1e-9
        assert "scheduled" not in s
    finally:
        nc.close()


def test_automation_stats_lists_scheduled_jobs(api, suite):
    """The decision engine's view of the queue: jobs due in a window, every
    client's, earliest first."""
    c, other = new_client(), new_client()
    soon = api.create(c, "menu_sync", scheduled_at=ts(2 * 3600))
    sooner = api.create(other, "health_check", scheduled_at=ts(3600))
    api.create(c, "menu_sync", scheduled_at=ts(30 * 3600))  # beyond the window
    nc = natsclient.Client(suite.nats.url)
    try:
        s = nc.request_json("automation.stats", {"schedule_from": ts(0), "schedule_hours": 24})
        mine = [j for j in s["scheduled"] if j["client_id"] in (c, other)]
        assert [j["job_id"] for j in mine] == [sooner["id"], soon["id"]]
        assert mine[1] == {"job_id": soon["id"], "client_id": c, "job_type": "menu_sync",
                           "at": soon["scheduled_at"]}
        for bad in ({"schedule_from": "soon"}, {"schedule_from": ts(0), "schedule_hours": 0},
                    {"schedule_from": ts(0), "schedule_hours": 337}):
            err = nc.request_json("automation.stats", bad)["error"]
            assert err["code"] == "invalid_request"
    finally:
        nc.close()


def test_jobs_create_over_nats(api, suite):
    nc = natsclient.Client(suite.nats.url)
    try:
        c = new_client()
        j = nc.request_json("jobs.create", {"client_id": c, "job_type": "backup", "priority": 4})
        assert j["status"] == "queued" and j["priority"] == 4
        assert api.job(j["id"])["client_id"] == c
        err = nc.request_json("jobs.create", {"client_id": c, "job_type": "nope"})["error"]
        assert err["code"] == "invalid_request" and err["field"] == "job_type"
        assert nc.request_json("jobs.create", "not json")["error"]["code"] == "invalid_request"
    finally:
        nc.close()


def test_sessions_without_svc_toast_is_503(api, suite):
    suite["svc-toast"].stop()  # the suite fixture starts it again
    err = check_error(api.get("/sessions"), 503, "unavailable")
    assert "svc-toast" in err["message"]
    check_error(api.post(f"/sessions/{new_client()}/terminate"), 503, "unavailable")
    check_error(api.post("/sessions/x/terminate"), 400, "invalid_request")


def test_sessions_relayed_to_svc_toast(api, suite):
    """Every svc-toast replica knows its own sessions: two stand-ins answer,
    the lists are merged and the terminations summed."""
    import threading
    suite["svc-toast"].stop()  # the stand-ins below play it
    c = new_client()
    got = []
    ncs = []

    def stand_in(n):
        nc = natsclient.Client(suite.nats.url, name=f"toast-stand-in-{n}")
        ncs.append(nc)
        _, lq = nc.subscribe("toast.sessions.list")
        _, tq = nc.subscribe("toast.sessions.terminate")

        def answer():
            m = lq.get(timeout=10)
            nc.publish(m.reply, {"sessions": [{"client_id": c, "integration_id": f"i-{n}"}]})
            m = tq.get(timeout=10)
            got.append(m.json())
            nc.publish(m.reply, {"client_id": c, "terminated": 1})

        t = threading.Thread(target=answer, daemon=True)
        t.start()
        return t

    threads = [stand_in(1), stand_in(2)]
    try:
        r = api.get("/sessions")
        assert r.status_code == 200, r.text
        assert sorted(s["integration_id"] for s in r.json()["sessions"]) == ["i-1", "i-2"]
        r = api.post(f"/sessions/{c}/terminate")
        assert r.status_code == 200 and r.json() == {"client_id": c, "terminated": 2}, r.text
        for t in threads:
            t.join(5)
        assert got == [{"client_id": c}, {"client_id": c}]
    finally:
        for nc in ncs:
            nc.close()
