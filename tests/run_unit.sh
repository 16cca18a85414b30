#!/usr/bin/env bash
# tests/run_unit.sh BIN...: run each unit-test binary (make unit does).
#   exit 0  PASS
#   exit 77 SKIP (the test needs a server it was not given, e.g.
#           BRAIN_TEST_DATABASE_URL; the end-to-end harness runs it with one)
#   other   FAIL (a failed assertion, a sanitizer report, a crash, a timeout)
# Prints one line per binary and a summary; exits 1 if any failed.
# A binary running longer than UNIT_TIMEOUT_S (120) is stopped and fails.
set -uo pipefail

# Leaks fail a test; UBSan stops at the first report, with a stack. Options
# already in the environment come after ours, so they win.
export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0${ASAN_OPTIONS:+:$ASAN_OPTIONS}"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1${UBSAN_OPTIONS:+:$UBSAN_OPTIONS}"

timeout_s=${UNIT_TIMEOUT_S:-120}
if [[ ! $timeout_s =~ ^[0-9]+$ ]]; then
    echo "run_unit: UNIT_TIMEOUT_S=$timeout_s is not a number of seconds" >&2
    exit 2
fi

if (($# == 0)); then
    echo "run_unit: no unit-test binaries given"
    exit 0
fi

now_ms() {
    local t=${EPOCHREALTIME//[!0-9]/}
    printf '%s\n' "$((10#$t / 1000))"
}

pass=0 skip=0
failed=()
for bin in "$@"; do
    name=${bin#*/tests/}
    if [[ ! -x $bin ]]; then
        printf 'FAIL %s (not an executable file)\n' "$name"
        failed+=("$name")
        continue
    fi
    start=$(now_ms)
    # The test's own output (cmocka's report, sanitizer reports) goes straight
    # through; only the verdict line is ours. --foreground keeps the test in
    # this process group, so that Ctrl-C reaches it.
    timeout --foreground --kill-after=5 "$timeout_s" "$bin"
    rc=$?
    ms=$(($(now_ms) - start))
    case $rc in
    0)
        printf 'PASS %s (%d ms)\n' "$name" "$ms"
        pass=$((pass + 1))
        ;;
    77)
        printf 'SKIP %s\n' "$name"
        skip=$((skip + 1))
        ;;
    *)
        if ((rc == 124 || (rc == 137 && ms >= timeout_s * 1000))); then
            printf 'FAIL %s (no result after %s s: stopped)\n' "$name" "$timeout_s"
        elif ((rc > 128)); then
            printf 'FAIL %s (killed by SIG%s)\n' "$name" "$(kill -l "$((rc - 128))" 2>/dev/null || echo "$((rc - 128))")"
        else
            printf 'FAIL %s (exit %d)\n' "$name" "$rc"
        fi
        failed+=("$name")
        ;;
    esac
done

# The summary in the form CI reads: "N passed, N failed, N skipped".
printf '\nunit: %d passed, %d failed, %d skipped\n' "$pass" "${#failed[@]}" "$skip"
if ((${#failed[@]})); then
    printf 'failed: %s\n' "${failed[*]}"
    exit 1
fi
exit 0
