#!/usr/bin/env bash
# Installs Debian's Chromium, idempotently: the dashboard's browser tests drive it with
# Playwright (no `playwright install`: nothing is downloaded but Debian's package).
set -euo pipefail

if ! command -v chromium >/dev/null 2>&1 || ! fc-list | grep -qi "wenquanyi"; then
    echo "==> installing Chromium and a Chinese font (the dashboard's browser tests)"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium fonts-wqy-microhei >/dev/null
fi
echo "==> $(chromium --version 2>/dev/null | head -n 1) is installed"
