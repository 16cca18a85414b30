"""The gateway's event loops (gateway/src/edge.c) on the wire: what a client
can do to one connection (pipeline requests, send a head a byte at a time,
keep it open for many requests, mix the gateway's own routes and proxied
ones, leave it idle), and that a path civetweb would normalise is not
proxied as it stands."""

import json
import socket
import time
import uuid

import pytest
import requests

HEALTH = "/api/automation/health"


def connect(suite):
    s = socket.create_connection(("127.0.0.1", suite.gateway.port), timeout=10)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def head(method, path, headers=None, body=b""):
    lines = [f"{method} {path} HTTP/1.1", "Host: gw"]
    for k, v in (headers or {}).items():
        lines.append(f"{k}: {v}")
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + body


class Reader:
    """Responses one after another from one socket (Content-Length framed, as
    every answer of the gateway is), reading no byte past each."""

    def __init__(self, sock):
        self.fp = sock.makefile("rb")

    def next(self, method="GET"):
        line = self.fp.readline()
        assert line.startswith(b"HTTP/1."), line
        status = int(line.split()[1])
        hdrs = {}
        while (line := self.fp.readline()) not in (b"\r\n", b"\n", b""):
            k, _, v = line.decode().partition(":")
            hdrs[k.strip().lower()] = v.strip()
        n = 0 if method == "HEAD" else int(hdrs.get("content-length", "0"))
        body = self.fp.read(n)
        assert len(body) == n
        return status, hdrs, body


def test_pipelined_requests_are_answered_in_order(suite, admin):
    s = connect(suite)
    try:
        ids = [f"pipe-{i}" for i in range(5)]
        s.sendall(b"".join(head("GET", HEALTH, {"X-Request-Id": i, **admin}) for i in ids))
        rd = Reader(s)
        for i in ids:
            status, hdrs, body = rd.next()
            assert status == 200, body
            assert hdrs["x-request-id"] == i
            assert json.loads(body)["status"] in ("healthy", "degraded")
    finally:
        s.close()


@pytest.mark.parametrize("path,status", [
    (HEALTH, 200),  # proxied: each answer comes from the service
    ("/api/automation/zz-no-rule", 403),  # answered at once by the gate
])
def test_a_thousand_pipelined_requests_in_one_write(suite, path, status):
    """Requests the loop reads in one go are served one after another, each
    answer in its place; answered at once, they are served by a loop, not a
    recursion per request (which would run out of stack)."""
    s = connect(suite)
    try:
        ids = [f"p{i}" for i in range(1000)]
        s.sendall(b"".join(head("GET", path, {"X-Request-Id": i}) for i in ids))
        rd = Reader(s)
        for i in ids:
            got, hdrs, _ = rd.next()
            assert got == status and hdrs["x-request-id"] == i
    finally:
        s.close()
    r = requests.get(suite.gateway.url + "/health", timeout=10)
    assert r.status_code == 200


def test_a_head_sent_byte_by_byte(suite, admin):
    s = connect(suite)
    try:
        for b in head("GET", HEALTH, {"X-Request-Id": "slow-head", **admin}):
            s.send(bytes([b]))
        status, hdrs, _ = Reader(s).next()
        assert status == 200
        assert hdrs["x-request-id"] == "slow-head"
    finally:
        s.close()


def test_a_body_in_pieces_reaches_the_service_whole(suite, admin):
    """A job created with its JSON body sent in three writes: the service got
    all of it (its config comes back)."""
    body = json.dumps({"client_id": str(uuid.uuid4()), "job_type": "menu_sync",
                       "config": {"note": "x" * 3000}}).encode()
    raw = head("POST", "/api/automation/jobs",
               {"Content-Type": "application/json", **admin}, body)
    s = connect(suite)
    try:
        cut = len(raw) - len(body)
        s.sendall(raw[:cut - 10])
        s.sendall(raw[cut - 10:cut + 100])
        s.sendall(raw[cut + 100:])
        status, _, out = Reader(s).next("POST")
        assert status == 201, out
        assert json.loads(out)["config"]["note"] == "x" * 3000
    finally:
        s.close()


def test_many_requests_on_one_connection(suite, admin):
    s = connect(suite)
    try:
        rd = Reader(s)
        for i in range(200):
            s.sendall(head("GET", HEALTH, {"X-Request-Id": f"ka-{i}", **admin}))
            status, hdrs, _ = rd.next()
            assert status == 200
            assert hdrs["x-request-id"] == f"ka-{i}"
            assert hdrs.get("connection", "keep-alive").lower() == "keep-alive"
    finally:
        s.close()


def test_own_routes_and_proxied_ones_on_one_connection(suite, admin):
    """A proxied request, then the gateway's own (/api/auth/me, /health:
    civetweb's), then proxied ones again, all on the same connection."""
    s = connect(suite)
    try:
        rd = Reader(s)
        s.sendall(head("GET", HEALTH, admin))
        assert rd.next()[0] == 200
        s.sendall(head("GET", "/api/auth/me", admin))
        status, _, body = rd.next()
        assert status == 200 and json.loads(body)["role"] == "admin", body
        s.sendall(head("GET", "/health"))
        assert rd.next()[0] == 200
        for _ in range(3):
            s.sendall(head("GET", HEALTH, admin))
            assert rd.next()[0] == 200
        s.sendall(head("GET", HEALTH))  # no credential, an open route
        assert rd.next()[0] == 200
        s.sendall(head("GET", "/api/automation/jobs"))  # needs one
        status, _, body = rd.next()
        assert status == 401, body
    finally:
        s.close()


@pytest.mark.parametrize("path", ["/api/automation/../auth/me", "/api/automation/./../auth/me"])
def test_dot_segments_are_not_proxied_as_they_stand(suite, admin, path):
    """civetweb normalises the path before routing; the loop must not route
    the raw one to svc-automation under its permission: the answer is the one
    for the normalised path (the gateway's own /api/auth/me)."""
    s = connect(suite)
    try:
        s.sendall(head("GET", path, admin))
        status, _, body = Reader(s).next()
        assert status == 200, body
        assert json.loads(body)["role"] == "admin"
    finally:
        s.close()


def test_an_idle_connection_is_closed(suite, admin):
    """Kept-alive connections are closed after 2 s without a request
    (civetweb's figure): the socket sees its end within a deadline."""
    s = connect(suite)
    try:
        s.sendall(head("GET", HEALTH, admin))
        rd = Reader(s)
        assert rd.next()[0] == 200
        deadline = time.monotonic() + 10
        s.settimeout(10)
        assert rd.fp.read(1) == b""  # the end of the stream, not a timeout
        assert time.monotonic() < deadline
    finally:
        s.close()


def test_a_client_that_half_closes_gets_its_answers(suite, admin):
    """Requests pipelined and then the write side shut (a client saying it
    has sent all) are all answered before the connection is closed: proxied,
    answered by the gate, and relayed to civetweb (the gateway's own route)."""
    for last in (HEALTH, "/api/automation/zz-no-rule", "/api/auth/me"):
        s = connect(suite)
        try:
            ids = [f"half-{i}" for i in range(3)]
            s.sendall(b"".join(head("GET", HEALTH, {"X-Request-Id": i, **admin}) for i in ids[:2])
                      + head("GET", last, {"X-Request-Id": ids[2], **admin}))
            s.shutdown(socket.SHUT_WR)
            rd = Reader(s)
            for i in ids:
                status, hdrs, _ = rd.next()
                assert hdrs["x-request-id"] == i
            assert status == (403 if "zz-no-rule" in last else 200)
            assert rd.fp.read(1) == b""
        finally:
            s.close()


def test_a_request_not_sent_in_time_gets_408(suite, admin):
    """A head begun but not finished within 10 s (civetweb's
    request_timeout_ms) is answered 408 in the error shape, then closed."""
    s = connect(suite)
    try:
        s.sendall(f"GET {HEALTH} HTTP/1.1\r\nHost: gw\r\n".encode())  # no blank line
        s.settimeout(20)
        rd = Reader(s)
        status, hdrs, body = rd.next()
        assert status == 408
        assert hdrs["connection"].lower() == "close"
        err = json.loads(body)["error"]
        assert err["code"] == "request_timeout"
        assert err["request_id"] == hdrs["x-request-id"]
        assert rd.fp.read(1) == b""
    finally:
        s.close()


def test_http_1_0_without_keep_alive_is_closed_after_the_answer(suite, admin):
    s = connect(suite)
    try:
        auth = "".join(f"{k}: {v}\r\n" for k, v in admin.items())
        s.sendall(f"GET {HEALTH} HTTP/1.0\r\n{auth}\r\n".encode())
        rd = Reader(s)
        status, hdrs, _ = rd.next()
        assert status == 200
        assert hdrs["connection"].lower() == "close"
        assert rd.fp.read(1) == b""
    finally:
        s.close()


def test_the_client_address_on_both_paths(suite, admin):
    """From 127.0.0.5 (loopback, but not 127.0.0.1): a proxied request served
    by the loop and one the loop relays to civetweb (the gateway's own
    /api/auth/me) are both logged as from 127.0.0.5."""
    gw = suite.gateway
    since_gw = gw.mark()
    tag = uuid.uuid4().hex[:12]
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(10)
    try:
        s.bind(("127.0.0.5", 0))
        s.connect(("127.0.0.1", gw.port))
        rd = Reader(s)
        s.sendall(head("GET", HEALTH, {"X-Request-Id": f"fast-{tag}", **admin}))
        assert rd.next()[0] == 200
        s.sendall(head("GET", "/api/auth/me", {"X-Request-Id": f"own-{tag}", **admin}))
        assert rd.next()[0] == 200
    finally:
        s.close()
    for rid in (f"fast-{tag}", f"own-{tag}"):
        line = gw.find_log(lambda o, rid=rid: o.get("request_id") == rid and o.get("msg") == "request",
                           timeout=10, since=since_gw, what=f"the access line of {rid}")
        assert line["remote_addr"] == "127.0.0.5", line
