#!/usr/bin/env python3
"""fake-browser: a stand-in for the browser-automation service that makes menu
changes in Toast's web back office (svc-toast's menu_build, item_create,
item_update and modifier_sync jobs), for the end-to-end tests.

    python3 tests/fakes/fake-browser/server.py --port 0

prints "listening on <port>" on stdout once it serves. Endpoints (as the service):
  POST /tasks              {type, job_id, integration, change, credentials} -> 201 {id, status}
  GET  /tasks/{id}         {id, status: queued|running|succeeded|failed|cancelled,
                            progress, message, result, error: {message, retryable}}
  POST /tasks/{id}/cancel  -> 200 {id, status: "cancelled"}
A task runs for `steps` x `step_ms` (from its creation), then succeeds with
{"applied": <its change>} or fails as the switches say.

Control (tests):
  POST /__control {"steps": n, "step_ms": ms, "fail": bool, "retryable": bool,
                   "refuse": http status for POST /tasks (0: accept)}
  GET  /__tasks            every task received, with what it was sent (credentials too:
                           the tests check the login and the TOTP code arrived)
  POST /__reset            no tasks, default switches
"""

import argparse
import json
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOCK = threading.Lock()
DEFAULTS = {"steps": 3, "step_ms": 200, "fail": False, "retryable": False, "refuse": 0}
SWITCHES = dict(DEFAULTS)
TASKS = {}  # id -> task


def view(t):
    """The task as GET /tasks/{id} shows it, advanced to now."""
    if t["status"] in ("queued", "running"):
        elapsed = (time.monotonic() - t["started"]) * 1000
        step = int(elapsed // max(1, t["step_ms"]))
        if step >= t["steps"]:
            if t["fail"]:
                t["status"] = "failed"
                t["error"] = {"message": "Toast's back office refused the change",
                              "retryable": t["retryable"]}
            else:
                t["status"] = "succeeded"
                t["result"] = {"applied": t["request"]["change"], "type": t["request"]["type"]}
            t["progress"] = 100
        else:
            t["status"] = "running" if step > 0 else "queued"
            t["progress"] = int(step * 100 / t["steps"])
            t["message"] = f"step {step + 1} of {t['steps']}"
    return {k: t.get(k) for k in ("id", "status", "progress", "message", "result", "error")}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send_json(self, status, obj):
        data = json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        try:
            return json.loads(raw) if raw else {}
        except ValueError:
            return None

    def do_POST(self):
        req = self.body()
        if req is None:
            return self.send_json(400, {"error": "body is not JSON"})
        path = self.path.split("?")[0]
        with LOCK:
            if path == "/__control":
                SWITCHES.update({k: v for k, v in req.items() if k in DEFAULTS})
                return self.send_json(200, SWITCHES)
            if path == "/__reset":
                SWITCHES.clear()
                SWITCHES.update(DEFAULTS)
                TASKS.clear()
                return self.send_json(200, {})
            if path == "/tasks":
                if SWITCHES["refuse"]:
                    return self.send_json(SWITCHES["refuse"], {"error": "task refused"})
                missing = [k for k in ("type", "job_id", "integration", "change", "credentials")
                           if k not in req]
                if missing:
                    return self.send_json(400, {"error": f"missing {missing}"})
                tid = str(uuid.uuid4())
                TASKS[tid] = {"id": tid, "request": req, "status": "queued", "progress": 0,
                              "started": time.monotonic(), "steps": SWITCHES["steps"],
                              "step_ms": SWITCHES["step_ms"], "fail": SWITCHES["fail"],
                              "retryable": SWITCHES["retryable"], "message": "queued",
                              "result": None, "error": None, "polls": 0}
                return self.send_json(201, {"id": tid, "status": "queued"})
            parts = path.strip("/").split("/")
            if len(parts) == 3 and parts[0] == "tasks" and parts[2] == "cancel":
                t = TASKS.get(parts[1])
                if not t:
                    return self.send_json(404, {"error": "no such task"})
                if t["status"] in ("queued", "running"):
                    t["status"] = "cancelled"
                    t["error"] = {"message": "cancelled", "retryable": False}
                return self.send_json(200, {"id": t["id"], "status": t["status"]})
        return self.send_json(404, {"error": "not found"})

    def do_GET(self):
        path = self.path.split("?")[0]
        with LOCK:
            if path == "/__tasks":
                return self.send_json(200, [dict(view(t), request=t["request"], polls=t["polls"])
                                            for t in TASKS.values()])
            parts = path.strip("/").split("/")
            if len(parts) == 2 and parts[0] == "tasks":
                t = TASKS.get(parts[1])
                if not t:
                    return self.send_json(404, {"error": "no such task"})
                t["polls"] += 1
                return self.send_json(200, view(t))
        return self.send_json(404, {"error": "not found"})


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    args = ap.parse_args()
    srv = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    srv.daemon_threads = True
    print(f"listening on {srv.server_address[1]}", flush=True)
    try:
        srv.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
