"""Upstream resilience at the gateway: the circuit breaker per upstream (opens
after CIRCUIT_FAILURES failures in a row, answers 503 at once for
CIRCUIT_OPEN_MS, lets one trial through, closes on its success, opens again on
its failure), the one retry of a GET or HEAD that could not connect, and the
502/503/504 answers naming the upstream but never its address."""

import socket
import threading
import time
import uuid
from http.server import ThreadingHTTPServer

import pytest

from harness import check_error, free_port, get, http, rid, wait_for
from peers import Recorder, SlowPeer, _RecordingHandler
from promtext import Metrics
from test_edge import gateway_env
from test_proxy import start_gateway

FAST = {"RATE_LIMIT_RPS": "1000", "RATE_LIMIT_BURST": "1000", "UPSTREAM_CONNECT_TIMEOUT_MS": "500"}


class Upstream(Recorder):
    """Recorder on a port of our choosing, so it can come back where it was,
    and whose close() also ends the keep-alive connections it holds (as a
    stopped service would)."""

    def __init__(self, port=0):
        ThreadingHTTPServer.__init__(self, ("127.0.0.1", port), _RecordingHandler)
        self.requests = []
        self.accepted = 0
        self.conns = []
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def get_request(self):
        conn = super().get_request()
        self.conns.append(conn[0])
        return conn

    def close(self):
        super().close()
        for c in self.conns:
            try:
                c.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


# ---------------------------------------------------------------- helpers


def circuit(gw, upstream="svc-automation"):
    return Metrics(get(gw.url + "/metrics").text).get("gateway_circuit_open", upstream=upstream)


def metric(gw, name, **labels):
    return Metrics(get(gw.url + "/metrics").text).get(name, **labels)


def assert_names_no_address(err, port):
    assert "svc-automation" in err["message"], err
    assert "127.0.0.1" not in err["message"] and str(port) not in err["message"], err


def jobs(gw, headers, method="GET", **kw):
    return http(method, gw.url + "/api/automation/jobs", headers=dict(headers, **kw.pop("h", {})),
                timeout=10, **kw)


# ---------------------------------------------------------------- the breaker


def test_circuit_opens_answers_at_once_and_closes_after_a_good_trial(suite, spawn, auth_headers):
    up = Upstream().start()
    port = up.port
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=up.url, CIRCUIT_FAILURES="3",
                                          CIRCUIT_OPEN_MS="1500", **FAST))
    auth = auth_headers("admin")
    assert jobs(gw, auth).status_code == 200
    assert circuit(gw) == 0
    up.close()

    mark = gw.mark()
    for _ in range(3):
        err = check_error(jobs(gw, auth), 502, "bad_gateway")
        assert_names_no_address(err, port)
        assert "unreachable" in err["message"], err
    assert circuit(gw) == 1
    assert circuit(gw, "svc-toast") == 0
    gw.find_log(lambda l: l.get("level") == "warn" and l.get("upstream") == "svc-automation"
                and "opened" in l.get("msg", ""), since=mark, what="the circuit-open warning")

    # Open: 503 at once, for every method, without trying the upstream.
    up = Upstream(port).start()
    try:
        t0 = time.monotonic()
        r = jobs(gw, auth)
        elapsed = time.monotonic() - t0
        err = check_error(r, 503, "unavailable")
        assert_names_no_address(err, port)
        assert elapsed < 0.3, f"503 took {elapsed:.2f}s"
        assert 1 <= int(r.headers["Retry-After"]) <= 2, r.headers
        check_error(jobs(gw, auth, "POST", json={"client_id": str(uuid.uuid4()),
                                                  "job_type": "backup"}), 503, "unavailable")
        assert up.api_requests() == [], "a request reached the upstream while open"
        # The other upstreams are not affected.
        assert get(gw.url + "/api/toast/health").status_code == 200
        assert metric(gw, "gateway_circuit_rejected_total", upstream="svc-automation") >= 2

        # After CIRCUIT_OPEN_MS one trial goes through; its success closes.
        mark = gw.mark()
        wait_for(lambda: jobs(gw, auth).status_code == 200, 5, "the trial request to succeed",
                 interval=0.1)
        assert circuit(gw) == 0
        gw.find_log(lambda l: "closed" in l.get("msg", "") and l.get("upstream") == "svc-automation",
                    since=mark, what="the circuit-closed line")
        for _ in range(5):
            assert jobs(gw, auth).status_code == 200
    finally:
        up.close()


def test_a_failed_trial_opens_the_circuit_again(suite, spawn, auth_headers):
    port = free_port()
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=f"http://127.0.0.1:{port}",
                                          CIRCUIT_FAILURES="2", CIRCUIT_OPEN_MS="800", **FAST))
    auth = auth_headers("admin")
    for _ in range(2):
        check_error(jobs(gw, auth), 502, "bad_gateway")
    check_error(jobs(gw, auth), 503, "unavailable")
    # The trial fails like any request to a closed port: 502 ...
    wait_for(lambda: jobs(gw, auth).status_code == 502, 5, "the trial request", interval=0.05)
    # ... and the circuit is open again at once.
    check_error(jobs(gw, auth), 503, "unavailable")
    assert circuit(gw) == 1


def test_timeouts_count_as_failures(suite, spawn, auth_headers):
    slow = SlowPeer().start()
    try:
        gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=slow.url,
                                              UPSTREAM_TIMEOUT_MS="300", CIRCUIT_FAILURES="2",
                                              CIRCUIT_OPEN_MS="60000", **FAST))
        auth = auth_headers("admin")
        for _ in range(2):
            err = check_error(jobs(gw, auth), 504, "gateway_timeout")
            assert_names_no_address(err, slow.port)
        t0 = time.monotonic()
        check_error(jobs(gw, auth), 503, "unavailable")
        assert time.monotonic() - t0 < 0.25
    finally:
        slow.close()


@pytest.mark.parametrize("status", [500, 502, 503, 504])
def test_an_upstream_answer_never_opens_the_circuit(suite, spawn, auth_headers, status):
    """A service's own 5xx (a dependency of one of its routes is down) is an
    answer: relayed as it is, and the circuit stays closed."""
    up = Upstream().start()
    try:
        gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=up.url, CIRCUIT_FAILURES="2",
                                              **FAST))
        auth = auth_headers("admin")
        for _ in range(4):
            assert jobs(gw, auth, h={"X-Want-Status": str(status)}).status_code == status
        assert circuit(gw) == 0
        assert jobs(gw, auth).status_code == 200
    finally:
        up.close()


# ---------------------------------------------------------------- the retry


def test_get_and_head_are_retried_once_on_connect_failure(suite, spawn, auth_headers):
    port = free_port()
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=f"http://127.0.0.1:{port}",
                                          CIRCUIT_FAILURES="100", **FAST))
    auth = auth_headers("admin")

    def retries():
        return metric(gw, "gateway_upstream_retries_total", upstream="svc-automation")

    assert retries() == 0
    want = rid()
    mark = gw.mark()
    err = check_error(jobs(gw, auth, h={"X-Request-Id": want}), 502, "bad_gateway")
    assert_names_no_address(err, port)
    assert retries() == 1
    lines = [l for l in gw.log_lines(mark) if l.get("request_id") == want
             and "retrying" in l.get("msg", "")]
    assert len(lines) == 1, lines
    assert jobs(gw, auth, "HEAD").status_code == 502
    assert retries() == 2
    # A body-carrying method is never sent twice.
    body = {"client_id": str(uuid.uuid4()), "job_type": "backup"}
    check_error(jobs(gw, auth, "POST", json=body), 502, "bad_gateway")
    job = "/api/automation/jobs/" + str(uuid.uuid4())
    check_error(http("PATCH", gw.url + job, headers=auth, json={"priority": 1}), 502,
                "bad_gateway")
    check_error(http("POST", gw.url + job + "/cancel", headers=auth, json={}), 502, "bad_gateway")
    assert retries() == 2
    # One logical request each: the retry is not counted as a request of its own.
    m = Metrics(get(gw.url + "/metrics").text)
    assert m.get("gateway_upstream_requests_total", upstream="svc-automation", code="502") == 5


def test_a_refused_get_fails_fast_despite_the_retry(suite, spawn, auth_headers):
    port = free_port()
    gw = start_gateway(spawn, gateway_env(suite, AUTOMATION_URL=f"http://127.0.0.1:{port}",
                                          CIRCUIT_FAILURES="100", **FAST))
    t0 = time.monotonic()
    check_error(jobs(gw, auth_headers("admin")), 502, "bad_gateway")
    assert time.monotonic() - t0 < 1.0
