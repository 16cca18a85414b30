#!/usr/bin/env bash
# How long `make run` takes until all six daemons are ready, cold (first run:
# initdb) and warm (the runs after it, var/ already there). Each run uses a
# private state directory and free ports, starts `make run` in its own process
# group, waits for its "all six ready" line, records the time, then sends
# SIGINT to the group (as Ctrl-C would) and checks that it stopped cleanly.
#   STARTUP_RUNS=3      warm runs after the cold one
#   STARTUP_CMD="make --no-print-directory run"   what to time (e.g.
#                       "deploy/local/run.sh" to leave out make and the build check)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."

RUNS=${STARTUP_RUNS:-3}
CMD=${STARTUP_CMD:-make --no-print-directory run}
TIMEOUT_S=${STARTUP_TIMEOUT_S:-120}

VAR=$(mktemp -d /tmp/brain-startup-XXXXXX)
chmod 755 "$VAR"
RUN_PID=""

cleanup() {
    if [[ -n $RUN_PID ]] && kill -0 "$RUN_PID" 2>/dev/null; then
        kill -INT -- "-$RUN_PID" 2>/dev/null || true
        for _ in $(seq 1 300); do kill -0 "$RUN_PID" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$RUN_PID" 2>/dev/null || true
    fi
    # Anything of ours still alive (a daemon, nats-server, postgres) is named by its path.
    local left
    left=$(pgrep -f -- "$VAR" || true)
    if [[ -n $left ]]; then
        echo "startup: processes left behind, killing: $left" >&2
        kill -KILL $left 2>/dev/null || true
    fi
    rm -rf "$VAR"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

free_port() {
    /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'
}
export BRAIN_VAR=$VAR/var
for v in PG_PORT NATS_PORT GATEWAY_PORT AUTOMATION_PORT INTELLIGENCE_PORT TOAST_PORT \
    EMBEDDING_PORT SYNC_PORT; do
    export "$v=$(free_port)"
done

now_ms() { local t=${EPOCHREALTIME//[!0-9]/}; echo $((10#$t / 1000)); }

# run_once LABEL: prints "LABEL <ms to ready> <run.sh's own figures>"
run_once() {
    local label=$1 out=$VAR/$1.out t0 t1 line
    t0=$(now_ms)
    /usr/bin/python3 -c 'import os, signal, sys
signal.signal(signal.SIGINT, signal.SIG_DFL)
os.setsid()
os.execvp("bash", ["bash", "-c", "exec " + sys.argv[1]])' "$CMD" </dev/null >"$out" 2>&1 &
    RUN_PID=$!
    while :; do
        if line=$(grep -m1 'all six ready' "$out"); then
            break
        fi
        if ! kill -0 "$RUN_PID" 2>/dev/null; then
            echo "startup: $label: '$CMD' exited before the suite was ready:" >&2
            tail -n 30 "$out" >&2
            exit 1
        fi
        if (($(now_ms) - t0 > TIMEOUT_S * 1000)); then
            echo "startup: $label: not ready after $TIMEOUT_S s" >&2
            tail -n 30 "$out" >&2
            exit 1
        fi
        sleep 0.02
    done
    t1=$(now_ms)
    kill -INT -- "-$RUN_PID"
    local rc=0 stop_deadline=$(($(now_ms) + 60000))
    while kill -0 "$RUN_PID" 2>/dev/null; do
        if (($(now_ms) > stop_deadline)); then
            echo "startup: $label: still running 60 s after SIGINT" >&2
            tail -n 30 "$out" >&2
            exit 1
        fi
        sleep 0.05
    done
    wait "$RUN_PID" 2>/dev/null || rc=$?
    RUN_PID=""
    # make itself reports a Ctrl-C as 130 once run.sh has stopped cleanly: judge
    # by run.sh's own summary then.
    local clean=1
    grep -qx 'brain: stopped' "$out" || clean=0
    if grep -E '^brain:   [a-z-]+ +' "$out" | grep -vqE ' exit 0$'; then clean=0; fi
    if ((rc != 0 && !(rc == 130 && clean))) || ((!clean)); then
        echo "startup: $label: '$CMD' exited $rc after SIGINT:" >&2
        tail -n 30 "$out" >&2
        exit 1
    fi
    if pgrep -f -- "$VAR" >/dev/null; then
        echo "startup: $label: processes still running after the run stopped:" >&2
        pgrep -af -- "$VAR" >&2
        exit 1
    fi
    printf '%-6s %6d ms   (%s)\n' "$label" "$((t1 - t0))" "${line#brain: }"
}

echo "startup: '$CMD' until 'all six ready', state in $BRAIN_VAR"
run_once cold
for i in $(seq 1 "$RUNS"); do
    run_once "warm$i"
done
