#!/usr/bin/env bash
# callgrind.sh LOOP N [shim] - instructions counted by callgrind inside callcost's LOOP function.
set -eu
B=${BUILD:-build}
loop=$1 n=$2
out=$(mktemp /tmp/socklens-cg-XXXXXX)
dir=$(mktemp -d /tmp/socklens-cgrun-XXXXXX)
env=()
[ "${3:-}" = shim ] && env=(LD_PRELOAD="$PWD/$B/libsocklens.so" SOCKLENS_DIR="$dir")
# the clock read itself is not counted (see tests/instructions.sh): its time is in make bench
env "${env[@]}" valgrind --tool=callgrind --toggle-collect="$loop" --toggle-collect="clock_gettime*" \
	--callgrind-out-file="$out" \
	"$B/bench/callcost" "$loop" "$n" >/dev/null 2>&1
awk '/^summary:/ {print $2}' "$out"
rm -rf "$out" "$dir"
