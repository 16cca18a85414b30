"""Real workers (tests/fakes/fake-worker on common/worker) against the queue:
a worker killed mid-job, svc-automation restarted under load, and two
replicas with four workers sharing 2,000 jobs, each completed exactly once."""

import collections
import concurrent.futures
import json
import signal

import pytest
import requests

from harness import Daemon, daemon_env, wait_for
from jobsapi import new_client
from promtext import Metrics


@pytest.fixture
def workers(root, pg, nats):
    made = []

    def start(n=1, **env):
        out = []
        for i in range(n):
            e = {"NATS_URL": nats.url, "LOG_LEVEL": "info", "POLL_MS": "500"}
            e.update({k: str(v) for k, v in env.items()})
            d = Daemon("fake-worker", e, root, label=f"fake-worker-{len(made)}")
            d.start(wait=False)
            d.find_log(lambda l: l.get("msg") == "worker started", timeout=20,
                       what="start line")
            made.append(d)
            out.append(d)
        return out

    yield start
    problems = []
    for d in made:
        if d.alive:
            rc = d.stop()
            if rc not in (0, None):
                problems.append(f"{d.label} exited {rc}")
        rep = d.sanitizer_report()
        if rep:
            problems.append(f"{d.label}: {rep}")
    assert not problems, problems


def done_lines(daemons):
    lines = []
    for d in daemons:
        lines += [l for l in d.log_lines() if l.get("msg") == "fake job done"]
    return lines


def sql_rows(pg, sql):
    out = pg.psql(sql)
    return [r.split("|") for r in out.splitlines() if r]


def no_overlapping_attempts(pg):
    return pg.psql(
        "SELECT count(*) FROM automation.job_attempts a JOIN automation.job_attempts b "
        "ON a.job_id = b.job_id AND a.attempt < b.attempt "
        "AND b.started_at < coalesce(a.finished_at, 'infinity')") == "0"


def test_fake_worker_runs_steps_and_results(api, workers):
    workers(1, WORKER_JOB_TYPES="menu_sync")
    c = new_client()
    j = api.create(c, "menu_sync", config={"steps": 3, "step_ms": 50, "result": {"items": 7}})
    done = api.wait_status(j["id"], "completed")
    assert done["result"] == {"items": 7} and done["progress"] == 100
    f = api.create(c, "menu_sync", config={"fail": "fatal"})
    assert api.wait_status(f["id"], "failed")["error"]["retryable"] is False
    r = api.create(c, "menu_sync", config={"fail_attempts": 1})
    got = api.wait_status(r["id"], "completed", timeout=20)
    assert [a["outcome"] for a in got["attempts"]] == ["failed", "completed"]


def test_cancel_while_running_stops_the_worker(api, workers):
    (w,) = workers(1, WORKER_JOB_TYPES="menu_sync")
    j = api.create(new_client(), "menu_sync", config={"steps": 200, "step_ms": 50})
    wait_for(lambda: api.job(j["id"])["progress"] > 0, 15, "the job to make progress")
    assert api.post(f"/jobs/{j['id']}/cancel").json()["cancel_requested"] is True
    api.wait_status(j["id"], "cancelled", timeout=5)
    line = w.find_log(lambda l: l.get("msg") == "fake job done" and l.get("job_id") == j["id"],
                      timeout=5, what="the worker stopping the job")
    assert line.get("outcome") != "completed", line


def test_worker_killed_mid_job_is_requeued_after_lease(api, workers):
    (a,) = workers(1, WORKER_JOB_TYPES="golden_copy", LEASE_SECONDS=2)
    j = api.create(new_client(), "golden_copy", config={"steps": 20, "step_ms": 100})
    wait_for(lambda: api.job(j["id"])["progress"] > 0, 15, "the job to start")
    first = api.job(j["id"])["worker_id"]
    a.kill()  # SIGKILL: no release, no last word
    # The second worker's lease is long: only the first one's running out is
    # under test, and a busy machine may stall b's renewals for a few seconds.
    (b,) = workers(1, WORKER_JOB_TYPES="golden_copy", LEASE_SECONDS=30)
    done = api.wait_status(j["id"], "completed", timeout=30)
    assert done["attempt"] == 2 and done["worker_id"] != first
    assert [x["outcome"] for x in done["attempts"]] == ["lost", "completed"]
    assert b.find_log(lambda l: l.get("msg") == "fake job done" and l.get("job_id") == j["id"])


def test_worker_stopping_hands_jobs_back(api, workers):
    (a,) = workers(1, WORKER_JOB_TYPES="backup", STOP_TIMEOUT_MS=200)
    j = api.create(new_client(), "backup", config={"hang": True}, max_attempts=1)
    wait_for(lambda: api.job(j["id"])["status"] == "running", 15, "the job to run")
    assert a.stop() == 0
    got = api.job(j["id"])
    assert got["status"] == "queued", got
    assert [x["outcome"] for x in got["attempts"]] == ["released"]
    api.post(f"/jobs/{j['id']}/cancel")


def test_restart_under_load_loses_nothing(api, suite, workers, pg):
    ws = workers(2, WORKER_CONCURRENCY=4, LEASE_SECONDS=3)
    c = new_client()
    ids = [api.create(c, "item_update", config={"steps": 2, "step_ms": 20})["id"]
           for _ in range(200)]
    svc = suite["svc-automation"]
    wait_for(lambda: api.get(f"/jobs?client_id={c}&status=completed").json()["total"] >= 30, 60,
             "some jobs done")
    svc.send(signal.SIGKILL)
    svc.wait_exit(10)
    svc.start()
    wait_for(lambda: api.get(f"/jobs?client_id={c}&status=completed").json()["total"] == 200,
             120, "every job completed")
    assert sql_rows(pg, f"SELECT count(*) FROM automation.jobs WHERE client_id = '{c}' "
                        "AND status = 'running'") == [["0"]]
    rows = sql_rows(pg, "SELECT a.job_id, count(*) FILTER (WHERE a.outcome = 'completed') "
                        "FROM automation.job_attempts a JOIN automation.jobs j ON j.id = a.job_id "
                        f"WHERE j.client_id = '{c}' GROUP BY a.job_id")
    assert len(rows) == 200 and all(n == "1" for _, n in rows), rows[:5]
    assert no_overlapping_attempts(pg)
    assert set(ids) == {r[0] for r in rows}
    assert ws[0].alive and ws[1].alive


def test_two_replicas_four_workers_2000_jobs(api, suite, spawn, workers, pg):
    one = suite["svc-automation"]
    two = spawn("svc-automation", env={"LOG_LEVEL": "info"})
    ws = workers(4, WORKER_CONCURRENCY=4)
    c = new_client()
    headers = {"X-Internal-Token": suite.token, "Content-Type": "application/json"}

    def create(i):
        base = (one if i % 2 else two).url
        r = requests.post(base + "/api/automation/jobs", headers=headers, timeout=10,
                          data=json.dumps({"client_id": c, "job_type": "menu_sync"}))
        assert r.status_code == 201, r.text
        return r.json()["id"]

    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        ids = set(ex.map(create, range(2000)))
    assert len(ids) == 2000
    wait_for(lambda: api.get(f"/jobs?client_id={c}&status=completed").json()["total"] == 2000,
             240, "2000 jobs completed")
    rows = sql_rows(pg, "SELECT a.job_id, count(*), count(*) FILTER (WHERE a.outcome = "
                        "'completed') FROM automation.job_attempts a JOIN automation.jobs j "
                        f"ON j.id = a.job_id WHERE j.client_id = '{c}' GROUP BY a.job_id")
    assert {r[0] for r in rows} == ids
    assert all(r[2] == "1" for r in rows), [r for r in rows if r[2] != "1"][:5]
    assert no_overlapping_attempts(pg)
    runs = collections.Counter(l["job_id"] for l in done_lines(ws) if l["job_id"] in ids)
    assert set(runs) == ids and max(runs.values()) == 1, runs.most_common(3)
    # Both replicas handed out work.
    per = {d.label: sum(1 for l in d.log_lines() if l.get("msg") == "job running"
                        and l.get("client_id") == c) for d in (one, two)}
    assert all(v > 0 for v in per.values()), per


def test_writes_arriving_together_share_a_statement(api, suite, workers, pg):
    """Many new jobs and completions at once: svc-automation writes those that
    arrive together with one statement (job_store_batch_writes says so), and
    every job is still created once, with its own id, and completed once."""
    auto = suite["svc-automation"]
    ws = workers(2, WORKER_CONCURRENCY=16, WORKER_JOB_TYPES="backup")
    c = new_client()
    headers = {"X-Internal-Token": suite.token, "Content-Type": "application/json"}

    def batches():
        m = Metrics(requests.get(auto.url + "/metrics", timeout=5).text)
        return {k: (m.get("job_store_batch_writes_count", kind=k) or 0,
                    m.get("job_store_batch_writes_sum", kind=k) or 0)
                for k in ("create", "complete")}

    before = batches()

    def create(i):
        r = requests.post(auto.url + "/api/automation/jobs", headers=headers, timeout=20,
                          data=json.dumps({"client_id": c, "job_type": "backup",
                                           "priority": 1 + i % 5, "config": {"n": i}}))
        assert r.status_code == 201, r.text
        job = r.json()
        assert job["config"] == {"n": i} and job["priority"] == 1 + i % 5, job
        return job["id"]

    with concurrent.futures.ThreadPoolExecutor(48) as ex:
        ids = list(ex.map(create, range(1200)))
    assert len(set(ids)) == 1200
    wait_for(lambda: api.get(f"/jobs?client_id={c}&status=completed").json()["total"] == 1200,
             120, "1200 jobs completed")
    rows = sql_rows(pg, "SELECT count(*), count(DISTINCT j.id), "
                        "count(*) FILTER (WHERE a.outcome = 'completed') "
                        "FROM automation.jobs j JOIN automation.job_attempts a ON a.job_id = j.id "
                        f"WHERE j.client_id = '{c}'")
    assert rows == [["1200", "1200", "1200"]], rows
    assert no_overlapping_attempts(pg)
    runs = collections.Counter(l["job_id"] for l in done_lines(ws) if l["job_id"] in set(ids))
    assert len(runs) == 1200 and max(runs.values()) == 1, runs.most_common(3)
    after = batches()
    for kind in ("create", "complete"):
        statements = after[kind][0] - before[kind][0]
        writes = after[kind][1] - before[kind][1]
        assert writes >= 1200, (kind, writes)
        assert statements < writes, f"{kind}: {writes} writes took {statements} statements"
