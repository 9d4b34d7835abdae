#!/usr/bin/env bash
# seeds.sh DIR - real run directories for fuzz.py to damage: C examples (refused, leaked, reset,
# use after close), a Python program (language frames), a Go program (the tracer's logs).
set -u
cd "$(dirname "$0")/../.."
B=${BUILD:-build}
out=$1
rm -rf "$out"
mkdir -p "$out"
n=0
seed() { # CMD...: one run directory
	n=$((n + 1))
	"$B/socklens" run --dir "$out/s$n" --report /dev/null -- "$@" >/dev/null 2>&1 || true
}
for ex in refused leak reset use_after_close close_wait churn nagle; do
	[ -x "$B/examples/$ex" ] && seed "$B/examples/$ex"
done
seed /usr/bin/python3 -c 'import urllib.request
try: urllib.request.urlopen("http://127.0.0.1:9/", timeout=2)
except OSError: pass'
if command -v go >/dev/null; then
	(cd tests/go/client && CGO_ENABLED=0 GOCACHE=${GOCACHE:-/tmp/socklens-fuzz-gocache} GOFLAGS=-mod=mod \
		go build -o "$out/../fuzz-goclient" .) >/dev/null 2>&1 && seed "$out/../fuzz-goclient" 127.0.0.1:9
fi
echo "seeds: $(ls "$out" | wc -l) run directories in $out"
