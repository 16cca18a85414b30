"""svc-intelligence recommendations and reports through the gateway (issue
6): a weak client's score brings recommendations (in its health answer and
in the list), never twice while one is open nor again soon after a decline;
accepting one creates its job through svc-automation, and when that is down
it answers 503 and the recommendation stays open; report_generation jobs
render a client's report, readable as JSON and as CSV; bad input.

Signals are placed well inside their formula's steps, as in
test_intelligence_api.py, so the expected figures are exact."""

import csv
import io
import secrets
import uuid

import pytest

from harness import check_error, is_rfc3339, wait_for
from jobsapi import Api
from test_intelligence_api import Intel, ago

REC_KEYS = {"id", "client_id", "type", "title", "description", "impact", "confidence", "status",
            "suggested_action", "decline_reason", "job_id", "created_at", "updated_at",
            "decided_at", "decided_by"}


@pytest.fixture
def intel(suite, tokens):
    return Intel(suite.gateway.url, tokens.headers("admin"))


def weak_client(intel):
    """One activity 20 days ago: engagement (33.3 + 5) / 2 = 19, the only
    factor, so overall 19 (critical)."""
    cid = intel.client(name="Weak " + secrets.token_hex(3))["id"]
    intel.signal(cid, "activity", {"actor": "ann", "action": "login",
                                   "occurred_at": ago(days=20, hours=1)})
    return cid


def open_recs(intel, cid):
    return intel.ok("GET", f"/recommendations?client_id={cid}&status=open")["items"]


def by_type(items):
    return {r["type"]: r for r in items}


def rec_rows(suite, cid, where="true"):
    return int(suite.pg.psql("SELECT count(*) FROM intelligence.recommendations "
                             f"WHERE client_id = '{cid}' AND {where}"))


def test_a_weak_client_gets_recommendations_once(intel, suite):
    cid = weak_client(intel)
    h = intel.health(cid)
    assert (h["overall_score"], h["health_status"]) == (19, "critical")
    got = by_type(h["recommendations"])
    assert set(got) == {"escalate_account", "schedule_check_in"}, h["recommendations"]
    check_in = got["schedule_check_in"]
    assert set(check_in) == REC_KEYS
    # confidence 50 + 45 * (50 - 19) / 50 = 77.9 -> 0.78; below 25: high
    assert (check_in["impact"], check_in["confidence"], check_in["status"]) == ("high", 0.78,
                                                                                 "open")
    assert check_in["title"] == "Schedule a check-in"
    assert "Engagement is 19/100: 1 activities in the last 30 days, the last 20 days ago" \
        in check_in["description"]
    assert check_in["suggested_action"] is None and check_in["job_id"] is None
    assert check_in["client_id"] == cid and is_rfc3339(check_in["created_at"])
    assert check_in["decided_at"] is None and check_in["decided_by"] is None
    esc = got["escalate_account"]
    # the score's own trigger gives 0.78, but the score rules ran first and
    # raised health_critical, whose 0.80 is the higher
    assert (esc["impact"], esc["confidence"]) == ("high", 0.80)
    assert "19/100 (critical)" in esc["description"]
    alerts = intel.ok("GET", f"/alerts?client_id={cid}&type=health_critical")["items"]
    assert [a["status"] for a in alerts] == ["active"]

    # the list holds the same, newest first; one by id
    listed = open_recs(intel, cid)
    assert sorted(r["id"] for r in listed) == sorted(r["id"] for r in h["recommendations"])
    assert listed == h["recommendations"]
    assert intel.ok("GET", f"/recommendations/{check_in['id']}") == check_in
    page = intel.ok("GET", f"/recommendations?client_id={cid}&type=schedule_check_in")
    assert page["total"] == 1 and page["items"] == [check_in]
    assert (page["limit"], page["offset"]) == (50, 0)
    page = intel.ok("GET", f"/recommendations?client_id={cid}&limit=1&offset=1")
    assert page["total"] == 2 and len(page["items"]) == 1

    # computing again suggests nothing new while they are open
    again = intel.health(cid)
    assert sorted(r["id"] for r in again["recommendations"]) == sorted(got[t]["id"] for t in got)
    assert rec_rows(suite, cid) == 2


def test_rules_fed_by_signals(intel, suite):
    """Payments, tickets and quotes each bring their own recommendation; the
    menu work is suggested on the integration the client's health checks
    last came from."""
    cid = intel.client()["id"]
    iid = str(uuid.uuid4())
    for n, days in ((1, 3), (2, 1)):  # the later check names the integration to use
        suite.pg.psql("INSERT INTO intelligence.integration_checks (check_id, integration_id, "
                      f"client_id, status, checked_at) VALUES ('{uuid.uuid4()}', "
                      f"'{iid if n == 2 else uuid.uuid4()}', '{cid}', 'healthy', "
                      f"now() - interval '{days} days')")
    for i in range(20):  # engagement 100: no check-in
        intel.signal(cid, "activity", {"actor": "a", "action": "b", "occurred_at": ago(minutes=i)})
    # ten days (and an hour) overdue: payment_health 70
    intel.signal(cid, "payments", {"invoice": "I-1", "amount": "10",
                                   "due_at": ago(days=10, hours=1)})
    # an urgent ticket unanswered for two days: support 0
    intel.signal(cid, "tickets", {"priority": "urgent", "opened_at": ago(days=2)})
    # two accepted quotes: growth 90
    for n in range(2):
        intel.signal(cid, "quotes", {"value": "100", "status": "accepted",
                                     "issued_at": ago(days=n + 1)})
    h = intel.health(cid)
    assert {k: f["score"] for k, f in h["factors"].items() if f["status"] == "ok"} == {
        "engagement": 100, "payment_health": 70, "support_responsiveness": 0,
        "growth_potential": 90, "system_stability": 100}  # two healthy checks
    got = by_type(h["recommendations"])
    assert set(got) == {"follow_up_invoices", "review_open_tickets", "propose_menu_work"}
    # 50 + 45 * 10 / 80 = 55.6
    assert (got["follow_up_invoices"]["impact"], got["follow_up_invoices"]["confidence"]) == (
        "medium", 0.56)
    assert "1 invoice is overdue, the oldest by 10 days" in got["follow_up_invoices"]["description"]
    assert (got["review_open_tickets"]["impact"], got["review_open_tickets"]["confidence"]) == (
        "high", 0.95)
    menu = got["propose_menu_work"]
    assert (menu["impact"], menu["confidence"]) == ("medium", 0.75)  # 50 + 2.5 * 10
    assert menu["suggested_action"] == {"job_type": "menu_sync", "config": {"integration_id": iid}}
    for t in ("follow_up_invoices", "review_open_tickets"):
        assert got[t]["suggested_action"] is None


def test_concurrent_scores_make_one_recommendation_per_type(intel, suite):
    import concurrent.futures
    cid = weak_client(intel)
    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(lambda _: intel.health(cid), range(8)))
    assert rec_rows(suite, cid) == 2
    ids = sorted(r["id"] for r in open_recs(intel, cid))
    for h in answers:  # every answer shows the ones kept, whichever request made them
        assert sorted(r["id"] for r in h["recommendations"]) == ids


def test_a_declined_recommendation_stays_away_14_days(intel, suite, tokens):
    cid = weak_client(intel)
    rec = by_type(intel.health(cid)["recommendations"])["schedule_check_in"]
    out = intel.ok("POST", f"/recommendations/{rec['id']}/decline",
                   json={"reason": "we spoke yesterday, by phone"})
    assert (out["status"], out["decline_reason"]) == ("declined", "we spoke yesterday, by phone")
    assert out["decided_by"] == tokens.user("admin")["id"]
    assert is_rfc3339(out["decided_at"]) and out["updated_at"] == out["decided_at"]
    assert out["job_id"] is None

    # computed again: not suggested, and still declined
    h = intel.health(cid)
    assert "schedule_check_in" not in by_type(h["recommendations"])
    assert rec_rows(suite, cid, "type = 'schedule_check_in'") == 1
    declined = intel.ok("GET", f"/recommendations?client_id={cid}&status=declined")["items"]
    assert [r["id"] for r in declined] == [rec["id"]]

    # deciding it again is a conflict that says why; nothing changes
    for verb, body in (("decline", {"reason": "again"}), ("accept", None)):
        err = check_error(intel.post(f"/recommendations/{rec['id']}/{verb}", json=body), 409,
                          "conflict")
        assert "declined" in err["message"], err
    assert intel.ok("GET", f"/recommendations/{rec['id']}") == out

    # 13 days later still not; 15 days later it may come back
    for days, back in ((13, False), (15, True)):
        suite.pg.psql("UPDATE intelligence.recommendations SET decided_at = now() - "
                      f"interval '{days} days' WHERE id = '{rec['id']}'")
        h = intel.health(cid)
        assert ("schedule_check_in" in by_type(h["recommendations"])) is back, (days, h)
    assert rec_rows(suite, cid, "type = 'schedule_check_in'") == 2


def unhealthy_integration(suite, cid):
    """An open integration_unhealthy alert naming a new integration."""
    iid = str(uuid.uuid4())
    suite.pg.psql("INSERT INTO intelligence.alerts (type, severity, client_id, subject, message) "
                  f"VALUES ('integration_unhealthy', 'high', '{cid}', '{iid}', "
                  "'three failed checks in a row')")
    return iid


def test_accept_creates_the_suggested_job(intel, suite, tokens):
    cid = weak_client(intel)
    iid = unhealthy_integration(suite, cid)
    recs = by_type(intel.health(cid)["recommendations"])
    rec = recs["check_integration"]
    assert (rec["impact"], rec["confidence"]) == ("high", 0.9)
    assert rec["suggested_action"] == {"job_type": "health_check",
                                       "config": {"integration_id": iid}}
    assert iid in rec["description"]

    out = intel.ok("POST", f"/recommendations/{rec['id']}/accept", json={"priority": 2})
    job, acc = out["job"], out["recommendation"]
    assert (acc["status"], acc["job_id"]) == ("accepted", job["id"])
    assert acc["decided_by"] == tokens.user("admin")["id"] and acc["decline_reason"] is None
    jobs = Api(suite.gateway.url, headers=tokens.headers("admin"))
    got = jobs.job(job["id"])
    assert (got["client_id"], got["job_type"], got["config"], got["priority"]) == (
        cid, "health_check", {"integration_id": iid}, 2)
    assert got["idempotency_key"] == f"recommendation-{rec['id']}"
    assert intel.ok("GET", f"/recommendations/{rec['id']}") == acc

    err = check_error(intel.post(f"/recommendations/{rec['id']}/accept"), 409, "conflict")
    assert "accepted" in err["message"]
    check_error(intel.post(f"/recommendations/{rec['id']}/decline", json={"reason": "x"}), 409,
                "conflict")
    assert jobs.get(f"/jobs?client_id={cid}").json()["total"] == 1  # no second job

    # without a suggested job, accepting records the decision only
    out = intel.ok("POST", f"/recommendations/{recs['schedule_check_in']['id']}/accept")
    assert out["job"] is None and out["recommendation"]["status"] == "accepted"
    # an accepted type is not suggested again at once
    h = intel.health(cid)
    assert not {"check_integration", "schedule_check_in"} & set(by_type(h["recommendations"]))


def test_accept_while_automation_is_down(intel, suite, tokens):
    cid = weak_client(intel)
    unhealthy_integration(suite, cid)
    rec = by_type(intel.health(cid)["recommendations"])["check_integration"]
    suite["svc-automation"].stop()
    err = check_error(intel.post(f"/recommendations/{rec['id']}/accept"), 503, "unavailable")
    assert "svc-automation" in err["message"] and "open" in err["message"]
    assert intel.ok("GET", f"/recommendations/{rec['id']}") == rec  # still open, untouched
    assert rec_rows(suite, cid, "status = 'open' AND job_id IS NULL AND decided_at IS NULL") == 3

    suite["svc-automation"].start()
    out = wait_for(lambda: intel.ok("POST", f"/recommendations/{rec['id']}/accept"), 30,
                   "accept once svc-automation is back")
    assert out["recommendation"]["status"] == "accepted" and out["job"]["job_type"] == \
        "health_check"


@pytest.mark.parametrize("path,body,field", [
    ("decline", None, ""),
    ("decline", {}, "reason"),
    ("decline", {"reason": ""}, "reason"),
    ("decline", {"reason": "x" * 501}, "reason"),
    ("decline", {"reason": 5}, "reason"),
    ("decline", {"reason": "ok", "by": "me"}, "by"),
    ("accept", {"priority": 9}, "priority"),
    ("accept", {"job_type": "backup"}, "job_type"),
])
def test_deciding_refuses_bad_bodies(intel, suite, path, body, field):
    cid = weak_client(intel)
    rec = intel.health(cid)["recommendations"][0]
    err = check_error(intel.post(f"/recommendations/{rec['id']}/{path}", json=body), 400,
                      "invalid_request")
    assert err["field"] == field, err
    assert intel.ok("GET", f"/recommendations/{rec['id']}") == rec


def test_recommendation_bad_requests(intel):
    ghost = str(uuid.uuid4())
    for q in ("status=maybe", "type=buy_more", "client_id=nope", "limit=0", "offset=-1"):
        check_error(intel.get(f"/recommendations?{q}"), 400, "invalid_request")
    check_error(intel.get("/recommendations/nope"), 400, "invalid_request")
    err = check_error(intel.get(f"/recommendations/{ghost}"), 404, "not_found")
    assert ghost in err["message"]
    check_error(intel.post(f"/recommendations/{ghost}/accept"), 404, "not_found")
    check_error(intel.post(f"/recommendations/{ghost}/decline", json={"reason": "no"}), 404,
                "not_found")
    check_error(intel.post("/recommendations/x/accept"), 400, "invalid_request")
    check_error(intel.post(f"/recommendations/{ghost}/accept", data="{",
                           headers={"Content-Type": "application/json"}), 400, "invalid_json")
    assert intel.ok("GET", f"/recommendations?client_id={ghost}")["total"] == 0


# ---------------------------------------------------------------- reports


@pytest.fixture
def reporter(spawn):
    """A svc-intelligence of the test's own that runs report_generation jobs
    (the suite's runs none, so that the job-queue tests keep theirs)."""
    return spawn("svc-intelligence", env={"REPORT_WORKERS": "1"})


def finished(jobs, job_id):
    def check():
        j = jobs.job(job_id)
        return j if j["status"] in ("completed", "failed") else None
    return wait_for(check, 30, f"job {job_id} finished")


def test_report_generation(intel, suite, tokens, reporter):
    name = 'Bistro, "Le" Coin'
    cid = intel.client(name=name, plan="gold")["id"]
    for i in range(10):  # recency 60, frequency 50 -> 55
        intel.signal(cid, "activity", {"actor": "a", "action": "b",
                                       "occurred_at": ago(days=12, minutes=i)})
    first = intel.health(cid)
    second = intel.health(cid)
    assert first["overall_score"] == second["overall_score"] == 55
    iid = unhealthy_integration(suite, cid)
    recs = intel.health(cid)["recommendations"]
    assert [r["type"] for r in recs] == ["check_integration"]
    # a score older than the window is left out of the history
    suite.pg.psql("INSERT INTO intelligence.client_health_scores (client_id, overall_score, "
                  f"health_status, factors, computed_at) VALUES ('{cid}', 90, 'healthy', '{{}}', "
                  "now() - interval '9 days')")

    jobs = Api(suite.gateway.url, headers=tokens.headers("admin"))
    job = jobs.create(cid, "report_generation", config={"client_id": cid, "days": 7})
    done = finished(jobs, job["id"])
    assert done["status"] == "completed", done
    rid = done["result"]["report_id"]

    rep = intel.ok("GET", f"/reports/{rid}")
    assert set(rep) == {"id", "client_id", "job_id", "days", "created_at", "report"}
    assert (rep["id"], rep["client_id"], rep["job_id"], rep["days"]) == (rid, cid, job["id"], 7)
    doc = rep["report"]
    assert doc["client"]["id"] == cid and doc["client"]["name"] == name
    assert doc["window"]["days"] == 7 and doc["window"]["to"] == doc["generated_at"]
    assert doc["latest_score"]["overall_score"] == 55
    assert doc["latest_score"]["factors"]["engagement"]["score"] == 55
    assert [h["overall_score"] for h in doc["history"]] == [55, 55, 55]
    assert doc["history"][0]["factors"]["engagement"] == 55
    assert doc["history"][0]["factors"]["payment_health"] is None
    assert [(a["type"], a["subject"]) for a in doc["alerts"]] == [("integration_unhealthy", iid)]
    assert [r["id"] for r in doc["recommendations"]] == [recs[0]["id"]]

    r = intel.get(f"/reports/{rid}?format=csv")
    assert r.status_code == 200, r.text
    assert r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == \
        f'attachment; filename="report-{cid}-{rid[:8]}.csv"'
    assert r.content.count(b"\r\n") == r.content.count(b"\n")  # CRLF line ends
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8"), newline="")))
    assert rows[0] == ["section", "item", "field", "value"]
    assert all(len(x) == 4 for x in rows)
    cells = {(s, i, f): v for s, i, f, v in rows[1:]}
    assert cells[("client", "", "name")] == name  # the comma and the quotes survive
    assert cells[("client", "", "plan")] == "gold"
    assert cells[("window", "", "days")] == "7"
    assert cells[("score", "", "overall_score")] == "55"
    assert cells[("factor", "engagement", "score")] == "55"
    assert cells[("factor", "payment_health", "status")] == "no_data"
    assert cells[("alert", doc["alerts"][0]["id"], "subject")] == iid
    assert float(cells[("recommendation", recs[0]["id"], "confidence")]) == 0.9
    assert sum(1 for x in rows if x[0] == "history" and x[2] == "overall_score") == 3

    page = intel.ok("GET", f"/reports?client_id={cid}")
    assert page["total"] == 1 and page["items"] == [{k: rep[k] for k in rep if k != "report"}]


def test_report_job_failures(intel, suite, tokens, reporter):
    jobs = Api(suite.gateway.url, headers=tokens.headers("admin"))
    ghost = str(uuid.uuid4())
    cid = intel.client()["id"]
    for config, words in (({"client_id": ghost}, ghost + " not found"),
                          ({"client_id": cid, "days": 0}, "days"),
                          ({"client_id": cid, "days": 366}, "days"),
                          ({"client_id": cid, "format": "pdf"}, "format")):
        job = jobs.create(cid, "report_generation", config=config)
        done = finished(jobs, job["id"])
        assert done["status"] == "failed", done
        assert words in done["error"]["message"], done
        assert done["error"]["retryable"] is False and done["attempt"] == 1, done
    assert intel.ok("GET", f"/reports?client_id={cid}")["total"] == 0
    # without client_id in the config the job's own client is reported on
    job = jobs.create(cid, "report_generation")
    done = finished(jobs, job["id"])
    assert done["status"] == "completed", done
    rep = intel.ok("GET", f"/reports/{done['result']['report_id']}")
    assert (rep["client_id"], rep["days"]) == (cid, 30)
    assert rep["report"]["latest_score"] is None and rep["report"]["history"] == []


def test_report_bad_requests(intel):
    ghost = str(uuid.uuid4())
    check_error(intel.get("/reports/nope"), 400, "invalid_request")
    err = check_error(intel.get(f"/reports/{ghost}"), 404, "not_found")
    assert ghost in err["message"]
    check_error(intel.get(f"/reports/{ghost}?format=csv"), 404, "not_found")
    err = check_error(intel.get(f"/reports/{ghost}?format=xml"), 400, "invalid_request")
    assert err["field"] == "format"
    for q in ("client_id=1", "limit=501"):
        check_error(intel.get(f"/reports?{q}"), 400, "invalid_request")


def test_permissions(suite, tokens, intel):
    cid = weak_client(intel)
    rec = intel.health(cid)["recommendations"][0]
    gw = suite.gateway.url
    viewer, staff, manager = (Intel(gw, tokens.headers(r)) for r in ("viewer", "staff", "manager"))
    assert viewer.get(f"/recommendations?client_id={cid}").status_code == 200
    assert viewer.get(f"/recommendations/{rec['id']}").status_code == 200
    check_error(viewer.post(f"/recommendations/{rec['id']}/accept"), 403, "forbidden")
    check_error(viewer.post(f"/recommendations/{rec['id']}/decline", json={"reason": "no"}), 403,
                "forbidden")
    # reports are exports: managers and admins
    for who in (viewer, staff):
        check_error(who.get("/reports"), 403, "forbidden")
        check_error(who.get(f"/reports/{uuid.uuid4()}"), 403, "forbidden")
    assert manager.get("/reports?limit=1").status_code == 200
    out = staff.ok("POST", f"/recommendations/{rec['id']}/decline", json={"reason": "staff no"})
    assert out["decided_by"] == tokens.user("staff")["id"]
