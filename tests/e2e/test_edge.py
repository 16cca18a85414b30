"""The edge of the suite: civetweb 1.15's known weaknesses (the crash input of
CVE-2025-55763 and control characters in the URI) against the gateway and a
service under the sanitizer build, the API documentation routes (/openapi.json
and Swagger UI under /docs, served from one folder only), and the metrics'
format checked by Prometheus's own promtool."""

import json
import os
import shutil
import subprocess

import pytest

import rawhttp
from harness import REPO, SERVICES, UPSTREAM_VAR, get
from promtext import Metrics
from test_proxy import start_gateway

OPENAPI = REPO / "gateway" / "openapi.json"
SWAGGER_UI = REPO / "build" / "swagger-ui"

# ---------------------------------------------------------------- helpers


def check_json_error(r, statuses):
    """r (rawhttp) is an error in the shape of DESIGN section 3 with one of
    statuses. Returns the status."""
    body = r.body.decode(errors="replace")
    assert r.status_code in statuses, f"expected one of {statuses}, got {r.status_code}: {body[:300]}"
    assert r.headers.get("content-type", "").startswith("application/json"), r.headers
    doc = json.loads(body)
    assert set(doc) == {"error"}, doc
    err = doc["error"]
    assert err.get("code") and err.get("message") and err.get("request_id"), err
    assert r.headers.get("x-request-id") == err["request_id"], r.headers
    return r.status_code


def assert_alive(d):
    """The daemon still answers, on a new connection."""
    assert d.alive, d.tail()
    assert get(d.url + "/health", timeout=5).status_code == 200


def raw_get(d, path, token):
    """A GET with path sent byte for byte (requests would clean it up)."""
    headers = {} if d.name == "gateway" else {"X-Internal-Token": token}
    return rawhttp.request(d.port, "GET", path, headers=headers, timeout=10)


def gateway_env(suite, **override):
    """The suite gateway's environment (whatever auth and the gate need), its
    port left out, with override on top."""
    env = {k: v for k, v in suite.gateway.env.items() if k != "PORT"}
    env.update({UPSTREAM_VAR[s]: suite[s].url for s in SERVICES})
    env.update(override)
    return env


# ---------------------------------------------------------------- civetweb's weaknesses

SLASHES = "/" * 1000
# The path, and what a clean answer is: an error in the JSON shape, or (civetweb
# merges repeated slashes) the page that the merged path names.
CRASH_PATHS = {
    "slashes": (SLASHES, (400, 404)),
    "prefix-slashes": ("/api/automation" + SLASHES, (400, 403, 404)),
    "docs-slashes": ("/docs" + SLASHES, (200, 400, 404)),
    "slashes-x": (SLASHES + "x", (400, 404)),
}

# A URI with CR, LF or NUL, raw or percent-encoded, is refused with 400 before
# routing (issue 4), wherever it is in the path.
CONTROL_PATHS = [
    "/api/automation/jobs\rx",
    "/api/automation/jobs\nx",
    "/api/automation/jobs\x00x",
    "/api/automation/jobs%0d",
    "/api/automation/jobs%0A",
    "/api/automation/jobs%00",
    "/api/automation/jobs%0d%0aX-Injected:%201",
    "/api/automation/%0D%0A/jobs",
    "/docs/index.html%00.js",
    "/health%0a",
]


@pytest.mark.parametrize("name", ["gateway", "svc-automation"])
@pytest.mark.parametrize("case", CRASH_PATHS)
def test_a_thousand_slashes_get_a_clean_answer(suite, name, case):
    path, allowed = CRASH_PATHS[case]
    d = suite[name]
    r = raw_get(d, path, suite.token)
    if r.status_code == 200 and 200 in allowed and name == "gateway":
        assert r.headers["content-type"].startswith("text/html"), r.headers
    else:
        check_json_error(r, tuple(s for s in allowed if s != 200))
    assert_alive(d)


@pytest.mark.parametrize("name", ["gateway", "svc-automation"])
@pytest.mark.parametrize("path", CONTROL_PATHS)
def test_control_characters_in_the_uri_get_400(suite, name, path):
    d = suite[name]
    before = len(suite["svc-automation"].log_lines())
    r = raw_get(d, path, suite.token)
    check_json_error(r, (400,))
    assert_alive(d)
    if name == "gateway":
        # Refused at the edge: nothing reached the service.
        reached = [l for l in suite["svc-automation"].log_lines(before)
                   if l.get("request_id") == r.headers.get("x-request-id")]
        assert reached == [], reached


def test_many_crash_inputs_in_a_row_leave_the_gateway_serving(suite):
    gw = suite.gateway
    for path in [p for p, _ in CRASH_PATHS.values()] + CONTROL_PATHS:
        r = raw_get(gw, path, suite.token)
        assert r.status_code < 500, (path, r.status_code, r.body[:200])
    assert_alive(gw)
    assert get(gw.url + "/api/automation/health").status_code == 200


# ---------------------------------------------------------------- /openapi.json


def test_openapi_json_is_served(suite):
    r = get(suite.gateway.url + "/openapi.json")
    assert r.status_code == 200, r.text[:300]
    assert r.headers["content-type"].startswith("application/json")
    doc = r.json()
    assert doc == json.loads(OPENAPI.read_text()), "served document differs from the file"
    assert doc["openapi"].startswith("3.1.")
    assert "/api/automation/jobs" in doc["paths"]


def test_openapi_missing_file_is_503(suite, spawn, tmp_path):
    gw = start_gateway(spawn, gateway_env(suite, OPENAPI_FILE=str(tmp_path / "none.json")))
    r = rawhttp.request(gw.port, "GET", "/openapi.json")
    check_json_error(r, (503,))
    assert gw.find_log(lambda l: l.get("level") == "error" and "OPENAPI_FILE" in l.get("msg", ""))


# ---------------------------------------------------------------- /docs


def test_docs_serves_swagger_ui_pointing_at_openapi_json(suite):
    assert SWAGGER_UI.is_dir(), ("build/swagger-ui is missing: the build fetches it with "
                                 "'make swagger-ui' (npm package swagger-ui-dist)")
    base = suite.gateway.url
    for path in ("/docs", "/docs/", "/docs/index.html"):
        r = get(base + path)
        assert r.status_code == 200, (path, r.text[:200])
        assert r.headers["content-type"].startswith("text/html")
        assert '<script src="/docs/swagger-ui-bundle.js">' in r.text
        assert '<script src="/docs/swagger-initializer.js">' in r.text
        assert "default-src 'self'" in r.headers.get("content-security-policy", "")
    init = get(base + "/docs/swagger-initializer.js")
    assert init.status_code == 200
    assert 'url: "/openapi.json"' in init.text
    assert "petstore" not in init.text, "the package's own initializer was served"
    bundle = get(base + "/docs/swagger-ui-bundle.js")
    assert bundle.status_code == 200
    assert bundle.headers["content-type"].startswith("text/javascript")
    assert bundle.content == (SWAGGER_UI / "swagger-ui-bundle.js").read_bytes()
    css = get(base + "/docs/swagger-ui.css")
    assert css.status_code == 200 and css.headers["content-type"].startswith("text/css")
    png = get(base + "/docs/favicon-32x32.png")
    assert png.status_code == 200 and png.headers["content-type"] == "image/png"
    assert png.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert png.headers.get("x-content-type-options") == "nosniff"


ESCAPES = [
    "/docs/../Makefile",
    "/docs/..%2fMakefile",
    "/docs/%2e%2e/Makefile",
    "/docs/%2e%2e%2fMakefile",
    "/docs/..\\Makefile",
    "/docs/..%5cMakefile",
    "/docs//etc/passwd",
    "/docs/%2fetc%2fpasswd",
    "/docs/a/../../Makefile",
    "/docs/.swagger-ui-dist-5.35.0.tgz",
    "/docs/swagger-ui-bundle.js.map",
    "/docs/package.json",
    "/docs/LICENSE",
    "/docs/swagger-ui.css%20",
    "/docs/" + "a" * 300 + ".js",
]


@pytest.mark.parametrize("path", ESCAPES)
def test_docs_serves_nothing_outside_its_folder(suite, path):
    r = raw_get(suite.gateway, path, suite.token)
    check_json_error(r, (400, 404))
    assert b"BUILD" not in r.body and b"root:" not in r.body


def test_docs_refuses_symlinks_and_hard_links(suite, spawn, tmp_path):
    docs = tmp_path / "ui"
    docs.mkdir()
    (docs / "ok.js").write_text("console.log('ok');\n")
    outside = tmp_path / "secret.txt"
    outside.write_text("not for the web\n")
    (docs / "out.js").symlink_to(outside)
    (docs / "in.js").symlink_to(docs / "ok.js")
    (docs / "sub").mkdir()
    (docs / "sub.js").symlink_to(docs / "sub")
    os.link(outside, docs / "hard.txt")
    gw = start_gateway(spawn, gateway_env(suite, DOCS_DIR=str(docs)))
    r = get(gw.url + "/docs/ok.js")
    assert r.status_code == 200 and r.text == "console.log('ok');\n"
    for name in ("out.js", "in.js", "sub.js", "hard.txt", "sub"):
        r = rawhttp.request(gw.port, "GET", "/docs/" + name)
        check_json_error(r, (404,))
        assert b"not for the web" not in r.body


def test_docs_without_swagger_ui_is_503(suite, spawn, tmp_path):
    gw = start_gateway(spawn, gateway_env(suite, DOCS_DIR=str(tmp_path / "absent")))
    for path in ("/docs", "/docs/swagger-ui-bundle.js"):
        r = rawhttp.request(gw.port, "GET", path)
        check_json_error(r, (503,))
        assert b"make swagger-ui" in r.body
    assert get(gw.url + "/openapi.json").status_code == 200
    assert gw.find_log(lambda l: l.get("level") == "warn" and "DOCS_DIR" in l.get("msg", ""))


# ---------------------------------------------------------------- metrics


def promtool_check(text):
    promtool = shutil.which("promtool")
    if promtool is None:
        pytest.fail("promtool is not installed (Debian package prometheus; make deps installs it)")
    p = subprocess.run([promtool, "check", "metrics"], input=text, capture_output=True, text=True,
                       timeout=30)
    return p.returncode, (p.stdout + p.stderr).strip()


@pytest.mark.parametrize("name", ["gateway", "svc-automation"])
def test_metrics_pass_promtool(suite, name):
    # Traffic first, so that labelled series and histograms exist.
    assert get(suite.gateway.url + "/api/automation/health").status_code == 200
    get(suite.gateway.url + "/api/automation/jobs")
    d = suite[name]
    text = get(d.url + "/metrics").text
    rc, out = promtool_check(text)
    assert rc == 0 and out == "", f"promtool check metrics on {name}'s /metrics:\n{out}"


def test_promtool_is_not_a_rubber_stamp():
    rc, out = promtool_check("# HELP bad_count x\n# TYPE bad_count counter\nbad_count 1\n")
    assert rc != 0 and "_total" in out, out


def test_gateway_metric_names_and_labels(suite):
    gw = suite.gateway
    assert get(gw.url + "/api/automation/health").status_code == 200
    m = Metrics(get(gw.url + "/metrics").text)
    assert m.types.get("gateway_upstream_requests_total") == "counter"
    assert m.types.get("gateway_upstream_duration_seconds") == "histogram"
    assert m.types.get("gateway_circuit_open") == "gauge"
    reqs = m.series("gateway_upstream_requests_total")
    assert reqs and all(set(lab) == {"upstream", "code"} for lab, _ in reqs), reqs
    assert m.get("gateway_upstream_requests_total", upstream="svc-automation", code="200") >= 1
    buckets = m.series("gateway_upstream_duration_seconds_bucket")
    assert buckets and all(set(lab) == {"upstream", "le"} for lab, _ in buckets), buckets[:3]
    circuits = {lab["upstream"]: v for lab, v in m.series("gateway_circuit_open")}
    assert circuits == {s: 0 for s in SERVICES}, circuits
    # Internal addresses never become label values.
    assert not any("127.0.0.1" in v for v in m.label_values())
