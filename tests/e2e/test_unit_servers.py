"""The cmocka unit tests that need real servers (they exit 77 without them):
run here with BRAIN_TEST_DATABASE_URL / BRAIN_TEST_NATS_URL set to the
harness's PostgreSQL and NATS."""

import os
import subprocess

import pytest

from harness import REPO, SANITIZER_ENV, build_dir

# Every unit test of the modules that talk to PostgreSQL or NATS.
UNIT = sorted(p.stem for pattern in ("test_db*.c", "test_bus*.c")
              for p in (REPO / "tests" / "unit" / "common").glob(pattern))
assert {"test_db", "test_bus"} <= set(UNIT), UNIT


@pytest.fixture(scope="module")
def unit_db(pg):
    """A database of their own, so the unit tests cannot disturb the daemons' schemas."""
    pg.createdb("brain_unit")
    return pg.url_for(db="brain_unit")


@pytest.mark.parametrize("name", UNIT)
def test_unit_binary_with_servers(name, unit_db, nats):
    exe = build_dir() / "tests" / "common" / name
    assert exe.exists(), f"{exe} not built (make BUILD=... unit-bins)"
    # PATH as given: some of them start their own nats-server (in /usr/sbin on Debian).
    env = {"PATH": os.environ.get("PATH", "/usr/sbin:/usr/bin:/sbin:/bin"), "LANG": "C.UTF-8",
           "BRAIN_TEST_DATABASE_URL": unit_db, "BRAIN_TEST_NATS_URL": nats.url}
    env.update(SANITIZER_ENV)
    p = subprocess.run([str(exe)], env=env, cwd=str(REPO), capture_output=True, text=True,
                       timeout=180)
    out = f"--- stdout\n{p.stdout[-6000:]}\n--- stderr\n{p.stderr[-6000:]}"
    assert p.returncode != 77, f"{name} skipped although the servers were given\n{out}"
    assert p.returncode == 0, f"{name} exited {p.returncode}\n{out}"
