#!/usr/bin/env bash
# Debian's dovecot-imapd for the e-mail channel tests (the fixtures start their own dovecot from a
# private config on a free port; the system service is not used) and the Python mail libraries.
set -euo pipefail
venv="${BERRY_VENV:-$HOME/.cache/berry/venv}"
if [ ! -x /usr/sbin/dovecot ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq dovecot-imapd >/dev/null
  (systemctl disable --now dovecot 2>/dev/null || service dovecot stop 2>/dev/null) || true
fi
if ! "$venv/bin/python" -c "import aiosmtpd, aioimaplib, aiosmtplib" >/dev/null 2>&1; then
  "$venv/bin/pip" install -q "aiosmtpd>=1.4" "aioimaplib>=2.0" "aiosmtplib>=3.0"
fi
echo "dovecot: $(/usr/sbin/dovecot --version)" >&2
