"""Helpers for the svc-toast end-to-end tests: the fake Toast server
(tests/fakes/fake-toast/server.py) and a client of /api/toast through the
gateway. conftest.py's `fake_toast` and `toast` fixtures build them."""

import re
import secrets
import subprocess
import sys
import uuid

import harness
from harness import REPO, free_port, http, wait_for

FAKE_TOAST = REPO / "tests" / "fakes" / "fake-toast" / "server.py"

# What svc-toast gets in the tests: the fake, short timeouts, a low bar for
# "degraded" so a slowed fake shows it quickly.
TOAST_ENV = {
    "WORKER_CONCURRENCY": "4",
    "TOAST_TIMEOUT_MS": "3000",
    "TOAST_MAX_RETRY_WAIT_MS": "5000",
    "HEALTH_DEGRADED_MS": "800",
}


class FakeToast:
    """The fake Toast API on a free port; control() sets its switches."""

    def __init__(self, root, items=300):
        self.port = free_port()
        self.log = open(root / "logs" / f"fake-toast-{self.port}.log", "ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-B", str(FAKE_TOAST), "--port", str(self.port),
             "--items", str(items)],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        harness.register(self)
        wait_for(lambda: http("GET", self.url + "/__stats/x", timeout=1).status_code == 200,
                 20, "the fake Toast server")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def control(self, guid, **switches):
        r = http("POST", f"{self.url}/__control/{guid}", json=switches)
        assert r.status_code == 200, r.text
        return r.json()

    def stats(self, guid):
        return http("GET", f"{self.url}/__stats/{guid}").json()

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)
        self.log.close()


def new_integration_body(**over):
    """A valid create body with a fresh client and Toast GUID."""
    body = {
        "client_id": str(uuid.uuid4()),
        "restaurant_id": "rest-" + secrets.token_hex(4),
        "toast_guid": str(uuid.uuid4()),
        "name": "Bistro " + secrets.token_hex(3),
        "api_client_id": "cli-" + secrets.token_hex(6),
        "api_client_secret": "sec-" + secrets.token_hex(16),
        "username": "ops@bistro.test",
        "password": "pw-" + secrets.token_hex(12),
        "totp_secret": "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP",
    }
    body.update(over)
    return {k: v for k, v in body.items() if v is not None}


SECRET_FIELDS = ("api_client_secret", "password", "totp_secret")
FERNET_TOKEN = re.compile(r"gAAAAA[A-Za-z0-9_=-]{20,}")


def assert_no_secret(text, secrets_=()):
    """No plaintext secret of secrets_ and no Fernet token in text."""
    for s in secrets_:
        assert s not in text, f"a secret leaked: {text[:300]}"
    assert not FERNET_TOKEN.search(text), f"a Fernet token leaked: {text[:300]}"
    for f in SECRET_FIELDS:
        assert not re.search(f'"{f}"\\s*:', text), f"field {f} in an answer: {text[:300]}"


class ToastApi:
    """/api/toast through the gateway with a role's token."""

    def __init__(self, base, headers, fake):
        self.base = base.rstrip("/") + "/api/toast"
        self.headers = headers
        self.fake = fake
        self.sent_secrets = []

    def call(self, method, path, timeout=15, **kw):
        headers = dict(self.headers, **kw.pop("headers", {}))
        r = http(method, self.base + path, headers=headers, timeout=timeout, **kw)
        assert_no_secret(r.text, self.sent_secrets)
        return r

    def get(self, path, **kw):
        return self.call("GET", path, **kw)

    def post(self, path, json=None, **kw):
        return self.call("POST", path, json=json, **kw)

    def patch(self, path, json=None, **kw):
        return self.call("PATCH", path, json=json, **kw)

    def delete(self, path, **kw):
        return self.call("DELETE", path, **kw)

    def create(self, **over):
        """Create an integration; returns (answer JSON, body sent)."""
        body = new_integration_body(**over)
        self.sent_secrets += [body[f] for f in SECRET_FIELDS if body.get(f)]
        r = self.post("/integrations", json=body)
        assert r.status_code == 201, r.text
        return r.json(), body
