#!/usr/bin/env bash
# The agent console's one third-party asset: the Socket.IO browser client from the npm registry,
# vendored into agent_console/static/vendor/ (git-ignored). Served by the hub; no CDN.
set -euo pipefail
cd "$(dirname "$0")/../.."
version=4.8.1
dest=agent_console/static/vendor
if [ ! -f "$dest/socket.io.esm.min.js" ] || [ "$(cat "$dest/VERSION" 2>/dev/null)" != "$version" ]; then
  work=$(mktemp -d)
  (cd "$work" && npm pack -q "socket.io-client@$version" >/dev/null && tar xzf socket.io-client-*.tgz)
  mkdir -p "$dest"
  cp "$work/package/dist/socket.io.esm.min.js" "$dest/socket.io.esm.min.js"
  cp "$work/package/LICENSE" "$dest/socket.io-client.LICENSE"
  echo "$version" > "$dest/VERSION"
  rm -rf "$work"
fi
echo "socket.io-client $version: $dest" >&2
