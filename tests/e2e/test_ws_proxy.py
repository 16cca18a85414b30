"""The gateway's WebSocket proxy: WS /api/automation/ws/{client_id} relayed to
the upstream (here a python3-websockets peer standing in for svc-automation).
Every client comes as the admin (the gate asks for a credential); the gate's
own WebSocket tests are in test_gate.py."""

import asyncio
import base64
import os
import signal
import subprocess
import sys

import pytest
import websockets

import rawhttp
from harness import check_error, free_port, get, rid, wait_for
from peers import SlowPeer, WsPeer
from promtext import Metrics

WS_PATH = "/api/automation/ws/"
MAX = 64 * 1024
AUTH = {}  # the admin's Authorization header, set for each test by _auth


@pytest.fixture(autouse=True)
def _auth(tokens):
    AUTH.clear()
    AUTH.update(tokens.headers("admin"))


@pytest.fixture
def peer():
    p = WsPeer().start()
    yield p
    p.close()


def start_gateway(spawn, upstream_url, **env):
    e = {"AUTOMATION_URL": upstream_url, "UPSTREAM_TIMEOUT_MS": "3000"}
    e.update(env)
    gw = spawn("gateway", env=e, wait=False)
    gw.wait_ready(60)
    return gw


@pytest.fixture
def gw(spawn, peer):
    return start_gateway(spawn, peer.url)


def ws_url(gw, client_id="client-1"):
    return f"ws://127.0.0.1:{gw.port}{WS_PATH}{client_id}"


def run(coro, timeout=30):
    """Run one client scenario, bounded."""
    return asyncio.run(asyncio.wait_for(coro, timeout))


def connect(gw, client_id="client-1", headers=None):
    return websockets.connect(ws_url(gw, client_id), extra_headers={**AUTH, **(headers or {})},
                              max_size=None, ping_interval=None, open_timeout=10,
                              close_timeout=5)


def upgrade_status(gw, path=WS_PATH + "client-1", headers=None):
    """A raw upgrade request that is expected to be refused."""
    h = {"Upgrade": "websocket", "Connection": "Upgrade", "Sec-WebSocket-Version": "13",
         "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode(), **AUTH}
    h.update(headers or {})
    return rawhttp.request(gw.port, "GET", path, headers=h)


def metrics(gw):
    return Metrics(get(gw.url + "/metrics").text)


def still_healthy(gw):
    assert get(gw.url + "/health").status_code == 200
    assert get(gw.url + "/ready").status_code == 200, "the gateway's /ready must stay 200"


def closed_by_gateway(gw, headers=None):
    """Connect, expecting the gateway to accept and close at once; returns
    (close code, reason)."""
    async def scenario():
        async with connect(gw, headers=headers) as ws:
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            return ws.close_code, ws.close_reason

    return run(scenario())


def closed_line(gw, request_id):
    return gw.find_log(lambda l: l.get("msg") == "proxied WebSocket closed"
                       and l.get("request_id") == request_id,
                       what=f"the close line of {request_id}")


# ---------------------------------------------------------------- relaying


def test_messages_both_ways_in_order(gw, peer, token):
    want = rid()

    async def scenario():
        async with connect(gw, "client-1", {"X-Request-Id": want}) as ws:
            for i in range(50):
                await ws.send(f"up-{i}")
            assert [await ws.recv() for _ in range(50)] == [f"up-{i}" for i in range(50)]
            await ws.send("!burst 100")
            assert [await ws.recv() for _ in range(100)] == [f"down-{i}" for i in range(100)]
            await ws.send("!frag")
            assert await ws.recv() == "Hello", "a fragmented upstream message is reassembled"
            await ws.send("!ping")
            assert await ws.recv() == "pong-ok", "the gateway answers the upstream's ping"
            peer.send(0, "pushed by the upstream")
            assert await ws.recv() == "pushed by the upstream"
            m = metrics(gw)
            assert m.get("ws_proxy_connections", upstream="svc-automation") == 1
            assert m.get("ws_proxy_messages_total", upstream="svc-automation",
                         direction="up") == 53
            assert m.get("ws_proxy_messages_total", upstream="svc-automation",
                         direction="down") == 50 + 100 + 3

    run(scenario())
    rec = peer.conns[0]
    assert rec["received"][:50] == [f"up-{i}" for i in range(50)]
    wait_for(lambda: rec["closed"], 5, "the upstream to see the client's close")
    assert rec["close_code"] == 1000
    line = closed_line(gw, want)
    assert line["closed_by"] == "client" and line["route"] == WS_PATH + "{client_id}", line
    assert line["messages_up"] == 53 and line["messages_down"] == 153, line
    assert line["level"] == "info" and line["duration_ms"] >= 0, line
    gw.find_log(lambda l: l.get("msg") == "proxied WebSocket open"
                and l.get("request_id") == want, what="the open line")
    wait_for(lambda: metrics(gw).get("ws_proxy_connections", upstream="svc-automation") == 0,
             5, "ws_proxy_connections back to 0")
    still_healthy(gw)


def test_what_the_upstream_receives(gw, peer, token, tokens):
    want = rid()

    async def scenario():
        async with connect(gw, "a%20b", {"X-Request-Id": want, "X-Internal-Token": "forged",
                                         "X-User-Id": "42", "X-User-Role": "viewer",
                                         "X-Other": "client header",
                                         "X-Forwarded-For": "203.0.113.7"}) as ws:
            await ws.send("hi")
            assert await ws.recv() == "hi"

    run(scenario())
    rec = peer.conns[0]
    h = rec["headers_lower"]
    assert rec["path"] == WS_PATH + "a%20b", rec["path"]
    assert h.get("x-internal-token") == token, "the gateway's token, not the client's"
    assert h.get("x-request-id") == want
    # who is calling, as the gate found it, not as the client claims
    assert h.get("x-user-id") == tokens.user("admin")["id"], h
    assert h.get("x-user-role") == "admin" and h.get("x-auth-kind") == "user", h
    assert "x-other" not in h and "authorization" not in h, \
        "nothing of the client's headers is forwarded"
    assert h.get("x-forwarded-proto") == "http"
    assert h.get("x-forwarded-for") == "203.0.113.7, 127.0.0.1", h
    assert h.get("x-forwarded-host") == f"127.0.0.1:{gw.port}"
    assert h.get("host") == f"127.0.0.1:{peer.port}"


def test_generated_request_id_is_sent_upstream(gw, peer):
    async def scenario():
        async with connect(gw) as ws:
            await ws.send("x")
            await ws.recv()

    run(scenario())
    sent = peer.conns[0]["headers_lower"].get("x-request-id", "")
    assert sent, "no X-Request-Id upstream"
    closed_line(gw, sent)


# ---------------------------------------------------------------- refusals


@pytest.mark.parametrize("status,code", [(404, "not_found"), (403, "forbidden"),
                                         (401, "unauthorized")])
def test_upstream_refusal_passes_back(gw, peer, status, code):
    peer.refuse_status = status
    r = upgrade_status(gw)
    check_error(r, status, code)
    assert "upgrade" not in r.headers and "sec-websocket-accept" not in r.headers, r.headers
    assert peer.refused and peer.refused[0]["path"] == WS_PATH + "client-1"
    assert metrics(gw).get("ws_proxy_connections", upstream="svc-automation") == 0
    still_healthy(gw)


def test_upstream_down_closes_the_client_with_1011(spawn):
    """A browser cannot read the status of a refused upgrade, only close codes:
    the client is accepted and closed at once, saying why."""
    gw = start_gateway(spawn, f"http://127.0.0.1:{free_port()}")
    want = rid()
    assert closed_by_gateway(gw, {"X-Request-Id": want}) == (1011,
                                                               "svc-automation is unreachable")
    line = gw.find_log(lambda l: l.get("msg") == "upstream WebSocket not opened"
                       and l.get("request_id") == want, what="the failure line")
    assert line["level"] == "warn" and line["close_code"] == 1011, line
    closed = closed_line(gw, want)
    assert closed["closed_by"] == "gateway" and closed["close_code"] == 1011, closed
    wait_for(lambda: metrics(gw).get("gateway_ws_connections") == 0, 5,
             "gateway_ws_connections back to 0")
    still_healthy(gw)


def test_upstream_not_answering_the_handshake_is_1011(spawn):
    slow = SlowPeer().start()
    try:
        gw = start_gateway(spawn, slow.url, UPSTREAM_TIMEOUT_MS="800")
        assert closed_by_gateway(gw) == (1011, "svc-automation did not answer in time")
        assert slow.accepted >= 1
        still_healthy(gw)
    finally:
        slow.close()


def test_an_http_only_upstream_is_1011(spawn):
    """An upstream that answers the upgrade with 200 did not speak WebSocket."""
    from peers import Recorder
    rec = Recorder().start()
    try:
        gw = start_gateway(spawn, rec.url)
        code, reason = closed_by_gateway(gw)
        assert code == 1011 and reason.startswith("svc-automation "), (code, reason)
    finally:
        rec.close()


# ---------------------------------------------------------------- closing


def test_upstream_closing_closes_the_client(gw, peer):
    want = rid()

    async def scenario():
        async with connect(gw, headers={"X-Request-Id": want}) as ws:
            await ws.send("!close 4001")
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            return ws.close_code

    assert run(scenario()) == 4001, "the upstream's close code passes through"
    wait_for(lambda: peer.conns[0]["closed"], 5, "the peer's close to finish")
    assert peer.conns[0]["close_code"] == 4001, "the gateway echoes the upstream's code"
    line = closed_line(gw, want)
    assert line["closed_by"] == "upstream" and line["close_code"] == 4001, line


def test_client_closing_tcp_without_close_frame(gw, peer):
    async def scenario():
        ws = await connect(gw)
        await ws.send("hello")
        assert await ws.recv() == "hello"
        ws.transport.abort()  # no close frame, the socket just goes

    run(scenario())
    wait_for(lambda: peer.conns and peer.conns[0]["closed"], 10,
             "the upstream to see the connection close")
    assert peer.conns[0]["close_code"] == 1000
    wait_for(lambda: metrics(gw).get("ws_proxy_connections", upstream="svc-automation") == 0,
             5, "ws_proxy_connections back to 0")
    still_healthy(gw)


def test_upstream_dropping_tcp_closes_the_client(gw, peer):
    async def scenario():
        async with connect(gw) as ws:
            await ws.send("!abort")
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()

    run(scenario())
    still_healthy(gw)


def test_upstream_killed_mid_stream(spawn):
    here = os.path.dirname(os.path.abspath(__file__))
    code = ("import sys, threading; sys.path.insert(0, %r); from peers import WsPeer; "
            "p = WsPeer().start(); print(p.port, flush=True); threading.Event().wait()" % here)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    try:
        port = int(proc.stdout.readline())
        gw = start_gateway(spawn, f"http://127.0.0.1:{port}")

        async def scenario():
            async with connect(gw) as ws:
                await ws.send("before")
                assert await ws.recv() == "before"
                await ws.send("!burst 5")
                for i in range(5):
                    assert await ws.recv() == f"down-{i}"
                proc.send_signal(signal.SIGKILL)
                proc.wait(10)
                with pytest.raises(websockets.ConnectionClosed):
                    await ws.recv()
                return ws.close_code, ws.close_reason

        assert run(scenario()) == (1011, "svc-automation connection lost")
        still_healthy(gw)
        # With the upstream gone, new WebSockets are closed at once with 1011.
        assert closed_by_gateway(gw) == (1011, "svc-automation is unreachable")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        proc.stdout.close()


# ---------------------------------------------------------------- limits


def test_64_kib_passes_both_ways(gw, peer):
    async def scenario():
        async with connect(gw) as ws:
            await ws.send("y" * MAX)
            assert await ws.recv() == "y" * MAX
            await ws.send(f"!big {MAX}")
            assert await ws.recv() == "x" * MAX

    run(scenario())


def test_client_message_over_64_kib_closes_both(gw, peer):
    async def scenario():
        async with connect(gw) as ws:
            await ws.send("y" * (MAX + 1))
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            return ws.close_code

    assert run(scenario()) == 1009
    wait_for(lambda: peer.conns and peer.conns[0]["closed"], 5, "the upstream to see a close")
    assert peer.conns[0]["received"] == [], "the oversized message must not reach the upstream"
    still_healthy(gw)


def test_upstream_message_over_64_kib_closes_both(gw, peer):
    want = rid()

    async def scenario():
        async with connect(gw, headers={"X-Request-Id": want}) as ws:
            await ws.send(f"!big {MAX + 1}")
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()

    run(scenario())
    wait_for(lambda: peer.conns[0]["closed"], 5, "the upstream to see a close")
    assert peer.conns[0]["close_code"] == 1009
    line = closed_line(gw, want)
    assert line["closed_by"] == "gateway" and line["close_code"] == 1009, line
    still_healthy(gw)


def test_binary_messages(gw, peer):
    async def scenario():
        async with connect(gw) as ws:
            await ws.send(b"\x01\x02")  # relayed upstream as binary
            await ws.send("!binary")  # web.h cannot send binary to the client
            with pytest.raises(websockets.ConnectionClosed):
                while True:
                    msg = await ws.recv()
                    assert not isinstance(msg, bytes), "binary frames cannot be relayed down"

    run(scenario())
    wait_for(lambda: peer.conns[0]["closed"], 5, "the upstream to see a close")
    assert peer.conns[0]["received"][0] == b"\x01\x02"
    assert peer.conns[0]["close_code"] == 1003


def test_at_most_half_the_threads_are_websockets(spawn, peer):
    gw = start_gateway(spawn, peer.url, HTTP_THREADS="4")

    async def scenario():
        a = await connect(gw, "a")
        b = await connect(gw, "b")
        try:
            wait_for(lambda: len(peer.conns) == 2, 5, "two upstream connections")
            assert metrics(gw).get("ws_proxy_connections", upstream="svc-automation") == 2
            check_error(upgrade_status(gw, WS_PATH + "c"), 503, "unavailable")
            assert len(peer.conns) == 2, "a refused client must not open an upstream connection"
        finally:
            await a.close()
        c = await connect(gw, "c")  # room again
        await c.send("hi")
        assert await c.recv() == "hi"
        await c.close()
        await b.close()

    run(scenario())
    still_healthy(gw)


def test_sigterm_closes_proxied_websockets(spawn, peer):
    gw = start_gateway(spawn, peer.url)

    async def scenario():
        async with connect(gw) as ws:
            await ws.send("hi")
            assert await ws.recv() == "hi"
            gw.send(signal.SIGTERM)
            with pytest.raises(websockets.ConnectionClosed):
                await ws.recv()
            return ws.close_code

    assert run(scenario()) == 1001
    assert gw.wait_exit(30) == 0, gw.tail()
    assert peer.conns[0]["closed"], "the upstream connection must be closed on shutdown"
    assert gw.sanitizer_report() is None, gw.sanitizer_report()
