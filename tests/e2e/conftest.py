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


@pytest.fixture
def api(suite):
    """The job API through the gateway, with no job of an earlier test waiting."""
    from jobsapi import Api
    a = Api(suite.gateway.url)
    a.drain()
    return a


@pytest.fixture
def worker(suite):
    """A job worker played by the test over NATS."""
    from jobsapi import Worker
    w = Worker(suite.nats.url)
    yield w
    w.close()
