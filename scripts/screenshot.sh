#!/bin/sh
# screenshot.sh - the README's picture of the HTML report (docs/html-report.png): a real run of
# tests/progs/many_conns (3,000 connections, some refused, some reset) drawn by socklens run --html
# and photographed by headless Chromium.
set -eu
cd "$(dirname "$0")/.."
B=${BUILD:-build}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$B/socklens" run --html "$tmp/r.html" -- "$B/tests/progs/many_conns" 3000 60 45 >/dev/null 2>&1
chromium --headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --user-data-dir="$tmp/chrome" \
	--virtual-time-budget=10000 --window-size=1100,1250 --screenshot="$PWD/docs/html-report.png" \
	"file://$tmp/r.html" 2>/dev/null
echo "docs/html-report.png: $(stat -c %s docs/html-report.png) bytes"
