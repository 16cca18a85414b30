"""svc-intelligence's scheduling decisions through the gateway (issue 6):
POST /decide kept and listed, preferred times honoured in the client's time
zone, bad input (400, 404, 422), the daily schedule recommendations, who may
do what, deciding while the job queue does not answer, and the optional
rephrasing by an OpenAI-compatible endpoint (tests/fakes/fake-llm).

Every decision here passes a fixed `now`, so its slot is exact."""

import re
import secrets
from datetime import datetime, timedelta, timezone
import subprocess
import sys
import uuid

import pytest

import harness
from harness import REPO, check_error, free_port, http, is_rfc3339, wait_for

FAKE_LLM = REPO / "tests" / "fakes" / "fake-llm" / "server.py"
NOW = "2026-09-21T12:00:00Z"  # Monday, 08:00 in New York
HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


class Intel:
    """/api/intelligence through the gateway, as one role."""

    def __init__(self, gateway_url, headers):
        self.base = gateway_url + "/api/intelligence"
        self.headers = headers

    def req(self, method, path, headers=None, **kw):
        return http(method, self.base + path, headers={**self.headers, **(headers or {})},
                    timeout=15, **kw)

    def ok(self, method, path, status=200, **kw):
        r = self.req(method, path, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:400]}"
        return r.json()

    def client(self, **body):
        body.setdefault("name", "Bistro " + secrets.token_hex(4))
        return self.ok("POST", "/clients", 201, json=body)

    def decide(self, status=201, **body):
        body.setdefault("context", "e2e")
        body.setdefault("now", NOW)
        if body["now"] is None:  # the service's clock
            del body["now"]
        return self.ok("POST", "/decide", status, json=body)


@pytest.fixture
def intel(suite, tokens):
    return Intel(suite.gateway.url, tokens.headers("admin"))


def check_decision(d):
    assert d["decision"] in ("schedule", "run_now", "defer")
    assert is_rfc3339(d["scheduled_for"]) and 0 <= d["confidence"] <= 1
    assert isinstance(d["reasoning"], str) and d["reasoning"]
    assert 3 <= len(d["alternatives"]) <= 5
    for a in d["alternatives"]:
        assert is_rfc3339(a["scheduled_for"]) and a["scheduled_for"] != d["scheduled_for"]
        assert a["score"] <= d["score"] and a["reasoning"]
    assert isinstance(d["risk_factors"], list) and isinstance(d["recommended_actions"], list)
    assert isinstance(d["load_data"], bool)
    if not d["load_data"]:
        assert "automation.stats did not answer" in d["reasoning"]


# ---------------------------------------------------------------- decisions


def test_decision_kept_and_listed(intel, tokens):
    c = intel.client(timezone="America/New_York")
    d = intel.decide(client_id=c["id"], job_type="menu_sync", duration_minutes=45,
                     constraints={"preferred_times": ["09:00"], "avoid_times": ["22:00-02:00"]})
    check_decision(d)
    assert d["scheduled_for"] == "2026-09-21T13:00:00.000Z"
    assert d["local_time"] == "2026-09-21T09:00:00-04:00" and d["timezone"] == "America/New_York"
    assert "at the preferred time 09:00" in d["reasoning"]
    assert uuid.UUID(d["id"]) and d["client_id"] == c["id"] and d["job_type"] == "menu_sync"
    assert d["context"] == "e2e" and is_rfc3339(d["decided_at"])
    assert d["requested_by"] == tokens.user("admin")["id"]
    assert d["request"]["constraints"]["preferred_times"] == ["09:00"]
    assert d["load_data"] is True  # automation.stats answered with hourly_load

    assert intel.ok("GET", f"/decisions/{d['id']}") == d
    other = intel.decide(client_id=c["id"], job_type="health_check")
    page = intel.ok("GET", f"/decisions?client_id={c['id']}")
    assert page["total"] == 2 and [x["id"] for x in page["items"]] == [other["id"], d["id"]]
    page = intel.ok("GET", f"/decisions?client_id={c['id']}&job_type=menu_sync")
    assert [x["id"] for x in page["items"]] == [d["id"]]
    page = intel.ok("GET", f"/decisions?client_id={c['id']}&limit=1&offset=1")
    assert page["total"] == 2 and [x["id"] for x in page["items"]] == [d["id"]]
    assert intel.ok("GET", f"/decisions?client_id={c['id']}&since=2999-01-01T00:00:00Z")[
        "total"] == 0
    check_error(intel.req("GET", f"/decisions/{uuid.uuid4()}"), 404, "not_found")
    check_error(intel.req("GET", "/decisions/nope"), 400, "invalid_request")
    check_error(intel.req("GET", "/decisions?since=yesterday"), 400, "invalid_request")
    check_error(intel.req("GET", "/decisions?job_type=laundry"), 400, "invalid_request")


def test_preferred_time_in_client_timezone(intel):
    # London falls back on 2026-10-25: 01:30 happens twice, as two UTC slots.
    lon = intel.client(timezone="Europe/London")
    d = intel.decide(client_id=lon["id"], now="2026-10-24T23:00:00Z",
                     constraints={"preferred_times": ["01:30"]})
    assert (d["scheduled_for"], d["local_time"]) == ("2026-10-25T00:30:00.000Z",
                                                     "2026-10-25T01:30:00+01:00")
    d = intel.decide(client_id=lon["id"], now="2026-10-24T23:00:00Z",
                     constraints={"preferred_times": ["01:30"],
                                  "not_before": "2026-10-25T00:45:00Z"})
    assert (d["scheduled_for"], d["local_time"]) == ("2026-10-25T01:30:00.000Z",
                                                     "2026-10-25T01:30:00+00:00")
    tokyo = intel.client(timezone="Asia/Tokyo")
    d = intel.decide(client_id=tokyo["id"], constraints={"preferred_times": ["06:00"]})
    assert d["scheduled_for"] == "2026-09-21T21:00:00.000Z"  # 06:00 on Tuesday in Tokyo
    assert d["local_time"] == "2026-09-22T06:00:00+09:00"
    # An avoided window is never chosen, even over a preferred time inside it.
    d = intel.decide(client_id=tokyo["id"], constraints={"preferred_times": ["06:00"],
                                                         "avoid_times": ["05:00-07:00"]})
    for t in [d["local_time"]] + [a["local_time"] for a in d["alternatives"]]:
        assert not ("04:45" <= t[11:16] < "07:00"), t


def test_bad_input(intel):
    c = intel.client()
    cid = c["id"]
    cases = [
        ({"constraints": {"preferred_times": ["9:00"]}}, "constraints.preferred_times[0]"),
        ({"constraints": {"preferred_times": ["25:00"]}}, "constraints.preferred_times[0]"),
        ({"constraints": {"avoid_times": ["12:00-1300"]}}, "constraints.avoid_times[0]"),
        ({"constraints": {"avoid_times": ["12:00"]}}, "constraints.avoid_times[0]"),
        ({"constraints": {"not_before": "2026-09-23T00:00:00Z",
                          "not_after": "2026-09-22T00:00:00Z"}}, "constraints.not_after"),
        ({"constraints": {"not_before": "tomorrow"}}, "constraints.not_before"),
        ({"constraints": {"preferred_times": ["10:00"] * 49}}, "constraints.preferred_times"),
        ({"constraints": {"avoid_times": ["10:00-11:00"] * 49}}, "constraints.avoid_times"),
        ({"constraints": {"colour": "red"}}, "colour"),
        ({"job_type": "laundry"}, "job_type"),
        ({"duration_minutes": 0}, "duration_minutes"),
        ({"duration_minutes": 1441}, "duration_minutes"),
        ({"client_id": "nope"}, "client_id"),
        ({"context": ""}, "context"),
    ]
    for extra, field in cases:
        body = {"context": "e2e", "client_id": cid, "now": NOW, **extra}
        err = check_error(intel.req("POST", "/decide", json=body), 400, "invalid_request")
        assert err["field"] == field, (extra, err)
    err = check_error(intel.req("POST", "/decide", json={"context": "e2e", "client_id": cid,
                                                         "job_type": "laundry"}),
                      400, "invalid_request")
    assert "menu_sync" in err["message"] and "health_check" in err["message"]
    check_error(intel.req("POST", "/decide", data="[1", headers={"Content-Type": "application/json"}),
                400, "invalid_json")

    unknown = str(uuid.uuid4())
    err = check_error(intel.req("POST", "/decide", json={"context": "e2e", "client_id": unknown}),
                      404, "not_found")
    assert unknown in err["message"]

    for constraints, field in [
        ({"avoid_times": ["00:00-12:00", "12:00-23:59"]}, "constraints.avoid_times"),
        ({"avoid_times": ["00:00-12:00", "12:15-23:59"]}, "duration_minutes"),
        ({"not_after": "2026-09-21T06:00:00Z"}, "constraints.not_after"),
        ({"not_before": "2026-10-21T06:00:00Z"}, "constraints.not_before"),
    ]:
        r = intel.req("POST", "/decide", json={"context": "e2e", "client_id": cid, "now": NOW,
                                               "constraints": constraints})
        err = check_error_fields(r, 422, "no_slot")
        assert err["field"] == field and field in err["message"], (constraints, err)
    # None of the refused requests was kept.
    assert intel.ok("GET", f"/decisions?client_id={cid}")["total"] == 0


def check_error_fields(r, status, code):
    err = check_error(r, status, code)
    assert isinstance(err.get("field"), str)
    return err


def test_schedule_recommendations(intel):
    c = intel.client(timezone="America/Chicago")
    page = intel.ok("GET", f"/schedule/recommendations?client_id={c['id']}")
    assert page["total"] == 1 and len(page["items"]) == 1
    item = page["items"][0]
    assert (item["client_id"], item["name"], item["timezone"]) == (c["id"], c["name"],
                                                                   "America/Chicago")
    rec = item["recommendations"]
    for jt in ("menu_sync", "health_check"):
        slot = rec[jt]
        assert HHMM.match(slot["local_time"]) and slot["timezone"] == "America/Chicago"
        assert is_rfc3339(slot["next_at"]) and slot["reasoning"]
        # Never in the restaurant's service hours.
        assert not ("11:00" <= slot["local_time"] < "14:00"), slot
        assert not ("17:00" <= slot["local_time"] < "21:00"), slot
    assert rec["menu_sync"]["local_time"] != rec["health_check"]["local_time"]
    # Every active client, paginated; a paused one only when asked for.
    paused = intel.client(status="paused")
    page = intel.ok("GET", "/schedule/recommendations?limit=500")
    ids = [x["client_id"] for x in page["items"]]
    assert c["id"] in ids or page["total"] > 500
    assert paused["id"] not in ids
    one = intel.ok("GET", f"/schedule/recommendations?client_id={paused['id']}")
    assert [x["client_id"] for x in one["items"]] == [paused["id"]]
    check_error(intel.req("GET", f"/schedule/recommendations?client_id={uuid.uuid4()}"), 404,
                "not_found")
    check_error(intel.req("GET", "/schedule/recommendations?client_id=x"), 400,
                "invalid_request")


def test_permissions(suite, tokens, intel):
    c = intel.client()
    viewer = Intel(suite.gateway.url, tokens.headers("viewer"))
    staff = Intel(suite.gateway.url, tokens.headers("staff"))
    body = {"context": "e2e", "client_id": c["id"], "now": NOW}
    check_error(viewer.req("POST", "/decide", json=body), 403, "forbidden")
    check_error(viewer.req("GET", "/decisions"), 403, "forbidden")
    check_error(viewer.req("GET", "/schedule/recommendations"), 403, "forbidden")
    d = staff.ok("POST", "/decide", 201, json=body)
    assert d["requested_by"] == tokens.user("staff")["id"]
    assert staff.ok("GET", f"/decisions/{d['id']}")["id"] == d["id"]


def test_decides_without_the_job_queue(suite, intel):
    c = intel.client()
    auto = suite["svc-automation"]
    auto.stop()
    try:
        d = intel.decide(client_id=c["id"], constraints={"preferred_times": ["03:00"]})
    finally:
        auto.start()
    check_decision(d)
    assert d["load_data"] is False
    assert d["scheduled_for"] == "2026-09-22T03:00:00.000Z"
    with_queue = intel.decide(client_id=c["id"], constraints={"preferred_times": ["03:00"]})
    if with_queue["load_data"]:
        assert with_queue["confidence"] > d["confidence"]


# ---------------------------------------------------------------- rephrasing


class FakeLlm:
    def __init__(self, root):
        self.port = free_port()
        self.log = open(root / "logs" / f"fake-llm-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-B", str(FAKE_LLM), "--port", str(self.port)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        harness.register(self)
        wait_for(lambda: http("GET", self.url + "/__stats", timeout=1).status_code == 200, 20,
                 "the fake LLM server")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def control(self, **kw):
        assert http("POST", self.url + "/__control", json=kw).status_code == 200

    def stats(self):
        return http("GET", self.url + "/__stats").json()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


@pytest.fixture
def llm_intel(suite, root):
    fake = FakeLlm(root)
    d = suite["svc-intelligence"]
    key = "sk-e2e-" + secrets.token_hex(12)
    env = {"LLM_BASE_URL": fake.url + "/v1", "LLM_API_KEY": key, "LLM_MODEL": "fake-1",
           "LLM_TIMEOUT_MS": "1000"}
    saved = {k: d.env.get(k) for k in env}
    d.env.update(env)
    d.stop()
    d.start()
    try:
        yield fake, key
    finally:
        for k, v in saved.items():
            if v is None:
                d.env.pop(k, None)
            else:
                d.env[k] = v
        d.stop()
        d.start()
        fake.kill()


def test_reasoning_rephrased(llm_intel, intel, suite):
    fake, key = llm_intel
    fake.control(key=key)
    c = intel.client(timezone="America/New_York")
    d = intel.decide(client_id=c["id"], constraints={"preferred_times": ["09:00"]})
    det = d["reasoning_deterministic"]
    assert "at the preferred time 09:00" in det
    assert d["reasoning"] == "In plain words: " + det
    last = fake.stats()["last"]
    assert last["path"] == "/v1/chat/completions" and last["model"] == "fake-1"
    assert last["authorization"] == "Bearer " + key
    assert last["messages"][-1] == {"role": "user", "content": det}
    # Kept as answered.
    assert intel.ok("GET", f"/decisions/{d['id']}")["reasoning"] == d["reasoning"]

    # Any failure keeps the deterministic text: an error, no text, too slow.
    for mode in ({"mode": "fail_500"}, {"mode": "no_choices"},
                 {"mode": "slow", "slow_ms": 3000}, {"mode": "ok", "key": "other"}):
        fake.control(**mode)
        d2 = intel.decide(client_id=c["id"], constraints={"preferred_times": ["09:00"]})
        assert d2["reasoning"] == det and "reasoning_deterministic" not in d2, mode
    assert key not in suite["svc-intelligence"].log_text()


def test_risks_from_checks_and_failures(suite, intel):
    c = intel.client(timezone="Europe/Paris")
    cid = c["id"]
    calm = intel.decide(client_id=cid, job_type="menu_sync",
                        constraints={"preferred_times": ["04:00"]})
    assert calm["risk_factors"] == [] and calm["decision"] == "schedule"
    # The facts the event consumers keep (005_events.sql), as of NOW: one
    # integration's latest check failed, and menu_sync failed three times in
    # the last 24 hours (a failure after NOW does not count).
    integ = str(uuid.uuid4())
    suite.pg.psql(
        "INSERT INTO intelligence.integration_checks (check_id, integration_id, client_id, "
        f"status, checked_at) VALUES ('{uuid.uuid4()}', '{integ}', '{cid}', 'healthy', "
        f"'2026-09-21T08:00:00Z'), ('{uuid.uuid4()}', '{integ}', '{cid}', 'unhealthy', "
        "'2026-09-21T10:00:00Z')")
    for at in ("2026-09-21T02:00:00Z", "2026-09-21T05:00:00Z", "2026-09-21T11:00:00Z",
               "2026-09-21T13:00:00Z"):
        suite.pg.psql(
            "INSERT INTO intelligence.job_outcomes (job_id, client_id, job_type, status, attempt, "
            f"error_message, seq, finished_at) VALUES ('{uuid.uuid4()}', '{cid}', 'menu_sync', "
            f"'failed', 3, 'toast answered 401', 1, '{at}')")
    d = intel.decide(client_id=cid, job_type="menu_sync",
                     constraints={"preferred_times": ["04:00"]})
    codes = {r["code"]: r for r in d["risk_factors"]}
    assert set(codes) == {"integration_unhealthy", "recent_failures"}
    assert codes["integration_unhealthy"]["severity"] == "high"
    assert codes["recent_failures"]["severity"] == "high"
    assert "failed 3 times" in codes["recent_failures"]["message"]
    assert "toast answered 401" in codes["recent_failures"]["message"]
    assert len(d["recommended_actions"]) == 2
    assert d["decision"] == "defer" and d["scheduled_for"] == calm["scheduled_for"]
    assert d["confidence"] < calm["confidence"]
    # A health check is how the integration gets checked again: not deferred.
    h = intel.decide(client_id=cid, job_type="health_check",
                     constraints={"preferred_times": ["04:00"]})
    assert h["decision"] == "schedule"
    assert [r["code"] for r in h["risk_factors"]] == ["integration_unhealthy"]


def test_keeps_clear_of_the_clients_scheduled_jobs(suite, tokens, intel):
    """A job already scheduled at the preferred time (automation.stats'
    `scheduled`) moves the choice to the same time the next day."""
    c = intel.client(timezone="UTC")
    # 04:00, well clear of a restaurant's service hours whatever time the test
    # runs at, and at least two hours ahead.
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    at = now.replace(hour=4, minute=0)
    if at < now + timedelta(hours=2):
        at += timedelta(days=1)
    hhmm = at.strftime("%H:%M")
    free = intel.decide(client_id=c["id"], now=None, constraints={"preferred_times": [hhmm]})
    assert free["scheduled_for"] == at.strftime("%Y-%m-%dT%H:%M:00.000Z")
    r = http("POST", suite.gateway.url + "/api/automation/jobs",
             headers=tokens.headers("admin"),
             json={"client_id": c["id"], "job_type": "backup",
                   "scheduled_at": at.strftime("%Y-%m-%dT%H:%M:%SZ")})
    assert r.status_code == 201, r.text
    d = intel.decide(client_id=c["id"], now=None, constraints={"preferred_times": [hhmm]})
    assert d["scheduled_for"] == (at + timedelta(days=1)).strftime("%Y-%m-%dT%H:%M:00.000Z")
    assert "overlaps" not in d["reasoning"]
