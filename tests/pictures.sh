#!/usr/bin/env bash
# pictures.sh - the HTML report and the Perfetto trace of real runs: headless Chromium loads each
# page without an error and draws what the JSON report of the same run holds (findings,
# connections, processes: tests/pictures.py counts them in the DOM), a screenshot of each is kept
# in $BUILD/artefacts/, a 100,000-socket run's page stays bounded and loads in time, and the trace
# is well-formed with a slice per connection of the JSON report.
set -u
[ -n "${SL_IN_CASE:-}" ] || { source "$(dirname "$0")/lib.sh"; suite_main tests/pictures.sh "$@"; exit; }

PICS="$PY tests/pictures.py"
ART=$BUILD/artefacts

# chrome PAGE NAME: loads PAGE in headless Chromium (its own profile in $TMP; root needs
# --no-sandbox): the DOM its script left in $TMP/NAME.dom, a screenshot in $ART/NAME.png
chrome() {
	local flags=(--headless --no-sandbox --disable-gpu --hide-scrollbars --no-first-run --user-data-dir=$TMP/chrome
		--virtual-time-budget=20000 --window-size=1280,1400 --enable-logging=stderr --v=0)
	mkdir -p $ART
	timeout 120 chromium "${flags[@]}" --dump-dom "file://$1" > $TMP/$2.dom 2> $TMP/$2.chrome.log ||
		{ tail -5 $TMP/$2.chrome.log; return 1; }
	timeout 120 chromium "${flags[@]}" --screenshot=$ART/$2.png "file://$1" > /dev/null 2>> $TMP/$2.chrome.log ||
		{ tail -5 $TMP/$2.chrome.log; return 1; }
	[ -s $ART/$2.png ]
	# the page writes nothing to the console: any message there is an error or a warning
	! grep -a ':CONSOLE(' $TMP/$2.chrome.log
}

# pictures NAME: the page, its DOM and the trace of $TMP/NAME.{html,json,trace.json} checked
pictures() {
	need chromium
	chrome $TMP/$1.html $1
	$PICS page $TMP/$1.html $TMP/$1.dom $TMP/$1.json
	$PICS trace $TMP/$1.trace.json $TMP/$1.json
}

case_refused_and_served_clients() {
	need curl
	local port closed; port=$(free_port); closed=$(free_port)
	mkdir -p $TMP/www && echo hello > $TMP/www/index.html
	(cd $TMP/www && exec $PY -m http.server --bind 127.0.0.1 $port) > $TMP/www.out 2>&1 &
	local srv=$!
	wait_port $port
	# a shell and its curls: three processes, one refused, one served
	$SL run --html $TMP/rs.html --trace $TMP/rs.trace.json --json $TMP/rs.json -- \
		sh -c "curl -s http://127.0.0.1:$closed/; curl -s -o /dev/null http://127.0.0.1:$port/" 2> $TMP/rs.err || true
	kill $srv
	pictures rs
	$JC $TMP/rs.json "one('connect-refused')" "len(r['processes']) == 3"
	grep -q '"connect-refused"' $TMP/rs.html
	# the refused connect is a red bar, and its call site is in the page
	grep -q 'data-outcome="refused"' $TMP/rs.dom
}

case_nginx_under_wrk() {
	need nginx wrk
	local port; port=$(free_port)
	mkdir -p $TMP/ng && echo ok > $TMP/ng/index.html
	nginx_conf $TMP/ng 2 "server { listen 127.0.0.1:$port; root $TMP/ng; }"
	$SL run --html $TMP/ng.html --trace $TMP/ng.trace.json --json $TMP/ng.json -- \
		nginx -p $TMP/ng -c $TMP/ng/nginx.conf -g 'daemon off;' > $TMP/ng.out 2>&1 &
	local run=$!
	wait_port $port
	wrk -t2 -c8 -d2s -H 'Connection: close' http://127.0.0.1:$port/ | grep -q "Requests/sec"
	kill -QUIT "$(cat $TMP/ng/nginx.pid)"
	wait $run || true
	pictures ng
	# the master and its two workers; the connections wrk made are all there and clean
	$JC $TMP/ng.json "len(r['processes']) == 3" "len(conns(role='server')) > 100"
	grep -q 'data-outcome="clean"' $TMP/ng.dom
	! grep -q 'data-outcome="refused"' $TMP/ng.dom
	# (wrk ends with its 8 connections mid-request: those may be reset, on a loaded machine)
	[ "$(grep -o 'data-outcome="reset"' $TMP/ng.dom | wc -l)" -le 8 ]
}

case_a_hundred_thousand_sockets_stay_bounded() {
	need chromium
	# 50,000 connections over loopback, both ends in the program: 100,000 sockets, more than the
	# page draws; the failures (every 100th refused, every 50th reset) are drawn, the rest sampled
	# (under SANITIZE 15,000 connections: still past what the page draws; CI time)
	local n=50000
	[ -z "${SANITIZE:-}" ] || n=15000
	SOCKLENS_SLOTS=120000 $SL run --html $TMP/big.html --trace $TMP/big.trace.json --json $TMP/big.json -- \
		$PROGS/many_conns $n 100 50 > /dev/null 2> $TMP/big.err
	local size; size=$(stat -c %s $TMP/big.html)
	echo "page: $size bytes"
	[ "$size" -lt 4000000 ] # the page's bound (docs/usage.md): at most 20,000 connections drawn
	local t0=$SECONDS
	chrome $TMP/big.html big
	echo "loaded and drawn in $((SECONDS - t0)) s"
	[ $((SECONDS - t0)) -le 60 ]
	$PICS page $TMP/big.html $TMP/big.dom $TMP/big.json
	$PICS trace $TMP/big.trace.json $TMP/big.json
	grep -q "The timeline draws 20000 of those" $TMP/big.dom
	# every refused and reset connection the logs kept is among those drawn
	$PY - $TMP/big.json $TMP/big.dom <<'EOF'
import json, re, sys
r = json.load(open(sys.argv[1]))
dom = open(sys.argv[2]).read()
bad = sum(1 for c in r["connections"] if (c["connect"] or {}).get("state") == "failed")
drawn = len(re.findall(r'data-outcome="refused"', dom)) - 1  # the legend's entry
assert drawn == bad, (drawn, bad)
EOF
}

case_a_thousand_processes_stay_usable() {
	need chromium
	local port; port=$(free_port)
	# a shell starting 1,000 clients, each its own process with one refused connection
	$SL run --html $TMP/kp.html --trace $TMP/kp.trace.json --json $TMP/kp.json -- \
		sh -c "i=0; while [ \$i -lt 1000 ]; do $PROGS/one_connect $port; i=\$((i+1)); done" > /dev/null 2>&1 || true
	local t0=$SECONDS
	chrome $TMP/kp.html kp
	echo "loaded and drawn in $((SECONDS - t0)) s"
	[ $((SECONDS - t0)) -le 60 ]
	$PICS page $TMP/kp.html $TMP/kp.dom $TMP/kp.json
	$PICS trace $TMP/kp.trace.json $TMP/kp.json
	$JC $TMP/kp.json "len(r['processes']) == 1001" "one('connect-refused')['count'] == 1000"
}

case_report_draws_a_kept_run_and_refuses_bad_paths() {
	need curl
	local closed; closed=$(free_port)
	$SL run --dir $TMP/kept -- curl -s http://127.0.0.1:$closed/ 2> /dev/null || true
	$SL report --html $TMP/k.html --trace $TMP/k.trace.json $TMP/kept > /dev/null
	$SL report --json $TMP/kept > $TMP/k.json || true
	pictures k
	# a path that cannot be written is an error before anything is analyzed, and leaves nothing
	expect_status 1 $SL report --html /proc/nonexistent/k.html $TMP/kept 2> $TMP/e1.txt
	grep -q "cannot write HTML report '/proc/nonexistent/k.html'" $TMP/e1.txt
	expect_status 125 $SL run --trace /proc/nonexistent/t.json -- true 2> $TMP/e2.txt
	grep -q "cannot write trace '/proc/nonexistent/t.json'" $TMP/e2.txt
	# a program that ran untraced leaves no empty page behind
	TMPDIR=/proc/nonexistent $SL run --html $TMP/u.html -- true 2> $TMP/u.err
	[ ! -e $TMP/u.html ] && grep -q "ran untraced" $TMP/u.err
}
