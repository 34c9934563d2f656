#!/usr/bin/env bash
# The reports dashboard's charting library from the npm registry (no CDN): Chart.js 4 and the
# chartjs-chart-matrix plugin (heatmap), both MIT, vendored into hub/reports/static/vendor/
# (git-ignored). Idempotent: skipped when the pinned versions are present.
set -euo pipefail
cd "$(dirname "$0")/../.."
chart=4.5.0
matrix=3.1.0
dest=hub/reports/static/vendor
want="chart.js@$chart chartjs-chart-matrix@$matrix"
if [ ! -f "$dest/chart.umd.min.js" ] || [ ! -f "$dest/chartjs-chart-matrix.min.js" ] \
   || [ "$(cat "$dest/VERSION" 2>/dev/null)" != "$want" ]; then
  cache="${BERRY_CACHE_DIR:-$HOME/.cache/berry}/npm-charts"
  npm install -q --no-audit --no-fund --prefix "$cache" "chart.js@$chart" "chartjs-chart-matrix@$matrix" >/dev/null
  mkdir -p "$dest"
  cp "$cache/node_modules/chart.js/dist/chart.umd.min.js" "$dest/chart.umd.min.js"
  cp "$cache/node_modules/chart.js/LICENSE.md" "$dest/chart.js.LICENSE.md"
  cp "$cache/node_modules/chartjs-chart-matrix/dist/chartjs-chart-matrix.min.js" "$dest/chartjs-chart-matrix.min.js"
  cp "$cache/node_modules/chartjs-chart-matrix/LICENSE" "$dest/chartjs-chart-matrix.LICENSE"
  echo "$want" > "$dest/VERSION"
fi
echo "charts ($want): $dest" >&2
