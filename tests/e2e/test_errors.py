"""The error shape of DESIGN section 3, through the gateway and directly."""

import re

import pytest

import rawhttp
from harness import DAEMONS, SERVICES, check_error, get, http, rid

MIB = 1024 * 1024
# A route of the permission table that reaches the service, which answers 404
# (no such job) to a body it accepts; the caller is the admin (fixture admin).
MISSING_JOB = "3f8b1c9e-2d4a-4b6c-9e1f-0a2b3c4d5e6f"
PROXIED = f"/api/automation/jobs/{MISSING_JOB}/cancel"


def json_of_size(n):
    """A valid JSON document of exactly n bytes."""
    doc = '{"a":"' + "x" * (n - 8) + '"}'
    assert len(doc) == n
    return doc.encode()


@pytest.fixture(scope="module")
def marks(_suite):
    """Where each daemon's log stood before this module's requests."""
    return {n: d.mark() for n, d in _suite.daemons.items()}


def test_marks_taken(marks):
    assert set(marks) == set(DAEMONS)


# ---------------------------------------------------------------- 404 / 405


def test_unknown_gateway_route_is_404(suite):
    r = get(suite.gateway.url + "/nope")
    check_error(r, 404, "not_found")


def test_api_path_outside_the_permission_table_is_403(suite, admin):
    """The table decides before routing: even the admin gets 403, not 404."""
    for svc in SERVICES:
        prefix = {"svc-automation": "/api/automation", "svc-intelligence": "/api/intelligence",
                  "svc-toast": "/api/toast", "svc-embedding": "/api/embedding",
                  "svc-sync": "/api/v1/sync"}[svc]
        r = get(suite.gateway.url + prefix + "/nope", headers=admin)
        check_error(r, 403, "forbidden")
    r = get(suite.gateway.url + "/api/admin/embedding-nope", headers=admin)
    check_error(r, 403, "forbidden")


def test_a_table_route_the_service_lacks_is_its_404(suite, admin):
    r = get(suite.gateway.url + f"/api/automation/jobs/{MISSING_JOB}", headers=admin)
    check_error(r, 404, "not_found")


@pytest.mark.parametrize("method,path", [("POST", "/health"), ("DELETE", "/metrics"),
                                         ("PUT", "/ready")])
def test_wrong_method_on_gateway_route_is_405_with_allow(suite, method, path):
    r = http(method, suite.gateway.url + path, json={} if method != "DELETE" else None)
    check_error(r, 405, "method_not_allowed")
    allow = [m.strip() for m in r.headers.get("Allow", "").split(",")]
    assert "GET" in allow, f"Allow: {r.headers.get('Allow')!r}"
    assert method not in allow


@pytest.mark.parametrize("name", SERVICES)
def test_wrong_method_on_service_probe_is_405(suite, name):
    r = http("POST", suite[name].url + "/live", headers={"X-Internal-Token": suite.token})
    check_error(r, 405, "method_not_allowed")
    assert "GET" in r.headers.get("Allow", "")


# ---------------------------------------------------------------- bodies


MALFORMED = {
    "truncated": b'{"name": "x", "priority": ',
    "missing_colon": b'{"name" "x"}',
    "trailing_garbage": b'{"name": "x"} trailing',
    "not_json": b"hello world",
    "single_quotes": b"{'name': 'x'}",
}


@pytest.mark.parametrize("kind", sorted(MALFORMED))
def test_malformed_json_is_400_invalid_json(suite, admin, kind):
    r = http("POST", suite.gateway.url + PROXIED, data=MALFORMED[kind],
             headers={"Content-Type": "application/json", **admin})
    err = check_error(r, 400, "invalid_json")
    assert len(err["message"]) > 10, err


def test_invalid_json_message_names_the_problem(suite, admin):
    """Two different problems give two different messages (the parser's own
    description, not one fixed text)."""
    msgs = set()
    for kind in ("truncated", "missing_colon"):
        r = http("POST", suite.gateway.url + PROXIED, data=MALFORMED[kind],
                 headers={"Content-Type": "application/json", **admin})
        msgs.add(check_error(r, 400, "invalid_json")["message"])
    assert len(msgs) == 2, f"same message for different problems: {msgs}"


def test_valid_json_passes_to_the_service(suite, admin):
    for ctype in ("application/json", "application/json; charset=utf-8"):
        r = http("POST", suite.gateway.url + PROXIED, data=b'{"job_type": "backup"}',
                 headers={"Content-Type": ctype, **admin})
        check_error(r, 404, "not_found")  # the service's: it has no such job


def test_body_of_exactly_1_mib_passes(suite, admin):
    r = rawhttp.request(suite.gateway.port, "POST", PROXIED,
                        {"Content-Type": "application/json", **admin}, json_of_size(MIB))
    check_error(r, 404, "not_found")


def test_body_over_1_mib_is_413(suite, admin):
    r = rawhttp.request(suite.gateway.port, "POST", PROXIED,
                        {"Content-Type": "application/json", **admin}, json_of_size(MIB + 1))
    check_error(r, 413, "payload_too_large")


def test_2_mib_body_is_413(suite, admin):
    r = rawhttp.request(suite.gateway.port, "POST", PROXIED,
                        {"Content-Type": "application/json", "X-Request-Id": "e2e-big-body",
                         **admin},
                        json_of_size(2 * MIB))
    err = check_error(r, 413, "payload_too_large")
    assert err["request_id"] == "e2e-big-body"


def test_2_mib_chunked_body_is_413(suite, admin):
    r = rawhttp.request(suite.gateway.port, "POST", PROXIED,
                        {"Content-Type": "application/json", **admin}, json_of_size(2 * MIB),
                        chunked=True)
    check_error(r, 413, "payload_too_large")


def test_small_chunked_body_passes(suite, admin):
    r = rawhttp.request(suite.gateway.port, "POST", PROXIED,
                        {"Content-Type": "application/json", **admin}, b'{"job_type": "backup"}',
                        chunked=True, chunk_size=5)
    check_error(r, 404, "not_found")


def test_small_chunked_malformed_body_is_400(suite, admin):
    r = rawhttp.request(suite.gateway.port, "POST", PROXIED,
                        {"Content-Type": "application/json", **admin}, MALFORMED["truncated"],
                        chunked=True, chunk_size=4)
    check_error(r, 400, "invalid_json")


@pytest.mark.parametrize("ctype", ["text/plain", "application/x-www-form-urlencoded",
                                   "application/xml"])
def test_non_json_content_type_is_415(suite, admin, ctype):
    r = http("POST", suite.gateway.url + PROXIED, data=b"a=1",
             headers={"Content-Type": ctype, **admin})
    check_error(r, 415, "unsupported_media_type")


def test_get_without_body_needs_no_content_type(suite, admin):
    r = get(suite.gateway.url + "/api/automation/jobs", headers=admin)
    assert r.status_code == 200 and "items" in r.json(), r.text


# ---------------------------------------------------------------- request ids


@pytest.mark.parametrize("path,status", [("/health", 200), ("/nope", 404),
                                         (f"/api/automation/jobs/{MISSING_JOB}", 404)])
def test_request_id_is_echoed(suite, admin, path, status):
    want = rid()
    r = get(suite.gateway.url + path, headers={"X-Request-Id": want, **admin})
    assert r.status_code == status
    assert r.headers.get("X-Request-Id") == want
    if status >= 400:
        assert check_error(r, status, "not_found")["request_id"] == want


@pytest.mark.parametrize("name", DAEMONS)
def test_request_id_is_generated(suite, name):
    ids = set()
    for _ in range(3):
        r = get(suite[name].url + "/nope", headers={"X-Internal-Token": suite.token})
        err = check_error(r, 404, "not_found")
        assert re.fullmatch(r"[A-Za-z0-9._:-]{8,128}", err["request_id"]), err
        ids.add(err["request_id"])
    assert len(ids) == 3, f"request ids repeat: {ids}"


@pytest.mark.parametrize("bad", ["x" * 300, "has spaces in it", "semi;colon<tag>"])
def test_malformed_request_id_is_replaced(suite, bad):
    r = get(suite.gateway.url + "/nope", headers={"X-Request-Id": bad})
    err = check_error(r, 404, "not_found")
    assert err["request_id"] != bad
    assert r.headers.get("X-Request-Id") != bad


# ---------------------------------------------------------------- internal token


@pytest.mark.parametrize("name", SERVICES)
def test_service_without_internal_token_is_401(suite, name):
    path = {"svc-automation": "/api/automation/x", "svc-intelligence": "/api/intelligence/x",
            "svc-toast": "/api/toast/x", "svc-embedding": "/api/embedding/x",
            "svc-sync": "/api/v1/sync/x"}[name]
    url = suite[name].url + path
    check_error(get(url), 401, "unauthorized")
    check_error(get(url, headers={"X-Internal-Token": "wrong" + suite.token}), 401,
                "unauthorized")
    check_error(get(url, headers={"X-Internal-Token": suite.token}), 404, "not_found")


# ---------------------------------------------------------------- framing


def raw_exchange(port, data, timeout=10):
    """Send bytes as they are; return everything the server wrote until it
    closed the connection."""
    import socket
    sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    try:
        sock.sendall(data)
        chunks = []
        while True:
            piece = sock.recv(65536)
            if not piece:
                return b"".join(chunks)
            chunks.append(piece)
    finally:
        sock.close()


SMUGGLED = b"GET /api/automation/SMUGGLED HTTP/1.1\r\nHost: x\r\n\r\n"


@pytest.mark.parametrize("framing", [
    b"Content-Length: 2\r\nContent-Length: 40\r\n",
    b"Content-Length: 4\r\nTransfer-Encoding: chunked\r\n",
    b"Transfer-Encoding: identity\r\nTransfer-Encoding: chunked\r\n",
    b"Content-Length: +2\r\n",
    b"Content-Length: 0x2\r\n",
    b"Content-Length: 2 40\r\n",
], ids=["two-lengths", "length-and-chunked", "two-encodings", "plus", "hex", "list"])
@pytest.mark.parametrize("target", ["gateway", "svc-automation"])
def test_ambiguous_framing_is_400_and_the_connection_closes(suite, framing, target):
    d = suite[target]
    mark = d.mark()
    head = (b"POST /api/automation/jobs HTTP/1.1\r\nHost: x\r\n"
            b"Content-Type: application/json\r\nX-Internal-Token: " + suite.token.encode()
            + b"\r\n" + framing + b"\r\n")
    out = raw_exchange(d.port, head + b"{}\r\n" + SMUGGLED)
    assert out.startswith(b"HTTP/1.1 400 "), out[:200]
    assert out.count(b"HTTP/1.1 ") == 1, f"more than one response: {out[:400]!r}"
    assert b'"code":"bad_request"' in out
    # Whatever followed was never taken for a request, here or upstream.
    for name in ("gateway", "svc-automation"):
        lines = suite[name].log_lines(since=mark if name == target else 0)
        assert not [l for l in lines if "SMUGGLED" in l.get("path", "")], name


@pytest.mark.parametrize("target", ["gateway", "svc-automation"])
def test_path_over_2048_bytes_is_414(suite, target):
    r = get(suite[target].url + "/api/automation/" + "a" * 2100)
    check_error(r, 414, "uri_too_long")


def test_too_many_headers_is_431(suite):
    head = b"GET /api/automation/x HTTP/1.1\r\nHost: x\r\n" + b"".join(
        b"X-Filler-%d: y\r\n" % i for i in range(70)) + b"Content-Length: 0\r\n\r\n"
    out = raw_exchange(suite.gateway.port, head)
    assert out.startswith(b"HTTP/1.1 431 "), out[:200]
    assert out.count(b"HTTP/1.1 ") == 1


# ---------------------------------------------------------------- afterwards


def test_daemons_still_serve_and_logged_no_errors(suite, marks):
    """After every bad request above: /health 200 everywhere, and no error-level
    log line (client mistakes are not server errors), no crash, no sanitizer
    report (the suite fixture checks the last two as well)."""
    problems = []
    for name, d in suite.daemons.items():
        assert get(d.url + "/health").status_code == 200, name
        for line in d.log_lines(since=marks[name]):
            if line.get("level") not in ("debug", "info", "warn"):
                problems.append(f"{name}: {line}")
        if d.sanitizer_report():
            problems.append(f"{name}: {d.sanitizer_report()}")
    assert not problems, "\n".join(problems[:20])
