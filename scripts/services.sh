#!/usr/bin/env bash
# Starts what the tests need, idempotently: PostgreSQL on 127.0.0.1:5432 (trust auth)
# and the local Docker Engine with the busybox image (scripts/docker.sh).
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

"$(dirname "$0")/docker.sh"
"$(dirname "$0")/caddy.sh"
"$(dirname "$0")/registry.sh"
"$(dirname "$0")/chromium.sh"
