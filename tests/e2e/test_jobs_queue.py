"""The queue's rules, decided in PostgreSQL: priority order, dependencies,
schedules, leases, retries with back-off, release, events and metrics."""

import time

import pytest

import natsclient
from harness import wait_for
from jobsapi import new_client, ts
from promtext import Metrics


def test_priority_then_age(api, worker):
    c = new_client()
    made = {}
    for name, prio in [("p3a", 3), ("p5", 5), ("p1a", 1), ("p3b", 3), ("p1b", 1), ("p2", 2)]:
        made[api.create(c, "item_create", priority=prio)["id"]] = name
    order = [made[worker.claim_one(types=("item_create",))["id"]] for _ in range(6)]
    assert order == ["p1a", "p1b", "p2", "p3a", "p3b", "p5"]
    assert worker.claim(types=("item_create",)) == []


def test_claim_only_asked_types_and_max(api, worker):
    c = new_client()
    for _ in range(3):
        api.create(c, "item_update")
    api.create(c, "modifier_sync")
    jobs = worker.claim(types=("item_update",), max=2)
    assert len(jobs) == 2 and all(j["job_type"] == "item_update" for j in jobs)
    for key in ("id", "job_type", "client_id", "config", "attempt", "lease_expires_at"):
        assert key in jobs[0]
    assert [j["job_type"] for j in worker.claim(types=("modifier_sync", "item_update"), max=5)] \
        .count("item_update") == 1


@pytest.mark.parametrize("body", [
    {"job_types": ["menu_sync"], "max": 1, "lease_seconds": 30},
    {"worker_id": "w", "job_types": [], "max": 1, "lease_seconds": 30},
    {"worker_id": "w", "job_types": ["nope"], "max": 1, "lease_seconds": 30},
    {"worker_id": "w", "job_types": ["menu_sync"], "max": 0, "lease_seconds": 30},
    {"worker_id": "w", "job_types": ["menu_sync"], "max": 1, "lease_seconds": 0},
])
def test_claim_rejects_bad_requests(suite, body):
    nc = natsclient.Client(suite.nats.url)
    try:
        assert nc.request_json("jobs.claim", body)["error"]["code"] == "invalid_request"
    finally:
        nc.close()


def test_dependency_chain(api, worker):
    c = new_client()
    a = api.create(c, "menu_build")
    b = api.create(c, "menu_build", depends_on=[a["id"]])
    d = api.create(c, "menu_build", depends_on=[b["id"]])
    assert b["status"] == "pending" and d["status"] == "pending"
    assert api.job(d["id"])["dependencies"] == [{"job_id": b["id"], "status": "pending"}]
    for want in (a, b, d):
        job = worker.claim_one(types=("menu_build",))
        assert job["id"] == want["id"], "a job ran before its dependency completed"
        assert worker.claim(types=("menu_build",)) == []
        worker.complete(job)
    assert api.job(d["id"])["status"] == "completed"


def test_dependency_failure_fails_the_chain(api, worker):
    c = new_client()
    a = api.create(c, "menu_build", max_attempts=1)
    b = api.create(c, "menu_build", depends_on=[a["id"]])
    d = api.create(c, "menu_build", depends_on=[b["id"]])
    job = worker.claim_one(types=("menu_build",))
    worker.fail(job, "no menu", retryable=False)
    jb, jd = api.job(b["id"]), api.job(d["id"])
    assert jb["status"] == "failed" and a["id"] in jb["error"]["message"]
    assert jd["status"] == "failed" and b["id"] in jd["error"]["message"]
    # A job created on a failed dependency fails at once, naming it.
    late = api.create(c, "menu_build", depends_on=[a["id"]])
    assert late["status"] == "failed" and a["id"] in late["error"]["message"]
    # Retrying a dependent of a failed job is refused until that job is retried.
    assert api.post(f"/jobs/{b['id']}/retry").status_code == 409


def test_cancelled_dependency_fails_dependents(api):
    c = new_client()
    a = api.create(c, "menu_build")
    b = api.create(c, "menu_build", depends_on=[a["id"]])
    api.post(f"/jobs/{a['id']}/cancel")
    jb = api.job(b["id"])
    assert jb["status"] == "failed" and "cancelled" in jb["error"]["message"]
    assert a["id"] in jb["error"]["message"]


def test_two_dependencies(api, worker):
    c = new_client()
    a, b = api.create(c, "menu_build"), api.create(c, "menu_build")
    d = api.create(c, "menu_build", depends_on=[a["id"], b["id"]])
    j1 = worker.claim_one(types=("menu_build",))
    j2 = worker.claim_one(types=("menu_build",))
    worker.complete(j1)
    assert api.job(d["id"])["status"] == "pending"
    worker.complete(j2)
    assert api.job(d["id"])["status"] == "queued"


def test_scheduled_job_waits(api, worker):
    c = new_client()
    j = api.create(c, "health_check", scheduled_at=ts(1.5))
    assert j["status"] == "pending"
    assert worker.claim(types=("health_check",)) == []
    job = worker.claim_one(types=("health_check",), timeout=10)
    assert job["id"] == j["id"]
    got = api.job(j["id"])
    assert got["started_at"] >= got["scheduled_at"]


def test_retry_with_backoff_then_final_failure(api, worker):
    j = api.create(new_client(), "golden_copy", max_attempts=3)
    times = []
    for attempt in (1, 2, 3):
        job = worker.claim_one(types=("golden_copy",), timeout=20)
        times.append(time.monotonic())
        assert job["attempt"] == attempt
        worker.fail(job, f"flaky {attempt}", retryable=True)
        state = api.job(j["id"])
        if attempt < 3:
            assert state["status"] == "queued" and state["run_after"] is not None
            assert state["error"]["message"] == f"flaky {attempt}"
    assert api.job(j["id"])["status"] == "failed"
    # 2 s then 4 s, each with +-20% jitter (claims may come up to a poll later).
    assert 1.5 <= times[1] - times[0] <= 4.5, times
    assert 3.1 <= times[2] - times[1] <= 7.0, times
    outcomes = [a["outcome"] for a in api.job(j["id"])["attempts"]]
    assert outcomes == ["failed", "failed", "failed"]


def test_non_retryable_fails_at_once(api, worker):
    j = api.create(new_client(), "golden_copy", max_attempts=5)
    worker.fail(worker.claim_one(types=("golden_copy",)), "bad input", retryable=False)
    got = api.job(j["id"])
    assert got["status"] == "failed" and got["attempt"] == 1
    assert got["duration_seconds"] is not None


def test_lease_expiry_requeues_and_records_lost(api, worker):
    j = api.create(new_client(), "modifier_sync")
    first = worker.claim_one(types=("modifier_sync",), lease=1)
    second = worker.claim_one(types=("modifier_sync",), timeout=10)
    assert second["id"] == j["id"] and second["attempt"] == 2
    assert worker.progress(first, 10)["ok"] is False, "the lost attempt may still report"
    worker.complete(second)
    got = api.job(j["id"])
    assert got["status"] == "completed"
    assert [a["outcome"] for a in got["attempts"]] == ["lost", "completed"]


def test_progress_renews_the_lease(api, worker):
    j = api.create(new_client(), "modifier_sync")
    job = worker.claim_one(types=("modifier_sync",), lease=2)
    end = time.monotonic() + 5
    while time.monotonic() < end:
        assert worker.progress(job)["ok"] is True
        time.sleep(0.5)  # the worker's own pace, well inside the lease
    r = worker.progress(job, 50, "half")
    assert r == {"ok": True, "cancel_requested": False}
    got = api.job(j["id"])
    assert got["status"] == "running" and got["progress"] == 50
    assert got["progress_message"] == "half"
    worker.complete(job)


def test_release_hands_back_without_using_an_attempt(api, worker):
    j = api.create(new_client(), "report_generation", max_attempts=1)
    job = worker.claim_one(types=("report_generation",))
    assert worker.release(job) == {"ok": True}
    again = worker.claim_one(types=("report_generation",))
    assert again["id"] == j["id"] and again["attempt"] == 2
    worker.fail(again, "x", retryable=True)
    got = api.job(j["id"])
    assert got["status"] == "failed", "the released attempt should not count, the failed one does"
    assert [a["outcome"] for a in got["attempts"]] == ["released", "failed"]


def test_complete_can_claim_the_next_jobs(api, worker):
    c = new_client()
    first = api.create(c, "golden_copy", priority=1)
    second = api.create(c, "golden_copy", priority=2)
    third = api.create(c, "golden_copy", priority=3)
    job = worker.claim_one(types=("golden_copy",))
    assert job["id"] == first["id"]
    claim = {"worker_id": worker.id, "job_types": ["golden_copy"], "max": 1, "lease_seconds": 30}
    r = worker.nc.request_json("jobs.complete", {"job_id": job["id"], "attempt": job["attempt"],
                                                 "status": "completed", "result": {},
                                                 "claim": claim})
    assert [j["id"] for j in r["jobs"]] == [second["id"]], r
    assert api.job(first["id"])["status"] == "completed"
    nxt = api.job(second["id"])
    assert nxt["status"] == "running" and nxt["worker_id"] == worker.id
    assert [a["outcome"] for a in nxt["attempts"]] == ["running"]
    # A completion that is refused (a stale attempt) claims nothing.
    r = worker.nc.request_json("jobs.complete", {"job_id": job["id"], "attempt": job["attempt"],
                                                 "status": "completed", "result": {},
                                                 "claim": claim})
    assert "jobs" not in r or r["jobs"] == [], r
    assert api.job(third["id"])["status"] == "queued"
    # A bad claim is refused as jobs.claim refuses it, and completes nothing.
    r = worker.nc.request_json("jobs.complete", {"job_id": second["id"], "attempt": 1,
                                                 "status": "completed", "result": {},
                                                 "claim": dict(claim, max=0)})
    assert "error" in r, r
    assert api.job(second["id"])["status"] == "running"


def test_events_in_order_on_jetstream_subjects(api, worker, suite):
    nc = natsclient.Client(suite.nats.url)
    try:
        c = new_client()
        _, q = nc.subscribe(f"events.job.{c}.>")
        j = api.create(c, "backup")
        job = worker.claim_one(types=("backup",))
        worker.progress(job, 30, "a")
        worker.progress(job, 60, "b")
        worker.complete(job)
        seen = []

        def all_seen():
            while not q.empty():
                seen.append(q.get().json())
            return len(seen) >= 5
        wait_for(all_seen, 10, "five job events")
        assert [(e["status"], e["progress"]) for e in seen] == [
            ("queued", 0), ("running", 0), ("running", 30), ("running", 60), ("completed", 100)]
        assert [e["seq"] for e in seen] == sorted(e["seq"] for e in seen)
        assert all(e["type"] == "job_update" and e["job_id"] == j["id"] for e in seen)
        for key in ("client_id", "job_type", "attempt", "error", "updated_at"):
            assert key in seen[0]
    finally:
        nc.close()


def test_workers_are_woken(api, suite):
    nc = natsclient.Client(suite.nats.url)
    try:
        _, q = nc.subscribe("jobs.ready.classification")
        api.create(new_client(), "classification")
        m = q.get(timeout=5)
        assert m.json()["job_type"] == "classification"
    finally:
        nc.close()


def test_job_metrics(api, worker, suite):
    j = api.create(new_client(), "item_create")
    job = worker.claim_one(types=("item_create",))
    worker.complete(job)
    text = __import__("requests").get(suite["svc-automation"].url + "/metrics", timeout=5).text
    m = Metrics(text)
    assert m.get("jobs_total", job_type="item_create", status="completed") >= 1
    assert m.get("job_duration_seconds_count", job_type="item_create") >= 1
    assert m.get("job_claim_latency_seconds_count") >= 1
    depth = {lab.get("status") for lab, _ in m.series("job_queue_depth")}
    assert depth == {"pending", "queued", "running"}, depth
    assert m.series("ws_connections") and m.series("ws_messages_sent_total")
    assert j["id"]
