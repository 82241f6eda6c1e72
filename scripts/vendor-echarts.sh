#!/usr/bin/env bash
# Fetches Apache ECharts from the npm registry and vendors its minified browser
# build as a static file of the web UI. Run it to upgrade; the file is
# committed, so building Quarterdeck needs neither Node nor the network.
#   scripts/vendor-echarts.sh [VERSION]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
version=${1:-6.1.0}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "echarts@$version" >/dev/null)
tar -xzf "$tmp"/echarts-"$version".tgz -C "$tmp" package/dist/echarts.min.js package/LICENSE package/NOTICE
mkdir -p internal/web/static/vendor
cp "$tmp/package/dist/echarts.min.js" internal/web/static/vendor/echarts.min.js
cat "$tmp/package/LICENSE" "$tmp/package/NOTICE" >internal/web/static/vendor/echarts.LICENSE.txt
echo "vendored echarts $version: $(wc -c <internal/web/static/vendor/echarts.min.js) bytes"
