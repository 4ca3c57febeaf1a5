#!/usr/bin/env bash
# Installs the Debian packages the test suite needs when they are missing.
# Only as root (CI, containers); elsewhere it says what is missing and the tests that
# need it skip with the reason (under CI=true they fail instead).
set -euo pipefail
need=()
command -v chromium >/dev/null 2>&1 || need+=(chromium)
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
if [ ${#need[@]} -eq 0 ]; then
    exit 0
fi
if [ "$(id -u)" != 0 ]; then
    echo "system-deps: not root; missing Debian packages: ${need[*]} (tests needing them will skip)" >&2
    exit 0
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q "${need[@]}"
