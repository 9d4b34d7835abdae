#!/bin/sh
# demo.sh - socklens diagnosing real misbehaving programs: Debian's curl, then three small bugs.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
say "socklens run -- curl -sS http://127.0.0.1:$port/    # nothing listens there; curl connects non-blockingly"
"$B/socklens" run -- curl -sS "http://127.0.0.1:$port/"
say "socklens run -- $B/examples/no_timeout    # a blocking read with no timeout against a slow server"
"$B/socklens" run -- "$B/examples/no_timeout"
say "socklens run -- $B/examples/silent_upstream    # a proxy whose upstream never answers (a 504)"
"$B/socklens" run -- "$B/examples/silent_upstream"
say "socklens run -- $B/examples/leak    # a health check that forgets to close on its error path"
"$B/socklens" run -- "$B/examples/leak"
exit 0
