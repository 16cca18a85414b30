"""PostgreSQL and NATS outages: /ready follows them, liveness never does.
The suite fixture brings both back (and waits for every daemon) after each test."""

import threading
import time

import pytest

from harness import DAEMONS, get, status_of, wait_for

DOWN_DEADLINE = 20
UP_DEADLINE = 30


class LivenessMonitor:
    """Polls /health and /live of every daemon in the background and records
    any answer that is not 200."""

    def __init__(self, suite):
        self.suite = suite
        self.failures = []
        self.rounds = 0
        self._stop = threading.Event()
        self._t = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        while not self._stop.is_set():
            for name, d in self.suite.daemons.items():
                for path in ("/health", "/live"):
                    t0 = time.monotonic()
                    code = status_of(d.url + path, timeout=3)
                    if code != 200:
                        self.failures.append(f"{name} {path} -> {code} "
                                             f"after {time.monotonic() - t0:.2f}s")
            self.rounds += 1
            self._stop.wait(0.2)

    def __enter__(self):
        self._t.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._t.join(10)


def stop_dependency(suite, dep):
    if dep == "nats":
        suite.nats.stop()
    else:
        suite.pg.stop("fast")


def start_dependency(suite, dep):
    if dep == "nats":
        suite.nats.start()
    else:
        suite.pg.start()


@pytest.mark.parametrize("dep", ["nats", "postgres"])
def test_ready_follows_dependency(suite, dep):
    with LivenessMonitor(suite) as mon:
        stop_dependency(suite, dep)
        for name in DAEMONS:
            d = suite[name]
            wait_for(lambda: status_of(d.url + "/ready") == 503, DOWN_DEADLINE,
                     f"{name} /ready 503 with {dep} down")
            r = get(d.url + "/ready")
            assert r.status_code == 503
            body = r.json()
            assert body.get("error", {}).get("code"), f"{name}: 503 without error: {body}"
            check = body.get("checks", {}).get(dep)
            assert check is not None and check.get("status") != "healthy", \
                f"{name}: /ready does not blame {dep}: {body}"
            assert dep in body["error"].get("message", ""), body
        for name in DAEMONS:
            # /startup stays 200: the daemon has started, its dependency went away.
            assert status_of(suite[name].url + "/startup") == 200, name
        start_dependency(suite, dep)
        for name in DAEMONS:
            d = suite[name]
            wait_for(lambda: status_of(d.url + "/ready") == 200, UP_DEADLINE,
                     f"{name} /ready 200 after {dep} came back")
    assert mon.rounds >= 2, "the liveness monitor did not run"
    assert not mon.failures, "liveness failed during the outage:\n" + "\n".join(mon.failures[:20])


@pytest.mark.parametrize("dep", ["nats", "postgres"])
def test_detailed_health_during_outage(suite, dep):
    stop_dependency(suite, dep)
    d = suite["svc-intelligence"]
    wait_for(lambda: status_of(d.url + "/ready") == 503, DOWN_DEADLINE, "/ready 503")
    # The detailed answer is shared for a second between callers.
    wait_for(lambda: status_of(d.url + "/health/detailed") == 503, DOWN_DEADLINE,
             "/health/detailed 503")
    r = get(d.url + "/health/detailed")
    body = r.json()
    assert r.status_code == 503, body
    assert body["status"] == "unhealthy", body
    assert body["checks"][dep]["status"] == "unhealthy", body
    other = "postgres" if dep == "nats" else "nats"
    assert body["checks"][other]["status"] == "healthy", body
    start_dependency(suite, dep)
    wait_for(lambda: get(d.url + "/health/detailed").status_code == 200, UP_DEADLINE,
             "/health/detailed 200 again")


def test_repeated_nats_outages(suite):
    """The reconnect logic survives more than one outage."""
    d = suite["svc-automation"]
    for _ in range(3):
        suite.nats.stop()
        wait_for(lambda: status_of(d.url + "/ready") == 503, DOWN_DEADLINE, "/ready 503")
        suite.nats.start()
        wait_for(lambda: status_of(d.url + "/ready") == 200, UP_DEADLINE, "/ready 200")
