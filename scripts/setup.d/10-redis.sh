#!/usr/bin/env bash
# redis-server for multi-node Socket.IO fan-out tests (the fixtures start it on a free port).
set -euo pipefail
if ! command -v redis-server >/dev/null 2>&1; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
  # the package starts a system service on :6379; the tests start their own servers
  (systemctl disable --now redis-server 2>/dev/null || service redis-server stop 2>/dev/null) || true
fi
echo "redis-server: $(command -v redis-server)" >&2
