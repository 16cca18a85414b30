"""Helpers for the job-queue tests: the /api/automation client through the
gateway, and a worker played over NATS."""

import time
import uuid

import requests

import natsclient
from harness import wait_for

TYPES = ["menu_build", "menu_sync", "item_create", "item_update", "modifier_sync",
         "health_check", "golden_copy", "classification", "report_generation", "backup"]


def new_client():
    return str(uuid.uuid4())


class Api:
    """headers (the caller's credential, since the gateway asks for one) go
    with every request; a call's own headers are added to them."""

    def __init__(self, base, headers=None):
        self.base = base.rstrip("/") + "/api/automation"
        self.headers = dict(headers or {})

    def _kw(self, kw):
        kw["headers"] = {**self.headers, **(kw.get("headers") or {})}
        return kw

    def post(self, path, body=None, **kw):
        return requests.post(self.base + path, json=body, timeout=10, **self._kw(kw))

    def get(self, path, **kw):
        return requests.get(self.base + path, timeout=10, **self._kw(kw))

    def patch(self, path, body, **kw):
        return requests.patch(self.base + path, json=body, timeout=10, **self._kw(kw))

    def create(self, client_id, job_type="menu_sync", **fields):
        r = self.post("/jobs", {"client_id": client_id, "job_type": job_type, **fields})
        assert r.status_code == 201, r.text
        return r.json()

    def job(self, job_id):
        r = self.get(f"/jobs/{job_id}")
        assert r.status_code == 200, r.text
        return r.json()

    def wait_status(self, job_id, status, timeout=15):
        def check():
            j = self.job(job_id)
            return j if j["status"] == status else None
        return wait_for(check, timeout, f"job {job_id} {status}")

    def drain(self):
        """Cancel every waiting job, so claims in a test see only its own."""
        for st in ("queued", "pending"):
            while True:
                items = self.get(f"/jobs?status={st}&limit=500").json()["items"]
                if not items:
                    break
                for j in items:
                    self.post(f"/jobs/{j['id']}/cancel")


class Worker:
    """A worker played by the test over NATS."""

    def __init__(self, nats_url, worker_id=None):
        self.nc = natsclient.Client(nats_url, name="e2e-worker")
        self.id = worker_id or "e2e-" + uuid.uuid4().hex[:8]

    def claim(self, types=("menu_sync",), max=1, lease=30):
        r = self.nc.request_json("jobs.claim", {"worker_id": self.id, "job_types": list(types),
                                                "max": max, "lease_seconds": lease})
        assert "jobs" in r, r
        return r["jobs"]

    def claim_one(self, types=("menu_sync",), lease=30, timeout=10):
        def get():
            jobs = self.claim(types, 1, lease)
            return jobs[0] if jobs else None
        return wait_for(get, timeout, f"a claim of {types}")

    def progress(self, job, progress=None, message=None):
        body = {"job_id": job["id"], "attempt": job["attempt"]}
        if progress is not None:
            body["progress"] = progress
        if message is not None:
            body["message"] = message
        return self.nc.request_json("jobs.progress", body)

    def complete(self, job, result=None):
        return self.nc.request_json("jobs.complete", {"job_id": job["id"], "attempt": job["attempt"],
                                                      "status": "completed", "result": result or {}})

    def fail(self, job, message="it broke", retryable=True):
        return self.nc.request_json("jobs.complete", {
            "job_id": job["id"], "attempt": job["attempt"], "status": "failed",
            "error": {"message": message, "retryable": retryable}})

    def release(self, job):
        return self.nc.request_json("jobs.release", {"job_id": job["id"], "attempt": job["attempt"],
                                                     "reason": "test"})

    def close(self):
        self.nc.close()


def ts(seconds_from_now):
    t = time.time() + seconds_from_now
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(t)) + f".{int(t * 1000) % 1000:03d}Z"
