#!/usr/bin/env bash
# anomalies.sh - the classic TCP anomalies: each kind in its example (kind, peer, count and the
# call-site line asserted in the JSON), and in the real programs where people meet it: nginx in
# front of a silent upstream, curl, Python servers and clients, openssl, the JDK. Loss, queueing
# delay, port ranges and a resolver are made in private network (and mount) namespaces.
set -u
[ -n "${SL_IN_CASE:-}" ] || { source "$(dirname "$0")/lib.sh"; suite_main tests/anomalies.sh "$@"; exit; }


# in_netns SCRIPT: runs bash SCRIPT in a new network namespace with lo up (skips without one)
in_netns() {
	unshare -n true 2>/dev/null || skip "cannot create a network namespace"
	unshare -n bash -c "ip link set lo up && source tests/lib.sh && $1"
}


# ---- the examples ---------------------------------------------------------------------------

case_unanswered_request() {
	local line; line=$(line_of examples/silent_upstream.c 'if (send(fd, req')
	expect_status 1 $SL run --json $TMP/u.json -- $EX/silent_upstream
	$JC $TMP/u.json "one('unanswered-request')['severity'] == 'error'" \
		"one('unanswered-request')['peer'].startswith('127.0.0.1:')" "one('unanswered-request')['count'] == 1" \
		"one('unanswered-request')['evidence']['bytes_sent'] == 44" \
		"one('unanswered-request')['evidence']['waited_ms'] >= 1900" \
		"at(one('unanswered-request'), 'examples/silent_upstream.c', $line, key='send_site')" \
		"one('unanswered-request')['stack'][0]['function'] == 'dial_local'" "len(diags()) == 1"
}

case_close_wait() {
	local line; line=$(line_of examples/close_wait.c 'int fd = accept(')
	$SL run --dir $TMP/cwd --json $TMP/cw.json -- $EX/close_wait
	$JC $TMP/cw.json "one('close-wait')['count'] == 5" "one('close-wait')['severity'] == 'error'" \
		"one('close-wait')['evidence']['held_ms'] >= 1000" "one('close-wait')['distinct_peers'] == 5" \
		"at(one('close-wait'), 'examples/close_wait.c', $line)" "len(diags()) == 1"
	# held for less than a longer threshold: not a close-wait, but still sockets never closed
	$SL report --json --threshold close-wait=5s $TMP/cwd > $TMP/cw5.json
	$JC $TMP/cw5.json "len(diags('close-wait')) == 0" "one('socket-leak')['count'] == 5"
}

case_nagle_delay() {
	local line; line=$(line_of examples/nagle.c 'send(fd, body')
	$SL run --json $TMP/n.json -- $EX/nagle
	$JC $TMP/n.json "one('nagle-delay')['evidence']['delayed_rounds'] >= 4" \
		"one('nagle-delay')['evidence']['rounds'] == 8" "one('nagle-delay')['evidence']['lost_ms'] >= 120" \
		"at(one('nagle-delay'), 'examples/nagle.c', $line, key='send_site')" "len(diags()) == 1"
}

case_tls_alert_from_openssl() {
	need openssl
	$SL run --json $TMP/t.json -- env PORT=$(free_port) sh examples/tls_version_mismatch.sh || true
	# both sides: the server that sent protocol_version, the client that received it
	$JC $TMP/t.json "len(diags('tls-alert')) == 2" \
		"all(d['evidence']['alert_description'] == 70 for d in diags('tls-alert'))" \
		"any(d['evidence']['sent_by_program'] == 1 and 'protocol_version' in d['summary'] for d in diags('tls-alert'))" \
		"any(d['evidence']['sent_by_program'] == 0 and d['summary'].startswith('The server 127.0.0.1:') for d in diags('tls-alert'))" \
		"all(d['stack'][0]['function'] in ('BIO_connect', 'BIO_accept_ex') for d in diags('tls-alert'))" \
		"len(diags()) == 2"
}

# curl trusts the server's certificate but not the name in it: it checks the name after the
# handshake, and its first record is then an alert (TLS 1.3: encrypted; 1.2: an alert record):
# tls-rejected, a warning (close_notify of a connection never used looks the same); with the right
# name, no finding.
case_tls_certificate_for_another_name() {
	need openssl curl
	local port v; port=$(free_port)
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=wrong.example -addext subjectAltName=DNS:wrong.example \
		-keyout $TMP/key.pem -out $TMP/cert.pem 2>/dev/null
	openssl s_server -accept 127.0.0.1:$port -cert $TMP/cert.pem -key $TMP/key.pem -www -quiet > /dev/null 2>&1 &
	local srv=$!
	wait_port $port
	for v in 1.3 1.2; do
		expect_status 60 $SL run --json $TMP/cn-$v.json -- curl -sS --tls-max $v --cacert $TMP/cert.pem \
			--resolve right.example:$port:127.0.0.1 -o /dev/null https://right.example:$port/
		$JC $TMP/cn-$v.json "one('tls-rejected')['severity'] == 'warning'" \
			"one('tls-rejected')['evidence']['after_handshake'] == 1" "len(diags()) == len(diags('tls-rejected')) + len(diags('reset-on-close'))"
		$SL run --json $TMP/ok-$v.json -- curl -sS --tls-max $v --cacert $TMP/cert.pem \
			--resolve wrong.example:$port:127.0.0.1 -o /dev/null https://wrong.example:$port/
		$JC $TMP/ok-$v.json "len(diags()) == 0"
	done
	kill $srv
}

# The server's side of a certificate its clients do not trust (curl without its CA): each client
# answers the server's first flight with a fatal unknown_ca alert, which OpenSSL's s_server reads
# as a header, then two bytes, and resets. It was only "connection-reset: clients do this when
# they stop" on the server; it is tls-rejected, and the resets that follow are no finding. The
# port probe that waits for the server (a TCP health check: connect, close) gets a decode_error
# alert from s_server: no finding either (it was an error "in answer to a client's handshake").
case_tls_untrusted_certificate_seen_by_the_server() {
	need openssl curl
	local port v pid run i
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=localhost -keyout $TMP/key.pem -out $TMP/cert.pem 2>/dev/null
	for v in 1.3 1.2; do
		port=$(free_port)
		$SL run --json $TMP/srv-$v.json -- openssl s_server -accept 127.0.0.1:$port -cert $TMP/cert.pem \
			-key $TMP/key.pem -www -quiet > /dev/null 2>&1 &
		run=$!
		wait_port $port
		for i in 1 2 3; do
			expect_status 60 curl -sS --tls-max $v -o /dev/null https://127.0.0.1:$port/ 2>/dev/null
		done
		pid=$(pgrep -f "^openssl s_server -accept 127.0.0.1:$port ")
		kill -TERM $pid # (a background job of a script ignores SIGINT)
		wait $run || true
		$JC $TMP/srv-$v.json "one('tls-rejected')['severity'] == 'warning'" "one('tls-rejected')['count'] >= 3" \
			"'unknown_ca' in one('tls-rejected')['summary']" "not diags('connection-reset')" \
			"not [d for d in diags() if d['kind'] != 'tls-rejected' and d['severity'] != 'info']"
	done
}

# A blocking send to a peer that never reads, cut short two seconds in by the signal the program
# then dies of (Ctrl-C): Python's send returns what it sent, and the report said short-write ("loop
# until every byte is written", though the program does). It is write-stalled, which says the
# signal ended the wait.
case_a_stalled_write_cut_short_by_ctrl_c() {
	cat > $TMP/intr.py <<'PY'
import os, signal, socket, threading
ls = socket.socket(); ls.bind(("127.0.0.1", 0)); ls.listen(1)
peer = []
threading.Thread(target=lambda: peer.append(ls.accept()), daemon=True).start()
s = socket.create_connection(ls.getsockname())  # the peer never reads
class Stop(Exception):
    pass
def stop(*a):
    raise Stop()
signal.signal(signal.SIGALRM, stop)
signal.setitimer(signal.ITIMER_REAL, 2.0)  # the operator's Ctrl-C, two seconds in
try:
    while True:
        s.send(b"x" * 65536)
except Stop:
    signal.signal(signal.SIGINT, signal.SIG_DFL)
    os.kill(os.getpid(), signal.SIGINT)
PY
	expect_status 130 $SL run --json $TMP/w.json -- $PY $TMP/intr.py
	$JC $TMP/w.json "one('write-stalled')['evidence']['waited_ms'] >= 1500" \
		"'a signal ended the wait' in one('write-stalled')['summary']" "not diags('short-write')" \
		"one('write-stalled')['stack'][0]['line'] == 5"
}

# A TLS client whose server takes the connection and never answers its ClientHello (a port that
# waits for a plain request, a server stuck before its handshake): unanswered-request, which says it
# was the handshake (it said "sent 517 bytes" with the advice for a request).
case_a_tls_handshake_nobody_answers() {
	need curl
	local port; port=$(free_port)
	$PY -c "import socket, sys, time
s = socket.socket(); s.bind(('127.0.0.1', $port)); s.listen(1); print('ready', flush=True)
c, _ = s.accept(); time.sleep(30)" > $TMP/silent.out &
	local srv=$!
	wait_for $TMP/silent.out ready
	expect_status 28 $SL run --json $TMP/h.json -- curl -s -m 2 https://127.0.0.1:$port/
	kill $srv
	$JC $TMP/h.json "one('unanswered-request')['severity'] == 'error'" \
		"'its TLS ClientHello' in one('unanswered-request')['summary']" "'TLS handshake' in one('unanswered-request')['advice']"
}

case_tls_aborted_python_client() {
	expect_status 1 $SL run --json $TMP/ta.json -- $PY examples/tls_aborted.py
	$JC $TMP/ta.json "one('tls-aborted')['severity'] == 'error'" "one('tls-aborted')['evidence']['bytes_sent'] > 100" \
		"one('tls-aborted')['peer'].startswith('127.0.0.1:')" "len(diags()) == 1"
}

case_accept_queue_full_and_slow_connect() {
	local listen connect
	listen=$(line_of examples/common.h 'listen(fd, backlog)')
	connect=$(line_of examples/common.h 'connect(fd, (struct sockaddr *)&a')
	$SL run --json $TMP/aq.json -- $EX/accept_queue
	$JC $TMP/aq.json "one('accept-queue-full')['evidence']['queue_limit'] == 1" \
		"one('accept-queue-full')['evidence']['queue_max'] >= 2" \
		"at(one('accept-queue-full'), 'examples/common.h', $listen)" \
		"one('slow-connect')['worst_ms'] >= 1000" "one('slow-connect')['evidence']['connects'] == 4" \
		"one('slow-connect')['evidence']['p50_ms'] < one('slow-connect')['evidence']['max_ms']" \
		"at(one('slow-connect'), 'examples/common.h', $connect)" "len(diags()) == 2"
}

case_backlog_truncated() {
	local somax; somax=$(cat /proc/sys/net/core/somaxconn)
	[ "$somax" -lt 8192 ] || skip "net.core.somaxconn is $somax here"
	$SL run --json $TMP/b.json -- $EX/backlog 8192
	$JC $TMP/b.json "one('backlog-truncated')['evidence']['backlog_asked'] == 8192" \
		"one('backlog-truncated')['evidence']['backlog_kept'] == $somax" \
		"one('backlog-truncated')['severity'] == 'info'" "len(diags()) == 1"
	# asking for what the kernel allows is no finding
	$SL run --json $TMP/b2.json -- $EX/backlog 128
	$JC $TMP/b2.json "len(diags()) == 0"
}

case_addr_in_use() {
	local line; line=$(line_of examples/addr_in_use.c 'if (bind(fd')
	expect_status 1 $SL run --json $TMP/a.json -- $EX/addr_in_use
	$JC $TMP/a.json "one('addr-in-use')['evidence']['reuseaddr'] == 0" "one('addr-in-use')['count'] == 1" \
		"'SO_REUSEADDR was not set' in one('addr-in-use')['summary']" \
		"at(one('addr-in-use'), 'examples/addr_in_use.c', $line)" "len(diags()) == 1"
}

case_port_exhaustion() {
	local line rc=0; line=$(line_of examples/port_exhaustion.c 'if (connect(fd')
	$SL run --json $TMP/p.json -- $EX/port_exhaustion || rc=$?
	[ $rc -ne 77 ] || skip "no network namespace available"
	[ $rc -eq 1 ]
	$JC $TMP/p.json "one('port-exhaustion')['errno'] == 'EADDRNOTAVAIL'" "one('port-exhaustion')['count'] == 1" \
		"at(one('port-exhaustion'), 'examples/port_exhaustion.c', $line)" \
		"len([d for d in diags() if d['severity'] != 'info']) == 1"
}

case_connection_churn() {
	local line; line=$(line_of examples/churn.c 'int fd = dial_local(port);')
	$SL run --json $TMP/c.json -- $EX/churn
	$JC $TMP/c.json "one('connection-churn')['evidence']['short_same_peer'] >= 140" \
		"one('connection-churn')['evidence']['closed'] == 150" \
		"one('connection-churn')['peer'].startswith('127.0.0.1:')" \
		"at(one('connection-churn'), 'examples/churn.c', $line)" "len(diags()) == 1"
	# below the threshold: nothing
	$SL run --threshold churn=200 --json $TMP/c2.json -- $EX/churn
	$JC $TMP/c2.json "len(diags()) == 0"
	# each connection left open and idle after its exchange (a pool made per request: Go's
	# http.Transport, one per request), to the end or closed later: churn all the same
	$SL run --json $TMP/c3.json -- $EX/churn idle
	$JC $TMP/c3.json "one('connection-churn')['evidence']['idle_open'] >= 140" \
		"one('connection-churn')['evidence']['closed'] == 0" "at(one('connection-churn'), 'examples/churn.c', $line)"
	$SL run --json $TMP/c4.json -- $EX/churn linger
	$JC $TMP/c4.json "one('connection-churn')['evidence']['short_same_peer'] >= 140" \
		"one('connection-churn')['evidence']['closed'] == 150"
}

case_reset_on_close() {
	local line; line=$(line_of examples/reset_on_close.c 'close(fd); /* the bug')
	$SL run --json $TMP/r.json -- $EX/reset_on_close
	$JC $TMP/r.json "one('reset-on-close')['evidence']['unread_bytes'] == 65536 - 16" \
		"one('reset-on-close')['evidence']['linger_zero'] == 0" "one('reset-on-close')['severity'] == 'warning'" \
		"at(one('reset-on-close'), 'examples/reset_on_close.c', $line)" \
		"not diags('unanswered-request')"
}

case_use_after_close() {
	local line close; line=$(line_of examples/use_after_close.c 'if (send(c.fd')
	close=$(line_of examples/use_after_close.c 'close(c->fd); /* the bug')
	$SL run --json $TMP/uc.json -- $EX/use_after_close
	$JC $TMP/uc.json "one('use-after-close')['errno'] == 'EBADF'" \
		"at(one('use-after-close'), 'examples/use_after_close.c', $line)" \
		"at(one('use-after-close'), 'examples/use_after_close.c', $close, key='close_site')" "len(diags()) == 1"
	# a double close, from Python
	printf '%s\n' 'import os, socket' 'a, b = socket.socketpair()' 'fd = a.detach()' 'os.close(fd)' \
		'try: os.close(fd)' 'except OSError: pass' 'b.close()' > $TMP/dc.py
	$SL run --json $TMP/dc.json -- $PY $TMP/dc.py
	$JC $TMP/dc.json "'A double close' in one('use-after-close')['summary']" \
		"one('use-after-close')['close_site'][0]['file'] == '$TMP/dc.py'" \
		"one('use-after-close')['close_site'][0]['line'] == 4" "one('use-after-close')['stack'][0]['line'] == 5"
}

case_keepalive_ineffective() {
	local line; line=$(line_of examples/keepalive_default.c 'int fd = dial_local(port)')
	$SL run --threshold keepalive=1s --json $TMP/k.json -- $EX/keepalive_default
	$JC $TMP/k.json "one('keepalive-ineffective')['evidence']['system_idle_s'] >= 60" \
		"at(one('keepalive-ineffective'), 'examples/keepalive_default.c', $line)" "len(diags()) == 1"
}

case_retransmissions_behind_packet_loss() {
	need nft
	local line; line=$(line_of examples/common.h 'connect(fd, (struct sockaddr *)&a')
	# 1 in 50 data packets lost on arrival (the receiver's input hook: a real loss for TCP)
	# one segment per packet (no GSO batching on lo): the drop rate does not depend on how a loaded
	# machine lets the sender coalesce its 1 KiB writes into 64 KiB packets
	in_netns "ip link set lo mtu 1500 gso_max_size 1500 gso_max_segs 1 && nft add table ip t && \
		nft add chain ip t in '{ type filter hook input priority 0; }' && \
		nft add rule ip t in meta length gt 500 numgen random mod 50 == 0 drop && \
		\$SL run --json $TMP/l.json -- \$EX/bulk_upload"
	$JC $TMP/l.json "one('retransmissions')['evidence']['retransmitted'] >= 10" \
		"one('retransmissions')['evidence']['segments_sent'] >= 2800" \
		"one('retransmissions')['peer'].startswith('127.0.0.1:')" \
		"'loopback' in one('retransmissions')['advice']" \
		"at(one('retransmissions'), 'examples/common.h', $line)"
}

case_high_rtt_behind_a_slow_link() {
	need tc
	# a 4 Mbit/s link with a deep queue: a bulk upload fills it (bufferbloat)
	in_netns "ip link set lo mtu 1500 && tc qdisc add dev lo root tbf rate 4mbit burst 32kb latency 600ms && \
		\$SL run --json $TMP/h.json -- \$EX/bulk_upload 512"
	$JC $TMP/h.json "one('high-rtt')['evidence']['rtt_ms'] >= 200" \
		"one('high-rtt')['peer'].startswith('127.0.0.1:')"
}

case_dns_failure_and_slow_dns() {
	local line; line=$(line_of examples/dns_lookup.c 'int rc = getaddrinfo(')
	dns_env
	echo "$SL run --json $TMP/d.json -- $EX/dns_lookup db.internal.example slow.cache.example drop.x.example || true" \
		>> $TMP/dns.sh
	unshare -mn bash $TMP/dns.sh
	$JC $TMP/d.json "len(diags('dns-failure')) == 2" \
		"[d for d in diags('dns-failure') if d['peer'] == 'db.internal.example' and 'EAI_NONAME' in d['summary'] and d['severity'] == 'warning']" \
		"[d for d in diags('dns-failure') if d['peer'] == 'drop.x.example' and 'EAI_AGAIN' in d['summary'] and d['severity'] == 'error']" \
		"one('slow-dns')['peer'] == 'slow.cache.example'" "one('slow-dns')['evidence']['duration_ms'] >= 600" \
		"all(at(d, 'examples/dns_lookup.c', $line) for d in diags())" "len(diags()) == 3"
}

# Go's own resolver (a static build): each exchange is a UDP socket to port 53 whose life bounds
# the wait, and while one is open the tracer reads the answers' headers. The slow server and the
# silent one are found (two queries each, A and AAAA), the NXDOMAIN answer by its name, a lookup
# that net.Dial makes too; each at the program's line, though Go asks each question in a goroutine
# of its own (the one waiting for the answer is the program's). With Debian's Go 1.19 and, when
# installed, a newer one (whose goroutines know their creator).
# Before Go 1.21 the waiting goroutine is found as the one lookup waiting: the first lookup, met
# before the program's goroutines were first read, can show the resolver's frames under load (loose).
go_resolver() { # GO-BIN-DIR True|False (loose: the first lookup's line not required)
	(cd tests/go/lookup && CGO_ENABLED=0 GOTOOLCHAIN=local GOCACHE=${GOCACHE:-$TMP/gocache} GOFLAGS=-mod=mod \
		$1/go build -o $TMP/lookup .)
	dns_env
	echo "$SL run --json $TMP/gd.json -- $TMP/lookup db.internal.example slow.cache.example drop.x.example \
		dial:api.internal.example > $TMP/gd.out" >> $TMP/dns.sh
	unshare -mn bash $TMP/dns.sh
	grep -q "^drop.x.example .*timeout" $TMP/gd.out
	grep -q "^db.internal.example .*no such host" $TMP/gd.out
	local lookup dial
	lookup=$(line_of tests/go/lookup/main.go '// the lookup')
	dial=$(line_of tests/go/lookup/main.go '// the dial')
	# the slow and dropped questions: four exchanges at the lookup's line; on a loaded machine the
	# dial's NXDOMAIN exchanges may pass the threshold too, as their own finding at the dial's line;
	# the dropped name, which no server answered, a failed lookup too
	$JC $TMP/gd.json "len([d for d in diags('slow-dns') if at(d, 'tests/go/lookup/main.go', $lookup)]) == 1" \
		"[d for d in diags('slow-dns') if at(d, 'tests/go/lookup/main.go', $lookup) and d['count'] >= 4 and d['peer'] == '127.0.0.1:53' and d['evidence']['duration_ms'] >= 900]" \
		"all(at(d, 'tests/go/lookup/main.go', $lookup) or at(d, 'tests/go/lookup/main.go', $dial) for d in diags('slow-dns'))" \
		"len(diags('dns-failure')) in (2, 3)" \
		"[d for d in diags('dns-failure') if d['peer'] == 'db.internal.example' and d['count'] == 1 and 'NXDOMAIN' in d['summary'] and ($2 or at(d, 'tests/go/lookup/main.go', $lookup))]" \
		"all(d['count'] == 1 and 'no DNS server answered' in d['summary'] and d['severity'] == 'error' and ($2 or at(d, 'tests/go/lookup/main.go', $lookup)) for d in diags('dns-failure') if d['peer'] == 'drop.x.example')" \
		"[d for d in diags('dns-failure') if d['peer'] == 'drop.x.example']" \
		"[d for d in diags('dns-failure') if d['peer'] == 'api.internal.example' and d['count'] == 1 and at(d, 'tests/go/lookup/main.go', $dial)]" \
		"len(diags()) == len(diags('dns-failure')) + len(diags('slow-dns'))"
}

case_go_resolver_slow_silent_and_failed_lookups() {
	need go
	go_resolver "$(dirname "$(readlink -f "$(command -v go)")")" True
}

# A cgo program asked to resolve through glibc (GODEBUG=netdns=cgo): the tracer sees glibc's
# exchanges in C code; the goroutine that made the cgo call gives the program's line, and the
# report says whose resolver it was.
case_go_cgo_resolver_names_the_programs_line() {
	need go
	local lookup; lookup=$(line_of tests/go/lookup/main.go '// the lookup')
	(cd tests/go/lookup && CGO_ENABLED=1 GOCACHE=${GOCACHE:-$TMP/gocache} GOFLAGS=-mod=mod go build -o $TMP/lookup-cgo .)
	dns_env
	echo "GODEBUG=netdns=cgo $SL run --json $TMP/gc.json -- $TMP/lookup-cgo db.internal.example slow.cache.example > $TMP/gc.out" >> $TMP/dns.sh
	unshare -mn bash $TMP/dns.sh
	grep -q "^db.internal.example .*no such host" $TMP/gc.out
	$JC $TMP/gc.json "one('dns-failure')['peer'] == 'db.internal.example'" \
		"'C library' in one('dns-failure')['summary']" "one('dns-failure')['stack'][0]['function'] == 'main.main'" "at(one('dns-failure'), 'tests/go/lookup/main.go', $lookup)" \
		"all(at(d, 'tests/go/lookup/main.go', $lookup) for d in diags('slow-dns'))" "diags('slow-dns')"
}

# Lookups side by side, each failing: every name is said (the tracer follows each question), at
# the program's line, with the Go that Debian has (no goroutine creators before 1.21: several
# goroutines waiting in the same place give that place) and, where installed, a newer one (from
# the creator); and their cgo builds (glibc asked from a goroutine of its own).
go_parallel_lookups() { # GO-BIN-DIR NEWER(True|False)
	local line; line=$(line_of tests/go/lookup/main.go '// the parallel lookup')
	(cd tests/go/lookup && CGO_ENABLED=0 GOTOOLCHAIN=local GOCACHE=${GOCACHE:-$TMP/gocache} GOFLAGS=-mod=mod \
		$1/go build -o $TMP/plookup .)
	(cd tests/go/lookup && CGO_ENABLED=1 GOTOOLCHAIN=local GOCACHE=${GOCACHE:-$TMP/gocache} GOFLAGS=-mod=mod \
		$1/go build -o $TMP/plookup-cgo .)
	dns_env
	echo "$SL run --json $TMP/pl.json -- $TMP/plookup -parallel nx-a.example nx-b.example nx-c.example > $TMP/pl.out" >> $TMP/dns.sh
	echo "GODEBUG=netdns=cgo $SL run --json $TMP/plc.json -- $TMP/plookup-cgo -parallel nx-a.example nx-b.example nx-c.example > $TMP/plc.out" >> $TMP/dns.sh
	unshare -mn bash $TMP/dns.sh
	[ "$(grep -c "no such host" $TMP/pl.out)" = 3 ] && [ "$(grep -c "no such host" $TMP/plc.out)" = 3 ]
	local j
	for j in pl plc; do
		$JC $TMP/$j.json "sorted(d['peer'] for d in diags('dns-failure')) == ['nx-a.example', 'nx-b.example', 'nx-c.example']" \
			"not $2 or all(d['stack'][0]['line'] == $line for d in diags('dns-failure'))"
	done
}

case_go_parallel_lookups_are_each_said() {
	need go
	go_parallel_lookups "$(dirname "$(readlink -f "$(command -v go)")")" True
}

case_go_parallel_lookups_newer_go() {
	newer_go
	go_parallel_lookups $NEWGO True
}

case_go_resolver_newer_go() {
	newer_go
	go_resolver $NEWGO False
}

case_curl_name_lookup_fails() {
	need curl
	dns_env
	echo "$SL run --json $TMP/cd.json -- curl -s -m 5 http://api.internal.example/ || true" >> $TMP/dns.sh
	unshare -mn bash $TMP/dns.sh
	$JC $TMP/cd.json "one('dns-failure')['peer'] == 'api.internal.example'" \
		"any(f['module'].startswith('libcurl') for f in one('dns-failure')['stack'])"
}

# ---- real programs --------------------------------------------------------------------------

# a server that reads requests and never answers, on $1 (a port); prints "ready"
silent_server() {
	cat > $TMP/silent.py <<'EOF'
import socket, sys, threading
srv = socket.create_server(("127.0.0.1", int(sys.argv[1])))
print("ready", flush=True)
def hold(c):
    c.settimeout(30)
    try:
        while c.recv(4096):
            pass
    except OSError:
        pass
    c.close()
while True:
    c, _ = srv.accept()
    threading.Thread(target=hold, args=(c,), daemon=True).start()
EOF
	$PY $TMP/silent.py $1 > $TMP/silent.out 2>&1 &
	SILENT=$!
	wait_for $TMP/silent.out ready
}

case_nginx_in_front_of_a_silent_upstream() {
	need nginx curl
	local port up; port=$(free_port); up=$(free_port)
	silent_server $up
	nginx_conf $TMP/ng 1 "server { listen 127.0.0.1:$port; location / { proxy_pass http://127.0.0.1:$up; proxy_read_timeout 2s; } }"
	$SL run --json $TMP/ng.json -- nginx -p $TMP/ng -c $TMP/ng/nginx.conf -g 'daemon off;' > $TMP/ng.out 2>&1 &
	local run=$! i
	for i in $(seq 400); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.05; done
	[ "$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:$port/orders)" = 504 ]
	kill -QUIT "$(cat $TMP/ng/nginx.pid)"
	wait $run || true
	kill $SILENT
	$JC $TMP/ng.json "one('unanswered-request')['peer'] == '127.0.0.1:$up'" \
		"one('unanswered-request')['evidence']['waited_ms'] >= 1900" \
		"one('unanswered-request')['evidence']['bytes_sent'] > 50" \
		"one('unanswered-request')['evidence']['still_open'] == 0" \
		"any(f['module'].startswith('nginx') for f in one('unanswered-request')['send_site'])" \
		"len([d for d in diags() if d['severity'] != 'info']) == 1"
}

case_curl_against_a_silent_server() {
	need curl
	local up; up=$(free_port)
	silent_server $up
	$SL run --json $TMP/cs.json -- curl -s -m 2 http://127.0.0.1:$up/ || true
	kill $SILENT
	$JC $TMP/cs.json "one('unanswered-request')['peer'] == '127.0.0.1:$up'" \
		"any(f['module'].startswith('libcurl') for f in one('unanswered-request')['stack'])" \
		"len(diags('missing-timeout')) == 0"
}

case_urlopen_without_timeout_killed() {
	local up; up=$(free_port)
	silent_server $up
	printf '%s\n' 'import sys, urllib.request' 'print("asking", flush=True)' \
		"urllib.request.urlopen('http://127.0.0.1:$up/')" > $TMP/get.py
	$SL run --json $TMP/uo.json -- $PY $TMP/get.py > $TMP/uo.out 2>&1 &
	local run=$!
	wait_for $TMP/uo.out asking
	sleep 3 # the scenario: a client stuck on a silent server for a while, then killed
	pkill -TERM -f "$TMP/get.py" || true
	wait $run || true
	kill $SILENT
	# one error for the read with no timeout (not a hung-call warning, not a leak), and the
	# silent peer named
	$JC $TMP/uo.json "one('missing-timeout')['severity'] == 'error'" \
		"one('missing-timeout')['evidence']['still_blocked'] == 1" \
		"one('missing-timeout')['read_site'][0]['file'] == '$TMP/get.py'" \
		"one('unanswered-request')['peer'] == '127.0.0.1:$up'" \
		"len(diags('hung-call')) == 0" "len(diags('socket-leak')) == 0"
}

case_python_server_leaves_close_wait() {
	cat > $TMP/cw.py <<'EOF'
import socket, threading
srv = socket.create_server(("127.0.0.1", 0))
held = []
def serve():
    while len(held) < 20:
        c, _ = srv.accept()
        c.settimeout(10)
        c.recv(100)
        c.sendall(b"ok\n")
        held.append(c)          # the bug: kept after the client is done
t = threading.Thread(target=serve); t.start()
for i in range(20):
    with socket.create_connection(srv.getsockname(), timeout=10) as s:
        s.sendall(b"hi\n"); s.recv(10)
t.join()
for c in held:
    c.recv(10)                  # reads the client's EOF, and still does not close
print("20 served", flush=True)
threading.Event().wait(1.5)
EOF
	$SL run --json $TMP/cwp.json -- $PY $TMP/cw.py
	$JC $TMP/cwp.json "one('close-wait')['count'] == 20" "one('close-wait')['distinct_peers'] == 20" \
		"one('close-wait')['stack'][0]['file'] == '$TMP/cw.py'" \
		"len([d for d in diags() if d['severity'] != 'info']) == 1"
}

# A keep-alive client (Python: a socket with a timeout is non-blocking plus poll) whose server
# answers three requests and not the fourth, sent at once after the third reply: in the coarse
# clock's step of that reply, so only the writes counted since the last read order them.
case_python_keepalive_request_after_a_reply_unanswered() {
	cat > $TMP/ka.py <<'EOF'
import socket, sys, threading
srv = socket.create_server(("127.0.0.1", 0))
def serve():
    c, _ = srv.accept(); c.settimeout(10)
    for i in range(4):
        c.recv(100)
        if i < 3:
            c.sendall(b"pong\n")
    c.recv(100)
threading.Thread(target=serve, daemon=True).start()
s = socket.create_connection(srv.getsockname())
s.settimeout(2)
for i in range(4):
    s.sendall(b"ping\n")  # the request
    try:
        s.recv(100)
    except socket.timeout:
        print("request", i, "timed out")
        s.close()
        sys.exit(1)
EOF
	local line; line=$(line_of $TMP/ka.py 's = socket.create_connection')
	expect_status 1 $SL run --json $TMP/ka.json -- $PY $TMP/ka.py
	$JC $TMP/ka.json "one('unanswered-request')['evidence']['waited_ms'] >= 1900" \
		"one('unanswered-request')['evidence']['bytes_received'] == 15" \
		"one('unanswered-request')['stack'][0]['file'] == '$TMP/ka.py'" \
		"one('unanswered-request')['stack'][0]['line'] == $line" "len(diags()) == 1"
}

# A UDP client whose server is not running: each datagram's ICMP port unreachable comes back as
# the next call's ECONNREFUSED, which the program sees; socklens says nothing listens there.
case_udp_datagrams_refused() {
	local port; port=$(free_port)
	cat > $TMP/udp.py <<EOF
import socket, sys
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("127.0.0.1", $port))
s.settimeout(5)
refused = 0
for i in range(3):
    s.send(b"query")
    try:
        s.recv(100)  # the answer
    except ConnectionRefusedError:
        refused += 1
sys.exit(1 if refused else 0)
EOF
	expect_status 1 $SL run --json $TMP/udp.json -- $PY $TMP/udp.py
	$JC $TMP/udp.json "one('connect-refused')['peer'] == '127.0.0.1:$port'" "one('connect-refused')['count'] == 3" \
		"'datagram' in one('connect-refused')['summary']" \
		"one('connect-refused')['stack'][0]['line'] == $(line_of $TMP/udp.py 's.recv(100)  # the answer')" \
		"len(diags()) == 1"
}

case_python_write_write_read_client() {
	cat > $TMP/ww.py <<'EOF'
import socket, threading
srv = socket.create_server(("127.0.0.1", 0))
def serve():
    c, _ = srv.accept(); c.settimeout(10)
    for i in range(6):
        got = b""
        while len(got) < 40:
            got += c.recv(100)
        c.sendall(b"ok")
    c.close()
threading.Thread(target=serve).start()
s = socket.create_connection(srv.getsockname(), timeout=10)
for i in range(6):
    s.send(b"HEADER" + b" " * 14)   # two writes, then a read: Nagle waits for the delayed ACK
    s.send(b"BODY" + b" " * 16)
    s.recv(10)
s.close()
EOF
	$SL run --json $TMP/ww.json -- $PY $TMP/ww.py
	$JC $TMP/ww.json "one('nagle-delay')['evidence']['delayed_rounds'] >= 3" \
		"one('nagle-delay')['send_site'][0]['file'] == '$TMP/ww.py'" "one('nagle-delay')['site_label'] == 'first send at'"
}

# ---- the options audit ----------------------------------------------------------------------

case_options_audit() {
	cat > $TMP/opts.py <<'EOF2'
import socket, struct
srv = socket.create_server(("127.0.0.1", 0))       # SO_REUSEADDR on
c = socket.create_connection(srv.getsockname())
a, _ = srv.accept()
c.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
c.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
c.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
c.sendall(b"x")
a.recv(1)                                           # blocking, no timeout
c.close(); a.close(); srv.close()
EOF2
	$SL run --audit --json $TMP/au.json --report $TMP/au.txt -- $PY $TMP/opts.py
	grep -q "^Socket options by call site (3 sites)" $TMP/au.txt
	$JC $TMP/au.json "len(r['audit']) == 3" \
		"[s for s in r['audit'] if s['role'] == 'client' and s['options']['SO_LINGER']['max'] == 0 and s['options']['SO_RCVBUF']['max'] >= 65536 and any('autotuning' in m for m in s['missing']) and any('RST' in m for m in s['missing']) and any('TCP_KEEPIDLE' in m for m in s['missing'])]" \
		"[s for s in r['audit'] if s['role'] == 'server' and not s['options'] and any('no receive timeout' in m for m in s['missing'])]" \
		"[s for s in r['audit'] if s['role'] == 'listener' and s['options']['SO_REUSEADDR']['connections'] == 1 and not s['missing']]"
	# without --audit: no audit
	$SL run --json $TMP/na.json -- $PY $TMP/opts.py
	$JC $TMP/na.json "'audit' not in r"
}

case_close_wait_never_read() { # the program never reads the client's EOF: TCP_INFO at close tells
	$SL run --json $TMP/nr.json -- $PY tests/lang/server.py noread > $TMP/nr.out
	grep -q "held 3" $TMP/nr.out
	$JC $TMP/nr.json "one('close-wait')['count'] == 3" "one('close-wait')['evidence']['eof_read'] == 0" \
		"one('close-wait')['severity'] == 'warning'" "'never read to the end' in one('close-wait')['summary']"
}
