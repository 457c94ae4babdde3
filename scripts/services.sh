#!/usr/bin/env bash
# Starts what the tests need, idempotently: PostgreSQL on 127.0.0.1:5432 (trust auth).
set -euo pipefail

pg_ready() { pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; }

if ! command -v pg_ctlcluster >/dev/null 2>&1; then
    echo "==> installing PostgreSQL"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >/dev/null
fi
if ! pg_ready; then
    echo "==> starting PostgreSQL"
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 100); do pg_ready && break; sleep 0.2; done
fi
pg_ready || { echo "PostgreSQL did not start" >&2; exit 1; }
echo "==> PostgreSQL is ready on 127.0.0.1:5432"

# Docker Engine (the local host) and the busybox image the tests and examples run.
docker_ready() { docker info >/dev/null 2>&1; }
if ! command -v dockerd >/dev/null 2>&1 || ! command -v busybox >/dev/null 2>&1; then
    echo "==> installing Docker Engine and busybox"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io busybox-static >/dev/null
fi
if ! docker_ready; then
    echo "==> starting Docker Engine (log: /var/log/dockerd.log)"
    setsid nohup dockerd >/var/log/dockerd.log 2>&1 < /dev/null &
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
