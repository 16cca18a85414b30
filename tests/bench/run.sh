#!/usr/bin/env bash
# make bench: RSS of each daemon idle and after load, and wrk figures (p50, p99,
# req/s) for GET /health on svc-automation, on the gateway, and a proxied path
# through the gateway. The work is in bench.py (it starts its own PostgreSQL,
# NATS and the six release daemons through tests/e2e/harness.py).
#   BENCH_DURATION=10s BENCH_THREADS=2 BENCH_CONNECTIONS=32 BENCH_JSON=out.json
# The start-up time of `make run` is measured by tests/bench/startup.sh.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
command -v wrk >/dev/null || { echo "bench: wrk is not installed (make deps)" >&2; exit 1; }
export BRAIN_BUILD=${BRAIN_BUILD:-build/release}
exec /usr/bin/python3 -B tests/bench/bench.py "$@"
