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
