#!/usr/bin/env bash
# make logs [SVC=name]: follow the daemons' logs under var/log (BRAIN_VAR), all
# six or the one named, each line prefixed with its daemon's name:
#   gateway          | {"ts":"…","level":"info","service":"gateway",…}
# Starts with the last TAIL_LINES (10) lines of each log. Works before the
# files exist and across restarts (tail -F follows the name, not the file).
set -euo pipefail

# shellcheck source-path=SCRIPTDIR source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

usage() {
    printf 'usage: %s [DAEMON]\n  DAEMON is one of: %s\n' "${0##*/}" "${BRAIN_DAEMONS[*]}" >&2
    exit 2
}

(($# <= 1)) || usage
names=("${BRAIN_DAEMONS[@]}")
if [[ -n ${1:-} ]]; then
    case $1 in
    -h | --help) usage ;;
    esac
    if ! brain_is_daemon "$1"; then
        printf 'brain: no daemon called "%s"\n' "$1" >&2
        usage
    fi
    names=("$1")
fi

lines=${TAIL_LINES:-10}
[[ $lines =~ ^[0-9]+$ ]] || brain_die "TAIL_LINES=$lines is not a number"

logdir=$(brain_var_dir)/log
files=()
for d in "${names[@]}"; do
    files+=("$logdir/$d.log")
    [[ -e $logdir/$d.log ]] || printf 'brain: waiting for %s (not written yet)\n' "$logdir/$d.log" >&2
done

# tail names the file before each batch of lines ("==> path <==", after a
# blank line; -v even for one file): awk turns that into the prefix of the
# lines that follow. A blank line is held back until we know whether a header
# follows it. mawk (Debian's awk) reads a pipe in blocks unless -W interactive,
# and awk buffers its output unless flushed: either would hold lines back.
# tail's own notices (file appeared, truncated) go to /dev/null.
awk_opts=()
awk -W version 2>&1 | grep mawk >/dev/null && awk_opts=(-W interactive)
tail -n "$lines" -v -F -s 0.25 "${files[@]}" 2>/dev/null |
    awk "${awk_opts[@]}" -v width="$BRAIN_NAME_WIDTH" -v first="${names[0]}" '
        BEGIN { name = first; held = 0; fmt = "%-" width "s | %s\n" }
        /^==> .* <==$/ {
            path = substr($0, 5, length($0) - 8)
            n = split(path, parts, "/")
            name = parts[n]
            sub(/\.log$/, "", name)
            held = 0
            next
        }
        {
            if (held) { printf fmt, name, ""; held = 0 }
            if ($0 == "") { held = 1; next }
            printf fmt, name, $0
            fflush()
        }'
