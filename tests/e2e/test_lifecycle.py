"""A daemon's life: start with dependencies down, bad configuration, busy port,
production rules, SIGTERM, and what it writes on stdout."""

import json
import signal
import socket
import subprocess
import threading
import time

import pytest

from harness import (DAEMONS, SERVICES, UPSTREAM_VAR, Nats, Postgres, binary, check_error,
                     get, http, is_rfc3339, status_of, wait_for)
from peers import SlowPeer

LEVELS = {"debug", "info", "warn", "error"}


def error_lines_mentioning(d, text):
    return [l for l in d.log_lines() if l.get("level") == "error" and text in json.dumps(l)]


def gateway_env(suite, **override):
    env = {UPSTREAM_VAR[s]: suite[s].url for s in SERVICES}
    env.update(override)
    return env


def exercise(d, suite, admin):
    """Requests that allocate: probes, metrics, errors, and for the gateway a
    proxied request, refusals of the gate and a refused body."""
    h = {"X-Internal-Token": suite.token}
    for path in ("/health", "/health/detailed", "/live", "/ready", "/startup", "/metrics"):
        assert status_of(d.url + path, timeout=10) == 200, path
    check_error(get(d.url + "/nope", headers=h), 404, "not_found")
    if d.name == "gateway":
        missing = "/api/automation/jobs/3f8b1c9e-2d4a-4b6c-9e1f-0a2b3c4d5e6f"
        check_error(get(d.url + missing, headers=admin), 404, "not_found")
        check_error(get(d.url + missing), 401, "unauthorized")
        check_error(get(d.url + "/api/sync/x", headers=admin), 403, "forbidden")
        check_error(http("POST", d.url + "/api/automation/jobs", data=b'{"a":',
                         headers={"Content-Type": "application/json", **admin}), 400,
                    "invalid_json")


# ---------------------------------------------------------------- SIGTERM


@pytest.mark.parametrize("name", DAEMONS)
def test_sigterm_exits_0(suite, spawn, admin, name):
    env = gateway_env(suite) if name == "gateway" else {}
    d = spawn(name, env=env)
    exercise(d, suite, admin)
    rc = d.stop(signal.SIGTERM)
    assert rc == 0, f"{name} exited {rc} on SIGTERM (66: leak at exit)\n{d.tail()}"
    assert d.sanitizer_report() is None, d.sanitizer_report()
    msgs = [l.get("msg", "") for l in d.log_lines()]
    assert msgs and msgs[-1] == "stopped", f"last log line is not 'stopped': {msgs[-3:]}"


def test_sigint_exits_0(suite, spawn):
    d = spawn("svc-toast")
    exercise(d, suite, None)
    rc = d.stop(signal.SIGINT)
    assert rc == 0, f"exit {rc} on SIGINT\n{d.tail()}"


def test_sigterm_drains_an_in_flight_request(suite, spawn):
    peer = SlowPeer().start()
    try:
        gw = spawn("gateway", env=gateway_env(suite, TOAST_URL=peer.url,
                                              UPSTREAM_TIMEOUT_MS="2000"), wait=False)
        gw.wait_status("/startup", 200, 60)
        result = {}

        def call():
            try:
                result["r"] = get(gw.url + "/api/toast/health", timeout=20)
            except Exception as e:  # noqa: BLE001 - recorded and asserted below
                result["e"] = e

        t = threading.Thread(target=call)
        before = peer.accepted
        t.start()
        wait_for(lambda: peer.accepted > before, 5, "the request to reach the slow upstream")
        t0 = time.monotonic()
        gw.send(signal.SIGTERM)
        rc = gw.wait_exit(20)
        t.join(20)
        assert "e" not in result, f"in-flight request failed instead of draining: {result['e']!r}"
        check_error(result["r"], 504, "gateway_timeout")
        assert rc == 0, f"exit {rc}\n{gw.tail()}"
        assert time.monotonic() - t0 < 8
        assert status_of(gw.url + "/live", timeout=1) is None, "still listening after exit"
    finally:
        peer.close()


# ---------------------------------------------------------------- dependencies down at start


def test_startup_while_postgres_is_down(suite, root, spawn):
    pg2 = Postgres(root, name="pg-late").init(start=False)
    try:
        d = spawn("svc-automation", env={"DATABASE_URL": pg2.url}, wait=False)
        d.wait_status("/live", 200, 30)
        assert status_of(d.url + "/health") == 200
        assert status_of(d.url + "/startup") == 503
        assert status_of(d.url + "/ready") == 503
        r = get(d.url + "/startup")
        assert r.json().get("error", {}).get("code"), r.text
        pg2.start()
        d.wait_status("/startup", 200, 40)
        d.wait_status("/ready", 200, 30)
        assert pg2.psql("SELECT count(*) FROM information_schema.schemata "
                        "WHERE schema_name = 'automation'") == "1"
        assert int(pg2.psql("SELECT count(*) FROM automation.schema_migrations")) >= 1
        rc = d.stop()
        assert rc == 0, d.tail()
    finally:
        pg2.kill()


def test_startup_while_nats_is_down(suite, root, spawn):
    n2 = Nats(root, name="nats-late")
    try:
        d = spawn("svc-embedding", env={"NATS_URL": n2.url}, wait=False)
        d.wait_status("/live", 200, 30)
        # Migrations need only PostgreSQL: started, but not ready without NATS.
        d.wait_status("/startup", 200, 30)
        assert status_of(d.url + "/ready") == 503
        n2.start()
        d.wait_status("/ready", 200, 30)
        rc = d.stop()
        assert rc == 0, d.tail()
    finally:
        n2.kill()


def test_replicas_migrate_the_same_schema(suite, spawn):
    """A second replica of every service starts against the migrated database."""
    extra = [spawn(name, wait=False) for name in SERVICES]
    for d in extra:
        d.wait_ready(60)
    for d in extra:
        assert d.stop() == 0, d.tail()


# ---------------------------------------------------------------- bad configuration


def test_busy_port_exits_with_a_clear_message(suite, spawn):
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        d = spawn("svc-toast", env={"PORT": str(port)}, wait=False, port=port)
        rc = d.wait_exit(20)
    assert rc not in (0, None), f"exit {rc}"
    assert error_lines_mentioning(d, str(port)), \
        f"no error log line mentions port {port}:\n{d.tail()}"


@pytest.mark.parametrize("var,value", [
    ("PORT", "abc"), ("PORT", "70000"), ("PORT", "0"), ("PORT", "80x"),
    ("DB_POOL_SIZE", "abc"), ("HTTP_THREADS", "-3"), ("SHUTDOWN_TIMEOUT_S", "soon"),
    ("LOG_LEVEL", "verbose"), ("BRAIN_ENV", "staging"),
])
def test_bad_config_exits_non_zero_naming_the_variable(suite, spawn, var, value):
    d = spawn("svc-sync", env={var: value}, wait=False)
    rc = d.wait_exit(20)
    assert rc not in (0, None), f"{var}={value}: exit {rc}\n{d.tail()}"
    assert error_lines_mentioning(d, var), f"no error log line names {var}:\n{d.tail()}"
    assert d.sanitizer_report() is None, d.sanitizer_report()


@pytest.mark.parametrize("var,value", [("AUTOMATION_URL", "ftp://127.0.0.1:1"),
                                       ("UPSTREAM_TIMEOUT_MS", "abc")])
def test_gateway_bad_config(suite, spawn, var, value):
    d = spawn("gateway", env=gateway_env(suite, **{var: value}), wait=False)
    rc = d.wait_exit(20)
    assert rc not in (0, None), f"exit {rc}"
    assert error_lines_mentioning(d, var), f"no error log line names {var}:\n{d.tail()}"


def test_check_config_flag(suite, spawn):
    good = spawn("svc-toast", start=False)
    good.start(wait=False, args=("--check-config",))
    assert good.wait_exit(20) == 0, good.tail()
    bad = spawn("svc-toast", env={"PORT": "abc"}, start=False)
    bad.start(wait=False, args=("--check-config",))
    assert bad.wait_exit(20) == 1, bad.tail()
    assert error_lines_mentioning(bad, "PORT")


def test_variable_and_its_file_both_set_is_an_error(suite, spawn, root, token):
    f = root / "token-both"
    f.write_text(token + "\n")
    d = spawn("svc-automation", env={"INTERNAL_TOKEN_FILE": str(f)}, wait=False)
    rc = d.wait_exit(20)
    assert rc not in (0, None), f"exit {rc}"
    assert error_lines_mentioning(d, "INTERNAL_TOKEN"), d.tail()


def test_database_url_from_file(suite, spawn, root, pg):
    f = root / "database-url"
    f.write_text(pg.url + "\n")
    env = {"DATABASE_URL_FILE": str(f)}
    d = spawn("svc-intelligence", env=env, start=False)
    del d.env["DATABASE_URL"]
    d.start(timeout=30)
    assert d.stop() == 0, d.tail()


def test_production_without_internal_token_refuses_to_start(suite, spawn):
    d = spawn("svc-automation", env={"BRAIN_ENV": "production"}, start=False)
    del d.env["INTERNAL_TOKEN"]
    d.start(wait=False)
    rc = d.wait_exit(20)
    assert rc not in (0, None), f"started in production without INTERNAL_TOKEN (exit {rc})"
    assert error_lines_mentioning(d, "INTERNAL_TOKEN"), d.tail()


def test_production_with_token_file_starts_and_requires_it(suite, spawn, root):
    f = root / "prod-token"
    f.write_text("prod-" + "k" * 30 + "\n")
    d = spawn("svc-automation", env={"BRAIN_ENV": "production",
                                     "INTERNAL_TOKEN_FILE": str(f)}, start=False)
    del d.env["INTERNAL_TOKEN"]
    d.start(timeout=30)
    url = d.url + "/api/automation/jobs"
    check_error(get(url), 401, "unauthorized")
    # The file's trailing newline is not part of the token.
    r = get(url, headers={"X-Internal-Token": "prod-" + "k" * 30})
    assert r.status_code == 200 and "items" in r.json(), r.text
    assert d.stop() == 0, d.tail()


# ---------------------------------------------------------------- stdout


def test_every_log_line_is_json_with_the_common_fields(suite):
    for name, d in suite.daemons.items():
        lines = d.log_lines()
        assert lines, f"{name} wrote no log"
        for line in lines:
            where = f"{name}: {line}"
            assert isinstance(line.get("ts"), str) and is_rfc3339(line["ts"]), where
            assert line["ts"].endswith("Z"), f"ts not UTC: {where}"
            assert line.get("level") in LEVELS, where
            assert line.get("service") == name, where
            assert isinstance(line.get("msg"), str) and line["msg"], where
            if "request_id" in line:
                assert isinstance(line["request_id"], str), where
        assert any(l.get("msg") == "request" for l in lines) or name != "gateway", \
            "no access log line at all"


def test_secrets_never_appear_in_output(suite, db_password, token):
    # Make sure a request that carries the token has been logged first.
    get(suite.gateway.url + "/api/automation/secret-check")
    get(suite["svc-sync"].url + "/nope", headers={"X-Internal-Token": token,
                                                  "Authorization": "Bearer " + token})
    for name, d in suite.daemons.items():
        text = d.log_text() + d.stderr_text()
        assert token not in text, f"{name} logged INTERNAL_TOKEN"
        assert db_password not in text, f"{name} logged the database password"


@pytest.mark.parametrize("name", DAEMONS)
def test_version_flag(suite, name):
    p = subprocess.run([str(binary(name)), "--version"], capture_output=True, text=True,
                       timeout=10, env={"PATH": "/usr/bin:/bin"})
    assert p.returncode == 0, p.stderr
    version = get(suite[name].url + "/health").json()["version"]
    assert p.stdout.strip() == f"{name} {version}"
