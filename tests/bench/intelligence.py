"""make bench-intelligence: svc-intelligence at 10,000 clients (issue 6).

Starts a throw-away PostgreSQL, NATS and the six daemons (tests/e2e/harness.py),
logs in through the gateway as the admin, loads BENCH_INTEL_CLIENTS clients
with BENCH_INTEL_DAYS days of signals straight into the schema with SQL
(activity most days, tickets, monthly invoices, projects, quotes, job outcomes
and integration checks), then measures through the gateway:
  1. POST /api/intelligence/scores/recompute for every client, twice: into an
     empty history, then again with one stored score per client. The figure
     is the client's time; the answer's duration_ms is svc-intelligence's own.
  2. GET /api/intelligence/clients/health-summary with every client scored:
     BENCH_RUNS requests (first page, default limit), p50 and p99, and the
     same with ?status=critical and a page deep in the list.
  3. POST /api/intelligence/decide, BENCH_RUNS requests over different
     clients, p50 and p99 (skipped, saying so, while the route answers 404).
  4. GET /api/intelligence/system/health, a few requests (latency).
It prints a summary with the load average before each timed step and checks
the targets: summary p99 under 200 ms, recompute of every client under 5 s,
/decide p99 under 20 ms.

Environment: BRAIN_BUILD (build/release), BENCH_INTEL_CLIENTS (10000),
BENCH_INTEL_DAYS (90), BENCH_RUNS (50), BENCH_INTEL_POOL (svc-intelligence's
DB_POOL_SIZE, 8 as by default), BENCH_JSON (write the results there too).
"""

import json
import os
import sys
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.dont_write_bytecode = True
os.environ.setdefault("BRAIN_BUILD", "build/release")

import harness  # noqa: E402

CLIENTS = int(os.environ.get("BENCH_INTEL_CLIENTS", "10000"))
DAYS = int(os.environ.get("BENCH_INTEL_DAYS", "90"))
RUNS = int(os.environ.get("BENCH_RUNS", "50"))
POOL = os.environ.get("BENCH_INTEL_POOL", "8")
SUMMARY_TARGET_MS = 200
RECOMPUTE_TARGET_S = 5
DECIDE_TARGET_MS = 20

# Signals for every client of plan 'bench', deterministic (setseed) so runs
# compare. {days} is BENCH_INTEL_DAYS.
LOAD_SQL = [
    "SELECT setseed(0.42)",
    "INSERT INTO intelligence.clients (name, plan, timezone, monthly_revenue, status, created_at) "
    "SELECT 'Bench ' || lpad(i::text, 6, '0'), 'bench', "
    "(ARRAY['UTC','America/New_York','Europe/Paris','Asia/Tokyo'])[1 + i % 4], "
    "(100 + i % 900)::numeric, 'active', now() - interval '{days} days' "
    "FROM generate_series(1, {clients}) i",
    # Activity on about 60% of days, busier clients more.
    "INSERT INTO intelligence.activity_log (client_id, actor, action, occurred_at) "
    "SELECT c.id, 'bench', 'login', now() - make_interval(days => d) - random() * interval '20 h' "
    "FROM intelligence.clients c CROSS JOIN generate_series(0, {days} - 1) d "
    "WHERE c.plan = 'bench' AND random() < 0.6",
    # About one ticket every two weeks, most answered and resolved.
    "INSERT INTO intelligence.tickets (client_id, subject, priority, opened_at, first_response_at, "
    "resolved_at) SELECT id, 'bench', (ARRAY['low','normal','high','urgent'])[1 + (random()*3)::int], "
    "t, CASE WHEN random() < 0.9 THEN t + random() * interval '12 h' END, "
    "CASE WHEN random() < 0.7 THEN t + interval '12 h' + random() * interval '3 days' END "
    "FROM (SELECT c.id, now() - make_interval(days => d) - interval '1 day' AS t "
    "FROM intelligence.clients c CROSS JOIN generate_series(0, {days} - 1, 14) d "
    "WHERE c.plan = 'bench') x",
    # A monthly invoice; the latest sometimes open or late.
    "INSERT INTO intelligence.payments (client_id, invoice, amount, due_at, paid_at, status) "
    "SELECT id, 'INV-' || m, amount, due, CASE WHEN paid THEN due - interval '2 days' + "
    "random() * interval '6 days' END, CASE WHEN paid THEN 'paid' ELSE 'open' END "
    "FROM (SELECT c.id, m, c.monthly_revenue AS amount, now() - make_interval(days => m * 30 + 3) "
    "AS due, (m > 0 OR random() < 0.8) AS paid FROM intelligence.clients c "
    "CROSS JOIN generate_series(0, {days} / 30) m WHERE c.plan = 'bench') x",
    "INSERT INTO intelligence.projects (client_id, name, status, value, started_at) "
    "SELECT id, 'bench', (ARRAY['proposed','active','completed','cancelled'])[1 + (random()*3)::int], "
    "1000, now() - random() * make_interval(days => {days}) FROM intelligence.clients "
    "WHERE plan = 'bench'",
    "INSERT INTO intelligence.quotes (client_id, title, status, value, issued_at) "
    "SELECT c.id, 'bench', (ARRAY['draft','sent','accepted','declined','expired'])"
    "[1 + (random()*4)::int], 500, now() - random() * make_interval(days => {days}) "
    "FROM intelligence.clients c CROSS JOIN generate_series(1, 2) WHERE c.plan = 'bench'",
    # What the event consumers keep: a job outcome a week, an integration
    # check every three days.
    "INSERT INTO intelligence.job_outcomes (job_id, client_id, job_type, status, attempt, seq, "
    "finished_at) SELECT gen_random_uuid(), c.id, 'menu_sync', CASE WHEN random() < 0.9 "
    "THEN 'completed' ELSE 'failed' END, 1, 1, now() - make_interval(days => d) "
    "FROM intelligence.clients c CROSS JOIN generate_series(0, {days} - 1, 7) d "
    "WHERE c.plan = 'bench'",
    "INSERT INTO intelligence.integration_checks (check_id, integration_id, client_id, status, "
    "total_ms, checked_at) SELECT gen_random_uuid(), c.id, c.id, CASE WHEN random() < 0.95 "
    "THEN 'healthy' ELSE 'unhealthy' END, 200, now() - make_interval(days => d) "
    "FROM intelligence.clients c CROSS JOIN generate_series(0, {days} - 1, 3) d "
    "WHERE c.plan = 'bench'",
    "ANALYZE",
]

TABLES = ("clients", "activity_log", "tickets", "payments", "projects", "quotes", "job_outcomes",
          "integration_checks")


def loadavg():
    with open("/proc/loadavg") as f:
        return " ".join(f.read().split()[:3])


def pct(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def stats(ms):
    return {"min_ms": min(ms), "p50_ms": pct(ms, 50), "p99_ms": pct(ms, 99), "max_ms": max(ms),
            "runs": len(ms)}


class Client:
    """One kept-alive connection to the gateway as the admin."""

    def __init__(self, base, token):
        self.base = base.rstrip("/")
        self.s = requests.Session()
        self.s.trust_env = False
        self.s.headers["Authorization"] = "Bearer " + token

    def call(self, method, path, expect=200, timeout=300, **kw):
        r = self.s.request(method, self.base + path, timeout=timeout, **kw)
        if expect is not None and r.status_code != expect:
            raise RuntimeError(f"{method} {path}: {r.status_code} {r.text[:500]}")
        return r


def load(pg):
    t0 = time.monotonic()
    for sql in LOAD_SQL:
        pg.psql(sql.format(clients=CLIENTS, days=DAYS))
    counts = {t: int(pg.psql(f"SELECT count(*) FROM intelligence.{t}")) for t in TABLES}
    secs = time.monotonic() - t0
    print(f"  loaded in {secs:.1f} s: " + ", ".join(f"{t} {n:,}" for t, n in counts.items()))
    return {"seconds": secs, "rows": counts}


def recompute(gw, label):
    load_ = loadavg()
    t0 = time.monotonic()
    r = gw.call("POST", "/api/intelligence/scores/recompute", json={}).json()
    secs = time.monotonic() - t0
    if r["recomputed"] < CLIENTS or r["failed"]:
        raise RuntimeError(f"recompute {label}: {r}")
    print(f"  [{load_}] recompute, {label}: {secs:.2f} s for {r['recomputed']:,} clients "
          f"(svc-intelligence {r['duration_ms']} ms, {r['recomputed'] / secs:,.0f} a second)")
    return {"label": label, "loadavg": load_, "seconds": secs, "answer": r}


def timed(gw, method, path, label, n=RUNS, expect=200, body_of=None):
    gw.call(method, path, expect=expect, json=body_of(0) if body_of else None)  # warm
    load_ = loadavg()
    ms = []
    last = None
    for i in range(n):
        t0 = time.monotonic()
        last = gw.call(method, path, expect=expect, json=body_of(i) if body_of else None)
        ms.append((time.monotonic() - t0) * 1000)
    out = stats(ms)
    out["loadavg"] = load_
    print(f"  [{load_}] {label}: p50 {out['p50_ms']:.1f} ms, p99 {out['p99_ms']:.1f} ms, "
          f"max {out['max_ms']:.1f} ms ({n} requests)")
    return out, last


def decide(gw, ids):
    probe = gw.call("POST", "/api/intelligence/decide", expect=None,
                    json=decide_body(ids[0]))
    if probe.status_code == 404:
        print("  /decide: the route answers 404 (not in this build): skipped")
        return None
    if probe.status_code not in (200, 201):  # 201: every decision is kept
        print(f"  /decide: {probe.status_code} {probe.text[:300]}: skipped")
        return None
    out, _ = timed(gw, "POST", "/api/intelligence/decide", "decide", expect=probe.status_code,
                   body_of=lambda i: decide_body(ids[i % len(ids)]))
    return out


def decide_body(cid):
    return {"context": "bench", "client_id": cid, "job_type": "menu_sync",
            "constraints": {"preferred_times": ["09:00"], "avoid_times": ["12:00-13:00"]}}


def summary(res):
    rows = []
    for r in res["recompute"]:
        rows.append((f"recompute all, {r['label']}", f"{r['seconds']:.2f} s",
                     f"< {RECOMPUTE_TARGET_S} s", r["loadavg"]))
    for key, label in (("first_page", "health-summary, first page"),
                       ("critical", "health-summary ?status=critical"),
                       ("deep_page", "health-summary, deep page")):
        s = res["summary"][key]
        rows.append((label, f"p50 {s['p50_ms']:.1f} ms, p99 {s['p99_ms']:.1f} ms",
                     f"< {SUMMARY_TARGET_MS} ms", s["loadavg"]))
    d = res.get("decide")
    rows.append(("decide", f"p50 {d['p50_ms']:.1f} ms, p99 {d['p99_ms']:.1f} ms" if d
                 else "skipped (no route here)", f"< {DECIDE_TARGET_MS} ms", d["loadavg"] if d else ""))
    s = res["system_health"]
    rows.append(("system/health", f"p50 {s['p50_ms']:.1f} ms, max {s['max_ms']:.1f} ms", "",
                 s["loadavg"]))
    print(f"\n{'what':<40} {'figure':<36} {'target':<9} loadavg")
    for what, fig, target, load_ in rows:
        print(f"{what:<40} {fig:<36} {target:<9} {load_}")
    last = res["recompute"][-1]["seconds"]
    p99 = res["summary"]["first_page"]["p99_ms"]
    res["targets"] = {
        "summary_p99_ms_under_200": {"value": p99, "met": p99 < SUMMARY_TARGET_MS},
        "recompute_all_s_under_5": {"value": last, "met": last < RECOMPUTE_TARGET_S},
        "decide_p99_ms_under_20": {"value": d["p99_ms"] if d else None,
                                   "met": d["p99_ms"] < DECIDE_TARGET_MS if d else None},
    }
    print(f"\ntargets (issue 6) at {CLIENTS:,} clients with {DAYS} days of signals:")
    for k, v in res["targets"].items():
        met = "skipped" if v["met"] is None else "met" if v["met"] else "MISSED"
        print(f"  {k}: {v['value'] if v['value'] is None else round(v['value'], 2)} {met}")


def main():
    harness.install_teardown_handlers()
    for name in harness.DAEMONS:
        if not harness.binary(name).exists():
            sys.exit(f"bench-intelligence: {harness.binary(name)} missing (make BUILD=release all)")
    root = harness.make_root("brain-bench-intel-")
    ok = False
    results = {"build": str(harness.build_dir()), "clients": CLIENTS, "days": DAYS, "runs": RUNS}
    try:
        pg = harness.Postgres(root).init()
        nats = harness.Nats(root)
        nats.start()
        suite = harness.Suite(root, pg, nats, log_level="info")
        # svc-intelligence with its default pool (the harness gives every
        # daemon 4): recompute works on all but one connection of it.
        suite["svc-intelligence"].env["DB_POOL_SIZE"] = POOL
        suite.start()
        r = harness.http("POST", suite.gateway.url + "/api/auth/login", timeout=10,
                         json={"email": harness.ADMIN_EMAIL, "password": harness.ADMIN_PASSWORD})
        if r.status_code != 200:
            raise RuntimeError(f"login: {r.status_code} {r.text[:300]}")
        gw = Client(suite.gateway.url, r.json()["access_token"])
        print(f"bench-intelligence: build {harness.build_dir()}, {CLIENTS:,} clients, {DAYS} days "
              f"of signals, {RUNS} requests a figure")
        results["load"] = load(pg)
        ids = pg.psql("SELECT id FROM intelligence.clients WHERE plan = 'bench' "
                      "ORDER BY created_at, id LIMIT 1000").split()

        results["recompute"] = [recompute(gw, "empty history"),
                                recompute(gw, "with a score per client")]
        results["summary"] = {}
        results["summary"]["first_page"], page = timed(
            gw, "GET", "/api/intelligence/clients/health-summary", "health-summary, first page")
        p = page.json()
        if p["total"] < CLIENTS or any(x["health_status"] is None for x in p["items"]):
            raise RuntimeError(f"summary: not every client scored: total {p['total']}")
        results["summary"]["counts"] = p["counts"]
        print(f"  bands: {p['counts']}")
        results["summary"]["critical"], _ = timed(
            gw, "GET", "/api/intelligence/clients/health-summary?status=critical",
            "health-summary ?status=critical")
        deep = max(0, CLIENTS - 100)
        results["summary"]["deep_page"], _ = timed(
            gw, "GET", f"/api/intelligence/clients/health-summary?limit=100&offset={deep}",
            "health-summary, deep page")
        results["decide"] = decide(gw, ids)
        results["system_health"], sh = timed(gw, "GET", "/api/intelligence/system/health",
                                             "system/health", n=min(RUNS, 10))
        results["system_health"]["status"] = sh.json()["status"]
        for d in suite.daemons.values():
            if not d.alive:
                raise RuntimeError(f"{d.label} is gone:\n{d.tail()}")
        summary(results)
        ok = True
    finally:
        statuses = harness.teardown_all()
        bad_exit = {k: v for k, v in statuses.items() if v != 0}
        if bad_exit:
            print(f"bench-intelligence: daemons did not stop cleanly: {bad_exit}")
            ok = False
        if ok:
            harness.rm_root(root)
        else:
            print(f"bench-intelligence: logs kept in {root}")
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(results, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
