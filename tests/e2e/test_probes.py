"""The six probes of every daemon (DESIGN section 3) and the /metrics format."""

import math

import pytest

from harness import API_PREFIX, DAEMONS, SERVICES, get, wait_for
from promtext import Metrics

HEALTHY = "healthy"


def json_of(r):
    assert r.headers.get("Content-Type", "").startswith("application/json"), \
        f"{r.url}: Content-Type {r.headers.get('Content-Type')!r}"
    return r.json()


@pytest.mark.parametrize("name", DAEMONS)
def test_health(suite, name):
    d = suite[name]
    r = get(d.url + "/health")
    assert r.status_code == 200
    body = json_of(r)
    assert body["status"] == HEALTHY
    assert body["service"] == name
    assert isinstance(body["version"], str) and body["version"]
    assert isinstance(body["uptime_seconds"], (int, float)) and body["uptime_seconds"] >= 0


@pytest.mark.parametrize("name", SERVICES)
def test_service_health_through_the_gateway(suite, name):
    # Each service also answers its liveness under its own prefix, so it can
    # be asked through the gateway.
    prefix = API_PREFIX[name].rstrip("/")
    r = get(suite.gateway.url + prefix + "/health")
    assert r.status_code == 200, f"{prefix}/health: {r.status_code} {r.text[:200]}"
    body = json_of(r)
    assert body["status"] == HEALTHY
    assert body["service"] == name


def test_same_version_everywhere(suite):
    versions = {n: get(suite[n].url + "/health").json()["version"] for n in DAEMONS}
    assert len(set(versions.values())) == 1, versions


@pytest.mark.parametrize("name", DAEMONS)
def test_uptime_grows(suite, name):
    url = suite[name].url + "/health"
    first = get(url).json()["uptime_seconds"]
    wait_for(lambda: get(url).json()["uptime_seconds"] > first, 5, "uptime_seconds to grow")


@pytest.mark.parametrize("name", DAEMONS)
def test_live_ready_startup(suite, name):
    d = suite[name]
    for path in ("/live", "/ready", "/startup"):
        r = get(d.url + path)
        assert r.status_code == 200, f"{name} {path}: {r.status_code} {r.text}"
        json_of(r)


@pytest.mark.parametrize("name", DAEMONS)
def test_probes_need_no_token(suite, name):
    # The suite runs with INTERNAL_TOKEN set; probes stay public.
    for path in ("/health", "/health/detailed", "/live", "/ready", "/startup", "/metrics"):
        r = get(suite[name].url + path)
        assert r.status_code == 200, f"{name} {path}: {r.status_code} {r.text[:200]}"


def check_dependency(checks, key, where):
    assert key in checks, f"{where}: no {key!r} check in {sorted(checks)}"
    c = checks[key]
    assert c["status"] == HEALTHY, f"{where}: {key} {c}"
    assert isinstance(c["latency_ms"], (int, float)) and c["latency_ms"] >= 0, f"{where}: {c}"


@pytest.mark.parametrize("name", SERVICES)
def test_detailed_health_of_service(suite, name):
    r = get(suite[name].url + "/health/detailed")
    assert r.status_code == 200, r.text
    body = json_of(r)
    assert body["status"] == HEALTHY, body
    assert body["service"] == name
    for dep in ("postgres", "nats"):
        check_dependency(body["checks"], dep, name)


def test_gateway_detailed_health_nests_every_upstream(suite):
    r = get(suite.gateway.url + "/health/detailed", timeout=10)
    assert r.status_code == 200, r.text
    body = json_of(r)
    assert body["status"] == HEALTHY, body
    assert body["service"] == "gateway"
    checks = body["checks"]
    for dep in ("postgres", "nats"):
        check_dependency(checks, dep, "gateway")
    for svc in SERVICES:
        check_dependency(checks, svc, "gateway")
        detail = checks[svc].get("detail")
        assert isinstance(detail, dict), f"gateway check {svc} has no nested detail: {checks[svc]}"
        assert detail.get("service") == svc, detail
        assert detail.get("status") == HEALTHY, detail
        for dep in ("postgres", "nats"):
            check_dependency(detail["checks"], dep, f"gateway -> {svc}")
    extra = set(checks) - {"postgres", "nats", *SERVICES}
    assert not extra, f"unexpected checks (an upstream listed twice?): {extra}"


# ---------------------------------------------------------------- /metrics


def scrape(url):
    r = get(url + "/metrics")
    assert r.status_code == 200
    ctype = r.headers.get("Content-Type", "")
    assert ctype.startswith("text/plain") and "version=0.0.4" in ctype, ctype
    return Metrics(r.text)


@pytest.mark.parametrize("name", DAEMONS)
def test_metrics_format(suite, name):
    d = suite[name]
    get(d.url + "/health")
    m = scrape(d.url)
    assert m.types.get("http_requests_total") == "counter", m.types
    assert m.types.get("http_request_duration_seconds") == "histogram", m.types
    assert "http_requests_total" in m.helps and "http_request_duration_seconds" in m.helps
    reqs = m.series("http_requests_total")
    assert reqs, "no http_requests_total series after a request"
    for labels, value in reqs:
        assert set(labels) == {"service", "route", "method", "code"}, labels
        assert labels["service"] == name, labels
        assert labels["code"].isdigit() and len(labels["code"]) == 3, labels
        assert value >= 0 and not math.isnan(value)
    for labels, _ in m.series("http_request_duration_seconds_count"):
        assert set(labels) == {"service", "route", "method"}, labels


@pytest.mark.parametrize("name", DAEMONS)
def test_metrics_counters_increase(suite, name):
    d = suite[name]
    labels = {"route": "/health", "method": "GET", "code": "200"}
    before = scrape(d.url)
    n0 = before.get("http_requests_total", **labels)
    h0 = before.get("http_request_duration_seconds_count", route="/health", method="GET")
    for _ in range(5):
        assert get(d.url + "/health").status_code == 200

    def counted():
        m = scrape(d.url)
        return (m.get("http_requests_total", **labels) >= n0 + 5
                and m.get("http_request_duration_seconds_count", route="/health",
                          method="GET") >= h0 + 5)

    wait_for(counted, 5, f"{name}: 5 more /health requests counted")


def test_route_label_is_the_pattern_not_the_path(suite, admin):
    marker = "xyz-123"
    gw = suite.gateway
    svc = suite["svc-automation"]
    get(gw.url + f"/api/automation/{marker}", headers=admin)
    get(gw.url + f"/api/automation/jobs/{marker}?q={marker}", headers=admin)
    get(gw.url + f"/api/automation/jobs/{marker}?q={marker}")
    get(gw.url + f"/nope-{marker}")
    get(svc.url + f"/api/automation/{marker}", headers={"X-Internal-Token": suite.token})
    get(svc.url + f"/unknown-{marker}", headers={"X-Internal-Token": suite.token})
    for d in (gw, svc):
        m = scrape(d.url)
        leaked = [v for v in m.label_values() if marker in v]
        assert not leaked, f"{d.name}: raw path in metric labels: {leaked}"
    # The proxied request is still counted, under some bounded route label.
    m = scrape(gw.url)
    assert m.get("http_requests_total", method="GET", code="404") >= 1
