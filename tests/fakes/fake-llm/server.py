#!/usr/bin/env python3
"""fake-llm: a stand-in for an OpenAI-compatible chat endpoint, for the
end-to-end tests of svc-intelligence's optional rephrasing (LLM_BASE_URL).

    python3 tests/fakes/fake-llm/server.py --port 0

prints "listening on <port>" on stdout once it serves. Endpoints:
  POST {any prefix}/chat/completions   {model, messages:[{role, content}]}
      answers choices[0].message.content = "In plain words: " + the last
      user message (or as the mode below says)
  POST /__control   {"mode": "ok" | "fail_500" | "no_choices" | "slow", "slow_ms": n,
                     "key": "expected bearer token or null"}
      a request without "Authorization: Bearer <key>" (when key is set) gets 401
  GET  /__stats     {"calls": n, "last": {path, model, messages, authorization}}
  POST /__reset     everything back to the start
"""

import argparse
import json
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
START = {"mode": "ok", "slow_ms": 0, "key": None}
STATE = {"calls": 0, "last": None, **START}


def reply(h, code, obj):
    body = json.dumps(obj).encode()
    h.send_response(code)
    h.send_header("Content-Type", "application/json")
    h.send_header("Content-Length", str(len(body)))
    h.end_headers()
    h.wfile.write(body)


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        sys.stderr.write("fake-llm: " + fmt % args + "\n")

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw or b"{}")
        except ValueError:
            return None

    def do_GET(self):
        if self.path == "/__stats":
            with LOCK:
                return reply(self, 200, {"calls": STATE["calls"], "last": STATE["last"]})
        reply(self, 404, {"error": {"message": "no such path"}})

    def do_POST(self):
        body = self.body()
        if self.path == "/__reset":
            with LOCK:
                STATE.update(calls=0, last=None, **START)
            return reply(self, 200, {"ok": True})
        if self.path == "/__control":
            with LOCK:
                for k in ("mode", "slow_ms", "key"):
                    if k in (body or {}):
                        STATE[k] = body[k]
            return reply(self, 200, {"ok": True})
        if not self.path.endswith("/chat/completions"):
            return reply(self, 404, {"error": {"message": "no such path"}})
        auth = self.headers.get("Authorization")
        with LOCK:
            STATE["calls"] += 1
            STATE["last"] = {"path": self.path, "authorization": auth,
                             "model": (body or {}).get("model"),
                             "messages": (body or {}).get("messages")}
            mode, slow, key = STATE["mode"], STATE["slow_ms"], STATE["key"]
        if key is not None and auth != "Bearer " + key:
            return reply(self, 401, {"error": {"message": "bad key"}})
        if body is None or not isinstance(body.get("messages"), list):
            return reply(self, 400, {"error": {"message": "messages required"}})
        if mode == "slow":
            time.sleep(slow / 1000.0)
        if mode == "fail_500":
            return reply(self, 500, {"error": {"message": "overloaded"}})
        if mode == "no_choices":
            return reply(self, 200, {"id": "x", "choices": []})
        user = [m.get("content", "") for m in body["messages"] if m.get("role") == "user"]
        text = "In plain words: " + (user[-1] if user else "")
        reply(self, 200, {"id": "chatcmpl-fake", "object": "chat.completion",
                          "model": body.get("model"),
                          "choices": [{"index": 0, "finish_reason": "stop",
                                       "message": {"role": "assistant", "content": text}}]})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    print(f"listening on {srv.server_address[1]}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
