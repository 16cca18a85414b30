"""svc-intelligence's alerts through the gateway (issue 6, README "Alerts"):
a score entering `critical` raises one alert, a repeat updates it, recovery
resolves it; a fall of the score; acknowledging; the list's filters and
pages; bad input; the periodic sweep resolving an alert whose facts aged
out.

Scores use the daemon's clock, so signals are placed well inside their
formula's steps (a day), never on an edge."""

import secrets
import time
import uuid
from datetime import datetime, timedelta, timezone

import pytest

import natsclient
from harness import check_error, http, is_rfc3339, service_headers, wait_for
from promtext import Metrics

EVENT_WAIT_S = 20  # an event through JetStream, its consumer and the rules


def ago(**kw):
    t = datetime.now(timezone.utc) - timedelta(**kw)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class Intel:
    """/api/intelligence through the gateway, as a role."""

    def __init__(self, gateway_url, tokens, role="admin"):
        self.base = gateway_url + "/api/intelligence"
        self.tokens = tokens
        self.role = role

    def as_role(self, role):
        return Intel(self.base[: -len("/api/intelligence")], self.tokens, role)

    def req(self, method, path, **kw):
        return http(method, self.base + path, headers=self.tokens.headers(self.role), timeout=15,
                    **kw)

    def ok(self, method, path, status=200, **kw):
        r = self.req(method, path, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:400]}"
        return r.json()

    def client(self):
        return self.ok("POST", "/clients", 201,
                       json={"name": "Bistro " + secrets.token_hex(4)})["id"]

    def activity(self, cid, n=1, **when):
        for _ in range(n):
            self.ok("POST", f"/clients/{cid}/activity", 201,
                    json={"actor": "e2e", "action": "login", "occurred_at": ago(**when)})

    def health(self, cid):
        return self.ok("GET", f"/clients/{cid}/health")

    def alerts(self, query):
        return self.ok("GET", "/alerts?" + query)

    def one(self, cid, type_):
        page = self.alerts(f"client_id={cid}&type={type_}")
        assert page["total"] == 1, page
        return page["items"][0]


@pytest.fixture
def intel(suite, tokens):
    return Intel(suite.gateway.url, tokens)


def critical_client(intel):
    """A client whose only signal is one activity 29 days old: engagement
    (100 x 1/30 + 5) / 2, about 4: critical."""
    cid = intel.client()
    intel.activity(cid, days=29)
    h = intel.health(cid)
    assert h["health_status"] == "critical", h
    return cid, h


def recover(intel, cid):
    """20 activities now: engagement 100, healthy."""
    intel.activity(cid, n=20, minutes=1)
    h = intel.health(cid)
    assert h["health_status"] == "healthy", h
    return h


ALERT_KEYS = {"id", "type", "severity", "client_id", "subject", "message", "details", "status",
              "occurrences", "created_at", "last_seen_at", "acknowledged_by", "acknowledged_at",
              "resolved_at"}


def alert_changes(suite, change):
    text = http("GET", suite["svc-intelligence"].url + "/metrics",
                headers=service_headers(suite.token)).text
    return Metrics(text).get("intelligence_alerts_total", type="health_critical", change=change)


def test_critical_score_raises_one_alert_updates_it_and_resolves(intel, suite):
    before = {c: alert_changes(suite, c) for c in ("opened", "updated", "resolved")}
    cid, h = critical_client(intel)
    a = intel.one(cid, "health_critical")
    assert set(a) == ALERT_KEYS
    assert (a["type"], a["severity"], a["status"]) == ("health_critical", "critical", "active")
    assert (a["client_id"], a["subject"], a["occurrences"]) == (cid, cid, 1)
    assert a["details"]["score"] == h["overall_score"]
    assert a["details"]["computed_at"][:19] == h["computed_at"][:19]
    assert str(h["overall_score"]) in a["message"] and "critical" in a["message"]
    assert is_rfc3339(a["created_at"]) and a["last_seen_at"] == a["created_at"]
    assert a["acknowledged_by"] is None and a["resolved_at"] is None
    assert intel.ok("GET", f"/alerts/{a['id']}") == a
    # No fall: the only score is the peak.
    assert intel.alerts(f"client_id={cid}&type=score_drop")["total"] == 0

    # A second evaluation updates the open alert instead of adding one.
    intel.health(cid)
    b = intel.one(cid, "health_critical")
    assert b["id"] == a["id"] and b["occurrences"] == 2 and b["status"] == "active"
    assert b["last_seen_at"] > a["last_seen_at"] and b["created_at"] == a["created_at"]
    assert suite.pg.psql("SELECT count(*) FROM intelligence.alerts "
                         f"WHERE client_id = '{cid}'") == "1"

    # Recovery resolves it.
    recover(intel, cid)
    c = intel.ok("GET", f"/alerts/{a['id']}")
    assert c["status"] == "resolved" and is_rfc3339(c["resolved_at"])
    assert c["resolved_at"] >= c["last_seen_at"] and c["occurrences"] == 2
    assert intel.alerts(f"client_id={cid}&status=active")["total"] == 0
    # Counted: opened, updated, resolved (other clients' alerts may add more).
    for change in ("opened", "updated", "resolved"):
        assert alert_changes(suite, change) >= before[change] + 1, change

    # A later fall that stays above critical: the resolved alert stays as it
    # was, and no new critical alert is raised.
    for _ in range(2):
        intel.ok("POST", f"/clients/{cid}/tickets", 201,
                 json={"opened_at": ago(days=10), "priority": "urgent"})
    # engagement 100 and support 0 (both targets of two tickets missed):
    # (25 x 100) / 40 = 63, at_risk: a fall of 37 points, not critical.
    h = intel.health(cid)
    assert (h["overall_score"], h["health_status"]) == (63, "at_risk"), h
    assert intel.alerts(f"client_id={cid}&type=health_critical&status=active")["total"] == 0
    assert intel.ok("GET", f"/alerts/{a['id']}") == c


def test_score_drop(intel):
    cid = intel.client()
    intel.activity(cid, n=20, minutes=5)
    assert intel.health(cid)["overall_score"] == 100
    assert intel.alerts(f"client_id={cid}")["total"] == 0
    for _ in range(2):
        intel.ok("POST", f"/clients/{cid}/tickets", 201,
                 json={"opened_at": ago(days=10), "priority": "urgent"})
    h = intel.health(cid)
    assert h["overall_score"] == 63, h
    a = intel.one(cid, "score_drop")
    assert (a["severity"], a["status"], a["subject"]) == ("high", "active", cid)
    assert a["details"]["drop"] == 37 and a["details"]["peak_score"] == 100
    assert a["details"]["score"] == 63
    assert "37 points" in a["message"]
    # at_risk is not critical.
    assert intel.alerts(f"client_id={cid}&type=health_critical")["total"] == 0


def test_acknowledge(intel, tokens):
    cid, _ = critical_client(intel)
    a = intel.one(cid, "health_critical")
    staff, admin, viewer = intel.as_role("staff"), intel, intel.as_role("viewer")

    # A viewer may read alerts, not acknowledge them.
    assert viewer.ok("GET", f"/alerts/{a['id']}")["id"] == a["id"]
    check_error(viewer.req("POST", f"/alerts/{a['id']}/acknowledge"), 403, "forbidden")

    # The caller is who the gateway says, whatever X-User-Id the client sends.
    r = http("POST", staff.base + f"/alerts/{a['id']}/acknowledge", timeout=15,
             headers={**tokens.headers("staff"), "X-User-Id": "mallory"})
    assert r.status_code == 200, r.text
    b = r.json()
    assert b["status"] == "acknowledged" and is_rfc3339(b["acknowledged_at"])
    assert b["acknowledged_by"] == tokens.user("staff")["id"]
    # Twice keeps the first.
    c = admin.ok("POST", f"/alerts/{a['id']}/acknowledge")
    assert c == b

    # Still open: a repeat updates it and it stays acknowledged.
    intel.health(cid)
    d = intel.ok("GET", f"/alerts/{a['id']}")
    assert (d["status"], d["occurrences"], d["acknowledged_by"]) == ("acknowledged", 2,
                                                                     b["acknowledged_by"])
    assert intel.alerts(f"client_id={cid}&status=acknowledged")["total"] == 1
    assert intel.alerts(f"client_id={cid}&status=active")["total"] == 0

    # Resolved: nothing left to acknowledge.
    recover(intel, cid)
    err = check_error(admin.req("POST", f"/alerts/{a['id']}/acknowledge"), 409, "conflict")
    assert "resolved" in err["message"]
    e = intel.ok("GET", f"/alerts/{a['id']}")
    assert e["status"] == "resolved" and e["acknowledged_by"] == b["acknowledged_by"]


def test_filters_and_pages(intel):
    c1, _ = critical_client(intel)
    c2, _ = critical_client(intel)
    a1, a2 = intel.one(c1, "health_critical"), intel.one(c2, "health_critical")
    # Newest first over all alerts, then with each filter.
    page = intel.alerts("type=health_critical&limit=2")
    assert [x["id"] for x in page["items"]] == [a2["id"], a1["id"]]
    assert (page["limit"], page["offset"]) == (2, 0) and page["total"] >= 2
    page = intel.alerts("type=health_critical&limit=1&offset=1")
    assert [x["id"] for x in page["items"]] == [a1["id"]]
    assert intel.alerts(f"client_id={c1}")["items"] == [a1]
    items = intel.alerts("severity=critical&status=active&limit=500")["items"]
    assert {a1["id"], a2["id"]} <= {x["id"] for x in items}
    assert all(x["severity"] == "critical" and x["status"] == "active" for x in items)
    assert intel.alerts(f"client_id={c1}&severity=high")["total"] == 0
    assert intel.alerts(f"client_id={c1}&type=sync_failed")["total"] == 0
    recover(intel, c1)
    assert intel.alerts(f"client_id={c1}&status=resolved")["items"][0]["id"] == a1["id"]
    assert intel.alerts(f"client_id={c1}&status=active")["total"] == 0
    assert intel.alerts(f"client_id={c2}&status=active")["total"] == 1


@pytest.mark.parametrize("query,field", [
    ("status=open", "status"),
    ("status=", "status"),
    ("severity=urgent", "severity"),
    ("client_id=not-a-uuid", "client_id"),
    ("type=score", "type"),
    ("limit=0", "limit"),
    ("limit=501", "limit"),
    ("offset=-1", "offset"),
])
def test_list_refuses(intel, query, field):
    err = check_error(intel.req("GET", "/alerts?" + query), 400, "invalid_request")
    assert err.get("field") == field, err


def test_bad_ids(intel):
    check_error(intel.req("GET", "/alerts/not-a-uuid"), 400, "invalid_request")
    check_error(intel.req("POST", "/alerts/not-a-uuid/acknowledge"), 400, "invalid_request")
    unknown = str(uuid.uuid4())
    err = check_error(intel.req("GET", f"/alerts/{unknown}"), 404, "not_found")
    assert unknown in err["message"]
    check_error(intel.req("POST", f"/alerts/{unknown}/acknowledge"), 404, "not_found")


def test_acknowledge_needs_a_user(suite, intel):
    """Straight to the daemon (as another service would call it): without
    X-User-Id there is nobody to record, so 400, and the alert is untouched."""
    cid, _ = critical_client(intel)
    a = intel.one(cid, "health_critical")
    url = suite["svc-intelligence"].url + f"/api/intelligence/alerts/{a['id']}/acknowledge"
    err = check_error(http("POST", url, headers=service_headers(suite.token)), 400,
                      "invalid_request")
    assert "X-User-Id" in err["message"]
    for bad in ("u" * 201, "two words"):
        check_error(http("POST", url, headers=service_headers(suite.token, **{"X-User-Id": bad})),
                    400, "invalid_request")
    assert intel.ok("GET", f"/alerts/{a['id']}") == a
    ok = http("POST", url, headers=service_headers(suite.token, **{"X-User-Id": "svc-x"}))
    assert ok.status_code == 200 and ok.json()["acknowledged_by"] == "svc-x"


def test_sweep_resolves_what_aged_out(suite, intel):
    """With the sweep every 300 ms: an open job_failure_rate alert whose
    client has no failed job left in 24 h is resolved; one whose failures
    are still inside the window stays open until they age out."""
    d = suite["svc-intelligence"]
    old = d.env.get("ALERT_SWEEP_INTERVAL_MS")
    d.env["ALERT_SWEEP_INTERVAL_MS"] = "300"
    d.stop()
    d.start()
    try:
        gone, aging = str(uuid.uuid4()), str(uuid.uuid4())
        sql = []
        for subject in (gone, aging):
            sql.append("INSERT INTO intelligence.alerts (type, severity, subject, message) "
                       f"VALUES ('job_failure_rate', 'high', '{subject}', 'e2e');")
        # Five failures of aging's, out of the 24 h window 8 s from now.
        for _ in range(5):
            sql.append("INSERT INTO intelligence.job_outcomes (job_id, client_id, job_type, "
                       "status, attempt, seq, finished_at) VALUES "
                       f"('{uuid.uuid4()}', '{aging}', 'menu_sync', 'failed', 1, 1, "
                       "now() - interval '24 hours' + interval '8 seconds');")
        suite.pg.psql(" ".join(sql))

        def status(subject):
            return suite.pg.psql("SELECT status FROM intelligence.alerts "
                                 f"WHERE subject = '{subject}'")

        wait_for(lambda: status(gone) == "resolved", 5, "the alert without failures resolved")
        assert status(aging) == "active"
        wait_for(lambda: status(aging) == "resolved", 20, "the aged-out alert resolved")
        # The sweep raised nothing and counted nothing.
        assert suite.pg.psql("SELECT occurrences FROM intelligence.alerts "
                             f"WHERE subject = '{aging}'") == "1"
    finally:
        if old is None:
            d.env.pop("ALERT_SWEEP_INTERVAL_MS", None)
        else:
            d.env["ALERT_SWEEP_INTERVAL_MS"] = old
        d.stop()


# ------------------------------------------------- rules driven by events


@pytest.fixture
def bus(suite):
    nc = natsclient.Client(suite.nats.url, name="e2e-alerts")
    yield nc
    nc.close()


def wait_alert(intel, query, cond, what):
    """The one alert of query once cond(alert) holds."""
    found = {}

    def look():
        page = intel.alerts(query)
        if page["total"] == 1 and cond(page["items"][0]):
            found["a"] = page["items"][0]
            return True
        return False

    wait_for(look, EVENT_WAIT_S, what, interval=0.2)
    return found["a"]


def check(bus, iid, cid, status, minutes_ago):
    bus.publish(f"events.toast.health.{iid}",
                {"type": "toast_health", "id": str(uuid.uuid4()), "integration_id": iid,
                 "client_id": cid, "status": status, "total_ms": 120,
                 "error": None if status == "healthy" else "login failed",
                 "checked_at": ago(minutes=minutes_ago)})
    bus.flush()


def test_integration_unhealthy_from_events(intel, bus):
    cid, iid = intel.client(), str(uuid.uuid4())
    q = f"type=integration_unhealthy&client_id={cid}"
    check(bus, iid, cid, "unhealthy", 4)
    check(bus, iid, cid, "unhealthy", 3)
    # Two in a row: not yet. The third raises one alert.
    check(bus, iid, cid, "unhealthy", 2)
    a = wait_alert(intel, q, lambda a: True, "integration_unhealthy raised")
    assert (a["subject"], a["severity"], a["status"]) == (iid, "high", "active")
    assert a["occurrences"] == 1 and a["details"]["unhealthy_in_a_row"] == 3
    # A fourth updates it; a healthy check resolves it.
    check(bus, iid, cid, "unhealthy", 1)
    wait_alert(intel, q, lambda a: a["occurrences"] == 2, "the fourth check counted")
    check(bus, iid, cid, "healthy", 0)
    b = wait_alert(intel, q, lambda a: a["status"] == "resolved", "resolved by a healthy check")
    assert b["id"] == a["id"] and b["details"]["unhealthy_in_a_row"] == 4


def test_job_failure_rate_from_events(intel, bus):
    cid = intel.client()
    for i in range(5):
        status = "failed" if i < 2 else "completed"
        bus.publish(f"events.job.{cid}.{uuid.uuid4()}",
                    {"type": "job_update", "job_id": str(uuid.uuid4()), "client_id": cid,
                     "job_type": "menu_sync", "status": status, "progress": 100, "attempt": 1,
                     "error": {"message": "upstream down"} if status == "failed" else None,
                     "seq": 3, "updated_at": ago(minutes=10 - i)})
    bus.flush()
    # 2 of 5 (40%): medium.
    a = wait_alert(intel, f"type=job_failure_rate&client_id={cid}",
                   lambda a: a["details"]["finished"] == 5, "job_failure_rate raised")
    assert (a["subject"], a["severity"]) == (cid, "medium")
    assert a["details"]["failed"] == 2 and a["details"]["failure_rate_pct"] == 40


def test_sync_failed_from_events(intel, bus):
    cid = intel.client()
    source = "square-" + secrets.token_hex(3)

    def run(status, minutes_ago):
        bus.publish(f"events.sync.run.{source}",
                    {"type": "sync_run", "run_id": "run-" + secrets.token_hex(6),
                     "source_type": source, "client_id": cid, "status": status,
                     "counts": {"sales": 3}, "error": "token expired" if status == "failed"
                     else None, "finished_at": ago(minutes=minutes_ago)})
        bus.flush()

    run("failed", 3)
    q = f"type=sync_failed&client_id={cid}"
    a = wait_alert(intel, q, lambda a: True, "sync_failed raised")
    assert (a["subject"], a["severity"]) == (f"{cid}/{source}", "medium")
    assert a["message"] == f"{source} sync failed: token expired"
    run("partial", 2)  # neither fails nor completes the source
    run("completed", 1)
    b = wait_alert(intel, q, lambda a: a["status"] == "resolved", "resolved by a completed run")
    assert b["id"] == a["id"] and b["occurrences"] == 1


def test_usage_over_budget_from_events(intel, bus, suite):
    business = "biz-" + secrets.token_hex(4)
    period = datetime.now(timezone.utc).strftime("%Y-%m")

    def usage(provider, cost, budget, seconds_ago):
        bus.publish(f"events.embedding.usage.{business}",
                    {"type": "provider_usage", "business_id": business, "provider": provider,
                     "period": period, "tokens": 1000, "requests": 10, "cost": cost,
                     "budget": budget, "reported_at": ago(seconds=seconds_ago)})
        bus.flush()

    usage("openai", "60.0000", "100.00", 120)
    usage("voyage", "40.5000", None, 110)
    q = "type=usage_over_budget&status=active"

    def mine():
        rows = [a for a in intel.alerts(q + "&limit=500")["items"] if a["subject"] == business]
        return rows[0] if rows else None

    wait_for(lambda: mine() is not None, EVENT_WAIT_S, "usage_over_budget raised", interval=0.2)
    a = mine()
    assert a["severity"] == "high" and a["client_id"] is None
    assert (a["details"]["cost"], a["details"]["budget"]) == ("100.5000", "100.0000")
    # A larger budget in a newer report: under it, resolved.
    usage("openai", "60.0000", "500.00", 1)
    wait_for(lambda: suite.pg.psql("SELECT status FROM intelligence.alerts "
                                   f"WHERE id = '{a['id']}'") == "resolved",
             EVENT_WAIT_S, "resolved under the new budget", interval=0.2)


def test_score_rules_after_a_recompute_from_events(intel, bus):
    """An activity event recomputes the client's score (debounced, without
    any request for it): the score rules follow the stored score."""
    cid = intel.client()
    bus.publish(f"events.activity.{cid}",
                {"type": "activity", "id": str(uuid.uuid4()), "client_id": cid, "actor": "pos",
                 "action": "login", "occurred_at": ago(days=29)})
    bus.flush()
    a = wait_alert(intel, f"type=health_critical&client_id={cid}", lambda a: True,
                   "health_critical raised after the recompute")
    assert (a["severity"], a["status"], a["occurrences"]) == ("critical", "active", 1)
    assert a["details"]["score"] < 50
