#!/usr/bin/env bash
# Installs Caddy, idempotently: Wharf starts and owns its own Caddy process (the ingress)
# on loopback; the system service is never used. `make up` and `make test` both run it.
set -euo pipefail

if ! command -v caddy >/dev/null 2>&1; then
    echo "==> installing Caddy (Wharf's ingress)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq caddy >/dev/null
fi
echo "==> Caddy $(caddy version | cut -d' ' -f1) is installed"
