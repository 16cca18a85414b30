#!/usr/bin/env bash
# make run: the whole Brain suite on this machine, in the foreground.
#
# Starts a private PostgreSQL cluster and a NATS server (JetStream) whose state
# lives under var/ (created on the first run, reused after: the data persists),
# then the six daemons from build/release/bin. Waits until every daemon's
# /ready answers 200, prints where things are, and stays in the foreground.
# Ctrl-C, SIGTERM, or any daemon (or NATS, or PostgreSQL) exiting stops it all
# in order: the gateway, then the services (each gets SIGTERM and
# SHUTDOWN_TIMEOUT_S to drain while NATS and PostgreSQL are still up), then
# NATS, then PostgreSQL. A second Ctrl-C while stopping kills what is left.
#
# Environment (all optional):
#   PG_PORT 5440, NATS_PORT 4230, GATEWAY_PORT 8080, AUTOMATION_PORT 8081,
#   INTELLIGENCE_PORT 8082, TOAST_PORT 8083, EMBEDDING_PORT 8084, SYNC_PORT 8085
#     (not 5432/4222, so a system PostgreSQL or NATS does not clash)
#   BRAIN_VAR           state directory (default: var/ in the repository)
#   BRAIN_BIN           where the daemons are (default: build/release/bin)
#   READY_TIMEOUT_S     how long every /ready may take to answer 200 (60)
#   SHUTDOWN_TIMEOUT_S  drain time per daemon (20), given to the daemons; what
#                       still runs 5 s after that is killed
#   PG_BIN              PostgreSQL's bin directory (default: the newest under
#                       /usr/lib/postgresql, or the one that made var/pg)
#   HTTP_BIND, LOG_LEVEL, HTTP_THREADS, DB_POOL_SIZE, BRAIN_ENV and the
#   daemons' own variables are passed through to the daemons.
#
# Secrets are generated once into var/secrets/ (mode 600) and reach the daemons
# as DATABASE_URL_FILE and INTERNAL_TOKEN_FILE, so no password or token shows in
# `ps` or in a process environment. To open a SQL shell on the suite's database:
#   psql "$(cat var/secrets/database_url)"
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

say() { printf 'brain: %s\n' "$*"; }
# After a signal, whatever failed failed because of it (psql or pg_ctl got the
# same Ctrl-C): say so rather than blame the step.
die() {
    if [[ -n ${STOP_REASON:-} && $1 != interrupted* ]]; then
        printf 'brain: interrupted (%s)\n' "$STOP_REASON" >&2
    else
        printf 'brain: %s\n' "$*" >&2
    fi
    exit 1
}

START_US=$(brain_now_us)

VAR=$(brain_var_dir)
BIN=${BRAIN_BIN:-$BRAIN_ROOT/build/release/bin}
case $BIN in /*) ;; *) BIN=$PWD/$BIN ;; esac
LOGDIR=$VAR/log
RUNDIR=$VAR/run
SECRETS=$VAR/secrets
PGDATA=$VAR/pg
PGSOCK=$VAR/pg-sock

READY_TIMEOUT_S=${READY_TIMEOUT_S:-60}
SHUTDOWN_TIMEOUT_S=${SHUTDOWN_TIMEOUT_S:-20}
[[ $READY_TIMEOUT_S =~ ^[0-9]+$ ]] || die "READY_TIMEOUT_S=$READY_TIMEOUT_S is not a number of seconds"
[[ $SHUTDOWN_TIMEOUT_S =~ ^[0-9]+$ ]] || die "SHUTDOWN_TIMEOUT_S=$SHUTDOWN_TIMEOUT_S is not a number of seconds"
# pg_ctl hands its -o options to a shell, where the socket path sits in quotes.
[[ $VAR != *"'"* ]] || die "BRAIN_VAR must not contain a single quote: $VAR"

PG_PORT=$(brain_port PG_PORT 5440)
NATS_PORT=$(brain_port NATS_PORT 4230)
declare -A PORT=()
for d in "${BRAIN_DAEMONS[@]}"; do
    PORT[$d]=$(brain_port "${BRAIN_PORT_VAR[$d]}" "${BRAIN_PORT_DEFAULT[$d]}")
done

# Where the daemons listen, and so where /ready is asked.
HTTP_HOST=${HTTP_BIND:-127.0.0.1}
[[ $HTTP_HOST == 0.0.0.0 ]] && HTTP_HOST=127.0.0.1

# ---- state for the shutdown path -------------------------------------------
declare -A DPID=()   # daemon -> pid, once started
declare -A STATUS=() # daemon -> how it ended
NATS_PID=""
PG_STARTED=0
PG_PID=""
TIMER_PID=""
STOP_REASON=""
SIGNALS=0
SHUT_DONE=0
UNEXPECTED=0 # a daemon exited, or a daemon did not stop cleanly

# shellcheck disable=SC2317 # called from the traps below
on_signal() {
    SIGNALS=$((SIGNALS + 1))
    [[ -n $STOP_REASON ]] || STOP_REASON=$1
}
trap 'on_signal SIGINT' INT
trap 'on_signal SIGTERM' TERM
trap 'on_signal SIGHUP' HUP
trap 'rc=$?; shutdown_all; exit "$rc"' EXIT

# Sleep that a trapped signal interrupts at once (a foreground sleep would
# delay the trap until it ends).
pause() {
    sleep "$1" &
    TIMER_PID=$!
    wait "$TIMER_PID" || true
    TIMER_PID=""
}

alive() { [[ -n $1 ]] && kill -0 "$1" 2>/dev/null; }

# How a process ended, from the status `wait` gave.
describe_status() {
    local rc=$1
    if ((rc == 0)); then
        printf 'exit 0'
    elif ((rc > 128)); then
        printf 'killed by SIG%s' "$(kill -l "$((rc - 128))" 2>/dev/null || echo "$((rc - 128))")"
    else
        printf 'exit %d' "$rc"
    fi
}

show_log_tail() {
    local f=$1
    if [[ -s $f ]]; then
        printf 'brain: last 20 lines of %s:\n' "$f" >&2
        tail -n 20 "$f" | sed 's/^/    /' >&2
    else
        printf 'brain: %s is empty\n' "$f" >&2
    fi
}

# ---- PostgreSQL as the right user -------------------------------------------
# PostgreSQL refuses to run as root. As root it runs as the owner of an
# existing var/pg, else as "postgres"; otherwise as the calling user.
ME=$(id -un)
PG_OS_USER=$ME
pick_pg_user() {
    local owner=""
    [[ ! -d $PGDATA ]] || owner=$(stat -c %U "$PGDATA")
    if ((EUID == 0)); then
        PG_OS_USER=postgres
        [[ -z $owner || $owner == root ]] || PG_OS_USER=$owner
        id -u "$PG_OS_USER" >/dev/null 2>&1 ||
            die "PostgreSQL cannot run as root and there is no '$PG_OS_USER' user (install the postgresql package: make deps)"
    elif [[ -n $owner && $owner != "$ME" ]]; then
        die "$PGDATA belongs to $owner, not $ME: run as $owner (or root), or set BRAIN_VAR to another directory"
    fi
}

# Run a PostgreSQL program as PG_OS_USER, from a directory it can enter,
# without the run lock (the postmaster would keep it held).
as_pg() {
    (
        exec 9>&-
        cd "$VAR"
        if [[ $PG_OS_USER == "$ME" ]]; then
            "$@"
        else
            runuser -u "$PG_OS_USER" -- "$@"
        fi
    )
}

find_pg_bin() {
    if [[ -n ${PG_BIN:-} ]]; then
        printf '%s\n' "$PG_BIN"
    elif [[ -f $PGDATA/PG_VERSION ]]; then
        printf '/usr/lib/postgresql/%s/bin\n' "$(<"$PGDATA/PG_VERSION")"
    else
        local newest
        newest=$(printf '%s\n' /usr/lib/postgresql/*/bin | sort -V | tail -n 1)
        printf '%s\n' "$newest"
    fi
}

# ---- checks before anything starts ------------------------------------------
check_tools() {
    local -a missing=()
    local t
    for t in nats-server psql curl setsid flock; do
        command -v "$t" >/dev/null 2>&1 || missing+=("$t")
    done
    ((EUID != 0)) || command -v runuser >/dev/null 2>&1 || missing+=(runuser)
    if [[ ! -x $PG_BIN/initdb || ! -x $PG_BIN/pg_ctl ]]; then
        [[ ! -f $PGDATA/PG_VERSION ]] ||
            die "$PGDATA was made by PostgreSQL $(<"$PGDATA/PG_VERSION"), whose programs are not in $PG_BIN (set PG_BIN)"
        missing+=("$PG_BIN/initdb")
    fi
    ((${#missing[@]} == 0)) || die "missing: ${missing[*]} (install them with: make deps)"
    local -a nobin=()
    for t in "${BRAIN_DAEMONS[@]}"; do
        [[ -x $BIN/$t ]] || nobin+=("$t")
    done
    ((${#nobin[@]} == 0)) || die "not built yet (no ${nobin[*]} in $BIN): run 'make' first ('make run' builds them)"
}

check_distinct_ports() {
    declare -A seen=()
    local label port
    for label in PG_PORT NATS_PORT "${BRAIN_DAEMONS[@]}"; do
        case $label in
        PG_PORT) port=$PG_PORT ;;
        NATS_PORT) port=$NATS_PORT ;;
        *) port=${PORT[$label]} ;;
        esac
        [[ -z ${seen[$port]:-} ]] || die "${seen[$port]} and $label both use port $port"
        seen[$port]=$label
    done
}

port_busy() {
    if command -v ss >/dev/null 2>&1; then
        [[ -n $(ss -Hltn "sport = :$1") ]]
    else
        (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
    fi
}

# A process of an earlier run that was killed without cleaning up (kill -9)
# would hold a port: name it and say how to stop it.
check_leftovers() {
    local -a found=() pids=()
    local d pid as="" pgstop=""
    [[ $PG_OS_USER == "$ME" ]] || as="runuser -u $PG_OS_USER -- "
    if [[ -f $PGDATA/postmaster.pid ]] && as_pg "$PG_BIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1; then
        pgstop="$as$PG_BIN/pg_ctl stop -D $PGDATA -m fast"
        found+=("PostgreSQL is still running on $PGDATA; stop it with: $pgstop")
    fi
    for d in "${BRAIN_DAEMONS[@]}" nats-server; do
        [[ -f $RUNDIR/$d.pid ]] || continue
        pid=$(<"$RUNDIR/$d.pid")
        if [[ ! $pid =~ ^[0-9]+$ ]] || ! alive "$pid"; then
            continue
        fi
        tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -F -- "$d" >/dev/null || continue
        found+=("$d is still running as pid $pid; stop it with: kill $pid")
        pids+=("$pid")
    done
    if ((${#found[@]})); then
        printf 'brain: an earlier run did not stop cleanly:\n' >&2
        printf '    %s\n' "${found[@]}" >&2
        if ((${#found[@]} > 1)); then
            # The daemons first, so that they drain while the servers are up.
            printf 'brain: or all at once: %s%s%s\n' "${pids[*]:+kill ${pids[*]}}" \
                "${pids[*]:+${pgstop:+; sleep $((SHUTDOWN_TIMEOUT_S + 1)); }}" "$pgstop" >&2
        fi
        exit 1
    fi
}

check_ports() {
    local -a busy=()
    local d
    port_busy "$PG_PORT" && busy+=("port $PG_PORT (PostgreSQL) is already in use: set PG_PORT to another port")
    port_busy "$NATS_PORT" && busy+=("port $NATS_PORT (NATS) is already in use: set NATS_PORT to another port")
    for d in "${BRAIN_DAEMONS[@]}"; do
        port_busy "${PORT[$d]}" &&
            busy+=("port ${PORT[$d]} ($d) is already in use: set ${BRAIN_PORT_VAR[$d]} to another port")
    done
    if ((${#busy[@]})); then
        printf 'brain: %s\n' "${busy[@]}" >&2
        exit 1
    fi
}

# As root, PostgreSQL runs as another user, which must be able to reach var/.
check_traversable() {
    [[ $PG_OS_USER != "$ME" ]] || return 0
    runuser -u "$PG_OS_USER" -- test -x "$VAR" && return 0
    local path="" part
    local -a parts
    IFS=/ read -ra parts <<<"${VAR#/}"
    for part in "${parts[@]}"; do
        path=$path/$part
        runuser -u "$PG_OS_USER" -- test -x "$path" ||
            die "PostgreSQL runs as '$PG_OS_USER', which cannot enter $path ($(stat -c %A "$path")); allow it (chmod o+x $path) or set BRAIN_VAR to a directory it can reach"
    done
    die "PostgreSQL runs as '$PG_OS_USER', which cannot enter $VAR"
}

# ---- var/ and secrets -------------------------------------------------------
make_dirs() {
    if [[ ! -d $VAR ]]; then
        mkdir -p "$VAR" || die "cannot create $VAR"
        # As root, PostgreSQL's user must be able to enter it whatever the umask.
        chmod 755 "$VAR"
    fi
    mkdir -p "$LOGDIR" "$RUNDIR" "$VAR/nats"
    mkdir -p "$SECRETS"
    chmod 700 "$SECRETS"
}

random_hex() { od -An -vtx1 -N32 /dev/urandom | tr -d ' \n'; }

# write_secret FILE TEXT: FILE holds TEXT, mode 600, replaced atomically.
write_secret() {
    (
        umask 077
        printf '%s\n' "$2" >"$1.tmp"
        mv -f "$1.tmp" "$1"
    )
}

# FILE exists with a random value (made once, then reused).
ensure_secret() {
    [[ -s $1 ]] || write_secret "$1" "$(random_hex)"
    chmod 600 "$1"
}

# ---- PostgreSQL -------------------------------------------------------------
init_pg() {
    [[ -f $PGDATA/PG_VERSION ]] && return 0
    if [[ -d $PGDATA && -n $(ls -A "$PGDATA") ]]; then
        die "$PGDATA exists but holds no PostgreSQL cluster: move it away or remove it"
    fi
    say "creating the PostgreSQL cluster in $PGDATA (first run)"
    mkdir -p "$PGDATA"
    chmod 700 "$PGDATA"
    local pwfile=$SECRETS/pg_password tmp="" locale=C
    if [[ $PG_OS_USER != "$ME" ]]; then
        chown "$PG_OS_USER:" "$PGDATA"
        # The secrets directory is closed to that user: hand it a private copy.
        tmp=$(mktemp "$RUNDIR/initdb-pw.XXXXXX")
        cat "$pwfile" >"$tmp"
        chown "$PG_OS_USER:" "$tmp"
        pwfile=$tmp
    fi
    locale -a 2>/dev/null | grep -ix 'C\.utf-\?8' >/dev/null && locale=C.UTF-8
    local rc=0
    as_pg "$PG_BIN/initdb" -D "$PGDATA" -U brain --pwfile="$pwfile" \
        --auth-host=scram-sha-256 --auth-local=peer -E UTF8 --locale="$locale" \
        >"$LOGDIR/initdb.log" 2>&1 || rc=$?
    [[ -z $tmp ]] || rm -f "$tmp"
    if ((rc != 0)); then
        show_log_tail "$LOGDIR/initdb.log"
        die "initdb failed (exit $rc)"
    fi
}

start_pg() {
    local sockdir=$PGSOCK
    # A Unix socket path longer than 107 bytes is refused; the daemons use TCP,
    # so a very deep BRAIN_VAR only loses the socket.
    if ((${#sockdir} + 20 > 107)); then
        sockdir=""
    else
        mkdir -p "$sockdir"
        chmod 700 "$sockdir"
        [[ $PG_OS_USER == "$ME" ]] || chown "$PG_OS_USER:" "$sockdir"
    fi
    touch "$LOGDIR/postgresql.log"
    [[ $PG_OS_USER == "$ME" ]] || chown "$PG_OS_USER:" "$LOGDIR/postgresql.log"
    PG_STARTED=1
    local out
    if ! out=$(as_pg "$PG_BIN/pg_ctl" start -w -t 60 -D "$PGDATA" -l "$LOGDIR/postgresql.log" \
        -o "-p $PG_PORT -c listen_addresses=127.0.0.1 -c unix_socket_directories='$sockdir'" 2>&1); then
        [[ -n $STOP_REASON ]] && die "interrupted while PostgreSQL was starting"
        printf '%s\n' "$out" >&2
        show_log_tail "$LOGDIR/postgresql.log"
        die "PostgreSQL did not start"
    fi
    PG_PID=$(head -n 1 "$PGDATA/postmaster.pid")
}

pg_sql() {
    env -u PGPASSWORD -u PGSERVICE -u PGSSLMODE PGPASSFILE="$SECRETS/pgpass" PGCONNECT_TIMEOUT=5 \
        psql -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PG_PORT" -U brain "$@"
}

ensure_database() {
    local pw
    pw=$(head -n 1 "$SECRETS/pg_password")
    write_secret "$SECRETS/pgpass" "127.0.0.1:*:*:brain:$pw"
    write_secret "$SECRETS/database_url" "postgresql://brain:$pw@127.0.0.1:$PG_PORT/brain"
    local have err
    if ! have=$(pg_sql -d postgres -c "SELECT 1 FROM pg_database WHERE datname = 'brain'" 2>&1); then
        err=$have
        # A password file made anew (deleted by hand) no longer matches the cluster's.
        [[ $err != *"password authentication failed"* ]] ||
            err+=" ($SECRETS/pg_password does not match the password $PGDATA was made with)"
        die "cannot connect to PostgreSQL on 127.0.0.1:$PG_PORT as brain: $err"
    fi
    if [[ $have != 1 ]]; then
        say "creating database brain"
        pg_sql -d postgres -c 'CREATE DATABASE brain' || die "could not create database brain"
    fi
}

stop_pg() {
    ((PG_STARTED)) || return 0
    PG_STARTED=0
    as_pg "$PG_BIN/pg_ctl" status -D "$PGDATA" >/dev/null 2>&1 || return 0
    if ! as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m fast -w -t 30 >/dev/null 2>&1; then
        say "PostgreSQL did not stop within 30 s: stopping it immediately"
        as_pg "$PG_BIN/pg_ctl" stop -D "$PGDATA" -m immediate -w -t 30 >/dev/null 2>&1 || true
    fi
}

# ---- NATS -------------------------------------------------------------------
start_nats() {
    # Its log file also takes what it prints before the log is open.
    # shellcheck disable=SC2094
    setsid nats-server -a 127.0.0.1 -p "$NATS_PORT" -js -sd "$VAR/nats" \
        -l "$LOGDIR/nats.log" -P "$RUNDIR/nats-server.pid" \
        </dev/null >>"$LOGDIR/nats.log" 2>&1 9>&- &
    NATS_PID=$!
    local deadline=$(($(brain_now_us) + 10000000))
    until (exec 3<>"/dev/tcp/127.0.0.1/$NATS_PORT") 2>/dev/null; do
        [[ -z $STOP_REASON ]] || die "interrupted while NATS was starting"
        if ! alive "$NATS_PID"; then
            show_log_tail "$LOGDIR/nats.log"
            die "nats-server exited while starting"
        fi
        (($(brain_now_us) < deadline)) || {
            show_log_tail "$LOGDIR/nats.log"
            die "nats-server did not accept connections on 127.0.0.1:$NATS_PORT within 10 s"
        }
        pause 0.05
    done
}

stop_nats() {
    [[ -n $NATS_PID ]] || return 0
    local pid=$NATS_PID i
    NATS_PID=""
    kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < 100; i++)); do
        alive "$pid" || break
        sleep 0.1
    done
    if alive "$pid"; then
        say "nats-server did not stop within 10 s: killing it"
        kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
    rm -f "$RUNDIR/nats-server.pid"
}

# ---- the daemons ------------------------------------------------------------
start_daemon() {
    local d=$1
    local -a env=(
        "PORT=${PORT[$d]}"
        "HTTP_BIND=${HTTP_BIND:-127.0.0.1}"
        "DATABASE_URL_FILE=$SECRETS/database_url"
        "NATS_URL=nats://127.0.0.1:$NATS_PORT"
        "INTERNAL_TOKEN_FILE=$SECRETS/internal_token"
        "SHUTDOWN_TIMEOUT_S=$SHUTDOWN_TIMEOUT_S"
        # libpq links GnuTLS (through LDAP) which would otherwise initialise
        # itself at load for nothing: 0.7 MB resident per daemon.
        "GNUTLS_NO_IMPLICIT_INIT=1"
    )
    if [[ $d == gateway || $d == svc-intelligence ]]; then
        # The gateway proxies to the services; svc-intelligence's system
        # health asks each of them (and the gateway) how it is.
        env+=(
            "GATEWAY_URL=http://$HTTP_HOST:${PORT[gateway]}"
            "AUTOMATION_URL=http://$HTTP_HOST:${PORT[svc-automation]}"
            "INTELLIGENCE_URL=http://$HTTP_HOST:${PORT[svc-intelligence]}"
            "TOAST_URL=http://$HTTP_HOST:${PORT[svc-toast]}"
            "EMBEDDING_URL=http://$HTTP_HOST:${PORT[svc-embedding]}"
            "SYNC_URL=http://$HTTP_HOST:${PORT[svc-sync]}"
        )
    fi
    # Each daemon gets its own session so that Ctrl-C reaches only this script,
    # which then stops them in order. NAME and NAME_FILE together are an error
    # for the daemons, so the plain variables are removed.
    env -u DATABASE_URL -u INTERNAL_TOKEN "${env[@]}" setsid "$BIN/$d" \
        </dev/null >>"$LOGDIR/$d.log" 2>&1 9>&- &
    DPID[$d]=$!
    printf '%s\n' "$!" >"$RUNDIR/$d.pid"
}

ready_code() {
    curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://$HTTP_HOST:${PORT[$1]}/ready" 2>/dev/null || true
}

wait_ready() {
    local deadline=$(($(brain_now_us) + READY_TIMEOUT_S * 1000000))
    declare -A ready=()
    local n=0 d rc
    while :; do
        [[ -z $STOP_REASON ]] || die "interrupted before the suite was ready"
        for d in "${BRAIN_DAEMONS[@]}"; do
            [[ -z ${ready[$d]:-} ]] || continue
            if ! alive "${DPID[$d]}"; then
                rc=0
                wait "${DPID[$d]}" || rc=$?
                STATUS[$d]=$(describe_status "$rc")
                unset "DPID[$d]"
                rm -f "$RUNDIR/$d.pid"
                printf 'brain: %s exited while starting (%s)\n' "$d" "${STATUS[$d]}" >&2
                show_log_tail "$LOGDIR/$d.log"
                STOP_REASON="start-up failed"
                exit 1
            fi
            if curl -fs -o /dev/null --max-time 1 "http://$HTTP_HOST:${PORT[$d]}/ready" 2>/dev/null; then
                ready[$d]=1
                n=$((n + 1))
            fi
        done
        ((n < ${#BRAIN_DAEMONS[@]})) || return 0
        if (($(brain_now_us) >= deadline)); then
            for d in "${BRAIN_DAEMONS[@]}"; do
                [[ -z ${ready[$d]:-} ]] || continue
                rc=$(ready_code "$d")
                if [[ $rc == 000 ]]; then
                    printf 'brain: %s is not ready after %s s: nothing answers on %s:%s\n' \
                        "$d" "$READY_TIMEOUT_S" "$HTTP_HOST" "${PORT[$d]}" >&2
                else
                    printf 'brain: %s is not ready after %s s: GET /ready answers %s\n' \
                        "$d" "$READY_TIMEOUT_S" "$rc" >&2
                fi
                show_log_tail "$LOGDIR/$d.log"
            done
            STOP_REASON="start-up failed"
            exit 1
        fi
        pause 0.1
    done
}

# Stop the named daemons together: SIGTERM, then SIGKILL after the drain time
# (or at once on a second Ctrl-C). Records how each ended.
stop_daemons() {
    local -a names=()
    local d
    for d in "$@"; do
        [[ -n ${DPID[$d]:-} ]] && names+=("$d")
    done
    ((${#names[@]})) || return 0
    for d in "${names[@]}"; do
        kill -TERM "${DPID[$d]}" 2>/dev/null || true
    done
    local grace=$((SHUTDOWN_TIMEOUT_S + 5))
    local signals=$SIGNALS deadline=$(($(brain_now_us) + grace * 1000000))
    local any
    declare -A killed=()
    while :; do
        any=0
        for d in "${names[@]}"; do
            alive "${DPID[$d]}" && any=1
        done
        ((any)) || break
        if ((SIGNALS > signals)) || (($(brain_now_us) >= deadline)); then
            for d in "${names[@]}"; do
                alive "${DPID[$d]}" && kill -KILL "${DPID[$d]}" 2>/dev/null && killed[$d]=1
            done
            break
        fi
        sleep 0.05
    done
    local rc
    for d in "${names[@]}"; do
        rc=0
        wait "${DPID[$d]}" 2>/dev/null || rc=$?
        STATUS[$d]=$(describe_status "$rc")
        if [[ -n ${killed[$d]:-} ]]; then
            if ((SIGNALS > signals)); then
                STATUS[$d]+=" (second signal)"
            else
                STATUS[$d]+=" (still running $grace s after SIGTERM)"
            fi
        fi
        ((rc == 0)) || UNEXPECTED=1
        unset "DPID[$d]"
        rm -f "$RUNDIR/$d.pid"
    done
}

shutdown_all() {
    ((SHUT_DONE == 0)) || return 0
    SHUT_DONE=1
    set +e
    # Nothing started yet (a failed check): nothing to say.
    ((PG_STARTED || ${#DPID[@]} || ${#STATUS[@]})) || [[ -n $NATS_PID ]] || return 0
    [[ -z $TIMER_PID ]] || kill "$TIMER_PID" 2>/dev/null
    [[ -z $TIMER_PID ]] || wait "$TIMER_PID" 2>/dev/null
    if ((${#DPID[@]})); then
        say "stopping (${STOP_REASON:-error})"
        # The gateway first, so its in-flight requests still find their upstreams.
        # (stderr: bash would add its own "Killed" line for a SIGKILLed daemon)
        stop_daemons gateway 2>/dev/null
        stop_daemons "${BRAIN_DAEMONS[@]}" 2>/dev/null
    fi
    stop_nats
    stop_pg
    local d
    if ((${#STATUS[@]})); then
        for d in "${BRAIN_DAEMONS[@]}"; do
            [[ -n ${STATUS[$d]:-} ]] && printf 'brain:   %-*s %s\n' "$BRAIN_NAME_WIDTH" "$d" "${STATUS[$d]}"
        done
    fi
    say "stopped"
}

# ---- main -------------------------------------------------------------------
pick_pg_user
PG_BIN=$(find_pg_bin)
check_tools
check_distinct_ports
make_dirs
exec 9>"$RUNDIR/run.lock"
flock -n 9 || die "another run.sh is already using $VAR"
check_traversable
check_leftovers
check_ports

ensure_secret "$SECRETS/pg_password"
ensure_secret "$SECRETS/internal_token"
init_pg
start_pg
ensure_database
say "PostgreSQL on 127.0.0.1:$PG_PORT (data in $PGDATA)"
start_nats
say "NATS on 127.0.0.1:$NATS_PORT (JetStream in $VAR/nats)"

DAEMONS_US=$(brain_now_us)
for d in "${BRAIN_DAEMONS[@]}"; do
    start_daemon "$d"
done
wait_ready
# make logs must look in the same place.
logs_cmd="make logs"
[[ -z ${BRAIN_VAR:-} ]] || logs_cmd="BRAIN_VAR=$VAR make logs"
cat <<EOF
brain: all six ready in $(brain_elapsed "$DAEMONS_US") s ($(brain_elapsed "$START_US") s since start)
  gateway  http://$HTTP_HOST:${PORT[gateway]}
  logs     $LOGDIR   (follow them: $logs_cmd, or $logs_cmd SVC=svc-toast)
  stop     Ctrl-C
EOF

# In the foreground until a signal, or until something we started exits.
while [[ -z $STOP_REASON ]]; do
    for d in "${BRAIN_DAEMONS[@]}"; do
        if ! alive "${DPID[$d]}"; then
            STOP_REASON="$d exited"
            UNEXPECTED=1
            rc=0
            wait "${DPID[$d]}" || rc=$?
            STATUS[$d]="$(describe_status "$rc") (unexpected)"
            unset "DPID[$d]"
            rm -f "$RUNDIR/$d.pid"
            printf 'brain: %s exited on its own (%s)\n' "$d" "$(describe_status "$rc")" >&2
            show_log_tail "$LOGDIR/$d.log"
            break
        fi
    done
    [[ -n $STOP_REASON ]] && break
    if ! alive "$NATS_PID"; then
        STOP_REASON="nats-server exited"
        UNEXPECTED=1
        show_log_tail "$LOGDIR/nats.log"
    elif ! alive "$PG_PID"; then
        STOP_REASON="PostgreSQL exited"
        UNEXPECTED=1
        show_log_tail "$LOGDIR/postgresql.log"
    else
        pause 0.5
    fi
done

shutdown_all
((UNEXPECTED == 0)) || exit 1
exit 0
