#!/usr/bin/env bash
# instructions.sh - the hot-path budget as a deterministic check: callgrind counts instructions,
# so "the shim adds at most N instructions per call" holds or fails the same way on every run.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
command -v valgrind >/dev/null || { echo "instructions: valgrind missing; run scripts/install-deps.sh"; exit 1; }
fail=0 pass=0
# budget LOOP MAX: instructions added per call inside callcost's LOOP, over 20000 rounds of 2 calls
budget() {
	local p s added
	p=$(BUILD=$B bench/callgrind.sh "$1" 20000)
	s=$(BUILD=$B bench/callgrind.sh "$1" 20000 shim)
	added=$(( (s - p) / 40000 ))
	if [ "$added" -le "$2" ]; then
		pass=$((pass + 1)); echo "ok   $1: $added instructions added per call (budget $2)"
	else
		fail=$((fail + 1)); echo "FAIL $1: $added instructions added per call (budget $2)"
	fi
}
budget file_rw 10
budget socket_rw 80
budget socket_rw_nonblocking 80
budget socket_sendrecv 80
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
