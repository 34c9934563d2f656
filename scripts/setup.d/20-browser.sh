#!/usr/bin/env bash
# Debian's Chromium and the Playwright Python driver (no browser download: the tests launch
# /usr/bin/chromium through executable_path).
set -euo pipefail
venv="${BERRY_VENV:-$HOME/.cache/berry/venv}"
if [ ! -x /usr/bin/chromium ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq chromium fonts-dejavu-core >/dev/null
fi
if ! "$venv/bin/python" -c "import playwright" >/dev/null 2>&1; then
  PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 "$venv/bin/pip" install -q "playwright>=1.45"
fi
echo "chromium: /usr/bin/chromium" >&2
