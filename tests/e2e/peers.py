"""Test doubles of network peers, run inside the test process: an upstream that
records what the gateway sends it, and one that accepts and never answers."""

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class _RecordingHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, so connection reuse is visible

    def log_message(self, fmt, *args):
        pass

    def _handle(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        rec = {"method": self.command, "path": self.path, "headers": dict(self.headers.items()),
               "headers_lower": {k.lower(): v for k, v in self.headers.items()}, "body": body,
               "conn": id(self.connection)}
        self.server.requests.append(rec)
        if self.path.startswith("/health"):
            status, out = 200, {"status": "healthy", "service": "recorder", "version": "test",
                                "uptime_seconds": 1, "checks": {}}
        else:
            status = int(self.headers.get("X-Want-Status") or 200)
            out = {"ok": True, "path": self.path}
        data = b"" if status in (204, 304) else json.dumps(out).encode()
        self.send_response(status)
        if data:
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
        self.send_header("X-Upstream-Test", "recorded")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _handle


class Recorder(ThreadingHTTPServer):
    """An HTTP/1.1 upstream on 127.0.0.1 that records requests and counts accepted
    connections."""

    daemon_threads = True

    def __init__(self):
        super().__init__(("127.0.0.1", 0), _RecordingHandler)
        self.requests = []
        self.accepted = 0
        self._thread = threading.Thread(target=self.serve_forever, daemon=True)

    def get_request(self):
        conn = super().get_request()
        self.accepted += 1
        return conn

    @property
    def port(self):
        return self.server_address[1]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._thread.start()
        return self

    def close(self):
        self.shutdown()
        self.server_close()

    def api_requests(self):
        return [r for r in self.requests if not r["path"].startswith("/health")]


class SlowPeer:
    """Accepts connections and reads whatever comes, never answering."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.conns = []
        self.accepted = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def port(self):
        return self.sock.getsockname()[1]

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        self.sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                c, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.accepted += 1
            c.settimeout(0.2)
            self.conns.append(c)
            threading.Thread(target=self._drain, args=(c,), daemon=True).start()

    def _drain(self, c):
        while not self._stop.is_set():
            try:
                if c.recv(65536) == b"":
                    return
            except socket.timeout:
                continue
            except OSError:
                return

    def close(self):
        self._stop.set()
        self._thread.join(2)
        for c in self.conns:
            try:
                c.close()
            except OSError:
                pass
        self.sock.close()


class WsPeer:
    """A WebSocket upstream (python3-websockets 10, asyncio, on its own thread)
    on 127.0.0.1 that records every connection in `conns`: path, request
    headers, messages received, and how it ended (`closed`, `close_code` as
    received from the gateway). It echoes each message back; a text message
    starting with '!' is a command instead:
      !burst N      send N messages "down-0" .. "down-<N-1>"
      !big N        send one text message of N bytes
      !frag         send "Hello" in two fragments
      !binary       send a binary message
      !ping         ping the gateway, then send "pong-ok" once it answered
      !close CODE   close with CODE
      !abort        drop the TCP connection without a close frame
    With refuse_status set, every upgrade is answered with that status."""

    def __init__(self):
        import asyncio
        self._asyncio = asyncio
        self.conns = []
        self.refused = []  # paths of the upgrades refused with refuse_status
        self.refuse_status = None
        self.loop = asyncio.new_event_loop()
        self.server = None
        self.port = None
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def start(self):
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("WsPeer did not start")
        return self

    def _run(self):
        import websockets
        self._asyncio.set_event_loop(self.loop)
        self.server = self.loop.run_until_complete(websockets.serve(
            self._handler, "127.0.0.1", 0, process_request=self._process_request,
            max_size=None, ping_interval=None, close_timeout=2))
        self.port = self.server.sockets[0].getsockname()[1]
        self._ready.set()
        self.loop.run_forever()

    async def _process_request(self, path, headers):
        if self.refuse_status:
            self.refused.append({"path": path,
                                 "headers_lower": {k.lower(): v for k, v in headers.raw_items()}})
            body = json.dumps({"error": {"code": "refused", "message": "test peer"}}).encode()
            from http import HTTPStatus
            return (HTTPStatus(self.refuse_status), [("Content-Type", "application/json")],
                    body)
        return None

    async def _handler(self, ws):
        import websockets
        rec = {"path": ws.path, "ws": ws, "received": [], "closed": False, "close_code": None,
               "headers_lower": {k.lower(): v for k, v in ws.request_headers.raw_items()}}
        self.conns.append(rec)
        try:
            async for msg in ws:
                rec["received"].append(msg)
                if isinstance(msg, str) and msg.startswith("!"):
                    await self._command(ws, msg)
                else:
                    await ws.send(msg)
        except websockets.ConnectionClosed:
            pass
        finally:
            rec["close_code"] = ws.close_code
            rec["closed"] = True

    async def _command(self, ws, msg):
        word, _, arg = msg.partition(" ")
        if word == "!burst":
            for i in range(int(arg)):
                await ws.send(f"down-{i}")
        elif word == "!big":
            await ws.send("x" * int(arg))
        elif word == "!frag":
            await ws.send(iter(["Hel", "lo"]))
        elif word == "!binary":
            await ws.send(b"\x00\x01\x02")
        elif word == "!ping":
            pong = await ws.ping(b"peer")
            await self._asyncio.wait_for(pong, 5)
            await ws.send("pong-ok")
        elif word == "!close":
            await ws.close(code=int(arg), reason="peer closes")
        elif word == "!abort":
            ws.transport.abort()

    def send(self, index, message):
        """Send a message on connection index from the test's thread."""
        fut = self._asyncio.run_coroutine_threadsafe(self.conns[index]["ws"].send(message),
                                                     self.loop)
        fut.result(5)

    def close(self):
        async def stop():
            self.server.close()
            await self.server.wait_closed()
        if self.server is not None:
            self._asyncio.run_coroutine_threadsafe(stop(), self.loop).result(10)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(5)
