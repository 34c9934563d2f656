#!/usr/bin/env bash
# The Rasa 3.6 venv (own Python 3.11 venv: Rasa pins pydantic 1 / old aiohttp / sanic, which clash
# with the hub's). Recipe: ../shared/recipes/rasa.md; the constraint files are copied into
# bot/rasa/ so that CI needs nothing outside the clone. Idempotent: skips when the venv already has
# rasa 3.6.21. Usage: scripts/setup.d/50-rasa.sh   (env: BERRY_CACHE_DIR, default ~/.cache/berry)
set -euo pipefail
cd "$(dirname "$0")/../.."
cache="${BERRY_CACHE_DIR:-$HOME/.cache/berry}"
venv="${BERRY_RASA_VENV:-$cache/rasa-venv}"
want=3.6.21

if [ -x "$venv/bin/python" ] && [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("rasa"))' 2>/dev/null)" = "$want" ] \
   && "$venv/bin/python" -c 'import rasa_sdk, dask, sklearn' 2>/dev/null; then
  echo "rasa venv ok: $venv" >&2
  exit 0
fi

# matplotlib (a Rasa dependency) builds from source on Python 3.11
missing=()
for pkg in libfreetype-dev libqhull-dev pkg-config; do
  dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg")
done
if [ ${#missing[@]} -gt 0 ]; then
  sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  $sudo apt-get -o DPkg::Lock::Timeout=600 update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=600 install -y -q "${missing[@]}"
fi

tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '[libs]\nsystem_freetype = true\nsystem_qhull = true\n' > "$tmp/mplsetup.cfg"
export MPLSETUPCFG="$tmp/mplsetup.cfg"

py=python3.11
command -v "$py" >/dev/null || py=python3
[ -x "$venv/bin/python" ] || "$py" -m venv "$venv"
cons=(-c bot/rasa/rasa-constraints.txt -c bot/rasa/rasa-3.6.21-py311-freeze.txt)
"$venv/bin/pip" install -q --ignore-requires-python "${cons[@]}" "rasa==$want"
"$venv/bin/pip" install -q --ignore-requires-python "${cons[@]}" "dask==2022.10.2" "scikit-learn>=1.1,<1.2" "rasa-sdk==3.6.2"
"$venv/bin/python" -c 'import rasa, rasa_sdk; print("rasa", rasa.__version__)' >&2
