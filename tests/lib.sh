#!/usr/bin/env bash
# lib.sh - shared helpers for the integration suites (tests/*.sh): paths, JSON checks, and a runner
# that gives every case its own process, log and timeout.
cd "$(dirname "${BASH_SOURCE[0]}")/.."
BUILD=${BUILD:-build}
SL=$PWD/$BUILD/socklens
SHIM=$PWD/$BUILD/libsocklens.so
EX=$PWD/$BUILD/examples
PROGS=$PWD/$BUILD/tests/progs
PY=/usr/bin/python3
JC="$PY $PWD/tests/jcheck.py"

# line_of FILE TEXT: the line number of the first line of FILE containing TEXT
line_of() { grep -nF -- "$2" "$1" | head -1 | cut -d: -f1; }

# A TCP port on 127.0.0.1 that nothing listens on right now.
free_port() { $PY -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# wait_port PORT: until something accepts on 127.0.0.1:PORT (bounded, 20 s)
wait_port() {
	local i
	for i in $(seq 400); do
		(exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0
		sleep 0.05
	done
	echo "nothing listens on $1"
	return 1
}

# nginx_conf DIR WORKERS HTTP: DIR/nginx.conf for nginx with WORKERS workers, its pid, error log and
# temporary files in DIR, and HTTP (upstreams, servers) in its http block
nginx_conf() {
	mkdir -p "$1"
	cat > "$1/nginx.conf" <<NGINX
worker_processes $2;
pid $1/nginx.pid;
error_log $1/error.log;
events { }
http { access_log off; client_body_temp_path $1; proxy_temp_path $1; fastcgi_temp_path $1;
  uwsgi_temp_path $1; scgi_temp_path $1;
  $3 }
NGINX
}

# A resolver of our own: a private network and mount namespace whose /etc/resolv.conf points at
# tests/progs/dns_responder.py (slow.* answered DELAY seconds late, default 0.7, drop.* never, the
# rest NXDOMAIN). Appends to $TMP/dns.sh what runs there; run it with unshare -mn bash $TMP/dns.sh.
dns_env() { # [DELAY]
	unshare -mn true 2>/dev/null || skip "cannot create mount and network namespaces"
	printf 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n' > $TMP/resolv.conf
	cat > $TMP/dns.sh <<EOF
set -e
ip link set lo up
mount --bind $TMP/resolv.conf /etc/resolv.conf
$PY tests/progs/dns_responder.py ${1:-0.7} > $TMP/dns.ready &
trap "kill \$! 2>/dev/null" EXIT
for i in \$(seq 400); do grep -q ready $TMP/dns.ready && break; sleep 0.05; done
EOF
}

# expect_status WANT CMD...: runs CMD and checks its exit status
expect_status() {
	local want=$1 rc=0
	shift
	"$@" || rc=$?
	[ "$rc" -eq "$want" ] || { echo "exit status $rc, wanted $want: $*"; return 1; }
}

# newer_go: NEWGO, the bin directory of the newest Go after Debian's 1.19 that is installed
# (bookworm-backports', by install-deps.sh), and NEWGO_V its release; skips the case when there is
# none, and under SANITIZE (the *_newer_go cases run once, in the plain make check: the same tracer
# code with another Go, and CI time)
newer_go() {
	[ -z "${SANITIZE:-}" ] || skip "run once, in the plain make check (the same tracer code with another Go: CI time)"
	local v
	for v in 1.24 1.23 1.22 1.21; do
		if [ -x /usr/lib/go-$v/bin/go ]; then
			NEWGO=/usr/lib/go-$v/bin NEWGO_V=$v
			return 0
		fi
	done
	skip "no Go newer than Debian's 1.19 installed (golang-1.2x-go from bookworm-backports)"
}

# skip REASON: ends the case as skipped
skip() { echo "$*"; exit 77; }

# need TOOL...: skips the case unless every TOOL is installed
need() { for t in "$@"; do command -v "$t" >/dev/null || skip "$t not installed (scripts/install-deps.sh)"; done; }

# wait_for FILE TEXT: until FILE holds TEXT (bounded, 20 s)
wait_for() {
	local i
	for i in $(seq 400); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.05; done
	echo "no '$2' in $1"
	return 1
}

# collect_json CASE: copies the socklens JSON outputs the case wrote under $TMP (reports, stuck,
# diff, watch's lines: recognised by their version key) to $TMP/.json, for one schema check at the end
collect_json() {
	local f n=0
	mkdir -p "$TMP/.json"
	while IFS= read -r -d '' f; do
		head -c 48 "$f" 2>/dev/null | grep -qa '"socklens_\(report\|stuck\|diff\)"' || continue
		n=$((n + 1))
		cp "$f" "$TMP/.json/$1.$n.$(basename "$f")" 2>/dev/null || true
	done < <(find "$TMP" -path "$TMP/.json" -prune -o -type f -newer "$TMP/.mark" -size -16M \
		! -name '*.sllog' ! -name '*.slctl' ! -name '*.log' -print0 2>/dev/null)
}

# suite_main FILE [CASES...]: runs the case_* functions of FILE (all, or those named), each in
# its own bash with a timeout (CASE_TIMEOUT seconds, default 180) and its own log; 77 = skipped.
suite_main() {
	local file=$1 pass=0 failed=0 skipped=0 failures="" rc c
	shift
	TMP=$(mktemp -d /tmp/socklens-it-XXXXXX)
	export TMP BUILD
	local cases=${*:-$(SL_IN_CASE=1 bash -c "source tests/lib.sh; source $file; declare -F" | awk '$3 ~ /^case_/ {print substr($3, 6)}')}
	for c in $cases; do
		rc=0 t0=$SECONDS
		touch "$TMP/.mark"
		SL_IN_CASE=1 timeout -k 10 "${CASE_TIMEOUT:-180}" bash -c "source tests/lib.sh; source $file; set -e; \
			[ -n \"\${TRACE:-}\" ] && set -x; case_$c" >"$TMP/$c.log" 2>&1 </dev/null || rc=$?
		if [ $rc -eq 0 ]; then
			pass=$((pass + 1)); echo "ok   $c ($((SECONDS - t0)) s)"
		elif [ $rc -eq 77 ]; then
			skipped=$((skipped + 1)); echo "skip $c: $(tail -1 "$TMP/$c.log")"
		else
			failed=$((failed + 1)); failures="$failures $c"
			[ $rc -eq 124 ] && echo "FAIL $c (timed out after ${CASE_TIMEOUT:-180} s)" || echo "FAIL $c ($((SECONDS - t0)) s)"
			sed 's/^/    | /' "$TMP/$c.log" | tail -40
		fi
		collect_json "$c"
	done
	# every JSON output the cases wrote matches its schema (docs/schema/)
	if compgen -G "$TMP/.json/*" >/dev/null; then
		if $PY tests/jschema.py "$TMP"/.json/* >"$TMP/jschema.out" 2>&1; then
			echo "ok   json-schema: $(tail -1 "$TMP/jschema.out" | sed 's/^jschema: //')"
		else
			failed=$((failed + 1)); failures="$failures json-schema"
			echo "FAIL json-schema"
			sed "s|$TMP/.json/||; s/^/    | /" "$TMP/jschema.out" | tail -40
		fi
	fi
	[ -n "${KEEP_TMP:-}" ] || rm -rf "$TMP"
	echo
	[ -n "$failures" ] && echo "failed:$failures"
	echo "$(basename "$file"): $pass passed, $failed failed, $skipped skipped"
	[ $failed -eq 0 ]
}
