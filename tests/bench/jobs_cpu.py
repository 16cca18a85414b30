"""make bench-jobs-cpu: the CPU time one job costs, by process.

jobs/s on a 2-core machine is bounded by how much CPU a job takes in all the
processes it passes through (PostgreSQL, svc-automation, NATS, the worker),
and unlike jobs/s that cost hardly moves when something else loads the
machine. Starts a throw-away PostgreSQL (with 50,000 completed jobs as
history), NATS, the release svc-automation and two fake workers, offers
jobs.create at BENCH_RATE jobs/s (600) for BENCH_SECONDS (8) twice, and prints
CPU milliseconds per completed job for each process of the stack (PostgreSQL
is the postmaster's children), read from /proc.
"""

import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.dont_write_bytecode = True
os.environ.setdefault("BRAIN_BUILD", "build/release")

import harness  # noqa: E402
import jobs  # noqa: E402

RATE = int(os.environ.get("BENCH_RATE", "600"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "8"))
HZ = os.sysconf("SC_CLK_TCK")


def cpu_seconds(ours):
    """{(pid, name): user + system seconds} of the pids in ours and their
    children."""
    out = {}
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            st = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        fields = st[st.rindex(")") + 2:].split()
        if pid in ours or fields[1] in ours:
            out[(pid, name)] = (int(fields[11]) + int(fields[12])) / HZ
    return out


def main():
    harness.install_teardown_handlers()
    root = harness.make_root("brain-bench-jobs-cpu-")
    try:
        pg = harness.Postgres(root).init()
        nats = harness.Nats(root)
        nats.start()
        env = harness.daemon_env(pg, nats, "bench-token", {"LOG_LEVEL": "warn",
                                                           "DB_POOL_SIZE": "8"})
        auto = harness.Daemon("svc-automation", env, root).start()
        workers = []
        for i in range(2):
            w = harness.Daemon("fake-worker", {"NATS_URL": nats.url, "LOG_LEVEL": "warn",
                                               "WORKER_CONCURRENCY": "16",
                                               "WORKER_JOB_TYPES": "report_generation"},
                               root, label=f"fake-worker-{i}")
            w.start(wait=False)
            workers.append(w)
        pg.psql("INSERT INTO automation.jobs (id, client_id, job_type, status, queued_at, "
                "started_at, completed_at, attempt) SELECT gen_random_uuid(), gen_random_uuid(), "
                "'backup', 'completed', now(), now(), now(), 1 FROM generate_series(1, 50000)")
        pg.psql("VACUUM ANALYZE automation.jobs")
        postmaster = (Path(pg.data) / "postmaster.pid").read_text().split("\n")[0].strip()
        ours = {postmaster, str(nats.proc.pid)} | {str(d.pid) for d in [auto] + workers}
        print(f"bench: {harness.build_dir()}, jobs.create at {RATE} jobs/s for {SECONDS}s")
        for rnd in range(2):
            before = cpu_seconds(ours)
            r = jobs.e2e_rate(pg, nats, RATE, SECONDS)
            after = cpu_seconds(ours)
            by_name = {}
            for key, t in after.items():
                by_name[key[1]] = by_name.get(key[1], 0) + t - before.get(key, 0)
            n = r["completed"]
            total = sum(by_name.values())
            print(f"  round {rnd + 1}: {n} jobs at {r['jobs_per_s']:.0f}/s (p99 {r['p99_ms']:.0f} ms);"
                  f" CPU per job {1000 * total / n:.3f} ms: "
                  + ", ".join(f"{k} {1000 * v / n:.3f}" for k, v in
                              sorted(by_name.items(), key=lambda x: -x[1])))
    finally:
        harness.teardown_all()
        harness.rm_root(root)


if __name__ == "__main__":
    main()
