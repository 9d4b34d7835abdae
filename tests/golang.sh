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
	trimpath) flags="-trimpath" ;;       # as Debian builds its Go packages: no GOROOT in file names
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

# -trimpath (every Debian Go package): Go's own frames are told by their package, not their file.
case_go_trimpath_client_refused() {
	local line port; line=$(line_of tests/go/client/main.go 'c, err := net.Dial("tcp", addr)')
	port=$(free_port)
	gobuild client $TMP/client-trim trimpath
	expect_status 1 $SL run --json $TMP/c-trim.json -- $TMP/client-trim 127.0.0.1:$port
	$JC $TMP/c-trim.json "one('connect-refused')['stack'][0]['function'] == 'main.fetch'" \
		"one('connect-refused')['stack'][0]['file'] == 'socklens.test/client/main.go'" \
		"one('connect-refused')['stack'][0]['line'] == $line"
}

# TLS handshakes that fail, found without --trace-data (the first connections of each call site
# have their first bytes looked at) and with it, at the program's dial; a good one says nothing.
tls_failures() { # default|data
	local line aline mode opt=""; line=$(line_of tests/go/tlsfail/main.go 'c, err := tls.DialWithDialer(')
	aline=$(line_of tests/go/tlsfail/main.go 'c, err := ln.Accept()')
	[ $1 = data ] && opt=--trace-data
	gobuild tlsfail $TMP/tlsfail trimpath
	for mode in untrusted version plain silent; do
		expect_status 1 $SL run $opt --json $TMP/tls-$mode.json -- $TMP/tlsfail $mode > $TMP/tls-$mode.out
	done
	grep -q "certificate signed by unknown authority" $TMP/tls-untrusted.out
	# the client's refusal, and the server's view of it when its read was seen (a warning at the
	# accept); the server may see the client's reset too (info)
	$JC $TMP/tls-untrusted.json \
		"len([d for d in diags('tls-rejected') if d['severity'] == 'error' and d['evidence']['encrypted_alert'] == 1 and d['stack'][0]['line'] == $line]) == 1" \
		"all(d['stack'][0]['line'] == $aline and d['evidence']['encrypted_alert'] == 1 for d in diags('tls-rejected') if d['severity'] == 'warning')" \
		"len([d for d in diags() if d['severity'] != 'info' and d['kind'] != 'tls-rejected']) == 0"
	grep -q "protocol version not supported" $TMP/tls-version.out
	# both sides: the client's, and the server's alert (its accepting thread is held until the
	# others step, so the alert's write is seen: docs/go.md)
	$JC $TMP/tls-version.json "all(d['evidence']['alert_description'] == 70 for d in diags('tls-alert'))" \
		"any(d['evidence']['sent_by_program'] == 0 and d['stack'][0]['line'] == $line for d in diags('tls-alert'))" \
		"[d for d in diags('tls-alert') if d['evidence']['sent_by_program']]" \
		"all(d['stack'][0]['line'] == $aline for d in diags('tls-alert') if d['evidence']['sent_by_program'])" \
		"len(diags()) == len(diags('tls-alert'))"
	grep -q "EOF" $TMP/tls-plain.out
	$JC $TMP/tls-plain.json "one('tls-aborted')['stack'][0]['line'] == $line" "len(diags()) == 1"
	# a plaintext answer to the hello (an HTTP server's 400, an SMTP greeting): the port does not
	# speak TLS, an error at the dial, and nothing else (the program's close with the answer
	# unread is not a reset-on-close of its own)
	expect_status 1 $SL run $opt --json $TMP/tls-http.json -- $TMP/tlsfail http > $TMP/tls-http.out
	expect_status 1 $SL run $opt --json $TMP/tls-greet.json -- $TMP/tlsfail greeting > $TMP/tls-greet.out
	grep -q "first record does not look like a TLS handshake" $TMP/tls-http.out
	$JC $TMP/tls-http.json "one('tls-aborted')['stack'][0]['line'] == $line" "one('tls-aborted')['severity'] == 'error'" \
		"one('tls-aborted')['evidence']['http_response'] == 1" "'serves HTTP, not HTTPS' in one('tls-aborted')['summary']" \
		"len(diags()) == 1"
	$JC $TMP/tls-greet.json "one('tls-aborted')['stack'][0]['line'] == $line" "one('tls-aborted')['evidence']['not_tls'] == 1" \
		"one('tls-aborted')['evidence']['http_response'] == 0" "len(diags()) == 1"
	# a silent server: the dialer's timeout ends the handshake through crypto/tls's interrupter
	# goroutine (no deadline on the socket, yet bounded): unanswered, and no missing timeout
	grep -q "context deadline exceeded" $TMP/tls-silent.out
	$JC $TMP/tls-silent.json "one('unanswered-request')['stack'][0]['line'] == $line" \
		"not diags('missing-timeout')" "len([d for d in diags() if d['severity'] != 'info']) == 1"
	$SL run $opt --json $TMP/tls-ok.json -- $TMP/tlsfail ok | grep -q "answered ping"
	$JC $TMP/tls-ok.json "len(diags()) == 0"
	# TLS 1.3 and a client certificate required, none sent: the client's handshake completes, the
	# server's refusal is an encrypted alert the client meets at its next read
	$SL run $opt --json $TMP/tls-cc.json -- $TMP/tlsfail clientcert | grep -Eq "remote error: tls: (bad certificate|certificate required)"
	$JC $TMP/tls-cc.json "[d for d in diags('tls-rejected') if d['evidence'].get('by_server') == 1 and d['stack'][0]['line'] == $line]"
	# TLS 1.2, where the alerts go in the clear: the server refusing the client's missing
	# certificate, and the client refusing the server's; each side's view of the other's refusal
	# when its look saw it (a warning at the accept on the server's side)
	for mode in clientcert12 untrusted12; do
		expect_status 1 $SL run $opt --json $TMP/tls-$mode.json -- $TMP/tlsfail $mode > $TMP/tls-$mode.out
	done
	grep -q "remote error: tls: bad certificate" $TMP/tls-clientcert12.out
	$JC $TMP/tls-clientcert12.json \
		"[d for d in diags('tls-alert') if d['severity'] == 'error' and d['evidence']['sent_by_program'] == 0 and 'certificate (or its lack)' in d['summary'] and d['stack'][0]['line'] == $line]" \
		"all(d['evidence']['sent_by_program'] == 1 and d['stack'][0]['line'] == $aline for d in diags('tls-alert') if d['severity'] == 'warning')" \
		"len([d for d in diags() if d['severity'] != 'info' and d['kind'] != 'tls-alert']) == 0"
	grep -q "certificate signed by unknown authority" $TMP/tls-untrusted12.out
	$JC $TMP/tls-untrusted12.json \
		"[d for d in diags('tls-alert') if d['severity'] == 'error' and d['evidence']['sent_by_program'] == 1 and d['stack'][0]['line'] == $line]" \
		"all(d['stack'][0]['line'] == $aline and d['evidence']['sent_by_program'] == 0 for d in diags('tls-rejected'))" \
		"len([d for d in diags() if d['severity'] != 'info' and d['kind'] not in ('tls-alert', 'tls-rejected')]) == 0"
}
case_go_tls_handshake_failures() { tls_failures default; }
case_go_tls_handshake_failures_trace_data() { tls_failures data; }

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

# A client leaves its keep-alive connection idle for 3 s, then closes it: the server closes its
# side at once (net/http's background read sees the FIN). The kernel says CLOSE_WAIT at that close,
# but the socket was held there for microseconds, not since the last request: no close-wait.
case_go_server_closing_on_a_clients_fin_is_clean() {
	local port; port=$(free_port)
	gobuild httpd $TMP/httpd
	$SL run --json $TMP/fin.json -- $TMP/httpd 127.0.0.1:$port > $TMP/fin.out 2>&1 &
	local run=$! i
	wait_port $port
	$PY - $port <<'PY'
import socket, sys, time
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
got = b""
while not got.endswith(b"hello\n"):
    got += c.recv(4096)
time.sleep(3)  # the idle keep-alive time under test, not a wait for something
c.close()
PY
	# until the server has closed its side (no socket of that port left but TIME_WAIT's)
	for i in $(seq 200); do
		[ -z "$(ss -Htn state close-wait state established "( sport = :$port )")" ] && break
		sleep 0.05
	done
	kill -TERM $(pgrep -f "$TMP/httpd 127.0.0.1:$port" | tail -1)
	wait $run || true
	$JC $TMP/fin.json "not diags('close-wait')" "all(d['severity'] == 'info' for d in diags())" \
		"len([c for c in conns() if c['role'] == 'server']) == 2" # (wait_port's probe, the client's)
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

# `go test` and `go run` delete the binary they built once it has run, before the report reads it:
# the tracer keeps it beside the log, so the findings still reach the test's and the program's line.
case_go_test_and_go_run_show_their_lines() {
	local line; line=$(grep -n 'net.Dial(' tests/go/dialtest/dial_test.go | cut -d: -f1)
	(cd tests/go/dialtest && GOCACHE=${GOCACHE:-$TMP/gocache} GOFLAGS=-mod=mod $SL run --json $TMP/gt.json -- \
		go test -count=1 . > $TMP/gt.out 2>&1) || { cat $TMP/gt.out; return 1; }
	$JC $TMP/gt.json "at(one('connect-refused'), 'tests/go/dialtest/dial_test.go', $line)"
	line=$(grep -n 'net.Dial(' tests/go/client/main.go | cut -d: -f1)
	local port; port=$(free_port)
	(cd tests/go/client && GOCACHE=${GOCACHE:-$TMP/gocache} GOFLAGS=-mod=mod expect_status 1 $SL run --json $TMP/gr.json -- \
		go run . 127.0.0.1:$port > $TMP/gr.out 2>&1) || { cat $TMP/gr.out; return 1; }
	$JC $TMP/gr.json "at(one('connect-refused'), 'tests/go/client/main.go', $line)"
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

# resetting_server PORTFILE: reads a request and aborts the connection (RST)
resetting_server() {
	rm -f $1
	$PY -c 'import socket,struct,sys
s=socket.create_server(("127.0.0.1",0)); print(s.getsockname()[1], flush=True)
c,_=s.accept(); c.settimeout(10); c.recv(100)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)); c.close()' > $1 &
	wait_for $1 .
}

case_trace_data_sees_a_reset_per_call() {
	local line; line=$(line_of tests/go/silent/main.go "return bufio.NewReader(c).ReadString")
	gobuild silent $TMP/silent
	resetting_server $TMP/port
	$SL run --trace-data --json $TMP/td.json -- $TMP/silent 127.0.0.1:$(cat $TMP/port) > $TMP/td.out 2>&1 || true
	grep -q "connection reset by peer" $TMP/td.out
	$JC $TMP/td.json "one('connection-reset')['errno'] == 'ECONNRESET'" \
		"at(one('connection-reset'), 'tests/go/silent/main.go', $line)" "len(diags('connection-reset')) == 1"
}

# io.Copy is inlined into the program's function: the failed read's frame there is the program's
# line (Go's inlining table), never the caller's name with io.go's line (the line table alone).
case_trace_data_names_the_line_an_inlined_call_is_on() {
	local line; line=$(line_of tests/go/copyreset/main.go '// the copy')
	gobuild copyreset $TMP/copyreset
	resetting_server $TMP/port
	$SL run --trace-data --json $TMP/cr.json -- $TMP/copyreset 127.0.0.1:$(cat $TMP/port) > $TMP/cr.out 2>&1 || true
	grep -q "connection reset by peer" $TMP/cr.out
	$JC $TMP/cr.json "one('connection-reset')['stack'][0]['function'] == 'main.download'" \
		"one('connection-reset')['stack'][0]['line'] == $line" \
		"one('connection-reset')['stack'][0]['file'].endswith('copyreset/main.go')"
}

# Without --trace-data the tracer sees no read fail, but the kernel had the connection closed
# (TCP_CLOSE) before the program closed it: the reset is found, at the program's connect line.
case_default_mode_finds_a_reset_from_the_kernel() {
	local line; line=$(line_of tests/go/silent/main.go 'c, err := net.Dial("tcp", addr)')
	gobuild silent $TMP/silent
	resetting_server $TMP/port2
	$SL run --json $TMP/rs.json -- $TMP/silent 127.0.0.1:$(cat $TMP/port2) > $TMP/rs.out 2>&1 || true
	grep -q "connection reset by peer" $TMP/rs.out
	$JC $TMP/rs.json "one('connection-reset')['severity'] == 'error'" \
		"at(one('connection-reset'), 'tests/go/silent/main.go', $line)" "len(diags()) == 1"
}

# A write after the peer's orderly close fails with EPIPE, whose SIGPIPE stops the writing thread
# at the tracer: found without --trace-data as with it, a broken-pipe at the program's write (not a
# reset "the peer crashed"), in a static and a -trimpath build; over TLS too, where the Close's
# close_notify then fails the same way and is no second finding at the Close's line.
case_go_broken_pipe_without_trace_data() {
	local line close mode opt tls; line=$(line_of tests/go/upload/main.go '// the upload')
	close=$(line_of tests/go/upload/main.go 'defer c.Close()')
	openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=localhost -days 1 -keyout $TMP/k.pem -out $TMP/c.pem \
		>/dev/null 2>&1
	for mode in static trimpath; do
		gobuild upload $TMP/upload-$mode $mode
		for opt in "" --trace-data; do
			for tls in "" -tls; do
				rm -f $TMP/hport
				$PY -c 'import socket, ssl, sys
s = socket.create_server(("127.0.0.1", 0)); print(s.getsockname()[1], flush=True)
c, _ = s.accept(); c.settimeout(30)
if sys.argv[1]:
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER); ctx.load_cert_chain(sys.argv[2], sys.argv[3])
    c = ctx.wrap_socket(c, server_side=True)
f = c.makefile("rb"); f.readline(); c.sendall(b"BYE\n"); f.close()
try:
    c = c.unwrap() if sys.argv[1] else c
except (OSError, ValueError):
    pass
c.close()' "$tls" $TMP/c.pem $TMP/k.pem > $TMP/hport 2>/dev/null &
				wait_for $TMP/hport .
				expect_status 1 $SL run $opt --json $TMP/bp.json -- $TMP/upload-$mode $tls 127.0.0.1:$(cat $TMP/hport) \
					> $TMP/bp.out
				if [ -z "$tls" ]; then
					grep -q "broken pipe" $TMP/bp.out
					$JC $TMP/bp.json "one('broken-pipe')['severity'] == 'error'" "one('broken-pipe')['errno'] == 'EPIPE'" \
						"one('broken-pipe')['stack'][0]['function'] == 'main.upload'" \
						"one('broken-pipe')['stack'][0]['line'] == $line" "len(diags()) == 1"
				else # (the server's close may find the first chunk unread: a reset, met by the write)
					$JC $TMP/bp.json "len(diags()) == 1" "diags('broken-pipe') or diags('connection-reset')" \
						"all(d['stack'][0]['line'] == $line for d in diags('broken-pipe'))" \
						"not any(d['stack'][0]['line'] == $close for d in diags())"
				fi
			done
		done
	done
}

# A cgo program's user and host lookups go through glibc, which tries nscd's socket first and does
# without it: those refusals (seen by the tracer, not by the preload) are no finding.
case_go_cgo_name_services_are_clean() {
	gobuild nss $TMP/nss dynamic
	GODEBUG=netdns=cgo $SL run --json $TMP/nss.json -- $TMP/nss | grep -q "^user "
	$JC $TMP/nss.json "any(c['peer'].endswith('nscd/socket') for c in r['connections'])" "len(diags()) == 0"
}

# A cgo Go program started by another program (a shell, timeout) loads the preload, but its sockets
# never go through libc and the tracer does not follow it: the report says it was not followed,
# never that it had no sockets.
case_go_cgo_program_started_by_another_program_is_named_unfollowed() {
	gobuild silent $TMP/silent dynamic
	$SL run --json $TMP/wr.json -- $PY -c "import subprocess; subprocess.run(['$TMP/silent', '127.0.0.1:1'])" \
		> $TMP/wr.out 2>&1
	grep -q "connection refused" $TMP/wr.out
	$JC $TMP/wr.json "one('untraced-exec')['severity'] == 'info'" "'silent' in one('untraced-exec')['summary']" \
		"len(diags()) == 1" "r['checked']['coverage'] == 'part'" "r['run']['processes_without_sockets'] == 0"
}

# Go programs that a script, a shell or a launcher runs (an entrypoint's `exec ./server`, `sh -c`,
# env, timeout): the preload asks the tracer to follow the process before its exec, and the program
# is traced from its first instruction, static or cgo, its findings at its own lines; the script's
# other processes are not traced at all (strace and gdb work in it as without socklens, the program
# they run is named as not followed).
case_go_programs_that_scripts_run_are_followed() {
	local line; line=$(line_of tests/go/upload/main.go 'c, err := net.Dial("tcp", addr)')
	gobuild upload $TMP/up-static
	gobuild upload $TMP/up-cgo dynamic
	printf '#!/bin/sh\necho starting\nexec "$@"\n' > $TMP/entry.sh
	chmod +x $TMP/entry.sh
	expect_status 1 $SL run --json $TMP/e1.json -- $TMP/entry.sh $TMP/up-static 127.0.0.1:1 > $TMP/e1.out
	expect_status 0 $SL run --json $TMP/e2.json -- sh -c "$TMP/up-cgo 127.0.0.1:1; env $TMP/up-static 127.0.0.1:1; true" > $TMP/e2.out
	expect_status 1 $SL run --json $TMP/e3.json -- timeout 60 $TMP/up-cgo 127.0.0.1:1 > $TMP/e3.out
	# make runs a recipe with no shell syntax through posix_spawn: glibc's child execs in libc
	printf 'all:\n\t%s 127.0.0.1:1\n' $TMP/up-static > $TMP/Makefile.go
	expect_status 2 $SL run --json $TMP/e6.json -- make -s -f $TMP/Makefile.go > $TMP/e6.out 2>&1
	grep -q starting $TMP/e1.out
	local j
	for j in e1 e2 e3 e6; do
		$JC $TMP/$j.json "len(diags()) == len(diags('connect-refused')) == ('$j' == 'e2' and 2 or 1)" \
			"all(d['stack'][0]['function'] == 'main.upload' and d['stack'][0]['line'] == $line for d in diags())" \
			"r['checked']['coverage'] == 'all'"
	done
	if command -v strace >/dev/null; then
		$SL run --json $TMP/e4.json -- sh -c "strace -f -o $TMP/strace.out -e trace=connect $TMP/up-static 127.0.0.1:1; true" \
			> $TMP/e4.out 2>&1
		grep -q 'connect(.*sin_port=htons(1)' $TMP/strace.out
		grep -q 'cannot follow process' $TMP/e4.out
		$JC $TMP/e4.json "one('untraced-exec')['severity'] == 'info'" "len(diags()) == 1"
		# a followed exec that fails (a noexec mount) and a program that goes on: let go, so a
		# strace it then runs works, and the failed exec is named nowhere
		cat > $TMP/tryexec.py <<'EOF'
import os, subprocess, sys
try:
    os.execv(sys.argv[1], [sys.argv[1], "127.0.0.1:1"])
except OSError as e:
    print("exec failed:", e.errno)
print("strace rc", subprocess.run(["strace", "-f", "-o", "/dev/null", "/bin/true"]).returncode, flush=True)
EOF
		mkdir -p $TMP/nx
		unshare -m sh -c "mount -t tmpfs -o noexec tmpfs $TMP/nx && cp $TMP/up-static $TMP/nx/ && \
			$SL run --json $TMP/e5.json -- sh -c '$PY $TMP/tryexec.py $TMP/nx/up-static'" > $TMP/e5.out 2>&1
		grep -q "exec failed: 13" $TMP/e5.out
		grep -q "strace rc 0" $TMP/e5.out
		$JC $TMP/e5.json "not diags()"
	fi
}

# Eight goroutines of one loop dial a refused address through net/http at once (tests/go/fanout):
# the dials run on the Transport's goroutines; Go 1.19 keeps no creator, but the waiting callers
# all sit at one line, which is the finding's.
case_go_concurrent_http_dials_name_the_callers_line() {
	local line; line=$(line_of tests/go/fanout/main.go '// the fan-out')
	gobuild fanout $TMP/fanout
	$SL run --json $TMP/fo.json -- $TMP/fanout http://127.0.0.1:1/ > $TMP/fo.out
	[ "$(grep -c true $TMP/fo.out)" = 8 ]
	$JC $TMP/fo.json "one('connect-refused')['count'] == 8" \
		"one('connect-refused')['stack'][0]['line'] == $line" \
		"one('connect-refused')['stack'][0]['file'].endswith('fanout/main.go')"
}

# A socket a dependency's code makes (another module: tests/go/deps/busclient), called from a package
# of the program's own module: the finding's first frame is the program's call, with and without
# -trimpath, not the library's layers (which would fill the frames the report shows).
case_go_dependency_frames_give_way_to_the_programs_call() {
	local line; line=$(line_of tests/go/deps/collector/collector.go '// the program')
	local b
	for b in static trimpath; do
		gobuild deps $TMP/deps-$b $b
		$SL run --json $TMP/deps-$b.json -- $TMP/deps-$b $TMP/no-such-bus > /dev/null
		$JC $TMP/deps-$b.json "one('connect-refused')['stack'][0]['function'] == 'example.com/deps/collector.Collect'" \
			"one('connect-refused')['stack'][0]['line'] == $line" \
			"one('connect-refused')['stack'][0]['file'].endswith('collector/collector.go')"
	done
}

# TCP_CLOSE at close is a reset unless the program shut its side down first: then it is also where
# both FINs lead (tests/go/halfclose). Half-closes either way round are clean; a reset that came
# after the client's shutdown and was never read is still an error, at the dial's line.
case_go_half_close_is_clean_and_an_abort_after_it_is_not() {
	local dial; dial=$(line_of tests/go/halfclose/main.go 'net.Dial("tcp", addr) // the aborted one')
	gobuild halfclose $TMP/halfclose
	$SL run --json $TMP/hg.json -- $TMP/halfclose graceful > $TMP/hg.out
	[ "$(grep -c 'got 5 bytes' $TMP/hg.out)" = 6 ]
	$JC $TMP/hg.json "len(diags()) == 0"
	$SL run --json $TMP/ha.json -- $TMP/halfclose abort > $TMP/ha.out
	$JC $TMP/ha.json "one('connection-reset')['severity'] == 'error'" \
		"at(one('connection-reset'), 'tests/go/halfclose/main.go', $dial)" \
		"len(diags('connection-reset')) == 1"
	# the reset read by the program (which the tracer does not see): no TIME_WAIT socket was left
	$SL run --json $TMP/hr.json -- $TMP/halfclose abortread > $TMP/hr.out
	grep -q "read: .*connection reset by peer" $TMP/hr.out
	$JC $TMP/hr.json "one('connection-reset')['severity'] == 'error'" \
		"at(one('connection-reset'), 'tests/go/halfclose/main.go', $dial)" \
		"len(diags('connection-reset')) == 1"
}

# A Go service with goroutines stuck on the network in every way (tests/go/stuck): `socklens stuck`
# lists each at its line, with how long (growing between two looks) and its deadline or none, read
# from the running program; the report names the reads with no deadline at their lines, the write
# to a peer that does not read, the http.Client round trip at the program's call (not the
# transport's), the zero-timeout http.Server's connection (slowloris), and nothing for the read
# under a ten-minute deadline. Live and final agree.
stuck_goroutines() { # build [go binary dir]
	local bin=$TMP/stuck-$1 src=tests/go/stuck/main.go
	if [ -n "${2:-}" ]; then
		(cd tests/go/stuck && CGO_ENABLED=0 GOTOOLCHAIN=local GOCACHE=$TMP/gocache-$1 $2/go build -o $bin .) || return 1
	else
		gobuild stuck $bin $1
	fi
	local read=$(line_of $src 'c.Read(buf) // no deadline') patient=$(line_of $src 'c.Read(buf) // deadline in 10')
	local write=$(line_of $src 'if _, err := c.Write(chunk)') get=$(line_of $src 'resp, err := http.Get(url)')
	: > $TMP/stuck.out
	$SL run --audit --json $TMP/st.json --report $TMP/st.txt -- $bin > $TMP/stuck.out &
	local run=$! pid i
	wait_for $TMP/stuck.out ready
	pid=$(awk '/ready/ {print $2}' $TMP/stuck.out)
	# the tracer samples once a second: until every parked goroutine has been seen
	for i in $(seq 100); do
		$SL stuck --json --min 0 $pid > $TMP/look1.json
		$PY -c 'import json,sys; sys.exit(len(json.load(open(sys.argv[1]))["stuck"]) < 7)' $TMP/look1.json && break
		sleep 0.2
	done
	$SL stuck --min 0 $pid > $TMP/look.txt
	cat > $TMP/check.py <<'EOF'
import json, sys
src, read, patient, write, get = sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5]), int(sys.argv[6])
s = json.load(open(sys.argv[1]))["stuck"]
def at(e, line):
    return any((f["file"] or "").endswith(src) and f["line"] == line for f in e["stack"])
reads = [e for e in s if e["call"] == "read" and at(e, read)]
assert len(reads) == 3 and all(e["deadline"] == "none" and e["goroutine"] for e in reads), reads
pat = [e for e in s if at(e, patient)]
assert len(pat) == 1 and pat[0]["deadline"] == "set" and pat[0]["deadline_in_ms"] > 500000, pat
wr = [e for e in s if e["call"] == "write" and at(e, write)]
assert len(wr) == 1 and wr[0]["deadline"] == "none", wr
rt = [e for e in s if at(e, get)]
assert len(rt) == 1 and rt[0]["deadline"] == "none" and rt[0]["peer"], rt
srv = [e for e in s if e["role"] == "server" and e["call"] == "read"]
assert len(srv) == 1 and srv[0]["deadline"] == "none", srv
EOF
	$PY $TMP/check.py $TMP/look1.json $src $read $patient $write $get || { cat $TMP/look.txt; return 1; }
	grep -q "no deadline" $TMP/look.txt && grep -q "deadline in " $TMP/look.txt
	# a second look: the same waits, longer
	local first; first=$($PY -c 'import json,sys; print(max(e["blocked_ms"] for e in json.load(open(sys.argv[1]))["stuck"]))' $TMP/look1.json)
	for i in $(seq 100); do
		$SL stuck --json --min 0 $pid > $TMP/look2.json
		$PY -c 'import json,sys; sys.exit(max(e["blocked_ms"] for e in json.load(open(sys.argv[1]))["stuck"]) <= float(sys.argv[2]) + 1000)' \
			$TMP/look2.json $first && break
		sleep 0.2
	done
	$PY $TMP/check.py $TMP/look2.json $src $read $patient $write $get
	# the report while it runs
	$SL report --json $pid > $TMP/live.json
	kill -TERM $pid
	wait $run || true
	local f
	for f in $TMP/live.json $TMP/st.json; do
		$JC $f "len(diags('missing-timeout')) == 3" \
			"[d for d in diags('missing-timeout') if d['count'] == 3 and at(d, '$src', $read, 'read_site')]" \
			"[d for d in diags('missing-timeout') if at(d, '$src', $get, 'read_site')]" \
			"[d for d in diags('missing-timeout') if 'slowloris' in d['summary']]" \
			"one('write-stalled')['severity'] in ('warning', 'error') and at(one('write-stalled'), '$src', $write, 'call_site')" \
			"not [d for d in diags() if at(d, '$src', $patient, 'read_site') or at(d, '$src', $patient, 'call_site')]" \
			"not diags('hung-call')"
	done
	# --audit: per call site, whether its reads had deadlines
	$JC $TMP/st.json "[s for s in r['audit'] if s['options'].get('go_read_deadline') == {'with': 0, 'without': 3} and any('no read deadline' in m for m in s['missing'])]" \
		"[s for s in r['audit'] if s['options'].get('go_read_deadline') == {'with': 1, 'without': 0} and not s['missing']]"
}

case_go_stuck_goroutines_static() { stuck_goroutines static; }
case_go_stuck_goroutines_cgo() { stuck_goroutines dynamic; }
case_go_stuck_goroutines_stripped() { stuck_goroutines stripped; }
case_go_stuck_goroutines_newer_go() {
	newer_go
	stuck_goroutines go$NEWGO_V $NEWGO
}

# A keep-alive client whose server never answers the connection's third request, sent within a
# few milliseconds of the second reply (the kernel's last-send and last-receive times, in 4 ms
# steps, cannot order them): when the client's Timeout or its request's context ends the wait, an
# unanswered-request at the program's line and no missing-timeout (the program has its bound);
# with no bound at all, missing-timeout once the request has waited, while it waits and after;
# a slow answer within the bound, nothing.
keepalive_unanswered() { # name [go binary dir]
	local bin=$TMP/hangnth-$1 src=tests/go/hangnth/main.go how run pid i
	if [ -n "${2:-}" ]; then
		(cd tests/go/hangnth && CGO_ENABLED=0 GOTOOLCHAIN=local GOCACHE=$TMP/gocache-$1 $2/go build -o $bin .) || return 1
	else
		gobuild hangnth $bin
	fi
	local line; line=$(line_of $src 'resp, err := c.Do(req) // the request')
	rm -f $TMP/port # (an earlier case's: its server is gone)
	$bin server $TMP/port 3 &
	local srv=$!
	wait_for $TMP/port .
	for how in timeout context; do
		expect_status 1 $SL run --json $TMP/ka-$how.json -- $bin client 127.0.0.1:$(cat $TMP/port) 5 $how > $TMP/ka-$how.out 2>&1
		grep -q "request 3 failed" $TMP/ka-$how.out
		$JC $TMP/ka-$how.json "at(one('unanswered-request'), '$src', $line)" "len(diags()) == 1" \
			"one('unanswered-request')['evidence']['waited_ms'] >= 1500"
	done
	: > $TMP/ka-none.out
	$SL run --json $TMP/ka-none.json -- $bin client 127.0.0.1:$(cat $TMP/port) 5 none > $TMP/ka-none.out 2>&1 &
	run=$!
	wait_for $TMP/ka-none.out ready
	pid=$(awk '/ready/ {print $2}' $TMP/ka-none.out)
	for i in $(seq 200); do
		$SL report --json $pid > $TMP/ka-live.json 2>/dev/null
		$PY tests/jcheck.py $TMP/ka-live.json "one('missing-timeout')['severity'] == 'error'" > /dev/null 2>&1 && break
		sleep 0.1
	done
	kill -TERM $pid
	wait $run || true
	$JC $TMP/ka-live.json "at(one('missing-timeout'), '$src', $line, 'read_site')"
	$JC $TMP/ka-none.json "at(one('missing-timeout'), '$src', $line)" "one('missing-timeout')['severity'] == 'error'"
	# a long poll the program ends itself when told to stop (SIGTERM cancels its context): the
	# unanswered request is said, as info that says so. Its missing-timeout stands where the Go
	# release let no bound be seen (signal.NotifyContext's type is not one socklens reads, from
	# 1.21): the stop ended a wait nothing else would have, as a live report said while it waited
	rm -f $TMP/port.hung
	: > $TMP/ka-poll.out
	$SL run --json $TMP/ka-poll.json -- $bin client 127.0.0.1:$(cat $TMP/port) 5 poll > $TMP/ka-poll.out 2>&1 &
	run=$!
	wait_for $TMP/ka-poll.out ready
	pid=$(awk '/ready/ {print $2}' $TMP/ka-poll.out)
	wait_for $TMP/port.hung hung
	for i in $(seq 200); do   # a sample of the tracer's has seen the request wait, a second or more
		$SL stuck --json --min 1s $pid > $TMP/ka-pstuck.json 2>/dev/null
		$PY tests/jcheck.py $TMP/ka-pstuck.json "len(r['stuck']) >= 1" > /dev/null 2>&1 && break
		sleep 0.1
	done
	kill -TERM $pid
	wait $run
	kill $srv
	grep -q "stopped while request 3 waited" $TMP/ka-poll.out
	$JC $TMP/ka-poll.json "at(one('unanswered-request'), '$src', $line)" "one('unanswered-request')['severity'] == 'info'" \
		"'told to stop (SIGTERM)' in one('unanswered-request')['summary']" \
		"not [d for d in diags() if d['kind'] not in ('unanswered-request', 'missing-timeout')]"
	# a slow answer (2.5 s) under a 5 s context deadline (from Go 1.21, a Timeout is one too): no
	# finding, whatever the Go release shows of the bound
	rm -f $TMP/port
	$bin server $TMP/port 3 slow &
	srv=$!
	wait_for $TMP/port .
	$SL run --json $TMP/ka-slow.json -- $bin client 127.0.0.1:$(cat $TMP/port) 4 context 5 > $TMP/ka-slow.out 2>&1
	kill $srv
	grep -q "all answered" $TMP/ka-slow.out
	$JC $TMP/ka-slow.json "not [d for d in diags() if d['severity'] != 'info']"
}

# A server whose handler panics: net/http's server hangs up on the request, the client's
# transport retries it on a new connection, which it hangs up on too, and the program fails with
# EOF. Before, only an info closed-by-peer said so; now the request the peer hung up on is an
# unanswered-request error at the program's line. The server, traced too, has its own: the
# connections it closed as the panic unwound, at the panic's line (it was silent).
case_go_server_hangs_up_on_a_request() {
	local bin=$TMP/hangnth src=tests/go/hangnth/main.go line pline
	gobuild hangnth $bin
	line=$(line_of $src 'resp, err := c.Do(req) // the request')
	pline=$(line_of $src 'panic("the handler')
	rm -f $TMP/port # (an earlier case's)
	$SL run --json $TMP/hu-srv.json -- $bin server $TMP/port 3 panic 2> $TMP/hu-server.err &
	local srv=$!
	wait_for $TMP/port .
	expect_status 1 $SL run --json $TMP/hu.json -- $bin client 127.0.0.1:$(cat $TMP/port) 5 timeout > $TMP/hu.out 2>&1
	kill -TERM $srv
	wait $srv || true
	grep -q "request 3 failed: .*EOF" $TMP/hu.out
	grep -q "the handler's bug" $TMP/hu-server.err
	$JC $TMP/hu-srv.json "one('unanswered-request')['evidence']['handler_panic'] == 1" \
		"one('unanswered-request')['count'] == 2" "at(one('unanswered-request'), '$src', $pline)" \
		"one('unanswered-request')['severity'] == 'error'" \
		"not [d for d in diags() if d['severity'] != 'info' and d['kind'] != 'unanswered-request']"
	$JC $TMP/hu.json "diags('unanswered-request')" \
		"all(at(d, '$src', $line) and d['severity'] == 'error' and d['evidence']['closed_by_peer'] == 1 for d in diags('unanswered-request'))" \
		"'closed the connection without a reply' in diags('unanswered-request')[0]['summary']" \
		"len(diags()) == len(diags('unanswered-request'))"
}

# Requests made side by side as errgroup makes them (tests/go/group): when the first failure
# cancels a context with no deadline, the others' waits were ended by the program's own logic:
# unanswered-request as info that says so (they were errors), at the program's line; under a
# context deadline or a Client.Timeout (from Go 1.21 a context deadline too, seen in the request's
# context), they are errors, as before.
group_cancelled() { # name [go binary dir]
	local bin=$TMP/group-$1 src=tests/go/group/main.go line how
	if [ -n "${2:-}" ]; then
		(cd tests/go/group && CGO_ENABLED=0 GOTOOLCHAIN=local GOCACHE=$TMP/gocache-$1 $2/go build -o $bin .) || return 1
	else
		gobuild group $bin
	fi
	line=$(line_of $src "resp, err := client.Do(req) // the group's request")
	for how in cancel deadline timeout; do
		expect_status 1 $SL run --json $TMP/g-$how.json -- $bin $how > $TMP/g-$how.out 2>&1
	done
	grep -q "group: /fail: 500" $TMP/g-cancel.out
	$JC $TMP/g-cancel.json "one('unanswered-request')['count'] == 2" \
		"at(one('unanswered-request'), '$src', $line)" "one('unanswered-request')['severity'] == 'info'" \
		"one('unanswered-request')['evidence']['cancelled'] == 1" \
		"'cancelled by the program' in one('unanswered-request')['summary']" \
		"not [d for d in diags() if d['severity'] != 'info']"
	for how in deadline timeout; do
		grep -q "group: .*\(deadline exceeded\|Timeout exceeded\)" $TMP/g-$how.out
		$JC $TMP/g-$how.json "one('unanswered-request')['count'] == 3" \
			"at(one('unanswered-request'), '$src', $line)" "one('unanswered-request')['severity'] == 'error'" \
			"one('unanswered-request')['evidence']['cancelled'] == 0" "not diags('missing-timeout')"
	done
}
case_go_group_cancelled_by_a_failure_is_not_an_error() { group_cancelled go1.19; }
case_go_group_cancelled_by_a_failure_is_not_an_error_newer_go() {
	newer_go
	group_cancelled go$NEWGO_V $NEWGO
}

# A query made as database drivers make one (lib/pq, pgx, go-redis: tests/go/ctxread): the read
# has no deadline on its socket, the caller's context does, and a goroutine watching it ends the
# wait. The context is read off the reading goroutine's stack: no missing-timeout (lib/pq's and
# pgx's bounded queries were each one or two), and the unanswered query says it waited under the
# program's bound. The same query under context.Background is one, at the driver's read.
ctx_bounded_read() { # name [go binary dir]
	local bin=$TMP/ctxread-$1 src=tests/go/ctxread/main.go line
	if [ -n "${2:-}" ]; then
		(cd tests/go/ctxread && CGO_ENABLED=0 GOTOOLCHAIN=local GOCACHE=$TMP/gocache-$1 $2/go build -o $bin .) || return 1
	else
		gobuild ctxread $bin
	fi
	line=$(line_of $src "line, err := cn.rd.ReadString('\n') // the driver's read")
	expect_status 1 $SL run --json $TMP/cr-dl.json -- $bin deadline > $TMP/cr-dl.out 2>&1
	grep -q "ctxread: context deadline exceeded" $TMP/cr-dl.out
	$JC $TMP/cr-dl.json "not diags('missing-timeout')" "one('unanswered-request')['severity'] == 'error'" \
		"'under a bound the program set' in one('unanswered-request')['summary']" \
		"not [d for d in diags() if d['severity'] != 'info' and d['kind'] != 'unanswered-request']"
	expect_status 1 $SL run --json $TMP/cr-none.json -- $bin none > $TMP/cr-none.out 2>&1
	grep -q "ctxread: gave up" $TMP/cr-none.out
	$JC $TMP/cr-none.json "one('missing-timeout')['severity'] == 'error'" "at(one('missing-timeout'), '$src', $line, 'read_site')"
}
case_go_query_under_a_context_deadline_is_bounded() { ctx_bounded_read go1.19; }
case_go_query_under_a_context_deadline_is_bounded_newer_go() {
	newer_go
	ctx_bounded_read go$NEWGO_V $NEWGO
}

# A server-sent stream read under a context deadline: its waits for the next event (2.5 s) are
# bounded by the request's context, which the connection's readLoop watches (found through the
# persistConn the body's reader and the writeLoop point at): no missing-timeout live or at the
# end (a live report said one after a second). The same stream with no bound at all is one.
stream_bounded() { # name [go binary dir]
	local bin=$TMP/stream-$1 src=tests/go/stream/main.go line how run pid i
	if [ -n "${2:-}" ]; then
		(cd tests/go/stream && CGO_ENABLED=0 GOTOOLCHAIN=local GOCACHE=$TMP/gocache-$1 $2/go build -o $bin .) || return 1
	else
		gobuild stream $bin
	fi
	line=$(line_of $src "for sc.Scan() { // the stream's read")
	: > $TMP/st-bounded.out
	$SL run --json $TMP/st-bounded.json -- $bin bounded > $TMP/st-bounded.out 2>&1 &
	run=$!
	wait_for $TMP/st-bounded.out ready
	pid=$(awk '/ready/ {print $2}' $TMP/st-bounded.out)
	# a live look once a sample has seen a wait for the next event last a second (each lasts
	# 2.5 s, the first sample in it comes within a second: every wait gives a chance)
	: > $TMP/st-live.json
	for i in $(seq 400); do
		$SL stuck --json --min 1s $pid > $TMP/st-stuck.json 2>/dev/null || break
		$PY tests/jcheck.py $TMP/st-stuck.json "len(r['stuck']) >= 1" > /dev/null 2>&1 &&
			$SL report --json $pid > $TMP/st-live.json 2>/dev/null && break
		sleep 0.05
	done
	wait $run
	$SL run --json $TMP/st-unbounded.json -- $bin unbounded > $TMP/st-unbounded.out 2>&1
	grep -q "events 3" $TMP/st-bounded.out
	grep -q "events 3" $TMP/st-unbounded.out
	$JC $TMP/st-stuck.json "len(r['stuck']) >= 1"
	$JC $TMP/st-live.json "not [d for d in diags() if d['severity'] != 'info']"
	$JC $TMP/st-bounded.json "not [d for d in diags() if d['severity'] != 'info']"
	$JC $TMP/st-unbounded.json "at(one('missing-timeout'), '$src', $line, 'read_site')"
}
case_go_stream_under_a_context_deadline_has_its_bound() { stream_bounded go1.19; }
case_go_stream_under_a_context_deadline_has_its_bound_newer_go() {
	newer_go
	stream_bounded go$NEWGO_V $NEWGO
}

case_go_keepalive_request_never_answered() { keepalive_unanswered go1.19; }
case_go_keepalive_request_never_answered_newer_go() {
	newer_go
	keepalive_unanswered go$NEWGO_V $NEWGO
}

# The same server resetting the connection's third request instead (as one closing an idle
# connection just as a request comes in): net/http retries it on a new connection at once, so the
# reset is a warning that says so. A line protocol's client whose fourth request, written at once
# after the third answer, waits out its 2 s read deadline: unanswered-request, though the program
# exits without closing the connection.
keepalive_reset_and_raw() { # bin
	local bin=$1 src=tests/go/hangnth/main.go
	rm -f $TMP/port
	$bin server $TMP/port 3 reset &
	local srv=$!
	wait_for $TMP/port .
	$SL run --json $TMP/ka-reset.json -- $bin client 127.0.0.1:$(cat $TMP/port) 4 timeout > $TMP/ka-reset.out 2>&1
	kill $srv
	grep -q "all answered" $TMP/ka-reset.out
	$JC $TMP/ka-reset.json "one('connection-reset')['severity'] == 'warning'" \
		"'connected again' in one('connection-reset')['summary']" \
		"at(one('connection-reset'), '$src', $(line_of $src 'resp, err := c.Do(req) // the request'))" "len(diags()) == 1"
	rm -f $TMP/port
	$bin rawserver $TMP/port 4 &
	srv=$!
	wait_for $TMP/port .
	expect_status 1 $SL run --json $TMP/ka-raw.json -- $bin rawclient 127.0.0.1:$(cat $TMP/port) 6 > $TMP/ka-raw.out 2>&1
	kill $srv
	grep -q "request 4 failed" $TMP/ka-raw.out
	$JC $TMP/ka-raw.json "at(one('unanswered-request'), '$src', $(line_of $src 'c, err := net.Dial("tcp", addr) // the line protocol client'))" \
		"one('unanswered-request')['evidence']['waited_ms'] >= 1500" "len(diags()) == 1"
}

case_go_keepalive_reset_retried_and_raw_request_unanswered() {
	gobuild hangnth $TMP/hangnth
	keepalive_reset_and_raw $TMP/hangnth
}

# An upload to a server that never reads, ended by the client's own 4 s Timeout: write-stalled at
# the request's line though the write no longer waits when the report is made. A wait for a service
# that comes up after three refused connects: those refusals are a warning that says the program
# went on.
case_go_stalled_upload_and_a_wait_for_a_service() {
	local src=tests/go/hangnth/main.go
	gobuild hangnth $TMP/hangnth
	rm -f $TMP/port
	$TMP/hangnth noread $TMP/port 0 &
	local srv=$!
	wait_for $TMP/port .
	expect_status 1 $SL run --json $TMP/up.json -- $TMP/hangnth upload 127.0.0.1:$(cat $TMP/port) 0 > $TMP/up.out 2>&1
	kill $srv
	grep -q "upload failed" $TMP/up.out
	$JC $TMP/up.json "at(one('write-stalled'), '$src', $(line_of $src 'resp, err := c.Do(req) // the upload'))" \
		"one('write-stalled')['evidence']['waited_ms'] >= 1000" "len(diags()) == 1"
	$SL run --json $TMP/wf.json -- $TMP/hangnth waitfor - 3 > $TMP/wf.out 2>&1
	grep -q "connected after 3 refusals" $TMP/wf.out
	$JC $TMP/wf.json "one('connect-refused')['severity'] == 'warning'" "one('connect-refused')['count'] == 3" \
		"'went on' in one('connect-refused')['summary']" \
		"at(one('connect-refused'), '$src', $(line_of $src 'c, err := net.Dial("tcp", addr) // the wait'))" \
		"len([d for d in diags() if d['severity'] != 'info']) == 1"
}

# Healthy HTTP clients that leave connections idle, or close them as servers do: an HTTP/2 client
# idle after three bodies (its reader always reads; its WINDOW_UPDATEs went last), one request to
# each of two servers (each connection then idle in the pool), HTTPS with keep-alives off (each
# close_notify crossing the other side's close), and four HTTPS answers 1.5 s late with the server
# closed at once after them (the answers come between a sample that saw the requests waiting and
# the goodbyes; the server's close may meet the client's close_notify unread and reset): nothing
# above info, client or server side.
case_go_http2_idle_pools_and_closing_tls_are_clean() {
	gobuild h2pool $TMP/h2pool
	$SL run --json $TMP/h2.json -- $TMP/h2pool > $TMP/h2.out 2>&1
	grep -q "all answered" $TMP/h2.out
	$JC $TMP/h2.json "not [d for d in diags() if d['severity'] != 'info']"
}

# 30 responses whose bodies are never closed: their connections pile up at one call site. The
# report says so while the program runs, and the final report says the same.
case_go_leaked_bodies_pile_up_live_and_final() {
	gobuild leaky $TMP/leaky
	: > $TMP/leaky.out
	$SL run --json $TMP/lk.json -- $TMP/leaky > $TMP/leaky.out &
	local run=$! pid i
	wait_for $TMP/leaky.out ready
	pid=$(awk '/ready/ {print $2}' $TMP/leaky.out)
	# idle long enough to be left, not in use (the rule's 2 s): all 30, however late each became so
	# on a loaded machine
	for i in $(seq 100); do
		$SL report --json $pid > $TMP/lk-live.json 2>/dev/null
		$PY tests/jcheck.py $TMP/lk-live.json "sum(d['count'] for d in diags('socket-leak')) >= 30" > /dev/null && break
		sleep 0.2
	done
	kill -TERM $pid
	wait $run || true
	local f
	for f in $TMP/lk-live.json $TMP/lk.json; do
		$JC $f "one('socket-leak')['count'] == 30" "one('socket-leak')['severity'] == 'warning'" \
			"at(one('socket-leak'), 'tests/go/leaky/main.go', $(line_of tests/go/leaky/main.go 'resp, err := client.Get('))"
	done
}

# A healthy client and server: the client's pooled keep-alive connection waits for the server's
# close in net/http's readLoop (not a read missing a timeout), the server bounds its reads. Clean,
# live and after the end.
case_go_idle_pool_and_bounded_server_are_clean() {
	gobuild pool $TMP/pool
	: > $TMP/pool.out
	$SL run --json $TMP/pool.json -- $TMP/pool > $TMP/pool.out &
	local run=$! pid
	wait_for $TMP/pool.out ready
	pid=$(awk '/ready/ {print $2}' $TMP/pool.out)
	sleep 3 # idle for three of the tracer's samples: what is looked at, not a wait for something
	$SL report --json $pid > $TMP/pool-live.json
	kill -TERM $pid
	wait $run || true
	$JC $TMP/pool-live.json "not [d for d in diags() if d['severity'] != 'info']"
	$JC $TMP/pool.json "not [d for d in diags() if d['severity'] != 'info']"
}
