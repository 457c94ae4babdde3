#!/usr/bin/env bash
# Installs the CNCF distribution registry (Debian's docker-registry), idempotently: Wharf
# starts and owns its own registry process on loopback (WHARF_REGISTRY); the system
# service is never used. `make up` and `make test` both run it.
set -euo pipefail

if ! command -v docker-registry >/dev/null 2>&1; then
    echo "==> installing the image registry (CNCF distribution)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker-registry >/dev/null
fi
echo "==> $(docker-registry --version 2>/dev/null | head -n 1 || echo docker-registry) is installed"
