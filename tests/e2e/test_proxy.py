"""The gateway's proxy: what it sends upstream, upstream failures, connection reuse."""

import concurrent.futures
import time

import pytest
import requests

from harness import SERVICES, UPSTREAM_VAR, check_error, free_port, get, http, rid, wait_for
from peers import Recorder, SlowPeer


def is_access_line(line, request_id):
    return line.get("msg") == "request" and line.get("request_id") == request_id


# ---------------------------------------------------------------- real services


def test_request_id_reaches_the_service_log(suite):
    gw, svc = suite.gateway, suite["svc-automation"]
    want = rid()
    r = get(gw.url + "/api/automation/e2e-propagation", headers={"X-Request-Id": want})
    check_error(r, 404, "not_found")
    line = svc.find_log(lambda l: is_access_line(l, want), what=f"access line with {want}")
    assert line.get("status") == 404, line
    assert "/api/automation/e2e-propagation" in str(line.get("path")), line
    gw.find_log(lambda l: is_access_line(l, want), what=f"gateway access line with {want}")


def test_generated_request_id_reaches_the_service_log(suite):
    gw, svc = suite.gateway, suite["svc-toast"]
    r = get(gw.url + "/api/toast/e2e-generated")
    err = check_error(r, 404, "not_found")
    svc.find_log(lambda l: is_access_line(l, err["request_id"]),
                 what=f"access line with generated id {err['request_id']}")


@pytest.mark.parametrize("name", ["gateway", "svc-automation"])
def test_access_log_line_fields(suite, name):
    d = suite[name]
    want = rid()
    get(d.url + "/api/automation/e2e-access?x=1", headers={"X-Request-Id": want,
                                                          "X-Internal-Token": suite.token})
    line = d.find_log(lambda l: is_access_line(l, want), what="access line")
    for key in ("method", "route", "path", "status", "duration_ms", "ts", "level", "service"):
        assert key in line, f"access line lacks {key}: {line}"
    assert line["method"] == "GET" and line["status"] == 404 and line["service"] == name
    assert line["level"] == "info", line
    assert isinstance(line["duration_ms"], (int, float)) and line["duration_ms"] >= 0
    assert "e2e-access" not in str(line["route"]), f"route is the raw path: {line}"


@pytest.mark.parametrize("svc", SERVICES)
def test_each_prefix_reaches_its_service(suite, svc):
    path = {"svc-automation": "/api/automation/p", "svc-intelligence": "/api/intelligence/p",
            "svc-toast": "/api/toast/p", "svc-embedding": "/api/embedding/p",
            "svc-sync": "/api/v1/sync/p"}[svc]
    want = rid()
    check_error(get(suite.gateway.url + path, headers={"X-Request-Id": want}), 404, "not_found")
    suite[svc].find_log(lambda l: is_access_line(l, want), what=f"{svc} access line")


def test_admin_embedding_prefix_reaches_svc_embedding(suite):
    want = rid()
    r = get(suite.gateway.url + "/api/admin/embedding-usage", headers={"X-Request-Id": want})
    check_error(r, 404, "not_found")
    suite["svc-embedding"].find_log(lambda l: is_access_line(l, want),
                                    what="svc-embedding access line")


def test_502_when_upstream_is_down_then_recovery(suite):
    gw, sync = suite.gateway, suite["svc-sync"]
    assert sync.stop() == 0, sync.tail()
    want = rid()
    r = get(gw.url + "/api/v1/sync/x", headers={"X-Request-Id": want}, timeout=10)
    err = check_error(r, 502, "bad_gateway")
    assert err["request_id"] == want
    assert get(gw.url + "/live").status_code == 200
    detailed = get(gw.url + "/health/detailed", timeout=10).json()
    assert detailed["checks"]["svc-sync"]["status"] != "healthy", detailed["checks"]["svc-sync"]
    assert detailed["status"] != "healthy", detailed["status"]
    # The other upstreams are unaffected.
    check_error(get(gw.url + "/api/toast/x"), 404, "not_found")

    sync.start()
    wait_for(lambda: get(gw.url + "/api/v1/sync/x").status_code == 404, 15,
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


def test_hop_by_hop_headers_stay_at_the_gateway(suite, spawn, recorder):
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=recorder.url))
    r = http("GET", gw.url + "/api/automation/hop",
             headers={"Connection": "keep-alive, X-Hop-Only", "X-Hop-Only": "1",
                      "Proxy-Authorization": "Basic c2VjcmV0", "X-End-To-End": "2",
                      "X-Internal-Token": "forged"})
    assert r.status_code == 200, r.text
    h = recorder.api_requests()[-1]["headers_lower"]
    assert "x-hop-only" not in h, h
    assert "proxy-authorization" not in h, h
    assert h.get("x-end-to-end") == "2"
    assert h.get("x-internal-token") == suite.token, "the client's token must not pass"


def test_no_content_is_relayed_without_a_body(suite, spawn, recorder):
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=recorder.url))
    r = http("DELETE", gw.url + "/api/automation/jobs/1", headers={"X-Want-Status": "204"})
    assert r.status_code == 204
    assert r.content == b""
    assert "content-length" not in {k.lower() for k in r.headers}, r.headers
    assert "content-type" not in {k.lower() for k in r.headers}, r.headers
    # The connection is still good for the next request.
    assert get(gw.url + "/health").status_code == 200


@pytest.mark.parametrize("status", [600, 999])
def test_an_upstream_status_that_cannot_be_relayed_is_502(suite, spawn, recorder, status):
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=recorder.url))
    r = http("GET", gw.url + "/api/automation/odd", headers={"X-Want-Status": str(status)})
    check_error(r, 502, "bad_gateway")


def test_what_the_gateway_sends_upstream(suite, spawn, recorder):
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=recorder.url))
    want = rid()
    body = b'{"job_type": "backup", "config": {"n": 1}}'
    query = "a=1&b=x%20y&c=%2F&d=%C3%A9&e="
    path = "/api/automation/jobs/a%20b%2Fc%25d/123"
    r = http("POST", gw.url + path + "?" + query, data=body,
             headers={"Content-Type": "application/json", "X-Request-Id": want,
                      "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
                      "X-Want-Status": "201"})
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


def test_x_forwarded_for_is_appended(suite, spawn, recorder):
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=recorder.url))
    get(gw.url + "/api/automation/x", headers={"X-Forwarded-For": "203.0.113.7"})
    xff = recorder.api_requests()[-1]["headers_lower"].get("x-forwarded-for", "")
    parts = [p.strip() for p in xff.split(",")]
    assert parts == ["203.0.113.7", "127.0.0.1"], f"X-Forwarded-For: {xff!r}"


@pytest.mark.parametrize("status", [200, 204, 400, 409, 422, 500, 503])
def test_upstream_status_passes_back(suite, spawn, recorder, status):
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=recorder.url))
    r = get(gw.url + "/api/automation/s", headers={"X-Want-Status": str(status)})
    assert r.status_code == status


def test_504_when_upstream_does_not_answer(suite, spawn, slow_peer):
    gw = start_gateway(spawn, gateway_env(suite, TOAST_URL=slow_peer.url,
                                          UPSTREAM_TIMEOUT_MS="800"))
    want = rid()
    t0 = time.monotonic()
    r = get(gw.url + "/api/toast/slow", headers={"X-Request-Id": want}, timeout=15)
    elapsed = time.monotonic() - t0
    err = check_error(r, 504, "gateway_timeout")
    assert err["request_id"] == want
    assert 0.7 <= elapsed <= 5, f"504 after {elapsed:.2f}s with UPSTREAM_TIMEOUT_MS=800"
    assert slow_peer.accepted >= 1
    # Other upstreams and the gateway's own routes are unaffected meanwhile.
    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        slow = [pool.submit(get, gw.url + "/api/toast/slow2", timeout=15) for _ in range(3)]
        t0 = time.monotonic()
        assert get(gw.url + "/health").status_code == 200
        check_error(get(gw.url + "/api/automation/x"), 404, "not_found")
        assert time.monotonic() - t0 < 0.7, "gateway blocked by a slow upstream"
        for f in slow:
            assert f.result().status_code == 504


def test_502_when_upstream_port_is_closed(suite, spawn):
    closed = f"http://127.0.0.1:{free_port()}"
    gw = start_gateway(spawn, gateway_env(suite, INTELLIGENCE_URL=closed))
    t0 = time.monotonic()
    check_error(get(gw.url + "/api/intelligence/x", timeout=10), 502, "bad_gateway")
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


def test_gateway_reuses_upstream_connections(suite):
    """Each of the gateway's HTTP threads (16 by default) may hold its own
    upstream connection; without reuse there would be one per request."""
    gw, svc = suite.gateway, suite["svc-automation"]
    before = tcp_connections(svc.port)
    with requests.Session() as s:
        s.trust_env = False
        for i in range(200):
            r = s.get(gw.url + f"/api/automation/reuse-{i}", timeout=5)
            assert r.status_code == 404
    new = tcp_connections(svc.port) - before
    assert len(new) <= 24, f"{len(new)} new TCP connections to svc-automation for 200 requests"


def test_gateway_reuses_connections_to_a_keepalive_upstream(suite, spawn, recorder):
    threads = 4
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=recorder.url,
                                          HTTP_THREADS=str(threads)))
    before = recorder.accepted
    for i in range(200):
        assert get(gw.url + f"/api/automation/r{i}").status_code == 200
    opened = recorder.accepted - before
    assert opened <= threads + 2, \
        f"{opened} connections accepted upstream for 200 requests (HTTP_THREADS={threads})"
