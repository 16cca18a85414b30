"""A small synchronous NATS client for the tests (the core protocol over a
socket): publish, subscribe, request/reply. Enough to play a worker or a
service on the bus without a library that Debian does not package."""

import json
import queue
import socket
import threading
import time
import uuid
from urllib.parse import urlparse


class NatsError(Exception):
    pass


class Msg:
    def __init__(self, subject, reply, data, headers):
        self.subject, self.reply, self.data, self.headers = subject, reply, data, headers

    def json(self):
        return json.loads(self.data)


class Client:
    def __init__(self, url, name="e2e"):
        u = urlparse(url)
        self.sock = socket.create_connection((u.hostname, u.port or 4222), timeout=5)
        self.sock.settimeout(None)
        self.f = self.sock.makefile("rb")
        self.lock = threading.Lock()
        self.sid = 0
        self.subs = {}
        self.closed = False
        info = self.f.readline()
        if not info.startswith(b"INFO"):
            raise NatsError(f"unexpected greeting {info!r}")
        self._send(b"CONNECT " + json.dumps({"verbose": False, "pedantic": False,
                                              "headers": True, "no_responders": True,
                                              "name": name}).encode() + b"\r\n")
        self.pong = threading.Event()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()
        self.flush()

    def _send(self, data):
        with self.lock:
            self.sock.sendall(data)

    def flush(self, timeout=5):
        self.pong.clear()
        self._send(b"PING\r\n")
        if not self.pong.wait(timeout):
            raise NatsError("no PONG")

    def _read(self):
        try:
            while True:
                line = self.f.readline()
                if not line:
                    break
                if line.startswith(b"PING"):
                    self._send(b"PONG\r\n")
                elif line.startswith(b"PONG"):
                    self.pong.set()
                elif line.startswith(b"MSG ") or line.startswith(b"HMSG "):
                    self._deliver(line)
                elif line.startswith(b"-ERR"):
                    raise NatsError(line.decode().strip())
        except (OSError, ValueError):
            pass
        finally:
            self.closed = True

    def _deliver(self, line):
        parts = line.decode().split()
        headers = {}
        if parts[0] == "HMSG":
            subject, sid = parts[1], parts[2]
            reply = parts[3] if len(parts) == 6 else None
            hlen, total = int(parts[-2]), int(parts[-1])
            payload = self.f.read(total + 2)[:total]
            lines = payload[:hlen].decode().split("\r\n")
            status = lines[0].split()
            if len(status) > 1:
                headers["Status"] = status[1]
            for h in lines[1:]:
                if ":" in h:
                    k, v = h.split(":", 1)
                    headers[k.strip()] = v.strip()
            data = payload[hlen:]
        else:
            subject, sid = parts[1], parts[2]
            reply = parts[3] if len(parts) == 5 else None
            total = int(parts[-1])
            data = self.f.read(total + 2)[:total]
        q = self.subs.get(sid)
        if q is not None:
            q.put(Msg(subject, reply, data, headers))

    def subscribe(self, subject, queue_group=None):
        """Returns (sid, queue.Queue of Msg)."""
        with self.lock:
            self.sid += 1
            sid = str(self.sid)
        q = queue.Queue()
        self.subs[sid] = q
        self._send(f"SUB {subject} {queue_group + ' ' if queue_group else ''}{sid}\r\n".encode())
        self.flush()
        return sid, q

    def unsubscribe(self, sid):
        self._send(f"UNSUB {sid}\r\n".encode())
        self.subs.pop(sid, None)

    def publish(self, subject, data, reply=None, headers=None):
        if isinstance(data, (dict, list)):
            data = json.dumps(data)
        if isinstance(data, str):
            data = data.encode()
        if headers:
            hdr = "NATS/1.0\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items()) + "\r\n"
            hb = hdr.encode()
            self._send(f"HPUB {subject} {reply + ' ' if reply else ''}{len(hb)} "
                       f"{len(hb) + len(data)}\r\n".encode() + hb + data + b"\r\n")
        else:
            self._send(f"PUB {subject} {reply + ' ' if reply else ''}{len(data)}\r\n".encode()
                       + data + b"\r\n")

    def request(self, subject, data, timeout=5, headers=None):
        """The reply Msg; NatsError on timeout or when nobody listens."""
        inbox = "_INBOX." + uuid.uuid4().hex
        sid, q = self.subscribe(inbox)
        try:
            self.publish(subject, data, reply=inbox, headers=headers)
            try:
                m = q.get(timeout=timeout)
            except queue.Empty:
                raise NatsError(f"no reply on {subject} within {timeout}s") from None
            if m.headers.get("Status") == "503":
                raise NatsError(f"no responders on {subject}")
            return m
        finally:
            self.unsubscribe(sid)

    def request_json(self, subject, data, timeout=5):
        return self.request(subject, data, timeout).json()

    def close(self):
        # shutdown first: close() alone leaves the connection open while the
        # reader thread is blocked in recv() on it, and the server would keep
        # this client's subscriptions (a queue group member that never answers).
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass


def wait_msg(q, cond, timeout, what):
    """The first Msg of q satisfying cond within timeout (others are dropped)."""
    deadline = time.monotonic() + timeout
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(f"timed out waiting for {what}")
        try:
            m = q.get(timeout=left)
        except queue.Empty:
            continue
        if cond(m):
            return m
