"""svc-intelligence's event consumers (issue 6) against the real daemons:
job outcomes of real job runs move automation_success, svc-toast's health
checks move system_stability, sync runs, provider usage and activity
published on NATS are stored once; nothing is lost or counted twice across a
restart of svc-intelligence or an outage of PostgreSQL; a malformed event
does not hold up the ones after it.

Scores recomputed after events are read from client_health_scores (the
newest row), never computed by the test's own request, so these tests see
the recompute that the events caused."""

import json
import secrets
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from harness import http, wait_for
from natsclient import Client
from promtext import Metrics

WAIT = 30  # seconds for an event to be stored and the score recomputed


def ago(**kw):
    t = datetime.now(timezone.utc) - timedelta(**kw)
    return t.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


class Intel:
    def __init__(self, gateway_url, headers):
        self.base = gateway_url + "/api/intelligence"
        self.headers = headers

    def ok(self, method, path, status=200, **kw):
        r = http(method, self.base + path, headers=self.headers, timeout=15, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:400]}"
        return r.json()

    def client(self):
        return self.ok("POST", "/clients", 201, json={"name": "Bistro " + secrets.token_hex(4)})


@pytest.fixture
def intel(suite, tokens):
    return Intel(suite.gateway.url, tokens.headers("admin"))


@pytest.fixture
def bus(suite):
    c = Client(suite.nats.url, name="e2e-events")
    yield c
    c.close()


def q(suite, sql):
    return suite.pg.psql(sql)


def count(suite, table, where):
    return int(q(suite, f"SELECT count(*) FROM intelligence.{table} WHERE {where}"))


def stored_score(suite, cid):
    """The newest stored score of cid: {overall_score, health_status, factors}, or None."""
    out = q(suite, "SELECT json_build_object('overall_score', overall_score, 'health_status', "
                   "health_status, 'factors', factors) FROM intelligence.client_health_scores "
                   f"WHERE client_id = '{cid}' ORDER BY computed_at DESC, id DESC LIMIT 1")
    return json.loads(out) if out else None


def wait_factor(suite, cid, name, pred, what):
    """The newest stored score once its factor `name` satisfies pred."""
    return wait_score(suite, cid, lambda s: pred(s["factors"][name]), what)


def wait_score(suite, cid, pred, what):
    """The newest stored score once it satisfies pred."""
    def look():
        s = stored_score(suite, cid)
        return s if s and pred(s) else None
    return wait_for(look, WAIT, what, interval=0.2)


def publish(bus, subject, payload):
    bus.publish(subject, payload if isinstance(payload, (bytes, str)) else json.dumps(payload))


def activity(cid, eid=None, **over):
    ev = {"type": "activity", "id": eid or str(uuid.uuid4()), "client_id": cid, "actor": "ann",
          "action": "order", "occurred_at": ago(minutes=5), "details": {"n": 1}}
    ev.update(over)
    return ev


def sync_run(cid, run_id, status="completed", **over):
    ev = {"type": "sync_run", "run_id": run_id, "source_type": "pos", "client_id": cid,
          "status": status, "counts": {"items": 3}, "finished_at": ago(minutes=10)}
    ev.update(over)
    return ev


def job_update(cid, job_id, status, seq, **over):
    ev = {"type": "job_update", "job_id": job_id, "client_id": cid, "job_type": "menu_sync",
          "status": status, "progress": 100 if status == "completed" else 0, "attempt": 1,
          "error": {"message": "it broke"} if status == "failed" else None,
          "updated_at": ago(minutes=seq), "seq": seq}
    ev.update(over)
    return ev


def activity_total(intel, cid):
    return intel.ok("GET", f"/clients/{cid}/activity")["total"]


# ---------------------------------------------------------------- real producers


@pytest.fixture
def fake_worker(spawn):
    d = spawn("fake-worker", env={"LOG_LEVEL": "info", "POLL_MS": "500",
                                  "WORKER_JOB_TYPES": "menu_sync"}, start=False)
    d.start(wait=False)
    d.find_log(lambda l: l.get("msg") == "worker started", timeout=20, what="start line")
    return d


def test_job_runs_move_automation_success(api, fake_worker, intel, suite):
    cid = intel.client()["id"]
    ok = [api.create(cid, "menu_sync", config={"steps": 1, "step_ms": 10}) for _ in range(3)]
    bad = api.create(cid, "menu_sync", config={"fail": "fatal"})
    for j in ok:
        api.wait_status(j["id"], "completed")
    api.wait_status(bad["id"], "failed")
    # all four in the last 7 days (weight 2): 3 / 4 = 75
    s = wait_factor(suite, cid, "automation_success",
                    lambda f: f["status"] == "ok" and f["details"]["jobs_failed_30d"] == 1
                    and f["details"]["jobs_completed_30d"] == 3,
                    "automation_success from the job events")
    f = s["factors"]["automation_success"]
    assert f["score"] == 75 and f["details"]["jobs_failed_7d"] == 1, f
    # one row per job, whatever the number of events each job made
    assert count(suite, "job_outcomes", f"client_id = '{cid}'") == 4
    assert q(suite, "SELECT status FROM intelligence.job_outcomes "
                    f"WHERE job_id = '{bad['id']}'") == "failed"
    # the score on request agrees
    h = intel.ok("GET", f"/clients/{cid}/health")
    assert h["factors"]["automation_success"]["score"] == 75


def test_health_checks_move_system_stability(toast, fake_toast, intel, suite):
    cid = intel.client()["id"]
    i, body = toast.create(client_id=cid)
    for _ in range(2):
        r = toast.post(f"/integrations/{i['id']}/health-check", timeout=30)
        assert r.status_code == 200 and r.json()["status"] == "healthy", r.text
    s = wait_factor(suite, cid, "system_stability",
                    lambda f: f["status"] == "ok" and f["details"]["checks_30d"] == 2,
                    "system_stability from two healthy checks")
    assert s["factors"]["system_stability"]["score"] == 100
    fake_toast.control(body["toast_guid"], fail_500=1)
    r = toast.post(f"/integrations/{i['id']}/health-check", timeout=30)
    assert r.status_code == 200 and r.json()["status"] == "unhealthy", r.text
    # 2 healthy of 3: 66.67, minus 10 for the integration unhealthy now
    s = wait_factor(suite, cid, "system_stability",
                    lambda f: f["details"]["checks_30d"] == 3, "the unhealthy check")
    f = s["factors"]["system_stability"]
    assert (f["score"], f["details"]["integrations_unhealthy_now"]) == (57, 1), f
    assert count(suite, "integration_checks", f"integration_id = '{i['id']}'") == 3


# ---------------------------------------------------------------- events on NATS


def test_published_events_are_stored_once(bus, intel, suite):
    d = suite["svc-intelligence"]
    mark = d.mark()
    cid = intel.client()["id"]
    run_id, business = "run-" + secrets.token_hex(6), "biz-" + secrets.token_hex(6)
    entry = str(uuid.uuid4())
    # a malformed event first on each subject: it must not hold up the rest
    publish(bus, "events.activity." + cid, "{not json")
    publish(bus, "events.sync.run.pos", {"type": "sync_run", "run_id": run_id})
    usage = {"type": "provider_usage", "business_id": business, "client_id": cid,
             "provider": "openai", "period": "2026-09", "tokens": 1200, "requests": 12,
             "cost": "0.3600", "budget": "50.00", "reported_at": ago(minutes=1)}
    publish(bus, "events.embedding.usage." + business, dict(usage, tokens=-1))
    for _ in range(2):  # the same entry twice: one row
        publish(bus, "events.activity." + cid, activity(cid, entry))
    publish(bus, "events.sync.run.pos", sync_run(cid, run_id, "failed", error="upstream 500"))
    publish(bus, "events.sync.run.pos", sync_run(cid, run_id, "failed", error="upstream 500"))
    publish(bus, "events.embedding.usage." + business, usage)
    # an older report of the same period arrives late: the newer one stays
    publish(bus, "events.embedding.usage." + business,
            dict(usage, tokens=5, requests=1, cost="0.0100", reported_at=ago(hours=1)))
    # sentinels: once stored, everything before them on their consumer was handled
    last = str(uuid.uuid4())
    publish(bus, "events.activity." + cid, activity(cid, last))
    publish(bus, "events.sync.run.pos", sync_run(cid, run_id + "-b", "completed"))
    publish(bus, "events.embedding.usage." + business, dict(usage, provider="voyage"))

    wait_for(lambda: count(suite, "activity_log", f"id = '{last}'") == 1, WAIT, "the last entry")
    wait_for(lambda: count(suite, "sync_runs", f"run_id = '{run_id}-b'") == 1, WAIT, "last run")
    wait_for(lambda: count(suite, "provider_usage",
                           f"business_id = '{business}' AND provider = 'voyage'") == 1,
             WAIT, "the last usage report")
    page = intel.ok("GET", f"/clients/{cid}/activity")
    assert page["total"] == 2 and {a["id"] for a in page["items"]} == {entry, last}, page
    assert page["items"][0]["details"] == {"n": 1}
    assert count(suite, "sync_runs", f"run_id = '{run_id}'") == 1
    assert q(suite, "SELECT status || ' ' || error FROM intelligence.sync_runs "
                    f"WHERE run_id = '{run_id}'") == "failed upstream 500"
    assert q(suite, "SELECT tokens || ' ' || requests || ' ' || cost || ' ' || budget "
                    "FROM intelligence.provider_usage "
                    f"WHERE business_id = '{business}' AND provider = 'openai'") \
        == "1200 12 0.3600 50.00"
    # one failed and one completed run: (0 + 100) / 2
    s = wait_score(suite, cid,
                   lambda s: s["factors"]["system_stability"]["status"] == "ok"
                   and s["factors"]["system_stability"]["details"]["sync_runs_30d"] == 2
                   and s["factors"]["engagement"]["details"].get("activities_30d") == 2,
                   "a score from both runs and both entries")
    f = s["factors"]["system_stability"]
    assert (f["score"], f["details"]["sync_runs_failed"]) == (50, 1), f
    # the malformed ones were logged, by field, and dropped
    bad = [l for l in d.log_lines(mark) if l.get("msg") == "malformed event dropped"]
    assert {l["kind"] for l in bad} >= {"activity", "sync", "usage"}, bad
    assert any("tokens" in l["error"] for l in bad if l["kind"] == "usage"), bad


def test_an_activity_of_an_unknown_client_is_dropped(bus, intel, suite):
    d = suite["svc-intelligence"]
    mark = d.mark()
    stranger, cid = str(uuid.uuid4()), intel.client()["id"]
    publish(bus, "events.activity." + stranger, activity(stranger))
    last = str(uuid.uuid4())
    publish(bus, "events.activity." + cid, activity(cid, last))
    wait_for(lambda: count(suite, "activity_log", f"id = '{last}'") == 1, WAIT, "the next entry")
    assert count(suite, "activity_log", f"client_id = '{stranger}'") == 0
    assert any(l.get("msg") == "event dropped" and l.get("reason") == "unknown client"
               for l in d.log_lines(mark))


def test_nothing_lost_or_counted_twice_across_a_restart(bus, intel, suite):
    d = suite["svc-intelligence"]
    cid = intel.client()["id"]
    a, b = str(uuid.uuid4()), str(uuid.uuid4())
    entries = [str(uuid.uuid4()) for _ in range(3)]
    assert d.stop() == 0
    # while svc-intelligence is down: a job completed after failing once
    # (seq 4 wins over the late seq 2), another failed, three activity
    # entries, one of them twice, and a malformed event in between
    publish(bus, f"events.job.{cid}.{a}", job_update(cid, a, "running", 1))
    publish(bus, f"events.job.{cid}.{a}", job_update(cid, a, "completed", 4))
    publish(bus, f"events.job.{cid}.{a}", job_update(cid, a, "failed", 2))
    publish(bus, f"events.job.{cid}.{b}", job_update(cid, b, "failed", 3))
    publish(bus, f"events.job.{cid}.{b}", b"\xff\xfe not utf-8")
    for e in entries + entries[:1]:
        publish(bus, "events.activity." + cid, activity(cid, e))
    bus.flush()
    d.start()
    wait_for(lambda: activity_total(intel, cid) == 3, WAIT, "the three entries")
    s = wait_factor(suite, cid, "automation_success",
                    lambda f: f["status"] == "ok" and f["details"]["jobs_completed_30d"]
                    + f["details"]["jobs_failed_30d"] == 2, "both job outcomes")
    f = s["factors"]["automation_success"]
    assert (f["details"]["jobs_completed_30d"], f["details"]["jobs_failed_30d"]) == (1, 1), f
    assert f["score"] == 50
    assert q(suite, f"SELECT status || ' ' || seq FROM intelligence.job_outcomes "
                    f"WHERE job_id = '{a}'") == "completed 4"

    # everything again after a second restart: the same facts, nothing more
    assert d.stop() == 0
    for e in entries:
        publish(bus, "events.activity." + cid, activity(cid, e))
    publish(bus, f"events.job.{cid}.{b}", job_update(cid, b, "failed", 3))
    last = str(uuid.uuid4())
    publish(bus, "events.activity." + cid, activity(cid, last))
    bus.flush()
    d.start()
    wait_for(lambda: count(suite, "activity_log", f"id = '{last}'") == 1, WAIT, "the sentinel")
    assert activity_total(intel, cid) == 4
    assert count(suite, "job_outcomes", f"client_id = '{cid}'") == 2
    h = intel.ok("GET", f"/clients/{cid}/health")
    assert h["factors"]["automation_success"]["score"] == 50
    assert h["factors"]["engagement"]["details"]["activities_30d"] == 4


def test_an_event_waits_out_a_database_outage(bus, intel, suite):
    d = suite["svc-intelligence"]
    cid = intel.client()["id"]
    mark = d.mark()
    suite.pg.stop()
    entry = str(uuid.uuid4())
    publish(bus, "events.activity." + cid, activity(cid, entry))
    d.find_log(lambda l: l.get("msg", "").startswith("event not stored")
               and l.get("kind") == "activity", timeout=WAIT, since=mark,
               what="the event refused while PostgreSQL is down")
    suite.pg.start()
    wait_for(lambda: count(suite, "activity_log", f"id = '{entry}'") == 1, 60,
             "the entry once PostgreSQL is back")


def handled(d, outcome):
    """The activity events d has handled with outcome, from its /metrics."""
    m = Metrics(http("GET", d.url + "/metrics").text)
    return sum(v for labels, v in m.series("intelligence_events_total")
               if labels.get("kind") == "activity" and labels.get("outcome") == outcome)


def test_two_replicas_share_the_consumers(bus, intel, suite, spawn):
    d, other = suite["svc-intelligence"], spawn("svc-intelligence")
    other.find_log(lambda l: l.get("msg") == "consuming events"
                   and l.get("durable") == "svc-intelligence-activity", timeout=WAIT,
                   what="the second replica consuming")
    both = (d, other)
    before = {x.label: (handled(x, "stored"), handled(x, "duplicate")) for x in both}
    cid = intel.client()["id"]
    ids = [str(uuid.uuid4()) for _ in range(40)]
    for e in ids + ids:  # each entry twice
        publish(bus, "events.activity." + cid, activity(cid, e))

    def delta():
        got = {x.label: (handled(x, "stored") - before[x.label][0],
                         handled(x, "duplicate") - before[x.label][1]) for x in both}
        return got if sum(s + u for s, u in got.values()) == 80 else None
    got = wait_for(delta, WAIT, "all 80 messages handled by the two replicas", interval=0.2)
    assert sum(s for s, _ in got.values()) == 40 and sum(u for _, u in got.values()) == 40, got
    assert all(s + u > 0 for s, u in got.values()), f"one replica got nothing: {got}"
    assert activity_total(intel, cid) == 40


def test_a_burst_of_events_gives_one_recompute(bus, intel, suite):
    """SCORE_DEBOUNCE_MS (2 s here): ten entries published at once give one
    stored score; one more entry later gives one more."""
    cid = intel.client()["id"]
    for _ in range(10):
        publish(bus, "events.activity." + cid, activity(cid))
    wait_score(suite, cid, lambda s: s["factors"]["engagement"]["details"].get(
        "activities_30d") == 10, "the score after the burst")
    publish(bus, "events.activity." + cid, activity(cid))
    wait_score(suite, cid, lambda s: s["factors"]["engagement"]["details"].get(
        "activities_30d") == 11, "the score after one more entry")
    assert count(suite, "client_health_scores", f"client_id = '{cid}'") == 2
