"""Start a throw-away Brain suite (PostgreSQL, NATS, the six daemons) and keep it
up until Ctrl-C or SIGTERM, for measuring or poking at by hand:

    BRAIN_BUILD=build/release /usr/bin/python3 tests/bench/suite.py

Prints one JSON line once everything is ready: each daemon's URL and pid, the
PostgreSQL and NATS URLs, the internal token and the log directory.
"""

import json
import os
import signal
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.dont_write_bytecode = True

os.environ.setdefault("BRAIN_BUILD", "build/release")

import harness  # noqa: E402


def _interrupt(signum, frame):
    raise KeyboardInterrupt


def main():
    harness.install_teardown_handlers()
    signal.signal(signal.SIGTERM, _interrupt)  # tear down and remove the temp dir
    root = harness.make_root("brain-suite-")
    pg = harness.Postgres(root).init()
    nats = harness.Nats(root)
    nats.start()
    suite = harness.Suite(root, pg, nats, log_level=os.environ.get("LOG_LEVEL", "info")).start()
    info = {
        "daemons": {n: {"url": d.url, "pid": d.pid} for n, d in suite.daemons.items()},
        "database_url": pg.url,
        "nats_url": nats.url,
        "internal_token": suite.token,
        "logs": str(root / "logs"),
    }
    print(json.dumps(info), flush=True)
    # The teardown handlers stop everything on SIGTERM/SIGINT; until then, wait.
    try:
        while True:
            signal.pause()
    except KeyboardInterrupt:
        pass
    finally:
        harness.teardown_all()
        harness.rm_root(root)


if __name__ == "__main__":
    main()
