"""make bench: memory and HTTP throughput of the release daemons.

Starts a throw-away PostgreSQL, NATS and the six daemons (tests/e2e/harness.py),
then prints:
  1. RSS of each daemon, idle after start (VmRSS; target < 10 MB),
  2. wrk -t2 -c32 -d10s --latency: p50, p99, req/s for
       svc-automation GET /health (direct),
       gateway GET /health (its own probe),
       svc-automation GET /api/automation/health through the gateway (proxied),
       gateway GET /api/automation/bench (proxied; the service answers 404),
  3. RSS of each daemon after the load.
Everything is torn down at the end (or on Ctrl-C / SIGTERM).

Environment: BRAIN_BUILD (default build/release), BENCH_DURATION (10s),
BENCH_THREADS (2), BENCH_CONNECTIONS (32), BENCH_JSON (write results there too).
"""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.dont_write_bytecode = True

os.environ.setdefault("BRAIN_BUILD", "build/release")

import harness  # noqa: E402

RSS_TARGET_KB = 10 * 1024
UNITS_MS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60000.0}


def rss_kb(pid):
    """VmRSS and its parts (anonymous memory, mapped files such as the shared
    libraries), in kB, from /proc/<pid>/status."""
    with open(f"/proc/{pid}/status") as f:
        text = f.read()
    out = {}
    for key in ("VmRSS", "RssAnon", "RssFile", "Threads"):
        m = re.search(rf"^{key}:\s+(\d+)", text, re.M)
        if not m:
            raise RuntimeError(f"no {key} for pid {pid}:\n{text}")
        out[key] = int(m[1])
    # PSS shares each mapped page among the processes that map it: the shared
    # libraries count once across the six daemons, not six times.
    try:
        with open(f"/proc/{pid}/smaps_rollup") as f:
            m = re.search(r"^Pss:\s+(\d+)", f.read(), re.M)
        out["Pss"] = int(m[1]) if m else None
    except OSError:
        out["Pss"] = None
    return out


def to_ms(text):
    m = re.fullmatch(r"([0-9.]+)(us|ms|s|m)", text)
    if not m:
        raise ValueError(f"latency {text!r}")
    return float(m[1]) * UNITS_MS[m[2]]


def parse_wrk(out):
    res = {}
    m = re.search(r"Requests/sec:\s+([0-9.]+)", out)
    res["rps"] = float(m[1]) if m else None
    for pct in ("50", "75", "90", "99"):
        m = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.M)
        res[f"p{pct}_ms"] = to_ms(m[1]) if m else None
    m = re.search(r"(\d+) requests in ([0-9.]+\w+)", out)
    res["requests"] = int(m[1]) if m else None
    m = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    res["non_2xx"] = int(m[1]) if m else 0
    m = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    res["socket_errors"] = sum(int(x) for x in m.groups()) if m else 0
    return res


def run_wrk(url, duration, threads, conns):
    cmd = ["wrk", f"-t{threads}", f"-c{conns}", f"-d{duration}", "--latency", url]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed: {p.stderr}")
    res = parse_wrk(p.stdout)
    res["raw"] = p.stdout
    return res


class DaemonGone(Exception):
    pass


def check_alive(suite, when):
    """Figures are meaningless once a daemon is gone: say which and how."""
    for name, d in suite.daemons.items():
        if not d.alive:
            stops = [l for l in d.log_lines() if str(l.get("msg", "")).startswith("stopping")]
            raise DaemonGone(f"{name} (pid {d.pid}) is gone {when}: exit status "
                             f"{d.proc.returncode}; its log says {stops[-1:]}\n{d.tail(10)}")


def rss_table(suite):
    return {name: rss_kb(d.pid) for name, d in suite.daemons.items()}


def print_rss(title, table):
    print(f"\n{title}")
    print(f"  {'daemon':<18} {'VmRSS':>8} {'anon':>8} {'file':>8} {'PSS':>8} {'threads':>8}")
    for name, m in table.items():
        flag = "ok" if m["VmRSS"] < RSS_TARGET_KB else "over the 10 MB target"
        print(f"  {name:<18} {m['VmRSS'] / 1024:5.1f} MB {m['RssAnon'] / 1024:5.1f} MB "
              f"{m['RssFile'] / 1024:5.1f} MB {(m['Pss'] or 0) / 1024:5.1f} MB {m['Threads']:>8}  {flag}")
    total = sum(m["VmRSS"] for m in table.values())
    pss = sum(m["Pss"] or 0 for m in table.values())
    print(f"  {'total':<18} {total / 1024:5.1f} MB (PSS {pss / 1024:.1f} MB)")


def main():
    duration = os.environ.get("BENCH_DURATION", "10s")
    threads = int(os.environ.get("BENCH_THREADS", "2"))
    conns = int(os.environ.get("BENCH_CONNECTIONS", "32"))
    harness.install_teardown_handlers()
    for name in harness.DAEMONS:
        if not harness.binary(name).exists():
            sys.exit(f"bench: {harness.binary(name)} missing (make BUILD=release all)")
    root = harness.make_root("brain-bench-")
    results = {"build": str(harness.build_dir()), "wrk": {}, "duration": duration,
               "threads": threads, "connections": conns}
    ok = False
    try:
        pg = harness.Postgres(root).init()
        nats = harness.Nats(root)
        nats.start()
        # info: the access log line per request is part of what production pays.
        suite = harness.Suite(root, pg, nats, log_level="info").start()
        print(f"bench: build {harness.build_dir()}, wrk -t{threads} -c{conns} -d{duration}")
        # Let start-up work (migration, first health checks) settle before "idle".
        time.sleep(2)
        results["rss_idle_kb"] = rss_table(suite)
        print_rss("RSS idle after start", results["rss_idle_kb"])

        targets = [
            ("svc-automation /health (direct)", suite["svc-automation"].url + "/health"),
            ("gateway /health", suite.gateway.url + "/health"),
            ("svc-automation /health through the gateway",
             suite.gateway.url + "/api/automation/health"),
            ("gateway /api/automation/bench (proxied 404)",
             suite.gateway.url + "/api/automation/bench"),
        ]
        print(f"\n{'target':<46} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} "
              f"{'non-2xx':>8} {'sock err':>8}")
        for label, url in targets:
            check_alive(suite, f"before {label}")
            r = run_wrk(url, duration, threads, conns)
            results["wrk"][label] = {k: v for k, v in r.items() if k != "raw"}
            print(f"{label:<46} {r['rps'] or 0:>10.0f} {r['p50_ms'] or 0:>8.2f} "
                  f"{r['p99_ms'] or 0:>8.2f} {r['non_2xx']:>8} {r['socket_errors']:>8}")
            if r["rps"] is None:
                print(r["raw"])
        check_alive(suite, "after the load")
        results["rss_after_load_kb"] = rss_table(suite)
        print_rss("RSS after the load", results["rss_after_load_kb"])
        ok = True
    except DaemonGone as e:
        print(f"bench: {e}")
    finally:
        statuses = harness.teardown_all()
        bad = {k: v for k, v in statuses.items() if v != 0}
        if bad:
            print(f"bench: daemons did not stop cleanly: {bad}")
            ok = False
        if ok:
            harness.rm_root(root)
        else:
            print(f"bench: logs kept in {root}")
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(results, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
