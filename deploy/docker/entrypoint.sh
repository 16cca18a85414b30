#!/bin/sh
# The image's entrypoint: run the daemon named by BRAIN_DAEMON as PID 1 (exec,
# so that it gets SIGTERM itself and its exit status is the container's).
case "${BRAIN_DAEMON:-}" in
gateway | svc-automation | svc-intelligence | svc-toast | svc-embedding | svc-sync)
    exec "/usr/local/bin/$BRAIN_DAEMON" "$@"
    ;;
*)
    echo "brain-entrypoint: BRAIN_DAEMON='${BRAIN_DAEMON:-}' is not one of: gateway svc-automation svc-intelligence svc-toast svc-embedding svc-sync" >&2
    exit 64
    ;;
esac
