#!/usr/bin/env bash
# run.sh - `make bench`: socklens against no shim and against strace, side by side, interleaved.
# Throughput figures are paired ratios (each round runs A, B, C back to back); instruction
# counts come from callgrind, which is repeatable on a noisy machine.
set -u
cd "$(dirname "$0")/.."
B=${BUILD:-build}
ROUNDS=${BENCH_ROUNDS:-11}
SHIM=$PWD/$B/libsocklens.so
for tool in redis-server redis-benchmark nginx wrk strace valgrind taskset python3; do
	command -v $tool >/dev/null || { echo "bench: $tool missing; run: ./scripts/install-deps.sh" >&2; exit 1; }
done
TMP=$(mktemp -d /tmp/socklens-bench-XXXXXX)
trap 'pkill -f "$TMP" 2>/dev/null; rm -rf "$TMP"' EXIT
ulimit -n "$(ulimit -Hn)"   # 10000 connections need 10000 fds in one process

# (with MODE CMD...): execs CMD bare, under the shim, or under strace (network calls only).
# Always call it in a subshell: it replaces the shell, so $! is the program (or strace).
with() {
	local mode=$1
	shift
	mkdir -p "$TMP/logs"
	case $mode in
	plain|again) exec "$@" ;;
	socklens) exec env LD_PRELOAD="$SHIM" SOCKLENS_DIR="$TMP/logs" "$@" ;;
	traced) rm -rf "$TMP/run"; exec "$B/socklens" run --dir "$TMP/run" --report /dev/null -- "$@" 2>/dev/null ;;
	strace) exec strace -f -e trace=network -o /dev/null "$@" ;;
	esac
}

# wait_port PORT: until something accepts on 127.0.0.1:PORT (bounded)
wait_port() {
	for _ in $(seq 400); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.025
	done
	echo "nothing listens on $1" >&2
	return 1
}

# want PART: whether BENCH_ONLY (comma-separated: pingpong,redis,nginx,go,callgrind,rare,inject,goroutines,
# forks,scripts,memory) selects it
want() { [ -z "${BENCH_ONLY:-}" ] || [[ ",$BENCH_ONLY," == *",$1,"* ]]; }

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# summarize NAME FILE: FILE has lines "round mode value"; prints every mode's ratio to plain in
# the same round: median, the middle half (25th-75th percentile) and the extremes. "again" is a
# second plain run: its ratio (the A/A control) shows how much the machine alone moves.
summarize() {
	python3 - "$1" "$2" <<'PY'
import statistics, sys
name, path = sys.argv[1], sys.argv[2]
runs = {}
for line in open(path):
    rnd, mode, value = line.split()
    runs.setdefault(rnd, {})[mode] = float(value)
base = statistics.median(r["plain"] for r in runs.values())
print(f"{name}: plain median {base:,.0f}/s over {len(runs)} rounds")
label = {"again": "plain again (A/A)", "socklens": "socklens", "traced": "socklens run (ptrace)",
         "strace": "strace", "follow": "socklens run", "preload": "tracer off"}
for mode in ("again", "socklens", "traced", "strace", "follow", "preload"):
    ratios = sorted(r[mode] / r["plain"] for r in runs.values() if mode in r and r.get("plain"))
    if not ratios:
        continue
    q = statistics.quantiles(ratios, n=4) if len(ratios) >= 4 else [ratios[0], 0, ratios[-1]]
    best = max(r[mode] for r in runs.values() if mode in r) / max(r["plain"] for r in runs.values())
    print(f"  {label[mode]:18s} / plain: median {statistics.median(ratios):.3f}"
          f"  middle half {q[0]:.3f}..{q[2]:.3f}  extremes {ratios[0]:.3f}..{ratios[-1]:.3f}"
          f"  best/best {best:.3f}")
PY
}

pingpong() {
	local mode=$1 n=$2 port
	[ "$mode" = strace ] && n=$((n / 5)) # it only has to measure a rate, and it is 10x slower
	rm -f "$TMP/pp.port"
	(with "$mode" taskset -c 0 "$B/bench/pingpong" server "$TMP/pp.port") &
	local srv=$!
	for _ in $(seq 400); do [ -s "$TMP/pp.port" ] && break; sleep 0.025; done
	port=$(cat "$TMP/pp.port")
	(with "$mode" taskset -c 0 "$B/bench/pingpong" client "$port" "$n")
	wait $srv   # the server ends when the client hangs up
}

redis() {
	local mode=$1 port; port=$(free_port)
	(with "$mode" taskset -c 0 redis-server --port "$port" --save "" --appendonly no \
		--dir "$TMP" --logfile "$TMP/redis.log" --pidfile "$TMP/redis.pid" >/dev/null) &
	local srv=$!
	wait_port "$port" || return 1
	local n=${REDIS_N:-50000}
	[ "$mode" = strace ] && n=$((n / 4))
	taskset -c 1 redis-benchmark -p "$port" -t set,get -n "$n" -c 10 -q --csv 2>/dev/null |
		awk -F'"' '/^"(SET|GET)"/ {s += $4; n++} END {printf "%.0f\n", s / n}'
	kill -TERM "$(cat "$TMP/redis.pid")"
	wait $srv 2>/dev/null
}

nginx_wrk() {
	local mode=$1 port; port=$(free_port)
	mkdir -p "$TMP/ng/www" "$TMP/ng/logs"
	head -c 1024 /dev/zero > "$TMP/ng/www/index.html"
	cat > "$TMP/ng/nginx.conf" <<CONF
daemon off; master_process on; worker_processes 1; user root;
error_log $TMP/ng/logs/error.log; pid $TMP/ng/nginx.pid;
events { worker_connections 1024; }
http {
  access_log off;
  client_body_temp_path $TMP/ng/cb; proxy_temp_path $TMP/ng/px; fastcgi_temp_path $TMP/ng/fc;
  uwsgi_temp_path $TMP/ng/uw; scgi_temp_path $TMP/ng/sc;
  server { listen 127.0.0.1:$port; location / { root $TMP/ng/www; } }
}
CONF
	(with "$mode" taskset -c 0 nginx -p "$TMP/ng" -c "$TMP/ng/nginx.conf") &
	local srv=$!
	wait_port "$port" || return 1
	taskset -c 1 wrk -t1 -c10 -d"${WRK_SECONDS:-3}"s "http://127.0.0.1:$port/index.html" |
		awk '/^Requests\/sec:/ {printf "%.0f\n", $2}'
	kill -TERM "$(cat "$TMP/ng/nginx.pid")"   # the master stops its worker
	wait $srv 2>/dev/null
}

# go_wrk MODE [HEADER]: a Go net/http server (tests/go/httpd, CPU 0) under wrk (CPU 1); MODE traced is
# socklens run (a Go program is traced with seccomp and ptrace, not preloaded)
go_wrk() {
	local mode=$1 port; port=$(free_port)
	shift
	(taskset -pc 0 $BASHPID >/dev/null; with "$mode" "$TMP/httpd" "127.0.0.1:$port") &
	local srv=$!
	wait_port "$port" || return 1
	taskset -c 1 wrk -t1 -c10 -d"${WRK_SECONDS:-3}"s "$@" "http://127.0.0.1:$port/" |
		awk '/^Requests\/sec:/ {printf "%.0f\n", $2}'
	pkill -TERM -f "$TMP/httpd 127.0.0.1:$port"
	wait $srv 2>/dev/null
}

# interleave NAME MODES FUNCTION ARGS...: ROUNDS rounds of the modes (space-separated); the order
# flips every round so slow drift cancels in the ratios, which are taken within a round
interleave() {
	local name=$1 modes=$2 fn=$3 out order
	out=$TMP/$(tr -c 'A-Za-z0-9\n' _ <<<"$1").txt
	shift 3
	for r in $(seq "$ROUNDS"); do
		order=$modes
		[ $((r % 2)) -eq 0 ] && order=$(tr ' ' '\n' <<<"$modes" | tac | xargs)
		for mode in $order; do
			echo "$r $mode $($fn $mode "$@")" >> "$out"
		done
	done
	summarize "$name" "$out"
	cp "$out" "$TMP/last.txt"
}

echo "socklens bench: $(date -u +%Y-%m-%dT%H:%MZ), $(nproc) CPUs, kernel $(uname -r)"
echo "CPU: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), clocksource $(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)"
echo "one clock read, on CPU 0:"
taskset -c 0 "$B/bench/clockcost"
echo "the shim's own time per call (bench/shimcost: stub libc functions, no system call; best of 9):"
for kind in file nonblocking blocking; do
	p=$(taskset -c 1 "$B/bench/shimcost" $kind)
	s=$(mkdir -p "$TMP/logs"; env LD_PRELOAD="$SHIM" SOCKLENS_DIR="$TMP/logs" taskset -c 1 "$B/bench/shimcost" $kind)
	awk -v k=$kind -v p="$p" -v s="$s" 'BEGIN { printf "  %-12s %5.1f ns without the shim, %5.1f ns with it: +%.1f ns per call\n", k, p, s, s - p }'
done
echo
echo "rounds run every mode back to back, the order flipped every other round; ratios are taken"
echo "within a round; 'plain again' is a second plain run (the A/A control)"
echo
# the ping-pong gets more, shorter rounds, and its A/A control; strace is timed apart (10x slower)
want pingpong && ROUNDS=${PINGPONG_ROUNDS:-61} interleave "ping-pong (64 B, both ends pinned to CPU 0)" \
	"plain socklens again" pingpong "${PINGPONG_N:-20000}"
want pingpong && ROUNDS=3 interleave "ping-pong under strace" "plain strace" pingpong "${PINGPONG_N:-20000}"
want redis && interleave "redis-benchmark SET+GET (server under test on CPU 0, client on CPU 1)" \
	"plain socklens strace" redis
want nginx && interleave "wrk against nginx (master+worker under test on CPU 0, wrk on CPU 1)" \
	"plain socklens strace" nginx_wrk

if want go && command -v go >/dev/null; then
	(cd tests/go/httpd && GOCACHE="$TMP/gocache" go build -o "$TMP/httpd" .) &&
	ROUNDS=${GO_ROUNDS:-7} interleave "Go net/http under wrk, keep-alive (server on CPU 0, wrk on CPU 1)" \
		"plain traced strace" go_wrk &&
	ROUNDS=${GO_ROUNDS:-7} interleave "Go net/http under wrk, a new connection per request" \
		"plain traced strace" go_wrk -H "Connection: close" &&
	python3 - "$TMP" <<'PY'
import statistics, sys
runs = {}
for line in open(sys.argv[1] + "/last.txt"):
    rnd, mode, value = line.split()
    runs.setdefault(mode, []).append(float(value))
plain = statistics.median(runs["plain"])
for mode in ("traced", "strace"):
    m = statistics.median(runs[mode])
    print(f"  {mode:8s} costs {1e6 / m - 1e6 / plain:6.1f} us per connection ({m:,.0f}/s against {plain:,.0f}/s plain)")
PY
fi

if want callgrind; then
echo
echo "clock reads and instructions added per call (tests/instructions.sh: callgrind, 20000 calls each,"
echo "not counting inside the clock read, whose time is given above):"
BUILD=$B tests/instructions.sh | grep -v passed | sed 's/^ok   /  /; s/^FAIL /  FAIL /'
p=$(BUILD=$B bench/callgrind.sh socket_close 2000)
s=$(BUILD=$B bench/callgrind.sh socket_close 2000 shim)
printf "  %-24s %4d   (socket()+close(), each with a stack capture)\n" socket_close $(( (s - p) / 4000 ))
fi

# --inject with rules that match nothing: what the rules cost where they are looked at (connect,
# socket, accept, lookups; never the data calls), as instructions (callgrind: exact, where wall
# time on this VM moves by more than the difference) per loopback connection under socklens run,
# without rules, with one connect rule, and with the most a run may have (8)
if want inject; then
echo
echo "--inject matching nothing, instructions per loopback connection (socket, connect, accept, 2 closes;"
echo "callgrind, 2200 connections, the whole program counted):"
rules8=""
for i in $(seq 8); do rules8="$rules8 --inject refuse,to=192.0.2.$i:1"; done
for mode in none one eight; do
	case $mode in none) args="" ;; one) args="--inject refuse,to=192.0.2.1:1" ;; eight) args=$rules8 ;; esac
	rm -f "$TMP/cg.$mode"
	"$B/socklens" run --report /dev/null $args -- valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.$mode" \
		"$B/bench/callcost" time_connect 2000 >/dev/null 2>&1
	callgrind_annotate "$TMP/cg.$mode" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}' > "$TMP/cg.$mode.ir"
done
awk -v a="$(cat $TMP/cg.none.ir)" -v b="$(cat $TMP/cg.one.ir)" -v c="$(cat $TMP/cg.eight.ir)" 'BEGIN {
	printf "  no rules %.0f, one rule %.0f (+%.0f), 8 rules %.0f (+%.0f) instructions per connection\n",
		a / 2200, b / 2200, (b - a) / 2200, c / 2200, (c - a) / 2200 }'
fi

if want rare; then
echo
echo "rare calls, wall time (median of 5, 20000 socket()+close() pairs from one call site):"
for mode in plain socklens; do
	for _ in 1 2 3 4 5; do (with $mode "$B/bench/callcost" time_socket_close 20000); done |
		sort -n | sed -n 3p > "$TMP/sc.$mode"
done
echo "  plain $(cat $TMP/sc.plain) ns, socklens $(cat $TMP/sc.socklens) ns per pair: +$(( ($(cat $TMP/sc.socklens) - $(cat $TMP/sc.plain)) / 2 )) ns per call"
# the same from Python, ten Python frames deep: what reading Python's frames adds to a capture
cat > "$TMP/pysc.py" <<'PY'
import socket, sys, time
def deep(n, k):
    if k:
        return deep(n, k - 1)
    t = time.perf_counter()
    for _ in range(n):
        socket.socket().close()
    return (time.perf_counter() - t) / n * 1e9
print(int(deep(int(sys.argv[1]), 10)))
PY
for mode in plain frames noframes; do
	for _ in 1 2 3 4 5; do
		case $mode in
		plain) /usr/bin/python3 "$TMP/pysc.py" 5000 ;;
		frames) (with socklens /usr/bin/python3 "$TMP/pysc.py" 5000) ;;
		noframes) (export SOCKLENS_NO_LANG_FRAMES=1; with socklens /usr/bin/python3 "$TMP/pysc.py" 5000) ;;
		esac
	done | sort -n | sed -n 3p > "$TMP/py.$mode"
done
echo "  Python (CPython 3.11, 10 frames deep), socket()+close(): plain $(cat $TMP/py.plain) ns per pair,"
echo "    socklens with Python frames $(cat $TMP/py.frames) ns, without $(cat $TMP/py.noframes) ns:" \
	"reading the frames adds $(( ($(cat $TMP/py.frames) - $(cat $TMP/py.noframes)) / 2 )) ns per capture"
# lang_cost NAME CMD...: the median of 5 of CMD's own figure (ns), plain and under socklens with and
# without language frames
lang_cost() {
	local name=$1 mode
	shift
	for mode in plain frames noframes; do
		for _ in 1 2 3 4 5; do
			case $mode in
			plain) "$@" ;;
			frames) (with socklens "$@") ;;
			noframes) (export SOCKLENS_NO_LANG_FRAMES=1; with socklens "$@") ;;
			esac
		done | sort -n | sed -n 3p > "$TMP/$name.$mode"
	done
}
# Java: SocketChannel.open()+close() ten Java frames deep (the socket() captures a stack, JVMTI
# names the Java frames), after a warm-up
if command -v javac >/dev/null; then
	mkdir -p "$TMP/java"
	cat > "$TMP/java/Sc.java" <<'JAVA'
import java.nio.channels.SocketChannel;
public class Sc {
    static long deep(int n, int k) throws Exception {
        if (k > 0) return deep(n, k - 1);
        long t = System.nanoTime();
        for (int i = 0; i < n; i++) SocketChannel.open().close();
        return (System.nanoTime() - t) / n;
    }
    public static void main(String[] a) throws Exception {
        deep(2000, 10);
        System.out.println(deep(Integer.parseInt(a[0]), 10));
    }
}
JAVA
	javac -d "$TMP/java" "$TMP/java/Sc.java"
	lang_cost java java -cp "$TMP/java" Sc 5000
	echo "  Java (OpenJDK 17, 10 frames deep), SocketChannel open+close: plain $(cat $TMP/java.plain) ns per pair,"
	echo "    socklens with Java frames $(cat $TMP/java.frames) ns, without $(cat $TMP/java.noframes) ns:" \
		"asking JVMTI for the frames adds $(( ($(cat $TMP/java.frames) - $(cat $TMP/java.noframes)) / 2 )) ns per capture" \
		"(two per pair)"
fi
# Node.js: net.connect() to a local server and destroy, one after another, ten frames deep (each
# connect's origin is described by socklens-node.js), after a warm-up
if command -v node >/dev/null; then
	cat > "$TMP/conn.js" <<'JS'
const net = require('net');
const srv = net.createServer((c) => c.destroy()).listen(0, '127.0.0.1', async () => {
  const one = () => new Promise((ok) => { const s = net.connect(srv.address().port, '127.0.0.1', () => { s.destroy(); ok(); }); });
  const deep = async (n, k) => { if (k) return deep(n, k - 1); const t = process.hrtime.bigint(); for (let i = 0; i < n; i++) await one(); return Number(process.hrtime.bigint() - t) / n; };
  await deep(500, 10);
  console.log(Math.round(await deep(Number(process.argv[2]), 10)));
  srv.close();
});
JS
	lang_cost node node "$TMP/conn.js" 3000
	echo "  Node.js ($(node --version)), a connection (connect, accept, close) ten frames deep: plain $(cat $TMP/node.plain) ns,"
	echo "    socklens with JavaScript frames $(cat $TMP/node.frames) ns, without $(cat $TMP/node.noframes) ns:" \
		"describing the origin adds $(( $(cat $TMP/node.frames) - $(cat $TMP/node.noframes) )) ns per connection"
	# start-up: 21 rounds, the three modes interleaved (this VM's noise is tens of ms)
	for _ in $(seq 21); do
		for mode in plain noframes frames; do
			s=$(date +%s%N)
			case $mode in
			plain) node -e 0 ;;
			noframes) (export SOCKLENS_NO_LANG_FRAMES=1; with socklens node -e 0) ;;
			frames) (with socklens node -e 0) ;;
			esac
			echo "$mode $(( ($(date +%s%N) - s) / 1000 ))"
		done
	done > "$TMP/nstart"
	for mode in plain noframes frames; do
		grep "^$mode " "$TMP/nstart" | awk '{print $2}' | sort -n | sed -n 11p > "$TMP/nstart.$mode"
	done
	echo "  Node.js start (node -e 0, median of 21): plain $(cat $TMP/nstart.plain) us, socklens without" \
		"JavaScript frames $(cat $TMP/nstart.noframes) us, with $(cat $TMP/nstart.frames) us"
fi
fi

# Go: reading a running Go program's parked goroutines (what the tracer does once a second, and
# `socklens stuck`), with process_vm_readv: the program is never stopped.
if want goroutines && command -v go >/dev/null; then
	echo
	echo "goroutines:"
	(cd bench/go/manyg && CGO_ENABLED=0 GOCACHE="$TMP/gocache" go build -o "$TMP/manyg" .) || exit 1
	for n in 200 10000; do
		: > "$TMP/manyg.out"
		"$TMP/manyg" $n > "$TMP/manyg.out" &
		for _ in $(seq 400); do grep -q ready "$TMP/manyg.out" && break; sleep 0.05; done
		read -r ms waits callers version < <("$B/bench/gowalk" "$(awk '/ready/ {print $2}' "$TMP/manyg.out")" 21)
		echo "  $version, $n goroutines ($waits parked on sockets, an http.Client round trip among them):" \
			"${ms} ms per read (median of 21), the program not stopped"
		kill %%
		wait 2>/dev/null
	done
fi

# Process start: N processes forked and exec'd one after another (bench/forkexec: a build
# system's or a test suite's way), plain and under `socklens run` with the run directory on this
# machine's /tmp filesystem and on tmpfs (/dev/shm); wall time in microseconds. Two kinds: each
# child makes one connection (a test suite's clients), or none (a build system's compilers and
# shells, which make no log under socklens).
forks() {
	local kind=$1 mode=$2 n=$3 dir= arg=
	[ "$kind" = nosocket ] && arg=nosocket
	case $mode in
	plain|again) "$B/bench/forkexec" "$n" $arg; return ;;
	disk) dir=$TMP/forkrun ;;
	tmpfs) dir=$SHM/forkrun ;;
	esac
	rm -rf "$dir"
	"$B/socklens" run --dir "$dir" --report /dev/null -- "$B/bench/forkexec" "$n" $arg 2>/dev/null
	rm -rf "$dir"
}
# socklens run's own start-up: /bin/true plain, under the preload alone (SOCKLENS_DIR names a run
# directory) and under `socklens run` (its run directory made, the program started, the report
# written to /dev/null); wall time, median of 41 rounds in interleaved order.
if want start; then
	echo
	python3 - "$B" "$SHIM" "$TMP" <<'PY'
import os, shutil, statistics, subprocess, sys, time
b, shim, tmp = sys.argv[1:4]
d = os.path.join(tmp, "start")
modes = {
    "plain": (["/bin/true"], None),
    "preload": (["/bin/true"], dict(os.environ, LD_PRELOAD=shim, SOCKLENS_DIR=d)),
    "run": ([os.path.join(b, "socklens"), "run", "--dir", d, "--report", "/dev/null", "--", "/bin/true"], None),
}
times = {m: [] for m in modes}
for r in range(41):
    for m in (list(modes) if r % 2 else list(reversed(modes))):
        shutil.rmtree(d, ignore_errors=True)
        cmd, env = modes[m]
        t = time.perf_counter()
        subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[m].append((time.perf_counter() - t) * 1e3)
med = {m: statistics.median(v) for m, v in times.items()}
print("start-up of /bin/true, wall time, median of 41 interleaved rounds:")
print(f"  plain {med['plain']:.2f} ms;  preload alone {med['preload']:.2f} ms (+{med['preload'] - med['plain']:.2f});"
      f"  socklens run {med['run']:.2f} ms (+{med['run'] - med['preload']:.2f} over the preload)")
PY
fi

if want forks; then
	SHM=$(mktemp -d /dev/shm/socklens-bench-XXXXXX)
	for kind in clients nosocket; do
	echo
	if [ $kind = clients ]; then
		echo "process start: N one-connection clients forked and exec'd one after another (bench/forkexec),"
	else
		echo "process start: N processes without sockets forked and exec'd one after another (bench/forkexec N nosocket),"
	fi
	echo "run directory on $(stat -f -c %T "$TMP" | sed "s,ext2/ext3,ext2/3/4,") ($TMP) and on $(stat -f -c %T "$SHM") ($SHM); ratios of wall time to plain"
	echo "within a round, median of ${FORK_ROUNDS:-5} rounds; added: microseconds per process over plain"
	: > "$TMP/forks.txt"
	for n in 1 10 100 1000; do
		for r in $(seq "${FORK_ROUNDS:-5}"); do
			order="plain disk tmpfs again"
			[ $((r % 2)) -eq 0 ] && order="again tmpfs disk plain"
			for mode in $order; do
				echo "$n $r $mode $(forks $kind $mode $n)" >> "$TMP/forks.txt"
			done
		done
	done
	python3 - "$TMP/forks.txt" <<'PY'
import math, statistics, sys
runs = {}
for line in open(sys.argv[1]):
    n, rnd, mode, us = line.split()
    runs.setdefault(int(n), {}).setdefault(rnd, {})[mode] = float(us)
slopes = {}
for n, rounds in sorted(runs.items()):
    plain = statistics.median(r["plain"] for r in rounds.values())
    cells = []
    for mode in ("again", "disk", "tmpfs"):
        ratio = statistics.median(r[mode] / r["plain"] for r in rounds.values())
        added = statistics.median((r[mode] - r["plain"]) / n for r in rounds.values())
        cells.append(f"{mode} {ratio:.2f}x ({added:+.0f} us)")
        slopes.setdefault(mode, []).append((n, statistics.median(r[mode] for r in rounds.values())))
    slopes.setdefault("plain", []).append((n, plain))
    print(f"  N={n:<5d} plain {plain / n:7.0f} us per process;  " + ",  ".join(cells))
# wall time ~ N^k over N = 10..1000: k = 1 when each process costs the same however many ran before
for mode in ("plain", "disk", "tmpfs"):
    pts = [(math.log(n), math.log(t)) for n, t in slopes[mode] if n >= 10]
    mx = sum(x for x, _ in pts) / len(pts); my = sum(y for _, y in pts) / len(pts)
    k = sum((x - mx) * (y - my) for x, y in pts) / sum((x - mx) ** 2 for x, _ in pts)
    print(f"  {mode:6s} wall time grows as N^{k:.2f} (N = 10..1000)")
PY
	done
	rm -rf "$SHM"
fi

# script_loop MODE LOOP: a shell script looping over 500 execs, in processes per second: plain,
# under socklens run (which follows the Go and static programs a script execs: the preload asks the
# tracer before such an exec), and under socklens run with its tracer off (SOCKLENS_NO_PTRACE=1:
# the preload alone, such programs named, not followed)
script_loop() {
	local mode=$1 loop=$2 t0 t1
	rm -rf "$TMP/srun"
	t0=$(date +%s%N)
	case $mode in
	plain|again) "$loop" ;;
	follow) "$B/socklens" run --dir "$TMP/srun" --report /dev/null -- "$loop" 2>/dev/null ;;
	preload) SOCKLENS_NO_PTRACE=1 "$B/socklens" run --dir "$TMP/srun" --report /dev/null -- "$loop" 2>/dev/null ;;
	esac
	t1=$(date +%s%N)
	rm -rf "$TMP/srun"
	echo $((500 * 1000000000 / (t1 - t0)))
}
if want scripts; then
	printf 'int main(void) { return 0; }\n' > "$TMP/st.c"
	if gcc -static -O2 -o "$TMP/static-true" "$TMP/st.c" 2>/dev/null; then
		for prog in /bin/true "$TMP/static-true"; do
			loop=$TMP/loop-$(basename "$prog").sh
			printf '#!/bin/sh\ni=0\nwhile [ $i -lt 500 ]; do %s; i=$((i + 1)); done\n' "$prog" > "$loop"
			chmod +x "$loop"
			echo
			ROUNDS=${SCRIPT_ROUNDS:-7} interleave "a shell script running $(basename "$prog") 500 times, processes/s" \
				"plain follow preload again" script_loop "$loop"
		done
	fi
fi

want memory || exit 0
echo
echo "memory:"
mkdir -p "$TMP/logs"
plain_kb=$("$B/bench/manyconn" 10000)
shim_kb=$(export SOCKLENS_SLOTS=20480; with socklens "$B/bench/manyconn" 10000)
small_plain=$("$B/bench/manyconn" 1)
small_shim=$(with socklens "$B/bench/manyconn" 1)
small_log=$(ls -t "$TMP"/logs/*.sllog | head -1)
big_log=$(ls -S "$TMP"/logs/*.sllog | head -1)
echo "  log space, 1 connection:      $(du -k "$small_log" | cut -f1) KiB (a sparse file: $(( $(stat -c %s "$small_log") / 1024 )) KiB at most)"
echo "  log space, 10000 connections: $(du -k "$big_log" | cut -f1) KiB (SOCKLENS_SLOTS=20480)"
echo "  RSS, 1 connection:       plain ${small_plain} kB, socklens ${small_shim} kB (+$((small_shim - small_plain)) kB)"
echo "  RSS, 10000 connections:  plain ${plain_kb} kB, socklens ${shim_kb} kB (+$((shim_kb - plain_kb)) kB)"
