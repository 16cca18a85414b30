#!/bin/bash
# brain-probe [PATH]: exit 0 when GET PATH (default /live) on this container's
# daemon answers 200, else 1. For HEALTHCHECK and Compose: debian-slim has no
# curl or wget, so this speaks HTTP/1.0 over bash's /dev/tcp.
path=${1:-/live}
case "${BRAIN_DAEMON:-}" in
svc-automation) default_port=8081 ;;
svc-intelligence) default_port=8082 ;;
svc-toast) default_port=8083 ;;
svc-embedding) default_port=8084 ;;
svc-sync) default_port=8085 ;;
*) default_port=8080 ;;
esac
port=${PORT:-$default_port}

exec 3<>"/dev/tcp/127.0.0.1/$port" || exit 1
printf 'GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n' "$path" >&3 || exit 1
IFS= read -r -t 3 status <&3 || exit 1
case $status in
"HTTP/1."?" 200 "* | "HTTP/1."?" 200"$'\r') exit 0 ;;
*) exit 1 ;;
esac
