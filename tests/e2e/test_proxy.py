"""The gateway's proxy: what it sends upstream, upstream failures, connection reuse."""

import concurrent.futures
import time

import pytest
import requests

from harness import SERVICES, UPSTREAM_VAR, check_error, free_port, get, http, rid, wait_for
from peers import Recorder, SlowPeer


# A route of the permission table the service answers 404 to (no such job).
MISSING_JOB = "/api/automation/jobs/3f8b1c9e-2d4a-4b6c-9e1f-0a2b3c4d5e6f"
# The one route of each service in the table so far: open, no credential.
HEALTH = {"svc-automation": "/api/automation/health", "svc-intelligence":
          "/api/intelligence/health", "svc-toast": "/api/toast/health",
          "svc-embedding": "/api/embedding/health", "svc-sync": "/api/v1/sync/health"}


def is_access_line(line, request_id):
    return line.get("msg") == "request" and line.get("request_id") == request_id


# ---------------------------------------------------------------- real services


def test_request_id_reaches_the_service_log(suite, admin):
    gw, svc = suite.gateway, suite["svc-automation"]
    want = rid()
    r = get(gw.url + MISSING_JOB, headers={"X-Request-Id": want, **admin})
    check_error(r, 404, "not_found")
    line = svc.find_log(lambda l: is_access_line(l, want), what=f"access line with {want}")
    assert line.get("status") == 404, line
    assert MISSING_JOB in str(line.get("path")), line
    gw.find_log(lambda l: is_access_line(l, want), what=f"gateway access line with {want}")


def test_generated_request_id_reaches_the_service_log(suite):
    gw, svc = suite.gateway, suite["svc-toast"]
    r = get(gw.url + HEALTH["svc-toast"])
    assert r.status_code == 200, r.text
    generated = r.headers["X-Request-Id"]
    svc.find_log(lambda l: is_access_line(l, generated),
                 what=f"access line with generated id {generated}")


@pytest.mark.parametrize("name", ["gateway", "svc-automation"])
def test_access_log_line_fields(suite, admin, name):
    d = suite[name]
    want = rid()
    get(d.url + MISSING_JOB + "?x=1", headers={"X-Request-Id": want,
                                               "X-Internal-Token": suite.token, **admin})
    line = d.find_log(lambda l: is_access_line(l, want), what="access line")
    for key in ("method", "route", "path", "status", "duration_ms", "ts", "level", "service"):
        assert key in line, f"access line lacks {key}: {line}"
    assert line["method"] == "GET" and line["status"] == 404 and line["service"] == name
    assert line["level"] == "info", line
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    assert "3f8b1c9e" not in str(line["route"]), f"route is the raw path: {line}"


@pytest.mark.parametrize("svc", SERVICES)
def test_each_prefix_reaches_its_service(suite, svc):
    want = rid()
    r = get(suite.gateway.url + HEALTH[svc], headers={"X-Request-Id": want})
    assert r.status_code == 200 and r.json()["service"] == svc, r.text
    suite[svc].find_log(lambda l: is_access_line(l, want), what=f"{svc} access line")


def test_a_path_outside_the_table_never_reaches_the_service(suite, admin):
    """/api/admin/embedding-* is proxied to svc-embedding (routes.c), but only
    the routes of the permission table: the gate denies any other, and nothing
    reaches the service."""
    want = rid()
    r = get(suite.gateway.url + "/api/admin/embedding-e2e-no-such-route",
            headers={"X-Request-Id": want, **admin})
    check_error(r, 403, "forbidden")
    suite.gateway.find_log(lambda l: is_access_line(l, want), what="the gateway's access line")
    assert not [l for l in suite["svc-embedding"].log_lines() if l.get("request_id") == want]


def test_502_when_upstream_is_down_then_recovery(suite):
    gw, sync = suite.gateway, suite["svc-sync"]
    assert sync.stop() == 0, sync.tail()
    want = rid()
    r = get(gw.url + HEALTH["svc-sync"], headers={"X-Request-Id": want}, timeout=10)
    err = check_error(r, 502, "bad_gateway")
    assert err["request_id"] == want
    assert get(gw.url + "/live").status_code == 200
    detailed = get(gw.url + "/health/detailed", timeout=10).json()
    assert detailed["checks"]["svc-sync"]["status"] != "healthy", detailed["checks"]["svc-sync"]
    assert detailed["status"] != "healthy", detailed["status"]
    # The other upstreams are unaffected.
    assert get(gw.url + HEALTH["svc-toast"]).status_code == 200

    sync.start()
    wait_for(lambda: get(gw.url + HEALTH["svc-sync"]).status_code == 200, 15,
             "the gateway to reach svc-sync again")
    wait_for(lambda: get(gw.url + "/health/detailed").json()["checks"]["svc-sync"]["status"]
             == "healthy", 15, "svc-sync healthy in the gateway's detailed health")


# ---------------------------------------------------------------- test doubles


@pytest.fixture
def recorder():
    r = Recorder().start()
    yield r
    r.close()


@pytest.fixture
def slow_peer():
    p = SlowPeer().start()
    yield p
    p.close()


def gateway_env(suite, **override):
    env = {UPSTREAM_VAR[s]: suite[s].url for s in SERVICES}
    env["UPSTREAM_TIMEOUT_MS"] = "5000"
    env.update(override)
    return env


def start_gateway(spawn, env):
    # /startup, not /ready: whether an odd upstream affects /ready is not the point here.
    gw = spawn("gateway", env=env, wait=False)
    gw.wait_status("/startup", 200, 60)
    return gw


def test_hop_by_hop_headers_stay_at_the_gateway(suite, spawn, recorder, admin):
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=recorder.url))
    r = http("GET", gw.url + "/api/automation/jobs",
             headers={"Connection": "keep-alive, X-Hop-Only", "X-Hop-Only": "1",
                      "Proxy-Authorization": "Basic c2VjcmV0", "X-End-To-End": "2",
                      "X-Internal-Token": "forged", **admin})
    assert r.status_code == 200, r.text
    h = recorder.api_requests()[-1]["headers_lower"]
    assert "x-hop-only" not in h, h
    assert "proxy-authorization" not in h, h
    assert h.get("x-end-to-end") == "2"
    assert h.get("x-internal-token") == suite.token, "the client's token must not pass"
    assert "authorization" not in h, "the credential stays at the gateway"


def test_no_content_is_relayed_without_a_body(suite, spawn, recorder, admin):
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=recorder.url))
    r = http("POST", gw.url + "/api/automation/jobs/1/cancel",
             headers={"X-Want-Status": "204", **admin})
    assert r.status_code == 204
    assert r.content == b""
    assert "content-length" not in {k.lower() for k in r.headers}, r.headers
    assert "content-type" not in {k.lower() for k in r.headers}, r.headers
    # The connection is still good for the next request.
    assert get(gw.url + "/health").status_code == 200


@pytest.mark.parametrize("status", [600, 999])
def test_an_upstream_status_that_cannot_be_relayed_is_502(suite, spawn, recorder, admin, status):
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=recorder.url))
    r = http("GET", gw.url + "/api/automation/jobs/stats",
             headers={"X-Want-Status": str(status), **admin})
    check_error(r, 502, "bad_gateway")


def test_what_the_gateway_sends_upstream(suite, spawn, recorder, tokens):
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=recorder.url))
    want = rid()
    body = b'{"job_type": "backup", "config": {"n": 1}}'
    query = "a=1&b=x%20y&c=%2F&d=%C3%A9&e="
    path = "/api/automation/jobs/a%20b%25c%C3%A9/retry"
    r = http("POST", gw.url + path + "?" + query, data=body,
             headers={"Content-Type": "application/json", "X-Request-Id": want,
                      "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                      "X-Want-Status": "201", **tokens.headers("staff")})
    assert r.status_code == 201, r.text
    assert r.json() == {"ok": True, "path": path + "?" + query}
    assert r.headers.get("X-Upstream-Test") == "recorded"
    assert r.headers.get("X-Request-Id") == want

    sent = recorder.api_requests()
    assert len(sent) == 1, sent
    s = sent[0]
    h = s["headers_lower"]
    assert s["method"] == "POST"
    assert s["path"] == path + "?" + query, "path or query string changed"
    assert s["body"] == body
    assert h.get("content-type", "").startswith("application/json")
    assert h.get("x-request-id") == want
    assert h.get("x-internal-token") == suite.token
    assert "127.0.0.1" in h.get("x-forwarded-for", ""), f"X-Forwarded-For: {h}"
    assert h.get("traceparent") == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    # who is calling, as the gate found it; not the credential itself
    assert h.get("x-user-id") == tokens.user("staff")["id"], h
    assert h.get("x-user-role") == "staff" and h.get("x-auth-kind") == "user", h
    assert "authorization" not in h, h


def test_x_forwarded_for_is_appended(suite, spawn, recorder, admin):
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=recorder.url))
    get(gw.url + "/api/automation/jobs", headers={"X-Forwarded-For": "203.0.113.7", **admin})
    xff = recorder.api_requests()[-1]["headers_lower"].get("x-forwarded-for", "")
    parts = [p.strip() for p in xff.split(",")]
    assert parts == ["203.0.113.7", "127.0.0.1"], f"X-Forwarded-For: {xff!r}"


@pytest.mark.parametrize("status", [200, 204, 400, 409, 422, 500, 503])
def test_upstream_status_passes_back(suite, spawn, recorder, admin, status):
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=recorder.url))
    r = get(gw.url + "/api/automation/jobs", headers={"X-Want-Status": str(status), **admin})
    assert r.status_code == status


def test_504_when_upstream_does_not_answer(suite, spawn, slow_peer, admin):
    gw = start_gateway(spawn, gateway_env(suite, TOAST_URL=slow_peer.url,
                                          UPSTREAM_TIMEOUT_MS="800"))
    want = rid()
    t0 = time.monotonic()
    r = get(gw.url + HEALTH["svc-toast"], headers={"X-Request-Id": want}, timeout=15)
    elapsed = time.monotonic() - t0
    err = check_error(r, 504, "gateway_timeout")
    assert err["request_id"] == want
    assert 0.7 <= elapsed <= 5, f"504 after {elapsed:.2f}s with UPSTREAM_TIMEOUT_MS=800"
    assert slow_peer.accepted >= 1
    # Other upstreams and the gateway's own routes are unaffected meanwhile.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        slow = [pool.submit(get, gw.url + HEALTH["svc-toast"], timeout=15) for _ in range(3)]
        t0 = time.monotonic()
        assert get(gw.url + "/health").status_code == 200
        check_error(get(gw.url + MISSING_JOB, headers=admin), 404, "not_found")
        assert time.monotonic() - t0 < 0.7, "gateway blocked by a slow upstream"
        for f in slow:
            assert f.result().status_code == 504


def test_502_when_upstream_port_is_closed(suite, spawn):
    closed = f"http://127.0.0.1:{free_port()}"
    gw = start_gateway(spawn, gateway_env(suite, INTELLIGENCE_URL=closed))
    t0 = time.monotonic()
    check_error(get(gw.url + HEALTH["svc-intelligence"], timeout=10), 502, "bad_gateway")
    assert time.monotonic() - t0 < 3, "a refused connection should fail fast"


# ---------------------------------------------------------------- connection reuse


def tcp_connections(port):
    """Every TCP connection (any state but LISTEN) with port at either end, as a
    set of endpoint pairs. TIME_WAIT entries stay ~60 s, so a connection opened
    and closed during a measurement is still seen."""
    conns = set()
    for path in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = open(path).read().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            f = line.split()
            local, remote, state = f[1], f[2], f[3]
            if state == "0A":
                continue
            lp, rp = int(local.split(":")[1], 16), int(remote.split(":")[1], 16)
            if port in (lp, rp):
                conns.add(tuple(sorted((local, remote))))
    return conns


def test_gateway_reuses_upstream_connections(suite, admin):
    """Each of the gateway's HTTP threads (16 by default) may hold its own
    upstream connection; without reuse there would be one per request."""
    gw, svc = suite.gateway, suite["svc-automation"]
    before = tcp_connections(svc.port)
    with requests.Session() as s:
        s.trust_env = False
        s.headers.update(admin)
        for i in range(200):
            r = s.get(gw.url + f"/api/automation/jobs/00000000-0000-4000-8000-{i:012d}",
                      timeout=5)
            assert r.status_code == 404
    new = tcp_connections(svc.port) - before
    assert len(new) <= 24, f"{len(new)} new TCP connections to svc-automation for 200 requests"


def test_gateway_reuses_connections_to_a_keepalive_upstream(suite, spawn, recorder, admin):
    threads = 4
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=recorder.url,
                                          HTTP_THREADS=str(threads)))
    before = recorder.accepted
    for i in range(200):
        assert get(gw.url + f"/api/automation/jobs/r{i}", headers=admin).status_code == 200
    opened = recorder.accepted - before
    assert opened <= threads + 2, \
        f"{opened} connections accepted upstream for 200 requests (HTTP_THREADS={threads})"
