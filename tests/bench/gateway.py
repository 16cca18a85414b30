"""make bench-gateway: the gateway against nginx, in front of the same upstream.

Starts a throw-away PostgreSQL, NATS and the six daemons (tests/e2e/harness.py)
plus nginx as a reverse proxy with upstream keep-alive, then runs wrk on
loopback, the same connections and duration for each line, against
svc-automation's GET /api/automation/health (its /health under its prefix):
  direct           wrk -> svc-automation
  nginx            wrk -> nginx -> svc-automation
  gateway          wrk -> gateway -> svc-automation (an open route, no credential)
  gateway + JWT    the same with "Authorization: Bearer <access token>": the gate
                   verifies a credential on an open route too (and tells the service
                   who calls), so this line costs the token's verification end to end
and, for a route that needs a permission (view_operations), GET
/api/automation/jobs/stats (one aggregate query in the service):
  stats direct     wrk -> svc-automation (with the internal token)
  stats gateway+JWT
It prints req/s, p50 and p99 for each, the CPU time the proxy in the path
(nginx's master and workers, or the gateway) spent per request (from
/proc/<pid>/stat: unlike req/s, hardly changed by other load on the
machine) and the CPU time svc-automation spent per request behind it, the
gateway's and nginx's resident memory at the end, and checks issue 4's
targets: gateway >= 0.9 x nginx's throughput, p99 <= 1.5 x nginx's, the JWT
costs < 10 % of throughput, the gateway's VmRSS < 40 MB.

Fairness: every daemon runs HTTP_THREADS=BENCH_HTTP_THREADS (civetweb holds
a thread per open connection, so fewer threads than connections would queue
wrk's connections); nginx runs worker_processes 2 (the machine's cores, which
the gateway's threads use too), keeps up to 64 upstream connections alive and
does not close keep-alive connections after 1000 requests (neither does the
gateway); both write one access-log line per request; the rate limit is on,
with a bucket no benchmark empties. nginx (Debian package nginx) is installed
with apt-get when missing and running as root; it runs as the current user
with its own configuration, pid and logs in the temporary directory.

Environment: BRAIN_BUILD (build/release), BENCH_SECONDS (10), BENCH_CONNECTIONS
(64), BENCH_THREADS (wrk threads, 2), BENCH_HTTP_THREADS (80),
BENCH_EDGE_THREADS (the gateway's EDGE_THREADS, 0: one per core), BENCH_ROUNDS
(3: nginx, the gateway and the gateway with a JWT take turns this many times,
and each one's median round by req/s is compared), BENCH_JSON (write the
results there too).
"""

import json
import os
import pwd
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
sys.dont_write_bytecode = True
os.environ.setdefault("BRAIN_BUILD", "build/release")

import harness  # noqa: E402
from bench import parse_wrk, rss_kb  # noqa: E402

SECONDS = int(os.environ.get("BENCH_SECONDS", "10"))
CONNS = int(os.environ.get("BENCH_CONNECTIONS", "64"))
WRK_THREADS = int(os.environ.get("BENCH_THREADS", "2"))
HTTP_THREADS = int(os.environ.get("BENCH_HTTP_THREADS", "80"))
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
COMPARED = ("nginx", "gateway", "gateway + JWT")
WARMUP_S = 2
HEALTH = "/api/automation/health"
STATS = "/api/automation/jobs/stats"

NGINX_CONF = """\
worker_processes 2;
{user}pid {root}/nginx.pid;
error_log {root}/nginx-error.log warn;
daemon off;
events {{ worker_connections 1024; }}
http {{
    access_log {root}/nginx-access.log;
    client_body_temp_path {root}/nginx-body;
    proxy_temp_path {root}/nginx-proxy;
    fastcgi_temp_path {root}/nginx-fastcgi;
    uwsgi_temp_path {root}/nginx-uwsgi;
    scgi_temp_path {root}/nginx-scgi;
    keepalive_requests 1000000;
    upstream automation {{
        server 127.0.0.1:{upstream_port};
        keepalive 64;
        keepalive_requests 1000000;
    }}
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://automation;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
        }}
    }}
}}
"""


def ensure_nginx():
    nginx = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if nginx:
        return nginx
    if os.geteuid() != 0:
        sys.exit("bench-gateway: nginx is not installed; as root: apt-get install -y nginx")
    print("bench-gateway: installing nginx (Debian package)")
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "install", "-y", "--no-install-recommends", "nginx"], check=True,
                   env=env, stdout=subprocess.DEVNULL)
    return shutil.which("nginx") or "/usr/sbin/nginx"


class Nginx:
    def __init__(self, exe, root, upstream_port):
        self.dir = Path(root) / "nginx"
        self.dir.mkdir()
        self.port = harness.free_port()
        user = pwd.getpwuid(os.geteuid()).pw_name
        conf = NGINX_CONF.format(root=self.dir, port=self.port, upstream_port=upstream_port,
                                 user=f"user {user};\n" if os.geteuid() == 0 else "")
        self.conf = self.dir / "nginx.conf"
        self.conf.write_text(conf)
        check = subprocess.run([exe, "-t", "-q", "-e", str(self.dir / "nginx-error.log"),
                                "-p", str(self.dir), "-c", str(self.conf)],
                               capture_output=True, text=True)
        if check.returncode != 0:
            raise RuntimeError(f"nginx -t: {check.stderr}")
        self.proc = subprocess.Popen([exe, "-e", str(self.dir / "nginx-error.log"), "-p",
                                      str(self.dir), "-c", str(self.conf)],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        harness.register(self)
        harness.wait_for(lambda: harness.status_of(self.url + HEALTH) == 200, 10,
                         "nginx to proxy to svc-automation")

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    def pids(self):
        """The master's and the workers'."""
        return [self.proc.pid] + [int(p) for p in subprocess.run(
            ["pgrep", "-P", str(self.proc.pid)], capture_output=True, text=True).stdout.split()]

    def rss_kb(self):
        """The master's and the workers' VmRSS together."""
        return sum(rss_kb(p)["VmRSS"] for p in self.pids())

    def kill(self):
        if self.proc.poll() is None:
            self.proc.terminate()  # fast shutdown of master and workers
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)


def cpu_seconds(pids):
    """User plus system CPU time of the processes pids (all their threads)."""
    ticks = 0
    for pid in pids:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime
    return ticks / os.sysconf("SC_CLK_TCK")


def wrk(url, headers=(), seconds=SECONDS):
    cmd = ["wrk", f"-t{WRK_THREADS}", f"-c{CONNS}", f"-d{seconds}s", "--latency"]
    for h in headers:
        cmd += ["-H", h]
    p = subprocess.run(cmd + [url], capture_output=True, text=True, timeout=seconds * 10 + 60)
    if p.returncode != 0:
        raise RuntimeError(f"wrk failed: {p.stderr}")
    res = parse_wrk(p.stdout)
    if res["rps"] is None:
        raise RuntimeError(f"cannot read wrk's output:\n{p.stdout}")
    return res


def login(gw):
    r = harness.http("POST", gw.url + "/api/auth/login", timeout=10,
                     json={"email": harness.ADMIN_EMAIL, "password": harness.ADMIN_PASSWORD})
    if r.status_code != 200:
        raise RuntimeError(f"login: {r.status_code} {r.text[:300]}")
    return r.json()["access_token"]


def show(label, r):
    cpu, up = r["proxy_cpu_us_per_req"], r["upstream_cpu_us_per_req"]
    print(f"{label:<22} {r['rps']:>10.0f} {r['p50_ms']:>8.2f} {r['p99_ms']:>8.2f} "
          f"{r['non_2xx']:>8} {r['socket_errors']:>8} "
          f"{'-' if cpu is None else f'{cpu:.0f}':>17} "
          f"{'-' if up is None else f'{up:.0f}':>14}", flush=True)


def check_targets(res, gw_rss_kb):
    nginx, gw, jwt = res["nginx"], res["gateway"], res["gateway + JWT"]
    rows = [
        ("gateway req/s >= 0.9 x nginx's", gw["rps"] / nginx["rps"], gw["rps"] >= 0.9 * nginx["rps"]),
        ("gateway p99 <= 1.5 x nginx's", gw["p99_ms"] / nginx["p99_ms"],
         gw["p99_ms"] <= 1.5 * nginx["p99_ms"]),
        ("JWT costs < 10% of throughput", 1 - jwt["rps"] / gw["rps"], jwt["rps"] > 0.9 * gw["rps"]),
        ("gateway VmRSS < 40 MB", gw_rss_kb / 1024, gw_rss_kb < 40 * 1024),
    ]
    print("\ntargets (issue 4)")
    for label, value, ok in rows:
        print(f"  {label:<34} {value:8.2f}  {'met' if ok else 'MISSED'}")
    return {label: {"value": value, "met": ok} for label, value, ok in rows}


def main():
    harness.install_teardown_handlers()
    for name in harness.DAEMONS:
        if not harness.binary(name).exists():
            sys.exit(f"bench-gateway: {harness.binary(name)} missing (make BUILD=release all)")
    if not shutil.which("wrk"):
        sys.exit("bench-gateway: wrk is not installed (apt-get install wrk)")
    exe = ensure_nginx()
    root = harness.make_root("brain-bench-gw-")
    ok = False
    results = {"build": str(harness.build_dir()), "seconds": SECONDS, "connections": CONNS,
               "wrk_threads": WRK_THREADS, "http_threads": HTTP_THREADS, "runs": {}}
    try:
        pg = harness.Postgres(root).init()
        nats = harness.Nats(root)
        nats.start()
        big = str(1000000)
        suite = harness.Suite(root, pg, nats, log_level="info", gateway_extra={
            "HTTP_THREADS": str(HTTP_THREADS), "RATE_LIMIT_RPS": big, "RATE_LIMIT_BURST": big,
            "EDGE_THREADS": os.environ.get("BENCH_EDGE_THREADS", "0")})
        suite["svc-automation"].env["HTTP_THREADS"] = str(HTTP_THREADS)
        suite.start()
        svc, gw = suite["svc-automation"], suite.gateway
        nginx = Nginx(exe, root, svc.port)
        bearer = "Authorization: Bearer " + login(gw)
        internal = "X-Internal-Token: " + suite.token
        # (label, URL, headers, the proxy's processes or None)
        targets = [
            ("direct", svc.url + HEALTH, (), None),
            ("nginx", nginx.url + HEALTH, (), nginx.pids),
            ("gateway", gw.url + HEALTH, (), lambda: [gw.pid]),
            ("gateway + JWT", gw.url + HEALTH, (bearer,), lambda: [gw.pid]),
            ("stats direct", svc.url + STATS, (internal,), None),
            ("stats gateway + JWT", gw.url + STATS, (bearer,), lambda: [gw.pid]),
        ]
        print(f"bench-gateway: build {harness.build_dir()}, wrk -t{WRK_THREADS} -c{CONNS} "
              f"-d{SECONDS}s, HTTP_THREADS={HTTP_THREADS}, nginx worker_processes 2")
        print(f"\n{'target':<22} {'req/s':>10} {'p50 ms':>8} {'p99 ms':>8} {'non-2xx':>8} "
              f"{'sock err':>8} {'proxy CPU us/req':>17} {'upstream us/req':>14}")
        def measure(label, url, headers, proxy_pids, shown):
            wrk(url, headers, WARMUP_S)
            pids = proxy_pids() if proxy_pids else []
            cpu0, up0 = cpu_seconds(pids), cpu_seconds([svc.pid])
            r = wrk(url, headers)
            r["proxy_cpu_us_per_req"] = ((cpu_seconds(pids) - cpu0) * 1e6 / r["requests"]
                                         if pids and r["requests"] else None)
            r["upstream_cpu_us_per_req"] = ((cpu_seconds([svc.pid]) - up0) * 1e6 / r["requests"]
                                            if r["requests"] else None)
            show(shown, r)
            if r["non_2xx"]:
                raise RuntimeError(f"{label}: {r['non_2xx']} answers were not 2xx")
            return r

        # nginx and the gateway take turns, ROUNDS times: the machine's speed
        # drifts between runs, and each target's median round is compared.
        by_label = {t[0]: t for t in targets}
        results["runs"]["direct"] = measure(*by_label["direct"], "direct")
        rounds = {label: [] for label in COMPARED}
        for i in range(ROUNDS):
            for label in COMPARED:
                rounds[label].append(measure(*by_label[label], f"{label} #{i + 1}"))
        for label in ("stats direct", "stats gateway + JWT"):
            results["runs"][label] = measure(*by_label[label], label)
        print(f"\nthe median round of {ROUNDS} (by req/s)")
        for label in COMPARED:
            r = sorted(rounds[label], key=lambda x: x["rps"])[len(rounds[label]) // 2]
            results["runs"][label] = r
            results.setdefault("rounds", {})[label] = [x["rps"] for x in rounds[label]]
            show(label, r)
        for d in suite.daemons.values():
            if not d.alive:
                raise RuntimeError(f"{d.label} is gone:\n{d.tail()}")
        gw_rss = rss_kb(gw.pid)
        results["gateway_rss_kb"] = gw_rss
        results["nginx_rss_kb"] = nginx.rss_kb()
        print(f"\ngateway VmRSS at the end: {gw_rss['VmRSS'] / 1024:.1f} MB "
              f"(anon {gw_rss['RssAnon'] / 1024:.1f} MB, {gw_rss['Threads']} threads); "
              f"nginx (master + workers): {results['nginx_rss_kb'] / 1024:.1f} MB")
        results["targets"] = check_targets(results["runs"], gw_rss["VmRSS"])
        ok = True
    finally:
        statuses = harness.teardown_all()
        bad_exit = {k: v for k, v in statuses.items() if v != 0}
        if bad_exit:
            print(f"bench-gateway: daemons did not stop cleanly: {bad_exit}")
            ok = False
        if ok:
            harness.rm_root(root)
        else:
            print(f"bench-gateway: logs kept in {root}")
    if os.environ.get("BENCH_JSON"):
        Path(os.environ["BENCH_JSON"]).write_text(json.dumps(results, indent=2) + "\n")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
