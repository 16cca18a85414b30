#!/usr/bin/env bash
# make deps: the Debian 12 packages Brain needs to build, run and test.
# Quiet when they are all installed. Otherwise, as root, installs the missing
# ones; as anyone else, names them with the command to run and exits 1.
# (clang-format and cppcheck, for make fmt/lint only, are not required here.)
#
# Installing "postgresql" makes Debian create and start a default cluster on
# port 5432. Nothing here uses it: make run and make test start their own.
set -euo pipefail

PACKAGES=(
    build-essential
    libcivetweb-dev
    libnats-dev
    libpq-dev
    libjson-c-dev
    libssl-dev
    libcurl4-openssl-dev
    libcmocka-dev
    postgresql
    nats-server
    python3-pytest
    python3-requests
    python3-websockets
    curl
    prometheus # promtool: the e2e tests check every /metrics with it
)

installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

missing=()
for p in "${PACKAGES[@]}"; do
    installed "$p" || missing+=("$p")
done
((${#missing[@]})) || exit 0

install_cmd="apt-get install -y --no-install-recommends ${missing[*]}"
if ((EUID != 0)); then
    printf 'deps: missing Debian packages: %s\n' "${missing[*]}" >&2
    printf 'deps: install them as root with:\n  apt-get update && %s\n' "$install_cmd" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
printf 'deps: installing %s\n' "${missing[*]}"

# Refresh the package lists first only when apt does not know a package (a
# fresh image has no lists at all); otherwise try with the lists we have and
# refresh only if that fails (they may point at versions no longer served).
updated=0
for p in "${missing[@]}"; do
    if ! apt-cache policy "$p" 2>/dev/null | grep 'Candidate: [^(]' >/dev/null; then
        apt-get update
        updated=1
        break
    fi
done
if ! apt-get install -y --no-install-recommends "${missing[@]}"; then
    ((updated == 0)) || exit 1
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

still=()
for p in "${missing[@]}"; do
    installed "$p" || still+=("$p")
done
((${#still[@]} == 0)) || {
    printf 'deps: still missing after apt-get install: %s\n' "${still[*]}" >&2
    exit 1
}
