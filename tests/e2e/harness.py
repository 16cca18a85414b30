"""Real servers for the end-to-end tests: a throw-away PostgreSQL, a NATS server
and the Brain daemons, each on a free port under one temporary directory.

Everything started here is registered and torn down by teardown_all(), which
conftest.py calls from the session finalizer, atexit and the SIGTERM/SIGINT
handlers, so no process outlives the run even when tests fail.

Used by tests/e2e (pytest) and tests/bench (plain python).
"""

import atexit
import base64
import ctypes
import json
import os
import pwd
import re
import secrets
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[2]

DAEMONS = ["gateway", "svc-automation", "svc-intelligence", "svc-toast", "svc-embedding", "svc-sync"]
SERVICES = DAEMONS[1:]

# Where the gateway sends each path prefix, and the variable holding that URL.
UPSTREAM_VAR = {
    "svc-automation": "AUTOMATION_URL",
    "svc-intelligence": "INTELLIGENCE_URL",
    "svc-toast": "TOAST_URL",
    "svc-embedding": "EMBEDDING_URL",
    "svc-sync": "SYNC_URL",
}
API_PREFIX = {
    "svc-automation": "/api/automation/",
    "svc-intelligence": "/api/intelligence/",
    "svc-toast": "/api/toast/",
    "svc-embedding": "/api/embedding/",
    "svc-sync": "/api/v1/sync/",
}

SANITIZER_ENV = {
    # A leak at exit gives the distinct status 66; UBSan stops at the first error.
    "ASAN_OPTIONS": "detect_leaks=1:abort_on_error=0:exitcode=66",
    "UBSAN_OPTIONS": "print_stacktrace=1:halt_on_error=1",
}
SANITIZER_MARKERS = (
    "ERROR: AddressSanitizer",
    "ERROR: LeakSanitizer",
    "SUMMARY: UndefinedBehaviorSanitizer",
    "runtime error:",
)


# ---------------------------------------------------------------- build tree


def build_dir():
    """BRAIN_BUILD is either a path (make passes build/asan) or a build name."""
    value = os.environ.get("BRAIN_BUILD", "build/asan")
    p = Path(value)
    if not p.is_absolute():
        p = REPO / p if "/" in value else REPO / "build" / value
    return p


def binary(name):
    return build_dir() / "bin" / name


def pg_bindir():
    dirs = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0,
    )
    if not dirs:
        raise RuntimeError("no PostgreSQL under /usr/lib/postgresql/*/bin")
    return dirs[-1]


# ---------------------------------------------------------------- small tools

_given_ports = set()
_port_lock = threading.Lock()


def free_port():
    """A port nothing listens on now (bind 127.0.0.1:0, read, close), never the
    same one twice in a run."""
    with _port_lock:
        for _ in range(100):
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
                s.bind(("127.0.0.1", 0))
                port = s.getsockname()[1]
            if port not in _given_ports:
                _given_ports.add(port)
                return port
    raise RuntimeError("no free port")


class WaitTimeout(AssertionError):
    pass


def wait_for(cond, timeout, what, interval=0.05):
    """Call cond() until it returns something truthy; return that. An exception
    from cond counts as 'not yet'. Fails after timeout seconds, saying what was
    awaited and the last result."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        try:
            value = cond()
            if value:
                return value
            last = value
        except Exception as e:  # noqa: BLE001 - any failure means "not yet"
            last = f"{type(e).__name__}: {e}"
        if time.monotonic() >= deadline:
            raise WaitTimeout(f"timed out after {timeout}s waiting for {what}; last: {last!r}")
        time.sleep(interval)


def http(method, url, timeout=5, **kw):
    """One request on a fresh connection, ignoring proxy variables."""
    with requests.Session() as s:
        s.trust_env = False
        return s.request(method, url, timeout=timeout, allow_redirects=False, **kw)


def get(url, **kw):
    return http("GET", url, **kw)


def status_of(url, timeout=2, **kw):
    """The status of GET url, or None when nothing answers."""
    try:
        return get(url, timeout=timeout, **kw).status_code
    except requests.RequestException:
        return None


def _pdeathsig():
    """In the child: die with the test process even if it is SIGKILLed."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except OSError:
        pass


def _pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is not alive for our purpose.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


# ---------------------------------------------------------------- registry

_registry = []
_registry_lock = threading.RLock()


def register(obj):
    with _registry_lock:
        if obj not in _registry:
            _registry.append(obj)
    return obj


def unregister(obj):
    with _registry_lock:
        if obj in _registry:
            _registry.remove(obj)


def teardown_all():
    """Stop everything started: daemons (TERM, then KILL), then NATS (killed),
    then PostgreSQL (immediate). Returns {daemon label: exit status} for the
    daemons that were still running. Idempotent."""
    with _registry_lock:
        objs = list(_registry)
    statuses = stop_all([o for o in objs if isinstance(o, Daemon) and o.alive])
    for o in objs:
        if not isinstance(o, Daemon):
            try:
                o.kill()
            except Exception:  # noqa: BLE001 - teardown goes on
                pass
    for o in objs:
        try:
            o.kill()
        except Exception:  # noqa: BLE001
            pass
        unregister(o)
    return statuses


def stop_all(daemons, sig=signal.SIGTERM):
    """Signal every daemon first, then wait for each (a stop takes about a
    second; one after the other would add up). Returns {label: exit status}."""
    for d in daemons:
        if d.alive:
            d.send(sig)
    return {d.label: d.stop(sig) for d in daemons}


_handlers_installed = False


def install_teardown_handlers():
    """atexit plus SIGTERM/SIGINT: tear down, then let the signal do its usual job."""
    global _handlers_installed
    if _handlers_installed:
        return
    _handlers_installed = True
    atexit.register(teardown_all)

    def on_term(signum, frame):
        teardown_all()
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)

    def on_int(signum, frame):
        teardown_all()
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_term)
    signal.signal(signal.SIGINT, on_int)


# ---------------------------------------------------------------- temp dir


def make_root(prefix="brain-e2e-"):
    """A temp dir under /tmp that the postgres user can traverse."""
    root = Path(tempfile.mkdtemp(prefix=prefix, dir="/tmp"))
    os.chmod(root, 0o755)
    (root / "logs").mkdir()
    return root


# ---------------------------------------------------------------- PostgreSQL


class Postgres:
    """A throw-away cluster: trust auth for user brain, database brain."""

    def __init__(self, root, name="pg", port=None):
        self.dir = Path(root) / name
        self.data = self.dir / "data"
        self.logfile = self.dir / "postgres.log"
        self.port = port or free_port()
        self.bindir = pg_bindir()
        self.as_root = os.geteuid() == 0
        register(self)

    def _cmd(self, *args, check=True, timeout=90):
        prefix = ["runuser", "-u", "postgres", "--"] if self.as_root else []
        cmd = prefix + [str(self.bindir / args[0])] + [str(a) for a in args[1:]]
        p = subprocess.run(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                           timeout=timeout, cwd="/tmp")
        if check and p.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd)} failed ({p.returncode}):\n{p.stdout}\n"
                               f"{self.log_tail()}")
        return p

    def init(self, start=True):
        """initdb, start, createdb brain; left running unless start is False
        (then the cluster exists with its database but is stopped)."""
        self.dir.mkdir(parents=True)
        if self.as_root:
            pw = pwd.getpwnam("postgres")
            os.chown(self.dir, pw.pw_uid, pw.pw_gid)
        self._cmd("initdb", "-D", self.data, "-A", "trust", "-U", "brain", "-E", "UTF8",
                  "--no-sync", "--locale=C")
        self.start()
        self._cmd("createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "brain", "brain")
        if not start:
            self.stop()
        return self

    def start(self):
        opts = (f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off "
                f"-c synchronous_commit=off -c full_page_writes=off -c max_connections=300 "
                # More server options for a benchmark's diagnosis, e.g.
                # "-c shared_preload_libraries=pg_stat_statements".
                + os.environ.get("BRAIN_PG_OPTS", ""))
        self._cmd("pg_ctl", "-D", self.data, "-l", self.logfile, "-w", "-t", "60", "-o", opts,
                  "start")
        register(self)

    def stop(self, mode="fast"):
        if self.running:
            self._cmd("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop", check=False)

    def restart(self):
        self.stop()
        self.start()

    def kill(self):
        """Teardown: immediate stop, then SIGKILL the postmaster if it lingers."""
        pid = self.postmaster_pid()
        if pid is None:
            return
        try:
            self._cmd("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "-t", "20", "stop",
                      check=False, timeout=30)
        except subprocess.TimeoutExpired:
            pass
        if _pid_alive(pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass

    def postmaster_pid(self):
        try:
            pid = int((self.data / "postmaster.pid").read_text().split("\n", 1)[0])
        except (OSError, ValueError):
            return None
        return pid if _pid_alive(pid) else None

    @property
    def running(self):
        return self.postmaster_pid() is not None

    def createdb(self, name):
        self._cmd("createdb", "-h", "127.0.0.1", "-p", self.port, "-U", "brain", name)

    def psql(self, sql, db="brain"):
        p = self._cmd("psql", "-X", "-A", "-t", "-q", "-v", "ON_ERROR_STOP=1", "-h", "127.0.0.1",
                      "-p", self.port, "-U", "brain", "-d", db, "-c", sql)
        return p.stdout.strip()

    def url_for(self, db="brain", password=None):
        cred = f"brain:{password}" if password else "brain"
        return f"postgresql://{cred}@127.0.0.1:{self.port}/{db}"

    @property
    def url(self):
        return self.url_for()

    def log_tail(self, n=30):
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


# ---------------------------------------------------------------- NATS


class Nats:
    """nats-server with JetStream; stop()/start() keep the port and store dir."""

    def __init__(self, root, name="nats", port=None):
        self.dir = Path(root) / name
        self.dir.mkdir(parents=True, exist_ok=True)
        self.port = port or free_port()
        self.logfile = self.dir / "nats.log"
        self.proc = None
        register(self)

    @property
    def url(self):
        return f"nats://127.0.0.1:{self.port}"

    @property
    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=20):
        if self.running:
            return
        log = open(self.logfile, "ab")
        try:
            self.proc = subprocess.Popen(
                ["nats-server", "-a", "127.0.0.1", "-p", str(self.port), "-js", "-sd",
                 str(self.dir / "js")],
                stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                preexec_fn=_pdeathsig, cwd=self.dir)
        finally:
            log.close()
        register(self)
        wait_for(self._answers, timeout, f"nats-server on port {self.port}")

    def _answers(self):
        if self.proc.poll() is not None:
            raise RuntimeError(f"nats-server exited {self.proc.returncode}: {self.log_tail()}")
        with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
            return s.recv(5) == b"INFO "

    def stop(self, timeout=10):
        if not self.running:
            return
        self.proc.terminate()
        try:
            self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(5)

    def kill(self):
        if self.running:
            self.proc.kill()
            self.proc.wait(5)

    def log_tail(self, n=20):
        try:
            return "\n".join(self.logfile.read_text(errors="replace").splitlines()[-n:])
        except OSError:
            return ""


# ---------------------------------------------------------------- daemons


class LogFormatError(AssertionError):
    pass


class Daemon:
    """One Brain daemon from build/<BRAIN_BUILD>/bin, stdout (the JSON log) and
    stderr (sanitizer reports) to files under <root>/logs."""

    def __init__(self, name, env, root, label=None, port=None):
        self.name = name
        self.port = port or free_port()
        self.label = label or f"{name}:{self.port}"
        self.env = dict(env)
        self.env.setdefault("PORT", str(self.port))
        self.env.setdefault("HTTP_BIND", "127.0.0.1")
        base = Path(root) / "logs" / f"{name}-{self.port}"
        self.logfile = base.with_suffix(".log")
        self.errfile = base.with_suffix(".err")
        self.proc = None
        self.statuses = []  # exit statuses of earlier runs
        # Set by stop()/send()/wait_exit(): a daemon not running without it crashed.
        self.stopped_on_purpose = False
        self._parsed, self._bad, self._offset = [], [], 0
        self._signalled = False

    @property
    def url(self):
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self):
        return self.proc.pid if self.proc else None

    @property
    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def full_env(self):
        env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "LANG": "C.UTF-8"}
        env.update(SANITIZER_ENV)
        env.update(self.env)
        return env

    def start(self, wait=True, args=(), timeout=30):
        """Start (again); with wait, until /ready answers 200."""
        if self.alive:
            raise RuntimeError(f"{self.label} already running")
        exe = binary(self.name)
        if not exe.exists():
            raise FileNotFoundError(f"{exe} does not exist (build it: make BUILD=... all)")
        out = open(self.logfile, "ab")
        err = open(self.errfile, "ab")
        try:
            self.proc = subprocess.Popen([str(exe), *args], env=self.full_env(), stdout=out,
                                         stderr=err, stdin=subprocess.DEVNULL,
                                         preexec_fn=_pdeathsig, cwd=str(REPO))
        finally:
            out.close()
            err.close()
        self.stopped_on_purpose = False
        self._signalled = False
        register(self)
        if wait:
            self.wait_ready(timeout)
        return self

    @property
    def crashed(self):
        return self.proc is not None and not self.alive and not self.stopped_on_purpose

    def _check_running(self):
        if self.proc.poll() is not None:
            raise AssertionError(f"{self.label} exited with status {self.proc.returncode}\n"
                                 f"{self.tail()}")

    def wait_status(self, path, code, timeout=30):
        def ok():
            self._check_running()
            return status_of(self.url + path) == code

        wait_for(ok, timeout, f"{self.label} GET {path} -> {code}")

    def wait_ready(self, timeout=30):
        self.wait_status("/ready", 200, timeout)

    def wait_exit(self, timeout=30):
        self.stopped_on_purpose = True
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"{self.label} still running after {timeout}s\n{self.tail()}")
        self.statuses.append(rc)
        return rc

    def send(self, sig):
        self.stopped_on_purpose = True
        self._signalled = True
        self.proc.send_signal(sig)

    def stop(self, sig=signal.SIGTERM, timeout=None):
        """Send sig, wait (SHUTDOWN_TIMEOUT_S + 10 s), then SIGKILL. Returns the
        exit status (negative: killed by that signal)."""
        if self.proc is None:
            return None
        self.stopped_on_purpose = True
        if self.proc.poll() is None:
            if timeout is None:
                timeout = int(self.env.get("SHUTDOWN_TIMEOUT_S", "20")) + 10
            try:
                if not self._signalled:
                    self.proc.send_signal(sig)
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        rc = self.proc.returncode
        self.statuses.append(rc)
        return rc

    def kill(self):
        if self.alive:
            self.proc.kill()
            self.proc.wait(10)

    # ---- logs

    def log_text(self):
        try:
            return self.logfile.read_text(errors="replace")
        except OSError:
            return ""

    def stderr_text(self):
        try:
            return self.errfile.read_text(errors="replace")
        except OSError:
            return ""

    def _refresh(self):
        """Parse what was appended to the log since the last call (the file only
        grows: it is opened for append on every start)."""
        try:
            with open(self.logfile, "rb") as f:
                f.seek(self._offset)
                data = f.read()
        except OSError:
            return
        end = data.rfind(b"\n")
        if end < 0:
            return  # no complete line yet
        self._offset += end + 1
        for raw in data[:end].split(b"\n"):
            n = len(self._parsed) + len(self._bad) + 1
            line = raw.decode("utf-8", errors="replace")
            try:
                obj = json.loads(line)
            except ValueError as e:
                self._bad.append(f"{self.label} stdout line {n} is not JSON ({e}): {line[:300]!r}")
                continue
            if not isinstance(obj, dict):
                self._bad.append(f"{self.label} stdout line {n} is not a JSON object: "
                                 f"{line[:300]!r}")
                continue
            self._parsed.append(obj)

    def log_lines(self, since=0):
        """The JSON log lines (complete ones), from index since. Any line that is
        not a JSON object fails: stdout must carry only the log."""
        self._refresh()
        if self._bad:
            raise LogFormatError("\n".join(self._bad[:5]))
        return self._parsed[since:]

    def mark(self):
        """A position in the log; pass it to log_lines(since=...)."""
        self._refresh()
        return len(self._parsed)

    def find_log(self, pred, timeout=5, since=0, what="a log line"):
        """Wait for a log line matching pred; return it."""
        def look():
            for line in self.log_lines(since):
                if pred(line):
                    return line
            return None

        return wait_for(look, timeout, f"{what} in {self.label}'s log")

    def sanitizer_report(self):
        text = self.stderr_text()
        for m in SANITIZER_MARKERS:
            i = text.find(m)
            if i >= 0:
                return text[max(0, i - 200):i + 4000]
        return None

    def tail(self, n=25):
        out = self.log_text().splitlines()[-n:]
        err = self.stderr_text().splitlines()[-n:]
        return (f"--- {self.logfile} (last {len(out)} lines)\n" + "\n".join(out) +
                f"\n--- {self.errfile} (last {len(err)} lines)\n" + "\n".join(err))


# ---------------------------------------------------------------- authentication

# The gateway signs access tokens with JWT_SECRET and, on an empty users table,
# creates the first admin from ADMIN_EMAIL/ADMIN_PASSWORD. Every daemon of a run
# gets the same three (only the gateway reads them), so tests can log in as
# that admin (conftest's `tokens`), or mint HS256 tokens with JWT_SECRET.
JWT_SECRET = "e2e-jwt-" + secrets.token_hex(24)
ADMIN_EMAIL = "admin@brain.test"
ADMIN_PASSWORD = "adm-" + secrets.token_hex(12)
# svc-toast's Fernet key for the run (ENCRYPTION_KEYS): 32 random bytes, URL-safe Base64.
ENCRYPTION_KEY = base64.urlsafe_b64encode(secrets.token_bytes(32)).decode()


# ---------------------------------------------------------------- the suite


def daemon_env(pg, nats, token, extra=None, db_password=None):
    env = {
        "DATABASE_URL": pg.url_for(password=db_password),
        "DB_POOL_SIZE": "4",
        "NATS_URL": nats.url,
        "LOG_LEVEL": "debug",
        "BRAIN_ENV": "test",
        "SHUTDOWN_TIMEOUT_S": "10",
        "GNUTLS_NO_IMPLICIT_INIT": "1",  # as deploy/ runs them
        "JWT_SECRET": JWT_SECRET,
        "ADMIN_EMAIL": ADMIN_EMAIL,
        "ADMIN_PASSWORD": ADMIN_PASSWORD,
        # The whole run calls as a handful of users: the gateway's limiter
        # runs (its headers are there) but never refuses. test_gate.py starts
        # gateways with low limits to test them.
        "RATE_LIMIT_RPS": "1000000",
        "RATE_LIMIT_BURST": "1000000",
        # svc-toast refuses to start without a key outside development.
        "ENCRYPTION_KEYS": ENCRYPTION_KEY,
    }
    if token:
        env["INTERNAL_TOKEN"] = token
    env.update(extra or {})
    return env


class Suite:
    """The six daemons: five services, then the gateway pointing at them."""

    def __init__(self, root, pg, nats, token=None, db_password=None, log_level="debug",
                 gateway_extra=None):
        self.root = Path(root)
        self.pg = pg
        self.nats = nats
        self.token = token if token is not None else secrets.token_hex(16)
        self.db_password = db_password
        self.daemons = {}
        for name in SERVICES:
            extra = {"LOG_LEVEL": log_level}
            # The suite's svc-toast runs no Toast jobs, so that the job-queue
            # tests' own workers get theirs; the toast fixture turns it on.
            if name == "svc-toast":
                extra["WORKER_CONCURRENCY"] = "0"
            # Nor reports, for the same reason: test_intelligence_recs.py runs
            # its own svc-intelligence with a report worker.
            if name == "svc-intelligence":
                extra["REPORT_WORKERS"] = "0"
            self.daemons[name] = Daemon(name, daemon_env(pg, nats, self.token, extra, db_password),
                                        root)
        gw_env = {"LOG_LEVEL": log_level, "UPSTREAM_TIMEOUT_MS": "5000"}
        for name in SERVICES:
            gw_env[UPSTREAM_VAR[name]] = self.daemons[name].url
        gw_env.update(gateway_extra or {})
        self.daemons["gateway"] = Daemon("gateway",
                                         daemon_env(pg, nats, self.token, gw_env, db_password),
                                         root)

    def __getitem__(self, name):
        return self.daemons[name]

    @property
    def gateway(self):
        return self.daemons["gateway"]

    def start(self, timeout=60):
        for name in SERVICES + ["gateway"]:
            self.daemons[name].start(wait=False)
        for name in SERVICES + ["gateway"]:
            self.daemons[name].wait_ready(timeout)
        return self

    def urls(self):
        return {n: d.url for n, d in self.daemons.items()}

    def stop(self):
        statuses = stop_all(list(self.daemons.values()))
        return {n: statuses[d.label] for n, d in self.daemons.items()}


def service_headers(token, **extra):
    h = {"X-Internal-Token": token} if token else {}
    h.update(extra)
    return h


def rm_root(root):
    shutil.rmtree(root, ignore_errors=True)


def rid():
    """A fresh, well-formed request id."""
    return "e2e-" + secrets.token_hex(12)


def is_rfc3339(ts):
    return bool(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)", ts))


def check_error(r, status, code):
    """r (a requests or rawhttp response) is the error shape of DESIGN section 3
    with this status and code, and X-Request-Id equals error.request_id. Returns
    the error object."""
    body_text = r.text if hasattr(r, "text") else r.body.decode(errors="replace")
    assert r.status_code == status, f"expected {status} {code}, got {r.status_code}: {body_text[:500]}"
    ctype = r.headers.get("content-type", "")
    assert ctype.startswith("application/json"), f"error Content-Type {ctype!r}: {body_text[:200]}"
    body = json.loads(body_text)
    assert set(body) == {"error"}, f"error body has other top-level keys: {body}"
    err = body["error"]
    assert err.get("code") == code, f"expected code {code!r}: {err}"
    assert isinstance(err.get("message"), str) and err["message"], f"empty message: {err}"
    assert isinstance(err.get("request_id"), str) and err["request_id"], f"no request_id: {err}"
    hdr = r.headers.get("x-request-id")
    assert hdr == err["request_id"], f"X-Request-Id {hdr!r} != error.request_id {err['request_id']!r}"
    return err
