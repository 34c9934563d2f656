#!/usr/bin/env bash
# Knowledge base + help center: Python packages (tantivy, nh3, markdown-it-py, playwright,
# onnxruntime), the Debian chromium the Playwright tests drive (never a Playwright browser
# download), and MiniLM exported to ONNX from the packaged weights (local, no download). Idempotent.
set -euo pipefail
venv="${BERRY_VENV:-$HOME/.cache/berry/venv}"
missing=()
for mod in tantivy nh3 markdown_it playwright onnxruntime onnx; do
  "$venv/bin/python" -c "import $mod" 2>/dev/null || missing+=("$mod")
done
if [ ${#missing[@]} -gt 0 ]; then
  "$venv/bin/pip" install -q tantivy nh3 markdown-it-py playwright onnxruntime onnx
fi
# the ONNX graph (cached by a digest of the weights; the hub would export it on first use otherwise)
(cd "$(dirname "$0")/../.." && "$venv/bin/python" -c "from knowledge_base.search.encoder import export_onnx; export_onnx()")
if [ ! -x /usr/bin/chromium ]; then
  sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q chromium
fi
