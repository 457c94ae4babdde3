#!/usr/bin/env bash
# Installs and starts the local Docker Engine, idempotently, and builds the busybox image
# Wharf's examples and tests run (no registry can be pulled from here). `make up` and
# `make test` both run it.
set -euo pipefail

# Docker Engine (the local host) and the busybox image the tests and examples run.
docker_ready() { docker info >/dev/null 2>&1; }
if ! command -v dockerd >/dev/null 2>&1 || ! command -v busybox >/dev/null 2>&1; then
    echo "==> installing Docker Engine and busybox"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io busybox-static >/dev/null
fi
if ! docker_ready; then
    echo "==> starting Docker Engine (log: /var/log/dockerd.log)"
    # Wharf gives every tenant a network on each host; Docker's default pools hold about
    # 30 networks, a /24 pool 256.
    setsid nohup dockerd --default-address-pool base=10.200.0.0/16,size=24 \
        >/var/log/dockerd.log 2>&1 < /dev/null &
    for _ in $(seq 1 150); do docker_ready && break; sleep 0.2; done
fi
docker_ready || { echo "Docker Engine did not start; see /var/log/dockerd.log" >&2; exit 1; }
if ! docker image inspect busybox:latest >/dev/null 2>&1; then
    echo "==> building the busybox image from Debian's static busybox"
    context=$(mktemp -d)
    cp "$(command -v busybox)" "$context/busybox"
    printf 'FROM scratch\nCOPY busybox /bin/busybox\nRUN ["/bin/busybox", "--install", "-s", "/bin"]\nCMD ["/bin/sh"]\n' \
        > "$context/Dockerfile"
    docker build -q -t busybox:latest -t busybox:1 "$context" >/dev/null
    rm -rf "$context"
fi
echo "==> Docker Engine is ready ($(docker version -f '{{.Server.Version}}'))"
