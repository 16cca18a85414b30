"""svc-intelligence through the gateway (issue 6, first slice): clients, their
signals (activity, tickets, payments, projects, quotes), the health score and
the health summary; bad input of every class; who may do what.

Scores are computed with the daemon's clock, so the signals here are placed
well inside their formula's steps (a day, an hour), never on an edge."""

import secrets
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from harness import check_error, http, is_rfc3339

FACTORS = {"engagement", "automation_success", "support_responsiveness", "payment_health",
           "system_stability", "growth_potential"}
WEIGHTS = {"engagement": 25, "automation_success": 20, "support_responsiveness": 15,
           "payment_health": 15, "system_stability": 15, "growth_potential": 10}
KINDS = ("activity", "tickets", "payments", "projects", "quotes")


def ago(**kw):
    """RFC 3339 UTC of now minus the timedelta kw (negative: ahead)."""
    t = datetime.now(timezone.utc) - timedelta(**kw)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


def plan():
    """A plan of its own, so that a test lists only its own clients."""
    return "e2e-" + secrets.token_hex(6)


class Intel:
    """/api/intelligence through the gateway, as one role."""

    def __init__(self, gateway_url, headers):
        self.base = gateway_url + "/api/intelligence"
        self.headers = headers

    def req(self, method, path, headers=None, **kw):
        return http(method, self.base + path, headers={**self.headers, **(headers or {})},
                    timeout=15, **kw)

    def get(self, path, **kw):
        return self.req("GET", path, **kw)

    def post(self, path, **kw):
        return self.req("POST", path, **kw)

    def patch(self, path, **kw):
        return self.req("PATCH", path, **kw)

    def ok(self, method, path, status=200, **kw):
        r = self.req(method, path, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:400]}"
        return r.json()

    def client(self, **body):
        body.setdefault("name", "Bistro " + secrets.token_hex(4))
        return self.ok("POST", "/clients", 201, json=body)

    def signal(self, cid, kind, body):
        return self.ok("POST", f"/clients/{cid}/{kind}", 201, json=body)

    def health(self, cid):
        return self.ok("GET", f"/clients/{cid}/health")

    def summary(self, query=""):
        """Every page of the summary: (items, counts, total)."""
        items, offset = [], 0
        while True:
            sep = "&" if query else ""
            p = self.ok("GET", f"/clients/health-summary?{query}{sep}limit=500&offset={offset}")
            items += p["items"]
            offset += 500
            if offset >= p["total"]:
                return items, p["counts"], p["total"]


@pytest.fixture
def intel(suite, tokens):
    return Intel(suite.gateway.url, tokens.headers("admin"))


def rows(suite, table, cid):
    return int(suite.pg.psql(f"SELECT count(*) FROM intelligence.{table} WHERE client_id = '{cid}'"))


# ---------------------------------------------------------------- clients


def test_clients_create_read_list_change(intel):
    p = plan()
    a = intel.client(plan=p)
    assert set(a) == {"id", "name", "timezone", "plan", "monthly_revenue", "status", "created_at",
                      "updated_at"}
    assert (a["timezone"], a["monthly_revenue"], a["status"]) == ("UTC", "0.00", "active")
    assert is_rfc3339(a["created_at"]) and uuid.UUID(a["id"])
    b = intel.client(name="Café Ünïcode", timezone="America/New_York", plan=p,
                     monthly_revenue=1234.5, status="onboarding")
    assert b["monthly_revenue"] == "1234.50" and b["name"] == "Café Ünïcode"
    c = intel.client(plan=p, monthly_revenue="999999999999.99", status="paused")
    assert c["monthly_revenue"] == "999999999999.99"  # exact: numeric, never a float
    assert intel.ok("GET", f"/clients/{b['id']}") == b

    page = intel.ok("GET", f"/clients?plan={p}")
    assert page["total"] == 3 and [x["id"] for x in page["items"]] == [a["id"], b["id"], c["id"]]
    assert (page["limit"], page["offset"]) == (50, 0)
    page = intel.ok("GET", f"/clients?plan={p}&limit=1&offset=1")
    assert page["total"] == 3 and [x["id"] for x in page["items"]] == [b["id"]]
    page = intel.ok("GET", f"/clients?plan={p}&status=paused")
    assert [x["id"] for x in page["items"]] == [c["id"]]

    ch = intel.ok("PATCH", f"/clients/{a['id']}",
                  json={"status": "churned", "timezone": "Europe/Paris", "monthly_revenue": "10"})
    assert (ch["status"], ch["timezone"], ch["monthly_revenue"]) == ("churned", "Europe/Paris",
                                                                     "10.00")
    assert ch["name"] == a["name"] and ch["updated_at"] > a["updated_at"]
    assert intel.ok("GET", f"/clients/{a['id']}") == ch
    assert intel.ok("GET", f"/clients?plan={p}&status=churned")["total"] == 1


@pytest.mark.parametrize("body,field", [
    ({}, "name"),
    ({"name": ""}, "name"),
    ({"name": "x" * 201}, "name"),
    ({"name": "x", "id": str(uuid.uuid4())}, "id"),
    ({"name": "x", "timezone": "Mars/Olympus_Mons"}, "timezone"),
    ({"name": "x", "timezone": "../../etc/passwd"}, "timezone"),
    ({"name": "x", "plan": "Gold Plan"}, "plan"),
    ({"name": "x", "monthly_revenue": -5}, "monthly_revenue"),
    ({"name": "x", "monthly_revenue": "12.345"}, "monthly_revenue"),
    ({"name": "x", "monthly_revenue": "1e3"}, "monthly_revenue"),
    ({"name": "x", "monthly_revenue": "1000000000000"}, "monthly_revenue"),
    ({"name": "x", "status": "asleep"}, "status"),
    ({"name": 7}, "name"),
])
def test_client_create_refuses(intel, suite, body, field):
    before = suite.pg.psql("SELECT count(*) FROM intelligence.clients")
    err = check_error(intel.post("/clients", json=body), 400, "invalid_request")
    assert err["field"] == field, err
    assert field in err["message"]
    assert suite.pg.psql("SELECT count(*) FROM intelligence.clients") == before


def test_client_bad_requests(intel):
    c = intel.client()
    check_error(intel.post("/clients", data="{", headers={"Content-Type": "application/json"}),
                400, "invalid_json")
    check_error(intel.post("/clients", json=[1]), 400, "invalid_request")
    check_error(intel.get("/clients/nope"), 400, "invalid_request")
    check_error(intel.get(f"/clients/{uuid.uuid4()}"), 404, "not_found")
    check_error(intel.patch(f"/clients/{uuid.uuid4()}", json={"name": "x"}), 404, "not_found")
    for body, field in (({}, ""), ({"name": None}, "name"), ({"created_at": ago()}, "created_at"),
                        ({"status": "gone"}, "status")):
        err = check_error(intel.patch(f"/clients/{c['id']}", json=body), 400, "invalid_request")
        assert err["field"] == field, err
    for q in ("status=zzz", "plan=A%20B", "limit=0", "limit=501", "offset=-1"):
        check_error(intel.get(f"/clients?{q}"), 400, "invalid_request")
    # health-summary is a route of its own, never a client id
    assert "counts" in intel.ok("GET", "/clients/health-summary?limit=1")
    err = check_error(intel.patch("/clients/health-summary", json={"name": "x"}), 400,
                      "invalid_request")
    assert err["field"] == "id"
    assert intel.ok("GET", f"/clients/{c['id']}") == c


# ---------------------------------------------------------------- signals

VALID = {
    "activity": lambda i: {"actor": f"user{i}", "action": "login",
                           "occurred_at": ago(hours=3 - i), "details": {"n": i}},
    "tickets": lambda i: {"subject": f"t{i}", "priority": "high", "opened_at": ago(hours=3 - i),
                          "first_response_at": ago(hours=2.5 - i)},
    "payments": lambda i: {"invoice": f"INV-{i}", "amount": "10.10", "due_at": ago(days=3 - i)},
    "projects": lambda i: {"name": f"p{i}", "value": 100, "started_at": ago(hours=3 - i)},
    "quotes": lambda i: {"title": f"q{i}", "status": "accepted", "value": "0.10",
                         "issued_at": ago(hours=3 - i)},
}
TABLE = {"activity": "activity_log", "tickets": "tickets", "payments": "payments",
         "projects": "projects", "quotes": "quotes"}


@pytest.mark.parametrize("kind", KINDS)
def test_signal_record_and_list(intel, suite, kind):
    cid = intel.client()["id"]
    made = [intel.signal(cid, kind, VALID[kind](i)) for i in range(3)]
    for m in made:
        assert m["client_id"] == cid and uuid.UUID(m["id"]) and is_rfc3339(m["created_at"])
    page = intel.ok("GET", f"/clients/{cid}/{kind}")
    assert page["total"] == 3 and (page["limit"], page["offset"]) == (50, 0)
    assert [x["id"] for x in page["items"]] == [m["id"] for m in reversed(made)]  # newest first
    page = intel.ok("GET", f"/clients/{cid}/{kind}?limit=1&offset=1")
    assert page["total"] == 3 and [x["id"] for x in page["items"]] == [made[1]["id"]]
    assert rows(suite, TABLE[kind], cid) == 3

    ghost = str(uuid.uuid4())
    check_error(intel.post(f"/clients/{ghost}/{kind}", json=VALID[kind](0)), 404, "not_found")
    check_error(intel.get(f"/clients/{ghost}/{kind}"), 404, "not_found")
    check_error(intel.get(f"/clients/x/{kind}"), 400, "invalid_request")
    check_error(intel.get(f"/clients/{cid}/{kind}?limit=9999"), 400, "invalid_request")
    err = check_error(intel.post(f"/clients/{cid}/{kind}", json={**VALID[kind](0), "extra": 1}),
                      400, "invalid_request")
    assert err["field"] == "extra"
    check_error(intel.post(f"/clients/{cid}/{kind}", data="[",
                           headers={"Content-Type": "application/json"}), 400, "invalid_json")
    assert rows(suite, TABLE[kind], cid) == 3  # nothing half-written


def test_signal_shapes(intel):
    cid = intel.client()["id"]
    a = intel.signal(cid, "activity", {"actor": "ann", "action": "menu viewed"})
    assert a["details"] == {} and is_rfc3339(a["occurred_at"])  # defaults: now, {}
    t = intel.signal(cid, "tickets", {"opened_at": "2024-01-02T03:04:05+02:00"})
    assert (t["priority"], t["opened_at"], t["resolved_at"]) == ("normal",
                                                                 "2024-01-02T01:04:05.000Z", None)
    p = intel.signal(cid, "payments", {"invoice": "A-1", "amount": 12.5, "due_at": ago(days=-20)})
    assert (p["amount"], p["status"], p["paid_at"]) == ("12.50", "open", None)  # due ahead: fine
    p = intel.signal(cid, "payments", {"invoice": "A-2", "amount": "0.01", "due_at": ago(days=5),
                                       "paid_at": ago(days=6)})
    assert p["status"] == "paid" and p["amount"] == "0.01"
    v = intel.signal(cid, "payments", {"invoice": "A-3", "amount": "5", "due_at": ago(days=5),
                                       "status": "void"})
    assert v["status"] == "void"
    j = intel.signal(cid, "projects", {})
    assert (j["status"], j["value"], j["name"]) == ("active", "0.00", None)
    q = intel.signal(cid, "quotes", {"value": 0})
    assert (q["status"], q["value"]) == ("sent", "0.00")


@pytest.mark.parametrize("kind,body,field", [
    ("activity", {"action": "x"}, "actor"),
    ("activity", {"actor": "", "action": "x"}, "actor"),
    ("activity", {"actor": "a" * 201, "action": "x"}, "actor"),
    ("activity", {"actor": "a", "action": "x", "occurred_at": "yesterday"}, "occurred_at"),
    ("activity", {"actor": "a", "action": "x", "occurred_at": ago(hours=-1)}, "occurred_at"),
    ("activity", {"actor": "a", "action": "x", "occurred_at": "1999-12-31T23:59:59Z"},
     "occurred_at"),
    ("activity", {"actor": "a", "action": "x", "details": [1]}, "details"),
    ("activity", {"actor": "a", "action": "x", "details": {"k": "v" * 5000}}, "details"),
    ("tickets", {"priority": "high"}, "opened_at"),
    ("tickets", {"opened_at": ago(days=1), "priority": "asap"}, "priority"),
    ("tickets", {"opened_at": ago(days=1), "first_response_at": ago(days=2)}, "first_response_at"),
    ("tickets", {"opened_at": ago(days=1), "resolved_at": ago(days=2)}, "resolved_at"),
    ("tickets", {"opened_at": ago(days=1), "resolved_at": ago(days=-1)}, "resolved_at"),
    ("payments", {"amount": 1, "due_at": ago()}, "invoice"),
    ("payments", {"invoice": "I", "amount": 0, "due_at": ago()}, "amount"),
    ("payments", {"invoice": "I", "amount": "-1", "due_at": ago()}, "amount"),
    ("payments", {"invoice": "I", "amount": 1.005, "due_at": ago()}, "amount"),
    ("payments", {"invoice": "I", "amount": 1, "due_at": "2101-01-01T00:00:00Z"}, "due_at"),
    ("payments", {"invoice": "I", "amount": 1, "due_at": ago(), "status": "paid"}, "paid_at"),
    ("payments", {"invoice": "I", "amount": 1, "due_at": ago(), "status": "open",
                  "paid_at": ago()}, "status"),
    ("payments", {"invoice": "I" * 65, "amount": 1, "due_at": ago()}, "invoice"),
    ("projects", {"status": "dreaming"}, "status"),
    ("projects", {"value": "1,5"}, "value"),
    ("projects", {"started_at": ago(days=-2)}, "started_at"),
    ("quotes", {"status": "sent"}, "value"),
    ("quotes", {"value": 1, "status": "won"}, "status"),
    ("quotes", {"value": 1, "title": ""}, "title"),
])
def test_signal_refuses(intel, suite, kind, body, field):
    cid = intel.client()["id"]
    err = check_error(intel.post(f"/clients/{cid}/{kind}", json=body), 400, "invalid_request")
    assert err["field"] == field, err
    assert rows(suite, TABLE[kind], cid) == 0


def test_an_invoice_number_once_per_client(intel, suite):
    a, b = intel.client()["id"], intel.client()["id"]
    body = {"invoice": "INV-7", "amount": "99.90", "due_at": ago(days=1)}
    intel.signal(a, "payments", body)
    err = check_error(intel.post(f"/clients/{a}/payments", json=body), 409, "conflict")
    assert "invoice" in err["message"]
    intel.signal(b, "payments", body)  # another client's numbering
    assert rows(suite, "payments", a) == 1 and rows(suite, "payments", b) == 1
    assert suite.pg.psql("SELECT pg_typeof(amount) FROM intelligence.payments WHERE client_id = "
                         f"'{a}'") == "numeric"


# ---------------------------------------------------------------- the health score


def test_a_client_without_data_is_unknown(intel, suite):
    cid = intel.client()["id"]
    h = intel.health(cid)
    assert set(h) == {"client_id", "overall_score", "health_status", "factors", "trend",
                      "computed_at", "recommendations"}
    assert (h["client_id"], h["overall_score"], h["health_status"]) == (cid, None, "unknown")
    assert h["trend"] == {"d7": None, "d30": None} and h["recommendations"] == []
    assert set(h["factors"]) == FACTORS
    for name, f in h["factors"].items():
        assert (f["score"], f["status"], f["weight"]) == (None, "no_data", WEIGHTS[name])
        assert f["details"]["reason"]
    assert "no job" in h["factors"]["automation_success"]["details"]["reason"]
    assert "sync run" in h["factors"]["system_stability"]["details"]["reason"]
    assert rows(suite, "client_health_scores", cid) == 1
    check_error(intel.get(f"/clients/{uuid.uuid4()}/health"), 404, "not_found")
    check_error(intel.get("/clients/1/health"), 400, "invalid_request")


def scores(h):
    return {k: f["score"] for k, f in h["factors"].items() if f["status"] == "ok"}


def test_signals_move_the_score(intel, suite):
    cid = intel.client()["id"]
    for i in range(20):  # 20 entries in the window, the last a minute ago
        intel.signal(cid, "activity", {"actor": "ann", "action": "order", "occurred_at":
                                       ago(minutes=1 + i)})
    h = intel.health(cid)
    assert scores(h) == {"engagement": 100}
    assert (h["overall_score"], h["health_status"]) == (100, "healthy")
    assert h["factors"]["engagement"]["effective_weight"] == 100
    assert h["factors"]["engagement"]["details"]["activities_30d"] == 20

    # an invoice ten days (and an hour) overdue: 100 - (10 + 2 * 10) = 70;
    # (25 * 100 + 15 * 70) / 40 = 88.75
    intel.signal(cid, "payments", {"invoice": "I-1", "amount": "500.00",
                                   "due_at": ago(days=10, hours=1)})
    h = intel.health(cid)
    assert scores(h) == {"engagement": 100, "payment_health": 70}
    assert (h["overall_score"], h["health_status"]) == (89, "healthy")
    assert h["factors"]["payment_health"]["details"]["max_days_overdue"] == 10
    assert h["factors"]["engagement"]["effective_weight"] == 62.5

    # an urgent ticket unanswered for two days: both targets missed, 0;
    # 3550 / 55 = 64.5
    intel.signal(cid, "tickets", {"priority": "urgent", "opened_at": ago(days=2)})
    h = intel.health(cid)
    assert scores(h)["support_responsiveness"] == 0
    assert (h["overall_score"], h["health_status"]) == (65, "at_risk")

    # a declined quote: growth 35; (2500 + 1050 + 0 + 350) / 65 = 60
    intel.signal(cid, "quotes", {"value": "1200", "status": "declined", "issued_at": ago(days=3)})
    h = intel.health(cid)
    assert scores(h)["growth_potential"] == 35
    assert (h["overall_score"], h["health_status"]) == (60, "at_risk")
    assert h["trend"] == {"d7": None, "d30": None}
    assert rows(suite, "client_health_scores", cid) == 4

    # two more invoices long overdue: payments 100 - 30 - 60 - 60 < 0 -> 0;
    # (2500 + 0 + 0 + 350) / 65 = 43.8
    for n in (2, 3):
        intel.signal(cid, "payments", {"invoice": f"I-{n}", "amount": 80, "due_at": ago(days=45)})
    h = intel.health(cid)
    assert scores(h)["payment_health"] == 0
    assert (h["overall_score"], h["health_status"]) == (44, "critical")

    # the trend compares with the scores as they stood 7 and 30 days earlier
    suite.pg.psql(
        "INSERT INTO intelligence.client_health_scores (client_id, overall_score, health_status, "
        f"factors, computed_at) VALUES ('{cid}', 80, 'healthy', '{{}}', now() - interval '8 days'),"
        f" ('{cid}', 30, 'critical', '{{}}', now() - interval '31 days'),"
        f" ('{cid}', 99, 'healthy', '{{}}', now() - interval '90 days')")
    h = intel.health(cid)
    assert h["overall_score"] == 44 and h["trend"] == {"d7": -36, "d30": 14}
    stored = suite.pg.psql("SELECT overall_score || ' ' || health_status || ' ' || trend_d7 || ' ' "
                           "|| trend_d30 || ' ' || (factors->'payment_health'->>'score') FROM "
                           f"intelligence.client_health_scores WHERE client_id = '{cid}' "
                           "ORDER BY computed_at DESC LIMIT 1")
    assert stored == "44 critical -36 14 0"


def test_health_summary_order_and_counts(intel):
    _, before, _ = intel.summary()  # also scores every client not scored yet
    p = plan()
    crit, risk, good, unknown = (intel.client(plan=p, name=n)["id"]
                                 for n in ("crit", "risk", "good", "unknown"))
    for n in range(3):  # payments 0 -> overall 0
        intel.signal(crit, "payments", {"invoice": f"I-{n}", "amount": 1, "due_at": ago(days=40)})
    for i in range(10):  # recency 60, frequency 50 -> 55
        intel.signal(risk, "activity", {"actor": "a", "action": "b",
                                        "occurred_at": ago(days=12, minutes=i)})
    for i in range(20):
        intel.signal(good, "activity", {"actor": "a", "action": "b", "occurred_at": ago(minutes=i)})

    items, after, total = intel.summary()
    assert {b: after[b] - before[b] for b in before} == {"healthy": 1, "at_risk": 1,
                                                         "critical": 1, "unknown": 1}
    assert total == sum(after.values()) == len(items)
    pos = {x["client_id"]: i for i, x in enumerate(items)}
    assert pos[crit] < pos[risk] < pos[good] < pos[unknown]  # worst first, unknown last
    mine = {x["client_id"]: x for x in items if x["plan"] == p}
    assert (mine[crit]["overall_score"], mine[crit]["health_status"]) == (0, "critical")
    assert (mine[risk]["overall_score"], mine[risk]["health_status"]) == (55, "at_risk")
    assert (mine[good]["overall_score"], mine[good]["health_status"]) == (100, "healthy")
    assert (mine[unknown]["overall_score"], mine[unknown]["health_status"]) == (None, "unknown")
    assert mine[good]["trend"] == {"d7": None, "d30": None}
    assert mine[good]["client_status"] == "active" and is_rfc3339(mine[good]["computed_at"])
    scored = [x["overall_score"] for x in items if x["overall_score"] is not None]
    assert scored == sorted(scored)
    assert all(x["overall_score"] is None for x in items[len(scored):])

    crit_items, counts, crit_total = intel.summary("status=critical")
    assert crit in {x["client_id"] for x in crit_items}
    assert {x["health_status"] for x in crit_items} == {"critical"}
    assert crit_total == counts["critical"] == len(crit_items) and counts == after
    check_error(intel.get("/clients/health-summary?status=sad"), 400, "invalid_request")

    # the summary shows each client's latest score: scoring "good" again
    # after an invoice went overdue moves it
    intel.signal(good, "payments", {"invoice": "X", "amount": 1, "due_at": ago(days=10, hours=1)})
    assert intel.health(good)["overall_score"] == 89
    items, again, _ = intel.summary()
    assert {x["client_id"]: x for x in items}[good]["overall_score"] == 89
    assert again == after


# ---------------------------------------------------------------- permissions


def test_permissions(suite, tokens, intel):
    cid = intel.client()["id"]
    gw = suite.gateway.url
    as_ = {r: Intel(gw, tokens.headers(r)) for r in ("viewer", "staff", "manager")}
    viewer, staff, manager = as_["viewer"], as_["staff"], as_["manager"]
    pay = {"invoice": "P-" + secrets.token_hex(3), "amount": 5, "due_at": ago(days=1)}

    # the viewer sees clients and health, nothing else
    assert viewer.get("/clients").status_code == 200
    assert viewer.get(f"/clients/{cid}").status_code == 200
    assert viewer.get(f"/clients/{cid}/health").status_code == 200
    assert viewer.get("/clients/health-summary?limit=1").status_code == 200
    check_error(viewer.post("/clients", json={"name": "x"}), 403, "forbidden")
    check_error(viewer.patch(f"/clients/{cid}", json={"name": "x"}), 403, "forbidden")
    for kind in KINDS:
        check_error(viewer.get(f"/clients/{cid}/{kind}"), 403, "forbidden")
        check_error(viewer.post(f"/clients/{cid}/{kind}", json=VALID[kind](0)), 403, "forbidden")

    # staff work with signals but not with payments
    assert staff.post("/clients", json={"name": "by staff"}).status_code == 201
    assert staff.patch(f"/clients/{cid}", json={"plan": "gold"}).status_code == 200
    for kind in ("activity", "tickets", "projects", "quotes"):
        assert staff.post(f"/clients/{cid}/{kind}", json=VALID[kind](0)).status_code == 201
        assert staff.get(f"/clients/{cid}/{kind}").status_code == 200
    check_error(staff.get(f"/clients/{cid}/payments"), 403, "forbidden")
    check_error(staff.post(f"/clients/{cid}/payments", json=pay), 403, "forbidden")

    # monthly revenue is financial too: hidden from viewer and staff, and
    # only managers and admins may set it
    assert "monthly_revenue" not in viewer.get(f"/clients/{cid}").json()
    assert all("monthly_revenue" not in c for c in viewer.get("/clients").json()["items"])
    made = staff.post("/clients", json={"name": "by staff"}).json()
    assert "monthly_revenue" not in made and made["name"] == "by staff"
    check_error(staff.post("/clients", json={"name": "x", "monthly_revenue": 5}), 403, "forbidden")
    check_error(staff.patch(f"/clients/{cid}", json={"monthly_revenue": 5}), 403, "forbidden")
    assert manager.patch(f"/clients/{cid}", json={"monthly_revenue": 7})\
        .json()["monthly_revenue"] == "7.00"
    assert manager.get(f"/clients/{cid}").json()["monthly_revenue"] == "7.00"

    # payments are financial: managers and admins
    assert manager.post(f"/clients/{cid}/payments", json=pay).status_code == 201
    assert manager.get(f"/clients/{cid}/payments").json()["total"] == 1
    assert intel.get(f"/clients/{cid}/payments").json()["total"] == 1

    check_error(http("GET", f"{gw}/api/intelligence/clients"), 401, "unauthorized")
    check_error(http("GET", f"{gw}/api/intelligence/clients/{cid}/health"), 401, "unauthorized")
