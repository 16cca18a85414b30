"""svc-intelligence's system health and score recompute (issue 6):
GET /api/intelligence/system/health and POST /api/intelligence/scores/recompute,
through the gateway, plus a svc-intelligence of the test's own (the spawn
fixture) pointed at daemons the test stops or at an address that never
answers, asked directly with the internal token."""

import json
import secrets
import socket
import time
import uuid

import pytest

from harness import check_error, http, is_rfc3339, service_headers
from natsclient import Client as Nats

SERVICES = ("gateway", "svc-automation", "svc-toast", "svc-embedding", "svc-sync")
SEVERITIES = {"critical", "high", "medium", "low"}


def get_health(base, headers, timeout=15):
    t0 = time.monotonic()
    r = http("GET", base + "/api/intelligence/system/health", headers=headers, timeout=timeout)
    assert r.status_code == 200, f"{r.status_code} {r.text[:500]}"
    return r.json(), time.monotonic() - t0


def expected_status(c):
    """The rule of the README ("System health"), from the components."""
    if c["postgres"]["status"] != "up" or c["nats"]["status"] != "up":
        return "unhealthy"
    svc_ok = all(s["status"] in ("healthy", "not_configured") for s in c["services"].values())
    q = c["job_queue"]
    if (c["nats"]["jetstream"]["status"] != "up" or not svc_ok or q["status"] != "up"
            or (q.get("expired_leases") or 0) > 0 or c["alerts"]["critical"] > 0):
        return "degraded"
    return "healthy"


def check_shape(h):
    assert set(h) == {"status", "checked_at", "components"}
    assert is_rfc3339(h["checked_at"])
    c = h["components"]
    assert set(c) == {"postgres", "nats", "services", "job_queue", "integrations", "alerts"}
    assert c["postgres"]["status"] == "up" and isinstance(c["postgres"]["latency_ms"], int)
    assert c["nats"]["status"] == "up" and isinstance(c["nats"]["latency_ms"], int)
    js = c["nats"]["jetstream"]
    assert js["status"] == "up", js
    assert js["stream"]["name"] == "EVENTS"
    assert isinstance(js["stream"]["messages"], int) and isinstance(js["stream"]["bytes"], int)
    for con in js["consumers"]:
        assert set(con) == {"name", "pending", "ack_pending"} and con["name"]
        assert con["pending"] >= 0 and con["ack_pending"] >= 0
    assert set(c["services"]) == set(SERVICES)
    q = c["job_queue"]
    assert q["status"] == "up", q
    assert set(q["depth"]) == {"pending", "queued", "running"}
    assert all(isinstance(v, int) and v >= 0 for v in q["depth"].values()), q
    assert isinstance(q["failed_24h"], int) and isinstance(q["expired_leases"], int), q
    assert set(c["integrations"]) == {"healthy", "degraded", "unhealthy", "total"}
    ints = c["integrations"]
    assert ints["total"] == ints["healthy"] + ints["degraded"] + ints["unhealthy"]
    assert set(c["alerts"]) == SEVERITIES
    assert h["status"] == expected_status(c), h


@pytest.fixture
def admin_h(suite, tokens):
    return tokens.headers("admin")


def test_system_health_all_up(suite, admin_h):
    h, took = get_health(suite.gateway.url, admin_h)
    check_shape(h)
    # svc-intelligence's own durable consumers are among the stream's.
    names = {c["name"] for c in h["components"]["nats"]["jetstream"]["consumers"]}
    assert {"svc-intelligence-jobs", "svc-intelligence-health"} <= names, names
    for name in SERVICES:
        s = h["components"]["services"][name]
        assert s["status"] == "healthy", (name, s)
        assert s["http_status"] == 200 and isinstance(s["latency_ms"], int)
    assert took < 3, f"the report took {took:.2f}s"


def db_counts(suite):
    """The report's integrations and alerts figures, counted another way."""
    rows = suite.pg.psql(
        "SELECT status, count(*) FROM (SELECT status, row_number() OVER (PARTITION BY "
        "integration_id ORDER BY checked_at DESC, check_id) AS k "
        "FROM intelligence.integration_checks) x WHERE k = 1 GROUP BY status")
    ints = {"healthy": 0, "degraded": 0, "unhealthy": 0}
    for line in filter(None, rows.splitlines()):
        k, n = line.split("|")
        ints[k] = int(n)
    ints["total"] = sum(ints.values())
    rows = suite.pg.psql("SELECT severity, count(*) FROM intelligence.alerts "
                         "WHERE status = 'active' GROUP BY severity")
    alerts = {k: 0 for k in SEVERITIES}
    for line in filter(None, rows.splitlines()):
        k, n = line.split("|")
        alerts[k] = int(n)
    return ints, alerts


def report_matches_db(suite, headers):
    """The report's counts equal the database's, read around it (scores
    recomputed in the background by earlier tests' events may move them:
    retried until the two agree)."""
    deadline = time.monotonic() + 15
    while True:
        before = db_counts(suite)
        c = get_health(suite.gateway.url, headers)[0]["components"]
        if before == db_counts(suite) == (c["integrations"], c["alerts"]):
            return c
        assert time.monotonic() < deadline, (before, c["integrations"], c["alerts"])
        time.sleep(0.2)


def test_system_health_counts_integrations_and_alerts(suite, admin_h):
    report_matches_db(suite, admin_h)
    integ, cid = str(uuid.uuid4()), str(uuid.uuid4())
    # Two checks of one integration: only the newest counts.
    suite.pg.psql(
        "INSERT INTO intelligence.integration_checks (check_id, integration_id, client_id, "
        f"status, checked_at) VALUES ('{uuid.uuid4()}', '{integ}', '{cid}', 'healthy', "
        f"now() - interval '1 hour'), ('{uuid.uuid4()}', '{integ}', '{cid}', 'unhealthy', now())")
    # An older check arriving late changes nothing.
    suite.pg.psql(
        "INSERT INTO intelligence.integration_checks (check_id, integration_id, client_id, "
        f"status, checked_at) VALUES ('{uuid.uuid4()}', '{integ}', '{cid}', 'degraded', "
        "now() - interval '2 hours')")
    subject = "e2e-syshealth-" + secrets.token_hex(6)
    suite.pg.psql(
        "INSERT INTO intelligence.alerts (type, severity, subject, message) VALUES "
        f"('sync_failed', 'critical', '{subject}', 'e2e'), "
        f"('sync_failed', 'low', '{subject}-resolved', 'e2e')")
    suite.pg.psql("UPDATE intelligence.alerts SET status = 'resolved', resolved_at = now() "
                  f"WHERE subject = '{subject}-resolved'")
    try:
        c = report_matches_db(suite, admin_h)
        assert c["integrations"]["unhealthy"] >= 1 and c["alerts"]["critical"] >= 1
        h = get_health(suite.gateway.url, admin_h)[0]
        assert h["status"] in ("degraded", "unhealthy")  # a critical alert is active
    finally:
        suite.pg.psql(f"DELETE FROM intelligence.alerts WHERE subject LIKE '{subject}%'")
        # Checks are never deleted by the daemon; the test deletes its own
        # and the newest-check row kept beside them (migration 012).
        for table in ("integration_checks", "integration_latest"):
            suite.pg.psql(f"DELETE FROM intelligence.{table} WHERE integration_id = '{integ}'")


def test_system_health_stream_figures_move(suite, admin_h):
    before = get_health(suite.gateway.url, admin_h)[0]["components"]["nats"]["jetstream"]
    nc = Nats(suite.nats.url)
    try:
        for i in range(3):
            ack = nc.request_json(f"events.e2e.syshealth.{i}", {"i": i})
            assert ack.get("stream") == "EVENTS", ack
    finally:
        nc.close()
    after = get_health(suite.gateway.url, admin_h)[0]["components"]["nats"]["jetstream"]
    assert after["stream"]["messages"] >= before["stream"]["messages"] + 3
    assert after["stream"]["bytes"] > before["stream"]["bytes"]


def test_system_health_consumer_backlog(suite, admin_h):
    """A durable nobody pulls from: its pending count is the report's."""
    tag = secrets.token_hex(4)
    durable = f"e2e-syshealth-{tag}"
    nc = Nats(suite.nats.url)
    try:
        r = nc.request_json(f"$JS.API.CONSUMER.DURABLE.CREATE.EVENTS.{durable}", {
            "stream_name": "EVENTS",
            "config": {"durable_name": durable, "ack_policy": "explicit",
                       "deliver_policy": "all", "filter_subject": f"events.e2e.{tag}.>"}})
        assert "error" not in r, r
        for i in range(3):
            assert nc.request_json(f"events.e2e.{tag}.{i}", {"i": i}).get("stream") == "EVENTS"
        h = get_health(suite.gateway.url, admin_h)[0]
        mine = [c for c in h["components"]["nats"]["jetstream"]["consumers"]
                if c["name"] == durable]
        assert mine == [{"name": durable, "pending": 3, "ack_pending": 0}], mine
    finally:
        nc.request_json(f"$JS.API.CONSUMER.DELETE.EVENTS.{durable}", {})
        nc.close()


def own_intelligence(suite, spawn, **urls):
    """A svc-intelligence of the test's own, asking the suite's daemons unless
    told otherwise."""
    env = {"GATEWAY_URL": suite.gateway.url, "SYSTEM_HEALTH_TIMEOUT_MS": "600"}
    for name, var in (("svc-automation", "AUTOMATION_URL"), ("svc-toast", "TOAST_URL"),
                      ("svc-embedding", "EMBEDDING_URL"), ("svc-sync", "SYNC_URL")):
        env[var] = suite[name].url
    env.update(urls)
    return spawn("svc-intelligence", env=env)


def test_system_health_stopped_service(suite, spawn):
    emb = spawn("svc-embedding")
    me = own_intelligence(suite, spawn, EMBEDDING_URL=emb.url, TOAST_URL="")
    h, _ = get_health(me.url, service_headers(suite.token))
    s = h["components"]["services"]
    assert s["svc-embedding"]["status"] == "healthy", s
    assert s["svc-toast"] == {"status": "not_configured"}
    assert h["status"] == expected_status(h["components"])

    emb.stop()
    h, took = get_health(me.url, service_headers(suite.token))
    down = h["components"]["services"]["svc-embedding"]
    assert down["status"] == "down" and down["error"], down
    # The error says what went wrong, never where the service lives.
    port = emb.url.rsplit(":", 1)[1]
    assert "127.0.0.1" not in json.dumps(down) and port not in down["error"]
    assert h["status"] == "degraded", h
    assert took < 2.5


def test_system_health_answers_in_time_when_a_service_hangs(suite, spawn):
    # A listener that never accepts: the connection is made (the backlog),
    # the request is never answered.
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        hang = f"http://127.0.0.1:{sock.getsockname()[1]}"
        me = own_intelligence(suite, spawn, SYNC_URL=hang)
        h, took = get_health(me.url, service_headers(suite.token))
        sync = h["components"]["services"]["svc-sync"]
        assert sync["status"] == "down" and sync["error"], sync
        assert h["status"] == "degraded"
        # 600 ms for every part, a little for the rest.
        assert took < 1.5, f"the report took {took:.2f}s"
    finally:
        sock.close()


def test_system_health_permissions(suite, tokens):
    for role in ("staff", "manager", "admin"):
        get_health(suite.gateway.url, tokens.headers(role))
    r = http("GET", suite.gateway.url + "/api/intelligence/system/health",
             headers=tokens.headers("viewer"), timeout=10)
    check_error(r, 403, "forbidden")
    r = http("GET", suite.gateway.url + "/api/intelligence/system/health", timeout=10)
    check_error(r, 401, "unauthorized")


# ---------------------------------------------------------------- recompute


def intel(suite, tokens, role="admin"):
    base = suite.gateway.url + "/api/intelligence"

    def call(method, path, status=200, **kw):
        r = http(method, base + path, headers=tokens.headers(role), timeout=60, **kw)
        assert r.status_code == status, f"{method} {path}: {r.status_code} {r.text[:400]}"
        return r.json() if r.content else None
    return call


def scores(suite, cid):
    return int(suite.pg.psql("SELECT count(*) FROM intelligence.client_health_scores "
                             f"WHERE client_id = '{cid}'"))


def new_client(call, status="active"):
    c = call("POST", "/clients", 201, json={"name": "Recompute " + secrets.token_hex(4),
                                            "status": status})
    call("POST", f"/clients/{c['id']}/activity", 201,
         json={"actor": "e2e", "action": "login"})
    return c["id"]


def test_recompute_listed_clients(suite, tokens):
    call = intel(suite, tokens)
    ids = [new_client(call) for _ in range(3)]
    before = {i: scores(suite, i) for i in ids}
    missing = str(uuid.uuid4())
    r = call("POST", "/scores/recompute", json={"client_ids": ids + [missing]})
    assert set(r) == {"recomputed", "failed", "not_found", "duration_ms"}
    assert (r["recomputed"], r["failed"], r["not_found"]) == (3, 0, 1), r
    assert isinstance(r["duration_ms"], int) and r["duration_ms"] >= 0
    for i in ids:
        assert scores(suite, i) == before[i] + 1
        # The stored score is the one the summary shows.
        row = suite.pg.psql("SELECT health_status FROM intelligence.client_health_scores "
                            f"WHERE client_id = '{i}' ORDER BY computed_at DESC, id DESC LIMIT 1")
        assert row == call("GET", f"/clients/{i}/health")["health_status"]


def test_recompute_every_active_client(suite, tokens):
    call = intel(suite, tokens, "staff")
    active, paused = new_client(call), new_client(call, status="paused")
    before_active, before_paused = scores(suite, active), scores(suite, paused)
    n_active = int(suite.pg.psql("SELECT count(*) FROM intelligence.clients "
                                 "WHERE status = 'active'"))
    r = call("POST", "/scores/recompute")
    assert r["failed"] == 0 and r["not_found"] == 0
    assert r["recomputed"] >= n_active and r["recomputed"] >= 1
    assert scores(suite, active) == before_active + 1
    assert scores(suite, paused) == before_paused  # only active clients
    r = call("POST", "/scores/recompute", json={})
    assert r["recomputed"] >= n_active


@pytest.mark.parametrize("body,why", [
    ({"client_ids": "x"}, "client_ids"),
    ({"client_ids": []}, "client_ids"),
    ({"client_ids": ["not-a-uuid"]}, "client_ids"),
    ({"client_ids": [7]}, "client_ids"),
    ({"client_ids": ["00000000-0000-4000-8000-000000000001"] * 2}, "client_ids"),
    ({"client_ids": ["0000000a-0000-4000-8000-000000000001",
                     "0000000A-0000-4000-8000-000000000001"]}, "client_ids"),
    ({"client_ids": [str(uuid.uuid4()) for _ in range(10001)]}, "client_ids"),
    ({"clients": []}, "clients"),
    ([], ""),
])
def test_recompute_bad_input(suite, tokens, body, why):
    r = http("POST", suite.gateway.url + "/api/intelligence/scores/recompute",
             headers=tokens.headers("admin"), json=body, timeout=30)
    err = check_error(r, 400, "invalid_request")
    assert why in err["message"], err


def test_recompute_permissions(suite, tokens):
    r = http("POST", suite.gateway.url + "/api/intelligence/scores/recompute",
             headers=tokens.headers("viewer"), json={"client_ids": [str(uuid.uuid4())]},
             timeout=10)
    check_error(r, 403, "forbidden")


def test_recompute_scores_as_the_client_route_does(suite, tokens):
    """POST /scores/recompute reads many clients at once; what it stores must
    be what GET /clients/{id}/health computes from the same signals."""
    call = intel(suite, tokens)
    ids = []
    day, now = 86400, time.time()

    def at(secs_ago):
        return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now - secs_ago))
    for k in range(3):
        cid = call("POST", "/clients", 201, json={"name": "Same " + secrets.token_hex(4)})["id"]
        # Engagement decays continuously: (recency 88.75 + frequency 5) / 2
        # = 46.875, an hour and more from a rounding step either way. Every
        # other signal is a whole number of days or hours from its steps.
        call("POST", f"/clients/{cid}/activity", 201,
             json={"actor": "e2e", "action": "login", "occurred_at": at(3 * day + 9 * 3600)})
        call("POST", f"/clients/{cid}/tickets", 201,
             json={"priority": "high", "opened_at": at(3 * day),
                   "first_response_at": at(3 * day - 1800 * (k + 1))})
        call("POST", f"/clients/{cid}/tickets", 201, json={"opened_at": at(10 * day)})
        call("POST", f"/clients/{cid}/payments", 201,
             json={"invoice": "A-1", "amount": "100.00", "due_at": at(20 * day),
                   "paid_at": at((25 - 10 * k) * day), "status": "paid"})
        call("POST", f"/clients/{cid}/payments", 201,
             json={"invoice": "A-2", "amount": "50.00", "due_at": at(5 * day), "status": "open"})
        call("POST", f"/clients/{cid}/projects", 201,
             json={"name": "p", "status": "active", "started_at": at(4 * day)})
        call("POST", f"/clients/{cid}/quotes", 201,
             json={"status": ["accepted", "declined", "sent"][k], "value": "10",
                   "issued_at": at(2 * day)})
        # What the event consumers keep (automation_success, system_stability),
        # half a day from any day's edge.
        integ = uuid.uuid4()
        suite.pg.psql(
            "INSERT INTO intelligence.job_outcomes (job_id, client_id, job_type, status, attempt, "
            f"seq, finished_at) SELECT gen_random_uuid(), '{cid}', 'menu_sync', "
            "(ARRAY['completed','completed','failed','cancelled'])[1 + i % 4], 1, 1, "
            "now() - make_interval(hours => 12 + 24 * (i * 3 % 20)) "
            f"FROM generate_series(0, {3 + 2 * k}) i")
        suite.pg.psql(
            "INSERT INTO intelligence.integration_checks (check_id, integration_id, client_id, "
            f"status, checked_at) SELECT gen_random_uuid(), '{integ}', '{cid}', "
            f"CASE WHEN i = 0 AND {k} = 1 THEN 'unhealthy' WHEN i % 3 = 2 THEN 'degraded' "
            "ELSE 'healthy' END, now() - make_interval(hours => 12 + 24 * i) "
            "FROM generate_series(0, 4) i")
        suite.pg.psql(
            "INSERT INTO intelligence.sync_runs (run_id, source_type, client_id, status, "
            f"finished_at) VALUES ('e2e-{cid}-1', 'pos', '{cid}', 'completed', "
            f"now() - interval '36 hours'), ('e2e-{cid}-2', 'pos', '{cid}', "
            f"'{['failed', 'partial', 'completed'][k]}', now() - interval '60 hours')")
        ids.append(cid)
    r = call("POST", "/scores/recompute", json={"client_ids": ids})
    assert (r["recomputed"], r["failed"]) == (3, 0), r
    for cid in ids:
        stored = json.loads(suite.pg.psql(
            "SELECT json_build_object('overall', overall_score, 'status', health_status, "
            "'factors', factors) FROM intelligence.client_health_scores "
            f"WHERE client_id = '{cid}' ORDER BY computed_at DESC, id DESC LIMIT 1"))
        live = call("GET", f"/clients/{cid}/health")
        assert stored["overall"] == live["overall_score"]
        assert stored["status"] == live["health_status"]
        for name, f in live["factors"].items():
            s = stored["factors"][name]
            assert (s["score"], s["status"]) == (f["score"], f["status"]), (name, s, f)
            assert f["status"] == "ok", (name, f)  # every factor has data here


def test_summary_reads_each_clients_newest_score(suite, tokens):
    """The summary's latest-score table (migration 011) follows the history:
    an older score inserted late does not replace the newest, a newer one does."""
    call = intel(suite, tokens)
    cid = new_client(call)
    call("POST", "/scores/recompute", json={"client_ids": [cid]})

    def insert(score, status, when):
        suite.pg.psql("INSERT INTO intelligence.client_health_scores (client_id, overall_score, "
                      f"health_status, factors, computed_at) VALUES ('{cid}', {score}, "
                      f"'{status}', '{{}}', {when})")

    def in_summary():
        offset = 0
        while True:
            p = call("GET", f"/clients/health-summary?limit=500&offset={offset}")
            for x in p["items"]:
                if x["client_id"] == cid:
                    return (x["overall_score"], x["health_status"])
            offset += 500
            assert offset < p["total"], "the client is not in the summary"
    first = in_summary()
    assert first[1] != "unknown"
    insert(3, "critical", "now() - interval '10 days'")
    assert in_summary() == first
    insert(99, "healthy", "now() + interval '1 minute'")
    assert in_summary() == (99, "healthy")
    assert int(suite.pg.psql("SELECT count(*) FROM intelligence.client_latest_scores "
                             f"WHERE client_id = '{cid}'")) == 1


def test_recompute_runs_the_alert_rules_and_the_recommendations(suite, tokens):
    """Every stored score is followed by the alerts' score rules, then the
    recommendations: a recomputed one too."""
    call = intel(suite, tokens)
    cid = call("POST", "/clients", 201, json={"name": "Late " + secrets.token_hex(4)})["id"]
    # payment_health alone: 100 - (10 + 2 x 25) = 40, critical.
    due = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - 25 * 86400 - 3600))
    call("POST", f"/clients/{cid}/payments", 201,
         json={"invoice": "L-1", "amount": "80.00", "due_at": due, "status": "open"})
    assert call("POST", "/scores/recompute", json={"client_ids": [cid]})["recomputed"] == 1
    alerts = call("GET", f"/alerts?client_id={cid}&type=health_critical&status=active")
    assert alerts["total"] == 1, alerts
    assert alerts["items"][0]["occurrences"] == 1
    recs = call("GET", f"/recommendations?client_id={cid}&status=open")["items"]
    assert "follow_up_invoices" in {r["type"] for r in recs}, recs
    # Again: the open alert is updated, no recommendation is repeated.
    call("POST", "/scores/recompute", json={"client_ids": [cid]})
    again = call("GET", f"/alerts?client_id={cid}&type=health_critical")
    assert again["total"] == 1 and again["items"][0]["occurrences"] == 2, again
    assert len(call("GET", f"/recommendations?client_id={cid}&status=open")["items"]) \
        == len(recs)
