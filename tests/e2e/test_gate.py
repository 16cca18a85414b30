"""The gateway's gate (issue 4): every role against a sample of the routes of
every service, 401s, the identity sent upstream and spoofed identity headers,
rate limits, CORS, WebSockets through the gate (token in a header or in
?access_token=, none, a lost upstream), and the URI rule."""

import asyncio
import base64
import json
import os
import uuid

import pytest
import websockets

import rawhttp
from harness import SERVICES, UPSTREAM_VAR, check_error, get, http, rid, wait_for
from peers import Recorder
from promtext import Metrics

ROLES = ("viewer", "staff", "manager", "admin")
RANK = {role: i for i, role in enumerate(ROLES)}
NO_JOB = "3f8b1c9e-2d4a-4b6c-9e1f-0a2b3c4d5e6f"  # no such job: the service's 404
HEALTH = {"svc-automation": "/api/automation/health", "svc-intelligence":
          "/api/intelligence/health", "svc-toast": "/api/toast/health",
          "svc-embedding": "/api/embedding/health", "svc-sync": "/api/v1/sync/health"}

# (method, path, JSON body, the least role allowed, the service's answer then).
# Bodies are chosen so that nothing is created: the sample changes no state.
SAMPLE = [
    ("GET", "/api/automation/jobs?limit=1", None, "staff", 200),
    ("POST", "/api/automation/jobs", {}, "staff", 400),
    ("GET", "/api/automation/jobs/stats", None, "staff", 200),
    ("GET", f"/api/automation/jobs/{NO_JOB}", None, "staff", 404),
    ("HEAD", f"/api/automation/jobs/{NO_JOB}", None, "staff", 404),
    ("PATCH", f"/api/automation/jobs/{NO_JOB}", {"priority": 2}, "staff", 404),
    ("POST", f"/api/automation/jobs/{NO_JOB}/cancel", None, "staff", 404),
    ("POST", f"/api/automation/jobs/{NO_JOB}/retry", None, "staff", 404),
    # svc-toast's answer, whatever it is (None): the gate let it through
    ("GET", "/api/automation/sessions", None, "staff", None),
    ("POST", f"/api/automation/sessions/{NO_JOB}/terminate", None, "admin", None),
    ("GET", "/api/auth/me", None, "viewer", 200),
    ("GET", "/api/auth/users?limit=1", None, "admin", 200),
    ("GET", "/api/auth/api-keys?limit=1", None, "admin", 200),
]
# /api routes of no rule: 403 whoever asks, before anything is routed.
NOT_IN_TABLE = [
    ("GET", "/api/automation/nope"),
    ("DELETE", f"/api/automation/jobs/{NO_JOB}"),
    ("GET", "/api/intelligence/e2e-no-such-route"),
    ("GET", "/api/toast/e2e-no-such-route"),
    ("POST", "/api/embedding/e2e-no-such-route"),
    ("GET", "/api/v1/sync/e2e-no-such-route"),
    ("GET", "/api/admin/embedding-e2e-no-such-route"),
    ("PUT", "/api/auth/me"),
    ("GET", "/api"),
]


def call(url, method, path, headers=None, body=None):
    return http(method, url + path, headers=headers or {}, json=body, timeout=15)


def metrics(d):
    return Metrics(get(d.url + "/metrics").text)


def gateway_env(suite, **extra):
    env = {UPSTREAM_VAR[s]: suite[s].url for s in SERVICES}
    env.update(extra)
    return env


def run(coro, timeout=30):
    return asyncio.run(asyncio.wait_for(coro, timeout))


def ws_url(d, client_id, query=""):
    return f"ws://127.0.0.1:{d.port}/api/automation/ws/{client_id}{query}"


def ws_connect(d, client_id, headers=None, query=""):
    return websockets.connect(ws_url(d, client_id, query), extra_headers=headers or {},
                              open_timeout=10, close_timeout=5, ping_interval=None)


def refused_status(d, client_id, headers=None, query=""):
    """The HTTP status of an upgrade the gateway refuses."""
    async def scenario():
        with pytest.raises(websockets.InvalidStatusCode) as e:
            async with ws_connect(d, client_id, headers, query):
                pass
        return e.value.status_code

    return run(scenario())


# ---------------------------------------------------------------- roles and the table


@pytest.mark.parametrize("role", ROLES)
def test_each_role_against_a_sample_of_routes(suite, tokens, role):
    url, headers = suite.gateway.url, tokens.headers(role)
    for method, path, body, least, status in SAMPLE:
        r = call(url, method, path, headers, body)
        what = f"{role} {method} {path}"
        if RANK[role] >= RANK[least] and status is None:
            assert r.status_code not in (401, 403), f"{what}: {r.status_code} {r.text[:200]}"
        elif RANK[role] >= RANK[least]:
            assert r.status_code == status, f"{what}: {r.status_code} {r.text[:200]}"
        elif method == "HEAD":
            assert r.status_code == 403, what
        else:
            err = check_error(r, 403, "forbidden")
            assert f"role {role} lacks permission" in err["message"], (what, err)
    # Open routes: every service's health, with or without a credential.
    for svc, path in HEALTH.items():
        for h in (headers, {}):
            r = call(url, "GET", path, h)
            assert r.status_code == 200 and r.json()["service"] == svc, r.text


@pytest.mark.parametrize("role", ROLES + ("anonymous",))
def test_api_paths_outside_the_table_are_403_for_everyone(suite, tokens, role):
    headers = {} if role == "anonymous" else tokens.headers(role)
    for method, path in NOT_IN_TABLE:
        r = call(suite.gateway.url, method, path, headers)
        err = check_error(r, 403, "forbidden")
        assert err["message"].startswith("no permission rule for"), err


def test_no_or_bad_credential_is_401(suite, tokens):
    gw = suite.gateway
    before = metrics(gw)
    for method, path, body, _, _ in SAMPLE:
        if method == "HEAD":
            continue
        err = check_error(call(gw.url, method, path, body=body), 401, "unauthorized")
        assert err["message"] == "authentication required", err
    r = call(gw.url, "GET", "/api/automation/jobs")
    assert r.headers.get("www-authenticate") == 'Bearer realm="brain"'
    for bad in ("Bearer not-a-token", "Basic YWRtaW46YWRtaW4=", "Bearer "):
        r = call(gw.url, "GET", "/api/automation/jobs", {"Authorization": bad})
        err = check_error(r, 401, "unauthorized")
        assert err["message"] == "invalid credential (malformed)", err
        assert 'error="invalid_token"' in r.headers.get("www-authenticate", ""), r.headers
    # ?access_token= counts on WebSocket upgrades only
    token = tokens.access("admin")
    check_error(call(gw.url, "GET", "/api/automation/jobs?access_token=" + token), 401,
                "unauthorized")
    after = metrics(gw)
    missing = len([s for s in SAMPLE if s[0] != "HEAD"]) + 2
    assert (after.get("gateway_auth_failures_total", reason="missing")
            - before.get("gateway_auth_failures_total", reason="missing")) == missing
    assert (after.get("gateway_auth_failures_total", reason="malformed")
            - before.get("gateway_auth_failures_total", reason="malformed")) == 3


def test_probes_metrics_and_other_paths_are_open(suite):
    gw = suite.gateway
    for path in ("/health", "/health/detailed", "/live", "/ready", "/startup", "/metrics"):
        assert get(gw.url + path, timeout=10).status_code == 200, path
    check_error(get(gw.url + "/nope"), 404, "not_found")
    check_error(get(gw.url + "/apix/automation/jobs"), 404, "not_found")
    assert get(gw.url + "/openapi.json").status_code not in (401, 403)


# ---------------------------------------------------------------- what the service is told


@pytest.fixture
def recorder():
    r = Recorder().start()
    yield r
    r.close()


def test_identity_goes_upstream_and_spoofed_headers_do_not(suite, spawn, tokens, recorder):
    gw = spawn("gateway", env=gateway_env(suite, AUTOMATION_URL=recorder.url))
    spoof = {"X-User-Id": "00000000-0000-4000-8000-000000000bad", "X-User-Role": "admin",
             "X-Auth-Kind": "api_key", "X-Internal-Token": "forged"}
    # A viewer claiming to be an admin is still a viewer.
    r = call(gw.url, "GET", "/api/automation/jobs", {**tokens.headers("viewer"), **spoof})
    check_error(r, 403, "forbidden")
    assert recorder.api_requests() == [], "a refused request reached the service"
    # A staff user: the service hears who it is from the gateway, not from it.
    r = call(gw.url, "GET", "/api/automation/jobs", {**tokens.headers("staff"), **spoof})
    assert r.status_code == 200, r.text
    h = recorder.api_requests()[-1]["headers_lower"]
    assert h["x-user-id"] == tokens.user("staff")["id"], h
    assert h["x-user-role"] == "staff" and h["x-auth-kind"] == "user", h
    assert h["x-internal-token"] == suite.token, h
    assert "authorization" not in h, h
    # Anonymous on an open route: no identity at all, whatever it claims.
    r = call(gw.url, "GET", "/api/automation/health", spoof)
    assert r.status_code == 200, r.text
    h = recorder.api_requests()[-1]["headers_lower"]
    assert not {"x-user-id", "x-user-role", "x-auth-kind"} & set(h), h
    # An API key: its id and role, the key itself stays at the gateway.
    made = call(suite.gateway.url, "POST", "/api/auth/api-keys", tokens.headers("admin"),
                {"name": "gate e2e", "role": "manager"}).json()
    try:
        r = call(gw.url, "GET", "/api/automation/jobs", {"X-API-Key": made["key"], **spoof})
        assert r.status_code == 200, r.text
        h = recorder.api_requests()[-1]["headers_lower"]
        assert h["x-user-id"] == made["id"] and h["x-user-role"] == "manager", h
        assert h["x-auth-kind"] == "api_key" and "x-api-key" not in h, h
    finally:
        call(suite.gateway.url, "DELETE", f"/api/auth/api-keys/{made['id']}",
             tokens.headers("admin"))


def test_a_credential_on_an_open_route(suite, spawn, tokens, recorder):
    """Checked when sent: a valid one tells the service who calls; one that is
    not valid is ignored (the route stays open) and counted nowhere."""
    gw = spawn("gateway", env=gateway_env(suite, AUTOMATION_URL=recorder.url))
    r = call(gw.url, "GET", "/api/automation/health", tokens.headers("staff"))
    assert r.status_code == 200, r.text
    h = recorder.api_requests()[-1]["headers_lower"]
    assert h["x-user-id"] == tokens.user("staff")["id"] and h["x-user-role"] == "staff", h
    before = Metrics(get(gw.url + "/metrics").text)
    for bad in ("Bearer not-a-token", "Bearer " + tokens.access("staff")[:-4] + "AAAA"):
        r = call(gw.url, "GET", "/api/automation/health", {"Authorization": bad})
        assert r.status_code == 200, r.text
        h = recorder.api_requests()[-1]["headers_lower"]
        assert not {"x-user-id", "x-user-role", "x-auth-kind"} & set(h), h
    after = Metrics(get(gw.url + "/metrics").text)
    assert after.get("gateway_auth_failures_total") == before.get("gateway_auth_failures_total")
    # refresh still reaches its handler with a bad access token beside it
    r = call(gw.url, "POST", "/api/auth/refresh", {"Authorization": "Bearer expired.x.y"},
             {"refresh_token": "brr_nope"})
    check_error(r, 401, "unauthorized")


# ---------------------------------------------------------------- rate limits


def test_rate_limit_429_with_headers(suite, spawn, tokens):
    gw = spawn("gateway", env=gateway_env(suite, RATE_LIMIT_RPS="1", RATE_LIMIT_BURST="3"))
    url = gw.url
    for left in (2, 1, 0):
        r = get(url + "/api/automation/health")
        assert r.status_code == 200, r.text
        assert r.headers["X-RateLimit-Limit"] == "3"
        assert r.headers["X-RateLimit-Remaining"] == str(left)
        assert int(r.headers["X-RateLimit-Reset"]) >= 1
    want = rid()
    r = get(url + "/api/automation/health", headers={"X-Request-Id": want})
    err = check_error(r, 429, "rate_limited")
    assert r.headers["Retry-After"] == "1" and r.headers["X-RateLimit-Remaining"] == "0"
    assert err["request_id"] == want
    assert metrics(gw).get("gateway_rate_limited_total") == 1
    # Bad credentials count against the address too: 429, not 401.
    check_error(get(url + "/api/automation/jobs", headers={"Authorization": "Bearer x"}), 429,
                "rate_limited")
    # Probes and metrics are never limited.
    for _ in range(5):
        r = get(url + "/health")
        assert r.status_code == 200 and "X-RateLimit-Limit" not in r.headers
    # A user has a bucket of its own, another user another.
    for role in ("staff", "viewer"):
        r = get(url + "/api/auth/me", headers=tokens.headers(role))
        assert r.status_code == 200, r.text
        assert r.headers["X-RateLimit-Remaining"] == "2", (role, r.headers)
    # The address's bucket refills at RATE_LIMIT_RPS.
    wait_for(lambda: get(url + "/api/automation/health").status_code == 200, 5,
             "a token back after Retry-After")
    assert metrics(gw).get("gateway_rate_limited_total") >= 2


def test_rate_limit_per_client_behind_a_trusted_proxy(suite, spawn):
    limits = {"RATE_LIMIT_RPS": "1", "RATE_LIMIT_BURST": "1"}
    trusting = spawn("gateway", env=gateway_env(suite, TRUSTED_PROXIES="10.0.0.0/8, 127.0.0.1",
                                                **limits))
    path = trusting.url + "/api/automation/health"
    assert get(path, headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    check_error(get(path, headers={"X-Forwarded-For": "198.51.100.1"}), 429, "rate_limited")
    # another client behind the same proxies (10.1.2.3 is one of them too)
    r = get(path, headers={"X-Forwarded-For": "198.51.100.2, 10.1.2.3"})
    assert r.status_code == 200, r.text
    # whatever a client puts in front of the chain counts for nothing
    check_error(get(path, headers={"X-Forwarded-For": "203.0.113.9, 198.51.100.2"}), 429,
                "rate_limited")
    # trusting nobody (the default), X-Forwarded-For is ignored
    plain = spawn("gateway", env=gateway_env(suite, **limits))
    path = plain.url + "/api/automation/health"
    assert get(path, headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 200
    check_error(get(path, headers={"X-Forwarded-For": "198.51.100.2"}), 429, "rate_limited")


@pytest.mark.parametrize("var,value", [("TRUSTED_PROXIES", "10.0.0.0/33"),
                                       ("TRUSTED_PROXIES", "proxy.local"),
                                       ("CORS_ORIGINS", "https://a.example.com/app"),
                                       ("RATE_LIMIT_BURST", "0"),
                                       ("WS_MAX_CONNECTIONS", "9")])
def test_bad_gate_settings_stop_the_start(suite, spawn, var, value):
    d = spawn("gateway", env=gateway_env(suite, **{var: value}), wait=False)
    assert d.wait_exit(30) not in (0, None), d.tail()
    assert [l for l in d.log_lines() if l.get("level") == "error" and var in json.dumps(l)], \
        d.tail()


def test_rate_limit_off(suite, spawn):
    gw = spawn("gateway", env=gateway_env(suite, RATE_LIMIT_RPS="0"))
    for _ in range(5):
        r = get(gw.url + "/api/automation/health")
        assert r.status_code == 200 and "X-RateLimit-Limit" not in r.headers


# ---------------------------------------------------------------- CORS


ORIGIN = "https://admin.example.com"


def preflight(url, origin, path="/api/automation/jobs"):
    return http("OPTIONS", url + path, timeout=10,
                headers={"Origin": origin, "Access-Control-Request-Method": "POST",
                         "Access-Control-Request-Headers": "authorization, content-type"})


def test_cors_preflight_and_answers(suite, spawn, tokens):
    gw = spawn("gateway", env=gateway_env(suite, CORS_ORIGINS=ORIGIN + ", http://localhost:5173"))
    r = preflight(gw.url, ORIGIN)  # no credential: browsers send none on a preflight
    assert r.status_code == 204 and r.content == b"", r.text
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert "POST" in r.headers["Access-Control-Allow-Methods"]
    assert "Authorization" in r.headers["Access-Control-Allow-Headers"]
    assert r.headers["Access-Control-Max-Age"] == "600"
    assert "Origin" in r.headers["Vary"]
    r = preflight(gw.url, "https://evil.example.net")
    check_error(r, 403, "forbidden")
    assert "Access-Control-Allow-Origin" not in r.headers

    r = get(gw.url + "/api/automation/jobs?limit=1",
            headers={"Origin": ORIGIN, **tokens.headers("staff")})
    assert r.status_code == 200
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    assert r.headers["Access-Control-Allow-Credentials"] == "true"
    assert "X-RateLimit-Remaining" in r.headers["Access-Control-Expose-Headers"]
    assert r.headers["Vary"] == "Origin"
    # the gate's own refusals carry them too, so a page can read its 401
    r = get(gw.url + "/api/automation/jobs", headers={"Origin": ORIGIN})
    check_error(r, 401, "unauthorized")
    assert r.headers["Access-Control-Allow-Origin"] == ORIGIN
    r = get(gw.url + "/api/automation/jobs", headers={"Origin": "https://evil.example.net",
                                                       **tokens.headers("staff")})
    assert r.status_code == 200 and "Access-Control-Allow-Origin" not in r.headers


def test_no_cors_by_default(suite):
    check_error(preflight(suite.gateway.url, ORIGIN), 403, "forbidden")
    r = get(suite.gateway.url + "/api/automation/health", headers={"Origin": ORIGIN})
    assert r.status_code == 200
    assert not [k for k in r.headers if k.lower().startswith("access-control-")], r.headers


# ---------------------------------------------------------------- WebSockets


def test_websocket_with_a_token_in_a_header(suite, tokens):
    gw, client = suite.gateway, str(uuid.uuid4())

    async def scenario():
        async with ws_connect(gw, client, tokens.headers("staff")) as ws:
            assert json.loads(await ws.recv()) == {"type": "connected", "client_id": client}
            wait_for(lambda: metrics(gw).get("gateway_ws_connections") == 1, 5,
                     "gateway_ws_connections 1")

    run(scenario())
    wait_for(lambda: metrics(gw).get("gateway_ws_connections") == 0, 5,
             "gateway_ws_connections back to 0")


def test_websocket_with_a_token_in_the_query_never_logs_it(suite, tokens):
    gw, svc = suite.gateway, suite["svc-automation"]
    token = tokens.access("staff")
    want, client = rid(), str(uuid.uuid4())

    async def scenario():
        async with ws_connect(gw, client, {"X-Request-Id": want},
                              f"?access_token={token}&x=1") as ws:
            assert json.loads(await ws.recv()) == {"type": "connected", "client_id": client}

    run(scenario())
    gw.find_log(lambda l: l.get("msg") == "proxied WebSocket closed"
                and l.get("request_id") == want, what="the close line")
    svc.find_log(lambda l: l.get("request_id") == want, what="svc-automation's line")
    # the same token on plain HTTP is not a credential, and not logged either
    check_error(get(gw.url + "/api/automation/jobs?access_token=" + token), 401,
                "unauthorized")
    for name, d in suite.daemons.items():
        assert token not in d.log_text() + d.stderr_text(), f"{name} logged the access token"
        assert token.split(".")[2] not in d.log_text(), f"{name} logged the token's signature"


def test_websocket_refusals(suite, tokens):
    gw = suite.gateway
    assert refused_status(gw, "c1") == 401
    assert refused_status(gw, "c1", query="?access_token=not.a.jwt") == 401
    assert refused_status(gw, "c1", {"Authorization": "Bearer nope"}) == 401
    assert refused_status(gw, "c1", tokens.headers("viewer")) == 403
    assert refused_status(gw, "c1", query="?access_token=" + tokens.access("viewer")) == 403
    # an API key stays out of URLs
    made = http("POST", gw.url + "/api/auth/api-keys", headers=tokens.headers("admin"),
                json={"name": "ws e2e", "role": "staff"}, timeout=10).json()
    try:
        assert refused_status(gw, "c1", query="?access_token=" + made["key"]) == 401
    finally:
        http("DELETE", gw.url + f"/api/auth/api-keys/{made['id']}",
             headers=tokens.headers("admin"), timeout=10)


def test_websocket_with_the_upstream_killed(suite, spawn, tokens):
    svc = spawn("svc-automation")
    gw = spawn("gateway", env=gateway_env(suite, AUTOMATION_URL=svc.url))
    client = str(uuid.uuid4())

    async def scenario():
        async with ws_connect(gw, client, tokens.headers("admin")) as ws:
            assert json.loads(await ws.recv())["type"] == "connected"
            svc.kill()
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            return ws.close_code, ws.close_reason

    assert run(scenario()) == (1011, "svc-automation connection lost")

    async def again():
        async with ws_connect(gw, client, tokens.headers("admin")) as ws:
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            return ws.close_code, ws.close_reason

    assert run(again()) == (1011, "svc-automation is unreachable")
    assert get(gw.url + "/health").status_code == 200


def test_websocket_cap(suite, spawn, tokens):
    gw = spawn("gateway", env=gateway_env(suite, WS_MAX_CONNECTIONS="1"))
    a, b = str(uuid.uuid4()), str(uuid.uuid4())

    async def scenario():
        async with ws_connect(gw, a, tokens.headers("staff")) as ws:
            assert json.loads(await ws.recv())["type"] == "connected"
            with pytest.raises(websockets.InvalidStatusCode) as e:
                async with ws_connect(gw, b, tokens.headers("staff")):
                    pass
            assert e.value.status_code == 503
        wait_for(lambda: metrics(gw).get("gateway_ws_connections") == 0, 5,
                 "the first WebSocket to be gone")
        async with ws_connect(gw, b, tokens.headers("staff")) as ws:
            assert json.loads(await ws.recv())["type"] == "connected"

    run(scenario())


# ---------------------------------------------------------------- the URI


@pytest.mark.parametrize("path", ["/api/automation/jobs%0d%0aX-Injected:%201",
                                  "/api/automation/jobs%0A", "/health%00",
                                  "/api/automation/jobs?status=%0D%0Aqueued",
                                  "/api/automation/ws/c1%0d%0a"])
def test_encoded_control_characters_are_400(suite, tokens, path):
    for d in (suite.gateway, suite["svc-automation"]):
        r = rawhttp.request(d.port, "GET", path,
                            {"X-Internal-Token": suite.token, **tokens.headers("admin")})
        check_error(r, 400, "bad_request")
        assert "x-injected" not in r.headers
    # a WebSocket upgrade too
    key = base64.b64encode(os.urandom(16)).decode()
    r = rawhttp.request(suite.gateway.port, "GET", "/api/automation/ws/c1%0d%0a",
                        {"Upgrade": "websocket", "Connection": "Upgrade",
                         "Sec-WebSocket-Version": "13", "Sec-WebSocket-Key": key,
                         **tokens.headers("admin")})
    check_error(r, 400, "bad_request")
