#!/usr/bin/env bash
# golang.sh - programs the preload cannot reach, traced by `socklens run` with seccomp and ptrace:
# Go programs built static (CGO_ENABLED=0) and dynamic (cgo) with Debian's golang-go, and a
# statically linked C program. Same kinds, same checks as for preloaded programs: kind, peer,
# count and the call site's file:line in the JSON.
set -u
[ -n "${SL_IN_CASE:-}" ] || { source "$(dirname "$0")/lib.sh"; suite_main tests/golang.sh "$@"; exit; }


# gobuild DIR OUT [static|dynamic|stripped|pie]: builds tests/go/DIR (the build cache in $TMP)
gobuild() {
	need go
	local cgo=0 flags=""
	case ${3:-static} in
	dynamic) cgo=1 ;;
	stripped) flags="-ldflags=-s -w" ;;  # no symbols, no DWARF: .gopclntab names the frames
	pie) cgo=1 flags="-buildmode=pie" ;;
	esac
	(cd tests/go/$1 && CGO_ENABLED=$cgo GOCACHE=${GOCACHE:-$TMP/gocache} GOFLAGS=-mod=mod \
		go build ${flags:+"$flags"} -o $2 . ) || { echo "go build $1 failed"; return 1; }
}

refused_client() { # static|dynamic
	local line port; line=$(line_of tests/go/client/main.go 'c, err := net.Dial("tcp", addr)')
	port=$(free_port)
	gobuild client $TMP/client-$1 $1
	if [ $1 = static ]; then file $TMP/client-$1 | grep -q "statically linked"; fi
	expect_status 1 $SL run --json $TMP/c-$1.json -- $TMP/client-$1 127.0.0.1:$port
	$JC $TMP/c-$1.json "one('connect-refused')['peer'] == '127.0.0.1:$port'" "one('connect-refused')['count'] == 1" \
		"one('connect-refused')['stack'][0]['function'] == 'main.fetch'" \
		"at(one('connect-refused'), 'tests/go/client/main.go', $line)" "len(diags()) == 1" \
		"proc()['exit_status'] == 1"
}

case_go_static_client_refused() { refused_client static; }
case_go_dynamic_client_refused() { refused_client dynamic; }
case_go_stripped_client_refused() { refused_client stripped; }
case_go_pie_client_refused() { refused_client pie; }

case_go_server_never_closes_its_connections() {
	local line; line=$(line_of tests/go/server/main.go 'c, err := ln.Accept()')
	gobuild server $TMP/server
	$SL run --json $TMP/s.json -- $TMP/server 5 > $TMP/s.out
	grep -q "served 5" $TMP/s.out
	# the clients closed their side: each held socket sits in CLOSE_WAIT
	$JC $TMP/s.json "one('close-wait')['count'] == 5" "one('close-wait')['distinct_peers'] == 5" \
		"at(one('close-wait'), 'tests/go/server/main.go', $line)" \
		"one('close-wait')['stack'][0]['function'] == 'main.serve'"
}

case_go_net_http_under_wrk_is_clean() {
	need wrk
	local port; port=$(free_port)
	gobuild httpd $TMP/httpd dynamic
	$SL run --json $TMP/h.json -- $TMP/httpd 127.0.0.1:$port > $TMP/h.out 2>&1 &
	local run=$! i
	for i in $(seq 400); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
	wrk -t1 -c20 -d2s http://127.0.0.1:$port/ | tee $TMP/wrk.txt | grep -q "Requests/sec"
	wrk -t1 -c10 -d1s -H "Connection: close" http://127.0.0.1:$port/ | grep -q "Requests/sec"
	kill -TERM $(pgrep -f "$TMP/httpd 127.0.0.1:$port" | tail -1)
	wait $run || true
	$JC $TMP/h.json "all(d['severity'] == 'info' for d in diags())" "proc()['signal'] == 15"
}

case_go_client_on_a_silent_server_live_and_killed() {
	local line; line=$(line_of tests/go/silent/main.go 'c, err := net.Dial("tcp", addr)')
	gobuild silent $TMP/silent
	$PY -c 'import socket,time,sys
s=socket.create_server(("127.0.0.1",0)); print(s.getsockname()[1], flush=True)
c,_=s.accept(); time.sleep(60)' > $TMP/port &
	local srv=$!
	wait_for $TMP/port .
	$SL run --dir $TMP/run --json $TMP/k.json -- $TMP/silent 127.0.0.1:$(cat $TMP/port) > $TMP/k.out 2>&1 &
	local run=$! i found=0
	wait_for $TMP/k.out asked
	# live: once it has waited a second (the tracer reads the socket's state every second)
	for i in $(seq 100); do
		$SL report --json $TMP/run > $TMP/live.json 2>/dev/null
		grep -q unanswered-request $TMP/live.json && { found=1; break; }
		sleep 0.1
	done
	[ $found -eq 1 ]
	$JC $TMP/live.json "one('unanswered-request')['evidence']['still_open'] == 1" \
		"at(one('unanswered-request'), 'tests/go/silent/main.go', $line)" "proc()['alive']"
	kill -TERM $(pgrep -f "$TMP/silent 127.0.0.1" | tail -1)
	wait $run || true
	kill $srv
	$JC $TMP/k.json "one('unanswered-request')['evidence']['bytes_sent'] == 12" "proc()['signal'] == 15" \
		"'was still waiting when the process ended' in one('unanswered-request')['summary']"
}

case_static_c_program_refused_and_leak() {
	need gcc
	gcc -static -g -O1 -o $TMP/refused examples/refused.c -lpthread 2>/dev/null || skip "no static libc"
	gcc -static -g -O1 -o $TMP/leak examples/leak.c -lpthread
	local line; line=$(line_of examples/refused.c 'if (connect(fd')
	expect_status 1 $SL run --json $TMP/r.json -- $TMP/refused
	$JC $TMP/r.json "one('connect-refused')['errno'] == 'ECONNREFUSED'" \
		"at(one('connect-refused'), 'examples/refused.c', $line)" "len(diags()) == 1"
	line=$(line_of examples/leak.c 'int fd = dial_local(port);')
	$SL run --json $TMP/l.json -- $TMP/leak
	$JC $TMP/l.json "one('socket-leak')['count'] == 3" "at(one('socket-leak'), 'examples/leak.c', $line)"
}

case_go_programs_behave_the_same() {
	gobuild client $TMP/client static
	gobuild server $TMP/server dynamic
	local port; port=$(free_port)
	local rc1=0 rc2=0
	$TMP/client 127.0.0.1:$port > $TMP/plain.out 2>&1 || rc1=$?
	$SL run -- $TMP/client 127.0.0.1:$port > $TMP/traced.out 2>/dev/null || rc2=$?
	[ $rc1 -eq $rc2 ] && diff $TMP/plain.out $TMP/traced.out
	$TMP/server 3 > $TMP/plain.out
	$SL run -- $TMP/server 3 > $TMP/traced.out 2>/dev/null
	diff $TMP/plain.out $TMP/traced.out
	# go test of a package that serves HTTP with httptest, under socklens run
	(cd tests/go/pkg && GOCACHE=${GOCACHE:-$TMP/gocache} go test -c -o $TMP/greet.test . )
	$SL run --json $TMP/t.json -- $TMP/greet.test -test.v > $TMP/gotest.out 2>/dev/null
	grep -q -- "--- PASS: TestHandler" $TMP/gotest.out
	$JC $TMP/t.json "proc()['exit_status'] == 0" "all(d['severity'] == 'info' for d in diags())"
}

case_ptrace_refused_runs_untraced() {
	need gcc
	gobuild client $TMP/client static
	# a seccomp profile that refuses ptrace, as container runtimes have
	$SL run -- true >/dev/null 2>&1 # warms nothing; checks socklens itself runs
	local port; port=$(free_port)
	local rc=0
	$PROGS/noptrace $SL run --json $TMP/np.json -- $TMP/client 127.0.0.1:$port > $TMP/np.out 2>$TMP/np.err || rc=$?
	cat $TMP/np.err
	[ $rc -eq 1 ]
	grep -q "fetch: dial tcp 127.0.0.1:$port: connect: connection refused" $TMP/np.out
	grep -q "cannot trace" $TMP/np.err
	$JC $TMP/np.json "r['run']['processes_unlogged']['ptrace_refused'] == 1" "len(diags()) == 0"
}

case_trace_data_sees_a_reset_per_call() {
	local line; line=$(line_of tests/go/silent/main.go "return bufio.NewReader(c).ReadString")
	gobuild silent $TMP/silent
	# a server that reads the request and aborts the connection (RST)
	$PY -c 'import socket,struct,sys
s=socket.create_server(("127.0.0.1",0)); print(s.getsockname()[1], flush=True)
c,_=s.accept(); c.settimeout(10); c.recv(100)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()' > $TMP/port &
	wait_for $TMP/port .
	$SL run --trace-data --json $TMP/td.json -- $TMP/silent 127.0.0.1:$(cat $TMP/port) > $TMP/td.out 2>&1 || true
	grep -q "connection reset by peer" $TMP/td.out
	$JC $TMP/td.json "one('connection-reset')['errno'] == 'ECONNRESET'" \
		"at(one('connection-reset'), 'tests/go/silent/main.go', $line)"
}
