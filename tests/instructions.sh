#!/usr/bin/env bash
# instructions.sh - the hot path's budget as deterministic checks:
#  1. clock reads per call, counted by a shim built to count them: none for a non-socket fd, one
#     for a non-blocking socket, two for a blocking one (the start marks the in-flight record).
#     A change that adds a read fails here, not only in a noisy benchmark.
#  2. instructions the shim adds per call, counted by callgrind (repeatable on a noisy machine),
#     not counting inside the clock read itself: callgrind cannot count it truly (valgrind has
#     no vDSO, so the read becomes a system call there), and make bench measures its time.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
command -v valgrind >/dev/null || { echo "instructions: valgrind missing; run scripts/install-deps.sh"; exit 1; }
fail=0 pass=0
check() { # NAME GOT MAX UNIT
	if awk -v g="$2" -v m="$3" 'BEGIN { exit !(g <= m) }'; then
		pass=$((pass + 1)); echo "ok   $1: $2 $4 per call (budget $3)"
	else
		fail=$((fail + 1)); echo "FAIL $1: $2 $4 per call (budget $3)"
	fi
}

dir=$(mktemp -d /tmp/socklens-clk-XXXXXX)
out=$(LD_PRELOAD="$PWD/$B/clockcount/libsocklens.so" SOCKLENS_DIR="$dir" "$B/tests/progs/clock_reads")
rm -rf "$dir"
for kind in file:0 blocking:2 blocking-sendrecv:2 nonblocking:1; do
	got=$(awk -v k="${kind%:*}" '$1 == k {print $2}' <<<"$out")
	check "clock reads, ${kind%:*}" "${got:-missing}" "${kind#*:}" "reads"
done

# budget LOOP MAX: instructions added per call inside callcost's LOOP, over 20000 rounds of 2 calls
budget() {
	local p s
	p=$(BUILD=$B bench/callgrind.sh "$1" 20000)
	s=$(BUILD=$B bench/callgrind.sh "$1" 20000 shim)
	check "$1" $(( (s - p) / 40000 )) "$2" "instructions"
}
budget file_rw 10
budget socket_rw 100
budget socket_rw_nonblocking 80
budget socket_sendrecv 100
echo "$pass passed, $fail failed"
[ $fail -eq 0 ]
