# deploy/local/lib.sh: what run.sh and logs.sh share. Sourced, not run.
# shellcheck shell=bash disable=SC2034 # the variables are used by the scripts that source this

# The repository root, whatever the caller's working directory.
BRAIN_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd -P)

# The six daemons, the variable that sets each one's port, and that port's
# default (DESIGN section 1).
BRAIN_DAEMONS=(gateway svc-automation svc-intelligence svc-toast svc-embedding svc-sync)
declare -A BRAIN_PORT_VAR=(
    [gateway]=GATEWAY_PORT
    [svc-automation]=AUTOMATION_PORT
    [svc-intelligence]=INTELLIGENCE_PORT
    [svc-toast]=TOAST_PORT
    [svc-embedding]=EMBEDDING_PORT
    [svc-sync]=SYNC_PORT
)
declare -A BRAIN_PORT_DEFAULT=(
    [gateway]=8080
    [svc-automation]=8081
    [svc-intelligence]=8082
    [svc-toast]=8083
    [svc-embedding]=8084
    [svc-sync]=8085
)
# Width of the longest daemon name, for aligned output.
BRAIN_NAME_WIDTH=16

brain_die() {
    printf 'brain: %s\n' "$*" >&2
    exit 1
}

# The state directory: $BRAIN_VAR (relative to the caller's directory) or var/
# in the repository.
brain_var_dir() {
    local v=${BRAIN_VAR:-$BRAIN_ROOT/var}
    case $v in
    /*) ;;
    *) v=$PWD/$v ;;
    esac
    printf '%s\n' "${v%/}"
}

# brain_port VAR DEFAULT: the port in $VAR, or DEFAULT; dies unless 1..65535.
brain_port() {
    local name=$1 value=${!1:-$2}
    if [[ ! $value =~ ^[0-9]{1,5}$ ]] || ((10#$value < 1 || 10#$value > 65535)); then
        brain_die "$name=$value is not a port number (1-65535)"
    fi
    printf '%d\n' "$((10#$value))"
}

# True when $1 is one of the six daemons.
brain_is_daemon() {
    local d
    for d in "${BRAIN_DAEMONS[@]}"; do
        [[ $d == "$1" ]] && return 0
    done
    return 1
}

# Microseconds since the epoch, without forking (the separator in
# EPOCHREALTIME follows the locale, so keep only the digits).
brain_now_us() {
    local t=${EPOCHREALTIME//[!0-9]/}
    printf '%s\n' "$((10#$t))"
}

# brain_elapsed START_US: seconds since START_US with one decimal, "1.4".
brain_elapsed() {
    local d=$(($(brain_now_us) - $1))
    printf '%d.%d\n' "$((d / 1000000))" "$(((d % 1000000) / 100000))"
}
