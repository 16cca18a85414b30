"""make bench-jobs: the job queue end to end, next to PostgreSQL's own ceiling.

Starts a throw-away PostgreSQL, NATS, the release svc-automation and gateway
and fake workers (tests/e2e/harness.py), then measures:
  1. the raw PostgreSQL ceiling: pgbench running one claim (FOR UPDATE SKIP
     LOCKED) then one complete per job, on the same cluster and table;
  2. end-to-end throughput of a no-op job: created through
     POST /api/automation/jobs (via the gateway, by wrk) and through jobs.create
     (NATS), run by fake workers until completed: jobs/s and create-to-complete
     p50/p99 (from the jobs' own timestamps). Both flood the queue as fast as
     they can, so they measure a backlog being worked off;
  2b. the sustained rate: jobs.create at fixed offered rates (open loop), step
     by step, until the queue falls behind (jobs done at less than 95% of the
     offered rate, or a job waiting half a second): the highest rate it kept
     up with, with its p50/p99;
  3. WebSocket latency from a job's completion to its update reaching a
     subscribed client, through the gateway, at about 500 updates/s over 100
     connections, with svc-automation's resident memory under that load.

Environment: BRAIN_BUILD (build/release), BENCH_SECONDS (10), BENCH_WORKERS (2),
BENCH_WORKER_CONCURRENCY (16), BENCH_WS_CONNECTIONS (100), BENCH_WS_RATE (500),
BENCH_RATES (250,500,750,1000,1250,1500,2000,2500,3000), BENCH_RATE_SECONDS (5),
BENCH_PG_STATS (1: PostgreSQL's time by statement after the POST phase),
BENCH_PG_DURABLE (1: the cluster commits as a production one does, fsync,
synchronous_commit and full_page_writes on, and both the ceiling and the end
to end figures pay for it; 0: the test suite's fast cluster, none of them),
BENCH_JSON (write results there too).
"""

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.dont_write_bytecode = True
os.environ.setdefault("BRAIN_BUILD", "build/release")

import harness  # noqa: E402
import natsclient  # noqa: E402
from bench import rss_kb  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
WORKERS = int(os.environ.get("BENCH_WORKERS", "2"))
CONCURRENCY = int(os.environ.get("BENCH_WORKER_CONCURRENCY", "16"))
WS_CONNS = int(os.environ.get("BENCH_WS_CONNECTIONS", "100"))
WS_RATE = int(os.environ.get("BENCH_WS_RATE", "500"))
DURABLE = os.environ.get("BENCH_PG_DURABLE", "1") != "0"

CLAIM_COMPLETE = """\
WITH picked AS (SELECT id FROM automation.jobs WHERE status = 'queued' AND job_type = 'backup'
  AND (run_after IS NULL OR run_after <= now()) ORDER BY priority, created_at LIMIT 1
  FOR UPDATE SKIP LOCKED)
UPDATE automation.jobs j SET status = 'running', attempt = j.attempt + 1, worker_id = 'pgbench', lease_seconds = 30, lease_expires_at = now() + interval '30 seconds', started_at = now(), updated_at = now(), seq = j.seq + 1 FROM picked WHERE j.id = picked.id RETURNING j.id AS job_id \\gset
UPDATE automation.jobs SET status = 'completed', result = '{}', progress = 100, completed_at = now(), updated_at = now(), seq = seq + 1, lease_expires_at = NULL, duration_seconds = extract(epoch FROM now() - started_at) WHERE id = :job_id AND status = 'running';
"""


def pg_ceiling(pg, root):
    """pgbench: claim then complete, one job per transaction pair."""
    # More jobs than the run can take: pgbench aborts when a claim finds none.
    n = 20000 * SECONDS
    pg.psql("INSERT INTO automation.jobs (id, client_id, job_type, status, queued_at) "
            f"SELECT gen_random_uuid(), gen_random_uuid(), 'backup', 'queued', now() "
            f"FROM generate_series(1, {n})")
    pg.psql("VACUUM ANALYZE automation.jobs")
    script = Path(root) / "claim_complete.sql"
    script.write_text(CLAIM_COMPLETE)
    pgbench = Path(harness.pg_bindir()) / "pgbench"
    cmd = [str(pgbench), "-n", "-M", "prepared", "-h", "127.0.0.1", "-p", str(pg.port), "-U", "brain", "-c", "4",
           "-j", "2", "-T", str(SECONDS), "-f", str(script), "brain"]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=SECONDS * 10)
    if p.returncode != 0:
        raise RuntimeError(p.stderr + p.stdout)
    tps = float(next(l for l in p.stdout.splitlines() if l.startswith("tps")).split()[2])
    done = int(pg.psql("SELECT count(*) FROM automation.jobs WHERE worker_id = 'pgbench' "
                       "AND status = 'completed'"))
    # The completed jobs stay, as history does in a running system (and so
    # the planner sees a table of realistic size); the ones left queued go.
    pg.psql("DELETE FROM automation.jobs WHERE job_type = 'backup' AND status <> 'completed'")
    # Their attempts too (pgbench's script does not write them), so that both
    # tables the queue writes to have a running system's size and statistics.
    pg.psql("INSERT INTO automation.job_attempts (job_id, attempt, worker_id, started_at, "
            "finished_at, outcome) SELECT id, attempt, worker_id, started_at, completed_at, "
            "'completed' FROM automation.jobs WHERE worker_id = 'pgbench'")
    pg.psql("VACUUM ANALYZE automation.jobs, automation.job_attempts")
    return {"jobs_per_s": done / SECONDS, "pgbench_tps": tps, "completed": done}


def latency_stats(pg, client_id):
    row = pg.psql(
        "SELECT count(*), extract(epoch FROM max(completed_at) - min(created_at)), "
        "percentile_cont(0.5) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at)),"
        " percentile_cont(0.99) WITHIN GROUP (ORDER BY extract(epoch FROM completed_at - created_at))"
        f" FROM automation.jobs WHERE client_id = '{client_id}' AND status = 'completed'")
    n, span, p50, p99 = row.split("|")
    return {"completed": int(n), "span_s": float(span or 0), "p50_ms": float(p50 or 0) * 1000,
            "p99_ms": float(p99 or 0) * 1000}


def wait_done(pg, client_id, total, timeout=300):
    harness.wait_for(lambda: int(pg.psql(
        f"SELECT count(*) FROM automation.jobs WHERE client_id = '{client_id}' "
        "AND status = 'completed'")) >= total, timeout, f"{total} jobs completed", interval=0.25)


def login(gateway):
    """The first admin's access token (the gateway asks every /api call for one)."""
    r = harness.http("POST", gateway.url + "/api/auth/login",
                     json={"email": harness.ADMIN_EMAIL, "password": harness.ADMIN_PASSWORD},
                     timeout=10)
    if r.status_code != 200:
        raise RuntimeError(f"login: {r.status_code} {r.text[:200]}")
    return r.json()["access_token"]


# BENCH_PG_STATS=1: after the POST phase, the statements that took most of
# PostgreSQL's time (pg_stat_statements), to see where a job's cost goes.
PG_STATS = os.environ.get("BENCH_PG_STATS") == "1"
# The sustained-rate phase: offered rates in jobs/s, tried in order until one
# falls behind (BENCH_RATES="250,500,...").
RATE_STEPS = [int(x) for x in os.environ.get(
    "BENCH_RATES", "250,500,750,1000,1250,1500,2000,2500,3000").split(",")]
RATE_SECONDS = int(os.environ.get("BENCH_RATE_SECONDS", "5"))
if PG_STATS:
    os.environ["BRAIN_PG_OPTS"] = (os.environ.get("BRAIN_PG_OPTS", "")
                                   + " -c shared_preload_libraries=pg_stat_statements")


def print_pg_stats(pg):
    rows = pg.psql("SELECT calls, round(total_exec_time)::bigint, round(mean_exec_time::numeric, 3),"
                   " round(mean_plan_time::numeric, 3),"
                   " left(regexp_replace(query, '\\s+', ' ', 'g'), 110) "
                   "FROM pg_stat_statements ORDER BY total_exec_time DESC LIMIT 15")
    print("  PostgreSQL time by statement (calls | total ms | mean ms | mean planning ms | statement):")
    for line in rows.splitlines():
        print("    " + line)
    pg.psql("SELECT pg_stat_statements_reset()")


def e2e_http(pg, gateway, root, token):
    client = str(uuid.uuid4())
    lua = Path(root) / "create.lua"
    lua.write_text('wrk.method = "POST"\nwrk.headers["Content-Type"] = "application/json"\n'
                   f'wrk.headers["Authorization"] = "Bearer {token}"\n'
                   f'wrk.body = \'{{"client_id":"{client}","job_type":"report_generation"}}\'\n')
    t0 = time.monotonic()
    p = subprocess.run(["wrk", "-t2", "-c16", f"-d{SECONDS}s", "-s", str(lua),
                        gateway.url + "/api/automation/jobs"], capture_output=True, text=True,
                       timeout=SECONDS * 10)
    if p.returncode != 0:
        raise RuntimeError(p.stderr)
    if "Non-2xx" in p.stdout:
        raise RuntimeError("wrk saw refused creates:\n" + p.stdout)
    total = int(pg.psql(f"SELECT count(*) FROM automation.jobs WHERE client_id = '{client}'"))
    wait_done(pg, client, total)
    res = latency_stats(pg, client)
    res["jobs_per_s"] = res["completed"] / res["span_s"] if res["span_s"] else 0
    res["created"] = total
    res["wall_s"] = time.monotonic() - t0
    return res


def e2e_nats(pg, nats):
    """jobs.create requests, pipelined: up to 256 in flight per connection."""
    client = str(uuid.uuid4())
    stop = time.monotonic() + SECONDS
    counts = []

    def creator():
        nc = natsclient.Client(nats.url, name="bench-create")
        inbox = "_INBOX." + uuid.uuid4().hex
        _, q = nc.subscribe(inbox + ".*")
        body = json.dumps({"client_id": client, "job_type": "report_generation"})
        sent = answered = 0
        while time.monotonic() < stop:
            while sent - answered < 256:
                nc.publish("jobs.create", body, reply=f"{inbox}.{sent}")
                sent += 1
            r = q.get(timeout=10)
            answered += 1
            assert b'"id"' in r.data, r.data
        while answered < sent:
            q.get(timeout=10)
            answered += 1
        counts.append(sent)
        nc.close()

    threads = [threading.Thread(target=creator) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    total = sum(counts)
    wait_done(pg, client, total)
    res = latency_stats(pg, client)
    res["jobs_per_s"] = res["completed"] / res["span_s"] if res["span_s"] else 0
    res["created"] = total
    return res


def e2e_rate(pg, nats, rate, seconds):
    """jobs.create at a fixed rate (open loop, paced every 2 ms) for seconds:
    can the queue keep up? The answers are read as they come."""
    client = str(uuid.uuid4())
    nc = natsclient.Client(nats.url, name="bench-rate")
    inbox = "_INBOX." + uuid.uuid4().hex
    _, q = nc.subscribe(inbox + ".*")
    body = json.dumps({"client_id": client, "job_type": "report_generation"})
    total = int(rate * seconds)
    sent = answered = 0
    t0 = time.monotonic()
    while sent < total:
        due = min(total, int((time.monotonic() - t0) * rate) + 1)
        while sent < due:
            nc.publish("jobs.create", body, reply=f"{inbox}.{sent}")
            sent += 1
        while not q.empty():
            q.get_nowait()
            answered += 1
        time.sleep(0.002)
    while answered < sent:
        q.get(timeout=30)
        answered += 1
    nc.close()
    wait_done(pg, client, total)
    res = latency_stats(pg, client)
    res["offered"] = rate
    res["jobs_per_s"] = res["completed"] / res["span_s"] if res["span_s"] else 0
    # Kept up: jobs were done at (nearly) the rate offered, and none waited
    # half a second (a queue falling behind shows both).
    res["kept_up"] = res["jobs_per_s"] >= 0.95 * rate and res["p99_ms"] < 500
    return res


def sustained(pg, nats):
    """The highest offered rate the queue keeps up with, in steps."""
    best = None
    for rate in RATE_STEPS:
        r = e2e_rate(pg, nats, rate, RATE_SECONDS)
        print(f"    offered {rate} jobs/s: done {r['jobs_per_s']:.0f} jobs/s, p50 "
              f"{r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms"
              + ("" if r["kept_up"] else " (fell behind)"))
        if not r["kept_up"]:
            break
        best = r
    return best


async def ws_phase(gateway, nats, automation_pid, token):
    import websockets
    clients = [str(uuid.uuid4()) for _ in range(WS_CONNS)]
    lat = []
    conns = []
    for c in clients:
        ws = await websockets.connect(
            gateway.url.replace("http", "ws") + f"/api/automation/ws/{c}?access_token={token}",
            max_queue=None, ping_interval=None)
        hello = json.loads(await ws.recv())
        assert hello["type"] == "connected", hello
        await ws.send(json.dumps({"type": "subscribe_client"}))
        conns.append(ws)
    for ws in conns:
        while json.loads(await ws.recv())["type"] != "subscribed":
            pass
    updates = [0]

    async def reader(ws):
        try:
            async for text in ws:
                now = time.time()
                ev = json.loads(text)
                if ev.get("type") != "job_update":
                    continue
                updates[0] += 1
                if ev["status"] == "completed":
                    done_at = time.mktime(time.strptime(ev["updated_at"][:19], "%Y-%m-%dT%H:%M:%S"))
                    done_at += int(ev["updated_at"][20:23]) / 1000 - time.timezone
                    lat.append((now - done_at) * 1000)
        except websockets.ConnectionClosed:
            pass

    tasks = [asyncio.create_task(reader(ws)) for ws in conns]
    # Each job gives three updates (queued, running, completed).
    jobs_per_s = WS_RATE / 3
    stop = threading.Event()
    rss = []

    def creator():
        nc = natsclient.Client(nats.url, name="bench-ws")
        i = 0
        t0 = time.monotonic()
        while not stop.is_set():
            due = t0 + i / jobs_per_s
            delay = due - time.monotonic()
            if delay > 0:
                time.sleep(delay)
            nc.publish("jobs.create", {"client_id": clients[i % WS_CONNS],
                                       "job_type": "report_generation"})
            i += 1
            if i % 200 == 0:
                rss.append(rss_kb(automation_pid)["VmRSS"])
        nc.close()

    t = threading.Thread(target=creator)
    t.start()
    await asyncio.sleep(SECONDS)
    stop.set()
    t.join()
    await asyncio.sleep(2)  # the last updates arrive
    elapsed = SECONDS
    for ws in conns:
        await ws.close()
    await asyncio.gather(*tasks, return_exceptions=True)
    lat.sort()

    def pct(p):
        return lat[min(len(lat) - 1, int(p * len(lat)))] if lat else None
    return {"connections": WS_CONNS, "updates_per_s": updates[0] / elapsed,
            "completions_seen": len(lat), "p50_ms": pct(0.5), "p99_ms": pct(0.99),
            "max_ms": lat[-1] if lat else None,
            "automation_rss_max_mb": max(rss) / 1024 if rss else None}


def main():
    harness.install_teardown_handlers()
    for name in ("svc-automation", "gateway", "fake-worker"):
        if not harness.binary(name).exists():
            sys.exit(f"bench: {harness.binary(name)} missing (make BUILD=release all)")
    if DURABLE:
        # Later options win over the harness's fsync=off and the like.
        os.environ["BRAIN_PG_OPTS"] = (" -c fsync=on -c synchronous_commit=on "
                                       "-c full_page_writes=on "
                                       + os.environ.get("BRAIN_PG_OPTS", ""))
    root = harness.make_root("brain-bench-jobs-")
    results = {"build": str(harness.build_dir()), "seconds": SECONDS}
    try:
        pg = harness.Postgres(root).init()
        nats = harness.Nats(root)
        nats.start()
        env = harness.daemon_env(pg, nats, "bench-token", {"LOG_LEVEL": "warn",
                                                           "DB_POOL_SIZE": "8",
                                                           "HTTP_THREADS": "256"})
        auto = harness.Daemon("svc-automation", env, root).start()
        # The rate limit stays on, with a bucket the run never empties.
        gw_env = dict(env, AUTOMATION_URL=auto.url, UPSTREAM_TIMEOUT_MS="5000",
                      RATE_LIMIT_RPS="1000000", RATE_LIMIT_BURST="1000000")
        gw = harness.Daemon("gateway", gw_env, root).start()
        token = login(gw)
        workers = []
        for i in range(WORKERS):
            w = harness.Daemon("fake-worker", {"NATS_URL": nats.url, "LOG_LEVEL": "warn",
                                               "WORKER_CONCURRENCY": str(CONCURRENCY),
                                               "WORKER_JOB_TYPES": "report_generation"},
                               root, label=f"fake-worker-{i}")
            w.start(wait=False)
            workers.append(w)
        print(f"bench: {harness.build_dir()}, {SECONDS}s per phase, {WORKERS} fake workers x "
              f"{CONCURRENCY}, PostgreSQL "
              + ("durable (fsync, synchronous_commit on)" if DURABLE
                 else "not durable (fsync, synchronous_commit off)"))
        results["pg_durable"] = DURABLE
        results["pg_ceiling"] = c = pg_ceiling(pg, root)
        print(f"  PostgreSQL ceiling (pgbench, claim then complete): {c['jobs_per_s']:.0f} jobs/s")
        if PG_STATS:
            pg.psql("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            pg.psql("SELECT pg_stat_statements_reset()")
        results["http"] = h = e2e_http(pg, gw, root, token)
        print(f"  end to end, POST via gateway: {h['jobs_per_s']:.0f} jobs/s "
              f"({h['completed']} jobs), create-to-complete p50 {h['p50_ms']:.1f} ms, "
              f"p99 {h['p99_ms']:.1f} ms; {100 * h['jobs_per_s'] / c['jobs_per_s']:.0f}% "
              "of the ceiling")
        if PG_STATS:
            print_pg_stats(pg)
        results["nats"] = n = e2e_nats(pg, nats)
        print(f"  end to end, jobs.create over NATS: {n['jobs_per_s']:.0f} jobs/s "
              f"({n['completed']} jobs), create-to-complete p50 {n['p50_ms']:.1f} ms, "
              f"p99 {n['p99_ms']:.1f} ms; {100 * n['jobs_per_s'] / c['jobs_per_s']:.0f}% "
              "of the ceiling")
        print("  sustained rate over jobs.create (open loop, "
              f"{RATE_SECONDS}s per step):")
        results["sustained"] = r = sustained(pg, nats)
        if r:
            print(f"  sustained end to end: {r['offered']} jobs/s, create-to-complete p50 "
                  f"{r['p50_ms']:.1f} ms, p99 {r['p99_ms']:.1f} ms; "
                  f"{100 * r['offered'] / c['jobs_per_s']:.0f}% of the ceiling")
        results["ws"] = w = asyncio.run(ws_phase(gw, nats, auto.pid, token))
        print(f"  WebSocket via gateway, {w['connections']} connections, "
              f"{w['updates_per_s']:.0f} updates/s: completion-to-client p50 {w['p50_ms']:.1f} ms, "
              f"p99 {w['p99_ms']:.1f} ms (max {w['max_ms']:.1f}); svc-automation VmRSS up to "
              f"{w['automation_rss_max_mb']:.1f} MB")
        results["automation_rss_after_mb"] = rss_kb(auto.pid)["VmRSS"] / 1024
        print(f"  svc-automation VmRSS after: {results['automation_rss_after_mb']:.1f} MB")
        if os.environ.get("BENCH_JSON"):
            Path(os.environ["BENCH_JSON"]).write_text(json.dumps(results, indent=2))
    finally:
        harness.teardown_all()
        harness.rm_root(root)


if __name__ == "__main__":
    main()
