"""Fixtures of the end-to-end suite.

Session: one PostgreSQL (pg), one NATS (nats) and the six daemons (_suite),
started once. Tests take `suite`, a function-scoped view of the same daemons that
guarantees, before and after each test, that PostgreSQL, NATS and every daemon
run and answer /ready 200, so tests may stop any of them and the order of tests
does not matter. After each test it also checks that no daemon crashed, that
every stdout line was JSON and that no sanitizer reported anything.
"""

import os
import secrets
import signal
import sys
import time

import pytest

sys.dont_write_bytecode = True

import harness  # noqa: E402
from harness import Daemon, Nats, Postgres, Suite  # noqa: E402

READY_TIMEOUT = 60
TEST_TIME_LIMIT = int(os.environ.get("BRAIN_E2E_TEST_TIMEOUT", "240"))


def pytest_configure(config):
    harness.install_teardown_handlers()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if rep.failed:
        item.session.brain_failed = True


def pytest_terminal_summary(terminalreporter):
    root = getattr(terminalreporter.config, "brain_root", None)
    if root and os.path.isdir(root):
        terminalreporter.write_line(f"brain e2e: logs and data kept in {root}")


class _TestTimeout(BaseException):
    """Raised by the per-test alarm; BaseException so no 'except Exception' eats it."""


@pytest.fixture(autouse=True)
def _time_limit():
    """No pytest-timeout in Debian's set: a per-test alarm so a hang fails the
    test instead of blocking the run."""
    def on_alarm(signum, frame):
        raise _TestTimeout(f"test exceeded {TEST_TIME_LIMIT}s")

    old = signal.signal(signal.SIGALRM, on_alarm)
    signal.alarm(TEST_TIME_LIMIT)
    yield
    signal.alarm(0)
    signal.signal(signal.SIGALRM, old)


@pytest.fixture(scope="session")
def root(request):
    path = harness.make_root()
    request.config.brain_root = str(path)
    yield path
    failed = getattr(request.session, "brain_failed", False) or request.session.testsfailed
    if not failed and not os.environ.get("BRAIN_E2E_KEEP"):
        harness.teardown_all()
        harness.rm_root(path)
        request.config.brain_root = None


@pytest.fixture(scope="session")
def pg(root):
    p = Postgres(root).init()
    yield p
    p.kill()


@pytest.fixture(scope="session")
def nats(root):
    n = Nats(root)
    n.start()
    yield n
    n.kill()


@pytest.fixture(scope="session")
def token():
    return secrets.token_hex(16)


@pytest.fixture(scope="session")
def db_password():
    """Put in DATABASE_URL (trust auth ignores it) to check it is never logged."""
    return "pw-" + secrets.token_hex(8)


@pytest.fixture(scope="session")
def _suite(request, root, pg, nats, token, db_password):
    s = Suite(root, pg, nats, token=token, db_password=db_password)
    try:
        s.start(READY_TIMEOUT)
    except BaseException:
        for d in s.daemons.values():
            d.kill()
        raise
    yield s
    # Clean shutdown of the suite that served every test: exit 0, no leak (66),
    # no sanitizer report.
    restore(s)
    problems = []
    for name, rc in s.stop().items():
        d = s.daemons[name]
        if rc != 0:
            problems.append(f"{name} exited {rc} on SIGTERM\n{d.tail()}")
        rep = d.sanitizer_report()
        if rep:
            problems.append(f"{name} sanitizer report:\n{rep}")
    if problems:
        request.session.brain_failed = True
        pytest.fail("suite shutdown:\n" + "\n\n".join(problems), pytrace=False)


def restore(s):
    """Bring PostgreSQL, NATS and every daemon of s back, and wait until all are ready."""
    if not s.pg.running:
        s.pg.start()
    if not s.nats.running:
        s.nats.start()
    for d in s.daemons.values():
        if not d.alive:
            d.start(wait=False)
    for d in s.daemons.values():
        d.wait_ready(READY_TIMEOUT)


def check_daemons(daemons):
    problems = []
    for d in daemons:
        if d.crashed:
            problems.append(f"{d.label} died (status {d.proc.returncode})\n{d.tail()}")
        try:
            d.log_lines()
        except AssertionError as e:
            problems.append(str(e))
        rep = d.sanitizer_report()
        if rep:
            problems.append(f"{d.label} sanitizer report:\n{rep}")
    return problems


@pytest.fixture
def suite(_suite):
    restore(_suite)
    yield _suite
    problems = check_daemons(_suite.daemons.values())
    restore(_suite)
    if problems:
        pytest.fail("after the test:\n" + "\n\n".join(problems), pytrace=False)


@pytest.fixture
def spawn(root, pg, nats, token):
    """Factory for extra daemons owned by one test: spawn(name, env=..., start=...).
    Default environment: the shared PostgreSQL and NATS and the suite's token.
    Whatever is still running after the test is stopped."""
    made = []

    def make(name, env=None, start=True, replace_env=False, port=None, **kw):
        base = {} if replace_env else harness.daemon_env(pg, nats, token)
        base.update(env or {})
        d = Daemon(name, base, root, port=port)
        made.append(d)
        if start:
            d.start(**kw)
        return d

    yield make
    problems = []
    for d in made:
        if d.alive:
            d.stop()
        rep = d.sanitizer_report()
        if rep:
            problems.append(f"{d.label} sanitizer report:\n{rep}")
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)


def _toast_worker_off(suite):
    """Restart the suite's svc-toast without its worker, unless it already
    runs so (the toast fixture turns it on)."""
    d = suite["svc-toast"]
    if d.env.get("WORKER_CONCURRENCY") != "0":
        d.env["WORKER_CONCURRENCY"] = "0"
        d.stop()
        d.start()


@pytest.fixture
def api(suite, tokens):
    """The job API through the gateway as the admin, with no job of an earlier
    test waiting."""
    from jobsapi import Api
    _toast_worker_off(suite)
    a = Api(suite.gateway.url, headers=tokens.headers("admin"))
    a.drain()
    return a


@pytest.fixture
def admin(tokens):
    """{"Authorization": "Bearer <the admin's access token>"}: the gateway asks
    every /api call for a credential (issue 4), and any gateway of the run
    accepts this one (same JWT_SECRET, same database)."""
    return tokens.headers("admin")


@pytest.fixture
def worker(suite):
    """A job worker played by the test over NATS."""
    from jobsapi import Worker
    _toast_worker_off(suite)
    w = Worker(suite.nats.url)
    yield w
    w.close()


# ---------------------------------------------------------------- authentication (issue 4)
# Access tokens for the suite's gateway, one per role, for any test:
#   def test_x(suite, auth_headers):
#       requests.get(url, headers=auth_headers("staff"))
# The admin is the first admin of harness.ADMIN_EMAIL/ADMIN_PASSWORD; the other
# roles are users <role>@brain.test created through the API the first time they
# are asked for. A token is reused for ten minutes (it lives fifteen).

ROLES = ("viewer", "staff", "manager", "admin")
TOKEN_REUSE_S = 600


class Tokens:
    def __init__(self, base):
        self.base = base.rstrip("/")
        self.passwords = {"admin": harness.ADMIN_PASSWORD}
        self.emails = {"admin": harness.ADMIN_EMAIL}
        self._cache = {}  # role -> (login answer, time)

    def login(self, email, password):
        """POST /api/auth/login; the answer's JSON (asserts 200)."""
        r = harness.http("POST", self.base + "/api/auth/login",
                         json={"email": email, "password": password}, timeout=10)
        assert r.status_code == 200, f"login of {email}: {r.status_code} {r.text[:300]}"
        return r.json()

    def _ensure_user(self, role):
        if role in self.emails:
            return
        email, password = f"{role}@brain.test", "pw-" + secrets.token_hex(12)
        r = harness.http("POST", self.base + "/api/auth/users", timeout=10,
                         headers=self.headers("admin"),
                         json={"email": email, "password": password, "role": role,
                               "name": f"e2e {role}"})
        assert r.status_code == 201, f"creating the {role} user: {r.status_code} {r.text[:300]}"
        self.emails[role], self.passwords[role] = email, password

    def session(self, role):
        """The login answer of the role's user: access_token, refresh_token, user."""
        assert role in ROLES, role
        cached = self._cache.get(role)
        if cached and time.monotonic() - cached[1] < TOKEN_REUSE_S:
            return cached[0]
        self._ensure_user(role)
        answer = self.login(self.emails[role], self.passwords[role])
        self._cache[role] = (answer, time.monotonic())
        return answer

    def access(self, role):
        return self.session(role)["access_token"]

    def headers(self, role, **extra):
        h = {"Authorization": "Bearer " + self.access(role)}
        h.update(extra)
        return h

    def user(self, role):
        return self.session(role)["user"]


@pytest.fixture(scope="session")
def tokens(_suite):
    return Tokens(_suite.gateway.url)


@pytest.fixture
def auth_headers(suite, tokens):
    """auth_headers(role, **more headers) -> {"Authorization": "Bearer <token>", ...}."""
    return tokens.headers


# ---------------------------------------------------------------- svc-toast (issue 5)
# fake_toast: the stand-in Toast API (tests/fakes/fake-toast), one per run.
# toast: the suite's svc-toast pointed at it (restarted once, the first time),
# and a client of /api/toast through the gateway as the admin
# (tests/e2e/toastapi.py: toast.create(), toast.get(...), toast.fake.control(...)).

@pytest.fixture(scope="session")
def fake_toast(root):
    from toastapi import FakeToast
    f = FakeToast(root)
    yield f
    f.kill()


@pytest.fixture
def toast(suite, tokens, fake_toast):
    from toastapi import TOAST_ENV, ToastApi
    d = suite["svc-toast"]
    want = dict(TOAST_ENV, TOAST_API_BASE=fake_toast.url)
    if any(d.env.get(k) != v for k, v in want.items()):
        d.env.update(want)
        d.stop()
        d.start()
    return ToastApi(suite.gateway.url, tokens.headers("admin"), fake_toast)
